/* silkie_op_sum_sq against the double reference: awkward sizes, one tensor big enough to be
 * split on small-binding devices (50 M elements), wide magnitude ranges, Inf/NaN, an empty
 * tensor, explicitly split tensors, bit-identical replays, other slots of out left alone, and
 * argument errors that record nothing.
 *
 * Error bound, relative to the exact sum S (every term is >= 0, so each rounding of a partial
 * sum costs at most u = 2^-24 of S): squares u, Kahan lanes 2u + O(k u^2) with k <= n / 2048
 * terms per lane (< 1e-9 here), lane total s - c u, 8 lanes pairwise 3u, 256 invocations in a
 * tree 8u: 15u for one part, plus u per further part of a split tensor. The double reference
 * adds at most n * 2^-53. The check allows (16 + parts) u + n 2^-53. */
#include <string.h>

#include "harness_vk.h"
#include "ops/ops_train.h"
#include "ref/ref_train.h"

#define N_OUT 5u
#define CANARY 0x5ca1ab1eu /* what sk_guarded_alloc fills a tensor with */

typedef struct {
    uint32_t n_cols, n_rows;
    int wide;       /* 1: magnitudes spread over 2^-10 .. 2^10 */
    uint32_t index; /* slot of out written */
} op_case;

static const op_case cases[] = {
    {1, 1, 0, 0},
    {3, 1, 0, 1},
    {255, 1, 1, 4},
    {2048, 1, 0, 2},          /* exactly one chunk of 8 x 256 */
    {2049, 1, 0, 3},          /* one chunk and one element */
    {1000, 7, 1, 1},
    {100003, 1, 0, 4},
    {4099, 12207, 1, 2},      /* 50 M elements: two parts where a binding holds 128 MiB */
};

static const double k_u = 1.0 / 16777216.0;

static double bound(uint64_t n, uint32_t parts)
{
    return (16.0 + parts) * k_u + (double)n * 0x1p-53;
}

static void fill(sk_rng *rng, float *x, uint64_t n, int wide)
{
    for (uint64_t i = 0; i < n; i++) {
        float v = sk_rng_uniform(rng, -1, 1);
        x[i] = wide ? ldexpf(v, (int)(sk_rng_u32(rng) % 21) - 10) : v;
    }
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Runs sum_sq(x) into slot `index` of a fresh guarded out; returns the value written, checks
 * the other slots and guards. */
static float run_one(silkie_vk_device *d, const silkie_tensor *x, uint32_t index,
                     const char *what)
{
    const uint32_t ne_o[4] = {N_OUT, 1, 1, 1};
    sk_guarded go = {0};
    float o[N_OUT] = {0};
    if (sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_o, &go)) {
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_sum_sq(&c, x, &go.o.t, index));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&go.o.t, o, sizeof o));
                for (uint32_t i = 0; i < N_OUT; i++)
                    SK_TEST_CHECK(i == index || bits(o[i]) == CANARY,
                                  "%s: slot %u changed (index %u)", what, i, index);
                sk_guarded_check(&go, what);
            }
        }
    }
    sk_guarded_free(&go);
    return o[index];
}

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "sum_sq %ux%u wide %d index %u", k->n_rows, k->n_cols, k->wide,
             k->index);
    const uint64_t n = (uint64_t)k->n_cols * k->n_rows;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *x = silkie_malloc(n * 4);
    if (!x) {
        SK_TEST_CHECK(x, "%s: out of host memory", what);
        return;
    }
    fill(&rng, x, n, k->wide);
    const double want = silkie_ref_sum_sq(x, n);
    silkie_owned_tensor tx = {0};
    const uint32_t ne_x[4] = {k->n_cols, k->n_rows, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, x, &tx)) {
        const uint32_t parts = tx.t.n_parts;
        const float got = run_one(d, &tx.t, k->index, what);
        const double rel = fabs(got - want) / want;
        SK_TEST_CHECK(rel <= bound(n, parts),
                      "%s: got %.9g, want %.17g, rel %.3g > %.3g (seed %llu)", what, (double)got,
                      want, rel, bound(n, parts), (unsigned long long)seed);
        printf("%-40s parts %u  rel err %.2e (%.2f u, bound %.1f u)\n", what, parts, rel,
               rel / k_u, bound(n, parts) / k_u);
    }
    silkie_tensor_free(&tx);
    silkie_free(x);
}

