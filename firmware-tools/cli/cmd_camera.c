/* `silkie camera`: asks one question about every processed frame of a camera or a recorded
 * source (MJPEG stream, directory, still), printing one answer (or JSON line) per frame. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_progress.h"
#include "silkie/silkie.h"
#include "silkie/silkie_camera.h"

/* --on-change compares a THUMB x THUMB luma thumbnail (box average over a sampled grid) of each
 * frame with the last processed one. The default threshold, 2 grey levels of mean absolute
 * difference, is above sensor noise and JPEG re-encoding jitter of a still scene but below
 * a person entering or a light switched on. */
#define THUMB 32
#define THUMB_SAMPLES 4 /* samples per cell side */
#define CHANGE_THRESHOLD_DEFAULT 2.0

typedef struct cam_opts {
    silkie_cli_model cm;
    const char *camera, *source, *question, *image_name;
    double every_s; /* 0 = off */
    int on_change;
    double change_threshold;
    int realtime, json;
    uint32_t fps;
    uint32_t max_frames; /* processed frames; 0 = all */
} cam_opts;

/* Returns SILKIE_CLI_CONTINUE or the exit code. */
static int parse_opts(int argc, char **argv, cam_opts *o)
{
    memset(o, 0, sizeof *o);
    o->change_threshold = CHANGE_THRESHOLD_DEFAULT;
    silkie_opt t[SILKIE_CLI_MODEL_OPTS + 12];
    size_t n = silkie_cli_model_opts(&o->cm, t);
    const silkie_opt extra[] = {
        {"--camera", SILKIE_OPT_STR, &o->camera, "/dev/videoN", "V4L2 capture device to read",
         "none", 0, 0, SILKIE_OPT_IN_PATH, NULL},
        {"--source", SILKIE_OPT_STR, &o->source, "FILE.mjpeg|DIR|IMAGE|-",
         "recorded source instead: Motion-JPEG stream (- reads standard input), folder of "
         "images in name order, or one still",
         "none", 0, 0, SILKIE_OPT_IN_PATH | SILKIE_OPT_STDIN, NULL},
        {"--every", SILKIE_OPT_F64, &o->every_s, "S",
         "answer at most one frame every S seconds (capture time; frame index / --fps for a "
         "recording), 0 = every frame",
         NULL, 0, 86400, 0, NULL},
        {"--on-change", SILKIE_OPT_FLAG, &o->on_change, NULL,
         "answer only frames that differ from the last answered one", NULL, 0, 0, 0, NULL},
        {"--change-threshold", SILKIE_OPT_F64, &o->change_threshold, "GREY",
         "--on-change: mean absolute luma difference (grey levels) that counts as a change",
         NULL, 0, 255, 0, NULL},
        {"--realtime", SILKIE_OPT_FLAG, &o->realtime, NULL,
         "deliver a recording at --fps, dropping the frames the model is too slow for", NULL, 0,
         0, 0, NULL},
        {"--fps", SILKIE_OPT_U32, &o->fps, "N",
         "camera rate wish; rate of a recording with --realtime or --every", "30", 1, 1000, 0,
         NULL},
        {"--max-frames", SILKIE_OPT_U32, &o->max_frames, "N",
         "stop after answering N frames, 0 = run to the end of the source", NULL, 0, 1e9, 0,
         NULL},
        {"--image-name", SILKIE_OPT_STR, &o->image_name, "NAME",
         "file name the frame has in the prompt (compare with `silkie ask --image NAME`)",
         "the still's name, else frame.jpg", 0, 0, 0, NULL},
        {"--json", SILKIE_OPT_FLAG, &o->json, NULL,
         "one JSON line per frame: answer, tokens, latencies, or why it was skipped", NULL, 0, 0,
         0, NULL},
    };
    for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) t[n++] = extra[k];
    const silkie_cmd_spec spec = {
        "silkie camera", "QUESTION",
        "Asks one question about every frame of a V4L2 camera or a recording, printing one "
        "answer (or JSON line) per answered frame and a count of frames on standard error.",
        t, n, 1, 1, NULL};
    const char *pos[1] = {NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, pos, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    o->question = pos[0];
    silkie_cli_model_finish(&o->cm);
    if (!o->camera == !o->source)
        return silkie_cli_usage_error(&spec, "give exactly one of --camera and --source");
    return SILKIE_CLI_CONTINUE;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++) {
        char c = s[n - m + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suf[i]) return 0;
    }
    return 1;
}

