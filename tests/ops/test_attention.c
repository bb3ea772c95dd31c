/* silkie_op_attention against the reference: causal self-attention behind a cache (q_pos0 > 0),
 * cross-attention (non-causal, Tq != n_kv), decode (Tq = 1, long n_kv), f16 KV caches larger
 * than n_kv, q/k/v as strided views of one fused QKV activation, head_dim above 128, the
 * log-sum-exp output, and the device-side step tensor replayed with two different values. */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t Tq, n_kv, kv_rows, n_heads, head_dim;
    int causal;
    uint32_t q_pos0;
    int f16, fused, lse, step;
    double nmse_max;
} op_case;

/* The f16 cases compare against the reference run on the same f16-rounded k and v, so only
 * accumulation order differs and the f32 bound applies. */
static const op_case cases[] = {
    /* Tq  n_kv rows  H   hd  causal pos0 f16 fused lse step */
    {5, 12, 12, 2, 32, 1, 7, 0, 0, 1, 0, 1e-7},      /* self, behind a 7-token cache */
    {20, 37, 37, 4, 12, 0, 0, 0, 0, 1, 0, 1e-7},     /* cross: 2 query blocks, tiny head */
    {1, 300, 320, 2, 128, 1, 299, 1, 0, 1, 0, 1e-7}, /* decode, f16 cache */
    {1, 257, 257, 3, 104, 0, 0, 0, 0, 0, 1, 1e-7},   /* decode, vision head width, step */
    {19, 19, 19, 3, 32, 1, 0, 0, 1, 1, 0, 1e-7},     /* fused QKV, causal prefill */
    {9, 40, 64, 2, 128, 0, 0, 1, 0, 0, 0, 1e-7},     /* f16 cache larger than n_kv */
    {3, 10, 10, 2, 200, 1, 7, 0, 0, 1, 0, 1e-7},     /* head_dim > 128 */
    {33, 33, 33, 1, 48, 1, 0, 0, 1, 0, 1, 1e-7},     /* fused, step tensor, 3 query blocks */
    {40, 50, 50, 2, 48, 1, 10, 0, 0, 1, 1, 1e-7},    /* step tensor behind a cache */
    {5, 300, 300, 2, 64, 1, 295, 1, 0, 1, 0, 1e-7},  /* few queries: one-query tiled path */
    {2, 130, 130, 4, 128, 1, 128, 0, 0, 1, 1, 1e-7}, /* two decode queries, step tensor */
};

static void round_f16(float *x, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) x[i] = silkie_f16_to_f32(silkie_f32_to_f16(x[i]));
}

