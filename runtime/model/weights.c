/* The uniform weights view: a table of named tensors over one or more mapped containers, and
 * the logic that finds the containers of a checkpoint folder (single file or sharded). */
#include <cJSON.h>
#include <stdio.h>

#include <sys/mman.h>
#include <unistd.h>

#include "files_int.h"


silkie_weights *sk_weights_new(silkie_weights_format f)
{
    silkie_weights *w = SK_NEW(silkie_weights);
    if (w) w->format = f;
    return w;
}

static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static int64_t find_index(const silkie_weights *w, const char *name, size_t len)
{
    if (!w->n_slots) return -1;
    uint32_t mask = w->n_slots - 1;
    for (uint32_t i = name_hash(name, len) & mask;; i = (i + 1) & mask) {
        uint32_t s = w->slots[i];
        if (!s) return -1;
        const char *e = w->entries[s - 1].w.name;
        if (strncmp(e, name, len) == 0 && e[len] == 0) return (int64_t)s - 1;
    }
}

static void slot_insert(silkie_weights *w, uint32_t idx)
{
    const char *nm = w->entries[idx].w.name;
    uint32_t mask = w->n_slots - 1;
    uint32_t i = name_hash(nm, strlen(nm)) & mask;
    while (w->slots[i]) i = (i + 1) & mask;
    w->slots[i] = idx + 1;
}

static silkie_status grow(silkie_weights *w, const char *what)
{
    if (w->n >= SK_MAX_TENSORS)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: more than %u tensors", what, SK_MAX_TENSORS);
    if (w->n == w->cap) {
        uint32_t cap = w->cap ? w->cap * 2 : 64;
        sk_entry *e = silkie_realloc(w->entries, (size_t)cap * sizeof *e);
        if (!e) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: tensor table", what);
        w->entries = e;
        w->cap = cap;
    }
    if ((uint64_t)(w->n + 1) * 2 > w->n_slots) {
        uint32_t ns = w->n_slots ? w->n_slots * 2 : 128;
        uint32_t *s = SK_NEW_ARRAY(uint32_t, ns);
        if (!s) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: tensor index", what);
        silkie_free(w->slots);
        w->slots = s;
        w->n_slots = ns;
        for (uint32_t i = 0; i < w->n; i++) slot_insert(w, i);
    }
    return SILKIE_OK;
}

silkie_status sk_weights_add(silkie_weights *w, const char *what, const char *name,
                             size_t name_len, silkie_dtype dt, uint32_t n_dims,
                             const uint64_t *shape, const void *data, size_t nbytes,
                             void *owned)
{
    silkie_status st = grow(w, what);
    if (st != SILKIE_OK) {
        silkie_free(owned);
        return st;
    }
    if (name_len == 0 || name_len > SK_MAX_NAME_LEN || memchr(name, 0, name_len)) {
        silkie_free(owned);
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor name empty, too long or has a NUL",
                       what);
    }
    if (find_index(w, name, name_len) >= 0) {
        silkie_free(owned);
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: duplicate tensor '%.*s'", what, (int)name_len,
                       name);
    }
    if (n_dims > SILKIE_WEIGHT_MAX_DIMS) {
        silkie_free(owned);
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: tensor '%.*s' has %u dims, limit %u", what,
                       (int)name_len, name, n_dims, SILKIE_WEIGHT_MAX_DIMS);
    }
    char *nm = silkie_malloc(name_len + 1);
    if (!nm) {
        silkie_free(owned);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: tensor name", what);
    }
    memcpy(nm, name, name_len);
    nm[name_len] = 0;
    sk_entry *e = &w->entries[w->n];
    memset(e, 0, sizeof *e);
    e->w.name = nm;
    e->w.dtype = dt;
    e->w.n_dims = n_dims;
    for (uint32_t i = 0; i < n_dims; i++) e->w.shape[i] = shape[i];
    e->w.data = data;
    e->w.nbytes = nbytes;
    e->owned = owned;
    slot_insert(w, w->n);
    w->n++;
    return SILKIE_OK;
}

