/* Sum of squares in a fixed order: one single-workgroup dispatch per part of x, the first
 * writing out[index] and the others adding to it, so no scratch memory and no atomics. */
#include "ops_train.h"
#include "params/sum_sq.h"

#define WG 256u

static silkie_status check_tensor(const silkie_tensor *t, const char *name)
{
    if (t->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "sum_sq: %s is %s, want f32", name,
                       silkie_dtype_name(t->dtype));
    if (!silkie_tensor_is_contiguous(t))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "sum_sq: %s is strided", name);
    if (t->n_parts > 1 ? !t->parts || !t->part_rows : !t->buf)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sum_sq: %s has no storage", name);
    return SILKIE_OK;
}

/* Binds (and with dispatch != 0 records) one dispatch per part of x; the first pass only binds,
 * so that a tensor that does not fit fails before anything is recorded. */
static silkie_status walk(silkie_op_ctx *c, const silkie_tensor *x, silkie_vk_buffer *ob,
                          uint64_t o_off, int dispatch)
{
    const uint64_t rows = silkie_tensor_rows(x), n_cols = x->ne[0];
    const uint64_t total = rows * n_cols;
    uint64_t r = 0;
    for (uint32_t part = 0; part == 0 || (total > 0 && r < rows); part++) {
        sum_sq_push pc = {0};
        silkie_vk_binding bind[2];
        SK_CHECK(silkie_op_bind(c, ob, o_off, 4, 4, part ? SILKIE_VK_READ_WRITE : SILKIE_VK_WRITE,
                                &bind[1], &pc.out_off));
        uint64_t k = 0;
        if (total == 0) {
            /* Nothing to read: the dispatch still writes the empty sum, 0. */
            bind[0] = bind[1];
            bind[0].access = SILKIE_VK_READ;
        } else {
            uint64_t off;
            silkie_vk_buffer *b = silkie_tensor_row_location(x, r, &off, &k);
            const uint64_t n = k * n_cols;
            if (n > UINT32_MAX)
                return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "sum_sq: %llu elements in one buffer",
                               (unsigned long long)n);
            SK_CHECK(silkie_op_bind(c, b, off, n * 4, 4, SILKIE_VK_READ, &bind[0], &pc.x_off));
            pc.n = (uint32_t)n;
        }
        if (dispatch) {
            const uint32_t spec[] = {WG, part > 0};
            const silkie_vk_dispatch_desc d = {
                .shader = SILKIE_SHADER_SUM_SQ, .spec = spec, .n_spec = 2, .push = &pc,
                .push_size = sizeof pc, .bindings = bind, .n_bindings = 2, .groups = {1, 1, 1},
                .label = "sum_sq"};
            SK_CHECK(silkie_vk_cmd_dispatch(c->cmd, &d));
        }
        r += k;
    }
    return SILKIE_OK;
}

silkie_status silkie_op_sum_sq(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *out,
                               uint32_t index)
{
    if (!c || !x || !out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sum_sq: c, x, out required");
    SK_CHECK(check_tensor(x, "x"));
    SK_CHECK(check_tensor(out, "out"));
    if (index >= silkie_tensor_nelements(out))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sum_sq: index %u beyond %llu elements of out",
                       index, (unsigned long long)silkie_tensor_nelements(out));
    uint64_t o_off, left;
    silkie_vk_buffer *ob = silkie_tensor_row_location(out, index / out->ne[0], &o_off, &left);
    o_off += (uint64_t)(index % out->ne[0]) * 4;
    SK_CHECK(walk(c, x, ob, o_off, 0));
    return walk(c, x, ob, o_off, 1);
}
