/* silkie_op_attention_back against the reference, fed the log-sum-exp of silkie_op_attention
 * recorded in the same command list: causal (also behind a cache, q_pos0 > 0) and non-causal,
 * Tq != n_kv, odd sizes, head_dim 32 and 128 (and one above 128), several heads, q/k/v read as
 * column views of one fused [T, 3H] activation, y and dy strided, dq/dk/dv written as column
 * views of one [T, 3H] gradient whose pad column and canary guards must come back unchanged.
 * A second run must repeat bit for bit. Packed [prefix | A | B] passes with the segment
 * exclusion (B's queries do not see A's keys) run the same way. Then a finite-difference check
 * of the gradients (the reference's and the op's) against a double-precision forward written
 * here, with and without the segment rule. */
#include <string.h>

#include "harness_vk.h"
#include "ops/ops_train.h"
#include "ref/ref_train.h"

#define CANARY 0x5ca1ab1eu /* the guard fill of sk_guarded_alloc */

typedef struct {
    uint32_t Tq, n_kv, n_heads, head_dim;
    int causal;
    uint32_t q_pos0;
    int fused;    /* q/k/v and dq/dk/dv as column views of [T, 1 + 3H] at column 1, which
                     leaves every view at an odd offset (needs Tq == n_kv) */
    uint32_t pad; /* > 0: y and dy are column views of [Tq, H + pad] at column 1 */
    double nmse_max;
    uint32_t seg_begin, seg_end; /* segment exclusion; 0, 0: none */
} op_case;

/* The op sums in f32 from an f32 lse, with cancellation in dP - delta, against a double
 * reference: the NMSE observed on lavapipe stays below 5e-13. 1e-9 leaves three orders of
 * magnitude for devices whose exp() is a few ulp off, while a wrong mask or a missing term
 * gives 1e-4 and more. */
static const op_case cases[] = {
    /* Tq  n_kv  H   hd  causal pos0 fused pad */
    {1, 1, 1, 32, 1, 0, 1, 0, 1e-9},      /* one token: dq = dk = 0, dv = dy */
    {7, 7, 4, 32, 1, 0, 1, 3, 1e-9},      /* tiny model shape, fused in and out */
    {33, 33, 4, 32, 1, 0, 1, 0, 1e-9},    /* 3 query blocks, 3 key blocks */
    {5, 12, 2, 64, 1, 7, 0, 2, 1e-9},     /* behind a 7-token cache */
    {20, 37, 3, 12, 0, 0, 0, 0, 1e-9},    /* cross attention, tiny head */
    {67, 67, 2, 128, 1, 0, 1, 5, 1e-9},   /* full head width, odd length */
    {33, 70, 2, 128, 1, 37, 0, 1, 1e-9},  /* chunk after 37 cached tokens */
    {67, 41, 2, 128, 0, 0, 0, 0, 1e-9},   /* non-causal, more queries than keys */
    {9, 40, 2, 200, 0, 0, 0, 0, 1e-9},    /* head_dim > 128 */
    {130, 130, 1, 64, 1, 0, 1, 0, 1e-9},  /* many tiles of each kind */
    /* packed [prefix | A | B], segment = A          seg_begin seg_end */
    {16, 16, 2, 32, 1, 0, 1, 3, 1e-9, 5, 12},      /* 5 + 7 + 4, fused in and out */
    {62, 62, 2, 128, 1, 0, 1, 1, 1e-9, 40, 49},    /* 40 + 9 + 13, fused */
    {83, 83, 2, 32, 1, 0, 0, 0, 1e-9, 3, 73},      /* A covers whole key and query tiles */
    {48, 48, 2, 64, 1, 0, 1, 0, 1e-9, 0, 40},      /* no prefix */
    {30, 30, 2, 48, 0, 0, 0, 2, 1e-9, 10, 20},     /* non-causal */
    {20, 45, 2, 64, 1, 25, 0, 0, 1e-9, 10, 30},    /* chunk inside A behind a cache */
    {12, 12, 1, 200, 1, 0, 0, 0, 1e-9, 3, 8},      /* head_dim > 128 */
};

