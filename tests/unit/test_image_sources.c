/* Frame sources: still file, directory (sorted, non-images skipped), Motion-JPEG file (plain
 * and threaded), app-pushed frames (live: latest wins; recorded: back-pressure), held-frame
 * limit, statistics. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "camera/camera.h"
#include "image_test_util.h"
#include "ref/ref_image.h"

static char g_tmp[256];

static void write_file(const char *name, const void *d, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_tmp, name);
    sk_write_file(path, d, n);
}

static void test_still(void)
{
    const char *shared = sk_shared_dir();
    if (!shared) return;
    char path[512];
    snprintf(path, sizeof path, "%s/golden/tiny-a/hopper.jpg", shared);
    silkie_camera *cam;
    SK_TEST_OK(silkie_camera_open_file(path, NULL, &cam));
    if (!cam) return;
    silkie_frame f;
    SK_TEST_OK(silkie_camera_acquire(cam, 0, &f));
    SK_TEST_CHECK(f.width == 512 && f.height == 600 && f.format == SILKIE_PIXEL_FORMAT_RGB8 &&
                      f.stride == 512 * 3 && f.exif_orientation == 1,
                  "still frame %ux%u", f.width, f.height);
    silkie_camera_release(cam, &f);
    SK_TEST_STATUS(silkie_camera_acquire(cam, 0, &f), SILKIE_ERR_END_OF_STREAM);
    silkie_camera_destroy(cam);

    snprintf(path, sizeof path, "%s/not_an_image.txt", g_tmp);
    write_file("not_an_image.txt", "hello", 5);
    SK_TEST_STATUS(silkie_camera_open_file(path, NULL, &cam), SILKIE_ERR_BAD_IMAGE);
    SK_TEST_CHECK(cam == NULL, "out not cleared");
    SK_TEST_STATUS(silkie_camera_open_file("/nonexistent/x.jpg", NULL, &cam), SILKIE_ERR_IO);

    /* A still with a bad body fails at acquire with BAD_IMAGE. */
    write_file("bad.ppm", "P6 4 4 255\n\x01\x02", 13);
    snprintf(path, sizeof path, "%s/bad.ppm", g_tmp);
    SK_TEST_OK(silkie_camera_open_file(path, NULL, &cam));
    SK_TEST_STATUS(silkie_camera_acquire(cam, 0, &f), SILKIE_ERR_BAD_IMAGE);
    silkie_camera_destroy(cam);

    /* EXIF orientation: reported by default, applied on request. */
    silkie_camera_params p;
    silkie_camera_params_init(&p);
    SK_TEST_OK(silkie_camera_open_file(sk_image_fixture("exif6.jpg"), &p, &cam));
    SK_TEST_OK(silkie_camera_acquire(cam, 0, &f));
    SK_TEST_CHECK(f.width == 24 && f.height == 16 && f.exif_orientation == 6, "exif default");
    silkie_camera_destroy(cam);
    p.apply_exif_orientation = 1;
    SK_TEST_OK(silkie_camera_open_file(sk_image_fixture("exif6.jpg"), &p, &cam));
    SK_TEST_OK(silkie_camera_acquire(cam, 0, &f));
    SK_TEST_CHECK(f.width == 16 && f.height == 24 && f.exif_orientation == 1, "exif applied");
    silkie_camera_destroy(cam);
}

