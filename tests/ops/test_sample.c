/* silkie_op_sample_mark and silkie_op_sample against the reference. Per case: two mark calls
 * build the seen mask (ids out of range included), then one sampling step; with odd seeds the
 * last id is not marked but handed to the step as its own_id (a decode step's fold), which must
 * penalize and mark it the same. Checked exactly:
 * the mask, every penalized logit in the scratch (the integer division against C's `/`,
 * subnormal logits included), the argmax, the header's max and flags, and the candidates (values
 * and ids, in order). With top-k off the device's normaliser must lie within
 * silkie_op_sample_sum_tolerance of the reference's double sum; the worst ratio is printed. The
 * candidate count is exact with top-k on; with top-k off it comes from each side's estimate of
 * the nucleus, so only the common prefix is compared. Output words sit between canaries. */
#include <math.h>

#include "harness_vk.h"
#include "ref/ref.h"

typedef enum { DIST_NORMAL, DIST_LEVELS, DIST_FLAT, DIST_SPECIAL } dist_kind;

typedef struct {
    uint32_t n;         /* vocabulary */
    dist_kind dist;
    float scale;        /* normal: standard deviation; levels: values per unit */
    uint32_t n_seen;    /* ids marked (about half out of range when odd) */
    float penalty;
    float temperature;  /* 0: greedy */
    uint32_t top_k;
    float top_p;
} op_case;

static const op_case cases[] = {
    /*  n       dist          scale n_seen penalty temp  top_k top_p */
    {151936, DIST_NORMAL,    3.0f,    0, 1.0f,  0.0f,   0, 1.0f},   /* greedy, Qwen vocabulary */
    {151936, DIST_NORMAL,    3.0f, 5000, 1.3f,  0.0f,   0, 1.0f},   /* greedy + penalty */
    {151936, DIST_NORMAL,   30.0f, 80000, 1.1f, 0.0f,   0, 1.0f},   /* most ids penalized */
    {151936, DIST_NORMAL,    3.0f,  300, 1.2f,  1.0f,  40, 1.0f},   /* top-k */
    {151936, DIST_NORMAL,    3.0f,  300, 0.8f,  0.7f,   1, 1.0f},   /* top-k 1, penalty < 1 */
    {151936, DIST_NORMAL,    3.0f,  300, 1.1f,  1.0f, 248, 1.0f},   /* largest k with margin */
    {151936, DIST_NORMAL,    3.0f,  300, 1.1f,  1.0f, 300, 1.0f},   /* k past the capacity */
    {151936, DIST_NORMAL,    3.0f,  301, 1.1f,  1.0f,   0, 0.3f},   /* top-p: nucleus */
    {151936, DIST_NORMAL,    3.0f,    0, 1.0f,  0.1f,   0, 0.9f},   /* peaked by temperature */
    {151936, DIST_NORMAL,    0.2f,    0, 1.0f,  1.0f,   0, 0.5f},   /* flat: nucleus too big */
    {151936, DIST_NORMAL,    3.0f,  300, 1.5f,  0.8f,  50, 0.8f},   /* top-k then top-p */
    {151936, DIST_NORMAL,    3.0f,  300, 1.0f,  1.0f,   0, 1.0f},   /* temperature only */
    {151936, DIST_LEVELS,    2.0f,  777, 1.2f,  1.0f,  64, 1.0f},   /* ties across the k-th */
    {151936, DIST_FLAT,      0.0f,    0, 1.0f,  1.0f,  16, 0.9f},   /* every logit equal */
    {151936, DIST_SPECIAL,   3.0f,  300, 1.1f,  1.0f,   0, 0.9f},   /* -inf logits */
    {100000, DIST_SPECIAL,   3.0f,    0, 1.0f,  0.0f,   0, 1.0f},   /* NaN at 0: greedy id 0 */
    {100000, DIST_SPECIAL,   3.0f,    0, 1.0f,  1.0f,  40, 1.0f},   /* NaN: flagged */
    {1000, DIST_LEVELS,      1.0f,  101, 2.0f,  1.0f,   0, 0.95f},  /* heavy ties, zeros */
    {300, DIST_NORMAL,       3.0f,   31, 1.1f,  1.0f,   0, 0.9f},   /* n_want = capacity */
    {200, DIST_NORMAL,       3.0f,   31, 1.1f,  1.0f,   0, 0.99f},  /* whole vocabulary */
    {5, DIST_NORMAL,         3.0f,    3, 1.1f,  1.0f,   3, 1.0f},
    {1, DIST_NORMAL,         3.0f,    1, 1.1f,  1.0f,   0, 0.5f},
};

