/* Integrity of packed files end to end (docs/FIRMWARE.md, "Integrity"):
 *
 *   test_golden_verify PACK VERIFY SILKIE CASE_DIR
 *
 * 1. silkie-pack packs CASE_DIR/model (f32, with the self-test); silkie-verify accepts it (every
 *    check, the self-test run included) and `silkie ask --verify` on it gives the case's greedy
 *    tokens.
 * 2. A q4_0 pack split into LLM + mmproj file (no self-test) verifies; then single bytes are
 *    flipped all over both files (the fixed head, every metadata key or its value, the digests,
 *    a sample of the tensor infos, every tensor at its first, middle or last byte, padding;
 *    test_integrity flips every byte of a small file) and silkie-verify
 *    (checksum pass, no self-test) must exit 1 naming the right check, the right tensor and
 *    the right file each time. Truncated files fail too.
 * 3. Re-sealed files (checksums made to match again) that are wrong otherwise: a self-test
 *    logit that does not match, another architecture, another GGUF version.
 * 4. `silkie ask --verify` refuses a damaged file, naming the tensor; so does silkie_model_load
 *    with verify = 1 (before any device work), while a caller built before the field existed
 *    (a shorter struct_size) gets no verification. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "model/model.h"

static const char *g_pack, *g_verify, *g_silkie;
static char g_tmp[1024];
static int g_flips;

static char *tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", g_tmp, name);
    return buf;
}

/* Runs argv with stdout into `out` (a file in g_tmp) and returns the exit status; *text gets
 * what it printed (silkie_free) when text is not NULL. */
static int run(char *const argv[], char **text)
{
    char out[1100];
    tmp_path(out, sizeof out, "stdout.txt");
    int rc = sk_run(argv, out);
    if (text) {
        size_t n = 0;
        *text = sk_read_file(out, &n);
    }
    remove(out);
    return rc;
}

/* silkie-verify --json on path; returns the exit status, *j the parsed object (or NULL). */
static int verify(const char *path, int selftest, cJSON **j)
{
    char *args[] = {(char *)g_verify, "--json", "--quiet", (char *)path,
                    selftest ? NULL : "--no-selftest", NULL};
    char *text = NULL;
    int rc = run(args, &text);
    *j = text ? cJSON_Parse(text) : NULL;
    silkie_free(text);
    return rc;
}

/* Does the report hold a failed `check` (about `name` when not NULL, in a file whose name
 * ends with `file` when not NULL)? */
static int has_failure(const cJSON *j, const char *check, const char *name, const char *file)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "checks"))
    {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "check"));
        const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "result"));
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
        const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "file"));
        if (!k || !r || strcmp(r, "failed") || strcmp(k, check)) continue;
        if (name && (!n || strcmp(n, name))) continue;
        if (file && (!f || strlen(f) < strlen(file) ||
                     strcmp(f + strlen(f) - strlen(file), file)))
            continue;
        return 1;
    }
    return 0;
}

static const char *first_failure(const cJSON *j)
{
    static char s[512];
    snprintf(s, sizeof s, "(none)");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "checks"))
    {
        const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "result"));
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "message"));
        if (r && !strcmp(r, "failed")) {
            snprintf(s, sizeof s, "%s", m ? m : "?");
            break;
        }
    }
    return s;
}

static int flip(const char *path, uint64_t at)
{
    int fd = open(path, O_RDWR);
    uint8_t b = 0;
    int ok = fd >= 0 && pread(fd, &b, 1, (off_t)at) == 1;
    b ^= 0x24;
    ok = ok && pwrite(fd, &b, 1, (off_t)at) == 1;
    if (fd >= 0) close(fd);
    return ok;
}

/* The file silkie-verify is given (the model file; it checks its mmproj sibling too). */
static const char *g_main;

/* One expected outcome: a flipped byte at `at` of path makes one of `checks` (a |-separated
 * list) fail in `file`, for tensor `name` when set. */
