/* PNG, WebP, BMP and GIF input:
 * - every fixture of tests/data/image/formats/ decodes to Pillow 9.4's convert("RGB") pixels
 *   (hashes in formats_expect.txt, made by gen_image_formats.py), through the dispatcher and
 *   through its own decoder, and is recognised by its magic bytes;
 * - every truncation of every fixture is refused with SILKIE_ERR_BAD_IMAGE and a message
 *   naming the file, or (only when the cut is in the second half, after the pixel data)
 *   decodes to exactly the full file's pixels;
 * - hostile headers (giant or zero sizes, bad masks, corrupt LZW, bad CRC, RLE) are refused
 *   before the image buffer is allocated where the header alone tells, and a zTXt chunk that
 *   inflates to 24 MiB is refused by libspng's chunk limits;
 * - the golden photo's JPEG decode, written as 8-bit PNG, 16-bit PNG, lossless WebP and 24-bit
 *   BMP, decodes to the same bytes and preprocesses to the same 448x448 and model-size
 *   tensors (the latter equal to the golden pixel_values), also through a still-file camera;
 * - a directory source delivers the new formats and classifies broken ones;
 * - every allocation failing in turn gives a status and leaks nothing. */
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <webp/encode.h>

#include "camera/camera.h"
#include "image_test_util.h"
#include "ref/ref_image.h"

/* Fewer entries than this means the manifest or the fixture folder went missing. */
#define MIN_FIXTURES 80

typedef struct fixture {
    char name[96];
    uint32_t w, h;
    uint64_t hash;
    uint8_t *data;
    size_t size;
} fixture;

static fixture g_fx[160];
static size_t g_nfx;
static char g_tmp[256];

static silkie_image_kind kind_of(const char *name)
{
    if (!strncmp(name, "png_", 4)) return SILKIE_IMAGE_KIND_PNG;
    if (!strncmp(name, "webp_", 5)) return SILKIE_IMAGE_KIND_WEBP;
    if (!strncmp(name, "bmp_", 4)) return SILKIE_IMAGE_KIND_BMP;
    if (!strncmp(name, "gif_", 4)) return SILKIE_IMAGE_KIND_GIF;
    return SILKIE_IMAGE_KIND_UNKNOWN;
}

static silkie_status decode_as(silkie_image_kind k, const uint8_t *d, size_t n, const char *name,
                               silkie_image *img)
{
    switch (k) {
    case SILKIE_IMAGE_KIND_PNG: return silkie_png_decode(d, n, name, img);
    case SILKIE_IMAGE_KIND_WEBP: return silkie_webp_decode(d, n, name, img);
    case SILKIE_IMAGE_KIND_BMP: return silkie_bmp_decode(d, n, name, img);
    case SILKIE_IMAGE_KIND_GIF: return silkie_gif_decode(d, n, name, img);
    default: return silkie_image_decode(NULL, d, n, name, img);
    }
}

static void load_fixtures(void)
{
    size_t n = 0;
    char *text = sk_read_file(sk_image_fixture("formats_expect.txt"), &n);
    SK_TEST_CHECK(text != NULL, "formats_expect.txt missing");
    if (!text) return;
    char *save = NULL;
    text = silkie_realloc(text, n + 1);
    text[n] = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || g_nfx == SK_ARRAY_LEN(g_fx)) continue;
        fixture *f = &g_fx[g_nfx];
        unsigned long long h;
        if (sscanf(line, "%95s %u %u %llx", f->name, &f->w, &f->h, &h) != 4) continue;
        f->hash = h;
        char rel[160];
        snprintf(rel, sizeof rel, "formats/%s", f->name);
        f->data = sk_read_file(sk_image_fixture(rel), &f->size);
        SK_TEST_CHECK(f->data != NULL, "fixture %s missing", f->name);
        if (f->data) g_nfx++;
    }
    silkie_free(text);
    SK_TEST_CHECK(g_nfx >= MIN_FIXTURES, "only %zu fixtures", g_nfx);
}

