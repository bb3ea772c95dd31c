/* Backward ops for training (LoRA / DPO). Same conventions as ops.h: GGML shape order, f32
 * activations, strided rows where stated. Every op here is deterministic: each output element is
 * written by one invocation with a fixed reduction order (no float atomics), so a training run
 * repeats bit for bit on the same device and build. */
#ifndef SILKIE_OPS_TRAIN_H
#define SILKIE_OPS_TRAIN_H

#include "ops.h"

/* ---- matmul input gradient --------------------------------------------------------------- */
/* The input gradient of y = x W^T through a frozen Linear weight W [N rows, K] is
 * dx = dy W: silkie_op_matmul(dy, W, NULL, dx, {.w_kn = 1}) reads W as [K' = N rows, N' = K],
 * dequantizing q8_0/q4_0 blocks on the fly (N' % 32 == 0) and walking split weights part by
 * part. LoRA weight gradients are matmuls with trans_a (outer products summed over tokens). */

/* ---- RMSNorm backward (rms_norm_back.c) -------------------------------------------------- */
/* Given y = rms_norm(x, w, eps) and dy, dx = d(sum dy*y)/dx (w frozen: no weight gradient).
 * x, dy: f32 [rows, n] (strided ok); w f32 [n] or NULL; dx f32 contiguous [rows, n];
 * accumulate: 1 adds into dx (residual paths). */
silkie_status silkie_op_rms_norm_back(silkie_op_ctx *c, const silkie_tensor *x,
                                      const silkie_tensor *w, const silkie_tensor *dy,
                                      silkie_tensor *dx, float eps, uint32_t accumulate);

/* ---- SwiGLU backward (swiglu_back.c) ----------------------------------------------------- */
/* y = a * silu(b): da = dy * silu(b), db = dy * a * silu'(b). a, b, dy, da, db: f32, same shape,
 * all may be strided (da and db are usually column views of one [T, 2F] gradient). */
silkie_status silkie_op_swiglu_back(silkie_op_ctx *c, const silkie_tensor *a,
                                    const silkie_tensor *b, const silkie_tensor *dy,
                                    silkie_tensor *da, silkie_tensor *db);

/* ---- dropout (dropout.c) ----------------------------------------------------------------- */
/* y = x * keep / (1 - p) where keep(i) = hash(seed, stream, i) >= p * 2^32 for element index
 * i = row * ne0 + col: the same (seed, stream) gives the same mask, so the backward pass
 * recomputes it instead of storing it. p in [0, 1); x strided ok; y contiguous, may alias x. */
silkie_status silkie_op_dropout(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y,
                                float p, uint32_t seed, uint32_t stream);

/* ---- fused log-softmax + gather over a vocabulary in blocks (logsoftmax_gather.c) --------- */
/* Per-token log-probability of a label under softmax(logits) without holding [T, V] logits:
 * the caller computes one vocabulary block [T, Vb] of logits at a time (columns v0..v0+Vb-1)
 * and folds it into state f32 [T rows, 4] = {running max, running sum of exp(x - max),
 * label logit, log-sum-exp}. first = 1 starts the state from this block. labels: I32 [T];
 * a label < 0 marks an unscored row. logits may be strided. */
silkie_status silkie_op_logsoftmax_gather(silkie_op_ctx *c, const silkie_tensor *logits,
                                          const silkie_tensor *labels, uint32_t v0,
                                          silkie_tensor *state, uint32_t first);
/* After the last block: state[:,3] = max + log(sum); logp[t] = label logit - lse (0 for rows
 * with label < 0). logp: f32 [T]. */
silkie_status silkie_op_logsoftmax_gather_finish(silkie_op_ctx *c, silkie_tensor *state,
                                                 const silkie_tensor *labels,
                                                 silkie_tensor *logp);
/* Backward for one block: dlogits[t][j] = g[t] * ([v0 + j == label[t]] - exp(x[t][j] - lse[t]))
 * with lse from a finished state; g f32 [T] (0 for unscored rows). dlogits f32 [T, Vb]
 * contiguous, may alias logits. */
silkie_status silkie_op_logsoftmax_gather_back(silkie_op_ctx *c, const silkie_tensor *logits,
                                               const silkie_tensor *labels, uint32_t v0,
                                               const silkie_tensor *state, const silkie_tensor *g,
                                               silkie_tensor *dlogits);

/* ---- attention backward, flash style (attention_back.c) ---------------------------------- */
/* Gradients of y = attention(q, k, v) as silkie_op_attention computes it with step == NULL
 * (p->causal, p->q_pos0, p->n_kv, p->scale and the seg_begin/seg_end rule), recomputing the
 * probabilities from the forward's log-sum-exp instead of storing any [Tq, n_kv] matrix. q, y, dy: f32 [Tq, nh*hd]; k, v: f32
 * [n_kv, nh*hd]; all may be strided. lse: f32 [nh, Tq] from the forward. delta: scratch f32
 * [nh, Tq] (rowsum(dy * y)). dq: f32 [Tq, nh*hd], dk, dv: f32 [n_kv, nh*hd], written (not
 * accumulated), strided ok (column views of one [T, 3H] gradient). */
silkie_status silkie_op_attention_back(silkie_op_ctx *c, const silkie_tensor *q,
                                       const silkie_tensor *k, const silkie_tensor *v,
                                       const silkie_tensor *y, const silkie_tensor *dy,
                                       const silkie_tensor *lse, silkie_tensor *delta,
                                       silkie_tensor *dq, silkie_tensor *dk, silkie_tensor *dv,
                                       const silkie_attention_params *p);

/* ---- optimizer (adamw.c) and gradient norm (sum_sq.c) -------------------------------------- */
/* torch.optim.AdamW (decoupled weight decay, bias correction) on one tensor, after scaling the
 * gradient by grad_scale (gradient accumulation average, norm clipping):
 *   g' = grad_scale * g;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;
 *   p = p * (1 - lr * weight_decay);
 *   p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)
 * step is 1-based. p, g, m, v: f32, same shape, contiguous. */
typedef struct silkie_adamw_params {
    float lr, beta1, beta2, eps, weight_decay, grad_scale;
    uint32_t step;
} silkie_adamw_params;
silkie_status silkie_op_adamw(silkie_op_ctx *c, silkie_tensor *p, const silkie_tensor *g,
                              silkie_tensor *m, silkie_tensor *v, const silkie_adamw_params *ap);
/* out[index] = sum of x^2 over all of x (f32 contiguous), in a fixed order (no atomics), so a
 * gradient norm repeats bit for bit. out: f32 [>= index + 1]. */
silkie_status silkie_op_sum_sq(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *out,
                               uint32_t index);

#endif /* SILKIE_OPS_TRAIN_H */
