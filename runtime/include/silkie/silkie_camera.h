/* Silkie Edge: frame sources (V4L2 cameras, still images, directories, Motion-JPEG streams,
 * frames pushed by the application) and their decode to 8-bit RGB.
 *
 * Usage:
 *   silkie_camera_params p;
 *   silkie_camera_params_init(&p);
 *   silkie_camera *cam;
 *   if (silkie_camera_open_v4l2("/dev/video0", &p, &cam) != SILKIE_OK) ... silkie_last_error()
 *   silkie_frame f;
 *   while (silkie_camera_acquire(cam, 1000, &f) == SILKIE_OK) {
 *       ... f.data is f.height rows of f.stride bytes, RGB8 unless params.keep_raw ...
 *       silkie_camera_release(cam, &f);
 *   }
 *   silkie_camera_destroy(cam);
 *
 * Threading: one thread at a time per silkie_camera (acquire/release/stats/destroy). With
 * params.threaded the source reads and decodes on its own thread into a small ring, so decoding
 * frame N+1 overlaps whatever the caller does with frame N.
 *
 * Ownership: a frame's pixels belong to the caller between acquire and release and to the ring
 * otherwise. At most params.n_buffers - 1 frames may be held at once.
 *
 * Live sources (V4L2, app buffers in live mode) drop stale frames: acquire returns the newest
 * one ("latest frame wins"). Recorded sources (files, directories, MJPEG streams) deliver every
 * frame in order; params.realtime paces them at params.fps instead.
 *
 * EXIF orientation is read and reported, but by default NOT applied, because the reference
 * model pipeline (PIL convert("RGB") then resize) ignores it; set apply_exif_orientation for
 * stills that should be upright.
 */
#ifndef SILKIE_SILKIE_CAMERA_H
#define SILKIE_SILKIE_CAMERA_H

#include "silkie/silkie.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest accepted image: width and height each <= 16384 and width * height <= 64 MP. Larger
 * headers are refused with SILKIE_ERR_BAD_IMAGE before anything is allocated. */
#define SILKIE_IMAGE_MAX_SIDE 16384u
#define SILKIE_IMAGE_MAX_PIXELS (64u * 1024u * 1024u)

typedef enum silkie_pixel_format {
    SILKIE_PIXEL_FORMAT_RGB8 = 0,  /* packed R, G, B bytes */
    SILKIE_PIXEL_FORMAT_YUYV = 1,  /* packed Y0 U Y1 V, 4:2:2, BT.601 limited range */
    SILKIE_PIXEL_FORMAT_NV12 = 2,  /* Y plane, then interleaved U V plane at half resolution */
    SILKIE_PIXEL_FORMAT_GRAY8 = 3, /* one byte per pixel */
    SILKIE_PIXEL_FORMAT_MJPEG = 4, /* one JPEG frame (pushed or captured; decoded on delivery) */
    SILKIE_PIXEL_FORMAT_MAX_ = 0x7fffffff
} silkie_pixel_format;

/* One frame. The pixels are borrowed: valid until silkie_camera_release. */
typedef struct silkie_frame {
    uint32_t width, height;
    silkie_pixel_format format; /* RGB8, or YUYV / NV12 when params.keep_raw */
    uint32_t stride;            /* bytes per row of plane 0 (NV12: the UV plane uses it too) */
    const uint8_t *data;        /* NV12: the UV plane follows at data + stride * height */
    size_t size_bytes;
    uint64_t sequence;          /* index in the source (skipped frames still count) */
    uint64_t timestamp_ns;      /* capture time (V4L2) or read time, monotonic clock */
    uint32_t exif_orientation;  /* 1..8 as in EXIF; 1 when absent; already applied if params say */
    uint32_t slot;              /* internal: ring slot */
} silkie_frame;

typedef struct silkie_camera silkie_camera;

