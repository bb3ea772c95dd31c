/* JPEG decode through TurboJPEG with Pillow's settings: accurate integer IDCT (JDCT_ISLOW) and
 * fancy (triangular) chroma upsampling, which are TurboJPEG's defaults unless TJFLAG_FASTDCT or
 * TJFLAG_FASTUPSAMPLE are given; TJFLAG_ACCURATEDCT is passed anyway to pin the choice. */
#include <turbojpeg.h>

#include "camera/camera.h"

struct silkie_jpeg_decoder {
    tjhandle tj;
    silkie_image cmyk; /* CMYK frames are decoded here first */
};

/* After a failed call TurboJPEG 2.1 can leave the decompressor mid-stream, and the next
 * header read then reports 0x0; a fresh handle is the reliable reset. */
static void reset_handle(silkie_jpeg_decoder *d)
{
    tjhandle t = tjInitDecompress();
    if (!t) return; /* keep the old one; the next call reports its own error */
    tjDestroy(d->tj);
    d->tj = t;
}

silkie_status silkie_jpeg_decoder_create(silkie_jpeg_decoder **out)
{
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "jpeg_decoder_create: out required");
    *out = NULL;
    silkie_jpeg_decoder *d = SK_NEW(silkie_jpeg_decoder);
    if (!d) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "jpeg_decoder_create: %zu bytes", sizeof *d);
    d->tj = tjInitDecompress();
    if (!d->tj) {
        silkie_free(d);
        return SK_FAIL(SILKIE_ERR_INTERNAL, "jpeg_decoder_create: tjInitDecompress failed: %s",
                       tjGetErrorStr2(NULL));
    }
    silkie_image_init(&d->cmyk);
    *out = d;
    return SILKIE_OK;
}

void silkie_jpeg_decoder_destroy(silkie_jpeg_decoder *d)
{
    if (!d) return;
    tjDestroy(d->tj);
    silkie_image_release(&d->cmyk);
    silkie_free(d);
}

silkie_status silkie_jpeg_info_read(silkie_jpeg_decoder *d, const uint8_t *data, size_t size,
                                    silkie_jpeg_info *out)
{
    if (!d || !data || !out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "jpeg: bad arguments");
    if (silkie_image_sniff(data, size) != SILKIE_IMAGE_KIND_JPEG)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "jpeg: no SOI marker");
    if (size > 0x7FFFFFFFu) return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "jpeg: %zu bytes", size);
    int w = 0, h = 0, subsamp = 0, cs = 0;
    if (tjDecompressHeader3(d->tj, data, (unsigned long)size, &w, &h, &subsamp, &cs) != 0) {
        silkie_status st =
            SK_FAIL(SILKIE_ERR_BAD_IMAGE, "jpeg: bad header: %s", tjGetErrorStr2(d->tj));
        reset_handle(d);
        return st;
    }
    if (w < 0 || h < 0) return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "jpeg: negative size");
    SK_CHECK(silkie_image_check_dims("jpeg", (uint32_t)w, (uint32_t)h));
    out->width = (uint32_t)w;
    out->height = (uint32_t)h;
    out->components = cs == TJCS_GRAY ? 1 : (cs == TJCS_CMYK || cs == TJCS_YCCK) ? 4 : 3;
    out->exif_orientation = silkie_exif_orientation(data, size);
    return SILKIE_OK;
}

/* Largest reduction among 1/2, 1/4, 1/8 that keeps both sides >= the minimum. */
static tjscalingfactor pick_scale(uint32_t w, uint32_t h, uint32_t min_w, uint32_t min_h)
{
    tjscalingfactor best = { 1, 1 };
    if (min_w == 0 || min_h == 0) return best;
    static const int denoms[] = { 2, 4, 8 };
    for (size_t i = 0; i < SK_ARRAY_LEN(denoms); i++) {
        tjscalingfactor f = { 1, denoms[i] };
        if ((uint32_t)TJSCALED((int)w, f) >= min_w && (uint32_t)TJSCALED((int)h, f) >= min_h)
            best = f;
    }
    return best;
}

/* Pillow's CMYK -> RGB for Adobe (inverted) CMYK JPEGs: with the stored bytes c, k, Pillow's
 * CMYK values are 255 - c, 255 - k and R = (255 - K) - (C * (255 - K)) / 255 rounded. */
static uint8_t cmyk_channel(uint32_t stored_c, uint32_t stored_k)
{
    uint32_t nk = stored_k, cc = 255 - stored_c;
    uint32_t t = cc * nk + 128;
    uint32_t m = ((t >> 8) + t) >> 8;
    return (uint8_t)(nk - m);
}

silkie_status silkie_jpeg_decode(silkie_jpeg_decoder *d, const uint8_t *data, size_t size,
                                 const silkie_jpeg_decode_opts *opts, silkie_image *img)
{
    if (!img) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "jpeg: img required");
    silkie_jpeg_info info;
    SK_CHECK(silkie_jpeg_info_read(d, data, size, &info));
    silkie_jpeg_decode_opts o = { 0 };
    if (opts) o = *opts;
    tjscalingfactor sf = pick_scale(info.width, info.height, o.min_width, o.min_height);
    uint32_t w = (uint32_t)TJSCALED((int)info.width, sf);
    uint32_t h = (uint32_t)TJSCALED((int)info.height, sf);
    const int flags = TJFLAG_ACCURATEDCT | TJFLAG_NOREALLOC;
    int rc;
    if (info.components == 4) {
        SK_CHECK(silkie_image_reserve(&d->cmyk, w, h, 4));
        rc = tjDecompress2(d->tj, data, (unsigned long)size, d->cmyk.data, (int)w, (int)w * 4,
                           (int)h, TJPF_CMYK, flags);
    } else {
        uint32_t ch = o.grey ? 1 : 3;
        SK_CHECK(silkie_image_reserve(img, w, h, ch));
        rc = tjDecompress2(d->tj, data, (unsigned long)size, img->data, (int)w, (int)(w * ch),
                           (int)h, o.grey ? TJPF_GRAY : TJPF_RGB, flags);
    }
    /* Warnings (premature end of data, corrupt entropy data) also fail: a half-grey frame is
     * worse than a skipped one. */
    if (rc != 0) {
        img->width = img->height = 0;
        silkie_status st = SK_FAIL(SILKIE_ERR_BAD_IMAGE, "jpeg: decode failed (%s): %s",
                       tjGetErrorCode(d->tj) == TJERR_WARNING ? "corrupt or truncated" : "fatal",
                       tjGetErrorStr2(d->tj));
        reset_handle(d);
        return st;
    }
    if (info.components == 4) {
        uint32_t ch = o.grey ? 1 : 3;
        SK_CHECK(silkie_image_reserve(img, w, h, ch));
        size_t n = (size_t)w * h;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = d->cmyk.data + 4 * i;
            uint8_t r = cmyk_channel(p[0], p[3]), g = cmyk_channel(p[1], p[3]),
                    b = cmyk_channel(p[2], p[3]);
            if (ch == 3) {
                img->data[3 * i] = r, img->data[3 * i + 1] = g, img->data[3 * i + 2] = b;
            } else {
                img->data[i] = (uint8_t)((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
            }
        }
    }
    img->exif_orientation = info.exif_orientation;
    return SILKIE_OK;
}
