#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#define SK_SAMPLE_MAIN 1
#include "include/params/sample.h"
// One workgroup finishes a sampling step from sample_prep's output (penalized logits and one
// partial per prep workgroup):
//  1. the argmax from the partials, written first: all that a greedy step reads back;
//  2. NEED_SUM (top-k off): the softmax normaliser sum(exp((v - max) / T)) over the whole
//     vocabulary, Kahan-summed per invocation, with sum(exp(x) * |x|), from which the host
//     bounds the difference to its own sum;
//  3. a radix select of the n_want largest keys (order-preserving logit bits, then
//     0xffffff - id so that the lower id wins ties: keys are distinct), one byte per pass,
//     stopping once the boundary bucket is taken whole; COPIES private histograms (invocation
//     i counts into copy i % COPIES) because real logits crowd into a few buckets;
//  4. a bitonic sort of the selected keys, and the candidates written in that order. With
//     NEED_SUM and 0 < top_p < 1 the list is cut SK_SAMPLE_MARGIN past where its estimated
//     mass reaches top_p.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool GREEDY = false;
layout(constant_id = 2) const bool NEED_SUM = false;
const uint NT = gl_WorkGroupSize.x; // >= SK_SAMPLE_CAP (the sort uses one invocation per key)
const uint CAP = SK_SAMPLE_CAP;
const uint COPIES = 4;
const uint LOADS = 4;
layout(binding = 0) readonly buffer S { uint s[]; };
layout(binding = 1) writeonly buffer O { uint o[]; };
layout(binding = 2) buffer M { uint seen[]; };
layout(binding = 3) readonly buffer I { int ids[]; };

shared uint red_a[NT];
shared uint red_b[NT];
shared uint hist[256 * COPIES];
shared uint key_hi[CAP];
shared uint key_lo[CAP];
shared uint s_flags, s_hp, s_hm, s_lp, s_lm, s_need, s_done, s_count, s_nw;
shared float s_mx, s_sum, s_err;

uint order_bits(uint u)
{
    if ((u & 0x7fffffffu) == 0u) u = 0u; // -0 ranks as +0, as the host compares them
    return (u & 0x80000000u) != 0u ? ~u : (u | 0x80000000u);
}

uint from_order_bits(uint k) { return (k & 0x80000000u) != 0u ? (k & 0x7fffffffu) : ~k; }

uint digit(uint hi, uint lo, uint level)
{
    return level < 4 ? (hi >> (24 - 8 * level)) & 255u : (lo >> (16 - 8 * (level - 4))) & 255u;
}

