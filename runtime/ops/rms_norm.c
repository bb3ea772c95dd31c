/* RMSNorm, one workgroup per row; x may be strided, y is contiguous. */
#include "ops.h"
#include "params/rms_norm.h"

#define WG 128u
#define GRID_MAX 65535u

silkie_status silkie_op_rms_norm(silkie_op_ctx *c, const silkie_tensor *x, const silkie_tensor *w,
                                 silkie_tensor *y, float eps)
{
    if (!c || !x || !y) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rms_norm: c, x, y required");
    if (x->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_F32 ||
        (w && w->dtype != SILKIE_DTYPE_F32))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rms_norm: tensors must be f32");
    if (!silkie_tensor_same_shape(x, y) || (w && w->ne[0] != x->ne[0]))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rms_norm: shape mismatch");
    if (!silkie_tensor_is_contiguous(y))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rms_norm: y must be contiguous");
    uint64_t rows = silkie_tensor_rows(x);
    if (rows == 0 || x->ne[0] == 0) return SILKIE_OK;
    if (rows > UINT32_MAX) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rms_norm: too many rows");
    rms_norm_push pc = {.n_cols = x->ne[0], .n_rows = (uint32_t)rows,
                        .x_stride = x->row_stride ? x->row_stride : x->ne[0], .eps = eps};
    silkie_vk_binding bind[3];
    SK_CHECK(silkie_op_bind_rows(c, x, SILKIE_VK_READ, "rms_norm", &bind[0], &pc.x_off));
    if (w) {
        SK_CHECK(silkie_op_bind_rows(c, w, SILKIE_VK_READ, "rms_norm", &bind[1], &pc.w_off));
    } else {
        bind[1] = bind[0]; /* not read when HAS_WEIGHT is off */
    }
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "rms_norm", &bind[2], &pc.y_off));
    const uint32_t spec[] = {WG, w != NULL};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_RMS_NORM, .spec = spec, .n_spec = 2, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 3,
        .groups = {SK_MIN(pc.n_rows, GRID_MAX), 1, 1}, .label = "rms_norm"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
