/* Frame ring shared by all sources: decode into slots, latest-frame-wins for live sources,
 * in-order delivery for recorded ones, optional decode thread. */
#define SK_LOG_MODULE "camera"
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "camera/camera_int.h"
#include "ref/ref_image.h"


void silkie_camera_params_init_size(silkie_camera_params *p, size_t size)
{
    silkie_camera_params d = {0};
    sk_params_fill(p, size, &d, sizeof d);
}

static void params_copy(silkie_camera_params *dst, const silkie_camera_params *src)
{
    silkie_camera_params_init(dst);
    if (src) {
        size_t n = src->struct_size < sizeof *dst ? src->struct_size : sizeof *dst;
        memcpy(dst, src, n);
        dst->struct_size = sizeof *dst;
    }
    if (dst->n_buffers == 0) dst->n_buffers = 4;
    if (dst->n_buffers < 2) dst->n_buffers = 2;
    if (dst->n_buffers > SK_RING_MAX) dst->n_buffers = SK_RING_MAX;
    if (dst->fps == 0) dst->fps = 30;
    if (dst->timeout_ms == 0) dst->timeout_ms = 2000;
}

const char *silkie_skip_reason_name(silkie_skip_reason r)
{
    static const char *names[SILKIE_SKIP_REASON_COUNT_] = { "corrupt", "truncated", "not_image",
                                                            "too_large", "dropped", "late" };
    return (unsigned)r < SILKIE_SKIP_REASON_COUNT_ ? names[r] : "unknown";
}

static void count_skip(silkie_camera *cam, silkie_skip_reason r)
{
    cam->stats.skipped[r]++;
    cam->stats.frames_skipped++;
}

