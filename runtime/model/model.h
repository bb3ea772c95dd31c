/* Model files: configuration, weights (safetensors, PyTorch .bin, GGUF) and GGUF writing.
 *
 * What other layers may use from runtime/model/. Everything here is pure CPU and thread-safe in
 * the usual sense: distinct objects may be used from distinct threads; one object is read-only
 * after it is opened and may then be shared.
 *
 * Usage:
 *     silkie_model_config cfg;
 *     silkie_generation_config gen;
 *     silkie_weights *w = NULL;
 *     silkie_status st = silkie_model_config_load(dir, &cfg, &gen);
 *     if (st == SILKIE_OK) st = silkie_weights_open(dir, &w);
 *     if (st == SILKIE_OK) st = silkie_weights_check_qwen_vl(w, &cfg);
 *     const silkie_weight *wte = silkie_weights_find(w, "transformer.wte.weight");
 *     ...
 *     silkie_weights_close(w);
 *
 * Formats, limits and the error policy are described in docs/FILES.md. Hostile input yields
 * SILKIE_ERR_BAD_FILE (malformed container), SILKIE_ERR_BAD_MODEL (well-formed but not a usable
 * Qwen-VL config or weight set), SILKIE_ERR_UNSUPPORTED (valid but a feature we refuse, such as a
 * compressed zip entry or a GGUF k-quant), SILKIE_ERR_IO or SILKIE_ERR_OUT_OF_MEMORY, always with
 * a message naming the file and, where there is one, the tensor or key.
 */
#ifndef SILKIE_MODEL_H
#define SILKIE_MODEL_H

#include "base/base.h"

/* ------------------------------------------------------------------------------------------ */
/* Configuration (config.json, generation_config.json)                                         */

typedef struct silkie_vision_config {
    uint32_t image_size;     /* square input resolution */
    uint32_t patch_size;
    uint32_t width;          /* ViT hidden size */
    uint32_t layers;
    uint32_t heads;
    uint32_t head_dim;       /* width / heads */
    uint32_t mlp_width;      /* int(width * mlp_ratio), truncated like Python's int() */
    float mlp_ratio;
    uint32_t output_dim;     /* resampler width = LLM hidden size */
    uint32_t n_queries;      /* default 256; a perfect square */
    uint32_t query_grid;     /* sqrt(n_queries) */
    uint32_t patch_grid;     /* image_size / patch_size */
    uint32_t pool_heads;     /* output_dim / 128 (hard-coded head dim of the resampler) */
    uint32_t pos_rows;       /* rows of positional_embedding: 256 as in the release */
    int32_t image_start_id;  /* <img>; </img> = +1, <imgpad> = +2 */
} silkie_vision_config;

typedef struct silkie_model_config {
    uint32_t vocab_size;
    uint32_t hidden_size;
    uint32_t n_layers;
    uint32_t n_heads;
    uint32_t head_dim;           /* kv_channels */
    uint32_t intermediate_size;  /* as written in config.json (twice the MLP width) */
    uint32_t mlp_width;          /* intermediate_size / 2: rows of w1 and w2 */
    float eps;                   /* layer_norm_epsilon */
    float rotary_base;           /* rotary_emb_base */
    float rotary_pct;
    uint32_t rotary_dims;        /* head_dim * rotary_pct, even */
    bool use_dynamic_ntk;
    bool use_logn_attn;
    bool no_bias;
    bool tie_word_embeddings;
    uint32_t seq_length;
    uint32_t max_position_embeddings;
    silkie_vision_config visual;
} silkie_model_config;

typedef struct silkie_generation_config {
    int32_t eos_token_id;        /* default 151643 */
    int32_t pad_token_id;        /* default eos_token_id */
    uint32_t max_new_tokens;     /* default 512 */
    uint32_t max_window_size;    /* default 6144 */
    bool do_sample;              /* default true */
    uint32_t top_k;              /* default 0 = disabled */
    float top_p;                 /* default 0.3 */
    float temperature;           /* default 1.0 */
    float repetition_penalty;    /* default 1.0 */
} silkie_generation_config;

