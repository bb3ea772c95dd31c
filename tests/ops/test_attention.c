/* silkie_op_attention against the reference: causal self-attention behind a cache (q_pos0 > 0),
 * cross-attention (non-causal, Tq != n_kv), decode (Tq = 1, long n_kv), f16 KV caches larger
 * than n_kv, q/k/v as strided views of one fused QKV activation, head_dim above 128, the
 * log-sum-exp output, and the device-side step tensor replayed with two different values.
 * Packed [prefix | A | B] passes with the segment exclusion on every path, and their
 * equivalence with attention over [prefix | A] and [prefix | B] run separately. Every case runs
 * on the flash kernel (blocks of queries, K/V tiles in shared memory) and again on the tiled
 * shader, and must have taken the kernel it was meant to; a driver that cannot build the flash
 * or split-keys pipeline gets the tiled shader. */
#include "base/fault.h"
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct {
    uint32_t Tq, n_kv, kv_rows, n_heads, head_dim;
    int causal;
    uint32_t q_pos0;
    int f16, fused, lse, step;
    double nmse_max;
    uint32_t seg_begin, seg_end; /* segment exclusion; 0, 0: none */
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
    /* packed [prefix | A | B], segment = A                             seg_begin seg_end */
    {16, 16, 16, 2, 32, 1, 0, 0, 1, 1, 0, 1e-7, 5, 12},   /* 5 + 7 + 4, fused */
    {62, 62, 62, 2, 128, 1, 0, 0, 1, 1, 0, 1e-7, 40, 49}, /* 40 + 9 + 13, fused */
    {83, 83, 83, 2, 32, 1, 0, 0, 0, 1, 0, 1e-7, 3, 73},   /* A covers whole key tiles */
    {48, 48, 48, 2, 64, 1, 0, 1, 0, 1, 1, 1e-7, 0, 40},   /* no prefix, f16, step tensor */
    {30, 30, 30, 2, 48, 0, 0, 0, 0, 1, 0, 1e-7, 10, 20},  /* non-causal */
    {20, 45, 45, 2, 64, 1, 25, 0, 0, 1, 0, 1e-7, 10, 30}, /* chunk inside A behind a cache */
    {2, 22, 22, 2, 128, 1, 20, 0, 0, 1, 0, 1e-7, 8, 15},  /* decode queries in B */
    {5, 40, 40, 2, 64, 1, 35, 1, 0, 1, 1, 1e-7, 10, 30},  /* one-query tiled path, step */
    {3, 10, 10, 2, 200, 1, 7, 0, 0, 1, 0, 1e-7, 2, 6},    /* head_dim > 128 */
    /* blocks of queries: the flash kernel's partial tiles, vision head width, its fallbacks */
    {70, 150, 160, 3, 104, 0, 0, 1, 0, 1, 0, 1e-7},  /* vision width, partial last tile */
    {8, 8, 8, 2, 128, 1, 0, 0, 1, 1, 1, 1e-7},       /* smallest block, fused, step */
    {48, 100, 100, 2, 128, 1, 52, 1, 0, 1, 1, 1e-7}, /* block behind a cache, step */
    {24, 40, 40, 2, 30, 1, 16, 0, 0, 1, 0, 1e-7},    /* head_dim not a multiple of 4: tiled */
    {40, 40, 40, 2, 132, 0, 0, 0, 0, 1, 0, 1e-7},    /* head_dim above 128: tiled */
};

/* The kernel a case must take: flash for blocks of 8+ queries with a head width that is a
 * multiple of 4 up to 128 (on devices with 32 KiB of shared memory, as lavapipe has). */
static int flash_expected(silkie_vk_device *d, const op_case *k)
{
    return k->Tq >= 8 && k->head_dim % 4 == 0 && k->head_dim <= 128 &&
           silkie_vk_device_caps(d)->max_shared_memory >= 32768;
}

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