/* Overflow gives +Inf (not the NaN a compensated sum would make of Inf - Inf), NaN stays NaN,
 * and an empty tensor writes the empty sum. */
static void special(silkie_vk_device *d)
{
    float x[3000];
    for (int i = 0; i < 3000; i++) x[i] = (float)(i % 7) - 3.0f;
    const uint32_t ne[4] = {3000, 1, 1, 1};
    silkie_owned_tensor t = {0};
    x[1234] = 1e20f;
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, x, &t)) {
        float got = run_one(d, &t.t, 1, "sum_sq overflow");
        SK_TEST_CHECK(isinf(got) && got > 0, "sum_sq overflow: got %g, want +inf", (double)got);
        silkie_tensor_free(&t);
    }
    x[1234] = 3.0f;
    x[2999] = NAN;
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, x, &t)) {
        float got = run_one(d, &t.t, 2, "sum_sq nan");
        SK_TEST_CHECK(isnan(got), "sum_sq nan: got %g, want nan", (double)got);
        /* A view of no rows still names a buffer; nothing of it is read. */
        silkie_tensor empty = silkie_tensor_rows_view(&t.t, 0, 0);
        got = run_one(d, &empty, 3, "sum_sq empty");
        SK_TEST_CHECK(bits(got) == 0, "sum_sq empty: got %g, want +0", (double)got);
        silkie_tensor_free(&t);
    }
}

/* One recorded list submitted twice, and a second recording, give the same bits. */
static void repeat(silkie_vk_device *d, uint64_t seed)
{
    const uint64_t n = 1u << 20;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *x = silkie_malloc(n * 4);
    fill(&rng, x, n, 1);
    const uint32_t ne_x[4] = {1u << 10, 1u << 10, 1, 1}, ne_o[4] = {2, 1, 1, 1};
    silkie_owned_tensor tx = {0}, to = {0};
    float a[2] = {0}, b[2] = {0}, c2[2] = {0};
    silkie_op_ctx c = {0};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, x, &tx) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_o, a, &to) && sk_op_begin(d, &c)) {
        SK_TEST_OK(silkie_op_sum_sq(&c, &tx.t, &to.t, 1));
        SK_TEST_OK(silkie_vk_cmd_end(c.cmd));
        SK_TEST_OK(silkie_vk_cmd_submit_wait(c.cmd));
        SK_TEST_OK(silkie_tensor_download(&to.t, a, sizeof a));
        SK_TEST_OK(silkie_vk_cmd_submit_wait(c.cmd));
        SK_TEST_OK(silkie_tensor_download(&to.t, b, sizeof b));
        silkie_vk_cmd_destroy(c.cmd);
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_sum_sq(&c, &tx.t, &to.t, 1));
            if (sk_op_run(&c)) SK_TEST_OK(silkie_tensor_download(&to.t, c2, sizeof c2));
        }
        c.cmd = NULL;
        SK_TEST_CHECK(bits(a[1]) == bits(b[1]) && bits(a[1]) == bits(c2[1]),
                      "sum_sq: runs differ: %.9g %.9g %.9g (seed %llu)", (double)a[1],
                      (double)b[1], (double)c2[1], (unsigned long long)seed);
        double want = silkie_ref_sum_sq(x, n), rel = fabs(a[1] - want) / want;
        SK_TEST_CHECK(rel <= bound(n, 1), "sum_sq repeat: rel %.3g", rel);
        printf("%-40s bit-identical over 3 runs, rel err %.2e\n", "sum_sq repeat 1M", rel);
    }
    silkie_vk_cmd_destroy(c.cmd);
    silkie_tensor_free(&tx);
    silkie_tensor_free(&to);
    silkie_free(x);
}

/* Split tensors on a device whose bindings hold 64 KiB: x in 7 parts (one dispatch each,
 * adding in order) and out in parts too. */
