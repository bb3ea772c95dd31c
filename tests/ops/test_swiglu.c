/* silkie_op_swiglu against the reference: a and b as column views of one fused activation
 * (the MLP's [w1 | w2] output), contiguous inputs, awkward widths. */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t n_cols, n_rows;
    int fused; /* 1: a = columns [0, n), b = columns [n, 2n) of one [rows, 2n + 1] buffer */
} op_case;

static const op_case cases[] = {
    {1, 1, 0},
    {11008, 2, 1},  /* LLM MLP width, fused */
    {255, 7, 0},    /* not a multiple of the workgroup */
    {128, 33, 1},   /* tiny-model width, odd rows */
};

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "swiglu %ux%u fused %d", k->n_rows, k->n_cols, k->fused);
    const uint64_t n = (uint64_t)k->n_cols * k->n_rows;
    const uint32_t ld = k->fused ? 2 * k->n_cols + 1 : k->n_cols;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *fa = silkie_malloc((size_t)ld * k->n_rows * 4), *fb = silkie_malloc(n * 4);
    float *a = silkie_malloc(n * 4), *b = silkie_malloc(n * 4);
    float *want = silkie_malloc(n * 4), *got = silkie_malloc(n * 4);
    sk_fill_uniform(&rng, fa, (uint64_t)ld * k->n_rows, -6, 6);
    sk_fill_uniform(&rng, fb, n, -6, 6);
    for (uint32_t r = 0; r < k->n_rows; r++) {
        memcpy(a + (size_t)r * k->n_cols, fa + (size_t)r * ld, k->n_cols * 4);
        memcpy(b + (size_t)r * k->n_cols,
               k->fused ? fa + (size_t)r * ld + k->n_cols : fb + (size_t)r * k->n_cols,
               k->n_cols * 4);
    }
    silkie_ref_swiglu(a, b, want, n);

    silkie_owned_tensor ta = {0}, tb = {0};
    sk_guarded gy = {0};
    const uint32_t ne_a[4] = {ld, k->n_rows, 1, 1}, ne_y[4] = {k->n_cols, k->n_rows, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_a, fa, &ta) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_y, fb, &tb) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy)) {
        silkie_tensor av = k->fused ? silkie_tensor_cols(&ta.t, 0, k->n_cols) : ta.t;
        silkie_tensor bv = k->fused ? silkie_tensor_cols(&ta.t, k->n_cols, k->n_cols) : tb.t;
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_swiglu(&c, &av, &bv, &gy.o.t));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, n * 4));
                sk_check_close(what, want, got, n, 1e-7, 1e-4, seed);
                sk_guarded_check(&gy, what);
            }
        }
    }
    sk_guarded_free(&gy);
    silkie_tensor_free(&ta);
    silkie_tensor_free(&tb);
    silkie_free(fa);
    silkie_free(fb);
    silkie_free(a);
    silkie_free(b);
    silkie_free(want);
    silkie_free(got);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 400 + i);
    return sk_test_device_finish(d, "test_swiglu");
}
