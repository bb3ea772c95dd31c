/* PyTorch .bin (torch.save zip format): <dir>/data.pkl describes the state dict, <dir>/data/<key>
 * holds each storage's raw little-endian bytes. Tensors are views into storages, possibly with an
 * offset, arbitrary strides, or shared storage; contiguous aligned ones stay zero-copy views,
 * others get one contiguous copy. */
#include "files_int.h"

static silkie_status find_pickle(const sk_zip *z, const char *what, const sk_zip_entry **pkl,
                                 size_t *prefix_len)
{
    static const char suffix[] = "data.pkl";
    const size_t sl = sizeof suffix - 1;
    *pkl = NULL;
    for (uint32_t i = 0; i < z->n; i++) {
        const sk_zip_entry *e = &z->entries[i];
        /* "<one folder>/data.pkl": the folder name varies with the file name torch.save got. */
        if (e->name_len <= sl + 1 || memcmp(e->name + e->name_len - sl, suffix, sl) != 0 ||
            e->name[e->name_len - sl - 1] != '/')
            continue;
        if (memchr(e->name, '/', e->name_len - sl - 1)) continue;
        if (*pkl) return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: more than one data.pkl", what);
        *pkl = e;
        *prefix_len = e->name_len - sl;
    }
    if (!*pkl)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: no <folder>/data.pkl (not a torch.save archive)",
                       what);
    return SILKIE_OK;
}

static bool is_contiguous(const sk_pkl_tensor *t)
{
    uint64_t want = 1;
    for (uint32_t i = t->n_dims; i-- > 0;) {
        if (t->shape[i] != 1 && t->stride[i] != want) return false;
        want *= t->shape[i];
    }
    return true;
}

/* Gathers a strided view into dst, odometer-style (no recursion). */
static void gather(const uint8_t *src, const sk_pkl_tensor *t, size_t es, uint64_t numel,
                   uint8_t *dst)
{
    uint64_t idx[SILKIE_WEIGHT_MAX_DIMS] = {0};
    uint64_t off = t->offset;
    for (uint64_t k = 0; k < numel; k++) {
        memcpy(dst + k * es, src + off * es, es);
        for (uint32_t d = t->n_dims; d-- > 0;) {
            if (++idx[d] < t->shape[d]) {
                off += t->stride[d];
                break;
            }
            off -= (idx[d] - 1) * t->stride[d];
            idx[d] = 0;
        }
    }
}

static silkie_status add_tensor(silkie_weights *w, const sk_zip *z, const sk_zip_entry *pkl,
                                size_t prefix_len, const sk_pkl_tensor *t, const char *what)
{
    const int nl = (int)SK_MIN(t->name_len, 300u);
    /* Storage entry "<dir>/data/<key>". */
    char path[512];
    if (prefix_len + 5 + t->key_len >= sizeof path)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' storage key too long", what, nl,
                       t->name);
    memcpy(path, pkl->name, prefix_len);
    memcpy(path + prefix_len, "data/", 5);
    memcpy(path + prefix_len + 5, t->key, t->key_len);
    const sk_zip_entry *se = sk_zip_find(z, path, prefix_len + 5 + t->key_len);
    if (!se)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' needs storage '%.*s', not in the "
                       "archive", what, nl, t->name, (int)SK_MIN(t->key_len, 100u), t->key);
    size_t es = silkie_dtype_block_bytes(t->dtype);
    uint64_t sbytes;
    if (__builtin_mul_overflow(t->storage_numel, (uint64_t)es, &sbytes) || sbytes != se->size)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' storage has %llu bytes, want %llu "
                       "x %zu", what, nl, t->name, (unsigned long long)se->size,
                       (unsigned long long)t->storage_numel, es);
    uint64_t numel = 1, last = t->offset;
    bool empty = false;
    for (uint32_t i = 0; i < t->n_dims; i++) {
        if (t->shape[i] == 0) empty = true;
        if (__builtin_mul_overflow(numel, t->shape[i], &numel))
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' shape overflows", what, nl,
                           t->name);
    }
    for (uint32_t i = 0; i < t->n_dims && !empty; i++) {
        uint64_t span;
        if (__builtin_mul_overflow(t->shape[i] - 1, t->stride[i], &span) ||
            __builtin_add_overflow(last, span, &last))
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' strides overflow", what, nl,
                           t->name);
    }
    if (!empty && last >= t->storage_numel)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' reaches element %llu of a "
                       "%llu-element storage", what, nl, t->name, (unsigned long long)last,
                       (unsigned long long)t->storage_numel);
    size_t nbytes;
    if (numel > SIZE_MAX || !sk_mul_size((size_t)numel, es, &nbytes))
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%.*s' is too large", what, nl, t->name);
    if (empty)
        return sk_weights_add(w, what, t->name, t->name_len, t->dtype, t->n_dims, t->shape,
                              se->data, 0, NULL);
    const uint8_t *src = se->data + t->offset * es;
    if (is_contiguous(t) && (uintptr_t)src % es == 0)
        return sk_weights_add(w, what, t->name, t->name_len, t->dtype, t->n_dims, t->shape, src,
                              nbytes, NULL);
    uint8_t *copy = silkie_malloc(nbytes);
    if (!copy)
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: tensor '%.*s': %zu bytes", what, nl,
                       t->name, nbytes);
    gather(se->data, t, es, numel, copy);
    return sk_weights_add(w, what, t->name, t->name_len, t->dtype, t->n_dims, t->shape, copy,
                          nbytes, copy);
}

silkie_status sk_torch_zip_parse(silkie_weights *w, const uint8_t *buf, size_t size,
                                 const char *what)
{
    /* Before torch 1.6, torch.save wrote a bare pickle stream followed by raw storages. */
    if (size >= 2 && buf[0] == 0x80 && buf[1] <= 5)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: legacy (pre-1.6) torch.save format; re-save "
                       "it with a current PyTorch", what);
    sk_zip z;
    SK_CHECK(sk_zip_open(buf, size, what, &z));
    const sk_zip_entry *pkl = NULL;
    size_t prefix_len = 0;
    silkie_status st = find_pickle(&z, what, &pkl, &prefix_len);
    if (st == SILKIE_OK) {
        /* Newer torch records the byte order; big-endian archives would need swapping. */
        char bo[256];
        if (prefix_len + 9 < sizeof bo) {
            memcpy(bo, pkl->name, prefix_len);
            memcpy(bo + prefix_len, "byteorder", 9);
            const sk_zip_entry *e = sk_zip_find(&z, bo, prefix_len + 9);
            if (e && !(e->size == 6 && memcmp(e->data, "little", 6) == 0))
                st = SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: byteorder is not 'little'", what);
        }
    }
    sk_pkl_result r = {0};
    if (st == SILKIE_OK) st = sk_pickle_state_dict(pkl->data, (size_t)pkl->size, what, &r);
    for (uint32_t i = 0; st == SILKIE_OK && i < r.n; i++)
        st = add_tensor(w, &z, pkl, prefix_len, &r.t[i], what);
    sk_pickle_release(&r);
    sk_zip_release(&z);
    return st;
}
