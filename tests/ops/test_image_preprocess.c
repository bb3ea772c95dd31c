/* GPU image preprocessing against the CPU reference: bit-exact floats for RGB, GRAY8, YUYV and
 * NV12 frames at several aspect ratios and scale factors, pixel_values of the golden photo,
 * canaries around the output, and replay of a recorded list with a new frame. */
#include <stdio.h>
#include <stdlib.h>

#include "harness_vk.h"
#include "image_test_util.h"
#include "ops/ops_image.h"
#include "ref/ref_image.h"

static silkie_vk_device *g_dev;
static silkie_image_prep *g_prep;

/* CPU expectation for a frame: colour conversion, Pillow resize, LUT normalisation. */
static float *cpu_expect(const silkie_image_prep_input *in, uint32_t ow, uint32_t oh)
{
    uint32_t w = in->width, h = in->height;
    uint8_t *rgb = silkie_malloc((size_t)w * h * 3);
    uint8_t *rs = silkie_malloc((size_t)ow * oh * 3);
    float *chw = silkie_malloc((size_t)ow * oh * 3 * sizeof(float));
    if (in->format == SILKIE_PIXEL_FORMAT_RGB8) {
        for (uint32_t y = 0; y < h; y++)
            memcpy(rgb + (size_t)y * w * 3, in->data + (size_t)y * in->stride, (size_t)w * 3);
    } else if (in->format == SILKIE_PIXEL_FORMAT_GRAY8) {
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
                memset(rgb + ((size_t)y * w + x) * 3, in->data[(size_t)y * in->stride + x], 3);
    } else {
        SK_TEST_OK(silkie_ref_yuv_to_rgb(in->format == SILKIE_PIXEL_FORMAT_YUYV ? 1 : 2, in->data,
                                         in->stride, w, h, rgb));
    }
    SK_TEST_OK(silkie_ref_resize_bicubic(rgb, w, h, 3, w * 3, rs, ow, oh));
    silkie_ref_rgb_to_chw(rs, ow, oh, silkie_clip_mean, silkie_clip_std, chw);
    silkie_free(rgb);
    silkie_free(rs);
    return chw;
}

static float *gpu_run(const silkie_image_prep_input *in, uint32_t ow, uint32_t oh)
{
    const uint32_t ne[4] = { ow, oh, 3, 1 };
    sk_guarded g;
    if (!sk_guarded_alloc(g_dev, SILKIE_DTYPE_F32, ne, &g)) return NULL;
    float *out = silkie_malloc((size_t)ow * oh * 3 * sizeof(float));
    SK_TEST_OK(silkie_image_prep_upload(g_prep, in));
    silkie_op_ctx c;
    if (sk_op_begin(g_dev, &c)) {
        SK_TEST_OK(silkie_op_image_preprocess(&c, g_prep, &g.o.t, NULL, NULL));
        SK_TEST_CHECK(sk_op_run(&c), "run");
    }
    SK_TEST_OK(silkie_tensor_download(&g.o.t, out, (uint64_t)ow * oh * 3 * sizeof(float)));
    SK_TEST_CHECK(sk_guarded_check(&g, "image_preprocess"), "guards");
    sk_guarded_free(&g);
    return out;
}

static void check_case(const char *what, const silkie_image_prep_input *in, uint32_t ow,
                       uint32_t oh)
{
    float *want = cpu_expect(in, ow, oh);
    float *got = gpu_run(in, ow, oh);
    if (want && got) {
        size_t n = (size_t)ow * oh * 3, diff = 0, first = 0;
        for (size_t i = 0; i < n; i++)
            if (memcmp(&want[i], &got[i], sizeof(float)) != 0 && diff++ == 0) first = i;
        SK_TEST_CHECK(diff == 0,
                      "%s %ux%u -> %ux%u: %zu of %zu values differ (first %zu: %g vs %g)",
                      what, in->width, in->height, ow, oh, diff, n, first, want[first],
                      got[first]);
    }
    silkie_free(want);
    silkie_free(got);
}

