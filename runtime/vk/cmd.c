/* Command lists: descriptor sets from pools owned by the list, barriers derived from declared
 * accesses, re-submittable recordings with one fence, and optional per-dispatch timestamps. */
#include "vk_int.h"

#define SK_SETS_PER_POOL 128u
#define SK_QUERIES_PER_POOL 512u /* two per dispatch */

typedef struct sk_span {
    VkBuffer buf;
    uint64_t lo, hi; /* [lo, hi) bytes */
} sk_span;

typedef struct sk_spans {
    sk_span *v;
    uint32_t n, cap;
} sk_spans;

struct silkie_vk_cmd {
    silkie_vk_device *d;
    VkCommandPool pool;
    VkCommandBuffer cb;
    VkFence fence;
    int recording, ended, pending;
    VkDescriptorPool *dpools;
    uint32_t n_dpools, cur_dpool;
    /* Ranges touched since the last barrier: a later read or write of a written range, or a
     * write of a read range, needs a barrier first. */
    sk_spans written, read;
    uint32_t n_dispatches, n_barriers;
    VkQueryPool *qpools;
    uint32_t n_qpools, n_queries;
    const char **labels; /* one per timed dispatch */
    uint32_t cap_labels;
};

static silkie_status spans_add(sk_spans *s, VkBuffer buf, uint64_t lo, uint64_t hi)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 32;
        sk_span *v = silkie_realloc(s->v, cap * sizeof *v);
        if (!v) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk_cmd: access list of %u", cap);
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (sk_span){buf, lo, hi};
    return SILKIE_OK;
}

static int spans_overlap(const sk_spans *s, VkBuffer buf, uint64_t lo, uint64_t hi)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i].buf == buf && lo < s->v[i].hi && s->v[i].lo < hi) return 1;
    return 0;
}

static void full_barrier(silkie_vk_cmd *c, VkPipelineStageFlags src, VkPipelineStageFlags dst,
                         VkAccessFlags dst_access)
{
    const VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = dst_access,
    };
    vkCmdPipelineBarrier(c->cb, src, dst, 0, 1, &mb, 0, NULL, 0, NULL);
    c->written.n = 0;
    c->read.n = 0;
}

static const VkPipelineStageFlags k_work =
    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
static const VkAccessFlags k_work_access = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_TRANSFER_READ_BIT |
                                           VK_ACCESS_TRANSFER_WRITE_BIT;

static void work_barrier(silkie_vk_cmd *c) { full_barrier(c, k_work, k_work, k_work_access); }

silkie_status silkie_vk_cmd_create(silkie_vk_device *d, silkie_vk_cmd **out)
{
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_create: out is NULL");
    *out = NULL;
    if (!d) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_create: device is NULL");
    SK_VK_ALIVE(d, "vk_cmd_create");
    silkie_vk_cmd *c = SK_NEW(silkie_vk_cmd);
    if (!c) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk_cmd_create: %zu bytes", sizeof *c);
    c->d = d;
    const VkCommandPoolCreateInfo pi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .queueFamilyIndex = d->queue_family,
    };
    VkResult r = vkCreateCommandPool(d->dev, &pi, NULL, &c->pool);
    if (r == VK_SUCCESS) {
        const VkCommandBufferAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = c->pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1,
        };
        r = vkAllocateCommandBuffers(d->dev, &ai, &c->cb);
    }
    if (r == VK_SUCCESS) {
        const VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        r = vkCreateFence(d->dev, &fi, NULL, &c->fence);
    }
    if (r != VK_SUCCESS) {
        silkie_status st = silkie_vk_result(d, r, "vk_cmd_create");
        silkie_vk_cmd_destroy(c);
        return st;
    }
    *out = c;
    return SILKIE_OK;
}

void silkie_vk_cmd_destroy(silkie_vk_cmd *c)
{
    if (!c) return;
    silkie_vk_device *d = c->d;
    /* Not a fault point: destroy has no status to report a failure with. */
    if (c->pending && !d->lost) vkWaitForFences(d->dev, 1, &c->fence, VK_TRUE, UINT64_MAX);
    for (uint32_t i = 0; i < c->n_dpools; i++) vkDestroyDescriptorPool(d->dev, c->dpools[i], NULL);
    for (uint32_t i = 0; i < c->n_qpools; i++) vkDestroyQueryPool(d->dev, c->qpools[i], NULL);
    if (c->fence) vkDestroyFence(d->dev, c->fence, NULL);
    if (c->pool) vkDestroyCommandPool(d->dev, c->pool, NULL);
    silkie_free(c->dpools);
    silkie_free(c->qpools);
    silkie_free(c->labels);
    silkie_free(c->written.v);
    silkie_free(c->read.v);
    silkie_free(c);
}

