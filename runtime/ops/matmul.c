/* Matmul: GEMV for a few rows of A (decode), tiled GEMM otherwise. Split weights get one
 * dispatch per part: a Linear part writes its own column range of y; a w_kn part covers a range
 * of the reduction, reads the matching columns of A and adds into y. */
#include <stdio.h>

#include "ops.h"
#include "params/matmul.h"

#define GEMV_MAX_M 8u
/* Parts of a split weight gemv_q takes in one dispatch (its bindings 4 and 8..10). */
#define GEMV_Q_MAX_PARTS 4u
#define GEMV_Q_PART_BINDINGS 11u
#define GRID_MAX 65535u
#define DEVICE_TYPE_CPU 4u /* VK_PHYSICAL_DEVICE_TYPE_CPU; ops do not include Vulkan headers */
#define VENDOR_AMD 0x1002u
#define VENDOR_NVIDIA 0x10deu

/* Kernel settings. The automatic choice comes from the device caps; the named settings below
 * exist so that a benchmark can compare them on a real GPU and a test can check each one.
 * Zero fields mean "automatic". */
typedef struct mm_tuning {
    const char *name;
    uint32_t gemv_legacy;  /* 1: quantized GEMV through gemv.comp (the workgroup-reduction form) */
    uint32_t gemv_wg;      /* gemv_q.comp workgroup size */
    uint32_t gemv_rows;    /* gemv_q.comp rows per subgroup pass */
    uint32_t gemm_bm, gemm_bn, gemm_tm, gemm_tn;
    uint32_t gemm_coopmat; /* 1: matmul_coopmat.comp where the device has it */
    uint32_t gemm_f16;     /* 1: matmul_f16.comp where the device has shaderFloat16 */
} mm_tuning;

static const mm_tuning tunings[] = {
    {.name = "auto"},
    {.name = "gemv-legacy", .gemv_legacy = 1},
    {.name = "gemv-wg64-r1", .gemv_wg = 64, .gemv_rows = 1},
    {.name = "gemv-wg128-r2", .gemv_wg = 128, .gemv_rows = 2},
    {.name = "gemv-wg128-r4", .gemv_wg = 128, .gemv_rows = 4},
    {.name = "gemv-wg256-r8", .gemv_wg = 256, .gemv_rows = 8},
    {.name = "gemm-64x64", .gemm_bm = 64, .gemm_bn = 64, .gemm_tm = 4, .gemm_tn = 4},
    {.name = "gemm-128x64", .gemm_bm = 128, .gemm_bn = 64, .gemm_tm = 8, .gemm_tn = 4},
    {.name = "gemm-128x128", .gemm_bm = 128, .gemm_bn = 128, .gemm_tm = 8, .gemm_tn = 8},
    /* Every GEMM on it; `auto` takes it only where the caller marked A as fitting f16
     * (f16_ok), since it rounds activations to f16 (range and precision). */
    {.name = "gemm-coopmat", .gemm_coopmat = 1},
    /* Every GEMM on f16 tiles and per-step f16 sums (range and ~1e-3 relative error). `auto`
     * takes it only where the app opted in (silkie_vk_device_params.f16_gemm) and the input is
     * f16_ok: never timed on a GPU with shaderFloat16 and no cooperative matrices here. */
    {.name = "gemm-f16", .gemm_f16 = 1},
};
static uint32_t tuning_sel; /* index into tunings; process-wide, for benchmarks and tests */

/* What the latest silkie_op_matmul call recorded, e.g. "gemv_q wg128 r2 a4 w32". */
static char last_kernel[64];

const char *silkie_op_matmul_last_kernel(void) { return last_kernel; }

uint32_t silkie_op_matmul_n_tunings(void) { return (uint32_t)SK_ARRAY_LEN(tunings); }

const char *silkie_op_matmul_tuning_name(uint32_t i)
{
    return i < SK_ARRAY_LEN(tunings) ? tunings[i].name : NULL;
}

silkie_status silkie_op_matmul_set_tuning(uint32_t i)
{
    if (i >= SK_ARRAY_LEN(tunings))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "matmul: no tuning %u (have %u)", i,
                       (uint32_t)SK_ARRAY_LEN(tunings));
    tuning_sel = i;
    return SILKIE_OK;
}

int silkie_op_falls_back(const silkie_op_ctx *c, silkie_status st, silkie_shader_id shader,
                         const char *instead)
{
    if (st == SILKIE_OK || st == SILKIE_ERR_DEVICE_LOST || !silkie_vk_shader_failed(c->dev, shader))
        return 0;
    SK_LOGW("shader '%s' cannot be built on this device (%s); using %s from now on",
            silkie_shader_table[shader].name, silkie_last_error(), instead);
    return 1;
}