/* Host copies of the inputs and outputs of one run. */
typedef struct {
    const float *q, *k, *v, *dy;   /* contiguous [Tq or n_kv][H] */
    float *dq, *dk, *dv, *delta;  /* outputs, contiguous */
} host_io;

/* Packs rows of `cols` floats from src into dst rows of `ld` floats at column c0. */
static void pack(float *dst, uint32_t ld, uint32_t c0, const float *src, uint32_t cols,
                 uint32_t rows)
{
    for (uint32_t r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * ld + c0, src + (size_t)r * cols, cols * sizeof(float));
}

static void unpack(float *dst, const float *src, uint32_t ld, uint32_t c0, uint32_t cols,
                   uint32_t rows)
{
    for (uint32_t r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * cols, src + (size_t)r * ld + c0, cols * sizeof(float));
}

/* Runs forward (for y and lse) and backward on the device and downloads dq, dk, dv and delta;
 * then runs the backward again and checks that it repeats bit for bit. Returns 1 on success. */
static int run_gpu(silkie_vk_device *d, const op_case *k, const host_io *io, const char *what)
{
    const uint32_t w = k->n_heads * k->head_dim, Tq = k->Tq, nkv = k->n_kv;
    const uint32_t ld3 = 3 * w + 1, ldy = w + k->pad, cy = k->pad ? 1 : 0;
    const uint64_t nq = (uint64_t)Tq * w, nk = (uint64_t)nkv * w, ns = (uint64_t)k->n_heads * Tq;
    silkie_owned_tensor tin = {0}, tk = {0}, tv = {0}, ty = {0}, tdy = {0}, tl = {0};
    sk_guarded gd = {0}, gq = {0}, gk = {0}, gv = {0}, gl = {0};
    float *fused = NULL, *back = NULL, *dyw = silkie_malloc((size_t)Tq * ldy * 4);
    int ok = dyw != NULL, done = 0;
    silkie_tensor qv, kv, vv, dqv, dkv, dvv;

    if (ok && k->fused) {
        fused = silkie_malloc((size_t)Tq * ld3 * 4);
        back = silkie_malloc((size_t)Tq * ld3 * 4);
        ok = fused && back;
        if (ok) {
            for (uint64_t i = 0; i < (uint64_t)Tq * ld3; i++) fused[i] = 1e30f; /* pad */
            pack(fused, ld3, 1, io->q, w, Tq);
            pack(fused, ld3, 1 + w, io->k, w, Tq);
            pack(fused, ld3, 1 + 2 * w, io->v, w, Tq);
        }
        const uint32_t ne[4] = {ld3, Tq, 1, 1};
        ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, fused, &tin) &&
             sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne, &gd);
        if (ok) {
            qv = silkie_tensor_cols(&tin.t, 1, w);
            kv = silkie_tensor_cols(&tin.t, 1 + w, w);
            vv = silkie_tensor_cols(&tin.t, 1 + 2 * w, w);
            dqv = silkie_tensor_cols(&gd.o.t, 1, w);
            dkv = silkie_tensor_cols(&gd.o.t, 1 + w, w);
            dvv = silkie_tensor_cols(&gd.o.t, 1 + 2 * w, w);
        }
    } else if (ok) {
        const uint32_t ne_q[4] = {w, Tq, 1, 1}, ne_k[4] = {w, nkv, 1, 1};
        ok = sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_q, io->q, &tin) &&
             sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_k, io->k, &tk) &&
             sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_k, io->v, &tv) &&
             sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_q, &gq) &&
             sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_k, &gk) &&
             sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_k, &gv);
        if (ok) {
            qv = tin.t;
            kv = tk.t;
            vv = tv.t;
            dqv = gq.o.t;
            dkv = gk.o.t;
            dvv = gv.o.t;
        }
    }
    if (ok) {
        for (uint64_t i = 0; i < (uint64_t)Tq * ldy; i++) dyw[i] = 1e30f;
        pack(dyw, ldy, cy, io->dy, w, Tq);
    }
    const uint32_t ne_y[4] = {ldy, Tq, 1, 1}, ne_s[4] = {Tq, k->n_heads, 1, 1};
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_y, dyw, &ty) &&
         sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_y, dyw, &tdy) &&
         sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_s, dyw, &tl) &&
         sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_s, &gl);
    SK_TEST_CHECK(ok, "%s: setup failed", what);
    if (!ok) goto out;
    silkie_tensor yv = k->pad ? silkie_tensor_cols(&ty.t, cy, w) : ty.t;
    silkie_tensor dyv = k->pad ? silkie_tensor_cols(&tdy.t, cy, w) : tdy.t;
    const silkie_attention_params p = {.n_heads = k->n_heads, .head_dim = k->head_dim,
                                       .scale = 1.0f / sqrtf((float)k->head_dim),
                                       .causal = (uint32_t)k->causal, .q_pos0 = k->q_pos0,
                                       .n_kv = nkv, .seg_begin = k->seg_begin,
                                       .seg_end = k->seg_end};
    for (int rep = 0; rep < 2; rep++) {
        silkie_op_ctx c;
        if (!sk_op_begin(d, &c)) goto out;
        if (rep == 0) SK_TEST_OK(silkie_op_attention(&c, &qv, &kv, &vv, &yv, NULL, &tl.t, &p));
        SK_TEST_OK(silkie_op_attention_back(&c, &qv, &kv, &vv, &yv, &dyv, &tl.t, &gl.o.t, &dqv,
                                            &dkv, &dvv, &p));
        if (!sk_op_run(&c)) goto out;
        /* The second run lands in fresh host arrays, compared with the first bit for bit. */
        float *dq = rep ? silkie_malloc(nq * 4) : io->dq;
        float *dk = rep ? silkie_malloc(nk * 4) : io->dk;
        float *dv = rep ? silkie_malloc(nk * 4) : io->dv;
        SK_TEST_CHECK(dq && dk && dv, "%s: out of memory", what);
        if (dq && dk && dv) {
            if (k->fused) {
                SK_TEST_OK(silkie_tensor_download(&gd.o.t, back, (uint64_t)Tq * ld3 * 4));
                unpack(dq, back, ld3, 1, w, Tq);
                unpack(dk, back, ld3, 1 + w, w, Tq);
                unpack(dv, back, ld3, 1 + 2 * w, w, Tq);
                uint32_t bad = 0;
                for (uint32_t r = 0; r < Tq; r++) {
                    uint32_t bits;
                    memcpy(&bits, back + (size_t)r * ld3, 4);
                    bad += bits != CANARY;
                }
                SK_TEST_CHECK(bad == 0, "%s: %u pad column words overwritten", what, bad);
                sk_guarded_check(&gd, what);
            } else {
                SK_TEST_OK(silkie_tensor_download(&gq.o.t, dq, nq * 4));
                SK_TEST_OK(silkie_tensor_download(&gk.o.t, dk, nk * 4));
                SK_TEST_OK(silkie_tensor_download(&gv.o.t, dv, nk * 4));
                sk_guarded_check(&gq, what);
                sk_guarded_check(&gk, what);
                sk_guarded_check(&gv, what);
            }
            if (rep == 0) {
                SK_TEST_OK(silkie_tensor_download(&gl.o.t, io->delta, ns * 4));
                sk_guarded_check(&gl, what);
            } else {
                SK_TEST_CHECK(!memcmp(dq, io->dq, nq * 4) && !memcmp(dk, io->dk, nk * 4) &&
                                  !memcmp(dv, io->dv, nk * 4),
                              "%s: second run differs", what);
            }
        }
        if (rep) {
            silkie_free(dq);
            silkie_free(dk);
            silkie_free(dv);
        }
    }
    done = 1;
