/* Training runs through the `silkie` executable on a tiny model:
 *
 *   test_train_run SILKIE_EXE MODEL_DIR
 *
 * 1. learning: a synthetic preference set (chosen answers name colours, rejected ones
 *    animals); held-out reward accuracy must end above 0.9 and the loss must fall.
 * 2. kill and resume: the same run killed with SIGKILL at a random moment after its first
 *    checkpoint, then resumed with --resume, writes the same log.jsonl (every step's loss, bit
 *    for bit) and a byte-identical adapter as the uninterrupted run; dropout is on, so the
 *    random streams are covered too. A half-written checkpoint folder is ignored.
 * 3. refusals: --resume with another data file is refused; all-bad data is an error; bad
 *    records are skipped and counted.
 * 4. PEFT round trip: the final adapter loads as --init-adapter and evaluates exactly like the
 *    last checkpoint's copy of it; adapter_config.json carries PEFT's keys. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *g_exe, *g_model;
static char g_tmp[256];

static const char *const k_colours[] = {"red", "blue", "green", "yellow", "purple", "orange"};
static const char *const k_animals[] = {"cat", "dog", "horse", "mouse", "goat", "sheep"};
static const char *const k_things[] = {"the sky", "a flag", "a car", "a door", "a boat",
                                       "a kite", "a cup", "a hat"};

static int write_pairs(const char *path, int first, int n, int bad_lines)
{
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    for (int i = first; i < first + n; i++) {
        fprintf(f,
                "{\"prompt\": \"What colour is %s? (%d)\", \"chosen\": \"It is %s.\", "
                "\"rejected\": \"It is a %s.\"}\n",
                k_things[i % 8], i, k_colours[(i * 5) % 6], k_animals[(i * 7 + 1) % 6]);
        if (bad_lines && i == first + 1) {
            fprintf(f, "{\"prompt\": \"broken\", \"chosen\": 3}\n");
            fprintf(f, "not json at all\n");
            fprintf(f, "{\"prompt\": \"same\", \"chosen\": \"x\", \"rejected\": \"x\"}\n");
        }
    }
    return fclose(f) == 0;
}

/* Builds argv: the fixed training options, then the NULL-terminated list `more` (an option is
 * given once, so `more` may override the batch size). */
static int run_train(const char *run, const char *data, const char *const *more, const char *out,
                     pid_t *async)
{
    char *argv[64];
    int k = 0;
    const char *fixed[] = {g_exe, "train", "dpo", "--model", g_model, "--data", data,
                           "--out", run, "--weights", "f32", "--lora-r", "8",
                           "--lora-alpha", "16", "--lora-targets",
                           "c_attn,attn.c_proj,w1,w2,mlp.c_proj",
                           "--lr", "0.005", "--lr-scheduler", "constant", "--warmup-ratio",
                           "0", "--seed", "7", "--quiet"};
    for (size_t i = 0; i < SK_ARRAY_LEN(fixed); i++) argv[k++] = (char *)fixed[i];
    int batch_given = 0;
    for (int i = 0; more && more[i] && k < 61; i++) {
        batch_given |= !strcmp(more[i], "--batch");
        argv[k++] = (char *)more[i];
    }
    if (!batch_given) {
        argv[k++] = "--batch";
        argv[k++] = "2";
    }
    argv[k] = NULL;
    pid_t pid = sk_spawn(argv, out);
    if (async) {
        *async = pid;
        return 0;
    }
    return sk_wait(pid);
}

static char *slurp(const char *path, size_t *n)
{
    return sk_read_file(path, n);
}

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    silkie_free(x);
    silkie_free(y);
    return same;
}

/* Values of `key` on the log's step lines (not eval lines), in order. */
static int log_values(const char *path, const char *key, double *v, int cap)
{
    size_t n = 0;
    char *text = slurp(path, &n);
    int k = 0;
    for (char *line = text; line && *line && k < cap;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        cJSON *j = cJSON_Parse(line);
        cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);
        if (cJSON_IsNumber(x)) v[k++] = x->valuedouble;
        cJSON_Delete(j);
        line = nl ? nl + 1 : line + strlen(line);
    }
    silkie_free(text);
    return k;
}

