/* Reference sum of squares: each square is exact in double and the sum runs in double. */
#include "ref/ref_train.h"

double silkie_ref_sum_sq(const float *x, uint64_t n)
{
    double s = 0.0;
    for (uint64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}
