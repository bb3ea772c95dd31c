/* Streaming GGUF v3 writer. Metadata and tensor infos are collected in memory (small), then
 * written with the first data bytes; tensor data streams through in order, each tensor padded to
 * the alignment. The file is built as "<path>.tmp" and renamed only when complete, so a reader
 * never sees a half-written model. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "files_int.h"

#define MAX_ALIGN 65536u

typedef struct wtensor {
    char *name;
    silkie_dtype dtype;
    uint32_t n_dims;
    uint64_t ne[4];
    uint64_t offset;
    size_t nbytes;
} wtensor;

struct silkie_gguf_writer {
    char *path, *tmp;
    FILE *f;
    uint32_t alignment;
    bool failed, header_done;
    uint8_t *meta; /* serialized key/values */
    size_t meta_len, meta_cap;
    char **keys;
    uint64_t n_kv, cap_kv;
    wtensor *t;
    uint32_t n_t, cap_t;
    uint64_t data_end; /* running offset for the next tensor */
    uint32_t cur;      /* tensor being written */
    size_t cur_done;   /* bytes of it written */
};

static silkie_status earlier_failure(void)
{
    return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: an earlier call failed");
}

static silkie_status wfail(silkie_gguf_writer *w, silkie_status st) { w->failed = true; return st; }

static silkie_status meta_put(silkie_gguf_writer *w, const void *p, size_t n)
{
    if (w->meta_cap - w->meta_len < n) {
        size_t cap = w->meta_cap ? w->meta_cap : 4096;
        while (cap - w->meta_len < n) {
            if (cap > SIZE_MAX / 2) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_writer: meta");
            cap *= 2;
        }
        uint8_t *m = silkie_realloc(w->meta, cap);
        if (!m) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_writer: %zu bytes of metadata", cap);
        w->meta = m;
        w->meta_cap = cap;
    }
    memcpy(w->meta + w->meta_len, p, n);
    w->meta_len += n;
    return SILKIE_OK;
}

static silkie_status put_u32(silkie_gguf_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return meta_put(w, b, 4);
}

static silkie_status put_u64(silkie_gguf_writer *w, uint64_t v)
{
    SK_CHECK(put_u32(w, (uint32_t)v));
    return put_u32(w, (uint32_t)(v >> 32));
}

static silkie_status put_str(silkie_gguf_writer *w, const char *s, size_t n)
{
    SK_CHECK(put_u64(w, n));
    return meta_put(w, s, n);
}

