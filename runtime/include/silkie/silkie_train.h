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
#include "silkie/silkie_train_data.h"

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
    const char *base_model;       /* new adapter: base_model_name_or_path written into its
                                     config; NULL = "Qwen/Qwen-VL-Chat" */
    /* new fields are added here, at the end, and nowhere else */
} silkie_train_params;
SILKIE_API void silkie_train_params_init_size(silkie_train_params *p, size_t size);
static inline void silkie_train_params_init(silkie_train_params *p)
{
    silkie_train_params_init_size(p, sizeof *p);
}

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
    double policy_chosen_mean_logit;         /* mean of the policy's logits over all positions */
    double policy_rejected_mean_logit;       /* and the whole vocabulary (TRL's logits/...) */
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
/* The same with the reference log-probs {chosen, rejected} given (from a cache of an earlier
 * evaluation of the same pair on the same base): the two reference passes are skipped. */
SILKIE_API silkie_status silkie_trainer_pair_ref(silkie_trainer *t, const silkie_pref_pair *pair,
                                                 const double ref_logps[2], float grad_scale,
                                                 silkie_dpo_metrics *out);
SILKIE_API silkie_status silkie_trainer_zero_grad(silkie_trainer *t);

/* AdamW (torch.optim.AdamW: decoupled weight decay, bias correction) with global gradient-norm
 * clipping, as the Hugging Face Trainer runs it. */
typedef struct silkie_optim_params {
    float lr;
    float beta1, beta2, eps;      /* 0.9, 0.98 (Silkie), 1e-8 */
    float weight_decay;           /* 0.05 (Silkie) */
    float max_grad_norm;          /* 0 = no clipping */
} silkie_optim_params;
/* One optimizer step over the accumulated gradients, which are then zeroed. *grad_norm (may
 * be NULL) receives the global L2 norm before clipping. SILKIE_ERR_NOT_FINITE when the norm is
 * NaN or Inf: nothing is updated and the gradients are kept for inspection. */
SILKIE_API silkie_status silkie_trainer_step(silkie_trainer *t, const silkie_optim_params *o,
                                             double *grad_norm);
/* Optimizer steps taken (restored by silkie_trainer_load_state). */
SILKIE_API uint32_t silkie_trainer_n_steps(const silkie_trainer *t);
/* Full training state into / from a folder: the adapter (PEFT files) and optimizer.safetensors
 * (AdamW moments, step count, pair counter). Files are written atomically; the caller makes
 * the folder itself atomic (see silkie_trainer_run). load refuses a state whose tensors do not
 * match this trainer's adapter (SILKIE_ERR_BAD_FILE). */
SILKIE_API silkie_status silkie_trainer_save_state(silkie_trainer *t, const char *dir);
SILKIE_API silkie_status silkie_trainer_load_state(silkie_trainer *t, const char *dir);

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

/* ---------------------------------------------------------------------------------------------
 * Training runs: data in, optimizer steps, a run folder with logs, checkpoints and the adapter
 *
 * RUN/log.jsonl        one object per optimizer step (TRL's metric names) and per evaluation
 *                      ("eval_" prefix); numbers written with 17 significant digits
 * RUN/checkpoint-N/    adapter + optimizer state + trainer_state.json, written to a temporary
 *                      folder and renamed: a checkpoint folder is complete or absent
 * RUN/adapter/         the final adapter (PEFT layout)
 * RUN/ref_cache.bin    reference log-probs keyed by the base model's and the pair's content
 */
typedef enum silkie_lr_scheduler {
    SILKIE_LR_COSINE = 0,
    SILKIE_LR_LINEAR = 1,
    SILKIE_LR_CONSTANT = 2,
    SILKIE_LR_SCHEDULER_MAX_ = 0x7fffffff
} silkie_lr_scheduler;

/* Why a pair was not trained on. */
typedef enum silkie_train_skip {
    SILKIE_TRAIN_SKIP_MALFORMED = 0,   /* unreadable line, missing field */
    SILKIE_TRAIN_SKIP_IMAGE = 1,       /* image missing, unreadable or undecodable */
    SILKIE_TRAIN_SKIP_RESPONSE = 2,    /* empty or identical responses */
    SILKIE_TRAIN_SKIP_TRUNCATION = 3,  /* truncation would cut an <img>...</img> span */
    SILKIE_TRAIN_SKIP_N_REASONS = 4,
    SILKIE_TRAIN_SKIP_MAX_ = 0x7fffffff
} silkie_train_skip;
/* "malformed", "image", "response", "truncation"; static storage. */
SILKIE_API const char *silkie_train_skip_name(silkie_train_skip r);

typedef struct silkie_train_progress {
    uint32_t step, total_steps;
    double epoch;
    double loss, accuracy;         /* this step's means */
    double tokens_per_s;           /* trained tokens (chosen + rejected) per second, this run */
    double eta_s;
    uint64_t skipped[SILKIE_TRAIN_SKIP_N_REASONS];
    uint32_t is_eval;              /* 1: loss/accuracy are an evaluation's */
} silkie_train_progress;

