/* Shared helpers of the api tests. */
#include "api_common.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_model[1024];
static char g_paths[4][1200];
static char g_tmp[1024];
static char g_tmp_paths[4][1200];

const char *api_model_dir(void)
{
    if (g_model[0]) return g_model;
    const char *sh = sk_shared_dir();
    struct stat st;
    if (sh) snprintf(g_model, sizeof g_model, "%s/golden/tiny-a/model", sh);
    if (!sh || stat(g_model, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("golden tiny-a model not found: skipped\n");
        exit(77);
    }
    return g_model;
}

const char *api_case_file(int slot, const char *name)
{
    const char *m = api_model_dir();
    snprintf(g_paths[slot], sizeof g_paths[slot], "%.*s/%s", (int)(strlen(m) - 6), m, name);
    return g_paths[slot];
}

silkie_model *api_load(silkie_dtype weight_type, uint32_t text_only, uint32_t max_layers)
{
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    mp.weight_type = weight_type;
    mp.text_only = text_only;
    mp.max_layers = max_layers;
    silkie_model *m = NULL;
    silkie_status st = silkie_model_load(api_model_dir(), &mp, &m);
    if (st == SILKIE_ERR_NO_DEVICE) {
        const char *ci = getenv("CI");
        int under_ci = ci && !strcmp(ci, "true");
        printf("no Vulkan device: %s (%s)\n", silkie_last_error(),
               under_ci ? "failure under CI" : "skipped");
        api_cleanup();
        exit(under_ci ? 1 : 77);
    }
    SK_TEST_OK(st);
    if (!m) {
        api_cleanup();
        exit(sk_test_result("api: model load"));
    }
    return m;
}

silkie_session *api_session(silkie_model *m, uint32_t n_ctx, silkie_dtype kv)
{
    silkie_session_params sp;
    silkie_session_params_init(&sp);
    sp.temperature = 0;
    sp.n_ctx = n_ctx;
    sp.kv_type = kv;
    silkie_session *s = NULL;
    SK_TEST_OK(silkie_session_create(m, &sp, &s));
    return s;
}

api_answer api_ask(silkie_session *s, const char *question, int32_t max_tokens)
{
    api_answer a;
    memset(&a, 0, sizeof a);
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.max_new_tokens = max_tokens;
    ap.no_stop = 1;
    a.st = silkie_session_ask(s, question, &ap);
    uint32_t n = 0;
    const int32_t *ids = silkie_session_answer_tokens(s, &n);
    a.n = n < API_MAX_IDS ? n : API_MAX_IDS;
    if (ids) memcpy(a.ids, ids, a.n * sizeof *ids);
    return a;
}

int api_same_answer(const char *what, const api_answer *a, const api_answer *b)
{
    int ok = a->st == SILKIE_OK && b->st == SILKIE_OK && a->n == b->n && a->n > 0 &&
             !memcmp(a->ids, b->ids, a->n * sizeof a->ids[0]);
    if (!ok) {
        fprintf(stderr, "%s: answers differ (%s, %u ids / %s, %u ids):", what,
                silkie_status_name(a->st), a->n, silkie_status_name(b->st), b->n);
        for (uint32_t i = 0; i < a->n || i < b->n; i++)
            fprintf(stderr, " %d/%d", i < a->n ? a->ids[i] : -1, i < b->n ? b->ids[i] : -1);
        fprintf(stderr, "\n");
    }
    SK_TEST_CHECK(ok, "%s", what);
    return ok;
}

const char *api_tmp_dir(void)
{
    if (g_tmp[0]) return g_tmp;
    const char *t = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/silkie_api_XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(g_tmp)) {
        fprintf(stderr, "cannot create %s\n", g_tmp);
        exit(1);
    }
    return g_tmp;
}

const char *api_tmp_path(int slot, const char *name)
{
    snprintf(g_tmp_paths[slot], sizeof g_tmp_paths[slot], "%s/%s", api_tmp_dir(), name);
    return g_tmp_paths[slot];
}

/* Removes the files (and one level of sub-folders) the tests made under the private folder. */
static void remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[2048];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (depth > 0 && lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p, depth - 1);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

void api_cleanup(void)
{
    if (g_tmp[0]) remove_tree(g_tmp, 1);
    g_tmp[0] = 0;
}

int api_write_file(const char *path, const void *data, size_t n)
{
    return sk_write_file(path, data, n);
}
