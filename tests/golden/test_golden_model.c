/* End-to-end check of the Qwen-VL forward passes against a golden case directory (default
 * ../shared/golden/tiny-a): every vision stage, the prompt ids, the LLM hidden states, the
 * last-position logits and 16 greedy tokens, with the tolerances of the case's cases.json.
 *
 *   test_golden_model [CASE_DIR] [f32|f16|q8_0|q4_0] [split] [f16-gemm] [tuning=NAME]
 * f32: f32 weights and KV cache, the case's float32 tolerances. f16: f16 weights and cache,
 * rtol 1e-2 and identical greedy tokens. q8_0/q4_0: LLM matrices quantized; reports the logit
 * error and top-1 agreement of the prompt position against the f16 path (quantization error,
 * not a bug, is expected there). The greedy tokens are then decoded again with sampling on the
 * device, which must give the same tokens while reading back 4 bytes a step, in at most
 * 7 dispatches per block + 4. `split` (q8_0/q4_0) caps bindings at 10 MiB, so the f16 embedding
 * (4 parts) and the quantized LM head (2) are split as on a device with a small binding range
 * (a phone, lavapipe at the real shape), and decode must still bind each in one dispatch.
 * tuning=NAME runs every matmul under that named kernel setting (ops.h), e.g. gemm-f16 with the
 * f16 path: the vision tower and prefill then take f16 arithmetic and must hold the same bounds.
 * f16-gemm opts the device in to f16 arithmetic for the products whose inputs fit f16 (the
 * automatic choice an app gets with silkie_model_params.f16_gemm); same bounds. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness_vk.h"
#include "model/qwen.h"
#include "silkie/silkie_text.h"

static silkie_vk_device *g_dev;
static int split, f16_gemm;
static const silkie_weights *g_exp;
static cJSON *g_cases;

static double rtol_of(const char *name, double fallback)
{
    cJSON *t = cJSON_GetObjectItemCaseSensitive(g_cases, "tolerances");
    cJSON *f = cJSON_GetObjectItemCaseSensitive(t, "float32_math");
    cJSON *e = cJSON_GetObjectItemCaseSensitive(f, name);
    cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "rtol");
    return cJSON_IsNumber(r) ? r->valuedouble : fallback;
}

static const float *expected_f32(const char *name, uint64_t n)
{
    const silkie_weight *w = silkie_weights_find(g_exp, name);
    if (!w || w->dtype != SILKIE_DTYPE_F32 || w->nbytes != n * 4) {
        SK_TEST_CHECK(0, "expected tensor %s missing or of another size", name);
        return NULL;
    }
    return w->data;
}

/* max|x - ref| <= rtol * max|ref| (the case's metric). */
static void check_rtol(const char *name, const float *got, uint64_t n, double rtol)
{
    const float *ref = expected_f32(name, n);
    if (!ref) return;
    double d = sk_max_abs_diff(ref, got, n), m = sk_max_abs(ref, n);
    int ok = d <= rtol * m && sk_first_nonfinite(got, n) < 0;
    printf("  %-24s max|diff| %.3g = %.3g of max|ref| (bound %.3g) %s\n", name, d, d / m, rtol,
           ok ? "ok" : "FAIL");
    SK_TEST_CHECK(ok, "%s outside tolerance", name);
}

typedef struct tapbuf {
    silkie_owned_tensor t;
    float *host;
    uint64_t n;
} tapbuf;

static silkie_tensor *tap_alloc(tapbuf *b, uint32_t cols, uint32_t rows)
{
    const uint32_t ne[4] = {cols, rows, 1, 1};
    if (silkie_tensor_alloc(g_dev, SILKIE_VK_POOL_HOST, SILKIE_DTYPE_F32, ne, &b->t) != SILKIE_OK)
        return NULL;
    b->n = (uint64_t)cols * rows;
    b->host = calloc(b->n, sizeof(float));
    return &b->t.t;
}

