/* Reference SwiGLU: y = a * silu(b), b being the gate. */
#include <math.h>

#include "ref/ref.h"

void silkie_ref_swiglu(const float *a, const float *b, float *y, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        double g = b[i];
        y[i] = (float)((double)a[i] * g / (1.0 + exp(-g)));
    }
}
