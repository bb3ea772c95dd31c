/* silkie_op_dropout against the reference: the mask is bit-identical to the C hash (so the whole
 * output is: both sides multiply by the same f32 scale), p = 0 is the identity, the kept fraction
 * is close to 1 - p, and another stream or seed gives another mask. Strided and in-place inputs
 * and more rows than one grid dimension holds. */
#include <string.h>

#include "harness_vk.h"
#include "ops/ops_train.h"
#include "ref/ref_train.h"

typedef struct {
    uint32_t n_cols, n_rows, pad; /* pad > 0: x is a column view of a wider buffer */
    float p;
    int in_place;                 /* y = x (contiguous) */
} op_case;

static const op_case cases[] = {
    {1, 1, 0, 0.5f, 0},
    {1000, 7, 3, 0.1f, 0},    /* strided */
    {4096, 3, 0, 0.5f, 1},    /* in place */
    {3, 70000, 1, 0.3f, 0},   /* more rows than one dispatch dimension: grid striding */
    {257, 5, 0, 0.0f, 0},     /* identity */
    {255, 9, 2, 0.0f, 1},     /* identity in place */
    {513, 9, 0, 0.9f, 0},
};

/* Fraction of elements whose keep decision differs between two outputs of nonzero inputs. */
static double mask_diff(const float *a, const float *b, uint64_t n)
{
    uint64_t k = 0;
    for (uint64_t i = 0; i < n; i++) k += (a[i] != 0.0f) != (b[i] != 0.0f);
    return n ? (double)k / (double)n : 0.0;
}

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "dropout %ux%u pad %u p %g in_place %d", k->n_rows, k->n_cols,
             k->pad, (double)k->p, k->in_place);
    const uint32_t n = k->n_cols, rows = k->n_rows, ld = n + k->pad, col0 = k->pad ? 1 : 0;
    const uint64_t ne = (uint64_t)n * rows;
    const uint32_t dseed = (uint32_t)seed * 2654435761u, stream = 7;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *xw = silkie_malloc((size_t)ld * rows * 4), *x = silkie_malloc(ne * 4);
    float *want = silkie_malloc(ne * 4), *got = silkie_malloc(ne * 4);
    float *got_stream = silkie_malloc(ne * 4), *got_seed = silkie_malloc(ne * 4);
    /* Inputs bounded away from zero so that a zero output always means a dropped element. */
    for (uint64_t i = 0; i < (uint64_t)ld * rows; i++) {
        float v = sk_rng_uniform(&rng, 0.5f, 2.0f);
        xw[i] = sk_rng_u32(&rng) & 1 ? v : -v;
    }
    for (uint32_t r = 0; r < rows; r++)
        memcpy(x + (size_t)r * n, xw + (size_t)r * ld + col0, (size_t)n * 4);
    silkie_ref_dropout(x, want, ne, k->p, dseed, stream);

    silkie_owned_tensor tx = {0};
    sk_guarded gy = {0}, gs = {0}, gd = {0};
    const uint32_t ne_x[4] = {ld, rows, 1, 1}, ne_y[4] = {n, rows, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_x, xw, &tx) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gs) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gd)) {
        silkie_tensor xv = k->pad ? silkie_tensor_cols(&tx.t, col0, n) : tx.t;
        if (k->in_place) {
            SK_TEST_OK(silkie_vk_buffer_write(gy.o.t.buf, gy.o.t.offset, x, ne * 4));
            xv = gy.o.t;
        }
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            /* The other-stream and other-seed runs read x before the in-place run writes it;
             * the recorder puts the barrier between them. */
            SK_TEST_OK(silkie_op_dropout(&c, &xv, &gs.o.t, k->p, dseed, stream + 1));
            SK_TEST_OK(silkie_op_dropout(&c, &xv, &gd.o.t, k->p, dseed + 1, stream));
            SK_TEST_OK(silkie_op_dropout(&c, &xv, &gy.o.t, k->p, dseed, stream));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, ne * 4));
                SK_TEST_OK(silkie_tensor_download(&gs.o.t, got_stream, ne * 4));
                SK_TEST_OK(silkie_tensor_download(&gd.o.t, got_seed, ne * 4));
                sk_guarded_check(&gy, what);
                sk_guarded_check(&gs, what);
                sk_guarded_check(&gd, what);
                uint64_t first_bad = ne;
                for (uint64_t i = 0; i < ne && first_bad == ne; i++)
                    if (memcmp(&want[i], &got[i], 4)) first_bad = i;
                const uint64_t at = first_bad < ne ? first_bad : 0;
                SK_TEST_CHECK(first_bad == ne,
                              "%s: element %llu is %.9g, reference %.9g (seed %llu)", what,
                              (unsigned long long)first_bad, (double)got[at], (double)want[at],
                              (unsigned long long)seed);
                if (k->p == 0.0f)
                    SK_TEST_CHECK(!memcmp(got, x, ne * 4), "%s: p = 0 is not the identity", what);
                uint64_t kept = 0;
                for (uint64_t i = 0; i < ne; i++) kept += got[i] != 0.0f;
                double frac = (double)kept / (double)ne, q = 1.0 - k->p;
                double d_stream = mask_diff(got, got_stream, ne);
                double d_seed = mask_diff(got, got_seed, ne);
                /* Binomial counts: 5 standard deviations (a false alarm about once in 3.5
                 * million cases) around the expected kept fraction q and the expected fraction
                 * 2pq of decisions that differ between independent masks. */
                if (ne >= 1000) {
                    double sd = sqrt(k->p * q / (double)ne);
                    double e2 = 2 * k->p * q, sd2 = sqrt(e2 * (1 - e2) / (double)ne);
                    SK_TEST_CHECK(fabs(frac - q) <= 5 * sd + 1e-12, "%s: kept %.5f, want %.5f",
                                  what, frac, q);
                    SK_TEST_CHECK(fabs(d_stream - e2) <= 5 * sd2 + 1e-12,
                                  "%s: stream + 1 changes %.5f of the mask, want %.5f", what,
                                  d_stream, e2);
                    SK_TEST_CHECK(fabs(d_seed - e2) <= 5 * sd2 + 1e-12,
                                  "%s: seed + 1 changes %.5f of the mask, want %.5f", what,
                                  d_seed, e2);
                }
                printf("%-44s kept %.4f (want %.4f)  differs: stream %.4f seed %.4f (want %.4f)\n",
                       what, frac, q, d_stream, d_seed, 2 * k->p * q);
            }
        }
    }
    sk_guarded_free(&gy);
    sk_guarded_free(&gs);
    sk_guarded_free(&gd);
    silkie_tensor_free(&tx);
    silkie_free(xw);
    silkie_free(x);
    silkie_free(want);
    silkie_free(got);
    silkie_free(got_stream);
    silkie_free(got_seed);
}

