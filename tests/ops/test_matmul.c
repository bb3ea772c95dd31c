/* silkie_op_matmul against silkie_ref_matmul: every weight type, GEMV and GEMM paths, shapes
 * that are not multiples of any tile, transposed forms, accumulate/alpha/bias, strided A and
 * split weights. The reference dequantizes the very same weight bytes, so only the summation
 * order differs. F_NORM cases fold RMSNorm into the product and are checked against the
 * unfused reference sequence (rms_norm, then matmul); on the GEMM path the op writes the normed
 * rows to norm_out, which is checked too. */
#include <math.h>

#include "base/fault.h"
#include "harness_vk.h"
#include "ref/ref.h"


enum { F_BIAS = 1, F_TRANS_A = 2, F_W_KN = 4, F_ACC = 8, F_ALPHA = 16, F_STRIDE = 32,
       F_SPLIT2 = 64, F_SPLIT3 = 128, F_WVIEW = 256, F_NORM = 512, F_SPLIT6 = 1024,
       F_F16_OK = 2048 };

#define MAX_PARTS 6

#define NORM_EPS 1e-6f

typedef struct mm_case {
    uint32_t M, N, K;
    silkie_dtype dt;
    uint32_t flags;
} mm_case;

#define ALL_DT 0x7fffffff /* expands to one case per weight type */

static const mm_case cases[] = {
    /*  M     N     K   weights            flags */
    {   1,    1,   32, ALL_DT,             F_BIAS },
    {   3,   17,   64, ALL_DT,             F_BIAS },           /* odd N, GEMV */
    {   7,  129,   96, ALL_DT,             0 },                /* N one past a tile */
    {   8,  300,  128, ALL_DT,             F_BIAS },           /* largest GEMV M */
    {   9,   40,   64, ALL_DT,             F_BIAS },           /* smallest GEMM M */
    {  33,   65,  160, ALL_DT,             F_BIAS },           /* GEMM, partial tiles */
    {  64,   64, 4096, ALL_DT,             0 },                /* long K */
    { 130,   70,   96, ALL_DT,             F_BIAS },           /* large-M tiles */
    {   1,    1,    1, SILKIE_DTYPE_F32,   0 },
    {   5,    3,    7, SILKIE_DTYPE_F16,   F_BIAS },           /* K not a multiple of 32 */
    {  70,   33,   45, SILKIE_DTYPE_BF16,  F_BIAS },
    {  70,   33,   45, SILKIE_DTYPE_F32,   F_TRANS_A },
    {   3,   20,   64, SILKIE_DTYPE_F32,   F_TRANS_A | F_BIAS }, /* trans_a with tiny M */
    {  33,   65,  160, SILKIE_DTYPE_F16,   F_TRANS_A | F_ACC },
    {   9,   31,   40, SILKIE_DTYPE_F16,   F_W_KN },
    {   1,   17,   33, SILKIE_DTYPE_BF16,  F_W_KN | F_BIAS },
    {  40,   70,   50, SILKIE_DTYPE_F32,   F_TRANS_A | F_W_KN | F_ACC | F_ALPHA }, /* dW-like */
    {   2,   50,   64, SILKIE_DTYPE_Q8_0,  F_ACC | F_ALPHA | F_BIAS },
    {  20,   50,   64, SILKIE_DTYPE_Q4_0,  F_ACC | F_ALPHA },
    {   4,   33,   96, SILKIE_DTYPE_Q8_0,  F_STRIDE | F_BIAS }, /* strided A rows, GEMV */
    {  17,   33,   96, SILKIE_DTYPE_F16,   F_STRIDE },
    {  17,   33,   96, SILKIE_DTYPE_F32,   F_STRIDE | F_TRANS_A },
    {   1,  100,   64, SILKIE_DTYPE_Q4_0,  F_SPLIT3 | F_BIAS }, /* split weight, GEMV */
    {  12,  100,   64, SILKIE_DTYPE_Q8_0,  F_SPLIT3 | F_BIAS }, /* split weight, GEMM */
    {  10,   90,   48, SILKIE_DTYPE_F16,   F_SPLIT2 | F_ACC },
    /* Weights as a column view (row stride, unaligned start): no 16-byte loads. */
    {   2,   21,   64, SILKIE_DTYPE_F16,   F_WVIEW | F_BIAS },
    {   3,   21,   64, SILKIE_DTYPE_F32,   F_WVIEW },
    {  30,   21,   64, SILKIE_DTYPE_BF16,  F_WVIEW },
    /* Qwen-VL shapes divided by 16: decode and prefill of qkv / ffn, vision mlp. */
    {   1,  768,  256, SILKIE_DTYPE_Q4_0,  F_BIAS },
    {   1,  256,  704, SILKIE_DTYPE_Q8_0,  0 },
    {  24,  704,  256, SILKIE_DTYPE_Q4_0,  0 },
    {  64,  104,  512, SILKIE_DTYPE_F16,   F_BIAS },
    /* RMSNorm folded into GEMV (decode's ln_1/ln_2/ln_f); past 8 rows, norm_out + GEMM. */
    {   1,   96,  256, ALL_DT,             F_NORM | F_BIAS },
    {   3,   40,  160, ALL_DT,             F_NORM | F_ACC },
    {   8,   33,   64, ALL_DT,             F_NORM },
    {  12,   40,   96, ALL_DT,             F_NORM | F_BIAS },
    {   2,   33,   96, SILKIE_DTYPE_Q4_0,  F_NORM | F_STRIDE },
    {   1,  100,   64, SILKIE_DTYPE_Q8_0,  F_NORM | F_SPLIT3 | F_ALPHA },
    {   1,   50,   45, SILKIE_DTYPE_F16,   F_NORM | F_SPLIT2 },  /* scalar weight loads */
    /* Split weights, gemv_q binding up to 4 parts per dispatch: 6 parts = 4 + 2; parts of 33
     * rows of 54 bytes end off a 32-bit word, so each takes its own dispatch. */
    {   1,  200,   64, SILKIE_DTYPE_Q4_0,  F_SPLIT6 | F_BIAS },
    {   3,  190,  128, SILKIE_DTYPE_Q8_0,  F_SPLIT6 | F_NORM | F_ACC },
    {   2,   99,   96, SILKIE_DTYPE_Q4_0,  F_SPLIT3 | F_BIAS },
};

