/* Integrity of model files (docs/FIRMWARE.md, "Integrity"), pure CPU:
 * - SHA-256 against the FIPS 180-4 examples, fed in one piece and in uneven chunks;
 * - CRC-32 against the zip/PNG check value;
 * - a GGUF file with checksums and a reserved self-test vector, sealed: it verifies, its vector
 *   reads back, and every single byte of it flipped in turn fails verification, named as the
 *   right check (and the right tensor for data bytes), also when stopping at the first failure;
 * - torch.save archives: the golden sharded checkpoint verifies; a flipped byte in a small entry
 *   is refused at open, one in a large storage only by silkie_weights_verify, both naming the
 *   zip entry. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model/files_int.h"
#include "model/sha256.h"
#include "torch_save_writer.h"

static void test_sha256(void)
{
    static const struct {
        const char *msg;
        const char *hex;
    } k[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    uint8_t d[32];
    char hex[65];
    for (size_t i = 0; i < SK_ARRAY_LEN(k); i++) {
        silkie_sha256_digest(k[i].msg, strlen(k[i].msg), d);
        silkie_sha256_hex(d, hex);
        SK_TEST_CHECK(!strcmp(hex, k[i].hex), "sha256 of example %zu: %s", i, hex);
    }
    /* One million 'a' in chunks of 1, 63, 64, 65, ... bytes: block boundaries everywhere. */
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    silkie_sha256 s;
    silkie_sha256_init(&s);
    for (size_t at = 0, step = 1; at < 1000000; step = step * 7 % 131 + 1) {
        size_t n = SK_MIN(step, 1000000 - at);
        silkie_sha256_update(&s, a + at, n);
        at += n;
    }
    silkie_sha256_final(&s, d);
    silkie_sha256_hex(d, hex);
    SK_TEST_CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
                  "sha256 of a million 'a': %s", hex);
    free(a);
}

static void test_crc32(void)
{
    SK_TEST_CHECK(sk_crc32(0, "123456789", 9) == 0xcbf43926u, "crc32 check value");
    /* Continuing a CRC equals one pass; lengths around the 8-byte step. */
    uint8_t b[77];
    for (size_t i = 0; i < sizeof b; i++) b[i] = (uint8_t)(i * 37 + 11);
    for (size_t cut = 0; cut <= sizeof b; cut += 5)
        SK_TEST_CHECK(sk_crc32(sk_crc32(0, b, cut), b + cut, sizeof b - cut) ==
                          sk_crc32(0, b, sizeof b),
                      "crc32 in two parts at %zu", cut);
}

/* ---- GGUF ---------------------------------------------------------------------------------- */

typedef struct finding_log {
    char first_check[24];
    char first_subject[96];
    int n_failed;
} finding_log;

static void on_finding(void *user, const char *check, const char *subject, silkie_status st,
                       const char *message)
{
    finding_log *l = user;
    (void)message;
    if (st == SILKIE_OK) return;
    if (!l->n_failed++) {
        snprintf(l->first_check, sizeof l->first_check, "%s", check);
        snprintf(l->first_subject, sizeof l->first_subject, "%s", subject ? subject : "");
    }
}

static const char *k_names[] = {"t.f32", "t.empty", "t.q4", "t.f16"};

/* A small file: four tensors (one empty, one q4_0, odd sizes that leave padding), metadata of
 * several kinds, checksums, and the self-test keys filled in by the seal. */
