/* LoRA modules of the LLM on the device: names, shapes and storage (spec §9.1). */
#define SK_LOG_MODULE "model"
#include "qwen.h"

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
