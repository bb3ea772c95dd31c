/* Silkie Edge training API: preference fine-tuning (DPO) of LoRA adapters on a loaded model,
 * forward and backward on the same GPU that runs inference.
 *
 *     silkie_trainer *t;
 *     silkie_train_params tp; silkie_train_params_init(&tp);
 *     tp.init_adapter = "adapter_dir";               (or NULL: a new adapter, spec §9.2 recipe)
 *     silkie_trainer_create(model, &tp, &t);
 *     silkie_pref_pair p = {.prompt = "What is this?", .chosen = "...", .rejected = "...",
 *                           .images = imgs, .n_images = 1, .image_dir = "images"};
 *     silkie_dpo_metrics m;
 *     silkie_trainer_pair(t, &p, 1.0f, &m);           (loss, rewards; gradients accumulated)
 *     silkie_trainer_save_adapter(t, "out_adapter");  (PEFT layout)
 *     silkie_trainer_destroy(t);
 *
 * The base model stays frozen in whatever storage it was loaded with (f32 ... q4_0); adapters
 * are f32. Reference log-probabilities come from the same model with the adapter disabled. */
#ifndef SILKIE_SILKIE_TRAIN_H
#define SILKIE_SILKIE_TRAIN_H

#include "silkie/silkie.h"
#include "silkie/silkie_text.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct silkie_trainer silkie_trainer;

/* DPO losses as TRL defines them; z = (pc - pr) - (rc - rr), b = beta, ls = label smoothing:
 * SIGMOID -(1-ls) log s(b z) - ls log s(-b z) ("conservative" when ls > 0);
 * IPO (z - 1/(2b))^2; HINGE max(0, 1 - b z);
 * ROBUST (-(1-ls) log s(b z) + ls log s(-b z)) / (1 - 2 ls). */
typedef enum silkie_dpo_loss {
    SILKIE_DPO_SIGMOID = 0,
    SILKIE_DPO_IPO = 1,
    SILKIE_DPO_HINGE = 2,
    SILKIE_DPO_ROBUST = 3,
    SILKIE_DPO_LOSS_MAX_ = 0x7fffffff
} silkie_dpo_loss;

typedef struct silkie_train_params {
    uint32_t struct_size;         /* set by silkie_train_params_init() */
    const char *init_adapter;     /* PEFT adapter folder to start from; NULL = a new adapter */
    uint32_t lora_r;              /* new adapter: rank (init: 64) */
    float lora_alpha;             /* new adapter: alpha (init: 16) */
    float lora_dropout;           /* < 0: the adapter's own (init_adapter) or 0.05; else this */
    const char *lora_targets;     /* new adapter: "c_attn,attn.c_proj,w1,w2" (init), or a regex */
    uint32_t use_rslora;          /* new adapter: scale alpha / sqrt(r) */
    silkie_dpo_loss loss;         /* init: SIGMOID */
    float beta;                   /* init: 0.1 */
    float label_smoothing;        /* SIGMOID and ROBUST; [0, 0.5) */
    silkie_chat_layout layout;    /* init: SILKIE_CHAT_LAYOUT_SILKIE (the Silkie collator) */
    uint64_t seed;                /* adapter init and dropout masks */
    uint32_t max_prompt_tokens;   /* init: 1024 */
    uint32_t max_total_tokens;    /* init: 2048 */
    const char *system;           /* NULL = "You are a helpful assistant." */
    /* new fields are added here, at the end, and nowhere else */
} silkie_train_params;
SILKIE_API void silkie_train_params_init(silkie_train_params *p);

/* Errors: SILKIE_ERR_INVALID_ARGUMENT, SILKIE_ERR_BAD_MODEL / SILKIE_ERR_UNSUPPORTED for an
 * adapter that does not fit the model, SILKIE_ERR_OUT_OF_DEVICE_MEMORY. */
SILKIE_API silkie_status silkie_trainer_create(silkie_model *model, const silkie_train_params *p,
                                               silkie_trainer **out);
SILKIE_API void silkie_trainer_destroy(silkie_trainer *t); /* NULL is fine */

/* One preference record. The prompt is the user's text without the image lines; each image
 * reference is written inside <img>...</img> exactly as given and read from image_dir/ref. */
typedef struct silkie_pref_pair {
    const char *prompt;
    const char *chosen;
    const char *rejected;
    const char *const *images;
    uint32_t n_images;
    const char *image_dir;        /* NULL: references are paths as they are */
} silkie_pref_pair;

