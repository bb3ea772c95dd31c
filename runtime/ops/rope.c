/* Rotary embedding, rotate-half over the whole head, positions read from an I32 tensor so a
 * recorded list replays with new positions. x may be a strided view (q or k of a fused QKV),
 * y may alias x. */
#include <math.h>

#include "ops.h"
#include "params/rope.h"

#define WG 64u
#define GRID_MAX 65535u

silkie_status silkie_op_rope(silkie_op_ctx *c, const silkie_tensor *x, const silkie_tensor *pos,
                             silkie_tensor *y, const silkie_rope_params *p)
{
    if (!c || !x || !pos || !y || !p)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rope: c, x, pos, y, p required");
    if (x->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_F32 ||
        pos->dtype != SILKIE_DTYPE_I32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rope: x, y must be f32 and pos i32");
    if (p->head_dim == 0 || p->head_dim % 2 || x->ne[0] % p->head_dim)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rope: head_dim %u does not split a %u row",
                       p->head_dim, x->ne[0]);
    if (!(p->freq_base > 0.0f))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rope: freq_base must be positive");
    if (!silkie_tensor_same_shape(x, y))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rope: x and y shapes differ");
    uint64_t rows = silkie_tensor_rows(x);
    if (silkie_tensor_nelements(pos) < rows)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rope: %llu positions for %llu rows",
                       (unsigned long long)silkie_tensor_nelements(pos),
                       (unsigned long long)rows);
    if (rows == 0) return SILKIE_OK;
    if (rows > UINT32_MAX) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rope: too many rows");
    rope_push pc = {.n_rows = (uint32_t)rows, .n_heads = x->ne[0] / p->head_dim,
                    .head_dim = p->head_dim,
                    .x_stride = x->row_stride ? x->row_stride : x->ne[0],
                    .y_stride = y->row_stride ? y->row_stride : y->ne[0],
                    .log2_base = (float)log2((double)p->freq_base),
                    .logn_base = p->logn_base,
                    .inv_ln_logn = p->logn_base > 1 ? (float)(1.0 / log((double)p->logn_base)) : 0,
                    .sign = p->inverse ? -1.0f : 1.0f};
    silkie_vk_binding bind[3];
    SK_CHECK(silkie_op_bind_rows(c, x, SILKIE_VK_READ, "rope", &bind[0], &pc.x_off));
    SK_CHECK(silkie_op_bind_rows(c, pos, SILKIE_VK_READ, "rope", &bind[1], &pc.pos_off));
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "rope", &bind[2], &pc.y_off));
    const uint32_t pairs = x->ne[0] / 2;
    const uint32_t spec[] = {WG};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_ROPE, .spec = spec, .n_spec = 1, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 3,
        .groups = {(pairs + WG - 1) / WG, SK_MIN(pc.n_rows, GRID_MAX), 1}, .label = "rope"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
