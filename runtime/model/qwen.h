/* Qwen-VL on the device: weights uploaded once, and the forward passes recorded as op
 * sequences into a command list. Used by the session layer (and the trainer); knows the model,
 * not the chat. */
#ifndef SILKIE_QWEN_H
#define SILKIE_QWEN_H

#include "model/lora_peft.h"
#include "model/model.h"
#include "ops/ops.h"

typedef struct silkie_qwen_lora silkie_qwen_lora; /* LoRA adapters, below */

typedef struct silkie_qwen_load_params {
    /* Storage types (SILKIE_DTYPE_F32 is 0, so every field is explicit). */
    silkie_dtype llm_dtype;     /* matrices of the LLM: f32, f16, bf16, q8_0, q4_0 */
    silkie_dtype vision_dtype;  /* matrices of the vision tower: f32, f16, bf16 */
    silkie_dtype embed_dtype;   /* wte: any of the above */
    uint32_t skip_vision;       /* 1: text-only (no image support) */
    uint32_t max_layers;        /* >0: load only the first max_layers LLM blocks (benchmarks) */
    silkie_progress_fn progress; /* per block uploaded; NULL = none */
    void *progress_user;
} silkie_qwen_load_params;

typedef struct silkie_qwen_layer {
    silkie_owned_tensor ln_1, c_attn_w, c_attn_b, c_proj, ln_2;
    silkie_owned_tensor w12;      /* [2F, H]: rows [0,F) = w1 (up), [F,2F) = w2 (gate) */
    silkie_owned_tensor mlp_proj; /* [H, F] */
} silkie_qwen_layer;

typedef struct silkie_vit_block {
    silkie_owned_tensor ln_1_w, ln_1_b, ln_2_w, ln_2_b;
    silkie_owned_tensor qkv_w, qkv_b; /* in_proj re-ordered at load to [Q; K; V] blocks */
    silkie_owned_tensor out_w, out_b, fc_w, fc_b, proj_w, proj_b;
} silkie_vit_block;

typedef struct silkie_qwen {
    silkie_vk_device *dev;
    silkie_model_config cfg;
    silkie_qwen_load_params params;
    uint32_t n_layers;            /* loaded LLM blocks */
    /* LLM */
    silkie_owned_tensor wte, ln_f, lm_head;
    silkie_qwen_layer *layers;
    /* Vision tower */
    uint32_t has_vision;
    silkie_owned_tensor conv_w;   /* [W, 3*P*P] */
    silkie_owned_tensor pos_embed; /* [n_patches, W] f32, already upsampled to the patch grid */
    silkie_owned_tensor ln_pre_w, ln_pre_b;
    silkie_vit_block *blocks;
    /* Resampler */
    uint32_t has_kv_proj;         /* 0: identity (only when W == D) */
    silkie_owned_tensor kv_proj;  /* [D, W] */
    silkie_owned_tensor ln_kv_w, ln_kv_b, ln_q_w, ln_q_b, ln_post_w, ln_post_b;
    silkie_owned_tensor query;    /* [Nq, D] f32 */
    silkie_owned_tensor pos_q;    /* [Nq, D] f32 */
    silkie_owned_tensor pos_k;    /* [n_patches, D] f32, upsampled */
    silkie_owned_tensor pool_w[3], pool_b[3]; /* in_proj split into q, k, v: [D, D], [D] */
    silkie_owned_tensor pool_out_w, pool_out_b;
    silkie_owned_tensor proj;     /* [D in rows, D out] used as x @ proj */
    uint64_t weight_bytes;        /* device bytes of all weights */
} silkie_qwen;

/* Uploads every tensor from `w` (validated against cfg first). w == NULL uploads synthetic
 * random weights of cfg's shapes (benchmarks of the real model size without a file). */
silkie_status silkie_qwen_create(silkie_vk_device *dev, const silkie_model_config *cfg,
                                 const silkie_weights *w, const silkie_qwen_load_params *p,
                                 silkie_qwen **out);
void silkie_qwen_destroy(silkie_qwen *q);

