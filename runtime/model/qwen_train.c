/* Training pass of the Qwen LLM: the forward block is silkie_qwen_record_block (the one the
 * inference pass uses), recorded here without a KV cache and with the tensors the backward pass
 * needs; the backward pass mirrors it block by block, newest first, recomputing each block from
 * its checkpoint. Frozen weights get no gradient; LoRA gradients accumulate into ga/gb. */
#include <math.h>

#define SK_LOG_MODULE "model"
#include "ops/ops_train.h"
#include "qwen.h"

/* Logits are formed for at most this many floats at a time ([T, block] of the vocabulary). */
#define LOGITS_BLOCK_FLOATS (4u << 20)
#define VOCAB_BLOCK_MAX 32768u

struct silkie_qwen_train_ws {
    const silkie_qwen *q;
    uint32_t max_tokens, max_r, vocab_block;
    silkie_owned_tensor ckpt;      /* [(n_layers + 1) * T, H] block inputs + the final stream */
    silkie_owned_tensor x, hn1, hn2, qkv, att, mlp, act, x_mid, lse, delta, drop;
    silkie_owned_tensor u[SILKIE_LORA_N_TARGETS];
    silkie_owned_tensor dx, dhn, dqkv, datt, dmlp, dact, du, dtmp;
    silkie_owned_tensor logits, state, logp;
    silkie_owned_tensor row_logit;  /* HOST [T]: hf . colsum */
    const silkie_tensor *colsum;    /* borrowed, silkie_qwen_vocab_colsum */
    silkie_owned_tensor ids, pos, labels, g; /* HOST pool, rewritten before each submit */
    silkie_vk_cmd *cmd;
    uint64_t bytes;
};

static silkie_status alloc2(silkie_qwen_train_ws *w, silkie_owned_tensor *t, silkie_vk_pool pool,
                            silkie_dtype dt, uint64_t cols, uint64_t rows)
{
    if (cols > UINT32_MAX || rows > UINT32_MAX)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train: %llu x %llu tensor",
                       (unsigned long long)rows, (unsigned long long)cols);
    const uint32_t ne[4] = {(uint32_t)cols, (uint32_t)rows, 1, 1};
    SK_CHECK(silkie_tensor_alloc(w->q->dev, pool, dt, ne, t));
    w->bytes += silkie_tensor_nbytes(&t->t);
    return SILKIE_OK;
}

/* The mean logit of a row is hf . colsum / V (logits are linear in hf), so it costs one
 * [T, H] x [H] product instead of a pass over [T, V]. */
silkie_status silkie_qwen_vocab_colsum(const silkie_qwen *q, silkie_owned_tensor *out)
{
    const uint32_t V = q->cfg.vocab_size;
    silkie_owned_tensor ones = {0};
    silkie_vk_cmd *cmd = NULL;
    const uint32_t ne_v[4] = {V, 1, 1, 1}, ne_h[4] = {q->cfg.hidden_size, 1, 1, 1};
    silkie_status st = silkie_tensor_alloc(q->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32,
                                           ne_v, &ones);
    if (st == SILKIE_OK)
        st = silkie_tensor_alloc(q->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne_h, out);
    if (st == SILKIE_OK)
        st = silkie_vk_buffer_fill(ones.t.buf, ones.t.offset, (uint64_t)V * 4, 0x3f800000u);
    if (st == SILKIE_OK) st = silkie_vk_cmd_create(q->dev, &cmd);
    silkie_op_ctx c = {.dev = q->dev, .cmd = cmd};
    const silkie_matmul_opts kn = {.w_kn = 1};
    if (st == SILKIE_OK) st = silkie_vk_cmd_begin(cmd);
    if (st == SILKIE_OK) st = silkie_op_matmul(&c, &ones.t, &q->lm_head.t, NULL, &out->t, &kn);
    if (st == SILKIE_OK) st = silkie_vk_cmd_end(cmd);
    if (st == SILKIE_OK) st = silkie_vk_cmd_submit_wait(cmd);
    silkie_vk_cmd_destroy(cmd);
    silkie_tensor_free(&ones);
    if (st != SILKIE_OK) silkie_tensor_free(out);
    return st;
}

