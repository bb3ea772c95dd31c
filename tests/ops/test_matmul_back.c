/* The backward forms of silkie_op_matmul against silkie_ref_matmul: input gradients dx = dy W
 * through Linear weights of every storage type (w_kn reads W as stored [K' rows, N'], so
 * quantized blocks run along the output columns), split weights and row views of a larger
 * weight, the LoRA weight-gradient forms (trans_a with w_kn, strided operands), and a
 * finite-difference check of the gradients of a LoRA-adapted Linear layer. */
#include "harness_vk.h"
#include "ref/ref.h"

enum { F_ACC = 1, F_ALPHA = 2, F_BIAS = 4, F_TRANS_A = 8, F_ASTRIDE = 16, F_WSTRIDE = 32,
       F_ROWVIEW = 64 };

/* y [M, N] (+)= alpha * A W (+ bias): A is [M, K] (stored [K rows, M] with trans_a) and W is
 * stored [K rows, N]. For an input gradient M is the token count, K = K' the Linear layer's
 * outputs and N = N' its inputs. */
typedef struct kn_case {
    uint32_t M, K, N;
    silkie_dtype dt;
    uint32_t flags;
    uint32_t part_rows; /* > 0: W split by hand into parts of this many rows */
} kn_case;

#define ALL_DT 0x7fffffff /* expands to one case per weight type */
#define F32 SILKIE_DTYPE_F32
#define F16 SILKIE_DTYPE_F16
#define BF16 SILKIE_DTYPE_BF16
#define Q8_0 SILKIE_DTYPE_Q8_0
#define Q4_0 SILKIE_DTYPE_Q4_0
#define MAX_PARTS 8

/* Pipelines are compiled per weight type and per specialization (tile shape, accumulate,
 * bias, transposed or vec4 A), which costs far more than running these shapes on a CPU driver,
 * so the cases share few of them: per weight type, small M without accumulate and large M
 * (128-row tiles) with accumulate and bias, both with scalar A loads (F_ASTRIDE or K' = 33). */
static const kn_case cases[] = {
    /*  M    K    N  weights flags                                        part_rows */
    {   1,  33,  32, ALL_DT, 0 },              /* one token, one block, K' past a K step */
    {   5, 128, 384, ALL_DT, F_ASTRIDE },
    {   1, 344, 128, ALL_DT, F_ASTRIDE },      /* K' ends mid K step */
    {  67, 344, 128, ALL_DT, F_ACC | F_BIAS | F_ALPHA | F_ASTRIDE }, /* M past a 64-row tile */
    {  67,  33, 384, ALL_DT, F_ACC | F_BIAS },
    {  67, 128,  32, ALL_DT, F_ACC | F_BIAS | F_ASTRIDE },
    /* Split weights: odd part sizes (bf16: A is vec4-aligned as a whole, its part columns are
     * not), whole-block parts (vec4 A loads), bias added once, a one-row last part, trans_a. */
    {  67, 344, 384, Q8_0,   F_ACC | F_BIAS | F_ASTRIDE,                 115 },
    {   5, 128, 128, Q4_0,   F_ACC | F_BIAS,                              32 },
    {   5,  33,  32, F16,    F_ASTRIDE,                                   16 },
    {   1, 344, 384, BF16,   0,                                          115 },
    {   5, 128, 384, F32,    F_TRANS_A | F_ACC,                           50 },
    /* A block of rows of a larger weight (a vocabulary block of the LM head) with A a column
     * view of the full-vocabulary gradient. */
    {  67, 128, 128, Q8_0,   F_ROWVIEW | F_ASTRIDE | F_ACC },
    {   5,  33,  32, Q4_0,   F_ROWVIEW },
    {   1, 344, 384, F16,    F_ROWVIEW | F_ASTRIDE },
    {  67,  33, 128, F32,    F_ROWVIEW | F_ASTRIDE | F_ACC | F_BIAS },
    {   5,  33,  40, F16,    F_WSTRIDE },                  /* strided f16 weight, N' % 32 != 0 */
    /* LoRA weight gradients over T = K tokens: dB [out, r] = s dY^T U with dY a column view,
     * and dA [r, in] = dU^T x with x (and dU) column views. */
    { 130,  67,   8, F32,    F_TRANS_A | F_ASTRIDE | F_ACC | F_ALPHA },
    { 130,   5,  16, F32,    F_TRANS_A | F_ASTRIDE | F_ACC | F_ALPHA },
    { 130,   1,   8, F32,    F_TRANS_A | F_ASTRIDE | F_ACC | F_ALPHA },
    {   8,  67,  72, F32,    F_TRANS_A | F_WSTRIDE },
    {   8,   5, 344, F32,    F_TRANS_A | F_ASTRIDE | F_WSTRIDE | F_ACC },
    {  16,  67, 128, F32,    F_TRANS_A | F_ASTRIDE | F_WSTRIDE },
};

