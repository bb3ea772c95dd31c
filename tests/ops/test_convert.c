/* silkie_op_convert for every pair of f32/f16/bf16 (strided sources included) and
 * silkie_op_set_rows as the KV-cache append: static row0, a device step value, replay of the
 * same command list with a new step, and a step past the end that must write nothing. */
#include "harness_vk.h"
#include "ref/ref.h"

static const silkie_dtype types[] = {SILKIE_DTYPE_F32, SILKIE_DTYPE_F16, SILKIE_DTYPE_BF16};

/* Element-wise comparison of storage codes. f16 may be off by one unit in the last place:
 * GLSL leaves packHalf2x16's rounding to the implementation. */
static void compare_rows(const char *what, silkie_dtype dt, const uint8_t *want, const uint8_t *got,
                         uint64_t n)
{
    int bad = 0;
    for (uint64_t i = 0; i < n && bad < 5; i++) {
        int64_t w, g;
        if (dt == SILKIE_DTYPE_F32) {
            uint32_t a, b;
            memcpy(&a, want + 4 * i, 4);
            memcpy(&b, got + 4 * i, 4);
            w = a;
            g = b;
        } else {
            uint16_t a, b;
            memcpy(&a, want + 2 * i, 2);
            memcpy(&b, got + 2 * i, 2);
            w = a;
            g = b;
        }
        int64_t diff = w > g ? w - g : g - w;
        int64_t allowed = dt == SILKIE_DTYPE_F16 ? 1 : 0;
        if (diff > allowed) {
            bad++;
            SK_TEST_CHECK(diff <= allowed, "%s: element %llu: want 0x%llx got 0x%llx", what,
                          (unsigned long long)i, (unsigned long long)w, (unsigned long long)g);
        }
    }
}

/* Host values with a spread of magnitudes, exact ties for bf16/f16 rounding and zeros. */
static void fill_values(sk_rng *r, float *x, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        float v = sk_rng_normal(r) * (float)(1u << (i % 9));
        if (i % 13 == 0) v = 1.00390625f;    /* 1 + 2^-8: bf16 tie */
        if (i % 17 == 0) v = -0.0f;
        x[i] = v;
    }
}

static void test_convert_case(silkie_vk_device *d, silkie_dtype src, silkie_dtype dst,
                              uint32_t cols, uint32_t rows, uint32_t pad, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "convert %s->%s %ux%u pad %u", silkie_dtype_name(src),
             silkie_dtype_name(dst), rows, cols, pad);
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    const uint32_t ld = cols + pad, col0 = pad ? 1 : 0;
    float *xf = silkie_malloc((size_t)rows * ld * sizeof(float));
    fill_values(&rng, xf, (uint64_t)rows * ld);
    /* Source storage (full padded rows), and the expected destination via the host reference. */
    uint64_t src_rb = silkie_ref_row_bytes(src, ld), dst_rb = silkie_ref_row_bytes(dst, cols);
    uint8_t *xs = silkie_malloc(src_rb * rows);
    uint8_t *want = silkie_malloc(dst_rb * rows);
    uint8_t *got = silkie_malloc(dst_rb * rows);
    float *tmp = silkie_malloc((size_t)ld * sizeof(float));
    for (uint32_t r = 0; r < rows; r++) {
        silkie_ref_quantize_row(src, xf + (size_t)r * ld, xs + src_rb * r, ld);
        silkie_ref_dequant_row(src, xs + src_rb * r, tmp, ld);
        silkie_ref_quantize_row(dst, tmp + col0, want + dst_rb * r, cols);
    }
    silkie_owned_tensor tx = {0};
    sk_guarded gy = {0};
    const uint32_t ne_x[4] = {ld, rows, 1, 1}, ne_y[4] = {cols, rows, 1, 1};
    int ok = sk_tensor_from_host(d, src, ne_x, xs, &tx) && sk_guarded_alloc(d, dst, ne_y, &gy);
    SK_TEST_CHECK(ok, "%s: setup failed: %s", what, silkie_last_error());
    if (ok) {
        silkie_tensor xv = pad ? silkie_tensor_cols(&tx.t, col0, cols) : tx.t;
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_convert(&c, &xv, &gy.o.t));
            SK_TEST_CHECK(sk_op_run(&c), "%s: run failed", what);
        }
        SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, dst_rb * rows));
        compare_rows(what, dst, want, got, (uint64_t)cols * rows);
        sk_guarded_check(&gy, what);
    }
    sk_guarded_free(&gy);
    silkie_tensor_free(&tx);
    silkie_free(xf);
    silkie_free(xs);
    silkie_free(want);
    silkie_free(got);
    silkie_free(tmp);
}