static void run_case(silkie_vk_device *d, const op_case *k, int flash, uint64_t seed)
{
    char what[160];
    snprintf(what, sizeof what,
             "attention%s Tq %u n_kv %u/%u H %u hd %u causal %d pos0 %u f16 %d fused %d step %d "
             "seg [%u, %u)",
             flash ? "" : " (tiled)", k->Tq, k->n_kv, k->kv_rows, k->n_heads, k->head_dim,
             k->causal, k->q_pos0, k->f16,
             k->fused, k->step, k->seg_begin, k->seg_end);
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
                         scale, k->causal, k->q_pos0, k->seg_begin, k->seg_end);

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
                                       .n_kv = k->step ? 1 : k->n_kv,
                                       .seg_begin = k->seg_begin, .seg_end = k->seg_end};
    silkie_op_ctx c;
    if (ok && sk_op_begin(d, &c)) {
        SK_TEST_OK(silkie_op_attention(&c, &qv, &kv, &vv, &gy.o.t, k->step ? &ts.t : NULL,
                                       k->lse ? &gl.o.t : NULL, &p));
        const char *kern = silkie_op_attention_last_kernel();
        SK_TEST_CHECK((strncmp(kern, "flash", 5) == 0) == (flash && flash_expected(d, k)),
                      "%s: kernel %s (flash %s)", what, kern, flash ? "on" : "off");
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
                                 p.scale, 1, (uint32_t)steps[r][0], 0, 0);
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

/* Copies rows [r0, r0 + n) of x ([*, w]) to dst. */
static float *take_rows(float *dst, const float *x, uint32_t w, uint32_t r0, uint32_t n)
{
    memcpy(dst, x + (size_t)r0 * w, (size_t)n * w * 4);
    return dst + (size_t)n * w;
}

/* The packed pass over [prefix S | A | B] (q/k/v strided views of one fused activation) must
 * give, row for row, what the op gives over [S | A] and over [S | B] run separately, y and lse.
 * Rows of S and A see the same keys in the same tiles (the later tiles they reach are fully
 * hidden and leave the running state unchanged); rows of B meet their keys at other tile
 * offsets, so only the f32 summation order differs: 1e-6 absolute on y (|y| <= 1) and 2e-6 on
 * lse (a few units) are ~10 ulp, far below the 1e-2 and more of a key seen or missed. */
