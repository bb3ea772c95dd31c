/* Runs each model-file fuzz entry point over seed inputs and deterministic mutations of them,
 * so the normal suite (and its ASan/UBSan build) exercises the fuzz targets without libFuzzer.
 * The entry points return nothing useful; what is tested is that nothing crashes, trips a
 * sanitizer, or leaks. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model/model.h"

#define SK_FUZZ_ENTRY fuzz_safetensors_entry
#include "fuzz_safetensors.c"
#undef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY fuzz_zip_entry
#include "fuzz_zip.c"
#undef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY fuzz_pickle_entry
#include "fuzz_pickle.c"
#undef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY fuzz_gguf_entry
#include "fuzz_gguf.c"
#undef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY fuzz_config_entry
#include "fuzz_config.c"
#undef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY fuzz_verify_entry
#include "fuzz_verify.c"
#undef SK_FUZZ_ENTRY

typedef int (*entry_fn)(const uint8_t *, size_t);

/* Each entry point and the libFuzzer target (tests/fuzz/fuzz_NAME.c) it is. */
static const struct {
    const char *name;
    entry_fn fn;
} k_targets[] = {
    {"safetensors", fuzz_safetensors_entry}, {"zip", fuzz_zip_entry},
    {"pickle", fuzz_pickle_entry},           {"gguf", fuzz_gguf_entry},
    {"config", fuzz_config_entry},           {"verify", fuzz_verify_entry},
};

static const char *target_name(entry_fn fn)
{
    for (size_t i = 0; i < SK_ARRAY_LEN(k_targets); i++)
        if (k_targets[i].fn == fn) return k_targets[i].name;
    return "unknown";
}

/* SK_FUZZ_SEEDS=DIR writes every seed to DIR/fuzz_NAME/ (created beforehand), the starting
 * corpus of a fuzzing campaign (docs/FILES.md, "Fuzzing"). */
static void write_seed(entry_fn fn, const char *what, const uint8_t *seed, size_t n)
{
    const char *dir = getenv("SK_FUZZ_SEEDS");
    if (!dir || !*dir) return;
    char path[2048];
    snprintf(path, sizeof path, "%s/fuzz_%s/%s", dir, target_name(fn), what);
    for (char *c = path + strlen(dir) + 1; *c; c++)
        if (*c == ' ') *c = '_';
    FILE *f = fopen(path, "wb");
    SK_TEST_CHECK(f && fwrite(seed, 1, n, f) == n && fclose(f) == 0, "writing %s", path);
}

#define MUTATIONS 400

static void mutate(sk_rng *r, uint8_t *b, size_t *n, size_t cap)
{
    static const uint8_t interesting[] = {0x00, 0xff, 0x7f, 0x80, 0x01, '(', '.', '"', '{', ']'};
    int k = 1 + (int)(sk_rng_u32(r) % 4);
    for (int i = 0; i < k && *n; i++) {
        size_t at = sk_rng_u32(r) % *n;
        switch (sk_rng_u32(r) % 5) {
        case 0: b[at] ^= (uint8_t)(1u << (sk_rng_u32(r) % 8)); break;
        case 1: b[at] = interesting[sk_rng_u32(r) % sizeof interesting]; break;
        case 2: *n = at; break; /* truncate */
        case 3: { /* duplicate a chunk in place */
            size_t len = SK_MIN((size_t)(sk_rng_u32(r) % 16 + 1), *n - at);
            if (*n + len <= cap) {
                memmove(b + at + len, b + at, *n - at);
                *n += len;
            }
            break;
        }
        default: { /* overwrite a little-endian field with a boundary value */
            static const uint64_t vals[] = {0, 1, 0xffffffffu, 0xffffffffffffffffull,
                                            0x7fffffffffffffffull, 1ull << 32};
            uint64_t v = vals[sk_rng_u32(r) % SK_ARRAY_LEN(vals)];
            for (size_t j = 0; j < 8 && at + j < *n; j++) b[at + j] = (uint8_t)(v >> (8 * j));
            break;
        }
        }
    }
}

static uint64_t g_runs;

