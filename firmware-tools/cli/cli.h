/* Subcommands of the `silkie` tool. Each returns the process exit code: 0 ok, 1 error,
 * 2 usage error. */
#ifndef SILKIE_CLI_H
#define SILKIE_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "silkie/silkie.h"

int silkie_cmd_ask(int argc, char **argv);
int silkie_cmd_chat(int argc, char **argv);
int silkie_cmd_camera(int argc, char **argv);
int silkie_cmd_bench(int argc, char **argv);
int silkie_cmd_tokenize(int argc, char **argv);
int silkie_cmd_detokenize(int argc, char **argv);
int silkie_cmd_train(int argc, char **argv);
/* `silkie train prepare` (cmd_train_prepare.c); argv[0] is "prepare". */
int silkie_cmd_train_prepare(int argc, char **argv);

/* Model and generation options shared by ask, chat and camera: --greedy --temp --top-k --top-p
 * --repeat-penalty --seed --max-tokens --n-ctx --system --weights --vision-weights --kv
 * --validate --adapter. Consumes argv[*i] (and its value, advancing *i); returns 1 when it was
 * one of them, 0 when not, -1 for a bad value (message printed). */
int silkie_cli_model_option(int argc, char **argv, int *i, silkie_model_params *mp,
                            silkie_session_params *sp);
/* Writes s as a JSON string literal (quotes, escapes; bytes >= 0x80 pass through as UTF-8). */
void silkie_cli_json_string(FILE *f, const char *s);
/* "f32", "f16", "bf16", "q8_0", "q4_0"; 0 (message printed) for anything else. */
int silkie_cli_parse_dtype(const char *s, silkie_dtype *out);

/* Reads a whole file (binary); caller frees with free(). NULL on failure, message on stderr. */
char *silkie_cli_read_file(const char *path, size_t *size);

#endif
