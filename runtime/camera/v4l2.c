/* V4L2 capture: format negotiation (MJPEG, then YUYV, then NV12), mmap streaming, poll with a
 * timeout so an unplugged or stalled device never hangs the caller. All system calls go
 * through silkie_v4l2_ops so tests can drive a fake device. */
#define SK_LOG_MODULE "v4l2"
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "camera/camera_int.h"

#define SK_V4L2_MAX_BUFFERS 8

static int d_open(void *u, const char *path, int flags)
{
    (void)u;
    return open(path, flags);
}
static int d_close(void *u, int fd)
{
    (void)u;
    return close(fd);
}
static int d_ioctl(void *u, int fd, unsigned long req, void *arg)
{
    (void)u;
    int r;
    do r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r;
}
static void *d_mmap(void *u, size_t len, int prot, int flags, int fd, long off)
{
    (void)u;
    return mmap(NULL, len, prot, flags, fd, (off_t)off);
}
static int d_munmap(void *u, void *addr, size_t len)
{
    (void)u;
    return munmap(addr, len);
}
static int d_poll(void *u, int fd, int timeout_ms, short *revents)
{
    (void)u;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, timeout_ms);
    *revents = p.revents;
    return r;
}

static const silkie_v4l2_ops default_ops = { d_open, d_close, d_ioctl, d_mmap, d_munmap, d_poll,
                                             NULL };
const silkie_v4l2_ops *silkie_v4l2_default_ops(void) { return &default_ops; }

typedef struct src_v4l2 {
    silkie_v4l2_ops ops;
    char *path;
    int fd;
    int streaming;
    uint32_t fourcc;
    silkie_pixel_format format;
    uint32_t width, height, stride, sizeimage;
    uint32_t fps_num, fps_den; /* negotiated rate fps_num / fps_den; 0 when unknown */
    uint32_t n_bufs;
    void *maps[SK_V4L2_MAX_BUFFERS];
    size_t lens[SK_V4L2_MAX_BUFFERS];
    int have_current;
    struct v4l2_buffer current; /* dequeued, handed out as a packet */
    int live;
    int failed;
} src_v4l2;

static int xioctl(src_v4l2 *s, unsigned long req, void *arg)
{
    return s->ops.ioctl(s->ops.user, s->fd, req, arg);
}

static void v4l2_close(void *p)
{
    src_v4l2 *s = p;
    if (!s) return;
    if (s->fd >= 0) {
        if (s->streaming) {
            int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            xioctl(s, VIDIOC_STREAMOFF, &type);
        }
        for (uint32_t i = 0; i < s->n_bufs; i++)
            if (s->maps[i]) s->ops.munmap(s->ops.user, s->maps[i], s->lens[i]);
        s->ops.close(s->ops.user, s->fd);
    }
    silkie_free(s->path);
    silkie_free(s);
}

static int device_gone(int e) { return e == ENODEV || e == ENXIO || e == EIO || e == EBADF; }

static silkie_status requeue(src_v4l2 *s, struct v4l2_buffer *b)
{
    if (xioctl(s, VIDIOC_QBUF, b) < 0) {
        s->failed = 1;
        return SK_FAIL(SILKIE_ERR_CAMERA, "%s: QBUF failed: %s", s->path, strerror(errno));
    }
    return SILKIE_OK;
}

static void v4l2_done(void *p)
{
    src_v4l2 *s = p;
    if (!s->have_current) return;
    s->have_current = 0;
    (void)requeue(s, &s->current); /* a failure shows up as the next DQBUF's error */
}

/* One non-blocking DQBUF: 1 got a buffer, 0 none ready, negative status on failure. */
static int dequeue(src_v4l2 *s, struct v4l2_buffer *b, silkie_camera_stats *stats,
                   silkie_status *err)
{
    memset(b, 0, sizeof *b);
    b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    b->memory = V4L2_MEMORY_MMAP;
    if (xioctl(s, VIDIOC_DQBUF, b) == 0) {
        if (b->index >= s->n_bufs) {
            s->failed = 1;
            *err = SK_FAIL(SILKIE_ERR_CAMERA, "%s: DQBUF returned buffer %u of %u", s->path,
                           b->index, s->n_bufs);
            return -1;
        }
        return 1;
    }
    if (errno == EAGAIN) {
        stats->eagain++;
        return 0;
    }
    s->failed = 1;
    *err = SK_FAIL(SILKIE_ERR_CAMERA, "%s: %s: %s", s->path,
                   device_gone(errno) ? "device unplugged" : "DQBUF failed", strerror(errno));
    return -1;
}

