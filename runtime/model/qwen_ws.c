/* Scratch activations and the KV cache of a Qwen-VL session. */
#define SK_LOG_MODULE "model"
#include "qwen.h"

static silkie_status alloc(const silkie_qwen *q, silkie_owned_tensor *t, silkie_vk_pool pool,
                           silkie_dtype dt, uint64_t cols, uint64_t rows)
{
    const uint32_t ne[4] = {(uint32_t)cols, (uint32_t)rows, 1, 1};
    return silkie_tensor_alloc(q->dev, pool, dt, ne, t);
}

silkie_status silkie_qwen_ws_create(const silkie_qwen *q, uint32_t max_tokens, silkie_qwen_ws *ws)
{
    memset(ws, 0, sizeof *ws);
    if (!max_tokens) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "ws_create: max_tokens is 0");
    ws->max_tokens = max_tokens;
    const silkie_model_config *c = &q->cfg;
    uint64_t T = max_tokens, H = c->hidden_size, F = c->mlp_width;
    const silkie_vk_pool A = SILKIE_VK_POOL_ACTIVATIONS, HP = SILKIE_VK_POOL_HOST;
    const silkie_dtype f32 = SILKIE_DTYPE_F32, i32 = SILKIE_DTYPE_I32;
    silkie_status st = SILKIE_OK;
#define A2(t, dt, cols, rows, pool) \
    if (st == SILKIE_OK) st = alloc(q, &ws->t, pool, dt, cols, rows)
    A2(x, f32, H, T, A);
    A2(h, f32, H, T, A);
    A2(qkv, f32, 3 * H, T, A);
    A2(attn, f32, H, T, A);
    A2(mlp, f32, 2 * F, T, A);
    A2(act, f32, F, T, A);
    A2(norm_last, f32, H, 1, A);
    A2(logits, f32, c->vocab_size, 1, HP);
    A2(ids, i32, T, 1, HP);
    A2(pos, i32, T, 1, HP);
    A2(step, i32, 2, 1, HP);
    if (q->has_vision) {
        const silkie_vision_config *v = &c->visual;
        uint64_t S = v->image_size, P = v->patch_size, Np = (uint64_t)v->patch_grid * v->patch_grid;
        uint64_t W = v->width, M = v->mlp_width, D = v->output_dim, Nq = v->n_queries;
        const uint32_t ne[4] = {(uint32_t)S, (uint32_t)S, 3, 1};
        if (st == SILKIE_OK) st = silkie_tensor_alloc(q->dev, A, f32, ne, &ws->pixels);
        A2(vpatch, f32, 3 * P * P, Np, A);
        A2(vx, f32, W, Np, A);
        A2(vh, f32, W, Np, A);
        A2(vqkv, f32, 3 * W, Np, A);
        A2(vattn, f32, W, Np, A);
        A2(vmlp, f32, M, Np, A);
        A2(rkv, f32, D, Np, A);
        A2(rk, f32, D, Np, A);
        A2(rkk, f32, D, Np, A);
        A2(rv, f32, D, Np, A);
        A2(rq_in, f32, D, Nq, A);
        A2(rq, f32, D, Nq, A);
        A2(rattn, f32, D, Nq, A);
        A2(rout, f32, D, Nq, A);
    }
#undef A2
    if (st != SILKIE_OK) silkie_qwen_ws_release(ws);
    return st;
}

void silkie_qwen_ws_release(silkie_qwen_ws *ws)
{
    silkie_owned_tensor *t[] = {&ws->x,      &ws->h,     &ws->qkv,   &ws->attn,  &ws->mlp,
                                &ws->act,    &ws->norm_last, &ws->logits, &ws->ids, &ws->pos,
                                &ws->step,   &ws->pixels, &ws->vpatch, &ws->vx,   &ws->vh,
                                &ws->vqkv,   &ws->vattn, &ws->vmlp,  &ws->rkv,   &ws->rk,
                                &ws->rq_in,  &ws->rq,    &ws->rkk,   &ws->rv,    &ws->rattn,
                                &ws->rout, &ws->lora_u};
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) silkie_tensor_free(t[i]);
    memset(ws, 0, sizeof *ws);
}

silkie_status silkie_qwen_kv_create(const silkie_qwen *q, uint32_t n_ctx, silkie_dtype dtype,
                                    silkie_qwen_kv *kv)
{
    memset(kv, 0, sizeof *kv);
    if (dtype != SILKIE_DTYPE_F16 && dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "kv_create: cache type must be f16 or f32");
    kv->n_ctx = n_ctx;
    kv->dtype = dtype;
    kv->n_layers = q->n_layers;
    kv->k = SK_NEW_ARRAY(silkie_owned_tensor, q->n_layers);
    kv->v = SK_NEW_ARRAY(silkie_owned_tensor, q->n_layers);
    if (!kv->k || !kv->v) {
        silkie_qwen_kv_release(kv);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "kv_create");
    }
    for (uint32_t l = 0; l < q->n_layers; l++) {
        silkie_status st = alloc(q, &kv->k[l], SILKIE_VK_POOL_ACTIVATIONS, dtype,
                                 q->cfg.hidden_size, n_ctx);
        if (st == SILKIE_OK)
            st = alloc(q, &kv->v[l], SILKIE_VK_POOL_ACTIVATIONS, dtype, q->cfg.hidden_size,
                       n_ctx);
        if (st != SILKIE_OK) {
            silkie_qwen_kv_release(kv);
            return st;
        }
    }
    return SILKIE_OK;
}

void silkie_qwen_kv_release(silkie_qwen_kv *kv)
{
    for (uint32_t l = 0; l < kv->n_layers; l++) {
        if (kv->k) silkie_tensor_free(&kv->k[l]);
        if (kv->v) silkie_tensor_free(&kv->v[l]);
    }
    silkie_free(kv->k);
    silkie_free(kv->v);
    memset(kv, 0, sizeof *kv);
}
