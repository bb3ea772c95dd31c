/* Host sampler (runtime/session/sampler.h) on hand-made logits: greedy is argmax, top-k / top-p /
 * temperature / repetition penalty follow Hugging Face's semantics, draws follow the softmax
 * probabilities, a seed fixes the stream, and the partial-selection nucleus over the full Qwen
 * vocabulary equals the one a full sort gives. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "session/sampler.h"

#define QWEN_VOCAB 151936u

static silkie_sampler make(float temperature, uint32_t top_k, float top_p, float penalty,
                           uint64_t seed, uint32_t n_vocab)
{
    silkie_sampler s;
    const silkie_sampler_params p = {.temperature = temperature, .top_k = top_k, .top_p = top_p,
                                     .repetition_penalty = penalty, .seed = seed};
    SK_TEST_OK(silkie_sampler_init(&s, &p, n_vocab));
    return s;
}

/* The sampler modifies logits in place (penalty), so every draw gets a fresh copy. */
static int32_t draw(silkie_sampler *s, const float *logits, float *scratch, uint32_t n)
{
    memcpy(scratch, logits, n * sizeof *scratch);
    return silkie_sampler_sample(s, scratch);
}

static int32_t ref_argmax(const float *x, uint32_t n)
{
    uint32_t b = 0;
    for (uint32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return (int32_t)b;
}

/* softmax(logits / t) in double. */
static void ref_softmax(const float *logits, uint32_t n, double t, double *p)
{
    double mx = logits[ref_argmax(logits, n)], sum = 0;
    for (uint32_t i = 0; i < n; i++) sum += p[i] = exp((logits[i] - mx) / t);
    for (uint32_t i = 0; i < n; i++) p[i] /= sum;
}

static void test_init_errors(void)
{
    silkie_sampler s;
    const silkie_sampler_params p = {.temperature = 1};
    SK_TEST_STATUS(silkie_sampler_init(&s, NULL, 10), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(silkie_last_error()[0] != 0, "no message");
    SK_TEST_STATUS(silkie_sampler_init(&s, &p, 0), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_sampler_release(&s); /* after a failed init: must be harmless */
}

static void test_greedy(void)
{
    enum { V = 1000 };
    float *l = malloc(V * sizeof *l), *w = malloc(V * sizeof *w);
    sk_rng r;
    sk_rng_seed(&r, 11);
    silkie_sampler s = make(0, 0, 1, 1, 5, V);
    silkie_sampler k1 = make(1.5f, 1, 1, 1, 6, V);      /* top_k = 1 */
    silkie_sampler p0 = make(1.0f, 0, 1e-6f, 1, 7, V);  /* top_p tiny */
    silkie_sampler both = make(0.8f, 40, 1e-4f, 1, 8, V);
    for (int trial = 0; trial < 200; trial++) {
        sk_fill_uniform(&r, l, V, -5, 5);
        int32_t want = ref_argmax(l, V);
        SK_TEST_CHECK(draw(&s, l, w, V) == want, "greedy trial %d", trial);
        SK_TEST_CHECK(draw(&k1, l, w, V) == want, "top_k=1 trial %d", trial);
        SK_TEST_CHECK(draw(&p0, l, w, V) == want, "top_p tiny trial %d", trial);
        SK_TEST_CHECK(draw(&both, l, w, V) == want, "top_k+top_p trial %d", trial);
    }
    /* Ties: the lowest index wins (what torch.argmax does on CPU). */
    for (uint32_t i = 0; i < V; i++) l[i] = 0;
    l[17] = l[400] = l[999] = 3;
    SK_TEST_CHECK(draw(&s, l, w, V) == 17, "greedy tie");
    SK_TEST_CHECK(draw(&k1, l, w, V) == 17, "top_k=1 tie");
    SK_TEST_CHECK(draw(&p0, l, w, V) == 17, "top_p tie");
    silkie_sampler_release(&s);
    silkie_sampler_release(&k1);
    silkie_sampler_release(&p0);
    silkie_sampler_release(&both);
    free(l);
    free(w);
}

static void test_repetition_penalty(void)
{
    float w[4];
    /* Positive logits are divided by the penalty, negative ones multiplied (HF's rule). */
    const float pos[4] = {2.0f, 1.9f, 0.0f, -3.0f};
    const float neg[4] = {-1.0f, -1.1f, -5.0f, -6.0f};
    silkie_sampler s = make(0, 0, 1, 1.3f, 1, 4);
    SK_TEST_CHECK(draw(&s, pos, w, 4) == 0, "unseen token 0 wins");
    int32_t seen = 0;
    silkie_sampler_accept(&s, &seen, 1);
    SK_TEST_CHECK(draw(&s, pos, w, 4) == 1, "penalised token 0 (2.0/1.3 < 1.9) must lose");
    SK_TEST_CHECK(fabsf(w[0] - 2.0f / 1.3f) < 1e-6f && w[1] == 1.9f, "penalised logits %g %g",
                  w[0], w[1]);
    SK_TEST_CHECK(draw(&s, neg, w, 4) == 1, "negative logit -1 * 1.3 < -1.1 must lose");
    SK_TEST_CHECK(fabsf(w[0] + 1.3f) < 1e-6f, "negative logit multiplied: %g", w[0]);
    /* Out-of-range ids are ignored, not written out of bounds. */
    const int32_t bad[3] = {-1, 4, 1 << 30};
    silkie_sampler_accept(&s, bad, 3);
    SK_TEST_CHECK(draw(&s, pos, w, 4) == 1, "out-of-range ids changed the result");
    silkie_sampler_reset(&s);
    SK_TEST_CHECK(draw(&s, pos, w, 4) == 0, "reset must forget seen tokens");
    silkie_sampler_release(&s);
    /* Penalty 1 (or 0) is off. */
    silkie_sampler off = make(0, 0, 1, 1.0f, 1, 4);
    silkie_sampler_accept(&off, &seen, 1);
    SK_TEST_CHECK(draw(&off, pos, w, 4) == 0 && w[0] == 2.0f, "penalty 1 must be off");
    silkie_sampler_release(&off);
    silkie_sampler zero = make(0, 0, 1, 0.0f, 1, 4);
    silkie_sampler_accept(&zero, &seen, 1);
    SK_TEST_CHECK(draw(&zero, pos, w, 4) == 0 && w[0] == 2.0f, "penalty 0 must be off");
    silkie_sampler_release(&zero);
}

/* Draws n times and compares the frequencies with `want` (absolute, per token). The standard
 * deviation of one frequency is at most sqrt(0.25 / 20000) = 0.0035; 0.015 is > 4 sigma. */
static void check_frequencies(const char *what, silkie_sampler *s, const float *logits,
                              uint32_t V, const double *want, int n)
{
    float w[16];
    int count[16] = {0};
    for (int i = 0; i < n; i++) {
        int32_t t = draw(s, logits, w, V);
        if (t < 0 || (uint32_t)t >= V) {
            SK_TEST_CHECK(0, "%s: token %d out of range", what, t);
            return;
        }
        count[t]++;
    }
    for (uint32_t i = 0; i < V; i++) {
        double f = (double)count[i] / n;
        SK_TEST_CHECK(fabs(f - want[i]) < 0.015 && (want[i] > 0 || count[i] == 0),
                      "%s: token %u frequency %.4f, want %.4f", what, i, f, want[i]);
    }
}

static void test_distributions(void)
{
    enum { V = 8, N = 20000 };
    const float l[V] = {1.0f, 0.2f, 2.1f, -0.5f, 1.7f, 0.9f, -2.0f, 1.2f};
    double p[V], want[V];

    /* Plain sampling at two temperatures: frequencies = softmax(l / T). */
    const float temps[2] = {1.0f, 0.6f};
    for (int ti = 0; ti < 2; ti++) {
        silkie_sampler s = make(temps[ti], 0, 1, 1, 1234 + ti, V);
        ref_softmax(l, V, temps[ti], p);
        check_frequencies(ti ? "T=0.6" : "T=1", &s, l, V, p, N);
        silkie_sampler_release(&s);
    }

    /* top_k = 3: only the 3 largest (2, 4, 7), renormalised. */
    ref_softmax(l, V, 1.0, p);
    double z = p[2] + p[4] + p[7];
    for (int i = 0; i < V; i++) want[i] = (i == 2 || i == 4 || i == 7) ? p[i] / z : 0;
    silkie_sampler k3 = make(1.0f, 3, 1, 1, 99, V);
    check_frequencies("top_k=3", &k3, l, V, want, N);
    silkie_sampler_release(&k3);

    /* top_p = 0.6 at T = 1: sorted probabilities are p2, p4, p7, p0, ...; the nucleus is the
     * smallest prefix whose mass reaches 0.6. */
    const int order[V] = {2, 4, 7, 0, 5, 1, 3, 6};
    double c = 0;
    int cut = 0;
    while (cut < V && c < 0.6) c += p[order[cut++]];
    SK_TEST_CHECK(cut == 3, "hand-made case changed: nucleus of %d", cut);
    memset(want, 0, sizeof want);
    for (int i = 0; i < cut; i++) want[order[i]] = p[order[i]] / c;
    silkie_sampler tp = make(1.0f, 0, 0.6f, 1, 77, V);
    check_frequencies("top_p=0.6", &tp, l, V, want, N);
    silkie_sampler_release(&tp);

    /* Penalty then temperature then top-k: token 2 penalised (2.1/2 = 1.05) drops out of the
     * top 2, leaving 4 and 7 at temperature 0.5. */
    float pl[V];
    memcpy(pl, l, sizeof pl);
    pl[2] /= 2.0f;
    ref_softmax(pl, V, 0.5, p);
    memset(want, 0, sizeof want);
    want[4] = p[4] / (p[4] + p[7]);
    want[7] = p[7] / (p[4] + p[7]);
    silkie_sampler pk = make(0.5f, 2, 1, 2.0f, 5, V);
    int32_t seen = 2;
    silkie_sampler_accept(&pk, &seen, 1);
    check_frequencies("penalty+T+top_k", &pk, l, V, want, N);
    silkie_sampler_release(&pk);
}

static void test_seed(void)
{
    enum { V = 50, N = 64 };
    float l[V], w[V];
    sk_rng r;
    sk_rng_seed(&r, 3);
    sk_fill_uniform(&r, l, V, -1, 1);
    int32_t a[N], b[N], c[N];
    silkie_sampler s1 = make(1.0f, 20, 0.95f, 1.1f, 42, V);
    silkie_sampler s2 = make(1.0f, 20, 0.95f, 1.1f, 42, V);
    silkie_sampler s3 = make(1.0f, 20, 0.95f, 1.1f, 43, V);
    for (int i = 0; i < N; i++) {
        a[i] = draw(&s1, l, w, V);
        b[i] = draw(&s2, l, w, V);
        c[i] = draw(&s3, l, w, V);
        silkie_sampler_accept(&s1, &a[i], 1);
        silkie_sampler_accept(&s2, &b[i], 1);
        silkie_sampler_accept(&s3, &c[i], 1);
    }
    SK_TEST_CHECK(!memcmp(a, b, sizeof a), "same seed, different draws");
    SK_TEST_CHECK(memcmp(a, c, sizeof a) != 0, "seeds 42 and 43 gave identical 64 draws");
    silkie_sampler_release(&s1);
    silkie_sampler_release(&s2);
    silkie_sampler_release(&s3);
}

/* Reference nucleus by a full sort: descending probability, lower index first on ties. */
static const double *g_p;
static int cmp_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (g_p[x] != g_p[y]) return g_p[x] > g_p[y] ? -1 : 1;
    return x < y ? -1 : 1;
}

static uint32_t ref_nucleus(const double *p, uint32_t V, uint32_t top_k, double top_p,
                            uint32_t *order)
{
    for (uint32_t i = 0; i < V; i++) order[i] = i;
    g_p = p;
    qsort(order, V, sizeof *order, cmp_desc);
    uint32_t n = top_k && top_k < V ? top_k : V;
    double sum = 0, c = 0;
    for (uint32_t i = 0; i < n; i++) sum += p[order[i]];
    uint32_t cut = 0;
    while (cut < n && c < top_p * sum) c += p[order[cut++]];
    return cut;
}

/* Over the full Qwen vocabulary: every draw lies in the reference nucleus, and the draws spread
 * over it as its renormalised probabilities say (checked on rank buckets, including the tail
 * just before the cut, where a too-small nucleus would show). */
static void check_large(const char *what, const float *l, uint32_t top_k, float top_p,
                        uint64_t seed, int n_draws)
{
    const uint32_t V = QWEN_VOCAB;
    double *p = malloc(V * sizeof *p);
    uint32_t *order = malloc(V * sizeof *order), *rank = malloc(V * sizeof *rank);
    float *w = malloc(V * sizeof *w);
    ref_softmax(l, V, 1.0, p);
    uint32_t cut = ref_nucleus(p, V, top_k, top_p, order);
    for (uint32_t i = 0; i < V; i++) rank[order[i]] = i;
    double mass = 0;
    for (uint32_t i = 0; i < cut; i++) mass += p[order[i]];
    enum { B = 4 };
    double want[B] = {0};
    int got[B] = {0}, outside = 0;
    for (uint32_t i = 0; i < cut; i++) want[(uint64_t)i * B / cut] += p[order[i]] / mass;
    silkie_sampler s = make(1.0f, top_k, top_p, 1, seed, V);
    for (int d = 0; d < n_draws; d++) {
        int32_t t = draw(&s, l, w, V);
        if (t < 0 || (uint32_t)t >= V || rank[t] >= cut) {
            outside++;
            continue;
        }
        got[(uint64_t)rank[t] * B / cut]++;
    }
    SK_TEST_CHECK(outside == 0, "%s: %d of %d draws outside the %u-token nucleus", what, outside,
                  n_draws, cut);
    for (int b = 0; b < B; b++) {
        double f = (double)got[b] / n_draws;
        /* 4 standard deviations of a frequency over n_draws. */
        double tol = 4 * sqrt(0.25 / n_draws);
        SK_TEST_CHECK(fabs(f - want[b]) < tol, "%s: rank bucket %d frequency %.4f, want %.4f",
                      what, b, f, want[b]);
    }
    printf("  %-28s nucleus %6u tokens, %d draws inside\n", what, cut, n_draws - outside);
    silkie_sampler_release(&s);
    free(p);
    free(order);
    free(rank);
    free(w);
}

static void test_top_p_large_vocab(void)
{
    const uint32_t V = QWEN_VOCAB;
    float *l = malloc(V * sizeof *l), *w = malloc(V * sizeof *w);
    sk_rng r;
    sk_rng_seed(&r, 2024);

    /* 500 equal logits scattered over the vocabulary, the rest far below: with top_p 0.499 the
     * nucleus is exactly the 250 lowest-indexed of them (ties keep the lower index). This
     * needs the selection to widen past its first prefix. */
    for (uint32_t i = 0; i < V; i++) l[i] = -40.0f;
    uint32_t hot[500], n_hot = 0;
    while (n_hot < 500) {
        uint32_t i = sk_rng_u32(&r) % V;
        if (l[i] == 0.0f) continue;
        l[i] = 0.0f;
        hot[n_hot++] = i;
    }
    uint32_t *sorted = malloc(500 * sizeof *sorted);
    memcpy(sorted, hot, sizeof hot);
    for (uint32_t i = 1; i < 500; i++) /* insertion sort of the hot indices */
        for (uint32_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            uint32_t t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    uint32_t limit = sorted[249];
    silkie_sampler s = make(1.0f, 0, 0.499f, 1, 9, V);
    int bad = 0, low = 0, high = 0;
    const int n_draws = 200;
    for (int d = 0; d < n_draws; d++) {
        int32_t t = draw(&s, l, w, V);
        if (t < 0 || l[t] != 0.0f || (uint32_t)t > limit) bad++;
        if (t >= 0 && (uint32_t)t <= sorted[124]) low++;
        if (t >= 0 && (uint32_t)t > sorted[199] && (uint32_t)t <= limit) high++;
    }
    SK_TEST_CHECK(bad == 0, "tied nucleus: %d of %d draws outside the 250 lowest indices", bad,
                  n_draws);
    /* Uniform over the 250: half the draws fall on the first 125, a fifth on the last 50 (a
     * nucleus cut short at the first selected prefix would never reach those). */
    SK_TEST_CHECK(fabs((double)low / n_draws - 0.5) < 0.1, "tied nucleus not uniform: %d of %d",
                  low, n_draws);
    SK_TEST_CHECK(fabs((double)high / n_draws - 0.2) < 0.08, "tied nucleus tail: %d of %d", high,
                  n_draws);
    silkie_sampler_release(&s);
    free(sorted);

    /* 3000 distinct logits over the vocabulary, the rest far below: nuclei of a few to a few
     * thousand tokens, reached through one or several widenings of the selection. Draws cost a
     * pass over the whole vocabulary, so they are few and the bounds are statistical. */
    for (uint32_t i = 0; i < V; i++) l[i] = -40.0f;
    for (int i = 0; i < 3000; i++) l[sk_rng_u32(&r) % V] = 2.0f * sk_rng_normal(&r);
    check_large("3000 hot, top_p 0.3", l, 0, 0.3f, 1, 200);
    check_large("3000 hot, top_p 0.9", l, 0, 0.9f, 2, 200);
    check_large("3000 hot, top_k 500 top_p 0.8", l, 500, 0.8f, 3, 200);
    /* Nearly flat logits: the nucleus is most of the vocabulary (the full-sort fallback). */
    for (uint32_t i = 0; i < V; i++) l[i] = 0.5f * sk_rng_normal(&r);
    check_large("flat, top_p 0.95", l, 0, 0.95f, 4, 30);
    free(l);
    free(w);
}

int main(void)
{
    test_init_errors();
    test_greedy();
    test_repetition_penalty();
    test_distributions();
    test_seed();
    test_top_p_large_vocab();
    return sk_test_result("test_sampler");
}
