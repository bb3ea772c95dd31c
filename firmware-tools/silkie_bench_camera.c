/* silkie-bench-camera: per-stage latency of the camera input path on a Vulkan device.
 * Synthetic Motion-JPEG frames at 640x480, 1280x720 and 1920x1080 (TurboJPEG, quality 85,
 * 4:2:0) go through decode (full and DCT-scaled), upload, and the GPU resize + normalise into a
 * 448x448 (or --size) f32 tensor; then the threaded MJPEG source runs the whole pipeline with
 * decode overlapping the GPU work. `silkie-bench-camera --help` lists the options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "camera/camera.h"
#include "cli_opts.h"
#include "ops/ops_image.h"

typedef struct stage {
    double sum_ms, min_ms;
    uint32_t n;
} stage;

static void stage_add(stage *s, uint64_t ns)
{
    double ms = (double)ns / 1e6;
    if (s->n == 0 || ms < s->min_ms) s->min_ms = ms;
    s->sum_ms += ms;
    s->n++;
}
static double stage_mean(const stage *s) { return s->n ? s->sum_ms / s->n : 0; }

static uint8_t *make_jpeg(uint32_t w, uint32_t h, uint32_t frame, size_t *len)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb) return NULL;
    /* Gradients plus a moving checkerboard: compresses like a real scene, not like noise. */
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            int chk = (((x + frame * 8) / 32) ^ (y / 32)) & 1;
            p[0] = (uint8_t)(x * 255 / w);
            p[1] = (uint8_t)(y * 255 / h);
            p[2] = (uint8_t)(chk ? 200 : 40);
        }
    tjhandle tj = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long n = 0;
    uint8_t *out = NULL;
    if (tj && tjCompress2(tj, rgb, (int)w, 0, (int)h, TJPF_RGB, &buf, &n, TJSAMP_420, 85, 0) == 0) {
        out = malloc(n);
        if (out) memcpy(out, buf, n), *len = n;
    }
    tjFree(buf);
    if (tj) tjDestroy(tj);
    free(rgb);
    return out;
}