/* Parses config.json text (len bytes, need not be NUL-terminated) into *out and validates it.
 * `what` names the source in messages (a path or "config.json"). SILKIE_ERR_BAD_FILE for
 * malformed JSON, SILKIE_ERR_BAD_MODEL naming the key for a missing, mistyped or invalid value.
 * *out is zeroed on failure. */
silkie_status silkie_model_config_parse(const char *json, size_t len, const char *what,
                                        silkie_model_config *out);
/* Same for generation_config.json. Absent keys keep the defaults above, which are
 * Qwen-VL-Chat's own values (spec §8.4), also used when the file is missing. */
silkie_status silkie_generation_config_parse(const char *json, size_t len, const char *what,
                                             silkie_generation_config *out);
void silkie_generation_config_defaults(silkie_generation_config *out);
/* Qwen-VL-Chat's released configuration (spec §1.1): benchmarks of the real shape. */
void silkie_model_config_qwen_vl_chat(silkie_model_config *c);
/* Reads dir/config.json (required) and dir/generation_config.json (optional: defaults when
 * missing). gen may be NULL. */
silkie_status silkie_model_config_load(const char *dir, silkie_model_config *cfg,
                                       silkie_generation_config *gen);

/* ------------------------------------------------------------------------------------------ */
/* Weights: one read-only view over safetensors, PyTorch .bin or GGUF                           */

#define SILKIE_WEIGHT_MAX_DIMS 8

typedef struct silkie_weight {
    const char *name;      /* borrowed; valid until silkie_weights_close */
    silkie_dtype dtype;
    uint32_t n_dims;       /* 0 for a scalar */
    uint64_t shape[SILKIE_WEIGHT_MAX_DIMS]; /* PyTorch order, outermost first (GGUF: reversed ne) */
    const void *data;      /* host bytes, contiguous, aligned to the element (block) size; may be
                              a read-only file mapping: never write through it */
    size_t nbytes;
    uint32_t file;         /* which file of a sharded set (0-based, in opening order) */
} silkie_weight;

typedef enum silkie_weights_format {
    SILKIE_WEIGHTS_SAFETENSORS = 0,
    SILKIE_WEIGHTS_TORCH_BIN = 1,
    SILKIE_WEIGHTS_GGUF = 2,
    SILKIE_WEIGHTS_FORMAT_MAX_ = 0x7fffffff
} silkie_weights_format;

typedef struct silkie_weights silkie_weights;
typedef struct silkie_gguf silkie_gguf;

/* Opens `path`: a folder (model.safetensors, model.safetensors.index.json + shards,
 * pytorch_model.bin, pytorch_model.bin.index.json + shards, adapter_model.safetensors or
 * adapter_model.bin, in that order of preference) or a single .safetensors, .bin or .gguf file.
 * Files are memory-mapped; contiguous aligned tensors are views into the mapping, others
 * (strided PyTorch views) are copied once at open. Every container is validated completely before
 * this returns. */
silkie_status silkie_weights_open(const char *path, silkie_weights **out);
/* Parses one in-memory container. `buf` is borrowed and must outlive the result; `what` names it
 * in messages. These are the fuzz entry points and also serve tests. */
silkie_status silkie_weights_from_safetensors(const void *buf, size_t size, const char *what,
                                              silkie_weights **out);
silkie_status silkie_weights_from_torch_zip(const void *buf, size_t size, const char *what,
                                            silkie_weights **out);
silkie_status silkie_weights_from_gguf(const void *buf, size_t size, const char *what,
                                       silkie_weights **out);
void silkie_weights_close(silkie_weights *w); /* NULL is fine */

silkie_weights_format silkie_weights_format_of(const silkie_weights *w);
uint32_t silkie_weights_count(const silkie_weights *w);
/* Borrowed; i < count, in file order (shards in opening order). */
const silkie_weight *silkie_weights_at(const silkie_weights *w, uint32_t i);
/* Borrowed; NULL when absent (no message). */
const silkie_weight *silkie_weights_find(const silkie_weights *w, const char *name);
/* Like find, but SILKIE_ERR_BAD_MODEL naming the tensor when absent. */
silkie_status silkie_weights_get(const silkie_weights *w, const char *name,
                                 const silkie_weight **out);
