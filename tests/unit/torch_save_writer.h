/* Writes torch.save-style archives of tensor state dicts, byte for byte in the layout PyTorch's
 * own writer produces, so that the .bin reader can be tested against files it has never seen
 * without needing Python. Test helper.
 *
 * Pickle (protocol 2, as torch.save uses by default): the top-level object is a plain dict (what
 * Hugging Face's shard writer saves) or an OrderedDict carrying a `_metadata` attribute (what
 * model.state_dict() returns), each value `torch._utils._rebuild_tensor_v2(storage, offset,
 * size, stride, False, OrderedDict())` with the storage as persistent id ('storage',
 * torch.<Type>Storage, key, 'cpu', numel). The memo is used the way Python's pickler uses it:
 * every string, tuple, global and reduce result is memoized (BINPUT, LONG_BINPUT past 255) and a
 * second reference to the same object (a global, the interned 'storage'/'cpu'/'version' strings,
 * the key string of a storage shared by several tensors) becomes BINGET/LONG_BINGET. Items are
 * set in batches of 1000 (SETITEMS, SETITEM for a batch of one).
 *
 * Zip (PyTorch's miniz writer): every entry STORED, local headers with the data-descriptor flag
 * and zero CRC/sizes, padded through an "FB" extra field so that data starts on a 64-byte
 * boundary, a data descriptor after each entry, real CRC-32s in descriptor and central
 * directory. Entries: <prefix>/data.pkl, optionally <prefix>/byteorder (torch >= 2.1), one
 * <prefix>/data/<key> per storage in sorted key order (string order: 0, 1, 10, 11, ..., 2),
 * optionally <prefix>/.data/serialization_id, then <prefix>/version. Storage keys are "0", "1",
 * ... in order of first use in the pickle, as torch assigns them. */
#ifndef SILKIE_TORCH_SAVE_WRITER_H
#define SILKIE_TORCH_SAVE_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

#define TSW_MAX_DIMS 8

/* One storage: numel elements of dtype, raw little-endian bytes (borrowed). */
typedef struct tsw_storage {
    silkie_dtype dtype;
    const void *data;
    uint64_t numel;
} tsw_storage;

/* One state-dict entry: a view (offset, shape, stride in elements) of storages[storage]. */
typedef struct tsw_tensor {
    const char *name;
    uint32_t storage;
    uint64_t offset;
    uint32_t n_dims;
    uint64_t shape[TSW_MAX_DIMS];
    int64_t stride[TSW_MAX_DIMS];
} tsw_tensor;

typedef struct tsw_options {
    bool ordered_dict; /* OrderedDict with _metadata (model.state_dict()) instead of a dict */
    bool torch2;       /* also write byteorder and .data/serialization_id (newer torch) */
} tsw_options;

/* ---- growable byte buffer ------------------------------------------------------------------ */

typedef struct tsw_buf {
    uint8_t *p;
    size_t n, cap;
    bool failed;
} tsw_buf;

static void tsw_put(tsw_buf *b, const void *s, size_t n)
{
    if (b->failed) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->failed = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void tsw_byte(tsw_buf *b, uint8_t v) { tsw_put(b, &v, 1); }
static void tsw_le(tsw_buf *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) tsw_byte(b, (uint8_t)(v >> (8 * i)));
}

/* ---- pickler --------------------------------------------------------------------------------- */

/* Memo entries that later references look up: globals and shared strings, by identity key. */
typedef struct tsw_memo_ref {
    char key[160];
    uint32_t index;
} tsw_memo_ref;

typedef struct tsw_pickler {
    tsw_buf out;
    uint32_t memo_next;
    tsw_memo_ref *refs;
    uint32_t n_refs, cap_refs;
} tsw_pickler;

