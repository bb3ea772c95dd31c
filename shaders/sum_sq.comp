#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/sum_sq.h"
// A single workgroup, so the order is fixed and no scratch or atomics are needed. Element
// base + j*WG + lid of each chunk of 8*WG goes to lane j of invocation lid (coalesced loads,
// eight independent chains). Each lane sums its squares with Kahan compensation, so its error
// stays ~2 ulp however long the data; lanes are added pairwise, then the invocations in a
// shared-memory tree. ACCUMULATE adds to out[] instead of overwriting it (later parts of a
// split tensor).
layout(local_size_x_id = 0) in; // power of two
layout(constant_id = 1) const bool ACCUMULATE = false;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer O { float o[]; };

shared float red[gl_WorkGroupSize.x];

// One compensated step for four lanes; every value is `precise`, so no compiler may fold
// (t - s) - y to zero or fuse the square into the add.
void kahan(const vec4 a, inout vec4 s, inout vec4 c, inout vec4 q)
{
    precise const vec4 y = a * a - c;
    precise const vec4 t = s + y;
    precise const vec4 nc = (t - s) - y;
    c = nc;
    s = t;
    q += a * a; // plain sum: tells overflow (+Inf) from NaN input
}

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint nt = gl_WorkGroupSize.x;
    const uint xb = pc.x_off + lid;
    const uint n_full = pc.n / (8 * nt) * (8 * nt);
    vec4 s0 = vec4(0.0), s1 = vec4(0.0); // running sums, lanes 0-3 and 4-7
    vec4 c0 = vec4(0.0), c1 = vec4(0.0); // Kahan compensations
    vec4 q0 = vec4(0.0), q1 = vec4(0.0);
    uint base = 0;
    for (; base < n_full; base += 8 * nt) {
        const uint i = xb + base;
        kahan(vec4(x[i], x[i + nt], x[i + 2 * nt], x[i + 3 * nt]), s0, c0, q0);
        kahan(vec4(x[i + 4 * nt], x[i + 5 * nt], x[i + 6 * nt], x[i + 7 * nt]), s1, c1, q1);
    }
    if (base < pc.n) {
        float t[8];
        [[unroll]] for (uint j = 0; j < 8; j++) {
            const uint k = base + j * nt + lid;
            t[j] = k < pc.n ? x[pc.x_off + k] : 0.0;
        }
        kahan(vec4(t[0], t[1], t[2], t[3]), s0, c0, q0);
        kahan(vec4(t[4], t[5], t[6], t[7]), s1, c1, q1);
    }
    precise const vec4 e0 = s0 - c0, e1 = s1 - c1;
    precise float tot = ((e0.x + e0.y) + (e0.z + e0.w)) + ((e1.x + e1.y) + (e1.z + e1.w));
    // Kahan turns an overflow into Inf - Inf = NaN; the plain sum is +Inf then (squares are
    // never negative), and NaN only when x holds a NaN.
    const float q = (q0.x + q0.y + q0.z + q0.w) + (q1.x + q1.y + q1.z + q1.w);
    if (isinf(q)) tot = q;
    red[lid] = tot;
    barrier(); // every invocation's total visible
    for (uint h = nt / 2; h > 0; h >>= 1) {
        if (lid < h) {
            precise const float r = red[lid] + red[lid + h];
            red[lid] = r;
        }
        barrier(); // this level done before the next reads it
    }
    if (lid == 0) {
        precise float r = red[0];
        if (ACCUMULATE) r = o[pc.out_off] + r;
        o[pc.out_off] = r;
    }
}
