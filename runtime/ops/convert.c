/* Conversions between f32, f16 and bf16, and the row copy behind the KV-cache append. */
#include "ops.h"
#include "params/convert.h"

#define CONVERT_WG 64u
#define GRID_MAX 65535u

/* Type code of convert.comp's SRC_TYPE / DST_TYPE, or -1. */
static int type_code(silkie_dtype t)
{
    switch (t) {
    case SILKIE_DTYPE_F32: return 0;
    case SILKIE_DTYPE_F16: return 1;
    case SILKIE_DTYPE_BF16: return 2;
    default: return -1;
    }
}

static uint32_t ld_words(const silkie_tensor *t)
{
    uint32_t ld = t->row_stride ? t->row_stride : t->ne[0];
    return t->dtype == SILKIE_DTYPE_F32 ? ld * 2 : ld;
}

static silkie_status record(silkie_op_ctx *c, const char *what, const silkie_tensor *x,
                            const silkie_tensor *y, uint64_t y_rows, const silkie_tensor *step,
                            uint32_t row0)
{
    if (!c || !c->dev || !c->cmd || !x || !y)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: ctx, source, destination required", what);
    int sc = type_code(x->dtype), dc = type_code(y->dtype);
    if (sc < 0 || dc < 0)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: only f32, f16 and bf16 (got %d -> %d)", what,
                       (int)x->dtype, (int)y->dtype);
    if (x->n_parts > 1 || y->n_parts > 1)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: split tensors", what);
    uint64_t rows = silkie_tensor_rows(x);
    if (rows > UINT32_MAX || y_rows > UINT32_MAX || rows == 0 || x->ne[0] == 0)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: bad row count", what);
    if (step && (step->dtype != SILKIE_DTYPE_I32 || silkie_tensor_nelements(step) < 1))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: step must be i32", what);

    convert_push pc = {.n_cols = x->ne[0], .n_rows = (uint32_t)rows, .x_ld = ld_words(x),
                       .y_ld = ld_words(y), .row0 = row0, .y_rows = (uint32_t)y_rows};
    uint32_t xw = x->dtype == SILKIE_DTYPE_F32 ? 2 : 1, yw = y->dtype == SILKIE_DTYPE_F32 ? 2 : 1;
    silkie_vk_binding bind[3];
    SK_CHECK(silkie_op_bind(c, x->buf, x->offset,
                            ((uint64_t)(rows - 1) * pc.x_ld + (uint64_t)pc.n_cols * xw) * 2, 2,
                            SILKIE_VK_READ, &bind[0], &pc.x_off));
    SK_CHECK(silkie_op_bind(c, y->buf, y->offset,
                            ((uint64_t)(y_rows - 1) * pc.y_ld + (uint64_t)pc.n_cols * yw) * 2, 2,
                            SILKIE_VK_WRITE, &bind[1], &pc.y_off));
    if (step) {
        SK_CHECK(silkie_op_bind(c, step->buf, step->offset, 4, 4, SILKIE_VK_READ, &bind[2],
                                &pc.step_off));
    } else {
        bind[2] = bind[0]; /* never read; any valid buffer fills the slot */
    }
    const uint32_t spec[4] = {CONVERT_WG, (uint32_t)sc, (uint32_t)dc, step != NULL};
    uint32_t gx = SK_MIN((pc.n_cols + CONVERT_WG - 1) / CONVERT_WG, 256u);
    silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_CONVERT,
        .spec = spec,
        .n_spec = 4,
        .push = &pc,
        .push_size = sizeof pc,
        .bindings = bind,
        .n_bindings = 3,
        .groups = {gx, SK_MIN(pc.n_rows, GRID_MAX), 1},
        .label = what,
    };
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}

silkie_status silkie_op_convert(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y)
{
    if (!x || !y || x->ne[0] != y->ne[0] || silkie_tensor_rows(x) != silkie_tensor_rows(y))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "convert: x and y must have the same shape");
    return record(c, "convert", x, y, silkie_tensor_rows(y), NULL, 0);
}

silkie_status silkie_op_set_rows(silkie_op_ctx *c, const silkie_tensor *src, silkie_tensor *dst,
                                 const silkie_tensor *step, uint32_t row0)
{
    if (!src || !dst || src->ne[0] != dst->ne[0])
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "set_rows: src and dst rows differ in length");
    uint64_t dst_rows = silkie_tensor_rows(dst);
    /* Without a step the destination range is known now and checked here; with one, the
     * shader drops rows past the end. */
    if (!step && (uint64_t)row0 + silkie_tensor_rows(src) > dst_rows)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "set_rows: rows %u..%llu past dst (%llu rows)",
                       row0, (unsigned long long)(row0 + silkie_tensor_rows(src)),
                       (unsigned long long)dst_rows);
    return record(c, "set_rows", src, dst, dst_rows, step, row0);
}
