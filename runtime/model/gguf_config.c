/* Model and generation config from GGUF metadata. The keys are turned back into the
 * config.json / generation_config.json fields and go through the same parser, so a GGUF model
 * passes exactly the validation of a Hugging Face folder. */
#include <stdio.h>

#include "files_int.h"

typedef struct jbuf {
    char s[4096];
    size_t n;
    bool overflow;
} jbuf;

static void jput(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jput(jbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof b->s - b->n) b->overflow = true;
    else b->n += (size_t)k;
}

static silkie_status put_u32(jbuf *b, const silkie_gguf *g, const char *key, const char *json)
{
    uint32_t v;
    SK_CHECK(silkie_gguf_get_u32(g, key, &v));
    jput(b, "\"%s\":%u,", json, v);
    return SILKIE_OK;
}

static silkie_status put_f32(jbuf *b, const silkie_gguf *g, const char *key, const char *json)
{
    float v;
    SK_CHECK(silkie_gguf_get_f32(g, key, &v));
    jput(b, "\"%s\":%.9g,", json, (double)v);
    return SILKIE_OK;
}

/* Signed integer key of any integer type, or def when absent. */
static silkie_status get_i64(const silkie_gguf *g, const char *key, int64_t def, int64_t *out)
{
    const silkie_gguf_kv *kv = silkie_gguf_find_kv(g, key);
    *out = def;
    if (!kv) return SILKIE_OK;
    switch (kv->type) {
    case SILKIE_GGUF_I8: case SILKIE_GGUF_I16: case SILKIE_GGUF_I32: case SILKIE_GGUF_I64:
        *out = kv->v.i;
        return SILKIE_OK;
    case SILKIE_GGUF_U8: case SILKIE_GGUF_U16: case SILKIE_GGUF_U32: case SILKIE_GGUF_U64:
        if (kv->v.u <= INT64_MAX) {
            *out = (int64_t)kv->v.u;
            return SILKIE_OK;
        }
        break;
    default: break;
    }
    return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: metadata '%s' is not an integer", key);
}

static silkie_status model_json(const silkie_gguf *g, const silkie_gguf *vg, jbuf *b,
                                bool *has_vision)
{
    const char *arch;
    size_t alen;
    SK_CHECK(silkie_gguf_get_str(g, "general.architecture", &arch, &alen));
    if (alen != 4 || memcmp(arch, "qwen", 4) != 0)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: general.architecture '%.*s' is not qwen",
                       (int)SK_MIN(alen, 64u), arch);
    uint32_t heads, rope_dims, head_dim, seq;
    SK_CHECK(silkie_gguf_get_u32(g, "qwen.attention.head_count", &heads));
    SK_CHECK(silkie_gguf_get_u32(g, "qwen.rope.dimension_count", &rope_dims));
    jput(b, "{\"model_type\":\"qwen\",\"no_bias\":true,");
    SK_CHECK(put_u32(b, g, "qwen.vocab_size", "vocab_size"));
    SK_CHECK(put_u32(b, g, "qwen.embedding_length", "hidden_size"));
    SK_CHECK(put_u32(b, g, "qwen.block_count", "num_hidden_layers"));
    SK_CHECK(put_u32(b, g, "qwen.feed_forward_length", "intermediate_size"));
    SK_CHECK(put_u32(b, g, "qwen.context_length", "max_position_embeddings"));
    SK_CHECK(put_f32(b, g, "qwen.rope.freq_base", "rotary_emb_base"));
    SK_CHECK(put_f32(b, g, "qwen.attention.layer_norm_rms_epsilon", "layer_norm_epsilon"));
    jput(b, "\"num_attention_heads\":%u,", heads);
    /* key_length is optional in llama.cpp files: hidden / heads then. */
    if (silkie_gguf_find_kv(g, "qwen.attention.key_length")) {
        SK_CHECK(silkie_gguf_get_u32(g, "qwen.attention.key_length", &head_dim));
        jput(b, "\"kv_channels\":%u,", head_dim);
    } else {
        uint32_t hidden;
        SK_CHECK(silkie_gguf_get_u32(g, "qwen.embedding_length", &hidden));
        head_dim = heads ? hidden / heads : 0;
    }
    if (!head_dim || rope_dims > head_dim)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: qwen.rope.dimension_count = %u exceeds the "
                       "head size %u", rope_dims, head_dim);
    jput(b, "\"rotary_pct\":%.17g,", (double)rope_dims / head_dim);
    bool ntk = silkie_gguf_find_kv(g, "qwen.rope.dynamic_ntk_base_length") != NULL;
    bool logn = silkie_gguf_find_kv(g, "qwen.attention.logn_base_length") != NULL;
    if (silkie_gguf_find_kv(g, "qwen.seq_length"))
        SK_CHECK(silkie_gguf_get_u32(g, "qwen.seq_length", &seq));
    else if (ntk) SK_CHECK(silkie_gguf_get_u32(g, "qwen.rope.dynamic_ntk_base_length", &seq));
    else if (logn) SK_CHECK(silkie_gguf_get_u32(g, "qwen.attention.logn_base_length", &seq));
    else seq = 2048;
    jput(b, "\"seq_length\":%u,\"use_dynamic_ntk\":%s,\"use_logn_attn\":%s,", seq,
         ntk ? "true" : "false", logn ? "true" : "false");
    int64_t start;
    SK_CHECK(get_i64(g, "qwen.vision.image_start_token_id", 151857, &start));
    bool vis = false;
    const silkie_gguf_kv *hv = silkie_gguf_find_kv(vg, "clip.has_vision_encoder");
    if (hv) SK_CHECK(silkie_gguf_get_bool(vg, "clip.has_vision_encoder", &vis));
    if (has_vision) *has_vision = vis;
    uint32_t q = 256, width, ffn;
    if (vis) {
        SK_CHECK(silkie_gguf_get_u32(vg, "clip.vision.embedding_length", &width));
        SK_CHECK(silkie_gguf_get_u32(vg, "clip.vision.feed_forward_length", &ffn));
        if (silkie_gguf_find_kv(vg, "clip.minicpmv_query_num"))
            SK_CHECK(silkie_gguf_get_u32(vg, "clip.minicpmv_query_num", &q));
        if (!width) return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: clip.vision.embedding_length 0");
        jput(b, "\"visual\":{\"width\":%u,\"n_queries\":%u,\"image_start_id\":%lld,", width, q,
             (long long)start);
        /* config.json's int(width * mlp_ratio) must give back the stored MLP width. */
        jput(b, "\"mlp_ratio\":%.17g,", (ffn + 0.5) / width);
        SK_CHECK(put_u32(b, vg, "clip.vision.image_size", "image_size"));
        SK_CHECK(put_u32(b, vg, "clip.vision.patch_size", "patch_size"));
        SK_CHECK(put_u32(b, vg, "clip.vision.block_count", "layers"));
        SK_CHECK(put_u32(b, vg, "clip.vision.attention.head_count", "heads"));
        SK_CHECK(put_u32(b, vg, "clip.vision.projection_dim", "output_dim"));
    } else {
        /* A text-only file: a minimal tower the parser accepts; nothing of it is loaded. */
        uint32_t hidden;
        SK_CHECK(silkie_gguf_get_u32(g, "qwen.embedding_length", &hidden));
        jput(b, "\"visual\":{\"width\":1,\"heads\":1,\"layers\":1,\"mlp_ratio\":1,\"image_size\":1,"
             "\"patch_size\":1,\"n_queries\":1,\"output_dim\":%u,\"image_start_id\":%lld,", hidden,
             (long long)start);
    }
    b->n--; /* drop the last comma */
    jput(b, "}}");
    return SILKIE_OK;
}

