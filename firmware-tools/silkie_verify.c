/* silkie-verify FILE.gguf: checks a packed model file (docs/FIRMWARE.md, "silkie-verify"):
 * structure, every checksum, the architecture and config, and the self-test vector run on a
 * Vulkan device through the runtime. Exit 0 when every check holds, 1 when one fails (each
 * failure names its check and, for damage, the tensor), 2 for bad arguments. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_opts.h"
#include "cli_progress.h"
#include "model/model.h"
#include "selftest_run.h"

enum { HOLDS = 1, FAILS = 0, SKIPPED = -1 };

typedef struct finding {
    char check[24];
    char subject[200]; /* tensor or zip entry; "" for a whole-file check */
    char file[260];    /* the file it is about (the model file or its mmproj sibling) */
    int result;
    char message[600];
} finding;

typedef struct report {
    finding *f;
    size_t n, cap;
    const char *file; /* file of the findings being added */
    /* Self-test numbers, when it ran. */
    int ran;
    double max_err, rel_err, tol;
    uint32_t agree, need, n_prompt, want_prompt;
    char device[256], types[64];
} report;

static void add(report *r, const char *check, const char *subject, int result, const char *msg)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        finding *f = realloc(r->f, cap * sizeof *f);
        if (!f) return; /* out of memory: the finding is lost, the exit status is not */
        r->f = f;
        r->cap = cap;
    }
    finding *f = &r->f[r->n++];
    snprintf(f->check, sizeof f->check, "%s", check);
    snprintf(f->subject, sizeof f->subject, "%s", subject ? subject : "");
    snprintf(f->file, sizeof f->file, "%s", r->file);
    f->result = result;
    snprintf(f->message, sizeof f->message, "%s", msg ? msg : "");
}

static void on_finding(void *user, const char *check, const char *subject, silkie_status st,
                       const char *message)
{
    add(user, check, subject, st == SILKIE_OK ? HOLDS : FAILS, message);
}

static int failed(const report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->f[i].result == FAILS) return 1;
    return 0;
}

static int fail(report *r, const char *check, silkie_status st)
{
    add(r, check, NULL, FAILS, silkie_last_error());
    (void)st;
    return 0;
}

/* ---- tolerances -------------------------------------------------------------------------- */

/* The self-test's logits against the stored ones, relative to the largest stored logit (at
 * least 1), by the file's coarsest matrix type: measured spreads with headroom
 * (docs/FIRMWARE.md, "Tolerances"). f32 matrices are computed in f32 everywhere, so only the
 * f16 KV cache may round differently; other types may meet f16 or 8-bit activations on a
 * device, which also may flip a later greedy token at a near tie, so only the first two (the
 * prefill's and the first decode step's) must agree there. */
static const struct {
    silkie_dtype type;
    const char *name;
    double tol;
    uint32_t tokens; /* leading greedy tokens that must agree */
} k_tol[] = {
    {SILKIE_DTYPE_F32, "f32", 2e-3, SILKIE_SELFTEST_TOKENS},
    {SILKIE_DTYPE_F16, "f16", 2e-2, 2},
    {SILKIE_DTYPE_BF16, "bf16", 3e-2, 2},
    {SILKIE_DTYPE_Q8_0, "q8_0", 3e-2, 2},
    {SILKIE_DTYPE_Q4_0, "q4_0", 3e-2, 2},
};

static int type_rank(silkie_dtype t)
{
    for (size_t i = 0; i < sizeof k_tol / sizeof k_tol[0]; i++)
        if (k_tol[i].type == t) return (int)i;
    return -1;
}

/* The coarsest type among the file's matrices (norms and biases stay f32). */
static size_t coarsest(const silkie_weights *w)
{
    int worst = 0;
    for (uint32_t i = 0; i < silkie_weights_count(w); i++) {
        const silkie_weight *t = silkie_weights_at(w, i);
        int r = type_rank(t->dtype);
        if (t->n_dims == 2 && r > worst) worst = r;
    }
    return (size_t)worst;
}

