/* config.json and generation_config.json -> typed structs. cJSON stays inside this file. */
#include <cJSON.h>
#include <math.h>

#include "files_int.h"

typedef struct jctx {
    const char *what;
    const char *prefix; /* "" or "visual." */
} jctx;

static silkie_status int_value(const jctx *c, const cJSON *j, const char *key, int64_t lo,
                               int64_t hi, int64_t *out)
{
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble))
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: key '%s%s' is not an integer", c->what,
                       c->prefix, key);
    double d = j->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi))
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: key '%s%s' = %.17g is outside [%lld, %lld]",
                       c->what, c->prefix, key, d, (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return SILKIE_OK;
}

/* Integer-valued JSON number in [lo, hi]; absent -> *out = def unless required. */
static silkie_status get_int(const jctx *c, const cJSON *obj, const char *key, bool required,
                             int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j || cJSON_IsNull(j)) {
        if (required)
            return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: required key '%s%s' is missing", c->what,
                           c->prefix, key);
        *out = def;
        return SILKIE_OK;
    }
    return int_value(c, j, key, lo, hi, out);
}

static silkie_status get_u32(const jctx *c, const cJSON *obj, const char *key, bool required,
                             uint32_t def, uint32_t lo, uint32_t hi, uint32_t *out)
{
    int64_t v;
    SK_CHECK(get_int(c, obj, key, required, def, lo, hi, &v));
    *out = (uint32_t)v;
    return SILKIE_OK;
}

static silkie_status get_num(const jctx *c, const cJSON *obj, const char *key, bool required,
                             double def, double lo, double hi, double *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j || cJSON_IsNull(j)) {
        if (required)
            return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: required key '%s%s' is missing", c->what,
                           c->prefix, key);
        *out = def;
        return SILKIE_OK;
    }
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= lo && j->valuedouble <= hi))
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: key '%s%s' is not a number in [%g, %g]",
                       c->what, c->prefix, key, lo, hi);
    *out = j->valuedouble;
    return SILKIE_OK;
}

static silkie_status get_bool(const jctx *c, const cJSON *obj, const char *key, bool def,
                              bool *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j || cJSON_IsNull(j)) {
        *out = def;
        return SILKIE_OK;
    }
    if (!cJSON_IsBool(j))
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: key '%s%s' is not true/false", c->what,
                       c->prefix, key);
    *out = cJSON_IsTrue(j);
    return SILKIE_OK;
}

static silkie_status parse_root(const char *json, size_t len, const char *what, cJSON **root)
{
    *root = NULL;
    if (!json) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: no text", what);
    if (len > SK_MAX_CONFIG_JSON)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: %zu bytes, limit %zu", what, len,
                       SK_MAX_CONFIG_JSON);
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!*root)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: not valid JSON (near byte %td)", what,
                       end ? end - json : (ptrdiff_t)-1);
    if (!cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        *root = NULL;
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: not a JSON object", what);
    }
    return SILKIE_OK;
}

#define LIM_WIDTH 65536u
#define LIM_LAYERS 1024u
#define LIM_HEADS 1024u
#define LIM_VOCAB (1u << 24)
#define LIM_FFN (1u << 20)
#define LIM_CTX (1u << 24)
#define LIM_IMAGE 8192u