/* Device scratch for one forward pass. Sized once for the largest chunk. */
typedef struct silkie_qwen_ws {
    uint32_t max_tokens;
    silkie_owned_tensor x, h, qkv, attn, mlp, act; /* LLM: [T,H] [T,H] [T,3H] [T,H] [T,2F] [T,F] */
    silkie_owned_tensor norm_last, logits;         /* [1,H], [1,V] */
    silkie_owned_tensor ids, pos, step;            /* I32 [T], [T], [2]; HOST pool */
    silkie_owned_tensor lora_u;                    /* [T, max_r] when an adapter is applied */
    /* vision */
    silkie_owned_tensor pixels;                    /* [3, S, S] f32 */
    silkie_owned_tensor vpatch, vx, vh, vqkv, vattn, vmlp; /* [Np,3PP] [Np,W] [Np,W] [Np,3W] [Np,W] [Np,M] */
    silkie_owned_tensor rkv, rk, rq_in, rq, rkk, rv, rattn, rout; /* resampler scratch */
} silkie_qwen_ws;

silkie_status silkie_qwen_ws_create(const silkie_qwen *q, uint32_t max_tokens,
                                    silkie_qwen_ws *ws);
void silkie_qwen_ws_release(silkie_qwen_ws *ws);

/* KV cache: per layer [n_ctx, H] for k (after RoPE) and v. */
typedef struct silkie_qwen_kv {
    uint32_t n_ctx;
    silkie_dtype dtype; /* f16 or f32 */
    silkie_owned_tensor *k, *v;
    uint32_t n_layers;
} silkie_qwen_kv;
silkie_status silkie_qwen_kv_create(const silkie_qwen *q, uint32_t n_ctx, silkie_dtype dtype,
                                    silkie_qwen_kv *kv);
void silkie_qwen_kv_release(silkie_qwen_kv *kv);

/* Optional copies of intermediate tensors (verification dumps and golden tests). Any NULL
 * member is skipped. Shapes as in the golden README. */
typedef struct silkie_qwen_taps {
    silkie_tensor *patch_embeds, *pos_embed, *ln_pre, *block0, *blocks_out, *resampler_kpos,
        *resampler_out;
    silkie_tensor *inputs_embeds, *hidden_layer0, *hidden_layer1, *final_norm;
} silkie_qwen_taps;

/* Token embeddings of ids into X [T, H], then each image's feature rows copied over theirs. */
typedef struct silkie_qwen_inject silkie_qwen_inject;
silkie_status silkie_qwen_record_embed(silkie_op_ctx *c, const silkie_qwen *q,
                                       const silkie_tensor *ids, const silkie_qwen_inject *inject,
                                       uint32_t n_inject, silkie_tensor *X);

/* Records the vision tower + resampler: ws->pixels [3,S,S] -> features [Nq, D] (f32). */
silkie_status silkie_qwen_record_vision(silkie_op_ctx *c, const silkie_qwen *q,
                                        silkie_qwen_ws *ws, silkie_tensor *features,
                                        const silkie_qwen_taps *taps);

/* An image's features placed at rows [row, row+Nq) of this chunk's embeddings. */
struct silkie_qwen_inject {
    const silkie_tensor *features;
    uint32_t row;
};

typedef struct silkie_qwen_pass {
    uint32_t n_tokens;        /* T: rows of ws->ids / ws->pos used */
    float freq_base;          /* rope base (dynamic NTK applied by the caller) */
    uint32_t logn_base;       /* 0 = off, else seq_length */
    const silkie_qwen_inject *inject;
    uint32_t n_inject;
    const silkie_qwen_lora *lora; /* NULL = base model (inference runs LoRA without dropout) */
} silkie_qwen_pass;

/* Records one LLM pass over ws->ids (positions in ws->pos, ws->step = {q_pos0, n_kv}) appending
 * k/v to the cache at q_pos0 (read on the device, so a decode list can be replayed) and writes
 * logits of the last row to ws->logits. Does not write the host-side ids/pos/step. */
