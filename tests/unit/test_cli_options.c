/* Every command and tool against its option table, run as programs (no model is loaded):
 *
 *   test_cli_options SILKIE PACK INSPECT MAKE_DEMO BENCH_OPS|- BENCH_CAMERA|- VERIFY|- CACHE|-
 *
 * - `--help` and `-h` exit 0 and list every option below; `--help-markdown` lists no option
 *   missing from this file (so a new option needs a line here) and gives each one a default;
 * - every bad number (abc, nan, inf, -1, out of range) exits 2 naming its option;
 * - an unknown option exits 2; paths are refused at parse time (missing input, a FIFO, a link
 *   or a folder as output); `silkie-make-demo --help` creates nothing.
 * The option lists are the programs' contract (scripts use the names), not a copy to update
 * blindly: renaming one here is renaming it for every user. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

typedef struct opt_case {
    const char *name;
    const char *out_of_range; /* numbers: a value beyond the range; NULL: not a number */
} opt_case;

typedef struct cmd_case {
    int exe;         /* index into g_exe */
    const char *sub; /* subcommand words before the options, "" for a tool */
    const opt_case *opts;
} cmd_case;

enum { SILKIE, PACK, INSPECT, MAKE_DEMO, BENCH_OPS, BENCH_CAMERA, VERIFY, CACHE, N_EXE };
static const char *g_exe[N_EXE];
static char g_tmp[1024];

#define MODEL_OPTS                                                                             \
    {"--model", NULL}, {"--device", NULL}, {"--weights", NULL}, {"--vision-weights", NULL},    \
        {"--kv", NULL}, {"--adapter", NULL}, {"--n-ctx", "16777217"}, {"--system", NULL},      \
        {"--greedy", NULL}, {"--temp", "10001"}, {"--top-k", "16777217"}, {"--top-p", "0"},    \
        {"--repeat-penalty", "0.0001"}, {"--seed", "18446744073709551616"},                   \
        {"--max-tokens", "16777217"}, {"--validate", NULL}, {"--quiet", NULL},                \
        {"--verify", NULL}, {"--f16-gemm", NULL}, {"--pipeline-cache", NULL}

static const opt_case k_ask[] = {MODEL_OPTS,         {"--image", NULL},   {"--restore", NULL},
                                 {"--save", NULL},   {"--json", NULL},    {"--no-stop", NULL},
                                 {"--dump", NULL},   {NULL, NULL}};
static const opt_case k_chat[] = {MODEL_OPTS, {"--image", NULL}, {"--restore", NULL},
                                  {NULL, NULL}};
static const opt_case k_camera[] = {MODEL_OPTS,
                                    {"--camera", NULL},
                                    {"--source", NULL},
                                    {"--every", "86401"},
                                    {"--on-change", NULL},
                                    {"--change-threshold", "256"},
                                    {"--realtime", NULL},
                                    {"--fps", "0"},
                                    {"--max-frames", "1000000001"},
                                    {"--image-name", NULL},
                                    {"--json", NULL},
                                    {NULL, NULL}};
static const opt_case k_tokenize[] = {{"--vocab", NULL},      {"--file", NULL},
                                      {"--chat-user", NULL},  {"--no-special", NULL},
                                      {"--n-queries", "0"},   {"--bench", NULL},
                                      {"--repeat", "100001"}, {NULL, NULL}};
static const opt_case k_detokenize[] = {
    {"--vocab", NULL}, {"--file", NULL}, {"--skip-special", NULL}, {NULL, NULL}};
static const opt_case k_none[] = {{NULL, NULL}};
static const opt_case k_train_dpo[] = {
    {"--model", NULL},          {"--data", NULL},
    {"--images", NULL},         {"--out", NULL},
    {"--resume", NULL},         {"--steps", "100000001"},
    {"--epochs", "0"},          {"--dump", NULL},
    {"--eval-data", NULL},      {"--eval-split", "1"},
    {"--eval-every", "100000001"}, {"--save-every", "100000001"},
    {"--seed", "2147483648"},   {"--system", NULL},
    {"--layout", NULL},         {"--max-prompt", "0"},
    {"--max-length", "1"},      {"--init-adapter", NULL},
    {"--lora-r", "4097"},       {"--lora-alpha", "0"},
    {"--lora-targets", NULL},   {"--lora-dropout", "1"},
    {"--loss", NULL},           {"--beta", "0"},
    {"--label-smoothing", "0.5"}, {"--batch", "0"},
    {"--grad-accum", "4097"},   {"--lr", "11"},
    {"--lr-scheduler", NULL},   {"--warmup-ratio", "1.5"},
    {"--weight-decay", "11"},   {"--adam-beta1", "1"},
    {"--adam-beta2", "1"},      {"--max-grad-norm", "1e10"},
    {"--quiet", NULL},          {"--weights", NULL},
    {"--vision-weights", NULL}, {"--kv", NULL},
    {"--device", NULL},         {"--validate", NULL},
    {NULL, NULL}};
