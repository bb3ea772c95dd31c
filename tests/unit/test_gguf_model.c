/* Qwen-VL as one GGUF file, on the CPU side: a Hugging Face folder (the golden tiny-a model) is
 * packed with silkie_gguf_pack_qwen, and what comes back must equal the folder's: the config and
 * generation config from metadata, the tokenizer rebuilt from tokenizer.ggml.* (every id decodes
 * to the same bytes, text encodes to the same ids), merges that re-form their token, every
 * tensor of the weight check, the upsampled vision tables (against the reference bicubic of the
 * raw tables) and every other tensor exact (bf16 as stored, or its f32 value). */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model/model.h"
#include "ref/ref.h"
#include "silkie/silkie_text.h"

static char *join(char *buf, size_t cap, const char *a, const char *b)
{
    int n = snprintf(buf, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap) buf[0] = 0;
    return buf;
}

static void check_config(const silkie_gguf *g, const char *dir)
{
    silkie_model_config want, got;
    silkie_generation_config gwant, ggot;
    bool vis = false;
    SK_TEST_OK(silkie_model_config_load(dir, &want, &gwant));
    SK_TEST_OK(silkie_model_config_from_gguf(g, &got, &ggot, &vis));
    SK_TEST_CHECK(vis, "vision tower flagged absent");
    /* mlp_ratio is not stored: the MLP width it yields is. */
    got.visual.mlp_ratio = want.visual.mlp_ratio;
    SK_TEST_CHECK(memcmp(&want, &got, sizeof want) == 0, "model config differs");
    /* Field by field: the struct has padding after do_sample. */
    SK_TEST_CHECK(gwant.eos_token_id == ggot.eos_token_id &&
                      gwant.pad_token_id == ggot.pad_token_id &&
                      gwant.max_new_tokens == ggot.max_new_tokens &&
                      gwant.max_window_size == ggot.max_window_size &&
                      gwant.do_sample == ggot.do_sample && gwant.top_k == ggot.top_k &&
                      gwant.top_p == ggot.top_p && gwant.temperature == ggot.temperature &&
                      gwant.repetition_penalty == ggot.repetition_penalty,
                  "generation config differs");
    printf("  config: %u layers, vocab %u, vision %ux%u, %u queries\n", got.n_layers,
           got.vocab_size, got.visual.image_size, got.visual.image_size, got.visual.n_queries);
}