/* Decodes one packet into a slot. On failure *skip says why. */
static silkie_status decode_packet(silkie_camera *cam, const sk_packet *pk, sk_slot *slot,
                                   silkie_skip_reason *skip, silkie_camera_stats *acc)
{
    silkie_status st = SILKIE_OK;
    uint64_t t0 = silkie_time_ns();
    slot->format = SILKIE_PIXEL_FORMAT_RGB8;
    if (pk->kind == SILKIE_IMAGE_KIND_JPEG) {
        silkie_jpeg_decode_opts o = { .min_width = cam->p.decode_min_width,
                                      .min_height = cam->p.decode_min_height };
        st = silkie_jpeg_decode(cam->jpeg, pk->data, pk->size, &o, &slot->img);
        if (st != SILKIE_OK) {
            int eoi = pk->size >= 2 && pk->data[pk->size - 2] == 0xFF &&
                      pk->data[pk->size - 1] == 0xD9;
            *skip = strstr(silkie_last_error(), "exceeds")   ? SILKIE_SKIP_TOO_LARGE
                    : strstr(silkie_last_error(), "empty")   ? SILKIE_SKIP_CORRUPT
                    : !eoi                                   ? SILKIE_SKIP_TRUNCATED
                                                             : SILKIE_SKIP_CORRUPT;
        }
    } else if (pk->kind != SILKIE_IMAGE_KIND_UNKNOWN) {
        /* PPM, PNG, WebP, BMP, GIF stills; their messages say "truncated" when data ran out. */
        st = pk->kind == SILKIE_IMAGE_KIND_PPM
                 ? silkie_ppm_decode(pk->data, pk->size, 0, &slot->img)
                 : silkie_image_decode(cam->jpeg, pk->data, pk->size, pk->name, &slot->img);
        if (st != SILKIE_OK)
            *skip = strstr(silkie_last_error(), "exceeds")     ? SILKIE_SKIP_TOO_LARGE
                    : strstr(silkie_last_error(), "truncated") ? SILKIE_SKIP_TRUNCATED
                                                               : SILKIE_SKIP_CORRUPT;
    } else {
        uint32_t w = pk->width, h = pk->height;
        st = silkie_image_check_dims("frame", w, h);
        if (st != SILKIE_OK) {
            *skip = SILKIE_SKIP_TOO_LARGE;
            return st;
        }
        int yuv = pk->format == SILKIE_PIXEL_FORMAT_YUYV || pk->format == SILKIE_PIXEL_FORMAT_NV12;
        uint32_t row = pk->format == SILKIE_PIXEL_FORMAT_RGB8   ? w * 3
                       : pk->format == SILKIE_PIXEL_FORMAT_YUYV ? w * 2
                                                                : w;
        uint32_t stride = pk->stride ? pk->stride : row;
        uint64_t rows = pk->format == SILKIE_PIXEL_FORMAT_NV12 ? (uint64_t)h + h / 2 : h;
        if (stride < row || (uint64_t)stride * (rows - 1) + row > pk->size || (yuv && (w & 1)) ||
            (pk->format == SILKIE_PIXEL_FORMAT_NV12 && (h & 1))) {
            *skip = SILKIE_SKIP_TRUNCATED;
            return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "frame: %ux%u format %d does not fit %zu bytes",
                           w, h, (int)pk->format, pk->size);
        }
        if (yuv && cam->p.keep_raw) {
            /* Raw bytes, tightly packed rows, for conversion on the GPU. */
            SK_CHECK(silkie_image_reserve(&slot->img, row, (uint32_t)rows, 1));
            for (uint64_t y = 0; y < rows; y++)
                memcpy(slot->img.data + y * row, pk->data + y * stride, row);
            slot->format = pk->format;
            slot->stride = row;
            slot->width = w;
            slot->height = h;
            slot->size_bytes = (size_t)row * rows;
            slot->exif_orientation = 1;
            acc->decode_ns += silkie_time_ns() - t0;
            return SILKIE_OK;
        }
        uint32_t ch = pk->format == SILKIE_PIXEL_FORMAT_GRAY8 ? 1 : 3;
        SK_CHECK(silkie_image_reserve(&slot->img, w, h, ch));
        if (yuv) {
            st = silkie_ref_yuv_to_rgb(pk->format == SILKIE_PIXEL_FORMAT_YUYV ? 1 : 2, pk->data,
                                       stride, w, h, slot->img.data);
        } else if (pk->format == SILKIE_PIXEL_FORMAT_RGB8 ||
                   pk->format == SILKIE_PIXEL_FORMAT_GRAY8) {
            for (uint32_t y = 0; y < h; y++)
                memcpy(slot->img.data + (size_t)y * row, pk->data + (size_t)y * stride, row);
        } else {
            st = SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "frame: format %d", (int)pk->format);
        }
        slot->img.exif_orientation = 1;
        if (st != SILKIE_OK) *skip = SILKIE_SKIP_CORRUPT;
    }
    if (st != SILKIE_OK) return st;
    if (cam->p.apply_exif_orientation && slot->img.exif_orientation != 1)
        SK_CHECK(silkie_image_orient(&slot->img, slot->img.exif_orientation, &cam->scratch));
    if (slot->img.channels == 1) slot->format = SILKIE_PIXEL_FORMAT_GRAY8;
    slot->width = slot->img.width;
    slot->height = slot->img.height;
    slot->stride = slot->img.width * slot->img.channels;
    slot->size_bytes = (size_t)slot->stride * slot->height;
    slot->exif_orientation = slot->img.exif_orientation;
    acc->decode_ns += silkie_time_ns() - t0;
    return SILKIE_OK;
}

/* Reads packets until one decodes into `slot`, a terminal status, or AGAIN. Skips are counted
 * in cam->stats (the caller holds the lock in threaded mode only around the counters). */
