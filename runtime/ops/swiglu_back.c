/* SwiGLU backward: da = dy * silu(b), db = dy * a * silu'(b); every tensor may be strided (da
 * and db are usually column views of one [T, 2F] gradient). */
#include "ops_train.h"
#include "params/swiglu_back.h"

#define WG 256u
#define GRID_MAX 65535u

static uint32_t stride_of(const silkie_tensor *t)
{
    return t->row_stride ? t->row_stride : t->ne[0];
}

silkie_status silkie_op_swiglu_back(silkie_op_ctx *c, const silkie_tensor *a,
                                    const silkie_tensor *b, const silkie_tensor *dy,
                                    silkie_tensor *da, silkie_tensor *db)
{
    if (!c || !a || !b || !dy || !da || !db)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "swiglu_back: c, a, b, dy, da, db required");
    const silkie_tensor *all[5] = {a, b, dy, da, db};
    for (int i = 0; i < 5; i++) {
        if (all[i]->dtype != SILKIE_DTYPE_F32)
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "swiglu_back: tensors must be f32");
        if (!silkie_tensor_same_shape(a, all[i]))
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "swiglu_back: a, b, dy, da, db shapes differ");
    }
    uint64_t rows = silkie_tensor_rows(a);
    if (rows == 0 || a->ne[0] == 0) return SILKIE_OK;
    if (rows > UINT32_MAX || (a->ne[0] + WG - 1) / WG > GRID_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "swiglu_back: tensor too large");
    swiglu_back_push pc = {.n_cols = a->ne[0], .n_rows = (uint32_t)rows,
                           .a_stride = stride_of(a), .b_stride = stride_of(b),
                           .dy_stride = stride_of(dy), .da_stride = stride_of(da),
                           .db_stride = stride_of(db)};
    silkie_vk_binding bind[5];
    SK_CHECK(silkie_op_bind_rows(c, a, SILKIE_VK_READ, "swiglu_back", &bind[0], &pc.a_off));
    SK_CHECK(silkie_op_bind_rows(c, b, SILKIE_VK_READ, "swiglu_back", &bind[1], &pc.b_off));
    SK_CHECK(silkie_op_bind_rows(c, dy, SILKIE_VK_READ, "swiglu_back", &bind[2], &pc.dy_off));
    SK_CHECK(silkie_op_bind_rows(c, da, SILKIE_VK_WRITE, "swiglu_back", &bind[3], &pc.da_off));
    SK_CHECK(silkie_op_bind_rows(c, db, SILKIE_VK_WRITE, "swiglu_back", &bind[4], &pc.db_off));
    const uint32_t spec[] = {WG};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_SWIGLU_BACK, .spec = spec, .n_spec = 1, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 5,
        .groups = {(pc.n_cols + WG - 1) / WG, SK_MIN(pc.n_rows, GRID_MAX), 1},
        .label = "swiglu_back"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