static void check_tokenizer(const char *gguf, const char *dir, const silkie_gguf *g)
{
    char p[4096];
    silkie_tokenizer *a = NULL, *b = NULL;
    SK_TEST_OK(silkie_tokenizer_load(join(p, sizeof p, dir, "qwen.tiktoken"), &a));
    SK_TEST_OK(silkie_tokenizer_load_gguf(gguf, &b));
    if (!a || !b) goto done;
    uint32_t n = silkie_tokenizer_n_vocab(a);
    SK_TEST_CHECK(n == silkie_tokenizer_n_vocab(b), "n_vocab %u vs %u", n,
                  silkie_tokenizer_n_vocab(b));
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n && bad < 5; i++) {
        int32_t id = (int32_t)i;
        char *ta = NULL, *tb = NULL;
        size_t la = 0, lb = 0;
        /* A lone <img> is an unclosed span: both must refuse it alike. */
        silkie_status sa = silkie_tokenizer_decode(a, &id, 1, 0, &ta, &la);
        silkie_status sb = silkie_tokenizer_decode(b, &id, 1, 0, &tb, &lb);
        if (sa != sb || (sa == SILKIE_OK && (la != lb || memcmp(ta, tb, la) != 0))) {
            bad++;
            SK_TEST_CHECK(0, "id %u decodes differently", i);
        }
        silkie_text_free(ta);
        silkie_text_free(tb);
    }
    static const char *const texts[] = {
        "Picture 1: <img>hopper.jpg</img>\nWhat is in this picture? Answer briefly.",
        "<|im_start|>user\n你好，世界！ It's 2024-11-26; émigré naïve café 🙂<|im_end|>",
        "  leading spaces\r\n\ttabs and 12345 digits <ref>the cat</ref><box>(1,2),(3,4)</box>"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        silkie_token_list *la = NULL, *lb = NULL;
        SK_TEST_OK(silkie_tokenizer_encode(a, texts[k], strlen(texts[k]), NULL, &la));
        SK_TEST_OK(silkie_tokenizer_encode(b, texts[k], strlen(texts[k]), NULL, &lb));
        size_t na = silkie_token_list_size(la);
        SK_TEST_CHECK(la && lb && na == silkie_token_list_size(lb) &&
                          memcmp(silkie_token_list_ids(la), silkie_token_list_ids(lb),
                                 na * sizeof(int32_t)) == 0,
                      "text %zu encodes differently", k);
        silkie_token_list_destroy(la);
        silkie_token_list_destroy(lb);
    }
    /* Merge i forms token 256 + i: its two halves, concatenated, are the token's string. */
    const silkie_gguf_kv *tk = silkie_gguf_find_kv(g, "tokenizer.ggml.tokens");
    const silkie_gguf_kv *mk = silkie_gguf_find_kv(g, "tokenizer.ggml.merges");
    SK_TEST_CHECK(tk && mk && tk->n == 151936 && mk->n == 151643 - 256, "%llu tokens, %llu merges",
                  tk ? (unsigned long long)tk->n : 0ull, mk ? (unsigned long long)mk->n : 0ull);
    for (uint64_t i = 0; tk && mk && i < mk->n && bad < 5; i++) {
        const char *m, *t, *sp;
        size_t ml, tl;
        if (silkie_gguf_arr_str(mk, i, &m, &ml) != SILKIE_OK ||
            silkie_gguf_arr_str(tk, 256 + i, &t, &tl) != SILKIE_OK ||
            !(sp = memchr(m, ' ', ml)) || ml - 1 != tl ||
            memcmp(m, t, (size_t)(sp - m)) != 0 || memcmp(sp + 1, t + (sp - m), tl - (sp - m))) {
            bad++;
            SK_TEST_CHECK(0, "merge %llu does not form token %llu", (unsigned long long)i,
                          (unsigned long long)(256 + i));
        }
    }
    const char *s;
    size_t len;
    SK_TEST_CHECK(tk && silkie_gguf_arr_str(tk, 220, &s, &len) == SILKIE_OK && len == 2 &&
                      memcmp(s, "\xC4\xA0", 2) == 0, "rank 220 (space) is not rendered as U+0120");
    SK_TEST_CHECK(tk && silkie_gguf_arr_str(tk, 151935, &s, &len) == SILKIE_OK &&
                      len == 11 && memcmp(s, "[PAD151935]", 11) == 0, "last id is not a pad");
    printf("  tokenizer: %u ids decode identically, %llu merges re-form their tokens\n", n,
           mk ? (unsigned long long)mk->n : 0ull);
done:
    silkie_tokenizer_destroy(a);
    silkie_tokenizer_destroy(b);
}

static void check_table(const silkie_weights *hf, const char *hf_name, const silkie_weights *gg,
                        const char *name, uint32_t grid, uint32_t out_grid)
{
    const silkie_weight *s = silkie_weights_find(hf, hf_name), *t = silkie_weights_find(gg, name);
    if (!s || !t || t->dtype != SILKIE_DTYPE_F32) {
        SK_TEST_CHECK(0, "table %s missing or not f32", name);
        return;
    }
    uint64_t D = s->shape[1], n = (uint64_t)out_grid * out_grid * D;
    SK_TEST_CHECK(t->n_dims == 2 && t->shape[0] == (uint64_t)out_grid * out_grid &&
                      t->shape[1] == D, "%s shape", name);
    float *src = malloc(s->shape[0] * D * sizeof(float)), *want = malloc(n * sizeof(float));
    silkie_ref_dequant_row(s->dtype, s->data, src, s->shape[0] * D);
    silkie_ref_interp_bicubic(src, grid, grid, (uint32_t)D, want, out_grid, out_grid);
    SK_TEST_CHECK(t->nbytes == n * 4 && memcmp(t->data, want, n * 4) == 0,
                  "%s is not the bicubic upsample of %s", name, hf_name);
    free(src);
    free(want);
}

