/* Quantize/dequantize round trips for every storage type: hand-computed blocks compared byte for
 * byte, error bounds on random rows, and requantization of dequantized rows being idempotent. */
#include "harness.h"
#include "ref/ref.h"

static void check_bytes(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        SK_TEST_CHECK(got[i] == want[i], "%s byte %zu: got 0x%02x want 0x%02x", what, i, got[i],
                      want[i]);
    }
}

static void test_sizes(void)
{
    SK_TEST_CHECK(silkie_ref_row_bytes(SILKIE_DTYPE_F32, 64) == 256, "f32 row bytes");
    SK_TEST_CHECK(silkie_ref_row_bytes(SILKIE_DTYPE_F16, 64) == 128, "f16 row bytes");
    SK_TEST_CHECK(silkie_ref_row_bytes(SILKIE_DTYPE_BF16, 64) == 128, "bf16 row bytes");
    SK_TEST_CHECK(silkie_ref_row_bytes(SILKIE_DTYPE_Q8_0, 64) == 68, "q8_0 row bytes");
    SK_TEST_CHECK(silkie_ref_row_bytes(SILKIE_DTYPE_Q4_0, 64) == 36, "q4_0 row bytes");
}

static void test_half_types(void)
{
    /* 1 + 2^-8 and 1 + 3 * 2^-8 are ties for bf16: both go to the even neighbour. */
    const float x[6] = {1.0f, -2.0f, 65504.0f, 1.00390625f, 1.01171875f, 0.0f};
    const uint8_t want_f16[12] = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b,
                                  0x04, 0x3c, 0x0c, 0x3c, 0x00, 0x00};
    const uint8_t want_bf16[12] = {0x80, 0x3f, 0x00, 0xc0, 0x80, 0x47,
                                   0x80, 0x3f, 0x82, 0x3f, 0x00, 0x00};
    uint8_t buf[12];
    float back[6];
    silkie_ref_quantize_row(SILKIE_DTYPE_F16, x, buf, 6);
    check_bytes("f16", buf, want_f16, sizeof buf);
    silkie_ref_dequant_row(SILKIE_DTYPE_F16, buf, back, 6);
    for (int i = 0; i < 6; i++) SK_TEST_CHECK(back[i] == x[i], "f16 back %d: %g", i, back[i]);

    silkie_ref_quantize_row(SILKIE_DTYPE_BF16, x, buf, 6);
    check_bytes("bf16", buf, want_bf16, sizeof buf);
    silkie_ref_dequant_row(SILKIE_DTYPE_BF16, buf, back, 6);
    const float want_back[6] = {1.0f, -2.0f, 65536.0f, 1.0f, 1.015625f, 0.0f};
    for (int i = 0; i < 6; i++) {
        SK_TEST_CHECK(back[i] == want_back[i], "bf16 back %d: %g", i, back[i]);
    }
}

static void test_q8_0_blocks(void)
{
    /* Block 0: amax 127 -> d = 1; roundf rounds halves away from zero.
     * Block 1: all zero -> d = 0 and zero codes.
     * Block 2: amax 31.75 -> d = 0.25, id = 4: 0.125 -> 0.5 -> 1, 0.375 -> 1.5 -> 2. */
    float x[96] = {0};
    x[0] = 127.0f; x[1] = -64.0f; x[2] = 1.4f; x[3] = 2.5f; x[4] = -2.5f; x[31] = -0.49f;
    x[64] = -31.75f; x[65] = 0.125f; x[66] = -0.125f; x[67] = 0.375f; x[95] = 31.0f;
    uint8_t want[3 * 34] = {0};
    want[0] = 0x00; want[1] = 0x3c;
    want[2] = 0x7f; want[3] = 0xc0; want[4] = 0x01; want[5] = 0x03; want[6] = 0xfd;
    want[68] = 0x00; want[69] = 0x34;
    want[70] = 0x81; want[71] = 0x01; want[72] = 0xff; want[73] = 0x02; want[101] = 0x7c;
    uint8_t got[3 * 34];
    memset(got, 0xaa, sizeof got);
    silkie_ref_quantize_row(SILKIE_DTYPE_Q8_0, x, got, 96);
    check_bytes("q8_0", got, want, sizeof got);

    float back[96];
    silkie_ref_dequant_row(SILKIE_DTYPE_Q8_0, want, back, 96);
    SK_TEST_CHECK(back[0] == 127.0f && back[1] == -64.0f && back[3] == 3.0f && back[4] == -3.0f,
                  "q8_0 block 0 dequant");
    SK_TEST_CHECK(back[40] == 0.0f, "q8_0 zero block dequant");
    SK_TEST_CHECK(back[64] == -31.75f && back[65] == 0.25f && back[67] == 0.5f &&
                      back[95] == 31.0f, "q8_0 block 2 dequant");
}

