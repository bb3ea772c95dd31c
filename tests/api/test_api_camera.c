/* silkie_session_add_image_frame against silkie_session_add_image_rgb on the tiny golden model:
 * frames from an application source (RGB8 as pushed, YUYV and NV12 kept raw and converted on the
 * GPU, against the same frames converted to RGB by the camera on the CPU, and one JPEG) must
 * give bit-identical vision features and the same greedy answer; misuse returns statuses; a
 * stream of same-size frames makes no host allocation after the first. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "silkie/silkie.h"
#include "silkie/silkie_camera.h"

/* Counting allocator: host allocations made by the library between two points. */
static uint64_t g_allocs;
static void *cnt_alloc(size_t n, void *u)
{
    (void)u;
    g_allocs++;
    return malloc(n);
}
static void *cnt_realloc(void *p, size_t o, size_t n, void *u)
{
    (void)o;
    (void)u;
    g_allocs++;
    return realloc(p, n);
}
static void cnt_free(void *p, size_t n, void *u)
{
    (void)n;
    (void)u;
    free(p);
}

/* The "vision_features" bytes of a dump written by silkie_session_ask (safetensors: u64 header
 * length, JSON header, data). Caller frees *file. */
static const uint8_t *dump_features(const char *path, void **file, size_t *n)
{
    size_t size = 0;
    uint8_t *b = sk_read_file(path, &size);
    *file = b;
    *n = 0;
    if (!b || size < 8) return NULL;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    if (hl > size - 8) return NULL;
    char *hdr = malloc(hl + 1);
    memcpy(hdr, b + 8, hl);
    hdr[hl] = 0;
    const char *t = strstr(hdr, "\"vision_features\"");
    const char *o = t ? strstr(t, "\"data_offsets\":[") : NULL;
    unsigned long long a = 0, e = 0;
    int ok = o && sscanf(o, "\"data_offsets\":[%llu,%llu]", &a, &e) == 2 && e > a &&
             8 + hl + e <= size;
    free(hdr);
    if (!ok) return NULL;
    *n = (size_t)(e - a);
    return b + 8 + hl + a;
}

typedef struct answer {
    int32_t ids[16];
    uint32_t n;
    void *file;
    const uint8_t *feat;
    size_t feat_bytes;
} answer;

/* Tokens per answer: the features are compared bit for bit, so one greedy token is enough to
 * check that the prompt (image name, placement) matches as well; the first case generates 4. */
static int32_t g_max_tokens = 4;

static void ask(silkie_session *s, const char *dump, answer *out)
{
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.dump_path = dump;
    ap.max_new_tokens = g_max_tokens;
    memset(out, 0, sizeof *out);
    SK_TEST_OK(silkie_session_ask(s, "What is in this picture?", &ap));
    uint32_t n = 0;
    const int32_t *ids = silkie_session_answer_tokens(s, &n);
    out->n = n < 16 ? n : 16;
    memcpy(out->ids, ids, out->n * sizeof *ids);
    out->feat = dump_features(dump, &out->file, &out->feat_bytes);
    SK_TEST_CHECK(out->feat != NULL, "no vision_features in %s", dump);
}

/* Frame through add_image_frame vs the reference RGB through add_image_rgb. */
static void compare(silkie_session *s, const silkie_frame *f, const uint8_t *rgb, uint32_t w,
                    uint32_t h, uint32_t stride, const char *what)
{
    answer a, b;
    SK_TEST_OK(silkie_session_reset(s));
    SK_TEST_OK(silkie_session_add_image_frame(s, f, "frame.jpg"));
    ask(s, "api_camera_frame.safetensors", &a);
    SK_TEST_OK(silkie_session_reset(s));
    SK_TEST_OK(silkie_session_add_image_rgb(s, rgb, w, h, stride, "frame.jpg"));
    ask(s, "api_camera_rgb.safetensors", &b);
    SK_TEST_CHECK(a.feat_bytes && a.feat_bytes == b.feat_bytes &&
                      memcmp(a.feat, b.feat, a.feat_bytes) == 0,
                  "%s: vision features differ from add_image_rgb", what);
    SK_TEST_CHECK(a.n > 0 && a.n == b.n && memcmp(a.ids, b.ids, a.n * sizeof a.ids[0]) == 0,
                  "%s: answer ids differ (%u vs %u tokens)", what, a.n, b.n);
    silkie_free(a.file);
    silkie_free(b.file);
}

