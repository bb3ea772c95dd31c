/* Internal foundation every layer may use: status messages, allocation, logging, helpers. */
#ifndef SILKIE_BASE_H
#define SILKIE_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "silkie/silkie.h"

/* Records a formatted message for silkie_last_error() and returns the status. */
silkie_status silkie_fail(silkie_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define SK_FAIL(st, ...) silkie_fail((st), __VA_ARGS__)
/* Clears the calling thread's message (entry points call it first). */
void silkie_error_clear(void);

/* Allocation through the app-selected allocator. Sizes are tracked so custom allocators get
 * them back on free. All return NULL on failure; silkie_free(NULL) is fine. */
void *silkie_malloc(size_t size);
void *silkie_calloc(size_t n, size_t size); /* overflow-checked, zeroed */
void *silkie_realloc(void *p, size_t size);
void silkie_free(void *p);
char *silkie_strdup(const char *s);
#define SK_NEW(T) ((T *)silkie_calloc(1, sizeof(T)))
#define SK_NEW_ARRAY(T, n) ((T *)silkie_calloc((n), sizeof(T)))

/* Test hook: make the N-th allocation from now fail (0 = never). Returns allocations so far. */
void silkie_alloc_fail_at(uint64_t n);
uint64_t silkie_alloc_count(void);
/* Live allocations (for leak checks in tests). */
int64_t silkie_alloc_live(void);

/* Logging (module tag first). */
void silkie_log(silkie_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool silkie_log_enabled(silkie_log_level level);
#ifndef SK_LOG_MODULE
#define SK_LOG_MODULE "silkie"
#endif
#define SK_LOGE(...) silkie_log(SILKIE_LOG_ERROR, SK_LOG_MODULE, __VA_ARGS__)
#define SK_LOGW(...) silkie_log(SILKIE_LOG_WARN, SK_LOG_MODULE, __VA_ARGS__)
#define SK_LOGI(...) silkie_log(SILKIE_LOG_INFO, SK_LOG_MODULE, __VA_ARGS__)
#define SK_LOGD(...) silkie_log(SILKIE_LOG_DEBUG, SK_LOG_MODULE, __VA_ARGS__)

/* Invariants no input can break: abort in debug/test builds, vanish in release. */
#ifdef NDEBUG
#define SK_ASSERT(x) ((void)0)
#else
void silkie_assert_fail(const char *expr, const char *file, int line);
#define SK_ASSERT(x) ((x) ? (void)0 : silkie_assert_fail(#x, __FILE__, __LINE__))
#endif

#define SK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SK_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SK_CHECK(expr)                          \
    do {                                        \
        silkie_status sk_st_ = (expr);          \
        if (sk_st_ != SILKIE_OK) return sk_st_; \
    } while (0)

/* Public params structs begin with uint32_t struct_size and only grow at the end. Copies the
 * library's defaults into an app's struct of `size` bytes (its sizeof, which is smaller when it
 * was built against an older header): never more than `size` bytes written, a newer app's extra
 * tail zeroed, struct_size set to `size`. */
static inline void sk_params_fill(void *dst, size_t size, const void *defaults, size_t lib_size)
{
    if (!dst || size < sizeof(uint32_t) || size > UINT32_MAX) return;
    memcpy(dst, defaults, SK_MIN(size, lib_size));
    if (size > lib_size) memset((char *)dst + lib_size, 0, size - lib_size);
    uint32_t s = (uint32_t)size;
    memcpy(dst, &s, sizeof s);
}

/* Overflow-checked size arithmetic: false on overflow. */
static inline bool sk_mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool sk_add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Environment variables are read here and nowhere else: SILKIE_LOG_LEVEL, SILKIE_VALIDATE,
 * SILKIE_DEVICE, SILKIE_PROFILE, SILKIE_PIPELINE_CACHE, SILKIE_FAULT, SILKIE_VULKAN_LOADER, and
 * XDG_CACHE_HOME / HOME for the default pipeline cache. NULL when unset. */
const char *silkie_env(const char *name);

/* Half and bfloat16 conversion (round to nearest even), shared by loaders, refs and tests. */
uint16_t silkie_f32_to_f16(float f);
float silkie_f16_to_f32(uint16_t h);
uint16_t silkie_f32_to_bf16(float f);
float silkie_bf16_to_f32(uint16_t b);

/* Monotonic clock in nanoseconds. */
uint64_t silkie_time_ns(void);

#endif /* SILKIE_BASE_H */
