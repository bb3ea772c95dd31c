/* A GGUF file packed from the golden tiny-a folder runs the model exactly as the folder does.
 *
 *   test_golden_gguf [CASE_DIR] [f32|q8_0]
 *
 * Through the public API: the case's image and question are asked greedily for 16 tokens with
 * the verification dump on. f32: the folder and its f32 GGUF both run; prompt ids, vision
 * features, prompt logits and the 16 tokens of the GGUF must equal the folder's bit for bit,
 * and the case's reference (logits within its rtol, tokens identical). q8_0: the GGUF's LLM
 * matrices are quantized once by the packer and uploaded as stored, and the vision tower comes
 * from the mmproj sibling of the LLM file; against the reference the top-1 token of the prompt
 * must agree (quantization error, not a bug, is expected beyond). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model/model.h"
#include "harness_model.h"

static char *join(char *buf, size_t cap, const char *a, const char *b)
{
    int n = snprintf(buf, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap) buf[0] = 0;
    return buf;
}

/* Loads `model`, asks the case's question about its image, writes the dump. 77: no device. */
static int run_model(const char *model, silkie_dtype wt, const char *image, const char *question,
                     const char *dump)
{
    silkie_model *m = NULL;
    int rc = sk_test_load_model(model, wt, SILKIE_DTYPE_F32, &m);
    if (rc) return rc;
    silkie_session_params sp;
    sk_test_greedy_params(&sp, SILKIE_DTYPE_F32, 256);
    silkie_session *s = NULL;
    SK_TEST_OK(silkie_session_create(m, &sp, &s));
    SK_TEST_OK(silkie_session_add_image_file(s, image));
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.max_new_tokens = 16;
    ap.no_stop = 1;
    ap.dump_path = dump;
    SK_TEST_OK(silkie_session_ask(s, question, &ap));
    silkie_session_destroy(s);
    silkie_model_destroy(m);
    return 0;
}

static const silkie_weight *tensor(const silkie_weights *w, const char *name, const char *what)
{
    const silkie_weight *t = w ? silkie_weights_find(w, name) : NULL;
    SK_TEST_CHECK(t != NULL, "%s: tensor %s missing", what, name);
    return t;
}

/* Every dumped tensor of b equals a's byte for byte. */
static void same_dump(const silkie_weights *a, const silkie_weights *b, const char *what)
{
    static const char *const names[] = {"input_ids", "prompt_logits_last", "greedy_ids",
                                        "vision_features"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const silkie_weight *x = tensor(a, names[i], "folder"), *y = tensor(b, names[i], what);
        SK_TEST_CHECK(x && y && x->nbytes == y->nbytes && memcmp(x->data, y->data, x->nbytes) == 0,
                      "%s: %s differs from the folder's", what, names[i]);
    }
}

static double case_rtol(const cJSON *cases, const char *name)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cases, "tolerances");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(t, "float32_math");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, name),
                                                      "rtol");
    return cJSON_IsNumber(r) ? r->valuedouble : 1e-4;
}

static uint32_t argmax(const float *x, uint64_t n)
{
    uint32_t a = 0;
    for (uint64_t i = 1; i < n; i++)
        if (x[i] > x[a]) a = (uint32_t)i;
    return a;
}

/* The GGUF dump against the case's expected tensors. */
static void check_reference(const silkie_weights *d, const silkie_weights *exp,
                            const cJSON *cases, bool quant)
{
    const silkie_weight *ids = tensor(d, "input_ids", "dump");
    const silkie_weight *eids = tensor(exp, "input_ids", "expected");
    SK_TEST_CHECK(ids && eids && ids->nbytes == eids->nbytes &&
                      memcmp(ids->data, eids->data, ids->nbytes) == 0,
                  "prompt ids differ from the case's");
    const silkie_weight *l = tensor(d, "prompt_logits_last", "dump");
    const silkie_weight *el = tensor(exp, "prompt_logits_last", "expected");
    if (l && el && l->nbytes == el->nbytes) {
        uint64_t n = l->nbytes / 4;
        double diff = sk_max_abs_diff(el->data, l->data, n), m = sk_max_abs(el->data, n);
        double rtol = case_rtol(cases, "prompt_logits_last");
        uint32_t a = argmax(l->data, n), b = argmax(el->data, n);
        printf("  prompt logits: max|diff| %.3g of max|ref| (f32 bound %.3g), top-1 %u vs %u\n",
               diff / m, rtol, a, b);
        SK_TEST_CHECK(a == b, "top-1 %u, want %u", a, b);
        if (!quant) SK_TEST_CHECK(diff <= rtol * m, "prompt logits outside rtol %.3g", rtol);
    } else {
        SK_TEST_CHECK(0, "prompt logits missing or of another size");
    }
    const silkie_weight *g = tensor(d, "greedy_ids", "dump");
    const silkie_weight *eg = tensor(exp, "greedy_ids", "expected");
    if (g && eg) {
        uint64_t n = SK_MIN(g->nbytes, eg->nbytes) / 8, same = 0;
        for (uint64_t i = 0; i < n; i++)
            same += ((const int64_t *)g->data)[i] == ((const int64_t *)eg->data)[i];
        printf("  greedy tokens: %llu of %llu identical to the reference\n",
               (unsigned long long)same, (unsigned long long)(eg->nbytes / 8));
        if (!quant)
            SK_TEST_CHECK(g->nbytes == eg->nbytes && same == n, "greedy tokens differ");
    }
}