/* Device tensor of f32 host values stored as dt. */
static int upload(silkie_vk_device *d, silkie_dtype dt, uint32_t cols, uint32_t rows,
                  const float *x, silkie_owned_tensor *o)
{
    const uint32_t ne[4] = {cols, rows, 1, 1};
    if (dt == SILKIE_DTYPE_F32) return sk_tensor_from_host(d, dt, ne, x, o);
    uint16_t *h = silkie_malloc((size_t)cols * rows * 2);
    for (uint64_t i = 0; i < (uint64_t)cols * rows; i++) h[i] = silkie_f32_to_f16(x[i]);
    int ok = sk_tensor_from_host(d, dt, ne, h, o);
    silkie_free(h);
    return ok;
}

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[128];
    snprintf(what, sizeof what,
             "attention Tq %u n_kv %u/%u H %u hd %u causal %d pos0 %u f16 %d fused %d step %d",
             k->Tq, k->n_kv, k->kv_rows, k->n_heads, k->head_dim, k->causal, k->q_pos0, k->f16,
             k->fused, k->step);
    const uint32_t w = k->n_heads * k->head_dim;
    const uint64_t nq = (uint64_t)k->Tq * w, nkv = (uint64_t)k->kv_rows * w;
    const float scale = 1.0f / sqrtf((float)k->head_dim);
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *q = silkie_malloc(nq * 4), *kk = silkie_malloc(nkv * 4), *v = silkie_malloc(nkv * 4);
    float *want = silkie_malloc(nq * 4), *got = silkie_malloc(nq * 4);
    float *lse_want = silkie_malloc((size_t)k->n_heads * k->Tq * 4);
    float *lse_got = silkie_malloc((size_t)k->n_heads * k->Tq * 4);
    float *fused = NULL;
    sk_fill_uniform(&rng, q, nq, -2, 2);
    sk_fill_uniform(&rng, kk, nkv, -2, 2);
    sk_fill_uniform(&rng, v, nkv, -1, 1);
    if (k->f16) {
        round_f16(kk, nkv);
        round_f16(v, nkv);
    }
    silkie_ref_attention(q, kk, v, want, lse_want, k->Tq, k->n_kv, k->n_heads, k->head_dim,
                         scale, k->causal, k->q_pos0);

    silkie_owned_tensor tq = {0}, tk = {0}, tv = {0}, ts = {0};
    sk_guarded gy = {0}, gl = {0};
    const silkie_dtype kvt = k->f16 ? SILKIE_DTYPE_F16 : SILKIE_DTYPE_F32;
    int ok;
    silkie_tensor qv, kv, vv;
    if (k->fused) {
        /* [T, q | k | v] as the LLM's c_attn output; here Tq == kv_rows. */
        fused = silkie_malloc(nq * 3 * 4);
        for (uint32_t t = 0; t < k->Tq; t++) {
            memcpy(fused + (size_t)t * 3 * w, q + (size_t)t * w, w * 4);
            memcpy(fused + (size_t)t * 3 * w + w, kk + (size_t)t * w, w * 4);
            memcpy(fused + (size_t)t * 3 * w + 2 * w, v + (size_t)t * w, w * 4);
        }
        ok = upload(d, SILKIE_DTYPE_F32, 3 * w, k->Tq, fused, &tq);
        if (ok) {
            qv = silkie_tensor_cols(&tq.t, 0, w);
            kv = silkie_tensor_cols(&tq.t, w, w);
            vv = silkie_tensor_cols(&tq.t, 2 * w, w);
        }
    } else {
        ok = upload(d, SILKIE_DTYPE_F32, w, k->Tq, q, &tq) &&
             upload(d, kvt, w, k->kv_rows, kk, &tk) && upload(d, kvt, w, k->kv_rows, v, &tv);
        qv = tq.t;
        kv = tk.t;
        vv = tv.t;
    }
    const int32_t step[2] = {(int32_t)k->q_pos0, (int32_t)k->n_kv};
    const uint32_t ne_y[4] = {w, k->Tq, 1, 1}, ne_l[4] = {k->Tq, k->n_heads, 1, 1};
    const uint32_t ne_s[4] = {2, 1, 1, 1};
    ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy) &&
         sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_l, &gl) &&
         (!k->step || sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_s, step, &ts));
    /* With the step tensor the static values are deliberately wrong: they must be ignored. */
    const silkie_attention_params p = {.n_heads = k->n_heads, .head_dim = k->head_dim,
                                       .scale = scale, .causal = (uint32_t)k->causal,
                                       .q_pos0 = k->step ? 0 : k->q_pos0,
                                       .n_kv = k->step ? 1 : k->n_kv};
    silkie_op_ctx c;
    if (ok && sk_op_begin(d, &c)) {
        SK_TEST_OK(silkie_op_attention(&c, &qv, &kv, &vv, &gy.o.t, k->step ? &ts.t : NULL,
                                       k->lse ? &gl.o.t : NULL, &p));
        if (sk_op_run(&c)) {
            SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, nq * 4));
            sk_check_close(what, want, got, nq, k->nmse_max, 1e-4, seed);
            sk_guarded_check(&gy, what);
            if (k->lse) {
                const uint64_t nl = (uint64_t)k->n_heads * k->Tq;
                SK_TEST_OK(silkie_tensor_download(&gl.o.t, lse_got, nl * 4));
                sk_check_close("lse", lse_want, lse_got, nl, 1e-10, 1e-5, seed);
                sk_guarded_check(&gl, what);
            }
        }
    }
    sk_guarded_free(&gy);
    sk_guarded_free(&gl);
    silkie_tensor_free(&tq);
    silkie_tensor_free(&tk);
    silkie_tensor_free(&tv);
    silkie_tensor_free(&ts);
    silkie_free(q);
    silkie_free(kk);
    silkie_free(v);
    silkie_free(fused);
    silkie_free(want);
    silkie_free(got);
    silkie_free(lse_want);
    silkie_free(lse_got);
}