static const uint32_t k_canary = 0xdeadbeefu;

/* ids: the marked ids (n_ids of them, some out of range): the special values go there so that
 * the penalty meets them. */
static void fill_logits(const op_case *k, sk_rng *rng, float *x, int variant, const int32_t *ids,
                        uint32_t n_ids)
{
    for (uint32_t i = 0; i < k->n; i++) {
        switch (k->dist) {
        case DIST_NORMAL:
        case DIST_SPECIAL: x[i] = k->scale * sk_rng_normal(rng); break;
        case DIST_LEVELS: x[i] = floorf(sk_rng_uniform(rng, -3, 3) * k->scale); break;
        case DIST_FLAT: x[i] = 1.5f; break;
        }
    }
    /* A few subnormal and zero logits: their penalized values are checked bit for bit. */
    for (uint32_t j = 0; k->dist == DIST_NORMAL && j < 32 && k->n > 64; j++) {
        const int32_t t = k->n_seen ? ids[j % n_ids] : (int32_t)(sk_rng_u32(rng) % k->n);
        if (t >= 0 && (uint32_t)t < k->n)
            x[t] = j % 4 == 0   ? -0.0f
                   : j % 4 == 1 ? ldexpf(1.0f + (float)j, -140)
                                : ldexpf((float)(j * 977 % 8191), -149);
    }
    if (k->dist == DIST_SPECIAL) {
        for (uint32_t j = 0; j < k->n / 10; j++) x[sk_rng_u32(rng) % k->n] = -INFINITY;
        if (variant) x[0] = NAN;
    }
}

static int same_bits(float a, float b) { return memcmp(&a, &b, 4) == 0; }

static double g_worst_ratio;

static void compare(const op_case *k, const char *what, uint64_t seed,
                    const silkie_ref_sample_out *want, const silkie_sample_result *got)
{
    SK_TEST_CHECK(got->id == want->id, "%s: id %d, want %d (seed %llu)", what, got->id, want->id,
                  (unsigned long long)seed);
    if (!(k->temperature > 0)) return;
    SK_TEST_CHECK(got->flags == want->flags, "%s: flags %u, want %u", what, got->flags,
                  want->flags);
    if (want->flags) return;
    SK_TEST_CHECK(got->max_logit == want->max_logit, "%s: max %.9g, want %.9g", what,
                  (double)got->max_logit, (double)want->max_logit);
    const int k_on = k->top_k > 0 && k->top_k < k->n;
    if (k_on || !(k->top_p > 0 && k->top_p < 1))
        SK_TEST_CHECK(got->n == want->n, "%s: %u candidates, want %u", what, got->n, want->n);
    else
        SK_TEST_CHECK(got->n >= 1 && got->n <= SILKIE_SAMPLE_MAX_CAND, "%s: %u candidates",
                      what, got->n);
    uint32_t bad = 0;
    for (uint32_t j = 0; j < SK_MIN(got->n, want->n) && bad < 5; j++) {
        if (got->index[j] != want->index[j] || got->value[j] != want->value[j]) {
            bad++;
            SK_TEST_CHECK(0, "%s: rank %u: got (%d, %.9g) want (%d, %.9g) (seed %llu)", what, j,
                          got->index[j], (double)got->value[j], want->index[j],
                          (double)want->value[j], (unsigned long long)seed);
        }
    }
    if (!k_on) {
        const double tol = silkie_op_sample_sum_tolerance(got, k->n);
        const double diff = fabs((double)got->sum - want->sum);
        SK_TEST_CHECK(diff <= tol, "%s: sum %.9g, reference %.12g, bound %.3g", what,
                      (double)got->sum, want->sum, tol);
        SK_TEST_CHECK(fabs(got->sum_err - want->sum_err) <= 1e-3 * (want->sum_err + 1e-30) + 1e-6,
                      "%s: sum_err %.9g, reference %.12g", what, (double)got->sum_err,
                      want->sum_err);
        if (tol > 0 && diff / tol > g_worst_ratio) g_worst_ratio = diff / tol;
    }
}