/* KV-cache append: f32 rows into an f16 cache of CACHE_ROWS rows at row0 + step[0]. */
static void test_set_rows(silkie_vk_device *d)
{
    enum { COLS = 40, ROWS = 3, CACHE_ROWS = 12, ROW0 = 2 };
    const char *what = "set_rows";
    sk_rng rng;
    sk_rng_seed(&rng, 77);
    float src[ROWS * COLS];
    fill_values(&rng, src, ROWS * COLS);
    uint16_t cache[CACHE_ROWS * COLS], want[CACHE_ROWS * COLS], got[CACHE_ROWS * COLS];
    for (int i = 0; i < CACHE_ROWS * COLS; i++) cache[i] = (uint16_t)(0x3c00 + i); /* marker */
    silkie_owned_tensor ts = {0}, tstep = {0};
    sk_guarded gc = {0};
    const uint32_t ne_s[4] = {COLS, ROWS, 1, 1}, ne_c[4] = {COLS, CACHE_ROWS, 1, 1};
    const uint32_t ne_step[4] = {1, 1, 1, 1};
    int32_t step = 3;
    int ok = sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_s, src, &ts);
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_step, &step, &tstep);
    ok = ok && sk_guarded_alloc(d, SILKIE_DTYPE_F16, ne_c, &gc);
    ok = ok && !silkie_vk_buffer_write(gc.o.t.buf, gc.o.t.offset, cache, sizeof cache);
    SK_TEST_CHECK(ok, "%s: setup failed: %s", what, silkie_last_error());
    if (!ok) goto done;

    /* Static row0, then a recorded list replayed for steps 3, 7 and 20 (past the end). */
    silkie_op_ctx c;
    if (sk_op_begin(d, &c)) {
        SK_TEST_OK(silkie_op_set_rows(&c, &ts.t, &gc.o.t, NULL, 0));
        SK_TEST_CHECK(sk_op_run(&c), "%s: static run failed", what);
    }
    memcpy(want, cache, sizeof want);
    silkie_ref_quantize_row(SILKIE_DTYPE_F16, src, want, ROWS * COLS);
    SK_TEST_OK(silkie_tensor_download(&gc.o.t, got, sizeof got));
    compare_rows("set_rows static", SILKIE_DTYPE_F16, (const uint8_t *)want,
                 (const uint8_t *)got, CACHE_ROWS * COLS);

    silkie_vk_cmd *cmd = NULL;
    SK_TEST_OK(silkie_vk_cmd_create(d, &cmd));
    if (cmd) {
        c = (silkie_op_ctx){.dev = d, .cmd = cmd};
        SK_TEST_OK(silkie_vk_cmd_begin(cmd));
        SK_TEST_OK(silkie_op_set_rows(&c, &ts.t, &gc.o.t, &tstep.t, ROW0));
        SK_TEST_OK(silkie_vk_cmd_barrier(cmd));
        SK_TEST_OK(silkie_vk_cmd_end(cmd));
        const int32_t steps[3] = {3, 7, 20};
        for (int s = 0; s < 3; s++) {
            SK_TEST_OK(silkie_vk_buffer_write(tstep.t.buf, tstep.t.offset, &steps[s], 4));
            SK_TEST_OK(silkie_vk_cmd_submit_wait(cmd));
            int first = ROW0 + steps[s];
            for (int r = 0; r < ROWS && first + r < CACHE_ROWS; r++) {
                silkie_ref_quantize_row(SILKIE_DTYPE_F16, src + r * COLS,
                                        want + (first + r) * COLS, COLS);
            }
            SK_TEST_OK(silkie_tensor_download(&gc.o.t, got, sizeof got));
            char w2[64];
            snprintf(w2, sizeof w2, "set_rows step %d", steps[s]);
            compare_rows(w2, SILKIE_DTYPE_F16, (const uint8_t *)want, (const uint8_t *)got,
                         CACHE_ROWS * COLS);
        }
        silkie_vk_cmd_destroy(cmd);
    }
    sk_guarded_check(&gc, what);
    /* Rows past the end are refused when known at record time. */
    if (sk_op_begin(d, &c)) {
        SK_TEST_STATUS(silkie_op_set_rows(&c, &ts.t, &gc.o.t, NULL, CACHE_ROWS - 1),
                       SILKIE_ERR_INVALID_ARGUMENT);
        sk_op_run(&c);
    }
done:
    sk_guarded_free(&gc);
    silkie_tensor_free(&ts);
    silkie_tensor_free(&tstep);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    uint64_t seed = 3000;
    for (size_t i = 0; i < SK_ARRAY_LEN(types); i++) {
        for (size_t j = 0; j < SK_ARRAY_LEN(types); j++) {
            test_convert_case(d, types[i], types[j], 1, 1, 0, seed++);
            test_convert_case(d, types[i], types[j], 17, 3, 0, seed++);
            test_convert_case(d, types[i], types[j], 65, 33, 3, seed++); /* strided source */
        }
    }
    test_set_rows(d);
    return sk_test_device_finish(d, "test_convert");
}
