/* silkie_gguf_pack_qwen's packing options on the golden tiny-a checkpoint, pure CPU (no
 * self-test):
 * - per-tensor types by GGUF name, Hugging Face name and glob, the last match winning, and the
 *   refusals (a pattern matching nothing, q4_0 for rows that are not whole blocks, a block type
 *   for a vision tensor), each naming the pattern, with no file left behind;
 * - the progress callback: monotonic, ending at its total;
 * - tokenizer.chat_template in the LLM file, and the integrity keys of both files of a split
 *   pair (they verify; the self-test keys are absent without a self-test);
 * - the self-test hook: called with the finished file under its temporary name (the mmproj
 *   sibling beside it), its outputs sealed into the file; a failing hook fails the pack and
 *   leaves no file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model/model.h"

typedef struct prog {
    uint64_t last, total;
    int calls, backwards;
} prog;

static void on_progress(const char *stage, uint64_t done, uint64_t total, void *user)
{
    prog *p = user;
    if (strncmp(stage, "packing", 7) != 0) return;
    if (p->total != total) p->last = 0; /* a new file of a split pair */
    if (done < p->last || done > total) p->backwards++;
    p->last = done;
    p->total = total;
    p->calls++;
}

static silkie_dtype type_of(const silkie_weights *w, const char *name)
{
    const silkie_weight *t = silkie_weights_find(w, name);
    SK_TEST_CHECK(t != NULL, "tensor %s missing", name);
    return t ? t->dtype : SILKIE_DTYPE_MAX_;
}

/* A stand-in for the device run: checks what it is given and records made-up outputs. */
static silkie_status fake_selftest(void *user, const char *path, silkie_gguf_selftest *v)
{
    int *mode = user;
    char sib[1100];
    const char *slash = strrchr(path, '/');
    snprintf(sib, sizeof sib, "%.*smmproj-%s", slash ? (int)(slash - path + 1) : 0, path,
             slash ? slash + 1 : path);
    FILE *f = fopen(sib, "rb");
    SK_TEST_CHECK(f && strstr(path, ".tmp.gguf") && v->image_width && v->prompt[0],
                  "self-test hook: path %s, sibling %s", path, f ? "there" : "missing");
    if (f) fclose(f);
    if (*mode) return SK_FAIL(SILKIE_ERR_NO_DEVICE, "fake: no device");
    v->n_prompt = 77;
    for (uint32_t i = 0; i < SILKIE_SELFTEST_TOP_K; i++) {
        v->top_ids[i] = (int32_t)(1000 + i);
        v->top_logits[i] = 3.0f - 0.25f * (float)i;
    }
    for (uint32_t i = 0; i < SILKIE_SELFTEST_TOKENS; i++) v->tokens[i] = (int32_t)(2000 + i);
    return SILKIE_OK;
}

static int leftovers(void)
{
    int n = 0;
    DIR *d = opendir(".");
    for (struct dirent *e; d && (e = readdir(d));)
        if (strstr(e->d_name, "pack_types") && strstr(e->d_name, ".gguf")) n++;
    if (d) closedir(d);
    return n;
}

static void verify_file(const char *path)
{
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_open(path, &w));
    if (w) SK_TEST_OK(silkie_weights_verify(w, path, NULL, NULL));
    silkie_weights_close(w);
}