static void replay(const char *what, entry_fn fn, const uint8_t *seed, size_t n, uint64_t salt)
{
    if (!seed || !n) {
        fprintf(stderr, "%s: no seed\n", what);
        return;
    }
    write_seed(fn, what, seed, n);
    int64_t live = silkie_alloc_live();
    size_t cap = n + 64 * 4;
    uint8_t *b = malloc(cap);
    /* The seed itself and all of its prefixes (exact-size buffers catch over-reads). */
    for (size_t cut = 0; cut <= n; cut += (n > 4096 ? 7 : 1)) {
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, seed, cut);
        fn(c, cut);
        free(c);
        g_runs++;
    }
    sk_rng r;
    sk_rng_seed(&r, 0x5eed0000u + salt);
    for (int i = 0; i < MUTATIONS; i++) {
        size_t m = n;
        memcpy(b, seed, n);
        mutate(&r, b, &m, cap);
        uint8_t *c = malloc(m ? m : 1);
        memcpy(c, b, m);
        fn(c, m);
        free(c);
        g_runs++;
    }
    free(b);
    SK_TEST_CHECK(silkie_alloc_live() == live, "%s: leak of %lld", what,
                  (long long)(silkie_alloc_live() - live));
}

static void replay_whole(const char *name, const uint8_t *data, size_t n, void *user)
{
    (void)name;
    (*(const entry_fn *)user)(data, n);
    g_runs++;
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* data.pkl of a torch zip, through its central directory entry (torch leaves the local header
 * sizes zero and writes a data descriptor). */
static const uint8_t *find_pkl(const uint8_t *z, size_t n, size_t *len)
{
    for (size_t i = 0; i + 46 < n; i++) {
        if (memcmp(z + i, "PK\x01\x02", 4) != 0) continue;
        size_t nl = z[i + 28] | (z[i + 29] << 8);
        if (nl < 8 || i + 46 + nl > n || memcmp(z + i + 46 + nl - 8, "data.pkl", 8) != 0)
            continue;
        size_t sz = le32(z + i + 20), lo = le32(z + i + 42);
        if (lo + 30 > n) return NULL;
        size_t at = lo + 30 + (z[lo + 26] | (z[lo + 27] << 8)) + (z[lo + 28] | (z[lo + 29] << 8));
        if (at + sz > n) return NULL;
        *len = sz;
        return z + at;
    }
    return NULL;
}

int main(void)
{
    const char *shared = sk_shared_dir();
    char p[1024];
    size_t n = 0;
    uint8_t *b;
    /* safetensors: a small synthetic file plus the LoRA adapter of tiny-a. */
    static const char st_json[] =
        "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],"
        "\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":"
        "[16,24]}}      ";
    uint8_t st[8 + sizeof st_json - 1 + 24];
    uint64_t hl = sizeof st_json - 1;
    for (int i = 0; i < 8; i++) st[i] = (uint8_t)(hl >> (8 * i));
    memcpy(st + 8, st_json, hl);
    memset(st + 8 + hl, 0x3f, 24);
    replay("safetensors synthetic", fuzz_safetensors_entry, st, sizeof st, 1);
    if (shared) {
        snprintf(p, sizeof p, "%s/golden/tiny-a/lora/adapter_model.safetensors", shared);
        b = sk_read_file(p, &n);
        /* Only the header region is worth mutating; keep the file short. */
        replay("safetensors lora", fuzz_safetensors_entry, b, n > 8192 ? 8192 : n, 2);
        silkie_free(b);
        snprintf(p, sizeof p, "%s/golden/pickle/pytorch_model-00001-of-00002.bin", shared);
        b = sk_read_file(p, &n);
        replay("zip shard 1", fuzz_zip_entry, b, n, 3);
        size_t pl = 0;
        const uint8_t *pk = b ? find_pkl(b, n, &pl) : NULL;
        SK_TEST_CHECK(pk != NULL, "data.pkl in the shard");
        replay("pickle shard 1", fuzz_pickle_entry, pk, pl, 4);
        silkie_free(b);
        snprintf(p, sizeof p, "%s/golden/pickle/pytorch_model-00002-of-00002.bin", shared);
        b = sk_read_file(p, &n);
        replay("zip shard 2", fuzz_zip_entry, b, n, 5);
        silkie_free(b);
        snprintf(p, sizeof p, "%s/golden/tiny-a/model/config.json", shared);
        b = sk_read_file(p, &n);
        replay("config.json", fuzz_config_entry, b, n, 6);
        silkie_free(b);
        snprintf(p, sizeof p, "%s/golden/tiny-a/model/generation_config.json", shared);
        b = sk_read_file(p, &n);
        replay("generation_config.json", fuzz_config_entry, b, n, 7);
        silkie_free(b);
    } else {
        fprintf(stderr, "shared folder missing: golden seeds skipped\n");
    }
    /* GGUF: a small file from our writer with every metadata kind. */
    silkie_gguf_writer *w = NULL;
    const uint64_t shape[2] = {2, 32};
    float data[64] = {0.5f, -1.0f};
    const char *strs[2] = {"tok", "en"};
    const uint32_t arr[3] = {1, 2, 3};
    SK_TEST_OK(silkie_gguf_writer_create("fuzz_seed.gguf", 0, &w));
    if (w) {
        SK_TEST_OK(silkie_gguf_writer_add_str(w, "general.architecture", "qwen"));
        SK_TEST_OK(silkie_gguf_writer_add_f32(w, "k.f", 1.5f));
        SK_TEST_OK(silkie_gguf_writer_add_arr(w, "k.a", SILKIE_GGUF_U32, arr, 3));
        SK_TEST_OK(silkie_gguf_writer_add_arr_str(w, "k.s", strs, NULL, 2));
        SK_TEST_OK(silkie_gguf_writer_add_tensor(w, "t.f32", SILKIE_DTYPE_F32, 2, shape));
        SK_TEST_OK(silkie_gguf_writer_add_tensor(w, "t.q4", SILKIE_DTYPE_Q4_0, 2, shape));
        SK_TEST_OK(silkie_gguf_writer_write(w, data, sizeof data));
        uint8_t q[36] = {0};
        SK_TEST_OK(silkie_gguf_writer_write(w, q, sizeof q));
        SK_TEST_OK(silkie_gguf_writer_finish(w));
    }
    b = sk_read_file("fuzz_seed.gguf", &n);
    replay("gguf", fuzz_gguf_entry, b, n, 8);
    silkie_free(b);
    remove("fuzz_seed.gguf");
    /* The same with the integrity keys, sealed: what silkie-verify checks. */
    SK_TEST_OK(silkie_gguf_writer_create("fuzz_seed_sealed.gguf", 0, &w));
    silkie_gguf_sums sums = {0};
    silkie_gguf_selftest v;
    silkie_gguf_selftest_slots slots;
    silkie_gguf_selftest_inputs(&v, false);
    if (w) {
        SK_TEST_OK(silkie_gguf_writer_enable_checksums(w));
        SK_TEST_OK(silkie_gguf_writer_add_str(w, "general.architecture", "qwen"));
        SK_TEST_OK(silkie_gguf_selftest_reserve(w, &v, &slots));
        SK_TEST_OK(silkie_gguf_writer_add_tensor(w, "t.f32", SILKIE_DTYPE_F32, 2, shape));
        SK_TEST_OK(silkie_gguf_writer_add_tensor(w, "t.q4", SILKIE_DTYPE_Q4_0, 2, shape));
        SK_TEST_OK(silkie_gguf_writer_write(w, data, sizeof data));
        uint8_t q[36] = {0};
        SK_TEST_OK(silkie_gguf_writer_write(w, q, sizeof q));
        SK_TEST_OK(silkie_gguf_writer_finish_sums(w, &sums));
        v.n_prompt = 5;
        silkie_gguf_patch pt[4];
        uint32_t np = silkie_gguf_selftest_patches(&v, &slots, pt);
        SK_TEST_OK(silkie_gguf_seal("fuzz_seed_sealed.gguf", &sums, pt, np));
        silkie_gguf_sums_release(&sums);
    }
    b = sk_read_file("fuzz_seed_sealed.gguf", &n);
    replay("verify", fuzz_verify_entry, b, n, 9);
    silkie_free(b);
    remove("fuzz_seed_sealed.gguf");
    /* The committed corpora: every input of the campaigns, whole. */
    for (size_t i = 0; i < SK_ARRAY_LEN(k_targets); i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/fuzz_%s", SK_FUZZ_CORPUS_DIR, k_targets[i].name);
        const int64_t live = silkie_alloc_live();
        const int n_files = sk_for_each_file(dir, replay_whole, (void *)&k_targets[i].fn);
        SK_TEST_CHECK(n_files > 0, "corpus %s: %d inputs", dir, n_files);
        SK_TEST_CHECK(silkie_alloc_live() == live, "corpus %s: leak of %lld", dir,
                      (long long)(silkie_alloc_live() - live));
    }
    printf("%llu fuzz inputs replayed\n", (unsigned long long)g_runs);
    return sk_test_result("test_fuzz_replay");
}