static void test_dir(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/frames", g_tmp);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/frames/sub", g_tmp);
    SK_TEST_CHECK(system(cmd) == 0, "mkdir");
    uint8_t *rgb = sk_synth_rgb(20, 10);
    size_t jn = 0;
    uint8_t *jpg = sk_encode_jpeg(rgb, 20, 10, 90, &jn);
    char ppm[700];
    int hl = snprintf(ppm, sizeof ppm, "P6\n20 10\n255\n");
    memcpy(ppm + hl, rgb, 600);
    write_file("frames/b.jpg", jpg, jn);
    write_file("frames/a.ppm", ppm, (size_t)hl + 600);
    write_file("frames/c.txt", "text", 4);
    write_file("frames/d.jpg", jpg, jn / 2);
    write_file("frames/e.ppm", ppm, (size_t)hl + 100);
    write_file("frames/f.jpg", jpg, jn);
    silkie_camera *cam;
    SK_TEST_OK(silkie_camera_open_dir(dir, NULL, &cam));
    if (!cam) return;
    silkie_frame f;
    uint32_t n = 0;
    silkie_status st;
    while ((st = silkie_camera_acquire(cam, 0, &f)) == SILKIE_OK) {
        SK_TEST_CHECK(f.width == 20 && f.height == 10, "dir frame size");
        if (n == 0) SK_TEST_CHECK(memcmp(f.data, rgb, 600) == 0, "a.ppm content");
        silkie_camera_release(cam, &f);
        n++;
    }
    SK_TEST_STATUS(st, SILKIE_ERR_END_OF_STREAM);
    silkie_camera_stats s;
    SK_TEST_OK(silkie_camera_stats_get(cam, &s));
    SK_TEST_CHECK(n == 3 && s.frames_delivered == 3, "dir delivered %u", n);
    SK_TEST_CHECK(s.skipped[SILKIE_SKIP_NOT_IMAGE] == 2 && s.skipped[SILKIE_SKIP_TRUNCATED] == 2 &&
                      s.frames_skipped == 4,
                  "dir skips: not_image %llu truncated %llu total %llu",
                  (unsigned long long)s.skipped[SILKIE_SKIP_NOT_IMAGE],
                  (unsigned long long)s.skipped[SILKIE_SKIP_TRUNCATED],
                  (unsigned long long)s.frames_skipped);
    silkie_camera_destroy(cam);

    /* Realtime pacing at 200 fps: three frames take at least two periods; none is late on an
     * idle reader. */
    silkie_camera_params p;
    silkie_camera_params_init(&p);
    p.realtime = 1;
    p.fps = 200;
    SK_TEST_OK(silkie_camera_open_dir(dir, &p, &cam));
    uint64_t t0 = silkie_time_ns();
    n = 0;
    while (silkie_camera_acquire(cam, 0, &f) == SILKIE_OK) {
        silkie_camera_release(cam, &f);
        n++;
    }
    uint64_t dt = silkie_time_ns() - t0;
    SK_TEST_OK(silkie_camera_stats_get(cam, &s));
    SK_TEST_CHECK(n + s.skipped[SILKIE_SKIP_LATE] == 3 && dt >= 9000000ull,
                  "paced: %u frames + %llu late in %llu ns", n,
                  (unsigned long long)s.skipped[SILKIE_SKIP_LATE], (unsigned long long)dt);
    silkie_camera_destroy(cam);
    SK_TEST_STATUS(silkie_camera_open_dir("/nonexistent-dir", NULL, &cam), SILKIE_ERR_IO);
    silkie_free(jpg);
    silkie_free(rgb);
}

static void test_mjpeg(int threaded)
{
    enum { N = 6 };
    uint8_t *jpg[N];
    size_t len[N];
    FILE *fp;
    char path[512];
    snprintf(path, sizeof path, "%s/stream.mjpeg", g_tmp);
    fp = fopen(path, "wb");
    for (int i = 0; i < N; i++) {
        uint8_t *rgb = sk_synth_rgb(16 + 2 * i, 8);
        jpg[i] = sk_encode_jpeg(rgb, 16 + 2 * i, 8, 80, &len[i]);
        silkie_free(rgb);
    }
    /* 0 ok, 1 truncated, 2 ok, 3 zero height (decoder rejects: corrupt), 4 ok, 5 cut at EOF. */
    fwrite(jpg[0], 1, len[0], fp);
    fwrite(jpg[1], 1, len[1] - 40, fp);
    fwrite(jpg[2], 1, len[2], fp);
    for (size_t i = 2; i + 9 < len[3]; i++)
        if (jpg[3][i] == 0xFF && jpg[3][i + 1] == 0xC0) {
            jpg[3][i + 5] = 0, jpg[3][i + 6] = 0;
            break;
        }
    fwrite(jpg[3], 1, len[3], fp);
    fwrite(jpg[4], 1, len[4], fp);
    fwrite(jpg[5], 1, len[5] / 2, fp);
    fclose(fp);
    silkie_camera_params p;
    silkie_camera_params_init(&p);
    p.threaded = (uint32_t)threaded;
    p.n_buffers = 3;
    silkie_camera *cam;
    /* The plain run reads the stream from stdin ("-"), the threaded one from the file. */
    if (!threaded) SK_TEST_CHECK(freopen(path, "rb", stdin) != NULL, "freopen stdin");
    SK_TEST_OK(silkie_camera_open_mjpeg(threaded ? path : "-", &p, &cam));
    if (cam) {
        silkie_frame f;
        uint32_t widths[8], n = 0;
        silkie_status st;
        while ((st = silkie_camera_acquire(cam, 5000, &f)) == SILKIE_OK) {
            if (n < 8) widths[n] = f.width;
            n++;
            silkie_camera_release(cam, &f);
        }
        SK_TEST_STATUS(st, SILKIE_ERR_END_OF_STREAM);
        SK_TEST_CHECK(n == 3 && widths[0] == 16 && widths[1] == 20 && widths[2] == 24,
                      "mjpeg (threaded %d): %u frames", threaded, n);
        silkie_camera_stats s;
        SK_TEST_OK(silkie_camera_stats_get(cam, &s));
        SK_TEST_CHECK(s.skipped[SILKIE_SKIP_TRUNCATED] == 2 &&
                          s.skipped[SILKIE_SKIP_CORRUPT] == 1 &&
                          s.frames_delivered == 3 && s.skipped[SILKIE_SKIP_DROPPED] == 0,
                      "mjpeg skips: truncated %llu corrupt %llu dropped %llu",
                      (unsigned long long)s.skipped[SILKIE_SKIP_TRUNCATED],
                      (unsigned long long)s.skipped[SILKIE_SKIP_CORRUPT],
                      (unsigned long long)s.skipped[SILKIE_SKIP_DROPPED]);
        silkie_camera_destroy(cam);
    }
    for (int i = 0; i < N; i++) silkie_free(jpg[i]);
}

