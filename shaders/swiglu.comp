#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/swiglu.h"
// y = a * silu(b). x = columns, y = rows (grid-strided); a and b may be column views of one
// fused activation.
layout(local_size_x_id = 0) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) buffer Y { float y[]; };

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n_cols) return;
    for (uint r = gl_WorkGroupID.y; r < pc.n_rows; r += gl_NumWorkGroups.y) {
        const float g = b[pc.b_off + r * pc.b_stride + i];
        y[pc.y_off + r * pc.y_stride + i] = a[pc.a_off + r * pc.a_stride + i] * g / (1.0 + exp(-g));
    }
}
