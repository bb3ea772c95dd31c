#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "include/common.glsl"
#include "include/params/matmul.h"
// Quantized GEMV (q8_0 / q4_0 weights, M <= 8): y[m][n0 + n] = alpha * dot(A[m], W[n]) + bias.
// Work is split by subgroups, not workgroups: each subgroup owns ROWS weight rows at a time and
// its lanes walk the rows one whole GGUF block per lane and step, so a subgroup step reads one
// contiguous run of SubgroupSize blocks per row. Dot products reduce with subgroupAdd only: no
// shared memory, no barrier, and a workgroup is just a bundle of independent subgroups.
//
// Why whole blocks: the earlier quarter-block layout spent most of its time on strided scalar
// activation loads (8 per 8 weights, 32 bytes apart across lanes). One block per lane reads its
// 32 activations as 8 contiguous vec4 and reuses them for all ROWS rows, and reads the 18/34-byte
// block through a 32-bit view as 5/9 words instead of 9/17 16-bit loads.

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(constant_id = 4) const bool ACCUMULATE = false;
layout(constant_id = 6) const uint GEMV_M = 1;   // rows of A (= pc.M)
layout(constant_id = 7) const uint ROWS = 2;     // weight rows a subgroup works on at once
layout(constant_id = 8) const uint WG_ROWS = 8;  // weight rows per workgroup (multiple of ROWS)
// A_VEC: A rows start on 16-byte boundaries, so activations are read as vec4.
layout(constant_id = 9) const bool A_VEC = false;
// W32: the weight binding starts on a 4-byte boundary and covers whole 32-bit words.
layout(constant_id = 10) const bool W32 = false;

layout(binding = 0) readonly buffer A { float a[]; };
#define W_BINDING 1
#include "include/dequant.glsl"
layout(binding = 2) readonly buffer B { float bias[]; };
layout(binding = 3) buffer Y { float y[]; };
layout(binding = 4) readonly buffer W32B { uint w32[]; };
layout(binding = 5) readonly buffer A4 { vec4 a4[]; };

#if defined(SK_VARIANT_W_Q8_0)
#define BLK_HW 17u // 16-bit words per block: scale + 32 int8
#else
#define BLK_HW 9u  // scale + 16 bytes of nibble pairs
#endif
#define WIN ((BLK_HW + 2u) / 2u) // 32-bit words covering a block at either 16-bit parity

// The 16-bit words of the block starting at 16-bit word hw0.
void load_block(uint hw0, out uint h[BLK_HW])
{
    if (W32) {
        // Blocks start on any 16-bit word; read the covering 32-bit words and pick halves.
        // The clamp only matters for the last block of a binding (its window may poke one
        // word past the end); the halves taken from a clamped word are never used.
        const uint q = hw0 >> 1u, last = uint(w32.length()) - 1u;
        const bool odd = (hw0 & 1u) != 0u;
        uint win[WIN];
        [[unroll]] for (uint i = 0u; i < WIN; i++) win[i] = w32[min(q + i, last)];
        [[unroll]] for (uint j = 0u; j < BLK_HW; j++) {
            const uint e = win[j >> 1u] >> ((j & 1u) * 16u);
            const uint o = win[(j + 1u) >> 1u] >> (((j + 1u) & 1u) * 16u);
            h[j] = (odd ? o : e) & 0xffffu;
        }
    } else {
        [[unroll]] for (uint j = 0u; j < BLK_HW; j++) h[j] = uint(w[hw0 + j]);
    }
}

// Activations k .. k+31 of row m (k a multiple of 32).
void load_act(uint m, uint k, out float v[32])
{
    const uint base = pc.a_off + m * pc.a_ld + k;
    if (A_VEC) {
        [[unroll]] for (uint i = 0u; i < 8u; i++) {
            const vec4 t = a4[base / 4u + i];
            v[4u * i] = t.x;
            v[4u * i + 1u] = t.y;
            v[4u * i + 2u] = t.z;
            v[4u * i + 3u] = t.w;
        }
    } else {
        [[unroll]] for (uint i = 0u; i < 32u; i++) v[i] = a[base + i];
    }
}