static silkie_status produce(silkie_camera *cam, sk_slot *slot, uint32_t timeout_ms,
                             silkie_camera_stats *st_out)
{
    for (;;) {
        sk_packet pk;
        memset(&pk, 0, sizeof pk);
        silkie_skip_reason skip = SILKIE_SKIP_CORRUPT;
        silkie_status st = cam->vt->next(cam->src, timeout_ms, &pk, &skip, st_out);
        if (st == SILKIE_ERR_BAD_IMAGE) {
            st_out->frames_read++;
            st_out->skipped[skip]++;
            st_out->frames_skipped++;
            if (cam->single_still) return st;
            continue;
        }
        if (st != SILKIE_OK) return st;
        st_out->frames_read++;
        uint64_t seq = cam->next_sequence++;
        st = decode_packet(cam, &pk, slot, &skip, st_out);
        if (cam->vt->done) cam->vt->done(cam->src);
        if (st == SILKIE_ERR_BAD_IMAGE) {
            st_out->skipped[skip]++;
            st_out->frames_skipped++;
            SK_LOGD("skipped frame %llu (%s): %s", (unsigned long long)seq,
                    silkie_skip_reason_name(skip), silkie_last_error());
            if (cam->single_still) return st;
            continue;
        }
        if (st != SILKIE_OK) return st;
        slot->sequence = seq;
        slot->timestamp_ns = pk.timestamp_ns ? pk.timestamp_ns : silkie_time_ns();
        return SILKIE_OK;
    }
}

/* Adds a worker's private counters into the shared stats (lock held). */
static void stats_merge(silkie_camera *cam, silkie_camera_stats *d)
{
    cam->stats.frames_read += d->frames_read;
    cam->stats.frames_skipped += d->frames_skipped;
    for (int i = 0; i < SILKIE_SKIP_REASON_COUNT_; i++) cam->stats.skipped[i] += d->skipped[i];
    cam->stats.eagain += d->eagain;
    cam->stats.decode_ns += d->decode_ns;
    if (d->width) {
        cam->stats.width = d->width;
        cam->stats.height = d->height;
        cam->stats.capture_format = d->capture_format;
        cam->stats.fps_num = d->fps_num;
        cam->stats.fps_den = d->fps_den;
    }
    memset(d, 0, sizeof *d);
}

static void *worker_main(void *arg)
{
    silkie_camera *cam = arg;
    silkie_camera_stats local;
    memset(&local, 0, sizeof local);
    pthread_mutex_lock(&cam->mu);
    while (!cam->stop) {
        sk_slot *slot = NULL;
        for (uint32_t i = 0; i < cam->n_slots && !slot; i++)
            if (cam->slots[i].state == SK_SLOT_FREE) slot = &cam->slots[i];
        if (!slot && cam->live) {
            /* Latest frame wins: recycle the oldest unread frame. */
            for (uint32_t i = 0; i < cam->n_slots; i++) {
                sk_slot *s = &cam->slots[i];
                if (s->state == SK_SLOT_READY && (!slot || s->sequence < slot->sequence)) slot = s;
            }
            if (slot) count_skip(cam, SILKIE_SKIP_DROPPED);
        }
        if (!slot) {
            pthread_cond_wait(&cam->cv, &cam->mu);
            continue;
        }
        slot->state = SK_SLOT_FILLING;
        pthread_mutex_unlock(&cam->mu);
        silkie_status st = produce(cam, slot, 100, &local);
        pthread_mutex_lock(&cam->mu);
        stats_merge(cam, &local);
        if (st == SILKIE_OK) {
            slot->state = SK_SLOT_READY;
        } else {
            slot->state = SK_SLOT_FREE;
            if (st != SILKIE_ERR_AGAIN) {
                cam->end_status = st;
                snprintf(cam->end_message, sizeof cam->end_message, "%s", silkie_last_error());
                pthread_cond_broadcast(&cam->cv);
                break;
            }
        }
        pthread_cond_broadcast(&cam->cv);
    }
    pthread_mutex_unlock(&cam->mu);
    return NULL;
}