static double nmse_bound(silkie_dtype dt)
{
    switch (dt) {
    case SILKIE_DTYPE_F32: return 1e-7;
    case SILKIE_DTYPE_F16: case SILKIE_DTYPE_BF16: return 1e-5;
    default: return 5e-4;
    }
}

/* Uploads rows [r0, r0 + n) of a [rows, len] weight (already in storage bytes) as one tensor. */
static int upload_rows(silkie_vk_device *d, silkie_dtype dt, const uint8_t *bytes, uint32_t len,
                       uint32_t r0, uint32_t n, silkie_owned_tensor *o)
{
    const uint32_t ne[4] = {len, n, 1, 1};
    return sk_tensor_from_host(d, dt, ne, bytes + silkie_ref_row_bytes(dt, len) * r0, o);
}

/* Per output of a Linear-layout product: |got - ref| <= 2^-8 * alpha * sum_k |a||w| + 1e-6. */
static void check_f16_bound(const char *what, const float *a, const float *w, const float *ref,
                            const float *got, uint32_t M, uint32_t N, uint32_t K, int acc,
                            float alpha)
{
    (void)acc; /* y0 enters exactly on both sides */
    uint32_t bad = 0;
    double worst = 0;
    for (uint32_t m = 0; m < M; m++) {
        for (uint32_t n = 0; n < N; n++) {
            double sa = 0;
            for (uint32_t k = 0; k < K; k++)
                sa += fabs((double)a[(size_t)m * K + k] * w[(size_t)n * K + k]);
            const double bound = ldexp(sa * fabs(alpha == 0.0f ? 1.0 : alpha), -8) + 1e-6;
            const double e = fabs((double)got[(size_t)m * N + n] - ref[(size_t)m * N + n]);
            if (e / bound > worst) worst = e / bound;
            bad += !(e <= bound);
        }
    }
    printf("  f16 arithmetic: worst error %.3f of its bound\n", worst);
    SK_TEST_CHECK(bad == 0, "%s: %u outputs past 2^-8 sum|a||w| (worst %.2f of it)", what, bad,
                  worst);
}

