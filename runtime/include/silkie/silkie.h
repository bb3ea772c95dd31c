/* Silkie Edge: Qwen-VL-Chat / Silkie on Vulkan compute. Core public API.
 *
 * Threading: a silkie_model may be shared by threads; a silkie_session is used by one thread at
 * a time. silkie_last_error() is per thread.
 *
 * Every call that can fail returns a silkie_status (negative = failure) and, on failure, leaves
 * a message for silkie_last_error(). Objects come back through out-parameters set to NULL on
 * failure; destroy(NULL) is always a no-op.
 */
#ifndef SILKIE_SILKIE_H
#define SILKIE_SILKIE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SILKIE_API __declspec(dllexport)
#else
#define SILKIE_API __attribute__((visibility("default")))
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SILKIE_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define SILKIE_DEPRECATED(msg)
#endif

#define SILKIE_VERSION_MAJOR 0
#define SILKIE_VERSION_MINOR 1
#define SILKIE_VERSION_PATCH 0
#define SILKIE_VERSION_NUMBER \
    (SILKIE_VERSION_MAJOR * 10000 + SILKIE_VERSION_MINOR * 100 + SILKIE_VERSION_PATCH)

/* Status codes. Values are pinned; new codes get new numbers. The list is an X-macro so the
 * names in silkie_status_name() can never drift from the enum. */
#define SILKIE_STATUS_LIST(X)                  \
    X(SILKIE_OK, 0)                            \
    X(SILKIE_ERR_INVALID_ARGUMENT, -1)         \
    X(SILKIE_ERR_OUT_OF_MEMORY, -2)            \
    X(SILKIE_ERR_OUT_OF_DEVICE_MEMORY, -3)     \
    X(SILKIE_ERR_UNSUPPORTED, -4)              \
    X(SILKIE_ERR_IO, -10)                      \
    X(SILKIE_ERR_BAD_MODEL, -11)               \
    X(SILKIE_ERR_BAD_FILE, -12)                \
    X(SILKIE_ERR_BAD_IMAGE, -13)               \
    X(SILKIE_ERR_BAD_TEXT, -14)                \
    X(SILKIE_ERR_BAD_DATA, -15)                \
    X(SILKIE_ERR_CONTEXT_FULL, -20)            \
    X(SILKIE_ERR_CANCELLED, -21)               \
    X(SILKIE_ERR_NO_DEVICE, -29)               \
    X(SILKIE_ERR_DEVICE_LOST, -30)             \
    X(SILKIE_ERR_VULKAN, -31)                  \
    X(SILKIE_ERR_CAMERA, -40)                  \
    X(SILKIE_ERR_AGAIN, -41)                   \
    X(SILKIE_ERR_END_OF_STREAM, -42)           \
    X(SILKIE_ERR_NOT_FINITE, -50)              \
    X(SILKIE_ERR_INTERNAL, -90)

typedef enum silkie_status {
#define SILKIE_STATUS_ENUM_(name, value) name = value,
    SILKIE_STATUS_LIST(SILKIE_STATUS_ENUM_)
#undef SILKIE_STATUS_ENUM_
    SILKIE_STATUS_MAX_ = 0x7fffffff
} silkie_status;

/* Element types. Values equal GGML's type ids so GGUF files map without a table. */
typedef enum silkie_dtype {
    SILKIE_DTYPE_F32 = 0,
    SILKIE_DTYPE_F16 = 1,
    SILKIE_DTYPE_Q4_0 = 2,
    SILKIE_DTYPE_Q8_0 = 8,
    SILKIE_DTYPE_I8 = 24,
    SILKIE_DTYPE_I16 = 25,
    SILKIE_DTYPE_I32 = 26,
    SILKIE_DTYPE_I64 = 27,
    SILKIE_DTYPE_F64 = 28,
    SILKIE_DTYPE_BF16 = 30,
    SILKIE_DTYPE_U8 = 100, /* not a GGML type: raw bytes (images, masks) */
    SILKIE_DTYPE_MAX_ = 0x7fffffff
} silkie_dtype;