/* As in test_matmul: the reference reads the very same weight bytes, so only the summation
 * order differs. */
static double nmse_bound(silkie_dtype dt)
{
    switch (dt) {
    case SILKIE_DTYPE_F32: return 1e-7;
    case SILKIE_DTYPE_F16: case SILKIE_DTYPE_BF16: return 1e-5;
    default: return 5e-4;
    }
}

/* Uploads `n` rows of `len` values (storage bytes) as one [len, n] tensor. */
static int upload_rows(silkie_vk_device *d, silkie_dtype dt, const uint8_t *bytes, uint32_t len,
                       uint32_t n, silkie_owned_tensor *o)
{
    const uint32_t ne[4] = {len, n, 1, 1};
    return sk_tensor_from_host(d, dt, ne, bytes, o);
}

static void run_case(silkie_vk_device *d, const kn_case *tc, silkie_dtype dt, uint64_t seed)
{
    const uint32_t M = tc->M, N = tc->N, K = tc->K, fl = tc->flags;
    const int trans_a = !!(fl & F_TRANS_A), acc = !!(fl & F_ACC);
    const float alpha = (fl & F_ALPHA) ? -0.75f : 0.0f;
    char what[160];
    snprintf(what, sizeof what, "w_kn M %u K' %u N' %u %s flags 0x%x parts of %u", M, K, N,
             silkie_dtype_name(dt), fl, tc->part_rows);
    sk_rng rng;
    sk_rng_seed(&rng, seed);

    /* A as stored, [a_rows, a_len]: a column view of wider rows with F_ASTRIDE. */
    const uint32_t a_rows = trans_a ? K : M, a_len = trans_a ? M : K;
    const uint32_t acol = (fl & F_ASTRIDE) ? 3 : 0, a_ld = a_len + ((fl & F_ASTRIDE) ? 7 : 0);
    float *a_host = silkie_malloc((size_t)a_rows * a_ld * sizeof(float));
    float *a_dense = silkie_malloc((size_t)a_rows * a_len * sizeof(float));
    sk_fill_uniform(&rng, a_host, (uint64_t)a_rows * a_ld, -1.0f, 1.0f);
    for (uint32_t r = 0; r < a_rows; r++) {
        memcpy(a_dense + (size_t)r * a_len, a_host + (size_t)r * a_ld + acol,
               a_len * sizeof(float));
    }
    /* W: K rows of N values; rows 7.. of a weight 12 rows taller with F_ROWVIEW, columns 3.. of
     * rows 8 values longer with F_WSTRIDE. */
    const uint32_t r0 = (fl & F_ROWVIEW) ? 7 : 0, big_rows = K + ((fl & F_ROWVIEW) ? 12 : 0);
    const uint32_t wcol = (fl & F_WSTRIDE) ? 3 : 0, w_ld = N + ((fl & F_WSTRIDE) ? 8 : 0);
    float *w_f = silkie_malloc((size_t)big_rows * w_ld * sizeof(float));
    sk_fill_uniform(&rng, w_f, (uint64_t)big_rows * w_ld, -1.0f, 1.0f);
    const uint64_t rb_big = silkie_ref_row_bytes(dt, w_ld), rb = silkie_ref_row_bytes(dt, N);
    uint8_t *w_big = silkie_malloc(rb_big * big_rows);
    uint8_t *w_ref = silkie_malloc(rb * K);
    for (uint32_t r = 0; r < big_rows; r++) {
        silkie_ref_quantize_row(dt, w_f + (size_t)r * w_ld, w_big + rb_big * r, w_ld);
    }
    for (uint32_t r = 0; r < K; r++) {
        memcpy(w_ref + rb * r, w_big + rb_big * (r0 + r) + silkie_ref_row_bytes(dt, wcol), rb);
    }
    float *bias = silkie_malloc(N * sizeof(float));
    sk_fill_uniform(&rng, bias, N, -2.0f, 2.0f);
    float *y0 = silkie_malloc((size_t)M * N * sizeof(float));
    sk_fill_uniform(&rng, y0, (uint64_t)M * N, -1.0f, 1.0f);
    float *y_ref = silkie_malloc((size_t)M * N * sizeof(float));
    float *y_got = silkie_malloc((size_t)M * N * sizeof(float));
    memcpy(y_ref, y0, (size_t)M * N * sizeof(float));
    silkie_ref_matmul(a_dense, trans_a, w_ref, dt, 1, (fl & F_BIAS) ? bias : NULL, y_ref, M, N, K,
                      acc, alpha);

    silkie_owned_tensor ta = {0}, tb = {0}, tw[MAX_PARTS];
    memset(tw, 0, sizeof tw);
    silkie_tensor_part parts[MAX_PARTS];
    sk_guarded gy = {0};
    const uint32_t ne_a[4] = {a_ld, a_rows, 1, 1}, ne_b[4] = {N, 1, 1, 1};
    const uint32_t ne_y[4] = {N, M, 1, 1};
    int ok = sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_a, a_host, &ta);
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_b, bias, &tb);
    const uint32_t n_parts = tc->part_rows ? (K + tc->part_rows - 1) / tc->part_rows : 1;
    SK_TEST_CHECK(n_parts <= MAX_PARTS, "%s: too many parts", what);
    if (n_parts > 1) {
        /* Parts built by hand, each in its own buffer, as tensor_alloc splits a large weight. */
        for (uint32_t p = 0; ok && p < n_parts && p < MAX_PARTS; p++) {
            uint32_t p0 = p * tc->part_rows, n = SK_MIN(tc->part_rows, K - p0);
            ok = upload_rows(d, dt, w_ref + rb * p0, N, n, &tw[p]);
            if (ok) parts[p] = (silkie_tensor_part){.buf = tw[p].t.buf, .offset = tw[p].t.offset};
        }
    } else {
        ok = ok && upload_rows(d, dt, w_big, w_ld, big_rows, &tw[0]);
    }
    ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy);
    SK_TEST_CHECK(ok, "%s: setup failed: %s", what, silkie_last_error());
    if (ok) {
        silkie_tensor w_view = tw[0].t;
        if (fl & F_WSTRIDE) w_view = silkie_tensor_cols(&w_view, wcol, N);
        if (fl & F_ROWVIEW) w_view = silkie_tensor_rows_view(&w_view, r0, K);
        if (n_parts > 1) {
            w_view.ne[1] = K;
            w_view.buf = NULL;
            w_view.n_parts = n_parts;
            w_view.part_rows = tc->part_rows;
            w_view.parts = parts;
        }
        silkie_tensor a_view = acol ? silkie_tensor_cols(&ta.t, acol, a_len) : ta.t;
        /* Without accumulate y starts as NaN, so any output the op skips is caught. */
        if (!acc) {
            for (uint64_t i = 0; i < (uint64_t)M * N; i++) y_got[i] = NAN;
        }
        SK_TEST_OK(silkie_vk_buffer_write(gy.o.t.buf, gy.o.t.offset, acc ? y0 : y_got,
                                          (uint64_t)M * N * sizeof(float)));
        const silkie_matmul_opts o = {.trans_a = trans_a, .w_kn = 1, .accumulate = acc,
                                      .alpha = alpha};
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_matmul(&c, &a_view, &w_view, (fl & F_BIAS) ? &tb.t : NULL,
                                        &gy.o.t, &o));
            SK_TEST_CHECK(sk_op_run(&c), "%s: run failed: %s", what, silkie_last_error());
        } else {
            SK_TEST_CHECK(0, "%s: begin failed", what);
        }
        SK_TEST_OK(silkie_tensor_download(&gy.o.t, y_got, (uint64_t)M * N * sizeof(float)));
        double max_abs = 1e-4 * (sk_max_abs(y_ref, (uint64_t)M * N) + 1.0) *
                         (dt == SILKIE_DTYPE_F32 ? 1.0 : 10.0);
        sk_check_close(what, y_ref, y_got, (uint64_t)M * N, nmse_bound(dt), max_abs, seed);
        printf("%-50s nmse %.2e max abs %.2e  %s\n", what, sk_nmse(y_ref, y_got, (uint64_t)M * N),
               sk_max_abs_diff(y_ref, y_got, (uint64_t)M * N), silkie_op_matmul_last_kernel());
        sk_guarded_check(&gy, what);
    }
    sk_guarded_free(&gy);
    for (uint32_t p = 0; p < MAX_PARTS; p++) silkie_tensor_free(&tw[p]);
    silkie_tensor_free(&ta);
    silkie_tensor_free(&tb);
    silkie_free(a_host);
    silkie_free(a_dense);
    silkie_free(w_f);
    silkie_free(w_big);
    silkie_free(w_ref);
    silkie_free(bias);
    silkie_free(y0);
    silkie_free(y_ref);
    silkie_free(y_got);
}

