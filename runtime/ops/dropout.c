/* Dropout with a counter-based mask: the hash of (seed, stream, element index) decides each
 * element, so the backward pass recomputes the mask instead of storing it. */
#include "ops_train.h"
#include "params/dropout.h"

#define WG 256u
#define GRID_MAX 65535u

silkie_status silkie_op_dropout(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y,
                                float p, uint32_t seed, uint32_t stream)
{
    if (!c || !x || !y) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "dropout: c, x, y required");
    if (x->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "dropout: tensors must be f32");
    if (!silkie_tensor_same_shape(x, y))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "dropout: x and y shapes differ");
    if (!(p >= 0.0f && p < 1.0f)) /* also rejects NaN */
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "dropout: p = %g is outside [0, 1)",
                       (double)p);
    if (!silkie_tensor_is_contiguous(y))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "dropout: y must be contiguous");
    uint64_t rows = silkie_tensor_rows(x);
    if (rows == 0 || x->ne[0] == 0) return SILKIE_OK;
    /* The mask hashes a 32-bit element index. */
    if (silkie_tensor_nelements(x) > UINT32_MAX || (x->ne[0] + WG - 1) / WG > GRID_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "dropout: tensor too large");
    /* Same expressions as silkie_ref_dropout: p * 2^32 is exact in double (p < 1 is a float),
     * so the threshold truncates identically; the scale is one f32 both sides multiply by. */
    dropout_push pc = {.n_cols = x->ne[0], .n_rows = (uint32_t)rows,
                       .x_stride = x->row_stride ? x->row_stride : x->ne[0], .seed = seed,
                       .stream = stream, .threshold = (uint32_t)((double)p * 4294967296.0),
                       .scale = (float)(1.0 / (1.0 - (double)p))};
    silkie_vk_binding bind[2];
    SK_CHECK(silkie_op_bind_rows(c, x, SILKIE_VK_READ, "dropout", &bind[0], &pc.x_off));
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "dropout", &bind[1], &pc.y_off));
    const uint32_t spec[] = {WG};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_DROPOUT, .spec = spec, .n_spec = 1, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 2,
        .groups = {(pc.n_cols + WG - 1) / WG, SK_MIN(pc.n_rows, GRID_MAX), 1},
        .label = "dropout"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
