/* config.json / generation_config.json: the golden tiny-a files, the released Qwen-VL-Chat
 * values, defaults, and invalid configs that must fail naming the key. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model/model.h"

/* The released Qwen-VL-Chat config (spec §1.1), with a placeholder for edits. */
static const char *k_release =
    "{\"architectures\":[\"QWenLMHeadModel\"],\"model_type\":\"qwen\",%s"
    "\"vocab_size\":151936,\"hidden_size\":4096,\"num_hidden_layers\":32,"
    "\"num_attention_heads\":32,\"kv_channels\":128,\"intermediate_size\":22016,"
    "\"layer_norm_epsilon\":1e-6,\"rotary_pct\":1.0,\"rotary_emb_base\":10000,"
    "\"use_dynamic_ntk\":true,\"use_logn_attn\":true,\"seq_length\":2048,"
    "\"max_position_embeddings\":8192,\"no_bias\":true,\"tie_word_embeddings\":false,"
    "\"onnx_safe\":null,\"visual\":{%s\"image_size\":448,\"patch_size\":14,\"width\":1664,"
    "\"layers\":48,\"heads\":16,\"mlp_ratio\":4.9231,\"output_dim\":4096,"
    "\"image_start_id\":151857}}";

static silkie_status parse_edit(const char *top, const char *vis, silkie_model_config *c)
{
    char buf[4096];
    snprintf(buf, sizeof buf, k_release, top, vis);
    return silkie_model_config_parse(buf, strlen(buf), "config.json", c);
}

/* Replaces the first occurrence of `from` by `to` in the release text and parses it. */
static silkie_status parse_replace(const char *from, const char *to, silkie_model_config *c)
{
    char base[4096], out[4096];
    snprintf(base, sizeof base, k_release, "", "");
    const char *at = strstr(base, from);
    SK_TEST_CHECK(at != NULL, "pattern %s", from);
    if (!at) return SILKIE_ERR_INTERNAL;
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
    return silkie_model_config_parse(out, strlen(out), "config.json", c);
}

static void test_release(void)
{
    silkie_model_config c;
    SK_TEST_OK(parse_edit("", "", &c));
    SK_TEST_CHECK(c.vocab_size == 151936 && c.hidden_size == 4096 && c.n_layers == 32 &&
                      c.n_heads == 32 && c.head_dim == 128 && c.mlp_width == 11008 &&
                      c.intermediate_size == 22016, "LLM sizes");
    SK_TEST_CHECK(c.eps == 1e-6f && c.rotary_base == 10000.0f && c.rotary_dims == 128 &&
                      c.use_dynamic_ntk && c.use_logn_attn && c.seq_length == 2048 &&
                      c.max_position_embeddings == 8192 && c.no_bias && !c.tie_word_embeddings,
                  "LLM flags");
    const silkie_vision_config *v = &c.visual;
    SK_TEST_CHECK(v->image_size == 448 && v->patch_size == 14 && v->patch_grid == 32 &&
                      v->width == 1664 && v->layers == 48 && v->heads == 16 && v->head_dim == 104 &&
                      v->mlp_width == 8192 && v->output_dim == 4096 && v->n_queries == 256 &&
                      v->query_grid == 16 && v->pool_heads == 32 && v->pos_rows == 256 &&
                      v->image_start_id == 151857, "vision (mlp_width %u)", v->mlp_width);
    /* Optional keys take the documented defaults. */
    SK_TEST_OK(parse_replace("\"kv_channels\":128,", "", &c));
    SK_TEST_CHECK(c.head_dim == 128, "kv_channels default");
    SK_TEST_OK(parse_replace("\"rotary_pct\":1.0,", "\"rotary_pct\":0.5,", &c));
    SK_TEST_CHECK(c.rotary_dims == 64, "rotary_pct");
}

typedef struct bad_case {
    const char *from, *to;
    silkie_status want;
    const char *needle;
} bad_case;

