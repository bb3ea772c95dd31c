/* GGUF: writer -> reader round trip (all metadata types, all tensor types), byte-identical
 * rewrite, hostile files, quantizer round trips, HF <-> GGUF names, and the Qwen-VL converter
 * on the tiny-a checkpoint (de-interleaved ViT q/k/v, resampler thirds, transposed proj). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model/model.h"
#include "ref/ref.h"

static bool files_equal(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    uint8_t *x = sk_read_file(a, &na), *y = sk_read_file(b, &nb);
    bool eq = x && y && na == nb && memcmp(x, y, na) == 0;
    silkie_free(x);
    silkie_free(y);
    return eq;
}

#define NT 6
static const silkie_dtype k_types[NT] = {SILKIE_DTYPE_F32, SILKIE_DTYPE_F16, SILKIE_DTYPE_BF16,
                                         SILKIE_DTYPE_Q8_0, SILKIE_DTYPE_Q4_0, SILKIE_DTYPE_I32};
static const char *k_names[NT] = {"t.f32", "t.f16", "t.bf16", "t.q8", "t.q4", "t.i32"};

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    sk_rng r;
    sk_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)sk_rng_u32(&r);
}

static silkie_status write_sample(const char *path, uint32_t align, uint8_t *data[NT],
                                  size_t bytes[NT])
{
    silkie_gguf_writer *w = NULL;
    SK_CHECK(silkie_gguf_writer_create(path, align, &w));
    const float farr[3] = {1.0f, -2.5f, 3.0f};
    const int64_t iarr[2] = {-1, 1LL << 40};
    const char *sarr[3] = {"a", "", "hello world"};
    silkie_status st = SILKIE_OK;
#define W(x) if (st == SILKIE_OK) st = (x)
    W(silkie_gguf_writer_add_str(w, "general.architecture", "test"));
    W(silkie_gguf_writer_add_u32(w, "k.u32", 4000000000u));
    W(silkie_gguf_writer_add_i32(w, "k.i32", -7));
    W(silkie_gguf_writer_add_u64(w, "k.u64", 1ULL << 60));
    W(silkie_gguf_writer_add_f32(w, "k.f32", 0.25f));
    W(silkie_gguf_writer_add_bool(w, "k.bool", true));
    W(silkie_gguf_writer_add_arr(w, "k.arr_f32", SILKIE_GGUF_F32, farr, 3));
    W(silkie_gguf_writer_add_arr(w, "k.arr_i64", SILKIE_GGUF_I64, iarr, 2));
    W(silkie_gguf_writer_add_arr(w, "k.arr_empty", SILKIE_GGUF_U8, NULL, 0));
    W(silkie_gguf_writer_add_arr_str(w, "k.arr_str", sarr, NULL, 3));
    const uint64_t shapes[NT][2] = {{3, 5}, {2, 7}, {4, 1}, {3, 64}, {2, 32}, {9, 1}};
    for (int i = 0; i < NT; i++) {
        W(silkie_gguf_writer_add_tensor(w, k_names[i], k_types[i], 2, shapes[i]));
        uint64_t row = silkie_ref_row_bytes(k_types[i], shapes[i][1]);
        bytes[i] = (size_t)(row * shapes[i][0]);
    }
    for (int i = 0; i < NT; i++) {
        data[i] = malloc(bytes[i]);
        fill(data[i], bytes[i], 100 + (uint32_t)i);
        /* Finite values in the float tensors keep comparisons meaningful; bits are what count. */
        W(silkie_gguf_writer_write(w, data[i], 3 < bytes[i] ? 3 : bytes[i]));
        if (bytes[i] > 3) W(silkie_gguf_writer_write(w, data[i] + 3, bytes[i] - 3));
    }
#undef W
    if (st != SILKIE_OK) {
        silkie_gguf_writer_destroy(w);
        return st;
    }
    return silkie_gguf_writer_finish(w);
}

