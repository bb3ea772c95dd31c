/* Vulkan device layer: what the ops layer may use. Knows buffers, pipelines and dispatches;
 * knows nothing about tensors or models.
 *
 * Life cycle: silkie_vk_device_create -> buffers (silkie_vk_buffer_create) -> command lists
 * (silkie_vk_cmd_create, record dispatches, submit) -> destroy in reverse order.
 * A command list can be submitted again and again (replay): dispatch arguments that change per
 * step must live in buffers the shaders read, not in push constants.
 */
#ifndef SILKIE_VK_H
#define SILKIE_VK_H

#include "base/base.h"

typedef struct silkie_vk_device silkie_vk_device;
typedef struct silkie_vk_buffer silkie_vk_buffer;
typedef struct silkie_vk_cmd silkie_vk_cmd;

typedef struct silkie_vk_device_params {
    uint32_t struct_size;
    /* Device choice: NULL/"" = best (discrete > integrated > virtual > CPU); a decimal index into
     * the physical-device list, or a substring of the device name. SILKIE_DEVICE overrides. */
    const char *device;
    /* 1: enable the Khronos validation layer and count its messages (SILKIE_VALIDATE=1 also). */
    uint32_t validation;
    /* 1: timestamp every dispatch and print a per-op table at destroy (SILKIE_PROFILE=1 also). */
    uint32_t profile;
    /* Persistent pipeline cache file; NULL = SILKIE_PIPELINE_CACHE, else the user's cache
     * folder ($XDG_CACHE_HOME/silkie); "off" = none (pipeline.c). */
    const char *pipeline_cache_path;
    /* 1: never use cooperative-matrix / int-dot paths (testing fallbacks). */
    uint32_t disable_fast_paths;
    /* Test hook: > 0 caps caps.max_storage_buffer_range at this many bytes so that tensor
     * splitting can be exercised with tiny tensors. 0 = the device limit. */
    uint64_t max_binding_bytes;
    /* Test hook: 1 treats the device as not unified, so WEIGHTS/ACTIVATIONS buffers are not
     * mapped and host transfers go through the staging buffer (the discrete-GPU path). */
    uint32_t force_staging;
    /* 1: `device` alone chooses (SILKIE_DEVICE is ignored), as a device listing needs. */
    uint32_t exact_device;
    /* 1: GEMMs whose inputs fit f16 (silkie_matmul_opts.f16_ok) run with f16 arithmetic
     * (matmul_f16.comp) where the device has shaderFloat16 and they do not take the
     * cooperative-matrix kernel. Opt-in: not yet measured on a GPU with a fast f16 rate. */
    uint32_t f16_gemm;
} silkie_vk_device_params;

void silkie_vk_device_params_init(silkie_vk_device_params *p);

/* Physical devices the loader reports (*n) and the loader's instance version (0 when no loader
 * works). SILKIE_ERR_NO_DEVICE when no instance can be created. */
silkie_status silkie_vk_physical_count(uint32_t *n, uint32_t *loader_version);

/* Features and limits probed at creation; logged once at INFO. */
typedef struct silkie_vk_caps {
    char device_name[256];
    uint32_t vendor_id, device_id, device_type; /* VkPhysicalDeviceType */
    uint32_t api_version, driver_version;
    char driver_name[512];                      /* driver name and version text */
    uint64_t max_storage_buffer_range;          /* bytes per binding */
    uint32_t max_storage_buffers;               /* storage-buffer bindings per dispatch */
    uint32_t max_shared_memory;                 /* bytes per workgroup */
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_count[3];
    uint32_t max_push_constants;
    uint32_t subgroup_size;                     /* default subgroup size */
    uint32_t subgroup_ops;                      /* 1: arithmetic + shuffle in compute */
    uint32_t fp16_arith;                        /* shaderFloat16 */
    uint32_t storage16;                         /* storageBuffer16BitAccess */
    uint32_t storage8;                          /* storageBuffer8BitAccess */
    uint32_t int8_arith;                        /* shaderInt8 */
    uint32_t int_dot;                           /* VK_KHR_shader_integer_dot_product */
    uint32_t coopmat_nv;                        /* VK_NV_cooperative_matrix f16 16x16x16 */
    uint32_t coopmat_khr;                       /* VK_KHR_cooperative_matrix offered (no
                                                 * kernel uses it yet; reported only) */
    uint32_t unified_memory;                    /* device-local memory is host-visible */
    uint32_t timestamps;                        /* compute queue supports timestamps */
    float timestamp_period_ns;
    uint64_t device_local_bytes;                /* heap size of device-local memory */
} silkie_vk_caps;

