/* Row-range transfers for tensors that may be split into parts (weights, KV caches). */
#include "ops.h"

silkie_vk_buffer *silkie_tensor_row_location(const silkie_tensor *t, uint64_t row, uint64_t *off,
                                             uint64_t *rows_left)
{
    uint64_t rb = silkie_tensor_row_bytes(t), rows = silkie_tensor_rows(t);
    if (t->n_parts > 1) {
        uint64_t i = row / t->part_rows, r = row % t->part_rows;
        *off = t->parts[i].offset + r * rb;
        *rows_left = SK_MIN((i + 1) * (uint64_t)t->part_rows, rows) - row;
        return t->parts[i].buf;
    }
    *off = t->offset + row * rb;
    *rows_left = rows - row;
    return t->buf;
}

static silkie_status transfer(const silkie_tensor *t, uint64_t row0, uint64_t n, void *host,
                              int write)
{
    if (t->row_stride && t->row_stride != t->ne[0])
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "tensor rows: strided tensors are not transferable");
    if (row0 + n > silkie_tensor_rows(t))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor rows: [%llu, +%llu) beyond %llu rows",
                       (unsigned long long)row0, (unsigned long long)n,
                       (unsigned long long)silkie_tensor_rows(t));
    uint64_t rb = silkie_tensor_row_bytes(t);
    uint8_t *h = host;
    for (uint64_t done = 0; done < n;) {
        uint64_t off, left;
        silkie_vk_buffer *b = silkie_tensor_row_location(t, row0 + done, &off, &left);
        uint64_t k = SK_MIN(left, n - done);
        silkie_status st = write ? silkie_vk_buffer_write(b, off, h + done * rb, k * rb)
                                 : silkie_vk_buffer_read(b, off, h + done * rb, k * rb);
        if (st != SILKIE_OK) return st;
        done += k;
    }
    return SILKIE_OK;
}

silkie_status silkie_tensor_write_rows(const silkie_tensor *t, uint64_t row0, uint64_t n,
                                       const void *src)
{
    return transfer(t, row0, n, (void *)src, 1);
}

silkie_status silkie_tensor_read_rows(const silkie_tensor *t, uint64_t row0, uint64_t n,
                                      void *dst)
{
    return transfer(t, row0, n, dst, 0);
}
