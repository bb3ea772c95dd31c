/* GGUF v2/v3 reader: header, metadata of every value type, tensor infos, aligned data area.
 * All counts, lengths and offsets are checked against the buffer before use; tensors are
 * zero-copy views. */
#include <stdlib.h>

#include "files_int.h"

#define MAX_KV (1u << 20)
#define MAX_KEY_LEN 65535u
#define MAX_ALIGN 65536u
#define GGML_MAX_DIMS 4u

struct silkie_gguf {
    uint32_t version;
    uint32_t alignment;
    uint64_t data_start; /* file offset of the tensor data area */
    silkie_gguf_kv *kv;
    uint64_t n_kv;
};

/* GGML tensor types. Supported ones map to a silkie_dtype (equal ids); the others are listed so
 * the error names them; adding a type is one row here plus its block layout in silkie_dtype. */
static const struct {
    uint32_t id;
    const char *name;
    bool supported;
} k_types[] = {
    {0, "F32", true},    {1, "F16", true},    {2, "Q4_0", true},   {3, "Q4_1", false},
    {6, "Q5_0", false},  {7, "Q5_1", false},  {8, "Q8_0", true},   {9, "Q8_1", false},
    {10, "Q2_K", false}, {11, "Q3_K", false}, {12, "Q4_K", false}, {13, "Q5_K", false},
    {14, "Q6_K", false}, {15, "Q8_K", false}, {24, "I8", true},    {25, "I16", true},
    {26, "I32", true},   {27, "I64", true},   {28, "F64", true},   {30, "BF16", true},
};

typedef struct rd {
    const uint8_t *buf;
    size_t size, pos;
    const char *what;
} rd;

static silkie_status short_read(const rd *r, const char *thing)
{
    return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: %s at byte %zu runs past the end of the file",
                   r->what, thing, r->pos);
}

static silkie_status rd_bytes(rd *r, uint64_t n, const uint8_t **p, const char *thing)
{
    if (n > r->size - r->pos) return short_read(r, thing);
    *p = r->buf + r->pos;
    r->pos += (size_t)n;
    return SILKIE_OK;
}

static silkie_status rd_u32(rd *r, uint32_t *v, const char *thing)
{
    const uint8_t *p = NULL;
    SK_CHECK(rd_bytes(r, 4, &p, thing));
    *v = sk_le32(p);
    return SILKIE_OK;
}

static silkie_status rd_u64(rd *r, uint64_t *v, const char *thing)
{
    const uint8_t *p = NULL;
    SK_CHECK(rd_bytes(r, 8, &p, thing));
    *v = sk_le64(p);
    return SILKIE_OK;
}

static silkie_status rd_str(rd *r, const uint8_t **s, uint64_t *n, const char *thing)
{
    SK_CHECK(rd_u64(r, n, thing));
    return rd_bytes(r, *n, s, thing);
}

static size_t scalar_size(uint32_t t)
{
    switch (t) {
    case SILKIE_GGUF_U8: case SILKIE_GGUF_I8: case SILKIE_GGUF_BOOL: return 1;
    case SILKIE_GGUF_U16: case SILKIE_GGUF_I16: return 2;
    case SILKIE_GGUF_U32: case SILKIE_GGUF_I32: case SILKIE_GGUF_F32: return 4;
    case SILKIE_GGUF_U64: case SILKIE_GGUF_I64: case SILKIE_GGUF_F64: return 8;
    default: return 0;
    }
}

static void decode_scalar(uint32_t t, const uint8_t *p, silkie_gguf_kv *kv)
{
    switch (t) {
    case SILKIE_GGUF_U8: case SILKIE_GGUF_BOOL: kv->v.u = p[0]; break;
    case SILKIE_GGUF_I8: kv->v.i = (int8_t)p[0]; break;
    case SILKIE_GGUF_U16: kv->v.u = sk_le16(p); break;
    case SILKIE_GGUF_I16: kv->v.i = (int16_t)sk_le16(p); break;
    case SILKIE_GGUF_U32: kv->v.u = sk_le32(p); break;
    case SILKIE_GGUF_I32: kv->v.i = (int32_t)sk_le32(p); break;
    case SILKIE_GGUF_U64: kv->v.u = sk_le64(p); break;
    case SILKIE_GGUF_I64: kv->v.i = (int64_t)sk_le64(p); break;
    case SILKIE_GGUF_F32: {
        uint32_t u = sk_le32(p);
        float f;
        memcpy(&f, &u, 4);
        kv->v.f = f;
        break;
    }
    case SILKIE_GGUF_F64: {
        uint64_t u = sk_le64(p);
        memcpy(&kv->v.f, &u, 8);
        break;
    }
    default: break;
    }
}

