/* silkie-bench-ops attention cases at Qwen-VL's shapes: LLM prefill behind an f16 KV cache
 * (causal), the vision tower's self-attention, the resampler's cross-attention and one decode
 * step; --check compares small shapes of every kernel path (flash and tiled) with
 * silkie_ref_attention. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_ops.h"
#include "ref/ref.h"

typedef struct attn_case {
    const char *op;
    uint32_t n_q, n_kv, n_heads, head_dim;
    int causal, f16;
} attn_case;

typedef struct attn_args {
    silkie_tensor *q, *k, *v, *y;
    silkie_attention_params p;
} attn_args;

static silkie_status rec_attn(silkie_op_ctx *c, void *u)
{
    attn_args *a = u;
    return silkie_op_attention(c, a->q, a->k, a->v, a->y, NULL, NULL, &a->p);
}

static void fill(float *x, uint64_t n, uint64_t seed, float lo, float hi)
{
    uint64_t s = seed | 1;
    for (uint64_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = lo + (hi - lo) * (float)(s >> 40) * (1.0f / 16777216.0f);
    }
}

/* Device tensor [rows, cols] of host values stored as f32 or f16. */
static silkie_status upload(silkie_vk_device *d, int f16, uint32_t cols, uint32_t rows,
                            const float *x, silkie_owned_tensor *o)
{
    const uint32_t ne[4] = {cols, rows, 1, 1};
    const uint64_t n = (uint64_t)cols * rows;
    SK_CHECK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS,
                                 f16 ? SILKIE_DTYPE_F16 : SILKIE_DTYPE_F32, ne, o));
    if (!f16) return silkie_tensor_upload(o, x, n * 4);
    uint16_t *h = malloc(n * 2);
    if (!h) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "bench: %llu halves", (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) h[i] = silkie_f32_to_f16(x[i]);
    silkie_status st = silkie_tensor_upload(o, h, n * 2);
    free(h);
    return st;
}

typedef struct attn_bufs {
    silkie_owned_tensor q, k, v, y;
    float *qh, *kh, *vh;
} attn_bufs;

static void bufs_free(attn_bufs *t)
{
    silkie_tensor_free(&t->q);
    silkie_tensor_free(&t->k);
    silkie_tensor_free(&t->v);
    silkie_tensor_free(&t->y);
    free(t->qh), free(t->kh), free(t->vh);
}

/* Random q, k, v (k and v rounded to f16 when stored so) on the device and on the host. */
static silkie_status bufs_make(bench *b, const attn_case *ac, uint64_t seed, attn_bufs *t)
{
    memset(t, 0, sizeof *t);
    const uint32_t w = ac->n_heads * ac->head_dim;
    const uint64_t nq = (uint64_t)ac->n_q * w, nkv = (uint64_t)ac->n_kv * w;
    t->qh = malloc(nq * 4), t->kh = malloc(nkv * 4), t->vh = malloc(nkv * 4);
    if (!t->qh || !t->kh || !t->vh) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "bench: q, k, v");
    fill(t->qh, nq, seed, -2, 2);
    fill(t->kh, nkv, seed * 3, -2, 2);
    fill(t->vh, nkv, seed * 5, -1, 1);
    for (uint64_t i = 0; ac->f16 && i < nkv; i++) {
        t->kh[i] = silkie_f16_to_f32(silkie_f32_to_f16(t->kh[i]));
        t->vh[i] = silkie_f16_to_f32(silkie_f32_to_f16(t->vh[i]));
    }
    const uint32_t ne_y[4] = {w, ac->n_q, 1, 1};
    SK_CHECK(upload(b->dev, 0, w, ac->n_q, t->qh, &t->q));
    SK_CHECK(upload(b->dev, ac->f16, w, ac->n_kv, t->kh, &t->k));
    SK_CHECK(upload(b->dev, ac->f16, w, ac->n_kv, t->vh, &t->v));
    return silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne_y, &t->y);
}

/* A causal block of n_q queries ends the cache: query i sits at n_kv - n_q + i. */
static silkie_attention_params params_of(const attn_case *ac)
{
    return (silkie_attention_params){.n_heads = ac->n_heads, .head_dim = ac->head_dim,
                                     .scale = 1.0f / sqrtf((float)ac->head_dim),
                                     .causal = (uint32_t)ac->causal,
                                     .q_pos0 = ac->causal ? ac->n_kv - ac->n_q : 0,
                                     .n_kv = ac->n_kv};
}