static void expect_flip(const char *path, const char *file, uint64_t at, const char *checks,
                        const char *name)
{
    if (!flip(path, at)) {
        SK_TEST_CHECK(0, "cannot flip byte %llu of %s", (unsigned long long)at, path);
        return;
    }
    cJSON *j = NULL;
    int rc = verify(g_main, 0, &j);
    int named = 0;
    char list[128];
    snprintf(list, sizeof list, "%s", checks);
    for (char *save = NULL, *c = strtok_r(list, "|", &save); c && !named;
         c = strtok_r(NULL, "|", &save))
        named = has_failure(j, c, name, file);
    SK_TEST_CHECK(rc == 1 && named, "%s byte %llu: exit %d, want 1 naming %s%s%s; first failure: "
                  "%s", file, (unsigned long long)at, rc, checks, name ? " of " : "",
                  name ? name : "", j ? first_failure(j) : "no JSON");
    cJSON_Delete(j);
    flip(path, at); /* back */
    g_flips++;
}

/* Flips all over the file at path, which is main or its mmproj sibling. */
static void flip_file(const char *path, const char *main, const char *file)
{
    g_main = main;
    size_t size = 0;
    uint8_t *buf = sk_read_file(path, &size);
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_from_gguf(buf, size, path, &w));
    if (!w) {
        silkie_free(buf);
        return;
    }
    const silkie_gguf *g = silkie_weights_gguf(w);
    const char *head = "structure|checksums|metadata";
    const uint64_t fixed[] = {0, 3, 4, 8, 15, 16, 23}; /* magic, version, counts */
    for (size_t k = 0; k < SK_ARRAY_LEN(fixed); k++)
        expect_flip(path, file, fixed[k], head, NULL);
    const silkie_gguf_kv *sums = silkie_gguf_find_kv(g, SILKIE_GGUF_KEY_SHA256_TENSORS);
    const silkie_gguf_kv *msum = silkie_gguf_find_kv(g, SILKIE_GGUF_KEY_SHA256_METADATA);
    uint64_t infos_from = 0; /* the end of the last value: tensor infos follow */
    for (uint64_t i = 0; i < silkie_gguf_n_kv(g); i++) {
        const silkie_gguf_kv *kv = silkie_gguf_kv_at(g, i);
        uint64_t v = (uint64_t)(kv->data - buf), len = 1;
        if (kv->type == SILKIE_GGUF_STRING) len = kv->n ? kv->n : 1;
        else if (kv->type == SILKIE_GGUF_ARRAY && kv->arr_type != SILKIE_GGUF_STRING)
            len = kv->n ? kv->n : 1; /* bytes of u8 arrays; a first-element byte otherwise */
        /* The key's bytes come 12 bytes (type + length) or more before its value. */
        uint64_t key_at = v - 12 - strlen(kv->key) - (kv->type == SILKIE_GGUF_ARRAY ? 12 : 0);
        if (kv == sums) {
            /* A changed digest reads as damage to its tensor. */
            for (uint32_t t = 0; t < silkie_weights_count(w); t += 9)
                expect_flip(path, file, v + 32ull * t + t % 32, "tensor",
                            silkie_weights_at(w, t)->name);
        } else if (kv == msum) {
            expect_flip(path, file, v, "metadata", NULL);
            expect_flip(path, file, v + 31, "metadata", NULL);
        } else if (i % 2) { /* the value of every other key, the key itself of the rest */
            expect_flip(path, file, v + len / 2, head, NULL);
        } else {
            expect_flip(path, file, key_at, head, NULL);
        }
        bool bytes = kv->type == SILKIE_GGUF_STRING ||
                     (kv->type == SILKIE_GGUF_ARRAY && kv->arr_type == SILKIE_GGUF_U8);
        infos_from = SK_MAX(infos_from, v + (bytes ? kv->n : 1));
    }
    /* Tensor infos and the padding up to the data: a sample across them. */
    const silkie_weight *t0 = silkie_weights_at(w, 0);
    uint64_t data_start = (uint64_t)((const uint8_t *)t0->data - buf);
    for (uint64_t k = 0; k < 8; k++)
        expect_flip(path, file, infos_from + (data_start - infos_from) * k / 8, head, NULL);
    /* Every tensor once, at its first, middle or last byte in turn; the padding after it. */
    for (uint32_t i = 0; i < silkie_weights_count(w); i++) {
        const silkie_weight *t = silkie_weights_at(w, i);
        if (!t->nbytes) continue;
        uint64_t b = (uint64_t)((const uint8_t *)t->data - buf);
        const uint64_t in[3] = {0, t->nbytes / 2, t->nbytes - 1};
        expect_flip(path, file, b + in[i % 3], "tensor", t->name);
        if ((b + t->nbytes) % 32 && b + t->nbytes < size && i % 2)
            expect_flip(path, file, b + t->nbytes, "layout", NULL);
    }
    silkie_weights_close(w);
    silkie_free(buf);
}