static const float *tap_read(tapbuf *b)
{
    SK_TEST_OK(silkie_tensor_read_rows(&b->t.t, 0, b->t.t.ne[1], b->host));
    return b->host;
}

static void tap_free(tapbuf *b)
{
    silkie_tensor_free(&b->t);
    free(b->host);
}

/* dir + "/" + name into out; exits the test on an over-long path. */
static const char *join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(1);
    }
    return out;
}

/* The greedy tokens again, sampled on the device from a fresh cache: same prompt and image.
 * want: the tokens of the host-side greedy pass (the reference's, or the quantized model's own),
 * fed back the same way. */
static void device_greedy(silkie_qwen_ctx *x, const silkie_token_list *ids,
                          const silkie_qwen_image_slot *slot, const int32_t *want, uint32_t n,
                          uint32_t n_layers)
{
    silkie_sample_result *r = calloc(1, sizeof *r);
    const silkie_sample_params greedy = {.temperature = 0, .repetition_penalty = 1};
    silkie_qwen_ctx_reset(x);
    SK_TEST_OK(silkie_qwen_ctx_set_sampling(x, &greedy));
    silkie_status st = silkie_qwen_eval_sample(x, silkie_token_list_ids(ids),
                                               (uint32_t)silkie_token_list_size(ids), slot, 1, r);
    SK_TEST_OK(st);
    silkie_qwen_ctx_stats a, b;
    silkie_qwen_ctx_stats_get(x, &a);
    uint32_t agree = 0;
    for (uint32_t i = 0; st == SILKIE_OK && i < n; i++) {
        agree += r->id == want[i];
        SK_TEST_CHECK(r->id == want[i], "device greedy token %u: %d, host %d", i, r->id,
                      want[i]);
        st = silkie_qwen_eval_sample(x, &want[i], 1, NULL, 0, r);
        SK_TEST_OK(st);
    }
    silkie_qwen_ctx_stats_get(x, &b);
    const uint32_t nd = silkie_qwen_ctx_decode_dispatches(x, 1);
    const double rb = n ? (double)(b.readback_bytes - a.readback_bytes) / n : 0;
    printf("  device greedy: %u of %u identical; %u dispatches per token (bound %u), %.0f bytes "
           "read back\n", agree, n, nd, 7 * n_layers + 4, rb);
    SK_TEST_CHECK(nd > 0 && nd <= 7 * n_layers + 4, "%u decode dispatches per token", nd);
    SK_TEST_CHECK(rb <= 4096, "%.0f bytes read back per token", rb);
    SK_TEST_OK(silkie_qwen_ctx_set_sampling(x, NULL));
    free(r);
}