static silkie_status collect_profile(silkie_vk_cmd *c)
{
    silkie_vk_device *d = c->d;
    uint32_t done = 0;
    uint64_t ts[SK_QUERIES_PER_POOL];
    const uint64_t mask =
        d->timestamp_bits >= 64 ? UINT64_MAX : ((1ull << d->timestamp_bits) - 1);
    for (uint32_t p = 0; done < c->n_queries; p++) {
        uint32_t n = SK_MIN(SK_QUERIES_PER_POOL, c->n_queries - done);
        SK_VK(d, vkGetQueryPoolResults(d->dev, c->qpools[p], 0, n, sizeof ts, ts, sizeof ts[0],
                                       VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
        for (uint32_t i = 0; i + 1 < n; i += 2) {
            uint64_t ticks = (ts[i + 1] - ts[i]) & mask;
            silkie_vk_profile_add(d, c->labels[(done + i) / 2],
                                  (uint64_t)((double)ticks * d->caps.timestamp_period_ns));
        }
        done += n;
    }
    return SILKIE_OK;
}

silkie_status silkie_vk_cmd_wait(silkie_vk_cmd *c)
{
    if (!c) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_wait: list is NULL");
    SK_VK_ALIVE(c->d, "vk_cmd_wait");
    if (!c->pending) return SILKIE_OK;
    VkResult r = sk_vk_wait_fence(c->d, c->fence);
    if (r != VK_SUCCESS) return silkie_vk_result(c->d, r, "vkWaitForFences");
    c->pending = 0;
    if (c->d->profile && c->n_queries) SK_CHECK(collect_profile(c));
    return SILKIE_OK;
}

silkie_status silkie_vk_cmd_begin(silkie_vk_cmd *c)
{
    if (!c) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_begin: list is NULL");
    silkie_vk_device *d = c->d;
    SK_VK_ALIVE(d, "vk_cmd_begin");
    SK_CHECK(silkie_vk_cmd_wait(c));
    if (c->recording) {
        /* Abandon an unfinished recording so the pool may be reset. */
        vkEndCommandBuffer(c->cb);
        c->recording = 0;
    }
    SK_VK(d, vkResetCommandPool(d->dev, c->pool, 0));
    for (uint32_t i = 0; i < c->n_dpools; i++)
        SK_VK(d, vkResetDescriptorPool(d->dev, c->dpools[i], 0));
    c->cur_dpool = 0;
    c->n_dispatches = 0;
    c->n_barriers = 0;
    c->n_queries = 0;
    c->ended = 0;
    const VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    SK_VK(d, vkBeginCommandBuffer(c->cb, &bi));
    c->recording = 1;
    /* Orders this list after earlier submissions (including its own previous replay), whose
     * writes a fence wait alone does not make visible to the device. */
    work_barrier(c);
    return SILKIE_OK;
}

static silkie_status recording(const silkie_vk_cmd *c, const char *what)
{
    if (!c) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: list is NULL", what);
    SK_VK_ALIVE(c->d, what);
    if (!c->recording)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: list is not recording (call begin)", what);
    return SILKIE_OK;
}

static silkie_status alloc_set(silkie_vk_cmd *c, VkDescriptorSetLayout layout,
                               VkDescriptorSet *out)
{
    silkie_vk_device *d = c->d;
    for (;;) {
        if (c->cur_dpool == c->n_dpools) {
            VkDescriptorPool *v = silkie_realloc(c->dpools, (c->n_dpools + 1) * sizeof *v);
            if (!v) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk_cmd: descriptor pool list");
            c->dpools = v;
            const VkDescriptorPoolSize ps = {
                .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                .descriptorCount = SK_SETS_PER_POOL * SILKIE_VK_MAX_BINDINGS,
            };
            const VkDescriptorPoolCreateInfo pi = {
                .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                .maxSets = SK_SETS_PER_POOL,
                .poolSizeCount = 1,
                .pPoolSizes = &ps,
            };
            SK_VK(d, vkCreateDescriptorPool(d->dev, &pi, NULL, &c->dpools[c->n_dpools]));
            c->n_dpools++;
        }
        const VkDescriptorSetAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = c->dpools[c->cur_dpool],
            .descriptorSetCount = 1,
            .pSetLayouts = &layout,
        };
        VkResult r = vkAllocateDescriptorSets(d->dev, &ai, out);
        if (r == VK_SUCCESS) return SILKIE_OK;
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
            return silkie_vk_result(d, r, "vkAllocateDescriptorSets");
        c->cur_dpool++;
    }
}

/* Opens a timestamp pair for the next dispatch; returns the first query index. */
static silkie_status timestamp_slot(silkie_vk_cmd *c, const char *label, VkQueryPool *pool,
                                    uint32_t *q)
{
    silkie_vk_device *d = c->d;
    uint32_t p = c->n_queries / SK_QUERIES_PER_POOL;
    if (p == c->n_qpools) {
        VkQueryPool *v = silkie_realloc(c->qpools, (c->n_qpools + 1) * sizeof *v);
        if (!v) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk_cmd: query pool list");
        c->qpools = v;
        const VkQueryPoolCreateInfo qi = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = SK_QUERIES_PER_POOL,
        };
        SK_VK(d, vkCreateQueryPool(d->dev, &qi, NULL, &c->qpools[c->n_qpools]));
        c->n_qpools++;
    }
    uint32_t n_timed = c->n_queries / 2;
    if (n_timed == c->cap_labels) {
        uint32_t cap = c->cap_labels ? c->cap_labels * 2 : 64;
        const char **v = silkie_realloc(c->labels, cap * sizeof *v);
        if (!v) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk_cmd: label list");
        c->labels = v;
        c->cap_labels = cap;
    }
    c->labels[n_timed] = label;
    /* Reset inside the list so that every replay starts from reset queries. */
    if (c->n_queries % SK_QUERIES_PER_POOL == 0)
        vkCmdResetQueryPool(c->cb, c->qpools[p], 0, SK_QUERIES_PER_POOL);
    *pool = c->qpools[p];
    *q = c->n_queries % SK_QUERIES_PER_POOL;
    c->n_queries += 2;
    return SILKIE_OK;
}