static void tsw_memoize(tsw_pickler *p)
{
    uint32_t i = p->memo_next++;
    if (i < 256) {
        tsw_byte(&p->out, 'q'); /* BINPUT */
        tsw_byte(&p->out, (uint8_t)i);
    } else {
        tsw_byte(&p->out, 'r'); /* LONG_BINPUT */
        tsw_le(&p->out, i, 4);
    }
}

/* Emits BINGET for an object already memoized under `key`; false when it is not. */
static bool tsw_memo_get(tsw_pickler *p, const char *key)
{
    for (uint32_t i = 0; i < p->n_refs; i++) {
        if (strcmp(p->refs[i].key, key) != 0) continue;
        uint32_t idx = p->refs[i].index;
        if (idx < 256) {
            tsw_byte(&p->out, 'h'); /* BINGET */
            tsw_byte(&p->out, (uint8_t)idx);
        } else {
            tsw_byte(&p->out, 'j'); /* LONG_BINGET */
            tsw_le(&p->out, idx, 4);
        }
        return true;
    }
    return false;
}

/* Memoizes the object just written and remembers it under `key` for later references. */
static void tsw_memoize_as(tsw_pickler *p, const char *key)
{
    if (p->n_refs == p->cap_refs) {
        uint32_t cap = p->cap_refs ? 2 * p->cap_refs : 64;
        tsw_memo_ref *r = realloc(p->refs, cap * sizeof *r);
        if (!r) {
            p->out.failed = true;
            return;
        }
        p->refs = r;
        p->cap_refs = cap;
    }
    if (strlen(key) >= sizeof p->refs[0].key) {
        p->out.failed = true;
        return;
    }
    strcpy(p->refs[p->n_refs].key, key);
    p->refs[p->n_refs++].index = p->memo_next;
    tsw_memoize(p);
}

/* save_str with protocol 2: BINUNICODE, memoized. shared: the same string object may be
 * referenced again (interned literals, a shared storage's key), so later calls BINGET it. */
static void tsw_str(tsw_pickler *p, const char *s, const char *shared_key)
{
    if (shared_key && tsw_memo_get(p, shared_key)) return;
    size_t n = strlen(s);
    tsw_byte(&p->out, 'X');
    tsw_le(&p->out, n, 4);
    tsw_put(&p->out, s, n);
    if (shared_key) tsw_memoize_as(p, shared_key);
    else tsw_memoize(p);
}

