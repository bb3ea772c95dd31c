/* Reference row argmax, lowest index on ties. */
#include "ref/ref.h"

void silkie_ref_argmax(const float *x, int32_t *y, uint32_t n_cols, uint32_t n_rows)
{
    for (uint32_t r = 0; r < n_rows; r++) {
        const float *xr = x + (uint64_t)r * n_cols;
        uint32_t best = 0;
        for (uint32_t i = 1; i < n_cols; i++)
            if (xr[i] > xr[best]) best = i;
        y[r] = (int32_t)best;
    }
}
