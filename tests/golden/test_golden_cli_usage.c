/* `silkie` as a person uses it, on a golden case's tiny model:
 * 1. several --image flags are shown in order, and a missing one fails before the load (exit 2);
 * 2. --json prints one valid object even when the answer fails part-way (context full), with
 *    the partial answer, `status` and `error`;
 * 3. the context defaults to the model's seq_length, and more than max_position_embeddings is
 *    refused with a message;
 * 4. chat lists its slash commands on /help and refuses an unknown one instead of asking it;
 * 5. progress lines appear on a terminal (through `script`, when installed) and never when
 *    standard error is a file or with --quiet;
 * 6. `silkie devices` lists a usable device, also as JSON; `silkie --version` names the commit,
 *    the build type and the Vulkan loader. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness_vk.h"

static char g_tmp[512], g_exe[1024], g_model[1200], g_img[1200];

/* Runs `silkie ARGS` through the shell (stdin from in_file or /dev/null); returns the exit
 * status with stdout and stderr in *out and *err (freed by the caller). */
static int run(const char *args, const char *in_file, char **out, char **err)
{
    char cmd[8192], o[600], e[600];
    snprintf(o, sizeof o, "%s/stdout", g_tmp);
    snprintf(e, sizeof e, "%s/stderr", g_tmp);
    snprintf(cmd, sizeof cmd, "'%s' %s <'%s' >'%s' 2>'%s'", g_exe, args,
             in_file ? in_file : "/dev/null", o, e);
    int st = system(cmd);
    size_t n;
    *out = sk_read_file(o, &n);
    *err = sk_read_file(e, &n);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void release(char *out, char *err)
{
    silkie_free(out);
    silkie_free(err);
}

static cJSON *field(cJSON *j, const char *a, const char *b)
{
    cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static const char *k_greedy = "--greedy --weights f32 --vision-weights f32 --kv f32 --quiet";

static void images_in_order(void)
{
    char args[4096];
    char *out, *err;
    snprintf(args, sizeof args, "ask --model '%s' --image '%s' --image '%s' %s --max-tokens 2 "
             "--json 'Compare the pictures.'", g_model, g_img, g_img, k_greedy);
    int rc = run(args, NULL, &out, &err);
    SK_TEST_CHECK(rc == 0, "two --image: exit %d: %s", rc, err ? err : "");
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    SK_TEST_CHECK(j && cJSON_GetNumberValue(field(j, "timings", "n_images")) == 2,
                  "two --image: n_images is not 2 in %s", out ? out : "(nothing)");
    cJSON_Delete(j);
    release(out, err);

    snprintf(args, sizeof args, "ask --model '%s' --image '%s' --image '%s/missing.png' %s "
             "'Hi'", g_model, g_img, g_tmp, k_greedy);
    rc = run(args, NULL, &out, &err);
    SK_TEST_CHECK(rc == 2 && err && strstr(err, "missing.png") && strstr(err, "--image"),
                  "a missing second --image: exit %d, stderr '%s'", rc, err ? err : "");
    release(out, err);
}

static void json_on_failure(void)
{
    char args[4096];
    char *out, *err;
    snprintf(args, sizeof args, "ask --model '%s' --image '%s' %s --max-tokens 1 --json 'Hi'",
             g_model, g_img, k_greedy);
    int rc = run(args, NULL, &out, &err);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    int prompt = (int)cJSON_GetNumberValue(field(j, "timings", "prefill_tokens"));
    SK_TEST_CHECK(rc == 0 && prompt > 0, "ask --json: exit %d, prefill_tokens %d", rc, prompt);
    cJSON_Delete(j);
    release(out, err);
    if (prompt <= 0) return;
    /* Room for the prompt and three answer tokens: the fourth overflows. */
    snprintf(args, sizeof args, "ask --model '%s' --image '%s' %s --n-ctx %d --no-stop "
             "--max-tokens 20 --json 'Hi'", g_model, g_img, k_greedy, prompt + 4);
    rc = run(args, NULL, &out, &err);
    j = out ? cJSON_Parse(out) : NULL;
    cJSON *status = field(j, "status", NULL), *error = field(j, "error", NULL);
    cJSON *tokens = field(j, "tokens", NULL);
    SK_TEST_CHECK(rc == 1, "context full: exit %d, want 1", rc);
    SK_TEST_CHECK(j != NULL, "context full: stdout is not one JSON object: '%s'",
                  out ? out : "");
    SK_TEST_CHECK(cJSON_IsString(status) &&
                      !strcmp(status->valuestring, "SILKIE_ERR_CONTEXT_FULL"),
                  "context full: status missing or wrong in '%s'", out ? out : "");
    SK_TEST_CHECK(cJSON_IsString(error) && strstr(error->valuestring, "answering"),
                  "context full: error missing in '%s'", out ? out : "");
    SK_TEST_CHECK(cJSON_GetArraySize(tokens) >= 1 &&
                      cJSON_IsString(field(j, "answer", NULL)),
                  "context full: the partial answer is missing in '%s'", out ? out : "");
    cJSON_Delete(j);
    release(out, err);

    /* Even a failed load prints the object. */
    snprintf(args, sizeof args, "ask --model '%s' --json 'Hi'", g_tmp);
    rc = run(args, NULL, &out, &err);
    j = out ? cJSON_Parse(out) : NULL;
    SK_TEST_CHECK(rc == 1 && j && cJSON_IsString(field(j, "error", NULL)),
                  "failed load with --json: exit %d, stdout '%s'", rc, out ? out : "");
    cJSON_Delete(j);
    release(out, err);
}

static void context_size(void)
{
    char args[4096];
    char *out, *err;
    snprintf(args, sizeof args, "ask --model '%s' %s --n-ctx 100000 'Hi'", g_model, k_greedy);
    int rc = run(args, NULL, &out, &err);
    SK_TEST_CHECK(rc == 1 && err && strstr(err, "max_position_embeddings"),
                  "--n-ctx above the model's maximum: exit %d, stderr '%s'", rc,
                  err ? err : "");
    release(out, err);
}

static void chat_commands(void)
{
    char in[600], args[4096];
    snprintf(in, sizeof in, "%s/chat_in", g_tmp);
    FILE *f = fopen(in, "w");
    if (!f) return;
    fputs("/help\n/bogus\n/image\n/quit\n", f);
    fclose(f);
    char *out, *err;
    snprintf(args, sizeof args, "chat --model '%s' %s --max-tokens 2", g_model, k_greedy);
    int rc = run(args, in, &out, &err);
    SK_TEST_CHECK(rc == 0, "chat: exit %d: %s", rc, err ? err : "");
    SK_TEST_CHECK(err && strstr(err, "/image FILE") && strstr(err, "/reset"),
                  "chat /help does not list the commands: '%s'", err ? err : "");
    SK_TEST_CHECK(err && strstr(err, "unknown command '/bogus'"),
                  "chat: an unknown slash command is not refused: '%s'", err ? err : "");
    SK_TEST_CHECK(err && strstr(err, "/image needs a file name"),
                  "chat: /image without a file is not refused: '%s'", err ? err : "");
    SK_TEST_CHECK(out && !out[strspn(out, "\n")], "chat answered a slash command: '%s'",
                  out ? out : "");
    release(out, err);
}

static void progress_lines(void)
{
    char args[4096];
    char *out, *err;
    snprintf(args, sizeof args, "ask --model '%s' --image '%s' --greedy --max-tokens 1 'Hi'",
             g_model, g_img);
    int rc = run(args, NULL, &out, &err);
    SK_TEST_CHECK(rc == 0 && err && !strchr(err, '\r'),
                  "progress written to a file (not a terminal): exit %d", rc);
    release(out, err);
    if (system("command -v script >/dev/null 2>&1") != 0) {
        printf("  `script` not installed: the terminal case is not run\n");
        return;
    }
    /* `script` gives the command a terminal; its typescript shows what was drawn. */
    char cmd[8192], log[600];
    snprintf(log, sizeof log, "%s/typescript", g_tmp);
    for (int quiet = 0; quiet < 2; quiet++) {
        snprintf(cmd, sizeof cmd, "script -qec \"'%s' %s%s\" '%s' >/dev/null 2>&1 </dev/null",
                 g_exe, args, quiet ? " --quiet" : "", log);
        rc = system(cmd);
        size_t n = 0;
        char *ts = sk_read_file(log, &n);
        int drawn = ts && strstr(ts, "loading") && strstr(ts, "encoding image");
        SK_TEST_CHECK(quiet ? !drawn : drawn, "on a terminal%s: progress lines %s",
                      quiet ? " with --quiet" : "", drawn ? "drawn" : "missing");
        silkie_free(ts);
    }
}

static void devices_and_version(void)
{
    char *out, *err;
    int rc = run("devices --json", NULL, &out, &err);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    cJSON *d = cJSON_GetArrayItem(field(j, "devices", NULL), 0);
    SK_TEST_CHECK(rc == 0 && d && cJSON_IsTrue(field(d, "usable", NULL)) &&
                      cJSON_GetNumberValue(field(d, "subgroup_size", NULL)) > 0,
                  "devices --json: exit %d, '%s'", rc, out ? out : "");
    cJSON_Delete(j);
    release(out, err);
    rc = run("devices", NULL, &out, &err);
    SK_TEST_CHECK(rc == 0 && out && strstr(out, "Vulkan loader") && strstr(out, "subgroup"),
                  "devices: exit %d, '%s'", rc, out ? out : "");
    release(out, err);
    rc = run("--version", NULL, &out, &err);
    SK_TEST_CHECK(rc == 0 && out && strstr(out, "commit") && strstr(out, "Vulkan loader"),
                  "--version: exit %d, '%s'", rc, out ? out : "");
    release(out, err);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_golden_cli_usage SILKIE_EXE [CASE_DIR]\n");
        return 2;
    }
    snprintf(g_exe, sizeof g_exe, "%s", argv[1]);
    char case_dir[1024];
    const char *sh = sk_shared_dir();
    if (argc > 2) snprintf(case_dir, sizeof case_dir, "%s", argv[2]);
    else if (sh) snprintf(case_dir, sizeof case_dir, "%s/golden/tiny-a", sh);
    else case_dir[0] = 0;
    char p[1200];
    snprintf(p, sizeof p, "%s/cases.json", case_dir);
    size_t n = 0;
    char *cj = case_dir[0] ? sk_read_file(p, &n) : NULL;
    cJSON *cases = cj ? cJSON_ParseWithLength(cj, n) : NULL;
    silkie_free(cj);
    cJSON *md = cJSON_GetObjectItemCaseSensitive(cases, "model_dir");
    cJSON *im = cJSON_GetObjectItemCaseSensitive(cases, "image_file");
    if (!cJSON_IsString(md) || !cJSON_IsString(im)) {
        printf("golden case %s not found or incomplete: skipped\n", case_dir);
        cJSON_Delete(cases);
        return 77;
    }
    snprintf(g_model, sizeof g_model, "%s/%s", case_dir, md->valuestring);
    snprintf(g_img, sizeof g_img, "%s/%s", case_dir, im->valuestring);
    cJSON_Delete(cases);
    /* The CLI needs a Vulkan device: skip (77), or fail under CI, without one. */
    silkie_vk_device_destroy(sk_test_device());
    const char *t = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/silkie_cli_usage_XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(g_tmp)) {
        fprintf(stderr, "cannot create %s\n", g_tmp);
        return 1;
    }
    images_in_order();
    json_on_failure();
    context_size();
    chat_commands();
    progress_lines();
    devices_and_version();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return sk_test_result("test_golden_cli_usage");
}