/* Drops the process's pages of [data, data + nbytes) when they belong to a file mapping of w
 * (the bytes stay readable: touching them again re-reads the file). Loaders call it after
 * uploading, so resident memory stays near one chunk instead of the whole checkpoint. Copies and
 * ranges outside the mappings are left alone. */
void silkie_weights_release_range(const silkie_weights *w, const void *data, size_t nbytes);

/* Borrowed GGUF metadata of a GGUF view; NULL for other formats. */
const silkie_gguf *silkie_weights_gguf(const silkie_weights *w);

/* Checks that every tensor Qwen-VL-Chat needs for `cfg` (spec §2.2, §2.3, with the sizes of cfg)
 * exists with the right shape and a float dtype (f32, f16, bf16; q8_0/q4_0 allowed for matrices
 * of a GGUF file). Works on Hugging Face names, and on GGUF files written by
 * silkie_gguf_convert_qwen (LLM part, vision part, or both: a combined file or an LLM file
 * joined by its mmproj sibling; v.position_embd raw or upsampled to the patch grid). Returns
 * SILKIE_ERR_BAD_MODEL naming the first missing or mismatched tensor. */
silkie_status silkie_weights_check_qwen_vl(const silkie_weights *w,
                                           const silkie_model_config *cfg);

/* safetensors writer: tensors in order, header padded to 8 bytes, file written atomically.
 * dtypes F32, F16, BF16, I32, I64. */
typedef struct silkie_st_tensor {
    const char *name;
    silkie_dtype dtype;
    uint32_t n_dims;
    uint64_t shape[4];
    const void *data;
} silkie_st_tensor;
silkie_status silkie_safetensors_write(const char *path, const silkie_st_tensor *t, uint32_t n);

/* ------------------------------------------------------------------------------------------ */
/* GGUF metadata (reader side)                                                                  */

typedef enum silkie_gguf_type {
    SILKIE_GGUF_U8 = 0,
    SILKIE_GGUF_I8 = 1,
    SILKIE_GGUF_U16 = 2,
    SILKIE_GGUF_I16 = 3,
    SILKIE_GGUF_U32 = 4,
    SILKIE_GGUF_I32 = 5,
    SILKIE_GGUF_F32 = 6,
    SILKIE_GGUF_BOOL = 7,
    SILKIE_GGUF_STRING = 8,
    SILKIE_GGUF_ARRAY = 9,
    SILKIE_GGUF_U64 = 10,
    SILKIE_GGUF_I64 = 11,
    SILKIE_GGUF_F64 = 12,
    SILKIE_GGUF_TYPE_MAX_ = 0x7fffffff
} silkie_gguf_type;

typedef struct silkie_gguf_kv {
    const char *key;           /* NUL-terminated copy */
    silkie_gguf_type type;
    silkie_gguf_type arr_type; /* element type when type == ARRAY */
    uint64_t n;                /* string length in bytes, or array element count */
    union {
        uint64_t u;            /* unsigned integers and bool */
        int64_t i;             /* signed integers */
        double f;              /* f32 / f64 */
    } v;
    const uint8_t *data;       /* string bytes, or the array payload as stored (little-endian) */
    const uint64_t *str_offsets; /* string arrays: offset of string i's u64 length from data */
} silkie_gguf_kv;

uint32_t silkie_gguf_version(const silkie_gguf *g);
uint32_t silkie_gguf_alignment(const silkie_gguf *g);
uint64_t silkie_gguf_n_kv(const silkie_gguf *g);
const silkie_gguf_kv *silkie_gguf_kv_at(const silkie_gguf *g, uint64_t i); /* borrowed */
const silkie_gguf_kv *silkie_gguf_find_kv(const silkie_gguf *g, const char *key); /* or NULL */
/* Typed getters: SILKIE_ERR_BAD_MODEL naming the key when absent or of an incompatible type
 * (any integer type that fits is accepted for u32/u64, f32 or f64 for f32). */
silkie_status silkie_gguf_get_u32(const silkie_gguf *g, const char *key, uint32_t *out);
silkie_status silkie_gguf_get_u64(const silkie_gguf *g, const char *key, uint64_t *out);
silkie_status silkie_gguf_get_f32(const silkie_gguf *g, const char *key, float *out);
silkie_status silkie_gguf_get_bool(const silkie_gguf *g, const char *key, bool *out);
/* Borrowed bytes (not NUL-terminated). */
silkie_status silkie_gguf_get_str(const silkie_gguf *g, const char *key, const char **s,
                                  size_t *len);