static void write_sealed(const char *path, silkie_gguf_selftest *v)
{
    silkie_gguf_writer *w = NULL;
    SK_TEST_OK(silkie_gguf_writer_create(path, 0, &w));
    if (!w) return;
    SK_TEST_OK(silkie_gguf_writer_enable_checksums(w));
    SK_TEST_OK(silkie_gguf_writer_add_str(w, "general.architecture", "qwen"));
    const uint32_t arr[3] = {7, 8, 9};
    SK_TEST_OK(silkie_gguf_writer_add_arr(w, "k.arr", SILKIE_GGUF_U32, arr, 3));
    silkie_gguf_selftest_inputs(v, true);
    silkie_gguf_selftest_slots slots;
    SK_TEST_OK(silkie_gguf_selftest_reserve(w, v, &slots));
    const uint64_t s_f32[2] = {3, 5}, s_empty[1] = {0}, s_q4[2] = {2, 64}, s_f16[1] = {7};
    SK_TEST_OK(silkie_gguf_writer_add_tensor(w, k_names[0], SILKIE_DTYPE_F32, 2, s_f32));
    SK_TEST_OK(silkie_gguf_writer_add_tensor(w, k_names[1], SILKIE_DTYPE_F32, 1, s_empty));
    SK_TEST_OK(silkie_gguf_writer_add_tensor(w, k_names[2], SILKIE_DTYPE_Q4_0, 2, s_q4));
    SK_TEST_OK(silkie_gguf_writer_add_tensor(w, k_names[3], SILKIE_DTYPE_F16, 1, s_f16));
    uint8_t data[60 + 72 + 14];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 13 + 1);
    SK_TEST_OK(silkie_gguf_writer_write(w, data, 17)); /* chunks across tensor ends */
    SK_TEST_OK(silkie_gguf_writer_write(w, data + 17, sizeof data - 17));
    silkie_gguf_sums sums;
    SK_TEST_OK(silkie_gguf_writer_finish_sums(w, &sums));
    SK_TEST_CHECK(sums.digests && sums.n_tensors == 4, "digests of 4 tensors");
    v->n_prompt = 42;
    for (uint32_t i = 0; i < SILKIE_SELFTEST_TOP_K; i++) {
        v->top_ids[i] = (int32_t)(100 + i);
        v->top_logits[i] = 9.5f - (float)i;
    }
    for (uint32_t i = 0; i < SILKIE_SELFTEST_TOKENS; i++) v->tokens[i] = (int32_t)(7 * i);
    silkie_gguf_patch p[4];
    uint32_t n = silkie_gguf_selftest_patches(v, &slots, p);
    SK_TEST_OK(silkie_gguf_seal(path, &sums, p, n));
    silkie_gguf_sums_release(&sums);
}

/* The region byte `at` lies in: the tensor it belongs to, else "" (head, metadata, padding). */
static const char *tensor_at(const silkie_weights *w, const uint8_t *buf, size_t at)
{
    for (uint32_t i = 0; i < silkie_weights_count(w); i++) {
        const silkie_weight *t = silkie_weights_at(w, i);
        size_t b = (size_t)((const uint8_t *)t->data - buf);
        if (at >= b && at < b + t->nbytes) return t->name;
    }
    return "";
}