silkie_status silkie_qwen_train_ws_create(const silkie_qwen *q, const silkie_qwen_lora *lora,
                                          const silkie_tensor *colsum, uint32_t max_tokens,
                                          silkie_qwen_train_ws **out)
{
    if (!q || !colsum || !out || !max_tokens)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train_ws: q, colsum, out, size required");
    *out = NULL;
    silkie_qwen_train_ws *w = SK_NEW(silkie_qwen_train_ws);
    if (!w) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "train_ws");
    w->q = q;
    w->max_tokens = max_tokens;
    w->colsum = colsum;
    w->max_r = lora && lora->max_r ? lora->max_r : 1;
    const silkie_model_config *c = &q->cfg;
    const uint64_t T = max_tokens, H = c->hidden_size, F = c->mlp_width, L = q->n_layers;
    const uint64_t R = w->max_r, HF = SK_MAX(H, F);
    uint64_t vb = LOGITS_BLOCK_FLOATS / T;
    vb = SK_MIN(SK_MAX(vb, 256u), (uint64_t)VOCAB_BLOCK_MAX);
    w->vocab_block = (uint32_t)SK_MIN(vb, (uint64_t)c->vocab_size);
    const silkie_vk_pool A = SILKIE_VK_POOL_ACTIVATIONS, HP = SILKIE_VK_POOL_HOST;
    const silkie_dtype f32 = SILKIE_DTYPE_F32, i32 = SILKIE_DTYPE_I32;
    silkie_status st = SILKIE_OK;
    st = alloc2(w, &w->ckpt, A, f32, H, (L + 1) * T);
#define T2(name, dt, cols, rows, pool) \
    if (st == SILKIE_OK) st = alloc2(w, &w->name, pool, dt, cols, rows)
    T2(x, f32, H, T, A);
    T2(hn1, f32, H, T, A);
    T2(hn2, f32, H, T, A);
    T2(qkv, f32, 3 * H, T, A);
    T2(att, f32, H, T, A);
    T2(mlp, f32, 2 * F, T, A);
    T2(act, f32, F, T, A);
    T2(x_mid, f32, H, T, A);
    T2(lse, f32, T, c->n_heads, A);
    T2(delta, f32, T, c->n_heads, A);
    T2(drop, f32, HF, T, A);
    for (uint32_t t = 0; t < SILKIE_LORA_N_TARGETS; t++) T2(u[t], f32, R, T, A);
    T2(dx, f32, H, T, A);
    T2(dhn, f32, H, T, A);
    T2(dqkv, f32, 3 * H, T, A);
    T2(datt, f32, H, T, A);
    T2(dmlp, f32, 2 * F, T, A);
    T2(dact, f32, F, T, A);
    T2(du, f32, R, T, A);
    T2(dtmp, f32, HF, T, A);
    T2(logits, f32, w->vocab_block, T, A);
    T2(state, f32, 4, 2 * T, A); /* rows [0, T): the kept pass's; [T, 2T): any other's */
    T2(logp, f32, T, 1, HP);
    T2(row_logit, f32, 1, T, HP);
    T2(ids, i32, T, 1, HP);
    T2(pos, i32, T, 1, HP);
    T2(labels, i32, T, 1, HP);
    T2(g, f32, T, 1, HP);
#undef T2
    if (st == SILKIE_OK) st = silkie_vk_cmd_create(q->dev, &w->cmd);
    if (st != SILKIE_OK) {
        silkie_qwen_train_ws_destroy(w);
        return st;
    }
    *out = w;
    return SILKIE_OK;
}

void silkie_qwen_train_ws_destroy(silkie_qwen_train_ws *w)
{
    if (!w) return;
    silkie_vk_cmd_destroy(w->cmd);
    silkie_owned_tensor *t[] = {&w->ckpt, &w->x,   &w->hn1,  &w->hn2,  &w->qkv,   &w->att,   &w->mlp,
                                &w->act, &w->x_mid, &w->lse, &w->delta, &w->drop,  &w->dx,
                                &w->dhn, &w->dqkv, &w->datt, &w->dmlp,  &w->dact,  &w->du,
                                &w->dtmp, &w->logits, &w->state, &w->logp, &w->ids,
                                &w->pos, &w->labels, &w->g, &w->row_logit};
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) silkie_tensor_free(t[i]);
    for (uint32_t i = 0; i < SILKIE_LORA_N_TARGETS; i++) silkie_tensor_free(&w->u[i]);
    silkie_free(w);
}