static silkie_status v4l2_next(void *p, uint32_t timeout_ms, sk_packet *pk,
                               silkie_skip_reason *skip, silkie_camera_stats *stats)
{
    src_v4l2 *s = p;
    if (s->failed) return SK_FAIL(SILKIE_ERR_CAMERA, "%s: device failed earlier", s->path);
    v4l2_done(s);
    stats->width = s->width;
    stats->height = s->height;
    stats->capture_format = s->format;
    stats->fps_num = s->fps_num;
    stats->fps_den = s->fps_den;
    uint64_t deadline = silkie_time_ns() + (uint64_t)timeout_ms * 1000000ull;
    struct v4l2_buffer b;
    silkie_status err = SILKIE_OK;
    for (;;) {
        uint64_t now = silkie_time_ns();
        int left = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
        short rev = 0;
        int r = s->ops.poll(s->ops.user, s->fd, left, &rev);
        if (r < 0 && errno != EINTR) {
            s->failed = 1;
            return SK_FAIL(SILKIE_ERR_CAMERA, "%s: poll failed: %s", s->path, strerror(errno));
        }
        if (r > 0 && (rev & (POLLERR | POLLHUP | POLLNVAL)) && !(rev & POLLIN)) {
            s->failed = 1;
            return SK_FAIL(SILKIE_ERR_CAMERA, "%s: device unplugged or stopped (poll)", s->path);
        }
        if (r > 0) {
            int got = dequeue(s, &b, stats, &err);
            if (got < 0) return err;
            if (got) break;
        }
        if (silkie_time_ns() >= deadline)
            return SK_FAIL(SILKIE_ERR_AGAIN, "%s: no frame within %u ms", s->path, timeout_ms);
    }
    /* Live: drain what else is queued and keep only the newest frame. */
    if (s->live) {
        struct v4l2_buffer nb;
        int got;
        while ((got = dequeue(s, &nb, stats, &err)) == 1) {
            SK_CHECK(requeue(s, &b));
            stats->skipped[SILKIE_SKIP_DROPPED]++;
            stats->frames_skipped++;
            b = nb;
        }
        if (got < 0) return err;
    }
    s->current = b;
    s->have_current = 1;
    if ((b.flags & V4L2_BUF_FLAG_ERROR) || b.bytesused == 0 || b.bytesused > s->lens[b.index]) {
        v4l2_done(s);
        *skip = SILKIE_SKIP_CORRUPT;
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: frame flagged bad by the driver", s->path);
    }
    pk->data = s->maps[b.index];
    pk->size = b.bytesused;
    pk->timestamp_ns = (uint64_t)b.timestamp.tv_sec * 1000000000ull +
                       (uint64_t)b.timestamp.tv_usec * 1000ull;
    if (s->format == SILKIE_PIXEL_FORMAT_MJPEG) {
        pk->kind = SILKIE_IMAGE_KIND_JPEG;
    } else {
        pk->kind = SILKIE_IMAGE_KIND_UNKNOWN;
        pk->format = s->format;
        pk->width = s->width;
        pk->height = s->height;
        pk->stride = s->stride;
    }
    return SILKIE_OK;
}

static const sk_source_vt v4l2_vt = { "v4l2", v4l2_next, v4l2_done, v4l2_close };

static const struct {
    uint32_t fourcc;
    silkie_pixel_format fmt;
} k_formats[] = { /* preference order */
                  { V4L2_PIX_FMT_MJPEG, SILKIE_PIXEL_FORMAT_MJPEG },
                  { V4L2_PIX_FMT_YUYV, SILKIE_PIXEL_FORMAT_YUYV },
                  { V4L2_PIX_FMT_NV12, SILKIE_PIXEL_FORMAT_NV12 } };

