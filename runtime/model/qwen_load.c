/* Uploads a Qwen-VL weight set to the device, converting each matrix to the requested storage
 * type on the way and precomputing the input-independent tables (upsampled position tables,
 * re-ordered ViT QKV, fused MLP up/gate). Host memory stays bounded by one conversion chunk. */
#include <math.h>
#include <stdio.h>

#define SK_LOG_MODULE "model"
#include "qwen.h"
#include "ref/ref.h"

#define CHUNK_BYTES (8u << 20)

#define SYNTH_BYTES (8u * CHUNK_BYTES)

typedef struct loader {
    silkie_qwen *q;
    const silkie_weights *w; /* NULL: synthetic weights (benchmarks) */
    void *chunk;             /* CHUNK_BYTES of conversion scratch */
    float *synth;            /* SYNTH_BYTES of N(0, 0.02) values standing in for every tensor */
    silkie_weight synth_w;
    /* The chunk holds the synthetic block converted to (dtype, row_len) for this many rows, so
     * the real model's 9.6 B parameters upload without converting each chunk again. */
    silkie_dtype chunk_dtype;
    uint64_t chunk_row_len, chunk_rows;
    uint64_t blocks_done, blocks_total; /* progress: LLM blocks, ViT blocks, head, resampler */
} loader;

static void block_done(loader *L)
{
    const silkie_qwen_load_params *p = &L->q->params;
    if (p->progress) p->progress("loading", ++L->blocks_done, L->blocks_total, p->progress_user);
}

static bool is_gguf(const loader *L)
{
    return L->w && silkie_weights_format_of(L->w) == SILKIE_WEIGHTS_GGUF;
}

/* Source bytes at byte_off of weight w; synthetic weights repeat one random block, which is
 * all a benchmark needs. */
static const void *src_at(const loader *L, const silkie_weight *w, uint64_t byte_off)
{
    return L->synth ? (const void *)L->synth : (const uint8_t *)w->data + byte_off;
}

/* Converts n_rows rows (row_len elements) of w starting at byte src_off and writes them at
 * row0 of t. */
static silkie_status write_rows(loader *L, silkie_owned_tensor *t, uint64_t row0,
                                const silkie_weight *w, uint64_t src_off, uint64_t n_rows,
                                uint64_t row_len)
{
    uint64_t src_rb = silkie_ref_row_bytes(w->dtype, row_len);
    uint64_t dst_rb = silkie_tensor_row_bytes(&t->t);
    uint64_t per_chunk = SK_MAX(1, CHUNK_BYTES / SK_MAX(dst_rb, 1));
    if (dst_rb > CHUNK_BYTES || (L->synth && src_rb > SYNTH_BYTES))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "load: row of %llu bytes exceeds the chunk",
                       (unsigned long long)dst_rb);
    if (L->synth) per_chunk = SK_MIN(per_chunk, SYNTH_BYTES / src_rb);
    for (uint64_t done = 0; done < n_rows;) {
        uint64_t off, left;
        silkie_vk_buffer *b = silkie_tensor_row_location(&t->t, row0 + done, &off, &left);
        uint64_t n = SK_MIN(SK_MIN(per_chunk, n_rows - done), left);
        const void *bytes = src_at(L, w, src_off + done * src_rb);
        if (w->dtype != t->t.dtype) {
            int cached = L->synth && L->chunk_dtype == t->t.dtype && L->chunk_row_len == row_len &&
                         L->chunk_rows >= n;
            if (!cached)
                SK_CHECK(silkie_convert_rows(w->dtype, bytes, t->t.dtype, L->chunk, n, row_len));
            if (L->synth && !cached) {
                L->chunk_dtype = t->t.dtype;
                L->chunk_row_len = row_len;
                L->chunk_rows = n;
            }
            bytes = L->chunk;
        }
        SK_CHECK(silkie_vk_buffer_write(b, off, bytes, n * dst_rb));
        if (!L->synth) silkie_weights_release_range(L->w, src_at(L, w, src_off + done * src_rb),
                                                    n * src_rb);
        done += n;
    }
    return SILKIE_OK;
}

