/* Model entry points: open a checkpoint folder, create the device, upload, load the tokenizer. */
#include <stdio.h>
#include <strings.h>

#define SK_LOG_MODULE "api"
#include "base/fault.h"
#include "session/session_int.h"

void silkie_model_params_init_size(silkie_model_params *p, size_t size)
{
    silkie_model_params d = {0};
    d.weight_type = SILKIE_DTYPE_F16;
    d.vision_type = SILKIE_DTYPE_F16;
    sk_params_fill(p, size, &d, sizeof d);
}

silkie_model_adapter *silkie_model_adapter_ref(silkie_model_adapter *a)
{
    if (a) atomic_fetch_add(&a->refs, 1);
    return a;
}

void silkie_model_adapter_release(silkie_model_adapter *a)
{
    if (!a || atomic_fetch_sub(&a->refs, 1) != 1) return;
    silkie_qwen_lora_release(&a->lora);
    silkie_free(a);
}

/* A PEFT adapter folder for m's network; shapes are checked against it by the loader. */
static silkie_status adapter_load(silkie_model *m, const char *dir, silkie_model_adapter **out)
{
    *out = NULL;
    silkie_model_adapter *a = SK_NEW(silkie_model_adapter);
    if (!a) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter: %s", dir);
    atomic_init(&a->refs, 1);
    silkie_status st = silkie_qwen_lora_load(m->q, dir, 0, NULL, &a->lora);
    if (st != SILKIE_OK) {
        silkie_free(a);
        return st;
    }
    a->lora.dropout = 0.0f; /* a training-time setting; inference never drops */
    *out = a;
    return SILKIE_OK;
}

static void model_free(silkie_model *m)
{
    silkie_model_adapter_release(m->adapter);
    silkie_qwen_destroy(m->q);
    silkie_tokenizer_destroy(m->tok);
    silkie_vk_device_destroy(m->dev);
    silkie_free(m);
}

void silkie_model_release_ref(silkie_model *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) model_free(m);
}

void silkie_model_destroy(silkie_model *m) { silkie_model_release_ref(m); }

silkie_status silkie_model_alive(const silkie_model *m, const char *what)
{
    if (!silkie_vk_device_lost(m->dev)) return SILKIE_OK;
    return SK_FAIL(SILKIE_ERR_DEVICE_LOST,
                   "%s: the model's device was lost; destroy the model and its sessions and load "
                   "it again", what);
}

static int is_valid_llm_type(silkie_dtype t)
{
    return t == SILKIE_DTYPE_F32 || t == SILKIE_DTYPE_F16 || t == SILKIE_DTYPE_BF16 ||
           t == SILKIE_DTYPE_Q8_0 || t == SILKIE_DTYPE_Q4_0;
}

static bool is_gguf_path(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcasecmp(path + n - 5, ".gguf") == 0;
}

/* One GGUF file holds config, tokenizer and weights (the vision part possibly in its mmproj
 * sibling); matrices load in the types they are stored in (a quantized file is not
 * re-quantized), and a model without the vision tower loads text-only. */
static silkie_status load_gguf(const char *path, silkie_model *m, silkie_model_params *mp,
                               silkie_dtype *embed_type, silkie_weights **w)
{
    bool has_vision = false;
    SK_CHECK(silkie_qwen_gguf_open(path, w, &m->cfg, &m->gen, &has_vision));
    SK_CHECK(silkie_tokenizer_load_gguf(path, &m->tok));
    if (!has_vision) mp->text_only = 1;
    silkie_qwen_gguf_types(*w, &mp->weight_type, embed_type, &mp->vision_type);
    if (silkie_dtype_block_elems(mp->vision_type) > 1) mp->vision_type = SILKIE_DTYPE_F16;
    return SILKIE_OK;
}