static void check_sample(const silkie_weights *v, uint32_t align, uint8_t *data[NT],
                         size_t bytes[NT])
{
    const silkie_gguf *g = silkie_weights_gguf(v);
    SK_TEST_CHECK(g && silkie_gguf_version(g) == 3 && silkie_gguf_alignment(g) == align, "header");
    if (!g) return;
    uint32_t u32;
    uint64_t u64;
    float f;
    bool b;
    const char *s;
    size_t n;
    SK_TEST_OK(silkie_gguf_get_u32(g, "k.u32", &u32));
    SK_TEST_CHECK(u32 == 4000000000u, "u32");
    SK_TEST_OK(silkie_gguf_get_u64(g, "k.u64", &u64));
    SK_TEST_CHECK(u64 == 1ULL << 60, "u64");
    SK_TEST_STATUS(silkie_gguf_get_u32(g, "k.u64", &u32), SILKIE_ERR_BAD_MODEL);
    SK_TEST_STATUS(silkie_gguf_get_u32(g, "k.i32", &u32), SILKIE_ERR_BAD_MODEL);
    SK_TEST_CHECK(silkie_gguf_find_kv(g, "k.i32")->v.i == -7, "i32");
    SK_TEST_OK(silkie_gguf_get_f32(g, "k.f32", &f));
    SK_TEST_CHECK(f == 0.25f, "f32");
    SK_TEST_OK(silkie_gguf_get_bool(g, "k.bool", &b));
    SK_TEST_CHECK(b, "bool");
    SK_TEST_OK(silkie_gguf_get_str(g, "general.architecture", &s, &n));
    SK_TEST_CHECK(n == 4 && memcmp(s, "test", 4) == 0, "str");
    SK_TEST_STATUS(silkie_gguf_get_str(g, "missing.key", &s, &n), SILKIE_ERR_BAD_MODEL);
    SK_TEST_CHECK(strstr(silkie_last_error(), "missing.key"), "names the key");
    const silkie_gguf_kv *a = silkie_gguf_find_kv(g, "k.arr_f32");
    float fa[3];
    if (a) memcpy(fa, a->data, 12);
    SK_TEST_CHECK(a && a->type == SILKIE_GGUF_ARRAY && a->arr_type == SILKIE_GGUF_F32 &&
                      a->n == 3 && fa[1] == -2.5f, "arr f32");
    a = silkie_gguf_find_kv(g, "k.arr_i64");
    int64_t ia[2];
    if (a) memcpy(ia, a->data, 16);
    SK_TEST_CHECK(a && a->n == 2 && ia[0] == -1 && ia[1] == 1LL << 40, "arr i64");
    a = silkie_gguf_find_kv(g, "k.arr_empty");
    SK_TEST_CHECK(a && a->n == 0 && a->arr_type == SILKIE_GGUF_U8, "empty array");
    a = silkie_gguf_find_kv(g, "k.arr_str");
    SK_TEST_CHECK(a && a->n == 3, "arr str");
    if (a) {
        SK_TEST_OK(silkie_gguf_arr_str(a, 2, &s, &n));
        SK_TEST_CHECK(n == 11 && memcmp(s, "hello world", 11) == 0, "arr str 2");
        SK_TEST_OK(silkie_gguf_arr_str(a, 1, &s, &n));
        SK_TEST_CHECK(n == 0, "arr str 1");
        SK_TEST_STATUS(silkie_gguf_arr_str(a, 3, &s, &n), SILKIE_ERR_INVALID_ARGUMENT);
    }
    SK_TEST_CHECK(silkie_weights_count(v) == NT, "tensor count");
    for (int i = 0; i < NT; i++) {
        const silkie_weight *t = silkie_weights_find(v, k_names[i]);
        SK_TEST_CHECK(t && t->dtype == k_types[i] && t->n_dims == 2 && t->nbytes == bytes[i] &&
                          memcmp(t->data, data[i], bytes[i]) == 0, "tensor %s", k_names[i]);
        SK_TEST_CHECK(t && (uintptr_t)t->data % align == 0, "tensor %s aligned", k_names[i]);
    }
    const silkie_weight *q = silkie_weights_find(v, "t.q8");
    SK_TEST_CHECK(q && q->shape[0] == 3 && q->shape[1] == 64, "PyTorch-order shape");
}

static void rewrite(const silkie_weights *v, const char *path, uint32_t align)
{
    const silkie_gguf *g = silkie_weights_gguf(v);
    silkie_gguf_writer *w = NULL;
    SK_TEST_OK(silkie_gguf_writer_create(path, align, &w));
    for (uint64_t i = 0; w && i < silkie_gguf_n_kv(g); i++)
        SK_TEST_OK(silkie_gguf_writer_add_kv(w, silkie_gguf_kv_at(g, i)));
    for (uint32_t i = 0; w && i < silkie_weights_count(v); i++) {
        const silkie_weight *t = silkie_weights_at(v, i);
        SK_TEST_OK(silkie_gguf_writer_add_tensor(w, t->name, t->dtype, t->n_dims, t->shape));
    }
    for (uint32_t i = 0; w && i < silkie_weights_count(v); i++) {
        const silkie_weight *t = silkie_weights_at(v, i);
        SK_TEST_OK(silkie_gguf_writer_write(w, t->data, t->nbytes));
    }
    if (w) SK_TEST_OK(silkie_gguf_writer_finish(w));
}

