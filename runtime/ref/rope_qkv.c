/* Reference of the fused rope of q and k and KV-cache append: silkie_ref_rope on each part. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "ref/ref.h"

static void store(void *cache, int f16, uint64_t at, const float *x, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (f16) ((uint16_t *)cache)[at + i] = silkie_f32_to_f16(x[i]);
        else ((float *)cache)[at + i] = x[i];
    }
}

void silkie_ref_rope_qkv(float *qkv, const int32_t *pos, uint32_t T, uint32_t n_heads,
                         uint32_t head_dim, float freq_base, uint32_t logn_base, void *k_cache,
                         void *v_cache, int cache_f16, uint32_t cache_rows, int32_t step)
{
    const uint32_t width = n_heads * head_dim;
    float *in = malloc((size_t)width * 4), *out = malloc((size_t)width * 4);
    if (!in || !out) {
        free(in), free(out);
        return;
    }
    for (uint32_t t = 0; t < T; t++) {
        float *row = qkv + (uint64_t)t * 3 * width;
        for (int part = 0; part < 2; part++) { /* q with log-n scaling, then k without */
            memcpy(in, row + part * width, (size_t)width * 4);
            silkie_ref_rope(in, pos + t, out, 1, n_heads, head_dim, freq_base,
                            part == 0 ? logn_base : 0, 0);
            memcpy(row + part * width, out, (size_t)width * 4);
        }
        const int64_t dst = (int64_t)step + t;
        if (k_cache && dst >= 0 && dst < (int64_t)cache_rows) {
            store(k_cache, cache_f16, (uint64_t)dst * width, row + width, width);
            store(v_cache, cache_f16, (uint64_t)dst * width, row + 2 * width, width);
        }
    }
    free(in);
    free(out);
}
