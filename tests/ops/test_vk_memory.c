/* Buffer round trips in every pool, sub-allocation reuse, and tensors split into parts. */
#include <string.h>

#include "harness_vk.h"

static const char *pool_names[] = {"weights", "activations", "host"};

static void round_trips(silkie_vk_device *d, sk_rng *rng)
{
    static const uint64_t sizes[] = {1, 3, 4, 17, 1023, 65537, (1u << 20) + 3};
    static const uint64_t offsets[] = {0, 1, 5, 64};
    for (int pool = 0; pool < 3; pool++) {
        for (size_t si = 0; si < SK_ARRAY_LEN(sizes); si++) {
            for (size_t oi = 0; oi < SK_ARRAY_LEN(offsets); oi++) {
                uint64_t n = sizes[si], off = offsets[oi], total = n + off + 3;
                silkie_vk_buffer *b = NULL;
                SK_TEST_OK(silkie_vk_buffer_create(d, (silkie_vk_pool)pool, total, &b));
                if (!b) continue;
                if (pool == SILKIE_VK_POOL_HOST)
                    SK_TEST_CHECK(silkie_vk_buffer_map(b) != NULL, "host buffer not mapped");
                uint8_t *src = silkie_malloc(total), *dst = silkie_malloc(total);
                for (uint64_t i = 0; i < total; i++) src[i] = (uint8_t)sk_rng_u32(rng);
                SK_TEST_OK(silkie_vk_buffer_write(b, 0, src, total));
                /* Overwrite a window at an odd place, then read everything back. */
                for (uint64_t i = 0; i < n; i++) src[off + i] = (uint8_t)sk_rng_u32(rng);
                SK_TEST_OK(silkie_vk_buffer_write(b, off, src + off, n));
                memset(dst, 0, total);
                SK_TEST_OK(silkie_vk_buffer_read(b, 0, dst, total));
                SK_TEST_CHECK(!memcmp(src, dst, total), "%s: write/read %llu at %llu",
                              pool_names[pool], (unsigned long long)n, (unsigned long long)off);
                memset(dst, 0, total);
                SK_TEST_OK(silkie_vk_buffer_read(b, off, dst, n));
                SK_TEST_CHECK(!memcmp(src + off, dst, n), "%s: partial read %llu at %llu",
                              pool_names[pool], (unsigned long long)n, (unsigned long long)off);
                /* Fill works on whole words. */
                uint64_t foff = off / 4 * 4, fn = n / 4 * 4;
                if (fn) {
                    SK_TEST_OK(silkie_vk_buffer_fill(b, foff, fn, 0xa5c3e1f0u));
                    const uint32_t pat = 0xa5c3e1f0u;
                    for (uint64_t i = 0; i < fn; i++)
                        src[foff + i] = ((const uint8_t *)&pat)[i % 4];
                    SK_TEST_OK(silkie_vk_buffer_read(b, 0, dst, total));
                    SK_TEST_CHECK(!memcmp(src, dst, total), "%s: fill %llu at %llu",
                                  pool_names[pool], (unsigned long long)fn,
                                  (unsigned long long)foff);
                }
                silkie_free(src);
                silkie_free(dst);
                silkie_vk_buffer_destroy(b);
            }
        }
    }
}

/* Many live buffers with distinct contents, freed in a scattered order and reallocated: a
 * placement bug shows up as one buffer's bytes in another. */