static void test_roundtrip(void)
{
    const uint32_t aligns[2] = {32, 64};
    for (int k = 0; k < 2; k++) {
        uint8_t *data[NT] = {0};
        size_t bytes[NT];
        const char *p1 = "gguf_rt1.gguf", *p2 = "gguf_rt2.gguf";
        SK_TEST_OK(write_sample(p1, aligns[k], data, bytes));
        silkie_weights *v = NULL;
        SK_TEST_OK(silkie_weights_open(p1, &v));
        if (v) {
            check_sample(v, aligns[k], data, bytes);
            rewrite(v, p2, aligns[k]);
            SK_TEST_CHECK(files_equal(p1, p2), "rewrite is byte-identical (align %u)", aligns[k]);
        }
        /* Every truncation that cuts into the last tensor's data (the trailing padding is under
         * 64 bytes) fails. */
        size_t n = 0;
        uint8_t *b = sk_read_file(p1, &n);
        silkie_weights_close(v);
        for (size_t cut = 0; b && cut + 64 < n; cut++) {
            silkie_weights *t = NULL;
            silkie_status st = silkie_weights_from_gguf(b, cut, "cut", &t);
            SK_TEST_CHECK(st == SILKIE_ERR_BAD_FILE && !t, "cut at %zu/%zu: %s", cut, n,
                          silkie_status_name(st));
            silkie_weights_close(t);
        }
        silkie_free(b);
        remove(p1);
        remove(p2);
        for (int i = 0; i < NT; i++) free(data[i]);
    }
}

/* ---- hostile files ------------------------------------------------------------------------ */

typedef struct gb {
    uint8_t b[4096];
    size_t n;
} gb;

static void gb_u32(gb *g, uint32_t v)
{
    for (int i = 0; i < 4; i++) g->b[g->n++] = (uint8_t)(v >> (8 * i));
}
static void gb_u64(gb *g, uint64_t v)
{
    for (int i = 0; i < 8; i++) g->b[g->n++] = (uint8_t)(v >> (8 * i));
}
static void gb_str(gb *g, const char *s)
{
    gb_u64(g, strlen(s));
    memcpy(g->b + g->n, s, strlen(s));
    g->n += strlen(s);
}
static void gb_head(gb *g, uint32_t ver, uint64_t nt, uint64_t nkv)
{
    g->n = 0;
    memcpy(g->b, "GGUF", 4);
    g->n = 4;
    gb_u32(g, ver);
    gb_u64(g, nt);
    gb_u64(g, nkv);
}
static void gb_tensor(gb *g, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type,
                      uint64_t off)
{
    gb_str(g, name);
    gb_u32(g, nd);
    for (uint32_t d = 0; d < nd; d++) gb_u64(g, ne[d]);
    gb_u32(g, type);
    gb_u64(g, off);
}
static void gb_data(gb *g, size_t n)
{
    while (g->n % 32) g->b[g->n++] = 0;
    memset(g->b + g->n, 0x3c, n);
    g->n += n;
}

static void expect_gguf(const gb *g, silkie_status want, const char *needle, const char *what)
{
    uint8_t *b = malloc(g->n ? g->n : 1);
    memcpy(b, g->b, g->n);
    silkie_weights *w = NULL;
    silkie_status st = silkie_weights_from_gguf(b, g->n, "h.gguf", &w);
    SK_TEST_CHECK(st == want && (st == SILKIE_OK) == (w != NULL), "%s: got %s (%s), want %s",
                  what, silkie_status_name(st), silkie_last_error(), silkie_status_name(want));
    SK_TEST_CHECK(!needle || strstr(silkie_last_error(), needle), "%s: '%s' lacks '%s'", what,
                  silkie_last_error(), needle);
    silkie_weights_close(w);
    free(b);
}

