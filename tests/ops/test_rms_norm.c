/* silkie_op_rms_norm against the reference: awkward widths, strided (column-view) inputs at an
 * unaligned offset, with and without weight. */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t n_cols, n_rows, pad; /* pad > 0: x is a column view of a wider buffer */
    int has_w;
    double nmse_max;
} op_case;

static const op_case cases[] = {
    {1, 1, 0, 1, 1e-7},
    {127, 3, 0, 1, 1e-7},   /* not a multiple of the workgroup */
    {4096, 2, 0, 1, 1e-7},  /* LLM width */
    {1664, 5, 3, 1, 1e-7},  /* vision width, strided */
    {48, 33, 16, 0, 1e-7},  /* tiny model width, no weight, odd row count, strided */
    {129, 1, 1, 1, 1e-7},
};

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "rms_norm %ux%u pad %u w %d", k->n_rows, k->n_cols, k->pad,
             k->has_w);
    const uint32_t ld = k->n_cols + k->pad, col0 = k->pad ? 1 : 0;
    const uint64_t n = (uint64_t)k->n_cols * k->n_rows;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *xw = silkie_malloc((size_t)ld * k->n_rows * 4), *x = silkie_malloc(n * 4);
    float *w = silkie_malloc((size_t)k->n_cols * 4);
    float *want = silkie_malloc(n * 4), *got = silkie_malloc(n * 4);
    for (uint64_t i = 0; i < (uint64_t)ld * k->n_rows; i++) xw[i] = sk_rng_normal(&rng) * 3 + 0.5f;
    sk_fill_uniform(&rng, w, k->n_cols, -2, 2);
    for (uint32_t r = 0; r < k->n_rows; r++)
        memcpy(x + (size_t)r * k->n_cols, xw + (size_t)r * ld + col0, k->n_cols * 4);
    silkie_ref_rms_norm(x, k->has_w ? w : NULL, want, k->n_cols, k->n_rows, 1e-6f);

    silkie_owned_tensor tx = {0}, tw = {0};
    sk_guarded gy = {0};
    const uint32_t ne_x[4] = {ld, k->n_rows, 1, 1}, ne_w[4] = {k->n_cols, 1, 1, 1};
    const uint32_t ne_y[4] = {k->n_cols, k->n_rows, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, xw, &tx) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_w, w, &tw) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy)) {
        silkie_tensor xv = k->pad ? silkie_tensor_cols(&tx.t, col0, k->n_cols) : tx.t;
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_rms_norm(&c, &xv, k->has_w ? &tw.t : NULL, &gy.o.t, 1e-6f));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, n * 4));
                sk_check_close(what, want, got, n, k->nmse_max, 1e-4, seed);
                sk_guarded_check(&gy, what);
            }
        }
    }
    sk_guarded_free(&gy);
    silkie_tensor_free(&tx);
    silkie_tensor_free(&tw);
    silkie_free(xw);
    silkie_free(x);
    silkie_free(w);
    silkie_free(want);
    silkie_free(got);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 100 + i);
    return sk_test_device_finish(d, "test_rms_norm");
}
