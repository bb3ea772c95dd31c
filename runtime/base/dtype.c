/* Element types: sizes, names, and scalar half/bfloat16 conversion. */
#include "base.h"

size_t silkie_dtype_block_bytes(silkie_dtype t)
{
    switch (t) {
    case SILKIE_DTYPE_F32: case SILKIE_DTYPE_I32: return 4;
    case SILKIE_DTYPE_F16: case SILKIE_DTYPE_BF16: case SILKIE_DTYPE_I16: return 2;
    case SILKIE_DTYPE_I8: case SILKIE_DTYPE_U8: return 1;
    case SILKIE_DTYPE_I64: case SILKIE_DTYPE_F64: return 8;
    case SILKIE_DTYPE_Q8_0: return 34; /* f16 scale + 32 x int8 */
    case SILKIE_DTYPE_Q4_0: return 18; /* f16 scale + 16 bytes of nibbles */
    default: return 0;
    }
}

uint32_t silkie_dtype_block_elems(silkie_dtype t)
{
    if (t == SILKIE_DTYPE_Q8_0 || t == SILKIE_DTYPE_Q4_0) return 32;
    return silkie_dtype_block_bytes(t) ? 1 : 0;
}

const char *silkie_dtype_name(silkie_dtype t)
{
    switch (t) {
    case SILKIE_DTYPE_F32: return "f32";
    case SILKIE_DTYPE_F16: return "f16";
    case SILKIE_DTYPE_BF16: return "bf16";
    case SILKIE_DTYPE_Q8_0: return "q8_0";
    case SILKIE_DTYPE_Q4_0: return "q4_0";
    case SILKIE_DTYPE_I8: return "i8";
    case SILKIE_DTYPE_I16: return "i16";
    case SILKIE_DTYPE_I32: return "i32";
    case SILKIE_DTYPE_I64: return "i64";
    case SILKIE_DTYPE_F64: return "f64";
    case SILKIE_DTYPE_U8: return "u8";
    default: return NULL;
    }
}

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

uint16_t silkie_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = sign | ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* may carry into exponent: fine */
    return (uint16_t)h;
}

float silkie_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        float v = (float)man / 16777216.0f; /* man * 2^-24 */
        return sign ? -v : v;
    }
    if (exp == 31) return bits_f32(sign | 0x7f800000u | (man << 13));
    return bits_f32(sign | ((exp - 15 + 127) << 23) | (man << 13));
}

uint16_t silkie_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

float silkie_bf16_to_f32(uint16_t b) { return bits_f32((uint32_t)b << 16); }
