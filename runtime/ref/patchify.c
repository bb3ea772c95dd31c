/* Reference patchify: CHW image -> one row per patch, ordered (channel, ky, kx). */
#include "ref/ref.h"

void silkie_ref_patchify(const float *img, uint32_t H, uint32_t W, uint32_t patch, float *y)
{
    uint32_t ph = H / patch, pw = W / patch;
    uint64_t row = 3ull * patch * patch;
    for (uint32_t py = 0; py < ph; py++)
        for (uint32_t px = 0; px < pw; px++) {
            float *yr = y + ((uint64_t)py * pw + px) * row;
            for (uint32_t c = 0; c < 3; c++)
                for (uint32_t ky = 0; ky < patch; ky++)
                    for (uint32_t kx = 0; kx < patch; kx++)
                        *yr++ = img[((uint64_t)c * H + py * patch + ky) * W + px * patch + kx];
        }
}
