/* silkie_op_get_rows against silkie_ref_get_rows for every table type, with out-of-range ids
 * and split tables (up to 4 parts per dispatch: 6 parts take two). */
#include "harness_vk.h"
#include "ref/ref.h"

typedef struct gr_case {
    uint32_t D, V, T, n_parts;
} gr_case;

static const gr_case cases[] = {
    /*  D    V    T  parts */
    {  32,   1,   1, 1 },
    {  96,   7,   5, 1 },
    { 160,  50,  33, 1 },
    {  64,  50,  40, 3 }, /* split: 17 + 17 + 16 rows */
    { 256,  20,   3, 2 },
    {  64,  61,  90, 6 }, /* 11 x 5 + 6 rows: parts 0-3, then 4-5 */
    {  32,   9,  20, 5 }, /* 2 x 4 + 1 */
};

#define MAX_PARTS 6

static void run_case(silkie_vk_device *d, const gr_case *tc, silkie_dtype dt, uint64_t seed)
{
    const uint32_t D = tc->D, V = tc->V, T = tc->T;
    char what[128];
    snprintf(what, sizeof what, "get_rows D=%u V=%u T=%u parts=%u %s", D, V, T, tc->n_parts,
             silkie_dtype_name(dt));
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *tf = silkie_malloc((size_t)V * D * sizeof(float));
    sk_fill_uniform(&rng, tf, (uint64_t)V * D, -3.0f, 3.0f);
    uint64_t rb = silkie_ref_row_bytes(dt, D);
    uint8_t *tq = silkie_malloc(rb * V);
    for (uint32_t r = 0; r < V; r++) {
        silkie_ref_quantize_row(dt, tf + (size_t)r * D, tq + rb * r, D);
    }
    int32_t *ids = silkie_malloc(T * sizeof(int32_t));
    for (uint32_t t = 0; t < T; t++) {
        uint32_t u = sk_rng_u32(&rng);
        /* Mostly valid ids, with negatives, V itself and huge values mixed in. */
        ids[t] = (u % 8 == 0) ? -1 - (int32_t)(u % 5) : (u % 8 == 1) ? (int32_t)V + (int32_t)(u % 3)
                                                                    : (int32_t)(u % V);
    }
    if (T > 1) ids[T - 1] = INT32_MAX;
    float *ref = silkie_malloc((size_t)T * D * sizeof(float));
    float *got = silkie_malloc((size_t)T * D * sizeof(float));
    silkie_ref_get_rows(tq, dt, D, V, ids, T, ref);

    silkie_owned_tensor tp[MAX_PARTS], ti = {0};
    memset(tp, 0, sizeof tp);
    silkie_tensor_part parts[MAX_PARTS];
    sk_guarded gy = {0};
    uint32_t part_rows = (V + tc->n_parts - 1) / tc->n_parts;
    int ok = 1;
    for (uint32_t p = 0; ok && p < tc->n_parts; p++) {
        uint32_t r0 = p * part_rows, n = SK_MIN(part_rows, V - r0);
        const uint32_t ne[4] = {D, n, 1, 1};
        ok = sk_tensor_from_host(d, dt, ne, tq + rb * r0, &tp[p]);
        if (ok) parts[p] = (silkie_tensor_part){.buf = tp[p].t.buf, .offset = tp[p].t.offset};
    }
    const uint32_t ne_i[4] = {T, 1, 1, 1}, ne_y[4] = {D, T, 1, 1};
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_i, ids, &ti);
    ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy);
    SK_TEST_CHECK(ok, "%s: setup failed: %s", what, silkie_last_error());
    if (ok) {
        silkie_tensor table = tp[0].t;
        if (tc->n_parts > 1) {
            table.ne[1] = V;
            table.buf = NULL;
            table.n_parts = tc->n_parts;
            table.part_rows = part_rows;
            table.parts = parts;
        }
        for (uint64_t i = 0; i < (uint64_t)T * D; i++) got[i] = NAN; /* catches skipped rows */
        SK_TEST_OK(silkie_vk_buffer_write(gy.o.t.buf, gy.o.t.offset, got,
                                          (uint64_t)T * D * sizeof(float)));
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_get_rows(&c, &table, &ti.t, &gy.o.t));
            SK_TEST_CHECK(sk_op_run(&c), "%s: run failed", what);
        }
        SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, (uint64_t)T * D * sizeof(float)));
        /* A lookup is a copy of dequantized values: it must be exact. */
        sk_check_close(what, ref, got, (uint64_t)T * D, 0.0, 0.0, seed);
        sk_guarded_check(&gy, what);
    }
    sk_guarded_free(&gy);
    for (int p = 0; p < MAX_PARTS; p++) silkie_tensor_free(&tp[p]);
    silkie_tensor_free(&ti);
    silkie_free(tf);
    silkie_free(tq);
    silkie_free(ids);
    silkie_free(ref);
    silkie_free(got);
}

int main(void)
{
    static const silkie_dtype all[] = {SILKIE_DTYPE_F32, SILKIE_DTYPE_F16, SILKIE_DTYPE_BF16,
                                       SILKIE_DTYPE_Q8_0, SILKIE_DTYPE_Q4_0};
    silkie_vk_device *d = sk_test_device();
    uint64_t seed = 2000;
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        for (size_t j = 0; j < SK_ARRAY_LEN(all); j++) run_case(d, &cases[i], all[j], seed++);
    }
    return sk_test_device_finish(d, "test_get_rows");
}