static int write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(p, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    return ok;
}

/* Truncations: in the data, in the metadata, one byte short. */
static void truncations(const char *path)
{
    size_t size = 0;
    uint8_t *buf = sk_read_file(path, &size);
    char cut[1100];
    tmp_path(cut, sizeof cut, "cut.gguf");
    const size_t at[] = {size - 1, size / 2, 4096, 100, 7};
    for (size_t k = 0; buf && k < SK_ARRAY_LEN(at); k++) {
        SK_TEST_CHECK(write_bytes(cut, buf, at[k]), "write %s", cut);
        cJSON *j = NULL;
        int rc = verify(cut, 0, &j);
        SK_TEST_CHECK(rc == 1 && (has_failure(j, "structure", NULL, NULL) ||
                                  has_failure(j, "layout", NULL, NULL)),
                      "truncated to %zu bytes: exit %d, %s", at[k], rc,
                      j ? first_failure(j) : "no JSON");
        cJSON_Delete(j);
    }
    remove(cut);
    silkie_free(buf);
}

/* Rewrites `key`'s value bytes (n of them, from `value`) and seals the file again, so that
 * only the change itself is wrong. */
static int reseal(const char *path, const char *key, const void *value, size_t n)
{
    size_t size = 0;
    uint8_t *buf = sk_read_file(path, &size);
    silkie_weights *w = NULL;
    silkie_status st = buf ? silkie_weights_from_gguf(buf, size, path, &w) : SILKIE_ERR_IO;
    const silkie_gguf *g = w ? silkie_weights_gguf(w) : NULL;
    const silkie_gguf_kv *kv = g ? silkie_gguf_find_kv(g, key) : NULL;
    const silkie_gguf_kv *ts = g ? silkie_gguf_find_kv(g, SILKIE_GGUF_KEY_SHA256_TENSORS) : NULL;
    const silkie_gguf_kv *ms = g ? silkie_gguf_find_kv(g, SILKIE_GGUF_KEY_SHA256_METADATA) : NULL;
    int ok = st == SILKIE_OK && kv && ts && ms;
    if (ok) {
        silkie_gguf_sums s = {
            .data_start = (uint64_t)((const uint8_t *)silkie_weights_at(w, 0)->data - buf),
            .metadata_at = (uint64_t)(ms->data - buf),
            .tensors_at = (uint64_t)(ts->data - buf),
            .n_tensors = silkie_weights_count(w),
            .digests = (uint8_t *)ts->data};
        silkie_gguf_patch p = {(uint64_t)(kv->data - buf), value, n};
        ok = silkie_gguf_seal(path, &s, &p, 1) == SILKIE_OK;
    }
    silkie_weights_close(w);
    silkie_free(buf);
    return ok;
}

static char *copy_to(const char *from, const char *name, char *buf, size_t cap)
{
    size_t n = 0;
    uint8_t *b = sk_read_file(from, &n);
    tmp_path(buf, cap, name);
    SK_TEST_CHECK(b && write_bytes(buf, b, n), "copy %s to %s", from, buf);
    silkie_free(b);
    return buf;
}