/* Neighbouring streams must not give shifted copies of one mask: compare stream 0's hash at i
 * with stream 1's at i + s for a few shifts, and check the threshold's two ends. */
static void hash_checks(void)
{
    const uint32_t n = 1 << 16;
    for (uint32_t s = 0; s < 4; s++) {
        uint32_t same = 0;
        for (uint32_t i = 0; i < n; i++)
            same += (silkie_ref_dropout_hash(1, 0, i + s) >> 31) ==
                    (silkie_ref_dropout_hash(1, 1, i) >> 31);
        double f = (double)same / n; /* expect 0.5, sd 0.002 */
        SK_TEST_CHECK(fabs(f - 0.5) < 0.01, "hash: streams 0 and 1 agree on %.4f at shift %u", f,
                      s);
    }
    float one = 1.0f, y = 0.0f;
    silkie_ref_dropout(&one, &y, 1, 0.0f, 3, 4);
    SK_TEST_CHECK(y == 1.0f, "dropout ref: p = 0 drops or scales (%g)", (double)y);
}

/* The keep test is hash >= threshold: pick p so that the threshold equals one element's hash
 * exactly (a hash with 8 trailing zero bits is exact as f32 * 2^32), which must be kept by
 * both sides; a tie has odds of 2^-32 with random data. */
static void threshold_tie(silkie_vk_device *d)
{
    const uint32_t seed = 5, stream = 9;
    uint32_t i = 0, h = 0;
    for (;; i++) {
        h = silkie_ref_dropout_hash(seed, stream, i);
        if ((h & 0xff) == 0 && h >= 0x40000000u && h <= 0xc0000000u) break;
    }
    const float p = (float)((double)h / 4294967296.0);
    SK_TEST_CHECK((uint32_t)((double)p * 4294967296.0) == h, "tie: p does not hit the hash");
    const uint32_t n = i + 64; /* the tie sits inside the row, not at its end */
    float *x = silkie_malloc((size_t)n * 4), *want = silkie_malloc((size_t)n * 4);
    float *got = silkie_malloc((size_t)n * 4);
    for (uint32_t k = 0; k < n; k++) x[k] = 1.0f + (float)(k % 7);
    silkie_ref_dropout(x, want, n, p, seed, stream);
    SK_TEST_CHECK(want[i] != 0.0f, "tie: the reference drops the element at the threshold");
    silkie_owned_tensor tx = {0};
    sk_guarded gy = {0};
    const uint32_t ne[4] = {n, 1, 1, 1};
    silkie_op_ctx c;
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, x, &tx) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne, &gy) && sk_op_begin(d, &c)) {
        SK_TEST_OK(silkie_op_dropout(&c, &tx.t, &gy.o.t, p, seed, stream));
        if (sk_op_run(&c)) {
            SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, (uint64_t)n * 4));
            SK_TEST_CHECK(!memcmp(want, got, (size_t)n * 4),
                          "tie: element %u: op %g, reference %g (p %.9g)", i, (double)got[i],
                          (double)want[i], (double)p);
            sk_guarded_check(&gy, "dropout tie");
        }
    }
    sk_guarded_free(&gy);
    silkie_tensor_free(&tx);
    silkie_free(x);
    silkie_free(want);
    silkie_free(got);
}

/* Arguments outside the documented range are refused. */
static void bad_args(silkie_vk_device *d)
{
    silkie_owned_tensor t = {0};
    const uint32_t ne[4] = {4, 2, 1, 1};
    float x[8] = {0};
    silkie_op_ctx c;
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, x, &t) && sk_op_begin(d, &c)) {
        SK_TEST_STATUS(silkie_op_dropout(&c, &t.t, &t.t, 1.0f, 0, 0), SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_STATUS(silkie_op_dropout(&c, &t.t, &t.t, -0.1f, 0, 0),
                       SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_STATUS(silkie_op_dropout(&c, &t.t, &t.t, NAN, 0, 0), SILKIE_ERR_INVALID_ARGUMENT);
        sk_op_run(&c);
    }
    silkie_tensor_free(&t);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 1300 + i);
    hash_checks();
    threshold_tie(d);
    bad_args(d);
    return sk_test_device_finish(d, "test_dropout");
}
