/* Element-wise add and mul (b the same shape as a, or one row broadcast) and scale: one shader,
 * the operation chosen by a specialization constant. Also the row-binding helper the other
 * misc ops share. */
#include "ops.h"
#include "params/binary.h"

#define WG 256u
#define GRID_MAX 65535u

enum { OP_ADD = 0, OP_MUL = 1, OP_SCALE = 2 };

silkie_status silkie_op_bind_rows(const silkie_op_ctx *c, const silkie_tensor *t,
                                  silkie_vk_access access, const char *op, silkie_vk_binding *b,
                                  uint32_t *elem_off)
{
    if (!t || !t->buf) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: tensor has no buffer", op);
    if (t->n_parts > 1) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: split tensor", op);
    uint64_t esz = silkie_dtype_block_bytes(t->dtype);
    if (silkie_dtype_block_elems(t->dtype) != 1 || esz == 0 || esz > 4)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: %s tensor", op, silkie_dtype_name(t->dtype));
    uint64_t rows = silkie_tensor_rows(t);
    uint64_t stride = t->row_stride ? t->row_stride : t->ne[0];
    if (t->row_stride && t->row_stride < t->ne[0])
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: row stride %u < row length %u", op,
                       t->row_stride, t->ne[0]);
    uint64_t span = rows ? (rows - 1) * stride + t->ne[0] : 1;
    if (span == 0) span = 1;
    if (span > UINT32_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: %llu elements exceed 32-bit indexing", op,
                       (unsigned long long)span);
    return silkie_op_bind(c, t->buf, t->offset, span * esz, (uint32_t)esz, access, b, elem_off);
}

static uint32_t stride_of(const silkie_tensor *t)
{
    return t->row_stride ? t->row_stride : t->ne[0];
}

static silkie_status run(silkie_op_ctx *c, uint32_t op, const silkie_tensor *a,
                         const silkie_tensor *b, silkie_tensor *y, float s, float bias,
                         const char *name)
{
    if (!c || !a || !y || (op != OP_SCALE && !b))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: c, a, b, y required", name);
    if (a->dtype != SILKIE_DTYPE_F32 || y->dtype != SILKIE_DTYPE_F32 ||
        (b && op != OP_SCALE && b->dtype != SILKIE_DTYPE_F32))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: tensors must be f32", name);
    if (!silkie_tensor_same_shape(a, y))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: y shape differs from a", name);
    uint64_t rows = silkie_tensor_rows(a);
    uint32_t b_stride = 0;
    if (op != OP_SCALE) {
        uint64_t b_rows = silkie_tensor_rows(b);
        if (b->ne[0] != a->ne[0] || (b_rows != 1 && b_rows != rows))
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "%s: b is [%llu, %u], want [1 or %llu, %u]", name,
                           (unsigned long long)b_rows, b->ne[0], (unsigned long long)rows,
                           a->ne[0]);
        b_stride = b_rows == 1 ? 0 : stride_of(b);
    }
    if (rows == 0 || a->ne[0] == 0) return SILKIE_OK;
    if (rows > UINT32_MAX || (a->ne[0] + WG - 1) / WG > GRID_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: tensor too large", name);
    binary_push pc = {.n_cols = a->ne[0], .n_rows = (uint32_t)rows, .a_stride = stride_of(a),
                      .b_stride = b_stride, .y_stride = stride_of(y), .s = s, .bias = bias};
    silkie_vk_binding bind[3];
    SK_CHECK(silkie_op_bind_rows(c, a, SILKIE_VK_READ, name, &bind[0], &pc.a_off));
    if (op == OP_SCALE) {
        bind[1] = bind[0]; /* unused by the scale variant; any valid range will do */
        pc.b_off = pc.a_off;
    } else {
        SK_CHECK(silkie_op_bind_rows(c, b, SILKIE_VK_READ, name, &bind[1], &pc.b_off));
    }
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, name, &bind[2], &pc.y_off));
    const uint32_t spec[] = {WG, op};
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_BINARY, .spec = spec, .n_spec = 2, .push = &pc,
        .push_size = sizeof pc, .bindings = bind, .n_bindings = 3,
        .groups = {(pc.n_cols + WG - 1) / WG, SK_MIN(pc.n_rows, GRID_MAX), 1}, .label = name};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}

silkie_status silkie_op_add(silkie_op_ctx *c, const silkie_tensor *a, const silkie_tensor *b,
                            silkie_tensor *y)
{
    return run(c, OP_ADD, a, b, y, 1.0f, 0.0f, "add");
}

silkie_status silkie_op_mul(silkie_op_ctx *c, const silkie_tensor *a, const silkie_tensor *b,
                            silkie_tensor *y)
{
    return run(c, OP_MUL, a, b, y, 1.0f, 0.0f, "mul");
}

silkie_status silkie_op_scale(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y, float s,
                              float bias)
{
    return run(c, OP_SCALE, x, NULL, y, s, bias, "scale");
}
