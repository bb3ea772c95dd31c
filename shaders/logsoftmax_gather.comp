#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/logsoftmax_gather.h"
// Log-softmax + gather over a vocabulary processed in column blocks. state row t holds
// {running max m, running sum s of exp(x - m), label logit, lse}. Three kernels (variants):
// FOLD   one workgroup per row (grid-strided): each invocation keeps an online (max, sum) over
//        its columns, the pairs are merged in a fixed tree, and invocation 0 merges the result
//        into the row's state (rescaling the old sum when the block raises the max).
// FINISH one invocation per row: lse = m + log(s), logp = (label logit - m) - log(s).
// BACK   x = columns, y = rows (grid-strided): dx = g * (onehot - exp(x - m) / s). dx may be the
//        same memory as x: each element is read and written by one invocation.
layout(local_size_x_id = 0) in;

// Start of every running max: finite, so that merging two empty partials gives no inf - inf.
const float NEG_BIG = -3.0e38;

#if defined(SK_VARIANT_FOLD)
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer L { int labels[]; };
layout(binding = 2) buffer S { float st[]; };

shared float red_m[gl_WorkGroupSize.x];
shared float red_s[gl_WorkGroupSize.x];

// (m, s) <- (m, s) merged with (m2, s2): both sums rescaled to the larger max.
void merge(inout float m, inout float s, float m2, float s2)
{
    const float mx = max(m, m2);
    s = s * exp(m - mx) + s2 * exp(m2 - mx);
    m = mx;
}

void main()
{
    const uint lid = gl_LocalInvocationID.x;
    const uint nt = gl_WorkGroupSize.x;
    for (uint r = gl_WorkGroupID.x; r < pc.n_rows; r += gl_NumWorkGroups.x) {
        const uint xb = pc.x_off + r * pc.x_stride;
        float m = NEG_BIG, s = 0.0;
        for (uint i = lid; i < pc.n_cols; i += nt) {
            const float v = x[xb + i];
            if (v > m) {
                s = s * exp(m - v) + 1.0;
                m = v;
            } else {
                s += exp(v - m);
            }
        }
        red_m[lid] = m;
        red_s[lid] = s;
        barrier(); // partials visible
        for (uint h = nt / 2; h > 0; h >>= 1) {
            if (lid < h) {
                float mm = red_m[lid], ss = red_s[lid];
                merge(mm, ss, red_m[lid + h], red_s[lid + h]);
                red_m[lid] = mm;
                red_s[lid] = ss;
            }
            barrier(); // this level done before the next reads it
        }
        if (lid == 0) {
            const uint sb = pc.st_off + r * pc.st_stride;
            float bm = red_m[0], bs = red_s[0];
            const int lab = labels[pc.lab_off + r];
            const bool in_block = lab >= 0 && uint(lab) >= pc.v0 && uint(lab) - pc.v0 < pc.n_cols;
            float label_logit = in_block ? x[xb + uint(lab) - pc.v0] : 0.0;
            if (pc.first == 0) {
                merge(bm, bs, st[sb], st[sb + 1]);
                if (!in_block) label_logit = st[sb + 2];
            }
            st[sb] = bm;
            st[sb + 1] = bs;
            st[sb + 2] = label_logit;
            if (pc.first != 0) st[sb + 3] = 0.0; // defined until finish writes it
        }
        barrier(); // invocation 0 has read red_*[0] before the next row overwrites it
    }
}

#elif defined(SK_VARIANT_FINISH)
layout(binding = 0) buffer S { float st[]; };
layout(binding = 1) readonly buffer L { int labels[]; };
layout(binding = 2) writeonly buffer P { float logp[]; };

void main()
{
    const uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint r = gl_GlobalInvocationID.x; r < pc.n_rows; r += step) {
        const uint sb = pc.st_off + r * pc.st_stride;
        const float m = st[sb], ls = log(st[sb + 1]);
        st[sb + 3] = m + ls;
        // (label - m) first: exact when the two are close, and it avoids rounding lse at the
        // larger magnitude of m + log(s) before the subtraction.
        logp[pc.g_off + r] = labels[pc.lab_off + r] >= 0 ? (st[sb + 2] - m) - ls : 0.0;
    }
}

#else // SK_VARIANT_BACK (also the stand-alone default)
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer L { int labels[]; };
layout(binding = 2) readonly buffer S { float st[]; };
layout(binding = 3) readonly buffer G { float g[]; };
layout(binding = 4) buffer DX { float dx[]; };

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n_cols) return;
    for (uint r = gl_WorkGroupID.y; r < pc.n_rows; r += gl_NumWorkGroups.y) {
        const int lab = labels[pc.lab_off + r];
        float v = 0.0; // unscored rows get no gradient
        if (lab >= 0) {
            const uint sb = pc.st_off + r * pc.st_stride;
            // exp(x - m) / s equals exp(x - lse) without the rounding of lse = m + log(s).
            const float p = exp(x[pc.x_off + r * pc.x_stride + i] - st[sb]) / st[sb + 1];
            const float onehot = uint(lab) == pc.v0 + i ? 1.0 : 0.0;
            v = g[pc.g_off + r] * (onehot - p);
        }
        dx[pc.dx_off + r * pc.n_cols + i] = v;
    }
}
#endif
