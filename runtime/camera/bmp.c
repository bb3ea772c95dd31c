/* BMP decode with Pillow 9.4's reading rules (BmpImagePlugin), so that the pixels match
 * Image.open(f).convert("RGB"):
 * - header sizes 12 (OS/2 1.x core), 40, 64 (OS/2 2.x, read as 40), 108 (V4), 124 (V5);
 * - the height's top byte 0xFF means top-down (a negative height), otherwise bottom-up;
 * - palettes: biClrUsed entries (or 2^bits), BGR(X); indices past the palette give the grey
 *   ramp; if the pixel offset points at the palette itself it is moved past 4 bytes per entry;
 * - 16-bit is 5-5-5 (or 5-6-5 with bit fields), each channel scaled as v * 255 / max, truncated;
 * - 32-bit without bit fields ignores the fourth byte; bit-field masks only in Pillow's list;
 * - the last row may omit its padding.
 * Pillow reads 1- and 4-bit files whose palette happens to be its "greyscale" pattern (the
 * ramp 0, 1, 2, ... or exactly black and white with 4 or 8 bits) with the wrong sample size; such
 * files are decoded through their palette here. Everything is bounds-checked against the input
 * before it is read. */
#include "camera/camera_int.h"

enum { BMP_RGB = 0, BMP_RLE8 = 1, BMP_RLE4 = 2, BMP_BITFIELDS = 3 };

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

typedef enum pixel_layout {
    LAYOUT_PALETTE,
    LAYOUT_555,
    LAYOUT_565,
    LAYOUT_BYTES, /* 3 or 4 bytes per pixel, R/G/B at byte offsets */
} pixel_layout;

typedef struct bmp_info {
    uint32_t width, height, bits;
    int top_down;
    pixel_layout layout;
    uint32_t r_at, g_at, b_at; /* LAYOUT_BYTES */
    uint8_t lut[256][3];
} bmp_info;

/* The 32-bit bit-field layouts Pillow accepts, with where R, G, B sit in each pixel's bytes. */
static const struct {
    uint32_t mask[4];
    uint8_t at[3];
} k_masks32[] = {
    { { 0xFF0000, 0xFF00, 0xFF, 0 }, { 2, 1, 0 } },              /* BGRX */
    { { 0xFF000000, 0xFF0000, 0xFF00, 0 }, { 3, 2, 1 } },         /* XBGR */
    { { 0xFF000000, 0xFF0000, 0xFF00, 0xFF }, { 3, 2, 1 } },      /* ABGR */
    { { 0xFF, 0xFF00, 0xFF0000, 0xFF000000 }, { 0, 1, 2 } },      /* RGBA */
    { { 0xFF0000, 0xFF00, 0xFF, 0xFF000000 }, { 2, 1, 0 } },      /* BGRA */
    { { 0, 0, 0, 0 }, { 2, 1, 0 } },                              /* read as BGRA */
};

static silkie_status parse(const uint8_t *d, size_t n, const char *what, bmp_info *bi,
                           uint64_t *data_off)
{
    if (n < 18) return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated file header", what);
    uint64_t off = le32(d + 10);
    uint32_t hsize = le32(d + 14);
    if (hsize != 12 && hsize != 40 && hsize != 64 && hsize != 108 && hsize != 124)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE,
                       "%s: unsupported header size %u (want 12, 40, 64, 108 or 124)", what,
                       hsize);
    if (n - 14 < hsize) return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated info header", what);
    const uint8_t *h = d + 14;
    uint64_t pos = 14 + (uint64_t)hsize, height;
    uint32_t comp = BMP_RGB, colors = 0, entry = 4;
    if (hsize == 12) {
        bi->width = le16(h + 4);
        height = le16(h + 6);
        bi->bits = le16(h + 10);
        entry = 3;
    } else {
        bi->width = le32(h + 4);
        uint32_t hr = le32(h + 8);
        bi->top_down = h[11] == 0xFF;
        height = bi->top_down ? 0x100000000ull - hr : hr;
        bi->bits = le16(h + 14);
        comp = le32(h + 16);
        colors = le32(h + 32);
    }
    SK_CHECK(silkie_image_check_dims(what, bi->width, height));
    bi->height = (uint32_t)height;
    uint32_t b = bi->bits;
    if (b != 1 && b != 4 && b != 8 && b != 16 && b != 24 && b != 32)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: unsupported bit depth %u", what, b);

    if (comp == BMP_RLE8 || comp == BMP_RLE4)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE,
                       "%s: RLE-compressed bitmaps (BI_RLE%u) are not supported", what,
                       comp == BMP_RLE8 ? 8 : 4);
    if (comp != BMP_RGB && comp != BMP_BITFIELDS)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: unsupported compression %u", what, comp);
    bi->layout = b <= 8 ? LAYOUT_PALETTE : b == 16 ? LAYOUT_555 : LAYOUT_BYTES;
    bi->r_at = 2, bi->g_at = 1, bi->b_at = 0;
    if (comp == BMP_BITFIELDS) {
        uint32_t m[4] = { 0, 0, 0, 0 };
        if (hsize > 40) {
            for (int i = 0; i < 4; i++) m[i] = le32(h + 40 + 4 * i);
        } else {
            /* A 40-byte header keeps three masks after it; its fourth is not alpha. */
            if (n - pos < 12) return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated masks", what);
            for (int i = 0; i < 3; i++) m[i] = le32(d + pos + 4 * (uint64_t)i);
            pos += 12;
        }
        int ok = 0;
        if (b == 32) {
            for (size_t i = 0; i < SK_ARRAY_LEN(k_masks32) && !ok; i++) {
                if (memcmp(m, k_masks32[i].mask, sizeof m) != 0) continue;
                bi->r_at = k_masks32[i].at[0], bi->g_at = k_masks32[i].at[1];
                bi->b_at = k_masks32[i].at[2];
                ok = 1;
            }
        } else if (b == 24) {
            ok = m[0] == 0xFF0000 && m[1] == 0xFF00 && m[2] == 0xFF;
        } else if (b == 16) {
            ok = (m[0] == 0xF800 && m[1] == 0x7E0 && m[2] == 0x1F) ||
                 (m[0] == 0x7C00 && m[1] == 0x3E0 && m[2] == 0x1F);
            if (m[0] == 0xF800) bi->layout = LAYOUT_565;
        }
        if (!ok)
            return SK_FAIL(SILKIE_ERR_BAD_IMAGE,
                           "%s: unsupported %u-bit BI_BITFIELDS masks %08x %08x %08x %08x",
                           what, b, m[0], m[1], m[2], m[3]);
    }

    if (b <= 8) {
        if (colors == 0) colors = 1u << b;
        if (off == 14 + (uint64_t)hsize) off += 4 * (uint64_t)colors; /* as Pillow, 4 even for 3 */
        if (colors > 256)
            return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: palette of %u colours (at most 256)", what,
                           colors);
        if ((n - pos) / entry < colors)
            return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated palette", what);
        for (uint32_t i = 0; i < 256; i++)
            bi->lut[i][0] = bi->lut[i][1] = bi->lut[i][2] = (uint8_t)i;
        for (uint32_t i = 0; i < colors; i++) {
            const uint8_t *p = d + pos + (uint64_t)i * entry;
            bi->lut[i][0] = p[2], bi->lut[i][1] = p[1], bi->lut[i][2] = p[0];
        }
        pos += (uint64_t)colors * entry;
    }
    /* A zero offset means the pixels follow the headers and palette. */
    *data_off = off ? off : pos;
    return SILKIE_OK;
}

