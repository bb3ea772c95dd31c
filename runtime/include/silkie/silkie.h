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
    X(SILKIE_ERR_CONTEXT_FULL, -20)            \
    X(SILKIE_ERR_CANCELLED, -21)               \
    X(SILKIE_ERR_NO_DEVICE, -29)               \
    X(SILKIE_ERR_DEVICE_LOST, -30)             \
    X(SILKIE_ERR_VULKAN, -31)                  \
    X(SILKIE_ERR_CAMERA, -40)                  \
    X(SILKIE_ERR_AGAIN, -41)                   \
    X(SILKIE_ERR_END_OF_STREAM, -42)           \
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
