/* silkie_op_softmax against the reference: awkward widths, strided input, a scale, in-place
 * (y = x), and rows with one dominant value. */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t n_cols, n_rows, pad;
    float scale;
    int in_place;
} op_case;

static const op_case cases[] = {
    {1, 1, 0, 1.0f, 0},
    {127, 3, 0, 0.125f, 0},    /* not a multiple of the workgroup */
    {4096, 2, 0, 1.0f, 1},     /* in place */
    {1024, 7, 5, 0.0883883f, 0}, /* resampler key count, strided, 1/sqrt(128) */
    {33, 65, 0, 30.0f, 0},     /* large scale: nearly one-hot rows */
    {300, 1, 0, 1.0f, 1},
};

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "softmax %ux%u pad %u scale %g in_place %d", k->n_rows, k->n_cols,
             k->pad, k->scale, k->in_place);
    const uint32_t ld = k->n_cols + k->pad, col0 = k->pad ? 2 : 0;
    const uint64_t n = (uint64_t)k->n_cols * k->n_rows;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *xw = silkie_malloc((size_t)ld * k->n_rows * 4), *x = silkie_malloc(n * 4);
    float *want = silkie_malloc(n * 4), *got = silkie_malloc(n * 4);
    sk_fill_uniform(&rng, xw, (uint64_t)ld * k->n_rows, -8, 8);
    for (uint32_t r = 0; r < k->n_rows; r++)
        memcpy(x + (size_t)r * k->n_cols, xw + (size_t)r * ld + col0, k->n_cols * 4);
    silkie_ref_softmax(x, want, k->n_cols, k->n_rows, k->scale);

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
            SK_TEST_OK(silkie_op_softmax(&c, &xv, &gy.o.t, k->scale));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, n * 4));
                sk_check_close(what, want, got, n, 1e-7, 1e-5, seed);
                sk_guarded_check(&gy, what);
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
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 200 + i);
    return sk_test_device_finish(d, "test_softmax");
}