typedef enum silkie_log_level {
    SILKIE_LOG_ERROR = 0,
    SILKIE_LOG_WARN = 1,
    SILKIE_LOG_INFO = 2,
    SILKIE_LOG_DEBUG = 3,
    SILKIE_LOG_LEVEL_MAX_ = 0x7fffffff
} silkie_log_level;

/* Library version as SILKIE_VERSION_NUMBER; compare with the header's to detect a mismatch. */
SILKIE_API uint32_t silkie_version_number(void);
/* "0.1.0"; static storage. */
SILKIE_API const char *silkie_version_string(void);
/* "0.1.0 (commit 1a2b3c4d5e6f, RelWithDebInfo)": the version and how this library was built. */
SILKIE_API const char *silkie_build_string(void);

/* "SILKIE_ERR_BAD_MODEL" etc.; static storage; "SILKIE_STATUS_UNKNOWN" for other values. */
SILKIE_API const char *silkie_status_name(silkie_status st);

/* The calling thread's last failure message. Never NULL ("" when none); valid until this
 * thread's next silkie call. */
SILKIE_API const char *silkie_last_error(void);

/* Log sink. fn == NULL restores the default (stderr). Messages below `level` are dropped.
 * The default level is WARN, or SILKIE_LOG_LEVEL (error|warn|info|debug) from the environment. */
typedef void (*silkie_log_fn)(silkie_log_level level, const char *module, const char *msg,
                              void *user);
SILKIE_API void silkie_log_set(silkie_log_fn fn, void *user);
SILKIE_API void silkie_log_set_level(silkie_log_level level);

/* Heap allocator for every host allocation the library makes. Call once, before any other
 * silkie call; returns SILKIE_ERR_INVALID_ARGUMENT if a function is NULL or if allocations were
 * already made. */
typedef struct silkie_allocator {
    void *(*alloc)(size_t size, void *user);
    void *(*realloc)(void *ptr, size_t old_size, size_t new_size, void *user);
    void (*free)(void *ptr, size_t size, void *user);
    void *user;
} silkie_allocator;
SILKIE_API silkie_status silkie_set_allocator(const silkie_allocator *a);

/* ============================================================================================
 * Models and sessions
 *
 *     silkie_model *m; silkie_session *s;
 *     if (silkie_model_load("Qwen-VL-Chat", NULL, &m) != SILKIE_OK) die(silkie_last_error());
 *     silkie_session_create(m, NULL, &s);
 *     silkie_session_add_image_file(s, "photo.jpg");
 *     silkie_ask_params ap; silkie_ask_params_init(&ap);
 *     ap.on_text = print_piece;                      // streamed UTF-8 pieces
 *     silkie_session_ask(s, "What is in this picture?", &ap);
 *     printf("%s\n", silkie_session_answer(s));
 *     silkie_session_destroy(s); silkie_model_destroy(m);   // any order
 * ============================================================================================ */

typedef struct silkie_model silkie_model;     /* opaque; shareable across threads */
typedef struct silkie_session silkie_session; /* opaque; one thread at a time */

/* Progress of long work, for progress displays: `stage` names it ("loading", "encoding image",
 * "prefill"), `done` of `total` units. Called on the thread doing the work; keep it short. */
typedef void (*silkie_progress_fn)(const char *stage, uint64_t done, uint64_t total, void *user);

