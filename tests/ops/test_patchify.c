/* silkie_op_patchify against the reference: the real 14-pixel patch on a small image, odd
 * patch sizes and non-square images. */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t H, W, patch;
} op_case;

static const op_case cases[] = {
    {14, 14, 14},   /* one patch */
    {56, 42, 14},   /* model patch, non-square */
    {15, 25, 5},
    {4, 4, 1},      /* patch of one pixel */
    {6, 9, 3},
};

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "patchify %ux%u patch %u", k->H, k->W, k->patch);
    const uint64_t n = 3ull * k->H * k->W;
    const uint32_t row = 3 * k->patch * k->patch;
    const uint32_t n_patches = (k->H / k->patch) * (k->W / k->patch);
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *img = silkie_malloc(n * 4), *want = silkie_malloc(n * 4), *got = silkie_malloc(n * 4);
    sk_fill_uniform(&rng, img, n, -2, 2);
    silkie_ref_patchify(img, k->H, k->W, k->patch, want);

    silkie_owned_tensor ti = {0};
    sk_guarded gy = {0};
    const uint32_t ne_i[4] = {k->W, k->H, 3, 1}, ne_y[4] = {row, n_patches, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_i, img, &ti) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy)) {
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_patchify(&c, &ti.t, &gy.o.t, k->patch));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, n * 4));
                /* A permutation: must be exact. */
                sk_check_close(what, want, got, n, 0.0, 0.0, seed);
                sk_guarded_check(&gy, what);
            }
        }
    }
    sk_guarded_free(&gy);
    silkie_tensor_free(&ti);
    silkie_free(img);
    silkie_free(want);
    silkie_free(got);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 600 + i);
    return sk_test_device_finish(d, "test_patchify");
}
