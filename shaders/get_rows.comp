#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/get_rows.h"
// y[t] = table[ids[t]] as f32. One workgroup per id (grid-strided over ids); invocations stride
// along the row (quarter blocks for quantized tables). With a split table each part has its own
// dispatch and copies only the ids it holds.
layout(local_size_x_id = 0) in;
layout(binding = 0) readonly buffer I { int ids[]; };
#define W_BINDING 1
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
        const uint r = uint(id) - pc.row_begin; // wraps to a huge value below row_begin
        if (r >= pc.n_rows) continue;
        const uint base = pc.t_off + r * pc.t_ld;
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