static void split(uint64_t seed)
{
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    p.validation = 1;
    p.max_binding_bytes = 65536;
    silkie_vk_device *d = NULL;
    SK_TEST_OK(silkie_vk_device_create(&p, &d));
    if (!d) return;
    const uint32_t n_cols = 1000, n_rows = 100, n_out = 3 * 16384;
    const uint64_t n = (uint64_t)n_cols * n_rows;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *x = silkie_malloc(n * 4), *o = silkie_malloc((size_t)n_out * 4);
    fill(&rng, x, n, 1);
    for (uint32_t i = 0; i < n_out; i++) o[i] = (float)i;
    const uint32_t ne_x[4] = {n_cols, n_rows, 1, 1}, ne_o[4] = {16, n_out / 16, 1, 1};
    silkie_owned_tensor tx = {0}, to = {0};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, x, &tx) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_o, o, &to)) {
        SK_TEST_CHECK(tx.t.n_parts == 7 && to.t.n_parts > 1, "split: %u and %u parts",
                      tx.t.n_parts, to.t.n_parts);
        const uint32_t index = n_out - 5; /* in the last part of out */
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_sum_sq(&c, &tx.t, &to.t, index));
            SK_TEST_CHECK(silkie_vk_cmd_n_dispatches(c.cmd) == tx.t.n_parts,
                          "split: %u dispatches", silkie_vk_cmd_n_dispatches(c.cmd));
            if (sk_op_run(&c)) {
                float *got = silkie_malloc((size_t)n_out * 4);
                SK_TEST_OK(silkie_tensor_download(&to.t, got, (uint64_t)n_out * 4));
                for (uint32_t i = 0; i < n_out; i++)
                    if (i != index && got[i] != o[i]) {
                        SK_TEST_CHECK(0, "split: slot %u changed", i);
                        break;
                    }
                double want = silkie_ref_sum_sq(x, n), rel = fabs(got[index] - want) / want;
                SK_TEST_CHECK(rel <= bound(n, tx.t.n_parts), "split: got %.9g want %.17g",
                              (double)got[index], want);
                printf("%-40s parts %u  rel err %.2e (%.2f u)\n", "sum_sq split 100x1000", 7u,
                       rel, rel / k_u);
                silkie_free(got);
            }
        }
    }
    silkie_tensor_free(&tx);
    silkie_tensor_free(&to);
    silkie_free(x);
    silkie_free(o);
    SK_TEST_CHECK(silkie_vk_validation_messages(d) == 0, "split: validation messages");
    silkie_vk_device_destroy(d);
}

/* Bad arguments return a status and record nothing. */
static void errors(silkie_vk_device *d)
{
    const uint32_t ne[4] = {64, 4, 1, 1}, ne_o[4] = {4, 1, 1, 1};
    silkie_owned_tensor tx = {0}, th = {0}, to = {0};
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, &tx));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F16, ne, &th));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne_o, &to));
    silkie_op_ctx c;
    if (tx.t.buf && th.t.buf && to.t.buf && sk_op_begin(d, &c)) {
        silkie_tensor strided = silkie_tensor_cols(&tx.t, 1, 32);
        SK_TEST_STATUS(silkie_op_sum_sq(&c, &tx.t, &to.t, 4), SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_STATUS(silkie_op_sum_sq(&c, &th.t, &to.t, 0), SILKIE_ERR_UNSUPPORTED);
        SK_TEST_STATUS(silkie_op_sum_sq(&c, &strided, &to.t, 0), SILKIE_ERR_UNSUPPORTED);
        SK_TEST_STATUS(silkie_op_sum_sq(&c, NULL, &to.t, 0), SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_STATUS(silkie_op_sum_sq(NULL, &tx.t, &to.t, 0), SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_CHECK(silkie_vk_cmd_n_dispatches(c.cmd) == 0, "sum_sq errors recorded work");
        sk_op_run(&c);
    }
    silkie_tensor_free(&tx);
    silkie_tensor_free(&th);
    silkie_tensor_free(&to);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 2100 + i);
    special(d);
    repeat(d, 2199);
    errors(d);
    split(2198);
    return sk_test_device_finish(d, "test_sum_sq");
}