static int run(const char *case_dir, const char *mode)
{
    char path[8192];
    silkie_dtype wt = !strcmp(mode, "f32")    ? SILKIE_DTYPE_F32
                      : !strcmp(mode, "q8_0") ? SILKIE_DTYPE_Q8_0
                      : !strcmp(mode, "q4_0") ? SILKIE_DTYPE_Q4_0
                                              : SILKIE_DTYPE_F16;
    int exact = wt == SILKIE_DTYPE_F32, quant = wt == SILKIE_DTYPE_Q8_0 || wt == SILKIE_DTYPE_Q4_0;
    size_t n_json;
    char *json = sk_read_file(join(path, sizeof path, case_dir, "cases.json"), &n_json);
    if (!json) {
        fprintf(stderr, "no case at %s\n", case_dir);
        return 77;
    }
    g_cases = cJSON_ParseWithLength(json, n_json);
    silkie_free(json);
    cJSON *md = cJSON_GetObjectItemCaseSensitive(g_cases, "model_dir");
    char model_dir[4096];
    join(model_dir, sizeof model_dir, case_dir, cJSON_IsString(md) ? md->valuestring : "model");

    silkie_model_config cfg;
    silkie_weights *w = NULL, *exp = NULL;
    SK_TEST_OK(silkie_model_config_load(model_dir, &cfg, NULL));
    SK_TEST_OK(silkie_weights_open(model_dir, &w));
    SK_TEST_OK(silkie_weights_open(join(path, sizeof path, case_dir, "expected.safetensors"), &exp));
    g_exp = exp;
    if (sk_test_failures) return 1;

    silkie_vk_device_params dp;
    silkie_vk_device_params_init(&dp);
    if (split) dp.max_binding_bytes = 10u << 20;
    dp.f16_gemm = (uint32_t)f16_gemm;
    dp.profile = (uint32_t)f16_gemm; /* counts the dispatches per kernel, checked at the end */
    g_dev = sk_test_device_with(&dp);
    silkie_qwen *q = NULL;
    silkie_qwen_load_params lp = {.llm_dtype = wt,
                                  .vision_dtype = quant ? SILKIE_DTYPE_F16 : wt,
                                  .embed_dtype = quant ? SILKIE_DTYPE_F16 : wt};
    SK_TEST_OK(silkie_qwen_create(g_dev, &cfg, w, &lp, &q));
    silkie_qwen_ctx *x = NULL;
    SK_TEST_OK(silkie_qwen_ctx_create(q, 256, 128, exact ? SILKIE_DTYPE_F32 : SILKIE_DTYPE_F16, &x));
    if (sk_test_failures) return 1;
    const silkie_vision_config *v = &cfg.visual;
    const uint32_t W = v->width, D = v->output_dim, Np = v->patch_grid * v->patch_grid;
    const uint32_t Nq = v->n_queries, H = cfg.hidden_size;
    double scale = exact ? 1.0 : 0.0; /* f16 and quantized paths use fixed looser bounds */
#define RT(name) (scale ? rtol_of(name, 1e-4) : 1e-2)

    /* Vision, fed with the stored pixel_values so the model is judged on its own. */
    tapbuf tb[8] = {0};
    silkie_qwen_taps vt = {
        .patch_embeds = tap_alloc(&tb[0], W, Np), .pos_embed = tap_alloc(&tb[1], W, Np),
        .ln_pre = tap_alloc(&tb[2], W, Np),       .block0 = tap_alloc(&tb[3], W, Np),
        .blocks_out = tap_alloc(&tb[4], W, Np),   .resampler_kpos = tap_alloc(&tb[5], D, Np),
        .resampler_out = tap_alloc(&tb[6], D, Nq)};
    silkie_owned_tensor feat = {0};
    SK_TEST_OK(silkie_qwen_features_alloc(q, &feat));
    const float *px = expected_f32("pixel_values", 3ull * v->image_size * v->image_size);
    if (px) SK_TEST_OK(silkie_qwen_encode_image(x, px, &feat.t, &vt));
    if (!quant) {
        check_rtol("vision_patch_embeds", tap_read(&tb[0]), tb[0].n, RT("vision_patch_embeds"));
        check_rtol("vision_pos_embed", tap_read(&tb[1]), tb[1].n, RT("vision_pos_embed"));
        check_rtol("vision_ln_pre", tap_read(&tb[2]), tb[2].n, RT("vision_ln_pre"));
        check_rtol("vision_block0", tap_read(&tb[3]), tb[3].n, RT("vision_block0"));
        check_rtol("vision_blocks_out", tap_read(&tb[4]), tb[4].n, RT("vision_blocks_out"));
        check_rtol("vision_resampler_kpos", tap_read(&tb[5]), tb[5].n,
                   RT("vision_resampler_kpos"));
        check_rtol("vision_resampler_out", tap_read(&tb[6]), tb[6].n, RT("vision_resampler_out"));
        float *f = calloc((size_t)Nq * D, sizeof(float));
        SK_TEST_OK(silkie_tensor_read_rows(&feat.t, 0, Nq, f));
        check_rtol("vision_features", f, (uint64_t)Nq * D, RT("vision_features"));
        free(f);
    }

    /* Prompt ids through the tokenizer and the chat builder. */
    silkie_tokenizer *tok = NULL;
    SK_TEST_OK(silkie_tokenizer_load(join(path, sizeof path, model_dir, "qwen.tiktoken"), &tok));
    cJSON *sys = cJSON_GetObjectItemCaseSensitive(g_cases, "system");
    cJSON *qry = cJSON_GetObjectItemCaseSensitive(g_cases, "query");
    silkie_chat_params cp;
    silkie_chat_params_init(&cp);
    cp.system = cJSON_IsString(sys) ? sys->valuestring : NULL;
    cp.n_queries = Nq;
    silkie_chat_turn turn = {.query = cJSON_IsString(qry) ? qry->valuestring : ""};
    silkie_token_list *ids = NULL;
    SK_TEST_OK(silkie_chat_build_prompt(tok, &cp, NULL, 0, &turn, &ids));
    const silkie_weight *eids = silkie_weights_find(exp, "input_ids");
    uint32_t T = ids ? (uint32_t)silkie_token_list_size(ids) : 0;
    SK_TEST_CHECK(eids && eids->nbytes == T * 8ull, "prompt has %u tokens", T);
    for (uint32_t i = 0; eids && i < T && eids->nbytes == T * 8ull; i++)
        SK_TEST_CHECK(((const int64_t *)eids->data)[i] == silkie_token_list_ids(ids)[i],
                      "input_ids[%u]", i);
    if (sk_test_failures) return 1;

    /* Prefill with the image injected, then greedy decoding (replayed list). */
    silkie_qwen_taps lt = {.inputs_embeds = tap_alloc(&tb[7], H, T)};
    tapbuf th0 = {0}, th1 = {0}, tfn = {0};
    lt.hidden_layer0 = tap_alloc(&th0, H, T);
    lt.hidden_layer1 = cfg.n_layers > 1 ? tap_alloc(&th1, H, T) : NULL;
    lt.final_norm = tap_alloc(&tfn, H, T);
    silkie_qwen_image_slot slot = {.features = &feat.t,
                                   .pos = silkie_token_list_image_positions(ids)[0] + 1};
    const float *logits = NULL;
    SK_TEST_OK(silkie_qwen_eval(x, silkie_token_list_ids(ids), T, &slot, 1, &lt, &logits));
    if (sk_test_failures) return 1;
    const uint32_t V = cfg.vocab_size;
    if (!quant) {
        check_rtol("inputs_embeds", tap_read(&tb[7]), tb[7].n, RT("inputs_embeds"));
        check_rtol("hidden_layer0", tap_read(&th0), th0.n, RT("hidden_layer0"));
        if (lt.hidden_layer1)
            check_rtol("hidden_layer1", tap_read(&th1), th1.n, RT("hidden_layer1"));
        check_rtol("final_norm", tap_read(&tfn), tfn.n, RT("final_norm"));
        check_rtol("prompt_logits_last", logits, V, RT("prompt_logits_last"));
    } else {
        const float *ref = expected_f32("prompt_logits_last", V);
        uint32_t a = 0, b = 0;
        for (uint32_t i = 1; ref && i < V; i++) {
            if (logits[i] > logits[a]) a = i;
            if (ref[i] > ref[b]) b = i;
        }
        double d = ref ? sk_max_abs_diff(ref, logits, V) / sk_max_abs(ref, V) : 1;
        printf("  %s: prompt logits max|diff| %.3g of max|ref|, top-1 %s (%u vs %u)\n", mode, d,
               a == b ? "agrees" : "differs", a, b);
        SK_TEST_CHECK(d < (wt == SILKIE_DTYPE_Q8_0 ? 0.05 : 0.25), "%s logits error %.3g", mode, d);
    }
    const silkie_weight *eg = silkie_weights_find(exp, "greedy_ids");
    uint32_t n_greedy = eg ? (uint32_t)(eg->nbytes / 8) : 0, agree = 0;
    int32_t *host_ids = calloc(n_greedy ? n_greedy : 1, sizeof *host_ids);
    for (uint32_t i = 0; i < n_greedy; i++) {
        int32_t best = 0;
        for (uint32_t k = 1; k < V; k++)
            if (logits[k] > logits[best]) best = (int32_t)k;
        int64_t want = ((const int64_t *)eg->data)[i];
        agree += best == want;
        if (!quant) SK_TEST_CHECK(best == want, "greedy token %u: %d, want %lld", i, best,
                                  (long long)want);
        int32_t next = quant ? best : (int32_t)want; /* stay on the reference path */
        host_ids[i] = next;
        silkie_status es = silkie_qwen_eval(x, &next, 1, NULL, 0, NULL, &logits);
        SK_TEST_OK(es);
        if (es != SILKIE_OK) break;
    }
    printf("  greedy tokens: %u of %u identical\n", agree, n_greedy);
    device_greedy(x, ids, &slot, host_ids, n_greedy, cfg.n_layers);
    free(host_ids);

    for (int i = 0; i < 8; i++) tap_free(&tb[i]);
    tap_free(&th0);
    tap_free(&th1);
    tap_free(&tfn);
    silkie_tensor_free(&feat);
    silkie_token_list_destroy(ids);
    silkie_tokenizer_destroy(tok);
    silkie_qwen_ctx_destroy(x);
    silkie_qwen_destroy(q);
    silkie_weights_close(w);
    silkie_weights_close(exp);
    cJSON_Delete(g_cases);
    if (f16_gemm && silkie_vk_device_caps(g_dev)->fp16_arith) {
        /* The opt-in took effect: some products ran on the f16 kernel (and the results above
         * held their bounds), while the unbounded inputs stayed on matmul.comp. */
        silkie_vk_profile_row rows[64];
        const uint32_t n = SK_MIN(silkie_vk_profile(g_dev, rows, 64), 64u);
        uint64_t f16_calls = 0, f32_calls = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (!strcmp(rows[i].label, "matmul_f16")) f16_calls += rows[i].calls;
            if (!strcmp(rows[i].label, "matmul")) f32_calls += rows[i].calls;
        }
        printf("f16 GEMM opt-in: %llu products on matmul_f16, %llu on matmul\n",
               (unsigned long long)f16_calls, (unsigned long long)f32_calls);
        SK_TEST_CHECK(f16_calls > 0 && f32_calls > 0, "f16 opt-in: %llu f16 and %llu f32 GEMMs",
                      (unsigned long long)f16_calls, (unsigned long long)f32_calls);
        silkie_vk_profile_reset(g_dev); /* not printed again at destroy */
    }
    return sk_test_device_finish(g_dev, "test_golden_model");
}

