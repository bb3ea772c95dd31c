/* PEFT LoRA adapters through the public API, on the golden tiny-a model and its adapter
 * (r = 4, alpha = 8, on c_attn, attn.c_proj, w1, w2 and mlp.c_proj of both layers):
 *
 * 1. silkie_model_params.adapter changes the prompt logits; silkie_model_set_adapter on a base
 *    model gives sessions created afterwards the very same logits, while a session created
 *    before keeps the base model's; removing the adapter restores the base bit for bit.
 * 2. An adapter saved with lora_dropout > 0 runs without dropout (same logits).
 * 3. Misfit adapters (a tensor of another shape; targets that match nothing) are refused with
 *    SILKIE_ERR_BAD_MODEL naming the tensor, at load and by set_adapter, and a failed
 *    set_adapter keeps the previous adapter.
 * 4. Other base storage types with the adapter: bf16 (the golden weights are bf16-exact) within
 *    1e-4 of f32 relative to max|logit|, q8_0 with the same top-1 token, q4_0 far nearer the
 *    f32 adapted logits than to the base's. */
#include <stdlib.h>
#include <string.h>

#include "adapter_fixture.h"
#include "api_common.h"
#include "harness_model.h"
#include "model/model.h"

#define N_ANSWER 4
static const char *const k_question = "What is in the picture?";

typedef struct run {
    float *logits; /* [n_vocab] prompt_logits_last */
    int64_t ids[N_ANSWER];
    uint32_t n_ids;
} run;

static uint32_t g_vocab;

static void run_free(run *r)
{
    free(r->logits);
    memset(r, 0, sizeof *r);
}

/* Asks the question about the case's image in session s (its first question) with the
 * verification dump on, and keeps the prompt logits and greedy ids. */
static int ask(silkie_session *s, run *out)
{
    memset(out, 0, sizeof *out);
    const char *dump = api_tmp_path(0, "dump.safetensors");
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.max_new_tokens = N_ANSWER;
    ap.no_stop = 1;
    ap.dump_path = dump;
    SK_TEST_OK(silkie_session_add_image_file(s, api_case_file(0, "hopper.jpg")));
    silkie_status st = silkie_session_ask(s, k_question, &ap);
    SK_TEST_OK(st);
    if (st != SILKIE_OK) return 0;
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_open(dump, &w));
    const silkie_weight *l = w ? silkie_weights_find(w, "prompt_logits_last") : NULL;
    const silkie_weight *g = w ? silkie_weights_find(w, "greedy_ids") : NULL;
    int ok = l && g && l->nbytes == (size_t)g_vocab * sizeof(float);
    SK_TEST_CHECK(ok, "dump lacks prompt_logits_last or greedy_ids");
    if (ok) {
        out->logits = malloc(l->nbytes);
        ok = out->logits != NULL;
        if (ok) memcpy(out->logits, l->data, l->nbytes);
        out->n_ids = (uint32_t)SK_MIN(g->nbytes / 8, (size_t)N_ANSWER);
        memcpy(out->ids, g->data, out->n_ids * 8);
    }
    silkie_weights_close(w);
    remove(dump);
    return ok;
}

/* A fresh greedy session of m (f32 cache) asked the question. */
static int ask_new(silkie_model *m, run *out)
{
    silkie_session_params sp;
    sk_test_greedy_params(&sp, SILKIE_DTYPE_F32, 512);
    silkie_session *s = NULL;
    SK_TEST_OK(silkie_session_create(m, &sp, &s));
    int ok = s && ask(s, out);
    silkie_session_destroy(s);
    return ok;
}

static uint32_t argmax(const float *x)
{
    uint32_t a = 0;
    for (uint32_t i = 1; i < g_vocab; i++)
        if (x[i] > x[a]) a = i;
    return a;
}

/* max|a - b| / max|a|. */
static double rel_diff(const run *a, const run *b)
{
    double m = sk_max_abs(a->logits, g_vocab);
    return sk_max_abs_diff(a->logits, b->logits, g_vocab) / (m > 0 ? m : 1);
}