silkie_status silkie_qwen_record_llm(silkie_op_ctx *c, const silkie_qwen *q, silkie_qwen_ws *ws,
                                     silkie_qwen_kv *kv, const silkie_qwen_pass *p,
                                     const silkie_qwen_taps *taps);

/* ---- LoRA (spec §9.1): y = x W^T + s * (dropout(x) A^T) B^T on chosen LLM linears ---- */
typedef struct silkie_lora_module {
    uint32_t r;                  /* 0: this linear is not adapted */
    float scale;                 /* alpha / r, or alpha / sqrt(r) with rsLoRA */
    silkie_owned_tensor a, b;    /* A [r, in], B [out, r], f32 */
    silkie_owned_tensor ga, gb;  /* gradients, same shapes (allocated for training only) */
} silkie_lora_module;

struct silkie_qwen_lora {
    uint32_t n_layers;
    silkie_lora_module *mod;     /* [n_layers * SILKIE_LORA_N_TARGETS] */
    uint32_t max_r;
    float dropout;               /* on the LoRA branch's input; 0 = off (also at inference) */
};

/* Allocates the device tensors of every module whose r is set in lora->mod (zeros; gradients
 * too when with_grads). lora->mod and n_layers are filled by the caller. */
silkie_status silkie_qwen_lora_alloc(const silkie_qwen *q, silkie_qwen_lora *lora,
                                     uint32_t with_grads);
void silkie_qwen_lora_release(silkie_qwen_lora *lora);
static inline silkie_lora_module *silkie_qwen_lora_at(const silkie_qwen_lora *lora, uint32_t l,
                                                      silkie_lora_target t)
{
    return lora ? &lora->mod[l * SILKIE_LORA_N_TARGETS + t] : NULL;
}

/* A PEFT adapter folder (adapter_config.json + adapter_model.safetensors or .bin) for q. Every
 * module the config targets gets its A and B (converted to f32). SILKIE_ERR_BAD_MODEL naming
 * the tensor for a missing, unexpected or misshapen tensor, or when the targets match no
 * module; SILKIE_ERR_UNSUPPORTED when they match a module outside the LLM blocks. *cfg_out
 * (may be NULL) receives the parsed config. */
silkie_status silkie_qwen_lora_load(const silkie_qwen *q, const char *dir, uint32_t with_grads,
                                    silkie_lora_config *cfg_out, silkie_qwen_lora *out);
/* A new adapter for cfg: A Kaiming-uniform with a = sqrt(5) (U(-1/sqrt(in), 1/sqrt(in))) from
 * a seeded generator, B zero, so the adapted model starts equal to the base. */
silkie_status silkie_qwen_lora_init(const silkie_qwen *q, const silkie_lora_config *cfg,
                                    uint64_t seed, uint32_t with_grads, silkie_qwen_lora *out);

/* ---- One LLM block, shared by inference and training ---------------------------------- */
/* Buffers of one block over T rows. Inference passes one Hn for both norms and a KV cache;
 * training passes separate Hn1/Hn2 (kept for the backward pass), no cache (attention reads this
 * pass's own k and v, so their gradients exist), an lse output and an x_mid copy. */
typedef struct silkie_qwen_block_io {
    silkie_tensor X;                       /* [T, H] residual stream, updated in place */
    silkie_tensor Hn1, Hn2;                /* [T, H] outputs of ln_1 and ln_2 */
    silkie_tensor QKV, ATT, MLP, ACT;      /* [T, 3H] [T, H] [T, 2F] [T, F] */
    const silkie_tensor *pos;              /* I32 [T] positions */
    silkie_qwen_kv *kv;                    /* inference: append k/v at step[0], attend step[1] */
    const silkie_tensor *step;
    silkie_tensor *lse;                    /* training: [n_heads, T] */
    uint32_t seg_begin, seg_end;           /* training: packed-pair attention segment */
    silkie_tensor *x_mid;                  /* training: X after the attention residual */
    /* Inference (set by record_llm): ln_1/ln_2 may be folded into the matmuls that read them
     * (Hn1/Hn2 are then not written where no LoRA target reads them), and those matmuls may
     * round the normed rows to f16 (silkie_matmul_opts.f16_ok). Training keeps the norms'
     * outputs for the backward and f32 operands, so that its gradients match its forward. */
    uint32_t inference;
    float freq_base;
    uint32_t logn_base;
    /* LoRA: NULL = base model. U[t] receives x A^T of target t, kept for the backward pass: a
     * buffer of >= T * r floats viewed as [T, r]. drop [T, max(H, F)] holds the dropped-out
     * input when lora->dropout > 0 (mask stream from silkie_qwen_lora_stream). */
    const silkie_qwen_lora *lora;
    silkie_tensor U[SILKIE_LORA_N_TARGETS];
    silkie_tensor drop;
    uint32_t dropout_seed, dropout_stream;
} silkie_qwen_block_io;