out:
    sk_guarded_free(&gd);
    sk_guarded_free(&gq);
    sk_guarded_free(&gk);
    sk_guarded_free(&gv);
    sk_guarded_free(&gl);
    silkie_tensor_free(&tin);
    silkie_tensor_free(&tk);
    silkie_tensor_free(&tv);
    silkie_tensor_free(&ty);
    silkie_tensor_free(&tdy);
    silkie_tensor_free(&tl);
    silkie_free(fused);
    silkie_free(back);
    silkie_free(dyw);
    return done;
}

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[160];
    snprintf(what, sizeof what,
             "attention_back Tq %u n_kv %u H %u hd %u causal %d pos0 %u fused %d seg [%u, %u)",
             k->Tq, k->n_kv, k->n_heads, k->head_dim, k->causal, k->q_pos0, k->fused,
             k->seg_begin, k->seg_end);
    const uint32_t w = k->n_heads * k->head_dim;
    const uint64_t nq = (uint64_t)k->Tq * w, nk = (uint64_t)k->n_kv * w;
    const uint64_t ns = (uint64_t)k->n_heads * k->Tq;
    const float scale = 1.0f / sqrtf((float)k->head_dim);
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *q = silkie_malloc(nq * 4), *kk = silkie_malloc(nk * 4), *v = silkie_malloc(nk * 4);
    float *dy = silkie_malloc(nq * 4), *y = silkie_malloc(nq * 4);
    float *want[3] = {silkie_malloc(nq * 4), silkie_malloc(nk * 4), silkie_malloc(nk * 4)};
    float *got[3] = {silkie_malloc(nq * 4), silkie_malloc(nk * 4), silkie_malloc(nk * 4)};
    float *delta_want = silkie_malloc(ns * 4), *delta_got = silkie_malloc(ns * 4);
    sk_fill_uniform(&rng, q, nq, -2, 2);
    sk_fill_uniform(&rng, kk, nk, -2, 2);
    sk_fill_uniform(&rng, v, nk, -1, 1);
    sk_fill_uniform(&rng, dy, nq, -1, 1);
    silkie_ref_attention_back(q, kk, v, dy, want[0], want[1], want[2], k->Tq, k->n_kv,
                              k->n_heads, k->head_dim, scale, k->causal, k->q_pos0,
                              k->seg_begin, k->seg_end);
    silkie_ref_attention(q, kk, v, y, NULL, k->Tq, k->n_kv, k->n_heads, k->head_dim, scale,
                         k->causal, k->q_pos0, k->seg_begin, k->seg_end);
    for (uint32_t h = 0; h < k->n_heads; h++)
        for (uint32_t i = 0; i < k->Tq; i++) {
            double s = 0.0;
            for (uint32_t c = 0; c < k->head_dim; c++) {
                const size_t e = (size_t)i * w + (size_t)h * k->head_dim + c;
                s += (double)dy[e] * y[e];
            }
            delta_want[(size_t)h * k->Tq + i] = (float)s;
        }
    const host_io io = {.q = q, .k = kk, .v = v, .dy = dy, .dq = got[0], .dk = got[1],
                        .dv = got[2], .delta = delta_got};
    if (run_gpu(d, k, &io, what)) {
        static const char *names[3] = {"dq", "dk", "dv"};
        const uint64_t n[3] = {nq, nk, nk};
        double worst = 0.0, worst_abs = 0.0;
        for (int t = 0; t < 3; t++) {
            char w2[200];
            snprintf(w2, sizeof w2, "%s: %s", what, names[t]);
            sk_check_close(w2, want[t], got[t], n[t], k->nmse_max, 1e-4, seed);
            worst = fmax(worst, sk_nmse(want[t], got[t], n[t]));
            worst_abs = fmax(worst_abs, sk_max_abs_diff(want[t], got[t], n[t]));
        }
        sk_check_close("delta", delta_want, delta_got, ns, 1e-10, 1e-5, seed);
        printf("%-72s nmse %.1e max abs %.1e\n", what, worst, worst_abs);
    }
    silkie_free(q);
    silkie_free(kk);
    silkie_free(v);
    silkie_free(dy);
    silkie_free(y);
    for (int t = 0; t < 3; t++) {
        silkie_free(want[t]);
        silkie_free(got[t]);
    }
    silkie_free(delta_want);
    silkie_free(delta_got);
}

