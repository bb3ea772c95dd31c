/* Host-side sampling. The nucleus is found on a partial selection of the largest
 * probabilities first (a full sort of 152k entries per token would dominate decode time), and
 * widened only when that prefix does not reach top_p.
 *
 * silkie_sampler_pick finishes a device step with the same arithmetic: the candidates carry
 * the penalized logits bit for bit, so their probabilities, their order, every prefix mass and
 * the draw are computed exactly as here. What the device cannot give exactly is the
 * normaliser over the whole vocabulary (top-k off): its GPU exp and summation order differ, so
 * the nucleus boundary is accepted only when it is the same for every normaliser within the
 * bound of silkie_op_sample_sum_tolerance; otherwise the caller reads the logits. */
#include <float.h>
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
    s->n_accepted += n;
}

void silkie_sampler_reset(silkie_sampler *s)
{
    memset(s->seen, 0, s->n_vocab);
    s->n_accepted = 0;
}

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

static double mass(const silkie_sampler *s, uint32_t n)
{
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) sum += s->prob[s->idx[i]];
    return sum;
}

/* Shortest prefix of the sorted idx[0..n) whose mass reaches thr (all n if none does). */
static uint32_t prefix_to(const silkie_sampler *s, uint32_t n, double thr, double *c_out)
{
    double c = 0;
    uint32_t cut = 0;
    while (cut < n && c < thr) c += s->prob[s->idx[cut++]];
    *c_out = c;
    return cut;
}

/* The multinomial draw over idx[0..n) with total `sum`; *fell is set when rounding left r at or
 * past the last cumulative sum (the last entry is taken). */
static int32_t draw(const silkie_sampler *s, uint64_t *rng, uint32_t n, double sum, int *fell)
{
    double r = uniform01(rng) * sum, c = 0;
    for (uint32_t i = 0; i < n; i++) {
        c += s->prob[s->idx[i]];
        if (r < c) return (int32_t)s->idx[i];
    }
    *fell = 1;
    return (int32_t)s->idx[n ? n - 1 : 0];
}

static int top_k_on(const silkie_sampler *s) { return s->p.top_k > 0 && s->p.top_k < s->n_vocab; }

static int top_p_on(const silkie_sampler *s) { return s->p.top_p > 0 && s->p.top_p < 1; }

int32_t silkie_sampler_sample(silkie_sampler *s, float *logits)
{
    const uint32_t V = s->n_vocab;
    s->stats.host++;
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
    if (top_k_on(s)) {
        /* Sorted, so that the draw (and the mass) does not depend on where the selection left
         * the k entries: a device step then reproduces it from its sorted candidates. */
        select_top(s->idx, V, s->p.top_k, s->prob);
        n = s->p.top_k;
        sort_prefix(s, n);
        sum = mass(s, n);
    }
    if (top_p_on(s)) {
        /* Smallest prefix (by descending probability) whose mass reaches top_p. */
        uint32_t k = SK_MIN(n, 64u);
        for (;;) {
            select_top(s->idx, n, k, s->prob);
            sort_prefix(s, k);
            double c;
            uint32_t cut = prefix_to(s, k, s->p.top_p * sum, &c);
            if (c >= s->p.top_p * sum || k == n) {
                n = cut;
                sum = c;
                break;
            }
            k = SK_MIN(n, k * 4);
        }
    }
    int fell = 0;
    return draw(s, &s->rng, n, sum, &fell);
}

int silkie_sampler_device_params(const silkie_sampler *s, silkie_sample_params *out)
{
    const uint32_t V = s->n_vocab;
    *out = (silkie_sample_params){.temperature = s->p.temperature, .top_k = s->p.top_k,
                                  .top_p = s->p.top_p,
                                  .repetition_penalty = s->p.repetition_penalty};
    const float pen = s->p.repetition_penalty;
    if (pen > 0 && pen != 1.0f && !(pen >= FLT_MIN && pen <= FLT_MAX)) return 0;
    if (s->p.temperature <= 0) return 1;
    if (!(s->p.temperature <= FLT_MAX)) return 0;
    /* The k-th candidate needs one more behind it to show that nothing outside ties with it. */
    if (top_k_on(s)) return s->p.top_k < SILKIE_SAMPLE_MAX_CAND || V <= SILKIE_SAMPLE_MAX_CAND;
    return top_p_on(s);
}