/* ---- checks ------------------------------------------------------------------------------ */

/* Structure and checksums of one file; returns 1 when it parses. */
static int check_file(report *r, const char *path, const silkie_weights **keep,
                      silkie_weights **own)
{
    r->file = path;
    silkie_weights *w = NULL;
    silkie_status st = silkie_weights_open(path, &w);
    if (st == SILKIE_OK && silkie_weights_format_of(w) != SILKIE_WEIGHTS_GGUF)
        st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: not a GGUF file", path);
    if (st != SILKIE_OK) {
        silkie_weights_close(w);
        return fail(r, "structure", st);
    }
    /* Parses again from the mapping: structure, checksums, layout, metadata, each tensor. */
    silkie_weights_verify(w, path, on_finding, r);
    *own = w;
    if (keep) *keep = w;
    return 1;
}

static void check_architecture(report *r, const char *path, silkie_model_config *cfg,
                               bool *has_vision)
{
    r->file = path;
    silkie_weights *w = NULL;
    silkie_generation_config gen;
    silkie_status st = silkie_qwen_gguf_open(path, &w, cfg, &gen, has_vision);
    if (st == SILKIE_OK) st = silkie_weights_check_qwen_vl(w, cfg);
    if (st == SILKIE_OK) {
        size_t k = coarsest(w);
        r->tol = k_tol[k].tol;
        r->need = k_tol[k].tokens;
        snprintf(r->types, sizeof r->types, "%s", k_tol[k].name);
        char msg[200];
        snprintf(msg, sizeof msg, "qwen, %u blocks, vocabulary %u%s; coarsest matrices %s",
                 cfg->n_layers, cfg->vocab_size, *has_vision ? ", vision tower" : ", text only",
                 r->types);
        add(r, "architecture", NULL, HOLDS, msg);
    } else {
        fail(r, "architecture", st);
    }
    silkie_weights_close(w);
}

static void check_selftest(report *r, const char *path, const silkie_gguf_selftest *v,
                           const char *device, int quiet)
{
    silkie_cli_progress pr;
    silkie_cli_progress_init(&pr, quiet);
    silkie_selftest_result res;
    silkie_status st = silkie_selftest_run(path, device, v, silkie_cli_progress_update, &pr,
                                           &res);
    silkie_cli_progress_done(&pr);
    if (st != SILKIE_OK) {
        fail(r, "selftest", st);
        silkie_selftest_result_release(&res);
        return;
    }
    r->ran = 1;
    snprintf(r->device, sizeof r->device, "%s", res.device);
    r->n_prompt = res.out.n_prompt;
    r->want_prompt = v->n_prompt;
    double err = 0, scale = 1;
    for (uint32_t i = 0; i < SILKIE_SELFTEST_TOP_K; i++) {
        double got = (uint32_t)v->top_ids[i] < res.n_vocab ? res.logits[v->top_ids[i]] : NAN;
        double e = fabs(got - v->top_logits[i]);
        err = e > err || e != e ? e : err;
        scale = fmax(scale, fabs(v->top_logits[i]));
    }
    while (r->agree < SILKIE_SELFTEST_TOKENS && res.out.tokens[r->agree] == v->tokens[r->agree])
        r->agree++;
    r->max_err = err;
    r->rel_err = err / scale;
    /* A first token that differs is a near tie when the recorded runner-up lies within twice
     * the allowed error: then either choice is right. */
    uint32_t need = r->need;
    if (r->agree == 0 && res.out.tokens[0] == v->top_ids[1] &&
        v->top_logits[0] - v->top_logits[1] <= 2 * r->tol * scale)
        need = 0;
    char msg[600];
    if (res.out.n_prompt != v->n_prompt)
        snprintf(msg, sizeof msg, "the prompt has %u tokens here, %u when the vector was "
                 "recorded (the tokenizer or chat format differs)", res.out.n_prompt,
                 v->n_prompt);
    else if (!(r->rel_err <= r->tol))
        snprintf(msg, sizeof msg, "max logit error %.4g (%.3g of the largest logit) exceeds the "
                 "%s tolerance %.3g", err, r->rel_err, r->types, r->tol);
    else if (r->agree < need)
        snprintf(msg, sizeof msg, "greedy tokens agree for %u of %u, %u must (token %u is %d, "
                 "the vector has %d)", r->agree, SILKIE_SELFTEST_TOKENS, need, r->agree + 1,
                 res.out.tokens[r->agree], v->tokens[r->agree]);
    else
        msg[0] = 0;
    if (msg[0]) {
        add(r, "selftest", NULL, FAILS, msg);
    } else {
        snprintf(msg, sizeof msg, "on %s: max logit error %.3g (%.3g of the largest logit, %s "
                 "tolerance %.3g), greedy tokens %u/%u agree (%u must)", r->device, err,
                 r->rel_err, r->types, r->tol, r->agree, SILKIE_SELFTEST_TOKENS, need);
        add(r, "selftest", NULL, HOLDS, msg);
    }
    silkie_selftest_result_release(&res);
}

