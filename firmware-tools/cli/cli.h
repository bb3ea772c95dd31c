/* Subcommands of the `silkie` tool. Each returns the process exit code: 0 ok, 1 error,
 * 2 usage error. */
#ifndef SILKIE_CLI_H
#define SILKIE_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "cli_opts.h"
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
int silkie_cmd_devices(int argc, char **argv);

/* Model and generation options shared by ask, chat and camera (see silkie_cli_model_opts). */
typedef struct silkie_cli_model {
    const char *model;
    silkie_model_params mp;
    silkie_session_params sp;
    int greedy, validate, quiet, verify, f16_gemm;
} silkie_cli_model;
/* Initializes m and writes its option table to t (room for SILKIE_CLI_MODEL_OPTS entries);
 * returns the count. After parsing call silkie_cli_model_finish. */
#define SILKIE_CLI_MODEL_OPTS 24
size_t silkie_cli_model_opts(silkie_cli_model *m, silkie_opt *t);
void silkie_cli_model_finish(silkie_cli_model *m);
/* Prints "silkie: WHAT: <last error>" and returns 1. */
int silkie_cli_fail(const char *what);

/* Reads a whole file (binary, at most SILKIE_CLI_MAX_INPUT_BYTES); caller frees with free().
 * NULL on failure, message on stderr. */
char *silkie_cli_read_file(const char *path, size_t *size);
/* The same for an open stream (standard input); `what` names it in messages. */
char *silkie_cli_read_stream(FILE *f, const char *what, size_t max, size_t *size);

#endif
