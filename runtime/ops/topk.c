/* Top-k of one row (k <= 256), sorted descending, ties by lower index: one workgroup does a
 * radix select over (value, index) keys, then sorts the k winners (see topk.comp). */
#include "ops.h"
#include "params/topk.h"

#define K_MAX 256u
#define N_MAX (1u << 24) /* the key keeps 24 bits of index */

silkie_status silkie_op_topk(silkie_op_ctx *c, const silkie_tensor *x, uint32_t k,
                             silkie_tensor *values, silkie_tensor *indices)
{
    if (!c || !x || !values || !indices)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "topk: c, x, values, indices required");
    if (x->dtype != SILKIE_DTYPE_F32 || values->dtype != SILKIE_DTYPE_F32 ||
        indices->dtype != SILKIE_DTYPE_I32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "topk: x, values f32 and indices i32 required");
    if (silkie_tensor_rows(x) != 1)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "topk: x must be a single row");
    uint32_t n = x->ne[0];
    if (k == 0 || k > K_MAX || k > n || n > N_MAX)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "topk: k %u for a row of %u (k <= %u)", k, n,
                       K_MAX);
    if (silkie_tensor_nelements(values) < k || silkie_tensor_nelements(indices) < k ||
        !silkie_tensor_is_contiguous(values) || !silkie_tensor_is_contiguous(indices))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "topk: outputs need %u contiguous elements", k);
    topk_push pc = {.n = n, .k = k};
    silkie_vk_binding bind[3];
    SK_CHECK(silkie_op_bind_rows(c, x, SILKIE_VK_READ, "topk", &bind[0], &pc.x_off));
    SK_CHECK(silkie_op_bind_rows(c, values, SILKIE_VK_WRITE, "topk", &bind[1], &pc.v_off));
    SK_CHECK(silkie_op_bind_rows(c, indices, SILKIE_VK_WRITE, "topk", &bind[2], &pc.i_off));
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_TOPK, .push = &pc, .push_size = sizeof pc, .bindings = bind,
        .n_bindings = 3, .groups = {1, 1, 1}, .label = "topk"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