static int key_cmp(const void *a, const void *b)
{
    const silkie_gguf_kv *x = *(const silkie_gguf_kv *const *)a;
    const silkie_gguf_kv *y = *(const silkie_gguf_kv *const *)b;
    return strcmp(x->key, y->key);
}

/* Sorting pointers keeps the duplicate check O(n log n) for hostile key counts. */
static silkie_status check_unique_keys(const silkie_gguf *g, const char *what)
{
    if (g->n_kv < 2) return SILKIE_OK;
    const silkie_gguf_kv **v = SK_NEW_ARRAY(const silkie_gguf_kv *, g->n_kv);
    if (!v) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: metadata index", what);
    for (uint64_t i = 0; i < g->n_kv; i++) v[i] = &g->kv[i];
    qsort(v, (size_t)g->n_kv, sizeof *v, key_cmp);
    silkie_status st = SILKIE_OK;
    for (uint64_t i = 1; i < g->n_kv && st == SILKIE_OK; i++)
        if (strcmp(v[i - 1]->key, v[i]->key) == 0)
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: duplicate metadata key '%s'", what, v[i]->key);
    silkie_free(v);
    return st;
}

static silkie_status read_kv(rd *r, silkie_gguf *g, uint64_t i)
{
    silkie_gguf_kv *kv = &g->kv[i];
    const uint8_t *key;
    uint64_t kl;
    SK_CHECK(rd_str(r, &key, &kl, "metadata key"));
    if (kl == 0 || kl > MAX_KEY_LEN || memchr(key, 0, kl))
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: metadata key %llu is empty, too long or has a "
                       "NUL", r->what, (unsigned long long)i);
    char *k = silkie_malloc(kl + 1);
    if (!k) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: metadata key", r->what);
    memcpy(k, key, kl);
    k[kl] = 0;
    kv->key = k;
    uint32_t t;
    SK_CHECK(rd_u32(r, &t, "metadata type"));
    kv->type = (silkie_gguf_type)t;
    const uint8_t *p = NULL;
    if (scalar_size(t)) {
        SK_CHECK(rd_bytes(r, scalar_size(t), &p, k));
        decode_scalar(t, p, kv);
        kv->data = p;
        kv->n = 1;
        return SILKIE_OK;
    }
    if (t == SILKIE_GGUF_STRING) return rd_str(r, &kv->data, &kv->n, k);
    if (t != SILKIE_GGUF_ARRAY)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: metadata '%s' has unknown type %u", r->what, k, t);
    uint32_t et;
    SK_CHECK(rd_u32(r, &et, k));
    SK_CHECK(rd_u64(r, &kv->n, k));
    kv->arr_type = (silkie_gguf_type)et;
    kv->data = r->buf + r->pos;
    if (scalar_size(et)) {
        uint64_t bytes;
        if (__builtin_mul_overflow(kv->n, (uint64_t)scalar_size(et), &bytes))
            return short_read(r, k);
        return rd_bytes(r, bytes, &p, k);
    }
    if (et == SILKIE_GGUF_ARRAY)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: metadata '%s' is an array of arrays", r->what,
                       k);
    if (et != SILKIE_GGUF_STRING)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: metadata '%s' has unknown element type %u",
                       r->what, k, et);
    if (kv->n > (r->size - r->pos) / 8) return short_read(r, k); /* each string needs 8 bytes */
    uint64_t *off = silkie_malloc((size_t)(kv->n ? kv->n : 1) * sizeof *off);
    if (!off) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: metadata '%s'", r->what, k);
    kv->str_offsets = off;
    for (uint64_t j = 0; j < kv->n; j++) {
        off[j] = (uint64_t)(r->buf + r->pos - kv->data);
        const uint8_t *s;
        uint64_t sl;
        SK_CHECK(rd_str(r, &s, &sl, k));
    }
    return SILKIE_OK;
}

