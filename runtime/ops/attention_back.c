/* Flash-style attention backward (see attention_back.comp): delta = rowsum(dy * y), then dq
 * over key tiles, then dk and dv over query tiles, each recomputing the probabilities from the
 * forward's log-sum-exp. Three dispatches, no atomics. */
#include "ops_train.h"
#include "params/attention_back.h"

#define WG 128u
#define DELTA_WG 64u
#define GRID_MAX 65535u

static uint32_t stride_of(const silkie_tensor *t)
{
    return t->row_stride ? t->row_stride : t->ne[0];
}

/* Shared memory of the two tiled kernels (floats as declared in the shader). */
static uint64_t dq_shared_bytes(uint32_t bq, uint32_t bk, uint32_t d_max)
{
    return 4ull * (2ull * bq * d_max + (uint64_t)bq * bk + 2ull * bq);
}

static uint64_t dkv_shared_bytes(uint32_t bq, uint32_t bk, uint32_t d_max)
{
    return 4ull * (2ull * bk * d_max + 2ull * bk * bq);
}

static silkie_status check_f32(const silkie_tensor *t, const char *name)
{
    if (t->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "attention_back: %s is %s, want f32", name,
                       silkie_dtype_name(t->dtype));
    return SILKIE_OK;
}

static silkie_status check_rows(const silkie_tensor *t, const char *name, uint32_t width,
                                uint64_t rows, int at_least)
{
    uint64_t r = silkie_tensor_rows(t);
    if (t->ne[0] != width || (at_least ? r < rows : r != rows))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "attention_back: %s is [%llu, %u], want [%s%llu, %u]", name,
                       (unsigned long long)r, t->ne[0], at_least ? ">= " : "",
                       (unsigned long long)rows, width);
    return SILKIE_OK;
}

