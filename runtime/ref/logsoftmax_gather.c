/* Reference log-softmax + gather over whole rows in double (no blocks, no online rescaling).
 * Rows with a label < 0 are unscored: log-prob 0 and a zero gradient whatever g holds, as the
 * op writes them. */
#include <math.h>

#include "ref/ref_train.h"

static double row_lse(const float *xr, uint32_t V)
{
    double m = -INFINITY, s = 0.0;
    for (uint32_t j = 0; j < V; j++) m = fmax(m, (double)xr[j]);
    for (uint32_t j = 0; j < V; j++) s += exp((double)xr[j] - m);
    return m + log(s);
}

void silkie_ref_logsoftmax_gather(const float *logits, const int32_t *labels, uint32_t T,
                                  uint32_t V, float *logp, float *lse)
{
    for (uint32_t t = 0; t < T; t++) {
        const float *xr = logits + (uint64_t)t * V;
        double l = row_lse(xr, V);
        if (lse) lse[t] = (float)l;
        logp[t] = labels[t] >= 0 ? (float)((double)xr[labels[t]] - l) : 0.0f;
    }
}

void silkie_ref_logsoftmax_gather_back(const float *logits, const int32_t *labels,
                                       const float *g, uint32_t T, uint32_t V, float *dlogits)
{
    if (!dlogits) return;
    for (uint32_t t = 0; t < T; t++) {
        const float *xr = logits + (uint64_t)t * V;
        float *dr = dlogits + (uint64_t)t * V;
        double l = labels[t] >= 0 ? row_lse(xr, V) : 0.0;
        for (uint32_t j = 0; j < V; j++) {
            double onehot = (int64_t)j == labels[t] ? 1.0 : 0.0;
            dr[j] = labels[t] >= 0 ? (float)(g[t] * (onehot - exp((double)xr[j] - l))) : 0.0f;
        }
    }
}
