/* Plain-C reference of every op: loops, double accumulation, no tricks. The GPU ops are judged
 * against these in tests and by silkie-selftest. Inputs and outputs are contiguous host arrays
 * in the same layouts the ops document in ops/ops.h. */
#ifndef SILKIE_REF_H
#define SILKIE_REF_H

#include "base/base.h"

/* Row conversion between f32 and any storage type (f32, f16, bf16, q8_0, q4_0). n is a
 * multiple of 32 for the block types. Quantization follows GGML's reference rounding. */
void silkie_ref_dequant_row(silkie_dtype dt, const void *src, float *dst, uint64_t n);
void silkie_ref_quantize_row(silkie_dtype dt, const float *src, void *dst, uint64_t n);
/* Bytes of n elements of dt (n a multiple of the block size). */
uint64_t silkie_ref_row_bytes(silkie_dtype dt, uint64_t n);

/* y[m][n] = alpha * sum_k A[m][k] W[n][k] + bias[n] (+ y if accumulate); trans_a: a stored
 * [K][M]; w_kn: w stored [K][N] rows of type wdt. alpha 0 means 1. */
void silkie_ref_matmul(const float *a, int trans_a, const void *w, silkie_dtype wdt, int w_kn,
                       const float *bias, float *y, uint32_t M, uint32_t N, uint32_t K,
                       int accumulate, float alpha);
void silkie_ref_get_rows(const void *table, silkie_dtype dt, uint32_t D, uint32_t V,
                         const int32_t *ids, uint32_t T, float *y);
void silkie_ref_rms_norm(const float *x, const float *w, float *y, uint32_t n_cols,
                         uint32_t n_rows, float eps);
void silkie_ref_layer_norm(const float *x, const float *w, const float *b, float *y,
                           uint32_t n_cols, uint32_t n_rows, float eps);
void silkie_ref_softmax(const float *x, float *y, uint32_t n_cols, uint32_t n_rows, float scale);
void silkie_ref_rope(const float *x, const int32_t *pos, float *y, uint32_t T, uint32_t n_heads,
                     uint32_t head_dim, float freq_base, uint32_t logn_base, int inverse);
/* silkie_op_rope_qkv: qkv [T, 3 * width] rotated in place (q with log-n scaling, k without);
 * with caches (NULL: none), rows step + t get the rotated k and the v, rounded to f16 when
 * cache_f16 (stored as uint16_t halves) else f32; rows past cache_rows are dropped. */
void silkie_ref_rope_qkv(float *qkv, const int32_t *pos, uint32_t T, uint32_t n_heads,
                         uint32_t head_dim, float freq_base, uint32_t logn_base, void *k_cache,
                         void *v_cache, int cache_f16, uint32_t cache_rows, int32_t step);
void silkie_ref_gelu(const float *x, float *y, uint64_t n);
void silkie_ref_swiglu(const float *a, const float *b, float *y, uint64_t n);
/* b has b_rows rows: n_rows (same shape) or 1 (broadcast). op: 0 add, 1 mul. */
void silkie_ref_binary(int op, const float *a, const float *b, float *y, uint32_t n_cols,
                       uint32_t n_rows, uint32_t b_rows);
void silkie_ref_scale(const float *x, float *y, uint64_t n, float s, float bias);
void silkie_ref_patchify(const float *img, uint32_t H, uint32_t W, uint32_t patch, float *y);
void silkie_ref_interp_bicubic(const float *x, uint32_t gh, uint32_t gw, uint32_t D, float *y,
                               uint32_t oh, uint32_t ow);
/* q [Tq][H*hd], k/v [n_kv][H*hd] (f32), y [Tq][H*hd], lse [H][Tq] or NULL. causal, q_pos0,
 * seg_begin, seg_end as in silkie_attention_params (seg_begin = seg_end = 0: no segment). */
void silkie_ref_attention(const float *q, const float *k, const float *v, float *y, float *lse,
                          uint32_t Tq, uint32_t n_kv, uint32_t n_heads, uint32_t head_dim,
                          float scale, int causal, uint32_t q_pos0, uint32_t seg_begin,
                          uint32_t seg_end);
void silkie_ref_argmax(const float *x, int32_t *y, uint32_t n_cols, uint32_t n_rows);
void silkie_ref_topk(const float *x, uint32_t n, uint32_t k, float *values, int32_t *indices);

/* Device sampling step (ops/sample.c): the host sampler's arithmetic, plainly. seen: bit t of
 * word t / 32 marks token t (NULL: no penalty). Greedy (temperature <= 0) fills id only. The
 * candidates are the n_want largest penalized logits (ties: lower id), n_want as
 * silkie_op_sample_n_want; with top-k off the list is cut SILKIE_REF_SAMPLE_MARGIN past the
 * first prefix whose mass reaches top_p * sum (when 0 < top_p < 1). */
#define SILKIE_REF_SAMPLE_CAP 256
#define SILKIE_REF_SAMPLE_MARGIN 8
typedef struct silkie_ref_sample_out {
    int32_t id;
    uint32_t n;
    uint32_t flags;     /* 1: a NaN or +inf penalized logit, or all -inf (nothing else set) */
    float max_logit;
    double sum;         /* top-k off: sum of expf((v - max) / T) in id order */
    double sum_err;     /* the same terms times |(v - max) / T| */
    float value[SILKIE_REF_SAMPLE_CAP];
    int32_t index[SILKIE_REF_SAMPLE_CAP];
} silkie_ref_sample_out;
/* Penalized logit of token t exactly as the host sampler computes it. */
float silkie_ref_sample_penalize(float v, float penalty);
void silkie_ref_sample_mark(const int32_t *ids, uint32_t n_ids, uint32_t n_vocab, uint32_t *seen);
void silkie_ref_sample(const float *logits, uint32_t n_vocab, const uint32_t *seen, float penalty,
                       float temperature, uint32_t top_k, float top_p, silkie_ref_sample_out *out);

#endif /* SILKIE_REF_H */
