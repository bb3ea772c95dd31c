/* Vulkan part of the test harness: a validated device, guarded tensors, one-shot op runs. */
#include "harness_vk.h"

#include <stdlib.h>
#include <string.h>

#define SK_CANARY 0x5ca1ab1eu

static int under_ci(void)
{
    const char *ci = getenv("CI");
    return ci && !strcmp(ci, "true");
}

/* Validation messages from every device of the test, including those printed while a device is
 * destroyed (leaked objects), which no per-device counter can report any more. */
static uint32_t g_validation_messages;

static void log_sink(silkie_log_level level, const char *module, const char *msg, void *user)
{
    (void)user;
    if (!strcmp(module, "vk") && !strncmp(msg, "validation:", 11)) g_validation_messages++;
    static const char *names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "silkie[%s] %s: %s\n", module, names[level & 3], msg);
}

silkie_vk_device *sk_test_device(void)
{
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    return sk_test_device_with(&p);
}

silkie_vk_device *sk_test_device_with(silkie_vk_device_params *p)
{
    silkie_log_set(log_sink, NULL);
    p->validation = 1;
    silkie_vk_device *d = NULL;
    silkie_status st = silkie_vk_device_create(p, &d);
    if (st == SILKIE_OK) return d;
    if (st == SILKIE_ERR_NO_DEVICE || st == SILKIE_ERR_UNSUPPORTED) {
        fprintf(stderr, "%s: %s\n", under_ci() ? "FAIL (CI=true)" : "SKIP", silkie_last_error());
        exit(under_ci() ? 1 : 77);
    }
    fprintf(stderr, "FAIL: device creation: %s: %s\n", silkie_status_name(st),
            silkie_last_error());
    exit(1);
}

int sk_test_device_finish(silkie_vk_device *d, const char *name)
{
    if (d) {
        silkie_vk_device_wait_idle(d);
        uint32_t before = silkie_vk_validation_messages(d);
        SK_TEST_CHECK(before == 0, "%u validation message(s)", before);
        silkie_vk_device_destroy(d);
    }
    SK_TEST_CHECK(g_validation_messages == 0, "%u validation message(s) in this test",
                  g_validation_messages);
    return sk_test_result(name);
}

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

int sk_guarded_alloc(silkie_vk_device *d, silkie_dtype dt, const uint32_t ne[4], sk_guarded *g)
{
    memset(g, 0, sizeof *g);
    silkie_tensor shape = {.dtype = dt, .ne = {ne[0], ne[1], ne[2], ne[3]}};
    uint64_t nbytes = silkie_tensor_nbytes(&shape);
    g->guard_bytes = round_up(256, silkie_vk_offset_alignment(d));
    uint64_t total = g->guard_bytes * 2 + round_up(nbytes, 4);
    silkie_status st = silkie_vk_buffer_create(d, SILKIE_VK_POOL_ACTIVATIONS, total, &g->o.bufs[0]);
    if (st != SILKIE_OK) {
        fprintf(stderr, "FAIL: guarded alloc of %llu bytes: %s\n", (unsigned long long)total,
                silkie_last_error());
        sk_test_failures++;
        return 0;
    }
    g->o.t = shape;
    g->o.t.buf = g->o.bufs[0];
    g->o.t.offset = g->guard_bytes;
    g->o.t.n_parts = 1;
    /* Fill everything with canaries: the tensor region too, so unwritten output shows up. */
    st = silkie_vk_buffer_fill(g->o.bufs[0], 0, total, SK_CANARY);
    if (st != SILKIE_OK) {
        fprintf(stderr, "FAIL: guard fill: %s\n", silkie_last_error());
        sk_test_failures++;
        return 0;
    }
    return 1;
}

int sk_guarded_check(sk_guarded *g, const char *what)
{
    silkie_vk_buffer *b = g->o.bufs[0];
    if (!b) return 0;
    uint64_t total = silkie_vk_buffer_size(b);
    uint64_t tail_off = g->guard_bytes + silkie_tensor_nbytes(&g->o.t);
    uint8_t *host = silkie_malloc(total);
    if (!host) return 0;
    int ok = silkie_vk_buffer_read(b, 0, host, total) == SILKIE_OK;
    if (!ok) fprintf(stderr, "FAIL: %s: guard read: %s\n", what, silkie_last_error());
    /* Compare byte-wise against the fill pattern so a partial trailing word is checked too. */
    for (uint64_t i = 0; ok && i < total; i++) {
        if (i >= g->guard_bytes && i < tail_off) continue;
        uint32_t pat = SK_CANARY;
        uint8_t want = ((const uint8_t *)&pat)[i % 4];
        if (host[i] != want) {
            fprintf(stderr, "FAIL: %s: canary byte %llu (%s guard) is 0x%02x, want 0x%02x\n", what,
                    (unsigned long long)i, i < g->guard_bytes ? "front" : "back", host[i], want);
            ok = 0;
        }
    }
    silkie_free(host);
    if (!ok) sk_test_failures++;
    return ok;
}

void sk_guarded_free(sk_guarded *g)
{
    silkie_tensor_free(&g->o);
    g->guard_bytes = 0;
}

int sk_tensor_from_host(silkie_vk_device *d, silkie_dtype dt, const uint32_t ne[4],
                        const void *data, silkie_owned_tensor *out)
{
    silkie_status st = silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, dt, ne, out);
    if (st == SILKIE_OK) st = silkie_tensor_upload(out, data, silkie_tensor_nbytes(&out->t));
    if (st != SILKIE_OK) {
        fprintf(stderr, "FAIL: tensor from host (%s %ux%ux%ux%u): %s\n", silkie_dtype_name(dt),
                ne[0], ne[1], ne[2], ne[3], silkie_last_error());
        sk_test_failures++;
        silkie_tensor_free(out);
        return 0;
    }
    return 1;
}

int sk_op_begin(silkie_vk_device *d, silkie_op_ctx *c)
{
    c->dev = d;
    c->cmd = NULL;
    silkie_status st = silkie_vk_cmd_create(d, &c->cmd);
    if (st == SILKIE_OK) st = silkie_vk_cmd_begin(c->cmd);
    if (st != SILKIE_OK) {
        fprintf(stderr, "FAIL: command list: %s\n", silkie_last_error());
        sk_test_failures++;
        silkie_vk_cmd_destroy(c->cmd);
        c->cmd = NULL;
        return 0;
    }
    return 1;
}

int sk_op_run(silkie_op_ctx *c)
{
    if (!c->cmd) return 0;
    silkie_status st = silkie_vk_cmd_end(c->cmd);
    if (st == SILKIE_OK) st = silkie_vk_cmd_submit_wait(c->cmd);
    if (st != SILKIE_OK) {
        fprintf(stderr, "FAIL: run: %s: %s\n", silkie_status_name(st), silkie_last_error());
        sk_test_failures++;
    }
    silkie_vk_cmd_destroy(c->cmd);
    c->cmd = NULL;
    return st == SILKIE_OK;
}
