#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/adamw.h"
// One invocation per element, grid-strided past the dispatch limit. Everything is `precise`
// (no fma contraction, no reassociation) and evaluated in the reference's float order, so only
// sqrt and the two divisions, which Vulkan does not require to be correctly rounded, can differ
// from it. The update follows torch.optim.AdamW: decay p, then p -= step_size * (m / denom).
layout(local_size_x_id = 0) in;
layout(binding = 0) buffer P { float p[]; };
layout(binding = 1) readonly buffer G { float g[]; };
layout(binding = 2) buffer M { float m[]; };
layout(binding = 3) buffer V { float v[]; };

void main()
{
    const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        precise const float gs = g[pc.g_off + i] * pc.grad_scale;
        precise const float mi = pc.beta1 * m[pc.m_off + i] + pc.one_minus_beta1 * gs;
        precise const float vi = pc.beta2 * v[pc.v_off + i] + pc.one_minus_beta2 * (gs * gs);
        precise const float denom = sqrt(vi) / pc.bc2_sqrt + pc.eps;
        precise const float pi = p[pc.p_off + i] * pc.decay - pc.step_size * (mi / denom);
        m[pc.m_off + i] = mi;
        v[pc.v_off + i] = vi;
        p[pc.p_off + i] = pi;
    }
}
