/* safetensors reader: the golden tiny-a checkpoint, synthetic files with known contents, sharded
 * folders, and hostile files that must fail with SILKIE_ERR_BAD_FILE (or UNSUPPORTED) and a
 * message, never crash. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "model/model.h"

/* u64 header length, JSON padded with spaces to 8 bytes, data. malloc'd. */
static uint8_t *st_build(const char *json, const void *data, size_t dlen, size_t *size)
{
    size_t jl = strlen(json), pad = (8 - jl % 8) % 8;
    size_t n = 8 + jl + pad + dlen;
    uint8_t *b = malloc(n + 1);
    uint64_t hl = jl + pad;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(hl >> (8 * i));
    memcpy(b + 8, json, jl);
    memset(b + 8 + jl, ' ', pad);
    if (dlen) memcpy(b + 8 + jl + pad, data, dlen);
    *size = n;
    return b;
}

static silkie_status parse(const char *json, const void *data, size_t dlen)
{
    size_t n;
    uint8_t *b = st_build(json, data, dlen, &n);
    silkie_weights *w = NULL;
    silkie_status st = silkie_weights_from_safetensors(b, n, "t.safetensors", &w);
    SK_TEST_CHECK((st == SILKIE_OK) == (w != NULL), "out set iff ok");
    silkie_weights_close(w);
    free(b);
    return st;
}

static void expect_fail(const char *json, const void *data, size_t dlen, silkie_status want,
                        const char *needle)
{
    silkie_status st = parse(json, data, dlen);
    SK_TEST_CHECK(st == want, "%s: got %s (%s), want %s", json, silkie_status_name(st),
                  silkie_last_error(), silkie_status_name(want));
    SK_TEST_CHECK(!needle || strstr(silkie_last_error(), needle), "message '%s' lacks '%s'",
                  silkie_last_error(), needle);
}

static const float k_vals[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.0f};

static void test_good(void)
{
    uint8_t data[24 + 8 + 4 + 1] = {0};
    memcpy(data, k_vals, 24);
    const int64_t big = -5;
    memcpy(data + 24, &big, 8);
    const uint16_t h[2] = {silkie_f32_to_bf16(2.5f), silkie_f32_to_bf16(-1.0f)};
    memcpy(data + 32, h, 4);
    const char *json =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[24,32]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[32,36]},"
        "\"e\":{\"dtype\":\"F16\",\"shape\":[0,4],\"data_offsets\":[36,36]},"
        "\"s\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[36,37]}}";
    size_t n;
    uint8_t *b = st_build(json, data, sizeof data, &n);
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_from_safetensors(b, n, "good", &w));
    if (w) {
        SK_TEST_CHECK(silkie_weights_count(w) == 5, "count %u", silkie_weights_count(w));
        const silkie_weight *a = silkie_weights_find(w, "a");
        SK_TEST_CHECK(a && a->dtype == SILKIE_DTYPE_F32 && a->n_dims == 2 && a->shape[0] == 2 &&
                          a->shape[1] == 3 && a->nbytes == 24 &&
                          memcmp(a->data, k_vals, 24) == 0, "tensor a");
        const silkie_weight *bb = silkie_weights_find(w, "b");
        SK_TEST_CHECK(bb && bb->dtype == SILKIE_DTYPE_I64 && *(const int64_t *)bb->data == -5,
                      "tensor b");
        const silkie_weight *c = silkie_weights_find(w, "c");
        SK_TEST_CHECK(c && c->dtype == SILKIE_DTYPE_BF16 &&
                          silkie_bf16_to_f32(((const uint16_t *)c->data)[1]) == -1.0f, "tensor c");
        const silkie_weight *e = silkie_weights_find(w, "e");
        SK_TEST_CHECK(e && e->nbytes == 0 && e->shape[0] == 0 && e->shape[1] == 4, "tensor e");
        const silkie_weight *s = silkie_weights_find(w, "s");
        SK_TEST_CHECK(s && s->n_dims == 0 && s->nbytes == 1, "scalar s");
        SK_TEST_CHECK(silkie_weights_find(w, "zz") == NULL, "absent");
        const silkie_weight *g = NULL;
        SK_TEST_STATUS(silkie_weights_get(w, "zz", &g), SILKIE_ERR_BAD_MODEL);
        SK_TEST_CHECK(strstr(silkie_last_error(), "'zz'") != NULL, "message names it");
        SK_TEST_CHECK(silkie_weights_format_of(w) == SILKIE_WEIGHTS_SAFETENSORS, "format");
    }
    silkie_weights_close(w);
    /* Every truncation of a valid file fails: the data area ends with the last tensor. */
    for (size_t cut = 0; cut < n; cut++) {
        silkie_weights *t = NULL;
        silkie_status st = silkie_weights_from_safetensors(b, cut, "cut", &t);
        SK_TEST_CHECK(st == SILKIE_ERR_BAD_FILE && t == NULL && silkie_last_error()[0],
                      "truncated at %zu: %s", cut, silkie_status_name(st));
        silkie_weights_close(t);
    }
    free(b);
}