static void test_fixtures(void)
{
    silkie_image img;
    silkie_image_init(&img);
    size_t same = 0;
    for (size_t i = 0; i < g_nfx; i++) {
        const fixture *f = &g_fx[i];
        silkie_image_kind k = kind_of(f->name);
        SK_TEST_CHECK(silkie_image_sniff(f->data, f->size) == k, "%s: sniffed as %s", f->name,
                      silkie_image_kind_name(silkie_image_sniff(f->data, f->size)));
        for (int direct = 0; direct < 2; direct++) {
            silkie_status st = direct ? decode_as(k, f->data, f->size, f->name, &img)
                                      : silkie_image_decode(NULL, f->data, f->size, f->name, &img);
            SK_TEST_CHECK(st == SILKIE_OK, "%s: %s: %s", f->name, silkie_status_name(st),
                          silkie_last_error());
            if (st != SILKIE_OK) continue;
            SK_TEST_CHECK(img.width == f->w && img.height == f->h && img.channels == 3,
                          "%s: %ux%ux%u, Pillow %ux%u", f->name, img.width, img.height,
                          img.channels, f->w, f->h);
            if (img.width != f->w || img.height != f->h) continue;
            uint64_t h = sk_fnv1a64(img.data, (size_t)f->w * f->h * 3);
            SK_TEST_CHECK(h == f->hash, "%s: pixels differ from Pillow (hash %016llx, want "
                          "%016llx)", f->name, (unsigned long long)h,
                          (unsigned long long)f->hash);
            if (h == f->hash && !direct) same++;
        }
    }
    printf("fixtures: %zu of %zu decode to Pillow 9.4's pixels\n", same, g_nfx);
    silkie_image_release(&img);
}

/* Every prefix of every fixture, each in an allocation of exactly its size so the sanitizers
 * catch any read past the end. */
static void test_truncations(void)
{
    silkie_image img, full;
    silkie_image_init(&img);
    silkie_image_init(&full);
    uint64_t refused = 0, accepted = 0, runs = 0;
    for (size_t i = 0; i < g_nfx; i++) {
        const fixture *f = &g_fx[i];
        if (silkie_image_decode(NULL, f->data, f->size, f->name, &full) != SILKIE_OK) continue;
        size_t nbytes = (size_t)full.width * full.height * 3;
        size_t min_ok = f->size;
        for (size_t cut = 0; cut < f->size; cut++) {
            uint8_t *buf = silkie_malloc(cut ? cut : 1);
            if (!buf) break;
            memcpy(buf, f->data, cut);
            silkie_status st = silkie_image_decode(NULL, buf, cut, f->name, &img);
            runs++;
            if (st == SILKIE_OK) {
                accepted++;
                min_ok = SK_MIN(min_ok, cut);
                SK_TEST_CHECK(cut > f->size / 2 && img.width == full.width &&
                                  img.height == full.height &&
                                  memcmp(img.data, full.data, nbytes) == 0,
                              "%s cut at %zu of %zu: accepted with other pixels", f->name, cut,
                              f->size);
            } else {
                refused++;
                SK_TEST_CHECK(st == SILKIE_ERR_BAD_IMAGE && strstr(silkie_last_error(), f->name),
                              "%s cut at %zu: %s: %s", f->name, cut, silkie_status_name(st),
                              silkie_last_error());
                SK_TEST_CHECK(img.width == 0 && img.height == 0, "%s cut at %zu: size left set",
                              f->name, cut);
            }
            silkie_free(buf);
        }
        if (min_ok < f->size)
            printf("  %-28s %5zu bytes: accepted from %zu bytes on (trailer only)\n", f->name,
                   f->size, min_ok);
    }
    printf("truncations: %llu cuts, %llu refused, %llu accepted with identical pixels\n",
           (unsigned long long)runs, (unsigned long long)refused,
           (unsigned long long)accepted);
    silkie_image_release(&img);
    silkie_image_release(&full);
}

/* ---- hostile inputs ------------------------------------------------------------------------ */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static void put_le16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, v & 0xFFFF);
    put_le16(p + 2, v >> 16);
}

static const fixture *find_fixture(const char *name)
{
    for (size_t i = 0; i < g_nfx; i++)
        if (!strcmp(g_fx[i].name, name)) return &g_fx[i];
    SK_TEST_CHECK(0, "fixture %s missing", name);
    return NULL;
}

/* A copy of a fixture to patch; caller frees. */
static uint8_t *copy_of(const char *name, size_t *n)
{
    const fixture *f = find_fixture(name);
    if (!f) return NULL;
    uint8_t *d = silkie_malloc(f->size);
    if (d) memcpy(d, f->data, f->size), *n = f->size;
    return d;
}

/* Expects SILKIE_ERR_BAD_IMAGE with `word` in a message naming "hostile", and, when the header
 * alone tells, no pixel buffer. */
