/* Op layer: tensors on the device and one function per compute op. Each op checks shapes,
 * fills its push constants, picks a pipeline and records a dispatch into the context's command
 * list; barriers come from the declared reads and writes. Ops know nothing about Qwen.
 *
 * Conventions
 * - Shapes use GGML order: ne[0] is the contiguous (innermost) dimension. A "row" is ne[0]
 *   elements; a tensor has ne[1]*ne[2]*ne[3] rows.
 * - Rows may be strided (row_stride elements apart) so that q, k and v can be read in place from
 *   a fused QKV activation. Ops that accept strided rows say so; the rest return
 *   SILKIE_ERR_UNSUPPORTED for them.
 * - Activations are f32 unless stated. Weights may be f32/f16/bf16/q8_0/q4_0.
 * - Tensors larger than one storage-buffer binding are split by rows into parts (see
 *   silkie_tensor_part); matmul and get_rows accept split weights, other ops do not.
 * - Per-step values (positions, cache lengths) are read from small I32 "step" tensors so that a
 *   recorded command list can be replayed with new values.
 */
#ifndef SILKIE_OPS_H
#define SILKIE_OPS_H

#include "vk/vk.h"

#define SILKIE_TENSOR_MAX_PARTS 32

typedef struct silkie_tensor_part {
    silkie_vk_buffer *buf;
    uint64_t offset; /* bytes */
} silkie_tensor_part;

typedef struct silkie_tensor {
    silkie_dtype dtype;
    uint32_t ne[4];
    uint32_t row_stride; /* elements from one row to the next; 0 = ne[0] (contiguous) */
    silkie_vk_buffer *buf;
    uint64_t offset;     /* bytes into buf of element 0 */
    /* Split storage: n_parts > 1 means rows [i*part_rows, (i+1)*part_rows) live at parts[i];
     * buf/offset are then unused. parts is borrowed from whoever made the tensor. */
    uint32_t n_parts;
    uint32_t part_rows;
    const silkie_tensor_part *parts;
} silkie_tensor;

/* Helpers (tensor.c). */
uint64_t silkie_tensor_rows(const silkie_tensor *t);
uint64_t silkie_tensor_nelements(const silkie_tensor *t);
uint64_t silkie_tensor_row_bytes(const silkie_tensor *t); /* bytes of ne[0] elements */
uint64_t silkie_tensor_nbytes(const silkie_tensor *t);    /* contiguous size of all rows */
int silkie_tensor_same_shape(const silkie_tensor *a, const silkie_tensor *b);
int silkie_tensor_is_contiguous(const silkie_tensor *t);
/* A 2-D view [n_rows, n_cols] (GGML ne = {n_cols, n_rows}) of single-buffer storage. */
silkie_tensor silkie_tensor_2d(silkie_vk_buffer *buf, uint64_t offset, silkie_dtype dt,
                               uint32_t n_cols, uint32_t n_rows);
/* View of columns [col0, col0+n_cols) of every row of a 2-D tensor (sets row_stride). */
silkie_tensor silkie_tensor_cols(const silkie_tensor *t, uint32_t col0, uint32_t n_cols);
/* View of rows [row0, row0+n_rows) (single-buffer tensors). */
silkie_tensor silkie_tensor_rows_view(const silkie_tensor *t, uint32_t row0, uint32_t n_rows);
/* Binding covering the tensor's bytes (single-buffer tensors). */
silkie_vk_binding silkie_tensor_binding(const silkie_tensor *t, silkie_vk_access access);

/* Allocates a contiguous tensor in one buffer of `pool` (rows split into parts when it exceeds
 * the binding range; the part table is owned by the returned object). */
typedef struct silkie_owned_tensor {
    silkie_tensor t;
    silkie_vk_buffer *bufs[SILKIE_TENSOR_MAX_PARTS];
    silkie_tensor_part parts[SILKIE_TENSOR_MAX_PARTS];
} silkie_owned_tensor;
silkie_status silkie_tensor_alloc(silkie_vk_device *d, silkie_vk_pool pool, silkie_dtype dt,
                                  const uint32_t ne[4], silkie_owned_tensor *out);