silkie_status silkie_vk_device_create(const silkie_vk_device_params *p, silkie_vk_device **out);
void silkie_vk_device_destroy(silkie_vk_device *d);
const silkie_vk_caps *silkie_vk_device_caps(const silkie_vk_device *d); /* borrowed */
/* Compute pipelines built so far (silkie-cache reports it). */
uint32_t silkie_vk_pipeline_count(const silkie_vk_device *d);
/* Validation messages seen so far (warnings and errors); tests fail when non-zero. */
uint32_t silkie_vk_validation_messages(const silkie_vk_device *d);
/* 1 after VK_ERROR_DEVICE_LOST: every later call returns SILKIE_ERR_DEVICE_LOST. */
int silkie_vk_device_lost(const silkie_vk_device *d);
/* Waits for all submitted work. */
silkie_status silkie_vk_device_wait_idle(silkie_vk_device *d);

/* Memory pools. WEIGHTS: device-local, written once through staging (or directly when
 * unified). ACTIVATIONS: device-local scratch. HOST: host-visible coherent, mapped, for small
 * per-step parameters, readbacks and staging. All are sub-allocated from large blocks. */
typedef enum silkie_vk_pool {
    SILKIE_VK_POOL_WEIGHTS = 0,
    SILKIE_VK_POOL_ACTIVATIONS = 1,
    SILKIE_VK_POOL_HOST = 2,
} silkie_vk_pool;

/* A buffer of `size` bytes; size must be <= caps.max_storage_buffer_range (split larger data
 * yourself: the ops layer splits tensors by rows). Contents are undefined until written.
 * Errors: SILKIE_ERR_OUT_OF_DEVICE_MEMORY, SILKIE_ERR_OUT_OF_MEMORY, SILKIE_ERR_INVALID_ARGUMENT. */
silkie_status silkie_vk_buffer_create(silkie_vk_device *d, silkie_vk_pool pool, uint64_t size,
                                      silkie_vk_buffer **out);
void silkie_vk_buffer_destroy(silkie_vk_buffer *b); /* NULL is fine; caller ensures GPU idle */
/* Bytes of device memory the pools hold from the driver now (blocks, not buffers: a pool keeps
 * one empty block for reuse). For leak checks and soak tests. */
uint64_t silkie_vk_device_bytes(const silkie_vk_device *d);
uint64_t silkie_vk_buffer_size(const silkie_vk_buffer *b);
/* Host pointer for HOST buffers and for any buffer on unified-memory devices; NULL otherwise. */
void *silkie_vk_buffer_map(silkie_vk_buffer *b);
/* Synchronous copies (through a staging buffer when not mappable). */
silkie_status silkie_vk_buffer_write(silkie_vk_buffer *b, uint64_t offset, const void *src,
                                     uint64_t size);
silkie_status silkie_vk_buffer_read(silkie_vk_buffer *b, uint64_t offset, void *dst,
                                    uint64_t size);
/* Repeats the 32-bit value; offset and size must be multiples of 4 (as for vkCmdFillBuffer). */
silkie_status silkie_vk_buffer_fill(silkie_vk_buffer *b, uint64_t offset, uint64_t size,
                                    uint32_t value);

/* Shaders compiled at build time (shaders/NAME.comp); ids are generated: SILKIE_SHADER_<NAME>. */
#include "silkie_shaders.h"

/* One bound range. range == 0 means "to the end of the buffer". */
typedef enum silkie_vk_access {
    SILKIE_VK_READ = 1,
    SILKIE_VK_WRITE = 2,
    SILKIE_VK_READ_WRITE = 3,
} silkie_vk_access;