/* A silent pipe: acquire times out instead of blocking, data arriving later is delivered, and
 * destroying a threaded reader of a silent pipe returns. */
static void test_pipe(void)
{
    for (int threaded = 0; threaded < 2; threaded++) {
        int fds[2];
        SK_TEST_CHECK(pipe(fds) == 0, "pipe");
        char path[64];
        snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
        silkie_camera_params p;
        silkie_camera_params_init(&p);
        p.threaded = (uint32_t)threaded;
        silkie_camera *cam = NULL;
        SK_TEST_OK(silkie_camera_open_mjpeg(path, &p, &cam));
        silkie_frame f;
        if (cam) {
            SK_TEST_STATUS(silkie_camera_acquire(cam, 20, &f), SILKIE_ERR_AGAIN);
            uint8_t *rgb = sk_synth_rgb(16, 16);
            size_t n = 0;
            uint8_t *jpg = sk_encode_jpeg(rgb, 16, 16, 80, &n);
            SK_TEST_CHECK(write(fds[1], jpg, n) == (ssize_t)n, "write");
            SK_TEST_OK(silkie_camera_acquire(cam, 2000, &f));
            silkie_camera_release(cam, &f);
            silkie_free(jpg);
            silkie_free(rgb);
            silkie_camera_destroy(cam);
        }
        close(fds[0]);
        close(fds[1]);
    }
}

