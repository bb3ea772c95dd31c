/* Pillow 9.4 BICUBIC resampling, 8-bit path, reproduced step by step so the bytes match. */
#include <math.h>

#include "ref/ref_image.h"

const float silkie_clip_mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
const float silkie_clip_std[3] = { 0.26862954f, 0.26130258f, 0.27577711f };

static double bicubic(double x)
{
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

void silkie_ref_resize_axis_release(silkie_resize_axis *a)
{
    if (!a) return;
    silkie_free(a->bounds);
    silkie_free(a->weights);
    memset(a, 0, sizeof *a);
}

silkie_status silkie_ref_resize_axis_init(silkie_resize_axis *a, uint32_t in_size,
                                          uint32_t out_size)
{
    memset(a, 0, sizeof *a);
    if (in_size == 0 || out_size == 0 || in_size > (1u << 20) || out_size > (1u << 20))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "resize: sizes %u -> %u", in_size, out_size);
    a->in_size = in_size;
    a->out_size = out_size;
    const double scale = (double)in_size / out_size;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = 2.0 * filterscale; /* bicubic support is 2 */
    a->ksize = in_size == out_size ? 1 : (uint32_t)ceil(support) * 2 + 1;
    a->bounds = SK_NEW_ARRAY(int32_t, (size_t)out_size * 2);
    a->weights = SK_NEW_ARRAY(int32_t, (size_t)out_size * a->ksize);
    double *k = SK_NEW_ARRAY(double, a->ksize);
    if (!a->bounds || !a->weights || !k) {
        silkie_free(k);
        silkie_ref_resize_axis_release(a);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "resize: tables for %u -> %u", in_size,
                       out_size);
    }
    for (uint32_t o = 0; o < out_size; o++) {
        if (in_size == out_size) {
            a->bounds[2 * o] = (int32_t)o;
            a->bounds[2 * o + 1] = 1;
            a->weights[o] = 1 << SILKIE_RESIZE_PRECISION_BITS;
            continue;
        }
        const double center = (o + 0.5) * scale;
        const double ss = 1.0 / filterscale; /* Pillow multiplies by the reciprocal */
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > (int)in_size) xmax = (int)in_size;
        xmax -= xmin;
        if ((uint32_t)xmax > a->ksize) xmax = (int)a->ksize; /* cannot happen; keeps k in bounds */
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            double w = bicubic((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        a->bounds[2 * o] = xmin;
        a->bounds[2 * o + 1] = xmax;
        int32_t *kk = a->weights + (size_t)o * a->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = k[x] * (1 << SILKIE_RESIZE_PRECISION_BITS);
            kk[x] = (int32_t)(k[x] < 0 ? -0.5 + v : 0.5 + v);
        }
    }
    silkie_free(k);
    return SILKIE_OK;
}

