/* Command-line options from one table per command: the table drives parsing (checked numbers,
 * paths checked before any work starts), `--help`/`-h`, and the sections of docs/CLI.md
 * (`--help-markdown`). Shared by `silkie` and the firmware tools. */
#ifndef SILKIE_CLI_OPTS_H
#define SILKIE_CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "silkie/silkie.h"

typedef enum silkie_opt_kind {
    SILKIE_OPT_FLAG,   /* int = 1 */
    SILKIE_OPT_STR,    /* const char * */
    SILKIE_OPT_LIST,   /* silkie_opt_list: the option may repeat, values kept in order */
    SILKIE_OPT_CHOICE, /* const char *, one of `choices` ("a|b|c") */
    SILKIE_OPT_I32,
    SILKIE_OPT_U32,
    SILKIE_OPT_I64,
    SILKIE_OPT_U64,
    SILKIE_OPT_F32,
    SILKIE_OPT_F64,
    SILKIE_OPT_DTYPE, /* silkie_dtype; `choices` lists the accepted names */
} silkie_opt_kind;

enum {
    SILKIE_OPT_LO_OPEN = 1 << 0,  /* the range excludes lo */
    SILKIE_OPT_IN_FILE = 1 << 1,  /* STR/LIST: a readable regular file */
    SILKIE_OPT_STDIN = 1 << 2,    /* with IN_FILE: "-" (standard input) is accepted */
    SILKIE_OPT_IN_PATH = 1 << 3,  /* STR: an existing file or folder */
    SILKIE_OPT_OUT_FILE = 1 << 4, /* STR: a file we may create or replace (see below) */
    SILKIE_OPT_REQUIRED = 1 << 5,
    SILKIE_OPT_IN_DIR = 1 << 6,   /* STR: an existing folder */
    SILKIE_OPT_OUT_DIR = 1 << 7,  /* STR: a folder that exists or can be created */
};

#define SILKIE_OPT_LIST_MAX 16
typedef struct silkie_opt_list {
    const char *v[SILKIE_OPT_LIST_MAX];
    int n;
} silkie_opt_list;

typedef struct silkie_opt {
    const char *name; /* "--top-k" */
    silkie_opt_kind kind;
    void *dst;
    const char *meta; /* value placeholder in help: "K" */
    const char *help; /* one line */
    const char *def;  /* default as shown; NULL: the value in *dst before parsing */
    double lo, hi;    /* numeric range; both 0: any value of the type */
    unsigned flags;
    const char *choices;
} silkie_opt;

typedef struct silkie_cmd_spec {
    const char *prog;    /* "silkie ask", "silkie-pack" */
    const char *args;    /* positional synopsis after the options, "" for none */
    const char *summary; /* what the command does, one or two sentences */
    const silkie_opt *opts;
    size_t n_opts;
    int min_pos, max_pos; /* positional arguments accepted */
    const char *notes;    /* optional extra help text (examples, slash commands), or NULL */
} silkie_cmd_spec;

/* silkie_cli_parse's result when the command should go on. */
#define SILKIE_CLI_CONTINUE (-1)

/* Parses argv[1..argc) against spec; positional arguments go to pos (up to spec->max_pos).
 * `--help`/`-h` print the help to stdout and return 0; `--help-markdown` prints the docs
 * section; a bad option or value prints a message naming it (prefixed by spec->prog) and
 * returns 2. `--name=value` is accepted too; `--` ends the options. */
int silkie_cli_parse(const silkie_cmd_spec *spec, int argc, char **argv, const char **pos,
                     int *n_pos);

void silkie_cli_help(const silkie_cmd_spec *spec, FILE *f);
void silkie_cli_help_markdown(const silkie_cmd_spec *spec, FILE *f);
/* Prints "PROG: MESSAGE" and the hint to run --help; returns 2. */
int silkie_cli_usage_error(const silkie_cmd_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Output-path rule shared by every writer's pre-check: the path must be missing or a regular
 * file (a symlink, FIFO, device or folder is refused) and its folder must exist. Returns 1 when
 * acceptable, else 0 with `why` filled. */
int silkie_cli_out_path_ok(const char *path, char *why, size_t why_len);

/* The most an input read from standard input may hold: the library's cap for image files. */
#define SILKIE_CLI_MAX_INPUT_BYTES ((size_t)1 << 30)

/* Writes s as a JSON string literal (quotes, escapes; bytes >= 0x80 pass through as UTF-8). */
void silkie_cli_json_string(FILE *f, const char *s);

/* Strict number parsing (whole string, no NaN/Inf, range checked); 1 ok, 0 not. */
int silkie_cli_parse_i64(const char *s, int64_t *out);
int silkie_cli_parse_f64(const char *s, double *out);

#endif
