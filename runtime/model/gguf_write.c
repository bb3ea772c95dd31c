/* Streaming GGUF v3 writer. Metadata and tensor infos are collected in memory (small), then
 * written with the first data bytes; tensor data streams through in order, each tensor padded to
 * the alignment. The file goes through the safe output writer (base/outfile.h): built beside
 * the target and renamed only when complete, so a reader never sees a half-written model.
 *
 * Integrity keys (docs/FIRMWARE.md, "Integrity"): values that are known only once the data has
 * gone out (digests, the self-test vector) are reserved as zero bytes in the header and filled
 * in place by silkie_gguf_seal, which hashes the finished header last. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/outfile.h"
#include "files_int.h"
#include "sha256.h"

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
    silkie_outfile *out;
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
    /* Checksums: enabled by silkie_gguf_writer_enable_checksums. */
    bool sums;
    silkie_sha256 hash;     /* of the tensor being written */
    uint8_t *digests;       /* [n_t][32] */
    uint64_t meta_sum_at;   /* file offsets of the reserved digest bytes */
    uint64_t tensor_sums_at;
    uint64_t data_start;
};

#define HEAD_BYTES 24u /* magic, version, tensor count, key count */

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
    silkie_status st = silkie_outfile_open(path, &w->out);
    if (st != SILKIE_OK) {
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
    silkie_status st = silkie_outfile_write(w->out, p, n); /* names the file on failure */
    return st == SILKIE_OK ? st : wfail(w, st);
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
    if (w->sums) {
        /* Last keys, now that the tensor count is final. */
        w->digests = silkie_calloc(w->n_t ? w->n_t : 1, SILKIE_SHA256_BYTES);
        if (!w->digests) return wfail(w, SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_writer: sums"));
        SK_CHECK(silkie_gguf_writer_add_reserved(w, SILKIE_GGUF_KEY_SHA256_METADATA,
                                                 SILKIE_GGUF_U8, true, SILKIE_SHA256_BYTES,
                                                 &w->meta_sum_at));
        SK_CHECK(silkie_gguf_writer_add_reserved(w, SILKIE_GGUF_KEY_SHA256_TENSORS,
                                                 SILKIE_GGUF_U8, true,
                                                 (uint64_t)w->n_t * SILKIE_SHA256_BYTES,
                                                 &w->tensor_sums_at));
        silkie_sha256_init(&w->hash);
    }
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
    uint64_t end = sizeof head + w->meta_len;
    w->data_start = (end + w->alignment - 1) / w->alignment * w->alignment;
    return pad(w, end);
}

static silkie_status advance(silkie_gguf_writer *w)
{
    while (w->cur < w->n_t && w->cur_done == w->t[w->cur].nbytes) {
        if (w->sums) {
            silkie_sha256_final(&w->hash, w->digests + (size_t)w->cur * SILKIE_SHA256_BYTES);
            silkie_sha256_init(&w->hash);
        }
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
        if (w->sums) silkie_sha256_update(&w->hash, p, k);
        p += k;
        nbytes -= k;
        w->cur_done += k;
        SK_CHECK(advance(w));
    }
    return SILKIE_OK;
}

silkie_status silkie_gguf_writer_finish(silkie_gguf_writer *w)
{
    return silkie_gguf_writer_finish_sums(w, NULL);
}

silkie_status silkie_gguf_writer_finish_sums(silkie_gguf_writer *w, silkie_gguf_sums *sums)
{
    if (sums) memset(sums, 0, sizeof *sums);
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
    if (st == SILKIE_OK) {
        st = silkie_outfile_commit(w->out); /* consumes the outfile either way */
        w->out = NULL;
    }
    if (st == SILKIE_OK && sums && w->sums) {
        sums->data_start = w->data_start;
        sums->metadata_at = w->meta_sum_at;
        sums->tensors_at = w->tensor_sums_at;
        sums->n_tensors = w->n_t;
        sums->digests = w->digests; /* handed over */
        w->digests = NULL;
    }
    silkie_gguf_writer_destroy(w);
    return st;
}

void silkie_gguf_writer_destroy(silkie_gguf_writer *w)
{
    if (!w) return;
    silkie_outfile_abort(w->out);
    silkie_free(w->digests);
    silkie_free(w->meta);
    for (uint64_t i = 0; i < w->n_kv; i++) silkie_free(w->keys[i]);
    silkie_free(w->keys);
    for (uint32_t i = 0; i < w->n_t; i++) silkie_free(w->t[i].name);
    silkie_free(w->t);
    silkie_free(w);
}

silkie_status silkie_gguf_writer_enable_checksums(silkie_gguf_writer *w)
{
    if (!w) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: w required");
    if (w->failed) return earlier_failure();
    if (w->header_done)
        return wfail(w, SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: checksums enabled "
                                "after data"));
    w->sums = true;
    return SILKIE_OK;
}

