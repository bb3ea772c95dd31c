/* Pipeline caches built ahead of time (docs/FIRMWARE.md, "Pipeline cache"):
 *
 *   test_golden_cache SILKIE_CACHE CASE_DIR
 *
 * silkie-cache writes a cache for the golden model on this device (JSON report: pipelines,
 * bytes, vision); silkie_model_load given that file through silkie_model_params.pipeline_cache
 * loads it and answers with the golden tokens; a file made for another device (vendor id
 * changed) or truncated is a logged miss, the answer is the same, and the file is rewritten for
 * this device. Bad arguments are usage errors (exit 2) and leave the paths alone. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "silkie/silkie.h"

static const char *g_tool, *g_case;
static char g_tmp[1024], g_log[8192], g_image[1100];

static void on_log(silkie_log_level level, const char *module, const char *msg, void *user)
{
    (void)level, (void)module, (void)user;
    const size_t used = strlen(g_log);
    if (strstr(msg, "pipeline cache") && used + 2 < sizeof g_log)
        snprintf(g_log + used, sizeof g_log - used, "%s\n", msg);
}

static const char *tmp(int slot, const char *name)
{
    static char buf[4][1100];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", g_tmp, name);
    return buf[slot];
}

/* The case's image, greedy tokens and question (the query after the image span). */
static int golden_tokens(int32_t *ids, int max, char *question, size_t cap)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/cases.json", g_case);
    size_t n = 0;
    char *text = sk_read_file(path, &n);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    silkie_free(text);
    const cJSON *q = cJSON_GetObjectItem(j, "query");
    const cJSON *img = cJSON_GetObjectItem(j, "image_file");
    if (cJSON_IsString(img)) snprintf(g_image, sizeof g_image, "%s/%s", g_case, img->valuestring);
    const cJSON *g = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "generation"), "greedy_ids");
    const char *after = cJSON_IsString(q) ? strstr(q->valuestring, "</img>\n") : NULL;
    int count = -1;
    if (after && cJSON_IsArray(g) && g_image[0]) {
        snprintf(question, cap, "%s", after + 7);
        count = 0;
        const cJSON *t = NULL;
        cJSON_ArrayForEach(t, g) if (count < max) ids[count++] = (int32_t)t->valueint;
    }
    cJSON_Delete(j);
    return count;
}

typedef struct collected {
    int32_t ids[64];
    uint32_t n;
} collected;

static int on_text(const char *text, size_t len, int32_t token, void *user)
{
    (void)text, (void)len;
    collected *c = user;
    if (c->n < 64) c->ids[c->n++] = token;
    return 0;
}

/* Loads the model with the cache file, answers greedily; 1 when the tokens match. */
static int answer_with(const char *cache, const char *prompt, const int32_t *want, int n_want)
{
    char model[1100];
    snprintf(model, sizeof model, "%s/model", g_case);
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    mp.weight_type = SILKIE_DTYPE_F32;
    mp.vision_type = SILKIE_DTYPE_F32;
    mp.pipeline_cache = cache;
    silkie_session_params sp;
    silkie_session_params_init(&sp);
    sp.temperature = 0;
    sp.kv_type = SILKIE_DTYPE_F32;
    silkie_model *m = NULL;
    silkie_session *s = NULL;
    collected got = {.n = 0};
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.on_text = on_text;
    ap.user = &got;
    ap.max_new_tokens = n_want;
    ap.no_stop = 1;
    silkie_status st = silkie_model_load(model, &mp, &m);
    if (st == SILKIE_OK) st = silkie_session_create(m, &sp, &s);
    if (st == SILKIE_OK) st = silkie_session_add_image_file(s, g_image);
    if (st == SILKIE_OK) st = silkie_session_ask(s, prompt, &ap);
    SK_TEST_CHECK(st == SILKIE_OK, "answer with %s: %s", cache, silkie_last_error());
    silkie_session_destroy(s);
    silkie_model_destroy(m); /* writes the cache when it was a miss */
    int same = st == SILKIE_OK && got.n == (uint32_t)n_want;
    for (int i = 0; same && i < n_want; i++) same = got.ids[i] == want[i];
    SK_TEST_CHECK(same, "answer with %s: not the golden tokens", cache);
    return same;
}

static int is_cache(const char *path)
{
    size_t n = 0;
    char *d = sk_read_file(path, &n);
    const int ok = d && n > 40 && !memcmp(d, "SKPCACHE", 8);
    silkie_free(d);
    return ok;
}