/* i-th string of a string array (bounds-checked). */
silkie_status silkie_gguf_arr_str(const silkie_gguf_kv *kv, uint64_t i, const char **s,
                                  size_t *len);

/* ------------------------------------------------------------------------------------------ */
/* GGUF writer (streaming)                                                                     */

/* Sequence: create; add_* metadata; add_tensor for every tensor (in the order the data will
 * come); write the bytes of each tensor in that order (any chunking); finish. The header goes to
 * disk with the first write (or at finish), so metadata and tensor infos are frozen then.
 * Output goes through the shared writer (base/outfile.h: a hidden temporary file beside path,
 * renamed by finish); destroy without finish removes the temporary file. A failed call leaves
 * the writer unusable except for destroy. */
typedef struct silkie_gguf_writer silkie_gguf_writer;

/* alignment: 0 = 32 (the GGUF default); else a power of two <= 65536, recorded as
 * general.alignment. */
silkie_status silkie_gguf_writer_create(const char *path, uint32_t alignment,
                                        silkie_gguf_writer **out);
silkie_status silkie_gguf_writer_add_u32(silkie_gguf_writer *w, const char *key, uint32_t v);
silkie_status silkie_gguf_writer_add_i32(silkie_gguf_writer *w, const char *key, int32_t v);
silkie_status silkie_gguf_writer_add_u64(silkie_gguf_writer *w, const char *key, uint64_t v);
silkie_status silkie_gguf_writer_add_f32(silkie_gguf_writer *w, const char *key, float v);
silkie_status silkie_gguf_writer_add_bool(silkie_gguf_writer *w, const char *key, bool v);
silkie_status silkie_gguf_writer_add_str(silkie_gguf_writer *w, const char *key, const char *s);
/* Numeric array: n elements of elem_type (not STRING/ARRAY), little-endian as in memory. */
silkie_status silkie_gguf_writer_add_arr(silkie_gguf_writer *w, const char *key,
                                         silkie_gguf_type elem_type, const void *data, uint64_t n);
/* String array; lens may be NULL (then strlen). */
silkie_status silkie_gguf_writer_add_arr_str(silkie_gguf_writer *w, const char *key,
                                             const char *const *s, const size_t *lens,
                                             uint64_t n);
/* Copies one key/value from a file being read, any type (used to rewrite files). */
silkie_status silkie_gguf_writer_add_kv(silkie_gguf_writer *w, const silkie_gguf_kv *kv);
/* shape in PyTorch order (written reversed as GGML ne), 1..4 dims; shape[n_dims-1] a multiple
 * of 32 for Q8_0/Q4_0. */
silkie_status silkie_gguf_writer_add_tensor(silkie_gguf_writer *w, const char *name,
                                            silkie_dtype dtype, uint32_t n_dims,
                                            const uint64_t *shape);
silkie_status silkie_gguf_writer_write(silkie_gguf_writer *w, const void *data, size_t nbytes);
/* Checks that every tensor got all its bytes, flushes, syncs and renames; frees w in all cases. */
silkie_status silkie_gguf_writer_finish(silkie_gguf_writer *w);
void silkie_gguf_writer_destroy(silkie_gguf_writer *w); /* NULL is fine */

/* Integrity keys (docs/FIRMWARE.md, "Integrity"): SHA-256 of every tensor's stored bytes, in
 * tensor-info order, and of the header (bytes [0, data start) with both digest values read as
 * zeros). */
#define SILKIE_GGUF_KEY_SHA256_METADATA "silkie.sha256.metadata" /* u8[32] */
#define SILKIE_GGUF_KEY_SHA256_TENSORS "silkie.sha256.tensors"   /* u8[32 * tensor count] */

/* Makes the writer add the two digest keys (last, when the header goes out) and hash the tensor
 * data as it streams; finish_sums hands the digests and their places over for silkie_gguf_seal.
 * Before any data. */
silkie_status silkie_gguf_writer_enable_checksums(silkie_gguf_writer *w);
/* A key whose value is zeros now and filled by silkie_gguf_seal: a scalar of `type`, or with
 * `array` an array of n elements (numeric types only). *at = file offset of the value bytes. */
