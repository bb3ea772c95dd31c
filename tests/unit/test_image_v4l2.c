/* V4L2 source against a fake device plugged in through silkie_v4l2_ops: format negotiation
 * order, frame-size choice, YUYV/NV12 conversion, EAGAIN, timeouts, latest-frame-wins
 * draining, driver-flagged bad frames, and unplug mid-stream (plain and threaded). */
#include <errno.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <sys/mman.h>

#include "camera/camera_int.h"
#include "image_test_util.h"
#include "ref/ref_image.h"

enum { FAKE_BUFS = 4 };

typedef struct fake {
    uint32_t formats[4];
    int n_formats;
    uint32_t sizes[4][2];
    int n_sizes;
    uint32_t fourcc, w, h, stride;
    int open_fails;
    int sparm_ok;
    int n_bufs;
    uint8_t *mem[FAKE_BUFS];
    size_t len;
    int queued[FAKE_BUFS];
    uint32_t seq;
    int frames_ready;  /* frames the device has captured and not yet handed out */
    int eagain_inject; /* DQBUFs that fail with EAGAIN although poll said ready */
    int unplugged;
    int error_flag_next; /* next frame carries V4L2_BUF_FLAG_ERROR */
    int streaming;
    int mapped;
    uint8_t *jpeg;
    size_t jpeg_len;
} fake;

static int f_open(void *u, const char *path, int flags)
{
    (void)path, (void)flags;
    fake *f = u;
    if (f->open_fails) {
        errno = ENOENT;
        return -1;
    }
    return 42;
}
static int f_close(void *u, int fd)
{
    (void)u, (void)fd;
    return 0;
}

static int fail(int e)
{
    errno = e;
    return -1;
}

static void fill_frame(fake *f, int idx, struct v4l2_buffer *b)
{
    uint8_t *m = f->mem[idx];
    if (f->fourcc == V4L2_PIX_FMT_MJPEG) {
        memcpy(m, f->jpeg, f->jpeg_len);
        b->bytesused = (uint32_t)f->jpeg_len;
    } else {
        for (size_t i = 0; i < f->len; i++) m[i] = (uint8_t)(i * 7 + f->seq * 13);
        b->bytesused = (uint32_t)f->len;
    }
}