static void run_case(silkie_vk_device *d, const op_case *k, int variant, uint64_t seed)
{
    char what[128];
    snprintf(what, sizeof what, "case n %u dist %d T %g k %u p %g pen %g%s", k->n, (int)k->dist,
             (double)k->temperature, k->top_k, (double)k->top_p, (double)k->penalty,
             variant ? " (NaN at 0)" : "");
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    const uint32_t V = k->n, W = (V + 31) / 32, n_ids = k->n_seen ? k->n_seen : 1;
    float *x = silkie_malloc((size_t)V * 4), *scratch = NULL;
    uint32_t *seen_ref = silkie_calloc(W, 4), *seen_got = silkie_malloc((size_t)W * 4);
    int32_t *ids = silkie_malloc((size_t)n_ids * 4);
    const uint64_t n_scratch = silkie_op_sample_scratch_elems(V);
    scratch = silkie_malloc(n_scratch * 4);
    uint32_t *words = silkie_malloc(silkie_op_sample_out_words() * 4);
    for (uint32_t i = 0; i < n_ids; i++)
        ids[i] = (k->n_seen & 1) && i % 2 ? (int32_t)(V + i) * (i % 4 == 1 ? 1 : -1)
                                          : (int32_t)(sk_rng_u32(&rng) % V);
    fill_logits(k, &rng, x, variant, ids, n_ids);
    const uint32_t half = n_ids / 2;
    const int own = k->n_seen && (seed & 1);
    const uint32_t n_b = n_ids - half - (own ? 1u : 0u);
    if (k->n_seen) silkie_ref_sample_mark(ids, n_ids, V, seen_ref);
    silkie_ref_sample_out want;
    silkie_ref_sample(x, V, k->n_seen ? seen_ref : NULL, k->penalty, k->temperature, k->top_k,
                      k->top_p, &want);
    const silkie_sample_params sp = {.temperature = k->temperature, .top_k = k->top_k,
                                     .top_p = k->top_p, .repetition_penalty = k->penalty};

    silkie_owned_tensor tx = {0}, tseen = {0}, tids_a = {0}, tids_b = {0}, tids_own = {0};
    silkie_owned_tensor tscr = {0};
    sk_guarded gout = {0};
    const uint32_t ne_x[4] = {V, 1, 1, 1}, ne_w[4] = {W, 1, 1, 1};
    const uint32_t ne_a[4] = {half ? half : 1, 1, 1, 1}, ne_b[4] = {n_b ? n_b : 1, 1, 1, 1};
    const uint32_t ne_1[4] = {1, 1, 1, 1};
    const uint32_t ne_s[4] = {(uint32_t)n_scratch, 1, 1, 1};
    const uint32_t ne_o[4] = {silkie_op_sample_out_words(), 1, 1, 1};
    uint32_t *zeros = silkie_calloc(W, 4);
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, x, &tx) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_w, zeros, &tseen) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_a, ids, &tids_a) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_b, ids + half, &tids_b) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_1, ids + n_ids - 1, &tids_own) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_s, scratch, &tscr) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_I32, ne_o, &gout)) {
        SK_TEST_OK(silkie_vk_buffer_fill(gout.o.t.buf, gout.o.t.offset, ne_o[0] * 4ull,
                                         k_canary));
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            if (k->n_seen) {
                if (half) SK_TEST_OK(silkie_op_sample_mark(&c, &tids_a.t, &tseen.t, V));
                if (n_b) SK_TEST_OK(silkie_op_sample_mark(&c, &tids_b.t, &tseen.t, V));
            }
            SK_TEST_OK(silkie_op_sample(&c, &tx.t, k->n_seen ? &tseen.t : NULL,
                                        own ? &tids_own.t : NULL, &sp, &tscr.t, &gout.o.t));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gout.o.t, words, ne_o[0] * 4));
                SK_TEST_OK(silkie_tensor_download(&tseen.t, seen_got, (uint64_t)W * 4));
                SK_TEST_OK(silkie_tensor_download(&tscr.t, scratch, n_scratch * 4));
                SK_TEST_CHECK(!memcmp(seen_got, seen_ref, (size_t)W * 4), "%s: seen mask", what);
                uint32_t bad = 0;
                for (uint32_t i = 0; i < V && bad < 5; i++) {
                    const int hit = k->n_seen && k->penalty != 1.0f &&
                                    (seen_ref[i / 32] >> (i % 32) & 1u);
                    const float p = hit ? silkie_ref_sample_penalize(x[i], k->penalty) : x[i];
                    if (!same_bits(p, scratch[i]) && !(isnan(p) && isnan(scratch[i]))) {
                        bad++;
                        SK_TEST_CHECK(0, "%s: penalized logit %u of %.9g: %a, want %a", what, i,
                                      (double)x[i], (double)scratch[i], (double)p);
                    }
                }
                silkie_sample_result got;
                const uint64_t bytes = silkie_op_sample_read(words, &sp, &got);
                SK_TEST_CHECK(bytes <= 4096 && (k->temperature > 0 || bytes == 4),
                              "%s: %llu bytes read back", what, (unsigned long long)bytes);
                compare(k, what, seed, &want, &got);
                /* Nothing past what the host reads is written (greedy: the id alone). */
                const uint32_t used = k->temperature > 0 ? 8 + 2 * got.n : 1;
                uint32_t stray = 0;
                for (uint32_t w = used; w < ne_o[0]; w++)
                    stray += words[w] != k_canary && (w < 6 || w >= 8); /* header words 6-7 */
                if (k->temperature > 0 && got.flags) stray = 0;
                SK_TEST_CHECK(stray == 0, "%s: %u words written past the %u read", what, stray,
                              used);
                sk_guarded_check(&gout, what);
            }
        }
    }
    sk_guarded_free(&gout);
    silkie_tensor_free(&tx);
    silkie_tensor_free(&tseen);
    silkie_tensor_free(&tids_a);
    silkie_tensor_free(&tids_b);
    silkie_tensor_free(&tids_own);
    silkie_tensor_free(&tscr);
    silkie_free(zeros);
    silkie_free(x);
    silkie_free(scratch);
    silkie_free(seen_ref);
    silkie_free(seen_got);
    silkie_free(ids);
    silkie_free(words);
}