static void test_app(void)
{
    silkie_camera_params p;
    silkie_camera_params_init(&p);
    p.n_buffers = 3;
    silkie_camera *cam;
    SK_TEST_OK(silkie_camera_open_app(&p, &cam));
    if (!cam) return;
    uint8_t px[4 * 2 * 3];
    silkie_frame in = { .width = 4, .height = 2, .format = SILKIE_PIXEL_FORMAT_RGB8, .data = px,
                        .size_bytes = sizeof px };
    for (int i = 0; i < 5; i++) {
        memset(px, i, sizeof px);
        SK_TEST_OK(silkie_camera_push(cam, &in));
    }
    silkie_frame f;
    SK_TEST_OK(silkie_camera_acquire(cam, 0, &f));
    SK_TEST_CHECK(f.data[0] == 4 && f.sequence == 4, "live: got frame %u", f.data[0]);
    /* One frame held of three slots: a second acquire is allowed, a third is not. */
    silkie_frame g;
    SK_TEST_STATUS(silkie_camera_acquire(cam, 0, &g), SILKIE_ERR_AGAIN);
    memset(px, 9, sizeof px);
    SK_TEST_OK(silkie_camera_push(cam, &in));
    SK_TEST_OK(silkie_camera_acquire(cam, 0, &g));
    SK_TEST_STATUS(silkie_camera_acquire(cam, 0, &g), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_camera_release(cam, &f);
    silkie_camera_release(cam, &g);
    /* YUYV converted on push. */
    uint8_t yuyv[] = { 16, 128, 235, 128, 81, 90, 81, 240 };
    silkie_frame y = { .width = 2, .height = 2, .format = SILKIE_PIXEL_FORMAT_YUYV, .data = yuyv,
                       .stride = 4, .size_bytes = sizeof yuyv };
    SK_TEST_OK(silkie_camera_push(cam, &y));
    SK_TEST_OK(silkie_camera_acquire(cam, 0, &f));
    SK_TEST_CHECK(f.format == SILKIE_PIXEL_FORMAT_RGB8 && f.data[0] == 0 && f.data[3] == 255 &&
                      f.data[6] >= 254 && f.data[7] <= 1,
                  "yuyv push converted");
    silkie_camera_release(cam, &f);
    /* Bad frames are refused with a status. */
    y.size_bytes = 4;
    SK_TEST_STATUS(silkie_camera_push(cam, &y), SILKIE_ERR_BAD_IMAGE);
    in.width = 0;
    SK_TEST_STATUS(silkie_camera_push(cam, &in), SILKIE_ERR_BAD_IMAGE);
    silkie_camera_push_end(cam);
    SK_TEST_STATUS(silkie_camera_acquire(cam, 0, &f), SILKIE_ERR_END_OF_STREAM);
    silkie_camera_stats s;
    SK_TEST_OK(silkie_camera_stats_get(cam, &s));
    SK_TEST_CHECK(s.skipped[SILKIE_SKIP_DROPPED] == 4, "dropped %llu (4 of the first 5 frames)",
                  (unsigned long long)s.skipped[SILKIE_SKIP_DROPPED]);
    silkie_camera_destroy(cam);

    /* Recorded app source: no drops, the producer is told to wait. */
    p.live = 2;
    SK_TEST_OK(silkie_camera_open_app(&p, &cam));
    in.width = 4;
    SK_TEST_OK(silkie_camera_push(cam, &in));
    SK_TEST_OK(silkie_camera_push(cam, &in));
    SK_TEST_OK(silkie_camera_push(cam, &in));
    SK_TEST_STATUS(silkie_camera_push(cam, &in), SILKIE_ERR_AGAIN);
    SK_TEST_OK(silkie_camera_acquire(cam, 0, &f));
    SK_TEST_CHECK(f.sequence == 0, "recorded: oldest first");
    silkie_camera_release(cam, &f);
    silkie_camera_destroy(cam);
    SK_TEST_STATUS(silkie_camera_push(NULL, &in), SILKIE_ERR_INVALID_ARGUMENT);
}

/* Every allocation of open + read-all + destroy failing in turn: a status, never a leak. */
static void test_alloc_failures(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stream.mjpeg", g_tmp); /* written by test_mjpeg */
    uint32_t n_ok = 0, n_oom = 0;
    for (uint64_t n = 1; n < 400; n++) {
        int64_t live = silkie_alloc_live();
        silkie_alloc_fail_at(n);
        silkie_camera *cam = NULL;
        silkie_status st = silkie_camera_open_mjpeg(path, NULL, &cam);
        silkie_frame f;
        while (st == SILKIE_OK && (st = silkie_camera_acquire(cam, 100, &f)) == SILKIE_OK)
            silkie_camera_release(cam, &f);
        silkie_camera_destroy(cam);
        silkie_alloc_fail_at(0);
        SK_TEST_CHECK(st == SILKIE_ERR_END_OF_STREAM || st == SILKIE_ERR_OUT_OF_MEMORY,
                      "allocation %llu failing: %s (%s)", (unsigned long long)n,
                      silkie_status_name(st), silkie_last_error());
        SK_TEST_CHECK(silkie_alloc_live() == live, "allocation %llu failing: leak",
                      (unsigned long long)n);
        if (st == SILKIE_ERR_END_OF_STREAM) n_ok++;
        else n_oom++;
        if (n_ok > 3) break; /* past the last allocation */
    }
    SK_TEST_CHECK(n_oom > 0 && n_ok > 0, "sweep: %u oom, %u ok", n_oom, n_ok);
}

int main(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/silkie_test_image_XXXXXX");
    SK_TEST_CHECK(mkdtemp(g_tmp) != NULL, "mkdtemp");
    test_still();
    test_dir();
    test_mjpeg(0);
    test_mjpeg(1);
    test_alloc_failures();
    test_app();
    test_pipe();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", g_tmp);
    SK_TEST_CHECK(silkie_alloc_live() == 0, "%lld allocations leaked",
                  (long long)silkie_alloc_live());
    return sk_test_result("test_image_sources");
}