static void test_hostile(void)
{
    const uint64_t ne8[1] = {8};
    gb g;
    gb_head(&g, 3, 1, 1);
    gb_str(&g, "a"); gb_u32(&g, SILKIE_GGUF_U32); gb_u32(&g, 1);
    gb_tensor(&g, "t", 1, ne8, 0, 0);
    gb_data(&g, 32);
    expect_gguf(&g, SILKIE_OK, NULL, "valid");
    g.b[0] = 'X';
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, "magic", "magic");
    gb_head(&g, 1, 0, 0);
    expect_gguf(&g, SILKIE_ERR_UNSUPPORTED, "version", "version 1");
    gb_head(&g, 3, 0, 1ULL << 40);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, NULL, "huge kv count");
    gb_head(&g, 3, 1ULL << 40, 0);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, NULL, "huge tensor count");
    gb_head(&g, 3, 0, 1);
    gb_u64(&g, 1ULL << 62); gb_u32(&g, 0);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, NULL, "huge key length");
    gb_head(&g, 3, 0, 1);
    gb_str(&g, "a"); gb_u32(&g, 13); gb_u32(&g, 0);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, "type 13", "kv type");
    gb_head(&g, 3, 0, 1);
    gb_str(&g, "a"); gb_u32(&g, SILKIE_GGUF_ARRAY); gb_u32(&g, SILKIE_GGUF_ARRAY); gb_u64(&g, 1);
    expect_gguf(&g, SILKIE_ERR_UNSUPPORTED, "array of arrays", "nested array");
    gb_head(&g, 3, 0, 1);
    gb_str(&g, "a"); gb_u32(&g, SILKIE_GGUF_ARRAY); gb_u32(&g, SILKIE_GGUF_STRING);
    gb_u64(&g, 1ULL << 61);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, NULL, "string array count");
    gb_head(&g, 3, 0, 1);
    gb_str(&g, "a"); gb_u32(&g, SILKIE_GGUF_ARRAY); gb_u32(&g, SILKIE_GGUF_U64);
    gb_u64(&g, 1ULL << 61);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, NULL, "numeric array overflow");
    gb_head(&g, 3, 0, 2);
    gb_str(&g, "a"); gb_u32(&g, SILKIE_GGUF_U8); g.b[g.n++] = 1;
    gb_str(&g, "a"); gb_u32(&g, SILKIE_GGUF_U8); g.b[g.n++] = 1;
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, "duplicate", "duplicate key");
    gb_head(&g, 3, 0, 1);
    gb_str(&g, "general.alignment"); gb_u32(&g, SILKIE_GGUF_U32); gb_u32(&g, 24);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, "alignment", "alignment not a power of two");
    gb_head(&g, 3, 0, 1);
    gb_str(&g, "general.alignment"); gb_u32(&g, SILKIE_GGUF_U64); gb_u64(&g, 32);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, "alignment", "alignment type");
    struct {
        uint32_t nd;
        uint64_t ne[5];
        uint32_t type;
        uint64_t off;
        silkie_status want;
        const char *needle;
    } tc[] = {
        {1, {8}, 12, 0, SILKIE_ERR_UNSUPPORTED, "Q4_K"},
        {1, {8}, 99, 0, SILKIE_ERR_UNSUPPORTED, "type 99"},
        {5, {1, 1, 1, 1, 8}, 0, 0, SILKIE_ERR_BAD_FILE, "dims"},
        {0, {0}, 0, 0, SILKIE_ERR_BAD_FILE, "dims"},
        {1, {8}, 0, 16, SILKIE_ERR_BAD_FILE, "alignment"},
        {1, {8}, 0, 64, SILKIE_ERR_BAD_FILE, "outside"},
        {1, {16}, 0, 0, SILKIE_ERR_BAD_FILE, "outside"},
        {1, {16}, 8, 0, SILKIE_ERR_BAD_FILE, "blocks"},
        {2, {1ULL << 40, 1ULL << 40}, 0, 0, SILKIE_ERR_BAD_FILE, "overflow"},
        {4, {1ULL << 20, 1ULL << 20, 1ULL << 20, 1ULL << 20}, 24, 0, SILKIE_ERR_BAD_FILE, NULL},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(tc); i++) {
        gb_head(&g, 3, 1, 0);
        gb_tensor(&g, "t", tc[i].nd, tc[i].ne, tc[i].type, tc[i].off);
        gb_data(&g, 32);
        char what[32];
        snprintf(what, sizeof what, "tensor case %zu", i);
        expect_gguf(&g, tc[i].want, tc[i].needle, what);
    }
    gb_head(&g, 3, 2, 0);
    gb_tensor(&g, "t", 1, ne8, 0, 0);
    gb_tensor(&g, "u", 1, ne8, 0, 0);
    gb_data(&g, 32);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, "overlap", "overlap");
    gb_head(&g, 3, 2, 0);
    gb_tensor(&g, "t", 1, ne8, 0, 0);
    gb_tensor(&g, "t", 1, ne8, 0, 32);
    gb_data(&g, 64);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, "duplicate", "duplicate tensor");
    gb_head(&g, 3, 1, 0);
    gb_tensor(&g, "", 1, ne8, 0, 0);
    gb_data(&g, 32);
    expect_gguf(&g, SILKIE_ERR_BAD_FILE, "name", "empty name");
    /* Many keys: the duplicate check must not be quadratic (it would take minutes here). */
    {
        const uint32_t nk = 100000;
        size_t cap = 24 + (size_t)nk * 24;
        uint8_t *big = malloc(cap);
        size_t o = 0;
        memcpy(big, "GGUF\3\0\0\0", 8);
        o = 8;
        for (int i = 0; i < 8; i++) big[o++] = 0;
        for (int i = 0; i < 8; i++) big[o++] = (uint8_t)((uint64_t)nk >> (8 * i));
        for (uint32_t k = 0; k < nk; k++) {
            char key[16];
            int kl = snprintf(key, sizeof key, "k%07u", k);
            for (int i = 0; i < 8; i++) big[o++] = (uint8_t)((uint64_t)kl >> (8 * i));
            memcpy(big + o, key, (size_t)kl);
            o += (size_t)kl;
            big[o++] = SILKIE_GGUF_U8; big[o++] = 0; big[o++] = 0; big[o++] = 0;
            big[o++] = (uint8_t)k;
        }
        silkie_weights *w = NULL;
        SK_TEST_OK(silkie_weights_from_gguf(big, o, "many.gguf", &w));
        SK_TEST_CHECK(w && silkie_gguf_n_kv(silkie_weights_gguf(w)) == nk, "100k keys");
        silkie_weights_close(w);
        memcpy(big + o - 13, "k0000000", 8); /* the last key now repeats the first */
        SK_TEST_STATUS(silkie_weights_from_gguf(big, o, "many.gguf", &w), SILKIE_ERR_BAD_FILE);
        free(big);
    }
    /* Writer misuse. */
    silkie_gguf_writer *w = NULL;
    SK_TEST_STATUS(silkie_gguf_writer_create("x.gguf", 24, &w), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_OK(silkie_gguf_writer_create("gguf_misuse.gguf", 0, &w));
    const uint64_t sh[2] = {2, 16};
    SK_TEST_STATUS(silkie_gguf_writer_add_tensor(w, "q", SILKIE_DTYPE_Q8_0, 2, sh),
                   SILKIE_ERR_INVALID_ARGUMENT);
    silkie_gguf_writer_destroy(w);
    SK_TEST_OK(silkie_gguf_writer_create("gguf_misuse.gguf", 0, &w));
    SK_TEST_OK(silkie_gguf_writer_add_u32(w, "k", 1));
    SK_TEST_STATUS(silkie_gguf_writer_add_u32(w, "k", 2), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_gguf_writer_destroy(w);
    SK_TEST_OK(silkie_gguf_writer_create("gguf_misuse.gguf", 0, &w));
    SK_TEST_OK(silkie_gguf_writer_add_tensor(w, "f", SILKIE_DTYPE_F32, 2, sh));
    float z[32] = {0};
    SK_TEST_OK(silkie_gguf_writer_write(w, z, 64));
    SK_TEST_STATUS(silkie_gguf_writer_add_u32(w, "late", 2), SILKIE_ERR_INVALID_ARGUMENT);
    silkie_gguf_writer_destroy(w);
    SK_TEST_OK(silkie_gguf_writer_create("gguf_misuse.gguf", 0, &w));
    SK_TEST_OK(silkie_gguf_writer_add_tensor(w, "f", SILKIE_DTYPE_F32, 2, sh));
    SK_TEST_OK(silkie_gguf_writer_write(w, z, 64));
    SK_TEST_STATUS(silkie_gguf_writer_finish(w), SILKIE_ERR_INVALID_ARGUMENT); /* 64 of 128 */
    SK_TEST_CHECK(fopen("gguf_misuse.gguf", "rb") == NULL, "no partial output file");
    DIR *d = opendir(".");
    for (struct dirent *e; d && (e = readdir(d));)
        SK_TEST_CHECK(!strstr(e->d_name, "gguf_misuse.gguf."), "temp file left: %s", e->d_name);
    if (d) closedir(d);
}

/* ---- quantizers ---------------------------------------------------------------------------- */

static void test_quant(void)
{
    enum { ROWS = 3, COLS = 96 };
    float x[ROWS * COLS], y[ROWS * COLS];
    sk_rng r;
    sk_rng_seed(&r, 1234);
    for (int i = 0; i < ROWS * COLS; i++) x[i] = sk_rng_normal(&r);
    x[5] = 0.0f;
    for (int k = 0; k < 32; k++) x[COLS + k] = 0.0f; /* an all-zero block */
    uint16_t bf[ROWS * COLS];
    silkie_ref_quantize_row(SILKIE_DTYPE_BF16, x, bf, ROWS * COLS);
    const silkie_dtype dst[2] = {SILKIE_DTYPE_Q8_0, SILKIE_DTYPE_Q4_0};
    const double bound[2] = {1e-4, 1.5e-2}; /* 8-bit and 4-bit block quantization of N(0,1) */
    for (int k = 0; k < 2; k++) {
        uint8_t q[ROWS * COLS * 2], q2[ROWS * COLS * 2];
        /* f32 source: must equal the reference quantizer bit for bit. */
        SK_TEST_OK(silkie_convert_rows(SILKIE_DTYPE_F32, x, dst[k], q, ROWS, COLS));
        silkie_ref_quantize_row(dst[k], x, q2, ROWS * COLS);
        SK_TEST_CHECK(memcmp(q, q2, silkie_ref_row_bytes(dst[k], ROWS * COLS)) == 0,
                      "%s: same blocks as the reference", silkie_dtype_name(dst[k]));
        silkie_ref_dequant_row(dst[k], q, y, ROWS * COLS);
        sk_check_close(silkie_dtype_name(dst[k]), x, y, ROWS * COLS, bound[k], 1e9, 1234);
        /* bf16 source goes through f32 exactly. */
        float xb[ROWS * COLS];
        silkie_ref_dequant_row(SILKIE_DTYPE_BF16, bf, xb, ROWS * COLS);
        SK_TEST_OK(silkie_convert_rows(SILKIE_DTYPE_BF16, bf, dst[k], q, ROWS, COLS));
        silkie_ref_quantize_row(dst[k], xb, q2, ROWS * COLS);
        SK_TEST_CHECK(memcmp(q, q2, silkie_ref_row_bytes(dst[k], ROWS * COLS)) == 0,
                      "bf16 -> %s", silkie_dtype_name(dst[k]));
        /* Re-quantizing dequantized blocks reproduces them (idempotent round trip). */
        silkie_ref_dequant_row(dst[k], q, y, ROWS * COLS);
        SK_TEST_OK(silkie_convert_rows(dst[k], q, dst[k], q2, ROWS, COLS));
        SK_TEST_CHECK(memcmp(q, q2, silkie_ref_row_bytes(dst[k], ROWS * COLS)) == 0,
                      "%s idempotent", silkie_dtype_name(dst[k]));
    }
    uint8_t q[ROWS * COLS * 2];
    SK_TEST_STATUS(silkie_convert_rows(SILKIE_DTYPE_F32, x, SILKIE_DTYPE_Q8_0, q, 1, 40),
                   SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_convert_rows(SILKIE_DTYPE_I32, x, SILKIE_DTYPE_F32, q, 1, 4),
                   SILKIE_ERR_INVALID_ARGUMENT);
}

/* ---- names ----------------------------------------------------------------------------------- */

static void test_names(void)
{
    static const struct {
        const char *hf, *g0, *g2;
        silkie_gguf_conv conv;
        silkie_gguf_part part;
    } cases[] = {
        {"transformer.wte.weight", "token_embd.weight", NULL, SILKIE_GGUF_CONV_COPY, 0},
        {"transformer.h.31.attn.c_attn.bias", "blk.31.attn_qkv.bias", NULL, 0, 0},
        {"transformer.h.0.mlp.w2.weight", "blk.0.ffn_gate.weight", NULL, 0, 0},
        {"transformer.h.7.mlp.w1.weight", "blk.7.ffn_up.weight", NULL, 0, 0},
        {"transformer.h.7.mlp.c_proj.weight", "blk.7.ffn_down.weight", NULL, 0, 0},
        {"lm_head.weight", "output.weight", NULL, 0, 0},
        {"transformer.visual.transformer.resblocks.47.attn.in_proj.weight",
         "v.blk.47.attn_q.weight", "v.blk.47.attn_v.weight", SILKIE_GGUF_CONV_QKV_HEADS, 1},
        {"transformer.visual.transformer.resblocks.3.mlp.c_fc.bias", "v.blk.3.ffn_up.bias", NULL,
         0, 1},
        {"transformer.visual.attn_pool.attn.in_proj_bias", "resampler.attn.q.bias",
         "resampler.attn.v.bias", SILKIE_GGUF_CONV_QKV_THIRDS, 1},
        {"transformer.visual.proj", "resampler.proj.weight", NULL, SILKIE_GGUF_CONV_TRANSPOSE, 1},
        {"transformer.visual.positional_embedding", "v.position_embd.weight", NULL, 0, 1},
        {"transformer.visual.ln_post.bias", "resampler.ln_post.bias", NULL, 0, 1},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char out[3][96];
        silkie_gguf_conv conv;
        silkie_gguf_part part;
        uint32_t n = silkie_gguf_name_from_hf(cases[i].hf, out, &conv, &part);
        SK_TEST_CHECK(n == (cases[i].g2 ? 3u : 1u) && strcmp(out[0], cases[i].g0) == 0 &&
                          (!cases[i].g2 || strcmp(out[2], cases[i].g2) == 0) &&
                          conv == cases[i].conv && part == cases[i].part,
                      "%s -> %s", cases[i].hf, n ? out[0] : "(none)");
        char back[128];
        bool one = !cases[i].g2;
        SK_TEST_CHECK(silkie_gguf_name_to_hf(cases[i].g0, back, sizeof back) == one &&
                          (!one || strcmp(back, cases[i].hf) == 0), "reverse %s", cases[i].g0);
    }
    const char *none[] = {"transformer.h.x.ln_1.weight", "transformer.h.01.ln_1.weight",
                          "transformer.h.1.ln_1.weightx", "transformer.visual.ln_pre.gamma",
                          "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", ""};
    for (size_t i = 0; i < SK_ARRAY_LEN(none); i++) {
        char out[3][96];
        SK_TEST_CHECK(silkie_gguf_name_from_hf(none[i], out, NULL, NULL) == 0, "'%s' maps",
                      none[i]);
    }
}

/* ---- converter on tiny-a -------------------------------------------------------------------- */

static float elem(const silkie_weight *t, uint64_t i)
{
    float f = 0.0f;
    if (t->dtype == SILKIE_DTYPE_F32) memcpy(&f, (const uint8_t *)t->data + 4 * i, 4);
    else silkie_ref_dequant_row(t->dtype, (const uint8_t *)t->data + 2 * i, &f, 1);
    return f;
}

/* Stands in for the model code's precomputed key table. */
static silkie_status extra_pos(void *user, silkie_gguf_writer *w, int phase)
{
    const uint64_t shape[2] = {64, 128};
    float *t = user;
    if (phase == 0) return silkie_gguf_writer_add_tensor(w, "resampler.pos_embed_k",
                                                         SILKIE_DTYPE_F32, 2, shape);
    for (int i = 0; i < 64 * 128; i++) t[i] = (float)i;
    return silkie_gguf_writer_write(w, t, 64 * 128 * sizeof(float));
}

static void test_convert(void)
{
    const char *shared = sk_shared_dir();
    if (!shared) {
        fprintf(stderr, "shared folder missing: converter part skipped\n");
        return;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/golden/tiny-a/model", shared);
    silkie_model_config cfg;
    silkie_weights *src = NULL, *llm = NULL, *vis = NULL;
    SK_TEST_OK(silkie_model_config_load(dir, &cfg, NULL));
    SK_TEST_OK(silkie_weights_open(dir, &src));
    if (!src) return;
    silkie_gguf_convert_params p = {.part = SILKIE_GGUF_PART_LLM,
                                    .matrix_type = SILKIE_DTYPE_Q8_0};
    SK_TEST_OK(silkie_gguf_convert_qwen(src, &cfg, &p, "tiny_llm.gguf"));
    float *table = malloc(64 * 128 * sizeof(float));
    p = (silkie_gguf_convert_params){.part = SILKIE_GGUF_PART_VISION,
                                     .matrix_type = SILKIE_DTYPE_F32,
                                     .extra = extra_pos,
                                     .extra_user = table};
    SK_TEST_OK(silkie_gguf_convert_qwen(src, &cfg, &p, "tiny_vis.gguf"));
    SK_TEST_OK(silkie_weights_open("tiny_llm.gguf", &llm));
    SK_TEST_OK(silkie_weights_open("tiny_vis.gguf", &vis));
    if (llm && vis) {
        SK_TEST_OK(silkie_weights_check_qwen_vl(llm, &cfg));
        SK_TEST_OK(silkie_weights_check_qwen_vl(vis, &cfg));
        uint32_t u;
        SK_TEST_OK(silkie_gguf_get_u32(silkie_weights_gguf(llm), "qwen.feed_forward_length", &u));
        SK_TEST_CHECK(u == 688, "feed_forward_length %u", u);
        SK_TEST_CHECK(silkie_weights_count(llm) == 2 + 8 * 2 + 1, "llm tensors %u",
                      silkie_weights_count(llm));
        /* Q8_0 matrix = reference quantization of the bf16 rows. */
        const silkie_weight *s = silkie_weights_find(src, "transformer.h.1.mlp.w2.weight");
        const silkie_weight *g = silkie_weights_find(llm, "blk.1.ffn_gate.weight");
        SK_TEST_CHECK(g && g->dtype == SILKIE_DTYPE_Q8_0 && g->shape[0] == 344 &&
                          g->shape[1] == 128, "ffn_gate");
        if (s && g) {
            size_t n = 344 * 128;
            float *f = malloc(n * 4);
            uint8_t *q = malloc(silkie_ref_row_bytes(SILKIE_DTYPE_Q8_0, n));
            silkie_ref_dequant_row(SILKIE_DTYPE_BF16, s->data, f, n);
            silkie_ref_quantize_row(SILKIE_DTYPE_Q8_0, f, q, n);
            SK_TEST_CHECK(g->nbytes == silkie_ref_row_bytes(SILKIE_DTYPE_Q8_0, n) &&
                              memcmp(q, g->data, g->nbytes) == 0, "q8_0 bytes");
            free(f);
            free(q);
        }
        const silkie_weight *nrm = silkie_weights_find(llm, "blk.0.attn_norm.weight");
        SK_TEST_CHECK(nrm && nrm->dtype == SILKIE_DTYPE_F32, "norm stays f32");
        /* ViT in_proj: per-head [q|k|v] rows become separate q, k, v. */
        const uint32_t W = cfg.visual.width, hd = cfg.visual.head_dim;
        const silkie_weight *in = silkie_weights_find(
            src, "transformer.visual.transformer.resblocks.1.attn.in_proj.weight");
        const silkie_weight *inb = silkie_weights_find(
            src, "transformer.visual.transformer.resblocks.1.attn.in_proj.bias");
        const char *qkv[3] = {"v.blk.1.attn_q.weight", "v.blk.1.attn_k.weight",
                              "v.blk.1.attn_v.weight"};
        const char *qkvb[3] = {"v.blk.1.attn_q.bias", "v.blk.1.attn_k.bias",
                               "v.blk.1.attn_v.bias"};
        for (uint32_t k = 0; in && inb && k < 3; k++) {
            const silkie_weight *o = silkie_weights_find(vis, qkv[k]);
            const silkie_weight *ob = silkie_weights_find(vis, qkvb[k]);
            bool ok = o && ob && o->shape[0] == W && o->shape[1] == W && ob->shape[0] == W;
            for (uint32_t r = 0; ok && r < W; r++) {
                uint32_t sr = (r / hd) * 3 * hd + k * hd + r % hd;
                for (uint32_t c = 0; ok && c < W; c++)
                    ok = elem(o, (uint64_t)r * W + c) == elem(in, (uint64_t)sr * W + c);
                ok = ok && elem(ob, r) == elem(inb, sr);
            }
            SK_TEST_CHECK(ok, "de-interleaved %s", qkv[k]);
        }
        /* Resampler in_proj: row thirds. */
        const uint32_t D = cfg.visual.output_dim;
        const silkie_weight *rin =
            silkie_weights_find(src, "transformer.visual.attn_pool.attn.in_proj_weight");
        const silkie_weight *rk = silkie_weights_find(vis, "resampler.attn.k.weight");
        bool ok = rin && rk && rk->shape[0] == D;
        for (uint64_t i = 0; ok && i < (uint64_t)D * D; i++)
            ok = elem(rk, i) == elem(rin, (uint64_t)D * D + i);
        SK_TEST_CHECK(ok, "resampler k third");
        /* proj is transposed. */
        const silkie_weight *pj = silkie_weights_find(src, "transformer.visual.proj");
        const silkie_weight *pt = silkie_weights_find(vis, "resampler.proj.weight");
        ok = pj && pt;
        for (uint32_t r = 0; ok && r < D; r++)
            for (uint32_t c = 0; ok && c < D; c++)
                ok = elem(pt, (uint64_t)r * D + c) == elem(pj, (uint64_t)c * D + r);
        SK_TEST_CHECK(ok, "proj transposed");
        const silkie_weight *pk = silkie_weights_find(vis, "resampler.pos_embed_k");
        SK_TEST_CHECK(pk && pk->nbytes == 64 * 128 * 4 && ((const float *)pk->data)[777] == 777.0f,
                      "extra tensor from the hook");
        /* A file of the other part fails the check by name. */
        SK_TEST_STATUS(silkie_weights_check_qwen_vl(src, &(silkie_model_config){0}),
                       SILKIE_ERR_BAD_MODEL);
    }
    silkie_weights_close(llm);
    silkie_weights_close(vis);
    silkie_weights_close(src);
    remove("tiny_llm.gguf");
    remove("tiny_vis.gguf");
    free(table);
}

int main(void)
{
    int64_t live = silkie_alloc_live();
    test_roundtrip();
    test_hostile();
    test_quant();
    test_names();
    test_convert();
    SK_TEST_CHECK(silkie_alloc_live() == live, "leak: %lld",
                  (long long)(silkie_alloc_live() - live));
    return sk_test_result("test_gguf");
}