static void bench_one(bench *b, attn_case ac)
{
    if (b->quick) {
        ac.n_q = ac.n_q > 1 ? ac.n_q / 8 : 1;
        ac.n_kv /= 8;
    }
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%u h%ux%u%s", ac.n_q, ac.n_kv, ac.n_heads, ac.head_dim,
             ac.causal ? " causal" : "");
    const char *dname = ac.f16 ? "f16" : "f32";
    if (!wanted(b, ac.op, shape, dname)) return;
    attn_bufs t;
    silkie_status st = bufs_make(b, &ac, 0x5eed0001ull + ac.n_kv, &t);
    if (st != SILKIE_OK) {
        fprintf(stderr, "%s %s: %s\n", ac.op, shape, silkie_last_error());
        printf("%-10s %-22s %-6s   failed (see stderr)\n", ac.op, shape, dname);
        b->failures++;
    }
    /* The automatic choice, then (--variants) the tiled shader the flash kernel replaces. */
    for (int flash = 1; st == SILKIE_OK && flash >= (b->variants ? 0 : 1); flash--) {
        silkie_op_attention_set_flash(flash);
        attn_args a = {&t.q.t, &t.k.t, &t.v.t, &t.y.t, params_of(&ac)};
        const double us = time_case(b, rec_attn, &a);
        if (us > 0) {
            /* Score and weighted-sum products; a causal block skips the keys after each query. */
            double pairs = (double)ac.n_q * ac.n_kv;
            if (ac.causal) pairs -= 0.5 * (double)ac.n_q * (ac.n_q - 1);
            const double flops = 4.0 * pairs * ac.n_heads * ac.head_dim;
            const double w = (double)ac.n_heads * ac.head_dim;
            const double bytes = 8.0 * ac.n_q * w + 2.0 * ac.n_kv * w * (ac.f16 ? 2 : 4);
            report(b, ac.op, shape, dname, us, flops, bytes, ac.n_q == 1 ? "copy" : "fma",
                   silkie_op_attention_last_kernel());
        } else {
            printf("%-10s %-22s %-6s   failed (see stderr)\n", ac.op, shape, dname);
            b->failures++;
        }
    }
    silkie_op_attention_set_flash(1);
    bufs_free(&t);
}

void bench_attentions(bench *b)
{
    static const attn_case cases[] = {
        {"attn_llm", 512, 512, 32, 128, 1, 1},   /* prefill of 512 tokens, f16 cache */
        {"attn_vit", 1024, 1024, 16, 104, 0, 0}, /* vision tower, 448 x 448 */
        {"attn_rsm", 256, 1024, 32, 128, 0, 0},  /* resampler: 256 queries, 1024 patches */
        {"attn_dec", 1, 1024, 32, 128, 1, 1},    /* one decode step behind 1024 tokens */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) bench_one(b, cases[i]);
}

static int check_one(bench *b, const attn_case *ac, uint64_t seed)
{
    attn_bufs t;
    const uint32_t w = ac->n_heads * ac->head_dim;
    const uint64_t n = (uint64_t)ac->n_q * w;
    float *want = malloc(n * 4), *got = malloc(n * 4);
    silkie_status st = want && got ? bufs_make(b, ac, seed, &t) : SILKIE_ERR_OUT_OF_MEMORY;
    const silkie_attention_params p = params_of(ac);
    silkie_op_ctx c = {.dev = b->dev};
    if (st == SILKIE_OK) st = silkie_vk_cmd_create(b->dev, &c.cmd);
    if (st == SILKIE_OK) st = silkie_vk_cmd_begin(c.cmd);
    if (st == SILKIE_OK) st = silkie_op_attention(&c, &t.q.t, &t.k.t, &t.v.t, &t.y.t, NULL, NULL, &p);
    if (st == SILKIE_OK) st = silkie_vk_cmd_end(c.cmd);
    if (st == SILKIE_OK) st = silkie_vk_cmd_submit_wait(c.cmd);
    if (st == SILKIE_OK) st = silkie_tensor_download(&t.y.t, got, n * 4);
    double err = 0, ref = 0;
    if (st == SILKIE_OK) {
        silkie_ref_attention(t.qh, t.kh, t.vh, want, NULL, ac->n_q, ac->n_kv, ac->n_heads,
                             ac->head_dim, p.scale, ac->causal, p.q_pos0, 0, 0);
        for (uint64_t i = 0; i < n; i++) {
            err += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
            ref += (double)want[i] * want[i];
        }
    }
    const double nmse = ref > 0 ? err / ref : err;
    const int ok = st == SILKIE_OK && nmse < 1e-7;
    printf("check attention %4ux%-4u h%ux%-3u %-6s %s %-4s nmse %.2e %s%s\n", ac->n_q, ac->n_kv,
           ac->n_heads, ac->head_dim, ac->causal ? "causal" : "full", ac->f16 ? "f16" : "f32",
           st == SILKIE_OK ? silkie_op_attention_last_kernel() : "-", nmse, ok ? "PASS" : "FAIL",
           st == SILKIE_OK ? "" : silkie_last_error());
    if (c.cmd) silkie_vk_cmd_destroy(c.cmd);
    if (want && got) bufs_free(&t);
    free(want), free(got);
    return !ok;
}

void check_attentions(bench *b)
{
    static const attn_case cases[] = {
        {"", 77, 77, 2, 128, 1, 1},  {"", 70, 150, 3, 104, 0, 0}, {"", 33, 200, 2, 128, 1, 0},
        {"", 40, 40, 2, 200, 1, 0},  {"", 6, 90, 2, 128, 1, 1},   {"", 1, 300, 4, 128, 1, 1},
        {"", 17, 17, 1, 48, 0, 1},
    };
    for (int flash = 1; flash >= 0; flash--) {
        silkie_op_attention_set_flash(flash);
        for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++)
            b->failures += check_one(b, &cases[i], 0xa77e0000ull + i);
    }
    silkie_op_attention_set_flash(1);
}
