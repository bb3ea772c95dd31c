#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#define SK_SAMPLE_MARK 1
#include "include/params/sample.h"
// One invocation per id: sets the id's bit in the seen mask, the token history the repetition
// penalty reads. Recorded in the same command list as the pass that evaluates the ids, so the
// history stays on the device.
layout(local_size_x = 64) in;
layout(binding = 0) readonly buffer I { int ids[]; };
layout(binding = 1) buffer S { uint seen[]; };

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n_ids) return;
    const int t = ids[pc.ids_off + i];
    if (t < 0 || uint(t) >= pc.n_vocab) return;
    atomicOr(seen[pc.seen_off + (uint(t) >> 5)], 1u << (uint(t) & 31u));
}