silkie_status silkie_op_bind(const silkie_op_ctx *c, silkie_vk_buffer *buf, uint64_t offset,
                             uint64_t bytes, uint32_t elem_bytes, silkie_vk_access access,
                             silkie_vk_binding *b, uint32_t *elem_off)
{
    if (!buf) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "bind: tensor has no buffer");
    if (offset % elem_bytes) {
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "bind: offset %llu is not a multiple of the %u-byte element",
                       (unsigned long long)offset, elem_bytes);
    }
    uint64_t align = silkie_vk_offset_alignment(c->dev);
    if (align == 0) align = 1;
    uint64_t base = offset / align * align;
    /* Element alignment of the base keeps the element offset exact. */
    while (base % elem_bytes) base -= align;
    uint64_t size = silkie_vk_buffer_size(buf);
    if (offset + bytes > size || offset + bytes < offset) {
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "bind: %llu bytes at %llu overrun a %llu-byte buffer",
                       (unsigned long long)bytes, (unsigned long long)offset,
                       (unsigned long long)size);
    }
    *b = (silkie_vk_binding){.buf = buf, .offset = base, .range = offset + bytes - base,
                             .access = access};
    *elem_off = (uint32_t)((offset - base) / elem_bytes);
    return SILKIE_OK;
}

/* Quantized GEMV through gemv_q.comp needs subgroup arithmetic and 11 storage buffers per
 * dispatch (the Vulkan minimum is 4; gemv.comp needs 6). */
static int gemv_q_fits(const silkie_vk_device *dev, silkie_shader_id id)
{
    const silkie_vk_caps *caps = silkie_vk_device_caps(dev);
    return caps->subgroup_ops && caps->max_storage_buffers >= GEMV_Q_PART_BINDINGS &&
           !silkie_vk_shader_failed(dev, id);
}

void silkie_op_matmul_kernels(const silkie_vk_device *dev, char *text, size_t size)
{
    const silkie_vk_caps *caps = silkie_vk_device_caps(dev);
    const silkie_matmul_opts fits = {.f16_ok = 1};
    const int q = gemv_q_fits(dev, SILKIE_SHADER_GEMV_Q_W_Q4_0);
    const int cm = silkie_matmul_coopmat_fits(caps, &fits, 1, 0) &&
                   !silkie_vk_shader_failed(dev, SILKIE_SHADER_MATMUL_COOPMAT_W_F16);
    const int f16 = !cm && silkie_vk_device_f16_gemm(dev) && caps->fp16_arith;
    snprintf(text, size, "matmul: %s GEMV, %s",
             q ? "subgroup (q8_0/q4_0)" : "workgroup (no subgroup arithmetic)",
             cm    ? "cooperative-matrix GEMM for inputs that fit f16, tiled f32 GEMM otherwise"
             : f16 ? "f16-arithmetic GEMM for inputs that fit f16 (opted in), tiled f32 otherwise"
                   : "tiled f32 GEMM");
}

int silkie_matmul_coopmat_fits(const silkie_vk_caps *caps, const silkie_matmul_opts *o,
                               int automatic, int forced)
{
    /* Tensor-core GEMM: Linear weights, untransposed A, f16 16x16x16 on 32-wide subgroups. */
    const int can = caps->coopmat_nv && caps->fp16_arith && caps->subgroup_size == 32 &&
                    !o->trans_a && !o->w_kn;
    return can && (forced || (automatic && o->f16_ok));
}

static int weight_type_ok(silkie_dtype t)
{
    return t == SILKIE_DTYPE_F32 || t == SILKIE_DTYPE_F16 || t == SILKIE_DTYPE_BF16 ||
           t == SILKIE_DTYPE_Q8_0 || t == SILKIE_DTYPE_Q4_0;
}

static int is_quant(silkie_dtype t) { return t == SILKIE_DTYPE_Q8_0 || t == SILKIE_DTYPE_Q4_0; }

static silkie_shader_id shader_for(silkie_dtype t, int gemv)
{
    switch (t) {
    case SILKIE_DTYPE_F16: return gemv ? SILKIE_SHADER_GEMV_W_F16 : SILKIE_SHADER_MATMUL_W_F16;
    case SILKIE_DTYPE_BF16: return gemv ? SILKIE_SHADER_GEMV_W_BF16 : SILKIE_SHADER_MATMUL_W_BF16;
    case SILKIE_DTYPE_Q8_0: return gemv ? SILKIE_SHADER_GEMV_W_Q8_0 : SILKIE_SHADER_MATMUL_W_Q8_0;
    case SILKIE_DTYPE_Q4_0: return gemv ? SILKIE_SHADER_GEMV_W_Q4_0 : SILKIE_SHADER_MATMUL_W_Q4_0;
    default: return gemv ? SILKIE_SHADER_GEMV_W_F32 : SILKIE_SHADER_MATMUL_W_F32;
    }
}

