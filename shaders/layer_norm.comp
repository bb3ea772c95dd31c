#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/layer_norm.h"
// One workgroup per row; two reductions in shared memory: the mean, then the sum of squared
// deviations (two passes over the row keep the variance accurate for rows with a large mean).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool HAS_WEIGHT = true;
layout(constant_id = 2) const bool HAS_BIAS = true;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer W { float w[]; };
layout(binding = 2) readonly buffer B { float b[]; };
layout(binding = 3) writeonly buffer Y { float y[]; };

shared float red[gl_WorkGroupSize.x];

float reduce_sum(float v)
{
    const uint lid = gl_LocalInvocationID.x;
    red[lid] = v;
    barrier(); // partial sums visible
    for (uint h = gl_WorkGroupSize.x / 2; h > 0; h >>= 1) {
        if (lid < h) red[lid] += red[lid + h];
        barrier(); // this level done before the next reads it
    }
    const float s = red[0];
    barrier(); // all have read red[0] before red is reused
    return s;
}

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint nt = gl_WorkGroupSize.x;
    for (uint r = gl_WorkGroupID.x; r < pc.n_rows; r += gl_NumWorkGroups.x) {
        const uint xb = pc.x_off + r * pc.x_stride;
        float s = 0.0;
        for (uint i = lid; i < pc.n_cols; i += nt) s += x[xb + i];
        const float mean = reduce_sum(s) / float(pc.n_cols);
        float q = 0.0;
        for (uint i = lid; i < pc.n_cols; i += nt) {
            const float d = x[xb + i] - mean;
            q = fma(d, d, q);
        }
        const float inv = inversesqrt(reduce_sum(q) / float(pc.n_cols) + pc.eps);
        const uint yb = pc.y_off + r * pc.n_cols;
        for (uint i = lid; i < pc.n_cols; i += nt) {
            float v = (x[xb + i] - mean) * inv;
            if (HAS_WEIGHT) v *= w[pc.w_off + i];
            if (HAS_BIAS) v += b[pc.b_off + i];
            y[yb + i] = v;
        }
    }
}
