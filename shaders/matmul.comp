#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "params/matmul.h"
// Tiled GEMM: y[m][n0 + n] = alpha * sum_k A[m][k] W[n][k] + bias (+ y).
// A workgroup computes a BM x BN tile of y; its (BM/TM) x (BN/TN) invocations each own TM x TN
// outputs, spread with a stride of BM/TM rows and BN/TN columns so that neighbouring
// invocations read neighbouring shared-memory words. K advances BK = 32 at a time (one quant
// block): both tiles are staged in shared memory, k-major, with loads coalesced along the
// storage's contiguous dimension and weights dequantized on the way in.
#define BK 32u

layout(local_size_x_id = 0) in; // must equal (BM / TM) * (BN / TN)
layout(constant_id = 1) const bool TRANS_A = false;
layout(constant_id = 2) const bool W_KN = false;
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(constant_id = 4) const bool ACCUMULATE = false;
layout(constant_id = 5) const uint BM = 64;
layout(constant_id = 6) const uint BN = 64;
layout(constant_id = 7) const uint TM = 4;
layout(constant_id = 8) const uint TN = 4;

layout(binding = 0) readonly buffer A { float a[]; };
#define W_BINDING 1
#include "dequant.glsl"
layout(binding = 2) readonly buffer B { float bias[]; };
layout(binding = 3) buffer Y { float y[]; };

// Tiles are k-major with one padding word per k row: the staging stores walk k across
// neighbouring invocations, and without the pad every one of them would hit the same bank.
#define LDA (BM + 1u)
#define LDW (BN + 1u)
shared float As[BK * LDA]; // [k][m]
shared float Ws[BK * LDW]; // [k][n]

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    const uint wg = gl_WorkGroupSize.x;
    const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    const uint tx = tid % (BN / TN), ty = tid / (BN / TN);
    float acc[TM][TN];
    [[unroll]] for (uint i = 0u; i < TM; i++) {
        [[unroll]] for (uint j = 0u; j < TN; j++) acc[i][j] = 0.0;
    }

    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        // A tile; out-of-range elements are zero so the inner loop needs no checks.
        for (uint i = tid; i < BM * BK; i += wg) {
            uint mm, kk;
            if (TRANS_A) { mm = i % BM; kk = i / BM; } else { kk = i % BK; mm = i / BK; }
            const uint m = m0 + mm, k = k0 + kk;
            float v = 0.0;
            if (m < pc.M && k < pc.K) {
                v = TRANS_A ? a[pc.a_off + k * pc.a_ld + m] : a[pc.a_off + m * pc.a_ld + k];
            }
            As[kk * LDA + mm] = v;
        }
#if W_QUANT
        // One quarter block (8 values) per step; K is a multiple of 32, so k0 starts a block.
        for (uint u = tid; u < BN * 4u; u += wg) {
            const uint nn = u >> 2, sub = u & 3u;
            const uint n = min(n0 + nn, pc.N - 1u); // repeated row, discarded at the store
            float v[8];
            w_quarter(pc.w_off + n * pc.w_ld + (k0 / 32u) * W_BLOCK_WORDS, sub, v);
            [[unroll]] for (uint j = 0u; j < 8u; j++) Ws[quarter_k(sub, j) * LDW + nn] = v[j];
        }
#else
        for (uint i = tid; i < BN * BK; i += wg) {
            uint nn, kk;
            if (W_KN) { nn = i % BN; kk = i / BN; } else { kk = i % BK; nn = i / BK; }
            const uint n = n0 + nn, k = k0 + kk;
            float v = 0.0;
            if (n < pc.N && k < pc.K) {
                v = w_scalar(W_KN ? pc.w_off + k * pc.w_ld + n : pc.w_off + n * pc.w_ld + k);
            }
            Ws[kk * LDW + nn] = v;
        }
#endif
        barrier(); // tiles of this K step are complete

        for (uint kk = 0u; kk < BK; kk++) {
            float av[TM], wv[TN];
            [[unroll]] for (uint i = 0u; i < TM; i++) av[i] = As[kk * LDA + ty + i * (BM / TM)];
            [[unroll]] for (uint j = 0u; j < TN; j++) wv[j] = Ws[kk * LDW + tx + j * (BN / TN)];
            [[unroll]] for (uint i = 0u; i < TM; i++) {
                [[unroll]] for (uint j = 0u; j < TN; j++) acc[i][j] = fma(av[i], wv[j], acc[i][j]);
            }
        }
        barrier(); // everyone is done reading the tiles before the next step overwrites them
    }

    [[unroll]] for (uint i = 0u; i < TM; i++) {
        const uint m = m0 + ty + i * (BM / TM);
        if (m >= pc.M) continue;
        [[unroll]] for (uint j = 0u; j < TN; j++) {
            const uint n = n0 + tx + j * (BN / TN);
            if (n >= pc.N) continue;
            float v = pc.alpha * acc[i][j];
            if (HAS_BIAS) v += bias[pc.bias_off + pc.n0 + n];
            const uint yi = pc.y_off + m * pc.y_ld + pc.n0 + n;
            if (ACCUMULATE) v += y[yi];
            y[yi] = v;
        }
    }
}