void silkie_tensor_free(silkie_owned_tensor *t);
/* Host <-> device for whole tensors (handles parts and row strides = 0 only). */
silkie_status silkie_tensor_upload(silkie_owned_tensor *t, const void *data, uint64_t nbytes);
silkie_status silkie_tensor_download(const silkie_tensor *t, void *data, uint64_t nbytes);

/* Row ranges of possibly split tensors (tensor_rows.c). row_location gives the buffer, byte
 * offset and rows left in that part; write/read copy n contiguous rows from/to host memory. */
silkie_vk_buffer *silkie_tensor_row_location(const silkie_tensor *t, uint64_t row, uint64_t *off,
                                             uint64_t *rows_left);
silkie_status silkie_tensor_write_rows(const silkie_tensor *t, uint64_t row0, uint64_t n,
                                       const void *src);
silkie_status silkie_tensor_read_rows(const silkie_tensor *t, uint64_t row0, uint64_t n,
                                      void *dst);

typedef struct silkie_op_ctx {
    silkie_vk_device *dev;
    silkie_vk_cmd *cmd;
} silkie_op_ctx;

/* ---- matmul family (matmul.c; shaders matmul*, gemv*) -------------------------------------- */
typedef struct silkie_matmul_opts {
    uint32_t trans_a;    /* 0: a is [M rows, K]; 1: a is stored [K rows, M] (a^T, f32 only) */
    uint32_t w_kn;       /* 0: w is [N rows, K] (Linear); 1: w is stored [K rows, N] (x @ W) */
    uint32_t accumulate; /* 1: y += result (gradient accumulation, fused residual add) */
    float alpha;         /* result scale; 0 means 1 */
    /* RMSNorm of A's rows before the product: y = W (rms_norm(a, norm_w, norm_eps)). The GEMV
     * kernels fold it in (no extra dispatch, nothing written); the GEMM path writes the normed
     * rows to norm_out (f32, a's shape, contiguous) first, so norm_out is required. Linear
     * layout, no trans_a; norm_w f32 [K]. */
    const silkie_tensor *norm_w;
    float norm_eps;
    silkie_tensor *norm_out;
    /* 1: A's values fit f16 with room to spare (the output of a norm, normalized pixels), so
     * the automatic choice may round them to f16: the cooperative-matrix GEMM where the device
     * has one. 0: f32 operands on the automatic path (named settings may still override). */
    uint32_t f16_ok;
} silkie_matmul_opts;
/* y[m][n] = alpha * sum_k A[m][k] * W[n][k] + bias[n] (+ y[m][n] if accumulate).
 * a: f32 (strided rows ok, also with trans_a). w: f32/f16/bf16 (strided rows ok) or q8_0/q4_0
 * (contiguous rows; blocks run along the stored rows, so K % 32 == 0 for the Linear layout and
 * N % 32 == 0 with w_kn, which dequantizes blocks as the tiles are staged). w may be split by
 * rows in either layout: with w_kn each part covers a range of K and is added into y in turn
 * (the first part honours accumulate and adds the bias). bias: f32 [N] or NULL. y: f32 [M, N],
 * contiguous. opts may be NULL. Picks GEMV for small M (Linear layout, no trans_a) and tiled
 * GEMM (or cooperative matrix) otherwise. SILKIE_ERR_INVALID_ARGUMENT for shapes that do not
 * fit, SILKIE_ERR_UNSUPPORTED for other weight types or a grid past the device limit. */
silkie_status silkie_op_matmul(silkie_op_ctx *c, const silkie_tensor *a, const silkie_tensor *w,
                               const silkie_tensor *bias, silkie_tensor *y,
                               const silkie_matmul_opts *opts);
/* 1 when a GEMM with these options takes the cooperative-matrix kernel on a device with these
 * caps: automatic (the `auto` setting) and o->f16_ok, or forced by the gemm-coopmat setting;
 * the device must have VK_NV_cooperative_matrix, shaderFloat16 and 32-wide subgroups, and the
 * product Linear weights and an untransposed A. */
