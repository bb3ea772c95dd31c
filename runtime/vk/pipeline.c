/* Compute pipelines: built on first use from the embedded SPIR-V table and cached by
 * (shader, specialization constants, binding count); a driver pipeline cache persists across
 * runs in a file guarded by a header naming the device and our shader table. */
#include "vk_int.h"

#include <stdio.h>
#include <unistd.h>

#define SK_CACHE_MAGIC "SKPCACHE"
#define SK_CACHE_VERSION 1u

typedef struct cache_header {
    char magic[8];
    uint32_t version;
    uint32_t vendor_id, device_id, driver_version;
    uint8_t uuid[VK_UUID_SIZE];
    uint64_t table_hash;
    uint64_t data_size;
} cache_header;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t table_hash(void)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < SILKIE_SHADER_COUNT; i++) {
        h = fnv(h, silkie_shader_table[i].name, strlen(silkie_shader_table[i].name));
        h = fnv(h, silkie_shader_table[i].code, silkie_shader_table[i].size_bytes);
    }
    return h;
}

static void header_fill(const silkie_vk_device *d, cache_header *h, uint64_t data_size)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, SK_CACHE_MAGIC, 8);
    h->version = SK_CACHE_VERSION;
    h->vendor_id = d->caps.vendor_id;
    h->device_id = d->caps.device_id;
    h->driver_version = d->caps.driver_version;
    memcpy(h->uuid, d->cache_uuid, VK_UUID_SIZE);
    h->table_hash = table_hash();
    h->data_size = data_size;
}

/* Reads a cache file whose header matches; NULL (and an INFO line) for anything else. */
static void *cache_load(const silkie_vk_device *d, const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        SK_LOGI("pipeline cache: %s not found, starting empty", path);
        return NULL;
    }
    cache_header want, got;
    header_fill(d, &want, 0);
    void *data = NULL;
    const char *why = NULL;
    if (fread(&got, sizeof got, 1, f) != 1)
        why = "truncated header";
    else if (memcmp(got.magic, want.magic, 8) || got.version != want.version)
        why = "not a silkie pipeline cache";
    else if (got.vendor_id != want.vendor_id || got.device_id != want.device_id ||
             got.driver_version != want.driver_version || memcmp(got.uuid, want.uuid, VK_UUID_SIZE))
        why = "made for another device or driver";
    else if (got.table_hash != want.table_hash)
        why = "made for other shaders";
    else if (got.data_size == 0 || got.data_size > (1ull << 30))
        why = "bad data size";
    if (!why) {
        data = silkie_malloc((size_t)got.data_size);
        if (!data)
            why = "no memory for its data";
        else if (fread(data, 1, (size_t)got.data_size, f) != got.data_size || fgetc(f) != EOF)
            why = "data length does not match its header";
    }
    fclose(f);
    if (why) {
        SK_LOGI("pipeline cache: ignoring %s: %s", path, why);
        silkie_free(data);
        return NULL;
    }
    SK_LOGI("pipeline cache: loaded %llu bytes from %s", (unsigned long long)got.data_size, path);
    *size = (size_t)got.data_size;
    return data;
}

static void cache_save(silkie_vk_device *d)
{
    size_t n = 0;
    if (vkGetPipelineCacheData(d->dev, d->pipe_cache, &n, NULL) != VK_SUCCESS || n == 0) return;
    void *data = silkie_malloc(n);
    if (!data) return;
    if (vkGetPipelineCacheData(d->dev, d->pipe_cache, &n, data) != VK_SUCCESS) {
        silkie_free(data);
        return;
    }
    size_t plen = strlen(d->pipe_cache_path);
    char *tmp = silkie_malloc(plen + 32);
    if (!tmp) {
        silkie_free(data);
        return;
    }
    /* Writers in several processes must not interleave: each writes its own temporary file and
     * the rename makes the swap atomic. */
    snprintf(tmp, plen + 32, "%s.tmp%ld", d->pipe_cache_path, (long)getpid());
    cache_header h;
    header_fill(d, &h, n);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(&h, sizeof h, 1, f) == 1 && fwrite(data, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, d->pipe_cache_path) != 0) ok = 0;
    if (!ok) {
        SK_LOGW("pipeline cache: could not write %s", d->pipe_cache_path);
        if (f) remove(tmp);
    } else {
        SK_LOGI("pipeline cache: saved %zu bytes to %s", n, d->pipe_cache_path);
    }
    silkie_free(tmp);
    silkie_free(data);
}

