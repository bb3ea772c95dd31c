/* Memory pools: large VkDeviceMemory blocks with a first-fit free list; each silkie_vk_buffer is
 * its own VkBuffer bound inside a block. Synchronous host transfers go through a mapping when
 * the memory is host-visible, else through one reusable staging buffer. */
#include "vk_int.h"

#define SK_BLOCK_BYTES (64ull << 20)
/* Bigger than this gets its own allocation: packing it would strand most of a block. */
#define SK_DEDICATED_BYTES (SK_BLOCK_BYTES / 2)
#define SK_STAGING_BYTES (16ull << 20)

static const char *pool_name(silkie_vk_pool p)
{
    switch (p) {
    case SILKIE_VK_POOL_WEIGHTS: return "weights";
    case SILKIE_VK_POOL_ACTIVATIONS: return "activations";
    case SILKIE_VK_POOL_HOST: return "host";
    }
    return "?";
}

static int find_type(const VkPhysicalDeviceMemoryProperties *m, uint32_t bits,
                     VkMemoryPropertyFlags need, VkMemoryPropertyFlags want)
{
    for (uint32_t i = 0; i < m->memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = m->memoryTypes[i].propertyFlags;
        if ((bits & (1u << i)) && (f & (need | want)) == (need | want)) return (int)i;
    }
    for (uint32_t i = 0; i < m->memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = m->memoryTypes[i].propertyFlags;
        if ((bits & (1u << i)) && (f & need) == need) return (int)i;
    }
    return -1;
}

static VkBufferCreateInfo buffer_info(uint64_t size)
{
    return (VkBufferCreateInfo){
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
}

silkie_status silkie_vk_memory_init(silkie_vk_device *d)
{
    /* Storage buffers of any size share memoryTypeBits, so one probe tells them all. */
    const VkBufferCreateInfo bi = buffer_info(256);
    VkBuffer probe;
    SK_VK(d, vkCreateBuffer(d->dev, &bi, NULL, &probe));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(d->dev, probe, &req);
    vkDestroyBuffer(d->dev, probe, NULL);

    const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    const VkMemoryPropertyFlags host =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const VkMemoryPropertyFlags cached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    int dev_type = d->caps.unified_memory ? find_type(&d->mem_props, req.memoryTypeBits,
                                                      local | host, cached)
                                          : find_type(&d->mem_props, req.memoryTypeBits, local, 0);
    if (dev_type < 0) dev_type = find_type(&d->mem_props, req.memoryTypeBits, 0, local);
    const int host_type = find_type(&d->mem_props, req.memoryTypeBits, host, cached);
    if (dev_type < 0 || host_type < 0)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED,
                       "vk memory: no usable memory type for storage buffers (bits 0x%x)",
                       req.memoryTypeBits);
    for (int p = 0; p < 3; p++) {
        sk_pool *pool = &d->pools[p];
        pool->type_index = (uint32_t)(p == SILKIE_VK_POOL_HOST ? host_type : dev_type);
        /* Device pools are mapped only on unified devices: elsewhere a host-visible
         * device-local type (resizable BAR) is slow to read back, so staging is used. */
        pool->host_visible = (d->mem_props.memoryTypes[pool->type_index].propertyFlags & host) ==
                                 host &&
                             (p == SILKIE_VK_POOL_HOST || d->caps.unified_memory);
        pool->block_size = SK_BLOCK_BYTES;
    }
    SK_LOGI("memory: device type %d (host-visible %u), host type %d", dev_type,
            d->pools[0].host_visible, host_type);

    const VkCommandPoolCreateInfo pi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = d->queue_family,
    };
    SK_VK(d, vkCreateCommandPool(d->dev, &pi, NULL, &d->xfer_pool));
    const VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = d->xfer_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    SK_VK(d, vkAllocateCommandBuffers(d->dev, &ai, &d->xfer_cb));
    const VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    SK_VK(d, vkCreateFence(d->dev, &fi, NULL, &d->xfer_fence));
    return SILKIE_OK;
}

static void block_free(silkie_vk_device *d, sk_block *b)
{
    d->mem_bytes -= b->size;
    if (b->map) vkUnmapMemory(d->dev, b->mem);
    vkFreeMemory(d->dev, b->mem, NULL);
    silkie_free(b->free);
    silkie_free(b);
}

void silkie_vk_memory_release(silkie_vk_device *d)
{
    silkie_vk_buffer_destroy(d->staging);
    d->staging = NULL;
    for (int p = 0; p < 3; p++) {
        sk_block *b = d->pools[p].blocks;
        while (b) {
            sk_block *next = b->next;
            if (b->n_live) SK_LOGW("memory: %u buffer(s) of pool %s still alive at device destroy",
                                   b->n_live, pool_name((silkie_vk_pool)p));
            block_free(d, b);
            b = next;
        }
        d->pools[p].blocks = NULL;
    }
    if (d->xfer_fence) vkDestroyFence(d->dev, d->xfer_fence, NULL);
    if (d->xfer_pool) vkDestroyCommandPool(d->dev, d->xfer_pool, NULL);
}

