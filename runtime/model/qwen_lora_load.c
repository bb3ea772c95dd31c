/* LoRA adapters in and out of PEFT's layout (spec §9.1): which modules a config adapts, and
 * their tensors loaded from adapter files or initialised as PEFT does. */
#include <math.h>
#include <stdio.h>

#define SK_LOG_MODULE "model"
#include "lora_peft.h"
#include "qwen.h"

void silkie_lora_tensor_name(uint32_t layer, silkie_lora_target t, int b, char *out, size_t cap)
{
    char mod[96];
    silkie_lora_module_name(layer, t, mod, sizeof mod);
    snprintf(out, cap, "base_model.model.%s.lora_%c.weight", mod, b ? 'B' : 'A');
}

/* Ranks and scales of every LLM module from the config. */
static silkie_status plan(const silkie_qwen *q, const silkie_lora_config *c,
                          silkie_qwen_lora *lora)
{
    memset(lora, 0, sizeof *lora);
    lora->n_layers = q->n_layers;
    lora->dropout = (float)c->dropout;
    lora->mod = SK_NEW_ARRAY(silkie_lora_module, q->n_layers * SILKIE_LORA_N_TARGETS);
    if (!lora->mod) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter: module table");
    uint32_t n = 0;
    for (uint32_t l = 0; l < q->n_layers; l++)
        for (uint32_t t = 0; t < SILKIE_LORA_N_TARGETS; t++) {
            char name[96];
            silkie_lora_module_name(l, t, name, sizeof name);
            bool hit = false;
            uint32_t r = 0;
            double alpha = 0;
            SK_CHECK(silkie_lora_config_match(c, name, (int32_t)l, &hit, &r, &alpha));
            if (!hit) continue;
            silkie_lora_module *m = silkie_qwen_lora_at(lora, l, t);
            m->r = r;
            m->scale = silkie_lora_scale(c, r, alpha);
            n++;
        }
    if (n == 0)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "adapter: target_modules matches no module of the "
                                             "model (e.g. transformer.h.0.attn.c_attn)");
    return silkie_lora_config_check_llm_only(c, q->cfg.visual.layers);
}

/* Uploads one adapter tensor, converting to f32 and checking its shape. */
static silkie_status upload(const silkie_weights *w, const char *name, uint32_t rows,
                            uint32_t cols, silkie_owned_tensor *dst)
{
    const silkie_weight *t = NULL;
    SK_CHECK(silkie_weights_get(w, name, &t));
    if (t->n_dims != 2 || t->shape[0] != rows || t->shape[1] != cols)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "adapter: tensor '%s' is not [%u, %u]", name, rows,
                       cols);
    if (t->dtype != SILKIE_DTYPE_F32 && t->dtype != SILKIE_DTYPE_F16 &&
        t->dtype != SILKIE_DTYPE_BF16)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "adapter: tensor '%s' is not f32/f16/bf16", name);
    float *f = silkie_malloc((size_t)rows * cols * sizeof(float));
    if (!f) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter: %s", name);
    silkie_status st = silkie_convert_rows(t->dtype, t->data, SILKIE_DTYPE_F32, f, rows, cols);
    for (uint64_t i = 0; st == SILKIE_OK && i < (uint64_t)rows * cols; i++)
        if (!isfinite(f[i]))
            st = SK_FAIL(SILKIE_ERR_BAD_MODEL, "adapter: tensor '%s' holds NaN or Inf", name);
    if (st == SILKIE_OK) st = silkie_tensor_upload(dst, f, (uint64_t)rows * cols * sizeof(float));
    silkie_free(f);
    return st;
}

