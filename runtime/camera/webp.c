/* WebP decode through libwebp. The demuxer splits the RIFF container (still, extended or
 * animated) and the first frame is decoded straight into the RGB canvas. Pillow 9.4 opens every
 * WebP through libwebp's animation decoder in RGBA mode: frame 1 is always a key frame, written
 * unblended onto a zeroed canvas, and convert("RGB") then drops alpha. Decoding to RGB gives
 * the same bytes (alpha never changes the colour samples of a non-premultiplied decode). */
#include <webp/decode.h>
#include <webp/demux.h>

#include "camera/camera_int.h"

static const char *vp8_status_text(VP8StatusCode s)
{
    switch (s) {
    case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    default: return "decode failed";
    }
}

static silkie_status decode_frame(const WebPDemuxer *dmx, const char *what, silkie_image *img)
{
    uint32_t cw = WebPDemuxGetI(dmx, WEBP_FF_CANVAS_WIDTH);
    uint32_t ch = WebPDemuxGetI(dmx, WEBP_FF_CANVAS_HEIGHT);
    SK_CHECK(silkie_image_check_dims(what, cw, ch));
    WebPIterator it;
    if (!WebPDemuxGetFrame(dmx, 1, &it))
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: no frame", what);
    silkie_status st = SILKIE_OK;
    WebPBitstreamFeatures f;
    VP8StatusCode vs = WebPGetFeatures(it.fragment.bytes, it.fragment.size, &f);
    if (vs != VP8_STATUS_OK) {
        st = SK_FAIL(vs == VP8_STATUS_OUT_OF_MEMORY ? SILKIE_ERR_OUT_OF_MEMORY
                                                    : SILKIE_ERR_BAD_IMAGE,
                     "%s: first frame: %s", what, vp8_status_text(vs));
    } else if (it.x_offset < 0 || it.y_offset < 0 || f.width != it.width ||
               f.height != it.height || f.width <= 0 || f.height <= 0 ||
               (uint64_t)it.x_offset + (uint64_t)f.width > cw ||
               (uint64_t)it.y_offset + (uint64_t)f.height > ch) {
        st = SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: first frame %dx%d at (%d, %d) is not inside the "
                     "%ux%u canvas", what, f.width, f.height, it.x_offset, it.y_offset, cw, ch);
    }
    if (st == SILKIE_OK) st = silkie_image_reserve(img, cw, ch, 3);
    if (st == SILKIE_OK) {
        size_t stride = (size_t)cw * 3;
        if ((uint32_t)f.width != cw || (uint32_t)f.height != ch)
            memset(img->data, 0, stride * ch); /* the canvas around a smaller first frame */
        WebPDecoderConfig cfg;
        if (!WebPInitDecoderConfig(&cfg)) {
            st = SK_FAIL(SILKIE_ERR_INTERNAL, "%s: libwebp version mismatch", what);
        } else {
            cfg.output.colorspace = MODE_RGB;
            cfg.output.is_external_memory = 1;
            cfg.output.u.RGBA.rgba = img->data + (size_t)it.y_offset * stride +
                                     (size_t)it.x_offset * 3;
            cfg.output.u.RGBA.stride = (int)stride;
            cfg.output.u.RGBA.size = stride * (size_t)(f.height - 1) + (size_t)f.width * 3;
            vs = WebPDecode(it.fragment.bytes, it.fragment.size, &cfg);
            if (vs != VP8_STATUS_OK)
                st = SK_FAIL(vs == VP8_STATUS_OUT_OF_MEMORY ? SILKIE_ERR_OUT_OF_MEMORY
                                                            : SILKIE_ERR_BAD_IMAGE,
                             "%s: %s", what, vp8_status_text(vs));
            WebPFreeDecBuffer(&cfg.output);
        }
    }
    WebPDemuxReleaseIterator(&it);
    return st;
}

silkie_status silkie_webp_decode(const uint8_t *data, size_t size, const char *name,
                                 silkie_image *img)
{
    if (!data || !img) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "webp: data, img required");
    char what[160];
    sk_image_what(what, sizeof what, name, "webp");
    if (silkie_image_sniff(data, size) != SILKIE_IMAGE_KIND_WEBP)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: no RIFF/WEBP header", what);
    /* The partial demuxer tells a cut-off file from a malformed one. */
    WebPData wd = { data, size };
    WebPDemuxState state = WEBP_DEMUX_PARSE_ERROR;
    WebPDemuxer *dmx = WebPDemuxPartial(&wd, &state);
    silkie_status st;
    if (!dmx || state == WEBP_DEMUX_PARSE_ERROR)
        st = SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: malformed container", what);
    else if (state != WEBP_DEMUX_DONE)
        st = SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated container", what);
    else
        st = decode_frame(dmx, what, img);
    WebPDemuxDelete(dmx);
    if (st != SILKIE_OK) img->width = img->height = 0;
    else img->exif_orientation = 1;
    return st;
}