// Dot product of one dequantized block with 32 activations, without the block scale.
float block_dot(const uint h[BLK_HW], const float v[32])
{
    float s = 0.0;
#if defined(SK_VARIANT_W_Q8_0)
    [[unroll]] for (uint j = 0u; j < 16u; j++) {
        const int word = int(h[1u + j]);
        s = fma(float(bitfieldExtract(word, 0, 8)), v[2u * j], s);
        s = fma(float(bitfieldExtract(word, 8, 8)), v[2u * j + 1u], s);
    }
#else
    // Byte i holds element i (low nibble) and i + 16 (high nibble); the -8 offset is applied
    // once per block through the activation sum.
    float asum = 0.0;
    [[unroll]] for (uint j = 0u; j < 8u; j++) {
        const uint word = h[1u + j];
        s = fma(float(word & 15u), v[2u * j], s);
        s = fma(float((word >> 8u) & 15u), v[2u * j + 1u], s);
        s = fma(float((word >> 4u) & 15u), v[16u + 2u * j], s);
        s = fma(float(word >> 12u), v[16u + 2u * j + 1u], s);
        asum += (v[2u * j] + v[2u * j + 1u]) + (v[16u + 2u * j] + v[16u + 2u * j + 1u]);
    }
    s = fma(-8.0, asum, s);
#endif
    return s;
}

void main()
{
    const uint wg = gl_WorkGroupSize.x;
    // Lanes actually present in this subgroup (the last one may be partial).
    const uint sg_lanes = min(gl_SubgroupSize, wg - gl_SubgroupID * gl_SubgroupSize);
    const uint lane = gl_SubgroupInvocationID;
    const uint wg_row0 = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * WG_ROWS;
    const uint n_blocks = pc.K / 32u;

    // Subgroup-uniform loop: subgroups take ROWS rows at a time until the workgroup's are done.
    for (uint rb = gl_SubgroupID * ROWS; rb < WG_ROWS; rb += gl_NumSubgroups * ROWS) {
        const uint row0 = wg_row0 + rb;
        if (row0 >= pc.N) break;
        uint wrow[ROWS];
        [[unroll]] for (uint r = 0u; r < ROWS; r++) {
            // Rows past N repeat row N-1 (discarded at the store) to keep the loop branch-free.
            wrow[r] = pc.w_off + min(row0 + r, pc.N - 1u) * pc.w_ld;
        }
        float acc[GEMV_M * ROWS];
        [[unroll]] for (uint i = 0u; i < GEMV_M * ROWS; i++) acc[i] = 0.0;

        for (uint b = lane; b < n_blocks; b += sg_lanes) {
            uint h[ROWS][BLK_HW];
            float d[ROWS];
            [[unroll]] for (uint r = 0u; r < ROWS; r++) {
                load_block(wrow[r] + b * BLK_HW, h[r]);
                d[r] = unpackHalf2x16(h[r][0]).x;
            }
            [[unroll]] for (uint m = 0u; m < GEMV_M; m++) {
                float v[32];
                load_act(m, b * 32u, v);
                [[unroll]] for (uint r = 0u; r < ROWS; r++) {
                    acc[m * ROWS + r] = fma(d[r], block_dot(h[r], v), acc[m * ROWS + r]);
                }
            }
        }

        [[unroll]] for (uint i = 0u; i < GEMV_M * ROWS; i++) acc[i] = subgroupAdd(acc[i]);
        if (subgroupElect()) {
            [[unroll]] for (uint m = 0u; m < GEMV_M; m++) {
                [[unroll]] for (uint r = 0u; r < ROWS; r++) {
                    const uint n = row0 + r;
                    if (m < pc.M && n < pc.N) {
                        float v = pc.alpha * acc[m * ROWS + r];
                        if (HAS_BIAS) v += bias[pc.bias_off + pc.n0 + n];
                        const uint yi = pc.y_off + m * pc.y_ld + pc.n0 + n;
                        if (ACCUMULATE) v += y[yi];
                        y[yi] = v;
                    }
                }
            }
        }
    }
}
