/* Misuse of every function of silkie.h returns its documented status with a message and never
 * crashes: NULL arguments, unset struct_size, bad dtypes, broken model folders, bad images, a
 * question longer than the context (the session stays usable), and damaged, truncated or
 * foreign session files (the session stays as it was). Runs on the golden tiny model. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SILKIE_EXPERIMENTAL
#include "api_common.h"

static const char *QUESTION = "What is in this picture? Answer briefly.";

/* The call fails with `want` and leaves a fresh message (cleared before the call). */
#define EXPECT(expr, want)                                                                 \
    do {                                                                                   \
        silkie_error_clear();                                                              \
        SK_TEST_STATUS(expr, want);                                                        \
        SK_TEST_CHECK(silkie_last_error()[0] != 0, "%s: no message for %s", #expr, #want); \
    } while (0)

/* Fails with `want` and the message names `needle`. */
#define EXPECT_MSG(expr, want, needle)                                                   \
    do {                                                                                 \
        EXPECT(expr, want);                                                              \
        SK_TEST_CHECK(strstr(silkie_last_error(), needle) != NULL,                       \
                      "%s: message '%s' does not name '%s'", #expr, silkie_last_error(), \
                      needle);                                                           \
    } while (0)

static void *sys_alloc(size_t n, void *u)
{
    (void)u;
    return malloc(n);
}
static void *sys_realloc(void *p, size_t o, size_t n, void *u)
{
    (void)o;
    (void)u;
    return realloc(p, n);
}
static void sys_free(void *p, size_t n, void *u)
{
    (void)n;
    (void)u;
    free(p);
}

static void *must_read(const char *path, size_t *n)
{
    void *p = sk_read_file(path, n);
    if (!p) {
        fprintf(stderr, "cannot read %s\n", path);
        api_cleanup();
        exit(1);
    }
    return p;
}

/* ---------------------------------------------------------------------------------------- */

static void test_no_model(void)
{
    SK_TEST_CHECK(!strcmp(silkie_status_name((silkie_status)12345), "SILKIE_STATUS_UNKNOWN"),
                  "unknown status name");
    SK_TEST_CHECK(silkie_last_error() != NULL, "last_error NULL");
    silkie_log_set(NULL, NULL);
    silkie_log_set_level(SILKIE_LOG_WARN);
    silkie_model_params_init(NULL);
    silkie_session_params_init(NULL);
    silkie_ask_params_init(NULL);
    silkie_bench_params_init(NULL);

    /* An app built against an older header has a smaller struct: init writes only its bytes
     * and records that size; one built against a newer header gets its extra tail zeroed. */
    union {
        silkie_model_params p;
        unsigned char b[sizeof(silkie_model_params) + 32];
    } old;
    memset(&old, 0xA5, sizeof old);
    silkie_model_params_init_size(&old.p, 12);
    SK_TEST_CHECK(old.p.struct_size == 12, "struct_size is the app's size");
    for (size_t i = 12; i < sizeof old.b; i++)
        SK_TEST_CHECK(old.b[i] == 0xA5, "init wrote byte %zu of a 12-byte struct", i);
    memset(&old, 0xA5, sizeof old);
    silkie_model_params_init_size(&old.p, sizeof old.b);
    SK_TEST_CHECK(old.p.struct_size == sizeof old.b, "struct_size of a newer app");
    SK_TEST_CHECK(old.p.weight_type == SILKIE_DTYPE_F16, "defaults filled");
    for (size_t i = sizeof old.p; i < sizeof old.b; i++)
        SK_TEST_CHECK(old.b[i] == 0, "newer app's tail byte %zu not zeroed", i);
    silkie_model_params_init_size(&old.p, 2); /* too small to hold struct_size: untouched */
    SK_TEST_CHECK(old.p.struct_size == sizeof old.b, "a 2-byte struct was written");

    EXPECT(silkie_set_allocator(NULL), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_allocator half = {.alloc = NULL};
    EXPECT(silkie_set_allocator(&half), SILKIE_ERR_INVALID_ARGUMENT);

    SK_TEST_CHECK(silkie_dtype_block_bytes((silkie_dtype)999) == 0, "block_bytes of unknown");
    SK_TEST_CHECK(silkie_dtype_block_elems((silkie_dtype)999) == 0, "block_elems of unknown");
    SK_TEST_CHECK(silkie_dtype_name((silkie_dtype)999) == NULL, "name of unknown");
    SK_TEST_CHECK(silkie_dtype_block_bytes(SILKIE_DTYPE_Q8_0) == 34, "q8_0 block bytes");
    SK_TEST_CHECK(silkie_dtype_block_bytes(SILKIE_DTYPE_Q4_0) == 18, "q4_0 block bytes");
    SK_TEST_CHECK(!strcmp(silkie_dtype_name(SILKIE_DTYPE_F16), "f16"), "f16 name");

    EXPECT(silkie_bench_run(NULL, NULL), SILKIE_ERR_INVALID_ARGUMENT);

    /* Model entry points. */
    silkie_model *m = (silkie_model *)&m; /* must come back NULL */
    EXPECT(silkie_model_load(NULL, NULL, &m), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_model_load(api_model_dir(), NULL, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    mp.struct_size = 0;
    m = (silkie_model *)&m;
    EXPECT(silkie_model_load(api_model_dir(), &mp, &m), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(m == NULL, "out not NULL after a failure");
    const silkie_dtype bad_llm[] = {SILKIE_DTYPE_I32, SILKIE_DTYPE_U8, (silkie_dtype)77};
    for (size_t i = 0; i < SK_ARRAY_LEN(bad_llm); i++) {
        silkie_model_params_init(&mp);
        mp.weight_type = bad_llm[i];
        EXPECT(silkie_model_load(api_model_dir(), &mp, &m), SILKIE_ERR_INVALID_ARGUMENT);
    }
    const silkie_dtype bad_vis[] = {SILKIE_DTYPE_Q4_0, SILKIE_DTYPE_Q8_0, SILKIE_DTYPE_I64};
    for (size_t i = 0; i < SK_ARRAY_LEN(bad_vis); i++) {
        silkie_model_params_init(&mp);
        mp.vision_type = bad_vis[i];
        EXPECT(silkie_model_load(api_model_dir(), &mp, &m), SILKIE_ERR_INVALID_ARGUMENT);
    }
    EXPECT(silkie_model_load(api_tmp_path(0, "no-such-model"), NULL, &m), SILKIE_ERR_IO);
    SK_TEST_CHECK(m == NULL, "out not NULL after a failure");

    silkie_model_destroy(NULL);
    SK_TEST_CHECK(silkie_model_n_layers(NULL) == 0 && silkie_model_n_vocab(NULL) == 0 &&
                      silkie_model_image_size(NULL) == 0 && silkie_model_weight_bytes(NULL) == 0,
                  "getters of a NULL model");
    SK_TEST_CHECK(silkie_model_device_name(NULL) != NULL, "device_name(NULL) is NULL");

    /* Session entry points without a session. */
    silkie_session *s = (silkie_session *)&s;
    EXPECT(silkie_session_create(NULL, NULL, &s), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_session_destroy(NULL);
    EXPECT(silkie_session_add_image_file(NULL, "x.jpg"), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_session_add_image_encoded(NULL, "x", 1, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    const uint8_t px[3] = {1, 2, 3};
    EXPECT(silkie_session_add_image_rgb(NULL, px, 1, 1, 0, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_session_ask(NULL, "hi", NULL), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(!strcmp(silkie_session_answer(NULL), ""), "answer(NULL)");
    uint32_t n = 7;
    silkie_session_answer_tokens(NULL, &n);
    SK_TEST_CHECK(n == 0, "answer_tokens(NULL) count %u", n);
    silkie_session_answer_tokens(NULL, NULL);
    silkie_session_cancel(NULL);
    EXPECT(silkie_session_reset(NULL), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_session_save(NULL, "x"), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_session_restore(NULL, "x"), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(silkie_session_n_tokens(NULL) == 0, "n_tokens(NULL)");
    silkie_timings t;
    memset(&t, 0xff, sizeof t);
    silkie_session_timings(NULL, &t);
    SK_TEST_CHECK(t.prefill_tokens == 0 && t.n_images == 0, "timings(NULL) not zeroed");
    silkie_session_timings(NULL, NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Broken model folders: copies of the tiny model with one thing wrong (links for the rest). */

static const char *MODEL_FILES[] = {"config.json", "generation_config.json", "qwen.tiktoken",
                                    "model.safetensors", "tokenizer_config.json"};

static const char *make_folder(int slot, const char *name, const char *skip)
{
    const char *dir = api_tmp_path(slot, name);
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "cannot create %s\n", dir);
        return dir;
    }
    char from[2048], to[2048];
    for (size_t i = 0; i < SK_ARRAY_LEN(MODEL_FILES); i++) {
        if (skip && !strcmp(skip, MODEL_FILES[i])) continue;
        snprintf(from, sizeof from, "%s/%s", api_model_dir(), MODEL_FILES[i]);
        snprintf(to, sizeof to, "%s/%s", dir, MODEL_FILES[i]);
        SK_TEST_CHECK(symlink(from, to) == 0, "symlink %s", to);
    }
    return dir;
}

static void put_file(const char *dir, const char *name, const void *data, size_t n)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    SK_TEST_CHECK(api_write_file(p, data, n), "cannot write %s", p);
}

static void test_broken_folders(void)
{
    silkie_model *m = NULL;
    size_t n_cfg = 0;
    char *raw = must_read(api_case_file(0, "model/config.json"), &n_cfg);
    char *cfg = silkie_malloc(n_cfg + 1); /* NUL-terminated for strstr */
    memcpy(cfg, raw, n_cfg);
    cfg[n_cfg] = 0;
    silkie_free(raw);

    /* config.json cut in the middle: not JSON. */
    const char *d = make_folder(0, "truncated-config", "config.json");
    put_file(d, "config.json", cfg, n_cfg / 2);
    EXPECT_MSG(silkie_model_load(d, NULL, &m), SILKIE_ERR_BAD_FILE, "config.json");
    SK_TEST_CHECK(m == NULL, "out not NULL");

    /* Valid JSON with a key of the wrong type. */
    char *bad = silkie_malloc(n_cfg + 16);
    const char *key = "\"hidden_size\": 128";
    char *at = strstr(cfg, key);
    SK_TEST_CHECK(at != NULL, "config.json of the case changed");
    if (at) {
        size_t pre = (size_t)(at - cfg);
        int len = snprintf(bad, n_cfg + 16, "%.*s\"hidden_size\": \"big\"%s", (int)pre, cfg,
                           at + strlen(key));
        d = make_folder(1, "bad-key", "config.json");
        put_file(d, "config.json", bad, (size_t)len);
        EXPECT_MSG(silkie_model_load(d, NULL, &m), SILKIE_ERR_BAD_MODEL, "hidden_size");
    }
    silkie_free(bad);
    silkie_free(cfg);

    /* No config.json at all, no qwen.tiktoken. */
    d = make_folder(2, "no-config", "config.json");
    EXPECT(silkie_model_load(d, NULL, &m), SILKIE_ERR_IO);
    d = make_folder(3, "no-tiktoken", "qwen.tiktoken");
    EXPECT_MSG(silkie_model_load(d, NULL, &m), SILKIE_ERR_IO, "qwen.tiktoken");

    /* A weight renamed in the safetensors header: the loader must name the missing tensor. The
     * replacement has the same length, so offsets and the data stay valid. */
    size_t n_w = 0;
    char *w = must_read(api_case_file(0, "model/model.safetensors"), &n_w);
    const char *victim = "\"transformer.h.1.mlp.w1.weight\"";
    char *hit = NULL;
    uint64_t hl = 0;
    memcpy(&hl, w, 8);
    for (char *p = w + 8; p + strlen(victim) <= w + 8 + hl; p++)
        if (!memcmp(p, victim, strlen(victim))) {
            hit = p;
            break;
        }
    SK_TEST_CHECK(hit != NULL, "tensor %s not in the case's header", victim);
    if (hit) {
        memcpy(hit, "\"transformer.h.1.mlp.w1.weighX\"", strlen(victim));
        d = make_folder(0, "missing-tensor", "model.safetensors");
        put_file(d, "model.safetensors", w, n_w);
        EXPECT_MSG(silkie_model_load(d, NULL, &m), SILKIE_ERR_BAD_MODEL,
                   "transformer.h.1.mlp.w1.weight");
        SK_TEST_CHECK(m == NULL, "out not NULL");
        /* The same file cut short: a damaged container. */
        d = make_folder(1, "short-weights", "model.safetensors");
        put_file(d, "model.safetensors", w, n_w - 1000);
        EXPECT(silkie_model_load(d, NULL, &m), SILKIE_ERR_BAD_FILE);
    }
    silkie_free(w);
}

/* ---------------------------------------------------------------------------------------- */

static void test_images(silkie_session *s, silkie_model *text_only)
{
    const char *jpg = api_case_file(0, "hopper.jpg");
    EXPECT(silkie_session_add_image_file(s, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_session_add_image_file(s, api_tmp_path(0, "missing.jpg")), SILKIE_ERR_IO);
    EXPECT(silkie_session_add_image_file(s, api_case_file(1, "model/config.json")),
           SILKIE_ERR_BAD_IMAGE);
    size_t n = 0;
    uint8_t *data = must_read(jpg, &n);
    EXPECT(silkie_session_add_image_encoded(s, NULL, 10, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_session_add_image_encoded(s, data, 0, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_session_add_image_encoded(s, data, n / 3, "cut.jpg"), SILKIE_ERR_BAD_IMAGE);
    EXPECT(silkie_session_add_image_encoded(s, data + 100, n - 100, NULL), SILKIE_ERR_BAD_IMAGE);
    static const char ppm[] = "P6\n0 0\n255\n";
    EXPECT(silkie_session_add_image_encoded(s, ppm, sizeof ppm - 1, NULL), SILKIE_ERR_BAD_IMAGE);
    static const char huge_ppm[] = "P6\n100000 100000\n255\n";
    EXPECT(silkie_session_add_image_encoded(s, huge_ppm, sizeof huge_ppm - 1, NULL),
           SILKIE_ERR_BAD_IMAGE);

    /* RGB: a tiny buffer with claimed sizes that are empty or far beyond the limits; the
     * library must refuse before reading it. */
    const uint8_t px[12] = {0};
    EXPECT(silkie_session_add_image_rgb(s, NULL, 1, 1, 0, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_session_add_image_rgb(s, px, 0, 1, 0, NULL), SILKIE_ERR_BAD_IMAGE);
    EXPECT(silkie_session_add_image_rgb(s, px, 1, 0, 0, NULL), SILKIE_ERR_BAD_IMAGE);
    EXPECT(silkie_session_add_image_rgb(s, px, 0, 0, 0, NULL), SILKIE_ERR_BAD_IMAGE);
    EXPECT(silkie_session_add_image_rgb(s, px, 100000, 100000, 0, NULL), SILKIE_ERR_BAD_IMAGE);
    EXPECT(silkie_session_add_image_rgb(s, px, 0x7fffffff, 2, 0, NULL), SILKIE_ERR_BAD_IMAGE);
    EXPECT(silkie_session_add_image_rgb(s, px, 1, 0xffffffffu, 0, NULL), SILKIE_ERR_BAD_IMAGE);
    EXPECT(silkie_session_add_image_rgb(s, px, 4, 1, 11, NULL), SILKIE_ERR_INVALID_ARGUMENT);

    /* A model loaded text-only has no vision tower. */
    silkie_session *ts = api_session(text_only, 0, SILKIE_DTYPE_F16);
    if (ts) {
        EXPECT(silkie_session_add_image_encoded(ts, data, n, NULL), SILKIE_ERR_UNSUPPORTED);
        EXPECT(silkie_session_add_image_rgb(ts, px, 2, 2, 0, NULL), SILKIE_ERR_UNSUPPORTED);
    }
    silkie_session_destroy(ts);
    silkie_free(data);
}

/* A question longer than n_ctx: CONTEXT_FULL, nothing consumed; the pending image stays, so
 * the next (short) question is the golden prompt and starts with the golden first token. */
static void test_context_full(silkie_model *m)
{
    silkie_session *s = api_session(m, 96, SILKIE_DTYPE_F16);
    if (!s) return;
    SK_TEST_OK(silkie_session_add_image_file(s, api_case_file(0, "hopper.jpg")));
    char long_q[2048] = "";
    for (int i = 0; i < 60; i++) strcat(long_q, "Describe every detail. ");
    api_answer a = api_ask(s, long_q, 2);
    SK_TEST_STATUS(a.st, SILKIE_ERR_CONTEXT_FULL);
    SK_TEST_CHECK(silkie_last_error()[0] != 0, "no message");
    SK_TEST_CHECK(silkie_session_n_tokens(s) == 0, "CONTEXT_FULL consumed %u tokens",
                  silkie_session_n_tokens(s));
    a = api_ask(s, QUESTION, 2);
    SK_TEST_OK(a.st);
    SK_TEST_CHECK(a.n == 2 && a.ids[0] == 33020, "after CONTEXT_FULL: %u ids, first %d", a.n,
                  a.n ? a.ids[0] : -1);
    silkie_timings t;
    silkie_session_timings(s, &t);
    SK_TEST_CHECK(t.prefill_tokens == 52, "golden prompt is 52 tokens, got %u",
                  t.prefill_tokens);
    silkie_session_destroy(s);
}

static void corrupt_copy(const char *dst, const uint8_t *src, size_t n, size_t flip_at)
{
    uint8_t *c = silkie_malloc(n);
    memcpy(c, src, n);
    if (flip_at < n) c[flip_at] ^= 0x40;
    SK_TEST_CHECK(api_write_file(dst, c, n), "cannot write %s", dst);
    silkie_free(c);
}

/* Failed restores leave the session exactly as it was: the next answer equals the one of a
 * fresh session restored from the good file. */
static void test_session_files(silkie_model *m, silkie_model *other)
{
    silkie_session *s = api_session(m, 0, SILKIE_DTYPE_F16);
    if (!s) return;
    EXPECT(silkie_session_ask(s, NULL, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.struct_size = 0;
    EXPECT(silkie_session_ask(s, "hi", &ap), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_session_timings(s, NULL);
    SK_TEST_OK(silkie_session_add_image_file(s, api_case_file(0, "hopper.jpg")));
    api_answer a1 = api_ask(s, QUESTION, 2);
    SK_TEST_OK(a1.st);
    const char *good = api_tmp_path(0, "good.session");
    SK_TEST_OK(silkie_session_save(s, good));
    EXPECT(silkie_session_save(s, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_session_save(s, api_tmp_path(1, "no-such-dir/x.session")), SILKIE_ERR_IO);
    const uint32_t n0 = silkie_session_n_tokens(s);
    char answer0[256];
    snprintf(answer0, sizeof answer0, "%s", silkie_session_answer(s));

    size_t n = 0;
    uint8_t *file = must_read(good, &n);
    const char *p = api_tmp_path(1, "bad.session");
    struct {
        const char *what;
        size_t len, flip;
    } cases[] = {
        {"empty", 0, (size_t)-1},
        {"magic only", 8, (size_t)-1},
        {"header cut", 20, (size_t)-1},
        {"cache cut", n / 2, (size_t)-1},
        {"checksum missing", n - 8, (size_t)-1},
        {"bad magic", n, 0},
        {"n_tokens changed", n, 8 + 16},
        {"token flipped", n, 8 + 28 + 4},
        {"cache flipped", n, n - 100},
        {"checksum flipped", n, n - 1},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        corrupt_copy(p, file, cases[i].len, cases[i].flip);
        silkie_error_clear();
        silkie_status st = silkie_session_restore(s, p);
        SK_TEST_CHECK(st == SILKIE_ERR_BAD_FILE && silkie_last_error()[0],
                      "restore of %s: %s (%s)", cases[i].what, silkie_status_name(st),
                      silkie_last_error());
        SK_TEST_CHECK(silkie_session_n_tokens(s) == n0, "restore of %s changed n_tokens",
                      cases[i].what);
    }
    /* Garbage of the length of a real file. */
    uint8_t *junk = silkie_malloc(n);
    sk_rng r;
    sk_rng_seed(&r, 5);
    for (size_t i = 0; i < n; i++) junk[i] = (uint8_t)sk_rng_u32(&r);
    SK_TEST_CHECK(api_write_file(p, junk, n), "write");
    EXPECT(silkie_session_restore(s, p), SILKIE_ERR_BAD_FILE);
    silkie_free(junk);
    EXPECT(silkie_session_restore(s, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    EXPECT(silkie_session_restore(s, api_tmp_path(1, "missing.session")), SILKIE_ERR_IO);

    /* Files of another model (one layer, text only) and of another cache type. */
    silkie_session *os = api_session(other, 0, SILKIE_DTYPE_F16);
    silkie_session *f32 = api_session(m, 0, SILKIE_DTYPE_F32);
    const char *foreign = api_tmp_path(2, "foreign.session");
    if (os) {
        SK_TEST_OK(silkie_session_save(os, foreign));
        EXPECT(silkie_session_restore(s, foreign), SILKIE_ERR_BAD_FILE);
        EXPECT(silkie_session_restore(os, good), SILKIE_ERR_BAD_FILE);
    }
    if (f32) {
        SK_TEST_OK(silkie_session_save(f32, foreign));
        EXPECT(silkie_session_restore(s, foreign), SILKIE_ERR_BAD_FILE);
        EXPECT(silkie_session_restore(f32, good), SILKIE_ERR_BAD_FILE);
    }
    silkie_session_destroy(os);
    silkie_session_destroy(f32);
    SK_TEST_CHECK(silkie_session_n_tokens(s) == n0, "failed restores changed n_tokens");
    SK_TEST_CHECK(!strcmp(silkie_session_answer(s), answer0), "failed restores changed the answer");

    /* The session continues as if nothing happened. */
    api_answer a2 = api_ask(s, "And the colours?", 2);
    silkie_session *fresh = api_session(m, 0, SILKIE_DTYPE_F16);
    if (fresh) {
        SK_TEST_OK(silkie_session_restore(fresh, good));
        SK_TEST_CHECK(silkie_session_n_tokens(fresh) == n0, "restored %u tokens, want %u",
                      silkie_session_n_tokens(fresh), n0);
        api_answer b2 = api_ask(fresh, "And the colours?", 2);
        api_same_answer("after failed restores", &a2, &b2);
    }
    silkie_session_destroy(fresh);
    SK_TEST_OK(silkie_session_reset(s));
    SK_TEST_CHECK(silkie_session_n_tokens(s) == 0, "reset kept tokens");
    silkie_free(file);
    silkie_session_destroy(s);
}

static void test_session_create(silkie_model *m)
{
    silkie_session *s = (silkie_session *)&s;
    EXPECT(silkie_session_create(m, NULL, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_session_params sp;
    silkie_session_params_init(&sp);
    sp.struct_size = 0;
    EXPECT(silkie_session_create(m, &sp, &s), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(s == NULL, "out not NULL after a failure");
    silkie_session_params_init(&sp);
    sp.kv_type = SILKIE_DTYPE_Q4_0;
    EXPECT(silkie_session_create(m, &sp, &s), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_session_params_init(&sp);
    sp.kv_type = (silkie_dtype)1234;
    EXPECT(silkie_session_create(m, &sp, &s), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(s == NULL, "out not NULL after a failure");
}

int main(void)
{
    api_model_dir(); /* skips when the reference folder is absent */
    test_no_model();
    test_broken_folders();
    silkie_model *m = api_load(SILKIE_DTYPE_F16, 0, 0);
    silkie_model *other = api_load(SILKIE_DTYPE_F16, 1, 1);
    SK_TEST_CHECK(silkie_model_n_layers(other) == 1 && silkie_model_image_size(other) == 0,
                  "max_layers / text_only ignored");
    SK_TEST_CHECK(silkie_model_image_size(m) == 112 && silkie_model_n_vocab(m) == 151936,
                  "model getters");
    /* Allocations were made: the allocator can no longer be replaced. */
    silkie_allocator a = {.alloc = sys_alloc, .realloc = sys_realloc, .free = sys_free};
    EXPECT(silkie_set_allocator(&a), SILKIE_ERR_INVALID_ARGUMENT);
    test_session_create(m);
    silkie_session *s = api_session(m, 0, SILKIE_DTYPE_F16);
    if (s) test_images(s, other);
    silkie_session_destroy(s);
    test_context_full(m);
    test_session_files(m, other);
    silkie_model_destroy(other);
    silkie_model_destroy(m);
    api_cleanup();
    return sk_test_result("test_api_misuse");
}