/* ---- output ------------------------------------------------------------------------------ */

static void print_json(const report *r, const char *path)
{
    printf("{\"file\":");
    silkie_cli_json_string(stdout, path);
    printf(",\"ok\":%s", failed(r) ? "false" : "true");
    if (r->ran) {
        printf(",\"selftest\":{\"device\":");
        silkie_cli_json_string(stdout, r->device);
        printf(",\"max_logit_error\":%.6g,\"relative_error\":%.6g,\"tolerance\":%.6g,"
               "\"types\":\"%s\",\"tokens_agree\":%u,\"tokens_required\":%u,\"tokens\":%u,"
               "\"prompt_tokens\":%u,"
               "\"prompt_tokens_recorded\":%u}",
               r->max_err, r->rel_err, r->tol, r->types, r->agree, r->need,
               SILKIE_SELFTEST_TOKENS,
               r->n_prompt, r->want_prompt);
    }
    printf(",\"checks\":[");
    for (size_t i = 0; i < r->n; i++) {
        const finding *f = &r->f[i];
        printf("%s{\"check\":\"%s\",\"file\":", i ? "," : "", f->check);
        silkie_cli_json_string(stdout, f->file);
        if (f->subject[0]) {
            printf(",\"name\":");
            silkie_cli_json_string(stdout, f->subject);
        }
        printf(",\"result\":\"%s\"",
               f->result == HOLDS ? "ok" : f->result == FAILS ? "failed" : "skipped");
        if (f->message[0]) {
            printf(",\"message\":");
            silkie_cli_json_string(stdout, f->message);
        }
        printf("}");
    }
    printf("]}\n");
}

static void print_text(const report *r, const char *path)
{
    printf("%s\n", path);
    size_t n_t = 0, bad_t = 0;
    for (size_t i = 0; i < r->n; i++) {
        const finding *f = &r->f[i];
        if (!strcmp(f->check, "tensor") || !strcmp(f->check, "zip")) {
            n_t++;
            if (f->result == FAILS) {
                bad_t++;
                printf("  %-13s FAILED: %s\n", f->check, f->message);
            }
            continue;
        }
        printf("  %-13s %s%s%s\n", f->check,
               f->result == HOLDS ? "ok" : f->result == FAILS ? "FAILED" : "skipped",
               f->message[0] ? ": " : "", f->message);
    }
    if (n_t) printf("  %-13s %zu of %zu hold\n", "tensors", n_t - bad_t, n_t);
    printf("%s\n", failed(r) ? "FAILED" : "OK");
}