static void convert_row(const bmp_info *bi, const uint8_t *s, uint8_t *o)
{
    uint32_t w = bi->width;
    switch (bi->layout) {
    case LAYOUT_PALETTE:
        for (uint32_t x = 0; x < w; x++, o += 3) {
            uint32_t i = bi->bits == 8   ? s[x]
                         : bi->bits == 4 ? (uint32_t)(s[x >> 1] >> (x & 1 ? 0 : 4)) & 15
                                         : (uint32_t)(s[x >> 3] >> (7 - (x & 7))) & 1;
            memcpy(o, bi->lut[i], 3);
        }
        break;
    case LAYOUT_555:
    case LAYOUT_565:
        for (uint32_t x = 0; x < w; x++, o += 3) {
            uint32_t v = le16(s + 2 * (size_t)x);
            if (bi->layout == LAYOUT_565) {
                o[0] = (uint8_t)((v >> 11 & 31) * 255 / 31);
                o[1] = (uint8_t)((v >> 5 & 63) * 255 / 63);
            } else {
                o[0] = (uint8_t)((v >> 10 & 31) * 255 / 31);
                o[1] = (uint8_t)((v >> 5 & 31) * 255 / 31);
            }
            o[2] = (uint8_t)((v & 31) * 255 / 31);
        }
        break;
    case LAYOUT_BYTES: {
        size_t step = bi->bits / 8;
        for (uint32_t x = 0; x < w; x++, o += 3, s += step) {
            o[0] = s[bi->r_at], o[1] = s[bi->g_at], o[2] = s[bi->b_at];
        }
        break;
    }
    }
}

silkie_status silkie_bmp_decode(const uint8_t *data, size_t size, const char *name,
                                silkie_image *img)
{
    if (!data || !img) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "bmp: data, img required");
    char what[160];
    sk_image_what(what, sizeof what, name, "bmp");
    if (silkie_image_sniff(data, size) != SILKIE_IMAGE_KIND_BMP)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: no BM signature", what);
    bmp_info *bi = SK_NEW(bmp_info);
    if (!bi) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: %zu bytes", what, sizeof *bi);
    uint64_t off = 0;
    silkie_status st = parse(data, size, what, bi, &off);
    if (st == SILKIE_OK) {
        /* Rows are padded to 4 bytes; the last one may stop at its last pixel. */
        uint64_t row_bytes = ((uint64_t)bi->width * bi->bits + 7) / 8;
        uint64_t stride = ((uint64_t)bi->width * bi->bits + 31) / 32 * 4;
        uint64_t need = stride * (bi->height - 1) + row_bytes;
        if (off > size || size - off < need)
            st = SK_FAIL(SILKIE_ERR_BAD_IMAGE,
                         "%s: truncated: %llu bytes of pixel data at offset %llu, file has %zu",
                         what, (unsigned long long)need, (unsigned long long)off, size);
        if (st == SILKIE_OK) st = silkie_image_reserve(img, bi->width, bi->height, 3);
        for (uint32_t r = 0; st == SILKIE_OK && r < bi->height; r++) {
            uint32_t y = bi->top_down ? r : bi->height - 1 - r;
            convert_row(bi, data + off + stride * r, img->data + (size_t)y * bi->width * 3);
        }
    }
    silkie_free(bi);
    if (st != SILKIE_OK) img->width = img->height = 0;
    else img->exif_orientation = 1;
    return st;
}