static silkie_status negotiate(src_v4l2 *s, const silkie_camera_params *p)
{
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (xioctl(s, VIDIOC_QUERYCAP, &cap) < 0)
        return SK_FAIL(SILKIE_ERR_CAMERA, "%s: not a V4L2 device: %s", s->path, strerror(errno));
    uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING))
        return SK_FAIL(SILKIE_ERR_CAMERA, "%s: not a streaming capture device", s->path);

    int have[SK_ARRAY_LEN(k_formats)] = { 0 };
    for (uint32_t i = 0; i < 256; i++) {
        struct v4l2_fmtdesc d;
        memset(&d, 0, sizeof d);
        d.index = i;
        d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (xioctl(s, VIDIOC_ENUM_FMT, &d) < 0) break;
        for (size_t k = 0; k < SK_ARRAY_LEN(k_formats); k++)
            if (d.pixelformat == k_formats[k].fourcc) have[k] = 1;
    }
    size_t pick = SK_ARRAY_LEN(k_formats);
    for (size_t k = 0; k < SK_ARRAY_LEN(k_formats) && pick == SK_ARRAY_LEN(k_formats); k++)
        if (have[k]) pick = k;
    if (pick == SK_ARRAY_LEN(k_formats))
        return SK_FAIL(SILKIE_ERR_CAMERA, "%s: no supported format (want MJPEG, YUYV or NV12)",
                       s->path);
    s->fourcc = k_formats[pick].fourcc;
    s->format = k_formats[pick].fmt;

    /* Size: the wish, else the largest discrete size within 1920x1080, else 640x480. */
    uint32_t w = p->width, h = p->height;
    if (!w || !h) {
        w = 640, h = 480;
        uint64_t best = 0;
        for (uint32_t i = 0; i < 256; i++) {
            struct v4l2_frmsizeenum fs;
            memset(&fs, 0, sizeof fs);
            fs.index = i;
            fs.pixel_format = s->fourcc;
            if (xioctl(s, VIDIOC_ENUM_FRAMESIZES, &fs) < 0) break;
            uint32_t cw, ch;
            if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
                cw = fs.discrete.width, ch = fs.discrete.height;
            } else {
                cw = SK_MIN(fs.stepwise.max_width, 1920u);
                ch = SK_MIN(fs.stepwise.max_height, 1080u);
            }
            if (cw <= 1920 && ch <= 1080 && (uint64_t)cw * ch > best) {
                best = (uint64_t)cw * ch;
                w = cw, h = ch;
            }
            if (fs.type != V4L2_FRMSIZE_TYPE_DISCRETE) break;
        }
    }
    struct v4l2_format f;
    memset(&f, 0, sizeof f);
    f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    f.fmt.pix.width = w;
    f.fmt.pix.height = h;
    f.fmt.pix.pixelformat = s->fourcc;
    f.fmt.pix.field = V4L2_FIELD_NONE;
    if (xioctl(s, VIDIOC_S_FMT, &f) < 0)
        return SK_FAIL(SILKIE_ERR_CAMERA, "%s: S_FMT %ux%u failed: %s", s->path, w, h,
                       strerror(errno));
    if (f.fmt.pix.pixelformat != s->fourcc)
        return SK_FAIL(SILKIE_ERR_CAMERA, "%s: driver replaced the requested format", s->path);
    s->width = f.fmt.pix.width;
    s->height = f.fmt.pix.height;
    s->stride = f.fmt.pix.bytesperline;
    s->sizeimage = f.fmt.pix.sizeimage;
    SK_CHECK(silkie_image_check_dims("v4l2 format", s->width, s->height));
    if (s->format != SILKIE_PIXEL_FORMAT_MJPEG) {
        uint32_t row = s->format == SILKIE_PIXEL_FORMAT_YUYV ? s->width * 2 : s->width;
        if (s->stride < row) s->stride = row;
    }

    struct v4l2_streamparm sp;
    memset(&sp, 0, sizeof sp);
    sp.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    sp.parm.capture.timeperframe.numerator = 1;
    sp.parm.capture.timeperframe.denominator = p->fps ? p->fps : 30;
    if (xioctl(s, VIDIOC_S_PARM, &sp) < 0) {
        SK_LOGD("%s: S_PARM not supported", s->path);
    } else {
        /* The driver writes back the interval it chose: frames per second = den / num. */
        s->fps_num = sp.parm.capture.timeperframe.denominator;
        s->fps_den = sp.parm.capture.timeperframe.numerator;
    }
    return SILKIE_OK;
}

