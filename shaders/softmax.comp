#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/softmax.h"
// One workgroup per row: reduce the max, then the sum of exponentials, then write. y may be the
// same memory as x: every element is read and written by the same invocation.
layout(local_size_x_id = 0) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer Y { float y[]; };

shared float red[gl_WorkGroupSize.x];

float reduce(float v, bool is_max)
{
    const uint lid = gl_LocalInvocationID.x;
    red[lid] = v;
    barrier(); // partials visible
    for (uint h = gl_WorkGroupSize.x / 2; h > 0; h >>= 1) {
        if (lid < h) red[lid] = is_max ? max(red[lid], red[lid + h]) : red[lid] + red[lid + h];
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
        const uint yb = pc.y_off + r * pc.y_stride;
        float m = -3.0e38;
        for (uint i = lid; i < pc.n_cols; i += nt) m = max(m, x[xb + i] * pc.scale);
        m = reduce(m, true);
        float s = 0.0;
        for (uint i = lid; i < pc.n_cols; i += nt) s += exp(x[xb + i] * pc.scale - m);
        const float inv = 1.0 / reduce(s, false);
        for (uint i = lid; i < pc.n_cols; i += nt) y[yb + i] = exp(x[xb + i] * pc.scale - m) * inv;
    }
}