int main(int argc, char **argv)
{
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "split")) {
            split = 1;
            continue;
        }
        if (!strcmp(argv[i], "f16-gemm")) {
            f16_gemm = 1;
            continue;
        }
        uint32_t t = 0;
        while (t < silkie_op_matmul_n_tunings() &&
               (strncmp(argv[i], "tuning=", 7) ||
                strcmp(argv[i] + 7, silkie_op_matmul_tuning_name(t))))
            t++;
        if (t == silkie_op_matmul_n_tunings()) {
            fprintf(stderr, "unknown argument %s\n", argv[i]);
            return 2;
        }
        silkie_op_matmul_set_tuning(t);
    }
    char def[4096];
    const char *dir = argc > 1 ? argv[1] : NULL;
    if (!dir) {
        if (!sk_shared_dir()) {
            fprintf(stderr, "no shared reference folder\n");
            return 77;
        }
        dir = join(def, sizeof def, sk_shared_dir(), "golden/tiny-a");
    }
    const char *mode = argc > 2 ? argv[2] : "f32";
    if (split && strcmp(mode, "q8_0") && strcmp(mode, "q4_0")) {
        fprintf(stderr, "split: q8_0 or q4_0 only (f32/f16 LM heads take a dispatch per part)\n");
        return 2;
    }
    printf("golden case %s, %s path\n", dir, mode);
    return run(dir, mode);
}