int silkie_matmul_coopmat_fits(const silkie_vk_caps *caps, const silkie_matmul_opts *o,
                               int automatic, int forced);
/* After a dispatch of `shader` returned st: 1 when its pipeline could not be built on this
 * device (silkie_vk_shader_failed) and the op should record `instead`, its other kernel for
 * the job. Logs the switch; later calls choose the other kernel without trying again. */
int silkie_op_falls_back(const silkie_op_ctx *c, silkie_status st, silkie_shader_id shader,
                         const char *instead);
/* Binds [offset, offset + bytes) of buf starting at the nearest allowed binding offset below
 * `offset`; *elem_off receives the distance in elem_bytes units (what shaders add to their
 * indices). Shared by the ops whose tensors may start at any element (views, parts). */
silkie_status silkie_op_bind(const silkie_op_ctx *c, silkie_vk_buffer *buf, uint64_t offset,
                             uint64_t bytes, uint32_t elem_bytes, silkie_vk_access access,
                             silkie_vk_binding *b, uint32_t *elem_off);

/* Named kernel settings (benchmarks and tests only; the library always runs setting 0, the
 * automatic choice from the device caps). Process-wide; not thread-safe. */
uint32_t silkie_op_matmul_n_tunings(void);
const char *silkie_op_matmul_tuning_name(uint32_t i);
silkie_status silkie_op_matmul_set_tuning(uint32_t i);
/* The kernel the latest silkie_op_matmul call recorded, e.g. "gemv_q wg128 r4 a4 w32". */
const char *silkie_op_matmul_last_kernel(void);
/* The GEMV and GEMM kernels this device takes, in words (into text), for the log line of a
 * model load. */
void silkie_op_matmul_kernels(const silkie_vk_device *dev, char *text, size_t size);

/* ---- get_rows: embedding lookup (get_rows.c) ----------------------------------------------- */
/* y[t] = table[ids[t]] as f32. table: any weight dtype, [V rows, D], may be split.
 * ids: I32 [T]. y: f32 [T, D]. Ids outside [0, V) give zero rows. */
silkie_status silkie_op_get_rows(silkie_op_ctx *c, const silkie_tensor *table,
                                 const silkie_tensor *ids, silkie_tensor *y);

/* ---- normalisation (rms_norm.c, layer_norm.c) ---------------------------------------------- */
/* y = x / sqrt(mean(x^2) + eps) * w; w f32 [ne0] or NULL. x may be strided; y contiguous. */
silkie_status silkie_op_rms_norm(silkie_op_ctx *c, const silkie_tensor *x, const silkie_tensor *w,
                                 silkie_tensor *y, float eps);
/* y = (x - mean) / sqrt(var + eps) * w + b (biased variance); w, b f32 [ne0] or NULL. */
silkie_status silkie_op_layer_norm(silkie_op_ctx *c, const silkie_tensor *x,
                                   const silkie_tensor *w, const silkie_tensor *b,
                                   silkie_tensor *y, float eps);

/* ---- softmax over rows (softmax.c) --------------------------------------------------------- */
/* y = softmax(x * scale) per row; x, y f32, same shape; y may equal x. */
silkie_status silkie_op_softmax(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y,
                                float scale);

/* ---- rotary embedding, Qwen rotate-half form (rope.c) -------------------------------------- */
typedef struct silkie_rope_params {
    uint32_t head_dim;   /* rotated over the whole head; must be even */
    float freq_base;     /* theta_i = pos * freq_base^(-2i/head_dim) */
    uint32_t logn_base;  /* >0: multiply rows at pos >= logn_base by ln(pos+1)/ln(logn_base) */
    uint32_t inverse;    /* 1: rotate by -theta (backward) */
} silkie_rope_params;
/* x, y: f32 [T rows, n_heads*head_dim] (x may be strided, y may alias x); pos: I32 [T]. */
silkie_status silkie_op_rope(silkie_op_ctx *c, const silkie_tensor *x, const silkie_tensor *pos,
                             silkie_tensor *y, const silkie_rope_params *p);
