/* silkie_op_rope_qkv against its reference and against the unfused sequence it replaces (rope of
 * q, rope of k, set_rows of k and of v): without caches (prefill and training), with f16 and f32
 * caches at a step, rows past the cache's end dropped, log-n scaling of q around its threshold,
 * a strided qkv view, and the caches' other rows and guards untouched. */
#include <math.h>

#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t T, n_heads, head_dim;
    uint32_t pad;       /* floats after each qkv row (a strided view) */
    int cache;          /* 0 none, 1 f16, 2 f32 */
    uint32_t cache_rows;
    int32_t step;
    uint32_t logn_base;
    int32_t pos0;
} op_case;

static const op_case cases[] = {
    {1, 2, 32, 0, 1, 8, 3, 0, 3},         /* decode step, f16 cache (the tiny model's heads) */
    {1, 32, 128, 0, 1, 16, 15, 0, 15},    /* decode, Qwen's heads, last cache row */
    {4, 2, 128, 5, 2, 12, 6, 0, 6},       /* four tokens into an f32 cache, strided qkv */
    {5, 3, 64, 0, 1, 7, 4, 0, 4},         /* rows 7 and 8 fall past the cache: dropped */
    {6, 2, 64, 0, 0, 0, 0, 2048, 2045},   /* no cache, log-n scaling switches on at 2048 */
    {3, 4, 32, 3, 0, 0, 0, 0, 0},         /* no cache, strided */
};

static const float k_base = 10000.0f;

static float half_to_f32(uint16_t h)
{
    const uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023;
    float f;
    if (e == 0) f = ldexpf((float)m, -24);
    else if (e == 31) f = m ? NAN : INFINITY;
    else f = ldexpf((float)(m | 1024), (int)e - 25);
    return s ? -f : f;
}

/* The cache as floats (f16 widened). */
static void cache_floats(const void *c, int f16, uint64_t n, float *out)
{
    for (uint64_t i = 0; i < n; i++)
        out[i] = f16 ? half_to_f32(((const uint16_t *)c)[i]) : ((const float *)c)[i];
}

typedef struct result {
    float *qkv;     /* [T, ld] */
    void *kc, *vc;  /* cache bytes */
} result;

/* Runs the fused op (fused = 1) or the unfused sequence on fresh device copies of the inputs. */
static int run_device(silkie_vk_device *d, const op_case *k, const float *qkv, const int32_t *pos,
                      const void *cache0, int fused, result *out)
{
    const uint32_t width = k->n_heads * k->head_dim, ld = 3 * width + k->pad;
    const silkie_dtype cdt = k->cache == 2 ? SILKIE_DTYPE_F32 : SILKIE_DTYPE_F16;
    const uint64_t cache_bytes = (uint64_t)k->cache_rows * width * (k->cache == 2 ? 4 : 2);
    const uint32_t ne_x[4] = {ld, k->T, 1, 1}, ne_p[4] = {k->T, 1, 1, 1}, ne_s[4] = {1, 1, 1, 1};
    const uint32_t ne_c[4] = {width, k->cache_rows ? k->cache_rows : 1, 1, 1};
    silkie_owned_tensor tx = {0}, tp = {0}, ts = {0};
    sk_guarded gk = {0}, gv = {0};
    int ok = sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, qkv, &tx) &&
             sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_p, pos, &tp) &&
             sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_s, &k->step, &ts);
    if (ok && k->cache) {
        ok = sk_guarded_alloc(d, cdt, ne_c, &gk) && sk_guarded_alloc(d, cdt, ne_c, &gv);
        if (ok) {
            SK_TEST_OK(silkie_vk_buffer_write(gk.o.t.buf, gk.o.t.offset, cache0, cache_bytes));
            SK_TEST_OK(silkie_vk_buffer_write(gv.o.t.buf, gv.o.t.offset, cache0, cache_bytes));
        }
    }
    silkie_op_ctx c;
    if (ok && (ok = sk_op_begin(d, &c))) {
        silkie_tensor all = silkie_tensor_cols(&tx.t, 0, 3 * width);
        const silkie_rope_params rq = {.head_dim = k->head_dim, .freq_base = k_base,
                                       .logn_base = k->logn_base};
        const silkie_rope_params rk = {.head_dim = k->head_dim, .freq_base = k_base};
        if (fused) {
            SK_TEST_OK(silkie_op_rope_qkv(&c, &all, &tp.t, k->cache ? &gk.o.t : NULL,
                                          k->cache ? &gv.o.t : NULL, k->cache ? &ts.t : NULL,
                                          &rq));
        } else {
            silkie_tensor Q = silkie_tensor_cols(&tx.t, 0, width);
            silkie_tensor K = silkie_tensor_cols(&tx.t, width, width);
            silkie_tensor V = silkie_tensor_cols(&tx.t, 2 * width, width);
            SK_TEST_OK(silkie_op_rope(&c, &Q, &tp.t, &Q, &rq));
            SK_TEST_OK(silkie_op_rope(&c, &K, &tp.t, &K, &rk));
            if (k->cache) {
                SK_TEST_OK(silkie_op_set_rows(&c, &K, &gk.o.t, &ts.t, 0));
                SK_TEST_OK(silkie_op_set_rows(&c, &V, &gv.o.t, &ts.t, 0));
            }
        }
        ok = sk_op_run(&c);
    }
    if (ok) {
        out->qkv = silkie_malloc((size_t)ld * k->T * 4);
        SK_TEST_OK(silkie_tensor_download(&tx.t, out->qkv, (uint64_t)ld * k->T * 4));
        if (k->cache) {
            out->kc = silkie_malloc(cache_bytes);
            out->vc = silkie_malloc(cache_bytes);
            SK_TEST_OK(silkie_tensor_download(&gk.o.t, out->kc, cache_bytes));
            SK_TEST_OK(silkie_tensor_download(&gv.o.t, out->vc, cache_bytes));
            sk_guarded_check(&gk, fused ? "rope_qkv k cache" : "unfused k cache");
            sk_guarded_check(&gv, fused ? "rope_qkv v cache" : "unfused v cache");
        }
    }
    sk_guarded_free(&gk);
    sk_guarded_free(&gv);
    silkie_tensor_free(&tx);
    silkie_tensor_free(&tp);
    silkie_tensor_free(&ts);
    return ok;
}