/* matmul_f16.comp: weight types no wider than f16. */
static int f16_gemm_shader(silkie_dtype t, silkie_shader_id *id)
{
    switch (t) {
    case SILKIE_DTYPE_F16: *id = SILKIE_SHADER_MATMUL_F16_W_F16; return 1;
    case SILKIE_DTYPE_Q8_0: *id = SILKIE_SHADER_MATMUL_F16_W_Q8_0; return 1;
    case SILKIE_DTYPE_Q4_0: *id = SILKIE_SHADER_MATMUL_F16_W_Q4_0; return 1;
    default: return 0;
    }
}

static silkie_shader_id coopmat_shader(silkie_dtype t)
{
    switch (t) {
    case SILKIE_DTYPE_F16: return SILKIE_SHADER_MATMUL_COOPMAT_W_F16;
    case SILKIE_DTYPE_BF16: return SILKIE_SHADER_MATMUL_COOPMAT_W_BF16;
    case SILKIE_DTYPE_Q8_0: return SILKIE_SHADER_MATMUL_COOPMAT_W_Q8_0;
    case SILKIE_DTYPE_Q4_0: return SILKIE_SHADER_MATMUL_COOPMAT_W_Q4_0;
    default: return SILKIE_SHADER_MATMUL_COOPMAT_W_F32;
    }
}

/* Units the shaders index weights in: floats for f32, 16-bit words otherwise. */
static uint32_t weight_unit(silkie_dtype t) { return t == SILKIE_DTYPE_F32 ? 4u : 2u; }

typedef struct mm_shape {
    uint32_t M, N, K;
    uint32_t a_ld, w_ld; /* w_ld in weight units */
    uint32_t y_ld;
    uint64_t w_row_bytes;
    uint32_t trans_a, w_kn, accumulate;
    float alpha;
} mm_shape;

static silkie_status check_shapes(const silkie_tensor *a, const silkie_tensor *w,
                                  const silkie_tensor *bias, const silkie_tensor *y,
                                  const silkie_matmul_opts *o, mm_shape *s)
{
    *s = (mm_shape){.trans_a = o->trans_a, .w_kn = o->w_kn, .accumulate = o->accumulate,
                    .alpha = o->alpha == 0.0f ? 1.0f : o->alpha};
    if (a->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "matmul: a and y must be f32");
    if (!weight_type_ok(w->dtype))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "matmul: weight type %d", (int)w->dtype);
    uint64_t a_rows = silkie_tensor_rows(a), w_rows = silkie_tensor_rows(w);
    uint64_t y_rows = silkie_tensor_rows(y);
    if (a_rows > UINT32_MAX || w_rows > UINT32_MAX || y_rows > UINT32_MAX)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "matmul: too many rows");
    s->M = s->trans_a ? a->ne[0] : (uint32_t)a_rows;
    s->K = s->trans_a ? (uint32_t)a_rows : a->ne[0];
    if (s->w_kn) {
        s->N = w->ne[0];
        if (w_rows != s->K)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "matmul: w has %llu rows, want K=%u",
                           (unsigned long long)w_rows, s->K);
    } else {
        s->N = (uint32_t)w_rows;
        if (w->ne[0] != s->K)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "matmul: w rows are %u long, want K=%u",
                           w->ne[0], s->K);
    }
    if (o->norm_w &&
        (s->trans_a || s->w_kn || o->norm_w->dtype != SILKIE_DTYPE_F32 ||
         silkie_tensor_nelements(o->norm_w) != s->K || !silkie_tensor_is_contiguous(o->norm_w)))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "matmul: norm_w must be f32 [K=%u], Linear layout, no trans_a", s->K);
    if (s->M == 0 || s->N == 0 || s->K == 0)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "matmul: empty shape %ux%ux%u", s->M, s->N,
                       s->K);
    /* Quantized blocks run along the stored rows: the reduction for Linear weights, the
     * output columns for w_kn. */
    if (is_quant(w->dtype) && !s->w_kn && (s->K % 32 || w->row_stride))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "matmul: quantized weights need K %% 32 == 0 and contiguous rows (K=%u)",
                       s->K);
    if (is_quant(w->dtype) && s->w_kn && (s->N % 32 || !silkie_tensor_is_contiguous(w)))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "matmul: quantized w_kn weights need N %% 32 == 0 and contiguous rows "
                       "(N=%u)",
                       s->N);
    if (y->ne[0] != s->N || y_rows != s->M || y->n_parts > 1 ||
        (y->row_stride && y->row_stride < y->ne[0]))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "matmul: y must be [%u, %u] rows", s->M,
                       s->N);
    /* Rows of y may be strided: LoRA adds into the w1/w2 halves of the fused MLP output. */
    s->y_ld = y->row_stride ? y->row_stride : s->N;
    if (bias && (bias->dtype != SILKIE_DTYPE_F32 || silkie_tensor_nelements(bias) != s->N ||
                 !silkie_tensor_is_contiguous(bias)))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "matmul: bias must be f32 [%u]", s->N);
    if (w->n_parts > 1 && (w->part_rows == 0 || !w->parts))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "matmul: split weight without a part table");
    s->a_ld = a->row_stride ? a->row_stride : a->ne[0];
    uint32_t w_len = w->ne[0];
    s->w_row_bytes = (uint64_t)silkie_dtype_block_bytes(w->dtype) * w_len /
                     silkie_dtype_block_elems(w->dtype);
    if (is_quant(w->dtype)) {
        s->w_ld = (uint32_t)(s->w_row_bytes / 2);
    } else {
        s->w_ld = w->row_stride ? w->row_stride : w_len;
        s->w_row_bytes = (uint64_t)s->w_ld * silkie_dtype_block_bytes(w->dtype);
    }
    return SILKIE_OK;
}

