#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/rope_qkv.h"
#include "include/rope.glsl"
// Rope of q and k of a fused QKV activation in place, and with HAS_CACHE the KV-cache append:
// rows step[0] + r of the caches get the rotated k and the v of row r. One invocation per
// rotated pair (i, i + head_dim/2) of one head: it shares the angle between q and k and moves the
// two v elements at the same places, so the whole row is covered. Rows grid-stride over y.
// The arithmetic is rope.comp's and the stores convert.comp's: the same values as rope, rope,
// set_rows, set_rows up to the driver's contraction of a*b - c*d into an FMA.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool HAS_CACHE = false;
layout(constant_id = 2) const bool CACHE_F16 = true; // else f32
layout(binding = 0) buffer X { float x[]; };
layout(binding = 1) readonly buffer P { int pos[]; };
layout(binding = 2) readonly buffer S { int step_val[]; };
layout(binding = 3) writeonly buffer K { uint16_t kc[]; };
layout(binding = 4) writeonly buffer V { uint16_t vc[]; };

void store_k(uint word, float f)
{
    if (CACHE_F16) {
        kc[word] = uint16_t(packHalf2x16(vec2(f, 0.0)) & 0xffffu);
    } else {
        const uint b = floatBitsToUint(f);
        kc[word] = uint16_t(b & 0xffffu);
        kc[word + 1u] = uint16_t(b >> 16);
    }
}

void store_v(uint word, float f)
{
    if (CACHE_F16) {
        vc[word] = uint16_t(packHalf2x16(vec2(f, 0.0)) & 0xffffu);
    } else {
        const uint b = floatBitsToUint(f);
        vc[word] = uint16_t(b & 0xffffu);
        vc[word + 1u] = uint16_t(b >> 16);
    }
}

void main()
{
    const uint half_dim = pc.head_dim / 2;
    const uint pairs = pc.n_heads * half_dim;
    const uint p = gl_GlobalInvocationID.x;
    if (p >= pairs) return;
    const uint h = p / half_dim;
    const uint i = p - h * half_dim;
    const uint width = pc.n_heads * pc.head_dim;
    const uint words = CACHE_F16 ? 1u : 2u;
    const float inv_freq = rope_inv_freq(i, pc.head_dim, pc.log2_base);
    const uint dst0 = HAS_CACHE ? uint(step_val[pc.step_off]) : 0u;
    for (uint r = gl_WorkGroupID.y; r < pc.n_rows; r += gl_NumWorkGroups.y) {
        const int ps = pos[pc.pos_off + r];
        const vec2 cs = rope_cos_sin(float(ps) * inv_freq);
        const float mul = rope_logn(ps, pc.logn_base, pc.inv_ln_logn);
        const uint qb = pc.x_off + r * pc.x_ld + h * pc.head_dim + i;
        const uint kb = qb + width;
        const float q1 = x[qb], q2 = x[qb + half_dim], k1 = x[kb], k2 = x[kb + half_dim];
        x[qb] = (q1 * cs.x - q2 * cs.y) * mul;
        x[qb + half_dim] = (q2 * cs.x + q1 * cs.y) * mul;
        const float kr1 = k1 * cs.x - k2 * cs.y, kr2 = k2 * cs.x + k1 * cs.y;
        x[kb] = kr1;
        x[kb + half_dim] = kr2;
        if (HAS_CACHE && dst0 + r < pc.cache_rows) {
            const uint col = h * pc.head_dim + i;
            const uint krow = pc.k_off + (dst0 + r) * pc.cache_ld;
            const uint vrow = pc.v_off + (dst0 + r) * pc.cache_ld;
            store_k(krow + col * words, kr1);
            store_k(krow + (col + half_dim) * words, kr2);
            store_v(vrow + col * words, x[kb + width]);
            store_v(vrow + (col + half_dim) * words, x[kb + width + half_dim]);
        }
    }
}
