/* silkie_op_rms_norm_back against the reference (awkward widths, strided x and dy at unaligned
 * offsets, with and without weight, accumulate on and off, more rows than one grid dimension
 * holds) and against central differences of a double-precision forward. */
#include <string.h>

#include "harness_vk.h"
#include "ops/ops_train.h"
#include "ref/ref_train.h"

typedef struct {
    uint32_t n_cols, n_rows, pad; /* pad > 0: x and dy are column views of wider buffers */
    int has_w, accumulate;
    float x_scale;
} op_case;

static const op_case cases[] = {
    /* One column: dx = w dy eps / (x^2 + eps)^1.5, which cancels to rounding noise unless
     * x^2 is comparable to eps, hence the small x. */
    {1, 1, 0, 1, 0, 1e-3f},
    {127, 3, 0, 1, 1, 1},     /* not a multiple of the workgroup, accumulate */
    {4096, 2, 5, 1, 0, 1},    /* LLM width, strided */
    {1664, 5, 3, 0, 1, 1},    /* vision width, no weight, strided, accumulate */
    {48, 33, 16, 1, 0, 1},    /* tiny model width, odd row count */
    {2, 7, 0, 0, 0, 1},
    {3, 66000, 2, 1, 1, 1},   /* more rows than one dispatch dimension: grid striding */
};

static const float k_eps = 1e-6f;

/* Copies columns [col0, col0 + n) of each of `rows` rows ld apart into a contiguous array. */
static void gather_cols(const float *wide, uint32_t ld, uint32_t col0, uint32_t n, uint32_t rows,
                        float *out)
{
    for (uint32_t r = 0; r < rows; r++)
        memcpy(out + (size_t)r * n, wide + (size_t)r * ld + col0, (size_t)n * 4);
}

/* L = sum_i r_i * y_i for one row of y = rms_norm(x, w), in double; x_j replaced by xj. */
static double loss_row(const float *x, const float *w, const float *r, uint32_t n, uint32_t j,
                       double xj)
{
    double ss = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        double v = i == j ? xj : x[i];
        ss += v * v;
    }
    double inv = 1.0 / sqrt(ss / n + k_eps), l = 0.0;
    for (uint32_t i = 0; i < n; i++) l += r[i] * (i == j ? xj : x[i]) * inv * (w ? w[i] : 1.0);
    return l;
}

/* Central differences at 24 random coordinates against the op's gradient. Bound: the op's f32
 * tree sums carry ~log2(n) * 2^-24 relative error (1e-6 at n = 4096), relative to the terms
 * inv*g and x*k before they cancel (almost completely for n = 1), so the scale is the row's
 * largest inv*|g|; the double central difference with h = 1e-4 * rms(row) has truncation O(h^2)
 * (~1e-8 relative) and rounding ~1e-16 * |L| / h. 2e-5 of that scale leaves a wide margin. */
