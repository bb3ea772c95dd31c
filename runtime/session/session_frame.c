/* Camera frames into a session: the frame bytes are uploaded once, resized and normalised on the
 * GPU straight into the vision tower's input tensor, and encoded there; no host-side pixels. */
#include <stdio.h>

#define SK_LOG_MODULE "session"
#include "ops/ops_image.h"
#include "session_int.h"
#include "silkie/silkie_camera.h"

void silkie_session_frame_release(silkie_session *s)
{
    if (!s) return;
    /* Pending images may still view frame_features; they were cleared by the caller first. */
    silkie_vk_cmd_destroy(s->frame_cmd);
    s->frame_cmd = NULL;
    silkie_image_prep_destroy(s->frame_prep);
    s->frame_prep = NULL;
    for (uint32_t i = 0; i < SK_MAX_PENDING_IMAGES; i++) silkie_tensor_free(&s->frame_features[i]);
    memset(s->frame_key, 0, sizeof s->frame_key);
}

static silkie_status frame_check(const silkie_frame *f)
{
    if (!f) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "add_image_frame: frame is NULL");
    if (!f->data || !f->size_bytes)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "add_image_frame: frame has no data");
    switch (f->format) {
    case SILKIE_PIXEL_FORMAT_RGB8:
    case SILKIE_PIXEL_FORMAT_GRAY8:
    case SILKIE_PIXEL_FORMAT_YUYV:
    case SILKIE_PIXEL_FORMAT_NV12:
    case SILKIE_PIXEL_FORMAT_MJPEG:
        return SILKIE_OK;
    default:
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "add_image_frame: unknown pixel format %d",
                       (int)f->format);
    }
}

/* Records the preprocess list for the uploaded frame unless the one recorded already fits:
 * upload only regrows its buffers for a larger frame, which always changes the key. */
static silkie_status frame_record(silkie_session *s, const silkie_frame *f)
{
    const uint32_t stride = f->stride;
    const uint32_t key[4] = {(uint32_t)f->format + 1, f->width, f->height, stride};
    if (s->frame_cmd && memcmp(key, s->frame_key, sizeof key) == 0) return SILKIE_OK;
    memset(s->frame_key, 0, sizeof s->frame_key);
    if (!s->frame_cmd) SK_CHECK(silkie_vk_cmd_create(s->m->dev, &s->frame_cmd));
    silkie_op_ctx c = {.dev = s->m->dev, .cmd = s->frame_cmd};
    SK_CHECK(silkie_vk_cmd_begin(c.cmd));
    SK_CHECK(silkie_op_image_preprocess(&c, s->frame_prep, silkie_qwen_pixels(s->ctx), NULL,
                                        NULL));
    SK_CHECK(silkie_vk_cmd_end(c.cmd));
    memcpy(s->frame_key, key, sizeof key);
    return SILKIE_OK;
}

/* Preprocess + vision tower into the pending slot's features. */
static silkie_status frame_encode(silkie_session *s, const silkie_frame *f, silkie_tensor *feat)
{
    if (!s->frame_prep) SK_CHECK(silkie_image_prep_create(s->m->dev, &s->frame_prep));
    SK_CHECK(silkie_image_prep_upload_frame(s->frame_prep, f));
    silkie_status st = frame_record(s, f);
    if (st == SILKIE_OK) st = silkie_vk_cmd_submit_wait(s->frame_cmd);
    if (st == SILKIE_OK) st = silkie_qwen_encode_image(s->ctx, NULL, feat, NULL);
    return st;
}

silkie_status silkie_session_add_image_frame(silkie_session *s, const silkie_frame *f,
                                             const char *name)
{
    SK_CHECK(silkie_session_check_usable(s, "add_image_frame"));
    SK_CHECK(frame_check(f));
    /* A JPEG frame (MJPEG capture kept raw) takes the decode path of encoded images. */
    if (f->format == SILKIE_PIXEL_FORMAT_MJPEG)
        return silkie_session_add_image_encoded(s, f->data, f->size_bytes, name);
    if (!s->m->q->has_vision)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "add_image_frame: the model was loaded text-only");
    if (s->n_pending == SK_MAX_PENDING_IMAGES)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "add_image_frame: at most %d images per question", SK_MAX_PENDING_IMAGES);
    if (s->n_pending == 0) s->timings.image_encode_ms = 0, s->timings.n_images = 0;

    const uint32_t slot = s->n_pending;
    uint64_t t0 = silkie_time_ns();
    if (!s->frame_features[slot].t.buf)
        SK_CHECK(silkie_qwen_features_alloc(s->m->q, &s->frame_features[slot]));
    silkie_status st = frame_encode(s, f, &s->frame_features[slot].t);
    if (st != SILKIE_OK) {
        if (st == SILKIE_ERR_DEVICE_LOST) s->poisoned = st;
        memset(s->frame_key, 0, sizeof s->frame_key); /* re-record after any failure */
        return st;
    }
    /* The pending image views the slot's tensor without owning it (bufs stay NULL), so the
     * shared clear_pending bookkeeping frees nothing and the next question reuses it. */
    pending_image *pi = &s->pending[slot];
    memset(pi, 0, sizeof *pi);
    pi->features.t = s->frame_features[slot].t;
    s->n_images_total++;
    if (name)
        snprintf(pi->name, sizeof pi->name, "%s", name);
    else
        snprintf(pi->name, sizeof pi->name, "image%u", s->n_images_total);
    s->timings.image_encode_ms += (silkie_time_ns() - t0) / 1e6;
    s->timings.n_images++;
    s->n_pending++;
    return SILKIE_OK;
}
