/* silkie_image buffers, dimension limits, sniffing and decode dispatch, PPM decode, EXIF
 * orientation. */
#include <stdio.h>

#include "camera/camera_int.h"

void silkie_image_init(silkie_image *img)
{
    memset(img, 0, sizeof *img);
    img->exif_orientation = 1;
}

void silkie_image_release(silkie_image *img)
{
    if (!img) return;
    silkie_free(img->data);
    silkie_image_init(img);
}

silkie_status silkie_image_check_dims(const char *what, uint64_t width, uint64_t height)
{
    if (width == 0 || height == 0)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: empty image %llux%llu", what,
                       (unsigned long long)width, (unsigned long long)height);
    if (width > SILKIE_IMAGE_MAX_SIDE || height > SILKIE_IMAGE_MAX_SIDE ||
        width * height > SILKIE_IMAGE_MAX_PIXELS)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: %llux%llu exceeds the %ux%u / %u pixel limit",
                       what, (unsigned long long)width, (unsigned long long)height,
                       SILKIE_IMAGE_MAX_SIDE, SILKIE_IMAGE_MAX_SIDE, SILKIE_IMAGE_MAX_PIXELS);
    return SILKIE_OK;
}

silkie_status silkie_image_reserve(silkie_image *img, uint32_t width, uint32_t height,
                                   uint32_t channels)
{
    SK_CHECK(silkie_image_check_dims("image", width, height));
    if (channels != 1 && channels != 3 && channels != 4)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "image: %u channels", channels);
    size_t need = (size_t)width * height * channels; /* bounded by the pixel limit */
    if (need > img->capacity_bytes) {
        uint8_t *p = silkie_realloc(img->data, need);
        if (!p) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "image: %zu bytes", need);
        img->data = p;
        img->capacity_bytes = need;
    }
    img->width = width;
    img->height = height;
    img->channels = channels;
    return SILKIE_OK;
}

silkie_image_kind silkie_image_sniff(const uint8_t *data, size_t size)
{
    if (!data) return SILKIE_IMAGE_KIND_UNKNOWN;
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return SILKIE_IMAGE_KIND_JPEG;
    if (size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6'))
        return SILKIE_IMAGE_KIND_PPM;
    if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) return SILKIE_IMAGE_KIND_PNG;
    if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
        return SILKIE_IMAGE_KIND_WEBP;
    if (size >= 6 && (memcmp(data, "GIF87a", 6) == 0 || memcmp(data, "GIF89a", 6) == 0))
        return SILKIE_IMAGE_KIND_GIF;
    /* Two bytes are all Pillow checks too; a text file starting "BM" is reported as a bad BMP. */
    if (size >= 2 && data[0] == 'B' && data[1] == 'M') return SILKIE_IMAGE_KIND_BMP;
    return SILKIE_IMAGE_KIND_UNKNOWN;
}

const char *silkie_image_kind_name(silkie_image_kind kind)
{
    switch (kind) {
    case SILKIE_IMAGE_KIND_JPEG: return "jpeg";
    case SILKIE_IMAGE_KIND_PPM: return "ppm";
    case SILKIE_IMAGE_KIND_PNG: return "png";
    case SILKIE_IMAGE_KIND_WEBP: return "webp";
    case SILKIE_IMAGE_KIND_BMP: return "bmp";
    case SILKIE_IMAGE_KIND_GIF: return "gif";
    default: return "unknown";
    }
}

const char *sk_image_what(char *buf, size_t cap, const char *name, const char *kind)
{
    if (name && *name) snprintf(buf, cap, "%s: %s", name, kind);
    else snprintf(buf, cap, "%s", kind);
    return buf;
}

