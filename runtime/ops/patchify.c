/* Patchify: CHW image -> one row per patch (channel, ky, kx), patches row-major. */
#include "ops.h"
#include "params/patchify.h"

#define WG 64u
#define GRID_MAX 65535u

silkie_status silkie_op_patchify(silkie_op_ctx *c, const silkie_tensor *img, silkie_tensor *y,
                                 uint32_t patch)
{
    if (!c || !img || !y)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "patchify: c, img, y required");
    if (img->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "patchify: tensors must be f32");
    if (!silkie_tensor_is_contiguous(img) || !silkie_tensor_is_contiguous(y))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "patchify: tensors must be contiguous");
    /* img ne = {W, H, 3}. */
    uint32_t W = img->ne[0], H = img->ne[1];
    if (patch == 0 || img->ne[2] != 3 || img->ne[3] > 1 || H % patch || W % patch)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "patchify: image [%u, %u, %u] is not 3 planes of whole %u-pixel patches",
                       img->ne[2], H, W, patch);
    uint32_t n_patches = (H / patch) * (W / patch);
    uint64_t row = 3ull * patch * patch;
    if (y->ne[0] != row || silkie_tensor_rows(y) != n_patches)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "patchify: y is [%llu, %u], want [%u, %llu]",
                       (unsigned long long)silkie_tensor_rows(y), y->ne[0], n_patches,
                       (unsigned long long)row);
    if ((row + WG - 1) / WG > GRID_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "patchify: patch %u too large", patch);
    patchify_push pc = {.height = H, .width = W, .patch_size = patch, .patches_x = W / patch,
                        .n_patches = n_patches};
    silkie_vk_binding bind[2];
    SK_CHECK(silkie_op_bind_rows(c, img, SILKIE_VK_READ, "patchify", &bind[0], &pc.img_off));
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "patchify", &bind[1], &pc.y_off));
    const uint32_t spec[] = {WG};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_PATCHIFY, .spec = spec, .n_spec = 1, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 2,
        .groups = {(uint32_t)((row + WG - 1) / WG), SK_MIN(n_patches, GRID_MAX), 1},
        .label = "patchify"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
