/* Reference rotary embedding, Qwen rotate-half form over the whole head. The angle is formed in
 * float32 like the model's reference (inverse frequencies and pos * inv_freq in f32), because
 * at large positions the f32 rounding of the angle is part of the model's behaviour; only the
 * rotation itself uses double. */
#include <math.h>

#include "ref/ref.h"

void silkie_ref_rope(const float *x, const int32_t *pos, float *y, uint32_t T, uint32_t n_heads,
                     uint32_t head_dim, float freq_base, uint32_t logn_base, int inverse)
{
    uint32_t half = head_dim / 2;
    uint64_t width = (uint64_t)n_heads * head_dim;
    for (uint32_t t = 0; t < T; t++) {
        int32_t p = pos[t];
        double mul = 1.0;
        if (logn_base > 0 && p >= (int32_t)logn_base)
            mul = log((double)p + 1.0) / log((double)logn_base);
        for (uint32_t h = 0; h < n_heads; h++) {
            const float *xh = x + t * width + (uint64_t)h * head_dim;
            float *yh = y + t * width + (uint64_t)h * head_dim;
            for (uint32_t i = 0; i < half; i++) {
                float inv_freq = 1.0f / powf(freq_base, (float)(2 * i) / (float)head_dim);
                float theta = (float)p * inv_freq;
                double c = cos((double)theta), s = sin((double)theta);
                if (inverse) s = -s;
                double x1 = xh[i], x2 = xh[i + half];
                yh[i] = (float)((x1 * c - x2 * s) * mul);
                yh[i + half] = (float)((x2 * c + x1 * s) * mul);
            }
        }
    }
}
