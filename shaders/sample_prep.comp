#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#define SK_SAMPLE_PREP 1
#include "include/params/sample.h"
// Grid-strided over the vocabulary: each invocation applies the repetition penalty to its
// logits exactly as the host sampler does (v < 0 ? v * p : v / p, in IEEE single precision),
// stores the penalized logits in the scratch and keeps its best (value, lowest id); each
// workgroup then reduces to one partial (value, id, flags) after the logits in the scratch.
// The division is done in integers: Vulkan allows OpFDiv 2.5 ulp of error, and one ulp is
// enough to change which token wins.
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool PENALTY = false;
const uint NT = gl_WorkGroupSize.x;
const uint LOADS = 4;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer M { uint seen[]; };
layout(binding = 2) writeonly buffer S { uint s[]; };
// The pass's own token (has_id): sample.comp marks it after this step, so it counts here as
// seen already; one dispatch fewer than marking it first.
layout(binding = 3) readonly buffer I { int ids[]; };

shared float red_v[NT];
shared uint red_i[NT];
shared uint s_flags;

// a / b rounded to nearest even, for a with the sign bit clear or -0 and b a positive normal
// number: long division of the 24-bit significands, then rounding with a guard bit and sticky
// remainder (subnormal quotients included).
float div_rne(float a, float b)
{
    const uint ua = floatBitsToUint(a);
    if ((ua & 0x7fffffffu) == 0u || (ua & 0x7fffffffu) >= 0x7f800000u) return a; // +-0, inf, NaN
    int ea = int(ua >> 23);
    uint ma = ua & 0x7fffffu;
    if (ea == 0) {
        ea = 1;
        while (ma < 0x800000u) {
            ma <<= 1;
            ea--;
        }
    } else {
        ma |= 0x800000u;
    }
    const uint ub = floatBitsToUint(b);
    const uint mb = (ub & 0x7fffffu) | 0x800000u;
    int e = ea - int(ub >> 23) + 127; // biased exponent of the quotient once r / mb is in [1, 2)
    uint r = ma;
    if (r < mb) {
        r <<= 1;
        e--;
    }
    uint q = 0u; // 25 bits: the 24-bit significand and one guard bit
    for (int k = 0; k < 25; k++) {
        q <<= 1;
        if (r >= mb) {
            r -= mb;
            q |= 1u;
        }
        r <<= 1;
    }
    // The quotient is q * 2^(e - 151) plus a remainder (r != 0).
    if (e >= 1) {
        uint m = q >> 1;
        if ((q & 1u) != 0u && (r != 0u || (m & 1u) != 0u)) m++;
        if (m == 0x1000000u) {
            m >>= 1;
            e++;
        }
        if (e >= 255) return uintBitsToFloat(0x7f800000u);
        return uintBitsToFloat(uint(e) << 23 | (m & 0x7fffffu));
    }
    // Subnormal: in units of 2^-149 the quotient is q / 2^sh.
    const int sh = 2 - e;
    if (sh > 25) return 0.0;
    const uint half_bit = 1u << uint(sh - 1);
    uint m = q >> uint(sh);
    const bool sticky = r != 0u || (q & (half_bit - 1u)) != 0u;
    if ((q & half_bit) != 0u && (sticky || (m & 1u) != 0u)) m++;
    return uintBitsToFloat(m); // m == 2^23 is the smallest normal number, as it should be
}

float penalized(float v, uint i, uint own)
{
    if (!PENALTY) return v;
    if (i != own && (seen[pc.seen_off + (i >> 5)] & (1u << (i & 31u))) == 0u) return v;
    const uint u = floatBitsToUint(v);
    precise float scaled = v * pc.penalty; // correctly rounded in Vulkan
    // v < 0 on the host: negative, not -0, not NaN.
    return (u > 0x80000000u && u <= 0xff800000u) ? scaled : div_rne(v, pc.penalty);
}

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    if (lid == 0) s_flags = 0u;
    float bv = -1.0 / 0.0;
    uint bi = 0xffffffffu, flags = 0u;
    const uint own = PENALTY && pc.has_id != 0u ? uint(ids[pc.id_off]) : 0xffffffffu;
    const uint stride = gl_NumWorkGroups.x * NT * LOADS;
    for (uint i0 = gl_WorkGroupID.x * NT * LOADS + lid; i0 < pc.n; i0 += stride) {
        float v[LOADS];
        [[unroll]] for (uint j = 0; j < LOADS; j++) {
            const uint i = i0 + j * NT;
            v[j] = i < pc.n ? x[pc.x_off + i] : 0.0;
        }
        [[unroll]] for (uint j = 0; j < LOADS; j++) {
            const uint i = i0 + j * NT;
            if (i >= pc.n) continue;
            const float p = penalized(v[j], i, own);
            const uint u = floatBitsToUint(p);
            s[pc.s_off + i] = u;
            if ((u & 0x7fffffffu) > 0x7f800000u || u == 0x7f800000u) {
                flags |= SK_SAMPLE_FLAG_NONFINITE; // NaN or +inf: the host sampler decides
            } else if (p > bv || (p == bv && i < bi)) {
                bv = p;
                bi = i;
            }
        }
    }
    red_v[lid] = bv;
    red_i[lid] = bi;
    barrier(); // partial winners and s_flags' initial value visible
    if (flags != 0u) atomicOr(s_flags, flags);
    for (uint h = NT / 2; h > 0; h >>= 1) {
        if (lid < h) {
            const float v = red_v[lid + h];
            const uint i = red_i[lid + h];
            if (v > red_v[lid] || (v == red_v[lid] && i < red_i[lid])) {
                red_v[lid] = v;
                red_i[lid] = i;
            }
        }
        barrier(); // this level done before the next reads it
    }
    if (lid == 0) {
        const uint b = pc.s_off + pc.n + 3u * gl_WorkGroupID.x;
        s[b] = floatBitsToUint(red_v[0]);
        s[b + 1u] = red_i[0];
        s[b + 2u] = s_flags;
    }
}