static void bad_arguments(silkie_vk_device *d)
{
    silkie_owned_tensor tx = {0}, tscr = {0}, tout = {0};
    const uint32_t ne_x[4] = {64, 2, 1, 1}, ne_s[4] = {64 + 3 * 1024, 1, 1, 1};
    const uint32_t ne_o[4] = {silkie_op_sample_out_words(), 1, 1, 1};
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne_x, &tx));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne_s, &tscr));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne_o, &tout));
    silkie_op_ctx c;
    if (tx.t.buf && tscr.t.buf && tout.t.buf && sk_op_begin(d, &c)) {
        silkie_sample_params sp = {.temperature = 1, .repetition_penalty = 1};
        SK_TEST_STATUS(silkie_op_sample(&c, &tx.t, NULL, NULL, &sp, &tscr.t, &tout.t),
                       SILKIE_ERR_INVALID_ARGUMENT); /* two rows */
        silkie_tensor row = silkie_tensor_rows_view(&tx.t, 0, 1);
        SK_TEST_STATUS(silkie_op_sample(&c, &row, NULL, NULL, &sp, &tout.t, &tout.t),
                       SILKIE_ERR_INVALID_ARGUMENT); /* scratch of the wrong type */
        sp.temperature = INFINITY;
        SK_TEST_STATUS(silkie_op_sample(&c, &row, NULL, NULL, &sp, &tscr.t, &tout.t),
                       SILKIE_ERR_INVALID_ARGUMENT);
        sp.temperature = 1;
        silkie_tensor one = silkie_tensor_rows_view(&tout.t, 0, 1);
        one.ne[0] = 1;
        SK_TEST_STATUS(silkie_op_sample(&c, &row, NULL, &one, &sp, &tscr.t, &tout.t),
                       SILKIE_ERR_INVALID_ARGUMENT); /* own_id without a mask */
        SK_TEST_STATUS(silkie_op_sample(&c, &row, &tout.t, &row, &sp, &tscr.t, &tout.t),
                       SILKIE_ERR_INVALID_ARGUMENT); /* own_id not I32 [1] */
        sp.repetition_penalty = 1e-40f; /* subnormal: the integer division needs a normal one */
        SK_TEST_STATUS(silkie_op_sample(&c, &row, &tout.t, NULL, &sp, &tscr.t, &tout.t),
                       SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_STATUS(silkie_op_sample_mark(&c, &row, &tout.t, 64), SILKIE_ERR_INVALID_ARGUMENT);
        sk_op_run(&c);
    }
    silkie_tensor_free(&tx);
    silkie_tensor_free(&tscr);
    silkie_tensor_free(&tout);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        const int nan_variant = cases[i].dist == DIST_SPECIAL && cases[i].n == 100000;
        run_case(d, &cases[i], nan_variant, 2000 + i);
    }
    bad_arguments(d);
    printf("  worst normaliser difference: %.3f of the bound\n", g_worst_ratio);
    return sk_test_device_finish(d, "test_sample");
}