static void test_rgb_cases(void)
{
    static const uint32_t cases[][4] = {
        { 600, 512, 112, 112 }, { 1920, 1080, 448, 448 }, { 50, 30, 112, 112 },
        { 1, 1, 112, 112 },     { 1, 1, 1, 1 },           { 37, 53, 19, 71 },
        { 112, 90, 112, 45 },   { 300, 1, 7, 3 },         { 7, 300, 448, 5 },
    };
    for (size_t k = 0; k < SK_ARRAY_LEN(cases); k++) {
        uint32_t w = cases[k][0], h = cases[k][1];
        uint8_t *rgb = sk_synth_rgb(w, h);
        silkie_image_prep_input in = { SILKIE_PIXEL_FORMAT_RGB8, w, h, w * 3, rgb,
                                       (size_t)w * h * 3 };
        check_case("rgb", &in, cases[k][2], cases[k][3]);
        silkie_free(rgb);
    }
    /* Padded rows. */
    uint32_t w = 33, h = 17, stride = 33 * 3 + 13;
    uint8_t *rgb = sk_synth_rgb(stride / 3 + 1, h);
    silkie_image_prep_input in = { SILKIE_PIXEL_FORMAT_RGB8, w, h, stride, rgb,
                                   (size_t)stride * h };
    check_case("rgb strided", &in, 28, 28);
    in.format = SILKIE_PIXEL_FORMAT_GRAY8;
    in.stride = w + 5;
    check_case("gray8", &in, 56, 14);
    silkie_free(rgb);
}

static void test_yuv_cases(void)
{
    static const uint32_t cases[][4] = { { 64, 48, 112, 112 }, { 96, 64, 40, 30 },
                                         { 2, 2, 112, 112 } };
    for (size_t k = 0; k < SK_ARRAY_LEN(cases); k++) {
        uint32_t w = cases[k][0], h = cases[k][1];
        /* Random bytes are valid YUYV / NV12 content (including out-of-range luma). */
        size_t n = (size_t)(w * 2 + 4) * h + 64;
        uint8_t *buf = silkie_malloc(n);
        sk_rng r;
        sk_rng_seed(&r, 1234 + k);
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)sk_rng_u32(&r);
        silkie_image_prep_input in = { SILKIE_PIXEL_FORMAT_YUYV, w, h, w * 2 + 4, buf, n };
        check_case("yuyv", &in, cases[k][2], cases[k][3]);
        in.format = SILKIE_PIXEL_FORMAT_NV12;
        in.stride = w + 2;
        check_case("nv12", &in, cases[k][2], cases[k][3]);
        silkie_free(buf);
    }
}

static void test_golden(void)
{
    const char *shared = sk_shared_dir();
    if (!shared) return;
    char path[1024];
    size_t en = 0;
    snprintf(path, sizeof path, "%s/golden/tiny-a/expected.safetensors", shared);
    uint8_t *exp = sk_read_file(path, &en);
    size_t rn = 0, pn = 0;
    const uint8_t *rgb = exp ? sk_safetensors_find(exp, en, "image_rgb", &rn) : NULL;
    const uint8_t *pv = exp ? sk_safetensors_find(exp, en, "pixel_values", &pn) : NULL;
    SK_TEST_CHECK(rgb && pv && pn == 3 * 112 * 112 * 4, "golden tensors missing");
    if (rgb && pv) {
        silkie_image_prep_input in = { SILKIE_PIXEL_FORMAT_RGB8, 512, 600, 512 * 3, rgb, rn };
        check_case("golden", &in, 112, 112);
        float *got = gpu_run(&in, 112, 112);
        float *want = silkie_malloc(pn);
        memcpy(want, pv, pn);
        if (got) {
            double md = sk_max_abs_diff(want, got, pn / 4);
            printf("golden pixel_values max |diff| %.3g\n", md);
            SK_TEST_CHECK(md <= 1e-6, "pixel_values max diff %g", md);
        }
        silkie_free(got);
        silkie_free(want);
    }
    silkie_free(exp);
}

