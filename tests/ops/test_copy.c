/* Copy and FMA reference ops; list replay, derived barriers and profiling. */
#include <math.h>
#include <string.h>

#include "harness_vk.h"

static void copy_sizes(silkie_vk_device *d, sk_rng *rng)
{
    static const uint32_t words[] = {1, 3, 4, 5, 1023, 1u << 20};
    for (size_t i = 0; i < SK_ARRAY_LEN(words); i++) {
        const uint32_t n = words[i];
        const uint32_t ne[4] = {n, 1, 1, 1};
        uint32_t *src = silkie_malloc((size_t)n * 4), *dst = silkie_malloc((size_t)n * 4);
        for (uint32_t k = 0; k < n; k++) src[k] = sk_rng_u32(rng);
        silkie_owned_tensor x;
        sk_guarded y;
        if (!sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne, src, &x)) continue;
        if (sk_guarded_alloc(d, SILKIE_DTYPE_I32, ne, &y)) {
            silkie_op_ctx c;
            if (sk_op_begin(d, &c)) {
                SK_TEST_OK(silkie_op_copy(&c, &x.t, &y.o.t));
                sk_op_run(&c);
            }
            SK_TEST_OK(silkie_tensor_download(&y.o.t, dst, (uint64_t)n * 4));
            SK_TEST_CHECK(!memcmp(src, dst, (size_t)n * 4), "copy of %u words", n);
            sk_guarded_check(&y, "copy");
        }
        sk_guarded_free(&y);
        silkie_tensor_free(&x);
        silkie_free(src);
        silkie_free(dst);
    }
}

/* One recording, two submissions with different HOST inputs: replay must see the new data. */
static void replay(silkie_vk_device *d)
{
    enum { N = 4099 };
    const uint32_t ne[4] = {N, 1, 1, 1};
    silkie_owned_tensor x, y;
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_HOST, SILKIE_DTYPE_I32, ne, &x));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &y));
    silkie_op_ctx c = {.dev = d};
    SK_TEST_OK(silkie_vk_cmd_create(d, &c.cmd));
    if (!x.bufs[0] || !y.bufs[0] || !c.cmd) return;
    SK_TEST_OK(silkie_vk_cmd_begin(c.cmd));
    SK_TEST_OK(silkie_op_copy(&c, &x.t, &y.t));
    SK_TEST_OK(silkie_vk_cmd_end(c.cmd));
    static uint32_t a[N], got[N];
    for (int step = 0; step < 3; step++) {
        for (uint32_t i = 0; i < N; i++) a[i] = i * 2654435761u + (uint32_t)step;
        uint32_t *m = silkie_vk_buffer_map(x.bufs[0]);
        SK_TEST_CHECK(m != NULL, "HOST tensor not mapped");
        if (m) memcpy(m, a, sizeof a);
        SK_TEST_OK(silkie_vk_cmd_submit(c.cmd));
        SK_TEST_OK(silkie_vk_cmd_wait(c.cmd));
        SK_TEST_OK(silkie_tensor_download(&y.t, got, sizeof got));
        SK_TEST_CHECK(!memcmp(a, got, sizeof a), "replay step %d saw stale data", step);
    }
    silkie_vk_cmd_destroy(c.cmd);
    silkie_tensor_free(&x);
    silkie_tensor_free(&y);
}

/* a -> b -> c -> d in one list, each copy reading the previous one's output, plus FMA output
 * copied after it is written; without derived barriers the later copies may read stale data. */
static void barrier_chain(silkie_vk_device *d, sk_rng *rng)
{
    enum { N = 1 << 18, G = 64 };
    const uint32_t ne[4] = {N, 1, 1, 1};
    static uint32_t src[N], got[N];
    for (uint32_t i = 0; i < N; i++) src[i] = sk_rng_u32(rng);
    silkie_owned_tensor t[4], f, g;
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &t[0]));
    SK_TEST_OK(silkie_tensor_upload(&t[0], src, sizeof src));
    for (int i = 1; i < 4; i++) {
        SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &t[i]));
        SK_TEST_OK(silkie_vk_buffer_fill(t[i].bufs[0], 0, sizeof src, 0));
    }
    const uint32_t fne[4] = {G * 256, 1, 1, 1};
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, fne, &f));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_HOST, SILKIE_DTYPE_F32, fne, &g));
    silkie_op_ctx c;
    if (sk_op_begin(d, &c)) {
        for (int i = 0; i < 3; i++) SK_TEST_OK(silkie_op_copy(&c, &t[i].t, &t[i + 1].t));
        SK_TEST_OK(silkie_op_fma_peak(&c, &f.t, G, 100));
        SK_TEST_OK(silkie_op_copy(&c, &f.t, &g.t));
        SK_TEST_CHECK(silkie_vk_cmd_n_dispatches(c.cmd) == 5, "%u dispatches",
                      silkie_vk_cmd_n_dispatches(c.cmd));
        sk_op_run(&c);
    }
    SK_TEST_OK(silkie_tensor_download(&t[3].t, got, sizeof got));
    SK_TEST_CHECK(!memcmp(src, got, sizeof src), "chained copies");

    /* The FMA shader's value for invocation i, computed the same way on the CPU. */
    static float fy[G * 256];
    SK_TEST_OK(silkie_tensor_download(&g.t, fy, sizeof fy));
    double worst = 0;
    for (uint32_t i = 0; i < G * 256; i++) {
        float s = (float)i * 1e-9f, acc[8];
        for (int k = 0; k < 8; k++) acc[k] = s + (float)k;
        for (int it = 0; it < 100; it++)
            for (int k = 0; k < 8; k++) acc[k] = fmaf(acc[k], 0.9999f, 1e-4f);
        double want = 0;
        for (int k = 0; k < 8; k++) want += 4.0 * acc[k];
        worst = fmax(worst, fabs(fy[i] - want) / fabs(want));
    }
    SK_TEST_CHECK(worst < 1e-5, "fma_peak relative error %g", worst);
    for (int i = 0; i < 4; i++) silkie_tensor_free(&t[i]);
    silkie_tensor_free(&f);
    silkie_tensor_free(&g);
}

