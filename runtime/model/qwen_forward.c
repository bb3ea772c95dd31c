/* Qwen-VL forward passes recorded as op sequences (spec §4 vision + resampler, §5 LLM).
 * Residual adds are fused into the output matmuls (accumulate), and q/k/v are read in place
 * from the fused projections, so a decode step is ~10 dispatches per layer. */
#include <math.h>

#define SK_LOG_MODULE "model"
#include "qwen.h"
#include "ops/ops_train.h"

static silkie_tensor rows(const silkie_owned_tensor *o, uint32_t row0, uint32_t n)
{
    return silkie_tensor_rows_view(&o->t, row0, n);
}

/* Copies a contiguous tensor's bytes into `dst` (a tap or an injected feature block). */
static silkie_status copy_into(silkie_op_ctx *c, const silkie_tensor *src, silkie_tensor *dst,
                               uint64_t dst_byte_off)
{
    return silkie_vk_cmd_copy(c->cmd, src->buf, src->offset, dst->buf, dst->offset + dst_byte_off,
                              silkie_tensor_nbytes(src));
}

static silkie_status tap(silkie_op_ctx *c, const silkie_tensor *src, silkie_tensor *dst)
{
    if (!dst) return SILKIE_OK;
    if (silkie_tensor_nbytes(dst) < silkie_tensor_nbytes(src))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tap: destination too small");
    return copy_into(c, src, dst, 0);
}

static const silkie_qwen_taps no_taps;

silkie_status silkie_qwen_record_vision(silkie_op_ctx *c, const silkie_qwen *q,
                                        silkie_qwen_ws *ws, silkie_tensor *features,
                                        const silkie_qwen_taps *taps)
{
    if (!q->has_vision) return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "vision: model loaded text-only");
    if (!taps) taps = &no_taps;
    const silkie_vision_config *v = &q->cfg.visual;
    const uint32_t W = v->width, D = v->output_dim, Np = v->patch_grid * v->patch_grid;
    const float eps = 1e-6f;
    silkie_matmul_opts acc = {.accumulate = 1};
    /* Normalized pixels and the outputs of layer norms fit f16; the other inputs (attention
     * and GELU outputs, the residual stream) are not bounded, and stay f32. */
    const silkie_matmul_opts f16_ok = {.f16_ok = 1};

    SK_CHECK(silkie_op_patchify(c, &ws->pixels.t, &ws->vpatch.t, v->patch_size));
    silkie_tensor X = ws->vx.t, Hn = ws->vh.t;
    SK_CHECK(silkie_op_matmul(c, &ws->vpatch.t, &q->conv_w.t, NULL, &X, &f16_ok));
    SK_CHECK(tap(c, &X, taps->patch_embeds));
    SK_CHECK(tap(c, &q->pos_embed.t, taps->pos_embed));
    SK_CHECK(silkie_op_add(c, &X, &q->pos_embed.t, &X));
    SK_CHECK(silkie_op_layer_norm(c, &X, &q->ln_pre_w.t, &q->ln_pre_b.t, &Hn, eps));
    silkie_tensor t = X; /* ln_pre's output is the residual stream from here on */
    X = Hn;
    Hn = t;
    SK_CHECK(tap(c, &X, taps->ln_pre));

    const silkie_attention_params ap = {.n_heads = v->heads,
                                        .head_dim = v->head_dim,
                                        .scale = 1.0f / sqrtf((float)v->head_dim),
                                        .n_kv = Np};
    silkie_tensor Q = silkie_tensor_cols(&ws->vqkv.t, 0, W);
    silkie_tensor K = silkie_tensor_cols(&ws->vqkv.t, W, W);
    silkie_tensor V = silkie_tensor_cols(&ws->vqkv.t, 2 * W, W);
    for (uint32_t b = 0; b < v->layers; b++) {
        const silkie_vit_block *k = &q->blocks[b];
        SK_CHECK(silkie_op_layer_norm(c, &X, &k->ln_1_w.t, &k->ln_1_b.t, &Hn, eps));
        SK_CHECK(silkie_op_matmul(c, &Hn, &k->qkv_w.t, &k->qkv_b.t, &ws->vqkv.t, &f16_ok));
        SK_CHECK(silkie_op_attention(c, &Q, &K, &V, &ws->vattn.t, NULL, NULL, &ap));
        SK_CHECK(silkie_op_matmul(c, &ws->vattn.t, &k->out_w.t, &k->out_b.t, &X, &acc));
        SK_CHECK(silkie_op_layer_norm(c, &X, &k->ln_2_w.t, &k->ln_2_b.t, &Hn, eps));
        SK_CHECK(silkie_op_matmul(c, &Hn, &k->fc_w.t, &k->fc_b.t, &ws->vmlp.t, &f16_ok));
        SK_CHECK(silkie_op_gelu(c, &ws->vmlp.t, &ws->vmlp.t));
        SK_CHECK(silkie_op_matmul(c, &ws->vmlp.t, &k->proj_w.t, &k->proj_b.t, &X, &acc));
        if (b == 0) SK_CHECK(tap(c, &X, taps->block0));
    }
    SK_CHECK(tap(c, &X, taps->blocks_out));

    /* Resampler: learned queries cross-attend to the projected patches (spec §4.6). */
    const silkie_tensor *kv_in = &X;
    if (q->has_kv_proj) {
        SK_CHECK(silkie_op_matmul(c, &X, &q->kv_proj.t, NULL, &ws->rkv.t, NULL));
        kv_in = &ws->rkv.t;
    }
    SK_CHECK(silkie_op_layer_norm(c, kv_in, &q->ln_kv_w.t, &q->ln_kv_b.t, &ws->rv.t, eps));
    SK_CHECK(silkie_op_add(c, &ws->rv.t, &q->pos_k.t, &ws->rkv.t));
    SK_CHECK(tap(c, &q->pos_k.t, taps->resampler_kpos));
    SK_CHECK(silkie_op_layer_norm(c, &q->query.t, &q->ln_q_w.t, &q->ln_q_b.t, &ws->rq_in.t, eps));
    SK_CHECK(silkie_op_add(c, &ws->rq_in.t, &q->pos_q.t, &ws->rq_in.t));
    /* Layer-norm outputs plus the (bounded) sin-cos position tables. */
    SK_CHECK(silkie_op_matmul(c, &ws->rq_in.t, &q->pool_w[0].t, &q->pool_b[0].t, &ws->rq.t,
                              &f16_ok));
    SK_CHECK(silkie_op_matmul(c, &ws->rkv.t, &q->pool_w[1].t, &q->pool_b[1].t, &ws->rk.t,
                              &f16_ok));
    SK_CHECK(silkie_op_matmul(c, &ws->rv.t, &q->pool_w[2].t, &q->pool_b[2].t, &ws->rkk.t,
                              &f16_ok));
    const silkie_attention_params rp = {.n_heads = v->pool_heads,
                                        .head_dim = D / v->pool_heads,
                                        .scale = 1.0f / sqrtf((float)(D / v->pool_heads)),
                                        .n_kv = Np};
    SK_CHECK(silkie_op_attention(c, &ws->rq.t, &ws->rk.t, &ws->rkk.t, &ws->rattn.t, NULL, NULL,
                                 &rp));
    SK_CHECK(silkie_op_matmul(c, &ws->rattn.t, &q->pool_out_w.t, &q->pool_out_b.t, &ws->rout.t,
                              NULL));
    SK_CHECK(tap(c, &ws->rout.t, taps->resampler_out));
    SK_CHECK(silkie_op_layer_norm(c, &ws->rout.t, &q->ln_post_w.t, &q->ln_post_b.t, &ws->rattn.t,
                                  eps));
    const silkie_matmul_opts kn = {.w_kn = 1};
    return silkie_op_matmul(c, &ws->rattn.t, &q->proj.t, NULL, features, &kn);
}

