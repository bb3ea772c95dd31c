#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/copy.h"
// Reference point for bandwidth: each invocation copies 4 consecutive words (one uvec4) per
// grid-stride step.
layout(local_size_x_id = 0) in;
layout(binding = 0) readonly buffer X { uvec4 x[]; };
layout(binding = 1) writeonly buffer Y { uvec4 y[]; };
layout(binding = 2) readonly buffer XS { uint xs[]; };
layout(binding = 3) writeonly buffer YS { uint ys[]; };
void main()
{
    uint n4 = pc.n_words / 4;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < n4; i += stride) y[i] = x[i];
    // Tail words not covered by whole uvec4s.
    uint t = n4 * 4 + gl_GlobalInvocationID.x;
    if (t < pc.n_words) ys[t] = xs[t];
}