/* Fused for the attention input (rope_qkv.c): qkv f32 [T, 3 * n_heads * head_dim] holds q, k, v;
 * q (with p's log-n scaling) and k are rotated in place. With k_cache, v_cache (f16 or f32,
 * [rows, n_heads * head_dim]) and step (I32, first row), the rotated k and the v of token t go
 * to cache row step[0] + t (rows past the cache are dropped): the same values as rope of q, rope
 * of k, set_rows of k and v, in one dispatch. */
silkie_status silkie_op_rope_qkv(silkie_op_ctx *c, silkie_tensor *qkv, const silkie_tensor *pos,
                                 silkie_tensor *k_cache, silkie_tensor *v_cache,
                                 const silkie_tensor *step, const silkie_rope_params *p);

/* ---- activations (gelu.c, swiglu.c) -------------------------------------------------------- */
/* y = 0.5 x (1 + erf(x / sqrt 2)); x, y f32 same shape (y may alias x). */
silkie_status silkie_op_gelu(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y);
/* y = a * silu(b) = a * b / (1 + exp(-b)); a, b f32 same shape (strided ok), y contiguous. */
silkie_status silkie_op_swiglu(silkie_op_ctx *c, const silkie_tensor *a, const silkie_tensor *b,
                               silkie_tensor *y);

/* ---- element-wise binary and scale (binary.c) ---------------------------------------------- */
/* y = a + b, a * b; b is the same shape as a or one row broadcast over a's rows. y may alias a. */
silkie_status silkie_op_add(silkie_op_ctx *c, const silkie_tensor *a, const silkie_tensor *b,
                            silkie_tensor *y);
silkie_status silkie_op_mul(silkie_op_ctx *c, const silkie_tensor *a, const silkie_tensor *b,
                            silkie_tensor *y);
/* y = x * s + bias. */
silkie_status silkie_op_scale(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y, float s,
                              float bias);
/* Binds all rows of a single-buffer tensor (row_stride honoured) through silkie_op_bind;
 * `op` names the caller in messages. Split tensors give SILKIE_ERR_UNSUPPORTED. */
silkie_status silkie_op_bind_rows(const silkie_op_ctx *c, const silkie_tensor *t,
                                  silkie_vk_access access, const char *op, silkie_vk_binding *b,
                                  uint32_t *elem_off);

/* ---- conversion and row copies (convert.c) ------------------------------------------------- */
/* y = x converted between f32, f16 and bf16 (same shape; x may be strided). */
silkie_status silkie_op_convert(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y);
/* dst rows [row0 + step[0] + i] = src rows i, converted; step: I32 tensor or NULL (KV-cache
 * append with a position that changes on replay). */
silkie_status silkie_op_set_rows(silkie_op_ctx *c, const silkie_tensor *src, silkie_tensor *dst,
                                 const silkie_tensor *step, uint32_t row0);

/* ---- vision helpers (patchify.c, interp_bicubic.c) ----------------------------------------- */
/* img: f32 [3 planes, H, W] (CHW); y: f32 [n_patches = (H/p)*(W/p), 3*p*p] ordered
 * (channel, ky, kx) per patch, patches row-major. patch_embed = patchify + matmul. */
silkie_status silkie_op_patchify(silkie_op_ctx *c, const silkie_tensor *img, silkie_tensor *y,
                                 uint32_t patch);
/* PyTorch bicubic (A = -0.75, align_corners false, clamped taps) resize of a grid table:
 * x: f32 [gh*gw rows, D]; y: f32 [oh*ow rows, D]. */
silkie_status silkie_op_interp_bicubic(silkie_op_ctx *c, const silkie_tensor *x, uint32_t gh,
                                       uint32_t gw, silkie_tensor *y, uint32_t oh, uint32_t ow);

