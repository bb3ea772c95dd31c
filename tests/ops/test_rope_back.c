/* The rotary backward is silkie_op_rope with .inverse = 1 (no log-n scaling): the rotation is
 * orthogonal, so its transpose is the rotation by -theta. Checked three ways: central
 * differences of a double forward against the reference's inverse path, the GPU inverse path
 * (strided input, separate or in-place output) against the reference, and the adjoint identity
 * <r, rope(x)> = <rope^-1(r), x> between the GPU's own forward and inverse. */
#include <string.h>

#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t T, n_heads, head_dim;
    int fused;     /* x = the k third of a [T, 3 * width] activation (strided view) */
    int in_place;  /* inverse written over the strided view itself */
    int32_t pos0;  /* positions pos0, pos0 + 1, ... */
    double nmse_max;
} op_case;

static const op_case cases[] = {
    {1, 1, 2, 0, 0, 0, 1e-7},
    {5, 4, 32, 1, 0, 3, 1e-7},      /* tiny-model head, fused */
    {3, 2, 128, 1, 1, 17, 1e-7},    /* LLM head, fused, in place */
    {7, 3, 12, 0, 0, 2045, 1e-7},
    /* Far positions: the f32 angle differs from the reference's by the last bit of the inverse
     * frequency (see test_rope.c), so 1e-6. */
    {4, 2, 128, 1, 0, 30000, 1e-6},
    {66000, 1, 4, 1, 0, 0, 1e-6},   /* more rows than one dispatch dimension; far positions */
};

static const float k_base = 10000.0f;

/* L = sum r * rope(x) in double, with the angle formed in f32 exactly as the reference does;
 * x_j replaced by xj. Only the row containing j matters (the others are constant). */
