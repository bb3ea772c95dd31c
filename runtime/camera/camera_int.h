/* Camera layer internals: frame sources behind one vtable, the ring, the V4L2 ops table. */
#ifndef SILKIE_CAMERA_INT_H
#define SILKIE_CAMERA_INT_H

#include <pthread.h>

#include "camera/camera.h"

/* What a source produces: encoded bytes (a still or a JPEG frame) or a raw frame. Borrowed
 * until the source's next() or done() call. */
typedef struct sk_packet {
    silkie_image_kind kind;     /* encoded still or JPEG frame; UNKNOWN for raw */
    silkie_pixel_format format; /* raw frames: RGB8, GRAY8, YUYV, NV12 */
    const uint8_t *data;
    size_t size;
    uint32_t width, height, stride; /* raw frames */
    uint64_t timestamp_ns;
    const char *name;           /* file name for messages, or NULL */
} sk_packet;

typedef struct sk_source_vt {
    const char *name;
    /* Next packet: SILKIE_OK, SILKIE_ERR_AGAIN (nothing within timeout), END_OF_STREAM,
     * CAMERA (device failure), or a skip: *skip set to a reason and SILKIE_ERR_BAD_IMAGE. */
    silkie_status (*next)(void *src, uint32_t timeout_ms, sk_packet *pkt, silkie_skip_reason *skip,
                          silkie_camera_stats *stats);
    /* The packet has been consumed (V4L2 requeues its buffer). May be NULL. */
    void (*done)(void *src);
    void (*close)(void *src);
} sk_source_vt;

enum { SK_SLOT_FREE = 0, SK_SLOT_FILLING, SK_SLOT_READY, SK_SLOT_HELD };

typedef struct sk_slot {
    int state;
    uint64_t sequence;
    uint64_t timestamp_ns;
    silkie_pixel_format format;
    uint32_t stride;
    silkie_image img; /* RGB8 / GRAY8, or raw bytes of YUYV/NV12 (width = bytes, height = 1) */
    uint32_t width, height;
    size_t size_bytes;
    uint32_t exif_orientation;
} sk_slot;

#define SK_RING_MAX 16

struct silkie_camera {
    silkie_camera_params p;
    const sk_source_vt *vt;
    void *src;
    int live;
    int is_app;
    int single_still; /* a bad still is an error, not a skip */

    silkie_jpeg_decoder *jpeg;
    silkie_image scratch;

    sk_slot slots[SK_RING_MAX];
    uint32_t n_slots;
    uint64_t next_sequence;
    silkie_camera_stats stats;

    /* Threaded mode. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int thread_started;
    int stop;
    silkie_status end_status; /* set by the worker: END_OF_STREAM or CAMERA */
    char end_message[256];
    int ended;                /* app sources: push_end called */

    /* Realtime pacing. */
    uint64_t pace_start_ns;
    uint64_t pace_index;
};

silkie_status sk_camera_create(const silkie_camera_params *p, const sk_source_vt *vt, void *src,
                               int live, silkie_camera **out);

/* Sources. */
silkie_status sk_source_file_open(const char *path, void **out);
silkie_status sk_source_dir_open(const char *path, void **out);
silkie_status sk_source_mjpeg_open(const char *path, void **out);
extern const sk_source_vt sk_source_file_vt, sk_source_dir_vt, sk_source_mjpeg_vt;

/* The encoded formats stills may have, for messages. */
#define SK_IMAGE_KINDS "JPEG, PNG, WebP, BMP, GIF or PPM"

/* "NAME: KIND" for the start of decoder messages, or KIND alone when name is NULL; returns buf,
 * truncated to cap. */
const char *sk_image_what(char *buf, size_t cap, const char *name, const char *kind);

/* Reads a whole file into a growable buffer (grow only). */
silkie_status sk_read_whole(const char *path, uint8_t **buf, size_t *cap, size_t *size);

/* ---- V4L2 ------------------------------------------------------------------------------------
 * Every system call the V4L2 source makes goes through this table, so tests can plug in a fake
 * device. The defaults call open/close/ioctl/mmap/munmap/poll. */
typedef struct silkie_v4l2_ops {
    int (*open)(void *user, const char *path, int flags);
    int (*close)(void *user, int fd);
    int (*ioctl)(void *user, int fd, unsigned long request, void *arg);
    void *(*mmap)(void *user, size_t length, int prot, int flags, int fd, long offset);
    int (*munmap)(void *user, void *addr, size_t length);
    /* poll for readability of fd: >0 ready, 0 timeout, <0 error (errno set); revents out */
    int (*poll)(void *user, int fd, int timeout_ms, short *revents);
    void *user;
} silkie_v4l2_ops;

const silkie_v4l2_ops *silkie_v4l2_default_ops(void);
/* silkie_camera_open_v4l2 with a chosen ops table (tests). */
silkie_status silkie_camera_open_v4l2_ops(const char *device, const silkie_camera_params *p,
                                          const silkie_v4l2_ops *ops, silkie_camera **out);

#endif /* SILKIE_CAMERA_INT_H */
