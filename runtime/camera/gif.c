/* GIF decode: the first image only, with Pillow 9.4's reading rules (GifImagePlugin), so that
 * the pixels match Image.open(f).convert("RGB"):
 * - the canvas is the logical screen, grown to contain the first image if it sticks out, and
 *   filled with the transparent index of the last graphic control extension before the image,
 *   or with index 0 (the background colour index is not used);
 * - the local palette wins over the global one; indices past the palette's end, or every index
 *   when there is no palette at all, give grey (i, i, i);
 * - bytes that start no known block are skipped one at a time;
 * - image data that ends (end code or last sub-block) before every pixel is set is an error,
 *   while nothing after the last pixel is needed.
 * The LZW decoder is written here (about a hundred lines, every read bounds-checked), so no
 * library is involved and all the memory it needs is its fixed 4096-entry table. */
#include "camera/camera_int.h"

#define LZW_MAX_CODES 4096

/* An LZW code of at most 12 bits expands to at most 4096 pixels and needs a table that grew
 * past it, so a byte of image data yields at most 8 * 4096 / 12 < 2731 pixels. Less data than
 * that for the image's size is refused before the canvas is allocated. */
#define LZW_MAX_PIXELS_PER_BYTE 2731u

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

/* Image data sub-blocks read as one bit stream. */
typedef struct bit_reader {
    const uint8_t *d;
    size_t n, pos;   /* pos: next byte of the file */
    uint32_t left;   /* bytes left in the current sub-block */
    int ended;       /* the zero-length terminator (or the file's end) was reached */
    int truncated;   /* the file ended inside the sub-block chain */
    uint32_t acc, n_bits;
} bit_reader;

static int next_byte(bit_reader *br, uint32_t *out)
{
    while (br->left == 0) {
        if (br->ended) return 0;
        if (br->pos >= br->n) {
            br->ended = br->truncated = 1;
            return 0;
        }
        br->left = br->d[br->pos++];
        if (br->left == 0) {
            br->ended = 1;
            return 0;
        }
    }
    if (br->pos >= br->n) {
        br->ended = br->truncated = 1;
        return 0;
    }
    br->left--;
    *out = br->d[br->pos++];
    return 1;
}

static int read_code(bit_reader *br, uint32_t width, uint32_t *code)
{
    while (br->n_bits < width) {
        uint32_t b;
        if (!next_byte(br, &b)) return 0;
        br->acc |= b << br->n_bits;
        br->n_bits += 8;
    }
    *code = br->acc & ((1u << width) - 1);
    br->acc >>= width;
    br->n_bits -= width;
    return 1;
}

/* Bytes of image data in the sub-block chain starting at pos (as far as the file goes). */
static uint64_t data_bytes(const uint8_t *d, size_t n, size_t pos)
{
    uint64_t sum = 0;
    while (pos < n && d[pos] != 0) {
        sum += SK_MIN((size_t)d[pos], n - pos - 1);
        pos += 1 + (size_t)d[pos];
    }
    return sum;
}

typedef struct gif_frame {
    uint32_t canvas_w, canvas_h;
    uint32_t x0, y0, w, h;
    int interlaced;
    uint32_t min_code_size;
    uint8_t lut[256][3];
} gif_frame;

/* Where the next row of an interlaced image goes: passes start at rows 0, 4, 2, 1 and step
 * 8, 8, 4, 2. */
static uint32_t next_row(const gif_frame *f, uint32_t row, uint32_t *pass)
{
    static const uint32_t start[4] = { 0, 4, 2, 1 }, step[4] = { 8, 8, 4, 2 };
    if (!f->interlaced) return row + 1;
    row += step[*pass];
    while (row >= f->h && *pass < 3) row = start[++*pass];
    return row;
}