/* "-" and *.mjpeg / *.mjpg are Motion-JPEG streams, directories are image sequences, anything
 * else is one still image. */
static silkie_status open_source(const cam_opts *o, const silkie_camera_params *p,
                                 silkie_camera **cam, int *live)
{
    *live = 0;
    if (o->camera) {
        *live = 1;
        return silkie_camera_open_v4l2(o->camera, p, cam);
    }
    const char *src = o->source;
    struct stat sb;
    if (!strcmp(src, "-") || has_suffix(src, ".mjpeg") || has_suffix(src, ".mjpg"))
        return silkie_camera_open_mjpeg(src, p, cam);
    if (stat(src, &sb) == 0 && S_ISDIR(sb.st_mode)) return silkie_camera_open_dir(src, p, cam);
    return silkie_camera_open_file(src, p, cam);
}

/* Luma (BT.601 weights for RGB; the Y byte for YUV) sampled on a grid and box-averaged into a
 * THUMB x THUMB thumbnail. Returns 0 for formats it cannot read (MJPEG), which disables the
 * comparison for that frame. */
static int luma_thumb(const silkie_frame *f, float *thumb)
{
    if (f->format == SILKIE_PIXEL_FORMAT_MJPEG || !f->width || !f->height) return 0;
    const uint32_t W = f->width, H = f->height;
    for (uint32_t ty = 0; ty < THUMB; ty++)
        for (uint32_t tx = 0; tx < THUMB; tx++) {
            uint32_t sum = 0;
            for (uint32_t sy = 0; sy < THUMB_SAMPLES; sy++)
                for (uint32_t sx = 0; sx < THUMB_SAMPLES; sx++) {
                    uint32_t x = (uint32_t)(((uint64_t)tx * THUMB_SAMPLES + sx) * W /
                                            (THUMB * THUMB_SAMPLES));
                    uint32_t y = (uint32_t)(((uint64_t)ty * THUMB_SAMPLES + sy) * H /
                                            (THUMB * THUMB_SAMPLES));
                    const uint8_t *row = f->data + (size_t)y * f->stride;
                    uint32_t l;
                    switch (f->format) {
                    case SILKIE_PIXEL_FORMAT_RGB8:
                        l = (77u * row[3 * x] + 150u * row[3 * x + 1] + 29u * row[3 * x + 2]) >> 8;
                        break;
                    case SILKIE_PIXEL_FORMAT_YUYV: l = row[2 * x]; break;
                    default: l = row[x]; break; /* GRAY8, NV12 Y plane */
                    }
                    sum += l;
                }
            thumb[ty * THUMB + tx] = (float)sum / (THUMB_SAMPLES * THUMB_SAMPLES);
        }
    return 1;
}

static double thumb_mad(const float *a, const float *b)
{
    double d = 0;
    for (int i = 0; i < THUMB * THUMB; i++) d += fabs((double)a[i] - b[i]);
    return d / (THUMB * THUMB);
}

typedef struct cam_counts {
    uint64_t index;       /* next frame index: delivered and skipped frames in source order */
    uint64_t processed, errors;
    uint64_t skipped_interval, skipped_unchanged;
    uint64_t source_skipped[SILKIE_SKIP_REASON_COUNT_];
} cam_counts;

/* One line per frame the source skipped since the last call, in reason order (the source
 * reports counts, not positions; without the decode thread they precede the next frame). */
static void report_source_skips(const cam_opts *o, cam_counts *c, const silkie_camera_stats *st)
{
    for (int r = 0; r < SILKIE_SKIP_REASON_COUNT_; r++)
        while (c->source_skipped[r] < st->skipped[r]) {
            c->source_skipped[r]++;
            if (o->json)
                printf("{\"index\":%llu,\"status\":\"skipped\",\"reason\":\"%s\"}\n",
                       (unsigned long long)c->index,
                       silkie_skip_reason_name((silkie_skip_reason)r));
            c->index++;
        }
    fflush(stdout);
}