static void test_gguf_flips(void)
{
    const char *path = "integrity_seal.gguf";
    silkie_gguf_selftest v, got;
    write_sealed(path, &v);
    size_t size = 0;
    uint8_t *buf = sk_read_file(path, &size);
    remove(path);
    if (!buf) {
        SK_TEST_CHECK(0, "no %s", path);
        return;
    }
    finding_log log = {0};
    SK_TEST_OK(silkie_gguf_verify(buf, size, "sealed", NULL, on_finding, &log));
    SK_TEST_CHECK(log.n_failed == 0, "sealed file: %d failures, first %s", log.n_failed,
                  log.first_check);
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_from_gguf(buf, size, "sealed", &w));
    bool present = false;
    if (w) SK_TEST_OK(silkie_gguf_selftest_read(silkie_weights_gguf(w), &got, &present));
    SK_TEST_CHECK(present && !memcmp(&got, &v, sizeof v), "self-test vector round trip");
    const silkie_gguf_kv *sums = w ? silkie_gguf_find_kv(silkie_weights_gguf(w),
                                                          SILKIE_GGUF_KEY_SHA256_TENSORS) : NULL;
    size_t sums_at = sums ? (size_t)(sums->data - buf) : 0;
    uint32_t caught = 0;
    for (size_t at = 0; at < size; at++) {
        buf[at] ^= 0x01;
        log = (finding_log){0};
        silkie_status st = silkie_gguf_verify(buf, size, "flipped", NULL, on_finding, &log);
        silkie_status first = silkie_gguf_verify(buf, size, "flipped", NULL, NULL, NULL);
        buf[at] ^= 0x01;
        const char *t = tensor_at(w, buf, at);
        bool ok = st != SILKIE_OK && first != SILKIE_OK && log.n_failed > 0;
        if (t[0]) {
            ok = ok && !strcmp(log.first_check, "tensor") && !strcmp(log.first_subject, t);
        } else if (sums && at >= sums_at && at < sums_at + sums->n) {
            /* A changed digest reads as damage to its tensor. */
            ok = ok && !strcmp(log.first_check, "tensor") &&
                 !strcmp(log.first_subject, k_names[(at - sums_at) / 32]);
        } else if (at >= (size_t)((const uint8_t *)silkie_weights_at(w, 0)->data - buf)) {
            ok = ok && !strcmp(log.first_check, "layout"); /* padding in the data area */
        } else {
            ok = ok && (!strcmp(log.first_check, "structure") ||
                        !strcmp(log.first_check, "checksums") ||
                        !strcmp(log.first_check, "metadata"));
        }
        caught += ok;
        SK_TEST_CHECK(ok, "byte %zu flipped: status %d, first finding %s '%s'", at, (int)st,
                      log.first_check, log.first_subject);
    }
    printf("gguf: %u of %zu single-byte flips caught and named\n", caught, size);
    /* Truncated by one byte: the end of the data area no longer matches. */
    log = (finding_log){0};
    SK_TEST_CHECK(silkie_gguf_verify(buf, size - 1, "short", NULL, on_finding, &log) != SILKIE_OK,
                  "one byte short");
    /* A file without the keys cannot be verified. */
    silkie_gguf_writer *wr = NULL;
    SK_TEST_OK(silkie_gguf_writer_create("integrity_plain.gguf", 0, &wr));
    if (wr) SK_TEST_OK(silkie_gguf_writer_finish(wr));
    size_t n2 = 0;
    uint8_t *plain = sk_read_file("integrity_plain.gguf", &n2);
    remove("integrity_plain.gguf");
    SK_TEST_STATUS(silkie_gguf_verify(plain, n2, "plain", NULL, NULL, NULL), SILKIE_ERR_BAD_FILE);
    SK_TEST_CHECK(strstr(silkie_last_error(), "no checksums") != NULL, "message: %s",
                  silkie_last_error());
    silkie_free(plain);
    /* No tensors at all: an empty digest array, and the file still verifies. */
    SK_TEST_OK(silkie_gguf_writer_create("integrity_empty.gguf", 0, &wr));
    silkie_gguf_sums es = {0};
    if (wr) {
        SK_TEST_OK(silkie_gguf_writer_enable_checksums(wr));
        SK_TEST_OK(silkie_gguf_writer_finish_sums(wr, &es));
        SK_TEST_OK(silkie_gguf_seal("integrity_empty.gguf", &es, NULL, 0));
        silkie_gguf_sums_release(&es);
    }
    plain = sk_read_file("integrity_empty.gguf", &n2);
    remove("integrity_empty.gguf");
    SK_TEST_OK(silkie_gguf_verify(plain, n2, "empty", NULL, NULL, NULL));
    silkie_free(plain);
    silkie_weights_close(w);
    silkie_free(buf);
}

/* ---- zip ----------------------------------------------------------------------------------- */

static uint8_t *read_or_fail(const char *path, size_t *n)
{
    uint8_t *b = sk_read_file(path, n);
    SK_TEST_CHECK(b != NULL, "cannot read %s", path);
    return b;
}

/* Offset of the data of zip entry `name` (through the reader itself). */
static size_t entry_at(const uint8_t *buf, size_t n, const char *name)
{
    sk_zip z;
    size_t at = 0;
    if (sk_zip_open(buf, n, "zip", &z) != SILKIE_OK) return 0;
    const sk_zip_entry *e = sk_zip_find(&z, name, strlen(name));
    if (e) at = (size_t)(e->data - buf);
    sk_zip_release(&z);
    return at;
}

