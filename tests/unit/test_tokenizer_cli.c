/* `silkie tokenize` / `silkie detokenize` run as a program: output and exit codes. */
#include <stdlib.h>
#include <sys/wait.h>

#include "test_text.h"

static const char *g_exe;

static int run(const char *args, char *out, size_t cap) { return sk_run_capture(g_exe, args, out, cap); }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_tokenizer_cli PATH_TO_SILKIE\n");
        return 1;
    }
    g_exe = argv[1];
    const char *vocab = tt_shared_path("spec/qwen.tiktoken");
    if (!vocab) return 77;
    char vocab_q[4200], args[8192], out[65536];
    snprintf(vocab_q, sizeof vocab_q, "--vocab '%s'", vocab);

    snprintf(args, sizeof args, "tokenize %s 'Hello world'", vocab_q);
    SK_TEST_CHECK(run(args, out, sizeof out) == 0 && !strcmp(out, "[9707, 1879]\n"),
                  "tokenize: '%s'", out);

    snprintf(args, sizeof args,
             "tokenize %s --n-queries 16 'Picture 1: <img>hopper.jpg</img>\nWhat is in this "
             "picture? Answer briefly.'",
             vocab_q);
    SK_TEST_CHECK(run(args, out, sizeof out) == 0 &&
                      !strcmp(out, "[24669, 220, 16, 25, 220, 151857, 104, 111, 112, 112, 101, "
                                   "114, 46, 106, 112, 103, 151859, 151859, 151859, 151859, "
                                   "151859, 151859, 151858, 198, 3838, 374, 304, 419, 6802, 30, "
                                   "21806, 26753, 13]\n"),
                  "tokenize image: '%s'", out);

    snprintf(args, sizeof args, "tokenize %s --chat-user '<|im_start|>'", vocab_q);
    SK_TEST_CHECK(run(args, out, sizeof out) == 0 && !strstr(out, "151644"), "chat-user: '%s'",
                  out);
    snprintf(args, sizeof args, "tokenize %s '<|im_start|>'", vocab_q);
    SK_TEST_CHECK(run(args, out, sizeof out) == 0 && !strcmp(out, "[151644]\n"), "all: '%s'",
                  out);

    /* --file keeps the final newline */
    char path[] = "/tmp/silkie_cli_XXXXXX";
    int fd = mkstemp(path);
    SK_TEST_CHECK(fd >= 0, "temp file");
    if (fd >= 0) {
        FILE *f = fdopen(fd, "wb");
        fputs("line one\nline two\r\nline three\n\n\n", f);
        fclose(f);
        snprintf(args, sizeof args, "tokenize %s --file '%s'", vocab_q, path);
        SK_TEST_CHECK(run(args, out, sizeof out) == 0 &&
                          !strcmp(out, "[1056, 825, 198, 1056, 1378, 319, 1056, 2326, 1406]\n"),
                      "tokenize --file: '%s'", out);
        f = fopen(path, "wb");
        fputs("[9707, 11, 1879, 0]\n", f);
        fclose(f);
        snprintf(args, sizeof args, "detokenize %s --file '%s'", vocab_q, path);
        SK_TEST_CHECK(run(args, out, sizeof out) == 0 && !strcmp(out, "Hello, world!"),
                      "detokenize --file: '%s'", out);
        remove(path);
    }

    snprintf(args, sizeof args, "detokenize %s '[151644, 872, 198, 108386]'", vocab_q);
    SK_TEST_CHECK(run(args, out, sizeof out) == 0 &&
                      !strcmp(out, "<|im_start|>user\n\xe4\xbd\xa0\xe5\xa5\xbd"),
                  "detokenize: '%s'", out);
    snprintf(args, sizeof args, "detokenize %s --skip-special '[151644, 872]'", vocab_q);
    SK_TEST_CHECK(run(args, out, sizeof out) == 0 && !strcmp(out, "user"), "skip: '%s'", out);

    /* An id the vocabulary lacks decodes to nothing (as in answers); errors: 1; usage: 2 */
    snprintf(args, sizeof args, "detokenize %s '[151644, 151860, 872]'", vocab_q);
    SK_TEST_CHECK(run(args, out, sizeof out) == 0 && !strcmp(out, "<|im_start|>user"),
                  "unknown id: '%s'", out);
    snprintf(args, sizeof args, "detokenize %s '[1,'", vocab_q);
    SK_TEST_CHECK(run(args, out, sizeof out) == 1, "bad json exit code");
    char bad[] = "/tmp/silkie_cli_XXXXXX";
    int bfd = mkstemp(bad);
    if (bfd >= 0) {
        FILE *f = fdopen(bfd, "wb");
        fputs("ok \xff", f);
        fclose(f);
        snprintf(args, sizeof args, "tokenize %s --file '%s'", vocab_q, bad);
        SK_TEST_CHECK(run(args, out, sizeof out) == 1, "invalid utf-8 exit code");
        remove(bad);
    }
    /* A missing file is a usage error, found before anything is read. */
    SK_TEST_CHECK(run("tokenize --vocab /nonexistent/v.tiktoken x", out, sizeof out) == 2,
                  "missing vocab exit code");
    SK_TEST_CHECK(run("tokenize 'no vocab'", out, sizeof out) == 2, "usage exit code");
    snprintf(args, sizeof args, "tokenize %s a b", vocab_q);
    SK_TEST_CHECK(run(args, out, sizeof out) == 2, "two inputs exit code");
    SK_TEST_CHECK(run("frobnicate", out, sizeof out) == 2, "unknown command exit code");
    return sk_test_result("test_tokenizer_cli");
}
