// Tiled GEMM: y[m][n0 + n] = alpha * sum_k A[m][k] W[n][k] + bias (+ y).
// A workgroup computes a BM x BN tile of y; its (BM/TM) x (BN/TN) invocations each own TM x TN
// outputs, taken as TM/4 x TN/4 groups of 4 x 4: group (g, h) covers rows g*(BM/(TM/4)) + 4*ty
// and columns h*(BN/(TN/4)) + 4*tx. Neighbouring invocations so read neighbouring 16-byte words
// of the shared tiles, one vec4 load per 4 values (conflict-free, and 4x fewer shared loads than
// scalar reads), which is what lets the FMAs, not the shared-memory port, set the pace.
// W_KN reads W stored [K rows, N] instead; quantized blocks then run along n (N % 32 == 0).
// K advances BK = 32 at a time (one quant block of a Linear weight). Both tiles are staged
// k-major in shared memory; the global loads of step k+1 are issued into registers before step
// k's arithmetic, so their latency hides behind it (a second shared-memory buffer would not fit
// 48 KiB at 128 x 128).
// Included by matmul.comp and matmul_f16.comp. With F16_ARITH the tiles are staged as f16 and
// each K step's 32 products are summed in f16 (half the shared memory, and the f16 rate on GPUs
// that have one), then added into the f32 accumulators: inputs are rounded to f16 and a step's
// partial sum carries f16 rounding, so it is for values that fit f16 (see matmul.c).
#define BK 32u

layout(local_size_x_id = 0) in; // must equal (BM / TM) * (BN / TN)
layout(constant_id = 1) const bool TRANS_A = false;
layout(constant_id = 2) const bool W_KN = false;
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(constant_id = 4) const bool ACCUMULATE = false;
layout(constant_id = 5) const uint BM = 64;
layout(constant_id = 6) const uint BN = 64;
layout(constant_id = 7) const uint TM = 4; // multiple of 4
layout(constant_id = 8) const uint TN = 4; // multiple of 4
// A_VEC: A rows (not transposed) start on 16-byte boundaries and K % 4 == 0: vec4 loads.
layout(constant_id = 9) const bool A_VEC = false;
// W_VEC: f16/bf16 Linear weights with rows on 16-byte boundaries and K % 8 == 0: 8 per load.
layout(constant_id = 10) const bool W_VEC = false;

layout(binding = 0) readonly buffer A { float a[]; };
#define W_BINDING 1
#define W4_BINDING 4
#include "include/dequant.glsl"
layout(binding = 2) readonly buffer B { float bias[]; };
layout(binding = 3) buffer Y { float y[]; };
layout(binding = 5) readonly buffer A4 { vec4 a4[]; };

// k-major tiles; rows padded by 4 floats to keep vec4 alignment while spreading the staging
// stores (which walk k across neighbouring invocations) over more banks.
#define LDA (BM + 4u)
#define LDW (BN + 4u)
#if F16_ARITH
#define TILE_VEC f16vec4
#define TILE_SCALAR float16_t
#else
#define TILE_VEC vec4
#define TILE_SCALAR float
#endif
shared TILE_VEC As4[BK * LDA / 4u]; // [k][m]
shared TILE_VEC Ws4[BK * LDW / 4u]; // [k][n]

// Values each invocation stages per K step (the local size divides both tile sizes).
#define A_PER (BM * BK / gl_WorkGroupSize.x)
#define W_PER (BN * BK / gl_WorkGroupSize.x)
float ra[A_PER];
float rw[W_PER];

void st_a(uint kk, uint mm, float v) { As4[(kk * LDA + mm) / 4u][mm & 3u] = TILE_SCALAR(v); }
void st_w(uint kk, uint nn, float v) { Ws4[(kk * LDW + nn) / 4u][nn & 3u] = TILE_SCALAR(v); }

// Where staged value i of this invocation sits in its tile, shared by the global loads into
// registers and the stores from registers into shared memory. Scalar A element: (mm, kk).
uvec2 a_elem(uint i)
{
    const uint e = gl_LocalInvocationID.x + i * gl_WorkGroupSize.x;
    return TRANS_A ? uvec2(e % BM, e / BM) : uvec2(e / BK, e % BK);
}
// Scalar W element: (nn, kk).
uvec2 w_elem(uint i)
{
    const uint e = gl_LocalInvocationID.x + i * gl_WorkGroupSize.x;
    return W_KN ? uvec2(e % BN, e / BN) : uvec2(e / BK, e % BK);
}
// Group i of `per` consecutive k values along a row (vec4 A, 8-value W): (row, first kk).
uvec2 row_group(uint i, uint per)
{
    const uint u = gl_LocalInvocationID.x + i * gl_WorkGroupSize.x;
    return uvec2(u / (BK / per), (u % (BK / per)) * per);
}
// Quarter block i of a quantized W_KN tile: (32-column block nb, kk, quarter).
uvec3 kn_quarter(uint i)
{
    const uint u = gl_LocalInvocationID.x + i * gl_WorkGroupSize.x;
    return uvec3((u >> 2) % (BN / 32u), (u >> 2) / (BN / 32u), u & 3u);
}
// Quarter block i of a quantized Linear tile: (row nn, quarter).
uvec2 nk_quarter(uint i)
{
    const uint u = gl_LocalInvocationID.x + i * gl_WorkGroupSize.x;
    return uvec2(u >> 2, u & 3u);
}