static void run_case(silkie_vk_device *d, const mm_case *tc, silkie_dtype dt, uint64_t seed)
{
    const uint32_t M = tc->M, N = tc->N, K = tc->K, fl = tc->flags;
    const int trans_a = !!(fl & F_TRANS_A), w_kn = !!(fl & F_W_KN), acc = !!(fl & F_ACC);
    const float alpha = (fl & F_ALPHA) ? -0.75f : 0.0f;
    char what[160];
    snprintf(what, sizeof what, "matmul %ux%ux%u %s flags 0x%x", M, N, K, silkie_dtype_name(dt),
             fl);
    sk_rng rng;
    sk_rng_seed(&rng, seed);

    /* A as the op sees it: [a_rows, a_len] with a padded stride when F_STRIDE. */
    const uint32_t a_rows = trans_a ? K : M, a_len = trans_a ? M : K;
    const uint32_t pad = (fl & F_STRIDE) ? 5 : 0, col0 = pad ? 3 : 0, a_ld = a_len + pad;
    float *a_host = silkie_calloc((size_t)a_rows * a_ld, sizeof(float));
    float *a_dense = silkie_malloc((size_t)a_rows * a_len * sizeof(float));
    sk_fill_uniform(&rng, a_host, (uint64_t)a_rows * a_ld, -1.0f, 1.0f);
    for (uint32_t r = 0; r < a_rows; r++) {
        memcpy(a_dense + (size_t)r * a_len, a_host + (size_t)r * a_ld + col0,
               a_len * sizeof(float));
    }
    /* W storage: [N, K] or [K, N] rows, quantized from uniform values. */
    const uint32_t w_rows = w_kn ? K : N, w_len = w_kn ? N : K;
    float *w_f = silkie_malloc((size_t)w_rows * w_len * sizeof(float));
    sk_fill_uniform(&rng, w_f, (uint64_t)w_rows * w_len, -1.0f, 1.0f);
    uint64_t w_rb = silkie_ref_row_bytes(dt, w_len);
    uint8_t *w_q = silkie_malloc(w_rb * w_rows);
    for (uint32_t r = 0; r < w_rows; r++) {
        silkie_ref_quantize_row(dt, w_f + (size_t)r * w_len, w_q + w_rb * r, w_len);
    }
    float *bias = silkie_malloc(N * sizeof(float));
    sk_fill_uniform(&rng, bias, N, -2.0f, 2.0f);
    float *y0 = silkie_malloc((size_t)M * N * sizeof(float));
    sk_fill_uniform(&rng, y0, (uint64_t)M * N, -1.0f, 1.0f);
    float *y_ref = silkie_malloc((size_t)M * N * sizeof(float));
    float *y_got = silkie_malloc((size_t)M * N * sizeof(float));
    memcpy(y_ref, y0, (size_t)M * N * sizeof(float));
    float *g = NULL, *a_normed = NULL;
    if (fl & F_NORM) {
        g = silkie_malloc(K * sizeof(float));
        a_normed = silkie_malloc((size_t)M * K * sizeof(float));
        sk_fill_uniform(&rng, g, K, 0.5f, 1.5f);
        silkie_ref_rms_norm(a_dense, g, a_normed, K, M, NORM_EPS);
        memcpy(a_dense, a_normed, (size_t)M * K * sizeof(float));
    }
    silkie_ref_matmul(a_dense, trans_a, w_q, dt, w_kn, (fl & F_BIAS) ? bias : NULL, y_ref, M, N,
                      K, acc, alpha);

    silkie_owned_tensor ta = {0}, tb = {0}, tg = {0}, tw[MAX_PARTS];
    memset(tw, 0, sizeof tw);
    silkie_tensor_part parts[MAX_PARTS];
    sk_guarded gy = {0}, gn = {0};
    const uint32_t ne_a[4] = {a_ld, a_rows, 1, 1}, ne_b[4] = {N, 1, 1, 1};
    const uint32_t ne_y[4] = {N, M, 1, 1}, ne_g[4] = {K, 1, 1, 1}, ne_n[4] = {K, M, 1, 1};
    int ok = sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_a, a_host, &ta);
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_b, bias, &tb);
    if (fl & F_NORM) {
        ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_g, g, &tg);
        ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_n, &gn);
    }
    silkie_tensor w_view;
    silkie_owned_tensor tw_pad = {0};
    if (fl & F_WVIEW) {
        /* Same values stored with 3 extra columns before and 5 after each row. */
        const uint32_t ld = w_len + 8;
        float *wp = silkie_calloc((size_t)w_rows * ld, sizeof(float));
        uint8_t *wq = silkie_malloc(silkie_ref_row_bytes(dt, ld) * w_rows);
        for (uint32_t r = 0; r < w_rows; r++) {
            memcpy(wp + (size_t)r * ld + 3, w_f + (size_t)r * w_len, w_len * sizeof(float));
        }
        for (uint32_t r = 0; r < w_rows; r++) {
            silkie_ref_quantize_row(dt, wp + (size_t)r * ld, wq + silkie_ref_row_bytes(dt, ld) * r,
                                    ld);
        }
        ok = ok && upload_rows(d, dt, wq, ld, 0, w_rows, &tw_pad);
        silkie_free(wp);
        silkie_free(wq);
    }
    uint32_t n_parts = (fl & F_SPLIT6) ? 6 : (fl & F_SPLIT3) ? 3 : (fl & F_SPLIT2) ? 2 : 1;
    uint32_t part_rows = (w_rows + n_parts - 1) / n_parts;
    for (uint32_t p = 0; ok && p < n_parts; p++) {
        uint32_t r0 = p * part_rows, n = SK_MIN(part_rows, w_rows - r0);
        ok = upload_rows(d, dt, w_q, w_len, r0, n, &tw[p]);
        if (ok) parts[p] = (silkie_tensor_part){.buf = tw[p].t.buf, .offset = tw[p].t.offset};
    }
    ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy);
    SK_TEST_CHECK(ok, "%s: setup failed: %s", what, silkie_last_error());
    if (ok) {
        w_view = (fl & F_WVIEW) ? silkie_tensor_cols(&tw_pad.t, 3, w_len) : tw[0].t;
        if (n_parts > 1) {
            w_view.ne[1] = w_rows;
            w_view.buf = NULL;
            w_view.n_parts = n_parts;
            w_view.part_rows = part_rows;
            w_view.parts = parts;
        }
        silkie_tensor a_view = pad ? silkie_tensor_cols(&ta.t, col0, a_len) : ta.t;
        /* Without accumulate y starts as NaN, so any output the op skips is caught. */
        if (!acc) {
            for (uint64_t i = 0; i < (uint64_t)M * N; i++) y_got[i] = NAN;
        }
        SK_TEST_OK(silkie_vk_buffer_write(gy.o.t.buf, gy.o.t.offset, acc ? y0 : y_got,
                                          (uint64_t)M * N * sizeof(float)));
        silkie_matmul_opts o = {.trans_a = trans_a, .w_kn = w_kn, .accumulate = acc,
                                .alpha = alpha, .f16_ok = !!(fl & F_F16_OK)};
        if (fl & F_NORM) {
            o.norm_w = &tg.t;
            o.norm_eps = NORM_EPS;
            o.norm_out = &gn.o.t;
        }
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
        if (strstr(silkie_op_matmul_last_kernel(), " f16")) {
            /* f16 arithmetic: inputs rounded to f16 (2^-11 each) and each K step's 32 products
             * summed in f16. Bound: 2^-8 of sum_k |a||w| per output; the NMSE bound stays. */
            max_abs = INFINITY;
            check_f16_bound(what, a_dense, w_f, y_ref, y_got, M, N, K, acc, alpha);
        }
        sk_check_close(what, y_ref, y_got, (uint64_t)M * N, nmse_bound(dt), max_abs, seed);
        printf("%-44s nmse %.2e max abs %.2e  %s\n", what, sk_nmse(y_ref, y_got, (uint64_t)M * N),
               sk_max_abs_diff(y_ref, y_got, (uint64_t)M * N), silkie_op_matmul_last_kernel());
        sk_guarded_check(&gy, what);
        if ((fl & F_NORM) && M > 8) {
            /* GEMM path: the normed rows went through norm_out. */
            float *n_got = silkie_malloc((size_t)M * K * sizeof(float));
            SK_TEST_OK(silkie_tensor_download(&gn.o.t, n_got, (uint64_t)M * K * sizeof(float)));
            sk_check_close(what, a_normed, n_got, (uint64_t)M * K, 1e-10, 1e-5, seed);
            silkie_free(n_got);
        } else if (fl & F_NORM) {
            SK_TEST_CHECK(strstr(silkie_op_matmul_last_kernel(), " norm") != NULL,
                          "%s: the GEMV kernel did not fold the norm (%s)", what,
                          silkie_op_matmul_last_kernel());
        }
        if (fl & F_NORM) sk_guarded_check(&gn, what);
    }
    sk_guarded_free(&gy);
    sk_guarded_free(&gn);
    silkie_tensor_free(&tg);
    silkie_free(g);
    silkie_free(a_normed);
    for (uint32_t p = 0; p < MAX_PARTS; p++) silkie_tensor_free(&tw[p]);
    silkie_tensor_free(&tw_pad);
    silkie_tensor_free(&ta);
    silkie_tensor_free(&tb);
    silkie_free(a_host);
    silkie_free(a_dense);
    silkie_free(w_f);
    silkie_free(w_q);
    silkie_free(bias);
    silkie_free(y0);
    silkie_free(y_ref);
    silkie_free(y_got);
}