int main(int argc, char **argv)
{
    const char *device = NULL;
    int json = 0, no_selftest = 0, quiet = 0;
    const silkie_opt t[] = {
        {"--device", SILKIE_OPT_STR, &device, "GPU",
         "Vulkan device that runs the self-test: index or name substring (see `silkie devices`)",
         "the best device", 0, 0, 0, NULL},
        {"--json", SILKIE_OPT_FLAG, &json, NULL, "print one JSON object with every check", NULL,
         0, 0, 0, NULL},
        {"--no-selftest", SILKIE_OPT_FLAG, &no_selftest, NULL,
         "check structure, checksums and architecture only (no Vulkan device needed)", NULL, 0,
         0, 0, NULL},
        {"--quiet", SILKIE_OPT_FLAG, &quiet, NULL, "no progress line on standard error", NULL, 0,
         0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie-verify", "FILE.gguf",
        "Checks a file written by silkie-pack (and its mmproj sibling when split): its "
        "structure, the SHA-256 of the metadata and of every tensor, the architecture, and the "
        "self-test vector run on a Vulkan device, within a tolerance set by the file's types. "
        "Exit 0 when every check holds, 1 when one fails (named on standard output).",
        t, sizeof t / sizeof t[0], 1, 1, NULL};
    const char *path = NULL;
    int rc = silkie_cli_parse(&spec, argc, argv, &path, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return silkie_cli_usage_error(&spec, "cannot use '%s': %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return silkie_cli_usage_error(&spec, "'%s' is not a regular file", path);

    report r = {0};
    const silkie_weights *w = NULL;
    silkie_weights *own = NULL, *vown = NULL;
    silkie_model_config cfg;
    bool has_vision = false, parsed = check_file(&r, path, &w, &own);
    char vpath[4200];
    if (parsed && !silkie_gguf_find_kv(silkie_weights_gguf(w), "clip.has_vision_encoder") &&
        silkie_qwen_gguf_mmproj_path(path, vpath, sizeof vpath) == SILKIE_OK &&
        stat(vpath, &sb) == 0)
        parsed = check_file(&r, vpath, NULL, &vown);
    if (parsed) check_architecture(&r, path, &cfg, &has_vision);
    r.file = path;
    silkie_gguf_selftest v;
    bool present = false;
    if (parsed) {
        silkie_status st = silkie_gguf_selftest_read(silkie_weights_gguf(w), &v, &present);
        if (st == SILKIE_OK && present && !failed(&r)) {
            for (uint32_t i = 0; i < SILKIE_SELFTEST_TOP_K && st == SILKIE_OK; i++)
                if ((uint32_t)v.top_ids[i] >= cfg.vocab_size)
                    st = SK_FAIL(SILKIE_ERR_BAD_FILE, "self-test: id %d beyond the vocabulary",
                                 v.top_ids[i]);
            for (uint32_t i = 0; i < SILKIE_SELFTEST_TOKENS && st == SILKIE_OK; i++)
                if ((uint32_t)v.tokens[i] >= cfg.vocab_size)
                    st = SK_FAIL(SILKIE_ERR_BAD_FILE, "self-test: token %d beyond the "
                                 "vocabulary", v.tokens[i]);
            if (st == SILKIE_OK && v.image_width && !has_vision)
                st = SK_FAIL(SILKIE_ERR_BAD_MODEL, "self-test: the vector has an image, the "
                             "model no vision tower (mmproj file missing?)");
        }
        if (st != SILKIE_OK) {
            fail(&r, "selftest", st);
            present = false; /* reported; nothing to run */
        } else if (!present)
            add(&r, "selftest", NULL, SKIPPED, "the file has no self-test vector (packed with "
                "--no-selftest)");
    }
    silkie_weights_close(own);
    silkie_weights_close(vown);
    if (present && !failed(&r)) {
        if (no_selftest) add(&r, "selftest", NULL, SKIPPED, "--no-selftest");
        else check_selftest(&r, path, &v, device, quiet || json);
    } else if (present && !no_selftest) {
        add(&r, "selftest", NULL, SKIPPED, "not run: an earlier check failed");
    }
    if (json) print_json(&r, path);
    else print_text(&r, path);
    rc = failed(&r);
    free(r.f);
    return rc;
}
