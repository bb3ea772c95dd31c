#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/interp_bicubic.h"
// PyTorch bicubic (A = -0.75, align_corners false, taps clamped). x = feature column d,
// y = output cell r*ow + c (grid-strided). Interpolates along x for the four source rows, then
// along y, all in f32, as PyTorch does.
layout(local_size_x_id = 0) in;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

const float A = -0.75;

void taps(uint o, uint n_in, float scale, out ivec4 idx, out vec4 w)
{
    const float s = (float(o) + 0.5) * scale - 0.5;
    const float f = floor(s);
    const float t = s - f;
    const float t1 = t + 1.0, t2 = 1.0 - t, t3 = 2.0 - t;
    w.x = ((A * t1 - 5.0 * A) * t1 + 8.0 * A) * t1 - 4.0 * A;
    w.y = ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0;
    w.z = ((A + 2.0) * t2 - (A + 3.0)) * t2 * t2 + 1.0;
    w.w = ((A * t3 - 5.0 * A) * t3 + 8.0 * A) * t3 - 4.0 * A;
    idx = clamp(ivec4(int(f) - 1) + ivec4(0, 1, 2, 3), ivec4(0), ivec4(int(n_in) - 1));
}

void main()
{
    const uint d = gl_GlobalInvocationID.x;
    if (d >= pc.dim) return;
    const uint n_out = pc.oh * pc.ow;
    for (uint o = gl_WorkGroupID.y; o < n_out; o += gl_NumWorkGroups.y) {
        const uint r = o / pc.ow;
        const uint c = o - r * pc.ow;
        ivec4 ty, tx;
        vec4 wy, wx;
        taps(r, pc.gh, pc.scale_y, ty, wy);
        taps(c, pc.gw, pc.scale_x, tx, wx);
        float acc = 0.0;
        [[unroll]] for (int a = 0; a < 4; a++) {
            const uint rb = pc.x_off + uint(ty[a]) * pc.gw * pc.dim + d;
            float row = wx.x * x[rb + uint(tx.x) * pc.dim];
            row = fma(wx.y, x[rb + uint(tx.y) * pc.dim], row);
            row = fma(wx.z, x[rb + uint(tx.z) * pc.dim], row);
            row = fma(wx.w, x[rb + uint(tx.w) * pc.dim], row);
            acc = fma(wy[a], row, acc);
        }
        y[pc.y_off + o * pc.dim + d] = acc;
    }
}