silkie_status silkie_image_decode(silkie_jpeg_decoder *jpeg, const uint8_t *data, size_t size,
                                  const char *name, silkie_image *img)
{
    if (!data || !img)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "image_decode: data, img required");
    silkie_status st;
    char what[160];
    switch (silkie_image_sniff(data, size)) {
    case SILKIE_IMAGE_KIND_JPEG:
        if (jpeg) {
            st = silkie_jpeg_decode(jpeg, data, size, NULL, img);
        } else if ((st = silkie_jpeg_decoder_create(&jpeg)) == SILKIE_OK) {
            st = silkie_jpeg_decode(jpeg, data, size, NULL, img);
            silkie_jpeg_decoder_destroy(jpeg);
        }
        break;
    case SILKIE_IMAGE_KIND_PPM: st = silkie_ppm_decode(data, size, 0, img); break;
    case SILKIE_IMAGE_KIND_PNG: st = silkie_png_decode(data, size, name, img); break;
    case SILKIE_IMAGE_KIND_WEBP: st = silkie_webp_decode(data, size, name, img); break;
    case SILKIE_IMAGE_KIND_BMP: st = silkie_bmp_decode(data, size, name, img); break;
    case SILKIE_IMAGE_KIND_GIF: st = silkie_gif_decode(data, size, name, img); break;
    default:
        st = SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: not a " SK_IMAGE_KINDS " file (%zu bytes)",
                     sk_image_what(what, sizeof what, name, "image"), size);
    }
    if (st != SILKIE_OK) img->width = img->height = 0; /* never a stale size on failure */
    return st;
}

/* ---- PPM / PGM ------------------------------------------------------------------------------ */

/* Reads one header number, skipping whitespace and '#' comments. */
static int ppm_number(const uint8_t *d, size_t size, size_t *pos, uint32_t *out)
{
    size_t i = *pos;
    for (;;) {
        if (i >= size) return 0;
        if (d[i] == '#') {
            while (i < size && d[i] != '\n' && d[i] != '\r') i++;
        } else if (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r' ||
                   d[i] == '\v' || d[i] == '\f') {
            i++;
        } else {
            break;
        }
    }
    uint64_t v = 0;
    size_t start = i;
    while (i < size && d[i] >= '0' && d[i] <= '9') {
        v = v * 10 + (uint64_t)(d[i] - '0');
        if (v > 0xFFFFFFFFu) return 0;
        i++;
    }
    if (i == start) return 0;
    *pos = i;
    *out = (uint32_t)v;
    return 1;
}

silkie_status silkie_ppm_decode(const uint8_t *data, size_t size, int grey, silkie_image *img)
{
    if (!data || !img) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "ppm: data, img required");
    if (silkie_image_sniff(data, size) != SILKIE_IMAGE_KIND_PPM)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "ppm: not a binary P5/P6 file");
    int src_ch = data[1] == '6' ? 3 : 1;
    size_t pos = 2;
    uint32_t w, h, maxval;
    if (!ppm_number(data, size, &pos, &w) || !ppm_number(data, size, &pos, &h) ||
        !ppm_number(data, size, &pos, &maxval))
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "ppm: malformed header");
    if (maxval == 0 || maxval > 255)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "ppm: maxval %u unsupported (want 1..255)", maxval);
    SK_CHECK(silkie_image_check_dims("ppm", w, h));
    /* Exactly one whitespace byte separates the header from the samples. */
    if (pos >= size) return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "ppm: truncated header");
    pos++;
    size_t n = (size_t)w * h * (size_t)src_ch;
    if (size - pos < n)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "ppm: truncated, %zu of %zu sample bytes",
                       size - pos, n);
    uint32_t out_ch = grey ? 1 : 3;
    SK_CHECK(silkie_image_reserve(img, w, h, out_ch));
    img->exif_orientation = 1;
    const uint8_t *s = data + pos;
    uint8_t *o = img->data;
    size_t npix = (size_t)w * h;
    for (size_t i = 0; i < npix; i++) {
        uint32_t r, g, b;
        if (src_ch == 3) {
            r = s[3 * i], g = s[3 * i + 1], b = s[3 * i + 2];
        } else {
            r = g = b = s[i];
        }
        if (maxval != 255) {
            r = (r * 255 + maxval / 2) / maxval;
            g = (g * 255 + maxval / 2) / maxval;
            b = (b * 255 + maxval / 2) / maxval;
            r = SK_MIN(r, 255u), g = SK_MIN(g, 255u), b = SK_MIN(b, 255u);
        }
        if (out_ch == 3) {
            o[3 * i] = (uint8_t)r, o[3 * i + 1] = (uint8_t)g, o[3 * i + 2] = (uint8_t)b;
        } else {
            /* ITU-R 601-2 luma as PIL's convert("L"), for RGB sources. */
            o[i] = src_ch == 1 ? (uint8_t)r
                               : (uint8_t)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
        }
    }
    return SILKIE_OK;
}

/* ---- EXIF orientation ---------------------------------------------------------------------- */