uint64_t silkie_qwen_train_ws_bytes(const silkie_qwen_train_ws *w) { return w ? w->bytes : 0; }

static silkie_tensor rows_of(const silkie_owned_tensor *o, uint32_t row0, uint32_t n)
{
    return silkie_tensor_rows_view(&o->t, row0, n);
}

/* [n, cols] contiguous view at the start of a scratch buffer. */
static silkie_tensor scratch(const silkie_owned_tensor *o, uint32_t cols, uint32_t n)
{
    return silkie_tensor_2d(o->t.buf, o->t.offset, SILKIE_DTYPE_F32, cols, n);
}

/* Rows [v0, v0 + *n) of lm_head as a single-buffer view; *n is cut at a part boundary. */
static silkie_tensor lm_head_rows(const silkie_qwen *q, uint32_t v0, uint32_t *n)
{
    silkie_tensor t = q->lm_head.t;
    uint64_t off = 0, left = 0;
    silkie_vk_buffer *b = silkie_tensor_row_location(&t, v0, &off, &left);
    if (*n > left) *n = (uint32_t)left;
    t.buf = b;
    t.offset = off;
    t.ne[1] = *n;
    t.ne[2] = t.ne[3] = 1;
    t.n_parts = 0;
    t.part_rows = 0;
    t.parts = NULL;
    return t;
}

static silkie_status check_seq(const silkie_qwen_train_ws *w, const silkie_qwen_train_seq *s,
                               const silkie_qwen_train_pass *p)
{
    if (!s || !s->ids || !s->pos || !s->labels || !p)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train: sequence and pass required");
    if (s->n_tokens < 2 || s->n_tokens > w->max_tokens)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train: %u tokens (workspace: 2..%u)",
                       s->n_tokens, w->max_tokens);
    if (s->seg_end < s->seg_begin || s->seg_end > s->n_tokens)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train: segment [%u, %u) of %u rows",
                       s->seg_begin, s->seg_end, s->n_tokens);
    if (p->lora && p->lora->max_r > w->max_r)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train: rank %u, workspace sized for %u",
                       p->lora->max_r, w->max_r);
    return SILKIE_OK;
}

/* Host-visible inputs: ids, positions, labels and the rows' gradient weights. */
static silkie_status write_inputs(silkie_qwen_train_ws *w, const silkie_qwen_train_seq *s,
                                  const float *g)
{
    int32_t *ids = silkie_vk_buffer_map(w->ids.t.buf), *pos = silkie_vk_buffer_map(w->pos.t.buf);
    int32_t *lab = silkie_vk_buffer_map(w->labels.t.buf);
    float *gg = silkie_vk_buffer_map(w->g.t.buf);
    if (!ids || !pos || !lab || !gg)
        return SK_FAIL(SILKIE_ERR_INTERNAL, "train: host-visible inputs are not mapped");
    ids = (int32_t *)((uint8_t *)ids + w->ids.t.offset);
    pos = (int32_t *)((uint8_t *)pos + w->pos.t.offset);
    lab = (int32_t *)((uint8_t *)lab + w->labels.t.offset);
    gg = (float *)((uint8_t *)gg + w->g.t.offset);
    const int32_t V = (int32_t)w->q->cfg.vocab_size;
    for (uint32_t t = 0; t < s->n_tokens; t++) {
        if (s->ids[t] < 0 || s->ids[t] >= V || s->labels[t] >= V || s->pos[t] < 0)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "train: row %u: id %d, label %d, position %d (vocabulary %d)", t,
                           s->ids[t], s->labels[t], s->pos[t], V);
        ids[t] = s->ids[t];
        pos[t] = s->pos[t];
        lab[t] = s->labels[t] < 0 ? -1 : s->labels[t];
        gg[t] = g && lab[t] >= 0 ? g[t] : 0.0f;
        if (!isfinite(gg[t]))
            return SK_FAIL(SILKIE_ERR_NOT_FINITE, "train: gradient weight of row %u is not finite",
                           t);
    }
    return SILKIE_OK;
}