typedef struct silkie_camera_params {
    uint32_t struct_size;            /* set by silkie_camera_params_init() */
    uint32_t width, height;          /* V4L2 capture size wish; 0 = largest <= 1920x1080 */
    uint32_t fps;                    /* V4L2 rate wish; pacing rate when realtime; 0 = 30 */
    uint32_t n_buffers;              /* ring slots (2..16); 0 = 4 */
    uint32_t live;                   /* 0 = by source (V4L2 live, others recorded), 1 live, 2 not */
    uint32_t realtime;               /* 1: recorded sources deliver at fps, dropping late frames */
    uint32_t apply_exif_orientation; /* 1: rotate/flip stills per EXIF (model parity: leave 0) */
    uint32_t decode_min_width;       /* >0 with decode_min_height: DCT-scaled JPEG decode (1/2, */
    uint32_t decode_min_height;      /*  1/4, 1/8) while the result stays >= this size */
    uint32_t keep_raw;               /* 1: YUYV/NV12 camera frames are delivered unconverted */
    uint32_t timeout_ms;             /* V4L2 poll timeout per wait; 0 = 2000 */
    uint32_t threaded;               /* 1: read and decode on a background thread */
    /* new fields are added here, at the end, and nowhere else */
} silkie_camera_params;

SILKIE_API void silkie_camera_params_init_size(silkie_camera_params *p, size_t size);
static inline void silkie_camera_params_init(silkie_camera_params *p)
{
    silkie_camera_params_init_size(p, sizeof *p);
}

/* A V4L2 capture device such as "/dev/video0". Negotiates MJPEG first, then YUYV, then NV12,
 * with mmap streaming buffers. Errors: SILKIE_ERR_CAMERA (cannot open, not a capture device,
 * no usable format), SILKIE_ERR_UNSUPPORTED (built without V4L2). */
SILKIE_API silkie_status silkie_camera_open_v4l2(const char *device,
                                                 const silkie_camera_params *p,
                                                 silkie_camera **out);
/* One still image (JPEG, PNG, WebP, BMP, GIF's first frame, or binary PPM/PGM P6/P5, told apart
 * by their first bytes), delivered once. Errors: SILKIE_ERR_IO, SILKIE_ERR_BAD_IMAGE (checked at
 * open). */
SILKIE_API silkie_status silkie_camera_open_file(const char *path, const silkie_camera_params *p,
                                                 silkie_camera **out);
/* Every image of a directory, sorted by name (strcmp). Files that are not a decodable image or
 * fail to decode are skipped and counted. Errors: SILKIE_ERR_IO. */
SILKIE_API silkie_status silkie_camera_open_dir(const char *path, const silkie_camera_params *p,
                                                silkie_camera **out);
/* A Motion-JPEG stream: concatenated JPEG files, from a path or from stdin with path "-".
 * Corrupt or truncated frames are skipped and counted. */
SILKIE_API silkie_status silkie_camera_open_mjpeg(const char *path, const silkie_camera_params *p,
                                                  silkie_camera **out);
/* Frames pushed by the application with silkie_camera_push (RGB8, GRAY8, YUYV, NV12, or one
 * JPEG as MJPEG). Live unless params.live == 2. */
SILKIE_API silkie_status silkie_camera_open_app(const silkie_camera_params *p,
                                                silkie_camera **out);
/* Copies one frame into the ring (data is not kept). In live mode a full ring drops its oldest
 * unread frame; otherwise returns SILKIE_ERR_AGAIN when full. f->stride 0 means tightly packed.
 * Errors: SILKIE_ERR_INVALID_ARGUMENT (not an app source, bad sizes), SILKIE_ERR_BAD_IMAGE. */
SILKIE_API silkie_status silkie_camera_push(silkie_camera *cam, const silkie_frame *f);
/* Ends an app source: once the ring is drained, acquire returns SILKIE_ERR_END_OF_STREAM. */
SILKIE_API void silkie_camera_push_end(silkie_camera *cam);

/* Waits up to timeout_ms (0 = do not wait) for the next frame. Returns SILKIE_OK with *out
 * filled, SILKIE_ERR_AGAIN on timeout, SILKIE_ERR_END_OF_STREAM after the last frame,
 * SILKIE_ERR_CAMERA when the device failed or was unplugged, SILKIE_ERR_INVALID_ARGUMENT when
 * too many frames are held. Frames that cannot be decoded are skipped and counted, not
 * returned as errors, except for a single still file (SILKIE_ERR_BAD_IMAGE). */
SILKIE_API silkie_status silkie_camera_acquire(silkie_camera *cam, uint32_t timeout_ms,
                                               silkie_frame *out);