/* Cases run again under every named kernel setting: each GEMV and GEMM form must agree with
 * the reference, not just the one the automatic choice picks on this device. */
static const mm_case tuning_cases[] = {
    {   8,  300,  128, SILKIE_DTYPE_Q4_0,  F_BIAS },           /* largest GEMV M */
    {   5,   37,   96, SILKIE_DTYPE_Q4_0,  0 },                /* odd block count per row */
    {   2,   50,   64, SILKIE_DTYPE_Q8_0,  F_ACC | F_ALPHA | F_BIAS },
    {   4,   33,   96, SILKIE_DTYPE_Q8_0,  F_STRIDE | F_BIAS }, /* scalar activation loads */
    {   1,  100,   64, SILKIE_DTYPE_Q4_0,  F_SPLIT3 | F_BIAS },
    {   1,  130, 1056, SILKIE_DTYPE_Q8_0,  0 },                /* 33 blocks: lanes wrap */
    { 130,   70,   96, SILKIE_DTYPE_Q4_0,  F_BIAS },
    {  70,   33,   45, SILKIE_DTYPE_F32,   F_TRANS_A | F_W_KN | F_ACC },
    {   3,   65,  128, SILKIE_DTYPE_Q4_0,  F_NORM | F_BIAS },  /* folded norm, every GEMV form */
    {   1,   40, 1056, SILKIE_DTYPE_Q8_0,  F_NORM | F_SPLIT2 },
    {   1,  200,   64, SILKIE_DTYPE_Q4_0,  F_SPLIT6 | F_BIAS },
    {  33,   65,  160, SILKIE_DTYPE_F16,   F_BIAS | F_ACC },    /* f16 weights, GEMM */
    {  64,  104,  512, SILKIE_DTYPE_Q8_0,  F_ALPHA },           /* 16 K steps */
};

