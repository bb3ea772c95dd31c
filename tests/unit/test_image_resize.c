/* CPU reference of the preprocessing: Pillow BICUBIC resize bit for bit (golden photo and
 * synthetic cases whose expected hashes came from Pillow 9.4), CLIP normalisation to
 * pixel_values within 1e-6, and the YUV conversion formula. */
#include <stdio.h>
#include <stdlib.h>

#include "image_test_util.h"
#include "ref/ref_image.h"

static void test_golden(void)
{
    const char *shared = sk_shared_dir();
    if (!shared) return;
    char path[1024];
    size_t en = 0;
    snprintf(path, sizeof path, "%s/golden/tiny-a/expected.safetensors", shared);
    uint8_t *exp = sk_read_file(path, &en);
    SK_TEST_CHECK(exp != NULL, "expected.safetensors missing");
    if (!exp) return;
    size_t rn = 0, zn = 0, pn = 0;
    const uint8_t *rgb = sk_safetensors_find(exp, en, "image_rgb", &rn);
    const uint8_t *resized = sk_safetensors_find(exp, en, "image_resized_rgb", &zn);
    const uint8_t *pv = sk_safetensors_find(exp, en, "pixel_values", &pn);
    SK_TEST_CHECK(rgb && resized && pv && pn == 3 * 112 * 112 * 4, "tensors missing");
    if (rgb && resized && pv) {
        uint8_t *out = silkie_malloc(zn);
        SK_TEST_OK(silkie_ref_resize_bicubic(rgb, 512, 600, 3, 512 * 3, out, 112, 112));
        size_t diff = 0;
        for (size_t i = 0; i < zn; i++) diff += out[i] != resized[i];
        SK_TEST_CHECK(diff == 0, "resize: %zu of %zu bytes differ from Pillow", diff, zn);
        float *chw = silkie_malloc(pn), *want = silkie_malloc(pn);
        memcpy(want, pv, pn);
        silkie_ref_rgb_to_chw(resized, 112, 112, silkie_clip_mean, silkie_clip_std, chw);
        double md = sk_max_abs_diff(want, chw, pn / 4);
        printf("pixel_values max |diff| %.3g\n", md);
        SK_TEST_CHECK(md <= 1e-6, "pixel_values max diff %g", md);
        silkie_free(chw);
        silkie_free(want);
        silkie_free(out);
    }
    silkie_free(exp);
}

static void test_pillow_cases(void)
{
    FILE *f = fopen(sk_image_fixture("resize_expect.txt"), "r");
    SK_TEST_CHECK(f != NULL, "resize_expect.txt missing");
    if (!f) return;
    char line[256];
    int n_cases = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned w, h, ow, oh;
        unsigned long long want;
        if (line[0] == '#' || sscanf(line, "%u %u %u %u %llx", &w, &h, &ow, &oh, &want) != 5)
            continue;
        uint8_t *src = sk_synth_rgb(w, h);
        uint8_t *dst = silkie_malloc((size_t)ow * oh * 3);
        SK_TEST_OK(silkie_ref_resize_bicubic(src, w, h, 3, w * 3, dst, ow, oh));
        uint64_t got = sk_fnv1a64(dst, (size_t)ow * oh * 3);
        SK_TEST_CHECK(got == want, "%ux%u -> %ux%u: hash %016llx, Pillow %016llx", w, h, ow, oh,
                      (unsigned long long)got, want);
        silkie_free(src);
        silkie_free(dst);
        n_cases++;
    }
    fclose(f);
    SK_TEST_CHECK(n_cases >= 10, "only %d cases", n_cases);
}

static void test_tables(void)
{
    silkie_resize_axis a;
    /* Every table's weights sum to about 2^22 and stay inside the input. */
    const uint32_t sizes[][2] = { { 600, 112 }, { 30, 112 }, { 1, 448 }, { 1920, 448 }, { 7, 7 } };
    for (size_t k = 0; k < SK_ARRAY_LEN(sizes); k++) {
        SK_TEST_OK(silkie_ref_resize_axis_init(&a, sizes[k][0], sizes[k][1]));
        for (uint32_t o = 0; o < a.out_size; o++) {
            int32_t x0 = a.bounds[2 * o], n = a.bounds[2 * o + 1];
            int64_t s = 0;
            for (int32_t i = 0; i < n; i++) s += a.weights[(size_t)o * a.ksize + i];
            SK_TEST_CHECK(x0 >= 0 && n >= 1 && (uint32_t)(x0 + n) <= a.in_size &&
                              (uint32_t)n <= a.ksize && llabs(s - (1 << 22)) < 64,
                          "%u->%u out %u: x0 %d n %d sum %lld", sizes[k][0], sizes[k][1], o, x0,
                          n, (long long)s);
        }
        silkie_ref_resize_axis_release(&a);
    }
    SK_TEST_STATUS(silkie_ref_resize_axis_init(&a, 0, 5), SILKIE_ERR_INVALID_ARGUMENT);
}

static void test_yuv(void)
{
    uint8_t rgb[3];
    silkie_ref_yuv_pixel(16, 128, 128, rgb);
    SK_TEST_CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 0, "black");
    silkie_ref_yuv_pixel(235, 128, 128, rgb);
    SK_TEST_CHECK(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255, "white");
    /* Limited-range red (BT.601): Y 81, U 90, V 240. */
    silkie_ref_yuv_pixel(81, 90, 240, rgb);
    SK_TEST_CHECK(rgb[0] >= 254 && rgb[1] <= 1 && rgb[2] <= 1, "red %u %u %u", rgb[0], rgb[1],
                  rgb[2]);
    /* YUYV and NV12 of the same content agree when chroma is constant per 2x2 block. */
    enum { W = 6, H = 4 };
    uint8_t yuyv[W * 2 * H], nv12[W * H + W * H / 2], a[W * H * 3], b[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t Y = (uint8_t)(20 + x * 30 + y * 5), U = (uint8_t)(60 + (x / 2) * 40),
                    V = (uint8_t)(200 - (y / 2) * 50);
            yuyv[y * W * 2 + x * 2] = Y;
            yuyv[y * W * 2 + (x & ~1) * 2 + 1] = U;
            yuyv[y * W * 2 + (x & ~1) * 2 + 3] = V;
            nv12[y * W + x] = Y;
            nv12[W * H + (y / 2) * W + (x & ~1)] = U;
            nv12[W * H + (y / 2) * W + (x & ~1) + 1] = V;
        }
    SK_TEST_OK(silkie_ref_yuv_to_rgb(1, yuyv, W * 2, W, H, a));
    SK_TEST_OK(silkie_ref_yuv_to_rgb(2, nv12, W, W, H, b));
    SK_TEST_CHECK(memcmp(a, b, sizeof a) == 0, "yuyv and nv12 disagree");
    SK_TEST_STATUS(silkie_ref_yuv_to_rgb(1, yuyv, W * 2, 5, H, a), SILKIE_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    test_golden();
    test_pillow_cases();
    test_tables();
    test_yuv();
    SK_TEST_CHECK(silkie_alloc_live() == 0, "%lld allocations leaked",
                  (long long)silkie_alloc_live());
    return sk_test_result("test_image_resize");
}