/* Record once with a step tensor, replay with two step values (a decode that moved on): the
 * loop over keys must follow the device-side n_kv. Decode (Tq = 1) and a 2-query block. */
static void replay(silkie_vk_device *d, uint32_t Tq, uint64_t seed)
{
    const uint32_t H = 2, hd = 32, w = H * hd, cap = 80;
    const int32_t steps[2][2] = {{5, 5 + (int32_t)Tq}, {70, 70 + (int32_t)Tq}};
    char what[64];
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *q = silkie_malloc((size_t)Tq * w * 4), *kk = silkie_malloc((size_t)cap * w * 4);
    float *v = silkie_malloc((size_t)cap * w * 4), *want = silkie_malloc((size_t)Tq * w * 4);
    float *got = silkie_malloc((size_t)Tq * w * 4);
    sk_fill_uniform(&rng, q, (uint64_t)Tq * w, -2, 2);
    sk_fill_uniform(&rng, kk, (uint64_t)cap * w, -2, 2);
    sk_fill_uniform(&rng, v, (uint64_t)cap * w, -1, 1);
    round_f16(kk, (uint64_t)cap * w);
    round_f16(v, (uint64_t)cap * w);
    silkie_owned_tensor tq = {0}, tk = {0}, tv = {0}, ts = {0};
    sk_guarded gy = {0};
    const uint32_t ne_y[4] = {w, Tq, 1, 1}, ne_s[4] = {2, 1, 1, 1};
    const silkie_attention_params p = {.n_heads = H, .head_dim = hd,
                                       .scale = 1.0f / sqrtf((float)hd), .causal = 1};
    silkie_op_ctx c = {0};
    if (upload(d, SILKIE_DTYPE_F32, w, Tq, q, &tq) &&
        upload(d, SILKIE_DTYPE_F16, w, cap, kk, &tk) &&
        upload(d, SILKIE_DTYPE_F16, w, cap, v, &tv) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_s, steps[0], &ts) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy) && sk_op_begin(d, &c)) {
        SK_TEST_OK(silkie_op_attention(&c, &tq.t, &tk.t, &tv.t, &gy.o.t, &ts.t, NULL, &p));
        SK_TEST_OK(silkie_vk_cmd_end(c.cmd));
        for (int r = 0; r < 2; r++) {
            snprintf(what, sizeof what, "attention replay Tq %u step {%d, %d}", Tq, steps[r][0],
                     steps[r][1]);
            SK_TEST_OK(silkie_tensor_upload(&ts, steps[r], sizeof steps[r]));
            SK_TEST_OK(silkie_vk_cmd_submit_wait(c.cmd));
            SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, (uint64_t)Tq * w * 4));
            silkie_ref_attention(q, kk, v, want, NULL, Tq, (uint32_t)steps[r][1], H, hd,
                                 p.scale, 1, (uint32_t)steps[r][0]);
            sk_check_close(what, want, got, (uint64_t)Tq * w, 1e-7, 1e-4, seed);
        }
        sk_guarded_check(&gy, "attention replay");
    }
    silkie_vk_cmd_destroy(c.cmd);
    sk_guarded_free(&gy);
    silkie_tensor_free(&tq);
    silkie_tensor_free(&tk);
    silkie_tensor_free(&tv);
    silkie_tensor_free(&ts);
    silkie_free(q);
    silkie_free(kk);
    silkie_free(v);
    silkie_free(want);
    silkie_free(got);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 1100 + i);
    replay(d, 1, 1190);
    replay(d, 10, 1191);
    return sk_test_device_finish(d, "test_attention");
}
