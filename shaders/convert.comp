#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/convert.h"
// y[row0 (+ step[0]) + r][c] = convert(x[r][c]) between f32, f16 and bf16. Both sides are
// addressed as 16-bit words so that one shader serves every type pair (chosen by
// specialization constants) and rows of any length and offset stay addressable. Invocations
// grid-stride over columns (x) and rows (y).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint SRC_TYPE = 0; // 0 f32, 1 f16, 2 bf16
layout(constant_id = 2) const uint DST_TYPE = 1;
layout(constant_id = 3) const bool HAS_STEP = false;
layout(binding = 0) readonly buffer X { uint16_t x[]; };
layout(binding = 1) writeonly buffer Y { uint16_t y[]; };
layout(binding = 2) readonly buffer S { int step_val[]; };

float load(uint row, uint col)
{
    if (SRC_TYPE == 0u) {
        const uint i = pc.x_off + row * pc.x_ld + col * 2u;
        return uintBitsToFloat(uint(x[i]) | (uint(x[i + 1u]) << 16));
    }
    const uint h = uint(x[pc.x_off + row * pc.x_ld + col]);
    return SRC_TYPE == 1u ? unpackHalf2x16(h).x : uintBitsToFloat(h << 16);
}

uint to_bf16(float f)
{
    const uint b = floatBitsToUint(f);
    if (isnan(f)) return (b >> 16) | 0x40u; // keep NaN a NaN after truncation
    return (b + 0x7fffu + ((b >> 16) & 1u)) >> 16; // round to nearest even
}

void main()
{
    const uint dst_row0 = pc.row0 + (HAS_STEP ? uint(step_val[pc.step_off]) : 0u);
    for (uint r = gl_GlobalInvocationID.y; r < pc.n_rows; r += gl_NumWorkGroups.y) {
        if (dst_row0 + r >= pc.y_rows) break; // a bad step value must not write out of bounds
        const uint yrow = pc.y_off + (dst_row0 + r) * pc.y_ld;
        for (uint c = gl_GlobalInvocationID.x; c < pc.n_cols;
             c += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
            const float v = load(r, c);
            if (DST_TYPE == 0u) {
                const uint b = floatBitsToUint(v);
                y[yrow + 2u * c] = uint16_t(b & 0xffffu);
                y[yrow + 2u * c + 1u] = uint16_t(b >> 16);
            } else if (DST_TYPE == 1u) {
                y[yrow + c] = uint16_t(packHalf2x16(vec2(v, 0.0)) & 0xffffu);
            } else {
                y[yrow + c] = uint16_t(to_bf16(v));
            }
        }
    }
}
