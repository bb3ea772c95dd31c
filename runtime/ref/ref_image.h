/* Plain-C reference of the image preprocessing (Pillow BICUBIC resize, CLIP normalisation) and
 * of the camera colour conversion; judged against PIL output in tests and used to build the
 * integer weight tables the GPU preprocess shader reads. */
#ifndef SILKIE_REF_IMAGE_H
#define SILKIE_REF_IMAGE_H

#include "base/base.h"

/* Fixed-point precision of Pillow's 8-bit resampling path: 32 - 8 - 2 bits. */
#define SILKIE_RESIZE_PRECISION_BITS 22

/* OpenAI-CLIP normalisation constants used by Qwen-VL. */
extern const float silkie_clip_mean[3];
extern const float silkie_clip_std[3];

/* Integer resampling table for one axis, exactly as Pillow 9.4 builds it for BICUBIC
 * (precompute_coeffs + normalize_coeffs_8bpc). When in_size == out_size it is the identity
 * (one tap of weight 2^22), which gives the same bytes as Pillow skipping the pass. */
typedef struct silkie_resize_axis {
    uint32_t in_size, out_size;
    uint32_t ksize;   /* weights per output pixel (unused tail weights are 0) */
    int32_t *bounds;  /* [out_size][2]: first input pixel, number of taps */
    int32_t *weights; /* [out_size][ksize], fixed point with 22 fractional bits */
} silkie_resize_axis;

silkie_status silkie_ref_resize_axis_init(silkie_resize_axis *a, uint32_t in_size,
                                          uint32_t out_size);
void silkie_ref_resize_axis_release(silkie_resize_axis *a);

/* Pillow Image.resize((ow, oh), BICUBIC) of an 8-bit image with `channels` interleaved
 * channels: horizontal pass to an 8-bit intermediate, then vertical; a pass is skipped when
 * its size is unchanged. src rows are src_stride bytes apart; dst is tightly packed. */
silkie_status silkie_ref_resize_bicubic(const uint8_t *src, uint32_t w, uint32_t h,
                                        uint32_t channels, uint32_t src_stride, uint8_t *dst,
                                        uint32_t ow, uint32_t oh);

/* lut[c][v] = (v / 255 - mean[c]) / std[c] in float32, torchvision's ToTensor + Normalize. */
void silkie_ref_normalize_lut(const float mean[3], const float std[3], float lut[3][256]);
/* HWC RGB8 -> CHW f32 [3][h][w] through the LUT above. */
void silkie_ref_rgb_to_chw(const uint8_t *rgb, uint32_t w, uint32_t h, const float mean[3],
                           const float std[3], float *chw);

/* BT.601 limited-range YUV -> RGB in integers; the GPU shader uses the same formula. */
static inline uint8_t silkie_ref_clamp_shift8(int32_t v)
{
    if (v < 0) return 0;
    v >>= 8;
    return (uint8_t)(v > 255 ? 255 : v);
}
static inline void silkie_ref_yuv_pixel(int32_t y, int32_t u, int32_t v, uint8_t rgb[3])
{
    int32_t c = 298 * (y - 16) + 128, d = u - 128, e = v - 128;
    rgb[0] = silkie_ref_clamp_shift8(c + 409 * e);
    rgb[1] = silkie_ref_clamp_shift8(c - 100 * d - 208 * e);
    rgb[2] = silkie_ref_clamp_shift8(c + 516 * d);
}
/* fmt: 1 = YUYV (Y0 U Y1 V, width even), 2 = NV12 (Y plane then UV plane, stride bytes per
 * row of both, width and height even). rgb: [h][w][3]. */
silkie_status silkie_ref_yuv_to_rgb(int fmt, const uint8_t *src, uint32_t stride, uint32_t w,
                                    uint32_t h, uint8_t *rgb);

#endif /* SILKIE_REF_IMAGE_H */