static silkie_status lzw_decode(const gif_frame *f, bit_reader *br, const char *what,
                                silkie_image *img)
{
    uint16_t prefix[LZW_MAX_CODES];
    uint8_t suffix[LZW_MAX_CODES], first[LZW_MAX_CODES];
    uint8_t stack[LZW_MAX_CODES + 1];
    const uint32_t clear = 1u << f->min_code_size, end = clear + 1;
    uint32_t width = f->min_code_size + 1, next = clear + 2, prev = LZW_MAX_CODES;
    for (uint32_t i = 0; i < clear; i++) prefix[i] = 0, suffix[i] = first[i] = (uint8_t)i;

    uint64_t done = 0, total = (uint64_t)f->w * f->h;
    uint32_t x = 0, y = 0, pass = 0;
    while (done < total) {
        uint32_t code;
        if (!read_code(br, width, &code)) break;
        if (code == clear) {
            width = f->min_code_size + 1, next = clear + 2, prev = LZW_MAX_CODES;
            continue;
        }
        if (code == end) break;
        uint32_t top = 0, c = code;
        if (prev == LZW_MAX_CODES) {
            if (code >= clear)
                return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: corrupt LZW data (code %u first)",
                               what, code);
        } else if (code > next || (code == next && next >= LZW_MAX_CODES)) {
            return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: corrupt LZW data (code %u, table %u)", what,
                           code, next);
        } else if (code == next) {
            stack[top++] = first[prev]; /* the code being defined: prev's string + its first */
            c = prev;
        }
        /* Unwind the string (at most 4096 long: each entry is one longer than its prefix). */
        while (c >= clear && top < LZW_MAX_CODES) stack[top++] = suffix[c], c = prefix[c];
        if (c >= clear) return SK_FAIL(SILKIE_ERR_INTERNAL, "%s: LZW string too long", what);
        stack[top++] = (uint8_t)c;
        if (prev != LZW_MAX_CODES && next < LZW_MAX_CODES) {
            prefix[next] = (uint16_t)prev;
            suffix[next] = (uint8_t)c;
            first[next] = first[prev];
            next++;
            /* Deferred clear: at 4096 entries the table and width stay as they are. */
            if (next == (1u << width) && width < 12) width++;
        }
        prev = code;
        while (top > 0 && done < total) {
            const uint8_t *rgb = f->lut[stack[--top]];
            memcpy(img->data + (((size_t)f->y0 + y) * f->canvas_w + f->x0 + x) * 3, rgb, 3);
            done++;
            if (++x == f->w) x = 0, y = next_row(f, y, &pass);
        }
    }
    if (done < total)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: %s after %llu of %llu pixels", what,
                       br->truncated ? "truncated" : "image data ends", (unsigned long long)done,
                       (unsigned long long)total);
    return SILKIE_OK;
}

