/* `silkie ask` (one question, streamed answer) and `silkie chat` (interactive, multi-turn). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "silkie/silkie.h"
#include "silkie/silkie_text.h"

typedef struct ask_opts {
    const char *model, *image, *question, *dump, *device, *system, *save, *restore;
    silkie_model_params mp;
    silkie_session_params sp;
    int json, no_stop;
} ask_opts;

/* Shared options of ask and chat; returns 0 on a usage error. */
static int parse_opts(int argc, char **argv, ask_opts *o, int want_question)
{
    memset(o, 0, sizeof *o);
    silkie_model_params_init(&o->mp);
    silkie_session_params_init(&o->sp);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
        int shared = silkie_cli_model_option(argc, argv, &i, &o->mp, &o->sp);
        if (shared < 0) return 0;
        if (shared) continue;
        if (ARG("--model")) o->model = v;
        else if (ARG("--image")) o->image = v;
        else if (ARG("--dump")) o->dump = v;
        else if (ARG("--device")) o->mp.device = v;
        else if (ARG("--save")) o->save = v;
        else if (ARG("--restore")) o->restore = v;
        else if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--no-stop")) o->no_stop = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "silkie: unknown or incomplete option '%s'\n", a);
            return 0;
        } else if (want_question && !o->question) o->question = a;
        else {
            fprintf(stderr, "silkie: unexpected argument '%s'\n", a);
            return 0;
        }
#undef ARG
    }
    if (!o->model) {
        fprintf(stderr, "silkie: --model DIR|FILE.gguf is required\n");
        return 0;
    }
    if (want_question && !o->question) {
        fprintf(stderr, "silkie: a question is required\n");
        return 0;
    }
    return 1;
}

static int fail(const char *what)
{
    fprintf(stderr, "silkie: %s: %s\n", what, silkie_last_error());
    return 1;
}

static int print_piece(const char *text, size_t len, int32_t token, void *user)
{
    (void)token;
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static int add_image(silkie_session *s, const char *path)
{
    if (strcmp(path, "-") != 0) return silkie_session_add_image_file(s, path) == SILKIE_OK;
    /* A JPEG (or PPM) on standard input. */
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, stdin);
        if (n < cap) break;
        unsigned char *nb = realloc(buf, cap *= 2);
        if (!nb) free(buf);
        buf = nb;
    }
    if (!buf) {
        fprintf(stderr, "silkie: out of memory reading stdin\n");
        return 0;
    }
    int ok = silkie_session_add_image_encoded(s, buf, n, "stdin.jpg") == SILKIE_OK;
    free(buf);
    return ok;
}