silkie_status silkie_gguf_writer_add_reserved(silkie_gguf_writer *w, const char *key,
                                              silkie_gguf_type type, bool array, uint64_t n,
                                              uint64_t *at);
typedef struct silkie_gguf_sums {
    uint64_t data_start;  /* file offset of the tensor data */
    uint64_t metadata_at; /* offsets of the reserved digest values */
    uint64_t tensors_at;
    uint32_t n_tensors;
    uint8_t *digests;     /* [n_tensors][32]; silkie_gguf_sums_release */
} silkie_gguf_sums;
/* finish, and with checksums enabled fills *sums (zeroed otherwise, and on failure). */
silkie_status silkie_gguf_writer_finish_sums(silkie_gguf_writer *w, silkie_gguf_sums *sums);
void silkie_gguf_sums_release(silkie_gguf_sums *s);
/* Bytes for a reserved value. */
typedef struct silkie_gguf_patch {
    uint64_t at;
    const void *data;
    size_t n;
} silkie_gguf_patch;
/* Writes the patches and the tensor digests into the finished file at path, then the metadata
 * digest over the header as it now is, and syncs. The file must be the one finish_sums
 * described (not yet read by anyone: it is changed in place). SILKIE_ERR_IO naming path. */
silkie_status silkie_gguf_seal(const char *path, const silkie_gguf_sums *s,
                               const silkie_gguf_patch *patches, uint32_t n_patches);

/* ------------------------------------------------------------------------------------------ */
/* Checking files: checksums, zip CRCs, the self-test vector (gguf_verify.c)                   */

/* One finding of a check: `check` is "structure", "checksums", "layout", "metadata", "tensor"
 * or "zip"; `subject` the tensor or zip entry (NULL for whole-file checks); st SILKIE_OK when it
 * holds, else the failure, `message` its text. Strings are borrowed for the call. */
typedef void (*silkie_verify_fn)(void *user, const char *check, const char *subject,
                                 silkie_status st, const char *message);

/* Verifies one GGUF file in memory: it parses (structure); it carries the silkie.sha256.* keys
 * of the right sizes (checksums); the metadata digest; every byte of the data area outside a
 * tensor is zero and the file ends where the last tensor's padding does (layout); every
 * tensor's digest.
 * Every finding goes to fn when it is not NULL and checking goes on after a failure; with fn
 * NULL it stops at the first. owner, when not NULL, is the weights view whose mapping buf is:
 * its pages are dropped after each tensor so memory stays bounded. Returns the first failure
 * (SILKIE_ERR_BAD_FILE for damage, or the parser's status). */
silkie_status silkie_gguf_verify(const uint8_t *buf, size_t size, const char *what,
                                 const silkie_weights *owner, silkie_verify_fn fn, void *user);
/* Verifies every file behind w (opened from `what`): GGUF files as above, torch.save archives
 * by the CRC-32 of every zip entry; safetensors files have no checksums (nothing to check, a
 * warning is logged). fn and the return as for silkie_gguf_verify. */
silkie_status silkie_weights_verify(const silkie_weights *w, const char *what,
                                    silkie_verify_fn fn, void *user);

/* The self-test vector (silkie.selftest.* keys): a fixed question (with a synthetic image when
 * the file has the vision tower) asked greedily at pack time, and what the model answered. */
#define SILKIE_SELFTEST_VERSION 1u
#define SILKIE_SELFTEST_TOP_K 8u
#define SILKIE_SELFTEST_TOKENS 8u
#define SILKIE_SELFTEST_TEXT_MAX 256u
typedef struct silkie_gguf_selftest {
    uint32_t version;                         /* SILKIE_SELFTEST_VERSION */
    char system[SILKIE_SELFTEST_TEXT_MAX];    /* system prompt */
    char prompt[SILKIE_SELFTEST_TEXT_MAX];    /* the question */
    uint32_t image_width, image_height;       /* synthetic image; 0 x 0 = none */
    silkie_dtype kv_type;                     /* KV cache of the run: f16 or f32 */
    uint32_t n_prompt;                        /* prompt tokens of the run */
    int32_t top_ids[SILKIE_SELFTEST_TOP_K];   /* the k largest logits at the last prompt token */
    float top_logits[SILKIE_SELFTEST_TOP_K];  /* ... and their values, largest first */
    int32_t tokens[SILKIE_SELFTEST_TOKENS];   /* greedy answer, stop tokens ignored */
} silkie_gguf_selftest;
/* Where the outputs of the vector lie in a file being written. */
typedef struct silkie_gguf_selftest_slots {
    uint64_t n_prompt_at, top_ids_at, top_logits_at, tokens_at;
} silkie_gguf_selftest_slots;
/* Adds the silkie.selftest.* keys: the inputs of v, the outputs reserved. */
silkie_status silkie_gguf_selftest_reserve(silkie_gguf_writer *w, const silkie_gguf_selftest *v,
                                           silkie_gguf_selftest_slots *slots);
