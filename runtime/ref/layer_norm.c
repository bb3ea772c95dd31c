/* Reference LayerNorm with the biased variance (divide by n, as PyTorch does). */
#include <math.h>

#include "ref/ref.h"

void silkie_ref_layer_norm(const float *x, const float *w, const float *b, float *y,
                           uint32_t n_cols, uint32_t n_rows, float eps)
{
    for (uint32_t r = 0; r < n_rows; r++) {
        const float *xr = x + (uint64_t)r * n_cols;
        float *yr = y + (uint64_t)r * n_cols;
        double mean = 0.0, var = 0.0;
        for (uint32_t i = 0; i < n_cols; i++) mean += xr[i];
        mean /= n_cols;
        for (uint32_t i = 0; i < n_cols; i++) var += (xr[i] - mean) * (xr[i] - mean);
        var /= n_cols;
        double inv = 1.0 / sqrt(var + eps);
        for (uint32_t i = 0; i < n_cols; i++)
            yr[i] = (float)((xr[i] - mean) * inv * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f));
    }
}