typedef struct silkie_model_params {
    uint32_t struct_size;       /* set by silkie_model_params_init() */
    /* Storage types; init sets F16 (SILKIE_DTYPE_F32 is 0, so 0 cannot mean "default"). */
    silkie_dtype weight_type;   /* LLM matrices: F32, F16, BF16, Q8_0, Q4_0 */
    silkie_dtype vision_type;   /* vision tower matrices: F32, F16, BF16 */
    const char *device;         /* NULL = best device; else an index or a name substring */
    uint32_t validation;        /* 1 = Khronos validation layer on (also SILKIE_VALIDATE=1) */
    uint32_t text_only;         /* 1 = skip the vision tower */
    uint32_t max_layers;        /* >0: load only the first LLM blocks (benchmarks, tests) */
    const char *adapter;        /* PEFT adapter folder applied unmerged; NULL = none */
    /* Called during the load and, for the model's sessions, during image encodes and long
     * prefills. NULL = none. */
    silkie_progress_fn progress;
    void *progress_user;
    uint32_t verify; /* 1: check every checksum (GGUF) and every zip CRC (.bin) while loading */
    /* Compiled-pipeline cache file (silkie-cache writes one ahead of time), read at load and
     * rewritten atomically at destroy when new pipelines were built. A file made for another
     * device, driver or shader set is ignored with a log line. NULL = SILKIE_PIPELINE_CACHE or
     * else $XDG_CACHE_HOME/silkie/pipelines-<vendor>-<device>.bin; "off" = none. */
    const char *pipeline_cache;
    /* 1: on a GPU with shaderFloat16 and no cooperative matrices, the products whose inputs a
     * norm has just bounded (prefill QKV and MLP inputs, the vision tower after its layer
     * norms, the resampler) run with f16 arithmetic, about 1e-3 relative error. Off by default:
     * not yet measured on such a GPU. */
    uint32_t f16_gemm;
    /* new fields are added here, at the end, and nowhere else */
} silkie_model_params;
/* Every *_params_init(p) fills p with the defaults. It is an inline that passes the app's
 * sizeof to the exported *_init_size, so a newer library never writes past the struct of an app
 * built against an older header. */
SILKIE_API void silkie_model_params_init_size(silkie_model_params *p, size_t size);
static inline void silkie_model_params_init(silkie_model_params *p)
{
    silkie_model_params_init_size(p, sizeof *p);
}

/* Opens a model folder (config.json, generation_config.json, qwen.tiktoken and the weights as
 * safetensors or PyTorch .bin shards) or a .gguf file written by silkie-pack (config, tokenizer
 * and weights inside; an "mmproj-" sibling supplies the vision part of a split pair), and
 * uploads the weights to the GPU. For a folder, weight_type/vision_type choose the storage; a
 * GGUF file keeps the types it stores (quantized tensors are uploaded as they are). p may be
 * NULL.
 * Errors: SILKIE_ERR_IO, SILKIE_ERR_BAD_FILE, SILKIE_ERR_BAD_MODEL (naming the tensor or key),
 * SILKIE_ERR_NO_DEVICE, SILKIE_ERR_OUT_OF_DEVICE_MEMORY, SILKIE_ERR_OUT_OF_MEMORY. */
SILKIE_API silkie_status silkie_model_load(const char *path, const silkie_model_params *p,
                                           silkie_model **out);
/* Releases the caller's reference; sessions keep the model alive until they are destroyed. */
SILKIE_API void silkie_model_destroy(silkie_model *m);
/* Loads a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors or
 * adapter_model.bin, PEFT layout) and makes it the model's adapter, replacing any earlier one;
 * dir == NULL removes it. The adapter runs unmerged (y = x W^T + s (x A^T) B^T, no dropout) on
 * the LLM linears it targets, whatever the base storage type (its own matrices are f32).
 * silkie_model_params.adapter loads one the same way at load time.
 * A session takes the model's adapter when it is created and keeps it for its whole life:
 * sessions created earlier keep answering with the adapter they had (or none). Session files
 * do not record the adapter: restore one into a session with the adapter it was saved with.
 * Uploads to the model's device, so call it while no other thread uses m or its sessions.
 * Errors: SILKIE_ERR_BAD_MODEL naming the tensor when one is missing, unexpected or misshapen
 * for this model, or when target_modules matches no module; SILKIE_ERR_UNSUPPORTED for a
 * target outside the LLM blocks or a PEFT feature not run (DoRA, bias, modules_to_save);
 * SILKIE_ERR_IO, SILKIE_ERR_BAD_FILE, SILKIE_ERR_OUT_OF_DEVICE_MEMORY. On failure the model
 * keeps its previous adapter. */