/* save_long: BININT1/BININT2/BININT, LONG1 beyond 32 bits (minimal two's complement). */
static void tsw_int(tsw_pickler *p, int64_t v)
{
    if (v >= 0 && v <= 0xff) {
        tsw_byte(&p->out, 'K');
        tsw_byte(&p->out, (uint8_t)v);
    } else if (v >= 0 && v <= 0xffff) {
        tsw_byte(&p->out, 'M');
        tsw_le(&p->out, (uint64_t)v, 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        tsw_byte(&p->out, 'J');
        tsw_le(&p->out, (uint64_t)v, 4);
    } else {
        uint8_t b[8];
        int n = 0;
        uint64_t u = (uint64_t)v;
        for (; n < 8; n++) b[n] = (uint8_t)(u >> (8 * n));
        /* Drop redundant sign bytes, keeping the top bit of the last byte equal to the sign. */
        while (n > 1 && ((b[n - 1] == 0 && !(b[n - 2] & 0x80)) ||
                         (b[n - 1] == 0xff && (b[n - 2] & 0x80))))
            n--;
        tsw_byte(&p->out, 0x8a);
        tsw_byte(&p->out, (uint8_t)n);
        tsw_put(&p->out, b, (size_t)n);
    }
}

/* GLOBAL "module\nname\n", memoized once and fetched by BINGET afterwards. */
static void tsw_global(tsw_pickler *p, const char *mod, const char *name)
{
    char key[160];
    snprintf(key, sizeof key, "global:%s.%s", mod, name);
    if (tsw_memo_get(p, key)) return;
    tsw_byte(&p->out, 'c');
    tsw_put(&p->out, mod, strlen(mod));
    tsw_byte(&p->out, '\n');
    tsw_put(&p->out, name, strlen(name));
    tsw_byte(&p->out, '\n');
    tsw_memoize_as(p, key);
}

/* save_tuple of integers: EMPTY_TUPLE (not memoized), TUPLE1..3, or MARK ... TUPLE. */
static void tsw_int_tuple(tsw_pickler *p, const int64_t *v, uint32_t n)
{
    if (n == 0) {
        tsw_byte(&p->out, ')');
        return;
    }
    if (n > 3) tsw_byte(&p->out, '(');
    for (uint32_t i = 0; i < n; i++) tsw_int(p, v[i]);
    tsw_byte(&p->out, n == 1 ? 0x85 : n == 2 ? 0x86 : n == 3 ? 0x87 : 't');
    tsw_memoize(p);
}

/* OrderedDict(): GLOBAL, EMPTY_TUPLE, REDUCE, memoized result. */
static void tsw_ordered_dict(tsw_pickler *p)
{
    tsw_global(p, "collections", "OrderedDict");
    tsw_byte(&p->out, ')');
    tsw_byte(&p->out, 'R');
    tsw_memoize(p);
}

static const char *tsw_storage_type(silkie_dtype t)
{
    switch (t) {
    case SILKIE_DTYPE_BF16: return "BFloat16Storage";
    case SILKIE_DTYPE_F16: return "HalfStorage";
    case SILKIE_DTYPE_F32: return "FloatStorage";
    default: return NULL;
    }
}

/* One tensor value: _rebuild_tensor_v2 applied to its argument tuple. `key` is the storage's
 * archive key; the storage's first reference creates the key string, later ones BINGET it. */
static void tsw_tensor_value(tsw_pickler *p, const tsw_tensor *t, const tsw_storage *s,
                             const char *key, uint32_t storage_index)
{
    char skey[64];
    snprintf(skey, sizeof skey, "storage-key:%u", storage_index);
    tsw_global(p, "torch._utils", "_rebuild_tensor_v2");
    tsw_byte(&p->out, '(');
    /* Persistent id tuple (5 items: MARK ... TUPLE), then BINPERSID. */
    tsw_byte(&p->out, '(');
    tsw_str(p, "storage", "str:storage");
    const char *ty = tsw_storage_type(s->dtype);
    if (!ty) p->out.failed = true;
    else tsw_global(p, "torch", ty);
    tsw_str(p, key, skey);
    tsw_str(p, "cpu", "str:cpu");
    tsw_int(p, (int64_t)s->numel);
    tsw_byte(&p->out, 't');
    tsw_memoize(p);
    tsw_byte(&p->out, 'Q');
    tsw_int(p, (int64_t)t->offset);
    int64_t shape[TSW_MAX_DIMS];
    for (uint32_t d = 0; d < t->n_dims; d++) shape[d] = (int64_t)t->shape[d];
    tsw_int_tuple(p, shape, t->n_dims);
    tsw_int_tuple(p, t->stride, t->n_dims);
    tsw_byte(&p->out, 0x89); /* requires_grad False */
    tsw_ordered_dict(p);     /* backward hooks */
    tsw_byte(&p->out, 't');
    tsw_memoize(p);
    tsw_byte(&p->out, 'R');
    tsw_memoize(p);
}

/* Module paths of the tensors ("" then every parent of every name, first appearance order), the
 * keys of state_dict()._metadata, each mapped to {'version': 1}. */
static void tsw_metadata(tsw_pickler *p, const tsw_tensor *t, uint32_t n)
{
    uint32_t cap = 1;
    for (uint32_t i = 0; i < n; i++)
        for (const char *c = t[i].name; *c; c++) cap += *c == '.';
    char **mods = calloc(cap, sizeof *mods);
    uint32_t n_mods = 0;
    if (!mods) {
        p->out.failed = true;
        return;
    }
    mods[n_mods++] = strdup("");
    for (uint32_t i = 0; i < n; i++) {
        for (const char *c = t[i].name; *c; c++) {
            if (*c != '.') continue;
            size_t len = (size_t)(c - t[i].name);
            bool seen = false;
            for (uint32_t k = 0; k < n_mods && !seen; k++)
                seen = mods[k] && strlen(mods[k]) == len && memcmp(mods[k], t[i].name, len) == 0;
            if (seen) continue;
            mods[n_mods] = malloc(len + 1);
            if (!mods[n_mods]) break;
            memcpy(mods[n_mods], t[i].name, len);
            mods[n_mods++][len] = 0;
        }
    }
    tsw_byte(&p->out, '}'); /* the state: {'_metadata': OrderedDict(...)} */
    tsw_memoize(p);
    tsw_str(p, "_metadata", NULL);
    tsw_ordered_dict(p);
    for (uint32_t start = 0; start < n_mods; start += 1000) {
        uint32_t batch = SK_MIN(n_mods - start, 1000u);
        if (batch > 1) tsw_byte(&p->out, '(');
        for (uint32_t k = start; k < start + batch; k++) {
            if (!mods[k]) {
                p->out.failed = true;
                break;
            }
            tsw_str(p, mods[k], NULL);
            tsw_byte(&p->out, '}');
            tsw_memoize(p);
            tsw_str(p, "version", "str:version");
            tsw_int(p, 1);
            tsw_byte(&p->out, 's');
        }
        tsw_byte(&p->out, batch > 1 ? 'u' : 's');
    }
    tsw_byte(&p->out, 's'); /* state['_metadata'] = ... */
    tsw_byte(&p->out, 'b'); /* BUILD */
    for (uint32_t k = 0; k < n_mods; k++) free(mods[k]);
    free(mods);
}

/* ---- zip ------------------------------------------------------------------------------------ */

/* CRC-32 (zip polynomial), slicing by 8: the shards hold tens of MB, and a byte-wise loop
 * would dominate the test's run time. */
static uint32_t tsw_crc32(uint32_t crc, const void *data, size_t n)
{
    static uint32_t t[8][256];
    static bool ready;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[0][i] = c;
        }
        for (uint32_t i = 0; i < 256; i++)
            for (int k = 1; k < 8; k++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
        ready = true;
    }
    const uint8_t *b = data;
    crc = ~crc;
    for (; n >= 8; n -= 8, b += 8) {
        uint32_t lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                             (uint32_t)b[3] << 24);
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^
              t[4][lo >> 24] ^ t[3][b[4]] ^ t[2][b[5]] ^ t[1][b[6]] ^ t[0][b[7]];
    }
    for (; n; n--) crc = t[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

typedef struct tsw_zip_entry {
    char name[256];
    uint64_t offset, size;
    uint32_t crc;
} tsw_zip_entry;

typedef struct tsw_zip {
    FILE *f;
    uint64_t pos;
    tsw_zip_entry *e;
    uint32_t n, cap;
    bool failed;
} tsw_zip;

static void tsw_zip_raw(tsw_zip *z, const void *p, size_t n)
{
    if (z->failed) return;
    if (n && fwrite(p, 1, n, z->f) != n) z->failed = true;
    z->pos += n;
}

/* One STORED record the way PyTorch's writer lays it out (32-bit sizes: these archives are
 * small; the reader's zip64 path is covered by test_torch_bin). */
static void tsw_zip_record(tsw_zip *z, const char *name, const void *data, uint64_t size)
{
    size_t nl = strlen(name);
    if (z->failed || nl >= sizeof z->e[0].name || size >= 0xffffffffu || z->pos >= 0xffffffffu) {
        z->failed = true;
        return;
    }
    if (z->n == z->cap) {
        uint32_t cap = z->cap ? 2 * z->cap : 64;
        tsw_zip_entry *e = realloc(z->e, cap * sizeof *e);
        if (!e) {
            z->failed = true;
            return;
        }
        z->e = e;
        z->cap = cap;
    }
    tsw_zip_entry *e = &z->e[z->n++];
    strcpy(e->name, name);
    e->offset = z->pos;
    e->size = size;
    e->crc = tsw_crc32(0, data, (size_t)size);
    uint64_t start = z->pos + 30 + nl + 4;
    uint64_t pad = (64 - start % 64) % 64;
    tsw_buf h = {0};
    tsw_le(&h, 0x04034b50u, 4);
    tsw_le(&h, 0, 2);      /* version needed */
    tsw_le(&h, 0x0808, 2); /* data descriptor follows, UTF-8 names */
    tsw_le(&h, 0, 2);      /* stored */
    tsw_le(&h, 0, 4);      /* time, date */
    tsw_le(&h, 0, 4);      /* crc: in the descriptor */
    tsw_le(&h, 0, 8);      /* sizes: in the descriptor */
    tsw_le(&h, nl, 2);
    tsw_le(&h, 4 + pad, 2);
    tsw_put(&h, name, nl);
    tsw_put(&h, "FB", 2);
    tsw_le(&h, pad, 2);
    for (uint64_t i = 0; i < pad; i++) tsw_byte(&h, 'Z');
    if (h.failed) z->failed = true;
    else tsw_zip_raw(z, h.p, h.n);
    tsw_zip_raw(z, data, (size_t)size);
    h.n = 0;
    tsw_le(&h, 0x08074b50u, 4);
    tsw_le(&h, e->crc, 4);
    tsw_le(&h, size, 4);
    tsw_le(&h, size, 4);
    if (h.failed) z->failed = true;
    else tsw_zip_raw(z, h.p, h.n);
    free(h.p);
}

static void tsw_zip_finish(tsw_zip *z)
{
    tsw_buf c = {0};
    uint64_t cd = z->pos;
    for (uint32_t i = 0; i < z->n; i++) {
        size_t nl = strlen(z->e[i].name);
        tsw_le(&c, 0x02014b50u, 4);
        tsw_le(&c, 0, 2);      /* made by */
        tsw_le(&c, 0, 2);      /* needed */
        tsw_le(&c, 0x0808, 2);
        tsw_le(&c, 0, 2);      /* stored */
        tsw_le(&c, 0, 4);      /* time, date */
        tsw_le(&c, z->e[i].crc, 4);
        tsw_le(&c, z->e[i].size, 4);
        tsw_le(&c, z->e[i].size, 4);
        tsw_le(&c, nl, 2);
        tsw_le(&c, 0, 2);      /* extra */
        tsw_le(&c, 0, 2);      /* comment */
        tsw_le(&c, 0, 2);      /* disk */
        tsw_le(&c, 0, 2);      /* internal attributes */
        tsw_le(&c, 0, 4);      /* external attributes */
        tsw_le(&c, z->e[i].offset, 4);
        tsw_put(&c, z->e[i].name, nl);
    }
    uint64_t cd_size = c.n;
    tsw_le(&c, 0x06054b50u, 4);
    tsw_le(&c, 0, 4);
    tsw_le(&c, z->n, 2);
    tsw_le(&c, z->n, 2);
    tsw_le(&c, cd_size, 4);
    tsw_le(&c, cd, 4);
    tsw_le(&c, 0, 2);
    if (c.failed || z->n > 0xffff) z->failed = true;
    else tsw_zip_raw(z, c.p, c.n);
    free(c.p);
}

/* ---- the archive --------------------------------------------------------------------------- */

typedef struct tsw_key {
    const char *key;
    uint32_t storage;
} tsw_key;

static int tsw_key_cmp(const void *a, const void *b)
{
    return strcmp(((const tsw_key *)a)->key, ((const tsw_key *)b)->key);
}

/* Writes `path` as torch.save(state_dict) would with the archive folder `prefix` (torch uses the
 * file name without extension). Returns 0 on success, -1 on any failure (message on stderr). */
static int tsw_save(const char *path, const char *prefix, const tsw_tensor *t, uint32_t n,
                    const tsw_storage *s, uint32_t n_storages, const tsw_options *opt)
{
    tsw_options o = opt ? *opt : (tsw_options){0};
    /* Storage keys in order of first use; key[i] = NULL for storages this archive omits. */
    char (*keys)[16] = calloc(n_storages ? n_storages : 1, sizeof *keys);
    uint32_t n_keys = 0;
    tsw_pickler p = {0};
    int rc = -1;
    if (!keys) goto done;
    for (uint32_t i = 0; i < n; i++) {
        if (t[i].storage >= n_storages || t[i].n_dims > TSW_MAX_DIMS) goto done;
        if (!keys[t[i].storage][0]) snprintf(keys[t[i].storage], 16, "%u", n_keys++);
    }
    tsw_byte(&p.out, 0x80); /* PROTO 2 */
    tsw_byte(&p.out, 2);
    if (o.ordered_dict) {
        tsw_ordered_dict(&p);
    } else {
        tsw_byte(&p.out, '}');
        tsw_memoize(&p);
    }
    for (uint32_t start = 0; start < n; start += 1000) {
        uint32_t batch = SK_MIN(n - start, 1000u);
        if (batch > 1) tsw_byte(&p.out, '(');
        for (uint32_t i = start; i < start + batch; i++) {
            tsw_str(&p, t[i].name, NULL);
            tsw_tensor_value(&p, &t[i], &s[t[i].storage], keys[t[i].storage], t[i].storage);
        }
        tsw_byte(&p.out, batch > 1 ? 'u' : 's');
    }
    if (o.ordered_dict) tsw_metadata(&p, t, n);
    tsw_byte(&p.out, '.');
    if (p.out.failed) goto done;

    tsw_zip z = {0};
    z.f = fopen(path, "wb");
    if (!z.f) goto done;
    char name[300];
    snprintf(name, sizeof name, "%s/data.pkl", prefix);
    tsw_zip_record(&z, name, p.out.p, p.out.n);
    if (o.torch2) {
        snprintf(name, sizeof name, "%s/byteorder", prefix);
        tsw_zip_record(&z, name, "little", 6);
    }
    /* Storages in sorted key order (string order, as torch sorts its keys). */
    tsw_key *sorted = calloc(n_keys ? n_keys : 1, sizeof *sorted);
    if (!sorted) z.failed = true;
    for (uint32_t i = 0, k = 0; sorted && i < n_storages; i++)
        if (keys[i][0]) sorted[k++] = (tsw_key){keys[i], i};
    if (sorted) qsort(sorted, n_keys, sizeof *sorted, tsw_key_cmp);
    for (uint32_t k = 0; sorted && k < n_keys; k++) {
        const tsw_storage *st = &s[sorted[k].storage];
        snprintf(name, sizeof name, "%s/data/%s", prefix, sorted[k].key);
        tsw_zip_record(&z, name, st->data, st->numel * silkie_dtype_block_bytes(st->dtype));
    }
    free(sorted);
    if (o.torch2) {
        snprintf(name, sizeof name, "%s/.data/serialization_id", prefix);
        tsw_zip_record(&z, name, "1234567890123456789012345678901234567890", 40);
    }
    snprintf(name, sizeof name, "%s/version", prefix);
    tsw_zip_record(&z, name, "3\n", 2);
    tsw_zip_finish(&z);
    if (fclose(z.f) != 0) z.failed = true;
    free(z.e);
    rc = z.failed ? -1 : 0;
done:
    if (rc) fprintf(stderr, "tsw_save: cannot write %s\n", path);
    free(p.out.p);
    free(p.refs);
    free(keys);
    return rc;
}

#endif
