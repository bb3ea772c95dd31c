#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/attention_back.h"
// Backward of attention.comp for one head h, recomputing the probabilities from the forward's
// log-sum-exp instead of storing them:
//   P_ij   = exp(scale * q_i.k_j - lse_i)    (0 where the causal or segment rule hides key j)
//   dP_ij  = dy_i.v_j,   delta_i = dy_i.y_i = sum_j P_ij dP_ij
//   dS_ij  = P_ij (dP_ij - delta_i)
//   dq_i = scale * sum_j dS_ij k_j,   dk_j = scale * sum_i dS_ij q_i,   dv_j = sum_i P_ij dy_i
// Three entry kernels (variants: their buffers differ). Every output element is written by one
// invocation that sums in a fixed order, with no atomics, so results repeat bit for bit.
//   DELTA: one invocation per (query, head) forms delta_i.
//   DQ:    workgroup = (block of BQ queries, head); q and dy rows of the block sit in shared
//          memory while key tiles of BK are walked, as in the forward.
//   DKV:   workgroup = (block of BK keys, head); k and v rows of the block sit in shared memory
//          while query tiles of BQ are walked (causal: from the first query that sees the block).
// In each tile the invocations first stride over the (query, key) pairs, each forming one dS
// (and P) from two full dot products; then every row of the block is owned by WG/rows
// invocations, each accumulating every (WG/rows)-th column of that row over the tile.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BQ = 16;     // queries per block (DQ) or tile (DKV)
layout(constant_id = 2) const uint BK = 32;     // keys per tile (DQ) or block (DKV)
layout(constant_id = 3) const uint D_MAX = 128; // largest head_dim this pipeline serves

#include "include/attention_mask.glsl"

#if defined(SK_VARIANT_DELTA)
layout(binding = 0) readonly buffer Y { float y[]; };
layout(binding = 1) readonly buffer DY { float dy[]; };
layout(binding = 2) writeonly buffer DL { float delta[]; };

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    const uint h = gl_WorkGroupID.y;
    if (i >= pc.n_q) return;
    const uint D = pc.head_dim;
    const uint yb = pc.y_off + i * pc.y_stride + h * D;
    const uint gb = pc.dy_off + i * pc.dy_stride + h * D;
    float s = 0.0;
    for (uint d = 0; d < D; d++) s = fma(dy[gb + d], y[yb + d], s);
    delta[pc.delta_off + h * pc.n_q + i] = s;
}

#elif defined(SK_VARIANT_DQ)
layout(binding = 0) readonly buffer Q { float q[]; };
layout(binding = 1) readonly buffer K { float k[]; };
layout(binding = 2) readonly buffer V { float v[]; };
layout(binding = 3) readonly buffer DY { float dy[]; };
layout(binding = 4) readonly buffer L { float lse[]; };
layout(binding = 5) readonly buffer DL { float delta[]; };
layout(binding = 6) writeonly buffer DQ { float dq[]; };

const uint TPQ = gl_WorkGroupSize.x / BQ; // invocations per query row when accumulating
const uint ACC = D_MAX / TPQ;             // columns owned by one invocation