typedef struct silkie_vk_binding {
    silkie_vk_buffer *buf;
    uint64_t offset; /* multiple of caps' minStorageBufferOffsetAlignment (checked) */
    uint64_t range;
    silkie_vk_access access;
} silkie_vk_binding;

#define SILKIE_VK_MAX_BINDINGS 12
#define SILKIE_VK_MAX_SPEC 16

/* The device params' f16_gemm opt-in. */
int silkie_vk_device_f16_gemm(const silkie_vk_device *d);
/* 1 once a pipeline of this shader has failed to build on the device (a driver that cannot
 * compile it): ops that have another kernel for the job choose that one from then on. */
int silkie_vk_shader_failed(const silkie_vk_device *d, silkie_shader_id id);

/* Minimum alignment of binding offsets on this device (bytes). */
uint64_t silkie_vk_offset_alignment(const silkie_vk_device *d);

typedef struct silkie_vk_dispatch_desc {
    silkie_shader_id shader;
    const uint32_t *spec;   /* specialization constants 0..n_spec-1, 32-bit each */
    uint32_t n_spec;
    const void *push;       /* push constants, <= 128 bytes */
    uint32_t push_size;
    const silkie_vk_binding *bindings; /* binding i = descriptor binding i, all storage buffers */
    uint32_t n_bindings;
    uint32_t groups[3];     /* workgroup counts; a zero count records nothing */
    const char *label;      /* profiler row name (static storage); NULL = shader name */
} silkie_vk_dispatch_desc;

/* Command list. Barriers are derived from declared accesses: a dispatch that reads or writes a
 * buffer range written since the last barrier gets a compute->compute barrier first. */
silkie_status silkie_vk_cmd_create(silkie_vk_device *d, silkie_vk_cmd **out);
void silkie_vk_cmd_destroy(silkie_vk_cmd *c); /* waits for its pending submission */
/* Starts (re)recording; drops what was recorded before. */
silkie_status silkie_vk_cmd_begin(silkie_vk_cmd *c);
silkie_status silkie_vk_cmd_dispatch(silkie_vk_cmd *c, const silkie_vk_dispatch_desc *d);
/* Records a buffer copy (transfer) with the needed barriers. */
silkie_status silkie_vk_cmd_copy(silkie_vk_cmd *c, silkie_vk_buffer *src, uint64_t src_off,
                                 silkie_vk_buffer *dst, uint64_t dst_off, uint64_t size);
/* Forces a full barrier (e.g. before the host reads results written by a replayed list). */
silkie_status silkie_vk_cmd_barrier(silkie_vk_cmd *c);
silkie_status silkie_vk_cmd_end(silkie_vk_cmd *c);
/* Submits the ended list and waits for it. May be called any number of times after end. */
silkie_status silkie_vk_cmd_submit_wait(silkie_vk_cmd *c);
/* Asynchronous form: submit, then wait later (one submission in flight per list). */
silkie_status silkie_vk_cmd_submit(silkie_vk_cmd *c);
silkie_status silkie_vk_cmd_wait(silkie_vk_cmd *c);
uint32_t silkie_vk_cmd_n_dispatches(const silkie_vk_cmd *c);
/* Barriers derived from declared accesses (or forced) since begin; the ones begin and end
 * always record are not counted. For tests and tuning. */
uint32_t silkie_vk_cmd_n_barriers(const silkie_vk_cmd *c);

/* Profiling: per-label totals accumulated over submissions when profiling is on. */
typedef struct silkie_vk_profile_row {
    const char *label;
    uint64_t calls;
    double total_ms;
} silkie_vk_profile_row;
/* Copies up to max rows (sorted by total time); returns the number of rows available. */
uint32_t silkie_vk_profile(const silkie_vk_device *d, silkie_vk_profile_row *rows, uint32_t max);
void silkie_vk_profile_print(const silkie_vk_device *d); /* to the log at WARN level */
/* Forgets the totals so far (silkie-bench-ops times one case at a time). */
void silkie_vk_profile_reset(silkie_vk_device *d);

#endif /* SILKIE_VK_H */