int silkie_sampler_pick(silkie_sampler *s, const silkie_sample_result *r, int32_t *tok)
{
    const uint32_t V = s->n_vocab, n = r->n;
    if (s->p.temperature <= 0) {
        if (r->id < 0 || (uint32_t)r->id >= V) goto cannot;
        *tok = r->id;
        s->stats.device++;
        return 1;
    }
    if (r->flags || n == 0 || n > V || n > SILKIE_SAMPLE_MAX_CAND) goto cannot;
    const float mx = r->max_logit;
    for (uint32_t j = 0; j < n; j++) {
        if (r->index[j] < 0 || (uint32_t)r->index[j] >= V) goto cannot;
        s->prob[r->index[j]] = expf((r->value[j] - mx) / s->p.temperature);
        s->idx[j] = (uint32_t)r->index[j];
    }
    /* Every token outside the list has a logit <= the last candidate's, hence a probability
     * <= p_last: a sorted prefix is the host's whole-vocabulary prefix when its last entry is
     * strictly more probable than that. */
    const float p_last = s->prob[r->index[n - 1]];
    const int all = n == V;
    sort_prefix(s, n);
    uint32_t cnt;
    double sum;
    int zero_tail = 0;
    if (top_k_on(s)) {
        const uint32_t k = s->p.top_k;
        if (k > n || (k == n && !all)) goto cannot;
        const float pk = s->prob[s->idx[k - 1]];
        if (!all && !(pk > p_last)) {
            /* Tokens of probability 0 are never drawn: which of them fill the top k matters
             * only if the draw runs off the end. */
            if (pk != 0) goto cannot;
            zero_tail = 1;
        }
        cnt = k;
        sum = mass(s, k);
        if (top_p_on(s)) {
            cnt = prefix_to(s, k, s->p.top_p * sum, &sum);
            zero_tail = 0; /* the nucleus ends on a token of positive probability */
        }
    } else if (top_p_on(s)) {
        double lo, hi;
        if (all) { /* every probability is here: the host's normaliser, in its order */
            double S = 0;
            for (uint32_t i = 0; i < V; i++) S += s->prob[i];
            lo = hi = s->p.top_p * S;
        } else {
            const double S = r->sum;
            const double tol = silkie_op_sample_sum_tolerance(r, V) + ldexp(S, -40);
            lo = s->p.top_p * (S - tol);
            hi = s->p.top_p * (S + tol);
        }
        /* The host's cut is the first prefix reaching top_p * its sum, somewhere in [lo, hi]:
         * it is known when the first prefixes reaching lo and hi are the same one. */
        double c = 0;
        uint32_t cut_lo = 0, cut_hi = 0;
        for (uint32_t j = 0; j < n; j++) {
            c += s->prob[s->idx[j]];
            if (!cut_lo && c >= lo) cut_lo = j + 1;
            if (c >= hi) {
                cut_hi = j + 1;
                break;
            }
        }
        if (!cut_hi || cut_lo != cut_hi) goto cannot;
        if (!all && !(s->prob[s->idx[cut_hi - 1]] > p_last)) goto cannot;
        cnt = cut_hi;
        sum = c;
    } else {
        goto cannot; /* plain temperature sampling draws in id order over every token */
    }
    uint64_t rng = s->rng;
    int fell = 0;
    const int32_t t = draw(s, &rng, cnt, sum, &fell);
    if (fell && zero_tail) goto cannot;
    s->rng = rng;
    *tok = t;
    s->stats.device++;
    return 1;
cannot:
    s->stats.fallback++;
    return 0;
}
