/* LoRA adapters in and out of PEFT's layout (spec §9.1): which modules a config adapts, and
 * their tensors loaded from adapter files or initialised as PEFT does. */
#include <math.h>
#include <stdio.h>

#define SK_LOG_MODULE "model"
#include "qwen.h"

/* Ranks and scales of every LLM module from the config. */
static silkie_status plan(const silkie_qwen *q, const silkie_lora_config *c,
                          silkie_qwen_lora *lora)
{
    memset(lora, 0, sizeof *lora);
    lora->n_layers = q->n_layers;
    lora->dropout = (float)c->dropout;
    const uint32_t n = q->n_layers * SILKIE_LORA_N_TARGETS;
    lora->mod = SK_NEW_ARRAY(silkie_lora_module, n);
    silkie_lora_plan_entry *e = SK_NEW_ARRAY(silkie_lora_plan_entry, n);
    silkie_status st = lora->mod && e ? SILKIE_OK
                                      : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter: module table");
    /* q->cfg may describe more layers than were loaded (max_layers): plan the loaded ones. */
    silkie_model_config cfg = q->cfg;
    cfg.n_layers = q->n_layers;
    if (st == SILKIE_OK) st = silkie_lora_plan(&cfg, c, e);
    for (uint32_t i = 0; st == SILKIE_OK && i < n; i++) {
        lora->mod[i].r = e[i].r;
        lora->mod[i].scale = e[i].scale;
    }
    silkie_free(e);
    return st;
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
        silkie_lora_plan_entry *e = SK_NEW_ARRAY(silkie_lora_plan_entry,
                                                 lora->n_layers * SILKIE_LORA_N_TARGETS);
        if (!e) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter: claimed check");
        for (uint32_t i = 0; i < lora->n_layers * SILKIE_LORA_N_TARGETS; i++)
            e[i].r = lora->mod[i].r;
        silkie_status st = silkie_lora_check_claimed(w, e, lora->n_layers);
        silkie_free(e);
        SK_CHECK(st);
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