static silkie_qwen_block_io block_io(silkie_qwen_train_ws *w, const silkie_qwen_train_seq *s,
                                     const silkie_qwen_train_pass *p, silkie_tensor *pos,
                                     silkie_tensor *lse, silkie_tensor *x_mid)
{
    const uint32_t T = s->n_tokens;
    silkie_qwen_block_io io = {.X = rows_of(&w->x, 0, T), .Hn1 = rows_of(&w->hn1, 0, T),
                               .Hn2 = rows_of(&w->hn2, 0, T), .QKV = rows_of(&w->qkv, 0, T),
                               .ATT = rows_of(&w->att, 0, T), .MLP = rows_of(&w->mlp, 0, T),
                               .ACT = rows_of(&w->act, 0, T), .pos = pos, .lse = lse,
                               .x_mid = x_mid, .freq_base = w->q->cfg.rotary_base,
                               .lora = p->lora, .drop = w->drop.t,
                               .dropout_seed = p->dropout_seed,
                               .dropout_stream = p->dropout_stream,
                               .seg_begin = s->seg_begin, .seg_end = s->seg_end};
    for (uint32_t t = 0; t < SILKIE_LORA_N_TARGETS; t++) io.U[t] = w->u[t].t;
    return io;
}

/* Log-softmax state of a pass: the kept pass's lse feeds the backward pass, so other passes
 * (the reference) write elsewhere. */
static silkie_tensor pass_state(silkie_qwen_train_ws *w, const silkie_qwen_train_pass *p,
                                uint32_t T)
{
    return rows_of(&w->state, p->keep ? 0 : w->max_tokens, T);
}

static silkie_status copy_rows(silkie_op_ctx *c, const silkie_tensor *src, silkie_tensor *dst)
{
    return silkie_vk_cmd_copy(c->cmd, src->buf, src->offset, dst->buf, dst->offset,
                              silkie_tensor_nbytes(src));
}

silkie_status silkie_qwen_train_forward(silkie_qwen_train_ws *w, const silkie_qwen_train_seq *s,
                                        const silkie_qwen_train_pass *p, float *row_logp,
                                        float *row_logit)
{
    SK_CHECK(check_seq(w, s, p));
    const silkie_qwen *q = w->q;
    const uint32_t T = s->n_tokens, H = q->cfg.hidden_size, V = q->cfg.vocab_size;
    SK_CHECK(write_inputs(w, s, NULL));
    silkie_tensor ids = w->ids.t, pos = w->pos.t, labels = w->labels.t, logp = w->logp.t;
    ids.ne[0] = pos.ne[0] = labels.ne[0] = logp.ne[0] = T;
    silkie_tensor lse = scratch(&w->lse, T, q->cfg.n_heads);
    silkie_tensor state = pass_state(w, p, T);
    silkie_op_ctx c = {.dev = q->dev, .cmd = w->cmd};
    silkie_qwen_block_io io = block_io(w, s, p, &pos, &lse, NULL);

    SK_CHECK(silkie_vk_cmd_begin(w->cmd));
    SK_CHECK(silkie_qwen_record_embed(&c, q, &ids, s->inject, s->n_inject, &io.X));
    for (uint32_t l = 0; l <= q->n_layers; l++) {
        if (p->keep) {
            silkie_tensor ck = rows_of(&w->ckpt, l * T, T);
            SK_CHECK(copy_rows(&c, &io.X, &ck));
        }
        if (l < q->n_layers) SK_CHECK(silkie_qwen_record_block(&c, q, l, &io));
    }
    /* ln_2's scratch is free once the last block is recorded. */
    silkie_tensor hf = io.Hn2;
    SK_CHECK(silkie_op_rms_norm(&c, &io.X, &q->ln_f.t, &hf, q->cfg.eps));
    if (row_logit) {
        silkie_tensor rl_t = rows_of(&w->row_logit, 0, T);
        const silkie_tensor colsum_row = silkie_tensor_2d(w->colsum->buf, w->colsum->offset,
                                                          SILKIE_DTYPE_F32, H, 1);
        SK_CHECK(silkie_op_matmul(&c, &hf, &colsum_row, NULL, &rl_t, NULL));
    }
    for (uint32_t v0 = 0; v0 < V;) {
        uint32_t n = SK_MIN(w->vocab_block, V - v0);
        silkie_tensor head = lm_head_rows(q, v0, &n);
        silkie_tensor lg = scratch(&w->logits, n, T);
        SK_CHECK(silkie_op_matmul(&c, &hf, &head, NULL, &lg, NULL));
        SK_CHECK(silkie_op_logsoftmax_gather(&c, &lg, &labels, v0, &state, v0 == 0));
        v0 += n;
    }
    SK_CHECK(silkie_op_logsoftmax_gather_finish(&c, &state, &labels, &logp));
    SK_CHECK(silkie_vk_cmd_end(w->cmd));
    SK_CHECK(silkie_vk_cmd_submit_wait(w->cmd));

    const float *lp = (const float *)((const uint8_t *)silkie_vk_buffer_map(w->logp.t.buf) +
                                      w->logp.t.offset);
    const float *rl = (const float *)((const uint8_t *)silkie_vk_buffer_map(w->row_logit.t.buf) +
                                      w->row_logit.t.offset);
    for (uint32_t t = 0; t < T; t++) {
        if (!isfinite(lp[t]))
            return SK_FAIL(SILKIE_ERR_NOT_FINITE, "train: log-probability of row %u is %s", t,
                           isnan(lp[t]) ? "NaN" : "Inf");
        if (row_logp) row_logp[t] = s->labels[t] >= 0 ? lp[t] : 0.0f;
        if (row_logit) row_logit[t] = rl[t] / (float)V;
    }
    return SILKIE_OK;
}