static void test_hostile(void)
{
    float d[8] = {0};
    /* header length field: huge, beyond file, zero */
    uint8_t raw[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    silkie_weights *w = NULL;
    SK_TEST_STATUS(silkie_weights_from_safetensors(raw, sizeof raw, "huge", &w),
                   SILKIE_ERR_BAD_FILE);
    raw[0] = 9; memset(raw + 1, 0, 7);
    SK_TEST_STATUS(silkie_weights_from_safetensors(raw, sizeof raw, "past", &w),
                   SILKIE_ERR_BAD_FILE);
    raw[0] = 0;
    SK_TEST_STATUS(silkie_weights_from_safetensors(raw, sizeof raw, "zero", &w),
                   SILKIE_ERR_BAD_FILE);
    SK_TEST_STATUS(silkie_weights_from_safetensors(raw, 3, "short", &w), SILKIE_ERR_BAD_FILE);
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", d, 8,
                SILKIE_ERR_BAD_FILE, "JSON");
    expect_fail("[1,2]", d, 8, SILKIE_ERR_BAD_FILE, NULL);
    expect_fail(" {\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", d, 8,
                SILKIE_OK, NULL); /* leading whitespace is valid JSON */
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", d, 8,
                SILKIE_ERR_BAD_FILE, "junk");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,64]}}", d, 32,
                SILKIE_ERR_BAD_FILE, "'a'");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", d, 32,
                SILKIE_ERR_BAD_FILE, "needs 12");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", d, 32,
                SILKIE_ERR_BAD_FILE, "'a'");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", d, 32,
                SILKIE_ERR_BAD_FILE, "overlap");
    /* A long tensor covering a later, non-adjacent one. */
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", d, 32,
                SILKIE_ERR_BAD_FILE, "overlap");
    {
        /* Packed writers leave tensors misaligned: they load as aligned copies. */
        uint8_t md[16] = {0};
        const float v = 6.5f;
        const int64_t iv = -9;
        memcpy(md + 2, &v, 4);
        memcpy(md + 6, &iv, 8);
        size_t n;
        uint8_t *b = st_build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]},"
                              "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[6,14]}}",
                              md, sizeof md, &n);
        silkie_weights *w = NULL;
        SK_TEST_OK(silkie_weights_from_safetensors(b, n, "misaligned.safetensors", &w));
        const silkie_weight *a = w ? silkie_weights_find(w, "a") : NULL;
        const silkie_weight *bw = w ? silkie_weights_find(w, "b") : NULL;
        SK_TEST_CHECK(a && (uintptr_t)a->data % 4 == 0 && *(const float *)a->data == v,
                      "misaligned f32 copied");
        SK_TEST_CHECK(bw && (uintptr_t)bw->data % 8 == 0 && *(const int64_t *)bw->data == iv,
                      "misaligned i64 copied");
        silkie_weights_close(w);
        free(b);
    }
    expect_fail("{\"a\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,4]}}", d, 32,
                SILKIE_ERR_UNSUPPORTED, "'Q9'");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", d, 32,
                SILKIE_ERR_BAD_FILE, "shape");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", d, 32,
                SILKIE_ERR_BAD_FILE, "shape");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                "\"data_offsets\":[0,4]}}", d, 32, SILKIE_ERR_BAD_FILE, "overflow");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                "\"data_offsets\":[0,4]}}", d, 32, SILKIE_ERR_UNSUPPORTED, "dims");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", d, 32, SILKIE_ERR_BAD_FILE,
                "data_offsets");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", d, 32,
                SILKIE_ERR_BAD_FILE, "duplicate");
    expect_fail("{\"a\":7}", d, 32, SILKIE_ERR_BAD_FILE, "'a'");
    expect_fail("{\"__metadata__\":3}", d, 32, SILKIE_ERR_BAD_FILE, "__metadata__");
    expect_fail("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", d, 32,
                SILKIE_ERR_BAD_FILE, "name");
}

