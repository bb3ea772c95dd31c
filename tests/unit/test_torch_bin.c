/* PyTorch .bin reader: the golden pickle fixture against its expected.safetensors (every name,
 * dtype, shape and byte), synthetic archives (zip64, strided views), and hostile pickles and zips
 * that must fail with the documented status and a message. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model/model.h"
#include "zip_build.h"

/* ---- pickle assembly ---------------------------------------------------------------------- */

typedef struct pk {
    uint8_t b[8192];
    size_t n;
} pk;

static void op(pk *p, uint8_t c) { p->b[p->n++] = c; }
static void raw(pk *p, const void *s, size_t n) { memcpy(p->b + p->n, s, n); p->n += n; }
static void ustr(pk *p, const char *s)
{
    size_t n = strlen(s);
    op(p, 'X');
    uint8_t l[4] = {(uint8_t)n, (uint8_t)(n >> 8), 0, 0};
    raw(p, l, 4);
    raw(p, s, n);
}
static void glob(pk *p, const char *mod, const char *name)
{
    op(p, 'c');
    raw(p, mod, strlen(mod));
    op(p, '\n');
    raw(p, name, strlen(name));
    op(p, '\n');
}
static void k1(pk *p, uint8_t v) { op(p, 'K'); op(p, v); }

typedef struct tspec {
    const char *name, *storage, *key;
    uint8_t numel, offset, nd, shape[3], stride[3];
} tspec;

/* torch.save-shaped pickle of a dict of tensors. */
static void state_dict(pk *p, const tspec *t, int n)
{
    op(p, 0x80); op(p, 2); op(p, '}'); op(p, '(');
    for (int i = 0; i < n; i++) {
        ustr(p, t[i].name);
        glob(p, "torch._utils", "_rebuild_tensor_v2");
        op(p, '(');
        op(p, '(');
        ustr(p, "storage");
        glob(p, "torch", t[i].storage);
        ustr(p, t[i].key);
        ustr(p, "cpu");
        k1(p, t[i].numel);
        op(p, 't');
        op(p, 'Q');
        k1(p, t[i].offset);
        op(p, '(');
        for (int d = 0; d < t[i].nd; d++) k1(p, t[i].shape[d]);
        op(p, 't');
        op(p, '(');
        for (int d = 0; d < t[i].nd; d++) k1(p, t[i].stride[d]);
        op(p, 't');
        op(p, 0x89);
        glob(p, "collections", "OrderedDict");
        op(p, ')');
        op(p, 'R');
        op(p, 't');
        op(p, 'R');
    }
    op(p, 'u'); op(p, '.');
}

static float g_store[64];

/* The view borrows the archive: *zip stays allocated until the caller frees it (after close). */
static silkie_status load_pickle(const pk *p, int zip64, silkie_weights **out, uint8_t **zip)
{
    sk_zb_entry e[] = {
        {"archive/data.pkl", p->b, p->n, 0},
        {"archive/data/0", g_store, 24 * 4, 0},
        {"archive/data/1", g_store, 8 * 4, 0},
        {"archive/version", "3\n", 2, 0},
    };
    size_t n = 0;
    *zip = sk_zip_build(e, 4, &n, zip64);
    return silkie_weights_from_torch_zip(*zip, n, "t.bin", out);
}

static void expect_pickle_fail(const pk *p, silkie_status want, const char *needle)
{
    silkie_weights *w = NULL;
    uint8_t *zip = NULL;
    silkie_status st = load_pickle(p, 0, &w, &zip);
    free(zip);
    SK_TEST_CHECK(st == want && !w, "got %s (%s), want %s", silkie_status_name(st),
                  silkie_last_error(), silkie_status_name(want));
    SK_TEST_CHECK(!needle || strstr(silkie_last_error(), needle), "message '%s' lacks '%s'",
                  silkie_last_error(), needle);
    silkie_weights_close(w);
}

