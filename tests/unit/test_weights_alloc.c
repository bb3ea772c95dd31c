/* Allocation-failure sweep: every loader runs with the N-th allocation failing, for every N
 * until it succeeds. Each failure must be SILKIE_ERR_OUT_OF_MEMORY with a message (or the
 * loader's own error when an allocation of cJSON, which uses the C allocator, is not involved),
 * leave *out NULL, and leak nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model/model.h"
#include "zip_build.h"

typedef silkie_status (*load_fn)(void *ctx);

static void sweep(const char *what, load_fn fn, void *ctx)
{
    int64_t live = silkie_alloc_live();
    uint64_t n = 1;
    for (; n < 100000; n++) {
        silkie_alloc_fail_at(n);
        silkie_status st = fn(ctx);
        silkie_alloc_fail_at(0);
        SK_TEST_CHECK(silkie_alloc_live() == live, "%s: fail at %llu leaks %lld", what,
                      (unsigned long long)n, (long long)(silkie_alloc_live() - live));
        if (st == SILKIE_OK) break;
        SK_TEST_CHECK(st == SILKIE_ERR_OUT_OF_MEMORY && silkie_last_error()[0],
                      "%s: fail at %llu gave %s (%s)", what, (unsigned long long)n,
                      silkie_status_name(st), silkie_last_error());
        if (sk_test_failures > 20) return;
    }
    printf("%s: %llu allocation points swept\n", what, (unsigned long long)n);
    SK_TEST_CHECK(n > 1, "%s: the sweep saw no allocation", what);
}

static silkie_status open_path(void *ctx)
{
    silkie_weights *w = NULL;
    silkie_status st = silkie_weights_open(ctx, &w);
    SK_TEST_CHECK((st == SILKIE_OK) == (w != NULL), "out set iff ok");
    silkie_weights_close(w);
    return st;
}

static silkie_status open_config(void *ctx)
{
    silkie_model_config c;
    silkie_generation_config g;
    return silkie_model_config_load(ctx, &c, &g);
}

typedef struct memfile {
    const uint8_t *p;
    size_t n;
} memfile;

static silkie_status open_zip(void *ctx)
{
    const memfile *m = ctx;
    silkie_weights *w = NULL;
    silkie_status st = silkie_weights_from_torch_zip(m->p, m->n, "mem.bin", &w);
    silkie_weights_close(w);
    return st;
}

static silkie_status write_gguf(void *ctx)
{
    silkie_gguf_writer *w = NULL;
    const uint64_t shape[2] = {2, 32};
    float data[64] = {1.0f};
    const char *s[2] = {"x", "y"};
    silkie_status st = silkie_gguf_writer_create(ctx, 64, &w);
    if (st == SILKIE_OK) st = silkie_gguf_writer_add_str(w, "general.architecture", "t");
    if (st == SILKIE_OK) st = silkie_gguf_writer_add_arr_str(w, "k.s", s, NULL, 2);
    if (st == SILKIE_OK) st = silkie_gguf_writer_add_tensor(w, "a", SILKIE_DTYPE_F32, 2, shape);
    if (st == SILKIE_OK) st = silkie_gguf_writer_add_tensor(w, "b", SILKIE_DTYPE_Q8_0, 2, shape);
    if (st == SILKIE_OK) st = silkie_gguf_writer_write(w, data, sizeof data);
    uint8_t q[68] = {0};
    if (st == SILKIE_OK)
        st = silkie_convert_rows(SILKIE_DTYPE_F32, data, SILKIE_DTYPE_Q8_0, q, 2, 32);
    if (st == SILKIE_OK) st = silkie_gguf_writer_write(w, q, sizeof q);
    if (st == SILKIE_OK) return silkie_gguf_writer_finish(w);
    silkie_gguf_writer_destroy(w);
    return st;
}

int main(void)
{
    const char *shared = sk_shared_dir();
    char p[1024];
    if (shared) {
        snprintf(p, sizeof p, "%s/golden/tiny-a/model", shared);
        sweep("tiny-a safetensors", open_path, p);
        sweep("tiny-a config", open_config, p);
        snprintf(p, sizeof p, "%s/golden/pickle", shared);
        sweep("pickle fixture (sharded .bin)", open_path, p);
    } else {
        fprintf(stderr, "shared folder missing: golden sweeps skipped\n");
    }
    /* Strided views force copies, zip64 the extra-field path. */
    static const uint8_t pkl[] = {
        0x80, 2, '}', '(', 'X', 1, 0, 0, 0, 'w', 'c', 't', 'o', 'r', 'c', 'h', '.', '_', 'u',
        't', 'i', 'l', 's', '\n', '_', 'r', 'e', 'b', 'u', 'i', 'l', 'd', '_', 't', 'e', 'n', 's',
        'o', 'r', '_', 'v', '2', '\n', '(', '(', 'X', 7, 0, 0, 0, 's', 't', 'o', 'r', 'a', 'g',
        'e', 'c', 't', 'o', 'r', 'c', 'h', '\n', 'F', 'l', 'o', 'a', 't', 'S', 't', 'o', 'r',
        'a', 'g', 'e', '\n', 'X', 1, 0, 0, 0, '0', 'X', 3, 0, 0, 0, 'c', 'p', 'u', 'K', 6, 't',
        'Q', 'K', 0, 'K', 3, 'K', 2, 0x86, 'K', 1, 'K', 3, 0x86, 0x89, 'c', 'c', 'o', 'l', 'l',
        'e', 'c', 't', 'i', 'o', 'n', 's', '\n', 'O', 'r', 'd', 'e', 'r', 'e', 'd', 'D', 'i',
        'c', 't', '\n', ')', 'R', 't', 'R', 'u', '.'};
    static const float store[6] = {0, 1, 2, 3, 4, 5};
    sk_zb_entry e[] = {{"archive/data.pkl", pkl, sizeof pkl, 0}, {"archive/data/0", store, 24, 0}};
    memfile m;
    uint8_t *z = sk_zip_build(e, 2, &m.n, 1);
    m.p = z;
    sweep("strided zip64 .bin", open_zip, &m);
    silkie_weights *w = NULL;
    SK_TEST_OK(silkie_weights_from_torch_zip(m.p, m.n, "mem.bin", &w));
    const silkie_weight *t = w ? silkie_weights_find(w, "w") : NULL;
    const float want[6] = {0, 3, 1, 4, 2, 5};
    SK_TEST_CHECK(t && t->nbytes == 24 && memcmp(t->data, want, 24) == 0, "transposed copy");
    silkie_weights_close(w);
    free(z);
    sweep("gguf write", write_gguf, "alloc_sweep.gguf");
    sweep("gguf read", open_path, "alloc_sweep.gguf");
    remove("alloc_sweep.gguf");
    return sk_test_result("test_weights_alloc");
}