static int f_ioctl(void *u, int fd, unsigned long req, void *arg)
{
    (void)fd;
    fake *f = u;
    if (f->unplugged) return fail(ENODEV);
    switch (req) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *c = arg;
        c->capabilities = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
        return 0;
    }
    case VIDIOC_ENUM_FMT: {
        struct v4l2_fmtdesc *d = arg;
        if ((int)d->index >= f->n_formats) return fail(EINVAL);
        d->pixelformat = f->formats[d->index];
        return 0;
    }
    case VIDIOC_ENUM_FRAMESIZES: {
        struct v4l2_frmsizeenum *s = arg;
        if ((int)s->index >= f->n_sizes) return fail(EINVAL);
        s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
        s->discrete.width = f->sizes[s->index][0];
        s->discrete.height = f->sizes[s->index][1];
        return 0;
    }
    case VIDIOC_S_FMT: {
        struct v4l2_format *x = arg;
        f->fourcc = x->fmt.pix.pixelformat;
        f->w = x->fmt.pix.width;
        f->h = x->fmt.pix.height;
        f->stride = f->fourcc == V4L2_PIX_FMT_YUYV ? f->w * 2 + 8
                    : f->fourcc == V4L2_PIX_FMT_NV12 ? f->w + 4
                                                      : 0;
        x->fmt.pix.bytesperline = f->stride;
        x->fmt.pix.sizeimage = f->stride ? f->stride * f->h * 2 : f->w * f->h;
        return 0;
    }
    case VIDIOC_S_PARM: {
        if (!f->sparm_ok) return fail(EINVAL); /* many drivers: the rate is left as is */
        struct v4l2_streamparm *sp = arg;
        sp->parm.capture.timeperframe.numerator = 1;
        sp->parm.capture.timeperframe.denominator = 25; /* asked 30, driver picks 25 */
        return 0;
    }
    case VIDIOC_REQBUFS: {
        struct v4l2_requestbuffers *r = arg;
        r->count = FAKE_BUFS;
        f->n_bufs = FAKE_BUFS;
        return 0;
    }
    case VIDIOC_QUERYBUF: {
        struct v4l2_buffer *b = arg;
        if ((int)b->index >= f->n_bufs) return fail(EINVAL);
        f->len = f->stride ? (size_t)f->stride * f->h * 2 : (size_t)f->w * f->h + 4096;
        b->length = (uint32_t)f->len;
        b->m.offset = b->index * 4096;
        return 0;
    }
    case VIDIOC_QBUF: {
        struct v4l2_buffer *b = arg;
        if ((int)b->index >= f->n_bufs || f->queued[b->index]) return fail(EINVAL);
        f->queued[b->index] = 1;
        return 0;
    }
    case VIDIOC_DQBUF: {
        struct v4l2_buffer *b = arg;
        if (f->eagain_inject > 0) {
            f->eagain_inject--;
            return fail(EAGAIN);
        }
        if (f->frames_ready == 0) return fail(EAGAIN);
        for (int i = 0; i < f->n_bufs; i++) {
            if (!f->queued[i]) continue;
            f->queued[i] = 0;
            f->frames_ready--;
            b->index = (uint32_t)i;
            b->sequence = f->seq++;
            b->flags = f->error_flag_next ? V4L2_BUF_FLAG_ERROR : 0;
            f->error_flag_next = 0;
            fill_frame(f, i, b);
            return 0;
        }
        return fail(EAGAIN); /* all buffers with the application */
    }
    case VIDIOC_STREAMON: f->streaming = 1; return 0;
    case VIDIOC_STREAMOFF: f->streaming = 0; return 0;
    default: return fail(ENOTTY);
    }
}

static void *f_mmap(void *u, size_t len, int prot, int flags, int fd, long off)
{
    (void)prot, (void)flags, (void)fd;
    fake *f = u;
    int i = (int)(off / 4096);
    f->mem[i] = silkie_malloc(len);
    f->mapped++;
    return f->mem[i] ? f->mem[i] : MAP_FAILED;
}
static int f_munmap(void *u, void *addr, size_t len)
{
    (void)len;
    fake *f = u;
    silkie_free(addr);
    f->mapped--;
    return 0;
}
static int f_poll(void *u, int fd, int timeout_ms, short *rev)
{
    (void)fd, (void)timeout_ms; /* a fake never sleeps */
    fake *f = u;
    if (f->unplugged) {
        *rev = POLLERR | POLLHUP;
        return 1;
    }
    if (f->frames_ready > 0 || f->eagain_inject > 0) {
        *rev = POLLIN;
        return 1;
    }
    *rev = 0;
    return 0;
}

static silkie_v4l2_ops ops_for(fake *f)
{
    silkie_v4l2_ops o = { f_open, f_close, f_ioctl, f_mmap, f_munmap, f_poll, f };
    return o;
}

static void fake_init(fake *f, const uint32_t *fmts, int n)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < n; i++) f->formats[i] = fmts[i];
    f->n_formats = n;
    f->n_sizes = 3;
    f->sizes[0][0] = 640, f->sizes[0][1] = 480;
    f->sizes[1][0] = 1280, f->sizes[1][1] = 720;
    f->sizes[2][0] = 3840, f->sizes[2][1] = 2160;
    uint8_t *rgb = sk_synth_rgb(64, 48);
    f->jpeg = sk_encode_jpeg(rgb, 64, 48, 85, &f->jpeg_len);
    silkie_free(rgb);
}