silkie_status silkie_qwen_record_block(silkie_op_ctx *c, const silkie_qwen *q, uint32_t layer,
                                       silkie_qwen_block_io *io);
/* The block's self-attention (causal over io's rows, with io's segment rule): the backward
 * pass differentiates exactly what the forward ran. */
silkie_attention_params silkie_qwen_block_attention(const silkie_qwen *q,
                                                    const silkie_qwen_block_io *io);
/* Input of LoRA target t in a recorded block (Hn1, ATT, Hn2 or ACT). */
const silkie_tensor *silkie_qwen_block_lora_input(const silkie_qwen_block_io *io,
                                                  silkie_lora_target t);
/* Mask stream of target t of layer l (the backward pass recomputes the same mask). */
static inline uint32_t silkie_qwen_lora_stream(const silkie_qwen_block_io *io, uint32_t l,
                                               silkie_lora_target t)
{
    return io->dropout_stream + l * SILKIE_LORA_N_TARGETS + (uint32_t)t;
}

/* ---- Training pass (qwen_train.c) --------------------------------------------------------
 * Per-row log-probabilities of a sequence's labels, and their gradient with respect to the
 * LoRA tensors. Memory: the residual stream entering each block is kept (activation
 * checkpointing); the backward pass recomputes one block at a time from it, and the vocabulary
 * is walked in blocks, so neither [T, T] scores nor [T, V] logits are stored. */
typedef struct silkie_qwen_train_ws silkie_qwen_train_ws;

/* sum over the vocabulary of lm_head's rows, f32 [H]: the mean logit of a row is then
 * hf . colsum / V. A model constant: computed once and shared by workspaces. */
silkie_status silkie_qwen_vocab_colsum(const silkie_qwen *q, silkie_owned_tensor *out);

/* max_tokens: longest pass; lora: the adapter the passes will use (its ranks size the
 * scratch); colsum: from silkie_qwen_vocab_colsum, borrowed. */
silkie_status silkie_qwen_train_ws_create(const silkie_qwen *q, const silkie_qwen_lora *lora,
                                          const silkie_tensor *colsum, uint32_t max_tokens,
                                          silkie_qwen_train_ws **out);
void silkie_qwen_train_ws_destroy(silkie_qwen_train_ws *w);
/* Device bytes the workspace holds. */
uint64_t silkie_qwen_train_ws_bytes(const silkie_qwen_train_ws *w);

/* One training pass over T rows. A DPO pair is packed into one pass: [shared prefix | chosen
 * continuation | rejected continuation], each continuation at the positions it has in its own
 * sequence, the rejected rows not attending to the chosen ones (seg_begin/seg_end), so the
 * prompt (and its image) is computed once for both. */
typedef struct silkie_qwen_train_seq {
    const int32_t *ids;     /* [n_tokens] */
    const int32_t *pos;     /* [n_tokens] RoPE positions */
    const int32_t *labels;  /* [n_tokens] the id row t predicts where its log-prob counts, or -1 */
    uint32_t n_tokens;
    uint32_t seg_begin, seg_end; /* rows >= seg_end do not see rows [seg_begin, seg_end) */
    const silkie_qwen_inject *inject;
    uint32_t n_inject;
} silkie_qwen_train_seq;