/* ---- finite differences ---------------------------------------------------------------------- */

typedef struct {
    uint32_t Tq, n_kv, H, D;
    int causal;
    uint32_t q_pos0;
    uint32_t seg_begin, seg_end;
} fd_shape;

/* L = sum(r * attention(q, k, v)) entirely in double, written independently of the library. */
static double loss(const fd_shape *s, const double *q, const double *k, const double *v,
                   const float *r, double *srow)
{
    const uint32_t w = s->H * s->D;
    const double scale = 1.0 / sqrt((double)s->D);
    double L = 0.0;
    for (uint32_t h = 0; h < s->H; h++)
        for (uint32_t i = 0; i < s->Tq; i++) {
            const uint32_t qa = s->q_pos0 + i, n = s->n_kv;
            double m = -INFINITY, z = 0.0;
            for (uint32_t j = 0; j < n; j++) {
                /* Hidden keys: causal (j > qa) or in the segment behind a query past it. */
                const int hide = (s->causal && j > qa) ||
                                 (qa >= s->seg_end && j >= s->seg_begin && j < s->seg_end);
                double dot = 0.0;
                for (uint32_t c = 0; c < s->D; c++)
                    dot += q[(size_t)i * w + h * s->D + c] * k[(size_t)j * w + h * s->D + c];
                srow[j] = hide ? -INFINITY : dot * scale;
                if (srow[j] > m) m = srow[j];
            }
            for (uint32_t j = 0; j < n; j++) {
                srow[j] = exp(srow[j] - m);
                z += srow[j];
            }
            for (uint32_t c = 0; c < s->D; c++) {
                double yc = 0.0;
                for (uint32_t j = 0; j < n; j++) yc += srow[j] * v[(size_t)j * w + h * s->D + c];
                L += r[(size_t)i * w + h * s->D + c] * yc / z;
            }
        }
    return L;
}