/* Starts a key: checks state and duplicates, writes key and type. */
static silkie_status begin_kv(silkie_gguf_writer *w, const char *key, silkie_gguf_type t)
{
    if (!w || !key || !key[0])
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: writer and key required");
    if (w->failed) return earlier_failure();
    if (w->header_done)
        return wfail(w, SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: '%s' added after data",
                                key));
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0)
            return wfail(w, SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: duplicate key '%s'",
                                    key));
    if (w->n_kv == w->cap_kv) {
        uint64_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
        char **k = silkie_realloc(w->keys, (size_t)cap * sizeof *k);
        if (!k) return wfail(w, SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_writer: keys"));
        w->keys = k;
        w->cap_kv = cap;
    }
    char *k = silkie_strdup(key);
    if (!k) return wfail(w, SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_writer: key"));
    w->keys[w->n_kv++] = k;
    silkie_status st = put_str(w, key, strlen(key));
    if (st == SILKIE_OK) st = put_u32(w, (uint32_t)t);
    return st == SILKIE_OK ? st : wfail(w, st);
}

static silkie_status end_kv(silkie_gguf_writer *w, silkie_status st)
{
    return st == SILKIE_OK ? st : wfail(w, st);
}

silkie_status silkie_gguf_writer_create(const char *path, uint32_t alignment,
                                        silkie_gguf_writer **out)
{
    if (!path || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: path, out required");
    *out = NULL;
    if (alignment == 0) alignment = 32;
    if (alignment > MAX_ALIGN || (alignment & (alignment - 1)))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: alignment %u is not a power of "
                       "two <= %u", alignment, MAX_ALIGN);
    silkie_gguf_writer *w = SK_NEW(silkie_gguf_writer);
    if (!w) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_writer");
    w->alignment = alignment;
    w->path = silkie_strdup(path);
    size_t n = strlen(path);
    w->tmp = silkie_malloc(n + 5);
    if (!w->path || !w->tmp) {
        silkie_gguf_writer_destroy(w);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_writer: path");
    }
    memcpy(w->tmp, path, n);
    memcpy(w->tmp + n, ".tmp", 5);
    w->f = fopen(w->tmp, "wb");
    if (!w->f) {
        silkie_status st = SK_FAIL(SILKIE_ERR_IO, "%s: cannot create: %s", w->tmp, strerror(errno));
        silkie_gguf_writer_destroy(w);
        return st;
    }
    if (alignment != 32) {
        silkie_status st = silkie_gguf_writer_add_u32(w, "general.alignment", alignment);
        if (st != SILKIE_OK) {
            silkie_gguf_writer_destroy(w);
            return st;
        }
    }
    *out = w;
    return SILKIE_OK;
}

static silkie_status add_scalar(silkie_gguf_writer *w, const char *key, silkie_gguf_type t,
                                const void *v, size_t n)
{
    SK_CHECK(begin_kv(w, key, t));
    return end_kv(w, meta_put(w, v, n));
}

silkie_status silkie_gguf_writer_add_u32(silkie_gguf_writer *w, const char *key, uint32_t v)
{
    return add_scalar(w, key, SILKIE_GGUF_U32, &v, 4);
}
silkie_status silkie_gguf_writer_add_i32(silkie_gguf_writer *w, const char *key, int32_t v)
{
    return add_scalar(w, key, SILKIE_GGUF_I32, &v, 4);
}
silkie_status silkie_gguf_writer_add_u64(silkie_gguf_writer *w, const char *key, uint64_t v)
{
    return add_scalar(w, key, SILKIE_GGUF_U64, &v, 8);
}
silkie_status silkie_gguf_writer_add_f32(silkie_gguf_writer *w, const char *key, float v)
{
    return add_scalar(w, key, SILKIE_GGUF_F32, &v, 4);
}
silkie_status silkie_gguf_writer_add_bool(silkie_gguf_writer *w, const char *key, bool v)
{
    uint8_t b = v ? 1 : 0;
    return add_scalar(w, key, SILKIE_GGUF_BOOL, &b, 1);
}
silkie_status silkie_gguf_writer_add_str(silkie_gguf_writer *w, const char *key, const char *s)
{
    if (!s) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: '%s': string required",
                           key ? key : "");
    SK_CHECK(begin_kv(w, key, SILKIE_GGUF_STRING));
    return end_kv(w, put_str(w, s, strlen(s)));
}

static size_t elem_size(silkie_gguf_type t)
{
    switch (t) {
    case SILKIE_GGUF_U8: case SILKIE_GGUF_I8: case SILKIE_GGUF_BOOL: return 1;
    case SILKIE_GGUF_U16: case SILKIE_GGUF_I16: return 2;
    case SILKIE_GGUF_U32: case SILKIE_GGUF_I32: case SILKIE_GGUF_F32: return 4;
    case SILKIE_GGUF_U64: case SILKIE_GGUF_I64: case SILKIE_GGUF_F64: return 8;
    default: return 0;
    }
}

silkie_status silkie_gguf_writer_add_arr(silkie_gguf_writer *w, const char *key,
                                         silkie_gguf_type elem_type, const void *data, uint64_t n)
{
    size_t es = elem_size(elem_type), bytes;
    if (!es || (n && !data) || n > SIZE_MAX || !sk_mul_size((size_t)n, es, &bytes))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: '%s': bad numeric array",
                       key ? key : "");
    SK_CHECK(begin_kv(w, key, SILKIE_GGUF_ARRAY));
    silkie_status st = put_u32(w, (uint32_t)elem_type);
    if (st == SILKIE_OK) st = put_u64(w, n);
    if (st == SILKIE_OK && bytes) st = meta_put(w, data, bytes);
    return end_kv(w, st);
}

silkie_status silkie_gguf_writer_add_arr_str(silkie_gguf_writer *w, const char *key,
                                             const char *const *s, const size_t *lens,
                                             uint64_t n)
{
    if (n && !s)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: '%s': strings required",
                       key ? key : "");
    SK_CHECK(begin_kv(w, key, SILKIE_GGUF_ARRAY));
    silkie_status st = put_u32(w, SILKIE_GGUF_STRING);
    if (st == SILKIE_OK) st = put_u64(w, n);
    for (uint64_t i = 0; st == SILKIE_OK && i < n; i++)
        st = put_str(w, s[i], lens ? lens[i] : strlen(s[i]));
    return end_kv(w, st);
}