silkie_status silkie_qwen_record_embed(silkie_op_ctx *c, const silkie_qwen *q,
                                       const silkie_tensor *ids, const silkie_qwen_inject *inject,
                                       uint32_t n_inject, silkie_tensor *X)
{
    const uint32_t T = X->ne[1];
    SK_CHECK(silkie_op_get_rows(c, &q->wte.t, ids, X));
    for (uint32_t i = 0; i < n_inject; i++) {
        const silkie_qwen_inject *in = &inject[i];
        if (in->row + in->features->ne[1] > T)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "llm: image rows %u.. beyond %u tokens",
                           in->row, T);
        SK_CHECK(copy_into(c, in->features, X, (uint64_t)in->row * X->ne[0] * sizeof(float)));
    }
    return SILKIE_OK;
}

const silkie_tensor *silkie_qwen_block_lora_input(const silkie_qwen_block_io *io,
                                                  silkie_lora_target t)
{
    switch (t) {
    case SILKIE_LORA_C_ATTN: return &io->Hn1;
    case SILKIE_LORA_ATTN_C_PROJ: return &io->ATT;
    case SILKIE_LORA_MLP_C_PROJ: return &io->ACT;
    default: return &io->Hn2;
    }
}

/* y += s * (dropout(x) A^T) B^T for target t, when it is adapted. */
static silkie_status lora_forward(silkie_op_ctx *c, silkie_qwen_block_io *io, uint32_t l,
                                  silkie_lora_target t, silkie_tensor *y)
{
    const silkie_lora_module *m = silkie_qwen_lora_at(io->lora, l, t);
    if (!m || !m->r) return SILKIE_OK;
    const silkie_tensor *x = silkie_qwen_block_lora_input(io, t);
    const uint32_t T = x->ne[1];
    silkie_tensor drop;
    if (io->lora->dropout > 0.0f) {
        drop = silkie_tensor_2d(io->drop.buf, io->drop.offset, SILKIE_DTYPE_F32, x->ne[0], T);
        SK_CHECK(silkie_op_dropout(c, x, &drop, io->lora->dropout, io->dropout_seed,
                                   silkie_qwen_lora_stream(io, l, t)));
        x = &drop;
    }
    silkie_tensor U = silkie_tensor_2d(io->U[t].buf, io->U[t].offset, SILKIE_DTYPE_F32, m->r, T);
    SK_CHECK(silkie_op_matmul(c, x, &m->a.t, NULL, &U, NULL));
    const silkie_matmul_opts acc = {.accumulate = 1, .alpha = m->scale};
    return silkie_op_matmul(c, &U, &m->b.t, NULL, y, &acc);
}

