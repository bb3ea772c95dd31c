/* safetensors: u64 header length, JSON header {name: {dtype, shape, data_offsets}}, data area.
 * Everything is validated before any tensor is handed out: sizes, offsets, overlaps, alignment.
 * Tensors are views into the buffer (zero-copy). */
#include <cJSON.h>
#include <stdlib.h>

#include "files_int.h"

static const struct {
    const char *name;
    silkie_dtype dt;
} k_dtypes[] = {
    {"BF16", SILKIE_DTYPE_BF16}, {"F16", SILKIE_DTYPE_F16}, {"F32", SILKIE_DTYPE_F32},
    {"F64", SILKIE_DTYPE_F64},   {"I64", SILKIE_DTYPE_I64}, {"I32", SILKIE_DTYPE_I32},
    {"I16", SILKIE_DTYPE_I16},   {"I8", SILKIE_DTYPE_I8},   {"U8", SILKIE_DTYPE_U8},
    {"BOOL", SILKIE_DTYPE_U8},
};

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

/* A JSON number that is an exact non-negative integer below 2^53 (what doubles hold exactly). */
static bool json_u64(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j)) return false;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return false;
    *out = (uint64_t)d;
    return true;
}

static silkie_status parse_tensor(silkie_weights *w, const cJSON *t, const uint8_t *data,
                                  uint64_t data_size, const char *what, span *sp)
{
    const char *nm = t->string;
    if (!cJSON_IsObject(t))
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' is not an object", what, nm);
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(t, "shape");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    if (!cJSON_IsString(jd) || !cJSON_IsArray(js) || !cJSON_IsArray(jo))
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' needs dtype, shape, data_offsets",
                       what, nm);
    silkie_dtype dt = SILKIE_DTYPE_MAX_;
    for (size_t i = 0; i < SK_ARRAY_LEN(k_dtypes); i++)
        if (strcmp(jd->valuestring, k_dtypes[i].name) == 0) dt = k_dtypes[i].dt;
    if (dt == SILKIE_DTYPE_MAX_)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported dtype '%s'", what,
                       nm, jd->valuestring);
    int nd = cJSON_GetArraySize(js);
    if (nd > (int)SILKIE_WEIGHT_MAX_DIMS)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dims, limit %u", what, nm,
                       nd, SILKIE_WEIGHT_MAX_DIMS);
    uint64_t shape[SILKIE_WEIGHT_MAX_DIMS];
    size_t numel = 1;
    int k = 0;
    for (const cJSON *d = js->child; d; d = d->next, k++) {
        if (!json_u64(d, &shape[k]))
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' shape[%d] is not a size", what,
                           nm, k);
        if (shape[k] > SIZE_MAX || !sk_mul_size(numel, (size_t)shape[k], &numel))
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' shape overflows", what, nm);
    }
    size_t nbytes;
    if (!sk_mul_size(numel, silkie_dtype_block_bytes(dt), &nbytes))
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' size overflows", what, nm);
    uint64_t b, e;
    if (cJSON_GetArraySize(jo) != 2 || !json_u64(jo->child, &b) || !json_u64(jo->child->next, &e))
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' data_offsets is not [begin, end]",
                       what, nm);
    if (b > e || e > data_size)
        return SK_FAIL(SILKIE_ERR_BAD_FILE,
                       "%s: tensor '%s' data_offsets [%llu, %llu] outside the %llu-byte data area",
                       what, nm, (unsigned long long)b, (unsigned long long)e,
                       (unsigned long long)data_size);
    if (e - b != nbytes)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' has %llu bytes, shape x %s needs %zu",
                       what, nm, (unsigned long long)(e - b), silkie_dtype_name(dt), nbytes);
    const uint8_t *p = data + b;
    sp->begin = b;
    sp->end = e;
    /* Views must be usable as typed arrays. Writers that pack tensors back to back (the header
     * padding only aligns the data area) leave some misaligned: those few get an aligned copy,
     * the rest stay zero-copy views of the mapping. */
    void *copy = NULL;
    if (nbytes && ((uintptr_t)p % silkie_dtype_block_bytes(dt)) != 0) {
        copy = silkie_malloc(nbytes);
        if (!copy)
            return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: aligned copy of tensor '%s' (%zu bytes)",
                           what, nm, nbytes);
        memcpy(copy, p, nbytes);
        p = copy;
    }
    return sk_weights_add(w, what, nm, strlen(nm), dt, (uint32_t)nd, shape, p, nbytes, copy);
}

silkie_status sk_safetensors_parse(silkie_weights *w, const uint8_t *buf, size_t size,
                                   const char *what)
{
    if (size < 8) return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: %zu bytes, too short for safetensors",
                                 what, size);
    uint64_t hlen = sk_le64(buf);
    if (hlen < 2 || hlen > SK_MAX_JSON_HEADER || hlen > size - 8)
        return SK_FAIL(SILKIE_ERR_BAD_FILE,
                       "%s: header length %llu does not fit the %zu-byte file (limit %zu)", what,
                       (unsigned long long)hlen, size, SK_MAX_JSON_HEADER);
    const char *json = (const char *)buf + 8;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)hlen, &end, 0);
    if (!root) {
        /* cJSON cannot tell allocation failure from syntax errors; both are a bad header here. */
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: header is not valid JSON (near byte %td)", what,
                       end ? end - json : (ptrdiff_t)-1);
    }
    silkie_status st = SILKIE_OK;
    /* Trailing padding must be whitespace (the writer pads with spaces). */
    for (const char *p = end; p && p < json + hlen; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != 0) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: junk after the JSON header", what);
            break;
        }
    }
    if (st == SILKIE_OK && !cJSON_IsObject(root))
        st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: header is not a JSON object", what);
    const uint8_t *data = buf + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    int n = st == SILKIE_OK ? cJSON_GetArraySize(root) : 0;
    span *spans = n > 0 ? SK_NEW_ARRAY(span, (size_t)n) : NULL;
    if (n > 0 && !spans) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: %d spans", what, n);
    uint32_t ns = 0;
    for (const cJSON *t = st == SILKIE_OK ? root->child : NULL; t; t = t->next) {
        if (strcmp(t->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(t)) {
                st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: __metadata__ is not an object", what);
                break;
            }
            continue;
        }
        st = parse_tensor(w, t, data, data_size, what, &spans[ns]);
        if (st != SILKIE_OK) break;
        spans[ns].idx = w->n - 1;
        ns++;
    }
    if (st == SILKIE_OK && ns > 1) {
        qsort(spans, ns, sizeof *spans, span_cmp);
        /* The farthest end so far, not just the neighbour: a long tensor may cover several. */
        uint32_t far = UINT32_MAX;
        for (uint32_t i = 0; i < ns; i++) {
            if (spans[i].begin == spans[i].end) continue;
            if (far != UINT32_MAX && spans[i].begin < spans[far].end) {
                st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensors '%s' and '%s' overlap", what,
                             w->entries[spans[far].idx].w.name, w->entries[spans[i].idx].w.name);
                break;
            }
            if (far == UINT32_MAX || spans[i].end > spans[far].end) far = i;
        }
    }
    silkie_free(spans);
    cJSON_Delete(root);
    return st;
}