/* Seeded synthetic RGB picture with edges and gradients, w x h, tightly packed. */
static uint8_t *synth(uint32_t w, uint32_t h, uint64_t seed)
{
    sk_rng r;
    sk_rng_seed(&r, seed);
    uint8_t *p = malloc((size_t)w * h * 3);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                p[((size_t)y * w + x) * 3 + c] =
                    (uint8_t)(((x * (c + 1) * 7 + y * 5) ^ (x > w / 2 ? 0x80 : 0)) +
                              (sk_rng_u32(&r) & 15));
    return p;
}

/* Pushes a raw frame into two app sources, one keeping it raw, one converting it to RGB on the
 * CPU, and compares the two paths. */
static void raw_case(silkie_session *s, silkie_pixel_format fmt, uint32_t w, uint32_t h,
                     uint64_t seed, const char *what)
{
    size_t bytes = fmt == SILKIE_PIXEL_FORMAT_YUYV ? (size_t)w * h * 2 : (size_t)w * h * 3 / 2;
    uint8_t *raw = malloc(bytes);
    sk_rng r;
    sk_rng_seed(&r, seed);
    for (size_t i = 0; i < bytes; i++) raw[i] = (uint8_t)(sk_rng_u32(&r) % 220 + 16);
    silkie_frame in = {.width = w, .height = h, .format = fmt, .data = raw, .size_bytes = bytes};
    silkie_camera *cam_raw = NULL, *cam_rgb = NULL;
    silkie_camera_params p;
    silkie_camera_params_init(&p);
    p.keep_raw = 1;
    SK_TEST_OK(silkie_camera_open_app(&p, &cam_raw));
    p.keep_raw = 0;
    SK_TEST_OK(silkie_camera_open_app(&p, &cam_rgb));
    if (cam_raw && cam_rgb) {
        SK_TEST_OK(silkie_camera_push(cam_raw, &in));
        SK_TEST_OK(silkie_camera_push(cam_rgb, &in));
        silkie_frame fr, fc;
        SK_TEST_OK(silkie_camera_acquire(cam_raw, 1000, &fr));
        SK_TEST_OK(silkie_camera_acquire(cam_rgb, 1000, &fc));
        SK_TEST_CHECK(fr.format == fmt && fc.format == SILKIE_PIXEL_FORMAT_RGB8,
                      "%s: formats %d / %d", what, (int)fr.format, (int)fc.format);
        compare(s, &fr, fc.data, fc.width, fc.height, fc.stride, what);
        silkie_camera_release(cam_raw, &fr);
        silkie_camera_release(cam_rgb, &fc);
    }
    silkie_camera_destroy(cam_raw);
    silkie_camera_destroy(cam_rgb);
    free(raw);
}

