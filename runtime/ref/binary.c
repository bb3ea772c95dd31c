/* Reference element-wise add/mul with one-row broadcast, and scale. */
#include "ref/ref.h"

void silkie_ref_binary(int op, const float *a, const float *b, float *y, uint32_t n_cols,
                       uint32_t n_rows, uint32_t b_rows)
{
    for (uint32_t r = 0; r < n_rows; r++) {
        const float *br = b + (uint64_t)(b_rows == 1 ? 0 : r) * n_cols;
        for (uint32_t i = 0; i < n_cols; i++) {
            uint64_t j = (uint64_t)r * n_cols + i;
            y[j] = op == 0 ? a[j] + br[i] : a[j] * br[i];
        }
    }
}

void silkie_ref_scale(const float *x, float *y, uint64_t n, float s, float bias)
{
    for (uint64_t i = 0; i < n; i++) y[i] = (float)((double)x[i] * s + bias);
}