static silkie_status alloc2d(loader *L, silkie_owned_tensor *t, silkie_dtype dt, uint64_t cols,
                             uint64_t rows)
{
    const uint32_t ne[4] = {(uint32_t)cols, (uint32_t)rows, 1, 1};
    SK_CHECK(silkie_tensor_alloc(L->q->dev, SILKIE_VK_POOL_WEIGHTS, dt, ne, t));
    L->q->weight_bytes += silkie_tensor_nbytes(&t->t);
    return SILKIE_OK;
}

/* Fetches `name` and checks it has `n` elements in total. */
static silkie_status get(loader *L, const char *name, uint64_t n, const silkie_weight **out)
{
    if (L->synth) {
        L->synth_w.name = name;
        *out = &L->synth_w;
        return SILKIE_OK;
    }
    char gname[128];
    const char *fname = silkie_qwen_weight_name(L->w, name, gname, sizeof gname);
    if (!fname) return SK_FAIL(SILKIE_ERR_BAD_MODEL, "load: no GGUF tensor for '%s'", name);
    SK_CHECK(silkie_weights_get(L->w, fname, out));
    uint64_t c = 1;
    for (uint32_t i = 0; i < (*out)->n_dims; i++) c *= (*out)->shape[i];
    if (c != n)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "load: tensor '%s' has %llu elements, want %llu",
                       name, (unsigned long long)c, (unsigned long long)n);
    return SILKIE_OK;
}

/* Block types need rows that are whole blocks; fall back to f16 otherwise. */
static silkie_dtype storage_for(silkie_dtype want, uint64_t cols)
{
    uint32_t be = silkie_dtype_block_elems(want);
    return (be > 1 && cols % be) ? SILKIE_DTYPE_F16 : want;
}

static silkie_status load_matrix(loader *L, silkie_owned_tensor *t, const char *name,
                                 uint64_t rows, uint64_t cols, silkie_dtype dt)
{
    const silkie_weight *w;
    SK_CHECK(get(L, name, rows * cols, &w));
    SK_CHECK(alloc2d(L, t, storage_for(dt, cols), cols, rows));
    return write_rows(L, t, 0, w, 0, rows, cols);
}

static silkie_status load_vector(loader *L, silkie_owned_tensor *t, const char *name, uint64_t n)
{
    return load_matrix(L, t, name, 1, n, SILKIE_DTYPE_F32);
}

/* Host f32 copy of a weight (small tables only). */
static silkie_status host_f32(loader *L, const char *name, uint64_t n, float **out)
{
    const silkie_weight *w;
    SK_CHECK(get(L, name, n, &w));
    *out = silkie_malloc(n * sizeof(float));
    if (!*out) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "load: %s", name);
    silkie_ref_dequant_row(w->dtype, src_at(L, w, 0), *out, n);
    return SILKIE_OK;
}

static silkie_status upload_f32(loader *L, silkie_owned_tensor *t, const float *data,
                                uint64_t cols, uint64_t rows)
{
    SK_CHECK(alloc2d(L, t, SILKIE_DTYPE_F32, cols, rows));
    return silkie_tensor_write_rows(&t->t, 0, rows, data);
}

/* A grid table [g*g, D] bicubically upsampled to the patch grid, kept in f32. */
static silkie_status load_upsampled(loader *L, silkie_owned_tensor *t, const char *name,
                                    uint32_t grid, uint32_t D, uint32_t out_grid, const char *pre)
{
    /* GGUF files may carry the table already upsampled (spec §10.2) under `pre`. */
    uint64_t rows = (uint64_t)out_grid * out_grid;
    const silkie_weight *p = is_gguf(L) ? silkie_weights_find(L->w, pre) : NULL;
    if (p && p->n_dims == 2 && p->shape[0] == rows && p->shape[1] == D)
        return load_matrix(L, t, pre, rows, D, SILKIE_DTYPE_F32);
    float *src = NULL, *dst = NULL;
    silkie_status st = host_f32(L, name, (uint64_t)grid * grid * D, &src);
    if (st == SILKIE_OK) {
        dst = silkie_malloc((uint64_t)out_grid * out_grid * D * sizeof(float));
        if (!dst) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "load: upsampled %s", name);
    }
    if (st == SILKIE_OK) {
        silkie_ref_interp_bicubic(src, grid, grid, D, dst, out_grid, out_grid);
        st = upload_f32(L, t, dst, D, (uint64_t)out_grid * out_grid);
    }
    silkie_free(src);
    silkie_free(dst);
    return st;
}