/* Shared memory of matmul.comp's two k-major tiles (BK = 32, rows padded by 4 floats). */
static uint32_t gemm_shared_bytes(uint32_t bm, uint32_t bn) { return 32u * (bm + bn + 8u) * 4u; }

/* Tile shape for the GEMM path. Large M: 128x128 (8x8 per invocation, ~33 KiB of shared
 * memory), or 128x64 (8x4, ~25 KiB) where shared memory is 32 KiB (mobile GPUs, lavapipe).
 * Small M: 64x64 (4x4, ~17 KiB), so that a few dozen rows do not waste most of a tile. */
static void gemm_tiles(const silkie_vk_caps *caps, uint32_t M, uint32_t *bm, uint32_t *bn,
                       uint32_t *tm, uint32_t *tn)
{
    const mm_tuning *t = &tunings[tuning_sel];
    if (t->gemm_bm) {
        /* A named tile shape, when the device can hold it (else the automatic one). */
        uint32_t inv = (t->gemm_bm / t->gemm_tm) * (t->gemm_bn / t->gemm_tn);
        if (inv <= caps->max_workgroup_invocations &&
            gemm_shared_bytes(t->gemm_bm, t->gemm_bn) <= caps->max_shared_memory) {
            *bm = t->gemm_bm, *bn = t->gemm_bn, *tm = t->gemm_tm, *tn = t->gemm_tn;
            return;
        }
    }
    *bm = *bn = 64;
    *tm = *tn = 4;
    if (caps->max_workgroup_invocations < 256) {
        *tm = 8; /* 128 invocations: the least Vulkan guarantees */
        return;
    }
    if (M <= 64) return;
    if (caps->max_shared_memory >= gemm_shared_bytes(128, 128)) {
        *bm = *bn = 128;
        *tm = *tn = 8;
    } else if (caps->max_shared_memory >= gemm_shared_bytes(128, 64)) {
        *bm = 128;
        *tm = 8;
    }
}

/* gemv_q.comp settings: workgroup size and rows per subgroup pass. Subgroups are independent
 * there, so the workgroup only bundles them: a few subgroups per workgroup on GPUs (enough
 * workgroups to spread over every compute unit), and many rows per workgroup on CPU drivers,
 * which pay per workgroup. Each lane reads 128 bytes of activations per 18/34-byte block, so
 * activation traffic (from L1) outweighs weight traffic unless several rows share it: 4 rows
 * per pass for M = 1 (still ~1000 subgroups for a 4096-row weight), 2 when each block already
 * serves several rows of A. */