static void gen_json(const silkie_gguf *g, jbuf *b)
{
    static const char *const keys[] = {"eos_token_id", "pad_token_id", "max_new_tokens",
                                       "max_window_size", "top_k", "do_sample", "top_p",
                                       "temperature", "repetition_penalty"};
    char k[96];
    jput(b, "{");
    for (size_t i = 0; i < SK_ARRAY_LEN(keys); i++) {
        snprintf(k, sizeof k, "silkie.generation.%s", keys[i]);
        const silkie_gguf_kv *kv = silkie_gguf_find_kv(g, k);
        if (!kv) continue;
        if (kv->type == SILKIE_GGUF_BOOL) jput(b, "\"%s\":%s,", keys[i], kv->v.u ? "true" : "false");
        else if (kv->type == SILKIE_GGUF_F32 || kv->type == SILKIE_GGUF_F64)
            jput(b, "\"%s\":%.9g,", keys[i], kv->v.f);
        else if (kv->type == SILKIE_GGUF_I32 || kv->type == SILKIE_GGUF_I64)
            jput(b, "\"%s\":%lld,", keys[i], (long long)kv->v.i);
        else if (kv->type == SILKIE_GGUF_U32 || kv->type == SILKIE_GGUF_U64)
            jput(b, "\"%s\":%llu,", keys[i], (unsigned long long)kv->v.u);
    }
    if (b->s[b->n - 1] == ',') b->n--;
    jput(b, "}");
}

silkie_status silkie_model_config_from_gguf(const silkie_gguf *g, silkie_model_config *cfg,
                                            silkie_generation_config *gen, bool *has_vision)
{
    return silkie_model_config_from_gguf2(g, NULL, cfg, gen, has_vision);
}

silkie_status silkie_model_config_from_gguf2(const silkie_gguf *g, const silkie_gguf *vision,
                                             silkie_model_config *cfg,
                                             silkie_generation_config *gen, bool *has_vision)
{
    if (!g || !cfg) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "config_from_gguf: g, cfg required");
    memset(cfg, 0, sizeof *cfg);
    jbuf *b = SK_NEW(jbuf);
    if (!b) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "config_from_gguf");
    silkie_status st = model_json(g, vision ? vision : g, b, has_vision);
    if (st == SILKIE_OK && b->overflow)
        st = SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf: metadata too long for a config");
    if (st == SILKIE_OK) st = silkie_model_config_parse(b->s, b->n, "GGUF metadata", cfg);
    if (st == SILKIE_OK && gen) {
        b->n = 0;
        gen_json(g, b);
        st = silkie_generation_config_parse(b->s, b->n, "GGUF silkie.generation", gen);
    }
    silkie_free(b);
    return st;
}
