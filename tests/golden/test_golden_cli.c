/* End-to-end check of the `silkie` executable against a golden case directory:
 *
 *   test_golden_cli SILKIE_EXE [CASE_DIR]        (default CASE_DIR: ../shared/golden/tiny-a)
 *
 * 1. `silkie ask --model CASE/model --image CASE/<image_file> --greedy --max-tokens N --no-stop
 *    --weights f32 --vision-weights f32 --kv f32 --dump OUT.safetensors "<question>"`, where N is
 *    the length of the case's greedy_ids and the question is the case's query without its
 *    "Picture 1: <img>...</img>\n" line (the session writes that line from the image's file
 *    name). Every tensor of OUT is compared with the case's expected.safetensors: pixel_values
 *    within 1e-6 absolute, ids exactly, the other float tensors with the case's
 *    tolerances.float32_math rtol (max|x - ref| <= rtol * max|ref|).
 * 2. The same question with --json: the output must parse and carry the answer, its tokens
 *    (the reference's first greedy tokens) and the timings. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness_vk.h"
#include "model/model.h"

#define JSON_TOKENS 4

static char g_tmp[1024];
static cJSON *g_cases;

static double rtol_of(const char *name)
{
    cJSON *t = cJSON_GetObjectItemCaseSensitive(g_cases, "tolerances");
    cJSON *f = cJSON_GetObjectItemCaseSensitive(t, "float32_math");
    cJSON *r = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, name), "rtol");
    return cJSON_IsNumber(r) ? r->valuedouble : -1;
}

static const char *case_string(const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(g_cases, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static uint64_t elems(const silkie_weight *w)
{
    uint64_t n = 1;
    for (uint32_t d = 0; d < w->n_dims; d++) n *= w->shape[d];
    return n;
}

static int same_shape(const silkie_weight *a, const silkie_weight *b)
{
    if (a->n_dims != b->n_dims || a->dtype != b->dtype) return 0;
    for (uint32_t d = 0; d < a->n_dims; d++)
        if (a->shape[d] != b->shape[d]) return 0;
    return 1;
}

/* Compares one dumped tensor with the reference of the same name. */
static void check_tensor(const silkie_weight *got, const silkie_weights *exp)
{
    const silkie_weight *ref = silkie_weights_find(exp, got->name);
    if (!ref) {
        SK_TEST_CHECK(0, "%s: not in expected.safetensors", got->name);
        return;
    }
    if (!same_shape(got, ref)) {
        SK_TEST_CHECK(0, "%s: dtype/shape differ from the reference", got->name);
        return;
    }
    uint64_t n = elems(got);
    if (got->dtype == SILKIE_DTYPE_I64) {
        int64_t bad = -1;
        for (uint64_t i = 0; i < n && bad < 0; i++)
            if (((const int64_t *)got->data)[i] != ((const int64_t *)ref->data)[i]) bad = (int64_t)i;
        printf("  %-20s %6llu ids %s\n", got->name, (unsigned long long)n,
               bad < 0 ? "identical" : "DIFFER");
        SK_TEST_CHECK(bad < 0, "%s: element %lld is %lld, want %lld", got->name, (long long)bad,
                      (long long)((const int64_t *)got->data)[bad < 0 ? 0 : bad],
                      (long long)((const int64_t *)ref->data)[bad < 0 ? 0 : bad]);
        return;
    }
    if (got->dtype != SILKIE_DTYPE_F32) {
        SK_TEST_CHECK(0, "%s: unexpected dtype %d", got->name, (int)got->dtype);
        return;
    }
    const float *g = got->data, *r = ref->data;
    double d = sk_max_abs_diff(r, g, n), m = sk_max_abs(r, n);
    int finite = sk_first_nonfinite(g, n) < 0;
    if (!strcmp(got->name, "pixel_values")) {
        printf("  %-20s max|diff| %.3g (bound 1e-6 absolute)\n", got->name, d);
        SK_TEST_CHECK(finite && d <= 1e-6, "%s: max|diff| %.3g > 1e-6", got->name, d);
        return;
    }
    double rtol = rtol_of(got->name);
    SK_TEST_CHECK(rtol > 0, "%s: no float32_math tolerance in cases.json", got->name);
    printf("  %-20s max|diff| %.3g = %.3g of max|ref| (bound %.3g) %s\n", got->name, d,
           m > 0 ? d / m : d, rtol, finite && d <= rtol * m ? "ok" : "FAIL");
    SK_TEST_CHECK(finite && d <= rtol * m, "%s: max|diff| %.3g > %.3g * %.3g", got->name, d, rtol,
                  m);
}

