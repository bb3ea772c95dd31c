/* Reference row softmax of x * scale, max-subtracted. */
#include <math.h>

#include "ref/ref.h"

void silkie_ref_softmax(const float *x, float *y, uint32_t n_cols, uint32_t n_rows, float scale)
{
    for (uint32_t r = 0; r < n_rows; r++) {
        const float *xr = x + (uint64_t)r * n_cols;
        float *yr = y + (uint64_t)r * n_cols;
        double m = -INFINITY, s = 0.0;
        for (uint32_t i = 0; i < n_cols; i++) m = fmax(m, (double)xr[i] * scale);
        for (uint32_t i = 0; i < n_cols; i++) s += exp((double)xr[i] * scale - m);
        for (uint32_t i = 0; i < n_cols; i++) yr[i] = (float)(exp((double)xr[i] * scale - m) / s);
    }
}
