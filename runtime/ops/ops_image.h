/* Image preprocessing on the GPU: a camera frame (RGB8, GRAY8, YUYV or NV12 bytes) resized with
 * Pillow's BICUBIC arithmetic and CLIP-normalised straight into the vision encoder's input
 * tensor. The result equals silkie_ref_resize_bicubic + silkie_ref_rgb_to_chw bit for bit.
 *
 *   silkie_image_prep *p;  silkie_image_prep_create(dev, &p);
 *   per frame: silkie_image_prep_upload(p, &frame);            (host copy, no GPU work)
 *              record silkie_op_image_preprocess(&ctx, p, &pixels, NULL, NULL); submit.
 * A recorded command list may be replayed for new frames of the same size and format: upload
 * writes the same buffer. One thread at a time per silkie_image_prep.
 */
#ifndef SILKIE_OPS_IMAGE_H
#define SILKIE_OPS_IMAGE_H

#include "ops/ops.h"
#include "silkie/silkie_camera.h"

typedef struct silkie_image_prep silkie_image_prep;

/* A frame description; data is only read during silkie_image_prep_upload. */
typedef struct silkie_image_prep_input {
    silkie_pixel_format format; /* RGB8, GRAY8, YUYV (width even), NV12 (width, height even) */
    uint32_t width, height;
    uint32_t stride;            /* bytes per row; 0 = tightly packed */
    const uint8_t *data;        /* NV12: UV plane at data + stride * height */
    size_t size_bytes;
} silkie_image_prep_input;

silkie_status silkie_image_prep_create(silkie_vk_device *d, silkie_image_prep **out);
/* Waits for the device before freeing its buffers. NULL is fine. */
void silkie_image_prep_destroy(silkie_image_prep *p);

/* 1: record a copy of the frame into device-local memory before the resize, even on
 * unified-memory devices (the default copies only when device memory is not host-visible).
 * Affects lists recorded afterwards. */
void silkie_image_prep_set_device_copy(silkie_image_prep *p, int on);

/* Copies the frame into the host-visible input buffer (grown only when a larger frame comes;
 * growing waits for the device, so do not upload while a list using p is in flight unless the
 * size is unchanged). Errors: SILKIE_ERR_INVALID_ARGUMENT, SILKIE_ERR_BAD_IMAGE (sizes),
 * SILKIE_ERR_OUT_OF_DEVICE_MEMORY. */
silkie_status silkie_image_prep_upload(silkie_image_prep *p, const silkie_image_prep_input *in);

/* Same for a frame from silkie_camera_acquire (RGB8, GRAY8, or YUYV/NV12 with keep_raw); the
 * frame may be released as soon as this returns. */
silkie_status silkie_image_prep_upload_frame(silkie_image_prep *p, const silkie_frame *f);

/* Records the two dispatches that turn the uploaded frame into y: f32, GGML ne = {W, H, 3}
 * (CHW planes R, G, B), contiguous, single buffer. mean/std: NULL for the CLIP constants.
 * Weight tables are built on the CPU on first use of a (frame size, output size, mean, std)
 * combination and cached in p. */
silkie_status silkie_op_image_preprocess(silkie_op_ctx *c, silkie_image_prep *p, silkie_tensor *y,
                                         const float mean[3], const float std[3]);

#endif /* SILKIE_OPS_IMAGE_H */