static silkie_status parse_visual(const jctx *c0, const cJSON *root, const silkie_model_config *m,
                                  silkie_vision_config *v)
{
    const cJSON *vis = cJSON_GetObjectItemCaseSensitive(root, "visual");
    if (!vis) return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: required key 'visual' is missing",
                             c0->what);
    if (!cJSON_IsObject(vis))
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: key 'visual' is not an object", c0->what);
    jctx c = {c0->what, "visual."};
    double ratio;
    int64_t start;
    SK_CHECK(get_u32(&c, vis, "image_size", true, 0, 1, LIM_IMAGE, &v->image_size));
    SK_CHECK(get_u32(&c, vis, "patch_size", true, 0, 1, LIM_IMAGE, &v->patch_size));
    SK_CHECK(get_u32(&c, vis, "width", true, 0, 1, LIM_WIDTH, &v->width));
    SK_CHECK(get_u32(&c, vis, "layers", true, 0, 1, LIM_LAYERS, &v->layers));
    SK_CHECK(get_u32(&c, vis, "heads", true, 0, 1, LIM_HEADS, &v->heads));
    SK_CHECK(get_num(&c, vis, "mlp_ratio", true, 0, 1e-3, 64.0, &ratio));
    SK_CHECK(get_u32(&c, vis, "output_dim", true, 0, 1, LIM_WIDTH, &v->output_dim));
    SK_CHECK(get_u32(&c, vis, "n_queries", false, 256, 1, 65536, &v->n_queries));
    SK_CHECK(get_int(&c, vis, "image_start_id", true, 0, 0, (int64_t)m->vocab_size - 3, &start));
    v->image_start_id = (int32_t)start;
    v->mlp_ratio = (float)ratio;
    /* Python's int(width * mlp_ratio): double product, truncated. */
    double mw = (double)v->width * ratio;
    if (mw < 1 || mw > LIM_FFN)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: visual.width * visual.mlp_ratio = %g is out of "
                       "range", c.what, mw);
    v->mlp_width = (uint32_t)mw;
    if (v->width % v->heads)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: visual.heads = %u does not divide visual.width "
                       "= %u", c.what, v->heads, v->width);
    v->head_dim = v->width / v->heads;
    if (v->image_size % v->patch_size)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: visual.image_size = %u is not a multiple of "
                       "visual.patch_size = %u", c.what, v->image_size, v->patch_size);
    v->patch_grid = v->image_size / v->patch_size;
    uint32_t g = (uint32_t)sqrt((double)v->n_queries);
    while (g * g > v->n_queries) g--;
    while ((g + 1) * (g + 1) <= v->n_queries) g++;
    if (g * g != v->n_queries)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: visual.n_queries = %u is not a perfect square",
                       c.what, v->n_queries);
    v->query_grid = g;
    if (v->output_dim % 128)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: visual.output_dim = %u is not a multiple of 128 "
                       "(the resampler head size)", c.what, v->output_dim);
    if (v->output_dim != m->hidden_size)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: visual.output_dim = %u differs from hidden_size "
                       "= %u", c.what, v->output_dim, m->hidden_size);
    v->pool_heads = v->output_dim / 128;
    v->pos_rows = 256; /* hard-coded 16x16 table in the reference model */
    return SILKIE_OK;
}