/* Gives a frame back to the ring. */
SILKIE_API void silkie_camera_release(silkie_camera *cam, const silkie_frame *f);

typedef enum silkie_skip_reason {
    SILKIE_SKIP_CORRUPT = 0,   /* the decoder rejected the data */
    SILKIE_SKIP_TRUNCATED = 1, /* an image cut short (e.g. a JPEG without its end marker) */
    SILKIE_SKIP_NOT_IMAGE = 2, /* directory entry that is not a decodable image */
    SILKIE_SKIP_TOO_LARGE = 3, /* dimensions beyond the documented limits */
    SILKIE_SKIP_DROPPED = 4,   /* live source: overwritten by a newer frame before acquire */
    SILKIE_SKIP_LATE = 5,      /* realtime pacing: arrived after its slot */
    SILKIE_SKIP_REASON_COUNT_ = 6,
    SILKIE_SKIP_REASON_MAX_ = 0x7fffffff
} silkie_skip_reason;

typedef struct silkie_camera_stats {
    uint64_t frames_read;      /* frames taken from the device / file (before decode) */
    uint64_t frames_delivered; /* returned by acquire */
    uint64_t frames_released;
    uint64_t frames_skipped;   /* sum of skipped[] */
    uint64_t skipped[SILKIE_SKIP_REASON_COUNT_];
    uint64_t eagain;           /* V4L2 DQBUF that found no frame ready */
    uint64_t decode_ns;        /* total time spent decoding */
    uint32_t width, height;    /* negotiated capture size (V4L2) or last frame size */
    silkie_pixel_format capture_format; /* negotiated V4L2 format */
    uint32_t fps_num, fps_den; /* negotiated rate fps_num / fps_den (V4L2); 0 when unknown */
} silkie_camera_stats;

SILKIE_API silkie_status silkie_camera_stats_get(const silkie_camera *cam,
                                                 silkie_camera_stats *out);
/* "corrupt", "truncated", ...; static storage. */
SILKIE_API const char *silkie_skip_reason_name(silkie_skip_reason r);
/* Stops capture, joins the decode thread and frees everything. Frames still held become
 * invalid. NULL is fine. */
SILKIE_API void silkie_camera_destroy(silkie_camera *cam);

/* ============================================================================================
 * Camera frames into a chat session
 *
 *     silkie_frame f;
 *     while (silkie_camera_acquire(cam, 1000, &f) == SILKIE_OK) {
 *         silkie_session_reset(s);
 *         silkie_status st = silkie_session_add_image_frame(s, &f, "frame.jpg");
 *         silkie_camera_release(cam, &f);             // the session copied what it needs
 *         if (st == SILKIE_OK) st = silkie_session_ask(s, "What is in this picture?", &ap);
 *     }
 * ============================================================================================ */

/* Adds one frame (as from silkie_camera_acquire) to the next question, like
 * silkie_session_add_image_rgb: the bytes are copied once to the device, resized and
 * normalised there (Pillow-exact, so an RGB8 frame gives the same features as
 * silkie_session_add_image_rgb on the same pixels) straight into the vision tower's input, and
 * encoded at once. Formats: RGB8, GRAY8, YUYV (even width), NV12 (even width and height), and
 * MJPEG (one JPEG, decoded on the CPU like silkie_session_add_image_encoded). f is only read
 * during the call, so the frame may be released as soon as it returns. `name` as in the other
 * add_image calls (NULL = "image<k>"). After the first frame of a given format and size, further
 * frames of that size allocate nothing. Timings count towards image_encode_ms.
 * Errors: SILKIE_ERR_INVALID_ARGUMENT (NULL, empty frame, unknown format, too many images),
 * SILKIE_ERR_BAD_IMAGE (sizes beyond the limits, odd YUYV/NV12 sizes, stride too small),
 * SILKIE_ERR_UNSUPPORTED (text-only model), SILKIE_ERR_OUT_OF_DEVICE_MEMORY,
 * SILKIE_ERR_DEVICE_LOST (the session is poisoned). The session is unchanged on failure. */
SILKIE_API silkie_status silkie_session_add_image_frame(silkie_session *s, const silkie_frame *f,
                                                        const char *name);

#ifdef __cplusplus
}
#endif
#endif /* SILKIE_SILKIE_CAMERA_H */
