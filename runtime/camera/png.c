/* PNG decode through libspng: no setjmp/longjmp, explicit size and chunk limits, allocations
 * through silkie_malloc. Rows come out in the file's own format (FMT_PNG: deinterlaced, 16-bit
 * host-endian, sub-byte samples packed) and are converted here, because Pillow's rules differ
 * from libspng's conversions for 16-bit grey (clip, not scale) and for palette indices past
 * the end of PLTE (grey ramp, not black). */
#include <spng.h>

#include "camera/camera_int.h"

/* Ancillary chunks (text, ICC profiles, EXIF) are not used; these bound what libspng stores and
 * inflates of them (a 200 KiB zTXt can inflate to 200 MiB), so a file with more fails rather
 * than the process growing. Pillow refuses text and profiles over 1 MiB. IDAT is streamed and
 * not subject to these limits (measured with libspng 0.7.3: a 17 MiB IDAT chunk decodes). */
#define PNG_CHUNK_MAX ((size_t)16 << 20)
#define PNG_CACHE_MAX ((size_t)16 << 20)

/* Deflate expands at most 1032:1 (a 258-byte match in two bits), so IDAT smaller than this
 * fraction of the raw rows is certainly truncated: refuse before allocating the image. */
#define PNG_DEFLATE_MAX_RATIO 1032u

/* libspng reports a failed allocation inside zlib as a stream or init error, so the allocator
 * hooks note failures themselves (per thread: decodes may run on several). */
static _Thread_local int t_alloc_failed;

static void *noted(void *p)
{
    if (!p) t_alloc_failed = 1;
    return p;
}
static void *png_malloc(size_t n) { return noted(silkie_malloc(n)); }
static void *png_realloc(void *p, size_t n) { return noted(silkie_realloc(p, n)); }
static void *png_calloc(size_t n, size_t m) { return noted(silkie_calloc(n, m)); }
static void png_free(void *p) { silkie_free(p); }

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Sum of IDAT payload lengths, walking the chunk list as far as it is intact. */
static uint64_t idat_bytes(const uint8_t *d, size_t n)
{
    uint64_t sum = 0;
    size_t pos = 8;
    while (n - pos >= 12) {
        uint32_t len = be32(d + pos);
        if (memcmp(d + pos + 4, "IDAT", 4) == 0) sum += SK_MIN((uint64_t)len, n - pos - 8);
        if (memcmp(d + pos + 4, "IEND", 4) == 0 || len > n - pos - 12) break;
        pos += 12 + (size_t)len;
    }
    return sum;
}

static silkie_status png_status(int e)
{
    return e == SPNG_EMEM || t_alloc_failed ? SILKIE_ERR_OUT_OF_MEMORY : SILKIE_ERR_BAD_IMAGE;
}

static const char *png_error(int e)
{
    switch (e) {
    case SPNG_IO_EOF:
    case SPNG_EOF:
    case SPNG_EIDAT_TOO_SHORT: return "truncated";
    default: return spng_strerror(e);
    }
}

/* Adam7: first column and column step of each pass. */
static const uint8_t adam7_x0[7] = { 0, 4, 0, 2, 0, 1, 0 };
static const uint8_t adam7_dx[7] = { 8, 8, 4, 4, 2, 2, 1 };

typedef struct png_conv {
    uint32_t width;
    uint8_t color_type, depth;
    uint8_t lut[256][3]; /* palette (and grey scale of sub-byte samples) */
} png_conv;

static uint32_t sample_bits(const uint8_t *row, uint32_t x, uint32_t depth)
{
    size_t bit = (size_t)x * depth;
    return (uint32_t)(row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1u << depth) - 1);
}

static uint32_t sample16(const uint8_t *row, size_t i)
{
    uint16_t v;
    memcpy(&v, row + 2 * i, 2);
    return v;
}