/* The four patches that put v's outputs in place (for silkie_gguf_seal); returns 4. */
uint32_t silkie_gguf_selftest_patches(const silkie_gguf_selftest *v,
                                      const silkie_gguf_selftest_slots *slots,
                                      silkie_gguf_patch out[4]);
/* Reads the vector. *present false (SILKIE_OK) when the file has no silkie.selftest.* key;
 * SILKIE_ERR_BAD_FILE naming the key when one is missing, mistyped, of another size or out of
 * range (ids beyond the vocabulary are left to the caller). */
silkie_status silkie_gguf_selftest_read(const silkie_gguf *g, silkie_gguf_selftest *v,
                                        bool *present);

/* ------------------------------------------------------------------------------------------ */
/* Quantization and HF <-> GGUF conversion                                                      */

/* Converts n_rows rows of row_len elements from src_type (f32, f16, bf16, q8_0, q4_0) to
 * dst_type (same set) through f32, with GGML's reference rounding. row_len must be a multiple
 * of 32 when either side is a block type (SILKIE_ERR_INVALID_ARGUMENT otherwise). */
silkie_status silkie_convert_rows(silkie_dtype src_type, const void *src, silkie_dtype dst_type,
                                  void *dst, uint64_t n_rows, uint64_t row_len);

/* How a Hugging Face tensor becomes GGUF tensors (spec §10). */
typedef enum silkie_gguf_conv {
    SILKIE_GGUF_CONV_COPY = 0,        /* same bytes, same shape */
    SILKIE_GGUF_CONV_QKV_HEADS = 1,   /* ViT in_proj: per-head [q|k|v] rows -> q, k, v */
    SILKIE_GGUF_CONV_QKV_THIRDS = 2,  /* resampler in_proj: row thirds -> q, k, v */
    SILKIE_GGUF_CONV_TRANSPOSE = 3,   /* proj: [in, out] -> [out, in] */
    SILKIE_GGUF_CONV_MAX_ = 0x7fffffff
} silkie_gguf_conv;

typedef enum silkie_gguf_part {
    SILKIE_GGUF_PART_LLM = 0,    /* general.architecture "qwen" */
    SILKIE_GGUF_PART_VISION = 1, /* general.architecture "clip", projector "qwenvl_resampler" */
    SILKIE_GGUF_PART_ALL = 2,    /* both in one file: architecture "qwen" plus the clip.* keys */
    SILKIE_GGUF_PART_MAX_ = 0x7fffffff
} silkie_gguf_part;

/* Maps a Hugging Face name to GGUF name(s). For QKV conversions out[0..2] receive the q, k, v
 * names; otherwise out[0]. Returns the number of names (1 or 3) and sets *conv and *part, or 0
 * when the name is not part of Qwen-VL (no message). cap is the size of each out buffer. */
uint32_t silkie_gguf_name_from_hf(const char *hf, char out[3][96], silkie_gguf_conv *conv,
                                  silkie_gguf_part *part);
/* Inverse for one-to-one names (COPY/TRANSPOSE): writes the HF name, returns false otherwise
 * (split q/k/v names have no single HF source). */
bool silkie_gguf_name_to_hf(const char *gguf, char *out, size_t cap);

