/* Reference scaled-dot-product attention per head, with an optional causal mask at absolute
 * query positions, the segment exclusion of packed sequences and the per-row log-sum-exp.
 * Two passes over the keys: max, then sums. */
#include <math.h>

#include "ref/ref.h"

/* Key j is visible to the query at absolute index qa (silkie_attention_params). */
static int visible(uint64_t qa, uint64_t j, int causal, uint32_t seg_begin, uint32_t seg_end)
{
    if (causal && j > qa) return 0;
    return !(qa >= seg_end && j >= seg_begin && j < seg_end);
}

void silkie_ref_attention(const float *q, const float *k, const float *v, float *y, float *lse,
                          uint32_t Tq, uint32_t n_kv, uint32_t n_heads, uint32_t head_dim,
                          float scale, int causal, uint32_t q_pos0, uint32_t seg_begin,
                          uint32_t seg_end)
{
    uint64_t width = (uint64_t)n_heads * head_dim;
    for (uint32_t h = 0; h < n_heads; h++)
        for (uint32_t i = 0; i < Tq; i++) {
            const float *qi = q + i * width + (uint64_t)h * head_dim;
            float *yi = y + i * width + (uint64_t)h * head_dim;
            const uint64_t qa = (uint64_t)q_pos0 + i;
            uint64_t n_vis = 0;
            double m = -INFINITY;
            for (uint64_t j = 0; j < n_kv; j++) {
                if (!visible(qa, j, causal, seg_begin, seg_end)) continue;
                const float *kj = k + j * width + (uint64_t)h * head_dim;
                double s = 0.0;
                for (uint32_t d = 0; d < head_dim; d++) s += (double)qi[d] * kj[d];
                m = fmax(m, s * scale);
                n_vis++;
            }
            double sum = 0.0;
            for (uint32_t d = 0; d < head_dim; d++) yi[d] = 0.0f;
            for (uint64_t j = 0; j < n_kv; j++) {
                if (!visible(qa, j, causal, seg_begin, seg_end)) continue;
                const float *kj = k + j * width + (uint64_t)h * head_dim;
                double s = 0.0;
                for (uint32_t d = 0; d < head_dim; d++) s += (double)qi[d] * kj[d];
                sum += exp(s * scale - m);
            }
            for (uint32_t d = 0; d < head_dim; d++) {
                double acc = 0.0;
                for (uint64_t j = 0; j < n_kv; j++) {
                    if (!visible(qa, j, causal, seg_begin, seg_end)) continue;
                    const float *kj = k + j * width + (uint64_t)h * head_dim;
                    double s = 0.0;
                    for (uint32_t e = 0; e < head_dim; e++) s += (double)qi[e] * kj[e];
                    acc += exp(s * scale - m) * v[j * width + (uint64_t)h * head_dim + d];
                }
                yi[d] = n_vis ? (float)(acc / sum) : 0.0f;
            }
            if (lse) lse[(uint64_t)h * Tq + i] = n_vis ? (float)(m + log(sum)) : -INFINITY;
        }
}