silkie_status sk_weights_add_map(silkie_weights *w, sk_map *m)
{
    if (w->n_maps == w->cap_maps) {
        uint32_t cap = w->cap_maps ? w->cap_maps * 2 : 4;
        sk_map *p = silkie_realloc(w->maps, cap * sizeof *p);
        if (!p) {
            sk_map_release(m);
            return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "weights: file list");
        }
        w->maps = p;
        w->cap_maps = cap;
    }
    w->maps[w->n_maps++] = *m;
    m->base = NULL;
    m->size = 0;
    return SILKIE_OK;
}

void sk_weights_mark_file(silkie_weights *w, uint32_t from, uint32_t idx)
{
    for (uint32_t i = from; i < w->n; i++) w->entries[i].w.file = idx;
}

void silkie_weights_close(silkie_weights *w)
{
    if (!w) return;
    for (uint32_t i = 0; i < w->n; i++) {
        silkie_free((void *)w->entries[i].w.name);
        silkie_free(w->entries[i].owned);
    }
    silkie_free(w->entries);
    silkie_free(w->slots);
    for (uint32_t i = 0; i < w->n_maps; i++) sk_map_release(&w->maps[i]);
    silkie_free(w->maps);
    sk_gguf_free(w->gguf);
    silkie_free(w);
}

silkie_weights_format silkie_weights_format_of(const silkie_weights *w) { return w->format; }
uint32_t silkie_weights_count(const silkie_weights *w) { return w ? w->n : 0; }
const silkie_weight *silkie_weights_at(const silkie_weights *w, uint32_t i)
{
    return w && i < w->n ? &w->entries[i].w : NULL;
}
const silkie_gguf *silkie_weights_gguf(const silkie_weights *w) { return w ? w->gguf : NULL; }

const silkie_weight *silkie_weights_find(const silkie_weights *w, const char *name)
{
    if (!w || !name) return NULL;
    int64_t i = find_index(w, name, strlen(name));
    return i < 0 ? NULL : &w->entries[i].w;
}

silkie_status silkie_weights_get(const silkie_weights *w, const char *name,
                                 const silkie_weight **out)
{
    if (!w || !name || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "weights_get: w, name, out required");
    *out = silkie_weights_find(w, name);
    if (!*out) return SK_FAIL(SILKIE_ERR_BAD_MODEL, "weights: tensor '%s' is missing", name);
    return SILKIE_OK;
}

/* ---- in-memory entry points --------------------------------------------------------------- */

typedef silkie_status (*parse_fn)(silkie_weights *, const uint8_t *, size_t, const char *);

static silkie_status from_mem(silkie_weights_format f, parse_fn fn, const void *buf, size_t size,
                              const char *what, silkie_weights **out)
{
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "weights: out required");
    *out = NULL;
    if (!buf && size) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "weights: buffer required");
    if (!what) what = "buffer";
    silkie_weights *w = sk_weights_new(f);
    if (!w) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: weights", what);
    silkie_status st = fn(w, (const uint8_t *)buf, size, what);
    if (st != SILKIE_OK) {
        silkie_weights_close(w);
        return st;
    }
    *out = w;
    return SILKIE_OK;
}

silkie_status silkie_weights_from_safetensors(const void *buf, size_t size, const char *what,
                                              silkie_weights **out)
{
    return from_mem(SILKIE_WEIGHTS_SAFETENSORS, sk_safetensors_parse, buf, size, what, out);
}
silkie_status silkie_weights_from_torch_zip(const void *buf, size_t size, const char *what,
                                            silkie_weights **out)
{
    return from_mem(SILKIE_WEIGHTS_TORCH_BIN, sk_torch_zip_parse, buf, size, what, out);
}
silkie_status silkie_weights_from_gguf(const void *buf, size_t size, const char *what,
                                       silkie_weights **out)
{
    return from_mem(SILKIE_WEIGHTS_GGUF, sk_gguf_parse, buf, size, what, out);
}

/* ---- files and folders -------------------------------------------------------------------- */