silkie_status silkie_gguf_writer_add_reserved(silkie_gguf_writer *w, const char *key,
                                              silkie_gguf_type type, bool array, uint64_t n,
                                              uint64_t *at)
{
    size_t es = elem_size(type), bytes;
    if (!array) n = 1;
    if (!es || !at || n > SIZE_MAX || !sk_mul_size((size_t)n, es, &bytes))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_writer: '%s': bad reserved value",
                       key ? key : "");
    SK_CHECK(begin_kv(w, key, array ? SILKIE_GGUF_ARRAY : type));
    silkie_status st = SILKIE_OK;
    if (array) {
        st = put_u32(w, (uint32_t)type);
        if (st == SILKIE_OK) st = put_u64(w, n);
    }
    *at = HEAD_BYTES + w->meta_len; /* key/values are the first thing after the fixed head */
    for (size_t i = 0; st == SILKIE_OK && i < bytes; i += 8) {
        static const uint8_t zeros[8];
        st = meta_put(w, zeros, SK_MIN(bytes - i, sizeof zeros));
    }
    return end_kv(w, st);
}

void silkie_gguf_sums_release(silkie_gguf_sums *s)
{
    if (!s) return;
    silkie_free(s->digests);
    s->digests = NULL;
}

static silkie_status pwrite_all(int fd, const char *path, const void *p, size_t n, uint64_t at)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = pwrite(fd, b, n, (off_t)at);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0)
            return SK_FAIL(SILKIE_ERR_IO, "%s: cannot write the integrity keys: %s", path,
                           k < 0 ? strerror(errno) : "no progress");
        b += k;
        n -= (size_t)k;
        at += (uint64_t)k;
    }
    return SILKIE_OK;
}

static silkie_status pread_all(int fd, const char *path, void *p, size_t n, uint64_t at)
{
    uint8_t *b = p;
    while (n) {
        ssize_t k = pread(fd, b, n, (off_t)at);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0)
            return SK_FAIL(SILKIE_ERR_IO, "%s: cannot read the header back: %s", path,
                           k < 0 ? strerror(errno) : "file too short");
        b += k;
        n -= (size_t)k;
        at += (uint64_t)k;
    }
    return SILKIE_OK;
}

silkie_status silkie_gguf_seal(const char *path, const silkie_gguf_sums *s,
                               const silkie_gguf_patch *patches, uint32_t n_patches)
{
    if (!path || !s || (n_patches && !patches))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_seal: path, sums required");
    if (!s->digests || s->data_start > SIZE_MAX)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_seal: %s was written without "
                       "checksums", path);
    size_t tb = (size_t)s->n_tensors * SILKIE_SHA256_BYTES;
    if (s->metadata_at + SILKIE_SHA256_BYTES > s->data_start || s->tensors_at + tb > s->data_start)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_seal: digests outside the header");
    for (uint32_t i = 0; i < n_patches; i++)
        if (patches[i].at > s->data_start || patches[i].n > s->data_start - patches[i].at)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_seal: patch %u outside the header",
                           i);
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return SK_FAIL(SILKIE_ERR_IO, "%s: cannot open to seal: %s", path,
                               strerror(errno));
    uint8_t *head = silkie_malloc((size_t)s->data_start);
    silkie_status st = head ? SILKIE_OK
                            : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_seal: %llu header bytes",
                                      (unsigned long long)s->data_start);
    for (uint32_t i = 0; st == SILKIE_OK && i < n_patches; i++)
        st = pwrite_all(fd, path, patches[i].data, patches[i].n, patches[i].at);
    if (st == SILKIE_OK) st = pwrite_all(fd, path, s->digests, tb, s->tensors_at);
    /* The metadata digest covers the header as it now is on disk, both digest values read as
     * zeros; it is written last, so a file sealed halfway never verifies. */
    if (st == SILKIE_OK) st = pread_all(fd, path, head, (size_t)s->data_start, 0);
    if (st == SILKIE_OK) {
        memset(head + s->metadata_at, 0, SILKIE_SHA256_BYTES);
        memset(head + s->tensors_at, 0, tb);
        uint8_t d[SILKIE_SHA256_BYTES];
        silkie_sha256_digest(head, (size_t)s->data_start, d);
        st = pwrite_all(fd, path, d, sizeof d, s->metadata_at);
    }
    if (st == SILKIE_OK && fsync(fd) != 0)
        st = SK_FAIL(SILKIE_ERR_IO, "%s: sync failed: %s", path, strerror(errno));
    if (close(fd) != 0 && st == SILKIE_OK)
        st = SK_FAIL(SILKIE_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    silkie_free(head);
    return st;
}