static silkie_status load_llm(loader *L)
{
    silkie_qwen *q = L->q;
    const silkie_model_config *c = &q->cfg;
    uint64_t H = c->hidden_size, F = c->mlp_width, V = c->vocab_size;
    silkie_dtype dt = q->params.llm_dtype;
    char n[160];
    SK_CHECK(load_matrix(L, &q->wte, "transformer.wte.weight", V, H, q->params.embed_dtype));
    SK_CHECK(load_vector(L, &q->ln_f, "transformer.ln_f.weight", H));
    SK_CHECK(load_matrix(L, &q->lm_head, "lm_head.weight", V, H, dt));
    block_done(L);
    for (uint32_t l = 0; l < q->n_layers; l++) {
        silkie_qwen_layer *y = &q->layers[l];
#define N(s) (snprintf(n, sizeof n, "transformer.h.%u." s, l), n)
        SK_CHECK(load_vector(L, &y->ln_1, N("ln_1.weight"), H));
        SK_CHECK(load_vector(L, &y->ln_2, N("ln_2.weight"), H));
        SK_CHECK(load_matrix(L, &y->c_attn_w, N("attn.c_attn.weight"), 3 * H, H, dt));
        SK_CHECK(load_vector(L, &y->c_attn_b, N("attn.c_attn.bias"), 3 * H));
        SK_CHECK(load_matrix(L, &y->c_proj, N("attn.c_proj.weight"), H, H, dt));
        SK_CHECK(load_matrix(L, &y->mlp_proj, N("mlp.c_proj.weight"), H, F, dt));
        /* One matmul gives both MLP branches: w1 rows then w2 rows. */
        const silkie_weight *w1, *w2;
        SK_CHECK(get(L, N("mlp.w1.weight"), F * H, &w1));
        SK_CHECK(get(L, N("mlp.w2.weight"), F * H, &w2));
        SK_CHECK(alloc2d(L, &y->w12, storage_for(dt, H), H, 2 * F));
        SK_CHECK(write_rows(L, &y->w12, 0, w1, 0, F, H));
        SK_CHECK(write_rows(L, &y->w12, F, w2, 0, F, H));
#undef N
        block_done(L);
    }
    return SILKIE_OK;
}

/* GGUF files hold q, k, v apart (spec §10.2); stacked as [q|k|v] rows they are what the fused
 * attention matmul reads. fmt takes the block number, 'q'/'k'/'v' and "weight"/"bias". */
static silkie_status load_split_qkv(loader *L, silkie_owned_tensor *wt, silkie_owned_tensor *bt,
                                    const char *fmt, uint32_t blk)
{
    uint64_t W = L->q->cfg.visual.width;
    char n[128];
    SK_CHECK(alloc2d(L, wt, storage_for(L->q->params.vision_dtype, W), W, 3 * W));
    float *bias = silkie_malloc(3 * W * sizeof(float));
    if (!bias) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "load: qkv bias");
    silkie_status st = SILKIE_OK;
    for (uint32_t k = 0; k < 3 && st == SILKIE_OK; k++) {
        const silkie_weight *w, *b;
        snprintf(n, sizeof n, fmt, blk, "qkv"[k], "weight");
        st = get(L, n, W * W, &w);
        if (st == SILKIE_OK) st = write_rows(L, wt, k * W, w, 0, W, W);
        snprintf(n, sizeof n, fmt, blk, "qkv"[k], "bias");
        if (st == SILKIE_OK) st = get(L, n, W, &b);
        if (st == SILKIE_OK) silkie_ref_dequant_row(b->dtype, b->data, bias + k * W, W);
    }
    if (st == SILKIE_OK) st = upload_f32(L, bt, bias, 3 * W, 1);
    silkie_free(bias);
    return st;
}