/* A recorded list replayed after uploading a different frame of the same size, reading the
 * frame in place or through a device-local copy. */
static void test_replay(int device_copy)
{
    silkie_image_prep_set_device_copy(g_prep, device_copy);
    uint32_t w = 80, h = 60;
    uint8_t *a = sk_synth_rgb(w, h), *b = sk_synth_rgb(w, h);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) b[i] = (uint8_t)(255 - a[i]);
    silkie_image_prep_input in = { SILKIE_PIXEL_FORMAT_RGB8, w, h, w * 3, a, (size_t)w * h * 3 };
    const uint32_t ne[4] = { 56, 56, 3, 1 };
    silkie_owned_tensor y;
    SK_TEST_OK(silkie_tensor_alloc(g_dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, &y));
    SK_TEST_OK(silkie_image_prep_upload(g_prep, &in));
    silkie_op_ctx c = { g_dev, NULL };
    SK_TEST_OK(silkie_vk_cmd_create(g_dev, &c.cmd));
    SK_TEST_OK(silkie_vk_cmd_begin(c.cmd));
    SK_TEST_OK(silkie_op_image_preprocess(&c, g_prep, &y.t, NULL, NULL));
    SK_TEST_OK(silkie_vk_cmd_end(c.cmd));
    float *got = silkie_malloc(56 * 56 * 3 * 4);
    for (int round = 0; round < 2; round++) {
        in.data = round ? b : a;
        SK_TEST_OK(silkie_image_prep_upload(g_prep, &in));
        SK_TEST_OK(silkie_vk_cmd_submit_wait(c.cmd));
        SK_TEST_OK(silkie_tensor_download(&y.t, got, 56 * 56 * 3 * 4));
        float *want = cpu_expect(&in, 56, 56);
        SK_TEST_CHECK(memcmp(want, got, 56 * 56 * 3 * 4) == 0, "replay round %d (copy %d) differs",
                      round, device_copy);
        silkie_free(want);
    }
    silkie_free(got);
    silkie_vk_cmd_destroy(c.cmd);
    silkie_tensor_free(&y);
    silkie_free(a);
    silkie_free(b);
}

static void test_misuse(void)
{
    uint8_t px[12] = { 0 };
    silkie_image_prep_input in = { SILKIE_PIXEL_FORMAT_YUYV, 3, 2, 0, px, sizeof px };
    SK_TEST_STATUS(silkie_image_prep_upload(g_prep, &in), SILKIE_ERR_BAD_IMAGE); /* odd width */
    in = (silkie_image_prep_input){ SILKIE_PIXEL_FORMAT_RGB8, 4, 2, 0, px, sizeof px };
    SK_TEST_STATUS(silkie_image_prep_upload(g_prep, &in), SILKIE_ERR_BAD_IMAGE); /* too short */
    in.width = 0;
    SK_TEST_STATUS(silkie_image_prep_upload(g_prep, &in), SILKIE_ERR_BAD_IMAGE);
    in = (silkie_image_prep_input){ SILKIE_PIXEL_FORMAT_MJPEG, 2, 2, 0, px, sizeof px };
    SK_TEST_STATUS(silkie_image_prep_upload(g_prep, &in), SILKIE_ERR_UNSUPPORTED);
}

int main(void)
{
    g_dev = sk_test_device();
    SK_TEST_OK(silkie_image_prep_create(g_dev, &g_prep));
    if (g_prep) {
        test_golden();
        test_rgb_cases();
        test_yuv_cases();
        test_replay(0);
        test_replay(1);
        test_misuse();
    }
    silkie_image_prep_destroy(g_prep);
    return sk_test_device_finish(g_dev, "test_image_preprocess");
}
