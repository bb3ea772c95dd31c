/* Device creation, capabilities, argument checks and the persistent pipeline cache. */
#include <stdio.h>
#include <string.h>

#include "harness_vk.h"
#include "params/fma_peak.h"

static void check_message(const char *what)
{
    const char *m = silkie_last_error();
    SK_TEST_CHECK(m && *m, "%s: empty error message", what);
}

static void caps_sanity(silkie_vk_device *d)
{
    const silkie_vk_caps *c = silkie_vk_device_caps(d);
    SK_TEST_CHECK(c && c->device_name[0], "device name is empty");
    SK_TEST_CHECK(c->max_storage_buffer_range >= (1u << 20), "binding range %llu",
                  (unsigned long long)c->max_storage_buffer_range);
    SK_TEST_CHECK(c->max_workgroup_invocations >= 128, "%u invocations",
                  c->max_workgroup_invocations);
    SK_TEST_CHECK(c->max_workgroup_count[0] >= 65535, "%u groups", c->max_workgroup_count[0]);
    SK_TEST_CHECK(c->max_push_constants >= 128, "push constants %u", c->max_push_constants);
    SK_TEST_CHECK(c->max_shared_memory >= 16384, "shared memory %u", c->max_shared_memory);
    SK_TEST_CHECK(c->subgroup_size > 0, "subgroup size 0");
    SK_TEST_CHECK(c->api_version >= ((1u << 22) | (2u << 12)), "api version 0x%x", c->api_version);
    uint64_t a = silkie_vk_offset_alignment(d);
    SK_TEST_CHECK(a > 0 && (a & (a - 1)) == 0, "offset alignment %llu", (unsigned long long)a);
    SK_TEST_CHECK(!silkie_vk_device_lost(d), "device lost at start");
    printf("device: %s, type %u, binding %llu bytes, fp16 %u, storage16 %u, storage8 %u, "
           "int-dot %u, coopmat %u, unified %u, subgroup %u\n",
           c->device_name, c->device_type, (unsigned long long)c->max_storage_buffer_range,
           c->fp16_arith, c->storage16, c->storage8, c->int_dot, c->coopmat_nv,
           c->unified_memory, c->subgroup_size);
}