/* ViT in_proj rows are [head][q|k|v][hd]; the attention op wants [q|k|v][head][hd]. */
static silkie_status load_vit_qkv(loader *L, silkie_vit_block *b, uint32_t blk)
{
    const silkie_vision_config *v = &L->q->cfg.visual;
    uint64_t W = v->width, hd = v->head_dim;
    char n[160];
    const silkie_weight *w, *bias;
    if (is_gguf(L)) return load_split_qkv(L, &b->qkv_w, &b->qkv_b, "v.blk.%u.attn_%c.%s", blk);
    snprintf(n, sizeof n, "transformer.visual.transformer.resblocks.%u.attn.in_proj.weight", blk);
    SK_CHECK(get(L, n, 3 * W * W, &w));
    snprintf(n, sizeof n, "transformer.visual.transformer.resblocks.%u.attn.in_proj.bias", blk);
    SK_CHECK(get(L, n, 3 * W, &bias));
    SK_CHECK(alloc2d(L, &b->qkv_w, storage_for(L->q->params.vision_dtype, W), W, 3 * W));
    float *bf = silkie_malloc(3 * W * sizeof(float)), *bo = silkie_malloc(3 * W * sizeof(float));
    silkie_status st = (bf && bo) ? SILKIE_OK
                                  : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "load: vit qkv bias");
    if (st == SILKIE_OK) silkie_ref_dequant_row(bias->dtype, src_at(L, bias, 0), bf, 3 * W);
    uint64_t src_rb = silkie_ref_row_bytes(w->dtype, W);
    for (uint64_t h = 0; h < v->heads && st == SILKIE_OK; h++)
        for (uint64_t part = 0; part < 3 && st == SILKIE_OK; part++) {
            uint64_t src_row = h * 3 * hd + part * hd, dst_row = part * W + h * hd;
            st = write_rows(L, &b->qkv_w, dst_row, w, src_row * src_rb, hd, W);
            memcpy(bo + dst_row, bf + src_row, hd * sizeof(float));
        }
    if (st == SILKIE_OK) st = upload_f32(L, &b->qkv_b, bo, 3 * W, 1);
    silkie_free(bf);
    silkie_free(bo);
    return st;
}

/* The end of load_vision for GGUF files: q, k, v come apart already, and proj is stored
 * [out, in] (spec §10.2), transposed back here to the [in, out] layout the graph reads. */
static silkie_status load_resampler_gguf(loader *L)
{
    silkie_qwen *q = L->q;
    uint64_t D = q->cfg.visual.output_dim;
    silkie_dtype dt = q->params.vision_dtype;
    char n[64];
    for (uint32_t i = 0; i < 3; i++) {
        snprintf(n, sizeof n, "resampler.attn.%c.weight", "qkv"[i]);
        SK_CHECK(load_matrix(L, &q->pool_w[i], n, D, D, dt));
        snprintf(n, sizeof n, "resampler.attn.%c.bias", "qkv"[i]);
        SK_CHECK(load_vector(L, &q->pool_b[i], n, D));
    }
    SK_CHECK(load_matrix(L, &q->pool_out_w, "resampler.attn.out.weight", D, D, dt));
    SK_CHECK(load_vector(L, &q->pool_out_b, "resampler.attn.out.bias", D));
    const silkie_weight *pw;
    SK_CHECK(get(L, "resampler.proj.weight", D * D, &pw));
    float *a = silkie_malloc(D * D * sizeof(float)), *t = silkie_malloc(D * D * sizeof(float));
    silkie_status st = a && t ? SILKIE_OK : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "load: proj");
    if (st == SILKIE_OK) st = silkie_convert_rows(pw->dtype, pw->data, SILKIE_DTYPE_F32, a, D, D);
    for (uint64_t r = 0; st == SILKIE_OK && r < D; r++)
        for (uint64_t c = 0; c < D; c++) t[c * D + r] = a[r * D + c];
    silkie_weight tw = {.name = "resampler.proj.weight", .dtype = SILKIE_DTYPE_F32, .data = t};
    silkie_dtype pdt = silkie_dtype_block_elems(dt) > 1 ? SILKIE_DTYPE_F16 : dt;
    if (st == SILKIE_OK) st = alloc2d(L, &q->proj, pdt, D, D);
    if (st == SILKIE_OK) st = write_rows(L, &q->proj, 0, &tw, 0, D, D);
    silkie_free(a);
    silkie_free(t);
    return st;
}