static silkie_status block_create(silkie_vk_device *d, sk_pool *pool, uint64_t size,
                                  int dedicated, sk_block **out)
{
    sk_block *b = SK_NEW(sk_block);
    if (!b) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk memory: block header");
    const VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = size,
        .memoryTypeIndex = pool->type_index,
    };
    VkResult r = sk_vk_allocate_memory(d, &ai, &b->mem);
    if (r != VK_SUCCESS) {
        silkie_free(b);
        if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
            return SK_FAIL(r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? SILKIE_ERR_OUT_OF_DEVICE_MEMORY
                                                              : SILKIE_ERR_OUT_OF_MEMORY,
                           "vk memory: allocating a block of %llu bytes failed",
                           (unsigned long long)size);
        return silkie_vk_result(d, r, "vkAllocateMemory");
    }
    b->size = size;
    b->dedicated = dedicated;
    if (pool->host_visible) {
        void *p = NULL;
        r = sk_vk_map_memory(d, b->mem, &p);
        if (r != VK_SUCCESS) {
            vkFreeMemory(d->dev, b->mem, NULL);
            silkie_free(b);
            return silkie_vk_result(d, r, "vkMapMemory");
        }
        b->map = p;
    }
    d->mem_bytes += size;
    if (!dedicated) {
        b->free = SK_NEW_ARRAY(sk_range, 8);
        if (!b->free) {
            block_free(d, b);
            return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk memory: free list");
        }
        b->cap_free = 8;
        b->free[0] = (sk_range){0, size};
        b->n_free = 1;
    }
    *out = b;
    return SILKIE_OK;
}

/* First fit; returns 1 and the offset when [size] with `align` fits. Needs room for one more
 * free range (the caller guarantees it). */
