/* Flash-style attention. Prefill, the vision tower and cross-attention (8 queries or more) use
 * attention_flash.comp: blocks of 16 queries per workgroup walking 32-key tiles staged in shared
 * memory, where the head width is a multiple of 4 up to 128 and the device has the shared
 * memory; otherwise attention.comp's tiled shader, which reads K and V from global memory.
 * Decode (a few queries) uses one query per workgroup: with subgroup arithmetic, the split-keys
 * variants where each subgroup streams its own share of the keys and the partial softmax states
 * merge at the end; without it, the tiled shader with one query and 128-key tiles. */
#include <stdio.h>

#include "ops.h"
#include "params/attention.h"

#define WG 128u
#define GRID_MAX 65535u
#define DECODE_MAX_Q 8u /* below this many queries the one-query tiling wins */
/* Up to this many queries the split-keys variant is used (when the device has subgroup
 * arithmetic); 5..7 queries take the one-query tiled path, which keeps that path exercised by
 * the tests on every device. */
#define SPLIT_MAX_Q 4u

/* attention_flash.comp's tiles: BQ queries x BK keys, rows of at most FLASH_D4 vec4. BQ is the
 * tiled shader's block too, so both take the same grid. */
#define FLASH_BQ 16u
#define FLASH_BK 32u
#define FLASH_D4 32u

static int flash_enabled = 1;
static char last_kernel[48];

void silkie_op_attention_set_flash(int enabled) { flash_enabled = enabled != 0; }

const char *silkie_op_attention_last_kernel(void) { return last_kernel; }

/* Shared memory of attention_flash.comp for rows of d4 vec4 (the shader's declarations). */
static uint32_t flash_shared_bytes(uint32_t d4)
{
    return (FLASH_BQ + FLASH_BK) * (d4 + 1) * 16 + FLASH_BQ * (FLASH_BK + 1) * 4 + 2 * WG * 4;
}

/* Row width of the flash tiles in vec4: narrow heads get narrower rows (less shared memory,
 * shorter unrolled loops). */
static uint32_t flash_d4(uint32_t head_dim) { return head_dim <= 64 ? FLASH_D4 / 2 : FLASH_D4; }

/* Whether blocks of queries of this head width can take the flash kernel on this device. */
static int flash_fits(const silkie_vk_device *dev, uint32_t head_dim, int f16)
{
    const uint32_t d4 = flash_d4(head_dim);
    return flash_enabled && head_dim % 4 == 0 && head_dim <= 4 * FLASH_D4 &&
           flash_shared_bytes(d4) <= silkie_vk_device_caps(dev)->max_shared_memory &&
           !silkie_vk_shader_failed(dev, f16 ? SILKIE_SHADER_ATTENTION_FLASH_F16
                                              : SILKIE_SHADER_ATTENTION_FLASH_F32);
}

/* Whether a few queries can take the split-keys kernel on this device. */
static int split_fits(const silkie_vk_device *dev, int f16)
{
    const silkie_vk_caps *caps = silkie_vk_device_caps(dev);
    /* The split variants size their per-lane arrays for subgroups of at least 8. */
    return caps->subgroup_ops && caps->subgroup_size >= 8 &&
           !silkie_vk_shader_failed(dev, f16 ? SILKIE_SHADER_ATTENTION_SPLIT_F16
                                              : SILKIE_SHADER_ATTENTION_SPLIT_F32);
}

const char *silkie_op_attention_kernels(const silkie_vk_device *dev, uint32_t head_dim)
{
    const int flash = flash_fits(dev, head_dim, 0), split = split_fits(dev, 0);
    return flash ? (split ? "attention: flash blocks, split-keys decode"
                          : "attention: flash blocks, tiled decode (no subgroup arithmetic)")
                 : (split ? "attention: tiled blocks (flash does not fit), split-keys decode"
                          : "attention: tiled blocks and decode (flash does not fit, no "
                            "subgroup arithmetic)");
}

static int kv_type_ok(silkie_dtype t) { return t == SILKIE_DTYPE_F32 || t == SILKIE_DTYPE_F16; }

static uint32_t stride_of(const silkie_tensor *t)
{
    return t->row_stride ? t->row_stride : t->ne[0];
}