static void test_invalid(void)
{
    static const bad_case cases[] = {
        {"\"model_type\":\"qwen\",", "", SILKIE_ERR_BAD_MODEL, "'model_type'"},
        {"\"qwen\"", "\"llama\"", SILKIE_ERR_BAD_MODEL, "'model_type'"},
        {"\"vocab_size\":151936,", "", SILKIE_ERR_BAD_MODEL, "'vocab_size'"},
        {"\"hidden_size\":4096,", "", SILKIE_ERR_BAD_MODEL, "'hidden_size'"},
        {"\"num_hidden_layers\":32,", "", SILKIE_ERR_BAD_MODEL, "'num_hidden_layers'"},
        {"\"num_attention_heads\":32,", "", SILKIE_ERR_BAD_MODEL, "'num_attention_heads'"},
        {"\"intermediate_size\":22016,", "", SILKIE_ERR_BAD_MODEL, "'intermediate_size'"},
        {"\"intermediate_size\":22016", "\"intermediate_size\":22017", SILKIE_ERR_BAD_MODEL,
         "intermediate_size"},
        {"\"num_attention_heads\":32", "\"num_attention_heads\":30", SILKIE_ERR_BAD_MODEL,
         "num_attention_heads"},
        {"\"kv_channels\":128", "\"kv_channels\":64", SILKIE_ERR_BAD_MODEL, "kv_channels"},
        {"\"hidden_size\":4096", "\"hidden_size\":-4096", SILKIE_ERR_BAD_MODEL, "'hidden_size'"},
        {"\"hidden_size\":4096", "\"hidden_size\":0", SILKIE_ERR_BAD_MODEL, "'hidden_size'"},
        {"\"hidden_size\":4096", "\"hidden_size\":1e12", SILKIE_ERR_BAD_MODEL, "'hidden_size'"},
        {"\"hidden_size\":4096", "\"hidden_size\":4096.5", SILKIE_ERR_BAD_MODEL,
         "'hidden_size'"},
        {"\"hidden_size\":4096", "\"hidden_size\":\"4096\"", SILKIE_ERR_BAD_MODEL,
         "'hidden_size'"},
        {"\"vocab_size\":151936", "\"vocab_size\":1e9", SILKIE_ERR_BAD_MODEL, "'vocab_size'"},
        {"\"use_logn_attn\":true", "\"use_logn_attn\":1", SILKIE_ERR_BAD_MODEL,
         "'use_logn_attn'"},
        {"\"rotary_pct\":1.0", "\"rotary_pct\":2.0", SILKIE_ERR_BAD_MODEL, "'rotary_pct'"},
        {"\"layer_norm_epsilon\":1e-6", "\"layer_norm_epsilon\":-1", SILKIE_ERR_BAD_MODEL,
         "'layer_norm_epsilon'"},
        {"\"visual\":{", "\"vis\":{", SILKIE_ERR_BAD_MODEL, "'visual'"},
        {"\"image_size\":448,", "", SILKIE_ERR_BAD_MODEL, "'visual.image_size'"},
        {"\"patch_size\":14,", "", SILKIE_ERR_BAD_MODEL, "'visual.patch_size'"},
        {"\"width\":1664,", "", SILKIE_ERR_BAD_MODEL, "'visual.width'"},
        {"\"layers\":48,", "", SILKIE_ERR_BAD_MODEL, "'visual.layers'"},
        {"\"heads\":16,", "", SILKIE_ERR_BAD_MODEL, "'visual.heads'"},
        {"\"mlp_ratio\":4.9231,", "", SILKIE_ERR_BAD_MODEL, "'visual.mlp_ratio'"},
        {"\"output_dim\":4096,", "", SILKIE_ERR_BAD_MODEL, "'visual.output_dim'"},
        {",\"image_start_id\":151857", "", SILKIE_ERR_BAD_MODEL, "'visual.image_start_id'"},
        {"\"heads\":16", "\"heads\":15", SILKIE_ERR_BAD_MODEL, "visual.heads"},
        {"\"image_size\":448", "\"image_size\":450", SILKIE_ERR_BAD_MODEL, "visual.image_size"},
        {"\"image_size\":448", "\"n_queries\":255,\"image_size\":448", SILKIE_ERR_BAD_MODEL,
         "visual.n_queries"},
        {"\"image_size\":448", "\"n_queries\":0,\"image_size\":448", SILKIE_ERR_BAD_MODEL,
         "visual.n_queries"},
        {"\"output_dim\":4096", "\"output_dim\":4000", SILKIE_ERR_BAD_MODEL, "visual.output_dim"},
        {"\"output_dim\":4096", "\"output_dim\":2048", SILKIE_ERR_BAD_MODEL, "hidden_size"},
        {"\"image_size\":448", "\"image_size\":100000", SILKIE_ERR_BAD_MODEL,
         "'visual.image_size'"},
        {"\"mlp_ratio\":4.9231", "\"mlp_ratio\":0", SILKIE_ERR_BAD_MODEL, "'visual.mlp_ratio'"},
        {"\"image_start_id\":151857", "\"image_start_id\":151935", SILKIE_ERR_BAD_MODEL,
         "'visual.image_start_id'"},
        {"\"visual\":{", "\"visual\":[{", SILKIE_ERR_BAD_FILE, "JSON"},
        {"{", "[", SILKIE_ERR_BAD_FILE, "JSON"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        silkie_model_config c;
        silkie_status st = parse_replace(cases[i].from, cases[i].to, &c);
        SK_TEST_CHECK(st == cases[i].want, "case %zu (%s -> %s): %s (%s)", i, cases[i].from,
                      cases[i].to, silkie_status_name(st), silkie_last_error());
        SK_TEST_CHECK(strstr(silkie_last_error(), cases[i].needle), "case %zu: '%s' lacks '%s'",
                      i, silkie_last_error(), cases[i].needle);
        SK_TEST_CHECK(c.hidden_size == 0, "case %zu: output zeroed on failure", i);
    }
    silkie_model_config c;
    SK_TEST_STATUS(silkie_model_config_parse("[]", 2, NULL, &c), SILKIE_ERR_BAD_FILE);
    SK_TEST_STATUS(silkie_model_config_parse("{\"a\":", 5, NULL, &c), SILKIE_ERR_BAD_FILE);
    SK_TEST_STATUS(silkie_model_config_parse("", 0, NULL, &c), SILKIE_ERR_BAD_FILE);
    SK_TEST_STATUS(silkie_model_config_parse(NULL, 0, NULL, &c), SILKIE_ERR_INVALID_ARGUMENT);
    /* Length is honoured: text after len is not read. */
    const char *two = "{\"model_type\":\"qwen\"}garbage";
    SK_TEST_STATUS(silkie_model_config_parse(two, 21, NULL, &c), SILKIE_ERR_BAD_MODEL);
    SK_TEST_CHECK(strstr(silkie_last_error(), "'vocab_size'"), "%s", silkie_last_error());
}

static void test_generation(void)
{
    silkie_generation_config g;
    silkie_generation_config_defaults(&g);
    SK_TEST_CHECK(g.eos_token_id == 151643 && g.pad_token_id == 151643 && g.max_new_tokens == 512
                      && g.max_window_size == 6144 && g.do_sample && g.top_k == 0 &&
                      g.top_p == 0.3f && g.temperature == 1.0f && g.repetition_penalty == 1.0f,
                  "defaults");
    const char *j = "{\"eos_token_id\":[7,8],\"top_p\":0.5,\"top_k\":20,\"temperature\":0.7,"
                    "\"do_sample\":false,\"repetition_penalty\":1.1,\"max_new_tokens\":64}";
    SK_TEST_OK(silkie_generation_config_parse(j, strlen(j), NULL, &g));
    SK_TEST_CHECK(g.eos_token_id == 7 && g.pad_token_id == 7 && g.top_p == 0.5f && g.top_k == 20
                      && g.temperature == 0.7f && !g.do_sample && g.repetition_penalty == 1.1f &&
                      g.max_new_tokens == 64 && g.max_window_size == 6144, "parsed");
    const char *bad[] = {"{\"top_p\":0}", "{\"top_p\":1.5}", "{\"top_k\":-1}",
                         "{\"eos_token_id\":[]}", "{\"eos_token_id\":\"x\"}",
                         "{\"temperature\":-1}", "{\"do_sample\":\"yes\"}"};
    const char *keys[] = {"top_p", "top_p", "top_k", "eos_token_id", "eos_token_id",
                          "temperature", "do_sample"};
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++) {
        SK_TEST_STATUS(silkie_generation_config_parse(bad[i], strlen(bad[i]), NULL, &g),
                       SILKIE_ERR_BAD_MODEL);
        SK_TEST_CHECK(strstr(silkie_last_error(), keys[i]), "%s: %s", bad[i],
                      silkie_last_error());
    }
    SK_TEST_STATUS(silkie_generation_config_parse("{", 1, NULL, &g), SILKIE_ERR_BAD_FILE);
}

