/* `silkie`: command-line entry point; dispatches to a subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "silkie/silkie.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command k_commands[] = {
    {"ask", silkie_cmd_ask,
     "--model DIR|FILE.gguf [--image FILE|-] [--greedy] [--temp T] [--top-k K] [--top-p P] [--seed S] "
     "[--max-tokens N] [--weights f16|q8_0|q4_0] [--adapter DIR] [--json] [--dump F.safetensors] "
     "QUESTION"},
    {"bench", silkie_cmd_bench,
     "[--weights q4_0|q8_0|f16] [--layers N] [--prefill T] [--decode G] [--no-vision] [--json]"},
    {"camera", silkie_cmd_camera,
     "--model DIR|FILE.gguf (--device /dev/videoN | --source FILE.mjpeg|DIR|IMAGE|-) [--every S | "
     "--on-change] [--realtime] [--json] [--max-frames N] [--adapter DIR] [ask's sampling options] "
     "QUESTION"},
    {"chat", silkie_cmd_chat,
     "--model DIR|FILE.gguf [--image FILE] [--adapter DIR] (then one question per line)"},
    {"tokenize", silkie_cmd_tokenize,
     "--vocab FILE [--chat-user|--no-special] [--n-queries N] (TEXT | --file F | --bench F)"},
    {"detokenize", silkie_cmd_detokenize, "--vocab FILE [--skip-special] (IDS_JSON | --file F)"},
    {"train", silkie_cmd_train,
     "dpo --model DIR --data PAIRS.jsonl [--images DIR] [--init-adapter DIR] [--layout "
     "plain|silkie] --steps 0 [--dump F.safetensors] (train dpo --help: every option)"},
};

static int usage(FILE *f)
{
    fprintf(f, "silkie %s\nusage:\n", silkie_version_string());
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
        fprintf(f, "  silkie %s %s\n", k_commands[i].name, k_commands[i].help);
    return 2;
}

char *silkie_cli_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "silkie: cannot open '%s'\n", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *nb = cap > ((size_t)-1) / 4 ? NULL : realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        fprintf(stderr, "silkie: cannot read '%s'\n", path);
        return NULL;
    }
    buf[n] = 0;
    *size = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("%s\n", silkie_version_string());
        return 0;
    }
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
        if (!strcmp(argv[1], k_commands[i].name)) return k_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "silkie: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
