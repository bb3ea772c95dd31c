/* RMSNorm backward (frozen weight), one workgroup per row; x and dy may be strided, dx is
 * contiguous and may be accumulated into. */
#include "ops_train.h"
#include "params/rms_norm_back.h"

#define WG 128u
#define GRID_MAX 65535u

silkie_status silkie_op_rms_norm_back(silkie_op_ctx *c, const silkie_tensor *x,
                                      const silkie_tensor *w, const silkie_tensor *dy,
                                      silkie_tensor *dx, float eps, uint32_t accumulate)
{
    if (!c || !x || !dy || !dx)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rms_norm_back: c, x, dy, dx required");
    if (x->dtype != SILKIE_DTYPE_F32 || dy->dtype != SILKIE_DTYPE_F32 ||
        dx->dtype != SILKIE_DTYPE_F32 || (w && w->dtype != SILKIE_DTYPE_F32))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rms_norm_back: tensors must be f32");
    if (!silkie_tensor_same_shape(x, dy) || !silkie_tensor_same_shape(x, dx) ||
        (w && w->ne[0] != x->ne[0]))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "rms_norm_back: shape mismatch");
    if (!silkie_tensor_is_contiguous(dx))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rms_norm_back: dx must be contiguous");
    uint64_t rows = silkie_tensor_rows(x);
    if (rows == 0 || x->ne[0] == 0) return SILKIE_OK;
    if (rows > UINT32_MAX) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "rms_norm_back: too many rows");
    rms_norm_back_push pc = {.n_cols = x->ne[0], .n_rows = (uint32_t)rows,
                             .x_stride = x->row_stride ? x->row_stride : x->ne[0],
                             .dy_stride = dy->row_stride ? dy->row_stride : dy->ne[0],
                             .eps = eps};
    silkie_vk_binding bind[4];
    SK_CHECK(silkie_op_bind_rows(c, x, SILKIE_VK_READ, "rms_norm_back", &bind[0], &pc.x_off));
    if (w) {
        SK_CHECK(silkie_op_bind_rows(c, w, SILKIE_VK_READ, "rms_norm_back", &bind[1], &pc.w_off));
    } else {
        bind[1] = bind[0]; /* not read when HAS_WEIGHT is off */
    }
    SK_CHECK(silkie_op_bind_rows(c, dy, SILKIE_VK_READ, "rms_norm_back", &bind[2], &pc.dy_off));
    SK_CHECK(silkie_op_bind_rows(c, dx, accumulate ? SILKIE_VK_READ_WRITE : SILKIE_VK_WRITE,
                                 "rms_norm_back", &bind[3], &pc.dx_off));
    const uint32_t spec[] = {WG, w != NULL, accumulate != 0};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_RMS_NORM_BACK, .spec = spec, .n_spec = 3, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 4,
        .groups = {SK_MIN(pc.n_rows, GRID_MAX), 1, 1}, .label = "rms_norm_back"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