typedef struct span {
    uint64_t begin, end;
    uint32_t idx;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

typedef struct tinfo {
    const uint8_t *name;
    uint64_t name_len;
    uint32_t n_dims;
    uint64_t ne[GGML_MAX_DIMS];
    uint32_t type;
    uint64_t offset;
    size_t nbytes;
} tinfo;

static silkie_status read_tinfo(rd *r, uint64_t i, tinfo *t)
{
    SK_CHECK(rd_str(r, &t->name, &t->name_len, "tensor name"));
    int nl = (int)SK_MIN(t->name_len, 200u);
    const char *nm = (const char *)t->name;
    SK_CHECK(rd_u32(r, &t->n_dims, "tensor dims"));
    if (t->n_dims < 1 || t->n_dims > GGML_MAX_DIMS)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor %llu '%.*s' has %u dims, want 1..4",
                       r->what, (unsigned long long)i, nl, nm, t->n_dims);
    for (uint32_t d = 0; d < t->n_dims; d++) SK_CHECK(rd_u64(r, &t->ne[d], "tensor shape"));
    SK_CHECK(rd_u32(r, &t->type, "tensor type"));
    SK_CHECK(rd_u64(r, &t->offset, "tensor offset"));
    size_t k = 0;
    while (k < SK_ARRAY_LEN(k_types) && k_types[k].id != t->type) k++;
    if (k == SK_ARRAY_LEN(k_types))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: tensor '%.*s' has unknown type %u", r->what,
                       nl, nm, t->type);
    if (!k_types[k].supported)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: tensor '%.*s' has type %s; supported: F32, "
                       "F16, BF16, Q8_0, Q4_0 (and integer types)", r->what, nl, nm,
                       k_types[k].name);
    silkie_dtype dt = (silkie_dtype)t->type;
    uint64_t be = silkie_dtype_block_elems(dt), bb = silkie_dtype_block_bytes(dt);
    if (t->ne[0] % be)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' rows of %llu are not whole %s "
                       "blocks", r->what, nl, nm, (unsigned long long)t->ne[0],
                       silkie_dtype_name(dt));
    uint64_t bytes = t->ne[0] / be * bb;
    for (uint32_t d = 1; d < t->n_dims; d++)
        if (__builtin_mul_overflow(bytes, t->ne[d], &bytes))
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' size overflows", r->what, nl,
                           nm);
    /* Element counts must also be representable: the weights view stores shapes in u64. */
    uint64_t numel = 1;
    for (uint32_t d = 0; d < t->n_dims; d++)
        if (__builtin_mul_overflow(numel, t->ne[d], &numel))
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' shape overflows", r->what, nl,
                           nm);
    if (bytes > SIZE_MAX)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' is too large", r->what, nl, nm);
    t->nbytes = (size_t)bytes;
    return SILKIE_OK;
}