SILKIE_API silkie_status silkie_model_set_adapter(silkie_model *m, const char *dir);
SILKIE_API uint32_t silkie_model_n_layers(const silkie_model *m);
SILKIE_API uint32_t silkie_model_n_vocab(const silkie_model *m);
SILKIE_API uint32_t silkie_model_image_size(const silkie_model *m); /* 0 when text-only */
SILKIE_API uint64_t silkie_model_weight_bytes(const silkie_model *m);
/* Borrowed; valid while m lives. */
SILKIE_API const char *silkie_model_device_name(const silkie_model *m);

/* One Vulkan device as the runtime sees it (silkie_devices_list). */
typedef struct silkie_device_info {
    uint32_t index;            /* what silkie_model_params.device accepts ("0", "1", ...) */
    uint32_t usable;           /* 0: the runtime cannot use it; `reason` says why */
    char name[256];
    char type[16];             /* "discrete", "integrated", "virtual", "cpu" or "other" */
    char driver[512];          /* driver name and version */
    uint32_t vendor_id, device_id;
    uint32_t api_version;      /* Vulkan version, VK_MAKE_API_VERSION layout */
    uint64_t memory_bytes;     /* device-local heap */
    uint32_t subgroup_size;
    /* Features the runtime uses when present. */
    uint32_t fp16;             /* shaderFloat16 arithmetic */
    uint32_t storage16;        /* 16-bit storage buffers */
    uint32_t int8;             /* shaderInt8 */
    uint32_t int_dot;          /* integer dot product */
    uint32_t coopmat;          /* f16 cooperative matrices (tensor cores) */
    uint32_t unified_memory;   /* device-local memory the host can map */
    uint32_t timestamps;       /* GPU timestamps on the compute queue */
    char reason[256];
} silkie_device_info;

/* Lists the Vulkan devices: up to max entries in out, *n = how many the loader reports.
 * *loader_version (may be NULL) = the Vulkan loader's version, 0 when none works.
 * SILKIE_ERR_NO_DEVICE (with a message) when no Vulkan loader or driver works. */
SILKIE_API silkie_status silkie_devices_list(silkie_device_info *out, uint32_t max, uint32_t *n,
                                             uint32_t *loader_version);

typedef struct silkie_session_params {
    uint32_t struct_size;      /* set by silkie_session_params_init() */
    uint32_t n_ctx;            /* tokens of KV cache; 0 = the model's seq_length; at most its
                                  max_position_embeddings */
    uint32_t n_batch;          /* largest prefill chunk; 0 = 512 */
    silkie_dtype kv_type;      /* F16 (set by init) or F32 */
    /* Sampling. Negative values mean "the checkpoint's generation_config.json"; others must lie
     * in the ranges that file is held to (NaN never does): SILKIE_ERR_INVALID_ARGUMENT. */
    float temperature;         /* 0 = greedy; at most 10000 */
    int32_t top_k;             /* 0 = off; at most 2^24 */
    float top_p;               /* (0, 1]; 1 = off */
    float repetition_penalty;  /* [0.001, 1000]; 1 = off */
    int32_t max_new_tokens;    /* per answer */
    uint64_t seed;
    const char *system;        /* NULL = "You are a helpful assistant." */
    /* new fields are added here, at the end, and nowhere else */
} silkie_session_params;
SILKIE_API void silkie_session_params_init_size(silkie_session_params *p, size_t size);
static inline void silkie_session_params_init(silkie_session_params *p)
{
    silkie_session_params_init_size(p, sizeof *p);
}

