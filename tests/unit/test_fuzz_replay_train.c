/* Runs the training-data fuzz entry points (preference JSONL reader, VLFeedback converter, PEFT
 * adapter config) over the committed corpus (each input whole) and over built-in seeds, their
 * prefixes and deterministic mutations, so the normal suite and its ASan/UBSan build exercise
 * them without libFuzzer. The entry points abort on a broken invariant; what is tested here is
 * that nothing crashes, trips a sanitizer, or leaks. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

#define SK_FUZZ_ENTRY fuzz_pref_reader_entry
#include "fuzz_pref_reader.c"
#undef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY fuzz_vlfeedback_entry
#include "fuzz_vlfeedback.c"
#undef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY fuzz_lora_config_entry
#include "fuzz_lora_config.c"
#undef SK_FUZZ_ENTRY

typedef int (*entry_fn)(const uint8_t *, size_t);

#define MUTATIONS 300
#define MAX_CUTS 160

/* JSON-aware mutations: structural bytes, tokens spliced in, chunks duplicated or dropped. */
static void mutate(sk_rng *r, uint8_t *b, size_t *n, size_t cap)
{
    static const char interesting[] = "{}[]\",:\\\n\r\t 0159.-eE\x00\xff\x80";
    static const char *const tokens[] = {
        "\"Rating\": \"N/A\"", "\"Rating\": 6", "null", "[]", "{}", "\"\"", "1e999",
        "\"response\": [\"a\", \"b\"]", "\\u0000", "\\ud800", "\"images\": [\"\"]", ",",
        "\"completions\": {\"response\": [], \"annotations\": []}", "\n", "[[[[[[[[", "true"};
    int k = 1 + (int)(sk_rng_u32(r) % 4);
    for (int i = 0; i < k && *n; i++) {
        size_t at = sk_rng_u32(r) % *n;
        switch (sk_rng_u32(r) % 6) {
        case 0: b[at] ^= (uint8_t)(1u << (sk_rng_u32(r) % 8)); break;
        case 1: b[at] = (uint8_t)interesting[sk_rng_u32(r) % (sizeof interesting - 1)]; break;
        case 2: *n = at; break; /* truncate */
        case 3: {               /* duplicate a chunk in place */
            size_t want = sk_rng_u32(r) % 64 + 1; /* SK_MIN evaluates twice */
            size_t len = SK_MIN(want, *n - at);
            if (*n + len <= cap) {
                memmove(b + at + len, b + at, *n - at);
                *n += len;
            }
            break;
        }
        case 4: { /* drop a chunk */
            size_t want = sk_rng_u32(r) % 32 + 1;
            size_t len = SK_MIN(want, *n - at);
            memmove(b + at, b + at + len, *n - at - len);
            *n -= len;
            break;
        }
        default: { /* splice a token */
            const char *t = tokens[sk_rng_u32(r) % SK_ARRAY_LEN(tokens)];
            size_t len = strlen(t);
            if (*n + len <= cap) {
                memmove(b + at + len, b + at, *n - at);
                memcpy(b + at, t, len);
                *n += len;
            }
            break;
        }
        }
    }
}

static uint64_t g_runs;

/* Exact-size heap copies, so the sanitizers see any read past the input. */
static void run_one(entry_fn fn, const uint8_t *data, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (n) memcpy(c, data, n);
    fn(c, n);
    free(c);
    g_runs++;
}

static void replay(const char *what, entry_fn fn, const uint8_t *seed, size_t n, uint64_t salt)
{
    int64_t live = silkie_alloc_live();
    size_t step = n / MAX_CUTS + 1;
    for (size_t cut = 0; cut <= n; cut += step) run_one(fn, seed, cut);
    run_one(fn, seed, n);
    size_t cap = n + 1024;
    uint8_t *b = malloc(cap);
    sk_rng r;
    sk_rng_seed(&r, 0x7a1a0000u + salt);
    for (int i = 0; i < MUTATIONS; i++) {
        size_t m = n;
        memcpy(b, seed, n);
        mutate(&r, b, &m, cap);
        run_one(fn, b, m);
    }
    free(b);
    SK_TEST_CHECK(silkie_alloc_live() == live, "%s: leak of %lld", what,
                  (long long)(silkie_alloc_live() - live));
}

static void replay_whole(const char *name, const uint8_t *data, size_t n, void *user)
{
    (void)name;
    run_one(*(const entry_fn *)user, data, n);
}

/* Every input of the target's corpus folder (the campaign's minimized corpus), whole; returns
 * how many. */
