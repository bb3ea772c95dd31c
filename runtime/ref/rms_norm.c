/* Reference RMSNorm: y = x / sqrt(mean(x^2) + eps) * w. */
#include <math.h>

#include "ref/ref.h"

void silkie_ref_rms_norm(const float *x, const float *w, float *y, uint32_t n_cols,
                         uint32_t n_rows, float eps)
{
    for (uint32_t r = 0; r < n_rows; r++) {
        const float *xr = x + (uint64_t)r * n_cols;
        float *yr = y + (uint64_t)r * n_cols;
        double ss = 0.0;
        for (uint32_t i = 0; i < n_cols; i++) ss += (double)xr[i] * xr[i];
        double inv = 1.0 / sqrt(ss / n_cols + eps);
        for (uint32_t i = 0; i < n_cols; i++)
            yr[i] = (float)(xr[i] * inv * (w ? w[i] : 1.0f));
    }
}
