#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/topk.h"
// One workgroup selects the k largest of one row by radix select over a 56-bit key
// (order-preserving value bits, then 0xffffff - index so that lower indices rank higher on ties:
// every key is distinct and the k-th key is an exact threshold). Each pass histograms one byte
// of the keys that still match the chosen prefix; it stops as soon as the chosen bucket is taken
// whole. The k selected keys are then bitonic-sorted in shared memory by the first 256
// invocations. The histogram has COPIES private copies (invocation i counts into copy
// i % COPIES) because the leading bytes of real logits fall into a handful of buckets and one
// copy would serialise the atomics. A single workgroup cannot hide memory latency with one load
// in flight per invocation, so each invocation issues LOADS independent loads per step.
layout(local_size_x = 1024) in;
const uint NT = gl_WorkGroupSize.x;
const uint COPIES = 16;
const uint LOADS = 4;
const uint K_MAX = 256;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer V { float values[]; };
layout(binding = 2) writeonly buffer I { int indices[]; };

shared uint hist[256 * COPIES];
shared uint s_hp, s_hm, s_lp, s_lm, s_need, s_done, s_count;
shared uint key_hi[K_MAX];
shared uint key_lo[K_MAX];

uint order_bits(float v)
{
    const uint u = v == 0.0 ? 0u : floatBitsToUint(v); // -0 ranks as +0, as in the reference
    return (u & 0x80000000u) != 0u ? ~u : (u | 0x80000000u);
}

float from_order_bits(uint k)
{
    return uintBitsToFloat((k & 0x80000000u) != 0u ? (k & 0x7fffffffu) : ~k);
}

uint digit(uint hi, uint lo, uint level)
{
    return level < 4 ? (hi >> (24 - 8 * level)) & 255u : (lo >> (16 - 8 * (level - 4))) & 255u;
}

bool key_greater(uint ah, uint al, uint bh, uint bl) { return ah > bh || (ah == bh && al > bl); }

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint kk = min(pc.k, pc.n);
    if (lid == 0) {
        s_hp = 0; s_hm = 0; s_lp = 0; s_lm = 0;
        s_need = kk;
        s_done = 0;
        s_count = 0;
    }
    barrier(); // shared state initialised
    for (uint level = 0; level < 7; level++) {
        for (uint i = lid; i < 256 * COPIES; i += NT) hist[i] = 0;
        const uint hp = s_hp, hm = s_hm, lp = s_lp, lm = s_lm;
        barrier(); // histogram cleared and prefix read by all
        for (uint i0 = lid; i0 < pc.n; i0 += LOADS * NT) {
            float v[LOADS];
            [[unroll]] for (uint j = 0; j < LOADS; j++) {
                const uint i = i0 + j * NT;
                v[j] = i < pc.n ? x[pc.x_off + i] : 0.0;
            }
            [[unroll]] for (uint j = 0; j < LOADS; j++) {
                const uint i = i0 + j * NT;
                const uint hi = order_bits(v[j]);
                const uint lo = 0xffffffu - i;
                if (i < pc.n && (hi & hm) == hp && (lo & lm) == lp)
                    atomicAdd(hist[digit(hi, lo, level) * COPIES + lid % COPIES], 1u);
            }
        }
        barrier(); // histogram copies complete
        uint total = 0;
        if (lid < 256)
            for (uint c = 0; c < COPIES; c++) total += hist[lid * COPIES + c];
        barrier(); // every copy read before the totals overwrite the first slots
        if (lid < 256) hist[lid * COPIES] = total;
        barrier(); // bucket totals complete
        if (lid == 0) {
            uint need = s_need, b = 255;
            for (;; b--) {
                if (hist[b * COPIES] >= need || b == 0) break;
                need -= hist[b * COPIES];
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
        if (s_done != 0) break;
    }
    // Collect every key at or above the threshold prefix: exactly min(k, n) of them.
    if (lid < K_MAX) {
        key_hi[lid] = 0;
        key_lo[lid] = 0;
    }
    const uint hp = s_hp, hm = s_hm, lp = s_lp, lm = s_lm;
    barrier(); // padding written before slots are filled
    for (uint i0 = lid; i0 < pc.n; i0 += LOADS * NT) {
        float v[LOADS];
        [[unroll]] for (uint j = 0; j < LOADS; j++) {
            const uint i = i0 + j * NT;
            v[j] = i < pc.n ? x[pc.x_off + i] : 0.0;
        }
        [[unroll]] for (uint j = 0; j < LOADS; j++) {
            const uint i = i0 + j * NT;
            const uint hi = order_bits(v[j]);
            const uint lo = 0xffffffu - i;
            const uint mh = hi & hm, ml = lo & lm;
            if (i < pc.n && (mh > hp || (mh == hp && ml >= lp))) {
                const uint slot = atomicAdd(s_count, 1u);
                if (slot < K_MAX) {
                    key_hi[slot] = hi;
                    key_lo[slot] = lo;
                }
            }
        }
    }
    barrier(); // candidates written
    for (uint size = 2; size <= K_MAX; size <<= 1) {
        for (uint stride = size / 2; stride > 0; stride >>= 1) {
            const uint j = lid ^ stride;
            if (lid < K_MAX && j > lid) {
                const bool desc = (lid & size) == 0;
                const uint ah = key_hi[lid], al = key_lo[lid], bh = key_hi[j], bl = key_lo[j];
                if (key_greater(bh, bl, ah, al) == desc) {
                    key_hi[lid] = bh; key_lo[lid] = bl;
                    key_hi[j] = ah; key_lo[j] = al;
                }
            }
            barrier(); // this compare-exchange step done before the next
        }
    }
    if (lid < kk) {
        values[pc.v_off + lid] = from_order_bits(key_hi[lid]);
        indices[pc.i_off + lid] = int(0xffffffu - key_lo[lid]);
    }
}