static void fake_release(fake *f)
{
    SK_TEST_CHECK(f->mapped == 0, "%d buffers left mapped", f->mapped);
    silkie_free(f->jpeg);
}

static silkie_camera *open_fake(fake *f, silkie_camera_params *p)
{
    silkie_v4l2_ops o = ops_for(f);
    silkie_camera *cam = NULL;
    SK_TEST_OK(silkie_camera_open_v4l2_ops("/dev/fake0", p, &o, &cam));
    return cam;
}

static void test_negotiation(void)
{
    fake f;
    const uint32_t all[] = { V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_MJPEG };
    fake_init(&f, all, 3);
    f.sparm_ok = 1;
    silkie_camera *cam = open_fake(&f, NULL);
    SK_TEST_CHECK(f.fourcc == V4L2_PIX_FMT_MJPEG && f.w == 1280 && f.h == 720 && f.streaming,
                  "negotiated %.4s %ux%u", (const char *)&f.fourcc, f.w, f.h);
    silkie_camera_stats s;
    if (cam) {
        SK_TEST_OK(silkie_camera_stats_get(cam, &s));
        SK_TEST_CHECK(s.capture_format == SILKIE_PIXEL_FORMAT_MJPEG && s.width == 1280 &&
                          s.fps_num == 25 && s.fps_den == 1,
                      "stats format / rate");
        /* An MJPEG frame decodes (the fake sends a 64x48 JPEG whatever the size). */
        f.frames_ready = 1;
        silkie_frame fr;
        SK_TEST_OK(silkie_camera_acquire(cam, 100, &fr));
        SK_TEST_CHECK(fr.width == 64 && fr.height == 48, "mjpeg frame");
        silkie_camera_release(cam, &fr);
    }
    silkie_camera_destroy(cam);
    SK_TEST_CHECK(!f.streaming, "not stopped");
    fake_release(&f);

    const uint32_t raw[] = { V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_YUYV };
    fake_init(&f, raw, 2);
    silkie_camera_params p;
    silkie_camera_params_init(&p);
    p.width = 32, p.height = 16;
    cam = open_fake(&f, &p);
    SK_TEST_CHECK(f.fourcc == V4L2_PIX_FMT_YUYV && f.w == 32 && f.h == 16, "yuyv chosen");
    if (cam) {
        f.frames_ready = 1;
        silkie_frame fr;
        SK_TEST_OK(silkie_camera_acquire(cam, 100, &fr));
        uint8_t *want = silkie_malloc(32 * 16 * 3);
        SK_TEST_OK(silkie_ref_yuv_to_rgb(1, f.mem[0], f.stride, 32, 16, want));
        SK_TEST_CHECK(fr.format == SILKIE_PIXEL_FORMAT_RGB8 && fr.stride == 96 &&
                          memcmp(fr.data, want, 32 * 16 * 3) == 0,
                      "yuyv conversion");
        silkie_camera_release(cam, &fr);
        silkie_free(want);
    }
    silkie_camera_destroy(cam);
    fake_release(&f);

    const uint32_t nv12[] = { V4L2_PIX_FMT_NV12 };
    fake_init(&f, nv12, 1);
    p.keep_raw = 1;
    cam = open_fake(&f, &p);
    SK_TEST_CHECK(f.fourcc == V4L2_PIX_FMT_NV12, "nv12 chosen");
    if (cam) {
        f.frames_ready = 1;
        silkie_frame fr;
        SK_TEST_OK(silkie_camera_acquire(cam, 100, &fr));
        SK_TEST_CHECK(fr.format == SILKIE_PIXEL_FORMAT_NV12 && fr.stride == 32 &&
                          fr.size_bytes == 32 * 24 && fr.data[32] == f.mem[0][f.stride],
                      "nv12 kept raw, rows repacked");
        silkie_camera_release(cam, &fr);
    }
    silkie_camera_destroy(cam);
    fake_release(&f);

    const uint32_t none[] = { V4L2_PIX_FMT_H264, V4L2_PIX_FMT_RGB24 };
    fake_init(&f, none, 2);
    silkie_v4l2_ops o = ops_for(&f);
    SK_TEST_STATUS(silkie_camera_open_v4l2_ops("/dev/fake0", NULL, &o, &cam), SILKIE_ERR_CAMERA);
    SK_TEST_CHECK(cam == NULL && strstr(silkie_last_error(), "no supported format"), "message");
    f.open_fails = 1;
    SK_TEST_STATUS(silkie_camera_open_v4l2_ops("/dev/fake0", NULL, &o, &cam), SILKIE_ERR_CAMERA);
    fake_release(&f);
    SK_TEST_STATUS(silkie_camera_open_v4l2("/dev/silkie-no-such-video", NULL, &cam),
                   SILKIE_ERR_CAMERA);
}