silkie_status silkie_vk_pipelines_init(silkie_vk_device *d, const char *cache_path)
{
    d->push_range = SK_MIN(128u, d->caps.max_push_constants);
    d->cap_pipes = 64;
    d->pipes = SK_NEW_ARRAY(sk_pipe_entry, d->cap_pipes);
    if (!d->pipes) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk pipelines: table");
    void *data = NULL;
    size_t size = 0;
    if (cache_path && *cache_path) {
        d->pipe_cache_path = silkie_strdup(cache_path);
        if (!d->pipe_cache_path) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk pipelines: path");
        data = cache_load(d, cache_path, &size);
    }
    VkPipelineCacheCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = size,
        .pInitialData = data,
    };
    VkResult r = vkCreatePipelineCache(d->dev, &ci, NULL, &d->pipe_cache);
    if (r != VK_SUCCESS && data) {
        /* The driver rejected data that passed our header check: start empty instead. */
        SK_LOGI("pipeline cache: driver refused %s, starting empty", cache_path);
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        r = vkCreatePipelineCache(d->dev, &ci, NULL, &d->pipe_cache);
    }
    silkie_free(data);
    SK_VK(d, r);
    return SILKIE_OK;
}

void silkie_vk_pipelines_release(silkie_vk_device *d)
{
    for (uint32_t i = 0; d->pipes && i < d->cap_pipes; i++)
        if (d->pipes[i].used) vkDestroyPipeline(d->dev, d->pipes[i].pipe, NULL);
    silkie_free(d->pipes);
    d->pipes = NULL;
    if (d->pipe_cache) {
        if (d->pipe_cache_path && !d->lost) cache_save(d);
        vkDestroyPipelineCache(d->dev, d->pipe_cache, NULL);
    }
    silkie_free(d->pipe_cache_path);
    for (int i = 0; i < SILKIE_SHADER_COUNT; i++)
        if (d->modules[i]) vkDestroyShaderModule(d->dev, d->modules[i], NULL);
    for (int i = 0; i <= SILKIE_VK_MAX_BINDINGS; i++) {
        if (d->pipe_layouts[i]) vkDestroyPipelineLayout(d->dev, d->pipe_layouts[i], NULL);
        if (d->set_layouts[i]) vkDestroyDescriptorSetLayout(d->dev, d->set_layouts[i], NULL);
    }
}

static silkie_status layouts_get(silkie_vk_device *d, uint32_t n)
{
    if (d->pipe_layouts[n]) return SILKIE_OK;
    VkDescriptorSetLayoutBinding b[SILKIE_VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < n; i++)
        b[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    const VkDescriptorSetLayoutCreateInfo li = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = n,
        .pBindings = b,
    };
    SK_VK(d, vkCreateDescriptorSetLayout(d->dev, &li, NULL, &d->set_layouts[n]));
    const VkPushConstantRange pr = {
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        .offset = 0,
        .size = d->push_range,
    };
    const VkPipelineLayoutCreateInfo pi = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &d->set_layouts[n],
        .pushConstantRangeCount = 1,
        .pPushConstantRanges = &pr,
    };
    SK_VK(d, vkCreatePipelineLayout(d->dev, &pi, NULL, &d->pipe_layouts[n]));
    return SILKIE_OK;
}

static uint64_t key_hash(uint32_t shader, uint32_t nb, const uint32_t *spec, uint32_t n_spec)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const uint32_t head[3] = {shader, nb, n_spec};
    h = fnv(h, head, sizeof head);
    if (n_spec) h = fnv(h, spec, n_spec * sizeof *spec);
    return h;
}