static void reuse(silkie_vk_device *d, sk_rng *rng)
{
    enum { N = 96 };
    silkie_vk_buffer *b[N] = {0};
    uint64_t size[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            if (b[i]) continue;
            size[i] = 4 + (sk_rng_u32(rng) % 50000) / 4 * 4;
            SK_TEST_OK(silkie_vk_buffer_create(d, (silkie_vk_pool)(i % 3), size[i], &b[i]));
            if (b[i])
                SK_TEST_OK(silkie_vk_buffer_fill(b[i], 0, size[i], 0x01010101u * (uint32_t)i));
        }
        for (int i = 0; i < N; i++) {
            if (!b[i]) continue;
            uint8_t *h = silkie_malloc(size[i]);
            SK_TEST_OK(silkie_vk_buffer_read(b[i], 0, h, size[i]));
            uint64_t bad = 0;
            for (uint64_t k = 0; k < size[i]; k++) bad += h[k] != (uint8_t)i;
            SK_TEST_CHECK(bad == 0, "round %d buffer %d: %llu foreign bytes", round, i,
                          (unsigned long long)bad);
            silkie_free(h);
        }
        for (int i = round % 2; i < N; i += 2 + round) {
            silkie_vk_buffer_destroy(b[i]);
            b[i] = NULL;
        }
    }
    for (int i = 0; i < N; i++) silkie_vk_buffer_destroy(b[i]);
}

static void split_case(silkie_vk_device *d, silkie_dtype dt, const uint32_t ne[4],
                       uint32_t want_parts, sk_rng *rng)
{
    silkie_owned_tensor t;
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_WEIGHTS, dt, ne, &t));
    if (!t.bufs[0]) return;
    SK_TEST_CHECK(t.t.n_parts == want_parts, "%s %ux%u: %u parts, want %u", silkie_dtype_name(dt),
                  ne[0], ne[1], t.t.n_parts, want_parts);
    uint64_t nb = silkie_tensor_nbytes(&t.t), row = silkie_tensor_row_bytes(&t.t);
    uint64_t limit = silkie_vk_device_caps(d)->max_storage_buffer_range;
    uint8_t *src = silkie_malloc(nb), *dst = silkie_malloc(nb);
    for (uint64_t i = 0; i < nb; i++) src[i] = (uint8_t)sk_rng_u32(rng);
    SK_TEST_OK(silkie_tensor_upload(&t, src, nb));
    memset(dst, 0, nb);
    SK_TEST_OK(silkie_tensor_download(&t.t, dst, nb));
    SK_TEST_CHECK(!memcmp(src, dst, nb), "%s split round trip", silkie_dtype_name(dt));
    /* Each part holds exactly its rows. */
    uint64_t rows = silkie_tensor_rows(&t.t);
    for (uint32_t p = 0; t.t.n_parts > 1 && p < t.t.n_parts; p++) {
        uint64_t r0 = (uint64_t)p * t.t.part_rows;
        uint64_t r = SK_MIN((uint64_t)t.t.part_rows, rows - r0);
        silkie_vk_buffer *pb = t.t.parts[p].buf;
        SK_TEST_CHECK(silkie_vk_buffer_size(pb) <= limit, "part %u exceeds the limit", p);
        SK_TEST_CHECK(silkie_vk_buffer_size(pb) == r * row, "part %u holds %llu bytes", p,
                      (unsigned long long)silkie_vk_buffer_size(pb));
        SK_TEST_OK(silkie_vk_buffer_read(pb, 0, dst, r * row));
        SK_TEST_CHECK(!memcmp(src + r0 * row, dst, r * row), "part %u contents", p);
    }
    SK_TEST_STATUS(silkie_tensor_upload(&t, src, nb - 1), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_free(src);
    silkie_free(dst);
    silkie_tensor_free(&t);
}

