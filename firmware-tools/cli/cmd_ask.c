/* `silkie ask` (one question, streamed answer) and `silkie chat` (interactive, multi-turn). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_progress.h"
#include "silkie/silkie.h"
#include "silkie/silkie_text.h"

#define MAX_IMAGES SILKIE_OPT_LIST_MAX

typedef struct ask_opts {
    silkie_cli_model cm;
    silkie_opt_list images;
    const char *dump, *save, *restore;
    int json, no_stop;
    const char *question;
    /* Image bytes, read before the model loads so a bad path costs no load. */
    char *image_data[MAX_IMAGES];
    size_t image_size[MAX_IMAGES];
} ask_opts;

static const char k_chat_notes[] =
    "Then type one question per line. Slash commands:\n"
    "  /image FILE   add an image to the next question\n"
    "  /reset        forget the conversation\n"
    "  /save FILE    save the conversation\n"
    "  /load FILE    restore a saved conversation\n"
    "  /help         list these commands\n"
    "  /quit         leave (end of input does too)\n";

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* Options of ask (want_question) or chat; returns SILKIE_CLI_CONTINUE or the exit code. */
static int parse_opts(int argc, char **argv, ask_opts *o, int want_question)
{
    memset(o, 0, sizeof *o);
    silkie_opt t[SILKIE_CLI_MODEL_OPTS + 8];
    size_t n = silkie_cli_model_opts(&o->cm, t);
    const silkie_opt extra[] = {
        {"--image", SILKIE_OPT_LIST, &o->images, "FILE|-",
         want_question ? "image for the question (JPEG, PNG, WebP, BMP, GIF, PPM; - reads "
                         "standard input); several are shown in order"
                       : "image for the first question; several are shown in order",
         "none", 0, 0, SILKIE_OPT_IN_FILE | SILKIE_OPT_STDIN, NULL},
        {"--restore", SILKIE_OPT_STR, &o->restore, "FILE",
         "start from a conversation saved with --save", "none", 0, 0, SILKIE_OPT_IN_FILE, NULL},
        {"--save", SILKIE_OPT_STR, &o->save, "FILE", "save the conversation after the answer",
         "none", 0, 0, SILKIE_OPT_OUT_FILE, NULL},
        {"--json", SILKIE_OPT_FLAG, &o->json, NULL,
         "print one JSON object (answer, tokens, boxes, timings; error on failure)", NULL, 0, 0,
         0, NULL},
        {"--no-stop", SILKIE_OPT_FLAG, &o->no_stop, NULL,
         "ignore stop tokens: always generate --max-tokens tokens", NULL, 0, 0, 0, NULL},
        {"--dump", SILKIE_OPT_STR, &o->dump, "FILE.safetensors",
         "write the verification tensors (pixels, features, ids, logits, greedy ids)", "none",
         0, 0, SILKIE_OPT_OUT_FILE, NULL},
    };
    size_t n_extra = want_question ? sizeof extra / sizeof extra[0] : 2;
    for (size_t k = 0; k < n_extra; k++) t[n++] = extra[k];
    silkie_cmd_spec spec = {
        want_question ? "silkie ask" : "silkie chat",
        want_question ? "QUESTION" : "",
        want_question ? "Answers one question about zero or more images, streaming the answer "
                        "to standard output."
                      : "Interactive conversation: one question per line on standard input, "
                        "answers streamed to standard output.",
        t,
        n,
        want_question,
        want_question,
        want_question ? NULL : k_chat_notes};
    const char *pos[1] = {NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, pos, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    o->question = pos[0];
    silkie_cli_model_finish(&o->cm);
    for (int k = 0; k < o->images.n; k++) {
        const char *path = o->images.v[k];
        if (!strcmp(path, "-"))
            o->image_data[k] = silkie_cli_read_stream(stdin, "standard input",
                                                      SILKIE_CLI_MAX_INPUT_BYTES,
                                                      &o->image_size[k]);
        else o->image_data[k] = silkie_cli_read_file(path, &o->image_size[k]);
        if (!o->image_data[k]) return 1;
        if (!o->image_size[k]) {
            fprintf(stderr, "silkie: --image: '%s' is empty\n", path);
            return 1;
        }
    }
    return SILKIE_CLI_CONTINUE;
}

static void free_opts(ask_opts *o)
{
    for (int k = 0; k < MAX_IMAGES; k++) free(o->image_data[k]);
}

static silkie_status add_images(silkie_session *s, const ask_opts *o)
{
    for (int k = 0; k < o->images.n; k++) {
        const char *p = o->images.v[k];
        const char *name = strcmp(p, "-") ? base_name(p) : "stdin.jpg";
        silkie_status st =
            silkie_session_add_image_encoded(s, o->image_data[k], o->image_size[k], name);
        if (st != SILKIE_OK) return st;
    }
    return SILKIE_OK;
}

static int print_piece(const char *text, size_t len, int32_t token, void *user)
{
    (void)token;
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static void print_boxes(silkie_model *m, const char *ans)
{
    silkie_ground_box boxes[32];
    uint32_t nb = 0;
    uint32_t size = m ? silkie_model_image_size(m) : 0;
    if (size) silkie_grounding_parse(ans, strlen(ans), size, size, boxes, 32, &nb);
    for (uint32_t i = 0; i < nb && i < 32; i++) {
        printf("%s{\"phrase\":", i ? "," : "");
        char phrase[256];
        size_t pl = boxes[i].phrase_len < sizeof phrase - 1 ? boxes[i].phrase_len
                                                           : sizeof phrase - 1;
        memcpy(phrase, ans + boxes[i].phrase_offset, pl);
        phrase[pl] = 0;
        silkie_cli_json_string(stdout, phrase);
        printf(",\"norm\":[");
        for (uint32_t k = 0; k < 2 * boxes[i].n_points; k++)
            printf("%s%d", k ? "," : "", boxes[i].norm[k]);
        printf("]}");
    }
}

/* One JSON object whatever happened: the (partial) answer, and `error`/`status` on failure. */
static void print_json(const ask_opts *o, silkie_model *m, silkie_session *s, const char *what,
                       silkie_status st)
{
    silkie_timings t;
    memset(&t, 0, sizeof t);
    uint32_t n = 0;
    const int32_t *ids = NULL;
    const char *ans = "";
    if (s) {
        silkie_session_timings(s, &t);
        ids = silkie_session_answer_tokens(s, &n);
        ans = silkie_session_answer(s);
    }
    printf("{\"answer\":");
    silkie_cli_json_string(stdout, ans ? ans : "");
    printf(",\"tokens\":[");
    for (uint32_t i = 0; ids && i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
    printf("],\"boxes\":[");
    print_boxes(m, ans ? ans : "");
    printf("],\"timings\":{\"image_encode_ms\":%.3f,\"n_images\":%u,\"prefill_tokens\":%u,"
           "\"prefill_ms\":%.3f,\"prefill_tok_s\":%.2f,\"decode_tokens\":%u,\"decode_ms\":%.3f,"
           "\"decode_tok_s\":%.2f},\"device\":",
           t.image_encode_ms, t.n_images, t.prefill_tokens, t.prefill_ms,
           t.prefill_ms > 0 ? t.prefill_tokens / (t.prefill_ms / 1e3) : 0.0, t.decode_tokens,
           t.decode_ms, t.decode_ms > 0 ? t.decode_tokens / (t.decode_ms / 1e3) : 0.0);
    silkie_cli_json_string(stdout, m ? silkie_model_device_name(m) : "");
    printf(",\"model\":");
    silkie_cli_json_string(stdout, o->cm.model);
    if (st != SILKIE_OK) {
        char msg[1400];
        snprintf(msg, sizeof msg, "%s: %s", what, silkie_last_error());
        printf(",\"status\":\"%s\",\"error\":", silkie_status_name(st));
        silkie_cli_json_string(stdout, msg);
    }
    printf("}\n");
    fflush(stdout);
}

static void print_timings(silkie_model *m, silkie_session *s)
{
    silkie_timings t;
    silkie_session_timings(s, &t);
    fprintf(stderr,
            "[%s] image encode %.1f ms (%u image%s), prefill %u tokens %.1f ms (%.1f tok/s), "
            "decode %u tokens %.1f ms (%.1f tok/s)\n",
            silkie_model_device_name(m), t.image_encode_ms, t.n_images, t.n_images == 1 ? "" : "s",
            t.prefill_tokens, t.prefill_ms,
            t.prefill_ms > 0 ? t.prefill_tokens / (t.prefill_ms / 1e3) : 0.0, t.decode_tokens,
            t.decode_ms, t.decode_ms > 0 ? t.decode_tokens / (t.decode_ms / 1e3) : 0.0);
}

/* Loads the model and opens a session, with progress lines on a terminal. */
static silkie_status open_session(ask_opts *o, silkie_cli_progress *pr, silkie_model **m,
                                  silkie_session **s, const char **what)
{
    silkie_cli_progress_attach(pr, &o->cm.mp);
    *what = "loading the model";
    silkie_status st = silkie_model_load(o->cm.model, &o->cm.mp, m);
    silkie_cli_progress_done(pr);
    if (st != SILKIE_OK) return st;
    *what = "creating the session";
    st = silkie_session_create(*m, &o->cm.sp, s);
    if (st != SILKIE_OK) return st;
    *what = "restoring the session";
    if (o->restore && (st = silkie_session_restore(*s, o->restore)) != SILKIE_OK) return st;
    *what = "reading the images";
    st = add_images(*s, o);
    silkie_cli_progress_done(pr);
    return st;
}

int silkie_cmd_ask(int argc, char **argv)
{
    ask_opts o;
    int rc = parse_opts(argc, argv, &o, 1);
    if (rc != SILKIE_CLI_CONTINUE) {
        free_opts(&o);
        return rc;
    }
    silkie_cli_progress pr;
    silkie_cli_progress_init(&pr, o.cm.quiet);
    silkie_model *m = NULL;
    silkie_session *s = NULL;
    const char *what = "";
    silkie_status st = open_session(&o, &pr, &m, &s, &what);
    if (st == SILKIE_OK) {
        silkie_ask_params ap;
        silkie_ask_params_init(&ap);
        ap.on_text = o.json ? NULL : print_piece;
        ap.dump_path = o.dump;
        ap.no_stop = (uint32_t)o.no_stop;
        what = "answering";
        st = silkie_session_ask(s, o.question, &ap);
        if (!o.json) printf("\n");
    }
    if (st == SILKIE_OK && o.save) {
        what = "saving the session";
        st = silkie_session_save(s, o.save);
    }
    if (o.json) print_json(&o, m, s, what, st);
    if (st != SILKIE_OK) {
        fprintf(stderr, "silkie: %s: %s\n", what, silkie_last_error());
        rc = 1;
    } else {
        rc = 0;
        if (!o.json && !o.cm.quiet) print_timings(m, s);
    }
    silkie_session_destroy(s);
    silkie_model_destroy(m);
    free_opts(&o);
    return rc;
}

/* A slash command; returns 0 to go on, 1 to quit. */
static int chat_command(silkie_session *s, const char *line)
{
    const char *arg = strchr(line, ' ');
    size_t len = arg ? (size_t)(arg - line) : strlen(line);
    while (arg && *arg == ' ') arg++;
#define IS(name) (len == strlen(name) && !strncmp(line, name, len))
    if (IS("/quit") || IS("/exit")) return 1;
    if (IS("/help")) fputs(k_chat_notes, stderr);
    else if ((IS("/image") || IS("/save") || IS("/load")) && (!arg || !*arg))
        fprintf(stderr, "silkie: %.*s needs a file name (/help lists the commands)\n", (int)len,
                line);
    else if (IS("/image")) {
        if (silkie_session_add_image_file(s, arg) != SILKIE_OK) silkie_cli_fail("/image");
    } else if (IS("/reset")) {
        if (silkie_session_reset(s) != SILKIE_OK) silkie_cli_fail("/reset");
    } else if (IS("/save")) {
        char why[4200];
        if (!silkie_cli_out_path_ok(arg, why, sizeof why))
            fprintf(stderr, "silkie: /save: %s\n", why);
        else if (silkie_session_save(s, arg) != SILKIE_OK) silkie_cli_fail("/save");
    } else if (IS("/load")) {
        if (silkie_session_restore(s, arg) != SILKIE_OK) silkie_cli_fail("/load");
    } else {
        fprintf(stderr, "silkie: unknown command '%.*s' (/help lists the commands; start a "
                        "question with // to begin it with a slash)\n",
                (int)len, line);
    }
#undef IS
    return 0;
}

int silkie_cmd_chat(int argc, char **argv)
{
    ask_opts o;
    int rc = parse_opts(argc, argv, &o, 0);
    if (rc != SILKIE_CLI_CONTINUE) {
        free_opts(&o);
        return rc;
    }
    rc = 0;
    silkie_cli_progress pr;
    silkie_cli_progress_init(&pr, o.cm.quiet);
    silkie_model *m = NULL;
    silkie_session *s = NULL;
    const char *what = "";
    silkie_status st = open_session(&o, &pr, &m, &s, &what);
    if (st != SILKIE_OK && (!s || st == SILKIE_ERR_DEVICE_LOST)) {
        rc = silkie_cli_fail(what);
        goto done;
    }
    if (st != SILKIE_OK) silkie_cli_fail(what);
    char line[8192];
    for (;;) {
        fprintf(stderr, "> ");
        if (!fgets(line, sizeof line, stdin)) break;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!n) continue;
        const char *q = line;
        if (line[0] == '/' && line[1] != '/') {
            if (chat_command(s, line)) break;
            continue;
        }
        if (line[0] == '/') q = line + 1; /* "//text" asks "/text" */
        silkie_ask_params ap;
        silkie_ask_params_init(&ap);
        ap.on_text = print_piece;
        st = silkie_session_ask(s, q, &ap);
        printf("\n");
        if (st != SILKIE_OK) silkie_cli_fail("answering");
        else if (!o.cm.quiet) print_timings(m, s);
        if (st == SILKIE_ERR_DEVICE_LOST) {
            rc = 1;
            break;
        }
    }
done:
    silkie_session_destroy(s);
    silkie_model_destroy(m);
    free_opts(&o);
    return rc;
}
