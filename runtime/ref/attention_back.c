/* Reference attention backward, per head, straight from the definition: the probability
 * matrix P = softmax(scale * q k^T + mask) is formed whole (in double; the mask is causal
 * and/or the segment exclusion of packed sequences), then
 *   dP = dy v^T,  dS = P * (dP - rowsum(P * dP)),
 *   dq = scale dS k,  dk = scale dS^T q,  dv = P^T dy. */
#include <math.h>

#include "ref/ref_train.h"

/* Key j is visible to the query at absolute index qa (silkie_attention_params). */
static int visible(uint64_t qa, uint64_t j, int causal, uint32_t seg_begin, uint32_t seg_end)
{
    if (causal && j > qa) return 0;
    return !(qa >= seg_end && j >= seg_begin && j < seg_end);
}

void silkie_ref_attention_back(const float *q, const float *k, const float *v, const float *dy,
                               float *dq, float *dk, float *dv, uint32_t Tq, uint32_t n_kv,
                               uint32_t n_heads, uint32_t head_dim, float scale, int causal,
                               uint32_t q_pos0, uint32_t seg_begin, uint32_t seg_end)
{
    const uint64_t width = (uint64_t)n_heads * head_dim;
    const uint64_t n_pk = (uint64_t)Tq * n_kv;
    double *P = silkie_malloc((n_pk ? n_pk : 1) * sizeof(double));
    double *dS = silkie_malloc((n_pk ? n_pk : 1) * sizeof(double));
    SK_ASSERT(P && dS);
    if (!P || !dS) {
        silkie_free(P);
        silkie_free(dS);
        return;
    }
    for (uint32_t h = 0; h < n_heads; h++) {
        const uint64_t c0 = (uint64_t)h * head_dim;
        for (uint32_t i = 0; i < Tq; i++) {
            const uint64_t qa = (uint64_t)q_pos0 + i;
            double *Pi = P + (uint64_t)i * n_kv, *dSi = dS + (uint64_t)i * n_kv;
            double m = -INFINITY;
            for (uint64_t j = 0; j < n_kv; j++) {
                double s = 0.0;
                for (uint32_t d = 0; d < head_dim; d++)
                    s += (double)q[i * width + c0 + d] * k[j * width + c0 + d];
                Pi[j] = s * scale;
                if (visible(qa, j, causal, seg_begin, seg_end)) m = fmax(m, Pi[j]);
            }
            double sum = 0.0;
            for (uint64_t j = 0; j < n_kv; j++) {
                Pi[j] = visible(qa, j, causal, seg_begin, seg_end) ? exp(Pi[j] - m) : 0.0;
                sum += Pi[j];
            }
            double rowdot = 0.0;
            for (uint64_t j = 0; j < n_kv; j++) {
                Pi[j] = sum > 0.0 ? Pi[j] / sum : 0.0;
                double dp = 0.0;
                for (uint32_t d = 0; d < head_dim; d++)
                    dp += (double)dy[i * width + c0 + d] * v[j * width + c0 + d];
                dSi[j] = dp;
                rowdot += Pi[j] * dp;
            }
            for (uint64_t j = 0; j < n_kv; j++) dSi[j] = Pi[j] * (dSi[j] - rowdot);
        }
        for (uint32_t i = 0; i < Tq; i++)
            for (uint32_t d = 0; d < head_dim; d++) {
                double acc = 0.0;
                for (uint64_t j = 0; j < n_kv; j++)
                    acc += dS[(uint64_t)i * n_kv + j] * k[j * width + c0 + d];
                dq[i * width + c0 + d] = (float)(acc * scale);
            }
        for (uint64_t j = 0; j < n_kv; j++)
            for (uint32_t d = 0; d < head_dim; d++) {
                double acc_k = 0.0, acc_v = 0.0;
                for (uint32_t i = 0; i < Tq; i++) {
                    acc_k += dS[(uint64_t)i * n_kv + j] * q[i * width + c0 + d];
                    acc_v += P[(uint64_t)i * n_kv + j] * dy[i * width + c0 + d];
                }
                dk[j * width + c0 + d] = (float)(acc_k * scale);
                dv[j * width + c0 + d] = (float)acc_v;
            }
    }
    silkie_free(P);
    silkie_free(dS);
}