static void expect_bad(const char *what, const uint8_t *d, size_t n, const char *word,
                       int no_buffer)
{
    silkie_image img;
    silkie_image_init(&img);
    silkie_status st = silkie_image_decode(NULL, d, n, "hostile", &img);
    const char *msg = silkie_last_error();
    SK_TEST_CHECK(st == SILKIE_ERR_BAD_IMAGE && strstr(msg, "hostile") && strstr(msg, word),
                  "%s: %s: %s (want BAD_IMAGE mentioning '%s')", what, silkie_status_name(st),
                  msg, word);
    if (no_buffer) SK_TEST_CHECK(img.data == NULL, "%s: pixel buffer allocated", what);
    printf("  %-34s -> %s\n", what, msg);
    silkie_image_release(&img);
}

static void png_fix_crc(uint8_t *chunk)
{
    uint32_t len = (uint32_t)chunk[0] << 24 | (uint32_t)chunk[1] << 16 |
                   (uint32_t)chunk[2] << 8 | chunk[3];
    /* CRC-32 (PNG / zlib polynomial), bitwise: test code, a few chunks only. */
    uint32_t c = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < len + 4; i++) {
        c ^= chunk[4 + i];
        for (int k = 0; k < 8; k++) c = c >> 1 ^ (0xEDB88320u & (0u - (c & 1)));
    }
    put_be32(chunk + 8 + len, c ^ 0xFFFFFFFFu);
}

static void test_hostile_png(void)
{
    size_t n = 0;
    uint8_t *d = copy_of("png_rgb8.png", &n);
    if (!d) return;
    /* IHDR at 8: length, "IHDR", width at 16, height at 20. */
    put_be32(d + 16, 20000);
    png_fix_crc(d + 8);
    expect_bad("png 20000 wide", d, n, "exceeds", 1);
    put_be32(d + 16, 16384), put_be32(d + 20, 4096);
    png_fix_crc(d + 8);
    expect_bad("png 64 MP from 300 bytes of IDAT", d, n, "cannot hold", 1);
    put_be32(d + 16, 0);
    png_fix_crc(d + 8);
    expect_bad("png zero width", d, n, "png", 1);
    put_be32(d + 16, 19), put_be32(d + 20, 13);
    d[24] = 7; /* bit depth */
    png_fix_crc(d + 8);
    expect_bad("png bit depth 7", d, n, "png", 1);
    d[24] = 8;
    d[30] ^= 1; /* CRC no longer matches */
    expect_bad("png IHDR CRC", d, n, "checksum", 1);
    silkie_free(d);

    d = copy_of("png_p8.png", &n);
    if (!d) return;
    for (size_t i = 8; i + 8 < n; i++)
        if (!memcmp(d + i, "PLTE", 4)) {
            memcpy(d + i, "xLTE", 4); /* now an unknown ancillary chunk */
            png_fix_crc(d + i - 4);
        }
    expect_bad("png palette without PLTE", d, n, "PLTE", 1);
    silkie_free(d);

    d = copy_of("png_rgb16.png", &n);
    if (!d) return;
    for (size_t i = 8; i + 8 < n; i++)
        if (!memcmp(d + i, "IDAT", 4)) {
            d[i + 4 + 3] ^= 0x55; /* zlib data of the first IDAT, CRC fixed: a bad stream */
            png_fix_crc(d + i - 4);
            break;
        }
    expect_bad("png corrupt deflate", d, n, "png", 0);
    silkie_free(d);
}