silkie_status sk_camera_create(const silkie_camera_params *p, const sk_source_vt *vt, void *src,
                               int live, silkie_camera **out)
{
    *out = NULL;
    silkie_camera *cam = SK_NEW(silkie_camera);
    if (!cam) {
        if (vt && vt->close) vt->close(src);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "camera: %zu bytes", sizeof *cam);
    }
    params_copy(&cam->p, p);
    cam->vt = vt;
    cam->src = src;
    cam->live = cam->p.live == 1 ? 1 : cam->p.live == 2 ? 0 : live;
    cam->n_slots = cam->p.n_buffers;
    for (uint32_t i = 0; i < SK_RING_MAX; i++) silkie_image_init(&cam->slots[i].img);
    silkie_image_init(&cam->scratch);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&cam->mu, NULL);
    pthread_cond_init(&cam->cv, &ca);
    pthread_condattr_destroy(&ca);
    silkie_status st = silkie_jpeg_decoder_create(&cam->jpeg);
    if (st != SILKIE_OK) {
        silkie_camera_destroy(cam);
        return st;
    }
    if (cam->p.threaded && vt) {
        if (pthread_create(&cam->thread, NULL, worker_main, cam) != 0) {
            silkie_camera_destroy(cam);
            return SK_FAIL(SILKIE_ERR_INTERNAL, "camera: cannot start the decode thread");
        }
        cam->thread_started = 1;
    }
    *out = cam;
    return SILKIE_OK;
}

static void fill_frame(silkie_camera *cam, sk_slot *s, silkie_frame *f)
{
    memset(f, 0, sizeof *f);
    f->width = s->width;
    f->height = s->height;
    f->format = s->format;
    f->stride = s->stride;
    f->data = s->img.data;
    f->size_bytes = s->size_bytes;
    f->sequence = s->sequence;
    f->timestamp_ns = s->timestamp_ns;
    f->exif_orientation = s->exif_orientation;
    f->slot = (uint32_t)(s - cam->slots);
    s->state = SK_SLOT_HELD;
    cam->stats.frames_delivered++;
    cam->stats.width = s->width;
    cam->stats.height = s->height;
}

/* Picks the READY slot to deliver (lock held in threaded mode): the oldest for recorded
 * sources; the newest for live ones, dropping the older ones. */
static sk_slot *pick_ready(silkie_camera *cam)
{
    sk_slot *best = NULL;
    for (uint32_t i = 0; i < cam->n_slots; i++) {
        sk_slot *s = &cam->slots[i];
        if (s->state != SK_SLOT_READY) continue;
        if (!best || (cam->live ? s->sequence > best->sequence : s->sequence < best->sequence))
            best = s;
    }
    if (best && cam->live) {
        for (uint32_t i = 0; i < cam->n_slots; i++) {
            sk_slot *s = &cam->slots[i];
            if (s != best && s->state == SK_SLOT_READY) {
                s->state = SK_SLOT_FREE;
                count_skip(cam, SILKIE_SKIP_DROPPED);
            }
        }
    }
    return best;
}

static uint32_t n_held(const silkie_camera *cam)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < cam->n_slots; i++) n += cam->slots[i].state == SK_SLOT_HELD;
    return n;
}

static silkie_status acquire_waiting(silkie_camera *cam, uint32_t timeout_ms, silkie_frame *out)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) dl.tv_sec++, dl.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&cam->mu);
    for (;;) {
        sk_slot *s = pick_ready(cam);
        if (s) {
            fill_frame(cam, s, out);
            pthread_cond_broadcast(&cam->cv);
            pthread_mutex_unlock(&cam->mu);
            return SILKIE_OK;
        }
        if (cam->end_status != SILKIE_OK) {
            silkie_status st = cam->end_status;
            pthread_mutex_unlock(&cam->mu);
            return SK_FAIL(st, "%s", st == SILKIE_ERR_END_OF_STREAM ? "camera: end of stream"
                                                                    : cam->end_message);
        }
        if (cam->is_app && cam->ended) {
            pthread_mutex_unlock(&cam->mu);
            return SK_FAIL(SILKIE_ERR_END_OF_STREAM, "camera: end of stream");
        }
        if (timeout_ms == 0 || pthread_cond_timedwait(&cam->cv, &cam->mu, &dl) == ETIMEDOUT) {
            pthread_mutex_unlock(&cam->mu);
            return SK_FAIL(SILKIE_ERR_AGAIN, "camera: no frame within %u ms", timeout_ms);
        }
    }
}