static silkie_status load_vision(loader *L)
{
    silkie_qwen *q = L->q;
    const silkie_vision_config *v = &q->cfg.visual;
    uint64_t W = v->width, D = v->output_dim, M = v->mlp_width, P = v->patch_size;
    uint64_t Nq = v->n_queries;
    silkie_dtype dt = q->params.vision_dtype;
    char n[200];
    uint32_t pos_grid = (uint32_t)lrint(sqrt((double)v->pos_rows));
#define VN(s) "transformer.visual." s
    SK_CHECK(load_matrix(L, &q->conv_w, VN("conv1.weight"), W, 3 * P * P, dt));
    SK_CHECK(load_upsampled(L, &q->pos_embed, VN("positional_embedding"), pos_grid, (uint32_t)W,
                            v->patch_grid, "v.position_embd.weight"));
    SK_CHECK(load_vector(L, &q->ln_pre_w, VN("ln_pre.weight"), W));
    SK_CHECK(load_vector(L, &q->ln_pre_b, VN("ln_pre.bias"), W));
    for (uint32_t b = 0; b < v->layers; b++) {
        silkie_vit_block *k = &q->blocks[b];
#define BN(s) (snprintf(n, sizeof n, VN("transformer.resblocks.%u.") s, b), n)
        SK_CHECK(load_vector(L, &k->ln_1_w, BN("ln_1.weight"), W));
        SK_CHECK(load_vector(L, &k->ln_1_b, BN("ln_1.bias"), W));
        SK_CHECK(load_vector(L, &k->ln_2_w, BN("ln_2.weight"), W));
        SK_CHECK(load_vector(L, &k->ln_2_b, BN("ln_2.bias"), W));
        SK_CHECK(load_vit_qkv(L, k, b));
        SK_CHECK(load_matrix(L, &k->out_w, BN("attn.out_proj.weight"), W, W, dt));
        SK_CHECK(load_vector(L, &k->out_b, BN("attn.out_proj.bias"), W));
        SK_CHECK(load_matrix(L, &k->fc_w, BN("mlp.c_fc.weight"), M, W, dt));
        SK_CHECK(load_vector(L, &k->fc_b, BN("mlp.c_fc.bias"), M));
        SK_CHECK(load_matrix(L, &k->proj_w, BN("mlp.c_proj.weight"), W, M, dt));
        SK_CHECK(load_vector(L, &k->proj_b, BN("mlp.c_proj.bias"), W));
#undef BN
        block_done(L);
    }
    /* The reference resampler uses an identity instead of kv_proj when the widths agree. */
    q->has_kv_proj = L->synth || W != D || silkie_weights_find(L->w, VN("attn_pool.kv_proj.weight"));
    if (q->has_kv_proj)
        SK_CHECK(load_matrix(L, &q->kv_proj, VN("attn_pool.kv_proj.weight"), D, W, dt));
    SK_CHECK(load_vector(L, &q->ln_kv_w, VN("attn_pool.ln_kv.weight"), D));
    SK_CHECK(load_vector(L, &q->ln_kv_b, VN("attn_pool.ln_kv.bias"), D));
    SK_CHECK(load_vector(L, &q->ln_q_w, VN("attn_pool.ln_q.weight"), D));
    SK_CHECK(load_vector(L, &q->ln_q_b, VN("attn_pool.ln_q.bias"), D));
    SK_CHECK(load_vector(L, &q->ln_post_w, VN("ln_post.weight"), D));
    SK_CHECK(load_vector(L, &q->ln_post_b, VN("ln_post.bias"), D));
    SK_CHECK(load_matrix(L, &q->query, VN("attn_pool.query"), Nq, D, SILKIE_DTYPE_F32));
    SK_CHECK(load_matrix(L, &q->pos_q, VN("attn_pool.pos_embed"), Nq, D, SILKIE_DTYPE_F32));
    SK_CHECK(load_upsampled(L, &q->pos_k, VN("attn_pool.pos_embed"), v->query_grid, (uint32_t)D,
                            v->patch_grid, "resampler.pos_embed_k"));
    /* in_proj rows are [Wq; Wk; Wv]: three tensors, so none needs a split view. */
    const silkie_weight *iw, *ib;
    if (is_gguf(L)) return load_resampler_gguf(L);
    SK_CHECK(get(L, VN("attn_pool.attn.in_proj_weight"), 3 * D * D, &iw));
    SK_CHECK(get(L, VN("attn_pool.attn.in_proj_bias"), 3 * D, &ib));
    for (uint64_t i = 0; i < 3; i++) {
        SK_CHECK(alloc2d(L, &q->pool_w[i], storage_for(dt, D), D, D));
        SK_CHECK(write_rows(L, &q->pool_w[i], 0, iw, i * D * silkie_ref_row_bytes(iw->dtype, D),
                            D, D));
        SK_CHECK(alloc2d(L, &q->pool_b[i], SILKIE_DTYPE_F32, D, 1));
        SK_CHECK(write_rows(L, &q->pool_b[i], 0, ib, i * silkie_ref_row_bytes(ib->dtype, D), 1,
                            D));
    }
    SK_CHECK(load_matrix(L, &q->pool_out_w, VN("attn_pool.attn.out_proj.weight"), D, D, dt));
    SK_CHECK(load_vector(L, &q->pool_out_b, VN("attn_pool.attn.out_proj.bias"), D));
    /* proj is applied as x @ proj: keep the [in, out] layout, read with w_kn. Block types
     * cannot serve that layout. */
    silkie_dtype pdt = silkie_dtype_block_elems(dt) > 1 ? SILKIE_DTYPE_F16 : dt;
    SK_CHECK(load_matrix(L, &q->proj, VN("proj"), D, D, pdt));
#undef VN
    return SILKIE_OK;
}

