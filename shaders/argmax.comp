#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/argmax.h"
// One workgroup per row (grid-strided): each invocation keeps the best (value, index) of its
// strided columns, then a shared-memory tree picks the larger value, the lower index on ties.
layout(local_size_x_id = 0) in;
const uint LOADS = 4;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { int y[]; };

shared float red_v[gl_WorkGroupSize.x];
shared uint red_i[gl_WorkGroupSize.x];

bool better(float v, uint i, float bv, uint bi) { return v > bv || (v == bv && i < bi); }

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint nt = gl_WorkGroupSize.x;
    for (uint r = gl_WorkGroupID.x; r < pc.n_rows; r += gl_NumWorkGroups.x) {
        const uint xb = pc.x_off + r * pc.x_stride;
        float bv = -1.0 / 0.0;
        uint bi = 0xffffffffu;
        // LOADS independent loads per step keep enough memory requests in flight for a single
        // workgroup to stream a vocabulary-sized row.
        for (uint i0 = lid; i0 < pc.n_cols; i0 += LOADS * nt) {
            float v[LOADS];
            [[unroll]] for (uint j = 0; j < LOADS; j++) {
                const uint i = i0 + j * nt;
                v[j] = i < pc.n_cols ? x[xb + i] : 0.0;
            }
            [[unroll]] for (uint j = 0; j < LOADS; j++) {
                const uint i = i0 + j * nt;
                if (i < pc.n_cols && better(v[j], i, bv, bi)) { bv = v[j]; bi = i; }
            }
        }
        red_v[lid] = bv;
        red_i[lid] = bi;
        barrier(); // partial winners visible
        for (uint h = nt / 2; h > 0; h >>= 1) {
            if (lid < h && better(red_v[lid + h], red_i[lid + h], red_v[lid], red_i[lid])) {
                red_v[lid] = red_v[lid + h];
                red_i[lid] = red_i[lid + h];
            }
            barrier(); // this level done before the next reads it
        }
        // A row of only NaN/-inf leaves no winner: report index 0 like the reference.
        if (lid == 0) y[pc.y_off + r] = red_i[0] == 0xffffffffu ? 0 : int(red_i[0]);
        barrier(); // red read before the next row overwrites it
    }
}
