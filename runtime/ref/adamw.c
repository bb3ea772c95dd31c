/* Reference AdamW step in float32, one rounding per operation in the order the shader uses
 * (each operation is its own statement, so no compiler fuses a multiply into an add). The
 * step-dependent constants are computed in double exactly as silkie_op_adamw computes them. */
#include <math.h>

#include "ref/ref_train.h"

void silkie_ref_adamw(float *p, const float *g, float *m, float *v, uint64_t n, float lr,
                      float beta1, float beta2, float eps, float weight_decay, float grad_scale,
                      uint32_t step)
{
    const double b1 = beta1, b2 = beta2;
    const float one_minus_b1 = (float)(1.0 - b1), one_minus_b2 = (float)(1.0 - b2);
    const float decay = (float)(1.0 - (double)lr * weight_decay);
    const float step_size = (float)(lr / (1.0 - pow(b1, step)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, step));
    for (uint64_t i = 0; i < n; i++) {
        const float gs = g[i] * grad_scale;
        const float m_old = beta1 * m[i];
        const float m_new = one_minus_b1 * gs;
        const float mi = m_old + m_new;
        const float gg = gs * gs;
        const float v_old = beta2 * v[i];
        const float v_new = one_minus_b2 * gg;
        const float vi = v_old + v_new;
        const float root = sqrtf(vi);
        const float scaled = root / bc2_sqrt;
        const float denom = scaled + eps;
        const float ratio = mi / denom;
        const float upd = step_size * ratio;
        const float decayed = p[i] * decay;
        m[i] = mi;
        v[i] = vi;
        p[i] = decayed - upd;
    }
}