static void gemv_q_tuning(const silkie_vk_caps *caps, uint32_t M, uint32_t N, uint32_t *wg,
                          uint32_t *rows, uint32_t *wg_rows)
{
    const mm_tuning *t = &tunings[tuning_sel];
    uint32_t sg = caps->subgroup_size ? caps->subgroup_size : 32;
    if (caps->device_type == DEVICE_TYPE_CPU) {
        /* 8 rows per pass for M = 1: each pass re-reads (and, with a folded norm, re-norms)
         * the activations, which a CPU driver pays for in gathers. lavapipe, real-shape decode
         * layer + LM head (q4_0): 91 ms (2 rows) -> 70 ms (8 rows), 84 ms with the norm fold. */
        *wg = 64, *rows = M == 1 ? 8 : 2;
    } else if (caps->vendor_id == VENDOR_NVIDIA) {
        *wg = 128, *rows = M == 1 ? 4 : 2; /* 4 warps */
        /* Very tall weights (the LM head) have rows to spare: 8 warps x 8 rows measured 1.1x
         * (q4_0) to 5.8x (q8_0) faster than 4 x 4 on an H200 at 151936 x 4096. */
        if (M == 1 && N >= 65536) *wg = 256, *rows = 8;
    } else if (caps->vendor_id == VENDOR_AMD) {
        *wg = 256, *rows = M == 1 ? 4 : 2; /* 4 wave64 (or 8 wave32) */
    } else {
        *wg = 64, *rows = 1;  /* mobile: subgroups of 16-64, small register files */
    }
    if (t->gemv_wg) *wg = t->gemv_wg, *rows = t->gemv_rows;
    if (*wg > caps->max_workgroup_invocations) *wg = caps->max_workgroup_invocations;
    if (*wg < sg) *wg = sg; /* one full subgroup at least */
    /* The shader is correct for any subgroup size; this only sizes the grid. */
    *wg_rows = *rows * SK_MAX(*wg / sg, 1u);
}

/* Storage rows [row0, row0 + rows) of weight part p (the whole weight when unsplit), bound in
 * the shader's units (b, *off), and gemv_q's 32-bit view of the same bytes when one is possible
 * (b32, *w32): it must start on a word and end on one, so the range is rounded up when the buffer
 * has room (it is read-only; the extra bytes are never trusted). */
typedef struct mm_part {
    uint32_t row0, rows, off;
    silkie_vk_binding b, b32;
    int w32;
} mm_part;

static silkie_status bind_part(const silkie_op_ctx *c, const silkie_tensor *w, const mm_shape *s,
                               uint32_t p, mm_part *o)
{
    const int split = w->n_parts > 1;
    const uint32_t w_rows = s->w_kn ? s->K : s->N; /* storage rows */
    o->row0 = split ? p * w->part_rows : 0;
    if (o->row0 >= w_rows) return SK_FAIL(SILKIE_ERR_INTERNAL, "matmul: part %u is empty", p);
    o->rows = split ? SK_MIN(w->part_rows, w_rows - o->row0) : w_rows;
    silkie_vk_buffer *wb = split ? w->parts[p].buf : w->buf;
    const uint64_t woff = split ? w->parts[p].offset : w->offset;
    const uint64_t wbytes = (uint64_t)(o->rows - 1) * s->w_row_bytes +
                            (uint64_t)silkie_dtype_block_bytes(w->dtype) * w->ne[0] /
                                silkie_dtype_block_elems(w->dtype);
    SK_CHECK(silkie_op_bind(c, wb, woff, wbytes, weight_unit(w->dtype), SILKIE_VK_READ, &o->b,
                            &o->off));
    o->b32 = o->b;
    const uint64_t end4 = (o->b.offset + o->b.range + 3) / 4 * 4;
    o->w32 = o->b.offset % 4 == 0 && end4 <= silkie_vk_buffer_size(wb) &&
             end4 - o->b.offset <= silkie_vk_device_caps(c->dev)->max_storage_buffer_range;
    if (o->w32) o->b32.range = end4 - o->b.offset;
    return SILKIE_OK;
}

/* How many parts of w gemv_q binds per dispatch: up to 4 when each has a 32-bit view, else 1. */
static uint32_t gemv_q_group(const silkie_op_ctx *c, const silkie_tensor *w, const mm_shape *s)
{
    const uint32_t n_parts = w->n_parts > 1 ? w->n_parts : 1;
    if (n_parts == 1) return 1;
    for (uint32_t p = 0; p < n_parts && p * w->part_rows < s->N; p++) {
        mm_part mp;
        if (bind_part(c, w, s, p, &mp) != SILKIE_OK || !mp.w32) return 1;
    }
    return GEMV_Q_MAX_PARTS;
}

