/* LoRA modules of the LLM on the device: names, shapes and storage (spec §9.1). */
#include <stdio.h>

#define SK_LOG_MODULE "model"
#include "qwen.h"

static const char *const k_target_suffix[SILKIE_LORA_N_TARGETS] = {
    "attn.c_attn", "attn.c_proj", "mlp.w1", "mlp.w2", "mlp.c_proj"};

void silkie_lora_module_name(uint32_t layer, silkie_lora_target t, char *out, size_t cap)
{
    snprintf(out, cap, "transformer.h.%u.%s", layer, k_target_suffix[t]);
}

void silkie_lora_target_dims(const silkie_model_config *cfg, silkie_lora_target t, uint32_t *in,
                             uint32_t *out)
{
    const uint32_t H = cfg->hidden_size, F = cfg->mlp_width;
    switch (t) {
    case SILKIE_LORA_C_ATTN: *in = H, *out = 3 * H; break;
    case SILKIE_LORA_ATTN_C_PROJ: *in = H, *out = H; break;
    case SILKIE_LORA_MLP_C_PROJ: *in = F, *out = H; break;
    default: *in = H, *out = F; break;
    }
}

static silkie_status alloc_zero(const silkie_qwen *q, uint32_t cols, uint32_t rows,
                                silkie_owned_tensor *t)
{
    const uint32_t ne[4] = {cols, rows, 1, 1};
    SK_CHECK(silkie_tensor_alloc(q->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, t));
    return silkie_vk_buffer_fill(t->t.buf, t->t.offset, silkie_tensor_nbytes(&t->t), 0);
}

silkie_status silkie_qwen_lora_alloc(const silkie_qwen *q, silkie_qwen_lora *lora,
                                     uint32_t with_grads)
{
    if (lora->n_layers != q->n_layers)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "lora: %u layers for a %u-layer model",
                       lora->n_layers, q->n_layers);
    lora->max_r = 0;
    for (uint32_t l = 0; l < lora->n_layers; l++)
        for (uint32_t t = 0; t < SILKIE_LORA_N_TARGETS; t++) {
            silkie_lora_module *m = silkie_qwen_lora_at(lora, l, t);
            if (!m->r) continue;
            uint32_t in, out;
            silkie_lora_target_dims(&q->cfg, t, &in, &out);
            SK_CHECK(alloc_zero(q, in, m->r, &m->a));
            SK_CHECK(alloc_zero(q, m->r, out, &m->b));
            if (with_grads) {
                SK_CHECK(alloc_zero(q, in, m->r, &m->ga));
                SK_CHECK(alloc_zero(q, m->r, out, &m->gb));
            }
            lora->max_r = SK_MAX(lora->max_r, m->r);
        }
    return SILKIE_OK;
}

void silkie_qwen_lora_release(silkie_qwen_lora *lora)
{
    if (!lora) return;
    for (uint32_t i = 0; lora->mod && i < lora->n_layers * SILKIE_LORA_N_TARGETS; i++) {
        silkie_tensor_free(&lora->mod[i].a);
        silkie_tensor_free(&lora->mod[i].b);
        silkie_tensor_free(&lora->mod[i].ga);
        silkie_tensor_free(&lora->mod[i].gb);
    }
    silkie_free(lora->mod);
    memset(lora, 0, sizeof *lora);
}
