/* PyTorch-compatible bicubic resize of a positional grid table [gh*gw, D] -> [oh*ow, D]. */
#include "ops.h"
#include "params/interp_bicubic.h"

#define WG 64u
#define GRID_MAX 65535u

silkie_status silkie_op_interp_bicubic(silkie_op_ctx *c, const silkie_tensor *x, uint32_t gh,
                                       uint32_t gw, silkie_tensor *y, uint32_t oh, uint32_t ow)
{
    if (!c || !x || !y)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "interp_bicubic: c, x, y required");
    if (x->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "interp_bicubic: tensors must be f32");
    if (!silkie_tensor_is_contiguous(x) || !silkie_tensor_is_contiguous(y))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "interp_bicubic: tensors must be contiguous");
    if (!gh || !gw || !oh || !ow || silkie_tensor_rows(x) != (uint64_t)gh * gw ||
        silkie_tensor_rows(y) != (uint64_t)oh * ow || y->ne[0] != x->ne[0])
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "interp_bicubic: x [%llu, %u] / y [%llu, %u] do not match %ux%u -> %ux%u",
                       (unsigned long long)silkie_tensor_rows(x), x->ne[0],
                       (unsigned long long)silkie_tensor_rows(y), y->ne[0], gh, gw, oh, ow);
    if (x->ne[0] == 0) return SILKIE_OK;
    if ((x->ne[0] + WG - 1) / WG > GRID_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "interp_bicubic: rows too long");
    /* PyTorch forms the source scale in f32 as in / out. */
    interp_bicubic_push pc = {.dim = x->ne[0], .gh = gh, .gw = gw, .oh = oh, .ow = ow,
                              .scale_y = (float)gh / (float)oh, .scale_x = (float)gw / (float)ow};
    silkie_vk_binding bind[2];
    SK_CHECK(silkie_op_bind_rows(c, x, SILKIE_VK_READ, "interp_bicubic", &bind[0], &pc.x_off));
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "interp_bicubic", &bind[1], &pc.y_off));
    const uint32_t spec[] = {WG};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_INTERP_BICUBIC, .spec = spec, .n_spec = 1, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 2,
        .groups = {(pc.dim + WG - 1) / WG, SK_MIN(oh * ow, GRID_MAX), 1},
        .label = "interp_bicubic"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