static void same_run(const char *what, const run *a, const run *b)
{
    int same = a->logits && b->logits &&
               !memcmp(a->logits, b->logits, g_vocab * sizeof(float)) && a->n_ids == b->n_ids &&
               !memcmp(a->ids, b->ids, a->n_ids * 8);
    printf("  %-44s %s (logits max|diff| %.3g of max|x|)\n", what, same ? "identical" : "DIFFER",
           a->logits && b->logits ? rel_diff(a, b) : -1.0);
    SK_TEST_CHECK(same, "%s: logits or greedy ids differ", what);
}

static silkie_status load(const char *adapter, silkie_dtype wt, silkie_model **m)
{
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    mp.weight_type = wt;
    mp.vision_type = SILKIE_DTYPE_F32;
    mp.adapter = adapter;
    return silkie_model_load(api_model_dir(), &mp, m);
}

/* The golden adapter's tensors with targets that match no module of the model. */
static const char *nomatch_adapter(const char *lora)
{
    const char *dir = api_tmp_path(2, "nomatch");
    SK_TEST_CHECK(adapter_copy_tensors(lora, dir) &&
                      adapter_write_config(dir, "[\"q_proj\", \"v_proj\"]", 0.0),
                  "writing %s", dir);
    return dir;
}

/* The golden adapter saved with lora_dropout 0.1 (a training setting); its targets as a regex
 * (JSON text, so each regex backslash is doubled). */
static const char *dropout_adapter(const char *lora)
{
    static const char targets[] = "\"transformer\\\\.h\\\\.\\\\d+\\\\.(attn\\\\.c_attn|"
                                  "attn\\\\.c_proj|mlp\\\\.w1|mlp\\\\.w2|mlp\\\\.c_proj)\"";
    const char *dir = api_tmp_path(3, "dropout");
    SK_TEST_CHECK(adapter_copy_tensors(lora, dir) && adapter_write_config(dir, targets, 0.1),
                  "writing %s", dir);
    return dir;
}

static void expect_refused(const char *what, silkie_status st, const char *needle)
{
    const char *msg = silkie_last_error();
    printf("  %-44s %s: %s\n", what, silkie_status_name(st), msg);
    SK_TEST_CHECK(st == SILKIE_ERR_BAD_MODEL, "%s: %s, want SILKIE_ERR_BAD_MODEL", what,
                  silkie_status_name(st));
    SK_TEST_CHECK(strstr(msg, needle) != NULL, "%s: message does not name '%s'", what, needle);
}