static uint8_t clip8(int32_t v)
{
    if (v >= (1 << SILKIE_RESIZE_PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> SILKIE_RESIZE_PRECISION_BITS);
}

silkie_status silkie_ref_resize_bicubic(const uint8_t *src, uint32_t w, uint32_t h,
                                        uint32_t channels, uint32_t src_stride, uint8_t *dst,
                                        uint32_t ow, uint32_t oh)
{
    if (!src || !dst || channels == 0 || channels > 4 || src_stride < (uint64_t)w * channels)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "resize: bad arguments");
    silkie_resize_axis ax, ay;
    SK_CHECK(silkie_ref_resize_axis_init(&ax, w, ow));
    silkie_status st = silkie_ref_resize_axis_init(&ay, h, oh);
    if (st != SILKIE_OK) {
        silkie_ref_resize_axis_release(&ax);
        return st;
    }
    /* Intermediate after the horizontal pass: [h][ow][channels], 8-bit like Pillow's. */
    size_t mid_stride = (size_t)ow * channels;
    uint8_t *mid = silkie_malloc(mid_stride * h);
    if (!mid) {
        silkie_ref_resize_axis_release(&ax);
        silkie_ref_resize_axis_release(&ay);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "resize: %zu bytes", mid_stride * h);
    }
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row = src + (size_t)y * src_stride;
        uint8_t *out = mid + (size_t)y * mid_stride;
        if (w == ow) {
            memcpy(out, row, mid_stride); /* Pillow skips an unchanged axis */
            continue;
        }
        for (uint32_t x = 0; x < ow; x++) {
            int32_t xmin = ax.bounds[2 * x], n = ax.bounds[2 * x + 1];
            const int32_t *k = ax.weights + (size_t)x * ax.ksize;
            for (uint32_t c = 0; c < channels; c++) {
                int32_t ss = 1 << (SILKIE_RESIZE_PRECISION_BITS - 1);
                for (int32_t i = 0; i < n; i++) ss += row[(size_t)(xmin + i) * channels + c] * k[i];
                out[(size_t)x * channels + c] = clip8(ss);
            }
        }
    }
    for (uint32_t y = 0; y < oh; y++) {
        uint8_t *out = dst + (size_t)y * mid_stride;
        if (h == oh) {
            memcpy(out, mid + (size_t)y * mid_stride, mid_stride);
            continue;
        }
        int32_t ymin = ay.bounds[2 * y], n = ay.bounds[2 * y + 1];
        const int32_t *k = ay.weights + (size_t)y * ay.ksize;
        for (size_t xc = 0; xc < mid_stride; xc++) {
            int32_t ss = 1 << (SILKIE_RESIZE_PRECISION_BITS - 1);
            for (int32_t i = 0; i < n; i++) ss += mid[(size_t)(ymin + i) * mid_stride + xc] * k[i];
            out[xc] = clip8(ss);
        }
    }
    silkie_free(mid);
    silkie_ref_resize_axis_release(&ax);
    silkie_ref_resize_axis_release(&ay);
    return SILKIE_OK;
}

void silkie_ref_normalize_lut(const float mean[3], const float std[3], float lut[3][256])
{
    for (int c = 0; c < 3; c++) {
        for (int v = 0; v < 256; v++) {
            float x = (float)v / 255.0f; /* ToTensor, float32 */
            x = x - mean[c];             /* Normalize: sub_ then div_, float32 */
            lut[c][v] = x / std[c];
        }
    }
}

void silkie_ref_rgb_to_chw(const uint8_t *rgb, uint32_t w, uint32_t h, const float mean[3],
                           const float std[3], float *chw)
{
    float lut[3][256];
    silkie_ref_normalize_lut(mean, std, lut);
    size_t n = (size_t)w * h;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) chw[(size_t)c * n + i] = lut[c][rgb[3 * i + c]];
}

silkie_status silkie_ref_yuv_to_rgb(int fmt, const uint8_t *src, uint32_t stride, uint32_t w,
                                    uint32_t h, uint8_t *rgb)
{
    if (!src || !rgb || w == 0 || h == 0 || (w & 1) || (fmt == 2 && (h & 1)) ||
        (fmt != 1 && fmt != 2) || stride < (fmt == 1 ? (uint64_t)w * 2 : w))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "yuv_to_rgb: format %d %ux%u stride %u", fmt,
                       w, h, stride);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            int32_t Y, U, V;
            if (fmt == 1) {
                const uint8_t *p = src + (size_t)y * stride + (size_t)(x & ~1u) * 2;
                Y = p[(x & 1) * 2], U = p[1], V = p[3];
            } else {
                const uint8_t *uv = src + (size_t)stride * h + (size_t)(y / 2) * stride + (x & ~1u);
                Y = src[(size_t)y * stride + x], U = uv[0], V = uv[1];
            }
            silkie_ref_yuv_pixel(Y, U, V, rgb + ((size_t)y * w + x) * 3);
        }
    }
    return SILKIE_OK;
}
