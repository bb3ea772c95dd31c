/* The DPO step of a golden case through the `silkie` executable, in both layouts:
 *
 *   test_train_golden SILKIE_EXE [CASE_DIR [WEIGHTS]]   (default ../shared/golden/tiny-a, f32)
 *
 * writes a one-line PAIRS.jsonl from the case's cases.json (its image, the query without the
 * "Picture 1: <img>...</img>" line, dpo.chosen_text / rejected_text), runs
 *   silkie train dpo --model CASE/model --init-adapter CASE/lora --data PAIRS.jsonl
 *       --images CASE --layout plain|silkie --weights W --steps 0 --dump OUT.safetensors
 * and compares every dumped tensor with expected.safetensors (the "silkie." names for the Silkie
 * layout): ids and masks exactly, scalars within the case's float32_math atol, gradients within
 * its rtol (max|x - ref| <= rtol * max|ref|). A quantized WEIGHTS (q8_0, q4_0) has its own
 * bounds (quant_bound): the base weights themselves differ from the reference's. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness_vk.h"
#include "model/model.h"

static cJSON *g_cases;
static double g_worst_ratio;  /* largest error / bound seen */

/* A quantized base changes the model itself: the reference runs the bfloat16 weights, q8_0
 * rounds each weight to 1/127 of its 32-block's largest magnitude (~0.4 % of a typical weight)
 * and q4_0 to 1/7 (~7 %). The bounds below follow that ratio (about 18x between the two) and
 * leave a ~2x margin over what the tiny model measured (docs/TRAINING.md): gradients relative
 * to max|ref| of each tensor, log-prob sums and the DPO logit absolute (sums over ~60 tokens),
 * loss and rewards absolute. */
typedef struct quant_bounds {
    double grad_rtol, logps_atol, logits_atol, loss_atol, rewards_atol;
} quant_bounds;
static const quant_bounds *g_quant;
static const quant_bounds k_q8 = {0.06, 0.25, 0.25, 0.01, 0.025};
static const quant_bounds k_q4 = {0.6, 3.0, 1.0, 0.1, 0.25};

static double quant_bound(const char *name, double max_ref)
{
    const char *base = strncmp(name, "silkie.", 7) ? name : name + 7;
    if (!strncmp(base, "grad.", 5)) return g_quant->grad_rtol * max_ref;
    if (strstr(base, "logps")) return g_quant->logps_atol;
    if (!strcmp(base, "dpo_logits")) return g_quant->logits_atol;
    if (!strcmp(base, "dpo_loss")) return g_quant->loss_atol;
    return g_quant->rewards_atol;
}

static double tol_of(const char *name, const char *kind)
{
    cJSON *t = cJSON_GetObjectItemCaseSensitive(g_cases, "tolerances");
    cJSON *f = cJSON_GetObjectItemCaseSensitive(t, "float32_math");
    cJSON *r = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, name), kind);
    return cJSON_IsNumber(r) ? r->valuedouble : -1;
}

static uint64_t elems(const silkie_weight *w)
{
    uint64_t n = 1;
    for (uint32_t d = 0; d < w->n_dims; d++) n *= w->shape[d];
    return n;
}

static void check_tensor(const silkie_weight *got, const silkie_weights *exp, const char *prefix)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s", prefix, got->name);
    const silkie_weight *ref = silkie_weights_find(exp, name);
    if (!ref) {
        SK_TEST_CHECK(0, "%s: not in expected.safetensors", name);
        return;
    }
    int same = got->n_dims == ref->n_dims && got->dtype == ref->dtype;
    for (uint32_t d = 0; same && d < got->n_dims; d++) same = got->shape[d] == ref->shape[d];
    if (!same) {
        SK_TEST_CHECK(0, "%s: dtype/shape differ from the reference", name);
        return;
    }
    uint64_t n = elems(got);
    if (got->dtype == SILKIE_DTYPE_I64) {
        int64_t bad = -1;
        for (uint64_t i = 0; i < n && bad < 0; i++)
            if (((const int64_t *)got->data)[i] != ((const int64_t *)ref->data)[i])
                bad = (int64_t)i;
        SK_TEST_CHECK(bad < 0, "%s: element %lld differs", name, (long long)bad);
        return;
    }
    const float *g = got->data, *r = ref->data;
    double d = sk_max_abs_diff(r, g, n), m = sk_max_abs(r, n);
    int finite = sk_first_nonfinite(g, n) < 0;
    double atol = tol_of(name, "atol"), rtol = tol_of(name, "rtol");
    double bound = atol > 0 ? atol : rtol * m;
    SK_TEST_CHECK(atol > 0 || rtol > 0, "%s: no float32_math tolerance in cases.json", name);
    if (g_quant) bound = quant_bound(name, m);
    if (bound > 0 && d / bound > g_worst_ratio) g_worst_ratio = d / bound;
    if (n > 1 && g_quant)
        printf("  %-28s max|diff| / max|ref| %.3g\n", name, m > 0 ? d / m : d);
    if (n == 1)
        printf("  %-28s %.7g (ref %.7g) |diff| %.3g bound %.3g %s\n", name, g[0], r[0], d, bound,
               finite && d <= bound ? "ok" : "FAIL");
    SK_TEST_CHECK(finite && d <= bound, "%s: max|diff| %.3g > bound %.3g", name, d, bound);
}