static double loss_row(const float *x, const float *r, int32_t p, uint32_t n_heads,
                       uint32_t head_dim, uint32_t j, double xj)
{
    const uint32_t half = head_dim / 2;
    double l = 0.0;
    for (uint32_t h = 0; h < n_heads; h++) {
        for (uint32_t i = 0; i < half; i++) {
            uint32_t a = h * head_dim + i, b = a + half;
            float inv_freq = 1.0f / powf(k_base, (float)(2 * i) / (float)head_dim);
            float theta = (float)p * inv_freq;
            double c = cos((double)theta), s = sin((double)theta);
            double x1 = a == j ? xj : x[a], x2 = b == j ? xj : x[b];
            l += r[a] * (x1 * c - x2 * s) + r[b] * (x2 * c + x1 * s);
        }
    }
    return l;
}

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[128];
    snprintf(what, sizeof what, "rope_back T %u heads %u hd %u fused %d in_place %d pos %d", k->T,
             k->n_heads, k->head_dim, k->fused, k->in_place, k->pos0);
    const uint32_t width = k->n_heads * k->head_dim, ld = k->fused ? 3 * width : width;
    const uint64_t n = (uint64_t)k->T * width;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *xw = silkie_malloc((size_t)ld * k->T * 4), *dy = silkie_malloc(n * 4);
    float *x = silkie_malloc(n * 4), *want = silkie_malloc(n * 4), *got = silkie_malloc(n * 4);
    float *fwd = silkie_malloc(n * 4), *all = silkie_malloc((size_t)ld * k->T * 4);
    int32_t *pos = silkie_malloc((size_t)k->T * 4);
    sk_fill_uniform(&rng, xw, (uint64_t)ld * k->T, -2, 2);
    sk_fill_uniform(&rng, x, n, -2, 2);
    for (uint32_t t = 0; t < k->T; t++) {
        pos[t] = k->pos0 + (int32_t)t;
        memcpy(dy + (size_t)t * width, xw + (size_t)t * ld + (k->fused ? width : 0), width * 4);
    }
    /* want = rope^-1(dy): the gradient of L = sum dy * rope(x) with respect to x. */
    silkie_ref_rope(dy, pos, want, k->T, k->n_heads, k->head_dim, k_base, 0, 1);

    /* Central differences on the reference. L is linear in x, so the difference has no
     * truncation error, only rounding ~1e-16 * |L| / h with h = 1e-2; the reference's f32
     * output is within 2^-24 relative of exact: 1e-6 of |dy|'s scale (2) is ample. */
    double fd_worst = 0.0;
    for (int q = 0; q < 32; q++) {
        uint32_t t = sk_rng_u32(&rng) % k->T, j = sk_rng_u32(&rng) % width;
        const float *xr = x + (size_t)t * width, *rr = dy + (size_t)t * width;
        const double h = 1e-2;
        double fd = (loss_row(xr, rr, pos[t], k->n_heads, k->head_dim, j, xr[j] + h) -
                     loss_row(xr, rr, pos[t], k->n_heads, k->head_dim, j, xr[j] - h)) /
                    (2 * h);
        double e = fabs(fd - want[(size_t)t * width + j]);
        fd_worst = fmax(fd_worst, e);
        SK_TEST_CHECK(e <= 2e-6, "%s: row %u col %u: reference inverse %.9g, central difference "
                      "%.9g", what, t, j, (double)want[(size_t)t * width + j], fd);
    }

    silkie_owned_tensor tdy = {0}, tp = {0}, tx = {0};
    sk_guarded gy = {0}, gf = {0};
    const uint32_t ne_w[4] = {ld, k->T, 1, 1}, ne_p[4] = {k->T, 1, 1, 1};
    const uint32_t ne_y[4] = {width, k->T, 1, 1};
    const silkie_rope_params inv = {.head_dim = k->head_dim, .freq_base = k_base, .inverse = 1};
    const silkie_rope_params fw = {.head_dim = k->head_dim, .freq_base = k_base};
    silkie_op_ctx c;
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_w, xw, &tdy) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_p, pos, &tp) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_y, x, &tx) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gf) && sk_op_begin(d, &c)) {
        silkie_tensor dyv = k->fused ? silkie_tensor_cols(&tdy.t, width, width) : tdy.t;
        silkie_tensor *out = k->in_place ? &dyv : &gy.o.t;
        SK_TEST_OK(silkie_op_rope(&c, &tx.t, &tp.t, &gf.o.t, &fw));
        SK_TEST_OK(silkie_op_rope(&c, &dyv, &tp.t, out, &inv));
        if (sk_op_run(&c)) {
            if (k->in_place) {
                SK_TEST_OK(silkie_tensor_download(&tdy.t, all, (uint64_t)ld * k->T * 4));
                int untouched = 1;
                for (uint32_t t = 0; t < k->T; t++) {
                    const float *row = all + (size_t)t * ld, *orig = xw + (size_t)t * ld;
                    memcpy(got + (size_t)t * width, row + width, width * 4);
                    untouched &= !memcmp(row, orig, width * 4) &&
                                 !memcmp(row + 2 * width, orig + 2 * width, width * 4);
                }
                SK_TEST_CHECK(untouched, "%s: columns outside the view changed", what);
            } else {
                SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, n * 4));
                sk_guarded_check(&gy, what);
            }
            SK_TEST_OK(silkie_tensor_download(&gf.o.t, fwd, n * 4));
            sk_guarded_check(&gf, what);
            sk_check_close(what, want, got, n, k->nmse_max, 1e-2, seed);
            /* Adjoint: both sides are sums of n products of f32 values rounded once each
             * (~2^-24 relative per term), so they agree to ~1e-7 of sum |terms|. */
            double lhs = 0.0, rhs = 0.0, mag = 0.0;
            for (uint64_t i = 0; i < n; i++) {
                lhs += (double)dy[i] * fwd[i];
                rhs += (double)got[i] * x[i];
                mag += fabs((double)dy[i] * fwd[i]);
            }
            double adj = fabs(lhs - rhs) / (mag > 0 ? mag : 1.0);
            SK_TEST_CHECK(adj <= 1e-6, "%s: <dy, rope(x)> %.9g but <rope^-1(dy), x> %.9g", what,
                          lhs, rhs);
            printf("%-60s nmse %.2e  fd %.2e  adjoint %.2e\n", what, sk_nmse(want, got, n),
                   fd_worst, adj);
        }
    }
    sk_guarded_free(&gy);
    sk_guarded_free(&gf);
    silkie_tensor_free(&tdy);
    silkie_tensor_free(&tp);
    silkie_tensor_free(&tx);
    silkie_free(xw);
    silkie_free(dy);
    silkie_free(x);
    silkie_free(want);
    silkie_free(got);
    silkie_free(fwd);
    silkie_free(all);
    silkie_free(pos);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 1500 + i);
    return sk_test_device_finish(d, "test_rope_back");
}