static void report_skip(const cam_opts *o, uint64_t index, const silkie_frame *f,
                        const char *reason, double mad)
{
    if (!o->json) return;
    printf("{\"index\":%llu,\"sequence\":%llu,\"status\":\"skipped\",\"reason\":\"%s\"",
           (unsigned long long)index, (unsigned long long)f->sequence, reason);
    if (mad >= 0) printf(",\"change\":%.3f", mad);
    printf("}\n");
    fflush(stdout);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs one frame through the session; prints its line. Returns the status of the failing step
 * (the frame is then reported as an error). */
static silkie_status process_frame(const cam_opts *o, silkie_session *s, silkie_camera *cam,
                                   silkie_frame *f, uint64_t index, double decode_ms)
{
    uint64_t t0 = now_ns();
    const char *name = o->image_name ? o->image_name : "frame.jpg";
    silkie_status st = silkie_session_reset(s);
    if (st == SILKIE_OK) st = silkie_session_add_image_frame(s, f, name);
    uint64_t seq = f->sequence;
    uint32_t w = f->width, h = f->height;
    silkie_camera_release(cam, f); /* the session has its own copy now */
    const char *stage = "adding the frame";
    if (st == SILKIE_OK) {
        silkie_ask_params ap;
        silkie_ask_params_init(&ap);
        stage = "answering";
        st = silkie_session_ask(s, o->question, &ap);
    }
    double total_ms = decode_ms + (now_ns() - t0) / 1e6;
    if (st != SILKIE_OK) {
        if (o->json) {
            printf("{\"index\":%llu,\"sequence\":%llu,\"status\":\"error\",\"error\":",
                   (unsigned long long)index, (unsigned long long)seq);
            silkie_cli_json_string(stdout, silkie_last_error());
            /* What was generated before the failure, as `silkie ask --json` reports it. */
            const char *partial = silkie_session_answer(s);
            printf(",\"status_name\":\"%s\",\"answer\":", silkie_status_name(st));
            silkie_cli_json_string(stdout, partial ? partial : "");
            printf("}\n");
        } else {
            fprintf(stderr, "silkie: frame %llu: %s: %s\n", (unsigned long long)index, stage,
                    silkie_last_error());
        }
        fflush(stdout);
        return st;
    }
    silkie_timings t;
    silkie_session_timings(s, &t);
    const char *ans = silkie_session_answer(s);
    if (o->json) {
        uint32_t n = 0;
        const int32_t *ids = silkie_session_answer_tokens(s, &n);
        printf("{\"index\":%llu,\"sequence\":%llu,\"status\":\"ok\",\"width\":%u,\"height\":%u,"
               "\"answer\":",
               (unsigned long long)index, (unsigned long long)seq, w, h);
        silkie_cli_json_string(stdout, ans);
        printf(",\"tokens\":[");
        for (uint32_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
        printf("],\"latency_ms\":{\"frame_decode\":%.3f,\"preprocess_encode\":%.3f,"
               "\"prefill\":%.3f,\"decode\":%.3f,\"total\":%.3f},\"prefill_tokens\":%u,"
               "\"decode_tokens\":%u}\n",
               decode_ms, t.image_encode_ms, t.prefill_ms, t.decode_ms, total_ms,
               t.prefill_tokens, t.decode_tokens);
    } else {
        printf("frame %llu (%.0f ms): %s\n", (unsigned long long)index, total_ms, ans);
    }
    fflush(stdout);
    return SILKIE_OK;
}

int silkie_cmd_camera(int argc, char **argv)
{
    cam_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    rc = 0;
    silkie_camera_params cp;
    silkie_camera_params_init(&cp);
    cp.realtime = (uint32_t)o.realtime;
    cp.fps = o.fps;
    cp.keep_raw = 1; /* YUYV/NV12 go to the GPU as they are; it converts them */
    silkie_camera *cam = NULL;
    int live = 0;
    /* The source opens before the model loads: a camera that is busy costs no load. */
    if (open_source(&o, &cp, &cam, &live) != SILKIE_OK)
        return silkie_cli_fail("opening the source");
    if (!o.image_name && o.source && strcmp(o.source, "-") && !has_suffix(o.source, ".mjpeg") &&
        !has_suffix(o.source, ".mjpg")) {
        struct stat sb;
        if (stat(o.source, &sb) == 0 && !S_ISDIR(sb.st_mode)) o.image_name = base_name(o.source);
    }
    silkie_model *m = NULL;
    silkie_session *s = NULL;
    silkie_cli_progress pr;
    silkie_cli_progress_init(&pr, o.cm.quiet);
    silkie_cli_progress_attach(&pr, &o.cm.mp);
    silkie_status lst = silkie_model_load(o.cm.model, &o.cm.mp, &m);
    silkie_cli_progress_done(&pr);
    if (lst != SILKIE_OK) {
        silkie_camera_destroy(cam);
        return silkie_cli_fail("loading the model");
    }
    pr.on = 0; /* per-frame encodes would interleave a progress line with the answers */
    if (silkie_session_create(m, &o.cm.sp, &s) != SILKIE_OK)
        rc = silkie_cli_fail("creating the session");

    /* --every: time of a frame is its capture time for live and paced sources, and its
     * position in the recording (index / fps) when a recording is read frame by frame. */
    const double fps = o.fps ? o.fps : 30.0;
    const int media_time = !live && !o.realtime;
    cam_counts c;
    memset(&c, 0, sizeof c);
    float *thumb = calloc(2 * THUMB * THUMB, sizeof(float)), *last_thumb = thumb + THUMB * THUMB;
    int have_last = 0, have_time = 0;
    double last_time_s = 0;
    uint64_t prev_decode_ns = 0;
    if (!thumb && !rc) {
        fprintf(stderr, "silkie: out of memory\n");
        rc = 1;
    }
    while (!rc && (!o.max_frames || c.processed < (uint64_t)o.max_frames)) {
        silkie_frame f;
        silkie_status st = silkie_camera_acquire(cam, 1000, &f);
        silkie_camera_stats cs;
        silkie_camera_stats_get(cam, &cs);
        report_source_skips(&o, &c, &cs);
        if (st == SILKIE_ERR_AGAIN) continue; /* live camera: no frame within a second yet */
        if (st == SILKIE_ERR_END_OF_STREAM) break;
        if (st == SILKIE_ERR_BAD_IMAGE) { /* a single still that does not decode */
            rc = silkie_cli_fail("reading the image");
            break;
        }
        if (st != SILKIE_OK) {
            rc = silkie_cli_fail(o.camera ? "camera" : "reading the source");
            break;
        }
        const uint64_t index = c.index++;
        const double decode_ms = (cs.decode_ns - prev_decode_ns) / 1e6;
        prev_decode_ns = cs.decode_ns;
        const double t_s = media_time ? index / fps : f.timestamp_ns / 1e9;
        if (o.every_s > 0 && have_time && t_s - last_time_s < o.every_s - 1e-9) {
            c.skipped_interval++;
            report_skip(&o, index, &f, "interval", -1);
            silkie_camera_release(cam, &f);
            continue;
        }
        int have_thumb = o.on_change && luma_thumb(&f, thumb);
        if (have_thumb && have_last) {
            double mad = thumb_mad(thumb, last_thumb);
            if (mad < o.change_threshold) {
                c.skipped_unchanged++;
                report_skip(&o, index, &f, "unchanged", mad);
                silkie_camera_release(cam, &f);
                continue;
            }
        }
        have_time = 1;
        last_time_s = t_s;
        if (have_thumb) {
            memcpy(last_thumb, thumb, THUMB * THUMB * sizeof(float));
            have_last = 1;
        }
        st = process_frame(&o, s, cam, &f, index, decode_ms);
        if (st == SILKIE_ERR_DEVICE_LOST || st == SILKIE_ERR_OUT_OF_DEVICE_MEMORY ||
            st == SILKIE_ERR_OUT_OF_MEMORY) {
            rc = 1; /* the session cannot go on; process_frame printed why */
            if (o.json) fprintf(stderr, "silkie: frame %llu: %s\n", (unsigned long long)index,
                                silkie_last_error());
        } else if (st != SILKIE_OK) {
            c.errors++;
        } else {
            c.processed++;
        }
    }
    silkie_camera_stats cs;
    if (cam && silkie_camera_stats_get(cam, &cs) == SILKIE_OK) {
        fprintf(stderr, "silkie camera: %llu frames read, %llu answered, %llu errors, skipped:",
                (unsigned long long)c.index, (unsigned long long)c.processed,
                (unsigned long long)c.errors);
        for (int r = 0; r < SILKIE_SKIP_REASON_COUNT_; r++)
            if (cs.skipped[r])
                fprintf(stderr, " %s %llu", silkie_skip_reason_name((silkie_skip_reason)r),
                        (unsigned long long)cs.skipped[r]);
        fprintf(stderr, " interval %llu unchanged %llu\n", (unsigned long long)c.skipped_interval,
                (unsigned long long)c.skipped_unchanged);
    }
    free(thumb);
    silkie_session_destroy(s);
    silkie_model_destroy(m);
    silkie_camera_destroy(cam);
    return rc;
}