/* ---- finite-difference check of a LoRA-adapted Linear layer ------------------------------- */

enum { GT = 6, GIN = 64, GOUT = 96, GR = 8 }; /* tokens, inputs, outputs, LoRA rank */
#define G_SCALE 0.5f

/* L = sum_t,o R[t][o] * (sum_i x[t][i] W[o][i] + s sum_j B[o][j] sum_i A[j][i] x[t][i]). */
static double lora_loss(const double *x, const double *w, const double *a, const double *b,
                        const double *r)
{
    double loss = 0.0;
    for (uint32_t t = 0; t < GT; t++) {
        const double *xt = x + (size_t)t * GIN;
        double u[GR];
        for (uint32_t j = 0; j < GR; j++) {
            double s = 0.0;
            for (uint32_t i = 0; i < GIN; i++) s += a[j * GIN + i] * xt[i];
            u[j] = s;
        }
        for (uint32_t o = 0; o < GOUT; o++) {
            double y = 0.0, l = 0.0;
            for (uint32_t i = 0; i < GIN; i++) y += w[o * GIN + i] * xt[i];
            for (uint32_t j = 0; j < GR; j++) l += b[o * GR + j] * u[j];
            loss += r[t * GOUT + o] * (y + (double)G_SCALE * l);
        }
    }
    return loss;
}

