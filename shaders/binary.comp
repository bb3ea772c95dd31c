#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/binary.h"
// y = a + b, a * b (b one row or the same shape), or a * s + bias. x = columns, y = rows
// (grid-strided). y may be the same memory as a.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0; // 0 add, 1 mul, 2 scale (b unused)
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) buffer Y { float y[]; };

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n_cols) return;
    for (uint r = gl_WorkGroupID.y; r < pc.n_rows; r += gl_NumWorkGroups.y) {
        const float va = a[pc.a_off + r * pc.a_stride + i];
        float v;
        if (OP == 2) {
            v = fma(va, pc.s, pc.bias);
        } else {
            const float vb = b[pc.b_off + r * pc.b_stride + i];
            v = OP == 0 ? va + vb : va * vb;
        }
        y[pc.y_off + r * pc.y_stride + i] = v;
    }
}
