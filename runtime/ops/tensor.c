/* Tensor helpers: sizes, views, bindings, allocation (split by rows past the binding limit) and
 * whole-tensor host transfers. */
#include "ops.h"

static uint64_t elem_bytes(silkie_dtype dt) { return silkie_dtype_block_bytes(dt); }

uint64_t silkie_tensor_rows(const silkie_tensor *t)
{
    return (uint64_t)t->ne[1] * t->ne[2] * t->ne[3];
}

uint64_t silkie_tensor_nelements(const silkie_tensor *t)
{
    return (uint64_t)t->ne[0] * silkie_tensor_rows(t);
}

uint64_t silkie_tensor_row_bytes(const silkie_tensor *t)
{
    uint32_t be = silkie_dtype_block_elems(t->dtype);
    if (!be) return 0;
    return (uint64_t)(t->ne[0] / be) * silkie_dtype_block_bytes(t->dtype);
}

uint64_t silkie_tensor_nbytes(const silkie_tensor *t)
{
    return silkie_tensor_row_bytes(t) * silkie_tensor_rows(t);
}

int silkie_tensor_same_shape(const silkie_tensor *a, const silkie_tensor *b)
{
    return a && b && !memcmp(a->ne, b->ne, sizeof a->ne);
}

int silkie_tensor_is_contiguous(const silkie_tensor *t)
{
    return t->row_stride == 0 || t->row_stride == t->ne[0];
}

silkie_tensor silkie_tensor_2d(silkie_vk_buffer *buf, uint64_t offset, silkie_dtype dt,
                               uint32_t n_cols, uint32_t n_rows)
{
    return (silkie_tensor){
        .dtype = dt, .ne = {n_cols, n_rows, 1, 1}, .buf = buf, .offset = offset, .n_parts = 1};
}

silkie_tensor silkie_tensor_cols(const silkie_tensor *t, uint32_t col0, uint32_t n_cols)
{
    silkie_tensor v = *t;
    v.row_stride = t->row_stride ? t->row_stride : t->ne[0];
    v.offset = t->offset + (uint64_t)col0 * elem_bytes(t->dtype);
    v.ne[0] = n_cols;
    return v;
}

silkie_tensor silkie_tensor_rows_view(const silkie_tensor *t, uint32_t row0, uint32_t n_rows)
{
    silkie_tensor v = *t;
    uint64_t stride_bytes = t->row_stride ? (uint64_t)t->row_stride * elem_bytes(t->dtype)
                                          : silkie_tensor_row_bytes(t);
    v.offset = t->offset + (uint64_t)row0 * stride_bytes;
    v.ne[1] = n_rows;
    v.ne[2] = v.ne[3] = 1;
    return v;
}

silkie_vk_binding silkie_tensor_binding(const silkie_tensor *t, silkie_vk_access access)
{
    uint64_t rows = silkie_tensor_rows(t), bytes = silkie_tensor_nbytes(t);
    if (!silkie_tensor_is_contiguous(t) && rows)
        bytes = (rows - 1) * t->row_stride * elem_bytes(t->dtype) + silkie_tensor_row_bytes(t);
    return (silkie_vk_binding){.buf = t->buf, .offset = t->offset, .range = bytes,
                               .access = access};
}

