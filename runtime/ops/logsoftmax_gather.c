/* Log-softmax + gather over a vocabulary in column blocks: fold each block into a running
 * (max, sum) state per row, finish into log-probabilities, and the per-block backward. */
#include "ops_train.h"
#include "params/logsoftmax_gather.h"

#define WG 256u /* finish; the widest choice of pick_wg */
#define GRID_MAX 65535u

/* Invocations per workgroup for a block of n columns: 256 for wide blocks, fewer (down to 32)
 * for narrow ones, where idle invocations would only add reduction levels. The choice depends
 * on the shape alone, so results still repeat bit for bit. */
static uint32_t pick_wg(uint32_t n)
{
    uint32_t wg = 32;
    while (wg < 256 && wg * 8 < n) wg *= 2;
    return wg;
}

static uint32_t stride_of(const silkie_tensor *t)
{
    return t->row_stride ? t->row_stride : t->ne[0];
}

/* Checks shared by the three kernels: labels I32 with >= T entries, state f32 [T, 4]. */
static silkie_status check_common(const silkie_tensor *labels, const silkie_tensor *state,
                                  uint64_t rows, const char *op)
{
    if (labels->dtype != SILKIE_DTYPE_I32 || state->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: labels must be i32 and state f32", op);
    if (silkie_tensor_nelements(labels) < rows)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: %llu labels for %llu rows", op,
                       (unsigned long long)silkie_tensor_nelements(labels),
                       (unsigned long long)rows);
    if (state->ne[0] != 4 || silkie_tensor_rows(state) != rows)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: state is [%llu, %u], want [%llu, 4]", op,
                       (unsigned long long)silkie_tensor_rows(state), state->ne[0],
                       (unsigned long long)rows);
    if (rows > UINT32_MAX) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: too many rows", op);
    return SILKIE_OK;
}

/* The block's columns must be addressable by an i32 label. */
static silkie_status check_block(const silkie_tensor *logits, uint32_t v0, const char *op)
{
    if (logits->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: logits must be f32", op);
    if ((uint64_t)v0 + logits->ne[0] > (uint64_t)INT32_MAX + 1)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: columns %u + %u exceed i32 labels", op,
                       v0, logits->ne[0]);
    return SILKIE_OK;
}

silkie_status silkie_op_logsoftmax_gather(silkie_op_ctx *c, const silkie_tensor *logits,
                                          const silkie_tensor *labels, uint32_t v0,
                                          silkie_tensor *state, uint32_t first)
{
    const char *op = "logsoftmax_gather";
    if (!c || !logits || !labels || !state)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: c, logits, labels, state required", op);
    uint64_t rows = silkie_tensor_rows(logits);
    SK_CHECK(check_block(logits, v0, op));
    SK_CHECK(check_common(labels, state, rows, op));
    if (logits->ne[0] == 0 && first)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: the first block is empty", op);
    if (rows == 0 || logits->ne[0] == 0) return SILKIE_OK;
    logsoftmax_gather_push pc = {.n_cols = logits->ne[0], .n_rows = (uint32_t)rows, .v0 = v0,
                                 .first = first != 0, .x_stride = stride_of(logits),
                                 .st_stride = stride_of(state)};
    const uint32_t wg = pick_wg(pc.n_cols);
    silkie_vk_binding bind[3];
    SK_CHECK(silkie_op_bind_rows(c, logits, SILKIE_VK_READ, op, &bind[0], &pc.x_off));
    SK_CHECK(silkie_op_bind_rows(c, labels, SILKIE_VK_READ, op, &bind[1], &pc.lab_off));
    SK_CHECK(silkie_op_bind_rows(c, state, first ? SILKIE_VK_WRITE : SILKIE_VK_READ_WRITE, op,
                                 &bind[2], &pc.st_off));
    const uint32_t spec[] = {wg};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_LOGSOFTMAX_GATHER_FOLD, .spec = spec, .n_spec = 1, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 3,
        .groups = {SK_MIN(pc.n_rows, GRID_MAX), 1, 1}, .label = "logsoftmax_gather"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}