int main(void)
{
    char lora[1200];
    snprintf(lora, sizeof lora, "%s", api_case_file(0, "lora"));
    silkie_model *base = NULL;
    int rc = sk_test_load_model(api_model_dir(), SILKIE_DTYPE_F32, SILKIE_DTYPE_F32, &base);
    if (rc) return rc;
    g_vocab = silkie_model_n_vocab(base);

    /* 1. Load-time adapter, set_adapter, sessions created before and after. */
    printf("f32 base, f32 adapter:\n");
    silkie_session_params sp;
    sk_test_greedy_params(&sp, SILKIE_DTYPE_F32, 512);
    silkie_session *before = NULL;
    SK_TEST_OK(silkie_session_create(base, &sp, &before));
    run r0 = {0}, r1 = {0}, r2 = {0}, r3 = {0}, r4 = {0};
    ask_new(base, &r0);
    silkie_model *adapted = NULL;
    SK_TEST_OK(load(lora, SILKIE_DTYPE_F32, &adapted));
    if (adapted) ask_new(adapted, &r1);
    if (r0.logits && r1.logits) {
        double d = rel_diff(&r0, &r1);
        printf("  %-44s max|diff| %.3g of max|x| (top-1 %u vs %u)\n", "adapter vs base logits", d,
               argmax(r1.logits), argmax(r0.logits));
        SK_TEST_CHECK(d > 1e-3, "the adapter hardly changes the logits (%.3g)", d);
    }
    SK_TEST_OK(silkie_model_set_adapter(base, lora));
    ask_new(base, &r2);
    same_run("set_adapter == params.adapter", &r1, &r2);
    if (before) ask(before, &r3);
    same_run("session created before set_adapter == base", &r0, &r3);
    silkie_session_destroy(before);
    run_free(&r2);
    run_free(&r3);

    /* 2. Dropout in the saved config is a training setting. */
    SK_TEST_OK(silkie_model_set_adapter(base, dropout_adapter(lora)));
    ask_new(base, &r2);
    same_run("adapter saved with lora_dropout 0.1", &r1, &r2);
    run_free(&r2);

    /* 3. Misfit adapters, at load and by set_adapter; the model keeps its adapter. */
    const char *misfit = api_tmp_path(1, "misfit"), *nomatch = nomatch_adapter(lora);
    SK_TEST_CHECK(adapter_write_misfit(misfit), "writing %s", misfit);
    const char *bad_a = ADAPTER_MISFIT_TENSOR;
    SK_TEST_OK(silkie_model_set_adapter(base, lora));
    expect_refused("set_adapter(another shape)", silkie_model_set_adapter(base, misfit), bad_a);
    expect_refused("set_adapter(targets match nothing)",
                   silkie_model_set_adapter(base, nomatch), "matches no module");
    silkie_model *m = (silkie_model *)&m; /* any non-NULL value: a failed load clears it */
    expect_refused("params.adapter of another shape", load(misfit, SILKIE_DTYPE_F32, &m), bad_a);
    SK_TEST_CHECK(m == NULL, "a failed load must set *out to NULL");
    ask_new(base, &r2);
    same_run("after failed set_adapter: the previous one", &r1, &r2);
    run_free(&r2);
    SK_TEST_OK(silkie_model_set_adapter(base, NULL));
    ask_new(base, &r4);
    same_run("set_adapter(NULL) == base", &r0, &r4);
    run_free(&r4);
    SK_TEST_STATUS(silkie_model_set_adapter(NULL, lora), SILKIE_ERR_INVALID_ARGUMENT);

    /* 4. Other storage types of the base with the same adapter. Each must land far nearer the
     * f32 adapted logits than the base's are (the adapter is applied); q4_0's error on these
     * random weights (~0.15 of max|logit|) exceeds the top-2 margin, so only q8_0 and bf16 must
     * keep the top-1 token. */
    static const struct { const char *name; silkie_dtype t; int close, top1; } types[] = {
        {"bf16", SILKIE_DTYPE_BF16, 1, 1}, {"q8_0", SILKIE_DTYPE_Q8_0, 0, 1},
        {"q4_0", SILKIE_DTYPE_Q4_0, 0, 0}};
    const double d_base = r0.logits && r1.logits ? rel_diff(&r1, &r0) : 0;
    for (size_t i = 0; i < SK_ARRAY_LEN(types) && r1.logits; i++) {
        silkie_model *q = NULL;
        SK_TEST_OK(load(lora, types[i].t, &q));
        run rq = {0};
        if (q && ask_new(q, &rq)) {
            double d = rel_diff(&r1, &rq);
            uint32_t a = argmax(rq.logits), b = argmax(r1.logits);
            printf("  %-5s base + adapter vs f32 + adapter: max|diff| %.3g of max|x| (base: "
                   "%.3g), top-1 %u vs %u\n", types[i].name, d, d_base, a, b);
            SK_TEST_CHECK(sk_first_nonfinite(rq.logits, g_vocab) < 0, "%s: NaN/Inf logits",
                          types[i].name);
            SK_TEST_CHECK(d < 0.5 * d_base, "%s + adapter: %.3g from f32 + adapter, base %.3g",
                          types[i].name, d, d_base);
            if (types[i].top1)
                SK_TEST_CHECK(a == b, "%s + adapter: top-1 %u, want %u", types[i].name, a, b);
            if (types[i].close)
                SK_TEST_CHECK(d <= 1e-4, "%s + adapter: %.3g > 1e-4", types[i].name, d);
        }
        run_free(&rq);
        silkie_model_destroy(q);
    }

    run_free(&r0);
    run_free(&r1);
    silkie_model_destroy(adapted);
    silkie_model_destroy(base);
    api_cleanup();
    return sk_test_result("test_api_adapter");
}
