#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/gelu.h"
#include "include/gelu_erf.glsl"
// Exact-erf GELU. x = columns, y = rows (grid-strided). y may be the same memory as x.
layout(local_size_x_id = 0) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer Y { float y[]; };

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n_cols) return;
    for (uint r = gl_WorkGroupID.y; r < pc.n_rows; r += gl_NumWorkGroups.y)
        y[pc.y_off + r * pc.y_stride + i] = sk_gelu(x[pc.x_off + r * pc.x_stride + i]);
}
