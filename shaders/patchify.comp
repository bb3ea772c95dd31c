#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/patchify.h"
// x = element of a patch row (channel, ky, kx), y = patch (grid-strided). Writes are
// contiguous along x; reads are runs of `patch` pixels.
layout(local_size_x_id = 0) in;
layout(binding = 0) readonly buffer I { float img[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

void main()
{
    const uint pp = pc.patch_size * pc.patch_size;
    const uint row = 3 * pp;
    const uint j = gl_GlobalInvocationID.x;
    if (j >= row) return;
    const uint c = j / pp;
    const uint ky = (j - c * pp) / pc.patch_size;
    const uint kx = j - c * pp - ky * pc.patch_size;
    for (uint n = gl_WorkGroupID.y; n < pc.n_patches; n += gl_NumWorkGroups.y) {
        const uint py = n / pc.patches_x;
        const uint px = n - py * pc.patches_x;
        const uint src =
            (c * pc.height + py * pc.patch_size + ky) * pc.width + px * pc.patch_size + kx;
        y[pc.y_off + n * row + j] = img[pc.img_off + src];
    }
}