static int replay_corpus(const char *target, entry_fn fn)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", SK_FUZZ_CORPUS_DIR, target);
    const int64_t live = silkie_alloc_live();
    const int n = sk_for_each_file(dir, replay_whole, &fn);
    SK_TEST_CHECK(n > 0, "corpus folder %s: %d inputs", dir, n);
    SK_TEST_CHECK(silkie_alloc_live() == live, "%s: leak of %lld", dir,
                  (long long)(silkie_alloc_live() - live));
    return n;
}

static const char *const k_seeds_pref[] = {
    "{\"images\": [\"a.jpg\"], \"prompt\": \"What?\", \"chosen\": \"x\", \"rejected\": \"y\"}\n"
    "\n{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\"}\r\n"
    "{\"images\": null, \"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\", \"id\": 3}\n",
    "{\"images\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"], \"prompt\": \"\", "
    "\"chosen\": \"\\u00e9\\n\", \"rejected\": \"\\\"\"}\nnot json\n[1]\n{\"prompt\": 1}",
};

static const char *const k_seeds_vlf[] = {
    "[{\"id\": \"a\", \"prompt\": \"Q\", \"img_path\": \"i.jpg\", \"completions\": [{\"model\": "
    "\"m\", \"response\": \"R1\", \"annotations\": {\"Helpfulness\": {\"Rating\": \"4\"}, "
    "\"Ethical Considerations\": {\"Rating\": \"5\"}, \"Visual Faithfulness\": {\"Rating\": "
    "\"3\"}}}, {\"model\": \"n\", \"response\": \"R2\", \"annotations\": {\"Helpfulness\": "
    "{\"Rating\": 2}, \"Ethical Considerations\": {\"Rating\": \"N/A\"}, \"Visual "
    "Faithfulness\": {\"Rating\": \"1.5\"}}}]}]",
    "{\"prompt\": \"Q\", \"img_path\": \"i.jpg\", \"completions\": {\"model\": [\"a\", \"b\"], "
    "\"response\": [\"x\", \"y\"], \"annotations\": [{\"Helpfulness\": \"5\", \"Ethical "
    "Considerations\": \"5\", \"Visual Faithfulness\": \"5\"}, {\"Helpfulness\": \"1\", "
    "\"Ethical Considerations\": \"1\", \"Visual Faithfulness\": \"1\"}]}}\n"
    "{\"prompt\": \"Q2\", \"img_path\": \"j.jpg\", \"completions\": []}\n",
};

static const char *const k_seeds_lora[] = {
    "{\"peft_type\": \"LORA\", \"r\": 64, \"lora_alpha\": 16, \"lora_dropout\": 0.05, "
    "\"target_modules\": [\"c_attn\", \"attn.c_proj\", \"w1\", \"w2\"], \"bias\": \"none\", "
    "\"rank_pattern\": {\"w1\": 8}, \"alpha_pattern\": {\"h.0.attn.c_attn\": 4}, "
    "\"layers_to_transform\": [0, 7], \"use_rslora\": true}",
    "{\"r\": 4, \"target_modules\": \".*\\\\.(c_attn|w[12])$\", \"modules_to_save\": null}",
    "c_attn,attn.c_proj,w1,w2",
    "transformer\\.h\\.[0-9]+\\.mlp\\.w(1|2)",
};

static void replay_builtin(const char *what, entry_fn fn, const char *const *seeds, size_t n,
                           uint64_t salt)
{
    for (size_t i = 0; i < n; i++)
        replay(what, fn, (const uint8_t *)seeds[i], strlen(seeds[i]), salt + i);
}

int main(void)
{
    silkie_log_set_level(SILKIE_LOG_ERROR); /* malformed records are logged at WARN */
    int files = 0;
    files += replay_corpus("fuzz_pref_reader", fuzz_pref_reader_entry);
    files += replay_corpus("fuzz_vlfeedback", fuzz_vlfeedback_entry);
    files += replay_corpus("fuzz_lora_config", fuzz_lora_config_entry);
    replay_builtin("pref builtin", fuzz_pref_reader_entry, k_seeds_pref,
                   SK_ARRAY_LEN(k_seeds_pref), 10);
    replay_builtin("vlfeedback builtin", fuzz_vlfeedback_entry, k_seeds_vlf,
                   SK_ARRAY_LEN(k_seeds_vlf), 20);
    replay_builtin("lora builtin", fuzz_lora_config_entry, k_seeds_lora,
                   SK_ARRAY_LEN(k_seeds_lora), 30);
    SK_TEST_CHECK(files >= 3, "corpus files: %d", files);
    printf("%llu fuzz inputs replayed (%d corpus files)\n", (unsigned long long)g_runs, files);
    return sk_test_result("test_fuzz_replay_train");
}
