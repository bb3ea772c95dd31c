#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/attention.h"
// Flash-style attention with an online softmax; no score matrix leaves shared memory.
// Workgroup = (block of BQ queries, head). Keys are walked in tiles of BK:
//   1. scores: invocations stride over the BQ x BK (query, key) pairs, each a full dot product,
//      so for decode (BQ = 1) the keys of a tile are spread over the whole workgroup;
//   2. the WG/BQ invocations of each query row reduce the tile's max in shared memory, turn
//      the scores into probabilities and reduce their sum, folding both into the row's running
//      (max, sum);
//   3. accumulate: WG/BQ invocations per query, each owning head_dim/(WG/BQ) output columns.
// The key count and query position can come from a device-side step tensor, so the tile loop
// runs to the replayed n_kv while the grid depends only on queries and heads.
//
// SPLIT variants (decode: one query per workgroup) instead give each subgroup every G-th key:
// the subgroup's lanes split the head dimension, subgroupAdd forms each score, and every
// subgroup keeps its own running (max, sum, acc) without any barrier in the key loop; the G
// partial states are merged in shared memory at the end. They are separate SPIR-V because they
// need subgroup arithmetic, which the tiled path must not require.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BQ = 16;     // queries per workgroup
layout(constant_id = 2) const uint BK = 32;     // keys per tile
layout(constant_id = 3) const uint D_MAX = 128; // largest head_dim this pipeline serves

#if defined(SK_VARIANT_F16) || defined(SK_VARIANT_SPLIT_F16)
#define KV_T float16_t
#else
#define KV_T float
#endif
#if defined(SK_VARIANT_SPLIT_F32) || defined(SK_VARIANT_SPLIT_F16)
#define SPLIT 1
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
layout(binding = 0) readonly buffer Q { float q[]; };
layout(binding = 1) readonly buffer K { KV_T k[]; };
layout(binding = 2) readonly buffer V { KV_T v[]; };
layout(binding = 3) writeonly buffer Y { float y[]; };
layout(binding = 4) writeonly buffer L { float lse[]; };
layout(binding = 5) readonly buffer S { int step[]; };

#include "include/attention_mask.glsl"

#ifndef SPLIT
const uint TPQ = gl_WorkGroupSize.x / BQ; // invocations per query in the accumulate phase
const uint ACC = D_MAX / TPQ;             // output columns owned by one invocation

shared float qs[BQ * D_MAX]; // scaled queries of this block
shared float sc[BQ * BK];    // scores, then probabilities, of the current tile
shared float row_m[BQ];
shared float row_l[BQ];
shared float row_a[BQ];      // rescale factor of the accumulators for this tile
shared float red[gl_WorkGroupSize.x];