static sk_pipe_entry *slot_find(sk_pipe_entry *t, uint32_t cap, uint32_t shader, uint32_t nb,
                                const uint32_t *spec, uint32_t n_spec)
{
    uint32_t i = (uint32_t)key_hash(shader, nb, spec, n_spec) & (cap - 1);
    for (;; i = (i + 1) & (cap - 1)) {
        sk_pipe_entry *e = &t[i];
        if (!e->used) return e;
        if (e->shader == shader && e->n_bindings == nb && e->n_spec == n_spec &&
            (n_spec == 0 || !memcmp(e->spec, spec, n_spec * sizeof *spec)))
            return e;
    }
}

static silkie_status table_grow(silkie_vk_device *d)
{
    uint32_t cap = d->cap_pipes * 2;
    sk_pipe_entry *t = SK_NEW_ARRAY(sk_pipe_entry, cap);
    if (!t) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk pipelines: table of %u", cap);
    for (uint32_t i = 0; i < d->cap_pipes; i++) {
        const sk_pipe_entry *e = &d->pipes[i];
        if (e->used) *slot_find(t, cap, e->shader, e->n_bindings, e->spec, e->n_spec) = *e;
    }
    silkie_free(d->pipes);
    d->pipes = t;
    d->cap_pipes = cap;
    return SILKIE_OK;
}

silkie_status silkie_vk_pipeline_get(silkie_vk_device *d, silkie_shader_id id,
                                     const uint32_t *spec, uint32_t n_spec, uint32_t n_bindings,
                                     sk_pipeline *out)
{
    SK_CHECK(layouts_get(d, n_bindings));
    out->layout = d->pipe_layouts[n_bindings];
    out->set_layout = d->set_layouts[n_bindings];
    sk_pipe_entry *e = slot_find(d->pipes, d->cap_pipes, (uint32_t)id, n_bindings, spec, n_spec);
    if (e->used) {
        out->pipe = e->pipe;
        return SILKIE_OK;
    }
    const silkie_shader_blob *blob = &silkie_shader_table[id];
    if (!d->modules[id]) {
        const VkShaderModuleCreateInfo mi = {
            .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
            .codeSize = blob->size_bytes,
            .pCode = blob->code,
        };
        SK_VK(d, vkCreateShaderModule(d->dev, &mi, NULL, &d->modules[id]));
    }
    VkSpecializationMapEntry map[SILKIE_VK_MAX_SPEC];
    for (uint32_t i = 0; i < n_spec; i++)
        map[i] = (VkSpecializationMapEntry){.constantID = i, .offset = 4 * i, .size = 4};
    const VkSpecializationInfo si = {
        .mapEntryCount = n_spec,
        .pMapEntries = map,
        .dataSize = 4 * (size_t)n_spec,
        .pData = spec,
    };
    const VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = d->modules[id],
                .pName = "main",
                .pSpecializationInfo = n_spec ? &si : NULL,
            },
        .layout = out->layout,
    };
    const uint64_t t0 = silkie_time_ns();
    VkPipeline pipe;
    SK_VK(d, vkCreateComputePipelines(d->dev, d->pipe_cache, 1, &ci, NULL, &pipe));
    SK_LOGD("pipeline %s (%u spec, %u bindings) built in %.2f ms", blob->name, n_spec, n_bindings,
            (double)(silkie_time_ns() - t0) * 1e-6);
    e->used = 1;
    e->shader = (uint32_t)id;
    e->n_bindings = n_bindings;
    e->n_spec = n_spec;
    if (n_spec) memcpy(e->spec, spec, n_spec * sizeof *spec);
    e->pipe = pipe;
    out->pipe = pipe;
    if (++d->n_pipes * 2 > d->cap_pipes) {
        silkie_status st = table_grow(d);
        if (st != SILKIE_OK) return st; /* the pipeline stays usable in the old table */
    }
    return SILKIE_OK;
}