static const opt_case k_train_prepare[] = {{"--vlfeedback", NULL}, {"--out", NULL},
                                           {"--dry-run", NULL},    {"--format", NULL},
                                           {"--json", NULL},       {NULL, NULL}};
static const opt_case k_bench[] = {{"--weights", NULL},      {"--layers", "33"},
                                   {"--vision-layers", "49"}, {"--prefill", "8193"},
                                   {"--decode", "0"},        {"--no-vision", NULL},
                                   {"--device", NULL},       {"--json", NULL},
                                   {"--quiet", NULL},        {"--f16-gemm", NULL},
                                   {NULL, NULL}};
static const opt_case k_bench_train[] = {
    {"--setting", NULL},    {"--weights", NULL},       {"--layers", "33"},
    {"--vision-layers", "49"}, {"--lora-r", "0"},     {"--lora-targets", NULL},
    {"--with-image", NULL}, {"--prompt", "8193"},      {"--response", "0"},
    {"--steps", "1000001"}, {"--device", NULL},        {"--json", NULL},
    {NULL, NULL}};
static const opt_case k_devices[] = {{"--json", NULL}, {NULL, NULL}};
static const opt_case k_pack[] = {{"--model", NULL},        {"--out", NULL},
                                  {"--type", NULL},         {"--vision-type", NULL},
                                  {"--tensor-type", NULL},  {"--split", NULL},
                                  {"--merge-adapter", NULL}, {"--device", NULL},
                                  {"--no-selftest", NULL},  {"--quiet", NULL},
                                  {NULL, NULL}};
static const opt_case k_verify[] = {{"--device", NULL},      {"--json", NULL},
                                    {"--no-selftest", NULL}, {"--quiet", NULL},
                                    {NULL, NULL}};
static const opt_case k_inspect[] = {{"--json", NULL}, {NULL, NULL}};
static const opt_case k_bench_ops[] = {{"--quick", NULL},     {"--variants", NULL},
                                       {"--check", NULL},     {"--filter", NULL},
                                       {"--iters", "0"},      {"--reps", "100001"},
                                       {"--json", NULL},      {"--device", NULL},
                                       {"--wall-clock", NULL}, {NULL, NULL}};
static const opt_case k_cache[] = {{"--model", NULL},   {"--device", NULL},
                                   {"--out", NULL},     {"--weights", NULL},
                                   {"--vision-weights", NULL}, {"--kv", NULL},
                                   {"--json", NULL},    {"--quiet", NULL},
                                   {NULL, NULL}};
static const opt_case k_bench_camera[] = {
    {"--frames", "0"}, {"--size", "4097"}, {"--device", NULL}, {NULL, NULL}};

static const cmd_case k_cmds[] = {
    {SILKIE, "ask", k_ask},
    {SILKIE, "chat", k_chat},
    {SILKIE, "camera", k_camera},
    {SILKIE, "tokenize", k_tokenize},
    {SILKIE, "detokenize", k_detokenize},
    {SILKIE, "train", k_none},
    {SILKIE, "train dpo", k_train_dpo},
    {SILKIE, "train prepare", k_train_prepare},
    {SILKIE, "bench", k_bench},
    {SILKIE, "bench train", k_bench_train},
    {SILKIE, "devices", k_devices},
    {PACK, "", k_pack},
    {INSPECT, "", k_inspect},
    {MAKE_DEMO, "", k_none},
    {BENCH_OPS, "", k_bench_ops},
    {BENCH_CAMERA, "", k_bench_camera},
    {VERIFY, "", k_verify},
    {CACHE, "", k_cache},
};

static char g_out[1 << 16];

/* Standard output of "EXE SUB ARGS" into g_out; exit status. */
static int run_out(const cmd_case *c, const char *args)
{
    char full[4096];
    snprintf(full, sizeof full, "%s %s", c->sub, args);
    return sk_run_capture(g_exe[c->exe], full, g_out, sizeof g_out);
}

