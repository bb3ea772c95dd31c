/* silkie_op_argmax against the reference: the full vocabulary row, many ties (lowest index must
 * win), negative rows, strided rows, one element. Indices must match exactly. */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t n_cols, n_rows, pad;
    int levels; /* > 0: values quantized to this many levels, so ties are everywhere */
    float lo, hi;
} op_case;

static const op_case cases[] = {
    {151936, 1, 0, 0, -30, 30},  /* Qwen vocabulary */
    {151936, 2, 0, 3, -1, 1},    /* vocabulary-sized rows full of ties */
    {1, 1, 0, 0, -1, 1},
    {4096, 5, 3, 0, -9, -1},     /* all negative, strided */
    {257, 33, 0, 2, 0, 1},       /* odd sizes, ties */
};

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "argmax %ux%u pad %u levels %d", k->n_rows, k->n_cols, k->pad,
             k->levels);
    const uint32_t ld = k->n_cols + k->pad, col0 = k->pad ? 1 : 0;
    const uint64_t n = (uint64_t)k->n_cols * k->n_rows;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *xw = silkie_malloc((size_t)ld * k->n_rows * 4), *x = silkie_malloc(n * 4);
    int32_t *want = silkie_malloc((size_t)k->n_rows * 4);
    int32_t *got = silkie_malloc((size_t)k->n_rows * 4);
    sk_fill_uniform(&rng, xw, (uint64_t)ld * k->n_rows, k->lo, k->hi);
    if (k->levels)
        for (uint64_t i = 0; i < (uint64_t)ld * k->n_rows; i++)
            xw[i] = floorf(xw[i] * (float)k->levels);
    for (uint32_t r = 0; r < k->n_rows; r++)
        memcpy(x + (size_t)r * k->n_cols, xw + (size_t)r * ld + col0, k->n_cols * 4);
    silkie_ref_argmax(x, want, k->n_cols, k->n_rows);

    silkie_owned_tensor tx = {0};
    sk_guarded gy = {0};
    const uint32_t ne_x[4] = {ld, k->n_rows, 1, 1}, ne_y[4] = {k->n_rows, 1, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, xw, &tx) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_I32, ne_y, &gy)) {
        silkie_tensor xv = k->pad ? silkie_tensor_cols(&tx.t, col0, k->n_cols) : tx.t;
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_argmax(&c, &xv, &gy.o.t));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, (uint64_t)k->n_rows * 4));
                for (uint32_t r = 0; r < k->n_rows; r++)
                    SK_TEST_CHECK(got[r] == want[r], "%s: row %u: got %d want %d (seed %llu)",
                                  what, r, got[r], want[r], (unsigned long long)seed);
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
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 900 + i);
    return sk_test_device_finish(d, "test_argmax");
}