// Max (is_max) or sum over the TPQ invocations of each query row; TPQ is a power of two and
// the lanes of one row are contiguous in the workgroup.
float row_reduce(float v, bool is_max)
{
    const uint lid = gl_LocalInvocationID.x;
    red[lid] = v;
    barrier(); // partials visible
    for (uint h = TPQ / 2; h > 0; h >>= 1) {
        if ((lid % TPQ) < h)
            red[lid] = is_max ? max(red[lid], red[lid + h]) : red[lid] + red[lid + h];
        barrier(); // this level done before the next reads it
    }
    const float r = red[lid - lid % TPQ];
    barrier(); // all have read the result before red is reused
    return r;
}

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint nt = gl_WorkGroupSize.x;
    const uint q0 = gl_WorkGroupID.x * BQ;
    const uint h = gl_WorkGroupID.y;
    const uint D = pc.head_dim;
    const uint q_pos0 = pc.use_step != 0 ? uint(step[pc.step_off]) : pc.q_pos0;
    const uint n_kv = pc.use_step != 0 ? uint(step[pc.step_off + 1]) : pc.n_kv;

    for (uint e = lid; e < BQ * D; e += nt) {
        const uint qq = e / D, d = e - qq * D;
        const uint qi = q0 + qq;
        qs[qq * D_MAX + d] = qi < pc.n_q ? q[pc.q_off + qi * pc.q_stride + h * D + d] * pc.scale
                                         : 0.0;
    }
    if (lid < BQ) {
        row_m[lid] = MASKED;
        row_l[lid] = 0.0;
    }
    uint kv_end = n_kv;
    if (pc.causal != 0) kv_end = min(kv_end, q_pos0 + min(q0 + BQ, pc.n_q));

    const uint my_q = lid / TPQ;
    const uint lane = lid - my_q * TPQ;
    float acc[ACC];
    [[unroll]] for (uint jj = 0; jj < ACC; jj++) acc[jj] = 0.0;
    barrier(); // queries and row state initialised

    for (uint k0 = 0; k0 < kv_end; k0 += BK) {
        for (uint p = lid; p < BQ * BK; p += nt) {
            const uint qq = p / BK;
            const uint key = k0 + p - qq * BK;
            float s = MASKED;
            if (key < kv_end && (pc.causal == 0 || key <= q_pos0 + q0 + qq) &&
                !seg_hidden(q_pos0 + q0 + qq, key)) {
                const uint kb = pc.k_off + key * pc.k_stride + h * D;
                const uint qb = qq * D_MAX;
                // Four independent chains keep four loads in flight per invocation.
                vec4 s4 = vec4(0.0);
                uint d = 0;
                for (; d + 4 <= D; d += 4) {
                    s4.x = fma(qs[qb + d], float(k[kb + d]), s4.x);
                    s4.y = fma(qs[qb + d + 1], float(k[kb + d + 1]), s4.y);
                    s4.z = fma(qs[qb + d + 2], float(k[kb + d + 2]), s4.z);
                    s4.w = fma(qs[qb + d + 3], float(k[kb + d + 3]), s4.w);
                }
                for (; d < D; d++) s4.x = fma(qs[qb + d], float(k[kb + d]), s4.x);
                s = (s4.x + s4.y) + (s4.z + s4.w);
            }
            sc[p] = s;
        }
        barrier(); // scores of the tile complete
        {
            float m_tile = MASKED;
            for (uint j = lane; j < BK; j += TPQ) m_tile = max(m_tile, sc[my_q * BK + j]);
            m_tile = row_reduce(m_tile, true);
            const float m_old = row_m[my_q];
            const float m_new = max(m_old, m_tile);
            float l_tile = 0.0;
            for (uint j = lane; j < BK; j += TPQ) {
                const float s = sc[my_q * BK + j];
                const float pj = s > 0.5 * MASKED ? exp(s - m_new) : 0.0;
                sc[my_q * BK + j] = pj;
                l_tile += pj;
            }
            l_tile = row_reduce(l_tile, false);
            if (lane == 0) {
                const float alpha = exp(m_old - m_new);
                row_m[my_q] = m_new;
                row_l[my_q] = row_l[my_q] * alpha + l_tile;
                row_a[my_q] = alpha;
            }
        }
        barrier(); // probabilities and rescale factors ready
        const float alpha = row_a[my_q];
        const uint j_end = min(BK, kv_end - k0);
        [[unroll]] for (uint jj = 0; jj < ACC; jj++) {
            const uint d = lane + jj * TPQ;
            if (d < D) {
                const uint vb = pc.v_off + k0 * pc.v_stride + h * D + d;
                const uint pb = my_q * BK;
                vec4 a4 = vec4(acc[jj] * alpha, 0.0, 0.0, 0.0);
                uint j = 0;
                for (; j + 4 <= j_end; j += 4) {
                    a4.x = fma(sc[pb + j], float(v[vb + j * pc.v_stride]), a4.x);
                    a4.y = fma(sc[pb + j + 1], float(v[vb + (j + 1) * pc.v_stride]), a4.y);
                    a4.z = fma(sc[pb + j + 2], float(v[vb + (j + 2) * pc.v_stride]), a4.z);
                    a4.w = fma(sc[pb + j + 3], float(v[vb + (j + 3) * pc.v_stride]), a4.w);
                }
                for (; j < j_end; j++) a4.x = fma(sc[pb + j], float(v[vb + j * pc.v_stride]), a4.x);
                acc[jj] = (a4.x + a4.y) + (a4.z + a4.w);
            }
        }
        barrier(); // tile consumed before the next overwrites sc
    }

    const uint qi = q0 + my_q;
    if (qi < pc.n_q) {
        const float l = row_l[my_q];
        const float inv = l > 0.0 ? 1.0 / l : 0.0;
        const uint yb = pc.y_off + qi * pc.y_stride + h * D;
        [[unroll]] for (uint jj = 0; jj < ACC; jj++) {
            const uint d = lane + jj * TPQ;
            if (d < D) y[yb + d] = acc[jj] * inv;
        }
        if (pc.has_lse != 0 && lane == 0)
            lse[pc.lse_off + h * pc.n_q + qi] = l > 0.0 ? row_m[my_q] + log(l) : -1.0 / 0.0;
    }
}
#else // SPLIT