static void test_golden(void)
{
    const char *shared = sk_shared_dir();
    if (!shared) {
        fprintf(stderr, "shared folder missing: golden part skipped\n");
        return;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/golden/tiny-a/model", shared);
    silkie_model_config c;
    silkie_generation_config g;
    SK_TEST_OK(silkie_model_config_load(dir, &c, &g));
    SK_TEST_CHECK(c.hidden_size == 128 && c.n_layers == 2 && c.n_heads == 4 && c.head_dim == 32 &&
                      c.mlp_width == 344 && c.vocab_size == 151936, "tiny-a LLM");
    SK_TEST_CHECK(c.visual.image_size == 112 && c.visual.patch_grid == 8 && c.visual.width == 48 &&
                      c.visual.heads == 4 && c.visual.head_dim == 12 && c.visual.mlp_width == 192 &&
                      c.visual.n_queries == 16 && c.visual.query_grid == 4 &&
                      c.visual.pool_heads == 1 && c.visual.output_dim == 128, "tiny-a vision");
    SK_TEST_CHECK(g.top_p == 0.3f && g.eos_token_id == 151643 && g.max_window_size == 6144,
                  "tiny-a generation");
    SK_TEST_STATUS(silkie_model_config_load("no/such/dir", &c, &g), SILKIE_ERR_IO);
}

int main(void)
{
    int64_t live = silkie_alloc_live();
    test_release();
    test_invalid();
    test_generation();
    test_golden();
    SK_TEST_CHECK(silkie_alloc_live() == live, "leak");
    return sk_test_result("test_model_config");
}