typedef struct silkie_gguf_convert_params {
    silkie_gguf_part part;
    silkie_dtype matrix_type;  /* 2-D weights: f32 (the zero value), f16, bf16, q8_0, q4_0; rows
                                  whose length is not a multiple of 32 fall back to f16 */
    silkie_dtype other_type;   /* norms, biases, tables, conv kernel: f32 (zero value), f16, bf16 */
    /* Optional hook for tensors the model code derives (the upsampled positional tables
     * v.position_embd / resampler.pos_embed_k, a pre-normalised resampler.query_in, ...):
     * called with phase 0 after the standard tensor infos, to add its own with
     * silkie_gguf_writer_add_tensor, then with phase 1 after the standard data, to write their
     * bytes in the same order. NULL = none. */
    silkie_status (*extra)(void *user, silkie_gguf_writer *w, int phase);
    void *extra_user;
    /* Vision matrices when part == SILKIE_GGUF_PART_ALL (f32 zero value, f16, bf16). */
    silkie_dtype vision_matrix_type;
    /* qwen.tiktoken whose ranks become the tokenizer.ggml.* keys (LLM/ALL parts); NULL = none. */
    const char *tiktoken_path;
    /* Written as silkie.generation.* keys when not NULL. */
    const silkie_generation_config *gen;
    /* true: v.position_embd.weight holds the table already upsampled to the patch grid and
     * resampler.pos_embed_k is added (spec §10.2); false: the raw 256-row table only. */
    bool vision_tables;
    /* Per-tensor types, applied after the defaults above in order (the last match wins):
     * `pattern` is a GGUF or Hugging Face tensor name or a shell glob (fnmatch) of either.
     * hits[i] (when not NULL) is increased for each tensor pattern i sets. */
    const struct silkie_gguf_tensor_type *overrides;
    uint32_t n_overrides;
    uint32_t *override_hits;
    /* sums != NULL: write the silkie.sha256.* keys and return the digests (silkie_gguf_seal). */
    silkie_gguf_sums *sums;
    /* selftest != NULL (LLM or ALL part): add the silkie.selftest.* keys, outputs reserved. */
    const silkie_gguf_selftest *selftest;
    silkie_gguf_selftest_slots *selftest_slots;
    /* Bytes of tensor data written of the total, under `progress_stage`. NULL = none. */
    silkie_progress_fn progress;
    void *progress_user;
    const char *progress_stage;
} silkie_gguf_convert_params;

typedef struct silkie_gguf_tensor_type {
    const char *pattern;
    silkie_dtype type; /* f32, f16, bf16, q8_0, q4_0 (vision tensors: f32, f16, bf16) */
} silkie_gguf_tensor_type;

/* Writes the LLM or the vision part of a Hugging Face Qwen-VL weight set `src` (validated with
 * silkie_weights_check_qwen_vl first) as a GGUF file with the spec §10 names and metadata.
 * Positional tables are written raw (v.position_embd.weight = the stored 256-row table;
 * resampler.pos_embed_k is not written) unless p->vision_tables: the loader accepts both. */
silkie_status silkie_gguf_convert_qwen(const silkie_weights *src, const silkie_model_config *cfg,
                                       const silkie_gguf_convert_params *p, const char *path);

/* Writes the tokenizer.ggml.* keys (gpt2 model, qwen2 pre-tokenizer, tokens, types, merges,
 * bos/eos/unk/pad = <|endoftext|>) for a qwen.tiktoken file plus the 217 specials; ids up to
 * vocab_size beyond those become "[PAD<id>]" (UNUSED). SILKIE_ERR_BAD_FILE for a vocabulary that
 * is not a byte-level BPE (a token that no two lower ranks form). */
silkie_status silkie_gguf_write_qwen_vocab(silkie_gguf_writer *g, const char *tiktoken_path,
                                           uint32_t vocab_size);

/* ------------------------------------------------------------------------------------------ */
/* Qwen-VL as one GGUF file (gguf_config.c, gguf_pack.c, qwen_gguf.c; docs/FILES.md)            */

/* Model and generation config from the metadata of a file written with
 * silkie_gguf_convert_qwen (part LLM or ALL), validated like config.json. A file without the
 * clip.* keys yields a config whose vision tower cannot be loaded (*has_vision false). gen and
 * has_vision may be NULL. SILKIE_ERR_BAD_MODEL naming the key for missing or invalid values. */
