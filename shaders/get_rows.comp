#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/get_rows.h"
// y[t] = table[ids[t]] as f32. One workgroup per id (grid-strided over ids); invocations stride
// along the row (quarter blocks for quantized tables). A split table binds up to 4 parts per
// dispatch (T_PARTS); each dispatch copies only the ids its parts hold.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint T_PARTS = 1;
layout(binding = 0) readonly buffer I { int ids[]; };
#define W_BINDING 1
#define W_PARTS_BINDING 3
#define W_PARTS_COUNT T_PARTS
#include "include/dequant.glsl"
layout(binding = 2) writeonly buffer Y { float y[]; };

void main()
{
    const uint tid = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    for (uint t = gl_WorkGroupID.x; t < pc.T; t += gl_NumWorkGroups.x) {
        const int id = ids[pc.ids_off + t];
        const uint yrow = pc.y_off + t * pc.y_ld;
        if (id < 0 || uint(id) >= pc.V) {
            if (pc.zero_fill != 0u) {
                for (uint i = tid; i < pc.D; i += wg) y[yrow + i] = 0.0;
            }
            continue;
        }
        uint r = uint(id) - pc.row_begin; // wraps to a huge value below row_begin
        if (r >= pc.n_rows) continue;
        uint t_off = pc.t_off;
        if (T_PARTS > 1u) {
            w_part = min(r / pc.part_rows, T_PARTS - 1u);
            r -= w_part * pc.part_rows;
            t_off = w_part == 1u ? pc.t_off1 : w_part == 2u ? pc.t_off2
                  : w_part == 3u ? pc.t_off3 : pc.t_off;
        }
        const uint base = t_off + r * pc.t_ld;
#if W_QUANT
        for (uint u = tid; u < pc.D / 8u; u += wg) {
            const uint blk = u >> 2, sub = u & 3u;
            float v[8];
            w_quarter(base + blk * W_BLOCK_WORDS, sub, v);
            [[unroll]] for (uint j = 0u; j < 8u; j++) {
                y[yrow + blk * 32u + quarter_k(sub, j)] = v[j];
            }
        }
#else
        for (uint i = tid; i < pc.D; i += wg) y[yrow + i] = w_scalar(base + i);
#endif
    }
}
