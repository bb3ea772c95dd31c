/* Session layer internals shared with the API entry points. */
#ifndef SILKIE_SESSION_INT_H
#define SILKIE_SESSION_INT_H

#include <stdatomic.h>

#include "model/qwen.h"
#include "sampler.h"
#include "silkie/silkie.h"
#include "silkie/silkie_text.h"

/* A PEFT adapter loaded on the model's device. Sessions hold a reference, so replacing the
 * model's adapter leaves theirs alive until they are destroyed. */
typedef struct silkie_model_adapter {
    atomic_int refs;             /* the model's + one per session using it */
    silkie_qwen_lora lora;       /* dropout 0: inference */
} silkie_model_adapter;

/* Takes a reference (NULL passes through). */
silkie_model_adapter *silkie_model_adapter_ref(silkie_model_adapter *a);
void silkie_model_adapter_release(silkie_model_adapter *a); /* NULL is fine */

struct silkie_model {
    atomic_int refs;             /* the app's handle + one per session */
    silkie_vk_device *dev;
    silkie_qwen *q;
    silkie_tokenizer *tok;
    silkie_model_config cfg;
    silkie_generation_config gen;
    silkie_model_adapter *adapter; /* applied unmerged by sessions created while set; or NULL */
    silkie_progress_fn progress;   /* from silkie_model_params: image encodes, long prefills */
    void *progress_user;
};

void silkie_model_release_ref(silkie_model *m);
/* SILKIE_OK while m's device works; SILKIE_ERR_DEVICE_LOST (naming `what`) once it was lost:
 * a lost device poisons the model and everything made from it until they are destroyed. */
silkie_status silkie_model_alive(const silkie_model *m, const char *what);

#define SK_MAX_PENDING_IMAGES 8

typedef struct pending_image {
    silkie_owned_tensor features; /* [Nq, D] on the device */
    char name[64];
    float *pixels;                /* kept only for dumps */
} pending_image;

struct silkie_session {
    silkie_model *m;
    silkie_session_params p;
    silkie_sampler_params sp;
    silkie_qwen_ctx *ctx;
    silkie_model_adapter *adapter; /* the model's adapter when the session was created */
    silkie_sampler sampler;
    silkie_text_stream *stream;
    int32_t *tokens;              /* every token in the KV cache, in order */
    uint32_t n_tokens, cap_tokens;
    uint32_t need_im_end;         /* last answer ended without <|im_end|> in the cache */
    pending_image pending[SK_MAX_PENDING_IMAGES];
    uint32_t n_pending;
    uint32_t n_images_total;      /* for default names */
    char *answer;
    size_t answer_len, answer_cap;
    int32_t *answer_ids;
    uint32_t n_answer, cap_answer;
    atomic_int cancel;
    silkie_status poisoned;       /* SILKIE_OK or DEVICE_LOST */
    silkie_timings timings;
    float *scratch_logits;        /* [n_vocab] sampler input */
    /* Camera frames (session_frame.c): the GPU preprocess writes the vision tower's input
     * directly. The recorded list is replayed while frames keep the same format and size, and
     * features go into per-slot tensors kept across questions, so a stream of same-size frames
     * allocates nothing after the first. */
    struct silkie_image_prep *frame_prep;
    silkie_vk_cmd *frame_cmd;
    uint32_t frame_key[4];        /* format, width, height, stride of the recorded list; 0 none */
    silkie_owned_tensor frame_features[SK_MAX_PENDING_IMAGES]; /* [Nq, D] f32 per pending slot */
};

/* SILKIE_ERR_INVALID_ARGUMENT for NULL; SILKIE_ERR_DEVICE_LOST (and the session poisoned) once
 * the model's device was lost, through this session or another user of the model. */
silkie_status silkie_session_check_usable(silkie_session *s, const char *what);

/* Frees what silkie_session_add_image_frame kept (session_frame.c); called by destroy. */
void silkie_session_frame_release(silkie_session *s);

/* Normalised pixels [3,S,S] (CHW f32) from 8-bit RGB with Pillow's bicubic resize. */
silkie_status silkie_session_preprocess_rgb(const uint8_t *rgb, uint32_t w, uint32_t h,
                                            uint32_t stride, uint32_t size, float *chw);
/* Reads a whole image file (at most 1 GiB) into a heap buffer (silkie_free). */
silkie_status silkie_session_read_image_file(const char *path, uint8_t **out, size_t *len);
/* Decodes JPEG, PNG, WebP, BMP, GIF or PPM bytes to RGB8 (Pillow-equivalent) and preprocesses
 * them; `name` (may be NULL) starts decode error messages. */
silkie_status silkie_session_preprocess_encoded(const void *data, size_t n, const char *name,
                                                uint32_t size, float *chw);

/* Verification dumps are safetensors files (runtime/model's writer). */
typedef silkie_st_tensor silkie_dump_tensor;
static inline silkie_status silkie_dump_safetensors(const char *path, const silkie_dump_tensor *t,
                                                    uint32_t n)
{
    return silkie_safetensors_write(path, t, n);
}

#endif
