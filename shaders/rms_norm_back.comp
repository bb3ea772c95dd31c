#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/rms_norm_back.h"
// One workgroup per row (rows beyond the grid handled by striding over workgroups); invocations
// stride over columns, then sum(x^2) and sum(w*dy*x) are reduced together in shared memory in a
// fixed order, so the result repeats bit for bit. With g = w*dy and inv = 1/rms:
//   dx = inv * g - x * inv^3 / n * sum(g * x)
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool HAS_WEIGHT = true;
layout(constant_id = 2) const bool ACCUMULATE = false;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer W { float w[]; };
layout(binding = 2) readonly buffer DY { float dy[]; };
layout(binding = 3) buffer DX { float dx[]; };

shared vec2 red[gl_WorkGroupSize.x];

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint nt = gl_WorkGroupSize.x;
    for (uint r = gl_WorkGroupID.x; r < pc.n_rows; r += gl_NumWorkGroups.x) {
        const uint xb = pc.x_off + r * pc.x_stride;
        const uint gb = pc.dy_off + r * pc.dy_stride;
        vec2 acc = vec2(0.0); // (sum x^2, sum g*x)
        for (uint i = lid; i < pc.n_cols; i += nt) {
            const float xi = x[xb + i];
            const float g = dy[gb + i] * (HAS_WEIGHT ? w[pc.w_off + i] : 1.0);
            acc = vec2(fma(xi, xi, acc.x), fma(g, xi, acc.y));
        }
        red[lid] = acc;
        barrier(); // partial sums visible
        for (uint h = nt / 2; h > 0; h >>= 1) {
            if (lid < h) red[lid] += red[lid + h];
            barrier(); // this level done before the next reads it
        }
        const vec2 tot = red[0];
        barrier(); // everyone has read red[0] before the next row overwrites it
        const float inv_n = 1.0 / float(pc.n_cols);
        const float inv = inversesqrt(tot.x * inv_n + pc.eps);
        const float k = inv * inv * inv * tot.y * inv_n;
        const uint ob = pc.dx_off + r * pc.n_cols;
        for (uint i = lid; i < pc.n_cols; i += nt) {
            const float g = dy[gb + i] * (HAS_WEIGHT ? w[pc.w_off + i] : 1.0);
            const float v = inv * g - x[xb + i] * k;
            dx[ob + i] = ACCUMULATE ? dx[ob + i] + v : v;
        }
    }
}