static void wrong_files(const char *f32, const char *q4)
{
    char p[1100];
    cJSON *j = NULL;
    /* A self-test logit that does not match (the checksums do). */
    copy_to(f32, "wrong_selftest.gguf", p, sizeof p);
    size_t size = 0;
    uint8_t *buf = sk_read_file(p, &size);
    silkie_weights *w = NULL;
    silkie_gguf_selftest v;
    bool present = false;
    if (buf && silkie_weights_from_gguf(buf, size, p, &w) == SILKIE_OK)
        SK_TEST_OK(silkie_gguf_selftest_read(silkie_weights_gguf(w), &v, &present));
    silkie_weights_close(w);
    silkie_free(buf);
    SK_TEST_CHECK(present, "the f32 pack has a self-test vector");
    v.top_logits[0] += 1.0f;
    SK_TEST_CHECK(reseal(p, "silkie.selftest.top_logits", v.top_logits, sizeof v.top_logits),
                  "reseal %s", p);
    int rc = verify(p, 1, &j);
    SK_TEST_CHECK(rc == 1 && has_failure(j, "selftest", NULL, NULL) &&
                      !has_failure(j, "metadata", NULL, NULL),
                  "mismatching self-test: exit %d, %s", rc, j ? first_failure(j) : "no JSON");
    cJSON_Delete(j);
    remove(p);
    /* Another architecture. */
    copy_to(q4, "wrong_arch.gguf", p, sizeof p);
    SK_TEST_CHECK(reseal(p, "general.architecture", "qwex", 4), "reseal %s", p);
    rc = verify(p, 0, &j);
    SK_TEST_CHECK(rc == 1 && has_failure(j, "architecture", NULL, NULL) &&
                      strstr(first_failure(j), "qwex"),
                  "other architecture: exit %d, %s", rc, j ? first_failure(j) : "no JSON");
    cJSON_Delete(j);
    remove(p);
    /* Another GGUF version. */
    copy_to(q4, "wrong_version.gguf", p, sizeof p);
    const uint32_t four = 4;
    SK_TEST_CHECK(reseal(p, "general.architecture", "qwen", 4), "reseal %s", p);
    int fd = open(p, O_WRONLY);
    SK_TEST_CHECK(fd >= 0 && pwrite(fd, &four, 4, 4) == 4, "version of %s", p);
    if (fd >= 0) close(fd);
    rc = verify(p, 0, &j);
    SK_TEST_CHECK(rc == 1 && has_failure(j, "structure", NULL, NULL) &&
                      strstr(first_failure(j), "version 4"),
                  "GGUF version 4: exit %d, %s", rc, j ? first_failure(j) : "no JSON");
    cJSON_Delete(j);
    remove(p);
}

/* The case's question (after its "Picture 1: <img>...</img>\n" line) and greedy tokens. */
static int read_case(const char *dir, char *q, size_t qcap, int64_t *ids, int *n_ids)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/cases.json", dir);
    size_t n = 0;
    char *text = sk_read_file(p, &n);
    cJSON *c = text ? cJSON_ParseWithLength(text, n) : NULL;
    silkie_free(text);
    const char *query = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "query"));
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(c, "generation"), "greedy_ids");
    *n_ids = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, g) if (*n_ids < 64) ids[(*n_ids)++] = (int64_t)e->valuedouble;
    const char *after = query ? strstr(query, "</img>\n") : NULL;
    snprintf(q, qcap, "%s", after ? after + 7 : query ? query : "");
    cJSON_Delete(c);
    return query && *n_ids > 0;
}

static void ask_golden(const char *f32, const char *dir)
{
    char q[1024], img[4200], n_tok[16];
    int64_t want[64];
    int n = 0;
    if (!read_case(dir, q, sizeof q, want, &n)) {
        SK_TEST_CHECK(0, "%s/cases.json: no query or greedy_ids", dir);
        return;
    }
    snprintf(img, sizeof img, "%s/hopper.jpg", dir);
    snprintf(n_tok, sizeof n_tok, "%d", n);
    char *args[] = {(char *)g_silkie, "ask", "--verify", "--model", (char *)f32, "--image", img,
                    "--greedy", "--max-tokens", n_tok, "--no-stop", "--kv", "f32", "--quiet",
                    "--json", q, NULL};
    char *text = NULL;
    int rc = run(args, &text);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(j, "tokens");
    int same = cJSON_GetArraySize(toks) == n;
    for (int i = 0; same && i < n; i++)
        same = (int64_t)cJSON_GetArrayItem(toks, i)->valuedouble == want[i];
    SK_TEST_CHECK(rc == 0 && same, "silkie ask --verify on the pack: exit %d, tokens %s the "
                  "case's", rc, same ? "equal to" : "differ from");
    cJSON_Delete(j);
    silkie_free(text);
}