/* Every tensor the reference has for this layout must be dumped. */
static void check_complete(const silkie_weights *got, const silkie_weights *exp,
                           const char *prefix)
{
    static const char *scalars[] = {"policy_chosen_logps", "policy_rejected_logps",
                                    "reference_chosen_logps", "reference_rejected_logps",
                                    "dpo_logits", "dpo_loss", "chosen_rewards",
                                    "rejected_rewards", "chosen_ids", "rejected_ids",
                                    "chosen_loss_mask", "rejected_loss_mask"};
    for (size_t i = 0; i < SK_ARRAY_LEN(scalars); i++)
        SK_TEST_CHECK(silkie_weights_find(got, scalars[i]) != NULL, "dump lacks %s", scalars[i]);
    size_t plen = strlen(prefix);
    for (uint32_t i = 0; i < silkie_weights_count(exp); i++) {
        const char *n = silkie_weights_at(exp, i)->name;
        if (strncmp(n, prefix, plen) || strncmp(n + plen, "grad.", 5)) continue;
        SK_TEST_CHECK(silkie_weights_find(got, n + plen) != NULL, "dump lacks %s", n + plen);
    }
}

static const char *case_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* {"images": [image], "prompt": query without its picture line, "chosen", "rejected"} */
static int write_pairs(const char *path)
{
    const cJSON *dpo = cJSON_GetObjectItemCaseSensitive(g_cases, "dpo");
    const char *img = case_str(g_cases, "image_file"), *query = case_str(g_cases, "query");
    const char *ch = case_str(dpo, "chosen_text"), *rj = case_str(dpo, "rejected_text");
    if (!img || !query || !ch || !rj) return 0;
    const char *nl = strstr(query, "</img>\n");
    const char *prompt = nl ? nl + 7 : query;
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "images");
    cJSON_AddItemToArray(a, cJSON_CreateString(img));
    cJSON_AddStringToObject(o, "prompt", prompt);
    cJSON_AddStringToObject(o, "chosen", ch);
    cJSON_AddStringToObject(o, "rejected", rj);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    FILE *f = fopen(path, "w");
    int ok = f && text && fprintf(f, "%s\n", text) > 0;
    if (f) ok = fclose(f) == 0 && ok;
    free(text);
    return ok;
}

static void run_layout(const char *exe, const char *case_dir, const char *weights,
                       const char *pairs, const char *tmp, const char *layout)
{
    const char *prefix = strcmp(layout, "silkie") ? "" : "silkie.";
    char model[4096], lora[4096], dump[4096], expp[4096];
    snprintf(model, sizeof model, "%s/model", case_dir);
    snprintf(lora, sizeof lora, "%s/lora", case_dir);
    snprintf(dump, sizeof dump, "%s/dpo-%s.safetensors", tmp, layout);
    snprintf(expp, sizeof expp, "%s/expected.safetensors", case_dir);
    char *argv[] = {(char *)exe, "train", "dpo", "--model", model, "--init-adapter", lora,
                    "--data", (char *)pairs, "--images", (char *)case_dir, "--layout",
                    (char *)layout, "--weights", (char *)weights, "--steps", "0", "--dump", dump,
                    NULL};
    printf("layout %s, weights %s\n", layout, weights);
    int rc = sk_run(argv, NULL);
    SK_TEST_CHECK(rc == 0, "silkie train dpo (%s) exited %d", layout, rc);
    if (rc != 0) return;
    silkie_weights *got = NULL, *exp = NULL;
    SK_TEST_OK(silkie_weights_open(dump, &got));
    SK_TEST_OK(silkie_weights_open(expp, &exp));
    if (got && exp) {
        check_complete(got, exp, prefix);
        for (uint32_t i = 0; i < silkie_weights_count(got); i++)
            check_tensor(silkie_weights_at(got, i), exp, prefix);
    }
    silkie_weights_close(got);
    silkie_weights_close(exp);
    unlink(dump);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SILKIE_EXE [CASE_DIR [WEIGHTS]]\n", argv[0]);
        return 2;
    }
    char def[1024];
    const char *case_dir = argc > 2 ? argv[2] : NULL;
    const char *weights = argc > 3 ? argv[3] : "f32";
    if (!case_dir) {
        const char *sh = sk_shared_dir();
        if (!sh) {
            fprintf(stderr, "test_train_golden: no shared folder; skipped\n");
            return 77;
        }
        snprintf(def, sizeof def, "%s/golden/tiny-a", sh);
        case_dir = def;
    }
    if (!strcmp(weights, "q8_0")) g_quant = &k_q8;
    else if (!strcmp(weights, "q4_0")) g_quant = &k_q4;
    else if (strcmp(weights, "f32")) {
        fprintf(stderr, "test_train_golden: weights f32, q8_0 or q4_0\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/cases.json", case_dir);
    size_t n = 0;
    char *text = sk_read_file(path, &n);
    g_cases = text ? cJSON_ParseWithLength(text, n) : NULL;
    silkie_free(text);
    SK_TEST_CHECK(g_cases != NULL, "cannot read %s", path);
    if (!g_cases) return sk_test_result("test_train_golden");
    char tmp[] = "/tmp/silkie-train-XXXXXX";
    SK_TEST_CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    char pairs[256];
    snprintf(pairs, sizeof pairs, "%s/pairs.jsonl", tmp);
    SK_TEST_CHECK(write_pairs(pairs), "cannot write %s from cases.json", pairs);
    run_layout(argv[1], case_dir, weights, pairs, tmp, "plain");
    run_layout(argv[1], case_dir, weights, pairs, tmp, "silkie");
    printf("worst error / bound: %.3g (weights %s)\n", g_worst_ratio, weights);
    unlink(pairs);
    rmdir(tmp);
    cJSON_Delete(g_cases);
    return sk_test_result("test_train_golden");
}