silkie_status silkie_op_attention(silkie_op_ctx *c, const silkie_tensor *q, const silkie_tensor *k,
                                  const silkie_tensor *v, silkie_tensor *y,
                                  const silkie_tensor *step, silkie_tensor *lse,
                                  const silkie_attention_params *p)
{
    if (!c || !q || !k || !v || !y || !p)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "attention: c, q, k, v, y, p required");
    if (q->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_F32 ||
        (lse && lse->dtype != SILKIE_DTYPE_F32) || (step && step->dtype != SILKIE_DTYPE_I32))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "attention: q, y, lse f32 and step i32 required");
    if (!kv_type_ok(k->dtype) || k->dtype != v->dtype)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "attention: k, v must both be f32 or f16");
    uint32_t width = p->n_heads * p->head_dim;
    if (p->n_heads == 0 || p->head_dim == 0 || p->head_dim > 256)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "attention: %u heads of %u (head_dim <= 256)",
                       p->n_heads, p->head_dim);
    if (q->ne[0] != width || k->ne[0] != width || v->ne[0] != width || y->ne[0] != width)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "attention: rows of q %u, k %u, v %u, y %u; want %u", q->ne[0], k->ne[0],
                       v->ne[0], y->ne[0], width);
    uint64_t n_q = silkie_tensor_rows(q);
    uint64_t k_rows = silkie_tensor_rows(k);
    if (silkie_tensor_rows(y) != n_q || silkie_tensor_rows(v) != k_rows)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "attention: y rows != q rows or v rows != k rows");
    if (!step && p->n_kv > k_rows)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "attention: n_kv %u > %llu cached rows",
                       p->n_kv, (unsigned long long)k_rows);
    if (step && silkie_tensor_nelements(step) < 2)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "attention: step needs {q_pos0, n_kv}");
    if (lse && silkie_tensor_nelements(lse) != (uint64_t)p->n_heads * n_q)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "attention: lse needs %u x %llu elements",
                       p->n_heads, (unsigned long long)n_q);
    if (n_q == 0) return SILKIE_OK;

    const uint32_t bq = n_q < DECODE_MAX_Q ? 1u : 16u;
    const uint32_t bk = bq == 1 ? 128u : 32u;
    const uint32_t d_max = p->head_dim <= 128 ? 128u : 256u;
    uint64_t q_blocks = (n_q + bq - 1) / bq;
    if (q_blocks > GRID_MAX || p->n_heads > GRID_MAX || n_q > UINT32_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "attention: %llu queries x %u heads too many",
                       (unsigned long long)n_q, p->n_heads);

    attention_push pc = {.n_q = (uint32_t)n_q, .n_heads = p->n_heads, .head_dim = p->head_dim,
                         .q_stride = stride_of(q), .k_stride = stride_of(k),
                         .v_stride = stride_of(v), .y_stride = stride_of(y),
                         .causal = p->causal != 0, .q_pos0 = p->q_pos0, .n_kv = p->n_kv,
                         .scale = p->scale, .has_lse = lse != NULL, .use_step = step != NULL,
                         .seg_begin = p->seg_begin, .seg_end = p->seg_end};
    silkie_vk_binding bind[6];
    SK_CHECK(silkie_op_bind_rows(c, q, SILKIE_VK_READ, "attention", &bind[0], &pc.q_off));
    SK_CHECK(silkie_op_bind_rows(c, k, SILKIE_VK_READ, "attention", &bind[1], &pc.k_off));
    SK_CHECK(silkie_op_bind_rows(c, v, SILKIE_VK_READ, "attention", &bind[2], &pc.v_off));
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "attention", &bind[3], &pc.y_off));
    /* Absent lse / step: bind q in their place; the push-constant flags skip them. */
    bind[4] = bind[0];
    bind[5] = bind[0];
    if (lse)
        SK_CHECK(silkie_op_bind_rows(c, lse, SILKIE_VK_WRITE, "attention", &bind[4], &pc.lse_off));
    if (step)
        SK_CHECK(silkie_op_bind_rows(c, step, SILKIE_VK_READ, "attention", &bind[5], &pc.step_off));
    const silkie_vk_caps *caps = silkie_vk_device_caps(c->dev);
    const int f16 = k->dtype == SILKIE_DTYPE_F16;
    /* The split and flash kernels fall back to the tiled shader on a driver that cannot build
     * them (silkie_op_falls_back below). */
    const int split = n_q <= SPLIT_MAX_Q && split_fits(c->dev, f16);
    const int flash = bq > 1 && flash_fits(c->dev, p->head_dim, f16);
    const uint32_t d4 = flash_d4(p->head_dim);
    silkie_shader_id shader = f16 ? SILKIE_SHADER_ATTENTION_F16 : SILKIE_SHADER_ATTENTION_F32;
    if (split) shader = f16 ? SILKIE_SHADER_ATTENTION_SPLIT_F16 : SILKIE_SHADER_ATTENTION_SPLIT_F32;
    if (flash) shader = f16 ? SILKIE_SHADER_ATTENTION_FLASH_F16 : SILKIE_SHADER_ATTENTION_FLASH_F32;
    /* Split: 16 KiB of partial accumulators either way (workgroup / 8 subgroups x d_max). */
    const uint32_t wg = split ? (d_max == 128 ? 256u : 128u) : WG;
    /* Keys in flight per subgroup step: 4 hides memory latency on GPUs; narrow subgroups
     * (CPU drivers) have no latency to hide and pay for the unrolled code at compile time. */
    const uint32_t keys_in_flight = caps->subgroup_size >= 32 ? 4u : 1u;
    const uint32_t spec[] = {wg, bq, bk, d_max, caps->subgroup_size, keys_in_flight};
    const uint32_t flash_spec[] = {WG, FLASH_BQ, FLASH_BK, d4};
    const silkie_vk_dispatch_desc d = {
        .shader = shader,
        .spec = flash ? flash_spec : spec, .n_spec = flash ? 4 : 6, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 6,
        .groups = {(uint32_t)q_blocks, p->n_heads, 1},
        .label = split ? "attention_decode" : flash ? "attention_flash" : "attention"};
    if (flash)
        snprintf(last_kernel, sizeof last_kernel, "flash %ux%u d4 %u %s", FLASH_BQ, FLASH_BK, d4,
                 f16 ? "f16" : "f32");
    else
        snprintf(last_kernel, sizeof last_kernel, "%s %ux%u d%u %s", split ? "split" : "tiled",
                 split ? 1 : bq, split ? wg : bk, d_max, f16 ? "f16" : "f32");
    const silkie_status st = silkie_vk_cmd_dispatch(c->cmd, &d);
    if ((split || flash) && silkie_op_falls_back(c, st, shader, "the tiled attention shader"))
        return silkie_op_attention(c, q, k, v, y, step, lse, p);
    return st;
}