bool key_less(uint ah, uint al, uint bh, uint bl) { return ah < bh || (ah == bh && al < bl); }

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint lbase = pc.s_off; // penalized logits
    if (lid == 0) s_flags = 0u;
    if (lid == 0 && pc.has_id != 0u) {
        // The pass's token joins the history (sample_prep already counted it).
        const int t = ids[pc.id_off];
        if (t >= 0 && uint(t) < pc.n)
            atomicOr(seen[pc.seen_off + (uint(t) >> 5)], 1u << (uint(t) & 31u));
    }

    // 1. Argmax: larger value, then lower id; an empty partial is (-inf, 0xffffffff).
    float bv = -1.0 / 0.0;
    uint bi = 0xffffffffu, fl = 0u;
    for (uint g = lid; g < pc.n_groups; g += NT) {
        const uint b = pc.s_off + pc.n + 3u * g;
        const float v = uintBitsToFloat(s[b]);
        const uint i = s[b + 1u];
        fl |= s[b + 2u];
        if (v > bv || (v == bv && i < bi)) {
            bv = v;
            bi = i;
        }
    }
    red_a[lid] = floatBitsToUint(bv);
    red_b[lid] = bi;
    barrier(); // partials and s_flags' initial value visible
    if (fl != 0u) atomicOr(s_flags, fl);
    for (uint h = NT / 2; h > 0; h >>= 1) {
        if (lid < h) {
            const float v = uintBitsToFloat(red_a[lid + h]), w = uintBitsToFloat(red_a[lid]);
            if (v > w || (v == w && red_b[lid + h] < red_b[lid])) {
                red_a[lid] = red_a[lid + h];
                red_b[lid] = red_b[lid + h];
            }
        }
        barrier(); // this level done before the next reads it
    }
    if (lid == 0) {
        // The host's argmax keeps id 0 when logit 0 is NaN (nothing compares greater).
        const bool nan0 = (s[lbase] & 0x7fffffffu) > 0x7f800000u;
        o[pc.out_off + SK_SAMPLE_OUT_ID] = nan0 || red_b[0] == 0xffffffffu ? 0u : red_b[0];
        s_mx = uintBitsToFloat(red_a[0]);
        if (red_a[0] == 0xff800000u) s_flags |= SK_SAMPLE_FLAG_NONFINITE; // every logit -inf
    }
    if (GREEDY) return;
    barrier(); // s_mx, s_flags and the reduction's slot 0 read before they are reused
    const float mx = s_mx;
    if (s_flags != 0u) {
        if (lid == 0) {
            o[pc.out_off + SK_SAMPLE_OUT_N] = 0u;
            o[pc.out_off + SK_SAMPLE_OUT_FLAGS] = s_flags;
        }
        return;
    }

    // 2. Normaliser over the vocabulary.
    if (NEED_SUM) {
        precise float sum = 0.0, comp = 0.0;
        float err = 0.0;
        for (uint i0 = lid; i0 < pc.n; i0 += LOADS * NT) {
            float v[LOADS];
            [[unroll]] for (uint j = 0; j < LOADS; j++) {
                const uint i = i0 + j * NT;
                v[j] = i < pc.n ? uintBitsToFloat(s[lbase + i]) : -1.0 / 0.0;
            }
            [[unroll]] for (uint j = 0; j < LOADS; j++) {
                const float x = (v[j] - mx) / pc.temperature;
                const float e = exp(x);
                if (e > 0.0) {
                    precise float y = e - comp;
                    precise float t = sum + y;
                    comp = (t - sum) - y;
                    sum = t;
                    err += e * -x;
                }
            }
        }
        red_a[lid] = floatBitsToUint(sum - comp);
        red_b[lid] = floatBitsToUint(err);
        barrier(); // per-invocation sums visible
        for (uint h = NT / 2; h > 0; h >>= 1) {
            if (lid < h) {
                red_a[lid] = floatBitsToUint(uintBitsToFloat(red_a[lid]) +
                                             uintBitsToFloat(red_a[lid + h]));
                red_b[lid] = floatBitsToUint(uintBitsToFloat(red_b[lid]) +
                                             uintBitsToFloat(red_b[lid + h]));
            }
            barrier(); // this level done before the next reads it
        }
        if (lid == 0) {
            s_sum = uintBitsToFloat(red_a[0]);
            s_err = uintBitsToFloat(red_b[0]);
        }
    }

    // 3. Radix select of the n_want largest keys.
    if (lid == 0) {
        s_hp = 0u;
        s_hm = 0u;
        s_lp = 0u;
        s_lm = 0u;
        s_need = pc.n_want;
        s_done = 0u;
        s_count = 0u;
    }
    barrier(); // selection state initialised
    for (uint level = 0; level < 7; level++) {
        for (uint i = lid; i < 256 * COPIES; i += NT) hist[i] = 0u;
        const uint hp = s_hp, hm = s_hm, lp = s_lp, lm = s_lm;
        barrier(); // histogram cleared and prefix read by all
        for (uint i0 = lid; i0 < pc.n; i0 += LOADS * NT) {
            uint u[LOADS];
            [[unroll]] for (uint j = 0; j < LOADS; j++) {
                const uint i = i0 + j * NT;
                u[j] = i < pc.n ? s[lbase + i] : 0u;
            }
            [[unroll]] for (uint j = 0; j < LOADS; j++) {
                const uint i = i0 + j * NT;
                const uint hi = order_bits(u[j]), lo = 0xffffffu - i;
                if (i < pc.n && (hi & hm) == hp && (lo & lm) == lp)
                    atomicAdd(hist[digit(hi, lo, level) * COPIES + lid % COPIES], 1u);
            }
        }
        barrier(); // histogram copies complete
        uint total = 0u;
        if (lid < 256)
            for (uint c = 0; c < COPIES; c++) total += hist[lid * COPIES + c];
        barrier(); // every copy read before the totals overwrite the first slots
        if (lid < 256) hist[lid * COPIES] = total;
        barrier(); // bucket totals complete
        if (lid == 0) {
            uint need = s_need, b = 255u;
            while (b > 0u && hist[b * COPIES] < need) {
                need -= hist[b * COPIES];
                b--;
            }
            s_need = need;
            s_done = hist[b * COPIES] == need ? 1u : 0u;
            if (level < 4) {
                s_hm |= 255u << (24 - 8 * level);
                s_hp |= b << (24 - 8 * level);
            } else {
                s_lm |= 255u << (16 - 8 * (level - 4));
                s_lp |= b << (16 - 8 * (level - 4));
            }
        }
        barrier(); // decision visible to all
        if (s_done != 0u) break;
    }

    // Every key at or above the boundary prefix: exactly n_want of them.
    if (lid < CAP) {
        key_hi[lid] = 0u; // padding sorts last
        key_lo[lid] = 0u;
    }
    const uint hp = s_hp, hm = s_hm, lp = s_lp, lm = s_lm;
    barrier(); // padding written before slots are filled
    for (uint i0 = lid; i0 < pc.n; i0 += LOADS * NT) {
        uint u[LOADS];
        [[unroll]] for (uint j = 0; j < LOADS; j++) {
            const uint i = i0 + j * NT;
            u[j] = i < pc.n ? s[lbase + i] : 0u;
        }
        [[unroll]] for (uint j = 0; j < LOADS; j++) {
            const uint i = i0 + j * NT;
            const uint hi = order_bits(u[j]), lo = 0xffffffu - i;
            const uint mh = hi & hm, ml = lo & lm;
            if (i < pc.n && (mh > hp || (mh == hp && ml >= lp))) {
                const uint slot = atomicAdd(s_count, 1u);
                if (slot < CAP) {
                    key_hi[slot] = hi;
                    key_lo[slot] = lo;
                }
            }
        }
    }
    barrier(); // candidates collected

    // 4. Bitonic sort, descending.
    for (uint size = 2; size <= CAP; size <<= 1) {
        for (uint stride = size / 2; stride > 0; stride >>= 1) {
            const uint j = lid ^ stride;
            if (lid < CAP && j > lid) {
                const uint ah = key_hi[lid], al = key_lo[lid], bh = key_hi[j], bl = key_lo[j];
                if (key_less(ah, al, bh, bl) == ((lid & size) == 0)) {
                    key_hi[lid] = bh;
                    key_lo[lid] = bl;
                    key_hi[j] = ah;
                    key_lo[j] = al;
                }
            }
            barrier(); // this compare-exchange step done before the next
        }
    }
    if (lid == 0) {
        uint nw = pc.n_want;
        if (NEED_SUM && pc.top_p > 0.0 && pc.top_p < 1.0) {
            // Aim past the host's top_p * (sum + its bound) so that it rarely falls back.
            const float goal = pc.top_p * (s_sum + (s_sum + s_err) * (1.0 / 65536.0));
            precise float c = 0.0, comp = 0.0;
            for (uint j = 0; j < pc.n_want; j++) {
                precise float y = exp((uintBitsToFloat(from_order_bits(key_hi[j])) - mx) /
                                      pc.temperature) - comp;
                precise float t = c + y;
                comp = (t - c) - y;
                c = t;
                if (c >= goal) {
                    nw = min(pc.n_want, j + 1u + SK_SAMPLE_MARGIN);
                    break;
                }
            }
        }
        s_nw = nw;
        o[pc.out_off + SK_SAMPLE_OUT_N] = nw;
        o[pc.out_off + SK_SAMPLE_OUT_FLAGS] = 0u;
        o[pc.out_off + SK_SAMPLE_OUT_MAX] = floatBitsToUint(mx);
        o[pc.out_off + SK_SAMPLE_OUT_SUM] = floatBitsToUint(NEED_SUM ? s_sum : 0.0);
        o[pc.out_off + SK_SAMPLE_OUT_SUM_ERR] = floatBitsToUint(NEED_SUM ? s_err : 0.0);
    }
    barrier(); // list length decided
    if (lid < s_nw) {
        const uint w = pc.out_off + SK_SAMPLE_OUT_HEADER + 2u * lid;
        o[w] = from_order_bits(key_hi[lid]);
        o[w + 1u] = 0xffffffu - key_lo[lid];
    }
}