/* A 1x1 PNG with a zTXt chunk of `text_bytes` bytes that compress to almost nothing. */
static uint8_t *png_with_ztxt(size_t text_bytes, size_t *n)
{
    static const uint8_t px[3] = { 1, 2, 3 };
    char *text = malloc(text_bytes + 1); /* libspng takes the text NUL-terminated */
    spng_ctx *enc = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ih = { .width = 1, .height = 1, .bit_depth = 8,
                            .color_type = SPNG_COLOR_TYPE_TRUECOLOR };
    struct spng_text t = { .keyword = "Comment", .type = SPNG_ZTXT, .length = text_bytes,
                           .text = text };
    int e = enc && text ? spng_set_option(enc, SPNG_ENCODE_TO_BUFFER, 1) : SPNG_EMEM;
    if (text) memset(text, 'y', text_bytes), text[text_bytes] = 0;
    if (!e) e = spng_set_ihdr(enc, &ih);
    if (!e) e = spng_set_text(enc, &t, 1);
    if (!e) e = spng_encode_image(enc, px, sizeof px, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    uint8_t *out = NULL;
    if (!e) {
        void *png = spng_get_png_buffer(enc, n, &e);
        if (png && (out = silkie_malloc(*n))) memcpy(out, png, *n);
        free(png);
    }
    SK_TEST_CHECK(out != NULL, "zTXt PNG: %s", spng_strerror(e));
    spng_ctx_free(enc);
    free(text);
    return out;
}

static void test_png_text_bomb(void)
{
    size_t n = 0;
    uint8_t *small = png_with_ztxt(1000, &n);
    silkie_image img;
    silkie_image_init(&img);
    if (small) {
        SK_TEST_OK(silkie_image_decode(NULL, small, n, "text.png", &img));
        SK_TEST_CHECK(img.width == 1 && img.data[2] == 3, "zTXt PNG pixels");
    }
    silkie_free(small);
    silkie_image_release(&img);
    uint8_t *bomb = png_with_ztxt((size_t)24 << 20, &n);
    if (bomb) {
        printf("  24 MiB of zTXt in %zu bytes\n", n);
        expect_bad("png zTXt bomb", bomb, n, "limits", 1);
    }
    silkie_free(bomb);
}

static void test_hostile_bmp(void)
{
    size_t n = 0;
    uint8_t *d = copy_of("bmp_24.bmp", &n);
    if (!d) return;
    /* File header 14 bytes; info header: width at 18, height at 22, bits at 28, comp at 30. */
    put_le32(d + 18, 0);
    expect_bad("bmp zero width", d, n, "empty", 1);
    put_le32(d + 18, 0xFFFFFFFEu);
    expect_bad("bmp width -2", d, n, "exceeds", 1);
    put_le32(d + 18, 16384), put_le32(d + 22, 4096);
    expect_bad("bmp 64 MP in 800 bytes", d, n, "truncated", 1);
    put_le32(d + 22, 0x80000000u);
    expect_bad("bmp height INT_MIN", d, n, "exceeds", 1);
    put_le32(d + 18, 19), put_le32(d + 22, 13);
    put_le16(d + 28, 2);
    expect_bad("bmp 2 bits", d, n, "bit depth", 1);
    put_le16(d + 28, 24), put_le32(d + 30, 1);
    expect_bad("bmp RLE8", d, n, "RLE", 1);
    put_le32(d + 30, 4);
    expect_bad("bmp BI_JPEG", d, n, "compression", 1);
    put_le32(d + 30, 3); /* bit fields with masks 0, 0, 0 read from the pixels */
    expect_bad("bmp 24-bit odd masks", d, n, "BI_BITFIELDS", 1);
    put_le32(d + 30, 0);
    put_le32(d + 10, (uint32_t)n);
    expect_bad("bmp offset at the end", d, n, "truncated", 1);
    put_le32(d + 10, 0xFFFFFFF0u);
    expect_bad("bmp offset past the end", d, n, "truncated", 1);
    put_le32(d + 14, 52);
    expect_bad("bmp header size 52", d, n, "header size", 1);
    silkie_free(d);
    d = copy_of("bmp_8.bmp", &n);
    if (!d) return;
    put_le32(d + 46, 300);
    expect_bad("bmp 300 colours", d, n, "palette", 1);
    put_le32(d + 46, 0);
    expect_bad("bmp truncated palette", d, 100, "palette", 1);
    silkie_free(d);
    static const uint8_t bm_text[] = "BM is not a bitmap";
    expect_bad("text starting with BM", bm_text, sizeof bm_text - 1, "header size", 1);
}

static void test_hostile_gif(void)
{
    size_t n = 0;
    uint8_t *d = copy_of("gif_global.gif", &n);
    if (!d) return;
    put_le16(d + 6, 65535), put_le16(d + 8, 65535);
    expect_bad("gif 65535x65535 screen", d, n, "exceeds", 1);
    put_le16(d + 6, 19), put_le16(d + 8, 13);
    /* Global palette of 256: the image descriptor is at 13 + 768. */
    size_t desc = 13 + 768;
    SK_TEST_CHECK(d[desc] == ',', "gif layout");
    if (d[desc] == ',') {
        put_le16(d + desc + 5, 16384), put_le16(d + desc + 7, 4096);
        expect_bad("gif 64 MP image from 300 bytes", d, n, "cannot hold", 1);
        put_le16(d + desc + 5, 0);
        expect_bad("gif empty image", d, n, "empty", 1);
        put_le16(d + desc + 5, 19), put_le16(d + desc + 7, 13);
        d[desc + 10] = 9;
        expect_bad("gif LZW code size 9", d, n, "code size", 1);
        d[desc + 10] = 0;
        expect_bad("gif LZW code size 0", d, n, "code size", 1);
        d[desc + 10] = 8;
        /* First data byte: the clear code (256, 9 bits) is followed by code 300 > table. */
        uint8_t *lzw = d + desc + 12;
        lzw[0] = 0x00, lzw[1] = 0x59, lzw[2] = 0x02; /* 256, then 300 (bits 9..17) */
        expect_bad("gif LZW code past the table", d, n, "corrupt LZW", 0);
        lzw[0] = 0x00, lzw[1] = 0x03, lzw[2] = 0x02; /* 256, 257 = end code at once */
        expect_bad("gif end code before the pixels", d, n, "image data ends", 0);
    }
    static const uint8_t no_image[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    expect_bad("gif without an image", no_image, sizeof no_image - 1, "no image", 1);
    static const uint8_t short_gce[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00!\xf9\x02\x01\x00\x00,";
    expect_bad("gif 2-byte graphic control", short_gce, sizeof short_gce - 1, "graphic", 1);
    silkie_free(d);
}

static void test_hostile_webp(void)
{
    size_t n = 0;
    uint8_t *d = copy_of("webp_lossless.webp", &n);
    if (!d) return;
    /* Simple lossless file: RIFF(12) "VP8L"(4) size(4) 0x2f, then 14-bit width-1, height-1. */
    SK_TEST_CHECK(!memcmp(d + 12, "VP8L", 4) && d[20] == 0x2f, "webp layout");
    if (!memcmp(d + 12, "VP8L", 4)) {
        uint32_t bits = (uint32_t)d[21] | (uint32_t)d[22] << 8 | (uint32_t)d[23] << 16 |
                        (uint32_t)d[24] << 24;
        uint32_t big = (bits & ~0x0FFFFFFFu) | 16382u | 16382u << 14;
        put_le32(d + 21, big);
        expect_bad("webp 16383x16383", d, n, "exceeds", 1);
        put_le32(d + 21, bits);
    }
    put_le32(d + 4, 0x7FFFFFF0u);
    expect_bad("webp RIFF size past the end", d, n, "truncated", 1);
    put_le32(d + 4, (uint32_t)n - 8);
    memcpy(d + 12, "VP9L", 4);
    expect_bad("webp unknown first chunk", d, n, "webp", 1);
    silkie_free(d);
    d = copy_of("webp_lossy.webp", &n);
    if (!d) return;
    for (size_t i = n / 2; i < n; i += 3) d[i] ^= 0xA5;
    silkie_image img;
    silkie_image_init(&img);
    silkie_status st = silkie_image_decode(NULL, d, n, "hostile", &img);
    /* VP8 has no checksum: corrupt coefficients may still decode; never anything else. */
    SK_TEST_CHECK(st == SILKIE_OK || st == SILKIE_ERR_BAD_IMAGE, "webp corrupt: %s",
                  silkie_status_name(st));
    silkie_image_release(&img);
    silkie_free(d);
    static const uint8_t junk[] = "RIFF\x04\x00\x00\x00WEBP";
    expect_bad("webp empty RIFF", junk, sizeof junk - 1, "webp", 1);
    expect_bad("unknown bytes", (const uint8_t *)"\x00\x01\x02\x03", 4, "not a JPEG", 1);
}

/* ---- the golden photo in lossless formats ------------------------------------------------- */

static uint8_t *encode_png(const uint8_t *rgb, uint32_t w, uint32_t h, int sixteen, size_t *n)
{
    size_t len = (size_t)w * h * 3 * (sixteen ? 2 : 1);
    uint8_t *buf = silkie_malloc(len);
    if (!buf) return NULL;
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        if (!sixteen) {
            buf[i] = rgb[i];
        } else {
            /* Any low byte: Pillow keeps the high one. */
            uint16_t v = (uint16_t)(rgb[i] << 8 | (i * 97 & 255));
            memcpy(buf + 2 * i, &v, 2); /* libspng takes host-endian samples */
        }
    }
    spng_ctx *enc = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ih = { .width = w, .height = h, .bit_depth = sixteen ? 16 : 8,
                            .color_type = SPNG_COLOR_TYPE_TRUECOLOR };
    int e = enc ? spng_set_option(enc, SPNG_ENCODE_TO_BUFFER, 1) : SPNG_EMEM;
    if (!e) e = spng_set_ihdr(enc, &ih);
    if (!e) e = spng_encode_image(enc, buf, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    uint8_t *out = NULL;
    if (!e) {
        void *png = spng_get_png_buffer(enc, n, &e);
        if (png && (out = silkie_malloc(*n))) memcpy(out, png, *n);
        free(png);
    }
    SK_TEST_CHECK(!e, "libspng encode: %s", spng_strerror(e));
    spng_ctx_free(enc);
    silkie_free(buf);
    return out;
}

static uint8_t *encode_webp_lossless(const uint8_t *rgb, uint32_t w, uint32_t h, size_t *n)
{
    uint8_t *webp = NULL;
    *n = WebPEncodeLosslessRGB(rgb, (int)w, (int)h, (int)w * 3, &webp);
    uint8_t *out = *n ? silkie_malloc(*n) : NULL;
    if (out) memcpy(out, webp, *n);
    WebPFree(webp);
    SK_TEST_CHECK(out != NULL, "libwebp lossless encode");
    return out;
}

static uint8_t *encode_bmp24(const uint8_t *rgb, uint32_t w, uint32_t h, size_t *n)
{
    size_t stride = ((size_t)w * 3 + 3) & ~(size_t)3;
    *n = 54 + stride * h;
    uint8_t *b = silkie_calloc(1, *n);
    if (!b) return NULL;
    b[0] = 'B', b[1] = 'M';
    put_le32(b + 2, (uint32_t)*n), put_le32(b + 10, 54), put_le32(b + 14, 40);
    put_le32(b + 18, w), put_le32(b + 22, h), put_le16(b + 26, 1), put_le16(b + 28, 24);
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *s = rgb + (size_t)(h - 1 - y) * w * 3; /* bottom-up */
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) b[54 + y * stride + x * 3 + c] = s[x * 3 + 2 - c];
    }
    return b;
}

/* CHW floats of the session's preprocess: Pillow BICUBIC to size x size, CLIP normalise. */
static float *preprocess(const uint8_t *rgb, uint32_t w, uint32_t h, uint32_t size)
{
    uint8_t *resized = silkie_malloc((size_t)size * size * 3);
    float *chw = silkie_malloc((size_t)size * size * 3 * sizeof(float));
    if (resized && chw &&
        silkie_ref_resize_bicubic(rgb, w, h, 3, w * 3, resized, size, size) == SILKIE_OK) {
        silkie_ref_rgb_to_chw(resized, size, size, silkie_clip_mean, silkie_clip_std, chw);
    } else {
        silkie_free(chw);
        chw = NULL;
    }
    silkie_free(resized);
    return chw;
}

static void test_golden(void)
{
    const char *shared = sk_shared_dir();
    if (!shared) {
        fprintf(stderr, "note: shared dir missing, golden PNG check skipped\n");
        return;
    }
    char path[1024];
    size_t jn = 0, en = 0;
    snprintf(path, sizeof path, "%s/golden/tiny-a/hopper.jpg", shared);
    uint8_t *jpg = sk_read_file(path, &jn);
    snprintf(path, sizeof path, "%s/golden/tiny-a/expected.safetensors", shared);
    uint8_t *exp = sk_read_file(path, &en);
    SK_TEST_CHECK(jpg && exp, "golden files missing");
    size_t pn = 0;
    const uint8_t *pv_bytes = exp ? sk_safetensors_find(exp, en, "pixel_values", &pn) : NULL;
    uint32_t model_size = 0;
    while ((size_t)(model_size + 1) * (model_size + 1) * 3 * 4 <= pn) model_size++;
    SK_TEST_CHECK(pv_bytes && (size_t)model_size * model_size * 12 == pn,
                  "pixel_values missing");
    float *pv = pv_bytes ? silkie_malloc(pn) : NULL; /* aligned copy */
    if (pv) memcpy(pv, pv_bytes, pn);
    silkie_image ref, img;
    silkie_image_init(&ref), silkie_image_init(&img);
    if (!jpg || !pv || silkie_image_decode(NULL, jpg, jn, "hopper.jpg", &ref) != SILKIE_OK) {
        SK_TEST_CHECK(0, "golden JPEG decode: %s", silkie_last_error());
        goto out;
    }
    uint32_t w = ref.width, h = ref.height;
    float *ref448 = preprocess(ref.data, w, h, 448);
    struct { const char *name; uint8_t *data; size_t size; } v[4] = {
        { "hopper.png", NULL, 0 }, { "hopper16.png", NULL, 0 }, { "hopper.webp", NULL, 0 },
        { "hopper.bmp", NULL, 0 } };
    v[0].data = encode_png(ref.data, w, h, 0, &v[0].size);
    v[1].data = encode_png(ref.data, w, h, 1, &v[1].size);
    v[2].data = encode_webp_lossless(ref.data, w, h, &v[2].size);
    v[3].data = encode_bmp24(ref.data, w, h, &v[3].size);
    for (size_t k = 0; k < SK_ARRAY_LEN(v); k++) {
        if (!v[k].data) continue;
        SK_TEST_OK(silkie_image_decode(NULL, v[k].data, v[k].size, v[k].name, &img));
        if (img.width != w || img.height != h) {
            SK_TEST_CHECK(0, "%s: %ux%u", v[k].name, img.width, img.height);
            continue;
        }
        size_t diff = 0;
        for (size_t i = 0; i < (size_t)w * h * 3; i++) diff += img.data[i] != ref.data[i];
        float *t448 = preprocess(img.data, w, h, 448);
        float *tm = preprocess(img.data, w, h, model_size);
        int same448 = t448 && ref448 && !memcmp(t448, ref448, (size_t)448 * 448 * 12);
        double dmax = tm ? sk_max_abs_diff(pv, tm, (uint64_t)pn / 4) : 1e9;
        printf("golden %-12s %7zu bytes: %zu of %zu bytes differ from the JPEG decode, 448x448 "
               "tensor %s, %ux%u vs pixel_values max |d| %g\n", v[k].name, v[k].size, diff,
               (size_t)w * h * 3, same448 ? "identical" : "DIFFERS", model_size, model_size,
               dmax);
        SK_TEST_CHECK(diff == 0 && same448 && dmax <= 1e-6, "%s: not the JPEG's pixels",
                      v[k].name);
        silkie_free(t448);
        silkie_free(tm);
    }
    /* The same PNG as a still file through the camera layer. */
    snprintf(path, sizeof path, "%s/hopper.png", g_tmp);
    FILE *fp = v[0].data ? fopen(path, "wb") : NULL;
    if (fp) {
        fwrite(v[0].data, 1, v[0].size, fp);
        fclose(fp);
        silkie_camera *cam = NULL;
        SK_TEST_OK(silkie_camera_open_file(path, NULL, &cam));
        silkie_frame f;
        if (cam && silkie_camera_acquire(cam, 0, &f) == SILKIE_OK) {
            SK_TEST_CHECK(f.width == w && f.height == h && f.stride == w * 3 &&
                              !memcmp(f.data, ref.data, (size_t)w * h * 3),
                          "camera still: PNG frame differs");
            silkie_camera_release(cam, &f);
        } else {
            SK_TEST_CHECK(0, "camera still: %s", silkie_last_error());
        }
        silkie_camera_destroy(cam);
    }
    for (size_t k = 0; k < SK_ARRAY_LEN(v); k++) silkie_free(v[k].data);
    silkie_free(ref448);
out:
    silkie_image_release(&ref), silkie_image_release(&img);
    silkie_free(pv);
    silkie_free(jpg);
    silkie_free(exp);
}

/* ---- camera directory source, allocation failures ------------------------------------------ */

static void write_tmp(const char *name, const void *d, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_tmp, name);
    sk_write_file(path, d, n);
}