static silkie_status check_binding(const silkie_vk_cmd *c, const char *name, uint32_t i,
                                   const silkie_vk_binding *b, uint64_t *range)
{
    const silkie_vk_device *d = c->d;
    if (!b->buf)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_cmd_dispatch: %s binding %u: buffer is NULL", name, i);
    if (b->buf->dev != d)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_cmd_dispatch: %s binding %u: buffer of another device", name, i);
    if (b->access < SILKIE_VK_READ || b->access > SILKIE_VK_READ_WRITE)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_dispatch: %s binding %u: access %d",
                       name, i, (int)b->access);
    if (b->offset % d->offset_align)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_cmd_dispatch: %s binding %u: offset %llu is not a multiple of %llu",
                       name, i, (unsigned long long)b->offset,
                       (unsigned long long)d->offset_align);
    uint64_t size = b->buf->size;
    if (b->offset >= size)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_cmd_dispatch: %s binding %u: offset %llu beyond %llu bytes", name, i,
                       (unsigned long long)b->offset, (unsigned long long)size);
    uint64_t r = b->range ? b->range : size - b->offset;
    if (r > size - b->offset)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_cmd_dispatch: %s binding %u: range [%llu, +%llu) beyond %llu bytes",
                       name, i, (unsigned long long)b->offset, (unsigned long long)r,
                       (unsigned long long)size);
    if (r > d->caps.max_storage_buffer_range)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_cmd_dispatch: %s binding %u: range %llu exceeds the binding limit %llu",
                       name, i, (unsigned long long)r,
                       (unsigned long long)d->caps.max_storage_buffer_range);
    *range = r;
    return SILKIE_OK;
}