static silkie_status acquire_once(silkie_camera *cam, uint32_t timeout_ms, silkie_frame *out)
{
    if (cam->thread_started || cam->is_app) return acquire_waiting(cam, timeout_ms, out);
    sk_slot *s = pick_ready(cam);
    if (s) {
        fill_frame(cam, s, out);
        return SILKIE_OK;
    }
    if (cam->end_status != SILKIE_OK)
        return SK_FAIL(cam->end_status, "%s",
                       cam->end_status == SILKIE_ERR_END_OF_STREAM ? "camera: end of stream"
                                                                   : cam->end_message);
    for (uint32_t i = 0; i < cam->n_slots && !s; i++)
        if (cam->slots[i].state == SK_SLOT_FREE) s = &cam->slots[i];
    if (!s) return SK_FAIL(SILKIE_ERR_INTERNAL, "camera: no free slot");
    silkie_camera_stats local;
    memset(&local, 0, sizeof local);
    silkie_status st = produce(cam, s, timeout_ms, &local);
    stats_merge(cam, &local);
    if (st == SILKIE_OK) {
        fill_frame(cam, s, out);
        return SILKIE_OK;
    }
    if (st == SILKIE_ERR_END_OF_STREAM || st == SILKIE_ERR_CAMERA) {
        cam->end_status = st;
        snprintf(cam->end_message, sizeof cam->end_message, "%s", silkie_last_error());
    }
    return st;
}

silkie_status silkie_camera_acquire(silkie_camera *cam, uint32_t timeout_ms, silkie_frame *out)
{
    if (!cam || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "camera_acquire: cam, out required");
    silkie_error_clear();
    memset(out, 0, sizeof *out);
    if (cam->thread_started || cam->is_app) pthread_mutex_lock(&cam->mu);
    uint32_t held = n_held(cam);
    if (cam->thread_started || cam->is_app) pthread_mutex_unlock(&cam->mu);
    if (held + 1 >= cam->n_slots)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "camera_acquire: %u frames held, ring has %u",
                       held, cam->n_slots);
    for (;;) {
        SK_CHECK(acquire_once(cam, timeout_ms, out));
        if (!cam->p.realtime || cam->live) return SILKIE_OK;
        /* Pacing: frame i is due at start + i / fps; one more than a period late is skipped. */
        uint64_t period = 1000000000ull / cam->p.fps, now = silkie_time_ns();
        if (cam->pace_index == 0) cam->pace_start_ns = now;
        uint64_t due = cam->pace_start_ns + cam->pace_index++ * period;
        if (now > due + period) {
            silkie_camera_release(cam, out);
            if (cam->thread_started || cam->is_app) pthread_mutex_lock(&cam->mu);
            cam->stats.frames_delivered--;
            cam->stats.frames_released--;
            count_skip(cam, SILKIE_SKIP_LATE);
            if (cam->thread_started || cam->is_app) pthread_mutex_unlock(&cam->mu);
            continue;
        }
        if (now < due) {
            uint64_t d = due - now;
            struct timespec ts = { (time_t)(d / 1000000000ull), (long)(d % 1000000000ull) };
            nanosleep(&ts, NULL);
        }
        return SILKIE_OK;
    }
}

void silkie_camera_release(silkie_camera *cam, const silkie_frame *f)
{
    if (!cam || !f || f->slot >= cam->n_slots) return;
    int locked = cam->thread_started || cam->is_app;
    if (locked) pthread_mutex_lock(&cam->mu);
    sk_slot *s = &cam->slots[f->slot];
    if (s->state == SK_SLOT_HELD && s->sequence == f->sequence) {
        s->state = SK_SLOT_FREE;
        cam->stats.frames_released++;
    }
    if (locked) {
        pthread_cond_broadcast(&cam->cv);
        pthread_mutex_unlock(&cam->mu);
    }
}

