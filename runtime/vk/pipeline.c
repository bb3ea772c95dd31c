/* Compute pipelines: built on first use from the embedded SPIR-V table and cached by
 * (shader, specialization constants, binding count); a driver pipeline cache persists across
 * runs in a file guarded by a header naming the device and our shader table. By default that
 * file is in the user's cache folder, so a second run starts without shader compilation. */
#include "vk_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/outfile.h"

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
    /* Only a regular file is read: a device is not even opened, and O_NONBLOCK keeps a FIFO
     * that appears in between from waiting for a writer (fstat then refuses it). */
    struct stat st;
    int fd = stat(path, &st) == 0 && !S_ISREG(st.st_mode)
                 ? -2
                 : open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd == -2 || (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)))) {
        SK_LOGI("pipeline cache: ignoring %s: not a regular file", path);
        if (fd >= 0) close(fd);
        return NULL;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
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

/* 1 when the file at path already holds exactly this header and data: a run that built no new
 * pipeline leaves the file (and its modification time) alone. */
static int cache_same(const char *path, const cache_header *h, const void *data, size_t n)
{
    struct stat st; /* not followed: a link there is the writer's to refuse */
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != sizeof *h + n)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint8_t *buf = silkie_malloc(sizeof *h + n);
    int same = buf && fread(buf, 1, sizeof *h + n, f) == sizeof *h + n &&
               !memcmp(buf, h, sizeof *h) && !memcmp(buf + sizeof *h, data, n);
    silkie_free(buf);
    fclose(f);
    return same;
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
    cache_header h;
    header_fill(d, &h, n);
    if (cache_same(d->pipe_cache_path, &h, data, n)) {
        SK_LOGD("pipeline cache: %s is up to date", d->pipe_cache_path);
        silkie_free(data);
        return;
    }
    /* Writers in several processes must not interleave: each writes its own temporary file and
     * the rename makes the swap atomic (base/outfile.h). */
    const void *parts[2] = {&h, data};
    const size_t sizes[2] = {sizeof h, n};
    /* The cache is an optimisation and this runs in a destructor: a failure is only logged, with
     * the writer's message (it names the file and the reason), and the caller's last error
     * message is put back. */
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", silkie_last_error());
    if (silkie_outfile_write_parts(d->pipe_cache_path, parts, sizes, 2) != SILKIE_OK)
        SK_LOGW("pipeline cache: not saved: %s", silkie_last_error());
    else
        SK_LOGI("pipeline cache: saved %zu bytes to %s", n, d->pipe_cache_path);
    silkie_fail(SILKIE_OK, "%s", keep);
    silkie_free(data);
}

/* Creates each missing folder of dir (mode 0700, as the XDG base directory rules ask). */
static int make_dirs(char *dir)
{
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p) continue;
        const char c = *p;
        *p = 0;
        const int ok = mkdir(dir, 0700) == 0 || errno == EEXIST;
        *p = c;
        if (!ok) return 0;
        if (!c) return 1;
    }
}

/* The cache file: `want` (the device params' path or SILKIE_PIPELINE_CACHE) when given, none
 * for "off", else pipelines-<vendor>-<device>.bin in $XDG_CACHE_HOME/silkie or
 * ~/.cache/silkie (the folders are created). Heap string, or NULL for no cache. */
static char *cache_file(const silkie_vk_device *d, const char *want)
{
    if (want && *want) return strcmp(want, "off") ? silkie_strdup(want) : NULL;
    /* The XDG rules ignore a relative XDG_CACHE_HOME. */
    const char *xdg = silkie_env("XDG_CACHE_HOME"), *home = silkie_env("HOME");
    char dir[4096];
    int len;
    if (xdg && xdg[0] == '/')
        len = snprintf(dir, sizeof dir, "%s/silkie", xdg);
    else if (home && home[0] == '/')
        len = snprintf(dir, sizeof dir, "%s/.cache/silkie", home);
    else {
        SK_LOGI("pipeline cache: no XDG_CACHE_HOME or HOME, so none is kept");
        return NULL;
    }
    if (len < 0 || (size_t)len + 32 >= sizeof dir) {
        SK_LOGI("pipeline cache: folder name too long, so none is kept");
        return NULL;
    }
    if (!make_dirs(dir)) {
        SK_LOGI("pipeline cache: cannot create %s (%s), so none is kept", dir, strerror(errno));
        return NULL;
    }
    snprintf(dir + len, sizeof dir - (size_t)len, "/pipelines-%04x-%04x.bin", d->caps.vendor_id,
             d->caps.device_id);
    return silkie_strdup(dir);
}

silkie_status silkie_vk_pipelines_init(silkie_vk_device *d, const char *cache_path)
{
    d->push_range = SK_MIN(128u, d->caps.max_push_constants);
    d->cap_pipes = 64;
    d->pipes = SK_NEW_ARRAY(sk_pipe_entry, d->cap_pipes);
    if (!d->pipes) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk pipelines: table");
    void *data = NULL;
    size_t size = 0;
    d->pipe_cache_path = cache_file(d, cache_path);
    if (d->pipe_cache_path) data = cache_load(d, d->pipe_cache_path, &size);
    VkPipelineCacheCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = size,
        .pInitialData = data,
    };
    VkResult r = vkCreatePipelineCache(d->dev, &ci, NULL, &d->pipe_cache);
    if (r != VK_SUCCESS && data) {
        /* The driver rejected data that passed our header check: start empty instead. */
        SK_LOGI("pipeline cache: driver refused %s, starting empty", d->pipe_cache_path);
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

/* Names the shader: a driver that cannot build one pipeline may build the others. Nothing is
 * cached, so the next use tries again; the shader is marked, so that an op with another kernel
 * for the job takes that one from now on (silkie_vk_shader_failed). */
static silkie_status pipeline_failed(silkie_vk_device *d, VkResult r, const char *call,
                                     silkie_shader_id id)
{
    char what[128];
    snprintf(what, sizeof what, "%s for shader '%s'", call, silkie_shader_table[id].name);
    if (r != VK_ERROR_DEVICE_LOST) d->shader_failed[id] = 1;
    return silkie_vk_result(d, r, what);
}

int silkie_vk_shader_failed(const silkie_vk_device *d, silkie_shader_id id)
{
    return d && (uint32_t)id < SILKIE_SHADER_COUNT && d->shader_failed[id];
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
        VkResult r = sk_vk_create_shader_module(d, &mi, &d->modules[id]);
        if (r != VK_SUCCESS) {
            d->modules[id] = VK_NULL_HANDLE; /* built again on the next use */
            return pipeline_failed(d, r, "vkCreateShaderModule", id);
        }
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
    VkResult r = sk_vk_create_pipeline(d, &ci, &pipe);
    if (r != VK_SUCCESS) return pipeline_failed(d, r, "vkCreateComputePipelines", id);
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