shared float qs[BQ * D_MAX]; // q rows of the block
shared float gs[BQ * D_MAX]; // dy rows of the block
shared float ds[BQ * BK];    // dS of the current key tile
shared float row_lse[BQ];
shared float row_delta[BQ];

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint nt = gl_WorkGroupSize.x;
    const uint q0 = gl_WorkGroupID.x * BQ;
    const uint h = gl_WorkGroupID.y;
    const uint D = pc.head_dim;

    for (uint e = lid; e < BQ * D; e += nt) {
        const uint qq = e / D, d = e - qq * D;
        const uint qi = q0 + qq;
        const bool in_range = qi < pc.n_q;
        qs[qq * D_MAX + d] = in_range ? q[pc.q_off + qi * pc.q_stride + h * D + d] : 0.0;
        gs[qq * D_MAX + d] = in_range ? dy[pc.dy_off + qi * pc.dy_stride + h * D + d] : 0.0;
    }
    if (lid < BQ) {
        const uint qi = q0 + lid;
        row_lse[lid] = qi < pc.n_q ? lse[pc.lse_off + h * pc.n_q + qi] : 0.0;
        row_delta[lid] = qi < pc.n_q ? delta[pc.delta_off + h * pc.n_q + qi] : 0.0;
    }
    uint kv_end = pc.n_kv;
    if (pc.causal != 0) kv_end = min(kv_end, pc.q_pos0 + min(q0 + BQ, pc.n_q));

    const uint my_q = lid / TPQ;
    const uint lane = lid - my_q * TPQ;
    float acc[ACC];
    [[unroll]] for (uint jj = 0; jj < ACC; jj++) acc[jj] = 0.0;
    barrier(); // block rows and row statistics staged

    for (uint k0 = 0; k0 < kv_end; k0 += BK) {
        for (uint p = lid; p < BQ * BK; p += nt) {
            const uint qq = p / BK;
            const uint key = k0 + p - qq * BK;
            float g = 0.0;
            if (key < kv_end && q0 + qq < pc.n_q &&
                (pc.causal == 0 || key <= pc.q_pos0 + q0 + qq) &&
                !seg_hidden(pc.q_pos0 + q0 + qq, key)) {
                const uint kb = pc.k_off + key * pc.k_stride + h * D;
                const uint vb = pc.v_off + key * pc.v_stride + h * D;
                const uint rb = qq * D_MAX;
                float s = 0.0, t = 0.0;
                for (uint d = 0; d < D; d++) {
                    s = fma(qs[rb + d], k[kb + d], s);
                    t = fma(gs[rb + d], v[vb + d], t);
                }
                g = exp(s * pc.scale - row_lse[qq]) * (t - row_delta[qq]);
            }
            ds[p] = g;
        }
        barrier(); // dS of the tile complete
        const uint j_end = min(BK, kv_end - k0);
        [[unroll]] for (uint jj = 0; jj < ACC; jj++) {
            const uint d = lane + jj * TPQ;
            if (d < D) {
                const uint kb = pc.k_off + k0 * pc.k_stride + h * D + d;
                const uint pb = my_q * BK;
                float a = acc[jj];
                for (uint j = 0; j < j_end; j++) a = fma(ds[pb + j], k[kb + j * pc.k_stride], a);
                acc[jj] = a;
            }
        }
        barrier(); // tile consumed before the next overwrites ds
    }

    const uint qi = q0 + my_q;
    if (qi < pc.n_q) {
        const uint ob = pc.dq_off + qi * pc.dq_stride + h * D;
        [[unroll]] for (uint jj = 0; jj < ACC; jj++) {
            const uint d = lane + jj * TPQ;
            if (d < D) dq[ob + d] = acc[jj] * pc.scale;
        }
    }
}

#else // SK_VARIANT_DKV
layout(binding = 0) readonly buffer Q { float q[]; };
layout(binding = 1) readonly buffer K { float k[]; };
layout(binding = 2) readonly buffer V { float v[]; };
layout(binding = 3) readonly buffer DY { float dy[]; };
layout(binding = 4) readonly buffer L { float lse[]; };
layout(binding = 5) readonly buffer DL { float delta[]; };
layout(binding = 6) writeonly buffer DK { float dk[]; };
layout(binding = 7) writeonly buffer DV { float dv[]; };

const uint TPK = gl_WorkGroupSize.x / BK; // invocations per key row when accumulating
const uint ACC = D_MAX / TPK;             // columns owned by one invocation