/* Central differences of lora_loss in every element of p (one of x, a, b), as floats. */
static void fd_grad(double *p, uint32_t n, const double *x, const double *w, const double *a,
                    const double *b, const double *r, float *g)
{
    /* L is linear in each of x, A and B, so a central difference has no truncation error at
     * any step; the step only sets how much of the double rounding of L (~1e-13 here) leaks
     * into the quotient. */
    const double h = 1e-2;
    for (uint32_t i = 0; i < n; i++) {
        const double keep = p[i];
        p[i] = keep + h;
        double lp = lora_loss(x, w, a, b, r);
        p[i] = keep - h;
        double lm = lora_loss(x, w, a, b, r);
        p[i] = keep;
        g[i] = (float)((lp - lm) / (2.0 * h));
    }
}

static double *to_double(const float *src, uint64_t n)
{
    double *d = silkie_malloc(n * sizeof(double));
    for (uint64_t i = 0; i < n; i++) d[i] = src[i];
    return d;
}

/* Uploads a [rows, cols] f32 matrix as columns [col0, col0 + cols) of wider rows (pad extra
 * values, zero-filled) and returns the column view. */
static int upload_padded(silkie_vk_device *d, const float *m, uint32_t rows, uint32_t cols,
                         uint32_t col0, uint32_t pad, silkie_owned_tensor *o, silkie_tensor *view)
{
    const uint32_t ld = cols + pad, ne[4] = {ld, rows, 1, 1};
    float *h = silkie_calloc((size_t)rows * ld, sizeof(float));
    for (uint32_t i = 0; i < rows; i++) {
        memcpy(h + (size_t)i * ld + col0, m + (size_t)i * cols, cols * sizeof(float));
    }
    int ok = sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, h, o);
    silkie_free(h);
    if (ok) *view = silkie_tensor_cols(&o->t, col0, cols);
    return ok;
}

