#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/attention.h"
#include "include/attention_mask.glsl"
// Flash attention for blocks of queries (prefill, vision tower, resampler), with every K and V
// tile read from global memory once per workgroup and staged in shared memory as vec4 rows.
// Workgroup = (BQ queries, head); each query row is owned by TPQ = WG / BQ consecutive
// invocations through the whole tile:
//   1. the K tile is staged; each invocation scores its query against KPT keys (kl, kl + TPQ,
//      ...) with vec4 dot products, and publishes its local max;
//   2. the V tile is staged over the K tile; every owner of a row reads the row's TPQ maxes,
//      so each keeps the running (max, sum) in registers, turns its scores into probabilities
//      and publishes them and its partial sum;
//   3. each invocation accumulates its DPT vec4 columns of the row over the tile.
// Four barriers per tile, no score matrix outside shared memory, and the padded rows
// (one vec4 / one float per row) keep the TPQ owners of a row on distinct banks.
// head_dim must be a multiple of 4 and at most 4 * D4_MAX (the wrapper checks).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BQ = 16;     // queries per workgroup
layout(constant_id = 2) const uint BK = 32;     // keys per tile
layout(constant_id = 3) const uint D4_MAX = 32; // head_dim / 4, at most

#if defined(SK_VARIANT_F16)
#define KV_T float16_t
#else
#define KV_T float
#endif
layout(binding = 0) readonly buffer Q { float q[]; };
layout(binding = 1) readonly buffer K { KV_T k[]; };
layout(binding = 2) readonly buffer V { KV_T v[]; };
layout(binding = 3) writeonly buffer Y { float y[]; };
layout(binding = 4) writeonly buffer L { float lse[]; };
layout(binding = 5) readonly buffer S { int step[]; };

const uint TPQ = gl_WorkGroupSize.x / BQ; // owners of one query row
const uint KPT = BK / TPQ;                // keys scored per invocation
const uint DPT = (D4_MAX + TPQ - 1) / TPQ; // vec4 output columns per invocation
const uint ROW4 = D4_MAX + 1;             // padded row, in vec4
const uint SROW = BK + 1;                 // padded probability row

shared vec4 qs[BQ * ROW4];  // scaled queries of the block
shared vec4 kvs[BK * ROW4]; // K tile, then V tile
shared float ps[BQ * SROW]; // probabilities of the tile
shared float red_m[gl_WorkGroupSize.x];
shared float red_l[gl_WorkGroupSize.x];

