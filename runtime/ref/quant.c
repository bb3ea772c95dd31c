/* Row conversion between f32 and the storage types, in GGML's block layouts.
 *
 * Q8_0 block (34 bytes): f16 scale d, then 32 int8 q; x = d * q.
 * Q4_0 block (18 bytes): f16 scale d, then 16 bytes; element j (j < 16) sits in the low nibble of
 * byte j and element j + 16 in the high nibble; x = d * (q - 8).
 * Quantization reproduces GGML's reference rounding bit for bit, so blocks made here match files
 * produced by the usual converters. */
#include <math.h>

#include "ref.h"

#define QK 32u

static uint16_t load_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8)); /* blocks are little-endian on disk and on device */
}

static void store_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}

uint64_t silkie_ref_row_bytes(silkie_dtype dt, uint64_t n)
{
    uint32_t be = silkie_dtype_block_elems(dt);
    if (be == 0) return 0;
    return n / be * silkie_dtype_block_bytes(dt);
}

static void dequant_q8_0(const uint8_t *src, float *dst, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK; b++) {
        const uint8_t *blk = src + b * 34;
        float d = silkie_f16_to_f32(load_u16(blk));
        for (uint32_t j = 0; j < QK; j++) dst[b * QK + j] = d * (float)(int8_t)blk[2 + j];
    }
}

static void dequant_q4_0(const uint8_t *src, float *dst, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK; b++) {
        const uint8_t *blk = src + b * 18;
        float d = silkie_f16_to_f32(load_u16(blk));
        for (uint32_t j = 0; j < QK / 2; j++) {
            uint8_t v = blk[2 + j];
            dst[b * QK + j] = d * (float)((int)(v & 0x0f) - 8);
            dst[b * QK + j + QK / 2] = d * (float)((int)(v >> 4) - 8);
        }
    }
}

void silkie_ref_dequant_row(silkie_dtype dt, const void *src, float *dst, uint64_t n)
{
    const uint8_t *s = (const uint8_t *)src;
    switch (dt) {
    case SILKIE_DTYPE_F32:
        memcpy(dst, src, n * sizeof(float));
        break;
    case SILKIE_DTYPE_F16:
        for (uint64_t i = 0; i < n; i++) dst[i] = silkie_f16_to_f32(load_u16(s + 2 * i));
        break;
    case SILKIE_DTYPE_BF16:
        for (uint64_t i = 0; i < n; i++) dst[i] = silkie_bf16_to_f32(load_u16(s + 2 * i));
        break;
    case SILKIE_DTYPE_Q8_0: dequant_q8_0(s, dst, n); break;
    case SILKIE_DTYPE_Q4_0: dequant_q4_0(s, dst, n); break;
    default: SK_ASSERT(!"dequant: unsupported dtype"); break;
    }
}

static void quant_q8_0(const float *src, uint8_t *dst, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK; b++) {
        const float *x = src + b * QK;
        uint8_t *blk = dst + b * 34;
        float amax = 0.0f;
        for (uint32_t j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        /* The inverse comes from the unrounded f32 scale, as in GGML; only d is stored as f16. */
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_u16(blk, silkie_f32_to_f16(d));
        for (uint32_t j = 0; j < QK; j++) blk[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
    }
}

static void quant_q4_0(const float *src, uint8_t *dst, uint64_t n)
{
    for (uint64_t b = 0; b < n / QK; b++) {
        const float *x = src + b * QK;
        uint8_t *blk = dst + b * 18;
        /* The signed extreme maps to q = 0 exactly, which wastes no code on the far side. */
        float amax = 0.0f, vmax = 0.0f;
        for (uint32_t j = 0; j < QK; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                vmax = x[j];
            }
        }
        float d = vmax / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_u16(blk, silkie_f32_to_f16(d));
        for (uint32_t j = 0; j < QK / 2; j++) {
            /* Truncation after +8.5 is round-half-up of x/d + 8 for the non-negative range. */
            int8_t lo = (int8_t)(x[j] * id + 8.5f);
            int8_t hi = (int8_t)(x[j + QK / 2] * id + 8.5f);
            uint8_t ql = (uint8_t)(lo > 15 ? 15 : lo);
            uint8_t qh = (uint8_t)(hi > 15 ? 15 : hi);
            blk[2 + j] = (uint8_t)(ql | (qh << 4));
        }
    }
}

void silkie_ref_quantize_row(silkie_dtype dt, const float *src, void *dst, uint64_t n)
{
    uint8_t *d = (uint8_t *)dst;
    switch (dt) {
    case SILKIE_DTYPE_F32:
        memcpy(dst, src, n * sizeof(float));
        break;
    case SILKIE_DTYPE_F16:
        for (uint64_t i = 0; i < n; i++) store_u16(d + 2 * i, silkie_f32_to_f16(src[i]));
        break;
    case SILKIE_DTYPE_BF16:
        for (uint64_t i = 0; i < n; i++) store_u16(d + 2 * i, silkie_f32_to_bf16(src[i]));
        break;
    case SILKIE_DTYPE_Q8_0: quant_q8_0(src, d, n); break;
    case SILKIE_DTYPE_Q4_0: quant_q4_0(src, d, n); break;
    default: SK_ASSERT(!"quantize: unsupported dtype"); break;
    }
}