silkie_status silkie_tensor_alloc(silkie_vk_device *d, silkie_vk_pool pool, silkie_dtype dt,
                                  const uint32_t ne[4], silkie_owned_tensor *out)
{
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor_alloc: out is NULL");
    memset(out, 0, sizeof *out);
    if (!d || !ne) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor_alloc: device, ne required");
    silkie_tensor *t = &out->t;
    *t = (silkie_tensor){.dtype = dt, .ne = {ne[0], ne[1], ne[2], ne[3]}};
    uint32_t be = silkie_dtype_block_elems(dt);
    if (!be) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor_alloc: unknown dtype %d", (int)dt);
    if (ne[0] % be)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "tensor_alloc: %s row of %u is not whole blocks", silkie_dtype_name(dt),
                       ne[0]);
    uint64_t rows = silkie_tensor_rows(t), row_bytes = silkie_tensor_row_bytes(t);
    uint64_t nbytes = rows * row_bytes;
    if (nbytes == 0)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor_alloc: empty tensor %ux%ux%ux%u",
                       ne[0], ne[1], ne[2], ne[3]);
    const uint64_t limit = silkie_vk_device_caps(d)->max_storage_buffer_range;
    if (nbytes <= limit) {
        silkie_status st = silkie_vk_buffer_create(d, pool, nbytes, &out->bufs[0]);
        if (st != SILKIE_OK) return st;
        t->buf = out->bufs[0];
        t->n_parts = 1;
        return SILKIE_OK;
    }
    if (row_bytes > limit)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED,
                       "tensor_alloc: one row of %llu bytes exceeds the binding limit %llu",
                       (unsigned long long)row_bytes, (unsigned long long)limit);
    uint64_t part_rows = limit / row_bytes;
    uint64_t n_parts = (rows + part_rows - 1) / part_rows;
    /* Even out the parts so the last one is not a sliver. */
    part_rows = (rows + n_parts - 1) / n_parts;
    if (n_parts > SILKIE_TENSOR_MAX_PARTS)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED,
                       "tensor_alloc: %llu bytes need %llu parts (max %d)",
                       (unsigned long long)nbytes, (unsigned long long)n_parts,
                       SILKIE_TENSOR_MAX_PARTS);
    for (uint32_t i = 0; i < n_parts; i++) {
        uint64_t r = SK_MIN(part_rows, rows - i * part_rows);
        silkie_status st = silkie_vk_buffer_create(d, pool, r * row_bytes, &out->bufs[i]);
        if (st != SILKIE_OK) {
            silkie_tensor_free(out);
            return st;
        }
        out->parts[i] = (silkie_tensor_part){out->bufs[i], 0};
    }
    t->n_parts = (uint32_t)n_parts;
    t->part_rows = (uint32_t)part_rows;
    t->parts = out->parts;
    return SILKIE_OK;
}

void silkie_tensor_free(silkie_owned_tensor *t)
{
    if (!t) return;
    for (int i = 0; i < SILKIE_TENSOR_MAX_PARTS; i++) silkie_vk_buffer_destroy(t->bufs[i]);
    memset(t, 0, sizeof *t);
}

/* Calls fn on each (buffer, offset, bytes, host offset) piece of a contiguous tensor. */
typedef silkie_status (*piece_fn)(silkie_vk_buffer *b, uint64_t off, uint64_t host_off,
                                  uint64_t size, void *user);

static silkie_status each_piece(const silkie_tensor *t, uint64_t nbytes, const char *what,
                                piece_fn fn, void *user)
{
    if (!silkie_tensor_is_contiguous(t))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: strided tensor", what);
    uint64_t total = silkie_tensor_nbytes(t);
    if (nbytes != total)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: %llu bytes given, tensor has %llu", what,
                       (unsigned long long)nbytes, (unsigned long long)total);
    if (t->n_parts <= 1) {
        if (!t->buf) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: tensor has no buffer", what);
        return fn(t->buf, t->offset, 0, total, user);
    }
    if (!t->parts || !t->part_rows)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: split tensor without parts", what);
    const uint64_t rows = silkie_tensor_rows(t), row_bytes = silkie_tensor_row_bytes(t);
    for (uint32_t i = 0; i < t->n_parts; i++) {
        uint64_t r0 = (uint64_t)i * t->part_rows;
        if (r0 >= rows) break;
        uint64_t r = SK_MIN((uint64_t)t->part_rows, rows - r0);
        SK_CHECK(fn(t->parts[i].buf, t->parts[i].offset, r0 * row_bytes, r * row_bytes, user));
    }
    return SILKIE_OK;
}

static silkie_status put(silkie_vk_buffer *b, uint64_t off, uint64_t host_off, uint64_t size,
                         void *user)
{
    return silkie_vk_buffer_write(b, off, (const uint8_t *)user + host_off, size);
}

static silkie_status get(silkie_vk_buffer *b, uint64_t off, uint64_t host_off, uint64_t size,
                         void *user)
{
    return silkie_vk_buffer_read(b, off, (uint8_t *)user + host_off, size);
}

silkie_status silkie_tensor_upload(silkie_owned_tensor *t, const void *data, uint64_t nbytes)
{
    if (!t || !data) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor_upload: t, data required");
    return each_piece(&t->t, nbytes, "tensor_upload", put, (void *)data);
}

silkie_status silkie_tensor_download(const silkie_tensor *t, void *data, uint64_t nbytes)
{
    if (!t || !data)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor_download: t, data required");
    return each_piece(t, nbytes, "tensor_download", get, data);
}
