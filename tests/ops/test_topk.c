/* silkie_op_topk against the reference: the full vocabulary row at k = 1, 40 and 256, rows
 * full of ties (lower index first), k = n, negative values. Values and indices must match
 * exactly. */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t n, k;
    int levels; /* > 0: values quantized to this many levels per unit (ties) */
    float lo, hi;
} op_case;

static const op_case cases[] = {
    {151936, 1, 0, -30, 30},   /* Qwen vocabulary, greedy */
    {151936, 40, 0, -30, 30},
    {151936, 256, 4, -2, 2},   /* ties across the k-th boundary */
    {300, 256, 0, -1, 1},
    {5, 5, 0, -1, 1},          /* k = n */
    {1, 1, 0, -1, 1},
    {1000, 17, 1, -3, 0},      /* negative, heavy ties, zeros */
};

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "topk n %u k %u levels %d", k->n, k->k, k->levels);
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *x = silkie_malloc((size_t)k->n * 4), *wv = silkie_malloc(k->k * 4);
    float *gv = silkie_malloc(k->k * 4);
    int32_t *wi = silkie_malloc(k->k * 4), *gi = silkie_malloc(k->k * 4);
    sk_fill_uniform(&rng, x, k->n, k->lo, k->hi);
    if (k->levels)
        for (uint32_t i = 0; i < k->n; i++) x[i] = floorf(x[i] * (float)k->levels);
    silkie_ref_topk(x, k->n, k->k, wv, wi);

    silkie_owned_tensor tx = {0};
    sk_guarded gvals = {0}, gidx = {0};
    const uint32_t ne_x[4] = {k->n, 1, 1, 1}, ne_k[4] = {k->k, 1, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, x, &tx) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_k, &gvals) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_I32, ne_k, &gidx)) {
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_topk(&c, &tx.t, k->k, &gvals.o.t, &gidx.o.t));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gvals.o.t, gv, k->k * 4));
                SK_TEST_OK(silkie_tensor_download(&gidx.o.t, gi, k->k * 4));
                int bad = 0;
                for (uint32_t i = 0; i < k->k && bad < 5; i++) {
                    if (gi[i] != wi[i] || gv[i] != wv[i]) {
                        bad++;
                        SK_TEST_CHECK(0, "%s: rank %u: got (%d, %g) want (%d, %g) (seed %llu)",
                                      what, i, gi[i], gv[i], wi[i], wv[i],
                                      (unsigned long long)seed);
                    }
                }
                sk_guarded_check(&gvals, what);
                sk_guarded_check(&gidx, what);
            }
        }
    }
    sk_guarded_free(&gvals);
    sk_guarded_free(&gidx);
    silkie_tensor_free(&tx);
    silkie_free(x);
    silkie_free(wv);
    silkie_free(gv);
    silkie_free(wi);
    silkie_free(gi);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 1000 + i);
    return sk_test_device_finish(d, "test_topk");
}
