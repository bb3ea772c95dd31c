/* safetensors writer (adapters, checkpoints, verification dumps), through the safe output
 * writer (base/outfile.h). */
#include <stdio.h>

#include "base/outfile.h"
#include "files_int.h"

static const char *st_dtype_name(silkie_dtype t)
{
    switch (t) {
    case SILKIE_DTYPE_F32: return "F32";
    case SILKIE_DTYPE_F16: return "F16";
    case SILKIE_DTYPE_BF16: return "BF16";
    case SILKIE_DTYPE_I32: return "I32";
    case SILKIE_DTYPE_I64: return "I64";
    default: return NULL;
    }
}

/* Appends to a growing heap string. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (int pass = 0; pass < 2 && !b->oom; pass++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = SK_MAX(b->cap * 2, b->len + (size_t)n + 256);
        char *np = silkie_realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

silkie_status silkie_safetensors_write(const char *path, const silkie_st_tensor *t, uint32_t n)
{
    sbuf h = {0};
    uint64_t off = 0;
    sb_printf(&h, "{");
    for (uint32_t i = 0; i < n; i++) {
        const char *dt = st_dtype_name(t[i].dtype);
        if (!dt || t[i].n_dims > 4 || strchr(t[i].name, '"') || strchr(t[i].name, '\\')) {
            silkie_free(h.p);
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: cannot write tensor '%s'", path,
                           t[i].name);
        }
        uint64_t count = 1;
        for (uint32_t d = 0; d < t[i].n_dims; d++) count *= t[i].shape[d];
        uint64_t bytes = count * silkie_dtype_block_bytes(t[i].dtype);
        sb_printf(&h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", t[i].name, dt);
        for (uint32_t d = 0; d < t[i].n_dims; d++)
            sb_printf(&h, "%s%llu", d ? "," : "", (unsigned long long)t[i].shape[d]);
        sb_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                  (unsigned long long)(off + bytes));
        off += bytes;
    }
    sb_printf(&h, "}");
    while (!h.oom && h.len % 8) sb_printf(&h, " ");
    if (h.oom) {
        silkie_free(h.p);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: header", path);
    }
    silkie_outfile *f = NULL;
    silkie_status st = silkie_outfile_open(path, &f);
    uint64_t hl = h.len;
    if (st == SILKIE_OK) st = silkie_outfile_write(f, &hl, 8);
    if (st == SILKIE_OK) st = silkie_outfile_write(f, h.p, h.len);
    for (uint32_t i = 0; i < n && st == SILKIE_OK; i++) {
        uint64_t count = 1;
        for (uint32_t d = 0; d < t[i].n_dims; d++) count *= t[i].shape[d];
        st = silkie_outfile_write(f, t[i].data,
                                  (size_t)(count * silkie_dtype_block_bytes(t[i].dtype)));
    }
    silkie_free(h.p);
    if (st != SILKIE_OK) {
        silkie_outfile_abort(f);
        return st;
    }
    return silkie_outfile_commit(f);
}