SILKIE_API silkie_status silkie_session_create(silkie_model *m, const silkie_session_params *p,
                                               silkie_session **out);
SILKIE_API void silkie_session_destroy(silkie_session *s); /* NULL is fine */

/* Images for the next question, shown to the model as "Picture k:" lines before its text.
 * Each is decoded and encoded by the vision tower at once (so errors show here). `name` is the
 * text written inside <img>...</img> (at most n_queries bytes; NULL = "image<k>").
 * SILKIE_ERR_BAD_IMAGE for undecodable data; SILKIE_ERR_UNSUPPORTED for a text-only model. */
SILKIE_API silkie_status silkie_session_add_image_file(silkie_session *s, const char *path);
SILKIE_API silkie_status silkie_session_add_image_encoded(silkie_session *s, const void *data,
                                                          size_t size, const char *name);
/* 8-bit RGB, rows `stride` bytes apart (0 = 3 * width). */
SILKIE_API silkie_status silkie_session_add_image_rgb(silkie_session *s, const uint8_t *rgb,
                                                      uint32_t width, uint32_t height,
                                                      uint32_t stride, const char *name);

/* Streaming callback: `text` is the next complete UTF-8 piece of the answer (not
 * NUL-terminated), `token` the id that completed it. Return non-zero to stop the answer early. */
typedef int (*silkie_text_fn)(const char *text, size_t len, int32_t token, void *user);

typedef struct silkie_ask_params {
    uint32_t struct_size;      /* set by silkie_ask_params_init() */
    silkie_text_fn on_text;    /* may be NULL */
    void *user;
    int32_t max_new_tokens;    /* < 0: the session's value */
    uint32_t no_stop;          /* 1: ignore stop tokens (fixed-length generation) */
    const char *dump_path;     /* experimental verification hook: writes the safetensors file of
                                  pixel_values, vision_features, input_ids, prompt_logits_last,
                                  hidden_layer0, greedy_ids (single image, first question) */
    /* new fields are added here, at the end, and nowhere else */
} silkie_ask_params;
SILKIE_API void silkie_ask_params_init_size(silkie_ask_params *p, size_t size);
static inline void silkie_ask_params_init(silkie_ask_params *p)
{
    silkie_ask_params_init_size(p, sizeof *p);
}

/* Appends the question (and pending images) as a user turn, generates the answer and keeps both
 * in the session for the next turn. p may be NULL. SILKIE_ERR_CONTEXT_FULL when the turn does
 * not fit (the session is unchanged), SILKIE_ERR_CANCELLED after silkie_session_cancel() (the
 * partial answer stays), SILKIE_ERR_DEVICE_LOST after a GPU failure (the session is poisoned). */
SILKIE_API silkie_status silkie_session_ask(silkie_session *s, const char *question,
                                            const silkie_ask_params *p);
/* Last answer, NUL-terminated. Borrowed; valid until the next silkie_session_* call on s. */
SILKIE_API const char *silkie_session_answer(const silkie_session *s);
/* Token ids of the last answer. Borrowed; valid until the next silkie_session_* call on s. */
SILKIE_API const int32_t *silkie_session_answer_tokens(const silkie_session *s, uint32_t *n);
/* Safe to call from another thread while ask runs: the answer stops at the next token. */
SILKIE_API void silkie_session_cancel(silkie_session *s);
/* Forgets history, pending images and the KV cache. */
SILKIE_API silkie_status silkie_session_reset(silkie_session *s);
/* Writes the conversation (tokens, KV cache) to a file atomically; restores it into a session
 * of the same model. SILKIE_ERR_BAD_FILE for a file of another model or a damaged one. */
SILKIE_API silkie_status silkie_session_save(silkie_session *s, const char *path);
SILKIE_API silkie_status silkie_session_restore(silkie_session *s, const char *path);
/* Tokens in the conversation so far. */
SILKIE_API uint32_t silkie_session_n_tokens(const silkie_session *s);

