/* Row argmax (lowest index on ties): one workgroup per row, shared-memory reduction. */
#include "ops.h"
#include "params/argmax.h"

#define WG 256u
#define GRID_MAX 65535u

silkie_status silkie_op_argmax(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y)
{
    if (!c || !x || !y) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "argmax: c, x, y required");
    if (x->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_I32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "argmax: x must be f32 and y i32");
    uint64_t rows = silkie_tensor_rows(x);
    if (silkie_tensor_nelements(y) != rows || !silkie_tensor_is_contiguous(y))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "argmax: y needs %llu contiguous elements",
                       (unsigned long long)rows);
    if (rows == 0) return SILKIE_OK;
    if (x->ne[0] == 0) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "argmax: empty rows");
    if (rows > UINT32_MAX) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "argmax: too many rows");
    argmax_push pc = {.n_cols = x->ne[0], .n_rows = (uint32_t)rows,
                      .x_stride = x->row_stride ? x->row_stride : x->ne[0]};
    silkie_vk_binding bind[2];
    SK_CHECK(silkie_op_bind_rows(c, x, SILKIE_VK_READ, "argmax", &bind[0], &pc.x_off));
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "argmax", &bind[1], &pc.y_off));
    const uint32_t spec[] = {WG};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_ARGMAX, .spec = spec, .n_spec = 1, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 2,
        .groups = {SK_MIN(pc.n_rows, GRID_MAX), 1, 1}, .label = "argmax"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
