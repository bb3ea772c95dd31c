#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/dropout.h"
// y = keep ? x * scale : 0 with keep = hash(seed, stream, row * n_cols + col) >= threshold.
// x = columns, y = rows (grid-strided). The hash is integer-only, so it matches
// silkie_ref_dropout_hash bit for bit; y may be the same memory as x (read before write).
layout(local_size_x_id = 0) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer Y { float y[]; };

// 32-bit finaliser with good avalanche (xorshift-multiply, "lowbias32" constants).
uint mix32(uint v)
{
    v ^= v >> 16;
    v *= 0x7feb352du;
    v ^= v >> 15;
    v *= 0x846ca68bu;
    v ^= v >> 16;
    return v;
}

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n_cols) return;
    // Two rounds around the element index so streams are not shifted copies of one sequence.
    const uint key = mix32(pc.seed ^ mix32(pc.stream + 0x9e3779b9u));
    for (uint r = gl_WorkGroupID.y; r < pc.n_rows; r += gl_NumWorkGroups.y) {
        const uint h = mix32(mix32((r * pc.n_cols + i) ^ key) + key);
        const float v = x[pc.x_off + r * pc.x_stride + i];
        y[pc.y_off + r * pc.n_cols + i] = h >= pc.threshold ? v * pc.scale : 0.0;
    }
}
