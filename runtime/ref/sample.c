/* Reference device sampling step: the host sampler's penalty, argmax and softmax terms written
 * as plain loops, and the candidates from the reference top-k. */
#include <math.h>

#include "ref/ref.h"

float silkie_ref_sample_penalize(float v, float penalty)
{
    return v < 0 ? v * penalty : v / penalty;
}

void silkie_ref_sample_mark(const int32_t *ids, uint32_t n_ids, uint32_t n_vocab, uint32_t *seen)
{
    for (uint32_t i = 0; i < n_ids; i++)
        if (ids[i] >= 0 && (uint32_t)ids[i] < n_vocab)
            seen[ids[i] / 32] |= 1u << (ids[i] % 32);
}

void silkie_ref_sample(const float *logits, uint32_t n_vocab, const uint32_t *seen, float penalty,
                       float temperature, uint32_t top_k, float top_p, silkie_ref_sample_out *out)
{
    memset(out, 0, sizeof *out);
    const uint32_t V = n_vocab;
    float *v = silkie_malloc((size_t)V * sizeof *v);
    if (!v) return;
    const int pen = seen && penalty > 0 && penalty != 1.0f;
    for (uint32_t i = 0; i < V; i++) {
        const int hit = pen && (seen[i / 32] >> (i % 32) & 1u);
        v[i] = hit ? silkie_ref_sample_penalize(logits[i], penalty) : logits[i];
        if (isnan(v[i]) || v[i] == INFINITY) out->flags = 1;
    }
    uint32_t best = 0; /* the host's argmax: only a strictly larger value moves it */
    for (uint32_t i = 1; i < V; i++)
        if (v[i] > v[best]) best = i;
    out->id = (int32_t)best;
    if (!(temperature > 0)) {
        out->flags = 0;
        silkie_free(v);
        return;
    }
    const float mx = v[best];
    if (mx == -INFINITY) out->flags = 1;
    if (out->flags) {
        silkie_free(v);
        return;
    }
    out->max_logit = mx;
    const int k_on = top_k > 0 && top_k < V;
    if (!k_on) {
        for (uint32_t i = 0; i < V; i++) {
            const float x = (v[i] - mx) / temperature, e = expf(x);
            out->sum += e;
            if (e > 0) out->sum_err += (double)e * -x; /* exp(-inf) * inf counts as 0 */
        }
    }
    uint32_t want = V < SILKIE_REF_SAMPLE_CAP ? V : SILKIE_REF_SAMPLE_CAP;
    if (k_on && top_k + SILKIE_REF_SAMPLE_MARGIN < want) want = top_k + SILKIE_REF_SAMPLE_MARGIN;
    silkie_ref_topk(v, V, want, out->value, out->index);
    for (uint32_t j = 0; j < want; j++)
        if (out->value[j] == 0) out->value[j] = 0; /* -0 comes back as +0: equal either way */
    out->n = want;
    if (!k_on && top_p > 0 && top_p < 1) {
        /* The device aims a little past top_p * sum (its bound on the host's sum). */
        const double goal = top_p * (out->sum + (out->sum + out->sum_err) / 65536);
        double c = 0;
        for (uint32_t j = 0; j < want; j++) {
            c += expf((out->value[j] - mx) / temperature);
            if (c >= goal) {
                const uint32_t n = j + 1 + SILKIE_REF_SAMPLE_MARGIN;
                if (n < want) out->n = n;
                break;
            }
        }
    }
    silkie_free(v);
}
