/* Reference exact GELU: 0.5 x (1 + erf(x / sqrt 2)). */
#include <math.h>

#include "ref/ref.h"

void silkie_ref_gelu(const float *x, float *y, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        double v = x[i];
        y[i] = (float)(0.5 * v * (1.0 + erf(v / sqrt(2.0))));
    }
}