/* Every gradient comes from the ops, recorded in one command list as a training step would:
 *   U = x A^T, dU = s R B, dx = R W + dU A, dB = s R^T U, dA = dU^T x,
 * with R and x column views (strided), W f32 or q8_0 (blocks along the inputs). */
static void grad_check(silkie_vk_device *d, silkie_dtype wdt, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "lora grad check, W %s", silkie_dtype_name(wdt));
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float x[GT * GIN], w_f[GOUT * GIN], w_deq[GOUT * GIN], a[GR * GIN], b[GOUT * GR];
    float r[GT * GOUT];
    sk_fill_uniform(&rng, x, SK_ARRAY_LEN(x), -1.0f, 1.0f);
    sk_fill_uniform(&rng, w_f, SK_ARRAY_LEN(w_f), -1.0f, 1.0f);
    sk_fill_uniform(&rng, a, SK_ARRAY_LEN(a), -1.0f, 1.0f);
    sk_fill_uniform(&rng, b, SK_ARRAY_LEN(b), -1.0f, 1.0f);
    sk_fill_uniform(&rng, r, SK_ARRAY_LEN(r), -1.0f, 1.0f);
    const uint64_t rb = silkie_ref_row_bytes(wdt, GIN);
    uint8_t *w_q = silkie_malloc(rb * GOUT);
    for (uint32_t o = 0; o < GOUT; o++) {
        silkie_ref_quantize_row(wdt, w_f + o * GIN, w_q + rb * o, GIN);
        /* The forward differentiated is the one the device computes: dequantized weights. */
        silkie_ref_dequant_row(wdt, w_q + rb * o, w_deq + o * GIN, GIN);
    }

    silkie_owned_tensor tx = {0}, tr = {0}, tw = {0}, ta = {0}, tb = {0};
    silkie_tensor vx, vr;
    sk_guarded u = {0}, du = {0}, dx = {0}, db = {0}, da = {0};
    const uint32_t ne_a[4] = {GIN, GR, 1, 1};
    const uint32_t ne_b[4] = {GR, GOUT, 1, 1}, ne_u[4] = {GR, GT, 1, 1};
    const uint32_t ne_dx[4] = {GIN, GT, 1, 1};
    int ok = upload_padded(d, x, GT, GIN, 2, 5, &tx, &vx);
    ok = ok && upload_padded(d, r, GT, GOUT, 1, 3, &tr, &vr);
    ok = ok && upload_rows(d, wdt, w_q, GIN, GOUT, &tw);
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_a, a, &ta);
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_b, b, &tb);
    ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_u, &u);
    ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_u, &du);
    ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_dx, &dx);
    ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_b, &db);
    ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_a, &da);
    SK_TEST_CHECK(ok, "%s: setup failed: %s", what, silkie_last_error());
    if (ok) {
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            const silkie_matmul_opts kn = {.w_kn = 1};
            const silkie_matmul_opts kn_s = {.w_kn = 1, .alpha = G_SCALE};
            const silkie_matmul_opts kn_acc = {.w_kn = 1, .accumulate = 1};
            const silkie_matmul_opts tn = {.trans_a = 1, .w_kn = 1};
            const silkie_matmul_opts tn_s = {.trans_a = 1, .w_kn = 1, .alpha = G_SCALE};
            SK_TEST_OK(silkie_op_matmul(&c, &vx, &ta.t, NULL, &u.o.t, NULL));
            SK_TEST_OK(silkie_op_matmul(&c, &vr, &tb.t, NULL, &du.o.t, &kn_s));
            SK_TEST_OK(silkie_op_matmul(&c, &vr, &tw.t, NULL, &dx.o.t, &kn));
            SK_TEST_OK(silkie_op_matmul(&c, &du.o.t, &ta.t, NULL, &dx.o.t, &kn_acc));
            SK_TEST_OK(silkie_op_matmul(&c, &vr, &u.o.t, NULL, &db.o.t, &tn_s));
            SK_TEST_OK(silkie_op_matmul(&c, &du.o.t, &vx, NULL, &da.o.t, &tn));
            SK_TEST_CHECK(sk_op_run(&c), "%s: run failed: %s", what, silkie_last_error());
        }
        float g_x[GT * GIN], g_a[GR * GIN], g_b[GOUT * GR];
        SK_TEST_OK(silkie_tensor_download(&dx.o.t, g_x, sizeof g_x));
        SK_TEST_OK(silkie_tensor_download(&da.o.t, g_a, sizeof g_a));
        SK_TEST_OK(silkie_tensor_download(&db.o.t, g_b, sizeof g_b));

        double *xd = to_double(x, SK_ARRAY_LEN(x)), *wd = to_double(w_deq, SK_ARRAY_LEN(w_deq));
        double *ad = to_double(a, SK_ARRAY_LEN(a)), *bd = to_double(b, SK_ARRAY_LEN(b));
        double *rd = to_double(r, SK_ARRAY_LEN(r));
        float fd_x[GT * GIN], fd_a[GR * GIN], fd_b[GOUT * GR];
        fd_grad(xd, GT * GIN, xd, wd, ad, bd, rd, fd_x);
        fd_grad(ad, GR * GIN, xd, wd, ad, bd, rd, fd_a);
        fd_grad(bd, GOUT * GR, xd, wd, ad, bd, rd, fd_b);
        /* With no truncation error in the differences, what is left is the ops' f32 rounding:
         * dot products of at most GOUT + GR = 104 terms of magnitude <= 1, chained through one
         * f32 intermediate (U or dU). Their typical error is sqrt(n) 2^-24 ~ 1e-6 of the
         * result; 1e-5 of the largest gradient is ten times that, and still four orders of
         * magnitude below what a wrong transpose, scale or missing term produces. */
        const struct { const char *name; const float *fd, *g; uint32_t n; } grads[] = {
            {"dx", fd_x, g_x, GT * GIN}, {"dA", fd_a, g_a, GR * GIN}, {"dB", fd_b, g_b, GOUT * GR}};
        for (size_t i = 0; i < SK_ARRAY_LEN(grads); i++) {
            char name[128];
            snprintf(name, sizeof name, "%s: %s", what, grads[i].name);
            double max_abs = 1e-5 * (sk_max_abs(grads[i].fd, grads[i].n) + 1.0);
            sk_check_close(name, grads[i].fd, grads[i].g, grads[i].n, 1e-10, max_abs, seed);
            printf("%-50s nmse %.2e max abs %.2e (max |g| %.2f)\n", name,
                   sk_nmse(grads[i].fd, grads[i].g, grads[i].n),
                   sk_max_abs_diff(grads[i].fd, grads[i].g, grads[i].n),
                   sk_max_abs(grads[i].fd, grads[i].n));
        }
        sk_guarded *outs[] = {&u, &du, &dx, &db, &da};
        for (size_t i = 0; i < SK_ARRAY_LEN(outs); i++) sk_guarded_check(outs[i], what);
        silkie_free(xd);
        silkie_free(wd);
        silkie_free(ad);
        silkie_free(bd);
        silkie_free(rd);
    }
    sk_guarded *all[] = {&u, &du, &dx, &db, &da};
    for (size_t i = 0; i < SK_ARRAY_LEN(all); i++) sk_guarded_free(all[i]);
    silkie_tensor_free(&tx);
    silkie_tensor_free(&tr);
    silkie_tensor_free(&tw);
    silkie_tensor_free(&ta);
    silkie_tensor_free(&tb);
    silkie_free(w_q);
}