silkie_status silkie_op_attention_back(silkie_op_ctx *c, const silkie_tensor *q,
                                       const silkie_tensor *k, const silkie_tensor *v,
                                       const silkie_tensor *y, const silkie_tensor *dy,
                                       const silkie_tensor *lse, silkie_tensor *delta,
                                       silkie_tensor *dq, silkie_tensor *dk, silkie_tensor *dv,
                                       const silkie_attention_params *p)
{
    if (!c || !q || !k || !v || !y || !dy || !lse || !delta || !dq || !dk || !dv || !p)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "attention_back: c, q, k, v, y, dy, lse, delta, dq, dk, dv, p required");
    const silkie_tensor *all[] = {q, k, v, y, dy, lse, delta, dq, dk, dv};
    static const char *names[] = {"q", "k", "v", "y", "dy", "lse", "delta", "dq", "dk", "dv"};
    for (size_t i = 0; i < SK_ARRAY_LEN(all); i++) SK_CHECK(check_f32(all[i], names[i]));
    if (p->n_heads == 0 || p->head_dim == 0 || p->head_dim > 256)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "attention_back: %u heads of %u (head_dim <= 256)", p->n_heads,
                       p->head_dim);
    const uint32_t width = p->n_heads * p->head_dim;
    const uint64_t n_q = silkie_tensor_rows(q);
    if (n_q == 0) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "attention_back: no queries");
    SK_CHECK(check_rows(q, "q", width, n_q, 0));
    SK_CHECK(check_rows(y, "y", width, n_q, 0));
    SK_CHECK(check_rows(dy, "dy", width, n_q, 0));
    SK_CHECK(check_rows(dq, "dq", width, n_q, 0));
    SK_CHECK(check_rows(k, "k", width, p->n_kv, 1));
    SK_CHECK(check_rows(v, "v", width, p->n_kv, 1));
    SK_CHECK(check_rows(dk, "dk", width, p->n_kv, 0));
    SK_CHECK(check_rows(dv, "dv", width, p->n_kv, 0));
    const uint64_t n_stats = (uint64_t)p->n_heads * n_q;
    if (silkie_tensor_nelements(lse) != n_stats || silkie_tensor_nelements(delta) != n_stats ||
        !silkie_tensor_is_contiguous(lse) || !silkie_tensor_is_contiguous(delta))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "attention_back: lse and delta must be contiguous %u x %llu", p->n_heads,
                       (unsigned long long)n_q);

    /* Blocks as in the forward; halved until the tiles fit the device's shared memory. */
    const uint32_t d_max = p->head_dim <= 128 ? 128u : 256u;
    uint32_t dq_bq = d_max == 128 ? 16u : 8u, dq_bk = 32u;
    uint32_t kv_bk = d_max == 128 ? 16u : 8u, kv_bq = 32u;
    const uint64_t smem = silkie_vk_device_caps(c->dev)->max_shared_memory;
    while (dq_bq > 1 && dq_shared_bytes(dq_bq, dq_bk, d_max) > smem) dq_bq /= 2;
    while (kv_bk > 1 && dkv_shared_bytes(kv_bq, kv_bk, d_max) > smem) kv_bk /= 2;
    if (dq_shared_bytes(dq_bq, dq_bk, d_max) > smem ||
        dkv_shared_bytes(kv_bq, kv_bk, d_max) > smem)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED,
                       "attention_back: head_dim %u needs more than %llu bytes of shared memory",
                       p->head_dim, (unsigned long long)smem);
    const uint64_t q_blocks = (n_q + dq_bq - 1) / dq_bq;
    const uint64_t k_blocks = ((uint64_t)p->n_kv + kv_bk - 1) / kv_bk;
    const uint64_t d_groups = (n_q + DELTA_WG - 1) / DELTA_WG;
    if (q_blocks > GRID_MAX || k_blocks > GRID_MAX || p->n_heads > GRID_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED,
                       "attention_back: %llu queries, %u keys x %u heads too many",
                       (unsigned long long)n_q, p->n_kv, p->n_heads);

    attention_back_push pc = {
        .n_q = (uint32_t)n_q, .n_kv = p->n_kv, .head_dim = p->head_dim,
        .causal = p->causal != 0, .q_pos0 = p->q_pos0, .scale = p->scale,
        .q_stride = stride_of(q), .k_stride = stride_of(k), .v_stride = stride_of(v),
        .y_stride = stride_of(y), .dy_stride = stride_of(dy), .dq_stride = stride_of(dq),
        .dk_stride = stride_of(dk), .dv_stride = stride_of(dv), .seg_begin = p->seg_begin,
        .seg_end = p->seg_end};
    silkie_vk_binding bq, bk, bv, by, bdy, blse, bdl_w, bdl_r, bdq, bdk, bdv;
    const char *op = "attention_back";
    SK_CHECK(silkie_op_bind_rows(c, q, SILKIE_VK_READ, op, &bq, &pc.q_off));
    SK_CHECK(silkie_op_bind_rows(c, k, SILKIE_VK_READ, op, &bk, &pc.k_off));
    SK_CHECK(silkie_op_bind_rows(c, v, SILKIE_VK_READ, op, &bv, &pc.v_off));
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_READ, op, &by, &pc.y_off));
    SK_CHECK(silkie_op_bind_rows(c, dy, SILKIE_VK_READ, op, &bdy, &pc.dy_off));
    SK_CHECK(silkie_op_bind_rows(c, lse, SILKIE_VK_READ, op, &blse, &pc.lse_off));
    SK_CHECK(silkie_op_bind_rows(c, delta, SILKIE_VK_WRITE, op, &bdl_w, &pc.delta_off));
    bdl_r = bdl_w;
    bdl_r.access = SILKIE_VK_READ;
    SK_CHECK(silkie_op_bind_rows(c, dq, SILKIE_VK_WRITE, op, &bdq, &pc.dq_off));
    SK_CHECK(silkie_op_bind_rows(c, dk, SILKIE_VK_WRITE, op, &bdk, &pc.dk_off));
    SK_CHECK(silkie_op_bind_rows(c, dv, SILKIE_VK_WRITE, op, &bdv, &pc.dv_off));

    const silkie_vk_binding b_delta[] = {by, bdy, bdl_w};
    const uint32_t spec_delta[] = {DELTA_WG};
    const silkie_vk_dispatch_desc d_delta = {
        .shader = SILKIE_SHADER_ATTENTION_BACK_DELTA, .spec = spec_delta, .n_spec = 1,
        .push = &pc, .push_size = sizeof pc, .bindings = b_delta, .n_bindings = 3,
        .groups = {(uint32_t)d_groups, p->n_heads, 1}, .label = "attention_back_delta"};
    SK_CHECK(silkie_vk_cmd_dispatch(c->cmd, &d_delta));

    const silkie_vk_binding b_dq[] = {bq, bk, bv, bdy, blse, bdl_r, bdq};
    const uint32_t spec_dq[] = {WG, dq_bq, dq_bk, d_max};
    const silkie_vk_dispatch_desc d_dq = {
        .shader = SILKIE_SHADER_ATTENTION_BACK_DQ, .spec = spec_dq, .n_spec = 4, .push = &pc,
        .push_size = sizeof pc, .bindings = b_dq, .n_bindings = 7,
        .groups = {(uint32_t)q_blocks, p->n_heads, 1}, .label = "attention_back_dq"};
    SK_CHECK(silkie_vk_cmd_dispatch(c->cmd, &d_dq));

    const silkie_vk_binding b_dkv[] = {bq, bk, bv, bdy, blse, bdl_r, bdk, bdv};
    const uint32_t spec_dkv[] = {WG, kv_bq, kv_bk, d_max};
    const silkie_vk_dispatch_desc d_dkv = {
        .shader = SILKIE_SHADER_ATTENTION_BACK_DKV, .spec = spec_dkv, .n_spec = 4, .push = &pc,
        .push_size = sizeof pc, .bindings = b_dkv, .n_bindings = 8,
        .groups = {(uint32_t)k_blocks, p->n_heads, 1}, .label = "attention_back_dkv"};
    return silkie_vk_cmd_dispatch(c->cmd, &d_dkv);
}