static silkie_status parse(silkie_weights *w, silkie_gguf *g, rd *r)
{
    const uint8_t *p = NULL;
    SK_CHECK(rd_bytes(r, 4, &p, "magic"));
    if (memcmp(p, "GGUF", 4) != 0)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: not a GGUF file (bad magic)", r->what);
    SK_CHECK(rd_u32(r, &g->version, "version"));
    if (g->version != 2 && g->version != 3)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: GGUF version %u, want 2 or 3", r->what,
                       g->version);
    uint64_t n_t, n_kv;
    SK_CHECK(rd_u64(r, &n_t, "tensor count"));
    SK_CHECK(rd_u64(r, &n_kv, "metadata count"));
    if (n_kv > MAX_KV || n_t > SK_MAX_TENSORS)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: %llu tensors / %llu metadata entries exceed the "
                       "limits (%u / %u)", r->what, (unsigned long long)n_t,
                       (unsigned long long)n_kv, SK_MAX_TENSORS, MAX_KV);
    /* Each key/value and tensor info takes well over 8 bytes: cheap bound before allocating. */
    if (n_kv > (r->size - r->pos) / 12 || n_t > (r->size - r->pos) / 24)
        return short_read(r, "metadata");
    g->kv = SK_NEW_ARRAY(silkie_gguf_kv, n_kv ? n_kv : 1);
    if (!g->kv) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: metadata", r->what);
    for (uint64_t i = 0; i < n_kv; i++) {
        g->n_kv = i + 1; /* so a failure frees what this entry allocated */
        SK_CHECK(read_kv(r, g, i));
    }
    SK_CHECK(check_unique_keys(g, r->what));
    g->alignment = 32;
    const silkie_gguf_kv *al = silkie_gguf_find_kv(g, "general.alignment");
    if (al) {
        if (al->type != SILKIE_GGUF_U32 || al->v.u == 0 || al->v.u > MAX_ALIGN ||
            (al->v.u & (al->v.u - 1)))
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: general.alignment must be a u32 power of two "
                           "<= %u", r->what, MAX_ALIGN);
        g->alignment = (uint32_t)al->v.u;
    }
    tinfo *ti = SK_NEW_ARRAY(tinfo, n_t ? n_t : 1);
    span *sp = SK_NEW_ARRAY(span, n_t ? n_t : 1);
    silkie_status st = SILKIE_OK;
    if (!ti || !sp) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: tensor infos", r->what);
    for (uint64_t i = 0; st == SILKIE_OK && i < n_t; i++) st = read_tinfo(r, i, &ti[i]);
    uint64_t data_start = ((uint64_t)r->pos + g->alignment - 1) / g->alignment * g->alignment;
    g->data_start = data_start;
    if (st == SILKIE_OK && n_t && data_start > r->size)
        st = short_read(r, "padding before the data");
    uint64_t data_size = data_start <= r->size ? r->size - data_start : 0;
    for (uint64_t i = 0; st == SILKIE_OK && i < n_t; i++) {
        tinfo *t = &ti[i];
        int nl = (int)SK_MIN(t->name_len, 200u);
        const char *nm = (const char *)t->name;
        if (t->offset % g->alignment) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' offset %llu is not a multiple of "
                         "the alignment %u", r->what, nl, nm, (unsigned long long)t->offset,
                         g->alignment);
            break;
        }
        if (t->offset > data_size || t->nbytes > data_size - t->offset) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' [%llu, +%zu) lies outside the "
                         "%llu-byte data area", r->what, nl, nm, (unsigned long long)t->offset,
                         t->nbytes, (unsigned long long)data_size);
            break;
        }
        const uint8_t *data = r->buf + data_start + t->offset;
        size_t need_align = silkie_dtype_block_elems((silkie_dtype)t->type) > 1
                                ? 2 : silkie_dtype_block_bytes((silkie_dtype)t->type);
        if ((uintptr_t)data % need_align) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' data is misaligned in memory",
                         r->what, nl, nm);
            break;
        }
        uint64_t shape[GGML_MAX_DIMS];
        for (uint32_t d = 0; d < t->n_dims; d++) shape[d] = t->ne[t->n_dims - 1 - d];
        st = sk_weights_add(w, r->what, nm, (size_t)t->name_len, (silkie_dtype)t->type,
                            t->n_dims, shape, data, t->nbytes, NULL);
        sp[i] = (span){t->offset, t->offset + t->nbytes, w->n - 1};
    }
    if (st == SILKIE_OK && n_t > 1) {
        qsort(sp, (size_t)n_t, sizeof *sp, span_cmp);
        uint64_t far = UINT64_MAX;
        for (uint64_t i = 0; i < n_t; i++) {
            if (sp[i].begin == sp[i].end) continue;
            if (far != UINT64_MAX && sp[i].begin < sp[far].end) {
                st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensors '%s' and '%s' overlap", r->what,
                             w->entries[sp[far].idx].w.name, w->entries[sp[i].idx].w.name);
                break;
            }
            if (far == UINT64_MAX || sp[i].end > sp[far].end) far = i;
        }
    }
    silkie_free(ti);
    silkie_free(sp);
    return st;
}

silkie_status sk_gguf_parse(silkie_weights *w, const uint8_t *buf, size_t size, const char *what)
{
    if (w->gguf)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: one GGUF file per weights view", what);
    silkie_gguf *g = SK_NEW(silkie_gguf);
    if (!g) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: gguf", what);
    w->gguf = g; /* freed with w, also on failure */
    rd r = {buf, size, 0, what};
    return parse(w, g, &r);
}

void sk_gguf_free(silkie_gguf *g)
{
    if (!g) return;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        silkie_free((void *)g->kv[i].key);
        silkie_free((void *)g->kv[i].str_offsets);
    }
    silkie_free(g->kv);
    silkie_free(g);
}

