/* silkie_op_interp_bicubic against the reference (the model's 16x16 -> 32x32 at a scaled-down
 * width, non-integer ratios, shrinking, tiny grids), plus the tap weights written in the spec
 * for the 2x case, checked on both the reference and the device. */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t gh, gw, oh, ow, D;
} op_case;

static const op_case cases[] = {
    {16, 16, 32, 32, 48},  /* the model's upsampling, narrow rows */
    {4, 4, 7, 5, 33},      /* non-integer ratios */
    {5, 3, 5, 3, 8},       /* same size */
    {9, 7, 4, 3, 5},       /* shrinking */
    {1, 1, 2, 2, 3},       /* every tap clamped */
    {2, 3, 9, 4, 130},
};

static int run(silkie_vk_device *d, const op_case *k, const float *x, float *got)
{
    silkie_owned_tensor tx = {0};
    sk_guarded gy = {0};
    int ok = 0;
    const uint32_t ne_x[4] = {k->D, k->gh * k->gw, 1, 1}, ne_y[4] = {k->D, k->oh * k->ow, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, x, &tx) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy)) {
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_interp_bicubic(&c, &tx.t, k->gh, k->gw, &gy.o.t, k->oh, k->ow));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, silkie_tensor_nbytes(&gy.o.t)));
                ok = sk_guarded_check(&gy, "interp_bicubic");
            }
        }
    }
    sk_guarded_free(&gy);
    silkie_tensor_free(&tx);
    return ok;
}

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "interp_bicubic %ux%u -> %ux%u D %u", k->gh, k->gw, k->oh, k->ow,
             k->D);
    const uint64_t nx = (uint64_t)k->gh * k->gw * k->D, ny = (uint64_t)k->oh * k->ow * k->D;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *x = silkie_malloc(nx * 4), *want = silkie_malloc(ny * 4), *got = silkie_malloc(ny * 4);
    sk_fill_uniform(&rng, x, nx, -1, 1);
    silkie_ref_interp_bicubic(x, k->gh, k->gw, k->D, want, k->oh, k->ow);
    if (run(d, k, x, got)) sk_check_close(what, want, got, ny, 1e-7, 1e-5, seed);
    silkie_free(x);
    silkie_free(want);
    silkie_free(got);
}

/* One-hot column 5 of a 1 x 16 grid resized to 1 x 32: outputs 7..14 see tap 5 with the
 * weights of the spec's section 4.2 table (o = 2p: taps p-2..p+1, o = 2p+1: taps p-1..p+2). */
static void spec_weights(silkie_vk_device *d)
{
    const op_case k = {1, 16, 1, 32, 1};
    float x[16] = {0}, want[32], got[32];
    x[5] = 1.0f;
    silkie_ref_interp_bicubic(x, 1, 16, 1, want, 1, 32);
    const float w[8] = {-0.03515625f, -0.10546875f, 0.26171875f, 0.87890625f,
                        0.87890625f,  0.26171875f,  -0.10546875f, -0.03515625f};
    int have = run(d, &k, x, got);
    for (int i = 0; i < 8; i++) {
        SK_TEST_CHECK(fabsf(want[7 + i] - w[i]) < 1e-7f, "ref out %d = %.9g, spec %.9g", 7 + i,
                      want[7 + i], w[i]);
        if (have)
            SK_TEST_CHECK(fabsf(got[7 + i] - w[i]) < 1e-7f, "device out %d = %.9g, spec %.9g",
                          7 + i, got[7 + i], w[i]);
    }
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 800 + i);
    spec_weights(d);
    return sk_test_device_finish(d, "test_interp_bicubic");
}