static void test_streaming(int threaded)
{
    fake f;
    const uint32_t mj[] = { V4L2_PIX_FMT_MJPEG };
    fake_init(&f, mj, 1);
    silkie_camera_params p;
    silkie_camera_params_init(&p);
    p.threaded = (uint32_t)threaded;
    silkie_camera *cam = open_fake(&f, &p);
    if (!cam) {
        fake_release(&f);
        return;
    }
    silkie_frame fr;
    /* Nothing captured: a timeout, not a hang. */
    SK_TEST_STATUS(silkie_camera_acquire(cam, 20, &fr), SILKIE_ERR_AGAIN);
    /* EAGAIN from DQBUF after a ready poll is retried. */
    f.eagain_inject = 2;
    f.frames_ready = 1;
    SK_TEST_OK(silkie_camera_acquire(cam, 500, &fr));
    silkie_camera_release(cam, &fr);
    if (!threaded) {
        /* Three frames waiting: the newest is delivered, two are dropped. */
        f.frames_ready = 3;
        SK_TEST_OK(silkie_camera_acquire(cam, 100, &fr));
        silkie_camera_release(cam, &fr);
        SK_TEST_CHECK(f.frames_ready == 0, "not drained");
        /* A frame flagged bad by the driver is skipped. */
        f.error_flag_next = 1;
        f.frames_ready = 1;
        SK_TEST_STATUS(silkie_camera_acquire(cam, 20, &fr), SILKIE_ERR_AGAIN);
        f.frames_ready = 1;
        SK_TEST_OK(silkie_camera_acquire(cam, 100, &fr));
        silkie_camera_release(cam, &fr);
    }
    silkie_camera_stats s;
    SK_TEST_OK(silkie_camera_stats_get(cam, &s));
    SK_TEST_CHECK(s.eagain >= 2, "eagain %llu", (unsigned long long)s.eagain);
    if (!threaded)
        SK_TEST_CHECK(s.skipped[SILKIE_SKIP_DROPPED] == 2 && s.skipped[SILKIE_SKIP_CORRUPT] == 1,
                      "dropped %llu corrupt %llu",
                      (unsigned long long)s.skipped[SILKIE_SKIP_DROPPED],
                      (unsigned long long)s.skipped[SILKIE_SKIP_CORRUPT]);
    /* Unplug: a status, every time after. */
    f.unplugged = 1;
    SK_TEST_STATUS(silkie_camera_acquire(cam, 500, &fr), SILKIE_ERR_CAMERA);
    SK_TEST_STATUS(silkie_camera_acquire(cam, 10, &fr), SILKIE_ERR_CAMERA);
    silkie_camera_destroy(cam);
    f.unplugged = 0;
    fake_release(&f);
}

int main(void)
{
    test_negotiation();
    test_streaming(0);
    test_streaming(1);
    SK_TEST_CHECK(silkie_alloc_live() == 0, "%lld allocations leaked",
                  (long long)silkie_alloc_live());
    return sk_test_result("test_image_v4l2");
}
