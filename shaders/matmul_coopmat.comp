#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_NV_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "include/common.glsl"
#include "include/params/matmul.h"
// GEMM on tensor cores (VK_NV_cooperative_matrix, f16 x f16 -> f32, 16x16x16), for Linear
// weights and untransposed A: y[m][n0 + n] = alpha * sum_k A[m][k] W[n][k] + bias (+ y).
// A workgroup of 4 subgroups of 32 computes a 64 x 64 tile; subgroup (sy, sx) owns the 32 x 32
// quarter at rows 32*sy, columns 32*sx as 2 x 2 accumulator matrices. K advances 32 at a time:
// A is rounded to f16 and W dequantized to f16 on the way into shared memory (the tensor cores
// take f16 operands; sums stay f32). The host picks this kernel only where the device offers
// the f16 16x16x16 shape and subgroups are 32 wide.
#define BM 64u
#define BN 64u
#define BK 32u
#define LDS (BK + 8u) // f16 row stride of the staged tiles: 80 bytes, off the bank period

layout(local_size_x = 128) in;
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(constant_id = 4) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer A { float a[]; };
#define W_BINDING 1
#include "include/dequant.glsl"
layout(binding = 2) readonly buffer B { float bias[]; };
layout(binding = 3) buffer Y { float y[]; };

shared float16_t As[BM * LDS]; // [m][k]
shared float16_t Ws[BN * LDS]; // [n][k]: W^T seen column-major, as the B operand wants it
shared float Cs[BM * BN];      // accumulators on their way to y

#define F16MAT fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define F32MAT fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>

void main()
{
    const uint tid = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    const uint sy = gl_SubgroupID >> 1, sx = gl_SubgroupID & 1u;
    F32MAT acc[2][2];
    [[unroll]] for (uint i = 0u; i < 2u; i++) {
        [[unroll]] for (uint j = 0u; j < 2u; j++) acc[i][j] = F32MAT(0.0);
    }

    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        // A tile, coalesced along k; out-of-range elements are zero.
        for (uint i = tid; i < BM * BK; i += wg) {
            const uint kk = i % BK, mm = i / BK, m = m0 + mm, k = k0 + kk;
            float v = 0.0;
            if (m < pc.M && k < pc.K) v = a[pc.a_off + m * pc.a_ld + k];
            As[mm * LDS + kk] = float16_t(v);
        }
#if W_QUANT
        for (uint u = tid; u < BN * 4u; u += wg) {
            const uint nn = u >> 2, sub = u & 3u;
            const uint n = min(n0 + nn, pc.N - 1u); // repeated row, discarded at the store
            float v[8];
            w_quarter(pc.w_off + n * pc.w_ld + (k0 / 32u) * W_BLOCK_WORDS, sub, v);
            [[unroll]] for (uint j = 0u; j < 8u; j++) {
                Ws[nn * LDS + quarter_k(sub, j)] = float16_t(v[j]);
            }
        }
#else
        for (uint i = tid; i < BN * BK; i += wg) {
            const uint kk = i % BK, nn = i / BK, n = n0 + nn, k = k0 + kk;
            float v = 0.0;
            if (n < pc.N && k < pc.K) v = w_scalar(pc.w_off + n * pc.w_ld + k);
            Ws[nn * LDS + kk] = float16_t(v);
        }
#endif
        barrier(); // tiles of this K step are complete

        [[unroll]] for (uint ks = 0u; ks < BK; ks += 16u) {
            F16MAT am[2], bm[2];
            [[unroll]] for (uint i = 0u; i < 2u; i++) {
                coopMatLoadNV(am[i], As, (32u * sy + 16u * i) * LDS + ks, LDS, false);
                coopMatLoadNV(bm[i], Ws, (32u * sx + 16u * i) * LDS + ks, LDS, true);
            }
            [[unroll]] for (uint i = 0u; i < 2u; i++) {
                [[unroll]] for (uint j = 0u; j < 2u; j++) {
                    acc[i][j] = coopMatMulAddNV(am[i], bm[j], acc[i][j]);
                }
            }
        }
        barrier(); // everyone is done reading the tiles before the next step overwrites them
    }

    [[unroll]] for (uint i = 0u; i < 2u; i++) {
        [[unroll]] for (uint j = 0u; j < 2u; j++) {
            coopMatStoreNV(acc[i][j], Cs, (32u * sy + 16u * i) * BN + 32u * sx + 16u * j, BN,
                           false);
        }
    }
    barrier(); // the whole tile is in Cs
    for (uint i = tid; i < BM * BN; i += wg) {
        const uint mm = i / BN, nn = i % BN, m = m0 + mm, n = n0 + nn;
        if (m < pc.M && n < pc.N) {
            float v = pc.alpha * Cs[i];
            if (HAS_BIAS) v += bias[pc.bias_off + pc.n0 + n];
            const uint yi = pc.y_off + m * pc.y_ld + pc.n0 + n;
            if (ACCUMULATE) v += y[yi];
            y[yi] = v;
        }
    }
}