static silkie_status parse_model(const cJSON *root, const char *what, silkie_model_config *m)
{
    jctx c = {what, ""};
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!mt) return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: required key 'model_type' is missing",
                            what);
    if (!cJSON_IsString(mt) || strcmp(mt->valuestring, "qwen") != 0)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: key 'model_type' is not \"qwen\"", what);
    double d;
    SK_CHECK(get_u32(&c, root, "vocab_size", true, 0, 1, LIM_VOCAB, &m->vocab_size));
    SK_CHECK(get_u32(&c, root, "hidden_size", true, 0, 1, LIM_WIDTH, &m->hidden_size));
    SK_CHECK(get_u32(&c, root, "num_hidden_layers", true, 0, 1, LIM_LAYERS, &m->n_layers));
    SK_CHECK(get_u32(&c, root, "num_attention_heads", true, 0, 1, LIM_HEADS, &m->n_heads));
    if (m->hidden_size % m->n_heads)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: num_attention_heads = %u does not divide "
                       "hidden_size = %u", what, m->n_heads, m->hidden_size);
    SK_CHECK(get_u32(&c, root, "kv_channels", false, m->hidden_size / m->n_heads, 1, 4096,
                     &m->head_dim));
    if ((uint64_t)m->head_dim * m->n_heads != m->hidden_size)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: kv_channels x num_attention_heads = %u x %u is "
                       "not hidden_size = %u", what, m->head_dim, m->n_heads, m->hidden_size);
    SK_CHECK(get_u32(&c, root, "intermediate_size", true, 0, 2, 2 * LIM_FFN,
                     &m->intermediate_size));
    if (m->intermediate_size % 2)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: key 'intermediate_size' = %u is odd (it is "
                       "twice the MLP width)", what, m->intermediate_size);
    m->mlp_width = m->intermediate_size / 2;
    SK_CHECK(get_num(&c, root, "layer_norm_epsilon", false, 1e-6, 1e-12, 1e-1, &d));
    m->eps = (float)d;
    SK_CHECK(get_num(&c, root, "rotary_emb_base", false, 10000.0, 1.0, 1e9, &d));
    m->rotary_base = (float)d;
    SK_CHECK(get_num(&c, root, "rotary_pct", false, 1.0, 1e-6, 1.0, &d));
    m->rotary_pct = (float)d;
    m->rotary_dims = (uint32_t)((double)m->head_dim * d);
    if (m->rotary_dims == 0 || m->rotary_dims % 2)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: kv_channels x rotary_pct = %u rotary dims, want "
                       "an even positive number", what, m->rotary_dims);
    SK_CHECK(get_bool(&c, root, "use_dynamic_ntk", true, &m->use_dynamic_ntk));
    SK_CHECK(get_bool(&c, root, "use_logn_attn", true, &m->use_logn_attn));
    SK_CHECK(get_bool(&c, root, "no_bias", true, &m->no_bias));
    SK_CHECK(get_bool(&c, root, "tie_word_embeddings", false, &m->tie_word_embeddings));
    SK_CHECK(get_u32(&c, root, "seq_length", false, 2048, 1, LIM_CTX, &m->seq_length));
    SK_CHECK(get_u32(&c, root, "max_position_embeddings", false, 8192, 1, LIM_CTX,
                     &m->max_position_embeddings));
    return parse_visual(&c, root, m, &m->visual);
}

silkie_status silkie_model_config_parse(const char *json, size_t len, const char *what,
                                        silkie_model_config *out)
{
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "model_config_parse: out required");
    memset(out, 0, sizeof *out);
    if (!what) what = "config.json";
    cJSON *root;
    SK_CHECK(parse_root(json, len, what, &root));
    silkie_status st = parse_model(root, what, out);
    cJSON_Delete(root);
    if (st != SILKIE_OK) memset(out, 0, sizeof *out);
    return st;
}

void silkie_generation_config_defaults(silkie_generation_config *g)
{
    /* Qwen-VL-Chat's generation_config.json (spec §8.4); Silkie inherits it. */
    *g = (silkie_generation_config){
        .eos_token_id = 151643,
        .pad_token_id = 151643,
        .max_new_tokens = 512,
        .max_window_size = 6144,
        .do_sample = true,
        .top_k = 0,
        .top_p = 0.3f,
        .temperature = 1.0f,
        .repetition_penalty = 1.0f,
    };
}

/* eos_token_id may also be a list in newer files; the first id is the one that matters here. */
static silkie_status get_token(const jctx *c, const cJSON *obj, const char *key, int32_t def,
                               int32_t *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsArray(j)) {
        if (cJSON_GetArraySize(j) < 1)
            return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: key '%s' is an empty list", c->what, key);
        int64_t v;
        SK_CHECK(int_value(c, j->child, key, 0, INT32_MAX, &v));
        *out = (int32_t)v;
        return SILKIE_OK;
    }
    int64_t v;
    SK_CHECK(get_int(c, obj, key, false, def, 0, INT32_MAX, &v));
    *out = (int32_t)v;
    return SILKIE_OK;
}