static void print_json(const ask_opts *o, silkie_model *m, silkie_session *s)
{
    silkie_timings t;
    silkie_session_timings(s, &t);
    uint32_t n = 0;
    const int32_t *ids = silkie_session_answer_tokens(s, &n);
    const char *ans = silkie_session_answer(s);
    printf("{\"answer\":");
    silkie_cli_json_string(stdout, ans);
    printf(",\"tokens\":[");
    for (uint32_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
    printf("],\"boxes\":[");
    silkie_ground_box boxes[32];
    uint32_t nb = 0;
    uint32_t size = silkie_model_image_size(m);
    silkie_grounding_parse(ans, strlen(ans), size, size, boxes, 32, &nb);
    for (uint32_t i = 0; i < nb && i < 32; i++) {
        printf("%s{\"phrase\":", i ? "," : "");
        char phrase[256];
        size_t pl = boxes[i].phrase_len < sizeof phrase - 1 ? boxes[i].phrase_len : sizeof phrase - 1;
        memcpy(phrase, ans + boxes[i].phrase_offset, pl);
        phrase[pl] = 0;
        silkie_cli_json_string(stdout, phrase);
        printf(",\"norm\":[");
        for (uint32_t k = 0; k < 2 * boxes[i].n_points; k++)
            printf("%s%d", k ? "," : "", boxes[i].norm[k]);
        printf("]}");
    }
    printf("],\"timings\":{\"image_encode_ms\":%.3f,\"n_images\":%u,\"prefill_tokens\":%u,"
           "\"prefill_ms\":%.3f,\"prefill_tok_s\":%.2f,\"decode_tokens\":%u,\"decode_ms\":%.3f,"
           "\"decode_tok_s\":%.2f},\"device\":",
           t.image_encode_ms, t.n_images, t.prefill_tokens, t.prefill_ms,
           t.prefill_ms > 0 ? t.prefill_tokens / (t.prefill_ms / 1e3) : 0.0, t.decode_tokens,
           t.decode_ms, t.decode_ms > 0 ? t.decode_tokens / (t.decode_ms / 1e3) : 0.0);
    silkie_cli_json_string(stdout, silkie_model_device_name(m));
    printf(",\"model\":");
    silkie_cli_json_string(stdout, o->model);
    printf("}\n");
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

int silkie_cmd_ask(int argc, char **argv)
{
    ask_opts o;
    if (!parse_opts(argc, argv, &o, 1)) {
        fprintf(stderr, "usage: silkie ask --model DIR|FILE.gguf [--image FILE|-] [--greedy] [--temp T] "
                        "[--top-k K] [--top-p P] [--repeat-penalty R] [--seed S] "
                        "[--max-tokens N] [--weights f16|q8_0|q4_0|f32|bf16] [--kv f16|f32] "
                        "[--adapter DIR] [--json] [--dump FILE.safetensors] [--save FILE] [--restore FILE] "
                        "\"question\"\n");
        return 2;
    }
    silkie_model *m = NULL;
    silkie_session *s = NULL;
    if (silkie_model_load(o.model, &o.mp, &m) != SILKIE_OK) return fail("loading the model");
    int rc = 0;
    if (silkie_session_create(m, &o.sp, &s) != SILKIE_OK) rc = fail("creating the session");
    if (!rc && o.restore && silkie_session_restore(s, o.restore) != SILKIE_OK)
        rc = fail("restoring the session");
    if (!rc && o.image && !add_image(s, o.image)) rc = fail("reading the image");
    if (!rc) {
        silkie_ask_params ap;
        silkie_ask_params_init(&ap);
        ap.on_text = o.json ? NULL : print_piece;
        ap.dump_path = o.dump;
        ap.no_stop = (uint32_t)o.no_stop;
        silkie_status st = silkie_session_ask(s, o.question, &ap);
        if (!o.json) printf("\n");
        if (st != SILKIE_OK) rc = fail("answering");
        else if (o.json) print_json(&o, m, s);
        else print_timings(m, s);
    }
    if (!rc && o.save && silkie_session_save(s, o.save) != SILKIE_OK)
        rc = fail("saving the session");
    silkie_session_destroy(s);
    silkie_model_destroy(m);
    return rc;
}

int silkie_cmd_chat(int argc, char **argv)
{
    ask_opts o;
    if (!parse_opts(argc, argv, &o, 0)) {
        fprintf(stderr, "usage: silkie chat --model DIR|FILE.gguf [same options as ask]\n"
                        "  then type questions; /image FILE, /reset, /save FILE, /load FILE, "
                        "/quit\n");
        return 2;
    }
    silkie_model *m = NULL;
    silkie_session *s = NULL;
    if (silkie_model_load(o.model, &o.mp, &m) != SILKIE_OK) return fail("loading the model");
    if (silkie_session_create(m, &o.sp, &s) != SILKIE_OK) {
        silkie_model_destroy(m);
        return fail("creating the session");
    }
    if (o.image && !add_image(s, o.image)) fail("reading the image");
    char line[8192];
    for (;;) {
        fprintf(stderr, "> ");
        if (!fgets(line, sizeof line, stdin)) break;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!n) continue;
        if (!strcmp(line, "/quit")) break;
        if (!strncmp(line, "/image ", 7)) {
            if (!add_image(s, line + 7)) fail("image");
            continue;
        }
        if (!strcmp(line, "/reset")) {
            if (silkie_session_reset(s) != SILKIE_OK) fail("reset");
            continue;
        }
        if (!strncmp(line, "/save ", 6)) {
            if (silkie_session_save(s, line + 6) != SILKIE_OK) fail("save");
            continue;
        }
        if (!strncmp(line, "/load ", 6)) {
            if (silkie_session_restore(s, line + 6) != SILKIE_OK) fail("load");
            continue;
        }
        silkie_ask_params ap;
        silkie_ask_params_init(&ap);
        ap.on_text = print_piece;
        silkie_status st = silkie_session_ask(s, line, &ap);
        printf("\n");
        if (st != SILKIE_OK) fail("answering");
        else print_timings(m, s);
    }
    silkie_session_destroy(s);
    silkie_model_destroy(m);
    return 0;
}