static void test_golden(void)
{
    const char *shared = sk_shared_dir();
    if (!shared) {
        fprintf(stderr, "shared folder missing: golden part skipped\n");
        return;
    }
    char dir[1024], file[1100];
    snprintf(dir, sizeof dir, "%s/golden/tiny-a/model", shared);
    snprintf(file, sizeof file, "%s/model.safetensors", dir);
    silkie_weights *w = NULL, *w2 = NULL;
    SK_TEST_OK(silkie_weights_open(dir, &w));
    SK_TEST_OK(silkie_weights_open(file, &w2));
    if (w && w2) {
        SK_TEST_CHECK(silkie_weights_count(w) == 61, "tiny-a has 61 tensors, got %u",
                      silkie_weights_count(w));
        const silkie_weight *t = silkie_weights_find(w, "transformer.visual.conv1.weight");
        SK_TEST_CHECK(t && t->n_dims == 4 && t->shape[0] == 48 && t->shape[1] == 3 &&
                          t->shape[2] == 14 && t->shape[3] == 14 && t->dtype == SILKIE_DTYPE_BF16
                          && t->nbytes == 48 * 3 * 14 * 14 * 2, "conv1");
        /* Zero-copy: the view's bytes are the file's bytes at the declared place. */
        size_t fsz = 0;
        uint8_t *raw = sk_read_file(file, &fsz);
        const silkie_weight *a = silkie_weights_find(w, "transformer.ln_f.weight");
        const silkie_weight *b = silkie_weights_find(w2, "transformer.ln_f.weight");
        SK_TEST_CHECK(raw && a && b && a->nbytes == 256 && memcmp(a->data, b->data, 256) == 0,
                      "same bytes through folder and file");
        bool found = false;
        for (size_t o = 0; raw && a && o + 256 <= fsz && !found; o += 2)
            found = memcmp(raw + o, a->data, 256) == 0;
        SK_TEST_CHECK(found, "ln_f bytes present in the file");
        silkie_free(raw);
        silkie_model_config cfg;
        SK_TEST_OK(silkie_model_config_load(dir, &cfg, NULL));
        SK_TEST_OK(silkie_weights_check_qwen_vl(w, &cfg));
        cfg.visual.mlp_width++;
        SK_TEST_STATUS(silkie_weights_check_qwen_vl(w, &cfg), SILKIE_ERR_BAD_MODEL);
        SK_TEST_CHECK(strstr(silkie_last_error(), "resblocks.0.mlp.c_fc.weight"),
                      "names the tensor: %s", silkie_last_error());
        cfg.visual.mlp_width--;
        cfg.n_layers = 3;
        SK_TEST_STATUS(silkie_weights_check_qwen_vl(w, &cfg), SILKIE_ERR_BAD_MODEL);
        SK_TEST_CHECK(strstr(silkie_last_error(), "transformer.h.2.ln_1.weight' is missing"),
                      "names the missing tensor: %s", silkie_last_error());
    }
    silkie_weights_close(w);
    silkie_weights_close(w2);
    /* The LoRA adapter folder is found through adapter_model.safetensors. */
    snprintf(dir, sizeof dir, "%s/golden/tiny-a/lora", shared);
    SK_TEST_OK(silkie_weights_open(dir, &w));
    SK_TEST_CHECK(w && silkie_weights_find(w, "base_model.model.transformer.h.0.attn.c_attn."
                                              "lora_A.weight"), "lora tensor");
    silkie_weights_close(w);
}