static void test_synthetic(void)
{
    for (int i = 0; i < 64; i++) g_store[i] = (float)i;
    const tspec ts[] = {
        {"w", "FloatStorage", "0", 24, 0, 2, {4, 6}, {6, 1}},
        {"view", "FloatStorage", "0", 24, 7, 2, {2, 3}, {6, 1}},  /* offset view: copy (rows) */
        {"tr", "FloatStorage", "0", 24, 0, 2, {6, 4}, {1, 6}},    /* transposed */
        {"bcast", "FloatStorage", "1", 8, 2, 2, {3, 2}, {0, 1}},  /* stride 0 (expand) */
        {"vec", "FloatStorage", "1", 8, 1, 1, {4}, {1}},          /* offset, contiguous */
    };
    for (int zip64 = 0; zip64 < 2; zip64++) {
        pk p = {0};
        state_dict(&p, ts, 5);
        silkie_weights *w = NULL;
        uint8_t *zip = NULL;
        SK_TEST_OK(load_pickle(&p, zip64, &w, &zip));
        if (!w) {
            free(zip);
            continue;
        }
        SK_TEST_CHECK(silkie_weights_count(w) == 5, "count");
        const silkie_weight *t = silkie_weights_find(w, "w");
        SK_TEST_CHECK(t && t->nbytes == 96 && ((const float *)t->data)[23] == 23.0f, "w");
        t = silkie_weights_find(w, "view");
        const float want_view[6] = {7, 8, 9, 13, 14, 15};
        SK_TEST_CHECK(t && t->nbytes == 24 && memcmp(t->data, want_view, 24) == 0, "view");
        t = silkie_weights_find(w, "tr");
        bool ok = t && t->shape[0] == 6 && t->shape[1] == 4;
        for (int r = 0; ok && r < 6; r++)
            for (int c = 0; c < 4; c++) ok = ok && ((const float *)t->data)[r * 4 + c] == c * 6 + r;
        SK_TEST_CHECK(ok, "transposed");
        t = silkie_weights_find(w, "bcast");
        const float want_b[6] = {2, 3, 2, 3, 2, 3};
        SK_TEST_CHECK(t && memcmp(t->data, want_b, 24) == 0, "broadcast");
        t = silkie_weights_find(w, "vec");
        const float want_v[4] = {1, 2, 3, 4};
        SK_TEST_CHECK(t && memcmp(t->data, want_v, 16) == 0, "vec");
        silkie_weights_close(w);
        free(zip);
    }
}

static void test_hostile_pickle(void)
{
    const tspec good = {"w", "FloatStorage", "0", 24, 0, 2, {4, 6}, {6, 1}};
    pk p = {0};
    /* Forbidden global. */
    op(&p, 0x80); op(&p, 2); glob(&p, "os", "system"); ustr(&p, "echo hi"); op(&p, 0x85);
    op(&p, 'R'); op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "'os.system'");
    /* Same through STACK_GLOBAL. */
    p.n = 0;
    op(&p, 0x80); op(&p, 4); ustr(&p, "builtins"); ustr(&p, "eval"); op(&p, 0x93); op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "'builtins.eval'");
    /* Unknown opcode (INST). */
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, 'i'); op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "opcode 'i'");
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, 0xff); op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "opcode 0xff");
    /* REDUCE on a whitelisted name that is not a callable we apply (a storage type), and on a
     * plain value. */
    p.n = 0;
    op(&p, 0x80); op(&p, 2); glob(&p, "torch", "FloatStorage"); op(&p, ')'); op(&p, 'R');
    op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "REDUCE");
    p.n = 0;
    op(&p, 0x80); op(&p, 2); ustr(&p, "x"); op(&p, ')'); op(&p, 'R'); op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "REDUCE");
    /* Deep MARK nesting. */
    p.n = 0;
    op(&p, 0x80); op(&p, 2);
    for (int i = 0; i < 3000; i++) op(&p, '(');
    op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "MARK");
    /* Deeply nested tuples are fine for the machine (no recursion), but not a state dict. */
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, ')');
    for (int i = 0; i < 4000; i++) op(&p, 0x85);
    op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "not a dict");
    /* Memo abuse. */
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, 'N'); op(&p, 'r'); raw(&p, "\xff\xff\xff\x7f", 4); op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "memo");
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, 'h'); op(&p, 3); op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "memo");
    /* Stack underflow, missing STOP, string past the end, bad protocol. */
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, 's'); op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, NULL);
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, '}');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "STOP");
    p.n = 0;
    op(&p, 0x80); op(&p, 2); op(&p, 'X'); raw(&p, "\x00\x00\x01\x00", 4); op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "past the end");
    p.n = 0;
    op(&p, 0x80); op(&p, 9); op(&p, '}'); op(&p, '.');
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "protocol");
    /* Tensor-level problems. */
    tspec t = good;
    t.key = "7";
    p.n = 0;
    state_dict(&p, &t, 1);
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "not in the archive");
    t = good;
    t.numel = 30;
    p.n = 0;
    state_dict(&p, &t, 1);
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "storage has");
    t = good;
    t.offset = 1;
    p.n = 0;
    state_dict(&p, &t, 1);
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "reaches element 24");
    t = good;
    t.stride[0] = 7;
    p.n = 0;
    state_dict(&p, &t, 1);
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "'w'");
    t = good;
    t.storage = "CudaFloatStorage";
    p.n = 0;
    state_dict(&p, &t, 1);
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "torch.CudaFloatStorage");
    tspec two[2] = {good, good};
    p.n = 0;
    state_dict(&p, two, 2);
    expect_pickle_fail(&p, SILKIE_ERR_BAD_FILE, "duplicate");
    /* Every truncation of a good pickle fails cleanly. */
    pk full = {0};
    state_dict(&full, &good, 1);
    for (size_t cut = 0; cut < full.n; cut++) {
        pk q = full;
        q.n = cut;
        silkie_weights *w = NULL;
        uint8_t *zip = NULL;
        silkie_status st = load_pickle(&q, 0, &w, &zip);
        free(zip);
        SK_TEST_CHECK(st == SILKIE_ERR_BAD_FILE && !w, "pickle cut at %zu: %s", cut,
                      silkie_status_name(st));
        silkie_weights_close(w);
    }
}