/* Converts the pixels x0, x0 + dx, ... of one decoded row to RGB8. */
static void convert_row(const png_conv *c, const uint8_t *row, uint32_t x0, uint32_t dx,
                        uint8_t *out)
{
    for (uint32_t x = x0; x < c->width; x += dx) {
        uint8_t *o = out + (size_t)x * 3;
        uint32_t r, g, b;
        if (c->color_type == SPNG_COLOR_TYPE_INDEXED ||
            (c->color_type == SPNG_COLOR_TYPE_GRAYSCALE && c->depth < 8)) {
            const uint8_t *p = c->lut[c->depth == 8 ? row[x] : sample_bits(row, x, c->depth)];
            r = p[0], g = p[1], b = p[2];
        } else if (c->depth == 8) {
            static const uint8_t channels[7] = { 1, 0, 3, 0, 2, 0, 4 };
            const uint8_t *p = row + (size_t)x * channels[c->color_type];
            int grey = c->color_type == SPNG_COLOR_TYPE_GRAYSCALE ||
                       c->color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
            r = p[0], g = grey ? p[0] : p[1], b = grey ? p[0] : p[2];
        } else if (c->color_type == SPNG_COLOR_TYPE_GRAYSCALE) {
            r = g = b = SK_MIN(sample16(row, x), 255u); /* Pillow mode "I" clamps */
        } else if (c->color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA) {
            r = g = b = sample16(row, 2 * (size_t)x) >> 8;
        } else {
            size_t ch = c->color_type == SPNG_COLOR_TYPE_TRUECOLOR ? 3 : 4;
            r = sample16(row, ch * x) >> 8;
            g = sample16(row, ch * x + 1) >> 8;
            b = sample16(row, ch * x + 2) >> 8;
        }
        o[0] = (uint8_t)r, o[1] = (uint8_t)g, o[2] = (uint8_t)b;
    }
}