static void packed_equiv(silkie_vk_device *d, uint32_t S, uint32_t A, uint32_t B, uint32_t H,
                         uint32_t hd, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "attention packed %u + %u + %u H %u hd %u", S, A, B, H, hd);
    const uint32_t w = H * hd, TA = S + A, TB = S + B, Tp = S + A + B;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *q = silkie_malloc((size_t)Tp * w * 4), *kk = silkie_malloc((size_t)Tp * w * 4);
    float *v = silkie_malloc((size_t)Tp * w * 4), *fused = silkie_malloc((size_t)Tp * w * 12);
    float *xa[3], *xb[3];
    for (int t = 0; t < 3; t++) {
        xa[t] = silkie_malloc((size_t)TA * w * 4);
        xb[t] = silkie_malloc((size_t)TB * w * 4);
    }
    float *yp = silkie_malloc((size_t)Tp * w * 4), *ya = silkie_malloc((size_t)TA * w * 4);
    float *yb = silkie_malloc((size_t)TB * w * 4), *lp = silkie_malloc((size_t)H * Tp * 4);
    float *la = silkie_malloc((size_t)H * TA * 4), *lb = silkie_malloc((size_t)H * TB * 4);
    float *want = silkie_malloc((size_t)Tp * w * 4), *wl = silkie_malloc((size_t)H * Tp * 4);
    sk_fill_uniform(&rng, q, (uint64_t)Tp * w, -2, 2);
    sk_fill_uniform(&rng, kk, (uint64_t)Tp * w, -2, 2);
    sk_fill_uniform(&rng, v, (uint64_t)Tp * w, -1, 1);
    /* The outputs start as uploads of these host arrays: give them defined contents. */
    memset(yp, 0, (size_t)Tp * w * 4);
    memset(ya, 0, (size_t)TA * w * 4);
    memset(yb, 0, (size_t)TB * w * 4);
    memset(lp, 0, (size_t)H * Tp * 4);
    memset(la, 0, (size_t)H * TA * 4);
    memset(lb, 0, (size_t)H * TB * 4);
    const float *src[3] = {q, kk, v};
    for (uint32_t r = 0; r < Tp; r++)
        for (int t = 0; t < 3; t++)
            memcpy(fused + ((size_t)r * 3 + t) * w, src[t] + (size_t)r * w, (size_t)w * 4);
    for (int t = 0; t < 3; t++) {
        take_rows(xa[t], src[t], w, 0, TA);
        take_rows(take_rows(xb[t], src[t], w, 0, S), src[t], w, S + A, B);
    }
    silkie_owned_tensor tp = {0}, ta[3], tb[3];
    memset(ta, 0, sizeof ta);
    memset(tb, 0, sizeof tb);
    silkie_owned_tensor oyp = {0}, oya = {0}, oyb = {0}, olp = {0}, ola = {0}, olb = {0};
    const uint32_t ne_p[4] = {w, Tp, 1, 1}, ne_a[4] = {w, TA, 1, 1}, ne_b[4] = {w, TB, 1, 1};
    const uint32_t nl_p[4] = {Tp, H, 1, 1}, nl_a[4] = {TA, H, 1, 1}, nl_b[4] = {TB, H, 1, 1};
    int ok = upload(d, SILKIE_DTYPE_F32, 3 * w, Tp, fused, &tp) &&
             sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_p, yp, &oyp) &&
             sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_a, ya, &oya) &&
             sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_b, yb, &oyb) &&
             sk_tensor_from_host(d, SILKIE_DTYPE_F32, nl_p, lp, &olp) &&
             sk_tensor_from_host(d, SILKIE_DTYPE_F32, nl_a, la, &ola) &&
             sk_tensor_from_host(d, SILKIE_DTYPE_F32, nl_b, lb, &olb);
    for (int t = 0; t < 3; t++)
        ok = ok && upload(d, SILKIE_DTYPE_F32, w, TA, xa[t], &ta[t]) &&
             upload(d, SILKIE_DTYPE_F32, w, TB, xb[t], &tb[t]);
    SK_TEST_CHECK(ok, "%s: setup failed", what);
    const float scale = 1.0f / sqrtf((float)hd);
    silkie_attention_params pp = {.n_heads = H, .head_dim = hd, .scale = scale, .causal = 1,
                                  .n_kv = Tp, .seg_begin = S, .seg_end = S + A};
    silkie_attention_params pa = pp, pb = pp;
    pa.n_kv = TA;
    pb.n_kv = TB;
    pa.seg_begin = pa.seg_end = pb.seg_begin = pb.seg_end = 0;
    silkie_op_ctx c;
    if (ok && sk_op_begin(d, &c)) {
        const silkie_tensor qv = silkie_tensor_cols(&tp.t, 0, w);
        const silkie_tensor kv = silkie_tensor_cols(&tp.t, w, w);
        const silkie_tensor vv = silkie_tensor_cols(&tp.t, 2 * w, w);
        SK_TEST_OK(silkie_op_attention(&c, &qv, &kv, &vv, &oyp.t, NULL, &olp.t, &pp));
        SK_TEST_OK(silkie_op_attention(&c, &ta[0].t, &ta[1].t, &ta[2].t, &oya.t, NULL, &ola.t,
                                       &pa));
        SK_TEST_OK(silkie_op_attention(&c, &tb[0].t, &tb[1].t, &tb[2].t, &oyb.t, NULL, &olb.t,
                                       &pb));
        if (sk_op_run(&c)) {
            SK_TEST_OK(silkie_tensor_download(&oyp.t, yp, (uint64_t)Tp * w * 4));
            SK_TEST_OK(silkie_tensor_download(&oya.t, ya, (uint64_t)TA * w * 4));
            SK_TEST_OK(silkie_tensor_download(&oyb.t, yb, (uint64_t)TB * w * 4));
            SK_TEST_OK(silkie_tensor_download(&olp.t, lp, (uint64_t)H * Tp * 4));
            SK_TEST_OK(silkie_tensor_download(&ola.t, la, (uint64_t)H * TA * 4));
            SK_TEST_OK(silkie_tensor_download(&olb.t, lb, (uint64_t)H * TB * 4));
            /* The unpacked results laid out as the packed rows should be. */
            take_rows(take_rows(want, ya, w, 0, TA), yb, w, S, B);
            for (uint32_t h = 0; h < H; h++) {
                memcpy(wl + (size_t)h * Tp, la + (size_t)h * TA, (size_t)TA * 4);
                memcpy(wl + (size_t)h * Tp + TA, lb + (size_t)h * TB + S, (size_t)B * 4);
            }
            char w2[128];
            snprintf(w2, sizeof w2, "%s: y", what);
            sk_check_close(w2, want, yp, (uint64_t)Tp * w, 1e-12, 1e-6, seed);
            snprintf(w2, sizeof w2, "%s: lse", what);
            sk_check_close(w2, wl, lp, (uint64_t)H * Tp, 1e-12, 2e-6, seed);
            /* The prefix rows of the [S | B] pass are the packed prefix rows too. */
            snprintf(w2, sizeof w2, "%s: prefix y of [S | B]", what);
            sk_check_close(w2, yb, yp, (uint64_t)S * w, 1e-12, 1e-6, seed);
            printf("%-48s max |packed - separate|: y S+A %.1e, y B %.1e, lse %.1e\n", what,
                   sk_max_abs_diff(want, yp, (uint64_t)TA * w),
                   sk_max_abs_diff(want + (size_t)TA * w, yp + (size_t)TA * w,
                                   (uint64_t)B * w),
                   sk_max_abs_diff(wl, lp, (uint64_t)H * Tp));
        }
    }
    silkie_tensor_free(&tp);
    silkie_tensor_free(&oyp);
    silkie_tensor_free(&oya);
    silkie_tensor_free(&oyb);
    silkie_tensor_free(&olp);
    silkie_tensor_free(&ola);
    silkie_tensor_free(&olb);
    for (int t = 0; t < 3; t++) {
        silkie_tensor_free(&ta[t]);
        silkie_tensor_free(&tb[t]);
        silkie_free(xa[t]);
        silkie_free(xb[t]);
    }
    silkie_free(q);
    silkie_free(kk);
    silkie_free(v);
    silkie_free(fused);
    silkie_free(yp);
    silkie_free(ya);
    silkie_free(yb);
    silkie_free(lp);
    silkie_free(la);
    silkie_free(lb);
    silkie_free(want);
    silkie_free(wl);
}