/* ---- attention, flash style (attention.c) -------------------------------------------------- */
typedef struct silkie_attention_params {
    uint32_t n_heads;
    uint32_t head_dim;
    float scale;        /* applied to q.k */
    uint32_t causal;    /* 1: query i (absolute position q_pos0 + i) sees keys 0..q_pos0+i */
    uint32_t q_pos0;    /* static position of query 0 (used when step == NULL) */
    uint32_t n_kv;      /* static key count (used when step == NULL) */
    /* Segment exclusion, for two sequences packed behind one shared prefix as
     * [prefix | A | B]: when seg_end > seg_begin, query i (absolute index q = q_pos0 + i, the
     * index the causal rule uses) with q >= seg_end does not see keys seg_begin <= j < seg_end,
     * on top of the causal rule and also without it. These are row indices of q and k, not the
     * RoPE positions. 0, 0 (the default) masks nothing. Honoured by every path (step tensor
     * and decode included) and by silkie_op_attention_back. */
    uint32_t seg_begin, seg_end;
} silkie_attention_params;
/* y = softmax(scale * q k^T [+ causal mask]) v, per head, with an online softmax (no score
 * matrix in memory). q: f32 [Tq rows, n_heads*head_dim]; k, v: f32 or f16 [>= n_kv rows,
 * n_heads*head_dim] (KV caches); all may be strided. y: f32 [Tq, n_heads*head_dim].
 * step: I32 [2] = {q_pos0, n_kv} read on the device (replay), or NULL for the static values.
 * lse: f32 [n_heads, Tq] log-sum-exp per query row for the backward pass, or NULL. */
silkie_status silkie_op_attention(silkie_op_ctx *c, const silkie_tensor *q, const silkie_tensor *k,
                                  const silkie_tensor *v, silkie_tensor *y,
                                  const silkie_tensor *step, silkie_tensor *lse,
                                  const silkie_attention_params *p);
/* The attention kernels this device takes for heads of head_dim (f32 K/V), in words, for the
 * log line of a model load. */
const char *silkie_op_attention_kernels(const silkie_vk_device *dev, uint32_t head_dim);
/* What the latest silkie_op_attention call recorded, e.g. "flash 16x32 d4 32 f16". */
const char *silkie_op_attention_last_kernel(void);
/* 0: blocks of queries take attention.comp's tiled shader instead of attention_flash.comp
 * (tests and silkie-bench-ops compare the two); 1 (the default): flash where it applies. */
void silkie_op_attention_set_flash(int enabled);

/* ---- sampling helpers (argmax.c, topk.c) --------------------------------------------------- */
/* y[r] = index of the largest value of row r (lowest index on ties); x f32, y I32 [rows]. */
silkie_status silkie_op_argmax(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y);
/* Largest k values of the single row x (k <= 256), sorted descending (ties: lower index first). */
silkie_status silkie_op_topk(silkie_op_ctx *c, const silkie_tensor *x, uint32_t k,
                             silkie_tensor *values, silkie_tensor *indices);

/* ---- sampling on the device (sample.c; shaders sample_mark, sample_prep, sample) ------------
 * A step applies the repetition penalty from a seen-token mask kept on the device, then either
 * finds the argmax (greedy) or selects candidates for the host to finish the draw: the
 * largest penalized logits, sorted, and with top-k off the softmax normaliser over the whole
 * vocabulary. The host reads 4 bytes (greedy) or the header and n candidates (<= 2080 bytes).
 * Hugging Face's order: penalty, temperature, top-k, top-p, draw. */
#define SILKIE_SAMPLE_MAX_CAND 256
typedef struct silkie_sample_params {
    float temperature;        /* <= 0: greedy */
    uint32_t top_k;           /* 0 or >= the vocabulary: off */
    float top_p;              /* off unless in (0, 1) */
    float repetition_penalty; /* off when 1 or <= 0; else a positive normal number */
} silkie_sample_params;

/* Host copy of a step's output. value[] holds penalized logits, bit-exact with the host
 * sampler's (the penalty's division is done in integers on the device). */