static void test_learning(const char *data, const char *eval)
{
    char run[512];
    snprintf(run, sizeof run, "%s/learn", g_tmp);
    const char *more[] = {"--steps", "8", "--eval-data", eval, "--lora-dropout", "0", NULL};
    int rc = run_train(run, data, more, NULL, NULL);
    SK_TEST_CHECK(rc == 0, "learning run exited %d", rc);
    char log[600];
    snprintf(log, sizeof log, "%s/log.jsonl", run);
    double loss[32], acc[8];
    int nl = log_values(log, "loss", loss, 32);
    int na = log_values(log, "eval_rewards/accuracies", acc, 8);
    SK_TEST_CHECK(nl == 8, "%d step lines, want 8", nl);
    SK_TEST_CHECK(na == 1, "%d eval lines, want 1", na);
    if (nl == 8) {
        double first = (loss[0] + loss[1]) / 2, last = (loss[6] + loss[7]) / 2;
        printf("learning: loss %.4f -> %.4f, held-out accuracy %.3f\n", first, last,
               na ? acc[na - 1] : -1);
        SK_TEST_CHECK(last < first - 0.05, "loss did not fall: %.4f -> %.4f", first, last);
    }
    if (na) SK_TEST_CHECK(acc[na - 1] > 0.9, "held-out reward accuracy %.3f", acc[na - 1]);
    /* Every TRL metric name is on a step line. */
    static const char *keys[] = {"step", "epoch", "loss", "rewards/chosen", "rewards/rejected",
                                 "rewards/accuracies", "rewards/margins", "logps/chosen",
                                 "logps/rejected", "logits/chosen", "logits/rejected",
                                 "grad_norm", "learning_rate"};
    for (size_t i = 0; i < SK_ARRAY_LEN(keys); i++) {
        double v[32];
        int want = i < 2 ? 9 : 8; /* the evaluation line has a step and an epoch too */
        SK_TEST_CHECK(log_values(log, keys[i], v, 32) == want, "log lacks %s", keys[i]);
    }
    /* PEFT layout of the final adapter. */
    char cfg[600];
    snprintf(cfg, sizeof cfg, "%s/adapter/adapter_config.json", run);
    size_t n = 0;
    char *text = slurp(cfg, &n);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    static const char *peft[] = {"peft_type", "task_type", "r", "lora_alpha", "lora_dropout",
                                 "target_modules", "bias", "base_model_name_or_path"};
    for (size_t i = 0; i < SK_ARRAY_LEN(peft); i++)
        SK_TEST_CHECK(cJSON_GetObjectItemCaseSensitive(j, peft[i]) != NULL,
                      "adapter_config.json lacks %s", peft[i]);
    cJSON_Delete(j);
    silkie_free(text);

    /* Round trip: the exported adapter evaluates like the last checkpoint's. */
    char ad[600], ck[600], d1[600], d2[600];
    snprintf(ad, sizeof ad, "%s/adapter", run);
    snprintf(ck, sizeof ck, "%s/checkpoint-8", run);
    snprintf(d1, sizeof d1, "%s/d1.safetensors", g_tmp);
    snprintf(d2, sizeof d2, "%s/d2.safetensors", g_tmp);
    char *a1[] = {(char *)g_exe, "train", "dpo", "--model", (char *)g_model, "--data",
                  (char *)eval, "--init-adapter", ad, "--weights", "f32", "--steps", "0",
                  "--dump", d1, NULL};
    SK_TEST_CHECK(sk_run(a1, NULL) == 0, "--init-adapter RUN/adapter");
    a1[8] = ck;
    a1[14] = d2;
    SK_TEST_CHECK(sk_run(a1, NULL) == 0, "--init-adapter RUN/checkpoint-8");
    SK_TEST_CHECK(same_file(d1, d2), "exported adapter and checkpoint evaluate differently");
}