/* Which access patterns get a barrier: read-after-write, write-after-read and
 * write-after-write on overlapping ranges do; independent work and disjoint ranges do not. */
static void barrier_rules(silkie_vk_device *d)
{
    const uint32_t ne[4] = {1024, 1, 1, 1};
    silkie_owned_tensor a, b, e;
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &a));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &b));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &e));
    if (!a.bufs[0] || !b.bufs[0] || !e.bufs[0]) return;
    SK_TEST_OK(silkie_vk_buffer_fill(a.bufs[0], 0, 4096, 3));
    /* Halves of b: disjoint ranges of one buffer. */
    silkie_tensor b0 = silkie_tensor_rows_view(&b.t, 0, 1), b1 = b.t;
    b0.ne[0] = b1.ne[0] = 512;
    b1.offset = 2048;
    silkie_tensor a0 = a.t, e0 = e.t;
    a0.ne[0] = e0.ne[0] = 512;
    static const struct {
        const char *what;
        int steps;
        uint32_t want;
    } cases[] = {
        {"a->b, b->e (read after write)", 0, 1},
        {"a->b, a->e (independent)", 1, 0},
        {"a->b, e->a (write after read)", 2, 1},
        {"a->b, a->b (write after write)", 3, 1},
        {"a->b[0:512], a->b[512:] (disjoint halves)", 4, 0},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        silkie_op_ctx c;
        if (!sk_op_begin(d, &c)) continue;
        /* Each case is two copies: src0 -> dst0, then src1 -> dst1. */
        silkie_tensor *pairs[5][4] = {
            {&a.t, &b.t, &b.t, &e.t},
            {&a.t, &b.t, &a.t, &e.t},
            {&a.t, &b.t, &e.t, &a.t},
            {&a.t, &b.t, &a.t, &b.t},
            {&a0, &b0, &e0, &b1},
        };
        silkie_tensor *const *p = pairs[cases[i].steps];
        SK_TEST_OK(silkie_op_copy(&c, p[0], p[1]));
        SK_TEST_OK(silkie_op_copy(&c, p[2], p[3]));
        uint32_t n = silkie_vk_cmd_n_barriers(c.cmd);
        SK_TEST_CHECK(n == cases[i].want, "%s: %u barriers, want %u", cases[i].what, n,
                      cases[i].want);
        sk_op_run(&c);
    }
    silkie_tensor_free(&a);
    silkie_tensor_free(&b);
    silkie_tensor_free(&e);
}

static void profiling(void)
{
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    p.validation = 1;
    p.profile = 1;
    silkie_vk_device *d = NULL;
    SK_TEST_OK(silkie_vk_device_create(&p, &d));
    if (!d) return;
    if (!silkie_vk_device_caps(d)->timestamps) {
        printf("no timestamps on this queue: profile check skipped\n");
        silkie_vk_device_destroy(d);
        return;
    }
    const uint32_t ne[4] = {1 << 16, 1, 1, 1};
    silkie_owned_tensor x, y;
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, &x));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &y));
    SK_TEST_OK(silkie_vk_buffer_fill(x.bufs[0], 0, 4u << 16, 7));
    silkie_op_ctx c = {.dev = d};
    SK_TEST_OK(silkie_vk_cmd_create(d, &c.cmd));
    SK_TEST_OK(silkie_vk_cmd_begin(c.cmd));
    SK_TEST_OK(silkie_op_copy(&c, &x.t, &y.t));
    SK_TEST_OK(silkie_op_fma_peak(&c, &x.t, 4, 10));
    SK_TEST_OK(silkie_vk_cmd_end(c.cmd));
    for (int i = 0; i < 3; i++) SK_TEST_OK(silkie_vk_cmd_submit_wait(c.cmd));
    silkie_vk_profile_row rows[8];
    uint32_t n = silkie_vk_profile(d, rows, 8);
    SK_TEST_CHECK(n == 2, "%u profile rows, want 2", n);
    int seen_copy = 0;
    for (uint32_t i = 0; i < SK_MIN(n, 8u); i++) {
        printf("profile: %-10s %llu calls %.4f ms\n", rows[i].label,
               (unsigned long long)rows[i].calls, rows[i].total_ms);
        SK_TEST_CHECK(rows[i].calls == 3, "%s: %llu calls", rows[i].label,
                      (unsigned long long)rows[i].calls);
        SK_TEST_CHECK(rows[i].total_ms > 0, "%s: no time", rows[i].label);
        if (i) SK_TEST_CHECK(rows[i - 1].total_ms >= rows[i].total_ms, "rows not sorted");
        seen_copy |= !strcmp(rows[i].label, "copy");
    }
    SK_TEST_CHECK(seen_copy, "no 'copy' row");
    silkie_vk_cmd_destroy(c.cmd);
    silkie_tensor_free(&x);
    silkie_tensor_free(&y);
    SK_TEST_CHECK(silkie_vk_validation_messages(d) == 0, "validation messages");
    silkie_vk_device_destroy(d);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    sk_rng rng;
    sk_rng_seed(&rng, 42);
    copy_sizes(d, &rng);
    replay(d);
    barrier_chain(d, &rng);
    barrier_rules(d);
    profiling();
    return sk_test_device_finish(d, "test_copy");
}