// The device's subgroup size (>= 8, checked by the wrapper). With SPIR-V below 1.6 and no
// varying-size flag, gl_SubgroupSize equals it, so D_MAX / SUBGROUP columns per lane suffice.
layout(constant_id = 4) const uint SUBGROUP = 32;
const uint MIN_SUBGROUP = 8;
const uint G_MAX = gl_WorkGroupSize.x / MIN_SUBGROUP;
const uint ACC = D_MAX / SUBGROUP;                 // head columns per lane, at most
layout(constant_id = 5) const uint KU = 4;         // keys in flight per subgroup step

shared float part_m[G_MAX];
shared float part_l[G_MAX];
shared float part_acc[G_MAX * D_MAX];

void main()
{
    const uint qi = gl_WorkGroupID.x;
    const uint h = gl_WorkGroupID.y;
    const uint D = pc.head_dim;
    const uint q_pos0 = pc.use_step != 0 ? uint(step[pc.step_off]) : pc.q_pos0;
    const uint n_kv = pc.use_step != 0 ? uint(step[pc.step_off + 1]) : pc.n_kv;
    const uint n_vis = pc.causal != 0 ? min(n_kv, q_pos0 + qi + 1) : n_kv;
    const uint L = gl_SubgroupSize, lane = gl_SubgroupInvocationID;
    const uint g = gl_SubgroupID, G = gl_NumSubgroups;

    float qr[ACC], acc[ACC];
    [[unroll]] for (uint j = 0; j < ACC; j++) {
        const uint d = lane + j * L;
        qr[j] = d < D ? q[pc.q_off + qi * pc.q_stride + h * D + d] * pc.scale : 0.0;
        acc[j] = 0.0;
    }
    float m = MASKED, l = 0.0;
    // KU keys per step: all their k and v loads are issued before any result is needed, so a
    // subgroup waits for memory once per step rather than twice per key.
    for (uint key0 = g; key0 < n_vis; key0 += KU * G) {
        float kr[KU][ACC], vr[KU][ACC];
        [[unroll]] for (uint u = 0; u < KU; u++) {
            const uint key = min(key0 + u * G, n_vis - 1);
            const uint kb = pc.k_off + key * pc.k_stride + h * D;
            const uint vb = pc.v_off + key * pc.v_stride + h * D;
            [[unroll]] for (uint j = 0; j < ACC; j++) {
                const uint d = lane + j * L;
                kr[u][j] = d < D ? float(k[kb + d]) : 0.0;
                vr[u][j] = d < D ? float(v[vb + d]) : 0.0;
            }
        }
        [[unroll]] for (uint u = 0; u < KU; u++) {
            float part = 0.0;
            [[unroll]] for (uint j = 0; j < ACC; j++) part = fma(qr[j], kr[u][j], part);
            const float sc = subgroupAdd(part);
            // Uniform in the subgroup; a hidden key leaves (m, l, acc) untouched.
            if (key0 + u * G < n_vis && !seg_hidden(q_pos0 + qi, key0 + u * G)) {
                const float m_new = max(m, sc);
                const float alpha = exp(m - m_new);
                const float p = exp(sc - m_new);
                l = l * alpha + p;
                [[unroll]] for (uint j = 0; j < ACC; j++) acc[j] = fma(p, vr[u][j], acc[j] * alpha);
                m = m_new;
            }
        }
    }
    if (lane == 0) {
        part_m[g] = m;
        part_l[g] = l;
    }
    [[unroll]] for (uint j = 0; j < ACC; j++) {
        const uint d = lane + j * L;
        if (d < D) part_acc[g * D_MAX + d] = acc[j];
    }
    barrier(); // every subgroup's partial state visible

    float M = MASKED;
    for (uint i = 0; i < G; i++) M = max(M, part_m[i]);
    float l_sum = 0.0;
    for (uint i = 0; i < G; i++) l_sum += part_l[i] * exp(part_m[i] - M);
    const float inv = l_sum > 0.0 ? 1.0 / l_sum : 0.0;
    for (uint d = gl_LocalInvocationID.x; d < D; d += gl_WorkGroupSize.x) {
        float a = 0.0;
        for (uint i = 0; i < G; i++) a = fma(part_acc[i * D_MAX + d], exp(part_m[i] - M), a);
        y[pc.y_off + qi * pc.y_stride + h * D + d] = a * inv;
    }
    if (pc.has_lse != 0 && gl_LocalInvocationID.x == 0)
        lse[pc.lse_off + h * pc.n_q + qi] = l_sum > 0.0 ? M + log(l_sum) : -1.0 / 0.0;
}
#endif