// Global -> registers for the K step at k0. Out-of-range elements are zero, so the arithmetic
// needs no checks.
void load_a(uint m0, uint k0)
{
    if (A_VEC) {
        // 8 invocations cover one 32-float row segment: 128-byte coalesced reads.
        [[unroll]] for (uint i = 0u; i < A_PER / 4u; i++) {
            const uvec2 g = row_group(i, 4u);
            const uint m = m0 + g.x, kk = g.y;
            vec4 v = vec4(0.0);
            if (m < pc.M && k0 + kk < pc.K) v = a4[(pc.a_off + m * pc.a_ld + k0 + kk) / 4u];
            ra[4u * i] = v.x;
            ra[4u * i + 1u] = v.y;
            ra[4u * i + 2u] = v.z;
            ra[4u * i + 3u] = v.w;
        }
    } else {
        [[unroll]] for (uint i = 0u; i < A_PER; i++) {
            const uvec2 el = a_elem(i);
            const uint m = m0 + el.x, k = k0 + el.y;
            float v = 0.0;
            if (m < pc.M && k < pc.K) {
                v = TRANS_A ? a[pc.a_off + k * pc.a_ld + m] : a[pc.a_off + m * pc.a_ld + k];
            }
            ra[i] = v;
        }
    }
}

void store_a()
{
    if (A_VEC) {
        [[unroll]] for (uint i = 0u; i < A_PER / 4u; i++) {
            const uvec2 g = row_group(i, 4u);
            [[unroll]] for (uint c = 0u; c < 4u; c++) st_a(g.y + c, g.x, ra[4u * i + c]);
        }
    } else {
        [[unroll]] for (uint i = 0u; i < A_PER; i++) {
            const uvec2 el = a_elem(i);
            st_a(el.y, el.x, ra[i]);
        }
    }
}

void load_w(uint n0, uint k0)
{
#if W_QUANT
    if (W_KN) {
        // Blocks run along n here: a unit is a quarter of the block at (row k, columns
        // n0 + 32 nb ..), four neighbouring invocations per block. N % 32 == 0 and BN % 32 == 0
        // make every block wholly inside or outside the tile; K needs no such alignment.
        [[unroll]] for (uint i = 0u; i < W_PER / 8u; i++) {
            const uvec3 q = kn_quarter(i);
            const uint n = n0 + q.x * 32u, k = k0 + q.y;
            float v[8];
            if (n < pc.N && k < pc.K) {
                w_quarter(pc.w_off + k * pc.w_ld + (n / 32u) * W_BLOCK_WORDS, q.z, v);
            } else {
                [[unroll]] for (uint j = 0u; j < 8u; j++) v[j] = 0.0;
            }
            [[unroll]] for (uint j = 0u; j < 8u; j++) rw[8u * i + j] = v[j];
        }
    } else {
        // One quarter block (8 values) per unit; K is a multiple of 32, so k0 starts a block.
        [[unroll]] for (uint i = 0u; i < W_PER / 8u; i++) {
            const uvec2 q = nk_quarter(i);
            const uint n = min(n0 + q.x, pc.N - 1u); // repeated row, discarded at the store
            float v[8];
            w_quarter(pc.w_off + n * pc.w_ld + (k0 / 32u) * W_BLOCK_WORDS, q.y, v);
            [[unroll]] for (uint j = 0u; j < 8u; j++) rw[8u * i + j] = v[j];
        }
    }
#else
    if (W_VEC) {
        [[unroll]] for (uint i = 0u; i < W_PER / 8u; i++) {
            const uvec2 g = row_group(i, 8u);
            const uint n = n0 + g.x, kk = g.y;
            float v[8];
            if (n < pc.N && k0 + kk < pc.K) {
                w_eight(pc.w_off + n * pc.w_ld + k0 + kk, v);
            } else {
                [[unroll]] for (uint j = 0u; j < 8u; j++) v[j] = 0.0;
            }
            [[unroll]] for (uint j = 0u; j < 8u; j++) rw[8u * i + j] = v[j];
        }
    } else {
        [[unroll]] for (uint i = 0u; i < W_PER; i++) {
            const uvec2 el = w_elem(i);
            const uint n = n0 + el.x, k = k0 + el.y;
            float v = 0.0;
            if (n < pc.N && k < pc.K) {
                v = w_scalar(W_KN ? pc.w_off + k * pc.w_ld + n : pc.w_off + n * pc.w_ld + k);
            }
            rw[i] = v;
        }
    }
#endif
}

