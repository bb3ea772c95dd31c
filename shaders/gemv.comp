#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : enable
#include "include/common.glsl"
#include "include/params/matmul.h"
// y[m][n0 + n] = alpha * dot(A[m], W[n]) + bias (+ y) for small M (<= GEMV_MAX_M).
// Each workgroup owns GEMV_ROWS consecutive weight rows and every row of A, so each weight is
// read from memory exactly once. Invocations stride along K (consecutive invocations read
// consecutive elements, or consecutive quarter blocks for q8_0/q4_0, dequantized in registers),
// then the partial sums are reduced: subgroupAdd, then across subgroups in shared memory.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool TRANS_A = false;
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(constant_id = 4) const bool ACCUMULATE = false;
layout(constant_id = 5) const bool USE_SUBGROUP = true;
// Rows of A (= pc.M) and weight rows per workgroup, fixed per pipeline so that the
// accumulators stay in registers. Many rows per workgroup suit CPU drivers, where every
// workgroup and barrier is expensive; a few suit GPUs, which want many workgroups.
layout(constant_id = 6) const uint GEMV_M = 1;
layout(constant_id = 7) const uint GEMV_ROWS = 2;
#define N_ACC (GEMV_ROWS * GEMV_M)

layout(binding = 0) readonly buffer A { float a[]; };
#define W_BINDING 1
#define W4_BINDING 4
#include "include/dequant.glsl"
layout(binding = 2) readonly buffer B { float bias[]; };
layout(binding = 3) buffer Y { float y[]; };

// Partial sums [accumulator][slot]; slots are subgroups, or invocations without subgroup ops.
layout(constant_id = 8) const uint RED_SLOTS = 128; // >= workgroup size
// Plain weights whose rows start on 16-byte boundaries (K % 8 == 0) are read 16 bytes per
// invocation and step: far fewer load instructions for the same bytes.
layout(constant_id = 9) const bool W_VEC = false;
// NORM: A's rows are RMSNorm'ed on the fly (the decode fold of ln_1/ln_2/ln_f; not with
// TRANS_A): activations are multiplied by their norm weights, the squares of the raw row are
// summed beside the dot products, and the row's 1/rms scales the result.
layout(constant_id = 10) const bool NORM = false;
layout(binding = 5) readonly buffer G { float gnorm[]; };
// Slots: N_ACC dot products, then GEMV_M sums of squares.
shared float red[(N_ACC + GEMV_M) * RED_SLOTS];

float a_at(uint m, uint k)
{
    return TRANS_A ? a[pc.a_off + k * pc.a_ld + m] : a[pc.a_off + m * pc.a_ld + k];
}

// Activation (m, k) as the dot product uses it; with NORM, its square goes into ss.
float act(uint m, uint k, inout float ss)
{
    const float v = a_at(m, k);
    if (!NORM) return v;
    ss = fma(v, v, ss);
    return v * gnorm[pc.norm_off + k];
}

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    const uint wg = gl_WorkGroupSize.x;
    // Large N needs a 2-D grid (workgroup counts are capped at 65535 per dimension).
    const uint row0 = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * GEMV_ROWS;
    if (row0 >= pc.N) return; // uniform over the workgroup, so the barrier below stays legal
    float acc[N_ACC + GEMV_M]; // the last GEMV_M are NORM's sums of squares
    [[unroll]] for (uint i = 0u; i < N_ACC + GEMV_M; i++) acc[i] = 0.0;

    // Rows past N read row N-1 again (harmless) so the loop has no divergent branches.
    uint wrow[GEMV_ROWS];
    [[unroll]] for (uint r = 0u; r < GEMV_ROWS; r++) {
        wrow[r] = pc.w_off + min(row0 + r, pc.N - 1u) * pc.w_ld;
    }