typedef struct silkie_sample_result {
    int32_t id;          /* argmax of the penalized logits, lowest id on ties (0 if logit 0 is
                          * NaN, as the host's argmax) */
    uint32_t n;          /* candidates (0 for greedy and when flags is set) */
    uint32_t flags;      /* SILKIE_SAMPLE_NONFINITE: a NaN or +inf logit, or all -inf */
    float max_logit;     /* largest penalized logit */
    float sum;           /* top-k off: sum of exp((v - max_logit) / T) over the vocabulary */
    float sum_err;       /* top-k off: sum of exp(x) * |x| over the same terms (for the bound) */
    float value[SILKIE_SAMPLE_MAX_CAND];   /* descending */
    int32_t index[SILKIE_SAMPLE_MAX_CAND]; /* lower id first among equal values */
} silkie_sample_result;
#define SILKIE_SAMPLE_NONFINITE 1u

/* Sets the bit of every id of ids (I32 [T], contiguous) in seen (I32 words, >= ceil(n_vocab /
 * 32)); ids outside [0, n_vocab) are ignored. Record it with the pass that evaluates the ids. */
silkie_status silkie_op_sample_mark(silkie_op_ctx *c, const silkie_tensor *ids, silkie_tensor *seen,
                                    uint32_t n_vocab);
/* Elements of the f32 scratch silkie_op_sample needs for a vocabulary of n_vocab. */
uint64_t silkie_op_sample_scratch_elems(uint32_t n_vocab);
/* 32-bit words of the output buffer. */
uint32_t silkie_op_sample_out_words(void);
/* Candidates a step selects: min(n_vocab, 256, top_k + 8) with top-k on, min(n_vocab, 256) off. */
uint32_t silkie_op_sample_n_want(const silkie_sample_params *p, uint32_t n_vocab);
/* Records one sampling step over logits (f32, one contiguous row of n_vocab <= 2^24). seen: the
 * mask of silkie_op_sample_mark, or NULL for no penalty. own_id: NULL, or the pass's one token
 * (I32 [1]) when the pass has not marked it: the penalty counts it as seen and the step marks
 * it (a decode step's mark without a dispatch of its own; needs seen). scratch: f32 contiguous of
 * silkie_op_sample_scratch_elems; out: I32 contiguous of silkie_op_sample_out_words (host-visible
 * to be read with silkie_op_sample_read). SILKIE_ERR_INVALID_ARGUMENT for bad shapes or
 * parameters, SILKIE_ERR_UNSUPPORTED for a device with fewer than 256 invocations per
 * workgroup. */
silkie_status silkie_op_sample(silkie_op_ctx *c, const silkie_tensor *logits,
                               silkie_tensor *seen, const silkie_tensor *own_id,
                               const silkie_sample_params *p, silkie_tensor *scratch,
                               silkie_tensor *out);
/* Copies what the host needs from a step's output words (mapped or downloaded) into r: only the
 * id for greedy. Returns the bytes read. */
uint64_t silkie_op_sample_read(const void *out_words, const silkie_sample_params *p,
                               silkie_sample_result *r);
/* Bound on |r->sum - s| where s is the same normaliser summed on the host as the host sampler
 * does (expf in index order, double accumulation), from Vulkan's precision rules for exp and
 * division, Kahan summation and a tree reduction (see sample.c). */
double silkie_op_sample_sum_tolerance(const silkie_sample_result *r, uint32_t n_vocab);

/* ---- reference points for the benchmark (bench_ops.c) -------------------------------------- */
/* y = x (u32 words): peak copy bandwidth. */
silkie_status silkie_op_copy(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y);
/* n_groups workgroups each doing `iters` dependent FMA chains; writes one value per invocation to
 * y so nothing is optimised away: peak arithmetic rate. */
silkie_status silkie_op_fma_peak(silkie_op_ctx *c, silkie_tensor *y, uint32_t n_groups,
                                 uint32_t iters);

#endif /* SILKIE_OPS_H */