typedef struct silkie_train_run_params {
    uint32_t struct_size;          /* set by silkie_train_run_params_init() */
    const char *data;              /* preference JSONL */
    const char *images;            /* image references resolve here; NULL = as written */
    const char *eval_data;         /* held-out JSONL; NULL = eval_split of data, or none */
    float eval_split;              /* fraction of data held out (seeded) when eval_data is NULL */
    const char *out_dir;           /* RUN folder (created) */
    uint32_t resume;               /* 1: continue from RUN's newest complete checkpoint */
    uint32_t steps;                /* optimizer steps; 0 = from epochs */
    float epochs;                  /* init: 3 */
    uint32_t batch;                /* pairs per micro-batch (init 1) */
    uint32_t grad_accum;           /* micro-batches per optimizer step (init 1) */
    silkie_optim_params optim;     /* init: Silkie's (lr 1e-5, 0.9, 0.98, 1e-8, wd 0.05, clip 1) */
    silkie_lr_scheduler scheduler; /* init: cosine */
    float warmup_ratio;            /* init: 0.1 */
    uint32_t save_every;           /* checkpoint every N steps (and always at the end); 0 = end */
    uint32_t eval_every;           /* evaluate every N steps (and at the end); 0 = end only */
    uint64_t seed;                 /* shuffling (and the split) */
    void (*on_progress)(const silkie_train_progress *p, void *user);
    void *user;
    /* new fields are added here, at the end, and nowhere else */
} silkie_train_run_params;
SILKIE_API void silkie_train_run_params_init_size(silkie_train_run_params *p, size_t size);
static inline void silkie_train_run_params_init(silkie_train_run_params *p)
{
    silkie_train_run_params_init_size(p, sizeof *p);
}

typedef struct silkie_train_summary {
    uint32_t steps;                /* optimizer steps done in total (resumed ones included) */
    uint32_t resumed_from;         /* checkpoint step resumed from, 0 = fresh */
    uint64_t pairs_train, pairs_eval;
    uint64_t skipped[SILKIE_TRAIN_SKIP_N_REASONS];
    double last_loss;
    double eval_loss, eval_accuracy; /* the last evaluation's; NaN when there was none */
} silkie_train_summary;

/* Runs the training described by p on t (created with the model and LoRA/DPO settings).
 * Bad records are skipped and counted by reason; all records bad is SILKIE_ERR_BAD_DATA. A
 * NaN/Inf loss or gradient stops the run with SILKIE_ERR_NOT_FINITE (the last checkpoint stays
 * the newest); a failed write stops it with SILKIE_ERR_IO leaving earlier checkpoints intact.
 * --resume refuses a checkpoint from another model, adapter shape or data file
 * (SILKIE_ERR_BAD_FILE). SILKIE_ERR_CANCELLED after silkie_trainer_cancel(). */
SILKIE_API silkie_status silkie_trainer_run(silkie_trainer *t, const silkie_train_run_params *p,
                                            silkie_train_summary *out);
/* Asks a running silkie_trainer_run to stop after the pair in progress (any thread). */
SILKIE_API void silkie_trainer_cancel(silkie_trainer *t);

#ifdef SILKIE_EXPERIMENTAL
/* Benchmark of one DPO step on Qwen-VL-Chat's real shape with synthetic weights (as
 * silkie_bench_run): reference and policy passes of a chosen/rejected pair, the backward pass
 * and the optimizer, timed separately. */
typedef struct silkie_bench_train_params {
    uint32_t struct_size;          /* set by silkie_bench_train_params_init() */
    silkie_dtype weight_type;      /* LLM matrices; init F16 */
    uint32_t n_layers;             /* LLM blocks; 0 = all 32 */
    uint32_t vision_layers;        /* 0 = all 48 */
    uint32_t lora_r;               /* init 64 */
    const char *lora_targets;      /* init "c_attn,attn.c_proj,w1,w2,mlp.c_proj" */
    uint32_t with_image;           /* 1: a 256-token image span in the prompt (vision timed) */
    uint32_t prompt_tokens;        /* text prompt tokens (besides the image span); init 0 */
    uint32_t response_tokens;      /* tokens of each response; init 512 */
    uint32_t steps;                /* timed steps after one warm-up; init 2; 0 = allocate and
                                      report memory only */
    const char *device;
    /* new fields are added here, at the end, and nowhere else */
} silkie_bench_train_params;
SILKIE_API void silkie_bench_train_params_init_size(silkie_bench_train_params *p, size_t size);
static inline void silkie_bench_train_params_init(silkie_bench_train_params *p)
{
    silkie_bench_train_params_init_size(p, sizeof *p);
}

typedef struct silkie_bench_train_result {
    char device_name[256];
    uint32_t n_layers, vision_layers, seq_tokens;  /* tokens of each of the two sequences */
    uint64_t lora_params;
    double vision_ms, reference_ms, policy_forward_ms, backward_ms, optimizer_ms, step_ms;
    double tokens_per_s;           /* chosen + rejected tokens per step time */
    uint64_t weight_bytes, train_device_bytes; /* base weights; adapter, grads, moments, scratch */
    uint64_t peak_host_bytes;
} silkie_bench_train_result;
SILKIE_API silkie_status silkie_bench_train_run(const silkie_bench_train_params *p,
                                                silkie_bench_train_result *out);
#endif

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