static void split_tensors(sk_rng *rng, int force_staging)
{
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    p.validation = 1;
    p.max_binding_bytes = 4096;
    p.force_staging = (uint32_t)force_staging;
    silkie_vk_device *d = NULL;
    SK_TEST_OK(silkie_vk_device_create(&p, &d));
    if (!d) return;
    SK_TEST_CHECK(silkie_vk_device_caps(d)->max_storage_buffer_range == 4096, "limit not capped");
    silkie_vk_buffer *b = NULL;
    SK_TEST_STATUS(silkie_vk_buffer_create(d, SILKIE_VK_POOL_WEIGHTS, 4097, &b),
                   SILKIE_ERR_INVALID_ARGUMENT);
    const uint32_t f32[4] = {100, 37, 1, 1};   /* 400-byte rows, 10 per part: 4 parts */
    split_case(d, SILKIE_DTYPE_F32, f32, 4, rng);
    const uint32_t q8[4] = {64, 61, 1, 1};     /* 68-byte rows, 60 per part: 2 parts */
    split_case(d, SILKIE_DTYPE_Q8_0, q8, 2, rng);
    const uint32_t f16[4] = {32, 8, 2, 1};     /* fits: one part */
    split_case(d, SILKIE_DTYPE_F16, f16, 1, rng);
    silkie_owned_tensor t;
    const uint32_t huge[4] = {1024, 1024, 1, 1}; /* 4 MiB in 4 KiB parts: too many */
    SK_TEST_STATUS(silkie_tensor_alloc(d, SILKIE_VK_POOL_WEIGHTS, SILKIE_DTYPE_F32, huge, &t),
                   SILKIE_ERR_UNSUPPORTED);
    const uint32_t wide[4] = {2048, 2, 1, 1};  /* one row is past the limit */
    SK_TEST_STATUS(silkie_tensor_alloc(d, SILKIE_VK_POOL_WEIGHTS, SILKIE_DTYPE_F32, wide, &t),
                   SILKIE_ERR_UNSUPPORTED);
    const uint32_t ragged[4] = {33, 2, 1, 1};
    SK_TEST_STATUS(silkie_tensor_alloc(d, SILKIE_VK_POOL_WEIGHTS, SILKIE_DTYPE_Q4_0, ragged, &t),
                   SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(silkie_vk_validation_messages(d) == 0, "validation messages");
    silkie_vk_device_destroy(d);
}

static void views(void)
{
    silkie_tensor t = silkie_tensor_2d(NULL, 64, SILKIE_DTYPE_F32, 30, 5);
    SK_TEST_CHECK(silkie_tensor_rows(&t) == 5 && silkie_tensor_nbytes(&t) == 600, "2d sizes");
    silkie_tensor c = silkie_tensor_cols(&t, 10, 10);
    SK_TEST_CHECK(c.row_stride == 30 && c.offset == 104 && !silkie_tensor_is_contiguous(&c),
                  "cols view");
    silkie_vk_binding b = silkie_tensor_binding(&c, SILKIE_VK_READ);
    SK_TEST_CHECK(b.offset == 104 && b.range == (4 * 30 + 10) * 4, "cols binding range %llu",
                  (unsigned long long)b.range);
    silkie_tensor r = silkie_tensor_rows_view(&t, 2, 3);
    SK_TEST_CHECK(r.offset == 64 + 240 && r.ne[1] == 3, "rows view");
    silkie_tensor q = silkie_tensor_2d(NULL, 0, SILKIE_DTYPE_Q4_0, 64, 3);
    SK_TEST_CHECK(silkie_tensor_row_bytes(&q) == 36, "q4_0 row bytes");
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    sk_rng rng;
    sk_rng_seed(&rng, 1234);
    round_trips(d, &rng);
    reuse(d, &rng);
    split_tensors(&rng, 0);
    views();
    /* The same again through the staging path that discrete GPUs take. */
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    p.validation = 1;
    p.force_staging = 1;
    silkie_vk_device *ds = NULL;
    SK_TEST_OK(silkie_vk_device_create(&p, &ds));
    if (ds) {
        silkie_vk_buffer *b = NULL;
        SK_TEST_OK(silkie_vk_buffer_create(ds, SILKIE_VK_POOL_ACTIVATIONS, 64, &b));
        SK_TEST_CHECK(b && !silkie_vk_buffer_map(b), "device buffer mapped despite force_staging");
        silkie_vk_buffer_destroy(b);
        round_trips(ds, &rng);
        reuse(ds, &rng);
        SK_TEST_CHECK(silkie_vk_validation_messages(ds) == 0, "validation messages (staging)");
        silkie_vk_device_destroy(ds);
    }
    split_tensors(&rng, 1);
    return sk_test_device_finish(d, "test_vk_memory");
}