static void check_dump(const char *dump, const char *case_dir)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/expected.safetensors", case_dir);
    silkie_weights *got = NULL, *exp = NULL;
    SK_TEST_OK(silkie_weights_open(dump, &got));
    SK_TEST_OK(silkie_weights_open(p, &exp));
    if (got && exp) {
        /* Everything the dump must hold; each is then compared. */
        static const char *need[] = {"pixel_values", "vision_features", "input_ids",
                                     "prompt_logits_last", "hidden_layer0", "greedy_ids"};
        for (size_t i = 0; i < SK_ARRAY_LEN(need); i++)
            SK_TEST_CHECK(silkie_weights_find(got, need[i]) != NULL, "dump lacks %s", need[i]);
        for (uint32_t i = 0; i < silkie_weights_count(got); i++)
            check_tensor(silkie_weights_at(got, i), exp);
    }
    silkie_weights_close(got);
    silkie_weights_close(exp);
}

/* The reference's greedy ids (I64) as int64; NULL if absent. */
static const int64_t *greedy_ref(const silkie_weights *exp, uint64_t *n)
{
    const silkie_weight *w = silkie_weights_find(exp, "greedy_ids");
    if (!w || w->dtype != SILKIE_DTYPE_I64) return NULL;
    *n = elems(w);
    return w->data;
}

static void check_json(const char *path, const char *case_dir, uint64_t n_prompt)
{
    size_t n = 0;
    char *text = sk_read_file(path, &n);
    SK_TEST_CHECK(text != NULL, "no JSON output");
    if (!text) return;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    SK_TEST_CHECK(j != NULL, "--json output does not parse: %.*s", (int)SK_MIN(n, 200u), text);
    if (j) {
        while (end && end < text + n && (*end == '\n' || *end == ' ')) end++;
        SK_TEST_CHECK(end == text + n, "trailing bytes after the JSON object");
        cJSON *ans = cJSON_GetObjectItemCaseSensitive(j, "answer");
        cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "tokens");
        cJSON *tim = cJSON_GetObjectItemCaseSensitive(j, "timings");
        SK_TEST_CHECK(cJSON_IsString(ans) && ans->valuestring[0], "answer missing or empty");
        SK_TEST_CHECK(cJSON_IsArray(tok) && cJSON_GetArraySize(tok) == JSON_TOKENS,
                      "tokens: want an array of %d", JSON_TOKENS);
        SK_TEST_CHECK(cJSON_IsObject(tim), "timings missing");
        char p[2048];
        snprintf(p, sizeof p, "%s/expected.safetensors", case_dir);
        silkie_weights *exp = NULL;
        SK_TEST_OK(silkie_weights_open(p, &exp));
        uint64_t ng = 0;
        const int64_t *g = exp ? greedy_ref(exp, &ng) : NULL;
        for (int i = 0; cJSON_IsArray(tok) && i < cJSON_GetArraySize(tok); i++) {
            cJSON *t = cJSON_GetArrayItem(tok, i);
            SK_TEST_CHECK(cJSON_IsNumber(t) && g && (uint64_t)i < ng &&
                              (int64_t)t->valuedouble == g[i],
                          "tokens[%d] = %g, want the reference's greedy id %lld", i,
                          cJSON_IsNumber(t) ? t->valuedouble : -1.0,
                          g && (uint64_t)i < ng ? (long long)g[i] : -1LL);
        }
        silkie_weights_close(exp);
        static const char *nums[] = {"image_encode_ms", "n_images", "prefill_tokens",
                                     "prefill_ms", "decode_tokens", "decode_ms"};
        for (size_t i = 0; cJSON_IsObject(tim) && i < SK_ARRAY_LEN(nums); i++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(tim, nums[i]);
            SK_TEST_CHECK(cJSON_IsNumber(v) && v->valuedouble >= 0, "timings.%s", nums[i]);
        }
        cJSON *pt = cJSON_GetObjectItemCaseSensitive(tim, "prefill_tokens");
        cJSON *dt = cJSON_GetObjectItemCaseSensitive(tim, "decode_tokens");
        cJSON *ni = cJSON_GetObjectItemCaseSensitive(tim, "n_images");
        SK_TEST_CHECK(cJSON_IsNumber(pt) && (uint64_t)pt->valuedouble == n_prompt,
                      "timings.prefill_tokens, want %llu", (unsigned long long)n_prompt);
        SK_TEST_CHECK(cJSON_IsNumber(dt) && dt->valuedouble == JSON_TOKENS, "decode_tokens");
        SK_TEST_CHECK(cJSON_IsNumber(ni) && ni->valuedouble == 1, "n_images");
        printf("  --json: answer \"%s\", %d tokens\n",
                   cJSON_IsString(ans) ? ans->valuestring : "?",
               cJSON_IsArray(tok) ? cJSON_GetArraySize(tok) : -1);
        cJSON_Delete(j);
    }
    silkie_free(text);
}

