/* `silkie`: command-line entry point; dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "silkie/silkie.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* one line */
} command;

/* In the order `silkie --help` lists them. */
static const command k_commands[] = {
    {"ask", silkie_cmd_ask, "answer one question about zero or more images"},
    {"chat", silkie_cmd_chat, "interactive conversation, one question per line"},
    {"camera", silkie_cmd_camera, "ask about every frame of a camera or a recording"},
    {"tokenize", silkie_cmd_tokenize, "text to token ids"},
    {"detokenize", silkie_cmd_detokenize, "token ids to text"},
    {"train", silkie_cmd_train, "LoRA fine-tuning: `train dpo`, `train prepare`"},
    {"bench", silkie_cmd_bench, "inference (and `bench train`: training) speed on this device"},
    {"devices", silkie_cmd_devices, "list the Vulkan devices and the features the runtime uses"},
};
#define N_COMMANDS (sizeof k_commands / sizeof k_commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: silkie COMMAND [OPTIONS] ...\n\n"
               "Runs Qwen-VL-Chat on a Vulkan device. `silkie COMMAND --help` describes a "
               "command.\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-12s  %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(f, "\nOptions:\n  %-12s  %s\n  %-12s  %s\n", "--version",
            "print the version, build and Vulkan driver, and exit", "-h, --help",
            "print this help and exit");
}

/* The docs section (docs/CLI.md): no version in it, so the page does not change with each. */
static void usage_markdown(FILE *f)
{
    fprintf(f, "## `silkie`\n\n```\nsilkie COMMAND [OPTIONS] ...\n```\n\n"
               "Runs Qwen-VL-Chat on a Vulkan device. `silkie COMMAND --help` describes a "
               "command; `silkie --version` prints the version, the build (commit, build type) "
               "and the Vulkan loader and drivers found.\n\n"
               "| Command | What it does |\n|---|---|\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "| `%s` | %s |\n", k_commands[i].name, k_commands[i].summary);
    fputc('\n', f);
}

/* Version, build, and the Vulkan loader and drivers this machine offers (none is fine). */
static int print_version(void)
{
    printf("silkie %s\n", silkie_build_string());
    silkie_device_info d[8];
    uint32_t n = 0, loader = 0;
    silkie_status st = silkie_devices_list(d, 8, &n, &loader);
    if (loader)
        printf("Vulkan loader %u.%u.%u\n", (loader >> 22) & 0x7fu, (loader >> 12) & 0x3ffu,
               loader & 0xfffu);
    else
        printf("Vulkan loader: none found\n");
    if (st != SILKIE_OK) printf("Vulkan devices: %s\n", silkie_last_error());
    for (uint32_t i = 0; st == SILKIE_OK && i < n && i < 8; i++)
        printf("device %u: %s, driver %s\n", i, d[i].name,
               d[i].usable ? d[i].driver : d[i].reason);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *a = argv[1];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(a, "--help-markdown")) {
        usage_markdown(stdout);
        return 0;
    }
    if (!strcmp(a, "--version")) return print_version();
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(a, k_commands[i].name)) return k_commands[i].run(argc - 1, argv + 1);
    if (a[0] == '-') fprintf(stderr, "silkie: unknown option '%s'\n", a);
    else fprintf(stderr, "silkie: unknown command '%s'\n", a);
    fprintf(stderr, "Try 'silkie --help'.\n");
    return 2;
}