static silkie_status parse_gen(const cJSON *root, const char *what, silkie_generation_config *g)
{
    jctx c = {what, ""};
    double d;
    SK_CHECK(get_token(&c, root, "eos_token_id", g->eos_token_id, &g->eos_token_id));
    SK_CHECK(get_token(&c, root, "pad_token_id", g->eos_token_id, &g->pad_token_id));
    SK_CHECK(get_u32(&c, root, "max_new_tokens", false, g->max_new_tokens, 0, LIM_CTX,
                     &g->max_new_tokens));
    SK_CHECK(get_u32(&c, root, "max_window_size", false, g->max_window_size, 1, LIM_CTX,
                     &g->max_window_size));
    SK_CHECK(get_bool(&c, root, "do_sample", g->do_sample, &g->do_sample));
    SK_CHECK(get_u32(&c, root, "top_k", false, g->top_k, 0, LIM_VOCAB, &g->top_k));
    SK_CHECK(get_num(&c, root, "top_p", false, g->top_p, 0.0, 1.0, &d));
    if (d <= 0) return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: key 'top_p' must be > 0", what);
    g->top_p = (float)d;
    SK_CHECK(get_num(&c, root, "temperature", false, g->temperature, 0.0, 1e4, &d));
    g->temperature = (float)d;
    SK_CHECK(get_num(&c, root, "repetition_penalty", false, g->repetition_penalty, 1e-3, 1e3, &d));
    g->repetition_penalty = (float)d;
    return SILKIE_OK;
}

silkie_status silkie_generation_config_parse(const char *json, size_t len, const char *what,
                                             silkie_generation_config *out)
{
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "generation_config_parse: out required");
    silkie_generation_config_defaults(out);
    if (!what) what = "generation_config.json";
    cJSON *root;
    SK_CHECK(parse_root(json, len, what, &root));
    silkie_status st = parse_gen(root, what, out);
    cJSON_Delete(root);
    if (st != SILKIE_OK) silkie_generation_config_defaults(out);
    return st;
}

silkie_status silkie_model_config_load(const char *dir, silkie_model_config *cfg,
                                       silkie_generation_config *gen)
{
    if (!dir || !cfg)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "model_config_load: dir, cfg required");
    memset(cfg, 0, sizeof *cfg);
    if (gen) silkie_generation_config_defaults(gen);
    char *path = sk_path_join(dir, "config.json");
    if (!path) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "model_config_load: path");
    char *text = NULL;
    size_t len = 0;
    silkie_status st = sk_read_text(path, SK_MAX_CONFIG_JSON, &text, &len);
    if (st == SILKIE_OK) st = silkie_model_config_parse(text, len, path, cfg);
    silkie_free(text);
    silkie_free(path);
    text = NULL;
    if (st != SILKIE_OK || !gen) return st;
    path = sk_path_join(dir, "generation_config.json");
    if (!path) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "model_config_load: path");
    if (sk_is_file(path)) {
        st = sk_read_text(path, SK_MAX_CONFIG_JSON, &text, &len);
        if (st == SILKIE_OK) st = silkie_generation_config_parse(text, len, path, gen);
        silkie_free(text);
    }
    silkie_free(path);
    if (st != SILKIE_OK) memset(cfg, 0, sizeof *cfg);
    return st;
}

/* Qwen-VL-Chat's configuration (spec §1.1). */
void silkie_model_config_qwen_vl_chat(silkie_model_config *c)
{
    memset(c, 0, sizeof *c);
    c->vocab_size = 151936;
    c->hidden_size = 4096;
    c->n_layers = 32;
    c->n_heads = 32;
    c->head_dim = 128;
    c->intermediate_size = 22016;
    c->mlp_width = 11008;
    c->eps = 1e-6f;
    c->rotary_base = 10000;
    c->rotary_pct = 1;
    c->rotary_dims = 128;
    c->use_dynamic_ntk = true;
    c->use_logn_attn = true;
    c->no_bias = true;
    c->seq_length = 2048;
    c->max_position_embeddings = 8192;
    silkie_vision_config *v = &c->visual;
    v->image_size = 448;
    v->patch_size = 14;
    v->width = 1664;
    v->layers = 48;
    v->heads = 16;
    v->head_dim = 104;
    v->mlp_width = 8192;
    v->mlp_ratio = 4.9231f;
    v->output_dim = 4096;
    v->n_queries = 256;
    v->query_grid = 16;
    v->patch_grid = 32;
    v->pool_heads = 32;
    v->pos_rows = 256;
    v->image_start_id = 151857;
}
