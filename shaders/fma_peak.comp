#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/fma_peak.h"
// Reference point for arithmetic rate: every invocation runs 8 independent FMA chains of
// 4 FMAs per trip (so latency is hidden) and writes one value so nothing is dead code.
layout(local_size_x_id = 0) in;
layout(binding = 0) writeonly buffer Y { float y[]; };
void main()
{
    float s = float(gl_GlobalInvocationID.x) * 1e-9;
    vec4 a0 = vec4(s), a1 = vec4(s + 1.0), a2 = vec4(s + 2.0), a3 = vec4(s + 3.0);
    vec4 a4 = vec4(s + 4.0), a5 = vec4(s + 5.0), a6 = vec4(s + 6.0), a7 = vec4(s + 7.0);
    const vec4 m = vec4(0.9999), c = vec4(1e-4);
    for (uint i = 0; i < pc.iters; i++) {
        a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
        a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    }
    vec4 r = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    y[gl_GlobalInvocationID.x] = r.x + r.y + r.z + r.w;
}