/* w_kn shapes the op must refuse with a status. */
static void test_errors(silkie_vk_device *d)
{
    silkie_owned_tensor a = {0}, w = {0}, y = {0};
    const uint32_t ne_a[4] = {4, 2, 1, 1}, ne_w[4] = {64, 5, 1, 1}, ne_y[4] = {64, 2, 1, 1};
    float buf[512] = {0};
    int ok = sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_a, buf, &a);
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_w, buf, &w);
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_y, buf, &y);
    SK_TEST_CHECK(ok, "error setup");
    silkie_op_ctx c;
    if (ok && sk_op_begin(d, &c)) {
        const silkie_matmul_opts kn = {.w_kn = 1};
        silkie_tensor wk = silkie_tensor_rows_view(&w.t, 0, 4); /* [K' = 4 rows, 64] */
        silkie_tensor q = wk, y48 = y.t;
        q.dtype = SILKIE_DTYPE_Q8_0; /* N' = 48 is not a whole number of blocks */
        q.ne[0] = 48;
        y48.ne[0] = 48;
        SK_TEST_STATUS(silkie_op_matmul(&c, &a.t, &q, NULL, &y48, &kn),
                       SILKIE_ERR_INVALID_ARGUMENT);
        q = wk;
        q.dtype = SILKIE_DTYPE_Q4_0;
        q.row_stride = 96; /* quantized rows must be contiguous */
        SK_TEST_STATUS(silkie_op_matmul(&c, &a.t, &q, NULL, &y.t, &kn),
                       SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_STATUS(silkie_op_matmul(&c, &a.t, &w.t, NULL, &y.t, &kn), /* 5 rows, K = 4 */
                       SILKIE_ERR_INVALID_ARGUMENT);
        q = wk;
        q.n_parts = 2; /* split without a part table */
        q.part_rows = 2;
        q.parts = NULL;
        SK_TEST_STATUS(silkie_op_matmul(&c, &a.t, &q, NULL, &y.t, &kn),
                       SILKIE_ERR_INVALID_ARGUMENT);
        sk_op_run(&c);
    }
    silkie_tensor_free(&a);
    silkie_tensor_free(&w);
    silkie_tensor_free(&y);
}

int main(void)
{
    static const silkie_dtype all[] = {SILKIE_DTYPE_F32, SILKIE_DTYPE_F16, SILKIE_DTYPE_BF16,
                                       SILKIE_DTYPE_Q8_0, SILKIE_DTYPE_Q4_0};
    silkie_vk_device *d = sk_test_device();
    uint64_t seed = 5000;
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        if (cases[i].dt == (silkie_dtype)ALL_DT) {
            for (size_t j = 0; j < SK_ARRAY_LEN(all); j++) run_case(d, &cases[i], all[j], seed++);
        } else {
            run_case(d, &cases[i], cases[i].dt, seed++);
        }
    }
    grad_check(d, SILKIE_DTYPE_F32, seed++);
    grad_check(d, SILKIE_DTYPE_Q8_0, seed++);
    test_errors(d);
    return sk_test_device_finish(d, "test_matmul_back");
}