typedef struct silkie_qwen_train_pass {
    const silkie_qwen_lora *lora;  /* NULL: the base model (reference log-probs) */
    uint32_t keep;                 /* 1: keep checkpoints for silkie_qwen_train_backward */
    uint32_t dropout_seed;         /* dropout masks: same seed and stream = same mask */
    uint32_t dropout_stream;
} silkie_qwen_train_pass;

/* Forward: row_logp[t] = log softmax(logits[t])[labels[t]] (0 where labels[t] < 0) and
 * row_logit[t] = the mean of row t's logits over the vocabulary; either may be NULL. */
silkie_status silkie_qwen_train_forward(silkie_qwen_train_ws *w, const silkie_qwen_train_seq *s,
                                        const silkie_qwen_train_pass *p, float *row_logp,
                                        float *row_logit);
/* Backward of sum_t g[t] * row_logp[t] for the sequence and pass of the latest forward with
 * p->keep: gradients are added to the lora modules' ga/gb. g: [n_tokens] (0 where unscored). */
silkie_status silkie_qwen_train_backward(silkie_qwen_train_ws *w, const silkie_qwen_train_seq *s,
                                         const silkie_qwen_train_pass *p, const float *g);

/* Dynamic NTK base for a prefill of length L (spec §5.5). */
float silkie_qwen_ntk_base(const silkie_model_config *cfg, uint32_t prefill_len);

/* ---- execution context: what a session runs on (owns scratch, KV cache, command lists) ---- */
typedef struct silkie_qwen_ctx silkie_qwen_ctx;

/* n_ctx: KV-cache rows; n_batch: largest prefill chunk; kv_dtype: f16 or f32. */
silkie_status silkie_qwen_ctx_create(const silkie_qwen *q, uint32_t n_ctx, uint32_t n_batch,
                                     silkie_dtype kv_dtype, silkie_qwen_ctx **out);
/* Reports prefill progress in tokens when a prefill spans several chunks; fn NULL = off. */
void silkie_qwen_ctx_set_progress(silkie_qwen_ctx *x, silkie_progress_fn fn, void *user);
void silkie_qwen_ctx_destroy(silkie_qwen_ctx *x);
uint32_t silkie_qwen_ctx_n_past(const silkie_qwen_ctx *x);
uint32_t silkie_qwen_ctx_n_ctx(const silkie_qwen_ctx *x);
/* Forgets the cached tokens (and the dynamic-NTK base chosen at the first prefill). */
void silkie_qwen_ctx_reset(silkie_qwen_ctx *x);
/* LoRA adapter applied, unmerged, by every later pass (prefill chunks and the decode list);
 * NULL = the base model. Borrowed: it must outlive its use by x (until x is destroyed or another
 * adapter is set). Its dropout must be 0. Allocates the adapter's scratch; call again after
 * reallocating the adapter's tensors so the decode list is recorded anew. Tokens already in the
 * cache keep the keys and values they were computed with. SILKIE_ERR_INVALID_ARGUMENT for an
 * adapter of another model or with dropout; on failure x keeps its previous adapter. */
silkie_status silkie_qwen_ctx_set_lora(silkie_qwen_ctx *x, const silkie_qwen_lora *lora);

/* Runs the vision tower on normalised pixels [3, S, S] (host f32, CHW) into `features` (a
 * device tensor [Nq, D] f32 the caller allocated with silkie_qwen_features_alloc). */
silkie_status silkie_qwen_features_alloc(const silkie_qwen *q, silkie_owned_tensor *out);
silkie_status silkie_qwen_encode_image(silkie_qwen_ctx *x, const float *pixels,
                                       silkie_tensor *features, const silkie_qwen_taps *taps);
/* Device tensor [3, S, S] f32 the vision tower reads (for preprocessing on the device: write it,
 * then call silkie_qwen_encode_image with pixels == NULL). Borrowed. */
silkie_tensor *silkie_qwen_pixels(silkie_qwen_ctx *x);

