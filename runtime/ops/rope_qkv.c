/* Rope of q and k of a fused QKV activation, in place, and the KV-cache append, in one dispatch:
 * decode's rope, rope, set_rows, set_rows. */
#include <math.h>

#include "ops.h"
#include "params/rope_qkv.h"

#define WG 64u
#define GRID_MAX 65535u

silkie_status silkie_op_rope_qkv(silkie_op_ctx *c, silkie_tensor *qkv, const silkie_tensor *pos,
                                 silkie_tensor *k_cache, silkie_tensor *v_cache,
                                 const silkie_tensor *step, const silkie_rope_params *p)
{
    if (!c || !qkv || !pos || !p)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rope_qkv: c, qkv, pos, p required");
    const int cache = k_cache != NULL;
    if (cache != (v_cache != NULL) || cache != (step != NULL))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "rope_qkv: k_cache, v_cache and step go together");
    if (qkv->dtype != SILKIE_DTYPE_F32 || pos->dtype != SILKIE_DTYPE_I32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rope_qkv: qkv must be f32 and pos i32");
    if (p->inverse) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rope_qkv: forward rotation only");
    if (p->head_dim == 0 || p->head_dim % 2 || qkv->ne[0] % (3 * p->head_dim))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "rope_qkv: a %u-wide row is not q, k, v of %u-wide heads", qkv->ne[0],
                       p->head_dim);
    if (!(p->freq_base > 0.0f))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rope_qkv: freq_base must be positive");
    if (qkv->n_parts > 1) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rope_qkv: split qkv");
    const uint32_t width = qkv->ne[0] / 3;
    const uint64_t rows = silkie_tensor_rows(qkv);
    if (silkie_tensor_nelements(pos) < rows)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rope_qkv: %llu positions for %llu rows",
                       (unsigned long long)silkie_tensor_nelements(pos),
                       (unsigned long long)rows);
    const int f16 = cache && k_cache->dtype == SILKIE_DTYPE_F16;
    if (cache) {
        if (k_cache->dtype != v_cache->dtype ||
            (k_cache->dtype != SILKIE_DTYPE_F16 && k_cache->dtype != SILKIE_DTYPE_F32))
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rope_qkv: caches must both be f16 or f32");
        if (k_cache->ne[0] != width || v_cache->ne[0] != width ||
            silkie_tensor_rows(k_cache) != silkie_tensor_rows(v_cache) ||
            (k_cache->row_stride ? k_cache->row_stride : width) !=
                (v_cache->row_stride ? v_cache->row_stride : width))
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "rope_qkv: caches must be alike, %u wide", width);
        if (k_cache->n_parts > 1 || v_cache->n_parts > 1)
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rope_qkv: split caches");
        if (step->dtype != SILKIE_DTYPE_I32 || silkie_tensor_nelements(step) < 1)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rope_qkv: step must be i32");
        if (silkie_tensor_rows(k_cache) > UINT32_MAX)
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rope_qkv: cache too long");
    }
    if (rows == 0) return SILKIE_OK;
    if (rows > UINT32_MAX) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rope_qkv: too many rows");

    const uint32_t cache_ld = cache ? (k_cache->row_stride ? k_cache->row_stride : width) : 0;
    rope_qkv_push pc = {.n_rows = (uint32_t)rows, .n_heads = width / p->head_dim,
                        .head_dim = p->head_dim,
                        .x_ld = qkv->row_stride ? qkv->row_stride : qkv->ne[0],
                        .cache_ld = f16 ? cache_ld : 2 * cache_ld,
                        .cache_rows = cache ? (uint32_t)silkie_tensor_rows(k_cache) : 0,
                        .log2_base = (float)log2((double)p->freq_base),
                        .logn_base = p->logn_base,
                        .inv_ln_logn =
                            p->logn_base > 1 ? (float)(1.0 / log((double)p->logn_base)) : 0};
    silkie_vk_binding bind[5];
    SK_CHECK(silkie_op_bind_rows(c, qkv, SILKIE_VK_READ_WRITE, "rope_qkv", &bind[0], &pc.x_off));
    SK_CHECK(silkie_op_bind_rows(c, pos, SILKIE_VK_READ, "rope_qkv", &bind[1], &pc.pos_off));
    if (cache) {
        const uint64_t bytes = (uint64_t)(pc.cache_rows - 1) * pc.cache_ld * 2 +
                               (uint64_t)width * (f16 ? 2 : 4);
        SK_CHECK(silkie_op_bind(c, step->buf, step->offset, 4, 4, SILKIE_VK_READ, &bind[2],
                                &pc.step_off));
        SK_CHECK(silkie_op_bind(c, k_cache->buf, k_cache->offset, bytes, 2, SILKIE_VK_WRITE,
                                &bind[3], &pc.k_off));
        SK_CHECK(silkie_op_bind(c, v_cache->buf, v_cache->offset, bytes, 2, SILKIE_VK_WRITE,
                                &bind[4], &pc.v_off));
    } else {
        bind[2] = bind[3] = bind[4] = bind[0]; /* never accessed; any valid buffer fills them */
    }
    const uint32_t pairs = width / 2;
    const uint32_t spec[] = {WG, cache, cache ? f16 : 1};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_ROPE_QKV, .spec = spec, .n_spec = 3, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 5,
        .groups = {(pairs + WG - 1) / WG, SK_MIN(pc.n_rows, GRID_MAX), 1}, .label = "rope_qkv"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