typedef struct silkie_timings {
    double image_encode_ms;   /* decode + preprocess + vision tower, last question's images */
    uint32_t n_images;
    uint32_t prefill_tokens;
    double prefill_ms;
    uint32_t decode_tokens;
    double decode_ms;
} silkie_timings;
SILKIE_API void silkie_session_timings(const silkie_session *s, silkie_timings *out);

#ifdef SILKIE_EXPERIMENTAL
/* Benchmark of the real Qwen-VL-Chat shape (7B LLM + ViT-bigG) with synthetic random weights
 * built in device memory: no checkpoint file needed, so a vendor can size a device before
 * downloading 19 GB. Prints nothing; fills the result. */
typedef struct silkie_bench_params {
    uint32_t struct_size;      /* set by silkie_bench_params_init() */
    silkie_dtype weight_type;  /* LLM matrices; init sets Q4_0 */
    silkie_dtype vision_type;  /* init sets F16 */
    uint32_t n_layers;         /* LLM blocks; 0 = all 32 (fewer on slow devices) */
    uint32_t vision_layers;    /* ViT blocks; 0 = all 48 */
    uint32_t prefill_tokens;   /* 0 = 512 */
    uint32_t decode_tokens;    /* 0 = 128 */
    uint32_t skip_vision;      /* 1: no image-encode measurement */
    const char *device;        /* as in silkie_model_params */
    silkie_progress_fn progress; /* upload, image encode, prefill and decode; NULL = none */
    void *progress_user;
    uint32_t f16_gemm;         /* as in silkie_model_params */
    /* new fields are added here, at the end, and nowhere else */
} silkie_bench_params;
SILKIE_API void silkie_bench_params_init_size(silkie_bench_params *p, size_t size);
static inline void silkie_bench_params_init(silkie_bench_params *p)
{
    silkie_bench_params_init_size(p, sizeof *p);
}

typedef struct silkie_bench_result {
    char device_name[256];
    uint64_t weight_bytes;        /* on the device */
    uint64_t llm_bytes_per_token; /* weight bytes a decode step reads */
    uint64_t kv_bytes;            /* KV cache */
    uint64_t peak_host_bytes;     /* resident set high-water mark of the process */
    double image_encode_ms;       /* vision tower + resampler, one image */
    double prefill_tok_s;
    double decode_tok_s;
    double copy_gb_s;             /* copy-shader bandwidth on the same device */
    double decode_bound_tok_s;    /* copy_gb_s / llm_bytes_per_token */
    uint32_t n_layers, vision_layers, prefill_tokens, decode_tokens;
    /* The decode loop samples greedily on the device, as a greedy session does, and feeds each
     * token back. Per decode token: */
    uint32_t decode_dispatches_per_token;   /* compute dispatches in the replayed decode list */
    double decode_readback_bytes_per_token; /* device-written bytes the host reads */
    double decode_host_ms_per_token;        /* host time outside the wait for the device */
} silkie_bench_result;
SILKIE_API silkie_status silkie_bench_run(const silkie_bench_params *p, silkie_bench_result *out);
#endif

/* Bytes per element for plain types; bytes per block of 32 for Q8_0/Q4_0 (see dtype_block). */
SILKIE_API size_t silkie_dtype_block_bytes(silkie_dtype t);
/* Elements per block: 32 for Q8_0/Q4_0, 1 otherwise, 0 for an unknown type. */
SILKIE_API uint32_t silkie_dtype_block_elems(silkie_dtype t);
/* "f32", "f16", "bf16", "q8_0", "q4_0", "i32", ...; NULL for an unknown type. */
SILKIE_API const char *silkie_dtype_name(silkie_dtype t);

#ifdef __cplusplus
}
#endif
#endif /* SILKIE_SILKIE_H */