static void usage_errors(const char *model)
{
    const char *folder = g_tmp;
    char *no_out[] = {(char *)g_tool, "--model", (char *)model, NULL};
    char *out_folder[] = {(char *)g_tool, "--model", (char *)model, "--out", (char *)folder,
                          NULL};
    char *no_model[] = {(char *)g_tool, "--model", (char *)tmp(1, "missing"), "--out",
                        (char *)tmp(2, "never.bin"), NULL};
    SK_TEST_CHECK(sk_run(no_out, "/dev/null") == 2, "no --out: not a usage error");
    SK_TEST_CHECK(sk_run(out_folder, "/dev/null") == 2, "--out a folder: not a usage error");
    SK_TEST_CHECK(sk_run(no_model, "/dev/null") == 2, "missing model: not a usage error");
    if (symlink(tmp(1, "target.bin"), tmp(3, "link.bin")) == 0) {
        char *out_link[] = {(char *)g_tool, "--model", (char *)model, "--out",
                            (char *)tmp(3, "link.bin"), NULL};
        SK_TEST_CHECK(sk_run(out_link, "/dev/null") == 2, "--out a symlink: not refused");
        struct stat st;
        SK_TEST_CHECK(lstat(tmp(1, "target.bin"), &st) != 0, "the link's target was created");
        unlink(tmp(3, "link.bin"));
    }
    struct stat st;
    SK_TEST_CHECK(stat(tmp(2, "never.bin"), &st) != 0, "a failed run wrote its --out");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_golden_cache SILKIE_CACHE CASE_DIR\n");
        return 2;
    }
    g_tool = argv[1];
    g_case = argv[2];
    char model[1100];
    snprintf(model, sizeof model, "%s/model", g_case);
    struct stat sb;
    if (stat(model, &sb) != 0) {
        fprintf(stderr, "test_golden_cache: no %s, skipped\n", model);
        return 77;
    }
    int32_t want[64];
    char prompt[1024];
    const int n_want = golden_tokens(want, 64, prompt, sizeof prompt);
    if (n_want <= 0) {
        fprintf(stderr, "test_golden_cache: no image, query or greedy_ids in %s/cases.json\n",
                g_case);
        return 1;
    }
    const char *base = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/silkie-cache-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(g_tmp)) return 1;

    /* Built ahead of time: the f32 types the answers below use, JSON report. */
    const char *file = tmp(0, "pipelines.bin");
    char *args[] = {(char *)g_tool, "--model", model, "--out", (char *)file, "--weights", "f32",
                    "--vision-weights", "f32", "--kv", "f32", "--json", NULL};
    const int rc = sk_run(args, tmp(1, "report.json"));
    size_t n = 0;
    char *report = sk_read_file(tmp(1, "report.json"), &n);
    cJSON *j = report ? cJSON_Parse(report) : NULL;
    const cJSON *pipes = j ? cJSON_GetObjectItem(j, "pipelines") : NULL;
    const cJSON *bytes = j ? cJSON_GetObjectItem(j, "bytes") : NULL;
    SK_TEST_CHECK(rc == 0 && cJSON_IsNumber(pipes) && pipes->valueint >= 10 &&
                      cJSON_IsNumber(bytes) && cJSON_IsTrue(cJSON_GetObjectItem(j, "vision")),
                  "silkie-cache: exit %d, report '%s'", rc, report ? report : "");
    cJSON_Delete(j);
    silkie_free(report);
    SK_TEST_CHECK(is_cache(file), "silkie-cache wrote no cache file");

    silkie_log_set(on_log, NULL);
    silkie_log_set_level(SILKIE_LOG_INFO);
    g_log[0] = 0;
    answer_with(file, prompt, want, n_want);
    SK_TEST_CHECK(strstr(g_log, "loaded") && strstr(g_log, file) && !strstr(g_log, "ignoring"),
                  "the built cache was not used: '%s'", g_log);

    /* Made for another device: the vendor id (after the magic and version) differs. */
    FILE *f = fopen(file, "r+b");
    SK_TEST_CHECK(f && fseek(f, 12, SEEK_SET) == 0 && fputc(0x5A, f) != EOF, "edit %s", file);
    if (f) fclose(f);
    g_log[0] = 0;
    answer_with(file, prompt, want, n_want);
    SK_TEST_CHECK(strstr(g_log, "another device or driver") && strstr(g_log, "saved"),
                  "foreign cache: '%s'", g_log);
    g_log[0] = 0;
    answer_with(file, prompt, want, n_want);
    SK_TEST_CHECK(strstr(g_log, "loaded") && strstr(g_log, file), "rewritten cache not loaded: "
                  "'%s'", g_log);

    /* Truncated inside its header. */
    SK_TEST_CHECK(truncate(file, 20) == 0, "truncate");
    g_log[0] = 0;
    answer_with(file, prompt, want, n_want);
    SK_TEST_CHECK(strstr(g_log, "truncated header") && is_cache(file),
                  "truncated cache: '%s'", g_log);
    silkie_log_set(NULL, NULL);

    usage_errors(model);
    unlink(file);
    unlink(tmp(1, "report.json"));
    rmdir(g_tmp);
    return sk_test_result("test_golden_cache");
}
