/* silkie_op_gelu (exact erf) against the reference over a wide range of inputs, with strided
 * input, in-place operation, and a dense sweep that checks the erf approximation itself. */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t n_cols, n_rows, pad;
    float lo, hi;
    int in_place;
} op_case;

static const op_case cases[] = {
    {1, 1, 0, -1, 1, 0},
    {8192, 3, 0, -12, 12, 0},  /* ViT MLP width, both tails */
    {257, 5, 7, -4, 4, 0},     /* strided, odd sizes */
    {100, 9, 0, -3, 3, 1},     /* in place */
};

/* Relative error of the erf branches over a dense sweep of [-10, 10] (including the switch at
 * |x| = 1.5 sqrt 2): catches a wrong coefficient that NMSE over random data might hide. */
#define SWEEP_N 20001u

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed, int sweep)
{
    char what[96];
    snprintf(what, sizeof what, "gelu %ux%u pad %u [%g, %g] in_place %d%s", k->n_rows, k->n_cols,
             k->pad, k->lo, k->hi, k->in_place, sweep ? " sweep" : "");
    const uint32_t ld = k->n_cols + k->pad, col0 = k->pad ? 3 : 0;
    const uint64_t n = (uint64_t)k->n_cols * k->n_rows;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *xw = silkie_malloc((size_t)ld * k->n_rows * 4), *x = silkie_malloc(n * 4);
    float *want = silkie_malloc(n * 4), *got = silkie_malloc(n * 4);
    sk_fill_uniform(&rng, xw, (uint64_t)ld * k->n_rows, k->lo, k->hi);
    if (sweep)
        for (uint64_t i = 0; i < n; i++)
            xw[i] = k->lo + (k->hi - k->lo) * (float)i / (float)(n - 1);
    for (uint32_t r = 0; r < k->n_rows; r++)
        memcpy(x + (size_t)r * k->n_cols, xw + (size_t)r * ld + col0, k->n_cols * 4);
    silkie_ref_gelu(x, want, n);

    silkie_owned_tensor tx = {0};
    sk_guarded gy = {0};
    const uint32_t ne_x[4] = {ld, k->n_rows, 1, 1}, ne_y[4] = {k->n_cols, k->n_rows, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, xw, &tx) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy)) {
        silkie_tensor xv = k->pad ? silkie_tensor_cols(&tx.t, col0, k->n_cols) : tx.t;
        if (k->in_place) {
            SK_TEST_OK(silkie_vk_buffer_write(gy.o.t.buf, gy.o.t.offset, x, n * 4));
            xv = gy.o.t;
        }
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_gelu(&c, &xv, &gy.o.t));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, n * 4));
                sk_check_close(what, want, got, n, 1e-7, 1e-5, seed);
                sk_guarded_check(&gy, what);
                if (sweep) {
                    /* Relative error where |gelu| >= 1e-6. The ~1e-7 erf fit is not the limit
                     * in the left tail: rounding x / sqrt 2 to f32 alone moves erfc(u) by
                     * 2 u^2 * 6e-8 relative (1.5e-6 at x = -5), hence 2e-6. */
                    double worst = 0;
                    uint64_t at = 0;
                    for (uint64_t i = 0; i < n; i++) {
                        if (fabsf(want[i]) < 1e-6f) continue;
                        double e = fabs((double)got[i] - want[i]) / fabs((double)want[i]);
                        if (e > worst) { worst = e; at = i; }
                    }
                    SK_TEST_CHECK(worst < 2e-6, "%s: relative error %.3g at x = %.9g", what, worst,
                                  x[at]);
                    printf("gelu sweep: max relative error %.3g at x = %.9g\n", worst, x[at]);
                }
            }
        }
    }
    sk_guarded_free(&gy);
    silkie_tensor_free(&tx);
    silkie_free(xw);
    silkie_free(x);
    silkie_free(want);
    silkie_free(got);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 300 + i, 0);
    const op_case sweep = {SWEEP_N, 1, 0, -10, 10, 0};
    run_case(d, &sweep, 399, 1);
    return sk_test_device_finish(d, "test_gelu");
}