/* Emits a barrier when this access conflicts with one since the last barrier, then records it. */
static silkie_status track(silkie_vk_cmd *c, const VkBuffer *bufs, const uint64_t *lo,
                           const uint64_t *hi, const silkie_vk_access *acc, uint32_t n)
{
    int need = 0;
    for (uint32_t i = 0; i < n && !need; i++) {
        need = spans_overlap(&c->written, bufs[i], lo[i], hi[i]) ||
               ((acc[i] & SILKIE_VK_WRITE) && spans_overlap(&c->read, bufs[i], lo[i], hi[i]));
    }
    if (need) {
        work_barrier(c);
        c->n_barriers++;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (acc[i] & SILKIE_VK_WRITE) SK_CHECK(spans_add(&c->written, bufs[i], lo[i], hi[i]));
        if (acc[i] & SILKIE_VK_READ) SK_CHECK(spans_add(&c->read, bufs[i], lo[i], hi[i]));
    }
    return SILKIE_OK;
}

silkie_status silkie_vk_cmd_dispatch(silkie_vk_cmd *c, const silkie_vk_dispatch_desc *desc)
{
    SK_CHECK(recording(c, "vk_cmd_dispatch"));
    if (!desc) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_dispatch: desc is NULL");
    silkie_vk_device *d = c->d;
    if ((unsigned)desc->shader >= SILKIE_SHADER_COUNT)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_dispatch: unknown shader id %d",
                       (int)desc->shader);
    const char *name = silkie_shader_table[desc->shader].name;
    if (desc->n_bindings > SILKIE_VK_MAX_BINDINGS || (desc->n_bindings && !desc->bindings))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_dispatch: %s: %u bindings (max %d)",
                       name, desc->n_bindings, SILKIE_VK_MAX_BINDINGS);
    if (desc->n_spec > SILKIE_VK_MAX_SPEC || (desc->n_spec && !desc->spec))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_cmd_dispatch: %s: %u specialization constants (max %d)", name,
                       desc->n_spec, SILKIE_VK_MAX_SPEC);
    if (desc->push_size > d->push_range || desc->push_size % 4 || (desc->push_size && !desc->push))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_cmd_dispatch: %s: push constants of %u bytes (multiple of 4, max %u)",
                       name, desc->push_size, d->push_range);
    for (int i = 0; i < 3; i++)
        if (desc->groups[i] > d->caps.max_workgroup_count[i])
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "vk_cmd_dispatch: %s: %u workgroups in dimension %d (max %u)", name,
                           desc->groups[i], i, d->caps.max_workgroup_count[i]);
    VkBuffer bufs[SILKIE_VK_MAX_BINDINGS];
    uint64_t lo[SILKIE_VK_MAX_BINDINGS], hi[SILKIE_VK_MAX_BINDINGS];
    silkie_vk_access acc[SILKIE_VK_MAX_BINDINGS];
    VkDescriptorBufferInfo info[SILKIE_VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < desc->n_bindings; i++) {
        const silkie_vk_binding *b = &desc->bindings[i];
        uint64_t range = 0;
        SK_CHECK(check_binding(c, name, i, b, &range));
        bufs[i] = b->buf->buf;
        lo[i] = b->offset;
        hi[i] = b->offset + range;
        acc[i] = b->access;
        info[i] = (VkDescriptorBufferInfo){.buffer = b->buf->buf, .offset = b->offset,
                                           .range = range};
    }
    if (!desc->groups[0] || !desc->groups[1] || !desc->groups[2]) return SILKIE_OK;

    sk_pipeline pl;
    SK_CHECK(silkie_vk_pipeline_get(d, desc->shader, desc->spec, desc->n_spec, desc->n_bindings,
                                    &pl));
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (desc->n_bindings) {
        SK_CHECK(alloc_set(c, pl.set_layout, &set));
        VkWriteDescriptorSet w[SILKIE_VK_MAX_BINDINGS];
        for (uint32_t i = 0; i < desc->n_bindings; i++)
            w[i] = (VkWriteDescriptorSet){
                .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                .dstSet = set,
                .dstBinding = i,
                .descriptorCount = 1,
                .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                .pBufferInfo = &info[i],
            };
        vkUpdateDescriptorSets(d->dev, desc->n_bindings, w, 0, NULL);
    }
    SK_CHECK(track(c, bufs, lo, hi, acc, desc->n_bindings));

    VkQueryPool qp = VK_NULL_HANDLE;
    uint32_t q = 0;
    if (d->profile) SK_CHECK(timestamp_slot(c, desc->label ? desc->label : name, &qp, &q));
    vkCmdBindPipeline(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, pl.pipe);
    if (desc->n_bindings)
        vkCmdBindDescriptorSets(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, pl.layout, 0, 1, &set, 0,
                                NULL);
    if (desc->push_size)
        vkCmdPushConstants(c->cb, pl.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, desc->push_size,
                           desc->push);
    if (qp) vkCmdWriteTimestamp(c->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, qp, q);
    vkCmdDispatch(c->cb, desc->groups[0], desc->groups[1], desc->groups[2]);
    if (qp) vkCmdWriteTimestamp(c->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, qp, q + 1);
    c->n_dispatches++;
    return SILKIE_OK;
}

