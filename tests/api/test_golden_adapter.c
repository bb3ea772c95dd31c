/* A PEFT adapter applied unmerged by `silkie ask --adapter` against the same adapter merged by
 * `silkie-pack --merge-adapter`, on a golden case (model/ + lora/):
 *
 *   test_golden_adapter SILKIE_EXE SILKIE_PACK_EXE [CASE_DIR]   (default ../shared/golden/tiny-a)
 *
 * 1. The merge itself (silkie_lora_merge): every adapted matrix equals W + s B A computed here
 *    in double (within 1e-6 of max|W'|), every other tensor is the base's, untouched.
 * 2. `silkie ask` with f32 weights, cache and vision tower and --dump: the adapter's prompt
 *    logits differ from the base's, and a GGUF packed at f32 with the adapter merged gives the
 *    same logits within 1e-4 of max|logit| and the same greedy tokens; a q8_0 GGUF with the
 *    adapter merged before quantization gives the same top-1 token.
 * 3. An adapter of another shape is refused by both programs: exit 1, SILKIE_ERR_BAD_MODEL and
 *    the tensor's name on stderr, and silkie-pack leaves no output file. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapter_fixture.h"
#include "harness_model.h"
#include "model/lora_merge.h"
#include "model/model.h"

#define N_TOKENS 6

static char g_tmp[1024];

/* Runs argv (argv[0] a path) with stdout and stderr sent to files when given; exit status. */
static int run(char *const argv[], const char *out_path, const char *err_path)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        const char *paths[2] = {out_path, err_path};
        for (int k = 0; k < 2; k++) {
            if (!paths[k]) continue;
            int fd = open(paths[k], O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0 || dup2(fd, k + 1) < 0) _exit(126);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *tmp(int slot, const char *name)
{
    static char p[8][1200];
    snprintf(p[slot], sizeof p[slot], "%s/%s", g_tmp, name);
    return p[slot];
}

typedef struct dump {
    silkie_weights *w;
    const float *logits;
    const int64_t *ids;
    uint64_t n_vocab, n_ids;
} dump;

static void dump_open(const char *path, dump *d)
{
    memset(d, 0, sizeof *d);
    SK_TEST_OK(silkie_weights_open(path, &d->w));
    const silkie_weight *l = d->w ? silkie_weights_find(d->w, "prompt_logits_last") : NULL;
    const silkie_weight *g = d->w ? silkie_weights_find(d->w, "greedy_ids") : NULL;
    SK_TEST_CHECK(l && g && l->dtype == SILKIE_DTYPE_F32 && g->dtype == SILKIE_DTYPE_I64,
                  "%s lacks prompt_logits_last or greedy_ids", path);
    if (!l || !g) return;
    d->logits = l->data;
    d->n_vocab = l->nbytes / 4;
    d->ids = g->data;
    d->n_ids = g->nbytes / 8;
}

static uint64_t argmax(const dump *d)
{
    uint64_t a = 0;
    for (uint64_t i = 1; i < d->n_vocab; i++)
        if (d->logits[i] > d->logits[a]) a = i;
    return a;
}

/* max|a - b| / max|a|, or -1 when the dumps are not comparable. */
static double rel_diff(const dump *a, const dump *b)
{
    if (!a->logits || !b->logits || a->n_vocab != b->n_vocab) return -1;
    double m = sk_max_abs(a->logits, a->n_vocab);
    return sk_max_abs_diff(a->logits, b->logits, a->n_vocab) / (m > 0 ? m : 1);
}

/* `silkie ask` of the case's question about its image, f32 throughout, with a dump. */
static int ask(const char *exe, const char *model, const char *adapter, const char *image,
               const char *question, const char *dump_path, const char *err_path)
{
    char n[16];
    snprintf(n, sizeof n, "%d", N_TOKENS);
    char *argv[24] = {(char *)exe, "ask", "--model", (char *)model, "--image", (char *)image,
                      "--greedy", "--max-tokens", n, "--no-stop", "--weights", "f32",
                      "--vision-weights", "f32", "--kv", "f32", "--dump", (char *)dump_path};
    int k = 18;
    if (adapter) {
        argv[k++] = "--adapter";
        argv[k++] = (char *)adapter;
    }
    argv[k++] = (char *)question;
    argv[k] = NULL;
    return run(argv, "/dev/null", err_path);
}

static int pack(const char *exe, const char *model, const char *adapter, const char *type,
                int split, const char *out, const char *err_path)
{
    char *argv[16] = {(char *)exe, "--model", (char *)model, "--out", (char *)out, "--type",
                      (char *)type, "--vision-type", "f32", "--merge-adapter", (char *)adapter};
    argv[11] = split ? "--split" : NULL;
    argv[12] = NULL;
    return run(argv, "/dev/null", err_path);
}

/* The merge against W + s B A computed here, for every adapted matrix of the base. */
static void check_merge(const char *model, const char *lora)
{
    silkie_model_config cfg;
    silkie_weights *base = NULL, *merged = NULL, *ad = NULL;
    SK_TEST_OK(silkie_model_config_load(model, &cfg, NULL));
    SK_TEST_OK(silkie_weights_open(model, &base));
    SK_TEST_OK(silkie_weights_open(lora, &ad));
    uint32_t n_merged = 0;
    if (base) SK_TEST_OK(silkie_lora_merge(base, &cfg, lora, &merged, &n_merged));
    if (!base || !merged || !ad) goto out;
    SK_TEST_CHECK(n_merged == 5 * cfg.n_layers, "merged %u matrices, want %u", n_merged,
                  5 * cfg.n_layers);
    SK_TEST_CHECK(silkie_weights_count(merged) == silkie_weights_count(base),
                  "the merged view has %u tensors, the base %u", silkie_weights_count(merged),
                  silkie_weights_count(base));
    const double s = 8.0 / 4.0; /* lora_alpha / r of the golden adapter */
    double worst = 0;
    uint32_t n_checked = 0, n_same = 0;
    for (uint32_t i = 0; i < silkie_weights_count(base); i++) {
        const silkie_weight *w = silkie_weights_at(base, i);
        const silkie_weight *m = silkie_weights_find(merged, w->name);
        if (!m) {
            SK_TEST_CHECK(0, "%s missing from the merged view", w->name);
            continue;
        }
        const char *h = strstr(w->name, "transformer.h.");
        char an[256], bn[256];
        size_t len = strlen(w->name);
        snprintf(an, sizeof an, "base_model.model.%.*s.lora_A.weight", (int)(len - 7), w->name);
        snprintf(bn, sizeof bn, "base_model.model.%.*s.lora_B.weight", (int)(len - 7), w->name);
        const silkie_weight *A = h == w->name ? silkie_weights_find(ad, an) : NULL;
        const silkie_weight *B = h == w->name ? silkie_weights_find(ad, bn) : NULL;
        if (!A || !B) {
            n_same += m->data == w->data && m->dtype == w->dtype;
            SK_TEST_CHECK(m->data == w->data && m->dtype == w->dtype, "%s: not the base's",
                          w->name);
            continue;
        }
        const uint64_t O = w->shape[0], I = w->shape[1], R = A->shape[0];
        float *wf = malloc(O * I * sizeof(float)), *a = malloc(R * I * sizeof(float));
        float *b = malloc(O * R * sizeof(float));
        int ok = m->dtype == SILKIE_DTYPE_F32 && wf && a && b &&
                 silkie_convert_rows(w->dtype, w->data, SILKIE_DTYPE_F32, wf, O, I) == SILKIE_OK &&
                 silkie_convert_rows(A->dtype, A->data, SILKIE_DTYPE_F32, a, R, I) == SILKIE_OK &&
                 silkie_convert_rows(B->dtype, B->data, SILKIE_DTYPE_F32, b, O, R) == SILKIE_OK;
        SK_TEST_CHECK(ok, "%s: merged copy not f32, or unreadable inputs", w->name);
        const float *got = m->data;
        double d = 0, mx = 0;
        for (uint64_t o = 0; ok && o < O; o++)
            for (uint64_t j = 0; j < I; j++) {
                double acc = 0;
                for (uint64_t k = 0; k < R; k++) acc += (double)b[o * R + k] * a[k * I + j];
                double want = wf[o * I + j] + s * acc;
                d = SK_MAX(d, fabs(want - got[o * I + j]));
                mx = SK_MAX(mx, fabs(want));
            }
        free(wf);
        free(a);
        free(b);
        worst = SK_MAX(worst, d / (mx > 0 ? mx : 1));
        n_checked++;
    }
    printf("  merge: %u matrices within %.3g of max|W'| of W + s B A (bound 1e-6), %u other "
           "tensors the base's\n", n_checked, worst, n_same);
    SK_TEST_CHECK(n_checked == n_merged && worst <= 1e-6, "merge: %u checked, worst %.3g",
                  n_checked, worst);
out:
    silkie_weights_close(merged);
    silkie_weights_close(base);
    silkie_weights_close(ad);
}

/* exit status 1 and stderr naming the tensor (and the status, for silkie-pack). */
static void check_refused(const char *what, int rc, const char *err_path, int want_status)
{
    size_t n = 0;
    char *err = sk_read_file(err_path, &n);
    char *text = err ? calloc(1, n + 1) : NULL;
    if (text) memcpy(text, err, n);
    silkie_free(err);
    const char *t = text ? text : "";
    printf("  %-24s exit %d: %s", what, rc, t);
    SK_TEST_CHECK(rc == 1, "%s exited with %d, want 1", what, rc);
    SK_TEST_CHECK(strstr(t, ADAPTER_MISFIT_TENSOR) != NULL, "%s: stderr does not name %s", what,
                  ADAPTER_MISFIT_TENSOR);
    if (want_status)
        SK_TEST_CHECK(strstr(t, "SILKIE_ERR_BAD_MODEL") != NULL,
                      "%s: stderr does not say SILKIE_ERR_BAD_MODEL", what);
    free(text);
}

static void cleanup(void)
{
    const char *names[] = {"base.safetensors", "lora.safetensors", "merged.safetensors",
                           "merged_q8.safetensors", "merged.gguf", "merged_q8.gguf",
                           "mmproj-merged_q8.gguf", "bad.gguf", "err.txt",
                           "misfit/adapter_config.json", "misfit/adapter_model.safetensors",
                           "misfit"};
    for (size_t i = 0; i < SK_ARRAY_LEN(names); i++) remove(tmp(0, names[i]));
    rmdir(g_tmp);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_golden_adapter SILKIE_EXE SILKIE_PACK_EXE [CASE_DIR]\n");
        return 2;
    }
    char dir[1024], model[1200], lora[1200], p[2048];
    if (argc > 3) snprintf(dir, sizeof dir, "%s", argv[3]);
    else if (sk_shared_dir()) snprintf(dir, sizeof dir, "%s/golden/tiny-a", sk_shared_dir());
    else dir[0] = 0;
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(lora, sizeof lora, "%s/lora", dir);
    snprintf(p, sizeof p, "%s/cases.json", dir);
    size_t len = 0;
    char *text = dir[0] ? sk_read_file(p, &len) : NULL;
    snprintf(p, sizeof p, "%s/adapter_config.json", lora);
    if (!text || access(p, R_OK) != 0) {
        printf("golden case with an adapter not found in '%s': skipped\n", dir);
        silkie_free(text);
        return 77;
    }
    cJSON *cases = cJSON_ParseWithLength(text, len);
    silkie_free(text);
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(cases, "image_file");
    const cJSON *qry = cJSON_GetObjectItemCaseSensitive(cases, "query");
    if (!cJSON_IsString(img) || !cJSON_IsString(qry)) {
        fprintf(stderr, "%s: cases.json without image_file and query\n", dir);
        cJSON_Delete(cases);
        return 1;
    }
    char image[1200];
    snprintf(image, sizeof image, "%s/%s", dir, img->valuestring);
    /* The question without the "Picture 1: <img>...</img>\n" line the session writes itself. */
    const char *question = strstr(qry->valuestring, "</img>\n");
    question = question ? question + 7 : qry->valuestring;

    printf("merge on the CPU:\n");
    check_merge(model, lora);

    /* The programs need a Vulkan device: skip (77), or fail under CI, without one. */
    silkie_model *probe = NULL;
    int rc = sk_test_load_model(model, SILKIE_DTYPE_F32, SILKIE_DTYPE_F32, &probe);
    silkie_model_destroy(probe);
    if (rc) {
        cJSON_Delete(cases);
        return rc;
    }
    const char *t = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/silkie_adapter_XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(g_tmp)) {
        fprintf(stderr, "cannot create %s\n", g_tmp);
        cJSON_Delete(cases);
        return 1;
    }
    const char *exe = argv[1], *pack_exe = argv[2], *err = tmp(7, "err.txt");

    printf("unmerged (silkie ask --adapter) against merged (silkie-pack --merge-adapter):\n");
    dump base, ad, mg, mq;
    rc = ask(exe, model, NULL, image, question, tmp(0, "base.safetensors"), NULL);
    SK_TEST_CHECK(rc == 0, "silkie ask (base) exited with %d", rc);
    rc = ask(exe, model, lora, image, question, tmp(1, "lora.safetensors"), NULL);
    SK_TEST_CHECK(rc == 0, "silkie ask --adapter exited with %d", rc);
    rc = pack(pack_exe, model, lora, "f32", 0, tmp(2, "merged.gguf"), NULL);
    SK_TEST_CHECK(rc == 0, "silkie-pack --merge-adapter (f32) exited with %d", rc);
    rc = ask(exe, tmp(2, "merged.gguf"), NULL, image, question, tmp(3, "merged.safetensors"), NULL);
    SK_TEST_CHECK(rc == 0, "silkie ask (merged f32 GGUF) exited with %d", rc);
    rc = pack(pack_exe, model, lora, "q8_0", 1, tmp(4, "merged_q8.gguf"), NULL);
    SK_TEST_CHECK(rc == 0, "silkie-pack --merge-adapter (q8_0, split) exited with %d", rc);
    rc = ask(exe, tmp(4, "merged_q8.gguf"), NULL, image, question, tmp(5, "merged_q8.safetensors"), NULL);
    SK_TEST_CHECK(rc == 0, "silkie ask (merged q8_0 GGUF) exited with %d", rc);
    dump_open(tmp(0, "base.safetensors"), &base);
    dump_open(tmp(1, "lora.safetensors"), &ad);
    dump_open(tmp(3, "merged.safetensors"), &mg);
    dump_open(tmp(5, "merged_q8.safetensors"), &mq);
    if (base.logits && ad.logits && mg.logits && mq.logits) {
        double d_base = rel_diff(&ad, &base), d_merged = rel_diff(&ad, &mg);
        printf("  adapter vs base:        max|diff| %.3g of max|x| (must exceed 1e-3), top-1 "
               "%llu vs %llu\n", d_base, (unsigned long long)argmax(&ad),
               (unsigned long long)argmax(&base));
        printf("  adapter vs merged f32:  max|diff| %.3g of max|x| (bound 1e-4)\n", d_merged);
        printf("  adapter vs merged q8_0: max|diff| %.3g of max|x|, top-1 %llu vs %llu\n",
               rel_diff(&ad, &mq), (unsigned long long)argmax(&ad),
               (unsigned long long)argmax(&mq));
        SK_TEST_CHECK(d_base > 1e-3, "the adapter hardly changes the logits (%.3g)", d_base);
        SK_TEST_CHECK(d_merged >= 0 && d_merged <= 1e-4, "merged f32: %.3g > 1e-4", d_merged);
        SK_TEST_CHECK(argmax(&ad) == argmax(&mq), "merged q8_0: top-1 differs");
        int same = ad.n_ids == mg.n_ids && ad.n_ids == N_TOKENS &&
                   !memcmp(ad.ids, mg.ids, ad.n_ids * 8);
        printf("  greedy tokens (unmerged, decode list replayed):");
        for (uint64_t i = 0; i < ad.n_ids; i++) printf(" %lld", (long long)ad.ids[i]);
        printf(" -- merged f32 %s\n", same ? "identical" : "DIFFER");
        SK_TEST_CHECK(same, "greedy tokens of the merged f32 GGUF differ");
    }
    silkie_weights_close(base.w);
    silkie_weights_close(ad.w);
    silkie_weights_close(mg.w);
    silkie_weights_close(mq.w);

    printf("an adapter of another shape:\n");
    const char *misfit = tmp(6, "misfit");
    SK_TEST_CHECK(adapter_write_misfit(misfit), "writing %s", misfit);
    rc = pack(pack_exe, model, misfit, "f32", 0, tmp(0, "bad.gguf"), err);
    check_refused("silkie-pack", rc, err, 1);
    SK_TEST_CHECK(access(tmp(0, "bad.gguf"), F_OK) != 0, "silkie-pack left bad.gguf behind");
    rc = ask(exe, model, misfit, image, question, tmp(0, "base.safetensors"), err);
    check_refused("silkie ask --adapter", rc, err, 0);

    cleanup();
    cJSON_Delete(cases);
    return sk_test_result("test_golden_adapter");
}