silkie_status silkie_qwen_create(silkie_vk_device *dev, const silkie_model_config *cfg,
                                 const silkie_weights *w, const silkie_qwen_load_params *p,
                                 silkie_qwen **out)
{
    if (!dev || !cfg || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "qwen_create: dev, cfg, out required");
    *out = NULL;
    if (w) SK_CHECK(silkie_weights_check_qwen_vl(w, cfg));
    silkie_qwen *q = SK_NEW(silkie_qwen);
    if (!q) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "qwen_create");
    q->dev = dev;
    q->cfg = *cfg;
    if (p) q->params = *p;
    q->n_layers = cfg->n_layers;
    if (q->params.max_layers && q->params.max_layers < q->n_layers)
        q->n_layers = q->params.max_layers;
    q->has_vision = !q->params.skip_vision;
    loader L = {.q = q, .w = w, .chunk = silkie_malloc(CHUNK_BYTES)};
    L.blocks_total = 1 + q->n_layers + (q->has_vision ? cfg->visual.layers + 1 : 0);
    q->layers = SK_NEW_ARRAY(silkie_qwen_layer, q->n_layers);
    q->blocks = SK_NEW_ARRAY(silkie_vit_block, SK_MAX(cfg->visual.layers, 1));
    if (!w) {
        /* Synthetic weights: N(0, 0.02) f32 values (sum of uniforms, cheap and bounded). */
        L.synth = silkie_malloc(SYNTH_BYTES);
        uint64_t r = 0x5eed;
        for (uint64_t i = 0; L.synth && i < SYNTH_BYTES / 4; i++) {
            float acc = 0;
            for (int k = 0; k < 4; k++) {
                r = r * 6364136223846793005ull + 1442695040888963407ull;
                acc += (float)(r >> 40) / 16777216.0f - 0.5f;
            }
            L.synth[i] = 0.035f * acc;
        }
        L.synth_w.dtype = SILKIE_DTYPE_F32;
    }
    silkie_status st = (L.chunk && q->layers && q->blocks && (w || L.synth))
                           ? SILKIE_OK
                           : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "qwen_create: tables");
    if (st == SILKIE_OK) st = load_llm(&L);
    if (st == SILKIE_OK && q->has_vision) st = load_vision(&L);
    if (st == SILKIE_OK && q->has_vision) block_done(&L); /* the resampler */
    silkie_free(L.chunk);
    silkie_free(L.synth);
    if (st != SILKIE_OK) {
        silkie_qwen_destroy(q);
        return st;
    }
    SK_LOGI("weights on device: %.1f MiB (llm %s, vision %s)", q->weight_bytes / 1048576.0,
            silkie_dtype_name(q->params.llm_dtype), silkie_dtype_name(q->params.vision_dtype));
    /* The kernel choices that follow from the device's features, once per model. */
    char mm[192];
    silkie_op_matmul_kernels(dev, mm, sizeof mm);
    SK_LOGI("kernels: %s; %s", mm, silkie_op_attention_kernels(dev, cfg->head_dim));
    *out = q;
    return SILKIE_OK;
}