silkie_status silkie_vk_cmd_copy(silkie_vk_cmd *c, silkie_vk_buffer *src, uint64_t src_off,
                                 silkie_vk_buffer *dst, uint64_t dst_off, uint64_t size)
{
    SK_CHECK(recording(c, "vk_cmd_copy"));
    if (!src || !dst) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_copy: src, dst required");
    if (src->dev != c->d || dst->dev != c->d)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_copy: buffer of another device");
    if (size == 0) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_copy: size is 0");
    if (src_off > src->size || size > src->size - src_off || dst_off > dst->size ||
        size > dst->size - dst_off)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_cmd_copy: %llu bytes from %llu/%llu to %llu/%llu out of range",
                       (unsigned long long)size, (unsigned long long)src_off,
                       (unsigned long long)src->size, (unsigned long long)dst_off,
                       (unsigned long long)dst->size);
    if (src == dst && src_off < dst_off + size && dst_off < src_off + size)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_cmd_copy: overlapping ranges in one buffer");
    const VkBuffer bufs[2] = {src->buf, dst->buf};
    const uint64_t lo[2] = {src_off, dst_off}, hi[2] = {src_off + size, dst_off + size};
    const silkie_vk_access acc[2] = {SILKIE_VK_READ, SILKIE_VK_WRITE};
    SK_CHECK(track(c, bufs, lo, hi, acc, 2));
    const VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = size};
    vkCmdCopyBuffer(c->cb, src->buf, dst->buf, 1, &region);
    return SILKIE_OK;
}

silkie_status silkie_vk_cmd_barrier(silkie_vk_cmd *c)
{
    SK_CHECK(recording(c, "vk_cmd_barrier"));
    full_barrier(c, k_work, k_work | VK_PIPELINE_STAGE_HOST_BIT,
                 k_work_access | VK_ACCESS_HOST_READ_BIT);
    c->n_barriers++;
    return SILKIE_OK;
}

silkie_status silkie_vk_cmd_end(silkie_vk_cmd *c)
{
    SK_CHECK(recording(c, "vk_cmd_end"));
    /* Results become visible to the host after the fence and to whatever is submitted next. */
    full_barrier(c, k_work, k_work | VK_PIPELINE_STAGE_HOST_BIT,
                 k_work_access | VK_ACCESS_HOST_READ_BIT);
    c->recording = 0;
    SK_VK(c->d, vkEndCommandBuffer(c->cb));
    c->ended = 1;
    return SILKIE_OK;
}

silkie_status silkie_vk_cmd_submit(silkie_vk_cmd *c)
{
    if (!c) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_submit: list is NULL");
    silkie_vk_device *d = c->d;
    SK_VK_ALIVE(d, "vk_cmd_submit");
    if (!c->ended)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_cmd_submit: list was not ended");
    SK_CHECK(silkie_vk_cmd_wait(c));
    SK_VK(d, vkResetFences(d->dev, 1, &c->fence));
    const VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &c->cb,
    };
    VkResult r = sk_vk_queue_submit(d, &si, c->fence);
    if (r != VK_SUCCESS) return silkie_vk_result(d, r, "vkQueueSubmit");
    c->pending = 1;
    return SILKIE_OK;
}

silkie_status silkie_vk_cmd_submit_wait(silkie_vk_cmd *c)
{
    SK_CHECK(silkie_vk_cmd_submit(c));
    return silkie_vk_cmd_wait(c);
}

uint32_t silkie_vk_cmd_n_dispatches(const silkie_vk_cmd *c) { return c ? c->n_dispatches : 0; }

uint32_t silkie_vk_cmd_n_barriers(const silkie_vk_cmd *c) { return c ? c->n_barriers : 0; }