static silkie_status load_tensors(const silkie_qwen *q, const silkie_weights *w,
                                  silkie_qwen_lora *lora)
{
    uint32_t used = 0;
    for (uint32_t l = 0; l < lora->n_layers; l++)
        for (uint32_t t = 0; t < SILKIE_LORA_N_TARGETS; t++) {
            silkie_lora_module *m = silkie_qwen_lora_at(lora, l, t);
            if (!m->r) continue;
            uint32_t in, out;
            silkie_lora_target_dims(&q->cfg, t, &in, &out);
            char name[160];
            silkie_lora_tensor_name(l, t, 0, name, sizeof name);
            SK_CHECK(upload(w, name, m->r, in, &m->a));
            silkie_lora_tensor_name(l, t, 1, name, sizeof name);
            SK_CHECK(upload(w, name, out, m->r, &m->b));
            used += 2;
        }
    if (used != silkie_weights_count(w)) {
        /* Name the first tensor no targeted module claims. */
        for (uint32_t i = 0; i < silkie_weights_count(w); i++) {
            const char *n = silkie_weights_at(w, i)->name;
            bool known = false;
            for (uint32_t l = 0; l < lora->n_layers && !known; l++)
                for (uint32_t t = 0; t < SILKIE_LORA_N_TARGETS && !known; t++) {
                    if (!silkie_qwen_lora_at(lora, l, t)->r) continue;
                    char name[160];
                    for (int b = 0; b < 2 && !known; b++) {
                        silkie_lora_tensor_name(l, t, b, name, sizeof name);
                        known = !strcmp(name, n);
                    }
                }
            if (!known)
                return SK_FAIL(SILKIE_ERR_BAD_MODEL,
                               "adapter: tensor '%s' belongs to no module the config targets "
                               "for this model", n);
        }
    }
    return SILKIE_OK;
}

silkie_status silkie_qwen_lora_load(const silkie_qwen *q, const char *dir, uint32_t with_grads,
                                    silkie_lora_config *cfg_out, silkie_qwen_lora *out)
{
    if (!q || !dir || !out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "adapter: arguments");
    memset(out, 0, sizeof *out);
    silkie_lora_config c;
    SK_CHECK(silkie_lora_config_load(dir, &c));
    silkie_weights *w = NULL;
    silkie_status st = plan(q, &c, out);
    if (st == SILKIE_OK) st = silkie_weights_open(dir, &w);
    if (st == SILKIE_OK) st = silkie_qwen_lora_alloc(q, out, with_grads);
    if (st == SILKIE_OK) st = load_tensors(q, w, out);
    silkie_weights_close(w);
    if (st != SILKIE_OK) {
        silkie_qwen_lora_release(out);
        return st;
    }
    if (cfg_out) *cfg_out = c;
    return SILKIE_OK;
}

/* splitmix64: a seeded stream that is the same on every platform. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

silkie_status silkie_qwen_lora_init(const silkie_qwen *q, const silkie_lora_config *cfg,
                                    uint64_t seed, uint32_t with_grads, silkie_qwen_lora *out)
{
    if (!q || !cfg || !out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "adapter: arguments");
    silkie_status st = plan(q, cfg, out);
    if (st == SILKIE_OK) st = silkie_qwen_lora_alloc(q, out, with_grads);
    uint64_t s = seed;
    for (uint32_t i = 0; st == SILKIE_OK && i < out->n_layers * SILKIE_LORA_N_TARGETS; i++) {
        silkie_lora_module *m = &out->mod[i];
        if (!m->r) continue;
        uint32_t in, o;
        silkie_lora_target_dims(&q->cfg, (silkie_lora_target)(i % SILKIE_LORA_N_TARGETS), &in, &o);
        uint64_t n = (uint64_t)m->r * in;
        float *a = silkie_malloc(n * sizeof(float));
        if (!a) {
            st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter: init");
            break;
        }
        const double bound = 1.0 / sqrt((double)in);
        for (uint64_t k = 0; k < n; k++)
            a[k] = (float)((double)(mix(&s) >> 11) * 0x1.0p-53 * 2.0 * bound - bound);
        st = silkie_tensor_upload(&m->a, a, n * sizeof(float));
        silkie_free(a);
    }
    if (st != SILKIE_OK) silkie_qwen_lora_release(out);
    return st;
}