static void check_weights(const char *gguf, const char *dir)
{
    silkie_weights *hf = NULL, *gg = NULL;
    silkie_model_config cfg;
    SK_TEST_OK(silkie_model_config_load(dir, &cfg, NULL));
    SK_TEST_OK(silkie_weights_open(dir, &hf));
    SK_TEST_OK(silkie_weights_open(gguf, &gg));
    if (!hf || !gg) goto done;
    SK_TEST_OK(silkie_weights_check_qwen_vl(gg, &cfg));
    const silkie_vision_config *v = &cfg.visual;
    check_table(hf, "transformer.visual.positional_embedding", gg, "v.position_embd.weight", 16,
                v->patch_grid);
    check_table(hf, "transformer.visual.attn_pool.pos_embed", gg, "resampler.pos_embed_k",
                v->query_grid, v->patch_grid);
    /* One-to-one tensors come through as the exact f32 value of each stored element. */
    uint32_t same = 0;
    for (uint32_t i = 0; i < silkie_weights_count(gg); i++) {
        const silkie_weight *t = silkie_weights_at(gg, i);
        char hn[160];
        if (!silkie_gguf_name_to_hf(t->name, hn, sizeof hn) || strstr(hn, "positional") ||
            strcmp(hn, "transformer.visual.proj") == 0)
            continue;
        const silkie_weight *s = silkie_weights_find(hf, hn);
        if (!s) continue;
        uint64_t n = 1;
        for (uint32_t d = 0; d < s->n_dims; d++) n *= s->shape[d];
        float *f = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
        silkie_ref_dequant_row(s->dtype, s->data, f, n);
        bool ok = t->dtype == SILKIE_DTYPE_F32 || t->dtype == SILKIE_DTYPE_BF16;
        if (ok) silkie_ref_dequant_row(t->dtype, t->data, g, n);
        SK_TEST_CHECK(ok && memcmp(f, g, n * 4) == 0, "%s differs from %s", t->name, hn);
        free(f);
        free(g);
        same++;
    }
    SK_TEST_CHECK(same > 20, "only %u tensors compared", same);
    printf("  weights: check passes, %u tensors exact, tables upsampled\n", same);
done:
    silkie_weights_close(hf);
    silkie_weights_close(gg);
}

/* The llama.cpp-style pair: LLM file + mmproj sibling opens as one model; without the sibling
 * the LLM file is a text-only model. */