silkie_status silkie_gguf_writer_add_kv(silkie_gguf_writer *w, const silkie_gguf_kv *kv)
{
    if (!w || !kv)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer_add_kv: w, kv required");
    /* create() already recorded a non-default alignment; copying it again is not a duplicate. */
    if (strcmp(kv->key, "general.alignment") == 0 && kv->type == SILKIE_GGUF_U32 &&
        kv->v.u == w->alignment && w->alignment != 32)
        return SILKIE_OK;
    if (kv->type == SILKIE_GGUF_STRING) {
        SK_CHECK(begin_kv(w, kv->key, SILKIE_GGUF_STRING));
        return end_kv(w, put_str(w, (const char *)kv->data, (size_t)kv->n));
    }
    if (kv->type != SILKIE_GGUF_ARRAY) {
        size_t es = elem_size(kv->type);
        if (!es) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: '%s': bad type",
                                kv->key);
        return add_scalar(w, kv->key, kv->type, kv->data, es);
    }
    if (kv->arr_type != SILKIE_GGUF_STRING)
        return silkie_gguf_writer_add_arr(w, kv->key, kv->arr_type, kv->data, kv->n);
    SK_CHECK(begin_kv(w, kv->key, SILKIE_GGUF_ARRAY));
    silkie_status st = put_u32(w, SILKIE_GGUF_STRING);
    if (st == SILKIE_OK) st = put_u64(w, kv->n);
    for (uint64_t i = 0; st == SILKIE_OK && i < kv->n; i++) {
        const char *s;
        size_t len;
        st = silkie_gguf_arr_str(kv, i, &s, &len);
        if (st == SILKIE_OK) st = put_str(w, s, len);
    }
    return end_kv(w, st);
}

silkie_status silkie_gguf_writer_add_tensor(silkie_gguf_writer *w, const char *name,
                                            silkie_dtype dtype, uint32_t n_dims,
                                            const uint64_t *shape)
{
    if (!w || !name || !name[0] || (n_dims && !shape))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "gguf_writer_add_tensor: w, name, shape required");
    if (w->failed) return earlier_failure();
    if (w->header_done)
        return wfail(w, SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: tensor '%s' added "
                                "after data", name));
    if (n_dims < 1 || n_dims > 4)
        return wfail(w, SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: tensor '%s' has %u "
                                "dims, want 1..4", name, n_dims));
    uint32_t be = silkie_dtype_block_elems(dtype);
    if (!be || dtype == SILKIE_DTYPE_U8)
        return wfail(w, SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: tensor '%s' dtype %d "
                                "has no GGUF type", name, (int)dtype));
    wtensor t = {.dtype = dtype, .n_dims = n_dims};
    for (uint32_t d = 0; d < n_dims; d++) t.ne[d] = shape[n_dims - 1 - d];
    if (t.ne[0] % be)
        return wfail(w, SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: tensor '%s' rows of "
                                "%llu are not whole %s blocks", name,
                                (unsigned long long)t.ne[0], silkie_dtype_name(dtype)));
    size_t bytes = (size_t)(t.ne[0] / be) * silkie_dtype_block_bytes(dtype);
    for (uint32_t d = 1; d < n_dims; d++)
        if (t.ne[d] > SIZE_MAX || !sk_mul_size(bytes, (size_t)t.ne[d], &bytes))
            return wfail(w, SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: tensor '%s' too "
                                    "large", name));
    for (uint32_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return wfail(w, SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: duplicate tensor "
                                    "'%s'", name));
    if (w->n_t == w->cap_t) {
        uint32_t cap = w->cap_t ? w->cap_t * 2 : 64;
        wtensor *p = silkie_realloc(w->t, cap * sizeof *p);
        if (!p) return wfail(w, SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_writer: tensors"));
        w->t = p;
        w->cap_t = cap;
    }
    t.name = silkie_strdup(name);
    if (!t.name) return wfail(w, SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_writer: name"));
    t.nbytes = bytes;
    t.offset = w->data_end;
    w->data_end = (t.offset + bytes + w->alignment - 1) / w->alignment * w->alignment;
    w->t[w->n_t++] = t;
    return SILKIE_OK;
}

static silkie_status fwrite_all(silkie_gguf_writer *w, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, w->f) != n)
        return wfail(w, SK_FAIL(SILKIE_ERR_IO, "%s: write failed: %s", w->tmp, strerror(errno)));
    return SILKIE_OK;
}

static silkie_status pad(silkie_gguf_writer *w, uint64_t pos)
{
    static const uint8_t zeros[256];
    uint64_t n = (w->alignment - pos % w->alignment) % w->alignment;
    while (n) {
        size_t k = (size_t)SK_MIN(n, (uint64_t)sizeof zeros);
        SK_CHECK(fwrite_all(w, zeros, k));
        n -= k;
    }
    return SILKIE_OK;
}