static void cleanup(void)
{
    if (!g_tmp[0]) return;
    const char *names[] = {"out.safetensors", "out.json"};
    char p[2048];
    for (size_t i = 0; i < SK_ARRAY_LEN(names); i++) {
        snprintf(p, sizeof p, "%s/%s", g_tmp, names[i]);
        unlink(p);
    }
    rmdir(g_tmp);
}

static void check_png_input(char **argv, int image_at, int dump_at, const char *case_dir);

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_golden_cli SILKIE_EXE [CASE_DIR]\n");
        return 2;
    }
    char case_dir[1024];
    const char *sh = sk_shared_dir();
    if (argc > 2) snprintf(case_dir, sizeof case_dir, "%s", argv[2]);
    else if (sh) snprintf(case_dir, sizeof case_dir, "%s/golden/tiny-a", sh);
    else case_dir[0] = 0;
    char p[2048];
    snprintf(p, sizeof p, "%s/cases.json", case_dir);
    size_t n = 0;
    char *cj = case_dir[0] ? sk_read_file(p, &n) : NULL;
    if (!cj) {
        printf("golden case %s not found: skipped\n", case_dir[0] ? case_dir : "(none)");
        return 77;
    }
    g_cases = cJSON_ParseWithLength(cj, n);
    silkie_free(cj);
    if (!g_cases) {
        fprintf(stderr, "%s: not valid JSON\n", p);
        return 1;
    }
    /* The CLI needs a Vulkan device: skip (77), or fail under CI, without one. */
    silkie_vk_device_destroy(sk_test_device());

    const char *model_dir = case_string("model_dir"), *image = case_string("image_file");
    const char *query = case_string("query");
    if (!model_dir || !image || !query) {
        fprintf(stderr, "cases.json lacks model_dir, image_file or query\n");
        return 1;
    }
    /* The question is the query after its "Picture k: <img>...</img>\n" line. */
    const char *q = query;
    if (!strncmp(q, "Picture ", 8) && strchr(q, '\n')) q = strchr(q, '\n') + 1;

    snprintf(p, sizeof p, "%s/expected.safetensors", case_dir);
    silkie_weights *exp = NULL;
    SK_TEST_OK(silkie_weights_open(p, &exp));
    uint64_t n_greedy = 0, n_prompt = 0;
    if (exp) {
        greedy_ref(exp, &n_greedy);
        const silkie_weight *ids = silkie_weights_find(exp, "input_ids");
        n_prompt = ids ? elems(ids) : 0;
    }
    silkie_weights_close(exp);
    SK_TEST_CHECK(n_greedy > 0 && n_prompt > 0, "reference lacks greedy_ids or input_ids");
    if (!n_greedy || !n_prompt) return sk_test_result("test_golden_cli");

    const char *t = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/silkie_cli_XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(g_tmp)) {
        fprintf(stderr, "cannot create %s\n", g_tmp);
        return 1;
    }
    char model[1200], img[1200], dump[1200], json[1200], max_tokens[32];
    snprintf(model, sizeof model, "%s/%s", case_dir, model_dir);
    snprintf(img, sizeof img, "%s/%s", case_dir, image);
    snprintf(dump, sizeof dump, "%s/out.safetensors", g_tmp);
    snprintf(json, sizeof json, "%s/out.json", g_tmp);
    snprintf(max_tokens, sizeof max_tokens, "%llu", (unsigned long long)n_greedy);

    char *dump_argv[] = {argv[1], "ask", "--model", model, "--image", img, "--greedy",
                         "--max-tokens", max_tokens, "--no-stop", "--weights", "f32",
                         "--vision-weights", "f32", "--kv", "f32", "--dump", dump, (char *)q,
                         NULL};
    int rc = sk_run(dump_argv, NULL);
    printf("\n");
    SK_TEST_CHECK(rc == 0, "silkie ask --dump exited with %d", rc);
    if (rc == 0) check_dump(dump, case_dir);

    char json_tokens[16];
    snprintf(json_tokens, sizeof json_tokens, "%d", JSON_TOKENS);
    char *json_argv[] = {argv[1], "ask", "--model", model, "--image", img, "--greedy",
                         "--max-tokens", json_tokens, "--no-stop", "--weights", "f32",
                         "--vision-weights", "f32", "--kv", "f32", "--json", (char *)q, NULL};
    rc = sk_run(json_argv, json);
    SK_TEST_CHECK(rc == 0, "silkie ask --json exited with %d", rc);
    if (rc == 0) check_json(json, case_dir, n_prompt);
    check_png_input(dump_argv, 5, 17, case_dir);

    cleanup();
    cJSON_Delete(g_cases);
    return sk_test_result("test_golden_cli");
}