static double fd_check(const char *what, const float *x, const float *w, const float *dy,
                       const float *got, uint32_t n, uint32_t rows, sk_rng *rng)
{
    double worst = 0.0;
    for (int k = 0; k < 24; k++) {
        uint32_t r = sk_rng_u32(rng) % rows, j = sk_rng_u32(rng) % n;
        const float *xr = x + (size_t)r * n, *gr = dy + (size_t)r * n, *dr = got + (size_t)r * n;
        double ss = 0.0, gmax = 0.0;
        for (uint32_t i = 0; i < n; i++) {
            ss += (double)xr[i] * xr[i];
            gmax = fmax(gmax, fabs(gr[i] * (w ? w[i] : 1.0f)));
        }
        double rms = sqrt(ss / n + k_eps), h = 1e-4 * rms;
        gmax /= rms;
        double fd = (loss_row(xr, w, gr, n, j, xr[j] + h) - loss_row(xr, w, gr, n, j, xr[j] - h)) /
                    (2 * h);
        double err = fabs(fd - dr[j]) / (gmax > 0 ? gmax : 1.0);
        worst = fmax(worst, err);
        SK_TEST_CHECK(err <= 2e-5, "%s: row %u col %u: op %.9g, central difference %.9g", what,
                      r, j, (double)dr[j], fd);
    }
    return worst;
}

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[128];
    snprintf(what, sizeof what, "rms_norm_back %ux%u pad %u w %d acc %d", k->n_rows, k->n_cols,
             k->pad, k->has_w, k->accumulate);
    const uint32_t n = k->n_cols, rows = k->n_rows;
    const uint32_t ldx = n + k->pad, ldg = n + 2 * k->pad, col0 = k->pad ? 1 : 0;
    const uint64_t ne = (uint64_t)n * rows;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *xw = silkie_malloc((size_t)ldx * rows * 4), *gw = silkie_malloc((size_t)ldg * rows * 4);
    float *x = silkie_malloc(ne * 4), *dy = silkie_malloc(ne * 4), *w = silkie_malloc(n * 4);
    float *init = silkie_malloc(ne * 4), *want = silkie_malloc(ne * 4);
    float *got = silkie_malloc(ne * 4);
    for (uint64_t i = 0; i < (uint64_t)ldx * rows; i++)
        xw[i] = (sk_rng_normal(&rng) * 3 + 0.5f) * k->x_scale;
    sk_fill_uniform(&rng, gw, (uint64_t)ldg * rows, -1, 1);
    sk_fill_uniform(&rng, w, n, -2, 2);
    sk_fill_uniform(&rng, init, ne, -1, 1);
    gather_cols(xw, ldx, col0, n, rows, x);
    gather_cols(gw, ldg, col0, n, rows, dy);
    const float *wp = k->has_w ? w : NULL;
    memcpy(want, init, ne * 4);
    silkie_ref_rms_norm_back(x, wp, dy, want, n, rows, k_eps, k->accumulate);

    silkie_owned_tensor tx = {0}, tg = {0}, tw = {0};
    sk_guarded gdx = {0};
    const uint32_t ne_x[4] = {ldx, rows, 1, 1}, ne_g[4] = {ldg, rows, 1, 1};
    const uint32_t ne_w[4] = {n, 1, 1, 1}, ne_dx[4] = {n, rows, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, xw, &tx) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_g, gw, &tg) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_w, w, &tw) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_dx, &gdx)) {
        silkie_tensor xv = k->pad ? silkie_tensor_cols(&tx.t, col0, n) : tx.t;
        silkie_tensor gv = k->pad ? silkie_tensor_cols(&tg.t, col0, n) : tg.t;
        if (k->accumulate)
            SK_TEST_OK(silkie_vk_buffer_write(gdx.o.t.buf, gdx.o.t.offset, init, ne * 4));
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_rms_norm_back(&c, &xv, k->has_w ? &tw.t : NULL, &gv, &gdx.o.t,
                                               k_eps, (uint32_t)k->accumulate));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gdx.o.t, got, ne * 4));
                double amax = sk_max_abs(want, ne);
                sk_check_close(what, want, got, ne, 1e-7, 1e-5 * amax + 1e-7, seed);
                sk_guarded_check(&gdx, what);
                double fd = k->accumulate ? 0.0 : fd_check(what, x, wp, dy, got, n, rows, &rng);
                printf("%-48s nmse %.2e  max|d| %.2e  fd %.2e\n", what, sk_nmse(want, got, ne),
                       sk_max_abs_diff(want, got, ne), fd);
            }
        }
    }
    sk_guarded_free(&gdx);
    silkie_tensor_free(&tx);
    silkie_tensor_free(&tg);
    silkie_tensor_free(&tw);
    silkie_free(xw);
    silkie_free(gw);
    silkie_free(x);
    silkie_free(dy);
    silkie_free(w);
    silkie_free(init);
    silkie_free(want);
    silkie_free(got);
}

/* Two runs of one recorded list write the same bits (fixed reduction order, no atomics). */
static void repeat(silkie_vk_device *d, uint64_t seed)
{
    const uint32_t n = 1000, rows = 7;
    const uint64_t ne = (uint64_t)n * rows;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *x = silkie_malloc(ne * 4), *dy = silkie_malloc(ne * 4);
    float *a = silkie_malloc(ne * 4), *b = silkie_malloc(ne * 4);
    sk_fill_uniform(&rng, x, ne, -3, 3);
    sk_fill_uniform(&rng, dy, ne, -1, 1);
    silkie_owned_tensor tx = {0}, tg = {0}, tdx = {0};
    const uint32_t ne_x[4] = {n, rows, 1, 1};
    silkie_op_ctx c = {0};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, x, &tx) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, dy, &tg) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, x, &tdx) && sk_op_begin(d, &c)) {
        SK_TEST_OK(silkie_op_rms_norm_back(&c, &tx.t, NULL, &tg.t, &tdx.t, k_eps, 0));
        SK_TEST_OK(silkie_vk_cmd_end(c.cmd));
        SK_TEST_OK(silkie_vk_cmd_submit_wait(c.cmd));
        SK_TEST_OK(silkie_tensor_download(&tdx.t, a, ne * 4));
        SK_TEST_OK(silkie_vk_cmd_submit_wait(c.cmd));
        SK_TEST_OK(silkie_tensor_download(&tdx.t, b, ne * 4));
        SK_TEST_CHECK(!memcmp(a, b, ne * 4), "rms_norm_back: two runs differ (seed %llu)",
                      (unsigned long long)seed);
    }
    silkie_vk_cmd_destroy(c.cmd);
    silkie_tensor_free(&tx);
    silkie_tensor_free(&tg);
    silkie_tensor_free(&tdx);
    silkie_free(x);
    silkie_free(dy);
    silkie_free(a);
    silkie_free(b);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 1100 + i);
    repeat(d, 1199);
    return sk_test_device_finish(d, "test_rms_norm_back");
}