silkie_status silkie_op_matmul(silkie_op_ctx *c, const silkie_tensor *a, const silkie_tensor *w,
                               const silkie_tensor *bias, silkie_tensor *y,
                               const silkie_matmul_opts *opts)
{
    if (!c || !c->dev || !c->cmd || !a || !w || !y)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "matmul: ctx, a, w, y required");
    const silkie_matmul_opts none = {0};
    if (!opts) opts = &none;
    mm_shape s;
    SK_CHECK(check_shapes(a, w, bias, y, opts, &s));
    const silkie_vk_caps *caps = silkie_vk_device_caps(c->dev);
    const int gemv = !s.trans_a && !s.w_kn && s.M <= GEMV_MAX_M;
    if (opts->norm_w && !gemv) {
        /* Only the GEMV kernels fold the norm: GEMM reads the normed rows from norm_out. */
        if (!opts->norm_out)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "matmul: %u rows take the GEMM path, which needs norm_out", s.M);
        SK_CHECK(silkie_op_rms_norm(c, a, opts->norm_w, opts->norm_out, opts->norm_eps));
        silkie_matmul_opts plain = *opts;
        plain.norm_w = NULL;
        plain.norm_out = NULL;
        return silkie_op_matmul(c, opts->norm_out, w, bias, y, &plain);
    }
    const int norm = opts->norm_w != NULL;

    silkie_vk_binding bind[GEMV_Q_PART_BINDINGS];
    matmul_push pc = {.M = s.M, .K = s.K, .a_ld = s.a_ld, .alpha = s.alpha,
                      .norm_eps = opts->norm_eps};
    uint64_t a_bytes = ((uint64_t)((s.trans_a ? s.K : s.M) - 1) * s.a_ld +
                        (s.trans_a ? s.M : s.K)) * 4;
    SK_CHECK(silkie_op_bind(c, a->buf, a->offset, a_bytes, 4, SILKIE_VK_READ, &bind[0],
                            &pc.a_off));
    if (bias) {
        SK_CHECK(silkie_op_bind(c, bias->buf, bias->offset, (uint64_t)s.N * 4, 4, SILKIE_VK_READ,
                                &bind[2], &pc.bias_off));
    } else {
        bind[2] = bind[0]; /* never read; any valid buffer fills the slot */
    }
    SK_CHECK(silkie_op_bind(c, y->buf, y->offset, ((uint64_t)(s.M - 1) * s.y_ld + s.N) * 4, 4,
                            s.accumulate ? SILKIE_VK_READ_WRITE : SILKIE_VK_WRITE, &bind[3],
                            &pc.y_off));
    pc.y_ld = s.y_ld;

    /* gemv_q, coopmat and matmul_f16 fall back to gemv.comp / matmul.comp on a driver that
     * cannot build them (silkie_op_falls_back below). */
    const silkie_shader_id gemv_q_id =
        w->dtype == SILKIE_DTYPE_Q8_0 ? SILKIE_SHADER_GEMV_Q_W_Q8_0 : SILKIE_SHADER_GEMV_Q_W_Q4_0;
    const int gemv_q = gemv && is_quant(w->dtype) && gemv_q_fits(c->dev, gemv_q_id) &&
                       !tunings[tuning_sel].gemv_legacy;
    const int coopmat = !gemv &&
                        silkie_matmul_coopmat_fits(caps, opts, tuning_sel == 0,
                                                   tunings[tuning_sel].gemm_coopmat) &&
                        !silkie_vk_shader_failed(c->dev, coopmat_shader(w->dtype));
    /* f16 arithmetic: forced by the gemm-f16 setting, or automatic for inputs that fit f16
     * on a device whose app opted in (silkie_vk_device_params.f16_gemm). */
    silkie_shader_id f16_id = SILKIE_SHADER_COUNT;
    const int want_f16 = tunings[tuning_sel].gemm_f16 ||
                         (tuning_sel == 0 && opts->f16_ok && silkie_vk_device_f16_gemm(c->dev));
    const int gemm_f16 = !gemv && !coopmat && want_f16 && caps->fp16_arith &&
                         f16_gemm_shader(w->dtype, &f16_id) &&
                         !silkie_vk_shader_failed(c->dev, f16_id);
    uint32_t bm = 64, bn = 64, tm = 4, tn = 4;
    if (!gemv && !coopmat) gemm_tiles(caps, s.M, &bm, &bn, &tm, &tn);
    SK_ASSERT(bn % 32 == 0); /* whole quant blocks per w_kn tile row */
    uint32_t spec[14];
    uint32_t n_spec, gemv_rows = 2;
    if (gemv_q) {
        uint32_t wg, rows;
        gemv_q_tuning(caps, s.M, s.N, &wg, &rows, &gemv_rows);
        spec[0] = wg;
        spec[1] = spec[2] = spec[5] = 0; /* unused by gemv_q */
        spec[3] = bias != NULL;
        spec[4] = s.accumulate != 0;
        spec[6] = s.M;
        spec[7] = rows;
        spec[8] = gemv_rows;
        /* vec4 activations: every row of A starts on a 16-byte boundary of the binding. */
        spec[9] = pc.a_off % 4 == 0 && s.a_ld % 4 == 0 && bind[0].offset % 16 == 0;
        spec[10] = 0; /* W32, per part below */
        spec[11] = (uint32_t)norm;
        spec[12] = 0; /* G_VEC, with the binding below */
        spec[13] = 1; /* W_PARTS, per dispatch below */
        n_spec = 14;
    } else if (gemv) {
        /* CPU drivers run a workgroup per thread and pay dearly per workgroup and barrier:
         * few, fat workgroups there; GPUs want many small ones to fill the machine. */
        int cpu = caps->device_type == DEVICE_TYPE_CPU;
        uint32_t wg = cpu ? 64 : 128;
        gemv_rows = cpu ? (s.M == 1 ? 16 : s.M <= 4 ? 8 : 4) : 2;
        spec[0] = wg;
        spec[1] = 0;
        spec[2] = 0;
        spec[3] = bias != NULL;
        spec[4] = s.accumulate != 0;
        spec[5] = caps->subgroup_ops != 0;
        spec[6] = s.M;
        spec[7] = gemv_rows;
        spec[8] = wg; /* reduction slots: enough for one per invocation */
        spec[9] = 0;  /* W_VEC, per part below */
        spec[10] = (uint32_t)norm;
        n_spec = 11;
    } else {
        spec[0] = (bm / tm) * (bn / tn);
        spec[1] = s.trans_a != 0;
        spec[2] = s.w_kn != 0;
        spec[3] = bias != NULL;
        spec[4] = s.accumulate != 0;
        spec[5] = bm;
        spec[6] = bn;
        spec[7] = tm;
        spec[8] = tn;
        spec[9] = !s.trans_a && s.K % 4 == 0 && pc.a_off % 4 == 0 && s.a_ld % 4 == 0 &&
                  bind[0].offset % 16 == 0; /* A_VEC */
        spec[10] = 0;                       /* W_VEC, per part below */
        n_spec = 11;
    }
    bind[5] = bind[0]; /* the vec4 view of A (gemv_q, matmul) */
    /* The norm weights: gemv_q's binding 6, gemv's 5 (any valid buffer when NORM is off). */
    silkie_vk_binding gbind = bind[0];
    if (norm)
        SK_CHECK(silkie_op_bind(c, opts->norm_w->buf, opts->norm_w->offset, (uint64_t)s.K * 4, 4,
                                SILKIE_VK_READ, &gbind, &pc.norm_off));
    bind[6] = bind[7] = gbind;
    if (gemv_q) spec[12] = norm && pc.norm_off % 4 == 0 && gbind.offset % 16 == 0;

    const uint32_t unit = weight_unit(w->dtype);
    const uint32_t n_parts = w->n_parts > 1 ? w->n_parts : 1;
    const uint32_t w_rows = s.w_kn ? s.K : s.N; /* storage rows */
    const uint32_t group = gemv_q ? gemv_q_group(c, w, &s) : 1;
    for (uint32_t i = 8; i < GEMV_Q_PART_BINDINGS; i++) bind[i] = bind[0]; /* unused parts */
    for (uint32_t p = 0; p < n_parts && (n_parts == 1 || p * w->part_rows < w_rows);
         p += group) {
        mm_part mp;
        SK_CHECK(bind_part(c, w, &s, p, &mp));
        uint32_t row0 = mp.row0, rows = mp.rows, np = 1;
        bind[1] = mp.b;
        pc.w_off = mp.off;
        bind[4] = mp.b; /* gemv's 16-byte view, or gemv_q's 32-bit view, of the weights */
        if (group > 1) {
            /* Parts p+1.. of this dispatch: 32-bit views at bindings 8.., rows after these. */
            uint32_t *offs[] = {&pc.w_off1, &pc.w_off2, &pc.w_off3};
            for (; np < group && p + np < n_parts && (p + np) * w->part_rows < w_rows; np++) {
                mm_part q;
                SK_CHECK(bind_part(c, w, &s, p + np, &q));
                bind[7 + np] = q.b32;
                *offs[np - 1] = q.off;
                rows += q.rows;
            }
            pc.part_rows = w->part_rows;
            pc.part_groups = (w->part_rows + gemv_rows - 1) / gemv_rows;
        }
        spec[13] = np;
        if (s.w_kn && n_parts > 1) {
            /* This part reduces over rows [row0, row0 + rows) of w: bind the matching columns
             * of A (its rows, when transposed). Parts after the first add into y, and only the
             * first adds the bias. */
            uint64_t first = s.trans_a ? (uint64_t)row0 * s.a_ld : row0;
            uint64_t a_part = ((uint64_t)((s.trans_a ? rows : s.M) - 1) * s.a_ld +
                               (s.trans_a ? s.M : rows)) * 4;
            SK_CHECK(silkie_op_bind(c, a->buf, a->offset + first * 4, a_part, 4, SILKIE_VK_READ,
                                    &bind[0], &pc.a_off));
            bind[5] = bind[0];
            if (!bias) bind[2] = bind[0]; /* keep the placeholder within this part's range */
            pc.K = rows;
            spec[9] = !s.trans_a && rows % 4 == 0 && pc.a_off % 4 == 0 && s.a_ld % 4 == 0 &&
                      bind[0].offset % 16 == 0; /* A_VEC */
            if (p > 0) {
                spec[3] = 0;
                spec[4] = 1;
                bind[3].access = SILKIE_VK_READ_WRITE;
            }
        }
        if (gemv && !gemv_q) bind[5] = gbind;
        if (gemv_q) {
            spec[10] = (uint32_t)mp.w32;
            if (mp.w32) bind[4] = mp.b32;
        } else if (!is_quant(w->dtype) && !s.w_kn) {
            uint32_t per16 = 16 / unit; /* elements per 16 bytes */
            int vec = s.K % 8 == 0 && s.w_ld % per16 == 0 && pc.w_off % per16 == 0 &&
                      bind[1].offset % 16 == 0; /* some devices align bindings to 4 only */
            spec[gemv ? 9 : 10] = (uint32_t)vec;
        }
        pc.w_ld = s.w_ld;
        pc.N = s.w_kn ? s.N : rows;
        pc.n0 = s.w_kn ? 0 : row0;
        uint32_t gx, gy;
        if (gemv) {
            uint32_t groups = np > 1 ? np * pc.part_groups : (pc.N + gemv_rows - 1) / gemv_rows;
            gx = SK_MIN(groups, GRID_MAX);
            gy = (groups + gx - 1) / gx;
        } else {
            gx = (pc.N + bn - 1) / bn;
            gy = (s.M + bm - 1) / bm;
        }
        if (gx > GRID_MAX || gy > GRID_MAX)
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "matmul: %ux%u workgroups exceed the grid", gx,
                           gy);
        silkie_vk_dispatch_desc d = {
            .shader = gemv_q    ? gemv_q_id
                      : coopmat  ? coopmat_shader(w->dtype)
                      : gemm_f16 ? f16_id
                                 : shader_for(w->dtype, gemv),
            .spec = spec,
            .n_spec = n_spec,
            .push = &pc,
            .push_size = sizeof pc,
            .bindings = bind,
            .n_bindings = gemv ? (gemv_q ? GEMV_Q_PART_BINDINGS : 6) : coopmat ? 4 : 6,
            .groups = {gx, gy, 1},
            .label = gemv_q     ? "gemv_q"
                     : gemv     ? "gemv"
                     : coopmat  ? "matmul_coopmat"
                     : gemm_f16 ? "matmul_f16"
                                : "matmul",
        };
        const silkie_status st = silkie_vk_cmd_dispatch(c->cmd, &d);
        /* Only the first dispatch may start over: later ones follow recorded parts. */
        if (p == 0 && (gemv_q || coopmat || gemm_f16) &&
            silkie_op_falls_back(c, st, d.shader, gemv_q ? "gemv.comp" : "matmul.comp"))
            return silkie_op_matmul(c, a, w, bias, y, opts);
        SK_CHECK(st);
        if (gemv_q) {
            snprintf(last_kernel, sizeof last_kernel, "gemv_q wg%u r%u%s%s%s parts%u", spec[0],
                     spec[7], spec[9] ? " a4" : "", spec[10] ? " w32" : "", norm ? " norm" : "",
                     np);
        } else if (gemv) {
            snprintf(last_kernel, sizeof last_kernel, "gemv wg%u rows%u%s%s", spec[0], gemv_rows,
                     spec[9] ? " w16B" : "", norm ? " norm" : "");
        } else if (coopmat) {
            snprintf(last_kernel, sizeof last_kernel, "gemm coopmat-nv 64x64 f16");
        } else {
            snprintf(last_kernel, sizeof last_kernel, "gemm %ux%u/%ux%u%s%s%s", bm, bn, tm, tn,
                     spec[9] ? " a4" : "", spec[10] ? " w16B" : "", gemm_f16 ? " f16" : "");
        }
    }
    return SILKIE_OK;
}