/* Reads up to the first image descriptor and its palette; *pos ends at the LZW code size. */
static silkie_status parse(const uint8_t *d, size_t n, const char *what, gif_frame *f,
                           size_t *pos_out, uint32_t *fill)
{
    if (n < 13) return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated header", what);
    uint32_t sw = le16(d + 6), sh = le16(d + 8), flags = d[10];
    size_t pos = 13;
    const uint8_t *global = NULL;
    size_t global_n = 0;
    if (flags & 0x80) {
        global_n = (size_t)2 << (flags & 7);
        if ((n - pos) / 3 < global_n)
            return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated global palette", what);
        global = d + pos;
        pos += 3 * global_n;
    }
    int transparent = -1;
    for (;;) {
        if (pos >= n) return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated before any image", what);
        uint8_t tag = d[pos++];
        if (tag == ';') return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: no image in the file", what);
        if (tag == '!') {
            if (pos >= n) return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated extension", what);
            uint8_t label = d[pos++];
            for (int first_block = 1;; first_block = 0) {
                if (pos >= n)
                    return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated extension", what);
                size_t len = d[pos++];
                if (len == 0) break;
                if (n - pos < len)
                    return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated extension", what);
                if (label == 0xF9 && first_block && (d[pos] & 1)) {
                    if (len < 4)
                        return SK_FAIL(SILKIE_ERR_BAD_IMAGE,
                                       "%s: graphic control extension of %zu bytes", what, len);
                    transparent = d[pos + 3];
                }
                pos += len;
            }
            continue;
        }
        if (tag != ',') continue; /* Pillow skips stray bytes too */
        if (n - pos < 9)
            return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated image descriptor", what);
        f->x0 = le16(d + pos), f->y0 = le16(d + pos + 2);
        f->w = le16(d + pos + 4), f->h = le16(d + pos + 6);
        uint32_t iflags = d[pos + 8];
        pos += 9;
        f->interlaced = (iflags & 0x40) != 0;
        const uint8_t *pal = global;
        size_t pal_n = global_n;
        if (iflags & 0x80) {
            pal_n = (size_t)2 << (iflags & 7);
            if ((n - pos) / 3 < pal_n)
                return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated local palette", what);
            pal = d + pos;
            pos += 3 * pal_n;
        }
        for (uint32_t i = 0; i < 256; i++) f->lut[i][0] = f->lut[i][1] = f->lut[i][2] = (uint8_t)i;
        for (size_t i = 0; pal && i < pal_n; i++) memcpy(f->lut[i], pal + 3 * i, 3);
        break;
    }
    if (f->w == 0 || f->h == 0)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: empty first image %ux%u", what, f->w, f->h);
    f->canvas_w = SK_MAX(sw, f->x0 + f->w);
    f->canvas_h = SK_MAX(sh, f->y0 + f->h);
    SK_CHECK(silkie_image_check_dims(what, f->canvas_w, f->canvas_h));
    if (pos >= n) return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated image data", what);
    f->min_code_size = d[pos++];
    if (f->min_code_size < 1 || f->min_code_size > 8)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: LZW code size %u (want 1..8)", what,
                       f->min_code_size);
    *pos_out = pos;
    *fill = transparent >= 0 ? (uint32_t)transparent : 0;
    return SILKIE_OK;
}

silkie_status silkie_gif_decode(const uint8_t *data, size_t size, const char *name,
                                silkie_image *img)
{
    if (!data || !img) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gif: data, img required");
    char what[160];
    sk_image_what(what, sizeof what, name, "gif");
    if (silkie_image_sniff(data, size) != SILKIE_IMAGE_KIND_GIF)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: no GIF87a/GIF89a signature", what);
    gif_frame *f = SK_NEW(gif_frame);
    if (!f) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: %zu bytes", what, sizeof *f);
    size_t pos = 0;
    uint32_t fill = 0;
    silkie_status st = parse(data, size, what, f, &pos, &fill);
    if (st == SILKIE_OK) {
        uint64_t avail = data_bytes(data, size, pos);
        if ((uint64_t)f->w * f->h > avail * LZW_MAX_PIXELS_PER_BYTE + LZW_MAX_CODES)
            st = SK_FAIL(SILKIE_ERR_BAD_IMAGE,
                         "%s: truncated or corrupt: %llu bytes of image data cannot hold %ux%u "
                         "pixels", what, (unsigned long long)avail, f->w, f->h);
    }
    if (st == SILKIE_OK) st = silkie_image_reserve(img, f->canvas_w, f->canvas_h, 3);
    if (st == SILKIE_OK) {
        /* The canvas may be 64 MP for a few bytes of file: fill it by doubling copies, not a
         * call per pixel (seconds in a sanitizer build, found by fuzz_image). */
        const size_t bytes = (size_t)f->canvas_w * f->canvas_h * 3;
        memcpy(img->data, f->lut[fill], 3);
        for (size_t done = 3; done < bytes; done *= 2)
            memcpy(img->data + done, img->data, SK_MIN(done, bytes - done));
        bit_reader br = { .d = data, .n = size, .pos = pos };
        st = lzw_decode(f, &br, what, img);
    }
    silkie_free(f);
    if (st != SILKIE_OK) img->width = img->height = 0;
    else img->exif_orientation = 1;
    return st;
}
