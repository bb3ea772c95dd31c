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
// NORM: A's rows are RMSNorm'ed on the fly (the decode fold of ln_1/ln_2/ln_f): each
// activation is multiplied by its norm weight, the subgroup sums the squares of the raw row
// along the way, and the row's 1/rms scales the dot products at the end.
layout(constant_id = 11) const bool NORM = false;
// G_VEC: the norm weights start on a 16-byte boundary of their binding: read as vec4.
layout(constant_id = 12) const bool G_VEC = false;
// W_PARTS (1..4): parts of a split weight bound at once (32-bit views: part 0 at binding 4,
// parts 1..3 at 8..10), so the LM head of a device with a small binding range is still one
// dispatch. Each workgroup stays inside one part, so the part index is workgroup-uniform.
layout(constant_id = 13) const uint W_PARTS = 1;

layout(binding = 0) readonly buffer A { float a[]; };
#define W_BINDING 1
#include "include/dequant.glsl"
layout(binding = 2) readonly buffer B { float bias[]; };
layout(binding = 3) buffer Y { float y[]; };
layout(binding = 4) readonly buffer W32B { uint w32[]; };
layout(binding = 5) readonly buffer A4 { vec4 a4[]; };
layout(binding = 6) readonly buffer G { float gnorm[]; };
layout(binding = 7) readonly buffer G4 { vec4 gnorm4[]; };
layout(binding = 8) readonly buffer W32P1 { uint w32p1[]; };
layout(binding = 9) readonly buffer W32P2 { uint w32p2[]; };
layout(binding = 10) readonly buffer W32P3 { uint w32p3[]; };

#if defined(SK_VARIANT_W_Q8_0)
#define BLK_HW 17u // 16-bit words per block: scale + 32 int8
#else
#define BLK_HW 9u  // scale + 16 bytes of nibble pairs
#endif
#define WIN ((BLK_HW + 2u) / 2u) // 32-bit words covering a block at either 16-bit parity

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

#define GQ_W32 w32
#define GQ_LOAD_BLOCK load_block_p0
#define GQ_ROWS rows_p0
#include "include/gemv_q_rows.glsl"
#define GQ_W32 w32p1
#define GQ_LOAD_BLOCK load_block_p1
#define GQ_ROWS rows_p1
#include "include/gemv_q_rows.glsl"
#define GQ_W32 w32p2
#define GQ_LOAD_BLOCK load_block_p2
#define GQ_ROWS rows_p2
#include "include/gemv_q_rows.glsl"
#define GQ_W32 w32p3
#define GQ_LOAD_BLOCK load_block_p3
#define GQ_ROWS rows_p3
#include "include/gemv_q_rows.glsl"

void main()
{
    uint wg_id = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    // This workgroup's part: its rows n_rows, first output column col0 and weight offset w_off.
    uint n_rows = pc.N, col0 = pc.n0, w_off = pc.w_off, part = 0u;
    if (W_PARTS > 1u) {
        part = min(wg_id / pc.part_groups, W_PARTS - 1u);
        wg_id -= part * pc.part_groups;
        const uint first = part * pc.part_rows;
        if (first >= pc.N) return;
        n_rows = min(pc.part_rows, pc.N - first);
        col0 += first;
        w_off = part == 1u ? pc.w_off1 : part == 2u ? pc.w_off2 : part == 3u ? pc.w_off3
                                                                            : pc.w_off;
    }
    const uint wg_row0 = wg_id * WG_ROWS;

    // One copy of the row loop per part, so that each reads its own binding without a branch
    // per load (CPU drivers may not see that the part is uniform over the workgroup).
    if (W_PARTS > 1u && part == 1u) {
        rows_p1(wg_row0, n_rows, col0, w_off);
    } else if (W_PARTS > 2u && part == 2u) {
        rows_p2(wg_row0, n_rows, col0, w_off);
    } else if (W_PARTS > 3u && part == 3u) {
        rows_p3(wg_row0, n_rows, col0, w_off);
    } else {
        rows_p0(wg_row0, n_rows, col0, w_off);
    }
}