static void test_q4_0_blocks(void)
{
    /* Block 0: signed extreme -8 -> d = 1: x -> trunc(x + 8.5) clamped to 15.
     * Block 1: signed extreme +8 -> d = -1, so codes run backwards: x -> trunc(8.5 - x). */
    float x[64] = {0};
    x[0] = -8.0f; x[1] = 7.0f; x[2] = 7.9f; x[3] = -0.5f; x[4] = 0.5f; x[5] = -3.2f;
    x[16] = 1.0f; x[17] = -1.0f; x[31] = 6.6f;
    x[32] = 8.0f; x[33] = -7.0f; x[34] = 2.0f; x[48] = -7.9f;
    uint8_t want[2 * 18];
    memset(want, 0, sizeof want);
    /* Block 0: zeros code to 8 in both nibbles unless set below. */
    want[0] = 0x00; want[1] = 0x3c;
    for (int j = 0; j < 16; j++) want[2 + j] = 0x88;
    want[2 + 0] = 0x90;  /* lo -8 -> 0, hi (x16 = 1) -> 9 */
    want[2 + 1] = 0x7f;  /* lo 7 -> 15, hi (x17 = -1) -> 7 */
    want[2 + 2] = 0x8f;  /* lo 7.9 -> 16 clamped to 15 */
    want[2 + 3] = 0x88;  /* lo -0.5 -> 8 */
    want[2 + 4] = 0x89;  /* lo 0.5 -> 9 */
    want[2 + 5] = 0x85;  /* lo -3.2 -> 5 */
    want[2 + 15] = 0xf8; /* hi (x31 = 6.6) -> 15.1 -> 15 */
    want[18] = 0x00; want[19] = 0xbc;
    for (int j = 0; j < 16; j++) want[20 + j] = 0x88;
    want[20 + 0] = 0xf0; /* lo 8 -> 0, hi (x48 = -7.9) -> 16.4 clamped to 15 */
    want[20 + 1] = 0x8f; /* lo -7 -> 15 */
    want[20 + 2] = 0x86; /* lo 2 -> 6 */
    uint8_t got[2 * 18];
    memset(got, 0xaa, sizeof got);
    silkie_ref_quantize_row(SILKIE_DTYPE_Q4_0, x, got, 64);
    check_bytes("q4_0", got, want, sizeof got);

    float back[64];
    silkie_ref_dequant_row(SILKIE_DTYPE_Q4_0, want, back, 64);
    SK_TEST_CHECK(back[0] == -8.0f && back[1] == 7.0f && back[2] == 7.0f && back[5] == -3.0f &&
                      back[16] == 1.0f && back[31] == 7.0f, "q4_0 block 0 dequant");
    SK_TEST_CHECK(back[32] == 8.0f && back[33] == -7.0f && back[34] == 2.0f &&
                      back[48] == -7.0f && back[40] == 0.0f, "q4_0 block 1 dequant");
}

/* Per-block error bound relative to the block's scale, and idempotent requantization. */
static void test_random(silkie_dtype dt, double rel_bound, uint64_t seed)
{
    enum { N = 32 * 64 };
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *x = silkie_malloc(N * sizeof(float));
    float *y = silkie_malloc(N * sizeof(float));
    uint64_t bytes = silkie_ref_row_bytes(dt, N);
    uint8_t *q = silkie_malloc(bytes);
    uint8_t *q2 = silkie_malloc(bytes);
    for (uint32_t i = 0; i < N; i++) {
        /* Block-varying magnitudes exercise small and large scales. */
        float mag = (float)(1u << ((i / 32) % 12)) / 64.0f;
        x[i] = sk_rng_normal(&rng) * mag;
    }
    silkie_ref_quantize_row(dt, x, q, N);
    silkie_ref_dequant_row(dt, q, y, N);
    int bad = 0;
    for (uint32_t b = 0; b < N / 32; b++) {
        double amax = sk_max_abs(x + b * 32, 32);
        double bound = rel_bound * amax + 1e-30;
        double err = sk_max_abs_diff(x + b * 32, y + b * 32, 32);
        if (err > bound && bad++ < 5) {
            SK_TEST_CHECK(err <= bound, "%s block %u err %g > bound %g (seed %llu)",
                          silkie_dtype_name(dt), b, err, bound, (unsigned long long)seed);
        }
    }
    double nmse = sk_nmse(x, y, N);
    double nmse_max = dt == SILKIE_DTYPE_Q4_0 ? 1.5e-2 : dt == SILKIE_DTYPE_Q8_0 ? 1e-4 : 1e-5;
    SK_TEST_CHECK(nmse < nmse_max, "%s nmse %g >= %g", silkie_dtype_name(dt), nmse, nmse_max);
    SK_TEST_CHECK(sk_first_nonfinite(y, N) < 0, "%s non-finite", silkie_dtype_name(dt));
    printf("%-5s nmse %.3e\n", silkie_dtype_name(dt), nmse);

    silkie_ref_quantize_row(dt, y, q2, N);
    SK_TEST_CHECK(memcmp(q, q2, bytes) == 0, "%s requantization changed the bytes",
                  silkie_dtype_name(dt));
    silkie_free(x);
    silkie_free(y);
    silkie_free(q);
    silkie_free(q2);
}

int main(void)
{
    test_sizes();
    test_half_types();
    test_q8_0_blocks();
    test_q4_0_blocks();
    /* q8_0: d/2 from rounding plus 127 codes times the f16 scale error (d * 2^-11), d = amax/127.
     * q4_0: the clamp at 15 costs up to a full step d = amax/8, plus the f16 scale error. */
    test_random(SILKIE_DTYPE_F16, 1.0 / 2048, 11);
    test_random(SILKIE_DTYPE_BF16, 1.0 / 256, 12);
    test_random(SILKIE_DTYPE_Q8_0, (0.5 + 127.0 / 2048) / 127.0 * 1.001, 13);
    test_random(SILKIE_DTYPE_Q4_0, (1.0 + 8.0 / 2048) / 8.0 * 1.001, 14);
    return sk_test_result("test_quant");
}