static uint32_t rd16(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : (uint32_t)p[0] << 8 | p[1];
}
static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? rd16(p, 1) | rd16(p + 2, 1) << 16 : rd16(p, 0) << 16 | rd16(p + 2, 0);
}

static uint32_t exif_tiff_orientation(const uint8_t *t, size_t n)
{
    if (n < 8) return 1;
    int le;
    if (t[0] == 'I' && t[1] == 'I') le = 1;
    else if (t[0] == 'M' && t[1] == 'M') le = 0;
    else return 1;
    if (rd16(t + 2, le) != 42) return 1;
    uint32_t ifd = rd32(t + 4, le);
    if (ifd > n || n - ifd < 2) return 1;
    uint32_t count = rd16(t + ifd, le);
    for (uint32_t i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > n) return 1;
        if (rd16(t + e, le) == 0x0112 && rd16(t + e + 2, le) == 3) {
            uint32_t v = rd16(t + e + 8, le);
            return v >= 1 && v <= 8 ? v : 1;
        }
    }
    return 1;
}

uint32_t silkie_exif_orientation(const uint8_t *d, size_t size)
{
    if (!d || size < 4 || d[0] != 0xFF || d[1] != 0xD8) return 1;
    size_t i = 2;
    /* APPn segments come before the frame header; stop at SOS or anything unexpected. */
    while (i + 4 <= size) {
        if (d[i] != 0xFF) return 1;
        uint8_t m = d[i + 1];
        if (m == 0xFF) { i++; continue; }
        if (m == 0xDA || m == 0xD9) return 1;
        size_t len = (size_t)d[i + 2] << 8 | d[i + 3];
        if (len < 2 || len > size - i - 2) return 1;
        const uint8_t *seg = d + i + 4;
        size_t seg_len = len - 2;
        if (m == 0xE1 && seg_len >= 6 && memcmp(seg, "Exif\0\0", 6) == 0)
            return exif_tiff_orientation(seg + 6, seg_len - 6);
        i += 2 + len;
    }
    return 1;
}

silkie_status silkie_image_orient(silkie_image *img, uint32_t o, silkie_image *scratch)
{
    if (o <= 1 || o > 8) return SILKIE_OK;
    uint32_t w = img->width, h = img->height, c = img->channels;
    int swap = o >= 5; /* 5..8 transpose the axes */
    uint32_t ow = swap ? h : w, oh = swap ? w : h;
    SK_CHECK(silkie_image_reserve(scratch, ow, oh, c));
    /* Output row y walks the stored image along a row or a column: a start pixel and a step,
     * so the inner loop is a strided copy (a 64 MP canvas costs one pass, not a call per
     * pixel; fuzz_image found the difference in the sanitizer build). */
    const ptrdiff_t pw = (ptrdiff_t)w;
    for (uint32_t y = 0; y < oh; y++) {
        ptrdiff_t sx, sy, step; /* stored pixel of output (0, y), then pixels per output x */
        switch (o) {
        case 2: sx = pw - 1, sy = y, step = -1; break;
        case 3: sx = pw - 1, sy = (ptrdiff_t)h - 1 - y, step = -1; break;
        case 4: sx = 0, sy = (ptrdiff_t)h - 1 - y, step = 1; break;
        case 5: sx = y, sy = 0, step = pw; break;
        case 6: sx = y, sy = (ptrdiff_t)h - 1, step = -pw; break;
        case 7: sx = pw - 1 - y, sy = (ptrdiff_t)h - 1, step = -pw; break;
        default: sx = pw - 1 - y, sy = 0, step = pw; break; /* 8 */
        }
        const uint8_t *src = img->data;
        uint8_t *dst = scratch->data + (size_t)y * ow * c;
        ptrdiff_t at = (sy * pw + sx) * (ptrdiff_t)c; /* an index: it may step past either end */
        const ptrdiff_t sstep = step * (ptrdiff_t)c;
        if (c == 3) {
            for (uint32_t x = 0; x < ow; x++, dst += 3, at += sstep)
                dst[0] = src[at], dst[1] = src[at + 1], dst[2] = src[at + 2];
        } else {
            for (uint32_t x = 0; x < ow; x++, dst += c, at += sstep) memcpy(dst, src + at, c);
        }
    }
    /* Swap buffers so both keep their capacity. */
    silkie_image t = *img;
    *img = *scratch;
    *scratch = t;
    img->exif_orientation = 1;
    return SILKIE_OK;
}
