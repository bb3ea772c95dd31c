/* Plain-C references of the backward ops (ops/ops_train.h), same layouts, contiguous arrays. */
#ifndef SILKIE_REF_TRAIN_H
#define SILKIE_REF_TRAIN_H

#include "ref/ref.h"

void silkie_ref_rms_norm_back(const float *x, const float *w, const float *dy, float *dx,
                              uint32_t n_cols, uint32_t n_rows, float eps, int accumulate);
void silkie_ref_swiglu_back(const float *a, const float *b, const float *dy, float *da,
                            float *db, uint64_t n);
/* The dropout mask hash shared with the shader: keep when the result >= p * 2^32. */
uint32_t silkie_ref_dropout_hash(uint32_t seed, uint32_t stream, uint32_t i);
void silkie_ref_dropout(const float *x, float *y, uint64_t n, float p, uint32_t seed,
                        uint32_t stream);
/* logp[t] = log softmax(logits[t])[labels[t]] over V columns (0 where labels[t] < 0); lse[t]
 * (may be NULL) the row's log-sum-exp. dlogits (may be NULL): g[t] * (onehot - softmax). */
void silkie_ref_logsoftmax_gather(const float *logits, const int32_t *labels, uint32_t T,
                                  uint32_t V, float *logp, float *lse);
void silkie_ref_logsoftmax_gather_back(const float *logits, const int32_t *labels,
                                       const float *g, uint32_t T, uint32_t V, float *dlogits);
/* Masks as silkie_ref_attention (causal, q_pos0, segment [seg_begin, seg_end)). */
void silkie_ref_attention_back(const float *q, const float *k, const float *v, const float *dy,
                               float *dq, float *dk, float *dv, uint32_t Tq, uint32_t n_kv,
                               uint32_t n_heads, uint32_t head_dim, float scale, int causal,
                               uint32_t q_pos0, uint32_t seg_begin, uint32_t seg_end);

/* AdamW step and sum of squares, as silkie_op_adamw / silkie_op_sum_sq document. */
void silkie_ref_adamw(float *p, const float *g, float *m, float *v, uint64_t n, float lr,
                      float beta1, float beta2, float eps, float weight_decay, float grad_scale,
                      uint32_t step);
double silkie_ref_sum_sq(const float *x, uint64_t n);

#endif /* SILKIE_REF_TRAIN_H */