uint32_t silkie_gguf_version(const silkie_gguf *g) { return g->version; }
uint32_t silkie_gguf_alignment(const silkie_gguf *g) { return g->alignment; }
uint64_t sk_gguf_data_start(const silkie_gguf *g) { return g->data_start; }
uint64_t silkie_gguf_n_kv(const silkie_gguf *g) { return g->n_kv; }
const silkie_gguf_kv *silkie_gguf_kv_at(const silkie_gguf *g, uint64_t i)
{
    return i < g->n_kv ? &g->kv[i] : NULL;
}

const silkie_gguf_kv *silkie_gguf_find_kv(const silkie_gguf *g, const char *key)
{
    for (uint64_t i = 0; g && key && i < g->n_kv; i++)
        if (g->kv[i].key && strcmp(g->kv[i].key, key) == 0) return &g->kv[i];
    return NULL;
}

static silkie_status want(const silkie_gguf *g, const char *key, const silkie_gguf_kv **kv)
{
    if (!g || !key) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_get: g, key required");
    *kv = silkie_gguf_find_kv(g, key);
    if (!*kv) return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: metadata '%s' is missing", key);
    return SILKIE_OK;
}

static bool is_unsigned(silkie_gguf_type t)
{
    return t == SILKIE_GGUF_U8 || t == SILKIE_GGUF_U16 || t == SILKIE_GGUF_U32 ||
           t == SILKIE_GGUF_U64;
}
static bool is_signed(silkie_gguf_type t)
{
    return t == SILKIE_GGUF_I8 || t == SILKIE_GGUF_I16 || t == SILKIE_GGUF_I32 ||
           t == SILKIE_GGUF_I64;
}

silkie_status silkie_gguf_get_u64(const silkie_gguf *g, const char *key, uint64_t *out)
{
    const silkie_gguf_kv *kv;
    SK_CHECK(want(g, key, &kv));
    if (is_unsigned(kv->type)) *out = kv->v.u;
    else if (is_signed(kv->type) && kv->v.i >= 0) *out = (uint64_t)kv->v.i;
    else return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: metadata '%s' is not a non-negative integer",
                        key);
    return SILKIE_OK;
}

silkie_status silkie_gguf_get_u32(const silkie_gguf *g, const char *key, uint32_t *out)
{
    uint64_t v;
    SK_CHECK(silkie_gguf_get_u64(g, key, &v));
    if (v > UINT32_MAX)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: metadata '%s' does not fit 32 bits", key);
    *out = (uint32_t)v;
    return SILKIE_OK;
}

silkie_status silkie_gguf_get_f32(const silkie_gguf *g, const char *key, float *out)
{
    const silkie_gguf_kv *kv;
    SK_CHECK(want(g, key, &kv));
    if (kv->type != SILKIE_GGUF_F32 && kv->type != SILKIE_GGUF_F64)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: metadata '%s' is not a float", key);
    *out = (float)kv->v.f;
    return SILKIE_OK;
}

silkie_status silkie_gguf_get_bool(const silkie_gguf *g, const char *key, bool *out)
{
    const silkie_gguf_kv *kv;
    SK_CHECK(want(g, key, &kv));
    if (kv->type != SILKIE_GGUF_BOOL)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: metadata '%s' is not a bool", key);
    *out = kv->v.u != 0;
    return SILKIE_OK;
}

silkie_status silkie_gguf_get_str(const silkie_gguf *g, const char *key, const char **s,
                                  size_t *len)
{
    const silkie_gguf_kv *kv;
    SK_CHECK(want(g, key, &kv));
    if (kv->type != SILKIE_GGUF_STRING)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: metadata '%s' is not a string", key);
    *s = (const char *)kv->data;
    *len = (size_t)kv->n;
    return SILKIE_OK;
}

silkie_status silkie_gguf_arr_str(const silkie_gguf_kv *kv, uint64_t i, const char **s,
                                  size_t *len)
{
    if (!kv || kv->type != SILKIE_GGUF_ARRAY || kv->arr_type != SILKIE_GGUF_STRING)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_arr_str: not a string array");
    if (i >= kv->n)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_arr_str: index %llu of %llu",
                       (unsigned long long)i, (unsigned long long)kv->n);
    const uint8_t *p = kv->data;
    uint64_t off = kv->str_offsets[i];
    *len = (size_t)sk_le64(p + off);
    *s = (const char *)p + off + 8;
    return SILKIE_OK;
}
