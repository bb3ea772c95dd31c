/* `silkie tokenize` and `silkie detokenize`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "silkie/silkie_text.h"

typedef struct {
    const char *vocab;
    const char *file;
    const char *bench;
    const char *text;
    silkie_specials specials;
    uint32_t n_queries;
    uint32_t repeat;
    int chat_user, no_special, skip_special;
} options;

#define VOCAB_OPT(o)                                                                           \
    {"--vocab", SILKIE_OPT_STR, &(o)->vocab, "FILE", "the model's qwen.tiktoken", NULL, 0, 0,  \
     SILKIE_OPT_REQUIRED | SILKIE_OPT_IN_FILE, NULL}

/* Exactly one input: the argument, --file or (tokenize) --bench. */
static int one_input(const silkie_cmd_spec *spec, options *o, const char *text,
                     const char *choices)
{
    o->text = text;
    int inputs = (o->text != NULL) + (o->file != NULL) + (o->bench != NULL);
    if (inputs != 1) return silkie_cli_usage_error(spec, "give exactly one input: %s", choices);
    return SILKIE_CLI_CONTINUE;
}

static int parse_tokenize(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    const silkie_opt t[] = {
        VOCAB_OPT(o),
        {"--file", SILKIE_OPT_STR, &o->file, "FILE",
         "encode the bytes of FILE as they are (a final newline too)", "none", 0, 0,
         SILKIE_OPT_IN_FILE, NULL},
        {"--chat-user", SILKIE_OPT_FLAG, &o->chat_user, NULL,
         "special tokens only as in a user's chat text (<img>, <ref>, <box>, ...)", NULL, 0, 0,
         0, NULL},
        {"--no-special", SILKIE_OPT_FLAG, &o->no_special, NULL,
         "no special tokens: every string is plain text", NULL, 0, 0, 0, NULL},
        {"--n-queries", SILKIE_OPT_U32, &o->n_queries, "N",
         "tokens between <img> and </img> (the image's feature positions)", "256", 1, 65536, 0,
         NULL},
        {"--bench", SILKIE_OPT_STR, &o->bench, "FILE",
         "time encoding FILE (process CPU time, best of three rounds); prints one JSON line",
         "none", 0, 0, SILKIE_OPT_IN_FILE, NULL},
        {"--repeat", SILKIE_OPT_U32, &o->repeat, "N", "--bench: encodes of FILE per round",
         "about 50 MB of text", 1, 100000, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie tokenize", "TEXT",
        "Prints the token ids of TEXT (or of --file) as a JSON array, all special tokens "
        "recognised unless told otherwise.",
        t, sizeof t / sizeof t[0], 0, 1, NULL};
    const char *pos[1] = {NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, pos, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    if (o->chat_user && o->no_special)
        return silkie_cli_usage_error(&spec, "--chat-user and --no-special exclude each other");
    o->specials = o->chat_user    ? SILKIE_SPECIALS_CHAT_USER
                  : o->no_special ? SILKIE_SPECIALS_NONE
                                  : SILKIE_SPECIALS_ALL;
    return one_input(&spec, o, pos[0], "TEXT, --file or --bench");
}

static int parse_detokenize(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    const silkie_opt t[] = {
        VOCAB_OPT(o),
        {"--file", SILKIE_OPT_STR, &o->file, "FILE", "read the JSON array of ids from FILE",
         "none", 0, 0, SILKIE_OPT_IN_FILE, NULL},
        {"--skip-special", SILKIE_OPT_FLAG, &o->skip_special, NULL,
         "leave special tokens out of the text", NULL, 0, 0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie detokenize", "IDS_JSON",
        "Prints the text of a JSON array of token ids, such as `silkie tokenize` prints.",
        t, sizeof t / sizeof t[0], 0, 1, NULL};
    const char *pos[1] = {NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, pos, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    return one_input(&spec, o, pos[0], "IDS_JSON or --file");
}

static silkie_tokenizer *load_vocab(const char *cmd, const char *path)
{
    silkie_tokenizer *t = NULL;
    if (silkie_tokenizer_load(path, &t) != SILKIE_OK)
        fprintf(stderr, "silkie %s: %s\n", cmd, silkie_last_error());
    return t;
}

/* CPU time of this process: on a shared machine wall time measures the neighbours. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench(silkie_tokenizer *t, const silkie_encode_params *p, const options *o)
{
    size_t n;
    char *text = silkie_cli_read_file(o->bench, &n);
    if (!text) return 1;
    uint32_t reps = o->repeat ? o->repeat : 1;
    if (!o->repeat && n) { /* about 50 MB of work unless told otherwise */
        size_t r = (50u << 20) / n;
        reps = (uint32_t)(r < 1 ? 1 : r > 100000 ? 100000 : r);
    }
    size_t n_tok = 0;
    double best = 1e30;
    int rc = 0;
    /* best of three rounds: the machine is shared */
    for (int round = 0; round < 3 && !rc; round++) {
        double t0 = cpu_s();
        for (uint32_t i = 0; i < reps; i++) {
            silkie_token_list *l;
            if (silkie_tokenizer_encode(t, text, n, p, &l) != SILKIE_OK) {
                fprintf(stderr, "silkie tokenize: %s\n", silkie_last_error());
                rc = 1;
                break;
            }
            n_tok = silkie_token_list_size(l);
            silkie_token_list_destroy(l);
        }
        double dt = cpu_s() - t0;
        if (dt < best) best = dt;
    }
    if (!rc) {
        double mb = (double)n * reps / 1e6;
        printf("{\"bytes\": %zu, \"tokens\": %zu, \"repeat\": %u, \"cpu_seconds\": %.4f, "
               "\"mb_per_s\": %.2f, \"bytes_per_token\": %.3f}\n",
               n, n_tok, reps, best, mb / best, n_tok ? (double)n / n_tok : 0.0);
    }
    free(text);
    return rc;
}

int silkie_cmd_tokenize(int argc, char **argv)
{
    options o;
    int rc = parse_tokenize(argc, argv, &o);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    rc = 0;
    silkie_tokenizer *t = load_vocab("tokenize", o.vocab);
    if (!t) return 1;
    silkie_encode_params p;
    silkie_encode_params_init(&p);
    p.specials = o.specials;
    p.n_queries = o.n_queries;
    if (o.bench) {
        rc = bench(t, &p, &o);
        silkie_tokenizer_destroy(t);
        return rc;
    }
    size_t n = 0;
    char *buf = NULL;
    const char *text = o.text;
    if (o.file) {
        buf = silkie_cli_read_file(o.file, &n); /* bytes as they are, final newline too */
        if (!buf) {
            silkie_tokenizer_destroy(t);
            return 1;
        }
        text = buf;
    } else {
        n = strlen(text);
    }
    silkie_token_list *l = NULL;
    if (silkie_tokenizer_encode(t, text, n, &p, &l) != SILKIE_OK) {
        fprintf(stderr, "silkie tokenize: %s\n", silkie_last_error());
        rc = 1;
    } else {
        const int32_t *ids = silkie_token_list_ids(l);
        size_t k = silkie_token_list_size(l);
        putchar('[');
        for (size_t i = 0; i < k; i++) printf(i ? ", %d" : "%d", (int)ids[i]);
        printf("]\n");
    }
    silkie_token_list_destroy(l);
    free(buf);
    silkie_tokenizer_destroy(t);
    return rc;
}

/* A JSON array of integers. Returns 1 on success (ids malloc'ed), 0 on a syntax error. */
static int parse_ids(const char *s, int32_t **ids, size_t *n)
{
    size_t cap = 64, k = 0;
    int32_t *v = malloc(cap * sizeof *v);
    if (!v) return 0;
    const char *p = s;
#define SKIP_WS() while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++
    SKIP_WS();
    if (*p++ != '[') goto fail;
    SKIP_WS();
    if (*p == ']') {
        p++;
    } else {
        for (;;) {
            SKIP_WS();
            char *end;
            errno = 0;
            long long x = strtoll(p, &end, 10);
            if (end == p || errno || x < INT32_MIN || x > INT32_MAX) goto fail;
            p = end;
            if (k == cap) {
                int32_t *nv = realloc(v, 2 * cap * sizeof *v);
                if (!nv) goto fail;
                v = nv;
                cap *= 2;
            }
            v[k++] = (int32_t)x;
            SKIP_WS();
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p++ != ']') goto fail;
            break;
        }
    }
    SKIP_WS();
    if (*p) goto fail;
#undef SKIP_WS
    *ids = v;
    *n = k;
    return 1;
fail:
    free(v);
    return 0;
}

int silkie_cmd_detokenize(int argc, char **argv)
{
    options o;
    int rc = parse_detokenize(argc, argv, &o);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    rc = 0;
    char *buf = NULL;
    const char *json = o.text;
    if (o.file) {
        size_t n;
        buf = silkie_cli_read_file(o.file, &n);
        if (!buf) return 1;
        if (strlen(buf) != n) {
            fprintf(stderr, "silkie detokenize: '%s' contains a NUL byte\n", o.file);
            free(buf);
            return 1;
        }
        json = buf;
    }
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (!parse_ids(json, &ids, &n_ids)) {
        fprintf(stderr, "silkie detokenize: input is not a JSON array of integers\n");
        free(buf);
        return 1;
    }
    free(buf);
    silkie_tokenizer *t = load_vocab("detokenize", o.vocab);
    if (!t) {
        free(ids);
        return 1;
    }
    char *text = NULL;
    size_t len = 0;
    if (silkie_tokenizer_decode(t, ids, n_ids, o.skip_special ? SILKIE_DECODE_SKIP_SPECIAL : 0,
                                &text, &len) != SILKIE_OK) {
        fprintf(stderr, "silkie detokenize: %s\n", silkie_last_error());
        rc = 1;
    } else if (fwrite(text, 1, len, stdout) != len) {
        fprintf(stderr, "silkie detokenize: cannot write the output\n");
        rc = 1;
    }
    silkie_text_free(text);
    free(ids);
    silkie_tokenizer_destroy(t);
    return rc;
}
