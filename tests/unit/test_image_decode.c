/* JPEG / PPM decode: the golden photo against PIL's decode, grey / CMYK / EXIF fixtures made
 * with Pillow, scaled DCT decode accuracy, and hostile inputs returning statuses. */
#include <stdio.h>
#include <stdlib.h>

#include "camera/camera.h"
#include "image_test_util.h"
#include "ref/ref_image.h"

static silkie_jpeg_decoder *g_dec;

static void test_golden(void)
{
    const char *shared = sk_shared_dir();
    if (!shared) {
        fprintf(stderr, "note: shared dir missing, golden decode skipped\n");
        return;
    }
    char path[1024];
    size_t jn = 0, en = 0;
    snprintf(path, sizeof path, "%s/golden/tiny-a/hopper.jpg", shared);
    uint8_t *jpg = sk_read_file(path, &jn);
    snprintf(path, sizeof path, "%s/golden/tiny-a/expected.safetensors", shared);
    uint8_t *exp = sk_read_file(path, &en);
    SK_TEST_CHECK(jpg && exp, "golden files missing");
    if (!jpg || !exp) goto out;
    size_t rn = 0, zn = 0;
    const uint8_t *rgb = sk_safetensors_find(exp, en, "image_rgb", &rn);
    const uint8_t *resized = sk_safetensors_find(exp, en, "image_resized_rgb", &zn);
    SK_TEST_CHECK(rgb && rn == 600 * 512 * 3, "image_rgb missing");
    SK_TEST_CHECK(resized && zn == 112 * 112 * 3, "image_resized_rgb missing");
    if (!rgb || !resized) goto out;

    silkie_image img;
    silkie_image_init(&img);
    SK_TEST_OK(silkie_jpeg_decode(g_dec, jpg, jn, NULL, &img));
    SK_TEST_CHECK(img.width == 512 && img.height == 600 && img.channels == 3, "size %ux%ux%u",
                  img.width, img.height, img.channels);
    if (img.width == 512 && img.height == 600) {
        size_t diff = 0;
        for (size_t i = 0; i < rn; i++) diff += img.data[i] != rgb[i];
        SK_TEST_CHECK(diff == 0, "%zu of %zu bytes differ from PIL's decode", diff, rn);
    }
    /* Decoding twice into the same buffer must not reallocate. */
    uint8_t *before = img.data;
    SK_TEST_OK(silkie_jpeg_decode(g_dec, jpg, jn, NULL, &img));
    SK_TEST_CHECK(img.data == before, "buffer reallocated for a same-size frame");

    /* DCT-scaled decode: measured, not required to match (documented in docs/CAMERA.md). */
    uint8_t *out = silkie_malloc(112 * 112 * 3);
    for (uint32_t mn = 448; mn >= 56; mn /= 2) {
        silkie_jpeg_decode_opts o = { .min_width = mn, .min_height = mn };
        SK_TEST_OK(silkie_jpeg_decode(g_dec, jpg, jn, &o, &img));
        SK_TEST_OK(silkie_ref_resize_bicubic(img.data, img.width, img.height, 3, img.width * 3,
                                             out, 112, 112));
        double sum = 0;
        int mx = 0;
        for (size_t i = 0; i < zn; i++) {
            int d = abs((int)out[i] - (int)resized[i]);
            sum += d;
            mx = d > mx ? d : mx;
        }
        printf("scaled decode min %u -> %ux%u: vs image_resized_rgb mean |d| %.3f max %d\n", mn,
               img.width, img.height, sum / zn, mx);
        if (mn >= 112) SK_TEST_CHECK(img.width >= mn && img.height >= mn, "scaled too far");
    }
    silkie_free(out);
    silkie_image_release(&img);
out:
    silkie_free(jpg);
    silkie_free(exp);
}