/* Standard error instead (sk_run_capture discards it, so a shell swaps the two). */
static int run_err(const cmd_case *c, const char *args)
{
    char full[8192];
    snprintf(full, sizeof full, "-c '\"$0\" \"$@\" 2>&1 >/dev/null' '%s' %s %s", g_exe[c->exe],
             c->sub, args);
    return sk_run_capture("/bin/sh", full, g_out, sizeof g_out);
}

static const char *prog(const cmd_case *c)
{
    static char name[256];
    const char *b = strrchr(g_exe[c->exe], '/');
    snprintf(name, sizeof name, "%s%s%s", b ? b + 1 : g_exe[c->exe], c->sub[0] ? " " : "",
             c->sub);
    return name;
}

/* An option line of the help starts "  --name" followed by its value or the description. */
static int help_lists(const char *help, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(help, name); p; p = strstr(p + 1, name))
        if (p >= help + 3 && !strncmp(p - 3, "\n  ", 3) && (p[n] == ' ' || p[n] == '\n'))
            return 1;
    return 0;
}

static int in_table(const opt_case *opts, const char *name, size_t len)
{
    for (const opt_case *o = opts; o->name; o++)
        if (strlen(o->name) == len && !strncmp(o->name, name, len)) return 1;
    return 0;
}

static void check_help(const cmd_case *c)
{
    char help[sizeof g_out];
    int rc = run_out(c, "--help");
    snprintf(help, sizeof help, "%s", g_out);
    SK_TEST_CHECK(rc == 0 && strstr(help, "usage:"), "%s --help: exit %d", prog(c), rc);
    rc = run_out(c, "-h");
    SK_TEST_CHECK(rc == 0 && !strcmp(help, g_out), "%s -h: exit %d or not --help's text",
                  prog(c), rc);
    for (const opt_case *o = c->opts; o->name; o++)
        SK_TEST_CHECK(help_lists(help, o->name), "%s --help does not list %s", prog(c),
                      o->name);
    /* Docs rows: "| `--name META` | help; default X |". */
    rc = run_out(c, "--help-markdown");
    SK_TEST_CHECK(rc == 0 && strstr(g_out, "## `"), "%s --help-markdown: exit %d", prog(c), rc);
    for (char *row = strstr(g_out, "\n| `--"); row; row = strstr(row + 1, "\n| `--")) {
        const char *name = row + 4;
        size_t len = strcspn(name, " `");
        char *end = strchr(row + 1, '\n');
        if (end) *end = 0;
        if (strncmp(name, "--help", len))
            SK_TEST_CHECK(in_table(c->opts, name, len), "%s: option %.*s is not in this test",
                          prog(c), (int)len, name);
        if (strncmp(name, "--help", len))
            SK_TEST_CHECK(strstr(row, "; default ") || strstr(row, "; required"),
                          "%s: %.*s shows no default", prog(c), (int)len, name);
        if (end) *end = '\n';
    }
}

/* ARGS exits 2 with `want` in the message. */
static void check_usage_error(const cmd_case *c, const char *args, const char *want)
{
    int rc = run_err(c, args);
    SK_TEST_CHECK(rc == 2 && strstr(g_out, want), "%s %s: exit %d, stderr '%s' (want 2, '%s')",
                  prog(c), args, rc, g_out, want);
}

static void check_numbers(const cmd_case *c)
{
    static const char *const k_bad[] = {"abc", "nan", "inf", "-1", "1x"};
    char args[512];
    for (const opt_case *o = c->opts; o->name; o++) {
        if (!o->out_of_range) continue;
        for (size_t k = 0; k < SK_ARRAY_LEN(k_bad); k++) {
            snprintf(args, sizeof args, "%s %s", o->name, k_bad[k]);
            check_usage_error(c, args, o->name);
        }
        snprintf(args, sizeof args, "%s=%s", o->name, o->out_of_range);
        check_usage_error(c, args, o->name);
    }
    check_usage_error(c, "--no-such-option 1", "--no-such-option");
}

