/* Host-side sampling. The nucleus is found on a partial selection of the largest
 * probabilities first (a full sort of 152k entries per token would dominate decode time), and
 * widened only when that prefix does not reach top_p. */
#include <math.h>
#include <stdlib.h>

#include "sampler.h"

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return (double)(next_u64(s) >> 11) / 9007199254740992.0; }

silkie_status silkie_sampler_init(silkie_sampler *s, const silkie_sampler_params *p,
                                  uint32_t n_vocab)
{
    memset(s, 0, sizeof *s);
    if (!p || n_vocab == 0)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sampler: params and vocabulary required");
    s->p = *p;
    s->rng = p->seed;
    s->n_vocab = n_vocab;
    s->idx = SK_NEW_ARRAY(uint32_t, n_vocab);
    s->prob = SK_NEW_ARRAY(float, n_vocab);
    s->seen = SK_NEW_ARRAY(uint8_t, n_vocab);
    s->pairs = silkie_calloc(n_vocab, 8);
    if (!s->idx || !s->prob || !s->seen || !s->pairs) {
        silkie_sampler_release(s);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "sampler: %u entries", n_vocab);
    }
    return SILKIE_OK;
}

void silkie_sampler_release(silkie_sampler *s)
{
    silkie_free(s->idx);
    silkie_free(s->prob);
    silkie_free(s->seen);
    silkie_free(s->pairs);
    memset(s, 0, sizeof *s);
}

void silkie_sampler_accept(silkie_sampler *s, const int32_t *ids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] >= 0 && (uint32_t)ids[i] < s->n_vocab) s->seen[ids[i]] = 1;
}

void silkie_sampler_reset(silkie_sampler *s) { memset(s->seen, 0, s->n_vocab); }

static int32_t argmax(const float *x, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int32_t)best;
}

/* Larger probability first; lower index first on ties. */
static int before(const float *p, uint32_t a, uint32_t b)
{
    return p[a] > p[b] || (p[a] == p[b] && a < b);
}

/* Moves the k best indices of idx[0..n) to the front (unordered), quickselect. */
static void select_top(uint32_t *idx, uint32_t n, uint32_t k, const float *p)
{
    uint32_t lo = 0, hi = n;
    while (hi - lo > 1 && k > lo && k < hi) {
        uint32_t piv = idx[lo + (hi - lo) / 2], i = lo, j = hi - 1;
        while (i <= j) {
            while (before(p, idx[i], piv)) i++;
            while (before(p, piv, idx[j])) j--;
            if (i <= j) {
                uint32_t t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j + 1) hi = j + 1;
        else if (k >= i) lo = i;
        else break;
    }
}

typedef struct prob_idx {
    float p;
    uint32_t i;
} prob_idx;

static int cmp_prob_idx(const void *a, const void *b)
{
    const prob_idx *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Sorts idx[0..n) by descending probability: insertion sort for short prefixes, qsort on
 * (value, index) pairs for long ones (qsort has no context argument). */
static void sort_prefix(silkie_sampler *s, uint32_t n)
{
    uint32_t *idx = s->idx;
    const float *p = s->prob;
    if (n > 256) {
        prob_idx *pi = (prob_idx *)s->pairs;
        for (uint32_t i = 0; i < n; i++) pi[i] = (prob_idx){p[idx[i]], idx[i]};
        qsort(pi, n, sizeof *pi, cmp_prob_idx);
        for (uint32_t i = 0; i < n; i++) idx[i] = pi[i].i;
        return;
    }
    for (uint32_t i = 1; i < n; i++) {
        uint32_t v = idx[i], j = i;
        while (j > 0 && before(p, v, idx[j - 1])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

int32_t silkie_sampler_sample(silkie_sampler *s, float *logits)
{
    const uint32_t V = s->n_vocab;
    float pen = s->p.repetition_penalty;
    if (pen > 0 && pen != 1.0f)
        for (uint32_t i = 0; i < V; i++)
            if (s->seen[i]) logits[i] = logits[i] < 0 ? logits[i] * pen : logits[i] / pen;
    if (s->p.temperature <= 0) return argmax(logits, V);

    float mx = logits[argmax(logits, V)];
    double sum = 0;
    for (uint32_t i = 0; i < V; i++) {
        s->prob[i] = expf((logits[i] - mx) / s->p.temperature);
        sum += s->prob[i];
        s->idx[i] = i;
    }
    uint32_t n = V;
    if (s->p.top_k > 0 && s->p.top_k < V) {
        select_top(s->idx, V, s->p.top_k, s->prob);
        n = s->p.top_k;
        sum = 0;
        for (uint32_t i = 0; i < n; i++) sum += s->prob[s->idx[i]];
    }
    if (s->p.top_p > 0 && s->p.top_p < 1) {
        /* Smallest prefix (by descending probability) whose mass reaches top_p. */
        uint32_t k = SK_MIN(n, 64u);
        for (;;) {
            select_top(s->idx, n, k, s->prob);
            sort_prefix(s, k);
            double c = 0;
            uint32_t cut = 0;
            while (cut < k && c < s->p.top_p * sum) c += s->prob[s->idx[cut++]];
            if (c >= s->p.top_p * sum || k == n) {
                n = cut;
                sum = c;
                break;
            }
            k = SK_MIN(n, k * 4);
        }
    }
    double r = uniform01(&s->rng) * sum, c = 0;
    for (uint32_t i = 0; i < n; i++) {
        c += s->prob[s->idx[i]];
        if (r < c) return (int32_t)s->idx[i];
    }
    return (int32_t)s->idx[n ? n - 1 : 0];
}