static void compare_fixture(const char *jpg_name, const char *ppm_name, int orient,
                            uint32_t want_orientation)
{
    size_t jn = 0, pn = 0;
    uint8_t *jpg = sk_read_file(sk_image_fixture(jpg_name), &jn);
    uint8_t *ppm = sk_read_file(sk_image_fixture(ppm_name), &pn);
    SK_TEST_CHECK(jpg && ppm, "fixture %s missing", jpg_name);
    if (jpg && ppm) {
        silkie_image a, b, scratch;
        silkie_image_init(&a), silkie_image_init(&b), silkie_image_init(&scratch);
        SK_TEST_OK(silkie_jpeg_decode(g_dec, jpg, jn, NULL, &a));
        SK_TEST_CHECK(a.exif_orientation == want_orientation, "%s: orientation %u", jpg_name,
                      a.exif_orientation);
        SK_TEST_OK(silkie_ppm_decode(ppm, pn, 0, &b));
        SK_TEST_CHECK(a.width == b.width && a.height == b.height, "%s: size", jpg_name);
        if (a.width == b.width && a.height == b.height) {
            size_t n = (size_t)a.width * a.height * 3, diff = 0;
            for (size_t i = 0; i < n; i++) diff += a.data[i] != b.data[i];
            SK_TEST_CHECK(diff == 0, "%s: %zu of %zu bytes differ from Pillow", jpg_name, diff,
                          n);
        }
        if (orient) {
            /* Orientation 6 rotates 90 degrees clockwise: stored (x, y) -> (h-1-y, x). */
            uint32_t w = a.width, h = a.height;
            SK_TEST_OK(silkie_image_orient(&a, want_orientation, &scratch));
            SK_TEST_CHECK(a.width == h && a.height == w, "rotated size");
            int bad = 0;
            for (uint32_t y = 0; y < h && !bad; y++)
                for (uint32_t x = 0; x < w && !bad; x++)
                    bad = memcmp(a.data + ((size_t)x * h + (h - 1 - y)) * 3,
                                 b.data + ((size_t)y * w + x) * 3, 3) != 0;
            SK_TEST_CHECK(!bad, "rotation by EXIF 6 misplaced pixels");
        }
        silkie_image_release(&a), silkie_image_release(&b), silkie_image_release(&scratch);
    }
    silkie_free(jpg);
    silkie_free(ppm);
}

static void test_ppm(void)
{
    silkie_image img;
    silkie_image_init(&img);
    static const uint8_t p6[] = "P6\n# comment\n2 1\n255\n\x01\x02\x03\x04\x05\x06";
    SK_TEST_OK(silkie_ppm_decode(p6, sizeof p6 - 1, 0, &img));
    SK_TEST_CHECK(img.width == 2 && img.height == 1 && img.data[5] == 6, "p6 content");
    static const uint8_t p5[] = "P5 2 2 255\n\x00\x40\x80\xff";
    SK_TEST_OK(silkie_ppm_decode(p5, sizeof p5 - 1, 0, &img));
    SK_TEST_CHECK(img.channels == 3 && img.data[3] == 0x40 && img.data[5] == 0x40, "p5 expand");
    static const uint8_t p5m[] = "P5 1 1 15\n\x0f";
    SK_TEST_OK(silkie_ppm_decode(p5m, sizeof p5m - 1, 0, &img));
    SK_TEST_CHECK(img.data[0] == 255, "maxval scaling");
    /* Hostile headers. */
    static const char *bad[] = { "P6\n2 1\n255\n\x01\x02\x03", "P6\n0 1\n255\n",
                                 "P6\n100000 100000\n255\n", "P6\n4294967296 1\n255\n",
                                 "P6\n2 1\n65535\n", "P6\n2", "P6 -1 2 255\n", "P3 1 1 255\n1 2 3",
                                 "" };
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++)
        SK_TEST_STATUS(silkie_ppm_decode((const uint8_t *)bad[i], strlen(bad[i]), 0, &img),
                       SILKIE_ERR_BAD_IMAGE);
    silkie_image_release(&img);
}