static void test_hostile_zip(void)
{
    pk p = {0};
    const tspec good = {"w", "FloatStorage", "0", 24, 0, 2, {4, 6}, {6, 1}};
    state_dict(&p, &good, 1);
    sk_zb_entry e[] = {
        {"archive/data.pkl", p.b, p.n, 0},
        {"archive/data/0", g_store, 96, 0},
    };
    size_t n = 0;
    uint8_t *z = sk_zip_build(e, 2, &n, 0);
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_from_torch_zip(z, n, "ok.bin", &w));
    silkie_weights_close(w);
    w = NULL;
    for (size_t cut = 0; cut < n; cut++) {
        silkie_status st = silkie_weights_from_torch_zip(z, cut, "cut.bin", &w);
        SK_TEST_CHECK(st == SILKIE_ERR_BAD_FILE && !w, "zip cut at %zu: %s", cut,
                      silkie_status_name(st));
    }
    /* Corrupt the central directory signature, then its offset. */
    size_t eocd = n - 22;
    uint32_t cd = (uint32_t)(z[eocd + 16] | (z[eocd + 17] << 8) | (z[eocd + 18] << 16) |
                             ((uint32_t)z[eocd + 19] << 24));
    uint8_t *c = malloc(n);
    memcpy(c, z, n);
    c[cd] ^= 0xff;
    SK_TEST_STATUS(silkie_weights_from_torch_zip(c, n, "badcd.bin", &w), SILKIE_ERR_BAD_FILE);
    memcpy(c, z, n);
    c[eocd + 19] = 0x7f;
    SK_TEST_STATUS(silkie_weights_from_torch_zip(c, n, "badoff.bin", &w), SILKIE_ERR_BAD_FILE);
    memcpy(c, z, n);
    c[cd + 42] = 0xf0; /* local header offset inside the data */
    SK_TEST_STATUS(silkie_weights_from_torch_zip(c, n, "badlfh.bin", &w), SILKIE_ERR_BAD_FILE);
    memcpy(c, z, n);
    c[cd + 24] = 0xff; /* uncompressed size differs from compressed size */
    SK_TEST_STATUS(silkie_weights_from_torch_zip(c, n, "sizes.bin", &w), SILKIE_ERR_BAD_FILE);
    memcpy(c, z, n);
    c[eocd + 20] = 5; /* comment length does not match: no EOCD found */
    SK_TEST_STATUS(silkie_weights_from_torch_zip(c, n, "comment.bin", &w), SILKIE_ERR_BAD_FILE);
    free(c);
    free(z);
    /* Compressed entry (deflate). */
    e[1].method = 8;
    z = sk_zip_build(e, 2, &n, 0);
    SK_TEST_STATUS(silkie_weights_from_torch_zip(z, n, "deflate.bin", &w), SILKIE_ERR_UNSUPPORTED);
    SK_TEST_CHECK(strstr(silkie_last_error(), "compressed"), "message: %s", silkie_last_error());
    free(z);
    /* No data.pkl, and two of them. */
    e[1].method = 0;
    e[0].name = "archive/other.pkl";
    z = sk_zip_build(e, 2, &n, 0);
    SK_TEST_STATUS(silkie_weights_from_torch_zip(z, n, "nopkl.bin", &w), SILKIE_ERR_BAD_FILE);
    free(z);
    sk_zb_entry two[] = {{"a/data.pkl", p.b, p.n, 0}, {"b/data.pkl", p.b, p.n, 0}};
    z = sk_zip_build(two, 2, &n, 0);
    SK_TEST_STATUS(silkie_weights_from_torch_zip(z, n, "twopkl.bin", &w), SILKIE_ERR_BAD_FILE);
    free(z);
    sk_zb_entry dup[] = {{"archive/data.pkl", p.b, p.n, 0}, {"archive/data/0", g_store, 96, 0},
                         {"archive/data/0", g_store, 96, 0}};
    z = sk_zip_build(dup, 3, &n, 0);
    SK_TEST_STATUS(silkie_weights_from_torch_zip(z, n, "dup.bin", &w), SILKIE_ERR_BAD_FILE);
    SK_TEST_CHECK(strstr(silkie_last_error(), "twice"), "%s", silkie_last_error());
    free(z);
    SK_TEST_STATUS(silkie_weights_from_torch_zip("PK", 2, "tiny.bin", &w), SILKIE_ERR_BAD_FILE);
    SK_TEST_STATUS(silkie_weights_from_torch_zip(p.b, p.n, "legacy.bin", &w),
                   SILKIE_ERR_UNSUPPORTED);
    SK_TEST_CHECK(strstr(silkie_last_error(), "legacy"), "%s", silkie_last_error());
}