static void test_kill_resume(const char *data)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/full", g_tmp);
    snprintf(b, sizeof b, "%s/killed", g_tmp);
    const char *more[] = {"--steps", "4", "--batch", "1", "--save-every", "1", "--lora-dropout",
                          "0.1", NULL};
    uint64_t t0 = silkie_time_ns();
    SK_TEST_CHECK(run_train(a, data, more, NULL, NULL) == 0, "uninterrupted run");
    double full_s = (silkie_time_ns() - t0) / 1e9;

    /* Kill somewhere after the first checkpoint: a random point of the remaining time. */
    pid_t pid;
    run_train(b, data, more, NULL, &pid);
    char ck1[600];
    snprintf(ck1, sizeof ck1, "%s/checkpoint-1", b);
    struct stat sb;
    while (stat(ck1, &sb) != 0 && waitpid(pid, NULL, WNOHANG) == 0) usleep(20000);
    srand((unsigned)time(NULL));
    double delay = full_s * 0.6 * (rand() / (double)RAND_MAX);
    usleep((useconds_t)(delay * 1e6));
    kill(pid, SIGKILL);
    int rc = sk_wait(pid);
    printf("kill/resume: killed after the first checkpoint + %.2f s (exit %d)\n", delay, rc);
    /* A half-written checkpoint (as a kill during a save leaves) must be ignored. */
    char junk[600];
    snprintf(junk, sizeof junk, "%s/.checkpoint-5.tmp99999", b);
    mkdir(junk, 0755);
    const char *resume[] = {"--steps", "4", "--batch", "1", "--save-every", "1",
                            "--lora-dropout", "0.1", "--resume", NULL};
    SK_TEST_CHECK(run_train(b, data, resume, NULL, NULL) == 0, "resumed run");
    char la[600], lb[600], aa[600], ab[600];
    snprintf(la, sizeof la, "%s/log.jsonl", a);
    snprintf(lb, sizeof lb, "%s/log.jsonl", b);
    snprintf(aa, sizeof aa, "%s/adapter/adapter_model.safetensors", a);
    snprintf(ab, sizeof ab, "%s/adapter/adapter_model.safetensors", b);
    SK_TEST_CHECK(same_file(la, lb), "log.jsonl of the resumed run differs");
    SK_TEST_CHECK(same_file(aa, ab), "adapter of the resumed run differs");
    double lossa[8], lossb[8];
    int na = log_values(la, "loss", lossa, 8), nb = log_values(lb, "loss", lossb, 8);
    SK_TEST_CHECK(na == 4 && nb == 4, "step lines %d / %d", na, nb);

    /* Another data file: refused. */
    char other[600];
    snprintf(other, sizeof other, "%s/other.jsonl", g_tmp);
    write_pairs(other, 100, 4, 0);
    SK_TEST_CHECK(run_train(b, other, resume, NULL, NULL) == 1,
                  "--resume with another data file must fail");
}

static void test_bad_data(void)
{
    char bad[600], run[600], out[600];
    snprintf(bad, sizeof bad, "%s/bad.jsonl", g_tmp);
    snprintf(run, sizeof run, "%s/bad", g_tmp);
    snprintf(out, sizeof out, "%s/bad.out", g_tmp);
    FILE *f = fopen(bad, "w");
    if (f) {
        fputs("nonsense\n{\"prompt\": 1}\n", f);
        fclose(f);
    }
    const char *more[] = {"--steps", "1", NULL};
    SK_TEST_CHECK(run_train(run, bad, more, out, NULL) == 1, "all-bad data must fail");
    /* Bad records among good ones are skipped and counted. */
    char mixed[600];
    snprintf(mixed, sizeof mixed, "%s/mixed.jsonl", g_tmp);
    write_pairs(mixed, 0, 4, 1);
    snprintf(run, sizeof run, "%s/mixed", g_tmp);
    SK_TEST_CHECK(run_train(run, mixed, more, out, NULL) == 0, "mixed data run");
    size_t n = 0;
    char *text = slurp(out, &n);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    cJSON *sk = cJSON_GetObjectItemCaseSensitive(j, "skipped");
    cJSON *mal = cJSON_GetObjectItemCaseSensitive(sk, "malformed");
    cJSON *resp = cJSON_GetObjectItemCaseSensitive(sk, "response");
    SK_TEST_CHECK(cJSON_IsNumber(mal) && mal->valuedouble == 2, "malformed count");
    SK_TEST_CHECK(cJSON_IsNumber(resp) && resp->valuedouble <= 1, "response skips");
    cJSON_Delete(j);
    silkie_free(text);
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        rm_rf(p);
    }
    closedir(d);
    rmdir(path);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SILKIE_EXE MODEL_DIR\n", argv[0]);
        return 2;
    }
    g_exe = argv[1];
    g_model = argv[2];
    struct stat sb;
    if (stat(g_model, &sb) != 0) {
        fprintf(stderr, "test_train_run: no model at %s; skipped\n", g_model);
        return 77;
    }
    snprintf(g_tmp, sizeof g_tmp, "/tmp/silkie-train-run-XXXXXX");
    SK_TEST_CHECK(mkdtemp(g_tmp) != NULL, "mkdtemp");
    char data[600], eval[600];
    snprintf(data, sizeof data, "%s/train.jsonl", g_tmp);
    snprintf(eval, sizeof eval, "%s/eval.jsonl", g_tmp);
    SK_TEST_CHECK(write_pairs(data, 0, 16, 0) && write_pairs(eval, 16, 6, 0), "data files");
    test_learning(data, eval);
    test_kill_resume(data);
    test_bad_data();
    if (!sk_test_failures) rm_rf(g_tmp);
    return sk_test_result("test_train_run");
}