typedef struct silkie_dpo_metrics {
    double policy_chosen_logps, policy_rejected_logps;       /* sums over scored tokens */
    double reference_chosen_logps, reference_rejected_logps;
    double logits;                /* (pc - pr) - (rc - rr) */
    double loss;
    double chosen_rewards, rejected_rewards; /* beta * (policy - reference) */
    uint32_t chosen_tokens, rejected_tokens; /* sequence lengths after truncation */
} silkie_dpo_metrics;

/* Evaluates the pair with the current adapter and, when grad_scale != 0, adds grad_scale times
 * the gradient of its loss to the trainer's gradients. The image is encoded once for the pair.
 * Errors: SILKIE_ERR_BAD_DATA (empty or identical responses, truncation through an image span,
 * a prompt or image that cannot be used; the message names the reason), SILKIE_ERR_BAD_IMAGE,
 * SILKIE_ERR_IO, SILKIE_ERR_NOT_FINITE (NaN or Inf in a log-probability, the loss or a
 * gradient scale; gradients are then unchanged only if the failure came before the backward
 * pass), SILKIE_ERR_DEVICE_LOST. */
SILKIE_API silkie_status silkie_trainer_pair(silkie_trainer *t, const silkie_pref_pair *pair,
                                             float grad_scale, silkie_dpo_metrics *out);
SILKIE_API silkie_status silkie_trainer_zero_grad(silkie_trainer *t);

/* The adapter's tensors in PEFT order and names ("base_model.model.transformer.h.0.attn.c_attn
 * .lora_A.weight"), shape [rows, cols]. Borrowed name, valid while t lives. */
SILKIE_API uint32_t silkie_trainer_n_tensors(const silkie_trainer *t);
SILKIE_API silkie_status silkie_trainer_tensor_info(const silkie_trainer *t, uint32_t i,
                                                    const char **name, uint32_t shape[2]);
/* rows * cols floats of tensor i's value or accumulated gradient. */
SILKIE_API silkie_status silkie_trainer_read_param(silkie_trainer *t, uint32_t i, float *dst);
SILKIE_API silkie_status silkie_trainer_read_grad(silkie_trainer *t, uint32_t i, float *dst);

/* Token ids and scored mask (1 = the token's log-prob counts) of the latest pair's chosen
 * (which = 0) or rejected (1) sequence. Borrowed; valid until the next pair. */
SILKIE_API silkie_status silkie_trainer_last_sequence(const silkie_trainer *t, uint32_t which,
                                                      const int32_t **ids,
                                                      const uint8_t **scored, uint32_t *n);

/* Writes the adapter in PEFT's layout: DIR/adapter_config.json and
 * DIR/adapter_model.safetensors (each written atomically; DIR is created if missing). */
SILKIE_API silkie_status silkie_trainer_save_adapter(silkie_trainer *t, const char *dir);

/* Verification dump of the latest pair as a safetensors file: chosen_ids, rejected_ids,
 * chosen_loss_mask, rejected_loss_mask (I64 [T]), policy_/reference_chosen/rejected_logps,
 * dpo_logits, dpo_loss, chosen_rewards, rejected_rewards (F32 [1]) from m, and
 * "grad.<tensor name>" for every adapter tensor (the accumulated gradients). */
SILKIE_API silkie_status silkie_trainer_write_dump(silkie_trainer *t,
                                                   const silkie_dpo_metrics *m,
                                                   const char *path);

/* Device bytes held by the trainer (adapter, gradients, training workspace). */
SILKIE_API uint64_t silkie_trainer_device_bytes(const silkie_trainer *t);

/* Preference files: one JSON object per line,
 *   {"images": ["a.jpg"], "prompt": "...", "chosen": "...", "rejected": "..."}
 * ("images" may be absent or empty for text-only pairs; blank lines are skipped). */
typedef struct silkie_pref_reader silkie_pref_reader;
SILKIE_API silkie_status silkie_pref_reader_open(const char *path, silkie_pref_reader **out);
/* The next record into *pair (strings borrowed until the next call; image_dir is left NULL)
 * and its 1-based line number. SILKIE_ERR_END_OF_STREAM after the last record;
 * SILKIE_ERR_BAD_DATA for a malformed line, naming the line and the field (the reader moves on
 * to the next line); SILKIE_ERR_IO for a read error. */
SILKIE_API silkie_status silkie_pref_reader_next(silkie_pref_reader *r, silkie_pref_pair *pair,
                                                 uint64_t *line);
SILKIE_API void silkie_pref_reader_destroy(silkie_pref_reader *r); /* NULL is fine */

#ifdef __cplusplus
}
#endif
#endif /* SILKIE_SILKIE_TRAIN_H */