static silkie_status add_file(silkie_weights *w, const char *path, parse_fn fn)
{
    sk_map m;
    SK_CHECK(sk_map_file(path, &m));
    const uint8_t *base = m.base;
    size_t size = m.size;
    SK_CHECK(sk_weights_add_map(w, &m)); /* the mapping now belongs to w, even on failure */
    uint32_t from = w->n;
    SK_CHECK(fn(w, base, size, path));
    sk_weights_mark_file(w, from, w->n_maps - 1);
    return SILKIE_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Shard names come from a file we do not trust: they must stay inside the folder. */
static bool shard_name_ok(const char *s)
{
    return s[0] && !strchr(s, '/') && !strchr(s, '\\') && strcmp(s, ".") && strcmp(s, "..");
}

typedef struct shard_list {
    char **files;
    uint32_t n;
} shard_list;

static void shard_list_release(shard_list *l)
{
    for (uint32_t i = 0; i < l->n; i++) silkie_free(l->files[i]);
    silkie_free(l->files);
}

static silkie_status open_sharded(silkie_weights *w, const char *dir, const char *index_name,
                                  parse_fn fn)
{
    char *ipath = sk_path_join(dir, index_name);
    if (!ipath) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "weights: path");
    char *text = NULL;
    size_t len = 0;
    silkie_status st = sk_read_text(ipath, SK_MAX_JSON_HEADER, &text, &len);
    cJSON *root = NULL;
    shard_list shards = {0};
    const cJSON *map = NULL;
    if (st == SILKIE_OK) {
        root = cJSON_ParseWithLengthOpts(text, len, NULL, 0);
        if (!root || !cJSON_IsObject(root))
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: not a JSON object", ipath);
    }
    if (st == SILKIE_OK) {
        map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
        if (!cJSON_IsObject(map))
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: 'weight_map' missing or not an object", ipath);
    }
    uint32_t n_names = 0;
    if (st == SILKIE_OK) {
        n_names = (uint32_t)cJSON_GetArraySize(map);
        shards.files = SK_NEW_ARRAY(char *, n_names ? n_names : 1);
        if (!shards.files) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: shard list", ipath);
    }
    /* Unique shard files, in order of first appearance. */
    for (const cJSON *it = map ? map->child : NULL; st == SILKIE_OK && it; it = it->next) {
        if (!cJSON_IsString(it) || !shard_name_ok(it->valuestring)) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: weight_map['%s'] is not a plain file name",
                         ipath, it->string ? it->string : "");
            break;
        }
        uint32_t k = 0;
        while (k < shards.n && strcmp(shards.files[k], it->valuestring)) k++;
        if (k < shards.n) continue;
        if (shards.n >= SK_MAX_SHARDS) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: more than %u shards", ipath, SK_MAX_SHARDS);
            break;
        }
        shards.files[shards.n] = silkie_strdup(it->valuestring);
        if (!shards.files[shards.n]) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: name", ipath);
        else shards.n++;
    }
    if (st == SILKIE_OK && shards.n == 0)
        st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: weight_map is empty", ipath);
    for (uint32_t i = 0; st == SILKIE_OK && i < shards.n; i++) {
        char *p = sk_path_join(dir, shards.files[i]);
        if (!p) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "weights: path");
        else st = add_file(w, p, fn);
        silkie_free(p);
    }
    /* The index and the shards must agree both ways. */
    for (const cJSON *it = map ? map->child : NULL; st == SILKIE_OK && it; it = it->next) {
        const silkie_weight *t = silkie_weights_find(w, it->string);
        if (!t) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' listed for %s is not in it",
                         ipath, it->string, it->valuestring);
        } else if (strcmp(shards.files[t->file], it->valuestring) != 0) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' is in %s, index says %s", ipath,
                         it->string, shards.files[t->file], it->valuestring);
        }
    }
    if (st == SILKIE_OK && w->n != n_names) {
        for (uint32_t i = 0; i < w->n; i++) {
            if (!cJSON_GetObjectItemCaseSensitive(map, w->entries[i].w.name)) {
                st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' of %s is not in weight_map",
                             ipath, w->entries[i].w.name, shards.files[w->entries[i].w.file]);
                break;
            }
        }
    }
    shard_list_release(&shards);
    cJSON_Delete(root);
    silkie_free(text);
    silkie_free(ipath);
    return st;
}