/* Backward of y += s * (dropout(x) A^T) B^T: ga, gb accumulate; dx (may be NULL) += input
 * gradient. U is what the recomputed forward left for this target. */
static silkie_status lora_backward(silkie_op_ctx *c, silkie_qwen_train_ws *w,
                                   const silkie_qwen_block_io *io, uint32_t l,
                                   silkie_lora_target t, const silkie_tensor *dy,
                                   silkie_tensor *dx)
{
    silkie_lora_module *m = silkie_qwen_lora_at(io->lora, l, t);
    if (!m || !m->r) return SILKIE_OK;
    const silkie_tensor *x = silkie_qwen_block_lora_input(io, t);
    const uint32_t T = x->ne[1], in = x->ne[0];
    const float p = io->lora->dropout;
    const uint32_t stream = silkie_qwen_lora_stream(io, l, t);
    silkie_tensor xd = *x;
    if (p > 0.0f) {
        xd = scratch(&w->drop, in, T);
        SK_CHECK(silkie_op_dropout(c, x, &xd, p, io->dropout_seed, stream));
    }
    silkie_tensor U = silkie_tensor_2d(io->U[t].buf, io->U[t].offset, SILKIE_DTYPE_F32, m->r, T);
    silkie_tensor dU = scratch(&w->du, m->r, T);
    const silkie_matmul_opts outer = {.trans_a = 1, .w_kn = 1, .accumulate = 1,
                                      .alpha = m->scale};
    SK_CHECK(silkie_op_matmul(c, dy, &U, NULL, &m->gb.t, &outer));
    const silkie_matmul_opts back_b = {.w_kn = 1, .alpha = m->scale};
    SK_CHECK(silkie_op_matmul(c, dy, &m->b.t, NULL, &dU, &back_b));
    const silkie_matmul_opts outer_a = {.trans_a = 1, .w_kn = 1, .accumulate = 1};
    SK_CHECK(silkie_op_matmul(c, &dU, &xd, NULL, &m->ga.t, &outer_a));
    if (!dx) return SILKIE_OK;
    if (p > 0.0f) {
        /* The dropout mask scales the input gradient as it scaled the input. */
        silkie_tensor tmp = scratch(&w->dtmp, in, T);
        const silkie_matmul_opts kn = {.w_kn = 1};
        SK_CHECK(silkie_op_matmul(c, &dU, &m->a.t, NULL, &tmp, &kn));
        SK_CHECK(silkie_op_dropout(c, &tmp, &tmp, p, io->dropout_seed, stream));
        return silkie_op_add(c, dx, &tmp, dx);
    }
    const silkie_matmul_opts kn_acc = {.w_kn = 1, .accumulate = 1};
    return silkie_op_matmul(c, &dU, &m->a.t, NULL, dx, &kn_acc);
}