static silkie_status write_header(silkie_gguf_writer *w)
{
    /* Tensor infos are appended to the metadata buffer so the header goes out in one piece. */
    size_t kv_len = w->meta_len;
    for (uint32_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        SK_CHECK(end_kv(w, put_str(w, t->name, strlen(t->name))));
        SK_CHECK(end_kv(w, put_u32(w, t->n_dims)));
        for (uint32_t d = 0; d < t->n_dims; d++) SK_CHECK(end_kv(w, put_u64(w, t->ne[d])));
        SK_CHECK(end_kv(w, put_u32(w, (uint32_t)t->dtype)));
        SK_CHECK(end_kv(w, put_u64(w, t->offset)));
    }
    uint8_t head[24] = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
    for (int i = 0; i < 8; i++) head[8 + i] = (uint8_t)((uint64_t)w->n_t >> (8 * i));
    for (int i = 0; i < 8; i++) head[16 + i] = (uint8_t)(w->n_kv >> (8 * i));
    SK_CHECK(fwrite_all(w, head, sizeof head));
    SK_CHECK(fwrite_all(w, w->meta, w->meta_len));
    (void)kv_len;
    w->header_done = true;
    return pad(w, sizeof head + w->meta_len);
}

static silkie_status advance(silkie_gguf_writer *w)
{
    while (w->cur < w->n_t && w->cur_done == w->t[w->cur].nbytes) {
        SK_CHECK(pad(w, w->t[w->cur].offset + w->t[w->cur].nbytes));
        w->cur++;
        w->cur_done = 0;
    }
    return SILKIE_OK;
}

silkie_status silkie_gguf_writer_write(silkie_gguf_writer *w, const void *data, size_t nbytes)
{
    if (!w || (nbytes && !data))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer_write: w, data required");
    if (w->failed) return earlier_failure();
    if (!w->header_done) {
        SK_CHECK(write_header(w));
        SK_CHECK(advance(w)); /* zero-byte tensors at the start */
    }
    const uint8_t *p = data;
    while (nbytes) {
        if (w->cur >= w->n_t)
            return wfail(w, SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: %zu bytes beyond "
                                    "the last tensor", nbytes));
        size_t k = SK_MIN(nbytes, w->t[w->cur].nbytes - w->cur_done);
        SK_CHECK(fwrite_all(w, p, k));
        p += k;
        nbytes -= k;
        w->cur_done += k;
        SK_CHECK(advance(w));
    }
    return SILKIE_OK;
}

silkie_status silkie_gguf_writer_finish(silkie_gguf_writer *w)
{
    if (!w) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer_finish: w required");
    silkie_status st = SILKIE_OK;
    if (w->failed) st = earlier_failure();
    if (st == SILKIE_OK && !w->header_done) {
        st = write_header(w);
        if (st == SILKIE_OK) st = advance(w);
    }
    if (st == SILKIE_OK && w->cur < w->n_t)
        st = SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: tensor '%s' got %zu of %zu bytes",
                     w->t[w->cur].name, w->cur_done, w->t[w->cur].nbytes);
    if (st == SILKIE_OK && (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0))
        st = SK_FAIL(SILKIE_ERR_IO, "%s: flush failed: %s", w->tmp, strerror(errno));
    if (st == SILKIE_OK) {
        int rc = fclose(w->f);
        w->f = NULL;
        if (rc != 0) st = SK_FAIL(SILKIE_ERR_IO, "%s: close failed: %s", w->tmp, strerror(errno));
    }
    if (st == SILKIE_OK && rename(w->tmp, w->path) != 0)
        st = SK_FAIL(SILKIE_ERR_IO, "%s: rename to %s failed: %s", w->tmp, w->path,
                     strerror(errno));
    if (st == SILKIE_OK) {
        silkie_free(w->tmp);
        w->tmp = NULL; /* nothing left to remove */
    }
    silkie_gguf_writer_destroy(w);
    return st;
}

void silkie_gguf_writer_destroy(silkie_gguf_writer *w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    if (w->tmp) remove(w->tmp);
    silkie_free(w->tmp);
    silkie_free(w->path);
    silkie_free(w->meta);
    for (uint64_t i = 0; i < w->n_kv; i++) silkie_free(w->keys[i]);
    silkie_free(w->keys);
    for (uint32_t i = 0; i < w->n_t; i++) silkie_free(w->t[i].name);
    silkie_free(w->t);
    silkie_free(w);
}
