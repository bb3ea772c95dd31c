/* Private to runtime/model/: file mapping, the weights table, and the container parsers. */
#ifndef SILKIE_MODEL_FILES_INT_H
#define SILKIE_MODEL_FILES_INT_H

#include "model.h"

/* Limits on hostile input; docs/FILES.md lists them. */
#define SK_MAX_TENSORS (1u << 20)
#define SK_MAX_JSON_HEADER ((size_t)100 << 20) /* safetensors header, index.json */
#define SK_MAX_CONFIG_JSON ((size_t)1 << 20)
#define SK_MAX_NAME_LEN 4096u
#define SK_MAX_SHARDS 4096u

/* A read-only mapping of a whole file. */
typedef struct sk_map {
    const uint8_t *base;
    size_t size;
} sk_map;
silkie_status sk_map_file(const char *path, sk_map *m);
void sk_map_release(sk_map *m);
/* Reads a small file into a NUL-terminated heap buffer (caller frees). SILKIE_ERR_IO when it
 * cannot be opened, SILKIE_ERR_BAD_FILE when larger than max. */
silkie_status sk_read_text(const char *path, size_t max, char **out, size_t *len);
bool sk_is_dir(const char *path);
bool sk_is_file(const char *path);
/* dir + "/" + name into a heap string (caller frees); NULL on allocation failure. */
char *sk_path_join(const char *dir, const char *name);

typedef struct sk_entry {
    silkie_weight w;
    void *owned; /* contiguous copy the weight points into, or NULL */
} sk_entry;

struct silkie_weights {
    silkie_weights_format format;
    sk_entry *entries;
    uint32_t n, cap;
    uint32_t *slots; /* open-addressing hash: entry index + 1, 0 = empty */
    uint32_t n_slots;
    sk_map *maps;
    uint32_t n_maps, cap_maps;
    silkie_gguf *gguf;
};

silkie_weights *sk_weights_new(silkie_weights_format f);
/* Appends an entry (name copied); fails with BAD_FILE on a duplicate name. `owned` is taken over
 * even on failure. */
silkie_status sk_weights_add(silkie_weights *w, const char *what, const char *name,
                             size_t name_len, silkie_dtype dt, uint32_t n_dims,
                             const uint64_t *shape, const void *data, size_t nbytes,
                             void *owned);
/* Takes over the mapping (released by close, also on failure). */
silkie_status sk_weights_add_map(silkie_weights *w, sk_map *m);
/* Sets `file` of entries [from, n) to idx. */
void sk_weights_mark_file(silkie_weights *w, uint32_t from, uint32_t idx);

/* Container parsers: append the tensors of buf to w (buf must outlive w). */
silkie_status sk_safetensors_parse(silkie_weights *w, const uint8_t *buf, size_t size,
                                   const char *what);
silkie_status sk_torch_zip_parse(silkie_weights *w, const uint8_t *buf, size_t size,
                                 const char *what);
silkie_status sk_gguf_parse(silkie_weights *w, const uint8_t *buf, size_t size,
                            const char *what);
void sk_gguf_free(silkie_gguf *g);
/* File offset of the tensor data area (end of the tensor infos, rounded up to the alignment). */
uint64_t sk_gguf_data_start(const silkie_gguf *g);
/* Checks every zip entry's CRC-32 of a torch.save archive (see silkie_weights_verify). */
silkie_status sk_torch_zip_verify(const uint8_t *buf, size_t size, const char *what,
                                  const silkie_weights *owner, silkie_verify_fn fn, void *user);

/* Zip central directory (STORED entries only). sk_zip_open checks the CRC-32 of every entry of
 * at most SK_ZIP_CRC_ALWAYS_BYTES and of every *.pkl; the larger ones (tensor storages) are
 * checked by sk_zip_check_crc on request (silkie_weights_verify). */
#define SK_ZIP_CRC_ALWAYS_BYTES ((uint64_t)1 << 20)
typedef struct sk_zip_entry {
    const char *name; /* not NUL-terminated; points into the archive */
    uint32_t name_len;
    uint32_t crc;     /* CRC-32 recorded in the central directory */
    const uint8_t *data;
    uint64_t size;
} sk_zip_entry;
typedef struct sk_zip {
    sk_zip_entry *entries; /* sorted by name */
    uint32_t n;
} sk_zip;
silkie_status sk_zip_open(const uint8_t *buf, size_t size, const char *what, sk_zip *z);
void sk_zip_release(sk_zip *z);
const sk_zip_entry *sk_zip_find(const sk_zip *z, const char *name, size_t name_len);
/* CRC-32 as zip and PNG define it; crc = 0 starts, a previous result continues. */
uint32_t sk_crc32(uint32_t crc, const void *data, size_t n);
/* SILKIE_ERR_BAD_FILE naming the entry when its bytes do not match the recorded CRC-32. owner
 * (may be NULL): the view whose mapping holds the archive; its pages are dropped as read. */
silkie_status sk_zip_check_crc(const sk_zip_entry *e, const char *what,
                               const silkie_weights *owner);

/* Restricted pickle VM result for a torch state dict. */
typedef struct sk_pkl_tensor {
    const char *name; /* points into the pickle bytes */
    uint32_t name_len;
    const char *key;  /* storage key */
    uint32_t key_len;
    silkie_dtype dtype;
    uint64_t storage_numel;
    uint64_t offset; /* elements */
    uint32_t n_dims;
    uint64_t shape[SILKIE_WEIGHT_MAX_DIMS];
    uint64_t stride[SILKIE_WEIGHT_MAX_DIMS];
} sk_pkl_tensor;
typedef struct sk_pkl_result {
    sk_pkl_tensor *t;
    uint32_t n;
    void *arena; /* owns everything */
} sk_pkl_result;
silkie_status sk_pickle_state_dict(const uint8_t *buf, size_t size, const char *what,
                                   sk_pkl_result *out);
void sk_pickle_release(sk_pkl_result *r);

/* Little-endian loads (files are little-endian; so are all our targets, but this is explicit). */
static inline uint16_t sk_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t sk_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline uint64_t sk_le64(const uint8_t *p)
{
    return (uint64_t)sk_le32(p) | ((uint64_t)sk_le32(p + 4) << 32);
}

#endif