static void test_dir_source(void)
{
    static const char *names[] = { "png_rgba16_i.png", "gif_interlaced.gif", "bmp_32_v5_rgba.bmp",
                                   "webp_lossy_alpha.webp" };
    char dir[300];
    snprintf(dir, sizeof dir, "%s/frames", g_tmp);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    SK_TEST_CHECK(system(cmd) == 0, "mkdir");
    for (size_t i = 0; i < SK_ARRAY_LEN(names); i++) {
        const fixture *f = find_fixture(names[i]);
        if (!f) return;
        char name[160];
        snprintf(name, sizeof name, "frames/%zu_%s", i, f->name);
        write_tmp(name, f->data, f->size);
        snprintf(name, sizeof name, "frames/%zu_cut_%s", i, f->name);
        write_tmp(name, f->data, f->size / 2); /* truncated */
    }
    const fixture *bmp = find_fixture("bmp_24.bmp");
    if (!bmp) return;
    uint8_t rle[64];
    memcpy(rle, bmp->data, sizeof rle);
    put_le32(rle + 30, 1);
    write_tmp("frames/9_rle.bmp", rle, sizeof rle); /* corrupt: unsupported */
    silkie_camera *cam = NULL;
    SK_TEST_OK(silkie_camera_open_dir(dir, NULL, &cam));
    if (!cam) return;
    silkie_frame fr;
    uint32_t n = 0;
    silkie_status st;
    while ((st = silkie_camera_acquire(cam, 0, &fr)) == SILKIE_OK) {
        const fixture *f = n < SK_ARRAY_LEN(names) ? find_fixture(names[n]) : NULL;
        uint64_t h = sk_fnv1a64(fr.data, (size_t)fr.width * fr.height * 3);
        SK_TEST_CHECK(f && fr.width == f->w && fr.height == f->h && h == f->hash,
                      "dir frame %u differs from Pillow", n);
        silkie_camera_release(cam, &fr);
        n++;
    }
    SK_TEST_STATUS(st, SILKIE_ERR_END_OF_STREAM);
    silkie_camera_stats s;
    SK_TEST_OK(silkie_camera_stats_get(cam, &s));
    printf("dir source: %u delivered, truncated %llu, corrupt %llu\n", n,
           (unsigned long long)s.skipped[SILKIE_SKIP_TRUNCATED],
           (unsigned long long)s.skipped[SILKIE_SKIP_CORRUPT]);
    SK_TEST_CHECK(n == SK_ARRAY_LEN(names) && s.skipped[SILKIE_SKIP_TRUNCATED] == 4 &&
                      s.skipped[SILKIE_SKIP_CORRUPT] == 1 && s.frames_skipped == 5,
                  "dir: %u delivered, %llu skipped", n, (unsigned long long)s.frames_skipped);
    silkie_camera_destroy(cam);
}