int main(int argc, char **argv)
{
    char dir[4096], model[4096], image[4096], p[4096];
    if (argc > 1) snprintf(dir, sizeof dir, "%s", argv[1]);
    else if (sk_shared_dir()) snprintf(dir, sizeof dir, "%s/golden/tiny-a", sk_shared_dir());
    else {
        fprintf(stderr, "no shared reference folder\n");
        return 77;
    }
    join(model, sizeof model, dir, "model");
    size_t len = 0;
    char *text = sk_read_file(join(p, sizeof p, dir, "cases.json"), &len);
    cJSON *cases = text ? cJSON_ParseWithLength(text, len) : NULL;
    silkie_free(text);
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(cases, "image_file");
    const cJSON *qry = cJSON_GetObjectItemCaseSensitive(cases, "query");
    if (!cJSON_IsString(img) || !cJSON_IsString(qry)) {
        fprintf(stderr, "%s: cases.json without image_file and query\n", dir);
        cJSON_Delete(cases);
        return 1;
    }
    join(image, sizeof image, dir, img->valuestring);
    /* The question without the "Picture 1: <img>...</img>\n" line the session writes itself. */
    const char *question = strstr(qry->valuestring, "</img>\n");
    question = question ? question + 7 : qry->valuestring;
    silkie_weights *exp = NULL;
    SK_TEST_OK(silkie_weights_open(join(p, sizeof p, dir, "expected.safetensors"), &exp));

    static const struct { const char *name; silkie_dtype type; } modes[] = {
        {"f32", SILKIE_DTYPE_F32}, {"q8_0", SILKIE_DTYPE_Q8_0}};
    size_t k = argc > 2 && strcmp(argv[2], "q8_0") == 0 ? 1 : 0;
    bool quant = modes[k].type != SILKIE_DTYPE_F32;
    int rc = 0;
    {
        char gguf[64], d_dir[64], d_gguf[64];
        snprintf(gguf, sizeof gguf, "golden_gguf_%s.gguf", modes[k].name);
        snprintf(d_dir, sizeof d_dir, "golden_gguf_%s_folder.safetensors", modes[k].name);
        snprintf(d_gguf, sizeof d_gguf, "golden_gguf_%s_file.safetensors", modes[k].name);
        printf("%s:\n", modes[k].name);
        /* q8_0 goes through the llama.cpp-style pair: LLM file + mmproj sibling. */
        silkie_gguf_pack_params pp = {.llm_type = modes[k].type, .vision_type = SILKIE_DTYPE_F32,
                                      .split = quant};
        char mmproj[96] = "";
        SK_TEST_OK(silkie_gguf_pack_qwen(model, gguf, &pp));
        if (quant) SK_TEST_OK(silkie_qwen_gguf_mmproj_path(gguf, mmproj, sizeof mmproj));
        /* weight_type F16 on the GGUF run: the file's own types must win. */
        rc = run_model(gguf, SILKIE_DTYPE_F16, image, question, d_gguf);
        if (rc == 0 && !quant) rc = run_model(model, modes[k].type, image, question, d_dir);
        silkie_weights *a = NULL, *b = NULL;
        if (rc == 0) {
            SK_TEST_OK(silkie_weights_open(d_gguf, &b));
            if (!quant) {
                SK_TEST_OK(silkie_weights_open(d_dir, &a));
                same_dump(a, b, gguf);
            }
            check_reference(b, exp, cases, quant);
        }
        silkie_weights_close(a);
        silkie_weights_close(b);
        remove(gguf);
        if (mmproj[0]) remove(mmproj);
        remove(d_dir);
        remove(d_gguf);
    }
    silkie_weights_close(exp);
    cJSON_Delete(cases);
    if (rc) return rc;
    return sk_test_result("test_golden_gguf");
}