static void bad_devices(void)
{
    silkie_vk_device *d = (silkie_vk_device *)&d; /* must be reset to NULL on failure */
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    p.validation = 1;
    p.device = "no-such-gpu-xyzzy";
    SK_TEST_STATUS(silkie_vk_device_create(&p, &d), SILKIE_ERR_NO_DEVICE);
    SK_TEST_CHECK(d == NULL, "out not cleared");
    SK_TEST_CHECK(strstr(silkie_last_error(), "no-such-gpu-xyzzy") != NULL,
                  "message does not name the device: %s", silkie_last_error());
    p.device = "999";
    SK_TEST_STATUS(silkie_vk_device_create(&p, &d), SILKIE_ERR_NO_DEVICE);
    check_message("device index 999");
    SK_TEST_STATUS(silkie_vk_device_create(&p, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    check_message("NULL out");
    p.device = NULL;
    p.struct_size = 0;
    SK_TEST_STATUS(silkie_vk_device_create(&p, &d), SILKIE_ERR_INVALID_ARGUMENT);
    check_message("struct_size 0");
    /* Index 0 always exists when a device does. */
    silkie_vk_device_params_init(&p);
    p.validation = 1;
    p.device = "0";
    SK_TEST_OK(silkie_vk_device_create(&p, &d));
    if (d) {
        SK_TEST_CHECK(silkie_vk_validation_messages(d) == 0, "validation messages");
        silkie_vk_device_destroy(d);
    }
    silkie_vk_device_destroy(NULL);
}

static void bad_buffers(silkie_vk_device *d)
{
    const silkie_vk_caps *c = silkie_vk_device_caps(d);
    silkie_vk_buffer *b = (silkie_vk_buffer *)&b;
    SK_TEST_STATUS(silkie_vk_buffer_create(d, SILKIE_VK_POOL_ACTIVATIONS, 0, &b),
                   SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(b == NULL, "out not cleared");
    check_message("size 0");
    SK_TEST_STATUS(silkie_vk_buffer_create(d, SILKIE_VK_POOL_WEIGHTS,
                                           c->max_storage_buffer_range + 1, &b),
                   SILKIE_ERR_INVALID_ARGUMENT);
    check_message("too large");
    SK_TEST_STATUS(silkie_vk_buffer_create(NULL, SILKIE_VK_POOL_HOST, 16, &b),
                   SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_vk_buffer_create(d, SILKIE_VK_POOL_HOST, 16, NULL),
                   SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_vk_buffer_create(d, (silkie_vk_pool)7, 16, &b),
                   SILKIE_ERR_INVALID_ARGUMENT);
    check_message("bad pool");

    uint8_t host[64] = {0};
    SK_TEST_STATUS(silkie_vk_buffer_write(NULL, 0, host, 4), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_OK(silkie_vk_buffer_create(d, SILKIE_VK_POOL_ACTIVATIONS, 48, &b));
    SK_TEST_STATUS(silkie_vk_buffer_write(b, 40, host, 9), SILKIE_ERR_INVALID_ARGUMENT);
    check_message("write past end");
    SK_TEST_STATUS(silkie_vk_buffer_read(b, 49, host, 0), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_vk_buffer_read(b, 0, NULL, 4), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_vk_buffer_fill(b, 2, 8, 0), SILKIE_ERR_INVALID_ARGUMENT);
    check_message("unaligned fill");
    SK_TEST_CHECK(silkie_vk_buffer_size(b) == 48, "size %llu",
                  (unsigned long long)silkie_vk_buffer_size(b));
    silkie_vk_buffer_destroy(b);
    silkie_vk_buffer_destroy(NULL);
}

static void bad_dispatches(silkie_vk_device *d)
{
    silkie_vk_buffer *b = NULL;
    SK_TEST_OK(silkie_vk_buffer_create(d, SILKIE_VK_POOL_ACTIVATIONS, 4096, &b));
    silkie_vk_cmd *c = NULL;
    SK_TEST_OK(silkie_vk_cmd_create(d, &c));
    if (!b || !c) return;
    const fma_peak_push pc = {.iters = 1};
    const uint32_t spec[] = {256};
    silkie_vk_binding bind = {.buf = b, .offset = 0, .range = 1024, .access = SILKIE_VK_WRITE};
    silkie_vk_dispatch_desc dd = {
        .shader = SILKIE_SHADER_FMA_PEAK,
        .spec = spec,
        .n_spec = 1,
        .push = &pc,
        .push_size = sizeof pc,
        .bindings = &bind,
        .n_bindings = 1,
        .groups = {1, 1, 1},
    };
    SK_TEST_STATUS(silkie_vk_cmd_dispatch(c, &dd), SILKIE_ERR_INVALID_ARGUMENT);
    check_message("dispatch before begin");
    SK_TEST_STATUS(silkie_vk_cmd_submit(c), SILKIE_ERR_INVALID_ARGUMENT);
    check_message("submit before end");
    SK_TEST_OK(silkie_vk_cmd_begin(c));
    SK_TEST_STATUS(silkie_vk_cmd_dispatch(c, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_vk_cmd_dispatch(NULL, &dd), SILKIE_ERR_INVALID_ARGUMENT);

    uint64_t align = silkie_vk_offset_alignment(d);
    if (align > 1) {
        bind.offset = align / 2;
        SK_TEST_STATUS(silkie_vk_cmd_dispatch(c, &dd), SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_CHECK(strstr(silkie_last_error(), "fma_peak") &&
                          strstr(silkie_last_error(), "binding 0"),
                      "message does not name shader and binding: %s", silkie_last_error());
    }
    bind.offset = align;
    bind.range = 4096;
    SK_TEST_STATUS(silkie_vk_cmd_dispatch(c, &dd), SILKIE_ERR_INVALID_ARGUMENT);
    check_message("range past end");
    bind.offset = 0;
    bind.range = 0;
    bind.buf = NULL;
    SK_TEST_STATUS(silkie_vk_cmd_dispatch(c, &dd), SILKIE_ERR_INVALID_ARGUMENT);
    bind.buf = b;
    dd.shader = (silkie_shader_id)(SILKIE_SHADER_COUNT + 3);
    SK_TEST_STATUS(silkie_vk_cmd_dispatch(c, &dd), SILKIE_ERR_INVALID_ARGUMENT);
    dd.shader = SILKIE_SHADER_FMA_PEAK;
    dd.push_size = 132;
    SK_TEST_STATUS(silkie_vk_cmd_dispatch(c, &dd), SILKIE_ERR_INVALID_ARGUMENT);
    dd.push_size = sizeof pc;
    dd.groups[0] = silkie_vk_device_caps(d)->max_workgroup_count[0] + 1;
    SK_TEST_STATUS(silkie_vk_cmd_dispatch(c, &dd), SILKIE_ERR_INVALID_ARGUMENT);
    check_message("too many groups");
    dd.groups[0] = 0; /* records nothing */
    SK_TEST_OK(silkie_vk_cmd_dispatch(c, &dd));
    dd.groups[0] = 1;
    SK_TEST_OK(silkie_vk_cmd_dispatch(c, &dd));
    SK_TEST_STATUS(silkie_vk_cmd_copy(c, b, 0, b, 8, 16), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_vk_cmd_copy(c, b, 0, b, 4090, 16), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(silkie_vk_cmd_n_dispatches(c) == 1, "%u dispatches",
                  silkie_vk_cmd_n_dispatches(c));
    SK_TEST_OK(silkie_vk_cmd_end(c));
    SK_TEST_OK(silkie_vk_cmd_submit_wait(c));
    silkie_vk_cmd_destroy(c);
    silkie_vk_buffer_destroy(b);
}

/* Builds one pipeline so the cache has something to save. */
static void touch_pipeline(silkie_vk_device *d)
{
    silkie_owned_tensor y;
    const uint32_t ne[4] = {256, 1, 1, 1};
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, &y));
    silkie_op_ctx c;
    if (sk_op_begin(d, &c)) {
        SK_TEST_OK(silkie_op_fma_peak(&c, &y.t, 1, 2));
        sk_op_run(&c);
    }
    silkie_tensor_free(&y);
}

static silkie_vk_device *cache_device(const char *path)
{
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    p.validation = 1;
    p.pipeline_cache_path = path;
    silkie_vk_device *d = NULL;
    SK_TEST_OK(silkie_vk_device_create(&p, &d));
    return d;
}

static void pipeline_cache(void)
{
    const char *path = "test_vk_device.pipeline-cache";
    remove(path);
    for (int round = 0; round < 4; round++) {
        if (round == 2) {
            /* A file made for another device (one byte of the device UUID changed) is ignored. */
            size_t n = 0;
            uint8_t *data = sk_read_file(path, &n);
            FILE *f = data && n > 40 ? fopen(path, "wb") : NULL;
            if (f) {
                data[24] ^= 0x5a;
                fwrite(data, 1, n, f);
                fclose(f);
            }
            silkie_free(data);
        }
        if (round == 3) {
            /* A corrupt file is ignored, never fatal. */
            FILE *f = fopen(path, "wb");
            if (f) {
                fputs("SKPCACHE garbage", f);
                fclose(f);
            }
        }
        silkie_vk_device *d = cache_device(path);
        if (!d) return;
        touch_pipeline(d);
        SK_TEST_CHECK(silkie_vk_validation_messages(d) == 0, "validation messages");
        silkie_vk_device_destroy(d);
        size_t n = 0;
        void *data = sk_read_file(path, &n);
        SK_TEST_CHECK(data && n > 64, "round %d: cache file %s missing or tiny (%zu)", round,
                      path, n);
        silkie_free(data);
    }
    remove(path);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    caps_sanity(d);
    bad_buffers(d);
    bad_dispatches(d);
    bad_devices();
    pipeline_cache();
    return sk_test_device_finish(d, "test_vk_device");
}
