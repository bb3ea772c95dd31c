/* SwiGLU y = a * silu(b); a and b may be column views of one fused activation. */
#include "ops.h"
#include "params/swiglu.h"

#define WG 256u
#define GRID_MAX 65535u

silkie_status silkie_op_swiglu(silkie_op_ctx *c, const silkie_tensor *a, const silkie_tensor *b,
                               silkie_tensor *y)
{
    if (!c || !a || !b || !y)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "swiglu: c, a, b, y required");
    if (a->dtype != SILKIE_DTYPE_F32 || b->dtype != SILKIE_DTYPE_F32 ||
        y->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "swiglu: tensors must be f32");
    if (!silkie_tensor_same_shape(a, b) || !silkie_tensor_same_shape(a, y))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "swiglu: a, b, y shapes differ");
    uint64_t rows = silkie_tensor_rows(a);
    if (rows == 0 || a->ne[0] == 0) return SILKIE_OK;
    if (rows > UINT32_MAX || (a->ne[0] + WG - 1) / WG > GRID_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "swiglu: tensor too large");
    swiglu_push pc = {.n_cols = a->ne[0], .n_rows = (uint32_t)rows,
                      .a_stride = a->row_stride ? a->row_stride : a->ne[0],
                      .b_stride = b->row_stride ? b->row_stride : b->ne[0],
                      .y_stride = y->row_stride ? y->row_stride : y->ne[0]};
    silkie_vk_binding bind[3];
    SK_CHECK(silkie_op_bind_rows(c, a, SILKIE_VK_READ, "swiglu", &bind[0], &pc.a_off));
    SK_CHECK(silkie_op_bind_rows(c, b, SILKIE_VK_READ, "swiglu", &bind[1], &pc.b_off));
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "swiglu", &bind[2], &pc.y_off));
    const uint32_t spec[] = {WG};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_SWIGLU, .spec = spec, .n_spec = 1, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 3,
        .groups = {(pc.n_cols + WG - 1) / WG, SK_MIN(pc.n_rows, GRID_MAX), 1},
        .label = "swiglu"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