silkie_attention_params silkie_qwen_block_attention(const silkie_qwen *q,
                                                    const silkie_qwen_block_io *io)
{
    const silkie_model_config *cfg = &q->cfg;
    return (silkie_attention_params){.n_heads = cfg->n_heads,
                                     .head_dim = cfg->head_dim,
                                     .scale = 1.0f / sqrtf((float)cfg->head_dim),
                                     .causal = 1,
                                     .n_kv = io->X.ne[1],
                                     .seg_begin = io->seg_begin,
                                     .seg_end = io->seg_end};
}

static int adapted(const silkie_qwen_block_io *io, uint32_t l, silkie_lora_target t)
{
    const silkie_lora_module *m = silkie_qwen_lora_at(io->lora, l, t);
    return m && m->r;
}

/* y = norm(x) W^T (+ b): one dispatch where the matmul folds the norm (decode), else the norm
 * into hn first. hn is always written when `keep` (a LoRA target or the backward reads it).
 * f16_ok: the product may round the normed rows to f16 (inference only). */
static silkie_status norm_matmul(silkie_op_ctx *c, const silkie_tensor *x, const silkie_tensor *g,
                                 float eps, silkie_tensor *hn, int keep, int f16_ok,
                                 const silkie_tensor *w, const silkie_tensor *b, silkie_tensor *y)
{
    silkie_matmul_opts o = {.f16_ok = (uint32_t)f16_ok};
    if (keep) {
        SK_CHECK(silkie_op_rms_norm(c, x, g, hn, eps));
        return silkie_op_matmul(c, hn, w, b, y, &o);
    }
    o.norm_w = g;
    o.norm_eps = eps;
    o.norm_out = hn;
    return silkie_op_matmul(c, x, w, b, y, &o);
}

silkie_status silkie_qwen_record_block(silkie_op_ctx *c, const silkie_qwen *q, uint32_t l,
                                       silkie_qwen_block_io *io)
{
    const silkie_model_config *cfg = &q->cfg;
    const silkie_qwen_layer *y = &q->layers[l];
    const uint32_t H = cfg->hidden_size, F = cfg->mlp_width;
    const silkie_matmul_opts acc = {.accumulate = 1};
    const silkie_rope_params rq = {.head_dim = cfg->head_dim,
                                   .freq_base = io->freq_base,
                                   .logn_base = io->logn_base};
    const silkie_attention_params ap = silkie_qwen_block_attention(q, io);
    silkie_tensor Q = silkie_tensor_cols(&io->QKV, 0, H), K = silkie_tensor_cols(&io->QKV, H, H);
    silkie_tensor V = silkie_tensor_cols(&io->QKV, 2 * H, H);
    silkie_tensor UP = silkie_tensor_cols(&io->MLP, 0, F), GATE = silkie_tensor_cols(&io->MLP, F, F);

    const int keep1 = !io->inference || adapted(io, l, SILKIE_LORA_C_ATTN);
    const int keep2 = !io->inference || adapted(io, l, SILKIE_LORA_W1) ||
                      adapted(io, l, SILKIE_LORA_W2);

    SK_CHECK(norm_matmul(c, &io->X, &y->ln_1.t, cfg->eps, &io->Hn1, keep1, io->inference != 0,
                         &y->c_attn_w.t, &y->c_attn_b.t, &io->QKV));
    SK_CHECK(lora_forward(c, io, l, SILKIE_LORA_C_ATTN, &io->QKV));
    /* Rope of q and k in place and, with a cache, the append of k and v: one dispatch. */
    SK_CHECK(silkie_op_rope_qkv(c, &io->QKV, io->pos, io->kv ? &io->kv->k[l].t : NULL,
                                io->kv ? &io->kv->v[l].t : NULL, io->kv ? io->step : NULL, &rq));
    if (io->kv) {
        SK_CHECK(silkie_op_attention(c, &Q, &io->kv->k[l].t, &io->kv->v[l].t, &io->ATT, io->step,
                                     NULL, &ap));
    } else {
        SK_CHECK(silkie_op_attention(c, &Q, &K, &V, &io->ATT, NULL, io->lse, &ap));
    }
    SK_CHECK(silkie_op_matmul(c, &io->ATT, &y->c_proj.t, NULL, &io->X, &acc));
    SK_CHECK(lora_forward(c, io, l, SILKIE_LORA_ATTN_C_PROJ, &io->X));
    if (io->x_mid) SK_CHECK(copy_into(c, &io->X, io->x_mid, 0));
    SK_CHECK(norm_matmul(c, &io->X, &y->ln_2.t, cfg->eps, &io->Hn2, keep2, io->inference != 0,
                         &y->w12.t, NULL, &io->MLP));
    SK_CHECK(lora_forward(c, io, l, SILKIE_LORA_W1, &UP));
    SK_CHECK(lora_forward(c, io, l, SILKIE_LORA_W2, &GATE));
    SK_CHECK(silkie_op_swiglu(c, &UP, &GATE, &io->ACT));
    SK_CHECK(silkie_op_matmul(c, &io->ACT, &y->mlp_proj.t, NULL, &io->X, &acc));
    return lora_forward(c, io, l, SILKIE_LORA_MLP_C_PROJ, &io->X);
}