/* The case's photo as a PNG: its stored decode (image_rgb) written with libspng under the
 * JPEG's file name, which the prompt holds, so `silkie ask --dump` must pass the same checks as
 * for the JPEG. argv is the JPEG run's command; argv[image_at] and argv[dump_at] are replaced. */
static void check_png_input(char **argv, int image_at, int dump_at, const char *case_dir)
{
    char p[2048], dir[1100], png[2200], dump[1100];
    snprintf(p, sizeof p, "%s/expected.safetensors", case_dir);
    silkie_weights *exp = NULL;
    SK_TEST_OK(silkie_weights_open(p, &exp));
    const silkie_weight *rgb = exp ? silkie_weights_find(exp, "image_rgb") : NULL;
    SK_TEST_CHECK(rgb && rgb->dtype == SILKIE_DTYPE_U8 && rgb->n_dims == 3 && rgb->shape[2] == 3,
                  "reference lacks image_rgb [h, w, 3]");
    const char *slash = strrchr(argv[image_at], '/');
    snprintf(dir, sizeof dir, "%s/png", g_tmp);
    snprintf(png, sizeof png, "%s/%s", dir, slash ? slash + 1 : argv[image_at]);
    snprintf(dump, sizeof dump, "%s/out_png.safetensors", g_tmp);
    void *buf = NULL;
    size_t len = 0;
    int e = SPNG_EINVAL;
    spng_ctx *enc = spng_ctx_new(SPNG_CTX_ENCODER);
    if (rgb && enc && mkdir(dir, 0700) == 0) {
        struct spng_ihdr ih = {.width = (uint32_t)rgb->shape[1], .height = (uint32_t)rgb->shape[0],
                               .bit_depth = 8, .color_type = SPNG_COLOR_TYPE_TRUECOLOR};
        e = spng_set_option(enc, SPNG_ENCODE_TO_BUFFER, 1);
        if (!e) e = spng_set_ihdr(enc, &ih);
        if (!e) e = spng_encode_image(enc, rgb->data, rgb->nbytes, SPNG_FMT_PNG,
                                      SPNG_ENCODE_FINALIZE);
        if (!e) buf = spng_get_png_buffer(enc, &len, &e);
    }
    FILE *f = buf ? fopen(png, "wb") : NULL;
    SK_TEST_CHECK(f && fwrite(buf, 1, len, f) == len, "cannot write %s (%s)", png,
                  spng_strerror(e));
    if (f) fclose(f);
    free(buf);
    spng_ctx_free(enc);
    silkie_weights_close(exp);
    if (f) {
        char *old_image = argv[image_at], *old_dump = argv[dump_at];
        argv[image_at] = png, argv[dump_at] = dump;
        int rc = sk_run(argv, NULL);
        argv[image_at] = old_image, argv[dump_at] = old_dump;
        printf("\n");
        SK_TEST_CHECK(rc == 0, "silkie ask --image PNG exited with %d", rc);
        if (rc == 0) check_dump(dump, case_dir);
    }
    unlink(dump);
    unlink(png);
    rmdir(dir);
}