static void check_split(const char *dir)
{
    const char *out = "test_gguf_model_split.gguf";
    char mmproj[256];
    /* q4_0: the smallest file; nothing here compares values. */
    silkie_gguf_pack_params p = {.llm_type = SILKIE_DTYPE_Q4_0, .vision_type = SILKIE_DTYPE_BF16,
                                 .split = true};
    SK_TEST_OK(silkie_gguf_pack_qwen(dir, out, &p));
    SK_TEST_OK(silkie_qwen_gguf_mmproj_path(out, mmproj, sizeof mmproj));
    SK_TEST_CHECK(strcmp(mmproj, "mmproj-test_gguf_model_split.gguf") == 0, "mmproj path %s",
                  mmproj);
    silkie_model_config want, got;
    SK_TEST_OK(silkie_model_config_load(dir, &want, NULL));
    silkie_weights *w = NULL, *v = NULL;
    bool vis = false;
    SK_TEST_OK(silkie_qwen_gguf_open(out, &w, &got, NULL, &vis));
    got.visual.mlp_ratio = want.visual.mlp_ratio;
    SK_TEST_CHECK(vis && memcmp(&want, &got, sizeof want) == 0, "split pair config differs");
    if (w) SK_TEST_OK(silkie_weights_check_qwen_vl(w, &want));
    SK_TEST_OK(silkie_weights_open(mmproj, &v));
    const char *arch = NULL;
    size_t alen = 0;
    SK_TEST_CHECK(v && silkie_gguf_get_str(silkie_weights_gguf(v), "general.architecture", &arch,
                                           &alen) == SILKIE_OK && alen == 4 &&
                      memcmp(arch, "clip", 4) == 0 &&
                      silkie_weights_find(v, "resampler.pos_embed_k") &&
                      !silkie_weights_find(v, "token_embd.weight"),
                  "mmproj file is not the clip part");
    silkie_weights_close(v);
    silkie_weights_close(w);
    w = NULL;
    /* Allocation failures anywhere in opening the pair: OUT_OF_MEMORY, nothing leaked. */
    int64_t live = silkie_alloc_live();
    uint64_t n = 1;
    for (; n < 10000; n++) {
        silkie_alloc_fail_at(n);
        silkie_status st = silkie_qwen_gguf_open(out, &w, &got, NULL, &vis);
        silkie_alloc_fail_at(0);
        silkie_weights_close(w);
        SK_TEST_CHECK(silkie_alloc_live() == live, "open fails at %llu and leaks",
                      (unsigned long long)n);
        if (st == SILKIE_OK) break;
        SK_TEST_CHECK(st == SILKIE_ERR_OUT_OF_MEMORY && !w, "open fails at %llu: %s",
                      (unsigned long long)n, silkie_last_error());
        w = NULL;
    }
    w = NULL;
    SK_TEST_CHECK(n > 1 && n < 10000, "allocation sweep ended at %llu", (unsigned long long)n);
    remove(mmproj);
    vis = true;
    SK_TEST_OK(silkie_qwen_gguf_open(out, &w, &got, NULL, &vis));
    SK_TEST_CHECK(!vis && w && !silkie_weights_find(w, "v.patch_embd.weight"),
                  "LLM file alone is not text-only");
    silkie_weights_close(w);
    remove(out);
    printf("  split: LLM + mmproj pair opens as one model (%llu allocation points swept), the "
           "LLM file alone as text-only\n", (unsigned long long)n);
}

/* Damaged tokenizer metadata must be refused with a status, not crash. */
static void check_hostile(void)
{
    silkie_tokenizer *t = NULL;
    SK_TEST_CHECK(silkie_tokenizer_load_gguf("no-such-file.gguf", &t) != SILKIE_OK && !t,
                  "missing file accepted");
    silkie_gguf_writer *w = NULL;
    SK_TEST_OK(silkie_gguf_writer_create("bad_vocab.gguf", 0, &w));
    const char *toks[] = {"a", "b", "\x01"}; /* U+0001 is not in the GPT-2 byte map */
    int32_t types[] = {1, 1, 1};
    SK_TEST_OK(silkie_gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2"));
    SK_TEST_OK(silkie_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 3));
    SK_TEST_OK(silkie_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", SILKIE_GGUF_I32,
                                          types, 3));
    SK_TEST_OK(silkie_gguf_writer_finish(w));
    SK_TEST_STATUS(silkie_tokenizer_load_gguf("bad_vocab.gguf", &t), SILKIE_ERR_BAD_MODEL);
    remove("bad_vocab.gguf");
}

int main(int argc, char **argv)
{
    char dir[4096], out[4096];
    if (argc > 1) snprintf(dir, sizeof dir, "%s", argv[1]);
    else if (sk_shared_dir()) snprintf(dir, sizeof dir, "%s/golden/tiny-a/model", sk_shared_dir());
    else {
        fprintf(stderr, "no shared reference folder\n");
        return 77;
    }
    snprintf(out, sizeof out, "test_gguf_model.gguf");
    /* bf16 like the source: half the bytes of f32, and still exact element for element. */
    silkie_gguf_pack_params p = {.llm_type = SILKIE_DTYPE_BF16, .vision_type = SILKIE_DTYPE_BF16};
    SK_TEST_OK(silkie_gguf_pack_qwen(dir, out, &p));
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_open(out, &w));
    if (w) {
        check_config(silkie_weights_gguf(w), dir);
        check_tokenizer(out, dir, silkie_weights_gguf(w));
    }
    silkie_weights_close(w);
    check_weights(out, dir);
    check_split(dir);
    check_hostile();
    remove(out);
    return sk_test_result("test_gguf_model");
}