silkie_status silkie_qwen_record_llm(silkie_op_ctx *c, const silkie_qwen *q, silkie_qwen_ws *ws,
                                     silkie_qwen_kv *kv, const silkie_qwen_pass *p,
                                     const silkie_qwen_taps *taps)
{
    const uint32_t T = p->n_tokens;
    if (T == 0 || T > ws->max_tokens)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "llm: %u tokens, workspace holds %u", T,
                       ws->max_tokens);
    if (!taps) taps = &no_taps;
    const silkie_model_config *cfg = &q->cfg;
    silkie_tensor ids = ws->ids.t, pos = ws->pos.t;
    ids.ne[0] = T;
    pos.ne[0] = T;
    silkie_qwen_block_io io = {.X = rows(&ws->x, 0, T), .Hn1 = rows(&ws->h, 0, T),
                               .QKV = rows(&ws->qkv, 0, T), .ATT = rows(&ws->attn, 0, T),
                               .MLP = rows(&ws->mlp, 0, T), .ACT = rows(&ws->act, 0, T),
                               .pos = &pos, .kv = kv, .step = &ws->step.t,
                               .freq_base = p->freq_base, .logn_base = p->logn_base,
                               .inference = 1};
    io.Hn2 = io.Hn1;
    if (p->lora) {
        if (!ws->lora_u.t.buf || ws->lora_u.t.ne[0] < p->lora->max_r)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "llm: workspace has no LoRA scratch");
        io.lora = p->lora;
        /* Inference needs no U afterwards: every target shares one scratch. */
        for (uint32_t t = 0; t < SILKIE_LORA_N_TARGETS; t++)
            io.U[t] = silkie_tensor_2d(ws->lora_u.t.buf, ws->lora_u.t.offset, SILKIE_DTYPE_F32,
                                       p->lora->max_r, T);
        if (p->lora->dropout > 0.0f)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "llm: inference runs LoRA without dropout");
    }

    SK_CHECK(silkie_qwen_record_embed(c, q, &ids, p->inject, p->n_inject, &io.X));
    SK_CHECK(tap(c, &io.X, taps->inputs_embeds));
    for (uint32_t l = 0; l < q->n_layers; l++) {
        SK_CHECK(silkie_qwen_record_block(c, q, l, &io));
        if (l == 0) SK_CHECK(tap(c, &io.X, taps->hidden_layer0));
        if (l == 1) SK_CHECK(tap(c, &io.X, taps->hidden_layer1));
    }
    if (taps->final_norm) {
        SK_CHECK(silkie_op_rms_norm(c, &io.X, &q->ln_f.t, &io.Hn1, cfg->eps));
        SK_CHECK(tap(c, &io.Hn1, taps->final_norm));
    }
    silkie_tensor last = rows(&ws->x, T - 1, 1);
    return norm_matmul(c, &last, &q->ln_f.t, cfg->eps, &ws->norm_last.t, 0, 1, &q->lm_head.t,
                       NULL, &ws->logits.t);
}