/* Input and output paths are checked while parsing, before any model is read. */
static void check_paths(void)
{
    const cmd_case ask = {SILKIE, "ask", k_ask}, camera = {SILKIE, "camera", k_camera};
    const cmd_case dpo = {SILKIE, "train dpo", k_train_dpo};
    const cmd_case prep = {SILKIE, "train prepare", k_train_prepare};
    const cmd_case tok = {SILKIE, "tokenize", k_tokenize}, pack = {PACK, "", k_pack};
    const cmd_case inspect = {INSPECT, "", k_inspect};
    char args[4096], fifo[1100], link[1100], dir[1100], file[1100];
    snprintf(fifo, sizeof fifo, "%s/fifo", g_tmp);
    snprintf(link, sizeof link, "%s/link", g_tmp);
    snprintf(dir, sizeof dir, "%s/dir", g_tmp);
    snprintf(file, sizeof file, "%s/file.txt", g_tmp);
    SK_TEST_CHECK(mkfifo(fifo, 0600) == 0 && symlink(file, link) == 0 && mkdir(dir, 0700) == 0,
                  "cannot make the FIFO, link and folder in %s", g_tmp);
    FILE *f = fopen(file, "w");
    if (f) fclose(f);

    snprintf(args, sizeof args, "--image '%s/missing.jpg' --model '%s/no-model' 'What?'", g_tmp,
             g_tmp);
    check_usage_error(&ask, args, "--image");
    /* The model folder exists (it is no model): only the output is wrong, found before a load. */
    const char *bad_out[] = {fifo, link, dir};
    for (size_t k = 0; k < SK_ARRAY_LEN(bad_out); k++) {
        snprintf(args, sizeof args, "--model '%s' --dump '%s' 'What?'", g_tmp, bad_out[k]);
        check_usage_error(&ask, args, "--dump");
        snprintf(args, sizeof args, "--model '%s' --save '%s' 'What?'", g_tmp, bad_out[k]);
        check_usage_error(&ask, args, "--save");
    }
    snprintf(args, sizeof args, "--model '%s' --dump '%s/no-folder/x.safetensors' 'What?'",
             g_tmp, g_tmp);
    check_usage_error(&ask, args, "--dump");
    snprintf(args, sizeof args, "--model '%s' --adapter '%s' 'What?'", g_tmp, file);
    check_usage_error(&ask, args, "--adapter");
    snprintf(args, sizeof args, "--model '%s' --camera '%s/video9' 'What?'", g_tmp, g_tmp);
    check_usage_error(&camera, args, "--camera");
    snprintf(args, sizeof args, "--model '%s' 'What?'", g_tmp);
    check_usage_error(&camera, args, "--camera");
    snprintf(args, sizeof args, "--model '%s' --camera /dev/null --source '%s' 'What?'", g_tmp,
             file);
    check_usage_error(&camera, args, "--camera");
    check_usage_error(&camera, "--gpu 0", "--gpu");
    snprintf(args, sizeof args, "--model '%s' --data '%s/missing.jsonl' --steps 0", g_tmp,
             g_tmp);
    check_usage_error(&dpo, args, "--data");
    snprintf(args, sizeof args, "--model '%s' --data '%s' --steps 0 --dump '%s'", g_tmp, file,
             fifo);
    check_usage_error(&dpo, args, "--dump");
    snprintf(args, sizeof args, "--model '%s' --data '%s' --out '%s'", g_tmp, file, file);
    check_usage_error(&dpo, args, "--out");
    snprintf(args, sizeof args, "--vlfeedback '%s/missing.json' --dry-run", g_tmp);
    check_usage_error(&prep, args, "--vlfeedback");
    snprintf(args, sizeof args, "--vlfeedback '%s' --out '%s'", file, dir);
    check_usage_error(&prep, args, "--out");
    snprintf(args, sizeof args, "--vocab '%s' x", dir);
    check_usage_error(&tok, args, "--vocab");
    snprintf(args, sizeof args, "--model '%s/missing' --out '%s/x.gguf'", g_tmp, g_tmp);
    check_usage_error(&pack, args, "--model");
    snprintf(args, sizeof args, "--model '%s' --out '%s'", g_tmp, link);
    check_usage_error(&pack, args, "--out");
    snprintf(args, sizeof args, "'%s/missing.gguf'", g_tmp);
    check_usage_error(&inspect, args, "missing.gguf");
    if (g_exe[VERIFY]) {
        const cmd_case ver = {VERIFY, "", k_verify};
        check_usage_error(&ver, args, "missing.gguf");
        snprintf(args, sizeof args, "'%s'", dir);
        check_usage_error(&ver, args, "not a regular file");
        snprintf(args, sizeof args, "--model '%s' --out '%s/x.gguf' --tensor-type blk.0", g_tmp,
                 g_tmp);
        check_usage_error(&pack, args, "--tensor-type");
        snprintf(args, sizeof args, "--model '%s' --out '%s/x.gguf' --tensor-type x=q5_1", g_tmp,
                 g_tmp);
        check_usage_error(&pack, args, "--tensor-type");
    }
    remove(fifo);
    remove(link);
    remove(file);
    rmdir(dir);
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n == 0;
}