static void test_sharded(void)
{
    const char *dir = "st_sharded.tmp";
    mkdir(dir, 0755);
    size_t n1, n2;
    uint8_t *s1 = st_build("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                           k_vals, 8, &n1);
    uint8_t *s2 = st_build("{\"y\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                           "\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
                           k_vals + 2, 16, &n2);
    char p[256];
    snprintf(p, sizeof p, "%s/a.safetensors", dir);
    sk_write_file(p, s1, n1);
    snprintf(p, sizeof p, "%s/b.safetensors", dir);
    sk_write_file(p, s2, n2);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    const char *idx = "{\"metadata\":{\"total_size\":24},\"weight_map\":{\"x\":\"a.safetensors\","
                      "\"y\":\"b.safetensors\",\"z\":\"b.safetensors\"}}";
    sk_write_file(p, idx, strlen(idx));
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_open(dir, &w));
    if (w) {
        const silkie_weight *y = silkie_weights_find(w, "y");
        SK_TEST_CHECK(silkie_weights_count(w) == 3 && y && y->file == 1 &&
                          memcmp(y->data, k_vals + 2, 12) == 0, "sharded view");
    }
    silkie_weights_close(w);
    const char *bad[] = {
        ("{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"a.safetensors\","
         "\"z\":\"b.safetensors\"}}"),
        "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\"}}",
        "{\"weight_map\":{\"x\":\"../a.safetensors\"}}",
        ("{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\","
         "\"z\":\"b.safetensors\",\"q\":\"b.safetensors\"}}"),
        "{\"weight_map\":{}}",
        "{\"weight_map\":[1]}",
        "{\"weight_map\":{\"x\":\"missing.safetensors\"}}",
        "not json",
    };
    const silkie_status want[] = {SILKIE_ERR_BAD_FILE, SILKIE_ERR_BAD_FILE, SILKIE_ERR_BAD_FILE,
                                  SILKIE_ERR_BAD_FILE, SILKIE_ERR_BAD_FILE, SILKIE_ERR_BAD_FILE,
                                  SILKIE_ERR_IO, SILKIE_ERR_BAD_FILE};
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++) {
        sk_write_file(p, bad[i], strlen(bad[i]));
        w = NULL;
        silkie_status st = silkie_weights_open(dir, &w);
        SK_TEST_CHECK(st == want[i] && !w && silkie_last_error()[0], "bad index %zu: %s (%s)", i,
                      silkie_status_name(st), silkie_last_error());
        silkie_weights_close(w);
    }
    SK_TEST_STATUS(silkie_weights_open("no/such/path", &w), SILKIE_ERR_IO);
    SK_TEST_STATUS(silkie_weights_open(NULL, &w), SILKIE_ERR_INVALID_ARGUMENT);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/a.safetensors", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/b.safetensors", dir);
    remove(p);
    rmdir(dir);
    free(s1);
    free(s2);
}

int main(void)
{
    int64_t live = silkie_alloc_live();
    test_good();
    test_hostile();
    test_golden();
    test_sharded();
    SK_TEST_CHECK(silkie_alloc_live() == live, "leak: %lld live allocations",
                  (long long)(silkie_alloc_live() - live));
    return sk_test_result("test_safetensors");
}
