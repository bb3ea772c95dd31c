#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/rope.h"
#include "include/rope.glsl"
// One invocation per rotated pair (i, i + head_dim/2) of one head of one token: x = pairs of all
// heads of a row, y = rows (grid-strided). y may be the same memory as x: each invocation reads
// its two elements before writing them.
layout(local_size_x_id = 0) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer P { int pos[]; };
layout(binding = 2) buffer Y { float y[]; };

void main()
{
    const uint half_dim = pc.head_dim / 2;
    const uint pairs = pc.n_heads * half_dim;
    const uint p = gl_GlobalInvocationID.x;
    if (p >= pairs) return;
    const uint h = p / half_dim;
    const uint i = p - h * half_dim;
    const float inv_freq = rope_inv_freq(i, pc.head_dim, pc.log2_base);
    for (uint r = gl_WorkGroupID.y; r < pc.n_rows; r += gl_NumWorkGroups.y) {
        const int ps = pos[pc.pos_off + r];
        const vec2 cs = rope_cos_sin(float(ps) * inv_freq);
        const float sn = cs.y * pc.sign;
        const float mul = rope_logn(ps, pc.logn_base, pc.inv_ln_logn);
        const uint xb = pc.x_off + r * pc.x_stride + h * pc.head_dim + i;
        const uint yb = pc.y_off + r * pc.y_stride + h * pc.head_dim + i;
        const float x1 = x[xb], x2 = x[xb + half_dim];
        y[yb] = (x1 * cs.x - x2 * sn) * mul;
        y[yb + half_dim] = (x2 * cs.x + x1 * sn) * mul;
    }
}
