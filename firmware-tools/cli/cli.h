/* Subcommands of the `silkie` tool. Each returns the process exit code: 0 ok, 1 error,
 * 2 usage error. */
#ifndef SILKIE_CLI_H
#define SILKIE_CLI_H

#include <stddef.h>

int silkie_cmd_ask(int argc, char **argv);
int silkie_cmd_chat(int argc, char **argv);
int silkie_cmd_camera(int argc, char **argv);
int silkie_cmd_bench(int argc, char **argv);
int silkie_cmd_tokenize(int argc, char **argv);
int silkie_cmd_detokenize(int argc, char **argv);

/* Reads a whole file (binary); caller frees with free(). NULL on failure, message on stderr. */
char *silkie_cli_read_file(const char *path, size_t *size);

#endif