static void test_alloc_failures(void)
{
    static const char *names[] = { "png_rgba16_i.png", "png_p4_short.png", "webp_anim_offset.webp",
                                   "bmp_8.bmp", "gif_offset_trns.gif" };
    for (size_t i = 0; i < SK_ARRAY_LEN(names); i++) {
        const fixture *f = find_fixture(names[i]);
        if (!f) continue;
        uint32_t n_ok = 0, n_oom = 0;
        for (uint64_t n = 1; n < 200 && n_ok < 3; n++) {
            int64_t live = silkie_alloc_live();
            silkie_image img;
            silkie_image_init(&img);
            silkie_alloc_fail_at(n);
            silkie_status st = silkie_image_decode(NULL, f->data, f->size, f->name, &img);
            silkie_alloc_fail_at(0);
            SK_TEST_CHECK(st == SILKIE_OK || st == SILKIE_ERR_OUT_OF_MEMORY,
                          "%s, allocation %llu failing: %s (%s)", f->name,
                          (unsigned long long)n, silkie_status_name(st), silkie_last_error());
            if (st == SILKIE_OK)
                SK_TEST_CHECK(sk_fnv1a64(img.data, (size_t)f->w * f->h * 3) == f->hash,
                              "%s: pixels after allocation %llu failed", f->name,
                              (unsigned long long)n);
            silkie_image_release(&img);
            SK_TEST_CHECK(silkie_alloc_live() == live, "%s, allocation %llu failing: leak",
                          f->name, (unsigned long long)n);
            if (st == SILKIE_OK) n_ok++;
            else n_oom++;
        }
        SK_TEST_CHECK(n_oom > 0 && n_ok > 0, "%s sweep: %u oom, %u ok", f->name, n_oom, n_ok);
    }
}

int main(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/silkie_test_formats_XXXXXX");
    SK_TEST_CHECK(mkdtemp(g_tmp) != NULL, "mkdtemp");
    load_fixtures();
    test_fixtures();
    test_truncations();
    test_hostile_png();
    test_png_text_bomb();
    test_hostile_bmp();
    test_hostile_gif();
    test_hostile_webp();
    test_golden();
    test_dir_source();
    test_alloc_failures();
    for (size_t i = 0; i < g_nfx; i++) silkie_free(g_fx[i].data);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", g_tmp);
    SK_TEST_CHECK(silkie_alloc_live() == 0, "%lld allocations leaked",
                  (long long)silkie_alloc_live());
    return sk_test_result("test_image_formats");
}
