/* Reference RMSNorm backward: with g = w * dy and inv = 1 / sqrt(mean(x^2) + eps),
 * dx = inv * g - x * inv^3 / n * sum(g * x). */
#include <math.h>

#include "ref/ref_train.h"

void silkie_ref_rms_norm_back(const float *x, const float *w, const float *dy, float *dx,
                              uint32_t n_cols, uint32_t n_rows, float eps, int accumulate)
{
    for (uint32_t r = 0; r < n_rows; r++) {
        const float *xr = x + (uint64_t)r * n_cols;
        const float *gr = dy + (uint64_t)r * n_cols;
        float *dr = dx + (uint64_t)r * n_cols;
        double ss = 0.0, gx = 0.0;
        for (uint32_t i = 0; i < n_cols; i++) {
            ss += (double)xr[i] * xr[i];
            gx += (double)gr[i] * (w ? w[i] : 1.0f) * xr[i];
        }
        double inv = 1.0 / sqrt(ss / n_cols + eps);
        double k = inv * inv * inv * gx / n_cols;
        for (uint32_t i = 0; i < n_cols; i++) {
            double v = inv * gr[i] * (w ? w[i] : 1.0f) - xr[i] * k;
            dr[i] = (float)(accumulate ? dr[i] + v : v);
        }
    }
}
