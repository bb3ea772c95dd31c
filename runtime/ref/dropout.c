/* Reference dropout. The hash is the shader's (shaders/dropout.comp), written out in C: only
 * 32-bit unsigned arithmetic, which wraps the same way in both languages, so masks match bit
 * for bit. */
#include "ref/ref_train.h"

static uint32_t mix32(uint32_t v)
{
    v ^= v >> 16;
    v *= 0x7feb352du;
    v ^= v >> 15;
    v *= 0x846ca68bu;
    v ^= v >> 16;
    return v;
}

uint32_t silkie_ref_dropout_hash(uint32_t seed, uint32_t stream, uint32_t i)
{
    uint32_t key = mix32(seed ^ mix32(stream + 0x9e3779b9u));
    return mix32(mix32(i ^ key) + key);
}

void silkie_ref_dropout(const float *x, float *y, uint64_t n, float p, uint32_t seed,
                        uint32_t stream)
{
    /* p * 2^32 is exact in double for a float p < 1; the op forms both values the same way. */
    uint32_t threshold = (uint32_t)((double)p * 4294967296.0);
    float scale = (float)(1.0 / (1.0 - (double)p));
    for (uint64_t i = 0; i < n; i++) {
        int keep = silkie_ref_dropout_hash(seed, stream, (uint32_t)i) >= threshold;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
}
