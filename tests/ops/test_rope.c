/* silkie_op_rope against the reference: q and k as column views of a fused QKV activation,
 * in place, log-n scaling around its threshold, the inverse rotation, and a replayed command
 * list with new positions. */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t T, n_heads, head_dim;
    int fused;      /* x = the k third of a [T, 3 * width] activation (strided view) */
    int in_place;   /* y = x */
    uint32_t logn_base;
    int inverse;
    int32_t pos0;   /* positions pos0, pos0 + 1, ... */
    double nmse_max;
} op_case;

static const op_case cases[] = {
    {1, 1, 2, 0, 0, 0, 0, 0, 1e-7},
    {5, 4, 32, 1, 0, 0, 0, 3, 1e-7},       /* tiny-model head, fused */
    {3, 2, 128, 1, 1, 0, 0, 17, 1e-7},     /* LLM head, fused and in place */
    {6, 3, 12, 0, 0, 2048, 0, 2045, 1e-7}, /* log-n scaling switches on at 2048 */
    {7, 2, 128, 0, 1, 0, 1, 40, 1e-7},     /* inverse rotation, in place */
    {2, 2, 104, 0, 0, 0, 0, 0, 1e-7},      /* vision head width */
    /* Far positions: the f32 angle p * inv_freq is ~1e-3 rad from the reference's when the two
     * inverse frequencies differ in their last bit (GLSL exp2 vs C powf): ~2e-7 measured on
     * lavapipe, so 1e-6 here. */
    {4, 2, 128, 1, 0, 2048, 0, 30000, 1e-6},
};

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[128];
    snprintf(what, sizeof what,
             "rope T %u heads %u hd %u fused %d in_place %d logn %u inv %d pos %d", k->T,
             k->n_heads, k->head_dim, k->fused, k->in_place, k->logn_base, k->inverse, k->pos0);
    const float base = 10000.0f;
    const uint32_t width = k->n_heads * k->head_dim, ld = k->fused ? 3 * width : width;
    const uint64_t n = (uint64_t)k->T * width;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *xw = silkie_malloc((size_t)ld * k->T * 4), *x = silkie_malloc(n * 4);
    float *want = silkie_malloc(n * 4), *got = silkie_malloc(n * 4);
    int32_t *pos = silkie_malloc((size_t)k->T * 4);
    sk_fill_uniform(&rng, xw, (uint64_t)ld * k->T, -2, 2);
    for (uint32_t t = 0; t < k->T; t++) {
        pos[t] = k->pos0 + (int32_t)t;
        memcpy(x + (size_t)t * width, xw + (size_t)t * ld + (k->fused ? width : 0), width * 4);
    }
    silkie_ref_rope(x, pos, want, k->T, k->n_heads, k->head_dim, base, k->logn_base, k->inverse);

    silkie_owned_tensor tx = {0}, tp = {0};
    sk_guarded gy = {0};
    const uint32_t ne_x[4] = {ld, k->T, 1, 1}, ne_p[4] = {k->T, 1, 1, 1};
    const uint32_t ne_y[4] = {width, k->T, 1, 1};
    const silkie_rope_params p = {.head_dim = k->head_dim, .freq_base = base,
                                  .logn_base = k->logn_base, .inverse = (uint32_t)k->inverse};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, xw, &tx) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_p, pos, &tp) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy)) {
        silkie_tensor xv = k->fused ? silkie_tensor_cols(&tx.t, width, width) : tx.t;
        silkie_tensor *yv = &gy.o.t;
        if (k->in_place) yv = &xv;
        if (k->in_place && !k->fused) {
            SK_TEST_OK(silkie_vk_buffer_write(gy.o.t.buf, gy.o.t.offset, x, n * 4));
            xv = gy.o.t;
            yv = &gy.o.t;
        }
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_rope(&c, &xv, &tp.t, yv, &p));
            if (sk_op_run(&c)) {
                if (k->in_place && k->fused) {
                    /* The rotated k third must be in place and q, v untouched. */
                    float *all = silkie_malloc((size_t)ld * k->T * 4);
                    SK_TEST_OK(silkie_tensor_download(&tx.t, all, (uint64_t)ld * k->T * 4));
                    int untouched = 1;
                    for (uint32_t t = 0; t < k->T; t++) {
                        memcpy(got + (size_t)t * width, all + (size_t)t * ld + width, width * 4);
                        untouched &= !memcmp(all + (size_t)t * ld, xw + (size_t)t * ld, width * 4);
                        untouched &= !memcmp(all + (size_t)t * ld + 2 * width,
                                             xw + (size_t)t * ld + 2 * width, width * 4);
                    }
                    SK_TEST_CHECK(untouched, "%s: q or v columns changed", what);
                    silkie_free(all);
                } else {
                    SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, n * 4));
                }
                sk_check_close(what, want, got, n, k->nmse_max, 1e-2, seed);
                sk_guarded_check(&gy, what);
            }
        }
    }
    sk_guarded_free(&gy);
    silkie_tensor_free(&tx);
    silkie_tensor_free(&tp);
    silkie_free(xw);
    silkie_free(x);
    silkie_free(want);
    silkie_free(got);
    silkie_free(pos);
}

/* One recorded list, replayed after the positions change on the host side. */
static void replay(silkie_vk_device *d, uint64_t seed)
{
    const uint32_t T = 3, H = 2, hd = 32, width = H * hd;
    const uint64_t n = (uint64_t)T * width;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float x[3 * 64], want[3 * 64], got[3 * 64];
    sk_fill_uniform(&rng, x, n, -1, 1);
    silkie_owned_tensor tx = {0}, tp = {0};
    sk_guarded gy = {0};
    const uint32_t ne_x[4] = {width, T, 1, 1}, ne_p[4] = {T, 1, 1, 1};
    int32_t pos[2][3] = {{0, 1, 2}, {100, 101, 500}};
    const silkie_rope_params p = {.head_dim = hd, .freq_base = 10000.0f};
    silkie_op_ctx c = {0};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, x, &tx) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_p, pos[0], &tp) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_x, &gy) && sk_op_begin(d, &c)) {
        SK_TEST_OK(silkie_op_rope(&c, &tx.t, &tp.t, &gy.o.t, &p));
        SK_TEST_OK(silkie_vk_cmd_end(c.cmd));
        for (int r = 0; r < 2; r++) {
            SK_TEST_OK(silkie_tensor_upload(&tp, pos[r], sizeof pos[r]));
            SK_TEST_OK(silkie_vk_cmd_submit_wait(c.cmd));
            SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, n * 4));
            silkie_ref_rope(x, pos[r], want, T, H, hd, 10000.0f, 0, 0);
            sk_check_close(r ? "rope replay 2" : "rope replay 1", want, got, n, 1e-7, 1e-4, seed);
        }
        sk_guarded_check(&gy, "rope replay");
    }
    silkie_vk_cmd_destroy(c.cmd);
    sk_guarded_free(&gy);
    silkie_tensor_free(&tx);
    silkie_tensor_free(&tp);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 700 + i);
    replay(d, 799);
    return sk_test_device_finish(d, "test_rope");
}