int main(void)
{
    const char *shared = sk_shared_dir();
    if (!shared) {
        fprintf(stderr, "shared folder missing\n");
        return 77;
    }
    char model[1024];
    snprintf(model, sizeof model, "%s/golden/tiny-a/model", shared);

    const silkie_gguf_tensor_type over[] = {
        {"blk.*.ffn_up.weight", SILKIE_DTYPE_Q4_0},             /* glob of GGUF names */
        {"transformer.h.1.mlp.w1.weight", SILKIE_DTYPE_F32},    /* HF name, wins for block 1 */
        {"transformer.ln_f.weight", SILKIE_DTYPE_F16},          /* a norm */
        {"v.blk.0.attn_?.weight", SILKIE_DTYPE_BF16},           /* split q/k/v of one tensor */
    };
    prog pr = {0};
    silkie_gguf_pack_params p = {.llm_type = SILKIE_DTYPE_Q8_0,
                                 .vision_type = SILKIE_DTYPE_F16,
                                 .split = true,
                                 .overrides = over,
                                 .n_overrides = SK_ARRAY_LEN(over),
                                 .progress = on_progress,
                                 .progress_user = &pr};
    SK_TEST_OK(silkie_gguf_pack_qwen(model, "pack_types.gguf", &p));
    SK_TEST_CHECK(pr.calls > 2 && !pr.backwards && pr.last == pr.total,
                  "progress: %d calls, %d backwards, ends at %llu of %llu", pr.calls,
                  pr.backwards, (unsigned long long)pr.last, (unsigned long long)pr.total);
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_open("pack_types.gguf", &w));
    if (w) {
        SK_TEST_CHECK(type_of(w, "blk.0.ffn_up.weight") == SILKIE_DTYPE_Q4_0, "glob");
        SK_TEST_CHECK(type_of(w, "blk.1.ffn_up.weight") == SILKIE_DTYPE_F32, "last match");
        SK_TEST_CHECK(type_of(w, "blk.0.ffn_gate.weight") == SILKIE_DTYPE_Q8_0, "default");
        SK_TEST_CHECK(type_of(w, "output_norm.weight") == SILKIE_DTYPE_F16, "norm");
        const silkie_gguf *g = silkie_weights_gguf(w);
        const char *tpl = NULL;
        size_t n = 0;
        SK_TEST_OK(silkie_gguf_get_str(g, "tokenizer.chat_template", &tpl, &n));
        SK_TEST_CHECK(tpl && memmem(tpl, n, "<|im_start|>assistant\n", 22), "chat template");
        silkie_gguf_selftest v;
        bool present = true;
        SK_TEST_OK(silkie_gguf_selftest_read(g, &v, &present));
        SK_TEST_CHECK(!present, "no self-test keys without a self-test");
    }
    silkie_weights_close(w);
    w = NULL;
    SK_TEST_OK(silkie_weights_open("mmproj-pack_types.gguf", &w));
    if (w) {
        SK_TEST_CHECK(type_of(w, "v.blk.0.attn_q.weight") == SILKIE_DTYPE_BF16 &&
                          type_of(w, "v.blk.0.attn_v.weight") == SILKIE_DTYPE_BF16 &&
                          type_of(w, "v.blk.1.attn_q.weight") == SILKIE_DTYPE_F16,
                      "vision q/k/v of block 0 only");
        SK_TEST_CHECK(!silkie_gguf_find_kv(silkie_weights_gguf(w), "tokenizer.chat_template"),
                      "no chat template in the mmproj file");
    }
    silkie_weights_close(w);
    verify_file("pack_types.gguf");
    verify_file("mmproj-pack_types.gguf");
    remove("pack_types.gguf");
    remove("mmproj-pack_types.gguf");

    /* Refusals: nothing is written, the message names the pattern. */
    static const struct {
        silkie_gguf_tensor_type t;
        const char *want;
    } bad[] = {
        {{"blk.*.nothing", SILKIE_DTYPE_F16}, "matches no tensor"},
        {{"blk.0.ffn_down.weight", SILKIE_DTYPE_Q4_0}, "not whole blocks of 32"},
        {{"v.blk.0.ffn_up.weight", SILKIE_DTYPE_Q8_0}, "vision tower"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++) {
        silkie_gguf_pack_params b = {.llm_type = SILKIE_DTYPE_F16,
                                     .vision_type = SILKIE_DTYPE_F16,
                                     .overrides = &bad[i].t,
                                     .n_overrides = 1};
        SK_TEST_STATUS(silkie_gguf_pack_qwen(model, "pack_types_bad.gguf", &b),
                       SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_CHECK(strstr(silkie_last_error(), bad[i].t.pattern) &&
                          strstr(silkie_last_error(), bad[i].want),
                      "refusal %zu: '%s'", i, silkie_last_error());
        SK_TEST_CHECK(leftovers() == 0, "refusal %zu left a file behind", i);
    }
    /* The self-test hook. */
    int mode = 0;
    silkie_gguf_pack_params t = {.llm_type = SILKIE_DTYPE_F16,
                                 .vision_type = SILKIE_DTYPE_F16,
                                 .split = true,
                                 .selftest = fake_selftest,
                                 .selftest_user = &mode};
    SK_TEST_OK(silkie_gguf_pack_qwen(model, "pack_types_st.gguf", &t));
    verify_file("pack_types_st.gguf");
    w = NULL;
    SK_TEST_OK(silkie_weights_open("pack_types_st.gguf", &w));
    silkie_gguf_selftest v;
    bool present = false;
    if (w) SK_TEST_OK(silkie_gguf_selftest_read(silkie_weights_gguf(w), &v, &present));
    SK_TEST_CHECK(present && v.n_prompt == 77 && v.top_ids[7] == 1007 && v.tokens[0] == 2000 &&
                      !strcmp(v.kv_type == SILKIE_DTYPE_F16 ? "f16" : "f32", "f16"),
                  "self-test vector sealed into the file");
    silkie_weights_close(w);
    remove("pack_types_st.gguf");
    remove("mmproj-pack_types_st.gguf");
    mode = 1;
    SK_TEST_STATUS(silkie_gguf_pack_qwen(model, "pack_types_st.gguf", &t), SILKIE_ERR_NO_DEVICE);
    SK_TEST_CHECK(leftovers() == 0, "a failed self-test left a file behind");
    return sk_test_result("test_pack_types");
}