/* Gradient of one block, given dX (gradient of its output) in w->dx; leaves the gradient of
 * its input in w->dx (skipped for block 0: nothing below it is trained). */
static silkie_status block_backward(silkie_op_ctx *c, silkie_qwen_train_ws *w, uint32_t l,
                                    silkie_qwen_block_io *io, const silkie_tensor *x_in)
{
    const silkie_qwen *q = w->q;
    const silkie_model_config *cfg = &q->cfg;
    const silkie_qwen_layer *y = &q->layers[l];
    const uint32_t T = io->X.ne[1], H = cfg->hidden_size, F = cfg->mlp_width;
    const silkie_matmul_opts kn = {.w_kn = 1};
    silkie_tensor dX = rows_of(&w->dx, 0, T), dHn = rows_of(&w->dhn, 0, T);
    silkie_tensor dQKV = rows_of(&w->dqkv, 0, T), dATT = rows_of(&w->datt, 0, T);
    silkie_tensor dMLP = rows_of(&w->dmlp, 0, T), dACT = rows_of(&w->dact, 0, T);
    silkie_tensor dUP = silkie_tensor_cols(&dMLP, 0, F), dGATE = silkie_tensor_cols(&dMLP, F, F);
    silkie_tensor UP = silkie_tensor_cols(&io->MLP, 0, F);
    silkie_tensor GATE = silkie_tensor_cols(&io->MLP, F, F);

    /* MLP: X += (w1 h * silu(w2 h)) c_proj^T, h = ln_2(x_mid) */
    SK_CHECK(silkie_op_matmul(c, &dX, &y->mlp_proj.t, NULL, &dACT, &kn));
    SK_CHECK(lora_backward(c, w, io, l, SILKIE_LORA_MLP_C_PROJ, &dX, &dACT));
    SK_CHECK(silkie_op_swiglu_back(c, &UP, &GATE, &dACT, &dUP, &dGATE));
    SK_CHECK(silkie_op_matmul(c, &dMLP, &y->w12.t, NULL, &dHn, &kn));
    SK_CHECK(lora_backward(c, w, io, l, SILKIE_LORA_W1, &dUP, &dHn));
    SK_CHECK(lora_backward(c, w, io, l, SILKIE_LORA_W2, &dGATE, &dHn));
    SK_CHECK(silkie_op_rms_norm_back(c, io->x_mid, &y->ln_2.t, &dHn, &dX, cfg->eps, 1));

    /* Attention: x_mid = X + attn(ln_1(X)) c_proj^T */
    SK_CHECK(silkie_op_matmul(c, &dX, &y->c_proj.t, NULL, &dATT, &kn));
    SK_CHECK(lora_backward(c, w, io, l, SILKIE_LORA_ATTN_C_PROJ, &dX, &dATT));
    silkie_tensor Q = silkie_tensor_cols(&io->QKV, 0, H), K = silkie_tensor_cols(&io->QKV, H, H);
    silkie_tensor V = silkie_tensor_cols(&io->QKV, 2 * H, H);
    silkie_tensor dQ = silkie_tensor_cols(&dQKV, 0, H), dK = silkie_tensor_cols(&dQKV, H, H);
    silkie_tensor dV = silkie_tensor_cols(&dQKV, 2 * H, H);
    silkie_tensor delta = scratch(&w->delta, T, cfg->n_heads);
    const silkie_attention_params ap = silkie_qwen_block_attention(q, io);
    SK_CHECK(silkie_op_attention_back(c, &Q, &K, &V, &io->ATT, &dATT, io->lse, &delta, &dQ, &dK,
                                      &dV, &ap));
    /* Rotation is orthogonal: its gradient is the inverse rotation. */
    const silkie_rope_params inv = {.head_dim = cfg->head_dim, .freq_base = io->freq_base,
                                    .inverse = 1};
    SK_CHECK(silkie_op_rope(c, &dQ, io->pos, &dQ, &inv));
    SK_CHECK(silkie_op_rope(c, &dK, io->pos, &dK, &inv));
    if (l == 0) return lora_backward(c, w, io, l, SILKIE_LORA_C_ATTN, &dQKV, NULL);
    SK_CHECK(silkie_op_matmul(c, &dQKV, &y->c_attn_w.t, NULL, &dHn, &kn));
    SK_CHECK(lora_backward(c, w, io, l, SILKIE_LORA_C_ATTN, &dQKV, &dHn));
    return silkie_op_rms_norm_back(c, x_in, &y->ln_1.t, &dHn, &dX, cfg->eps, 1);
}

