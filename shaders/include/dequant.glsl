// Weight access for every storage type, selected by the shader variant (SK_VARIANT_W_*).
// The includer defines W_BINDING. Quantized types are read a quarter block (8 values) at a
// time from 16-bit words: blocks are 34 or 18 bytes, so only 2-byte alignment is guaranteed.
// An includer that defines W_PARTS_BINDING also gets parts 1..3 of a split weight at bindings
// W_PARTS_BINDING + 0..2, read where it sets w_part (uniform per workgroup) to 1..3; it also
// defines W_PARTS_COUNT (its parts in this pipeline), so a single part reads w with no branch.
#if defined(SK_VARIANT_W_F32)
#define W_ELEM float
#else
#define W_ELEM uint16_t
#endif
layout(binding = W_BINDING) readonly buffer W { W_ELEM w[]; };
#ifdef W_PARTS_BINDING
layout(binding = W_PARTS_BINDING) readonly buffer WP1 { W_ELEM wp1[]; };
layout(binding = W_PARTS_BINDING + 1) readonly buffer WP2 { W_ELEM wp2[]; };
layout(binding = W_PARTS_BINDING + 2) readonly buffer WP3 { W_ELEM wp3[]; };
uint w_part = 0u;
W_ELEM w_load(uint i)
{
    if (W_PARTS_COUNT > 1u && w_part == 1u) return wp1[i];
    if (W_PARTS_COUNT > 2u && w_part == 2u) return wp2[i];
    if (W_PARTS_COUNT > 3u && w_part == 3u) return wp3[i];
    return w[i];
}
#else
#define w_load(i) w[i]
#endif

#if defined(SK_VARIANT_W_Q8_0)
#define W_QUANT 1
#define W_BLOCK_WORDS 17u
#elif defined(SK_VARIANT_W_Q4_0)
#define W_QUANT 1
#define W_BLOCK_WORDS 9u
#else
#define W_QUANT 0
#endif

#if !W_QUANT
// Element i of a plain weight array (f32, f16 or bf16).
float w_scalar(uint i)
{
#if defined(SK_VARIANT_W_F32)
    return w_load(i);
#elif defined(SK_VARIANT_W_F16)
    return unpackHalf2x16(uint(w_load(i))).x;
#else
    return uintBitsToFloat(uint(w_load(i)) << 16);
#endif
}

#ifdef W4_BINDING
// The same weights viewed 16 bytes at a time, for includers that can prove 16-byte alignment.
layout(binding = W4_BINDING) readonly buffer W4 { uvec4 w4[]; };

// Elements e .. e+7; e is a multiple of 8 and element e starts a 16-byte word.
void w_eight(uint e, out float v[8])
{
#if defined(SK_VARIANT_W_F32)
    const uvec4 p = w4[e / 4u], q = w4[e / 4u + 1u];
    [[unroll]] for (uint i = 0u; i < 4u; i++) {
        v[i] = uintBitsToFloat(p[i]);
        v[4u + i] = uintBitsToFloat(q[i]);
    }
#else
    const uvec4 p = w4[e / 8u];
    [[unroll]] for (uint i = 0u; i < 4u; i++) {
#if defined(SK_VARIANT_W_F16)
        const vec2 h = unpackHalf2x16(p[i]);
        v[2u * i] = h.x;
        v[2u * i + 1u] = h.y;
#else
        v[2u * i] = uintBitsToFloat(p[i] << 16);
        v[2u * i + 1u] = uintBitsToFloat(p[i] & 0xffff0000u);
#endif
    }
#endif
}
#endif
#else
// Position inside its block of value j (0..7) of quarter `sub` (0..3), as w_quarter returns them.
uint quarter_k(uint sub, uint j)
{
#if defined(SK_VARIANT_W_Q8_0)
    return sub * 8u + j;
#else
    // q4_0 keeps element e and e + 16 in one byte, so a quarter is 4 low and 4 high nibbles.
    return (j < 4u ? 0u : 12u) + sub * 4u + j;
#endif
}

// Quarter `sub` of the block starting at 16-bit word `base`, dequantized.
void w_quarter(uint base, uint sub, out float v[8])
{
    float d = unpackHalf2x16(uint(w_load(base))).x;
#if defined(SK_VARIANT_W_Q8_0)
    [[unroll]] for (uint i = 0u; i < 4u; i++) {
        int word = int(uint(w_load(base + 1u + sub * 4u + i)));
        v[2u * i] = d * float(bitfieldExtract(word, 0, 8));
        v[2u * i + 1u] = d * float(bitfieldExtract(word, 8, 8));
    }
#else
    [[unroll]] for (uint i = 0u; i < 2u; i++) {
        uint word = uint(w_load(base + 1u + sub * 2u + i));
        v[2u * i] = d * (float(word & 15u) - 8.0);
        v[2u * i + 1u] = d * (float((word >> 8) & 15u) - 8.0);
        v[4u + 2u * i] = d * (float((word >> 4) & 15u) - 8.0);
        v[4u + 2u * i + 1u] = d * (float(word >> 12) - 8.0);
    }
#endif
}
#endif