/* The top level, the dispatchers, and silkie-make-demo's --help writing nothing. */
static void check_top_level(void)
{
    const cmd_case top = {SILKIE, "", k_none};
    int rc = run_out(&top, "--help");
    SK_TEST_CHECK(rc == 0, "silkie --help: exit %d", rc);
    for (size_t i = 0; i < SK_ARRAY_LEN(k_cmds); i++)
        if (k_cmds[i].exe == SILKIE && !strchr(k_cmds[i].sub, ' '))
            SK_TEST_CHECK(help_lists(g_out, k_cmds[i].sub), "silkie --help lacks %s",
                          k_cmds[i].sub);
    SK_TEST_CHECK(run_out(&top, "-h") == 0, "silkie -h");
    /* --version loads the Vulkan driver, which lavapipe unloads with allocations LeakSanitizer
     * can no longer attribute (scripts/test.sh): leak checks stay off for that one child. */
    const char *asan = getenv("ASAN_OPTIONS");
    char *asan_saved = asan ? strdup(asan) : NULL;
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    SK_TEST_CHECK(run_out(&top, "--version") == 0 && g_out[0], "silkie --version");
    if (asan_saved) setenv("ASAN_OPTIONS", asan_saved, 1);
    else unsetenv("ASAN_OPTIONS");
    free(asan_saved);
    rc = run_err(&top, "");
    SK_TEST_CHECK(rc == 2 && strstr(g_out, "usage:"), "silkie alone: exit %d, '%s'", rc, g_out);
    check_usage_error(&top, "frobnicate", "frobnicate");
    check_usage_error(&top, "--frobnicate", "--frobnicate");
    const cmd_case train = {SILKIE, "train", k_none};
    check_usage_error(&train, "", "dpo|prepare");
    check_usage_error(&train, "frobnicate", "frobnicate");

    const cmd_case demo = {MAKE_DEMO, "", k_none};
    char here[4096], work[1100];
    snprintf(work, sizeof work, "%s/demo", g_tmp);
    if (!getcwd(here, sizeof here) || mkdir(work, 0700) != 0 || chdir(work) != 0) {
        SK_TEST_CHECK(0, "cannot work in %s", work);
        return;
    }
    SK_TEST_CHECK(run_out(&demo, "--help") == 0 && run_out(&demo, "-h") == 0 &&
                      run_err(&demo, "--bogus") == 2 && run_err(&demo, "") == 2,
                  "silkie-make-demo --help / -h / --bogus / nothing");
    SK_TEST_CHECK(dir_is_empty("."), "silkie-make-demo --help created files");
    SK_TEST_CHECK(chdir(here) == 0, "back to %s", here);
    rmdir(work);
}

int main(int argc, char **argv)
{
    if (argc < 1 + N_EXE) {
        fprintf(stderr, "usage: test_cli_options SILKIE PACK INSPECT MAKE_DEMO BENCH_OPS|- "
                        "BENCH_CAMERA|- VERIFY|- CACHE|-\n");
        return 1;
    }
    static char abs_path[N_EXE][4096]; /* the make-demo check runs in another folder */
    for (int i = 0; i < N_EXE; i++)
        if (strcmp(argv[1 + i], "-"))
            g_exe[i] = realpath(argv[1 + i], abs_path[i]) ? abs_path[i] : argv[1 + i];
    const char *t = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/silkie_cli_XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(g_tmp)) {
        fprintf(stderr, "cannot create %s\n", g_tmp);
        return 1;
    }
    for (size_t i = 0; i < SK_ARRAY_LEN(k_cmds); i++) {
        const cmd_case *c = &k_cmds[i];
        if (!g_exe[c->exe]) {
            printf("%s: not built, skipped\n", c->sub[0] ? c->sub : "a bench tool");
            continue;
        }
        check_help(c);
        check_numbers(c);
    }
    check_paths();
    check_top_level();
    rmdir(g_tmp);
    return sk_test_result("test_cli_options");
}