silkie_status silkie_qwen_train_backward(silkie_qwen_train_ws *w, const silkie_qwen_train_seq *s,
                                         const silkie_qwen_train_pass *p, const float *g)
{
    SK_CHECK(check_seq(w, s, p));
    if (!p->lora || !p->keep)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "train: backward needs an adapter and a forward that kept checkpoints");
    if (!g) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train: backward needs row weights");
    const silkie_qwen *q = w->q;
    const uint32_t T = s->n_tokens, V = q->cfg.vocab_size;
    SK_CHECK(write_inputs(w, s, g));
    silkie_tensor pos = w->pos.t, labels = w->labels.t, gt = w->g.t;
    pos.ne[0] = labels.ne[0] = gt.ne[0] = T;
    silkie_tensor lse = scratch(&w->lse, T, q->cfg.n_heads);
    silkie_tensor state = pass_state(w, p, T), x_mid = rows_of(&w->x_mid, 0, T);
    silkie_op_ctx c = {.dev = q->dev, .cmd = w->cmd};
    silkie_qwen_block_io io = block_io(w, s, p, &pos, &lse, &x_mid);
    const silkie_owned_tensor *ck = &w->ckpt;
    silkie_tensor x_final = rows_of(ck, q->n_layers * T, T);

    SK_CHECK(silkie_vk_cmd_begin(w->cmd));
    /* Head: logits per vocabulary block, recomputed; their gradient flows into ln_f's output. */
    silkie_tensor hf = io.Hn2, dhf = rows_of(&w->dhn, 0, T); /* Hn2: free until the blocks */
    silkie_tensor dX = rows_of(&w->dx, 0, T);
    SK_CHECK(silkie_op_rms_norm(&c, &x_final, &q->ln_f.t, &hf, q->cfg.eps));
    for (uint32_t v0 = 0; v0 < V;) {
        uint32_t n = SK_MIN(w->vocab_block, V - v0);
        silkie_tensor head = lm_head_rows(q, v0, &n);
        silkie_tensor lg = scratch(&w->logits, n, T);
        SK_CHECK(silkie_op_matmul(&c, &hf, &head, NULL, &lg, NULL));
        SK_CHECK(silkie_op_logsoftmax_gather_back(&c, &lg, &labels, v0, &state, &gt, &lg));
        const silkie_matmul_opts kn = {.w_kn = 1, .accumulate = v0 > 0};
        SK_CHECK(silkie_op_matmul(&c, &lg, &head, NULL, &dhf, &kn));
        v0 += n;
    }
    SK_CHECK(silkie_op_rms_norm_back(&c, &x_final, &q->ln_f.t, &dhf, &dX, q->cfg.eps, 0));
    for (uint32_t l = q->n_layers; l-- > 0;) {
        silkie_tensor x_in = rows_of(ck, l * T, T);
        SK_CHECK(copy_rows(&c, &x_in, &io.X));
        SK_CHECK(silkie_qwen_record_block(&c, q, l, &io));
        SK_CHECK(block_backward(&c, w, l, &io, &x_in));
    }
    SK_CHECK(silkie_vk_cmd_end(w->cmd));
    return silkie_vk_cmd_submit_wait(w->cmd);
}