silkie_status silkie_model_config_from_gguf(const silkie_gguf *g, silkie_model_config *cfg,
                                            silkie_generation_config *gen, bool *has_vision);
/* Same with the clip.* keys taken from `vision` (an mmproj file) when it is not NULL. */
silkie_status silkie_model_config_from_gguf2(const silkie_gguf *g, const silkie_gguf *vision,
                                             silkie_model_config *cfg,
                                             silkie_generation_config *gen, bool *has_vision);

typedef struct silkie_gguf_pack_params {
    silkie_dtype llm_type;    /* LLM matrices: f32 (zero value), f16, bf16, q8_0, q4_0 */
    silkie_dtype vision_type; /* vision matrices: f32 (zero value), f16, bf16 */
    bool split;               /* true: LLM + tokenizer in out_path, the vision part in its
                                 mmproj sibling (silkie_qwen_gguf_mmproj_path), llama.cpp style */
    const char *merge_adapter; /* PEFT LoRA folder merged (W + s B A, f32) before conversion;
                                  NULL = none (see silkie_lora_merge in lora_merge.h) */
    const silkie_gguf_tensor_type *overrides; /* see silkie_gguf_convert_params; a pattern */
    uint32_t n_overrides;                     /* that sets no tensor is an error */
    /* Computes the self-test vector: called with the finished (not yet sealed or renamed) file,
     * whose mmproj sibling is beside it when split, and v's inputs set; fills v's outputs.
     * NULL = no silkie.selftest.* keys. */
    silkie_status (*selftest)(void *user, const char *path, silkie_gguf_selftest *v);
    void *selftest_user;
    silkie_progress_fn progress;              /* "packing", "packing vision"; NULL = none */
    void *progress_user;
} silkie_gguf_pack_params;

/* Packs a Hugging Face Qwen-VL folder (config.json, generation_config.json, qwen.tiktoken,
 * safetensors or .bin weights) into one loadable GGUF file (part ALL, tokenizer, chat template,
 * precomputed vision tables, integrity keys), or the LLM + mmproj pair. The files are written
 * beside out_path under hidden temporary names, sealed (silkie_gguf_seal) after the self-test,
 * and renamed to their names only then (the mmproj file first). p may be NULL (f32). */
silkie_status silkie_gguf_pack_qwen(const char *model_dir, const char *out_path,
                                    const silkie_gguf_pack_params *p);

/* The name under which the device loader finds Hugging Face tensor `hf` in w: hf itself for
 * Hugging Face files, its one-to-one §10 name for GGUF files (into buf); other names pass
 * unchanged. NULL when a GGUF file has no single tensor for it (split q/k/v, transposed proj). */
const char *silkie_qwen_weight_name(const silkie_weights *w, const char *hf, char *buf,
                                    size_t cap);
/* The self-test question and image of this version (docs/FIRMWARE.md): fills v's inputs for a
 * model with or without the vision tower, outputs zeroed. */
void silkie_gguf_selftest_inputs(silkie_gguf_selftest *v, bool has_vision);
/* The synthetic self-test image: width x height RGB, 8 bits, deterministic. */
void silkie_selftest_image(uint8_t *rgb, uint32_t width, uint32_t height);

/* Storage types of a GGUF file's matrices (those of blk.0.attn_qkv.weight, token_embd.weight and
 * v.blk.0.attn_out.weight), so that loading keeps them as stored. Absent tensors leave the
 * output unchanged. */
void silkie_qwen_gguf_types(const silkie_weights *w, silkie_dtype *llm, silkie_dtype *embed,
                            silkie_dtype *vision);
/* "DIR/mmproj-NAME" for "DIR/NAME": where a model file's vision part lives when it is split. */
silkie_status silkie_qwen_gguf_mmproj_path(const char *model_path, char *out, size_t cap);
/* Opens a GGUF model: a combined file, or an LLM file (no clip.* keys) whose mmproj sibling, when
 * present, adds the vision tensors to the same view. Returns the view with the config and
 * generation config from metadata; *has_vision false means a text-only model. */
silkie_status silkie_qwen_gguf_open(const char *path, silkie_weights **out,
                                    silkie_model_config *cfg, silkie_generation_config *gen,
                                    bool *has_vision);

#endif /* SILKIE_MODEL_H */