static void test_golden_pickle(const char *shared)
{
    char dir[1024], shard[1100];
    snprintf(dir, sizeof dir, "%s/golden/pickle", shared);
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_open(dir, &w));
    if (w) SK_TEST_OK(silkie_weights_verify(w, dir, NULL, NULL));
    silkie_weights_close(w);
    /* Every entry of the fixture is small: a flipped byte anywhere in data.pkl or a storage is
     * refused at open, naming the entry. */
    snprintf(shard, sizeof shard, "%s/pytorch_model-00001-of-00002.bin", dir);
    size_t n = 0;
    uint8_t *b = read_or_fail(shard, &n);
    sk_zip z;
    if (b && sk_zip_open(b, n, "shard", &z) == SILKIE_OK) {
        for (uint32_t i = 0; i < z.n; i++) {
            if (!z.entries[i].size) continue;
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)z.entries[i].name_len, z.entries[i].name);
            size_t at = (size_t)(z.entries[i].data - b) + z.entries[i].size / 2;
            b[at] ^= 0x40;
            silkie_weights *x = NULL;
            SK_TEST_STATUS(silkie_weights_from_torch_zip(b, n, "shard", &x), SILKIE_ERR_BAD_FILE);
            SK_TEST_CHECK(strstr(silkie_last_error(), name) &&
                              strstr(silkie_last_error(), "CRC-32"),
                          "flip in %s: '%s'", name, silkie_last_error());
            silkie_weights_close(x);
            b[at] ^= 0x40;
        }
        sk_zip_release(&z);
    }
    silkie_free(b);
}

static void test_large_storage(void)
{
    /* 2 MiB of f32: above the always-checked size, so open trusts it and verify does not. */
    const uint64_t numel = 512 * 1024;
    float *big = malloc(numel * sizeof *big);
    for (uint64_t i = 0; i < numel; i++) big[i] = (float)i * 0.25f;
    const float small[4] = {1, 2, 3, 4};
    const tsw_storage s[2] = {{SILKIE_DTYPE_F32, big, numel}, {SILKIE_DTYPE_F32, small, 4}};
    const tsw_tensor t[2] = {{"big", 0, 0, 2, {512, 1024}, {1024, 1}},
                             {"small", 1, 0, 1, {4}, {1}}};
    const char *path = "integrity_big.bin";
    SK_TEST_CHECK(tsw_save(path, "archive", t, 2, s, 2, NULL) == 0, "write %s", path);
    free(big);
    size_t n = 0;
    uint8_t *b = read_or_fail(path, &n);
    size_t at = b ? entry_at(b, n, "archive/data/0") : 0;
    SK_TEST_CHECK(at > 0, "storage entry of 'big'");
    if (at) {
        b[at + 1234567] ^= 0x08;
        SK_TEST_CHECK(sk_write_file(path, b, n), "rewrite %s", path);
        silkie_weights *w = NULL;
        SK_TEST_OK(silkie_weights_open(path, &w)); /* large entries are not checked at open */
        if (w) {
            SK_TEST_STATUS(silkie_weights_verify(w, path, NULL, NULL), SILKIE_ERR_BAD_FILE);
            SK_TEST_CHECK(strstr(silkie_last_error(), "'archive/data/0' is damaged") != NULL,
                          "message: %s", silkie_last_error());
            finding_log log = {0};
            silkie_weights_verify(w, path, on_finding, &log);
            SK_TEST_CHECK(log.n_failed == 1 && !strcmp(log.first_check, "zip") &&
                              !strcmp(log.first_subject, "archive/data/0"),
                          "findings: %d, first %s %s", log.n_failed, log.first_check,
                          log.first_subject);
        }
        silkie_weights_close(w);
    }
    remove(path);
    silkie_free(b);
}

int main(void)
{
    test_sha256();
    test_crc32();
    test_gguf_flips();
    test_large_storage();
    const char *shared = sk_shared_dir();
    if (shared) test_golden_pickle(shared);
    else fprintf(stderr, "shared folder missing: golden pickle skipped\n");
    return sk_test_result("test_integrity");
}