static int block_take(sk_block *b, uint64_t size, uint64_t align, uint64_t *off)
{
    for (uint32_t i = 0; i < b->n_free; i++) {
        sk_range f = b->free[i];
        uint64_t a = (f.off + align - 1) / align * align;
        if (a + size > f.off + f.size) continue;
        /* Keep the space before the aligned start as its own free range. */
        uint64_t tail_off = a + size, tail = f.off + f.size - tail_off;
        if (a > f.off) {
            b->free[i].size = a - f.off;
            if (tail) {
                memmove(&b->free[i + 2], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
                b->free[i + 1] = (sk_range){tail_off, tail};
                b->n_free++;
            }
        } else if (tail) {
            b->free[i] = (sk_range){tail_off, tail};
        } else {
            memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
            b->n_free--;
        }
        *off = a;
        return 1;
    }
    return 0;
}

static int block_grow_list(sk_block *b)
{
    sk_range *n = silkie_realloc(b->free, (size_t)b->cap_free * 2 * sizeof *n);
    if (!n) return 0;
    b->free = n;
    b->cap_free *= 2;
    return 1;
}

static int block_give(sk_block *b, uint64_t off, uint64_t size)
{
    if (b->n_free == b->cap_free && !block_grow_list(b)) return 0;
    uint32_t i = 0;
    while (i < b->n_free && b->free[i].off < off) i++;
    memmove(&b->free[i + 1], &b->free[i], (b->n_free - i) * sizeof *b->free);
    b->free[i] = (sk_range){off, size};
    b->n_free++;
    if (i + 1 < b->n_free && b->free[i].off + b->free[i].size == b->free[i + 1].off) {
        b->free[i].size += b->free[i + 1].size;
        memmove(&b->free[i + 1], &b->free[i + 2], (b->n_free - i - 2) * sizeof *b->free);
        b->n_free--;
    }
    if (i > 0 && b->free[i - 1].off + b->free[i - 1].size == b->free[i].off) {
        b->free[i - 1].size += b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
        b->n_free--;
    }
    return 1;
}

static silkie_status place(silkie_vk_device *d, sk_pool *pool, const VkMemoryRequirements *req,
                           sk_block **out_b, uint64_t *out_off)
{
    if (req->size > SK_DEDICATED_BYTES) {
        sk_block *b;
        SK_CHECK(block_create(d, pool, req->size, 1, &b));
        b->next = pool->blocks;
        pool->blocks = b;
        *out_b = b;
        *out_off = 0;
        return SILKIE_OK;
    }
    const uint64_t align = req->alignment ? req->alignment : 1;
    for (sk_block *b = pool->blocks; b; b = b->next) {
        if (b->dedicated) continue;
        /* A split may add one free range: make room first so block_take cannot refuse. */
        if (b->n_free + 1 >= b->cap_free && !block_grow_list(b)) continue;
        if (block_take(b, req->size, align, out_off)) {
            *out_b = b;
            return SILKIE_OK;
        }
    }
    sk_block *b;
    SK_CHECK(block_create(d, pool, pool->block_size, 0, &b));
    b->next = pool->blocks;
    pool->blocks = b;
    if (!block_take(b, req->size, align, out_off))
        return SK_FAIL(SILKIE_ERR_INTERNAL, "vk memory: fresh block cannot hold %llu bytes",
                       (unsigned long long)req->size);
    *out_b = b;
    return SILKIE_OK;
}

static void unlink_block(sk_pool *pool, sk_block *b)
{
    for (sk_block **pp = &pool->blocks; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            return;
        }
}

silkie_status silkie_vk_buffer_create(silkie_vk_device *d, silkie_vk_pool pool, uint64_t size,
                                      silkie_vk_buffer **out)
{
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_buffer_create: out is NULL");
    *out = NULL;
    if (!d) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_buffer_create: device is NULL");
    SK_VK_ALIVE(d, "vk_buffer_create");
    if ((unsigned)pool > SILKIE_VK_POOL_HOST)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_buffer_create: unknown pool %d", (int)pool);
    if (size == 0 || size > d->caps.max_storage_buffer_range)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_buffer_create: size %llu bytes (want 1..%llu, the binding range)",
                       (unsigned long long)size,
                       (unsigned long long)d->caps.max_storage_buffer_range);
    silkie_vk_buffer *b = SK_NEW(silkie_vk_buffer);
    if (!b) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk_buffer_create: %zu bytes", sizeof *b);
    b->dev = d;
    b->pool = pool;
    b->size = size;
    const VkBufferCreateInfo bi = buffer_info(size);
    VkResult r = vkCreateBuffer(d->dev, &bi, NULL, &b->buf);
    if (r != VK_SUCCESS) {
        silkie_free(b);
        return silkie_vk_result(d, r, "vkCreateBuffer");
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(d->dev, b->buf, &req);
    sk_pool *sp = &d->pools[pool];
    silkie_status st = place(d, sp, &req, &b->block, &b->mem_off);
    if (st != SILKIE_OK) {
        vkDestroyBuffer(d->dev, b->buf, NULL);
        silkie_free(b);
        return st;
    }
    b->mem_size = req.size;
    b->block->n_live++;
    r = vkBindBufferMemory(d->dev, b->buf, b->block->mem, b->mem_off);
    if (r != VK_SUCCESS) {
        st = silkie_vk_result(d, r, "vkBindBufferMemory");
        silkie_vk_buffer_destroy(b);
        return st;
    }
    if (b->block->map) b->map = b->block->map + b->mem_off;
    *out = b;
    return SILKIE_OK;
}

void silkie_vk_buffer_destroy(silkie_vk_buffer *b)
{
    if (!b) return;
    silkie_vk_device *d = b->dev;
    sk_pool *pool = &d->pools[b->pool];
    vkDestroyBuffer(d->dev, b->buf, NULL);
    sk_block *blk = b->block;
    blk->n_live--;
    if (blk->dedicated) {
        unlink_block(pool, blk);
        block_free(d, blk);
    } else {
        if (!block_give(blk, b->mem_off, b->mem_size))
            SK_LOGW("memory: free list full, %llu bytes leak until destroy",
                    (unsigned long long)b->mem_size);
        /* Keep the newest block for reuse but return other empty ones to the driver. */
        if (blk->n_live == 0 && pool->blocks != blk) {
            unlink_block(pool, blk);
            block_free(d, blk);
        }
    }
    silkie_free(b);
}

uint64_t silkie_vk_buffer_size(const silkie_vk_buffer *b) { return b ? b->size : 0; }

uint64_t silkie_vk_device_bytes(const silkie_vk_device *d) { return d ? d->mem_bytes : 0; }

void *silkie_vk_buffer_map(silkie_vk_buffer *b) { return b ? b->map : NULL; }

static silkie_status check_span(const silkie_vk_buffer *b, uint64_t offset, uint64_t size,
                                const char *what)
{
    if (!b) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: buffer is NULL", what);
    SK_VK_ALIVE(b->dev, what);
    if (offset > b->size || size > b->size - offset)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "%s: bytes [%llu, +%llu) outside a buffer of %llu bytes", what,
                       (unsigned long long)offset, (unsigned long long)size,
                       (unsigned long long)b->size);
    return SILKIE_OK;
}

/* Records into the transfer command buffer between barriers that order it after earlier GPU
 * work and make its results visible to later work and to the host; then waits. */
typedef enum { XFER_TO_DEV, XFER_TO_HOST, XFER_FILL } xfer_kind;