static silkie_status decode(spng_ctx *ctx, const uint8_t *data, size_t size, const char *what,
                            silkie_image *img, uint8_t **row_out)
{
    int e = spng_set_image_limits(ctx, SILKIE_IMAGE_MAX_SIDE, SILKIE_IMAGE_MAX_SIDE);
    if (!e) e = spng_set_chunk_limits(ctx, PNG_CHUNK_MAX, PNG_CACHE_MAX);
    if (!e) e = spng_set_png_buffer(ctx, data, size);
    if (e) return SK_FAIL(SILKIE_ERR_INTERNAL, "%s: libspng setup: %s", what, spng_strerror(e));
    struct spng_ihdr ih;
    e = spng_get_ihdr(ctx, &ih);
    if (e == SPNG_EUSER_WIDTH || e == SPNG_EUSER_HEIGHT)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: exceeds the %ux%u / %u pixel limit", what,
                       SILKIE_IMAGE_MAX_SIDE, SILKIE_IMAGE_MAX_SIDE, SILKIE_IMAGE_MAX_PIXELS);
    if (e) return SK_FAIL(png_status(e), "%s: bad header: %s", what, png_error(e));
    SK_CHECK(silkie_image_check_dims(what, ih.width, ih.height));

    png_conv *c = SK_NEW(png_conv);
    if (!c) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: %zu bytes", what, sizeof *c);
    c->width = ih.width;
    c->color_type = ih.color_type;
    c->depth = ih.bit_depth;
    /* Past PLTE's end (or without PLTE) Pillow's palette is the grey ramp. */
    for (uint32_t i = 0; i < 256; i++) c->lut[i][0] = c->lut[i][1] = c->lut[i][2] = (uint8_t)i;
    if (ih.color_type == SPNG_COLOR_TYPE_INDEXED) {
        struct spng_plte plte;
        e = spng_get_plte(ctx, &plte);
        if (e) {
            silkie_free(c);
            return SK_FAIL(png_status(e), "%s: palette image without a usable PLTE: %s", what,
                           png_error(e));
        }
        for (uint32_t i = 0; i < plte.n_entries && i < 256; i++) {
            c->lut[i][0] = plte.entries[i].red;
            c->lut[i][1] = plte.entries[i].green;
            c->lut[i][2] = plte.entries[i].blue;
        }
    } else if (ih.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ih.bit_depth < 8) {
        uint32_t max = (1u << ih.bit_depth) - 1;
        for (uint32_t i = 0; i <= max; i++)
            c->lut[i][0] = c->lut[i][1] = c->lut[i][2] = (uint8_t)(i * 255 / max);
    }

    static const uint8_t channels[7] = { 1, 0, 3, 1, 2, 0, 4 };
    uint64_t bits_per_pixel = (uint64_t)channels[ih.color_type] * ih.bit_depth;
    size_t row_bytes = (size_t)(((uint64_t)ih.width * bits_per_pixel + 7) / 8);
    uint64_t raw_bytes = (uint64_t)ih.width * ih.height * bits_per_pixel / 8;
    uint64_t idat = idat_bytes(data, size);
    silkie_status st = SILKIE_OK;
    if (raw_bytes > idat * PNG_DEFLATE_MAX_RATIO + PNG_DEFLATE_MAX_RATIO)
        st = SK_FAIL(SILKIE_ERR_BAD_IMAGE,
                     "%s: truncated or corrupt: %llu bytes of IDAT cannot hold %ux%u pixels",
                     what, (unsigned long long)idat, ih.width, ih.height);
    /* This reads every chunk up to the first IDAT, so their errors come before the image
     * buffer is allocated. */
    if (st == SILKIE_OK) {
        e = spng_decode_image(ctx, NULL, 0, SPNG_FMT_PNG, SPNG_DECODE_PROGRESSIVE);
        if (e) st = SK_FAIL(png_status(e), "%s: %s", what, png_error(e));
    }
    if (st == SILKIE_OK) st = silkie_image_reserve(img, ih.width, ih.height, 3);
    uint8_t *row = NULL;
    if (st == SILKIE_OK && !(row = *row_out = silkie_malloc(row_bytes)))
        st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: row of %zu bytes", what, row_bytes);
    /* One row buffer is enough for interlaced files too: each call writes the pixels of one
     * pass into their final columns of the row, and exactly those are converted. Samples of
     * under 8 bits are OR-ed into place (libspng 0.7.3), so the row starts zeroed. */
    while (st == SILKIE_OK) {
        struct spng_row_info ri = { 0 };
        e = spng_get_row_info(ctx, &ri);
        if (e == SPNG_EOI) break; /* the previous row was the last one */
        memset(row, 0, row_bytes);
        if (!e) e = spng_decode_row(ctx, row, row_bytes);
        if (e && e != SPNG_EOI) {
            st = SK_FAIL(png_status(e), "%s: %s in row %u", what, png_error(e), ri.row_num);
            break;
        }
        if (ri.row_num >= ih.height || ri.pass < 0 || ri.pass > 6) {
            st = SK_FAIL(SILKIE_ERR_INTERNAL, "%s: libspng row %u pass %d", what, ri.row_num,
                         ri.pass);
            break;
        }
        int p = ih.interlace_method ? ri.pass : 6;
        uint8_t *out = img->data + (size_t)ri.row_num * 3 * ih.width;
        convert_row(c, row, adam7_x0[p], adam7_dx[p], out);
        if (e == SPNG_EOI) break;
    }
    silkie_free(c);
    return st;
}

silkie_status silkie_png_decode(const uint8_t *data, size_t size, const char *name,
                                silkie_image *img)
{
    if (!data || !img) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "png: data, img required");
    char what[160];
    sk_image_what(what, sizeof what, name, "png");
    if (silkie_image_sniff(data, size) != SILKIE_IMAGE_KIND_PNG)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: no PNG signature", what);
    struct spng_alloc alloc = { png_malloc, png_realloc, png_calloc, png_free };
    t_alloc_failed = 0;
    spng_ctx *ctx = spng_ctx_new2(&alloc, 0);
    if (!ctx) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: libspng context", what);
    uint8_t *row = NULL;
    silkie_status st = decode(ctx, data, size, what, img, &row);
    silkie_free(row);
    spng_ctx_free(ctx);
    if (st != SILKIE_OK) img->width = img->height = 0;
    else img->exif_orientation = 1;
    return st;
}
