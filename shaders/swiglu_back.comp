#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/swiglu_back.h"
// Backward of y = a * silu(b): x = columns, y = rows (grid-strided). Every tensor has its own
// row stride, since da and db are usually column views of one [T, 2F] gradient. Each invocation
// reads all its inputs before writing, so da/db may even overwrite a/b in place.
layout(local_size_x_id = 0) in;
layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) readonly buffer DY { float dy[]; };
layout(binding = 3) buffer DA { float da[]; };
layout(binding = 4) buffer DB { float db[]; };

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n_cols) return;
    for (uint r = gl_WorkGroupID.y; r < pc.n_rows; r += gl_NumWorkGroups.y) {
        const float av = a[pc.a_off + r * pc.a_stride + i];
        const float bv = b[pc.b_off + r * pc.b_stride + i];
        const float g = dy[pc.dy_off + r * pc.dy_stride + i];
        // sigmoid(b) and 1 - sigmoid(b) from one exp of -|b|: neither is formed as 1 - (a value
        // near 1), which would lose the small one's digits for large |b|.
        const float e = exp(-abs(bv));
        const float big = 1.0 / (1.0 + e), small = e * big;
        const float s = bv >= 0.0 ? big : small;
        const float s1 = bv >= 0.0 ? small : big; // 1 - s
        da[pc.da_off + r * pc.da_stride + i] = g * bv * s;
        db[pc.db_off + r * pc.db_stride + i] = g * av * s * fma(bv, s1, 1.0);
    }
}