static int check(silkie_status st, const char *what)
{
    if (st == SILKIE_OK) return 1;
    fprintf(stderr, "silkie-bench-camera: %s: %s: %s\n", what, silkie_status_name(st),
            silkie_last_error());
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t n_frames = 30, out = 448;
    const char *device = NULL;
    const silkie_opt t[] = {
        {"--frames", SILKIE_OPT_U32, &n_frames, "N", "frames timed per frame size", NULL, 1,
         100000, 0, NULL},
        {"--size", SILKIE_OPT_U32, &out, "S",
         "side of the square model input the frames are resized to", NULL, 1, 4096, 0, NULL},
        {"--device", SILKIE_OPT_STR, &device, "GPU", "Vulkan device: index or name substring",
         "the best device", 0, 0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie-bench-camera", "",
        "Times the camera input path per frame size (640x480, 1280x720, 1920x1080 synthetic "
        "Motion-JPEG): decode, upload and GPU resize + normalise, then the threaded pipeline.",
        t, sizeof t / sizeof t[0], 0, 0, NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    silkie_vk_device_params dp;
    silkie_vk_device_params_init(&dp);
    dp.device = device;
    silkie_vk_device *dev = NULL;
    if (!check(silkie_vk_device_create(&dp, &dev), "device")) return 1;
    printf("device: %s\noutput: f32 [3, %u, %u], %u frames per size\n\n",
           silkie_vk_device_caps(dev)->device_name, out, out, n_frames);
    silkie_image_prep *prep = NULL;
    silkie_jpeg_decoder *dec = NULL;
    silkie_owned_tensor y;
    const uint32_t ne[4] = { out, out, 3, 1 };
    int ok = check(silkie_image_prep_create(dev, &prep), "prep") &&
             check(silkie_jpeg_decoder_create(&dec), "decoder") &&
             check(silkie_tensor_alloc(dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, &y),
                   "tensor");
    static const uint32_t sizes[][2] = { { 640, 480 }, { 1280, 720 }, { 1920, 1080 } };
    printf("| frame | JPEG KiB | decode ms | scaled decode ms (to >= %u) | upload ms "
           "| GPU preprocess ms | serial fps | pipelined fps |\n",
           out);
    printf("|---|---|---|---|---|---|---|---|\n");
    for (size_t s = 0; ok && s < SK_ARRAY_LEN(sizes); s++) {
        uint32_t w = sizes[s][0], h = sizes[s][1];
        char path[] = "/tmp/silkie_bench_camera_XXXXXX";
        int fd = mkstemp(path);
        FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
        uint8_t *jpg[4];
        size_t len[4], total = 0;
        for (int k = 0; k < 4; k++) {
            jpg[k] = make_jpeg(w, h, (uint32_t)k, &len[k]);
            if (!jpg[k]) ok = 0;
        }
        if (!ok || !fp) break;
        for (uint32_t f = 0; f < n_frames; f++) {
            fwrite(jpg[f % 4], 1, len[f % 4], fp);
            total += len[f % 4];
        }
        fclose(fp);

        stage st_dec = { 0 }, st_sdec = { 0 }, st_up = { 0 }, st_gpu = { 0 };
        silkie_image img;
        silkie_image_init(&img);
        silkie_op_ctx c = { dev, NULL };
        ok = check(silkie_vk_cmd_create(dev, &c.cmd), "cmd");
        int recorded = 0;
        uint64_t t_serial = 0;
        for (uint32_t f = 0; ok && f < n_frames; f++) {
            const uint8_t *d = jpg[f % 4];
            size_t n = len[f % 4];
            silkie_jpeg_decode_opts so = { .min_width = out, .min_height = out };
            uint64_t t0 = silkie_time_ns();
            ok = check(silkie_jpeg_decode(dec, d, n, &so, &img), "scaled decode");
            stage_add(&st_sdec, silkie_time_ns() - t0);
            t0 = silkie_time_ns();
            ok = ok && check(silkie_jpeg_decode(dec, d, n, NULL, &img), "decode");
            uint64_t t1 = silkie_time_ns();
            silkie_image_prep_input in = { SILKIE_PIXEL_FORMAT_RGB8, img.width, img.height, 0,
                                           img.data, (size_t)img.width * img.height * 3 };
            ok = ok && check(silkie_image_prep_upload(prep, &in), "upload");
            uint64_t t2 = silkie_time_ns();
            if (ok && !recorded) {
                /* Recorded once, replayed per frame: upload rewrites the same input buffer. */
                ok = check(silkie_vk_cmd_begin(c.cmd), "begin") &&
                     check(silkie_op_image_preprocess(&c, prep, &y.t, NULL, NULL), "record") &&
                     check(silkie_vk_cmd_end(c.cmd), "end");
                recorded = 1;
                if (ok) ok = check(silkie_vk_cmd_submit_wait(c.cmd), "warm-up");
                t2 = silkie_time_ns();
            }
            ok = ok && check(silkie_vk_cmd_submit_wait(c.cmd), "submit");
            uint64_t t3 = silkie_time_ns();
            stage_add(&st_dec, t1 - t0);
            stage_add(&st_up, t2 - t1);
            stage_add(&st_gpu, t3 - t2);
            t_serial += t3 - t0;
        }
        /* Pipelined: threaded MJPEG source decodes frame N+1 while the GPU works on frame N. */
        double fps_pipe = 0;
        silkie_camera_params cp;
        silkie_camera_params_init(&cp);
        cp.threaded = 1;
        silkie_camera *cam = NULL;
        if (ok && check(silkie_camera_open_mjpeg(path, &cp, &cam), "open mjpeg")) {
            silkie_frame fr;
            uint32_t got = 0;
            uint64_t t0 = silkie_time_ns();
            while (silkie_camera_acquire(cam, 5000, &fr) == SILKIE_OK) {
                ok = check(silkie_image_prep_upload_frame(prep, &fr), "upload");
                silkie_camera_release(cam, &fr);
                ok = ok && check(silkie_vk_cmd_submit_wait(c.cmd), "submit");
                if (!ok) break;
                got++;
            }
            fps_pipe = got / ((double)(silkie_time_ns() - t0) / 1e9);
            silkie_camera_destroy(cam);
        }
        printf("| %ux%u | %.1f | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f |\n", w, h,
               (double)total / n_frames / 1024.0, stage_mean(&st_dec), stage_mean(&st_sdec),
               stage_mean(&st_up), stage_mean(&st_gpu),
               n_frames / ((double)t_serial / 1e9), fps_pipe);
        fflush(stdout);
        silkie_vk_cmd_destroy(c.cmd);
        silkie_image_release(&img);
        for (int k = 0; k < 4; k++) free(jpg[k]);
        unlink(path);
    }
    printf("\ndecode: TurboJPEG full size (ISLOW, fancy upsampling); scaled: DCT scaling to the\n"
           "smallest 1/2, 1/4, 1/8 size still >= the output; upload: host copy into the mapped\n"
           "input buffer; GPU preprocess: submit + wait of the recorded 2-dispatch list;\n"
           "serial fps: decode + upload + GPU per frame; pipelined: threaded MJPEG source.\n");
    if (ok) silkie_tensor_free(&y);
    silkie_jpeg_decoder_destroy(dec);
    silkie_image_prep_destroy(prep);
    silkie_vk_device_destroy(dev);
    return ok ? 0 : 1;
}