/* Writes a big-endian 16-bit value. */
static void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void test_hostile_jpeg(void)
{
    silkie_image img;
    silkie_image_init(&img);
    uint8_t *rgb = sk_synth_rgb(64, 48);
    size_t n = 0;
    uint8_t *jpg = sk_encode_jpeg(rgb, 64, 48, 85, &n);
    SK_TEST_CHECK(jpg != NULL, "encode");
    if (jpg) {
        SK_TEST_OK(silkie_jpeg_decode(g_dec, jpg, n, NULL, &img));
        /* Truncations at many points: never OK with garbage, never a crash. */
        for (size_t cut = 0; cut < n; cut += 37) {
            silkie_status st = silkie_jpeg_decode(g_dec, jpg, cut, NULL, &img);
            SK_TEST_CHECK(st == SILKIE_ERR_BAD_IMAGE, "truncated at %zu: %s", cut,
                          silkie_status_name(st));
        }
        /* Patch the SOF dimensions: zero and giant. */
        uint8_t *mod = silkie_malloc(n);
        size_t sof = 0;
        for (size_t i = 2; i + 9 < n; i++)
            if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) { sof = i; break; }
        SK_TEST_CHECK(sof != 0, "no SOF0");
        if (sof && mod) {
            const uint32_t dims[][2] = { { 0, 48 }, { 64, 0 }, { 65000, 65000 }, { 16385, 16 },
                                         { 9000, 9000 } };
            for (size_t k = 0; k < SK_ARRAY_LEN(dims); k++) {
                memcpy(mod, jpg, n);
                be16(mod + sof + 5, dims[k][1]);
                be16(mod + sof + 7, dims[k][0]);
                uint64_t allocs = silkie_alloc_count();
                SK_TEST_STATUS(silkie_jpeg_decode(g_dec, mod, n, NULL, &img), SILKIE_ERR_BAD_IMAGE);
                /* Refused from the header: no image buffer was allocated. */
                SK_TEST_CHECK(silkie_alloc_count() == allocs, "allocated for %ux%u", dims[k][0],
                              dims[k][1]);
            }
            /* Corrupt entropy data. */
            memcpy(mod, jpg, n);
            for (size_t i = n / 2; i < n - 2; i += 7) mod[i] ^= 0x5A;
            silkie_status st = silkie_jpeg_decode(g_dec, mod, n, NULL, &img);
            SK_TEST_CHECK(st == SILKIE_ERR_BAD_IMAGE || st == SILKIE_OK, "corrupt: %s",
                          silkie_status_name(st));
        }
        silkie_free(mod);
    }
    static const uint8_t junk[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00 };
    SK_TEST_STATUS(silkie_jpeg_decode(g_dec, junk, sizeof junk, NULL, &img), SILKIE_ERR_BAD_IMAGE);
    SK_TEST_STATUS(silkie_jpeg_decode(g_dec, (const uint8_t *)"GIF89a", 6, NULL, &img),
                   SILKIE_ERR_BAD_IMAGE);
    SK_TEST_CHECK(silkie_exif_orientation(junk, sizeof junk) == 1, "exif on junk");
    silkie_free(jpg);
    silkie_free(rgb);
    silkie_image_release(&img);
}

int main(void)
{
    SK_TEST_OK(silkie_jpeg_decoder_create(&g_dec));
    if (!g_dec) return sk_test_result("test_image_decode");
    test_golden();
    compare_fixture("grey16.jpg", "grey16_rgb.ppm", 0, 1);
    compare_fixture("cmyk16.jpg", "cmyk16_rgb.ppm", 0, 1);
    compare_fixture("exif6.jpg", "exif6_rgb.ppm", 1, 6);
    test_ppm();
    test_hostile_jpeg();
    silkie_jpeg_decoder_destroy(g_dec);
    SK_TEST_CHECK(silkie_alloc_live() == 0, "%lld allocations leaked",
                  (long long)silkie_alloc_live());
    return sk_test_result("test_image_decode");
}
