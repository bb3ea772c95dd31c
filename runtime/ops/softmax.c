/* Row softmax of x * scale, one workgroup per row; y may be x. */
#include "ops.h"
#include "params/softmax.h"

#define WG 128u
#define GRID_MAX 65535u

silkie_status silkie_op_softmax(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y,
                                float scale)
{
    if (!c || !x || !y) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "softmax: c, x, y required");
    if (x->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "softmax: tensors must be f32");
    if (!silkie_tensor_same_shape(x, y))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "softmax: x and y shapes differ");
    uint64_t rows = silkie_tensor_rows(x);
    if (rows == 0 || x->ne[0] == 0) return SILKIE_OK;
    if (rows > UINT32_MAX) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "softmax: too many rows");
    softmax_push pc = {.n_cols = x->ne[0], .n_rows = (uint32_t)rows,
                       .x_stride = x->row_stride ? x->row_stride : x->ne[0],
                       .y_stride = y->row_stride ? y->row_stride : y->ne[0], .scale = scale};
    silkie_vk_binding bind[2];
    SK_CHECK(silkie_op_bind_rows(c, x, SILKIE_VK_READ, "softmax", &bind[0], &pc.x_off));
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "softmax", &bind[1], &pc.y_off));
    const uint32_t spec[] = {WG};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_SOFTMAX, .spec = spec, .n_spec = 1, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 2,
        .groups = {SK_MIN(pc.n_rows, GRID_MAX), 1, 1}, .label = "softmax"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