static silkie_status start_streaming(src_v4l2 *s, uint32_t n_wanted)
{
    struct v4l2_requestbuffers rb;
    memset(&rb, 0, sizeof rb);
    rb.count = n_wanted;
    rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    rb.memory = V4L2_MEMORY_MMAP;
    if (xioctl(s, VIDIOC_REQBUFS, &rb) < 0)
        return SK_FAIL(SILKIE_ERR_CAMERA, "%s: REQBUFS failed: %s", s->path, strerror(errno));
    if (rb.count < 2)
        return SK_FAIL(SILKIE_ERR_CAMERA, "%s: driver gave %u buffers", s->path, rb.count);
    s->n_bufs = SK_MIN(rb.count, (uint32_t)SK_V4L2_MAX_BUFFERS);
    for (uint32_t i = 0; i < s->n_bufs; i++) {
        struct v4l2_buffer b;
        memset(&b, 0, sizeof b);
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b.memory = V4L2_MEMORY_MMAP;
        b.index = i;
        if (xioctl(s, VIDIOC_QUERYBUF, &b) < 0)
            return SK_FAIL(SILKIE_ERR_CAMERA, "%s: QUERYBUF failed: %s", s->path, strerror(errno));
        void *m = s->ops.mmap(s->ops.user, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd,
                              (long)b.m.offset);
        if (m == MAP_FAILED || !m)
            return SK_FAIL(SILKIE_ERR_CAMERA, "%s: mmap of buffer %u failed", s->path, i);
        s->maps[i] = m;
        s->lens[i] = b.length;
        if (s->format != SILKIE_PIXEL_FORMAT_MJPEG) {
            uint64_t rows = s->format == SILKIE_PIXEL_FORMAT_NV12 ? s->height + s->height / 2
                                                                  : s->height;
            if ((uint64_t)s->stride * rows > b.length)
                return SK_FAIL(SILKIE_ERR_CAMERA, "%s: buffer %u too small for the format",
                               s->path, i);
        }
        if (xioctl(s, VIDIOC_QBUF, &b) < 0)
            return SK_FAIL(SILKIE_ERR_CAMERA, "%s: QBUF failed: %s", s->path, strerror(errno));
    }
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(s, VIDIOC_STREAMON, &type) < 0)
        return SK_FAIL(SILKIE_ERR_CAMERA, "%s: STREAMON failed: %s", s->path, strerror(errno));
    s->streaming = 1;
    return SILKIE_OK;
}

silkie_status silkie_camera_open_v4l2_ops(const char *device, const silkie_camera_params *p,
                                          const silkie_v4l2_ops *ops, silkie_camera **out)
{
    if (!device || !out || !ops)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "camera_open_v4l2: device, out required");
    silkie_error_clear();
    *out = NULL;
    silkie_camera_params q;
    silkie_camera_params_init(&q);
    if (p) memcpy(&q, p, SK_MIN(sizeof q, p->struct_size ? p->struct_size : sizeof q));
    src_v4l2 *s = SK_NEW(src_v4l2);
    if (!s || !(s->path = silkie_strdup(device))) {
        silkie_free(s);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "camera_open_v4l2: %s", device);
    }
    s->ops = *ops;
    s->live = q.live != 2;
    s->fd = s->ops.open(s->ops.user, device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (s->fd < 0) {
        int e = errno;
        v4l2_close(s);
        return SK_FAIL(SILKIE_ERR_CAMERA, "%s: cannot open: %s", device, strerror(e));
    }
    silkie_status st = negotiate(s, &q);
    if (st == SILKIE_OK) st = start_streaming(s, SK_MIN(SK_MAX(q.n_buffers, 4u), 8u));
    if (st != SILKIE_OK) {
        v4l2_close(s);
        return st;
    }
    SK_LOGI("%s: %ux%u %s", device, s->width, s->height,
            s->format == SILKIE_PIXEL_FORMAT_MJPEG  ? "MJPEG"
            : s->format == SILKIE_PIXEL_FORMAT_YUYV ? "YUYV"
                                                    : "NV12");
    st = sk_camera_create(&q, &v4l2_vt, s, 1, out);
    if (st == SILKIE_OK) {
        (*out)->stats.width = s->width;
        (*out)->stats.height = s->height;
        (*out)->stats.capture_format = s->format;
        (*out)->stats.fps_num = s->fps_num;
        (*out)->stats.fps_den = s->fps_den;
    }
    return st;
}

silkie_status silkie_camera_open_v4l2(const char *device, const silkie_camera_params *p,
                                      silkie_camera **out)
{
    return silkie_camera_open_v4l2_ops(device, p, &default_ops, out);
}