silkie_status silkie_camera_stats_get(const silkie_camera *cam, silkie_camera_stats *out)
{
    if (!cam || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "camera_stats: cam, out required");
    silkie_camera *c = (silkie_camera *)cam; /* the lock is not part of the logical state */
    int locked = c->thread_started || c->is_app;
    if (locked) pthread_mutex_lock(&c->mu);
    *out = c->stats;
    if (locked) pthread_mutex_unlock(&c->mu);
    return SILKIE_OK;
}

void silkie_camera_destroy(silkie_camera *cam)
{
    if (!cam) return;
    if (cam->thread_started) {
        pthread_mutex_lock(&cam->mu);
        cam->stop = 1;
        pthread_cond_broadcast(&cam->cv);
        pthread_mutex_unlock(&cam->mu);
        pthread_join(cam->thread, NULL);
    }
    if (cam->vt && cam->vt->close) cam->vt->close(cam->src);
    for (uint32_t i = 0; i < SK_RING_MAX; i++) silkie_image_release(&cam->slots[i].img);
    silkie_image_release(&cam->scratch);
    silkie_jpeg_decoder_destroy(cam->jpeg);
    pthread_cond_destroy(&cam->cv);
    pthread_mutex_destroy(&cam->mu);
    silkie_free(cam);
}

/* ---- app-supplied frames --------------------------------------------------------------------- */

silkie_status silkie_camera_open_app(const silkie_camera_params *p, silkie_camera **out)
{
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "camera_open_app: out required");
    silkie_error_clear();
    SK_CHECK(sk_camera_create(p, NULL, NULL, 1, out));
    (*out)->is_app = 1;
    return SILKIE_OK;
}

silkie_status silkie_camera_push(silkie_camera *cam, const silkie_frame *f)
{
    if (!cam || !f || !f->data || !cam->is_app)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "camera_push: app camera and frame required");
    silkie_error_clear();
    pthread_mutex_lock(&cam->mu);
    sk_slot *slot = NULL;
    for (uint32_t i = 0; i < cam->n_slots && !slot; i++)
        if (cam->slots[i].state == SK_SLOT_FREE) slot = &cam->slots[i];
    if (!slot && cam->live) {
        for (uint32_t i = 0; i < cam->n_slots; i++) {
            sk_slot *s = &cam->slots[i];
            if (s->state == SK_SLOT_READY && (!slot || s->sequence < slot->sequence)) slot = s;
        }
        if (slot) count_skip(cam, SILKIE_SKIP_DROPPED);
    }
    if (!slot) {
        pthread_mutex_unlock(&cam->mu);
        return SK_FAIL(SILKIE_ERR_AGAIN, "camera_push: ring full");
    }
    sk_packet pk = { .data = f->data, .size = f->size_bytes, .width = f->width,
                     .height = f->height, .stride = f->stride, .format = f->format,
                     .timestamp_ns = f->timestamp_ns };
    if (f->format == SILKIE_PIXEL_FORMAT_MJPEG) pk.kind = SILKIE_IMAGE_KIND_JPEG;
    silkie_skip_reason skip = SILKIE_SKIP_CORRUPT;
    cam->stats.frames_read++;
    uint64_t seq = cam->next_sequence++;
    /* Decoding under the lock keeps the slot out of reach of acquire; pushes are app-paced. */
    silkie_status st = decode_packet(cam, &pk, slot, &skip, &cam->stats);
    if (st == SILKIE_OK) {
        slot->state = SK_SLOT_READY;
        slot->sequence = seq;
        slot->timestamp_ns = f->timestamp_ns ? f->timestamp_ns : silkie_time_ns();
        pthread_cond_broadcast(&cam->cv);
    } else {
        slot->state = SK_SLOT_FREE;
        if (st == SILKIE_ERR_BAD_IMAGE) count_skip(cam, skip);
    }
    pthread_mutex_unlock(&cam->mu);
    return st;
}

void silkie_camera_push_end(silkie_camera *cam)
{
    if (!cam || !cam->is_app) return;
    pthread_mutex_lock(&cam->mu);
    cam->ended = 1;
    pthread_cond_broadcast(&cam->cv);
    pthread_mutex_unlock(&cam->mu);
}