/* Central differences of L at FD_COORDS random coordinates of each of q, k and v, against the
 * reference's gradients and the op's (dy = r).
 *
 * Bound: the truncation error of a central difference is eps^2/6 |d^3L/dx^3|. A coordinate of
 * q or k enters L only through scores, each scaled by scale * |other operand| <= 2/sqrt(D) <= 0.5,
 * and the softmax's third derivative in a score is below 1, so with |r|, |v| <= 1 and at most 9
 * keys |d^3L/dx^3| stays below ~1 and the error below eps^2/6 ~ 2e-7 (v enters linearly: no
 * truncation error). Rounding in the double forward adds ~1e-16 |L| / eps ~ 1e-12. The
 * reference rounds its double result to f32 once (6e-8 relative); the op sums in f32 (observed
 * below 4e-7 absolute). Hence |fd - g| <= 1e-6 + 1e-5 |g| for the reference and 5e-6 + 1e-5 |g|
 * for the op; a wrong term (scale, mask, delta) is off by 1e-3 and more. Observed: 2e-8 and
 * 3.4e-7. */
#define FD_COORDS 12
#define FD_EPS 1e-3

static void fd_check(silkie_vk_device *d, const fd_shape *s, uint64_t seed)
{
    const uint32_t w = s->H * s->D;
    const uint64_t nq = (uint64_t)s->Tq * w, nk = (uint64_t)s->n_kv * w;
    const uint64_t n[3] = {nq, nk, nk};
    char what[160];
    snprintf(what, sizeof what, "fd Tq %u n_kv %u H %u hd %u causal %d pos0 %u seg [%u, %u)",
             s->Tq, s->n_kv, s->H, s->D, s->causal, s->q_pos0, s->seg_begin, s->seg_end);
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *x[3], *r = silkie_malloc(nq * 4), *g_ref[3], *g_op[3];
    double *xd[3], *srow = silkie_malloc((size_t)s->n_kv * 8);
    float *delta = silkie_malloc((size_t)s->H * s->Tq * 4);
    for (int t = 0; t < 3; t++) {
        x[t] = silkie_malloc(n[t] * 4);
        g_ref[t] = silkie_malloc(n[t] * 4);
        g_op[t] = silkie_malloc(n[t] * 4);
        xd[t] = silkie_malloc(n[t] * 8);
        sk_fill_uniform(&rng, x[t], n[t], t == 2 ? -1.0f : -2.0f, t == 2 ? 1.0f : 2.0f);
        for (uint64_t i = 0; i < n[t]; i++) xd[t][i] = x[t][i];
    }
    sk_fill_uniform(&rng, r, nq, -1, 1);
    const float scale = 1.0f / sqrtf((float)s->D);
    silkie_ref_attention_back(x[0], x[1], x[2], r, g_ref[0], g_ref[1], g_ref[2], s->Tq, s->n_kv,
                              s->H, s->D, scale, s->causal, s->q_pos0, s->seg_begin,
                              s->seg_end);
    const op_case oc = {.Tq = s->Tq, .n_kv = s->n_kv, .n_heads = s->H, .head_dim = s->D,
                        .causal = s->causal, .q_pos0 = s->q_pos0,
                        .seg_begin = s->seg_begin, .seg_end = s->seg_end};
    const host_io io = {.q = x[0], .k = x[1], .v = x[2], .dy = r, .dq = g_op[0],
                        .dk = g_op[1], .dv = g_op[2], .delta = delta};
    const int have_op = run_gpu(d, &oc, &io, what);
    static const char *names[3] = {"q", "k", "v"};
    double worst_ref = 0.0, worst_op = 0.0;
    for (int t = 0; t < 3; t++)
        for (int c = 0; c < FD_COORDS; c++) {
            const uint64_t i = sk_rng_u32(&rng) % n[t];
            const double x0 = xd[t][i];
            xd[t][i] = x0 + FD_EPS;
            const double lp = loss(s, xd[0], xd[1], xd[2], r, srow);
            xd[t][i] = x0 - FD_EPS;
            const double lm = loss(s, xd[0], xd[1], xd[2], r, srow);
            xd[t][i] = x0;
            const double fd = (lp - lm) / (2 * FD_EPS);
            const double e_ref = fabs(fd - g_ref[t][i]) - 1e-5 * fabs(fd);
            const double e_op = have_op ? fabs(fd - g_op[t][i]) - 1e-5 * fabs(fd) : 0.0;
            if (fabs(fd - g_ref[t][i]) > worst_ref) worst_ref = fabs(fd - g_ref[t][i]);
            if (have_op && fabs(fd - g_op[t][i]) > worst_op) worst_op = fabs(fd - g_op[t][i]);
            SK_TEST_CHECK(e_ref <= 1e-6, "%s: d%s[%llu]: fd %.9g ref %.9g (seed %llu)", what,
                          names[t], (unsigned long long)i, fd, (double)g_ref[t][i],
                          (unsigned long long)seed);
            SK_TEST_CHECK(e_op <= 5e-6, "%s: d%s[%llu]: fd %.9g op %.9g (seed %llu)", what,
                          names[t], (unsigned long long)i, fd, (double)g_op[t][i],
                          (unsigned long long)seed);
        }
    printf("%-72s max |fd - ref| %.2e, |fd - op| %.2e\n", what, worst_ref, worst_op);
    for (int t = 0; t < 3; t++) {
        silkie_free(x[t]);
        silkie_free(g_ref[t]);
        silkie_free(g_op[t]);
        silkie_free(xd[t]);
    }
    silkie_free(r);
    silkie_free(srow);
    silkie_free(delta);
}