/* Appends n ids at the cache end (chunked by n_batch; a single id replays the recorded decode
 * list) and returns the logits of the last one: *logits borrowed, [n_vocab], valid until the next
 * call on x. Images: features replacing rows at absolute positions (>= n_past). On failure the
 * cache is left as it was before the call. SILKIE_ERR_CONTEXT_FULL when n_past + n > n_ctx. */
typedef struct silkie_qwen_image_slot {
    const silkie_tensor *features;
    uint32_t pos; /* absolute position of the first replaced row */
} silkie_qwen_image_slot;
silkie_status silkie_qwen_eval(silkie_qwen_ctx *x, const int32_t *ids, uint32_t n,
                               const silkie_qwen_image_slot *images, uint32_t n_images,
                               const silkie_qwen_taps *taps, const float **logits);

/* ---- sampling on the device (ops/ops.h, silkie_op_sample) ----
 * silkie_qwen_ctx_set_sampling fixes the parameters of the device step (NULL: off). While set,
 * every pass marks its ids in a seen-token mask on the device (the repetition penalty's
 * history, cleared by silkie_qwen_ctx_reset), and silkie_qwen_eval_sample runs the pass like
 * silkie_qwen_eval but keeps the logits on the device and ends with the sampling step: *out
 * receives the argmax (greedy) or the candidates and normaliser (silkie_sample_result). After
 * it, silkie_qwen_ctx_logits copies that pass's logits to the host (*logits borrowed, valid
 * until the next call on x) for a sampler that could not decide from the candidates. */
silkie_status silkie_qwen_ctx_set_sampling(silkie_qwen_ctx *x, const silkie_sample_params *p);
silkie_status silkie_qwen_eval_sample(silkie_qwen_ctx *x, const int32_t *ids, uint32_t n,
                                      const silkie_qwen_image_slot *images, uint32_t n_images,
                                      silkie_sample_result *out);
silkie_status silkie_qwen_ctx_logits(silkie_qwen_ctx *x, const float **logits);
/* Ids marked in the mask since it was last cleared or set, or UINT64_MAX when unknown (a
 * failed pass, a restored cache, sampling set after tokens were cached, or sampling off). */
uint64_t silkie_qwen_ctx_seen_count(const silkie_qwen_ctx *x);
/* Replaces the mask by seen[n_vocab] (non-zero = seen); count becomes the marked count. */
silkie_status silkie_qwen_ctx_set_seen(silkie_qwen_ctx *x, const uint8_t *seen, uint64_t count);

/* What the passes of x cost the host (benchmarks). */
typedef struct silkie_qwen_ctx_stats {
    uint64_t readback_bytes; /* device-written bytes handed to the host: V * 4 per
                              * silkie_qwen_eval and silkie_qwen_ctx_logits, the bytes of the
                              * sampling result per silkie_qwen_eval_sample */
    uint64_t wait_ns;        /* time spent waiting for submitted passes */
    uint64_t passes;         /* passes submitted (decode steps and prefill chunks) */
} silkie_qwen_ctx_stats;
void silkie_qwen_ctx_stats_get(const silkie_qwen_ctx *x, silkie_qwen_ctx_stats *out);
/* Dispatches recorded in the single-token decode list (sampled: the sampling one); 0 before
 * its first use. */
uint32_t silkie_qwen_ctx_decode_dispatches(const silkie_qwen_ctx *x, int sampled);

/* KV cache rows [0, n_past) of layer l to host (k then v), and back, for session files. */
uint64_t silkie_qwen_ctx_state_bytes(const silkie_qwen_ctx *x);
silkie_status silkie_qwen_ctx_state_read(silkie_qwen_ctx *x, void *dst, uint64_t size);
silkie_status silkie_qwen_ctx_state_write(silkie_qwen_ctx *x, uint32_t n_past, float freq_base,
                                          const void *src, uint64_t size);
float silkie_qwen_ctx_freq_base(const silkie_qwen_ctx *x);

#endif /* SILKIE_QWEN_H */