void silkie_qwen_destroy(silkie_qwen *q)
{
    if (!q) return;
    silkie_owned_tensor *top[] = {&q->wte, &q->ln_f, &q->lm_head, &q->conv_w, &q->pos_embed,
                                  &q->ln_pre_w, &q->ln_pre_b, &q->kv_proj, &q->ln_kv_w,
                                  &q->ln_kv_b, &q->ln_q_w, &q->ln_q_b, &q->ln_post_w,
                                  &q->ln_post_b, &q->query, &q->pos_q, &q->pos_k, &q->pool_w[0],
                                  &q->pool_w[1], &q->pool_w[2], &q->pool_b[0], &q->pool_b[1],
                                  &q->pool_b[2], &q->pool_out_w, &q->pool_out_b, &q->proj};
    for (size_t i = 0; i < SK_ARRAY_LEN(top); i++) silkie_tensor_free(top[i]);
    for (uint32_t l = 0; q->layers && l < q->n_layers; l++) {
        silkie_qwen_layer *y = &q->layers[l];
        silkie_owned_tensor *t[] = {&y->ln_1, &y->c_attn_w, &y->c_attn_b, &y->c_proj,
                                    &y->ln_2, &y->w12, &y->mlp_proj};
        for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) silkie_tensor_free(t[i]);
    }
    for (uint32_t b = 0; q->blocks && b < q->cfg.visual.layers; b++) {
        silkie_vit_block *k = &q->blocks[b];
        silkie_owned_tensor *t[] = {&k->ln_1_w, &k->ln_1_b, &k->ln_2_w, &k->ln_2_b, &k->qkv_w,
                                    &k->qkv_b, &k->out_w, &k->out_b, &k->fc_w, &k->fc_b,
                                    &k->proj_w, &k->proj_b};
        for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) silkie_tensor_free(t[i]);
    }
    silkie_free(q->layers);
    silkie_free(q->blocks);
    silkie_free(q);
}

float silkie_qwen_ntk_base(const silkie_model_config *cfg, uint32_t prefill_len)
{
    if (!cfg->use_dynamic_ntk || prefill_len <= cfg->seq_length) return cfg->rotary_base;
    double ctx = log2((double)prefill_len / cfg->seq_length) + 1.0;
    double alpha = pow(2.0, ceil(ctx)) - 1.0;
    if (alpha < 1) alpha = 1;
    double dims = cfg->rotary_dims ? cfg->rotary_dims : cfg->head_dim;
    return (float)(cfg->rotary_base * pow(alpha, dims / (dims - 2)));
}