/* The fixture must load to exactly the tensors of expected.safetensors. */
static void test_golden(void)
{
    const char *shared = sk_shared_dir();
    if (!shared) {
        fprintf(stderr, "shared folder missing: golden part skipped\n");
        return;
    }
    char dir[1024], exp[1100], one[1100];
    snprintf(dir, sizeof dir, "%s/golden/pickle", shared);
    snprintf(exp, sizeof exp, "%s/expected.safetensors", dir);
    snprintf(one, sizeof one, "%s/pytorch_model-00001-of-00002.bin", dir);
    silkie_weights *w = NULL, *x = NULL, *s1 = NULL;
    SK_TEST_OK(silkie_weights_open(dir, &w));
    SK_TEST_OK(silkie_weights_open(exp, &x));
    SK_TEST_OK(silkie_weights_open(one, &s1));
    if (w && x) {
        SK_TEST_CHECK(silkie_weights_format_of(w) == SILKIE_WEIGHTS_TORCH_BIN, "format");
        SK_TEST_CHECK(silkie_weights_count(w) == silkie_weights_count(x) &&
                          silkie_weights_count(w) == 11, "counts %u vs %u",
                      silkie_weights_count(w), silkie_weights_count(x));
        for (uint32_t i = 0; i < silkie_weights_count(x); i++) {
            const silkie_weight *e = silkie_weights_at(x, i);
            const silkie_weight *g = silkie_weights_find(w, e->name);
            SK_TEST_CHECK(g != NULL, "'%s' missing", e->name);
            if (!g) continue;
            bool same = g->dtype == e->dtype && g->n_dims == e->n_dims && g->nbytes == e->nbytes;
            for (uint32_t d = 0; same && d < e->n_dims; d++) same = g->shape[d] == e->shape[d];
            SK_TEST_CHECK(same, "'%s': dtype/shape/size differ", e->name);
            SK_TEST_CHECK(same && (e->nbytes == 0 || memcmp(g->data, e->data, e->nbytes) == 0),
                          "'%s': bytes differ", e->name);
            SK_TEST_CHECK((uintptr_t)g->data % silkie_dtype_block_bytes(g->dtype) == 0,
                          "'%s': misaligned view", e->name);
        }
        const silkie_weight *t = silkie_weights_find(w, "d.tied_2");
        SK_TEST_CHECK(t && t->file == 1, "tied_2 comes from the second shard");
    }
    SK_TEST_CHECK(s1 && silkie_weights_count(s1) == 6, "single shard opened alone");
    silkie_weights_close(w);
    silkie_weights_close(x);
    silkie_weights_close(s1);
    /* Truncating a real shard at every offset. */
    size_t n = 0;
    uint8_t *b = sk_read_file(one, &n);
    SK_TEST_CHECK(b != NULL, "read %s", one);
    for (size_t cut = 0; b && cut < n; cut++) {
        silkie_weights *t = NULL;
        silkie_status st = silkie_weights_from_torch_zip(b, cut, "cut", &t);
        SK_TEST_CHECK(st == SILKIE_ERR_BAD_FILE && !t, "shard cut at %zu: %s", cut,
                      silkie_status_name(st));
        silkie_weights_close(t);
    }
    silkie_free(b);
}

int main(void)
{
    int64_t live = silkie_alloc_live();
    test_synthetic();
    test_hostile_pickle();
    test_hostile_zip();
    test_golden();
    SK_TEST_CHECK(silkie_alloc_live() == live, "leak: %lld live allocations",
                  (long long)(silkie_alloc_live() - live));
    return sk_test_result("test_torch_bin");
}