void store_w()
{
#if W_QUANT
    if (W_KN) {
        [[unroll]] for (uint i = 0u; i < W_PER / 8u; i++) {
            const uvec3 q = kn_quarter(i);
            [[unroll]] for (uint j = 0u; j < 8u; j++)
                st_w(q.y, q.x * 32u + quarter_k(q.z, j), rw[8u * i + j]);
        }
    } else {
        [[unroll]] for (uint i = 0u; i < W_PER / 8u; i++) {
            const uvec2 q = nk_quarter(i);
            [[unroll]] for (uint j = 0u; j < 8u; j++) st_w(quarter_k(q.y, j), q.x, rw[8u * i + j]);
        }
    }
#else
    if (W_VEC) {
        [[unroll]] for (uint i = 0u; i < W_PER / 8u; i++) {
            const uvec2 g = row_group(i, 8u);
            [[unroll]] for (uint j = 0u; j < 8u; j++) st_w(g.y + j, g.x, rw[8u * i + j]);
        }
    } else {
        [[unroll]] for (uint i = 0u; i < W_PER; i++) {
            const uvec2 el = w_elem(i);
            st_w(el.y, el.x, rw[i]);
        }
    }
#endif
}

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    const uint tx = tid % (BN / TN), ty = tid / (BN / TN);
    // Group strides: TM/4 groups of 4 rows spread BM/(TM/4) apart (likewise for columns).
    const uint GM = TM / 4u, GN = TN / 4u;
    const uint SM = BM / GM, SN = BN / GN;
    vec4 acc[TM][TN / 4u];
    [[unroll]] for (uint i = 0u; i < TM; i++) {
        [[unroll]] for (uint j = 0u; j < TN / 4u; j++) acc[i][j] = vec4(0.0);
    }

    load_a(m0, 0u);
    load_w(n0, 0u);
    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        store_a();
        store_w();
        barrier(); // tiles of this K step are complete
        if (k0 + BK < pc.K) {
            // Next step's global reads are in flight during this step's arithmetic.
            load_a(m0, k0 + BK);
            load_w(n0, k0 + BK);
        }
#if F16_ARITH
        f16vec4 acc16[TM][TN / 4u]; // this K step's sums
        [[unroll]] for (uint i = 0u; i < TM; i++) {
            [[unroll]] for (uint j = 0u; j < TN / 4u; j++) acc16[i][j] = f16vec4(0.0);
        }
#endif
        [[unroll]] for (uint kk = 0u; kk < BK; kk++) {
            TILE_VEC av[TM / 4u], wv[TN / 4u];
            [[unroll]] for (uint g = 0u; g < GM; g++) av[g] = As4[(kk * LDA + g * SM) / 4u + ty];
            [[unroll]] for (uint h = 0u; h < GN; h++) wv[h] = Ws4[(kk * LDW + h * SN) / 4u + tx];
            [[unroll]] for (uint g = 0u; g < GM; g++) {
                [[unroll]] for (uint c = 0u; c < 4u; c++) {
                    [[unroll]] for (uint h = 0u; h < GN; h++) {
#if F16_ARITH
                        acc16[g * 4u + c][h] =
                            fma(f16vec4(av[g][c]), wv[h], acc16[g * 4u + c][h]);
#else
                        acc[g * 4u + c][h] = fma(vec4(av[g][c]), wv[h], acc[g * 4u + c][h]);
#endif
                    }
                }
            }
        }
#if F16_ARITH
        [[unroll]] for (uint i = 0u; i < TM; i++) {
            [[unroll]] for (uint j = 0u; j < TN / 4u; j++) acc[i][j] += vec4(acc16[i][j]);
        }
#endif
        barrier(); // everyone is done reading the tiles before the next step overwrites them
    }

    [[unroll]] for (uint g = 0u; g < GM; g++) {
        [[unroll]] for (uint c = 0u; c < 4u; c++) {
            const uint m = m0 + g * SM + 4u * ty + c;
            if (m >= pc.M) continue;
            [[unroll]] for (uint h = 0u; h < GN; h++) {
                [[unroll]] for (uint d = 0u; d < 4u; d++) {
                    const uint n = n0 + h * SN + 4u * tx + d;
                    if (n >= pc.N) continue;
                    float v = pc.alpha * acc[g * 4u + c][h][d];
                    if (HAS_BIAS) v += bias[pc.bias_off + pc.n0 + n];
                    const uint yi = pc.y_off + m * pc.y_ld + pc.n0 + n;
                    if (ACCUMULATE) v += y[yi];
                    y[yi] = v;
                }
            }
        }
    }
}