int main(void)
{
    const silkie_allocator al = {cnt_alloc, cnt_realloc, cnt_free, NULL};
    SK_TEST_OK(silkie_set_allocator(&al));
    char dir[1024], jpg[1024];
    snprintf(dir, sizeof dir, "%s/golden/tiny-a/model", sk_shared_dir());
    snprintf(jpg, sizeof jpg, "%s/golden/tiny-a/hopper.jpg", sk_shared_dir());
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        fprintf(stderr, "SKIP: no golden model at %s\n", dir);
        return 77;
    }
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    silkie_model *m = NULL;
    silkie_status st = silkie_model_load(dir, &mp, &m);
    if (st == SILKIE_ERR_NO_DEVICE) {
        const char *ci = getenv("CI");
        fprintf(stderr, "SKIP: %s\n", silkie_last_error());
        return ci && !strcmp(ci, "true") ? 1 : 77;
    }
    SK_TEST_OK(st);
    if (!m) return sk_test_result("api_camera");
    silkie_session_params sp;
    silkie_session_params_init(&sp);
    sp.temperature = 0;
    sp.max_new_tokens = 4;
    sp.n_ctx = 256;
    silkie_session *s = NULL;
    SK_TEST_OK(silkie_session_create(m, &sp, &s));

    /* Misuse. */
    uint8_t *a = synth(64, 48, 1);
    silkie_frame f = {.width = 64, .height = 48, .format = SILKIE_PIXEL_FORMAT_RGB8,
                      .stride = 64 * 3, .data = a, .size_bytes = 64 * 48 * 3};
    SK_TEST_STATUS(silkie_session_add_image_frame(NULL, &f, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_session_add_image_frame(s, NULL, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_frame bad = f;
    bad.format = (silkie_pixel_format)99;
    SK_TEST_STATUS(silkie_session_add_image_frame(s, &bad, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    bad = f;
    bad.format = SILKIE_PIXEL_FORMAT_YUYV;
    bad.width = 63; /* odd YUYV width */
    SK_TEST_STATUS(silkie_session_add_image_frame(s, &bad, NULL), SILKIE_ERR_BAD_IMAGE);
    bad = f;
    bad.size_bytes = 100; /* shorter than the rows it claims */
    SK_TEST_CHECK(silkie_session_add_image_frame(s, &bad, NULL) < 0, "short frame accepted");

    /* RGB8 frames through an app source (recorded mode: every frame in order). */
    silkie_camera_params p;
    silkie_camera_params_init(&p);
    p.live = 2;
    silkie_camera *cam = NULL;
    SK_TEST_OK(silkie_camera_open_app(&p, &cam));
    uint8_t *frames[3] = {a, synth(64, 48, 2), synth(50, 30, 3)};
    const uint32_t fw[3] = {64, 64, 50}, fh[3] = {48, 48, 30};
    for (int i = 0; i < 3 && cam; i++) {
        silkie_frame in = {.width = fw[i], .height = fh[i], .format = SILKIE_PIXEL_FORMAT_RGB8,
                           .data = frames[i], .size_bytes = (size_t)fw[i] * fh[i] * 3};
        SK_TEST_OK(silkie_camera_push(cam, &in));
        silkie_frame got;
        SK_TEST_OK(silkie_camera_acquire(cam, 1000, &got));
        char what[32];
        snprintf(what, sizeof what, "rgb frame %d", i);
        compare(s, &got, frames[i], fw[i], fh[i], 0, what);
        g_max_tokens = 1;
        silkie_camera_release(cam, &got);
    }
    silkie_camera_destroy(cam);

    raw_case(s, SILKIE_PIXEL_FORMAT_YUYV, 64, 48, 11, "yuyv");
    raw_case(s, SILKIE_PIXEL_FORMAT_NV12, 64, 48, 12, "nv12");

    /* A JPEG frame takes the encoded-image path. */
    size_t jn = 0;
    uint8_t *jb = sk_read_file(jpg, &jn);
    if (jb) {
        silkie_frame jf = {.format = SILKIE_PIXEL_FORMAT_MJPEG, .data = jb, .size_bytes = jn};
        answer x, y;
        SK_TEST_OK(silkie_session_reset(s));
        SK_TEST_OK(silkie_session_add_image_frame(s, &jf, "hopper.jpg"));
        ask(s, "api_camera_frame.safetensors", &x);
        SK_TEST_OK(silkie_session_reset(s));
        SK_TEST_OK(silkie_session_add_image_encoded(s, jb, jn, "hopper.jpg"));
        ask(s, "api_camera_rgb.safetensors", &y);
        SK_TEST_CHECK(x.n && x.n == y.n && memcmp(x.ids, y.ids, x.n * sizeof x.ids[0]) == 0,
                      "jpeg frame: answer ids differ");
        silkie_free(x.file);
        silkie_free(y.file);
        silkie_free(jb);
    }

    /* Same-size frames after the first: no host allocation in add_image_frame. */
    SK_TEST_OK(silkie_session_reset(s));
    SK_TEST_OK(silkie_session_add_image_frame(s, &f, NULL));
    uint64_t before = g_allocs;
    for (int i = 0; i < 3; i++) {
        f.data = frames[i & 1];
        SK_TEST_OK(silkie_session_reset(s));
        SK_TEST_OK(silkie_session_add_image_frame(s, &f, NULL));
    }
    SK_TEST_CHECK(g_allocs == before, "%llu host allocations for 3 same-size frames",
                  (unsigned long long)(g_allocs - before));
    /* Past the pending-image limit the call fails and leaves the session usable. */
    for (int i = 1; i < 8; i++) SK_TEST_OK(silkie_session_add_image_frame(s, &f, NULL));
    SK_TEST_STATUS(silkie_session_add_image_frame(s, &f, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_OK(silkie_session_reset(s));

    for (int i = 0; i < 3; i++) free(frames[i]);
    /* Destroy order: model first, then the session that keeps it alive. */
    silkie_model_destroy(m);
    silkie_session_destroy(s);
    remove("api_camera_frame.safetensors");
    remove("api_camera_rgb.safetensors");
    return sk_test_result("api_camera");
}
