/* Private to runtime/vk: the device object and helpers shared by its files. */
#ifndef SILKIE_VK_INT_H
#define SILKIE_VK_INT_H

#undef SK_LOG_MODULE
#define SK_LOG_MODULE "vk"

#include "loader.h"

#include "base/fault.h"
#include "vk.h"

/* Maps a VkResult to a status with a message naming the call; marks the device lost on
 * VK_ERROR_DEVICE_LOST. */
silkie_status silkie_vk_result(silkie_vk_device *d, VkResult r, const char *what);
const char *silkie_vk_result_name(VkResult r);
#define SK_VK(d, expr)                                                         \
    do {                                                                       \
        VkResult sk_vr_ = (expr);                                              \
        if (sk_vr_ != VK_SUCCESS) return silkie_vk_result((d), sk_vr_, #expr); \
    } while (0)
/* Every entry point that touches the device starts with this. */
#define SK_VK_ALIVE(d, what)                                                             \
    do {                                                                                 \
        if ((d)->lost) return SK_FAIL(SILKIE_ERR_DEVICE_LOST, "%s: device was lost", what); \
    } while (0)

/* ---- memory (memory.c) ------------------------------------------------------------------ */
typedef struct sk_range {
    uint64_t off, size;
} sk_range;

typedef struct sk_block {
    VkDeviceMemory mem;
    uint64_t size;
    uint8_t *map;       /* persistent mapping when host-visible, else NULL */
    int dedicated;      /* one buffer owns the whole block */
    sk_range *free;     /* sorted by offset, coalesced */
    uint32_t n_free, cap_free;
    uint32_t n_live;    /* buffers placed in this block */
    struct sk_block *next;
} sk_block;

typedef struct sk_pool {
    uint32_t type_index;
    uint32_t host_visible;
    uint64_t block_size;
    sk_block *blocks;
} sk_pool;

struct silkie_vk_buffer {
    silkie_vk_device *dev;
    silkie_vk_pool pool;
    VkBuffer buf;
    uint64_t size;
    sk_block *block;
    uint64_t mem_off, mem_size; /* placement inside block */
    uint8_t *map;               /* NULL when not host-visible */
};

void silkie_vk_memory_release(silkie_vk_device *d);
silkie_status silkie_vk_memory_init(silkie_vk_device *d);

/* ---- pipelines (pipeline.c) ------------------------------------------------------------- */
typedef struct sk_pipe_entry {
    uint32_t used;
    uint32_t shader, n_bindings, n_spec;
    uint32_t spec[SILKIE_VK_MAX_SPEC];
    VkPipeline pipe;
} sk_pipe_entry;

typedef struct sk_pipeline {
    VkPipeline pipe;
    VkPipelineLayout layout;
    VkDescriptorSetLayout set_layout;
} sk_pipeline;

silkie_status silkie_vk_pipelines_init(silkie_vk_device *d, const char *cache_path);
void silkie_vk_pipelines_release(silkie_vk_device *d);
silkie_status silkie_vk_pipeline_get(silkie_vk_device *d, silkie_shader_id id,
                                     const uint32_t *spec, uint32_t n_spec, uint32_t n_bindings,
                                     sk_pipeline *out);

/* ---- profiling (profile.c) -------------------------------------------------------------- */
typedef struct sk_prof_row {
    const char *label;
    uint64_t calls;
    uint64_t total_ticks_ns; /* nanoseconds */
} sk_prof_row;
void silkie_vk_profile_add(silkie_vk_device *d, const char *label, uint64_t ns);
void silkie_vk_profile_release(silkie_vk_device *d);

/* ---- the device ------------------------------------------------------------------------- */
struct silkie_vk_device {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger;
    VkPhysicalDevice phys;
    VkDevice dev;
    VkQueue queue;
    uint32_t queue_family;
    silkie_vk_caps caps;
    VkPhysicalDeviceMemoryProperties mem_props;
    uint64_t offset_align;     /* minStorageBufferOffsetAlignment */
    uint32_t timestamp_bits;   /* valid bits of the compute queue's timestamps */
    uint8_t cache_uuid[VK_UUID_SIZE];
    uint32_t validation_messages;
    int validation, profile, lost;
    int f16_gemm; /* device params' opt-in */

    sk_pool pools[3];
    uint64_t mem_bytes;        /* VkDeviceMemory held now, all pools */
    /* Synchronous transfers: one command buffer, fence and growable staging buffer. */
    VkCommandPool xfer_pool;
    VkCommandBuffer xfer_cb;
    VkFence xfer_fence;
    silkie_vk_buffer *staging;

    /* Pipelines: layouts by binding count, modules by shader, cache by key. */
    VkDescriptorSetLayout set_layouts[SILKIE_VK_MAX_BINDINGS + 1];
    VkPipelineLayout pipe_layouts[SILKIE_VK_MAX_BINDINGS + 1];
    VkShaderModule modules[SILKIE_SHADER_COUNT];
    /* 1: a pipeline of this shader failed to build here; ops with another kernel avoid it. */
    uint8_t shader_failed[SILKIE_SHADER_COUNT];
    sk_pipe_entry *pipes;
    uint32_t n_pipes, cap_pipes; /* cap is a power of two */
    VkPipelineCache pipe_cache;
    char *pipe_cache_path;
    uint32_t push_range;

    sk_prof_row *prof;
    uint32_t n_prof, cap_prof;
};

/* ---- driver calls that can fail on purpose ----------------------------------------------- */
/* SILKIE_FAULT (base/fault.h) makes the N-th call of a kind return what a failing driver would.
 * One branch per call when nothing is armed, in every build, so a field failure replays on the
 * binary that saw it. Every vkQueueSubmit, fence wait, vkAllocateMemory, vkMapMemory, shader
 * module and pipeline creation goes through these. */
static inline VkResult sk_vk_queue_submit(silkie_vk_device *d, const VkSubmitInfo *si,
                                          VkFence fence)
{
    /* Nothing is queued, so nothing is left running on the device that we report lost. */
    if (sk_fault_hit(SK_FAULT_SUBMIT)) return VK_ERROR_DEVICE_LOST;
    return vkQueueSubmit(d->queue, 1, si, fence);
}

static inline VkResult sk_vk_wait_fence(silkie_vk_device *d, VkFence fence)
{
    /* An injected loss still waits for the real work first: callers free what a lost device
     * no longer runs, and the work queued here is real. */
    const int fail = sk_fault_hit(SK_FAULT_FENCE);
    VkResult r = vkWaitForFences(d->dev, 1, &fence, VK_TRUE, UINT64_MAX);
    return fail && r == VK_SUCCESS ? VK_ERROR_DEVICE_LOST : r;
}

static inline VkResult sk_vk_allocate_memory(silkie_vk_device *d, const VkMemoryAllocateInfo *ai,
                                             VkDeviceMemory *mem)
{
    if (sk_fault_hit(SK_FAULT_ALLOC)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return vkAllocateMemory(d->dev, ai, NULL, mem);
}

static inline VkResult sk_vk_map_memory(silkie_vk_device *d, VkDeviceMemory mem, void **p)
{
    if (sk_fault_hit(SK_FAULT_MAP)) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    return vkMapMemory(d->dev, mem, 0, VK_WHOLE_SIZE, 0, p);
}

/* A driver that cannot compile a shader reports it at module or pipeline creation. */
static inline VkResult sk_vk_create_shader_module(silkie_vk_device *d,
                                                  const VkShaderModuleCreateInfo *mi,
                                                  VkShaderModule *out)
{
    if (sk_fault_hit(SK_FAULT_PIPELINE)) return VK_ERROR_INVALID_SHADER_NV;
    return vkCreateShaderModule(d->dev, mi, NULL, out);
}

static inline VkResult sk_vk_create_pipeline(silkie_vk_device *d,
                                             const VkComputePipelineCreateInfo *ci,
                                             VkPipeline *out)
{
    if (sk_fault_hit(SK_FAULT_PIPELINE)) return VK_ERROR_INVALID_SHADER_NV;
    return vkCreateComputePipelines(d->dev, d->pipe_cache, 1, ci, NULL, out);
}

#endif /* SILKIE_VK_INT_H */