typedef struct folder_kind {
    const char *name;
    bool index;
    silkie_weights_format format;
    parse_fn fn;
} folder_kind;

static const folder_kind k_folder[] = {
    {"model.safetensors", false, SILKIE_WEIGHTS_SAFETENSORS, sk_safetensors_parse},
    {"model.safetensors.index.json", true, SILKIE_WEIGHTS_SAFETENSORS, sk_safetensors_parse},
    {"pytorch_model.bin", false, SILKIE_WEIGHTS_TORCH_BIN, sk_torch_zip_parse},
    {"pytorch_model.bin.index.json", true, SILKIE_WEIGHTS_TORCH_BIN, sk_torch_zip_parse},
    {"adapter_model.safetensors", false, SILKIE_WEIGHTS_SAFETENSORS, sk_safetensors_parse},
    {"adapter_model.bin", false, SILKIE_WEIGHTS_TORCH_BIN, sk_torch_zip_parse},
};

silkie_status silkie_weights_open(const char *path, silkie_weights **out)
{
    if (!path || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "weights_open: path, out required");
    *out = NULL;
    const folder_kind *kind = NULL;
    char *file = NULL;
    if (sk_is_dir(path)) {
        for (size_t i = 0; i < SK_ARRAY_LEN(k_folder) && !kind; i++) {
            char *p = sk_path_join(path, k_folder[i].name);
            if (!p) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "weights_open: path");
            if (sk_is_file(p)) {
                kind = &k_folder[i];
                file = p;
            } else {
                silkie_free(p);
            }
        }
        if (!kind)
            return SK_FAIL(SILKIE_ERR_IO, "%s: no model.safetensors, pytorch_model.bin, their "
                                          ".index.json or adapter_model.* in this folder", path);
    } else if (!sk_is_file(path)) {
        return SK_FAIL(SILKIE_ERR_IO, "%s: no such file or folder", path);
    }
    static const folder_kind single[] = {
        {".safetensors", false, SILKIE_WEIGHTS_SAFETENSORS, sk_safetensors_parse},
        {".bin", false, SILKIE_WEIGHTS_TORCH_BIN, sk_torch_zip_parse},
        {".pt", false, SILKIE_WEIGHTS_TORCH_BIN, sk_torch_zip_parse},
        {".gguf", false, SILKIE_WEIGHTS_GGUF, sk_gguf_parse},
    };
    if (!kind) {
        for (size_t i = 0; i < SK_ARRAY_LEN(single) && !kind; i++)
            if (ends_with(path, single[i].name)) kind = &single[i];
        if (!kind)
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED,
                           "%s: unknown weights file (want .safetensors, .bin, .pt or .gguf)",
                           path);
    }
    silkie_weights *w = sk_weights_new(kind->format);
    if (!w) {
        silkie_free(file);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "weights_open: %zu bytes", sizeof *w);
    }
    silkie_status st;
    if (kind->index) st = open_sharded(w, path, kind->name, kind->fn);
    else st = add_file(w, file ? file : path, kind->fn);
    silkie_free(file);
    if (st != SILKIE_OK) {
        silkie_weights_close(w);
        return st;
    }
    *out = w;
    return SILKIE_OK;
}

void silkie_weights_release_range(const silkie_weights *w, const void *data, size_t nbytes)
{
    if (!w || !data || !nbytes) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t a = (uintptr_t)data, b = a + nbytes;
    for (uint32_t i = 0; i < w->n_maps; i++) {
        const uintptr_t base = (uintptr_t)w->maps[i].base, end = base + w->maps[i].size;
        if (a < base || b > end) continue;
        /* Whole pages only, so bytes of neighbouring tensors are never affected. */
        uintptr_t lo = (a + page - 1) & ~(page - 1), hi = b & ~(page - 1);
        if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
        return;
    }
}
