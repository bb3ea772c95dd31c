/* `silkie train prepare` run as a program: counts, exit codes, the pairs file. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "silkie/silkie_train.h"

static const char *g_exe;

static int run(const char *args, char *out, size_t cap)
{
    char full[8192];
    snprintf(full, sizeof full, "%s%s", "train prepare ", args);
    return sk_run_capture(g_exe, full, out, cap);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    SK_TEST_CHECK(f != NULL, "create %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

#define ASPECTS(h, e, v)                                                              \
    "{\"Helpfulness\": {\"Rating\": \"" h "\"}, \"Ethical Considerations\": {\"Rating\": \"" e \
    "\"}, \"Visual Faithfulness\": {\"Rating\": \"" v "\"}}"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_train_prepare_cli PATH_TO_SILKIE\n");
        return 1;
    }
    g_exe = argv[1];
    char in[64], bad[64], out[64], args[1024], text[8192];
    snprintf(in, sizeof in, "prepare_cli_%ld.jsonl", (long)getpid());
    snprintf(bad, sizeof bad, "prepare_cli_%ld_bad.jsonl", (long)getpid());
    snprintf(out, sizeof out, "prepare_cli_%ld_out.jsonl", (long)getpid());
    write_text(in, "{\"id\": \"q\", \"prompt\": \"What?\", \"img_path\": \"a.jpg\", "
                   "\"completions\": [{\"model\": \"m\", \"response\": \"Good.\", \"annotations\": "
                   ASPECTS("5", "5", "4") "}, {\"model\": \"n\", \"response\": \"Bad.\", "
                   "\"annotations\": " ASPECTS("2", "N/A", "1") "}, {\"model\": \"o\", "
                   "\"response\": \"Meh.\", \"annotations\": " ASPECTS("3", "3", "3") "}]}\n"
                   "[1, 2]\n");
    write_text(bad, "{\"prompt\": \"no image\"}\n");

    snprintf(args, sizeof args, "--vlfeedback '%s' --out '%s' --json", in, out);
    SK_TEST_CHECK(run(args, text, sizeof text) == 0, "json run: %s", text);
    SK_TEST_CHECK(strstr(text, "\"ok\": true") && strstr(text, "\"records\": 2") &&
                      strstr(text, "\"records_malformed\": 1") && strstr(text, "\"pairs\": 1") &&
                      strstr(text, "\"unparsable_rating\": 2"),
                  "json counts: %s", text);
    silkie_pref_reader *r = NULL;
    SK_TEST_OK(silkie_pref_reader_open(out, &r));
    silkie_pref_pair p;
    if (r) {
        SK_TEST_OK(silkie_pref_reader_next(r, &p, NULL));
        SK_TEST_CHECK(!strcmp(p.chosen, "Good.") && !strcmp(p.rejected, "Meh.") &&
                          p.n_images == 1 && !strcmp(p.images[0], "a.jpg"),
                      "pair read back");
        SK_TEST_STATUS(silkie_pref_reader_next(r, &p, NULL), SILKIE_ERR_END_OF_STREAM);
        silkie_pref_reader_destroy(r);
    }

    snprintf(args, sizeof args, "--vlfeedback '%s' --dry-run", in);
    SK_TEST_CHECK(run(args, text, sizeof text) == 0 && strstr(text, "-> 1 pairs (dry run)"),
                  "human line: %s", text);
    SK_TEST_CHECK(run("--help", text, sizeof text) == 0 && strstr(text, "usage:"), "--help");
    SK_TEST_CHECK(run("-h", text, sizeof text) == 0, "-h");
    SK_TEST_CHECK(run("", text, sizeof text) == 2, "no arguments");
    snprintf(args, sizeof args, "--vlfeedback '%s'", in);
    SK_TEST_CHECK(run(args, text, sizeof text) == 2, "no --out");
    snprintf(args, sizeof args, "--vlfeedback '%s' --out x --format yaml", in);
    SK_TEST_CHECK(run(args, text, sizeof text) == 2, "bad --format");
    snprintf(args, sizeof args, "--vlfeedback '%s' --out '%s' --json", bad, out);
    SK_TEST_CHECK(run(args, text, sizeof text) == 1 && strstr(text, "\"ok\": false") &&
                      strstr(text, "SILKIE_ERR_BAD_DATA"),
                  "all-bad input: %s", text);
    snprintf(args, sizeof args, "--vlfeedback missing_%s --out '%s'", in, out);
    SK_TEST_CHECK(run(args, text, sizeof text) == 2, "missing input (a usage error)");

    remove(in);
    remove(bad);
    remove(out);
    return sk_test_result("test_train_prepare_cli");
}