silkie_status silkie_model_load(const char *path, const silkie_model_params *p,
                                silkie_model **out)
{
    silkie_error_clear();
    if (out) *out = NULL;
    /* Before anything else: a replay with a mistyped SILKIE_FAULT must not run without it. */
    SK_CHECK(sk_fault_init());
    if (!path || !out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "model_load: path, out required");
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    if (p) {
        if (p->struct_size < 8)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "model_load: struct_size unset");
        memcpy(&mp, p, SK_MIN((size_t)p->struct_size, sizeof mp));
        mp.struct_size = sizeof mp;
    }
    if (!is_valid_llm_type(mp.weight_type))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "model_load: weight_type %d unsupported",
                       (int)mp.weight_type);
    if (mp.vision_type != SILKIE_DTYPE_F32 &&
        mp.vision_type != SILKIE_DTYPE_F16 && mp.vision_type != SILKIE_DTYPE_BF16)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "model_load: vision_type must be f32/f16/bf16");
    silkie_model *m = SK_NEW(silkie_model);
    if (!m) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "model_load");
    atomic_init(&m->refs, 1);
    silkie_weights *w = NULL;
    char vocab[4096];
    silkie_dtype embed_type = mp.weight_type;
    silkie_status st;
    if (is_gguf_path(path)) {
        st = load_gguf(path, m, &mp, &embed_type, &w);
    } else {
        st = silkie_model_config_load(path, &m->cfg, &m->gen);
        if (st == SILKIE_OK &&
            snprintf(vocab, sizeof vocab, "%s/qwen.tiktoken", path) >= (int)sizeof vocab)
            st = SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "model_load: path too long");
        if (st == SILKIE_OK) st = silkie_tokenizer_load(vocab, &m->tok);
        if (st == SILKIE_OK) st = silkie_weights_open(path, &w);
    }
    if (st == SILKIE_OK && mp.verify) st = silkie_weights_verify(w, path, NULL, NULL);
    if (st == SILKIE_OK) {
        silkie_vk_device_params dp;
        silkie_vk_device_params_init(&dp);
        dp.device = mp.device;
        dp.validation = mp.validation;
        dp.pipeline_cache_path = mp.pipeline_cache;
        dp.f16_gemm = mp.f16_gemm;
        st = silkie_vk_device_create(&dp, &m->dev);
    }
    if (st == SILKIE_OK) {
        silkie_qwen_load_params lp = {.llm_dtype = mp.weight_type,
                                      .vision_dtype = mp.vision_type,
                                      .embed_dtype = embed_type,
                                      .skip_vision = mp.text_only,
                                      .max_layers = mp.max_layers,
                                      .progress = mp.progress,
                                      .progress_user = mp.progress_user};
        st = silkie_qwen_create(m->dev, &m->cfg, w, &lp, &m->q);
    }
    silkie_weights_close(w);
    m->progress = mp.progress;
    m->progress_user = mp.progress_user;
    if (st == SILKIE_OK && mp.adapter) st = adapter_load(m, mp.adapter, &m->adapter);
    if (st != SILKIE_OK) {
        model_free(m);
        return st;
    }
    *out = m;
    return SILKIE_OK;
}

silkie_status silkie_model_set_adapter(silkie_model *m, const char *dir)
{
    silkie_error_clear();
    if (!m) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "model_set_adapter: m is NULL");
    SK_CHECK(silkie_model_alive(m, "model_set_adapter"));
    silkie_model_adapter *a = NULL;
    if (dir) SK_CHECK(adapter_load(m, dir, &a));
    silkie_model_adapter_release(m->adapter);
    m->adapter = a;
    return SILKIE_OK;
}

uint32_t silkie_model_n_layers(const silkie_model *m) { return m ? m->q->n_layers : 0; }
uint32_t silkie_model_n_vocab(const silkie_model *m) { return m ? m->cfg.vocab_size : 0; }
uint32_t silkie_model_image_size(const silkie_model *m)
{
    return m && m->q->has_vision ? m->cfg.visual.image_size : 0;
}
uint64_t silkie_model_weight_bytes(const silkie_model *m) { return m ? m->q->weight_bytes : 0; }
const char *silkie_model_device_name(const silkie_model *m)
{
    return m ? silkie_vk_device_caps(m->dev)->device_name : "";
}
