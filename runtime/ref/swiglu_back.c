/* Reference SwiGLU backward for y = a * silu(b): da = dy * silu(b),
 * db = dy * a * sigmoid(b) * (1 + b * (1 - sigmoid(b))). */
#include <math.h>

#include "ref/ref_train.h"

void silkie_ref_swiglu_back(const float *a, const float *b, const float *dy, float *da,
                            float *db, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        double bv = b[i], s = 1.0 / (1.0 + exp(-bv));
        da[i] = (float)((double)dy[i] * bv * s);
        db[i] = (float)((double)dy[i] * a[i] * s * (1.0 + bv * (1.0 - s)));
    }
}