vec4 load4_q(uint b) { return vec4(q[b], q[b + 1], q[b + 2], q[b + 3]); }
vec4 load4_k(uint b) { return vec4(float(k[b]), float(k[b + 1]), float(k[b + 2]), float(k[b + 3])); }
vec4 load4_v(uint b) { return vec4(float(v[b]), float(v[b + 1]), float(v[b + 2]), float(v[b + 3])); }

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint nt = gl_WorkGroupSize.x;
    const uint q0 = gl_WorkGroupID.x * BQ;
    const uint h = gl_WorkGroupID.y;
    const uint D = pc.head_dim, D4 = D / 4;
    const uint q_pos0 = pc.use_step != 0 ? uint(step[pc.step_off]) : pc.q_pos0;
    const uint n_kv = pc.use_step != 0 ? uint(step[pc.step_off + 1]) : pc.n_kv;

    for (uint e = lid; e < BQ * D4; e += nt) {
        const uint qq = e / D4, c4 = e - qq * D4;
        const uint qi = q0 + qq;
        qs[qq * ROW4 + c4] =
            qi < pc.n_q ? load4_q(pc.q_off + qi * pc.q_stride + h * D + 4 * c4) * pc.scale
                        : vec4(0.0);
    }
    uint kv_end = n_kv;
    if (pc.causal != 0) kv_end = min(kv_end, q_pos0 + min(q0 + BQ, pc.n_q));

    const uint my_q = lid / TPQ, lane = lid - my_q * TPQ;
    const uint qa = q_pos0 + q0 + my_q; // absolute index of this row's query
    float m = MASKED, l = 0.0;
    vec4 acc[DPT];
    [[unroll]] for (uint jj = 0; jj < DPT; jj++) acc[jj] = vec4(0.0);

    for (uint k0 = 0; k0 < kv_end; k0 += BK) {
        const uint rows = min(BK, kv_end - k0);
        for (uint e = lid; e < BK * D4; e += nt) {
            const uint r = e / D4, c4 = e - r * D4;
            kvs[r * ROW4 + c4] =
                r < rows ? load4_k(pc.k_off + (k0 + r) * pc.k_stride + h * D + 4 * c4) : vec4(0.0);
        }
        barrier(); // queries (first tile) and K tile staged

        float s[KPT];
        [[unroll]] for (uint u = 0; u < KPT; u++) s[u] = 0.0;
        for (uint c4 = 0; c4 < D4; c4++) {
            const vec4 q4 = qs[my_q * ROW4 + c4]; // one query load serves KPT keys
            [[unroll]] for (uint u = 0; u < KPT; u++)
                s[u] += dot(q4, kvs[(lane + u * TPQ) * ROW4 + c4]);
        }
        float m_loc = MASKED;
        [[unroll]] for (uint u = 0; u < KPT; u++) {
            const uint j = lane + u * TPQ, key = k0 + j;
            const bool seen = j < rows && (pc.causal == 0 || key <= qa) && !seg_hidden(qa, key);
            s[u] = seen ? s[u] : MASKED;
            m_loc = max(m_loc, s[u]);
        }
        red_m[lid] = m_loc;
        barrier(); // K tile consumed, local maxes visible

        for (uint e = lid; e < BK * D4; e += nt) {
            const uint r = e / D4, c4 = e - r * D4;
            kvs[r * ROW4 + c4] =
                r < rows ? load4_v(pc.v_off + (k0 + r) * pc.v_stride + h * D + 4 * c4) : vec4(0.0);
        }
        float m_new = m;
        for (uint t = 0; t < TPQ; t++) m_new = max(m_new, red_m[my_q * TPQ + t]);
        const float alpha = exp(m - m_new);
        float l_loc = 0.0;
        [[unroll]] for (uint u = 0; u < KPT; u++) {
            const float p = s[u] > 0.5 * MASKED ? exp(s[u] - m_new) : 0.0;
            ps[my_q * SROW + lane + u * TPQ] = p;
            l_loc += p;
        }
        red_l[lid] = l_loc;
        m = m_new;
        barrier(); // V tile staged, probabilities and partial sums visible

        float l_tile = 0.0;
        for (uint t = 0; t < TPQ; t++) l_tile += red_l[my_q * TPQ + t];
        l = l * alpha + l_tile;
        [[unroll]] for (uint jj = 0; jj < DPT; jj++) acc[jj] *= alpha;
        // Columns past the head width read unused (padded) shared words and are never stored.
        for (uint j = 0; j < rows; j++) {
            const vec4 p = vec4(ps[my_q * SROW + j]); // one load serves DPT columns
            [[unroll]] for (uint jj = 0; jj < DPT; jj++)
                acc[jj] = fma(p, kvs[j * ROW4 + lane + jj * TPQ], acc[jj]);
        }
        barrier(); // tile consumed before the next one is staged
    }

    const uint qi = q0 + my_q;
    if (qi < pc.n_q) {
        const float inv = l > 0.0 ? 1.0 / l : 0.0;
        const uint yb = pc.y_off + qi * pc.y_stride + h * D;
        [[unroll]] for (uint jj = 0; jj < DPT; jj++) {
            const uint c4 = lane + jj * TPQ;
            if (c4 < D4) {
                const vec4 o = acc[jj] * inv;
                y[yb + 4 * c4] = o.x;
                y[yb + 4 * c4 + 1] = o.y;
                y[yb + 4 * c4 + 2] = o.z;
                y[yb + 4 * c4 + 3] = o.w;
            }
        }
        if (pc.has_lse != 0 && lane == 0)
            lse[pc.lse_off + h * pc.n_q + qi] = l > 0.0 ? m + log(l) : -1.0 / 0.0;
    }
}
