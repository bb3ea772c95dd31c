/* Shared helpers of the text tests: reference files, JSON and safetensors reading. */
#include <stdlib.h>

#include "test_text.h"

const char *tt_shared_path(const char *rel)
{
    static char buf[4096];
    const char *d = sk_shared_dir();
    if (!d) return NULL;
    snprintf(buf, sizeof buf, "%s/%s", d, rel);
    return buf;
}

silkie_tokenizer *tt_load_vocab(void)
{
    const char *p = tt_shared_path("spec/qwen.tiktoken");
    if (!p) {
        fprintf(stderr, "no shared reference folder\n");
        return NULL;
    }
    silkie_tokenizer *t = NULL;
    SK_TEST_OK(silkie_tokenizer_load(p, &t));
    return t;
}

cJSON *tt_read_json(const char *path)
{
    size_t n;
    char *d = path ? sk_read_file(path, &n) : NULL;
    if (!d) return NULL;
    cJSON *j = cJSON_ParseWithLength(d, n);
    silkie_free(d);
    return j;
}

static void print_ids(const char *label, const int32_t *a, const int64_t *b, const cJSON *c,
                      size_t n)
{
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 400; i++) {
        long long v = a ? a[i] : b ? b[i] : (long long)cJSON_GetArrayItem(c, (int)i)->valuedouble;
        fprintf(stderr, " %lld", v);
    }
    fprintf(stderr, "\n");
}

int tt_ids_match_json(const char *what, const int32_t *ids, size_t n, const cJSON *want)
{
    size_t nw = (size_t)cJSON_GetArraySize(want);
    int ok = nw == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = (double)ids[i] == cJSON_GetArrayItem(want, (int)i)->valuedouble;
    SK_TEST_CHECK(ok, "%s: ids differ", what);
    if (!ok) {
        print_ids("got ", ids, NULL, NULL, n);
        print_ids("want", NULL, NULL, want, nw);
    }
    return ok;
}

int tt_ids_match(const char *what, const int32_t *ids, size_t n, const int64_t *want, size_t nw)
{
    int ok = nw == n;
    for (size_t i = 0; ok && i < n; i++) ok = ids[i] == want[i];
    SK_TEST_CHECK(ok, "%s: ids differ", what);
    if (!ok) {
        print_ids("got ", ids, NULL, NULL, n);
        print_ids("want", NULL, want, NULL, nw);
    }
    return ok;
}

int64_t *tt_safetensors_i64(const char *path, const char *name, size_t *n)
{
    size_t size;
    uint8_t *d = path ? sk_read_file(path, &size) : NULL;
    if (!d) return NULL;
    int64_t *out = NULL;
    uint64_t hn = 0;
    if (size >= 8) memcpy(&hn, d, 8); /* little-endian hosts only, like the test machines */
    cJSON *h = hn && hn <= size - 8 ? cJSON_ParseWithLength((const char *)d + 8, hn) : NULL;
    cJSON *e = h ? cJSON_GetObjectItemCaseSensitive(h, name) : NULL;
    cJSON *dt = e ? cJSON_GetObjectItemCaseSensitive(e, "dtype") : NULL;
    cJSON *off = e ? cJSON_GetObjectItemCaseSensitive(e, "data_offsets") : NULL;
    if (cJSON_IsString(dt) && !strcmp(dt->valuestring, "I64") && cJSON_GetArraySize(off) == 2) {
        size_t a = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
        size_t b = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
        if (a <= b && 8 + hn + b <= size && (b - a) % 8 == 0) {
            out = silkie_malloc(b - a + 8);
            if (out) {
                memcpy(out, d + 8 + hn + a, b - a);
                *n = (b - a) / 8;
            }
        }
    }
    cJSON_Delete(h);
    silkie_free(d);
    return out;
}

silkie_token_list *tt_encode(const silkie_tokenizer *t, const char *text, size_t len,
                             silkie_specials mode, uint32_t n_queries)
{
    silkie_encode_params p;
    silkie_encode_params_init(&p);
    p.specials = mode;
    p.n_queries = n_queries;
    silkie_token_list *l = NULL;
    SK_TEST_OK(silkie_tokenizer_encode(t, text, len, &p, &l));
    return l;
}
