/* Embedding lookup from any weight type, split tables included (up to 4 parts per dispatch,
 * so a decode step's lookup stays one dispatch on devices with a 128 MiB binding range). */
#include "ops.h"
#include "params/get_rows.h"

#define GET_ROWS_WG 64u
#define PARTS_PER_DISPATCH 4u
#define GRID_MAX 65535u

static silkie_shader_id get_rows_shader(silkie_dtype t)
{
    switch (t) {
    case SILKIE_DTYPE_F16: return SILKIE_SHADER_GET_ROWS_W_F16;
    case SILKIE_DTYPE_BF16: return SILKIE_SHADER_GET_ROWS_W_BF16;
    case SILKIE_DTYPE_Q8_0: return SILKIE_SHADER_GET_ROWS_W_Q8_0;
    case SILKIE_DTYPE_Q4_0: return SILKIE_SHADER_GET_ROWS_W_Q4_0;
    default: return SILKIE_SHADER_GET_ROWS_W_F32;
    }
}

silkie_status silkie_op_get_rows(silkie_op_ctx *c, const silkie_tensor *table,
                                 const silkie_tensor *ids, silkie_tensor *y)
{
    if (!c || !c->dev || !c->cmd || !table || !ids || !y)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "get_rows: ctx, table, ids, y required");
    silkie_dtype dt = table->dtype;
    int quant = dt == SILKIE_DTYPE_Q8_0 || dt == SILKIE_DTYPE_Q4_0;
    if (!quant && dt != SILKIE_DTYPE_F32 && dt != SILKIE_DTYPE_F16 && dt != SILKIE_DTYPE_BF16)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "get_rows: table type %d", (int)dt);
    if (ids->dtype != SILKIE_DTYPE_I32 || !silkie_tensor_is_contiguous(ids))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "get_rows: ids must be contiguous i32");
    uint64_t V64 = silkie_tensor_rows(table), T64 = silkie_tensor_nelements(ids);
    uint32_t D = table->ne[0];
    if (V64 > UINT32_MAX || T64 > UINT32_MAX || T64 == 0 || D == 0)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "get_rows: bad table or id count");
    uint32_t V = (uint32_t)V64, T = (uint32_t)T64;
    if (y->dtype != SILKIE_DTYPE_F32 || y->ne[0] != D || silkie_tensor_rows(y) != T)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "get_rows: y must be f32 [%u, %u]", T, D);
    if (quant && (D % 32 || table->row_stride))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "get_rows: quantized rows must be contiguous, length %% 32 == 0 (D=%u)", D);
    if (table->n_parts > 1 && (table->part_rows == 0 || !table->parts))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "get_rows: split table without a part table");

    const uint32_t unit = dt == SILKIE_DTYPE_F32 ? 4u : 2u;
    uint64_t row_bytes = (uint64_t)silkie_dtype_block_bytes(dt) * D / silkie_dtype_block_elems(dt);
    uint32_t t_ld = quant ? (uint32_t)(row_bytes / 2) : (table->row_stride ? table->row_stride : D);
    uint64_t ld_bytes = quant ? row_bytes : (uint64_t)t_ld * unit;
    uint32_t y_ld = y->row_stride ? y->row_stride : D;

    silkie_vk_binding bind[6];
    get_rows_push pc = {.D = D, .T = T, .V = V, .t_ld = t_ld, .y_ld = y_ld,
                        .part_rows = table->n_parts > 1 ? table->part_rows : V};
    SK_CHECK(silkie_op_bind(c, ids->buf, ids->offset, (uint64_t)T * 4, 4, SILKIE_VK_READ, &bind[0],
                            &pc.ids_off));
    SK_CHECK(silkie_op_bind(c, y->buf, y->offset, ((uint64_t)(T - 1) * y_ld + D) * 4, 4,
                            SILKIE_VK_WRITE, &bind[2], &pc.y_off));
    uint32_t spec[2] = {GET_ROWS_WG, 1};
    const uint32_t n_parts = table->n_parts > 1 ? table->n_parts : 1;
    uint32_t *offs[PARTS_PER_DISPATCH] = {&pc.t_off, &pc.t_off1, &pc.t_off2, &pc.t_off3};
    for (uint32_t p = 0; p < n_parts && p * pc.part_rows < V; p += PARTS_PER_DISPATCH) {
        /* Parts p.. of this dispatch at bindings 1, 3, 4, 5 (unused slots repeat part p). */
        uint32_t np = 0, rows = 0;
        for (; np < PARTS_PER_DISPATCH && p + np < n_parts && (p + np) * pc.part_rows < V;
             np++) {
            const uint32_t q = p + np, row0 = q * pc.part_rows;
            const uint32_t r = n_parts > 1 ? SK_MIN(pc.part_rows, V - row0) : V;
            silkie_vk_buffer *tb = n_parts > 1 ? table->parts[q].buf : table->buf;
            uint64_t toff = n_parts > 1 ? table->parts[q].offset : table->offset;
            SK_CHECK(silkie_op_bind(c, tb, toff, (uint64_t)(r - 1) * ld_bytes + row_bytes, unit,
                                    SILKIE_VK_READ, &bind[np ? 2 + np : 1], offs[np]));
            rows += r;
        }
        for (uint32_t j = SK_MAX(np, 1u); j < PARTS_PER_DISPATCH; j++) bind[2 + j] = bind[1];
        spec[1] = np;
        pc.row_begin = p * pc.part_rows;
        pc.n_rows = rows;
        pc.zero_fill = p == 0;
        silkie_vk_dispatch_desc d = {
            .shader = get_rows_shader(dt),
            .spec = spec,
            .n_spec = 2,
            .push = &pc,
            .push_size = sizeof pc,
            .bindings = bind,
            .n_bindings = 6,
            .groups = {SK_MIN(T, GRID_MAX), 1, 1},
            .label = "get_rows",
        };
        SK_CHECK(silkie_vk_cmd_dispatch(c->cmd, &d));
    }
    return SILKIE_OK;
}
