// The row loop of gemv_q.comp for one weight part: included once per part with GQ_W32 (the
// part's 32-bit view), GQ_LOAD_BLOCK and GQ_ROWS (the names of the functions it defines).

// The 16-bit words of the block starting at 16-bit word hw0 (last: the binding's last word).
void GQ_LOAD_BLOCK(uint hw0, uint last, out uint h[BLK_HW])
{
    if (W32) {
        // Blocks start on any 16-bit word; read the covering 32-bit words and pick halves.
        // The clamp only matters for the last block of a binding (its window may poke one
        // word past the end); the halves taken from a clamped word are never used.
        const uint q = hw0 >> 1u;
        const bool odd = (hw0 & 1u) != 0u;
        uint win[WIN];
        [[unroll]] for (uint i = 0u; i < WIN; i++) win[i] = GQ_W32[min(q + i, last)];
        [[unroll]] for (uint j = 0u; j < BLK_HW; j++) {
            const uint e = win[j >> 1u] >> ((j & 1u) * 16u);
            const uint o = win[(j + 1u) >> 1u] >> (((j + 1u) & 1u) * 16u);
            h[j] = (odd ? o : e) & 0xffffu;
        }
    } else {
        [[unroll]] for (uint j = 0u; j < BLK_HW; j++) h[j] = uint(w[hw0 + j]);
    }
}

// Rows [wg_row0, wg_row0 + WG_ROWS) of a part of n_rows rows at weight offset w_off, written
// to output columns col0 + row.
void GQ_ROWS(uint wg_row0, uint n_rows, uint col0, uint w_off)
{
    const uint wg = gl_WorkGroupSize.x;
    // Lanes actually present in this subgroup (the last one may be partial).
    const uint sg_lanes = min(gl_SubgroupSize, wg - gl_SubgroupID * gl_SubgroupSize);
    const uint lane = gl_SubgroupInvocationID;
    const uint n_blocks = pc.K / 32u;
    const uint last = uint(GQ_W32.length()) - 1u;

    // Subgroup-uniform loop: subgroups take ROWS rows at a time until the workgroup's are done.
    for (uint rb = gl_SubgroupID * ROWS; rb < WG_ROWS; rb += gl_NumSubgroups * ROWS) {
        const uint row0 = wg_row0 + rb;
        if (row0 >= n_rows) break;
        uint wrow[ROWS];
        [[unroll]] for (uint r = 0u; r < ROWS; r++) {
            // Rows past N repeat row N-1 (discarded at the store) to keep the loop branch-free.
            wrow[r] = w_off + min(row0 + r, n_rows - 1u) * pc.w_ld;
        }
        float acc[GEMV_M * ROWS];
        [[unroll]] for (uint i = 0u; i < GEMV_M * ROWS; i++) acc[i] = 0.0;
        float ss[GEMV_M];
        [[unroll]] for (uint m = 0u; m < GEMV_M; m++) ss[m] = 0.0;

        for (uint b = lane; b < n_blocks; b += sg_lanes) {
            uint h[ROWS][BLK_HW];
            float d[ROWS];
            [[unroll]] for (uint r = 0u; r < ROWS; r++) {
                GQ_LOAD_BLOCK(wrow[r] + b * BLK_HW, last, h[r]);
                d[r] = unpackHalf2x16(h[r][0]).x;
            }
            [[unroll]] for (uint m = 0u; m < GEMV_M; m++) {
                float v[32];
                load_act(m, b * 32u, v);
                if (NORM) {
                    [[unroll]] for (uint i = 0u; i < 32u; i++) ss[m] = fma(v[i], v[i], ss[m]);
                    const uint g0 = pc.norm_off + b * 32u;
                    if (G_VEC) {
                        [[unroll]] for (uint i = 0u; i < 8u; i++) {
                            const vec4 g = gnorm4[g0 / 4u + i];
                            v[4u * i] *= g.x;
                            v[4u * i + 1u] *= g.y;
                            v[4u * i + 2u] *= g.z;
                            v[4u * i + 3u] *= g.w;
                        }
                    } else {
                        [[unroll]] for (uint i = 0u; i < 32u; i++) v[i] *= gnorm[g0 + i];
                    }
                }
                [[unroll]] for (uint r = 0u; r < ROWS; r++) {
                    acc[m * ROWS + r] = fma(d[r], block_dot(h[r], v), acc[m * ROWS + r]);
                }
            }
        }

        [[unroll]] for (uint i = 0u; i < GEMV_M * ROWS; i++) acc[i] = subgroupAdd(acc[i]);
        if (NORM) {
            [[unroll]] for (uint m = 0u; m < GEMV_M; m++) {
                const float inv = inversesqrt(subgroupAdd(ss[m]) / float(pc.K) + pc.norm_eps);
                [[unroll]] for (uint r = 0u; r < ROWS; r++) acc[m * ROWS + r] *= inv;
            }
        }
        if (subgroupElect()) {
            [[unroll]] for (uint m = 0u; m < GEMV_M; m++) {
                [[unroll]] for (uint r = 0u; r < ROWS; r++) {
                    const uint n = row0 + r;
                    if (m < pc.M && n < n_rows) {
                        float v = pc.alpha * acc[m * ROWS + r];
                        if (HAS_BIAS) v += bias[pc.bias_off + col0 + n];
                        const uint yi = pc.y_off + m * pc.y_ld + col0 + n;
                        if (ACCUMULATE) v += y[yi];
                        y[yi] = v;
                    }
                }
            }
        }
    }
}

#undef GQ_W32
#undef GQ_LOAD_BLOCK
#undef GQ_ROWS