shared float ks[BK * D_MAX]; // k rows of the block
shared float vs[BK * D_MAX]; // v rows of the block
shared float pt[BK * BQ];    // P of the current query tile, key-major
shared float dst[BK * BQ];   // dS of the current query tile, key-major

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint nt = gl_WorkGroupSize.x;
    const uint k0 = gl_WorkGroupID.x * BK;
    const uint h = gl_WorkGroupID.y;
    const uint D = pc.head_dim;

    for (uint e = lid; e < BK * D; e += nt) {
        const uint kk = e / D, d = e - kk * D;
        const uint key = k0 + kk;
        const bool in_range = key < pc.n_kv;
        ks[kk * D_MAX + d] = in_range ? k[pc.k_off + key * pc.k_stride + h * D + d] : 0.0;
        vs[kk * D_MAX + d] = in_range ? v[pc.v_off + key * pc.v_stride + h * D + d] : 0.0;
    }
    // Query i sees key j when j <= q_pos0 + i: earlier queries see none of this block.
    uint i_begin = 0;
    if (pc.causal != 0 && k0 > pc.q_pos0) i_begin = k0 - pc.q_pos0;

    const uint my_k = lid / TPK;
    const uint lane = lid - my_k * TPK;
    float acc_k[ACC], acc_v[ACC];
    [[unroll]] for (uint jj = 0; jj < ACC; jj++) {
        acc_k[jj] = 0.0;
        acc_v[jj] = 0.0;
    }
    barrier(); // block rows staged

    for (uint i0 = i_begin; i0 < pc.n_q; i0 += BQ) {
        for (uint p = lid; p < BK * BQ; p += nt) {
            const uint kk = p / BQ;
            const uint i = i0 + p - kk * BQ;
            const uint key = k0 + kk;
            float pr = 0.0, g = 0.0;
            if (key < pc.n_kv && i < pc.n_q && (pc.causal == 0 || key <= pc.q_pos0 + i) &&
                !seg_hidden(pc.q_pos0 + i, key)) {
                const uint qb = pc.q_off + i * pc.q_stride + h * D;
                const uint gb = pc.dy_off + i * pc.dy_stride + h * D;
                const uint rb = kk * D_MAX;
                float s = 0.0, t = 0.0;
                for (uint d = 0; d < D; d++) {
                    s = fma(q[qb + d], ks[rb + d], s);
                    t = fma(dy[gb + d], vs[rb + d], t);
                }
                const uint r = pc.lse_off + h * pc.n_q + i;
                pr = exp(s * pc.scale - lse[r]);
                g = pr * (t - delta[pc.delta_off + h * pc.n_q + i]);
            }
            pt[p] = pr;
            dst[p] = g;
        }
        barrier(); // P and dS of the tile complete
        const uint i_cnt = min(BQ, pc.n_q - i0);
        [[unroll]] for (uint jj = 0; jj < ACC; jj++) {
            const uint d = lane + jj * TPK;
            if (d < D) {
                const uint qb = pc.q_off + i0 * pc.q_stride + h * D + d;
                const uint gb = pc.dy_off + i0 * pc.dy_stride + h * D + d;
                const uint pb = my_k * BQ;
                float ak = acc_k[jj], av = acc_v[jj];
                for (uint ii = 0; ii < i_cnt; ii++) {
                    av = fma(pt[pb + ii], dy[gb + ii * pc.dy_stride], av);
                    ak = fma(dst[pb + ii], q[qb + ii * pc.q_stride], ak);
                }
                acc_k[jj] = ak;
                acc_v[jj] = av;
            }
        }
        barrier(); // tile consumed before the next overwrites pt and dst
    }

    const uint key = k0 + my_k;
    if (key < pc.n_kv) {
        const uint kb = pc.dk_off + key * pc.dk_stride + h * D;
        const uint vb = pc.dv_off + key * pc.dv_stride + h * D;
        [[unroll]] for (uint jj = 0; jj < ACC; jj++) {
            const uint d = lane + jj * TPK;
            if (d < D) {
                dk[kb + d] = acc_k[jj] * pc.scale;
                dv[vb + d] = acc_v[jj];
            }
        }
    }
}
#endif