silkie_status silkie_op_logsoftmax_gather_finish(silkie_op_ctx *c, silkie_tensor *state,
                                                 const silkie_tensor *labels,
                                                 silkie_tensor *logp)
{
    const char *op = "logsoftmax_gather_finish";
    if (!c || !state || !labels || !logp)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: c, state, labels, logp required", op);
    uint64_t rows = silkie_tensor_rows(state);
    SK_CHECK(check_common(labels, state, rows, op));
    if (logp->dtype != SILKIE_DTYPE_F32 || silkie_tensor_nelements(logp) != rows ||
        !silkie_tensor_is_contiguous(logp))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: logp must be contiguous f32 [%llu]", op,
                       (unsigned long long)rows);
    if (rows == 0) return SILKIE_OK;
    logsoftmax_gather_push pc = {.n_rows = (uint32_t)rows, .st_stride = stride_of(state)};
    silkie_vk_binding bind[3];
    SK_CHECK(silkie_op_bind_rows(c, state, SILKIE_VK_READ_WRITE, op, &bind[0], &pc.st_off));
    SK_CHECK(silkie_op_bind_rows(c, labels, SILKIE_VK_READ, op, &bind[1], &pc.lab_off));
    SK_CHECK(silkie_op_bind_rows(c, logp, SILKIE_VK_WRITE, op, &bind[2], &pc.g_off));
    const uint32_t spec[] = {WG};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_LOGSOFTMAX_GATHER_FINISH, .spec = spec, .n_spec = 1,
        .push = &pc, .push_size = sizeof pc, .bindings = bind, .n_bindings = 3,
        .groups = {(uint32_t)SK_MIN((rows + WG - 1) / WG, GRID_MAX), 1, 1},
        .label = "logsoftmax_gather_finish"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}

silkie_status silkie_op_logsoftmax_gather_back(silkie_op_ctx *c, const silkie_tensor *logits,
                                               const silkie_tensor *labels, uint32_t v0,
                                               const silkie_tensor *state, const silkie_tensor *g,
                                               silkie_tensor *dlogits)
{
    const char *op = "logsoftmax_gather_back";
    if (!c || !logits || !labels || !state || !g || !dlogits)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "%s: c, logits, labels, state, g, dlogits required", op);
    uint64_t rows = silkie_tensor_rows(logits);
    SK_CHECK(check_block(logits, v0, op));
    SK_CHECK(check_common(labels, state, rows, op));
    if (g->dtype != SILKIE_DTYPE_F32 || silkie_tensor_nelements(g) < rows)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: g must be f32 with %llu entries", op,
                       (unsigned long long)rows);
    if (dlogits->dtype != SILKIE_DTYPE_F32 || !silkie_tensor_same_shape(logits, dlogits))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: dlogits must be f32 shaped like logits",
                       op);
    if (!silkie_tensor_is_contiguous(dlogits))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: dlogits must be contiguous", op);
    if (rows == 0 || logits->ne[0] == 0) return SILKIE_OK;
    const uint32_t wg = pick_wg(logits->ne[0]);
    if ((logits->ne[0] + wg - 1) / wg > GRID_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: block too wide", op);
    logsoftmax_gather_push pc = {.n_cols = logits->ne[0], .n_rows = (uint32_t)rows, .v0 = v0,
                                 .x_stride = stride_of(logits), .st_stride = stride_of(state)};
    silkie_vk_binding bind[5];
    SK_CHECK(silkie_op_bind_rows(c, logits, SILKIE_VK_READ, op, &bind[0], &pc.x_off));
    SK_CHECK(silkie_op_bind_rows(c, labels, SILKIE_VK_READ, op, &bind[1], &pc.lab_off));
    SK_CHECK(silkie_op_bind_rows(c, state, SILKIE_VK_READ, op, &bind[2], &pc.st_off));
    SK_CHECK(silkie_op_bind_rows(c, g, SILKIE_VK_READ, op, &bind[3], &pc.g_off));
    SK_CHECK(silkie_op_bind_rows(c, dlogits, SILKIE_VK_WRITE, op, &bind[4], &pc.dx_off));
    const uint32_t spec[] = {wg};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_LOGSOFTMAX_GATHER_BACK, .spec = spec, .n_spec = 1, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 5,
        .groups = {(pc.n_cols + wg - 1) / wg, SK_MIN(pc.n_rows, GRID_MAX), 1},
        .label = "logsoftmax_gather_back"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
