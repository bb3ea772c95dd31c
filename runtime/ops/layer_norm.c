/* LayerNorm (biased variance), one workgroup per row; x may be strided, y is contiguous. */
#include "ops.h"
#include "params/layer_norm.h"

#define WG 128u
#define GRID_MAX 65535u

silkie_status silkie_op_layer_norm(silkie_op_ctx *c, const silkie_tensor *x,
                                   const silkie_tensor *w, const silkie_tensor *b,
                                   silkie_tensor *y, float eps)
{
    if (!c || !x || !y)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "layer_norm: c, x, y required");
    if (x->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_F32 ||
        (w && w->dtype != SILKIE_DTYPE_F32) || (b && b->dtype != SILKIE_DTYPE_F32))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "layer_norm: tensors must be f32");
    if (!silkie_tensor_same_shape(x, y) || (w && w->ne[0] != x->ne[0]) ||
        (b && b->ne[0] != x->ne[0]))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "layer_norm: shape mismatch");
    if (!silkie_tensor_is_contiguous(y))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "layer_norm: y must be contiguous");
    uint64_t rows = silkie_tensor_rows(x);
    if (rows == 0 || x->ne[0] == 0) return SILKIE_OK;
    if (rows > UINT32_MAX) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "layer_norm: too many rows");
    layer_norm_push pc = {.n_cols = x->ne[0], .n_rows = (uint32_t)rows,
                          .x_stride = x->row_stride ? x->row_stride : x->ne[0], .eps = eps};
    silkie_vk_binding bind[4];
    SK_CHECK(silkie_op_bind_rows(c, x, SILKIE_VK_READ, "layer_norm", &bind[0], &pc.x_off));
    /* Absent weight or bias: bind x in its place; the specialization skips the read. */
    bind[1] = bind[0];
    bind[2] = bind[0];
    if (w) SK_CHECK(silkie_op_bind_rows(c, w, SILKIE_VK_READ, "layer_norm", &bind[1], &pc.w_off));
    if (b) SK_CHECK(silkie_op_bind_rows(c, b, SILKIE_VK_READ, "layer_norm", &bind[2], &pc.b_off));
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "layer_norm", &bind[3], &pc.y_off));
    const uint32_t spec[] = {WG, w != NULL, b != NULL};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_LAYER_NORM, .spec = spec, .n_spec = 3, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 4,
        .groups = {SK_MIN(pc.n_rows, GRID_MAX), 1, 1}, .label = "layer_norm"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