static void test_tunings(silkie_vk_device *d, uint64_t seed)
{
    for (uint32_t t = 1; t < silkie_op_matmul_n_tunings(); t++) {
        SK_TEST_OK(silkie_op_matmul_set_tuning(t));
        const char *name = silkie_op_matmul_tuning_name(t);
        const int gemv_setting = !strncmp(name, "gemv", 4);
        printf("tuning %s\n", name);
        for (size_t i = 0; i < SK_ARRAY_LEN(tuning_cases); i++) {
            const mm_case *tc = &tuning_cases[i];
            /* Each setting changes one path only; the other path's cases would repeat. */
            int gemv_case = tc->M <= 8 && !(tc->flags & (F_TRANS_A | F_W_KN));
            if (gemv_case == gemv_setting) run_case(d, tc, tc->dt, seed);
            seed++;
        }
    }
    SK_TEST_OK(silkie_op_matmul_set_tuning(0));
    SK_TEST_STATUS(silkie_op_matmul_set_tuning(silkie_op_matmul_n_tunings()),
                   SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(silkie_op_matmul_tuning_name(silkie_op_matmul_n_tunings()) == NULL,
                  "tuning name past the end");
}

/* A driver that cannot build gemv_q (or the f16 GEMM): the pipeline fault on a fresh device,
 * where neither is built yet. The op records gemv.comp (matmul.comp) instead, with the right
 * result, and keeps choosing it on that device. */
static void test_fallbacks(uint64_t seed)
{
    silkie_vk_device *d = sk_test_device();
    static const mm_case gemv = {1, 300, 256, SILKIE_DTYPE_Q4_0, F_BIAS};
    static const mm_case gemm = {40, 70, 64, SILKIE_DTYPE_F16, 0};
    const int has_gemv_q = silkie_vk_device_caps(d)->subgroup_ops;
    for (int round = 0; has_gemv_q && round < 2; round++) {
        if (round == 0) sk_fault_arm(SK_FAULT_PIPELINE, 1);
        run_case(d, &gemv, gemv.dt, seed++);
        SK_TEST_CHECK(round > 0 || sk_fault_fired(), "gemv_q fallback: no pipeline was built");
        sk_fault_arm(SK_FAULT_NONE, 0);
        const char *kern = silkie_op_matmul_last_kernel();
        SK_TEST_CHECK(!strncmp(kern, "gemv ", 5), "gemv_q fallback: kernel %s", kern);
        SK_TEST_CHECK(silkie_vk_shader_failed(d, SILKIE_SHADER_GEMV_Q_W_Q4_0),
                      "gemv_q fallback: shader not marked");
    }
    uint32_t f16_setting = 0;
    for (uint32_t t = 1; t < silkie_op_matmul_n_tunings(); t++)
        if (!strcmp(silkie_op_matmul_tuning_name(t), "gemm-f16")) f16_setting = t;
    SK_TEST_CHECK(f16_setting > 0, "no gemm-f16 setting");
    if (silkie_vk_device_caps(d)->fp16_arith && f16_setting > 0) {
        SK_TEST_OK(silkie_op_matmul_set_tuning(f16_setting));
        sk_fault_arm(SK_FAULT_PIPELINE, 1);
        run_case(d, &gemm, gemm.dt, seed++);
        SK_TEST_CHECK(sk_fault_fired(), "f16 GEMM fallback: no pipeline was built");
        sk_fault_arm(SK_FAULT_NONE, 0);
        const char *kern = silkie_op_matmul_last_kernel();
        SK_TEST_CHECK(!strstr(kern, " f16"), "f16 GEMM fallback: kernel %s", kern);
        SK_TEST_OK(silkie_op_matmul_set_tuning(0));
    }
    sk_test_device_finish(d, "test_matmul fallbacks");
}

/* The f16-arithmetic GEMM as an automatic choice: only on a device whose app opted in
 * (silkie_vk_device_params.f16_gemm), only for inputs marked f16_ok, never for GEMV; the
 * results within the f16 bound (run_case). */
static void test_f16_opt_in(silkie_vk_device *plain, uint64_t seed)
{
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    p.f16_gemm = 1;
    silkie_vk_device *d = sk_test_device_with(&p);
    const int fp16 = silkie_vk_device_caps(d)->fp16_arith;
    static const struct {
        mm_case c;
        int opted_in, want_f16;
    } runs[] = {
        {{40, 70, 64, SILKIE_DTYPE_F16, F_F16_OK | F_BIAS}, 1, 1},
        {{33, 50, 96, SILKIE_DTYPE_Q4_0, F_F16_OK | F_NORM}, 1, 1}, /* normed, as in prefill */
        {{40, 70, 64, SILKIE_DTYPE_F16, F_BIAS}, 1, 0},             /* input not marked */
        {{40, 70, 64, SILKIE_DTYPE_F32, F_F16_OK}, 1, 0},           /* no f16 kernel for f32 */
        {{1, 70, 64, SILKIE_DTYPE_F16, F_F16_OK}, 1, 0},            /* GEMV */
        {{40, 70, 64, SILKIE_DTYPE_F16, F_F16_OK}, 0, 0},           /* no opt-in */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(runs); i++) {
        run_case(runs[i].opted_in ? d : plain, &runs[i].c, runs[i].c.dt, seed++);
        const char *kern = silkie_op_matmul_last_kernel();
        SK_TEST_CHECK((strstr(kern, " f16") != NULL) == (runs[i].want_f16 && fp16),
                      "f16 opt-in run %zu: kernel %s", i, kern);
    }
    sk_test_device_finish(d, "test_matmul f16 opt-in");
}

/* The automatic choice of the cooperative-matrix GEMM, on made-up caps (lavapipe has none):
 * only for inputs marked f16_ok, only where the device has it, only for the layouts it serves;
 * the gemm-coopmat setting forces it wherever the device has it. */
static void test_coopmat_policy(void)
{
    silkie_vk_caps gpu = {.coopmat_nv = 1, .fp16_arith = 1, .subgroup_size = 32};
    const silkie_matmul_opts plain = {0}, fits = {.f16_ok = 1};
    const silkie_matmul_opts fits_kn = {.f16_ok = 1, .w_kn = 1};
    const silkie_matmul_opts fits_ta = {.f16_ok = 1, .trans_a = 1};
    SK_TEST_CHECK(silkie_matmul_coopmat_fits(&gpu, &fits, 1, 0), "auto, f16_ok: coopmat");
    SK_TEST_CHECK(!silkie_matmul_coopmat_fits(&gpu, &plain, 1, 0), "auto, f32 input: no");
    SK_TEST_CHECK(silkie_matmul_coopmat_fits(&gpu, &plain, 0, 1), "forced: coopmat");
    SK_TEST_CHECK(!silkie_matmul_coopmat_fits(&gpu, &fits, 0, 0), "other setting: no");
    SK_TEST_CHECK(!silkie_matmul_coopmat_fits(&gpu, &fits_kn, 1, 1), "w_kn: no");
    SK_TEST_CHECK(!silkie_matmul_coopmat_fits(&gpu, &fits_ta, 1, 1), "trans_a: no");
    silkie_vk_caps narrow = gpu, no_f16 = gpu, none = gpu;
    narrow.subgroup_size = 64;
    no_f16.fp16_arith = 0;
    none.coopmat_nv = 0;
    SK_TEST_CHECK(!silkie_matmul_coopmat_fits(&narrow, &fits, 1, 1), "64-wide subgroups: no");
    SK_TEST_CHECK(!silkie_matmul_coopmat_fits(&no_f16, &fits, 1, 1), "no shaderFloat16: no");
    SK_TEST_CHECK(!silkie_matmul_coopmat_fits(&none, &fits, 1, 1), "no coopmat: no");
}

/* Shapes the op must refuse with a status, not a crash. */
static void test_errors(silkie_vk_device *d)
{
    silkie_owned_tensor a = {0}, w = {0}, y = {0};
    const uint32_t ne_a[4] = {48, 2, 1, 1}, ne_w[4] = {48, 4, 1, 1}, ne_y[4] = {4, 2, 1, 1};
    float buf[256] = {0};
    int ok = sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_a, buf, &a);
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_w, buf, &w);
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_y, buf, &y);
    SK_TEST_CHECK(ok, "error setup");
    if (ok) {
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            silkie_tensor bad_y = y.t;
            bad_y.ne[0] = 5;
            SK_TEST_STATUS(silkie_op_matmul(&c, &a.t, &w.t, NULL, &bad_y, NULL),
                           SILKIE_ERR_INVALID_ARGUMENT);
            silkie_tensor q = w.t;
            q.dtype = SILKIE_DTYPE_Q8_0; /* K = 48 is not a whole number of blocks */
            SK_TEST_STATUS(silkie_op_matmul(&c, &a.t, &q, NULL, &y.t, NULL),
                           SILKIE_ERR_INVALID_ARGUMENT);
            silkie_tensor i = w.t;
            i.dtype = SILKIE_DTYPE_I32;
            SK_TEST_STATUS(silkie_op_matmul(&c, &a.t, &i, NULL, &y.t, NULL),
                           SILKIE_ERR_UNSUPPORTED);
            silkie_tensor g = a.t; /* a row of 47 floats: not [K] */
            g.ne[0] = 47;
            g.ne[1] = 1;
            silkie_matmul_opts no = {.norm_w = &g, .norm_eps = 1e-6f};
            SK_TEST_STATUS(silkie_op_matmul(&c, &a.t, &w.t, NULL, &y.t, &no),
                           SILKIE_ERR_INVALID_ARGUMENT);
            g.ne[0] = 48;
            no.w_kn = 1; /* the fold is for the Linear layout only */
            SK_TEST_STATUS(silkie_op_matmul(&c, &a.t, &w.t, NULL, &y.t, &no),
                           SILKIE_ERR_INVALID_ARGUMENT);
            sk_op_run(&c);
        }
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
    uint64_t seed = 1000;
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        if (cases[i].dt == (silkie_dtype)ALL_DT) {
            for (size_t j = 0; j < SK_ARRAY_LEN(all); j++) run_case(d, &cases[i], all[j], seed++);
        } else {
            run_case(d, &cases[i], cases[i].dt, seed++);
        }
    }
    test_tunings(d, seed);
    test_errors(d);
    test_coopmat_policy();
    test_fallbacks(seed);
    test_f16_opt_in(d, seed + 100);
    return sk_test_device_finish(d, "test_matmul");
}