#if W_QUANT
    const uint n_units = pc.K / 8u;
    for (uint u = tid; u < n_units; u += wg) {
        const uint blk = u >> 2, sub = u & 3u;
        float wv[GEMV_ROWS][8];
        [[unroll]] for (uint r = 0u; r < GEMV_ROWS; r++) {
            w_quarter(wrow[r] + blk * W_BLOCK_WORDS, sub, wv[r]);
        }
        [[unroll]] for (uint m = 0u; m < GEMV_M; m++) {
            [[unroll]] for (uint j = 0u; j < 8u; j++) {
                const float av = act(m, blk * 32u + quarter_k(sub, j), acc[N_ACC + m]);
                [[unroll]] for (uint r = 0u; r < GEMV_ROWS; r++) {
                    acc[m * GEMV_ROWS + r] = fma(av, wv[r][j], acc[m * GEMV_ROWS + r]);
                }
            }
        }
    }
#else
    if (W_VEC) {
        for (uint u = tid; u < pc.K / 8u; u += wg) {
            float wv[GEMV_ROWS][8];
            [[unroll]] for (uint r = 0u; r < GEMV_ROWS; r++) w_eight(wrow[r] + u * 8u, wv[r]);
            [[unroll]] for (uint m = 0u; m < GEMV_M; m++) {
                [[unroll]] for (uint j = 0u; j < 8u; j++) {
                    const float av = act(m, u * 8u + j, acc[N_ACC + m]);
                    [[unroll]] for (uint r = 0u; r < GEMV_ROWS; r++) {
                        acc[m * GEMV_ROWS + r] = fma(av, wv[r][j], acc[m * GEMV_ROWS + r]);
                    }
                }
            }
        }
    } else {
        for (uint k = tid; k < pc.K; k += wg) {
            float wv[GEMV_ROWS];
            [[unroll]] for (uint r = 0u; r < GEMV_ROWS; r++) wv[r] = w_scalar(wrow[r] + k);
            [[unroll]] for (uint m = 0u; m < GEMV_M; m++) {
                const float av = act(m, k, acc[N_ACC + m]);
                [[unroll]] for (uint r = 0u; r < GEMV_ROWS; r++) {
                    acc[m * GEMV_ROWS + r] = fma(av, wv[r], acc[m * GEMV_ROWS + r]);
                }
            }
        }
    }
#endif

    const uint n_sums = NORM ? N_ACC + GEMV_M : N_ACC;
    uint n_parts = wg, slot = tid;
    if (USE_SUBGROUP) {
        [[unroll]] for (uint i = 0u; i < n_sums; i++) acc[i] = subgroupAdd(acc[i]);
        n_parts = gl_NumSubgroups;
        slot = gl_SubgroupID;
        if (subgroupElect()) {
            [[unroll]] for (uint i = 0u; i < n_sums; i++) {
                red[i * RED_SLOTS + slot] = acc[i];
            }
        }
    } else {
        [[unroll]] for (uint i = 0u; i < n_sums; i++) red[i * RED_SLOTS + slot] = acc[i];
    }
    barrier(); // partial sums of every subgroup (or invocation) are in red
    for (uint i = tid; i < N_ACC; i += wg) {
        const uint m = i / GEMV_ROWS, r = i % GEMV_ROWS;
        float s = 0.0;
        for (uint p = 0u; p < n_parts; p++) s += red[i * RED_SLOTS + p];
        if (NORM) {
            float q = 0.0;
            for (uint p = 0u; p < n_parts; p++) q += red[(N_ACC + m) * RED_SLOTS + p];
            s *= inversesqrt(q / float(pc.K) + pc.norm_eps);
        }
        const uint n = row0 + r;
        if (m < pc.M && n < pc.N) {
            float v = pc.alpha * s;
            if (HAS_BIAS) v += bias[pc.bias_off + pc.n0 + n];
            const uint yi = pc.y_off + m * pc.y_ld + pc.n0 + n;
            if (ACCUMULATE) v += y[yi];
            y[yi] = v;
        }
    }
}