/* `silkie ask --verify` on a damaged file: exit 1, the message names the tensor. */
static void ask_damaged(const char *q4)
{
    char p[1100], out[2048], cmd[4096];
    copy_to(q4, "damaged.gguf", p, sizeof p);
    size_t size = 0;
    uint8_t *buf = sk_read_file(p, &size);
    silkie_weights *w = NULL;
    const silkie_weight *t = NULL;
    if (buf && silkie_weights_from_gguf(buf, size, p, &w) == SILKIE_OK)
        t = silkie_weights_find(w, "blk.1.ffn_down.weight");
    uint64_t at = t ? (uint64_t)((const uint8_t *)t->data - buf) + 5 : 0;
    silkie_weights_close(w);
    silkie_free(buf);
    SK_TEST_CHECK(t && flip(p, at), "damage %s", p);
    snprintf(cmd, sizeof cmd, "-c '\"$0\" ask --verify --quiet --model \"$1\" Hi 2>&1 >/dev/null' "
             "'%s' '%s'", g_silkie, p);
    int rc = sk_run_capture("/bin/sh", cmd, out, sizeof out);
    SK_TEST_CHECK(rc == 1 && strstr(out, "blk.1.ffn_down.weight") && strstr(out, "damaged"),
                  "silkie ask --verify on a damaged file: exit %d, '%s'", rc, out);
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    mp.verify = 1;
    mp.text_only = 1;
    silkie_model *m = NULL;
    SK_TEST_STATUS(silkie_model_load(p, &mp, &m), SILKIE_ERR_BAD_FILE);
    SK_TEST_CHECK(m == NULL && strstr(silkie_last_error(), "'blk.1.ffn_down.weight' is damaged"),
                  "silkie_model_load verify: '%s'", silkie_last_error());
    /* The same params as an older binary passes them: verify lies beyond its struct_size. */
    mp.struct_size = (uint32_t)offsetof(silkie_model_params, verify);
    SK_TEST_OK(silkie_model_load(p, &mp, &m));
    silkie_model_destroy(m);
    remove(p);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: test_golden_verify PACK VERIFY SILKIE CASE_DIR\n");
        return 2;
    }
    g_pack = argv[1];
    g_verify = argv[2];
    g_silkie = argv[3];
    const char *dir = argv[4], *t = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/silkie_verify_XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(g_tmp)) return 1;
    char model[4200], f32[1100], q4[1100], mmproj[1100];
    snprintf(model, sizeof model, "%s/model", dir);
    tmp_path(f32, sizeof f32, "f32.gguf");
    tmp_path(q4, sizeof q4, "q4.gguf");
    tmp_path(mmproj, sizeof mmproj, "mmproj-q4.gguf");

    /* The self-test needs a Vulkan device: none here is a skip (77), except under CI. */
    char *devices[] = {(char *)g_silkie, "devices", NULL};
    if (run(devices, NULL) != 0) {
        const char *ci = getenv("CI");
        fprintf(stderr, "no Vulkan device\n");
        rmdir(g_tmp);
        return ci && !strcmp(ci, "true") ? 1 : 77;
    }
    /* 1. The f32 pack with its self-test: verified, and the golden tokens through the CLI. */
    char *pack_f32[] = {(char *)g_pack, "--model", model, "--out", f32, "--type", "f32",
                        "--vision-type", "f32", "--quiet", NULL};
    int rc = run(pack_f32, NULL);
    SK_TEST_CHECK(rc == 0, "silkie-pack f32: exit %d", rc);
    cJSON *j = NULL;
    rc = verify(f32, 1, &j);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "selftest");
    SK_TEST_CHECK(rc == 0 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")) &&
                      cJSON_GetObjectItemCaseSensitive(st, "tokens_agree") &&
                      cJSON_GetObjectItemCaseSensitive(st, "tokens_agree")->valueint == 8,
                  "silkie-verify on the f32 pack: exit %d, %s", rc,
                  j ? first_failure(j) : "no JSON");
    cJSON_Delete(j);
    ask_golden(f32, dir);

    /* 2. A q4_0 pair without the self-test; flips and truncations. */
    char *pack_q4[] = {(char *)g_pack, "--model", model, "--out", q4, "--type", "q4_0",
                       "--split", "--no-selftest", "--quiet", NULL};
    SK_TEST_CHECK(run(pack_q4, NULL) == 0, "silkie-pack q4_0 --split");
    rc = verify(q4, 0, &j);
    SK_TEST_CHECK(rc == 0 && !has_failure(j, "selftest", NULL, NULL),
                  "silkie-verify on the q4_0 pair: exit %d, %s", rc,
                  j ? first_failure(j) : "no JSON");
    cJSON_Delete(j);
    flip_file(q4, q4, "/q4.gguf");
    flip_file(mmproj, q4, "/mmproj-q4.gguf");
    truncations(q4);
    printf("%d single-byte flips, each caught and named\n", g_flips);

    /* 3, 4. */
    wrong_files(f32, q4);
    ask_damaged(q4);

    remove(f32);
    remove(q4);
    remove(mmproj);
    rmdir(g_tmp);
    return sk_test_result("test_golden_verify");
}