static void result_free(result *r)
{
    silkie_free(r->qkv);
    silkie_free(r->kc);
    silkie_free(r->vc);
}

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[160];
    snprintf(what, sizeof what, "rope_qkv T %u heads %u hd %u pad %u cache %d/%u step %d logn %u",
             k->T, k->n_heads, k->head_dim, k->pad, k->cache, k->cache_rows, k->step,
             k->logn_base);
    const uint32_t width = k->n_heads * k->head_dim, ld = 3 * width + k->pad;
    const int f16 = k->cache == 1;
    const uint64_t cache_n = (uint64_t)k->cache_rows * width;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *qkv = silkie_malloc((size_t)ld * k->T * 4);
    float *want = silkie_malloc((size_t)3 * width * k->T * 4);
    int32_t *pos = silkie_malloc((size_t)k->T * 4);
    void *cache0 = silkie_malloc(cache_n * 4 + 4), *wk = silkie_malloc(cache_n * 4 + 4);
    void *wv = silkie_malloc(cache_n * 4 + 4);
    sk_fill_uniform(&rng, qkv, (uint64_t)ld * k->T, -2, 2);
    for (uint32_t t = 0; t < k->T; t++) {
        pos[t] = k->pos0 + (int32_t)t;
        memcpy(want + (size_t)t * 3 * width, qkv + (size_t)t * ld, (size_t)3 * width * 4);
    }
    /* Cache rows start as a pattern that must survive where nothing is appended. */
    for (uint64_t i = 0; i < cache_n; i++) {
        if (f16) ((uint16_t *)cache0)[i] = silkie_f32_to_f16(0.25f + (float)(i % 7));
        else ((float *)cache0)[i] = 0.25f + (float)(i % 7);
    }
    memcpy(wk, cache0, cache_n * (f16 ? 2 : 4));
    memcpy(wv, cache0, cache_n * (f16 ? 2 : 4));
    silkie_ref_rope_qkv(want, pos, k->T, k->n_heads, k->head_dim, k_base, k->logn_base,
                        k->cache ? wk : NULL, k->cache ? wv : NULL, f16, k->cache_rows, k->step);

    result fused = {0}, plain = {0};
    if (run_device(d, k, qkv, pos, cache0, 1, &fused) &&
        run_device(d, k, qkv, pos, cache0, 0, &plain)) {
        const uint64_t n3 = (uint64_t)3 * width * k->T;
        float *got = silkie_malloc(n3 * 4), *ref_seq = silkie_malloc(n3 * 4);
        int pad_kept = 1;
        for (uint32_t t = 0; t < k->T; t++) {
            memcpy(got + (size_t)t * 3 * width, fused.qkv + (size_t)t * ld, (size_t)3 * width * 4);
            memcpy(ref_seq + (size_t)t * 3 * width, plain.qkv + (size_t)t * ld,
                   (size_t)3 * width * 4);
            pad_kept &= !memcmp(fused.qkv + (size_t)t * ld + 3 * width,
                                qkv + (size_t)t * ld + 3 * width, (size_t)k->pad * 4);
        }
        SK_TEST_CHECK(pad_kept, "%s: columns past the view changed", what);
        char sub[200];
        snprintf(sub, sizeof sub, "%s vs reference", what);
        sk_check_close(sub, want, got, n3, 1e-7, 1e-3, seed); /* angles: see test_rope */
        snprintf(sub, sizeof sub, "%s vs unfused", what);
        sk_check_close(sub, ref_seq, got, n3, 1e-12, 1e-5, seed);
        if (k->cache) {
            float *a = silkie_malloc(cache_n * 4 + 4), *b = silkie_malloc(cache_n * 4 + 4);
            float *r = silkie_malloc(cache_n * 4 + 4);
            const void *caches[2][3] = {{fused.kc, plain.kc, wk}, {fused.vc, plain.vc, wv}};
            for (int kv = 0; kv < 2; kv++) {
                cache_floats(caches[kv][0], f16, cache_n, a);
                cache_floats(caches[kv][1], f16, cache_n, b);
                cache_floats(caches[kv][2], f16, cache_n, r);
                /* One f16 rounding step apart at most: the rotated values differ in the last
                 * f32 bits, which can move a value across a rounding boundary. */
                const float tol = f16 ? 2e-3f : 1e-5f;
                int bad = -1;
                for (uint64_t i = 0; i < cache_n && bad < 0; i++)
                    if (fabsf(a[i] - r[i]) > tol * (1 + fabsf(r[i])) ||
                        fabsf(a[i] - b[i]) > tol * (1 + fabsf(b[i])))
                        bad = (int)i;
                SK_TEST_CHECK(bad < 0, "%s: %s cache element %d: fused %g, unfused %g, ref %g",
                              what, kv ? "v" : "k", bad, bad < 0 ? 0 : a[bad],
                              bad < 0 ? 0 : b[bad], bad < 0 ? 0 : r[bad]);
            }
            silkie_free(a);
            silkie_free(b);
            silkie_free(r);
        }
        silkie_free(got);
        silkie_free(ref_seq);
    }
    result_free(&fused);
    result_free(&plain);
    silkie_free(qkv);
    silkie_free(want);
    silkie_free(pos);
    silkie_free(cache0);
    silkie_free(wk);
    silkie_free(wv);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 700 + i);
    /* Misuse: a cache without step, mixed cache types, a row that is not q, k, v. */
    silkie_owned_tensor x = {0}, p = {0}, kc = {0}, vc = {0};
    const uint32_t ne_x[4] = {192, 1, 1, 1}, ne_p[4] = {1, 1, 1, 1}, ne_c[4] = {64, 4, 1, 1};
    const silkie_vk_pool pool = SILKIE_VK_POOL_ACTIVATIONS;
    silkie_status st = silkie_tensor_alloc(d, pool, SILKIE_DTYPE_F32, ne_x, &x);
    if (st == SILKIE_OK) st = silkie_tensor_alloc(d, pool, SILKIE_DTYPE_I32, ne_p, &p);
    if (st == SILKIE_OK) st = silkie_tensor_alloc(d, pool, SILKIE_DTYPE_F16, ne_c, &kc);
    if (st == SILKIE_OK) st = silkie_tensor_alloc(d, pool, SILKIE_DTYPE_F32, ne_c, &vc);
    SK_TEST_OK(st);
    if (st == SILKIE_OK) {
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            const silkie_rope_params rp = {.head_dim = 32, .freq_base = k_base};
            const silkie_rope_params odd = {.head_dim = 48, .freq_base = k_base};
            SK_TEST_STATUS(silkie_op_rope_qkv(&c, &x.t, &p.t, &kc.t, &vc.t, NULL, &rp),
                           SILKIE_ERR_INVALID_ARGUMENT);
            SK_TEST_STATUS(silkie_op_rope_qkv(&c, &x.t, &p.t, &kc.t, &vc.t, &p.t, &rp),
                           SILKIE_ERR_UNSUPPORTED);
            SK_TEST_STATUS(silkie_op_rope_qkv(&c, &x.t, &p.t, NULL, NULL, NULL, &odd),
                           SILKIE_ERR_INVALID_ARGUMENT);
            sk_op_run(&c);
        }
    }
    silkie_tensor_free(&x);
    silkie_tensor_free(&p);
    silkie_tensor_free(&kc);
    silkie_tensor_free(&vc);
    return sk_test_device_finish(d, "test_rope_qkv");
}