/* Shape and type errors come back as statuses before anything is recorded. */
static void misuse(silkie_vk_device *d)
{
    silkie_op_ctx c;
    if (!sk_op_begin(d, &c)) return;
    const silkie_tensor tq = {.dtype = SILKIE_DTYPE_F32, .ne = {64, 5, 1, 1}};
    const silkie_tensor tk = {.dtype = SILKIE_DTYPE_F32, .ne = {64, 9, 1, 1}};
    const silkie_tensor tl = {.dtype = SILKIE_DTYPE_F32, .ne = {5, 2, 1, 1}};
    silkie_tensor dq = tq, dk = tk, dv = tk, delta = tl;
    silkie_tensor k16 = tk, short_dk = tk, lse4 = tl, q0 = tq;
    k16.dtype = SILKIE_DTYPE_F16;
    short_dk.ne[1] = 8;
    lse4.ne[0] = 4;
    q0.ne[1] = 0;
    const silkie_attention_params p = {.n_heads = 2, .head_dim = 32, .scale = 0.2f, .n_kv = 9};
    silkie_attention_params wide = p;
    wide.n_heads = 1;
    wide.head_dim = 300;
    const silkie_status inval = SILKIE_ERR_INVALID_ARGUMENT;
    SK_TEST_STATUS(silkie_op_attention_back(&c, &tq, &tk, &tk, &tq, &tq, NULL, &delta, &dq, &dk,
                                            &dv, &p), inval);
    SK_TEST_STATUS(silkie_op_attention_back(&c, &tq, &k16, &tk, &tq, &tq, &tl, &delta, &dq, &dk,
                                            &dv, &p), SILKIE_ERR_UNSUPPORTED);
    SK_TEST_STATUS(silkie_op_attention_back(&c, &tq, &tk, &tk, &tq, &tq, &tl, &delta, &dq, &dk,
                                            &dv, &wide), inval);
    SK_TEST_STATUS(silkie_op_attention_back(&c, &tq, &tk, &tk, &tq, &tq, &tl, &delta, &dq,
                                            &short_dk, &dv, &p), inval);
    SK_TEST_STATUS(silkie_op_attention_back(&c, &tq, &tk, &tk, &tq, &tq, &lse4, &delta, &dq, &dk,
                                            &dv, &p), inval);
    SK_TEST_STATUS(silkie_op_attention_back(&c, &q0, &tk, &tk, &q0, &q0, &tl, &delta, &q0, &dk,
                                            &dv, &p), inval);
    SK_TEST_CHECK(silkie_vk_cmd_n_dispatches(c.cmd) == 0, "misuse recorded dispatches");
    silkie_vk_cmd_destroy(c.cmd);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 2100 + i);
    static const fd_shape fd[] = {
        /* Tq n_kv H  D causal pos0 seg_begin seg_end */
        {6, 9, 2, 16, 1, 3},        /* causal behind a cache */
        {5, 7, 2, 32, 0, 0},        /* non-causal, Tq != n_kv */
        {4, 4, 1, 128, 1, 0},       /* causal prefill, full head width */
        {8, 8, 2, 32, 1, 0, 2, 5},  /* packed 2 + 3 + 3 */
        {9, 9, 1, 128, 1, 0, 3, 6}, /* packed 3 + 3 + 3, full head width */
        {7, 7, 2, 16, 0, 0, 2, 4},  /* packed, non-causal */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(fd); i++) fd_check(d, &fd[i], 2200 + i);
    misuse(d);
    return sk_test_device_finish(d, "test_attention_back");
}