/* A driver that cannot build the flash or the split-keys pipeline (the injected pipeline
 * fault, on a fresh device so that the pipeline is not built yet): the op records the tiled
 * shader instead, with the right result, and keeps choosing it on that device. */
static void fallbacks(void)
{
    silkie_vk_device *d = sk_test_device();
    static const op_case blk = {70, 150, 160, 3, 104, 0, 0, 1, 0, 1, 0, 1e-7};
    static const op_case dec = {1, 300, 320, 2, 128, 1, 299, 1, 0, 1, 0, 1e-7};
    const op_case *block = &blk, *decode = &dec;
    for (int round = 0; round < 2; round++) {
        if (round == 0) sk_fault_arm(SK_FAULT_PIPELINE, 1);
        run_case(d, block, 0, 1300 + round); /* must take the tiled shader */
        SK_TEST_CHECK(round > 0 || sk_fault_fired(), "flash fallback: no pipeline was built");
        sk_fault_arm(SK_FAULT_NONE, 0);
        SK_TEST_CHECK(silkie_vk_shader_failed(d, block->f16 ? SILKIE_SHADER_ATTENTION_FLASH_F16
                                                           : SILKIE_SHADER_ATTENTION_FLASH_F32),
                      "flash fallback: shader not marked");
    }
    if (silkie_vk_device_caps(d)->subgroup_ops) {
        sk_fault_arm(SK_FAULT_PIPELINE, 1);
        run_case(d, decode, 0, 1302);
        SK_TEST_CHECK(sk_fault_fired(), "split fallback: no pipeline was built");
        sk_fault_arm(SK_FAULT_NONE, 0);
        const char *kern = silkie_op_attention_last_kernel();
        SK_TEST_CHECK(strncmp(kern, "tiled", 5) == 0, "split fallback: kernel %s", kern);
    }
    sk_test_device_finish(d, "test_attention fallbacks");
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    /* Every case with the flash kernel where it applies, then with the tiled shader it
     * replaces (still the fallback where it does not apply). */
    for (int flash = 1; flash >= 0; flash--) {
        silkie_op_attention_set_flash(flash);
        for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], flash, 1100 + i);
        replay(d, 1, 1190);
        replay(d, 10, 1191);
        packed_equiv(d, 5, 7, 4, 2, 32, 1192);
        packed_equiv(d, 40, 9, 13, 2, 128, 1193);
        packed_equiv(d, 3, 70, 21, 2, 64, 1194);
    }
    silkie_op_attention_set_flash(1);
    fallbacks();
    return sk_test_device_finish(d, "test_attention");
}
