#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/rms_norm.h"
// One workgroup per row (rows beyond the grid handled by striding over workgroups);
// invocations stride over columns, then the sum of squares is reduced in shared memory.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool HAS_WEIGHT = true;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer W { float w[]; };
layout(binding = 2) writeonly buffer Y { float y[]; };

shared float red[gl_WorkGroupSize.x];

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint nt = gl_WorkGroupSize.x;
    for (uint r = gl_WorkGroupID.x; r < pc.n_rows; r += gl_NumWorkGroups.x) {
        const uint xb = pc.x_off + r * pc.x_stride;
        float ss = 0.0;
        for (uint i = lid; i < pc.n_cols; i += nt) ss = fma(x[xb + i], x[xb + i], ss);
        red[lid] = ss;
        barrier(); // partial sums visible
        for (uint h = nt / 2; h > 0; h >>= 1) {
            if (lid < h) red[lid] += red[lid + h];
            barrier(); // this level done before the next reads it
        }
        const float inv = inversesqrt(red[0] / float(pc.n_cols) + pc.eps);
        barrier(); // everyone has read red[0] before the next row overwrites it
        const uint yb = pc.y_off + r * pc.n_cols;
        for (uint i = lid; i < pc.n_cols; i += nt)
            y[yb + i] = x[xb + i] * inv * (HAS_WEIGHT ? w[pc.w_off + i] : 1.0);
    }
}