static silkie_status xfer_run(silkie_vk_device *d, xfer_kind kind, VkBuffer src, uint64_t src_off,
                              VkBuffer dst, uint64_t dst_off, uint64_t size, uint32_t value)
{
    SK_VK(d, vkResetCommandBuffer(d->xfer_cb, 0));
    const VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    SK_VK(d, vkBeginCommandBuffer(d->xfer_cb, &bi));
    const VkMemoryBarrier pre = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    vkCmdPipelineBarrier(d->xfer_cb,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &pre, 0, NULL, 0, NULL);
    if (kind == XFER_FILL) {
        vkCmdFillBuffer(d->xfer_cb, dst, dst_off, size, value);
    } else {
        const VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = size};
        vkCmdCopyBuffer(d->xfer_cb, src, dst, 1, &region);
    }
    const VkMemoryBarrier post = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                         VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                         VK_ACCESS_HOST_READ_BIT,
    };
    vkCmdPipelineBarrier(d->xfer_cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                             VK_PIPELINE_STAGE_HOST_BIT,
                         0, 1, &post, 0, NULL, 0, NULL);
    SK_VK(d, vkEndCommandBuffer(d->xfer_cb));
    const VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &d->xfer_cb,
    };
    SK_VK(d, vkResetFences(d->dev, 1, &d->xfer_fence));
    VkResult r = sk_vk_queue_submit(d, &si, d->xfer_fence);
    if (r != VK_SUCCESS) return silkie_vk_result(d, r, "vkQueueSubmit (transfer)");
    r = sk_vk_wait_fence(d, d->xfer_fence);
    if (r != VK_SUCCESS) return silkie_vk_result(d, r, "vkWaitForFences (transfer)");
    return SILKIE_OK;
}

static silkie_status staging_get(silkie_vk_device *d)
{
    if (d->staging) return SILKIE_OK;
    /* Half the binding range at most, so that a capped range (tests) exercises chunking. */
    uint64_t size = SK_MIN(SK_STAGING_BYTES, d->caps.max_storage_buffer_range / 2 / 4 * 4);
    if (size < 4) size = 4;
    return silkie_vk_buffer_create(d, SILKIE_VK_POOL_HOST, size, &d->staging);
}

silkie_status silkie_vk_buffer_write(silkie_vk_buffer *b, uint64_t offset, const void *src,
                                     uint64_t size)
{
    SK_CHECK(check_span(b, offset, size, "vk_buffer_write"));
    if (size && !src) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_buffer_write: src is NULL");
    if (size == 0) return SILKIE_OK;
    if (b->map) {
        memcpy(b->map + offset, src, size);
        return SILKIE_OK;
    }
    silkie_vk_device *d = b->dev;
    SK_CHECK(staging_get(d));
    const uint8_t *s = src;
    for (uint64_t done = 0; done < size;) {
        uint64_t n = SK_MIN(size - done, d->staging->size);
        memcpy(d->staging->map, s + done, n);
        SK_CHECK(xfer_run(d, XFER_TO_DEV, d->staging->buf, 0, b->buf, offset + done, n, 0));
        done += n;
    }
    return SILKIE_OK;
}

silkie_status silkie_vk_buffer_read(silkie_vk_buffer *b, uint64_t offset, void *dst,
                                    uint64_t size)
{
    SK_CHECK(check_span(b, offset, size, "vk_buffer_read"));
    if (size && !dst) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_buffer_read: dst is NULL");
    if (size == 0) return SILKIE_OK;
    if (b->map) {
        memcpy(dst, b->map + offset, size);
        return SILKIE_OK;
    }
    silkie_vk_device *d = b->dev;
    SK_CHECK(staging_get(d));
    uint8_t *o = dst;
    for (uint64_t done = 0; done < size;) {
        uint64_t n = SK_MIN(size - done, d->staging->size);
        SK_CHECK(xfer_run(d, XFER_TO_HOST, b->buf, offset + done, d->staging->buf, 0, n, 0));
        memcpy(o + done, d->staging->map, n);
        done += n;
    }
    return SILKIE_OK;
}

silkie_status silkie_vk_buffer_fill(silkie_vk_buffer *b, uint64_t offset, uint64_t size,
                                    uint32_t value)
{
    SK_CHECK(check_span(b, offset, size, "vk_buffer_fill"));
    /* The same rule as vkCmdFillBuffer, so both paths accept the same calls. */
    if (offset % 4 || size % 4)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "vk_buffer_fill: offset %llu and size %llu must be multiples of 4",
                       (unsigned long long)offset, (unsigned long long)size);
    if (size == 0) return SILKIE_OK;
    if (b->map) {
        uint8_t *p = b->map + offset;
        for (uint64_t i = 0; i < size; i += 4) memcpy(p + i, &value, 4);
        return SILKIE_OK;
    }
    return xfer_run(b->dev, XFER_FILL, VK_NULL_HANDLE, 0, b->buf, offset, size, value);
}
