/* silkie_op_swiglu_back against the reference: a and b as column views of one fused activation,
 * dy strided, and da, db as column views of one [T, 2F] gradient (the MLP layout); contiguous
 * tensors; gates large enough to saturate the sigmoid; more rows than one grid dimension holds;
 * plus central differences of a double-precision forward. */
#include <string.h>

#include "harness_vk.h"
#include "ops/ops_train.h"
#include "ref/ref_train.h"

#define CANARY 0x5ca1ab1eu /* the fill of sk_guarded_alloc, tensor region included */

typedef struct {
    uint32_t n_cols, n_rows;
    int fused;     /* 1: a, b from one [rows, 2n + 1] buffer; da, db into one [rows, 2n + 3] */
    float b_range; /* gates uniform in [-b_range, b_range] */
} op_case;

static const op_case cases[] = {
    {1, 1, 0, 6},
    {11008, 2, 1, 6},  /* LLM MLP width, fused */
    {255, 7, 0, 30},   /* not a multiple of the workgroup; saturated sigmoid both ways */
    {128, 33, 1, 6},   /* tiny-model width, odd rows */
    {5, 66000, 1, 6},  /* more rows than one dispatch dimension: grid striding */
};

/* L = sum r * a * silu(b) for one element, in double. */
static double loss(double a, double b, double r) { return r * a * b / (1.0 + exp(-b)); }

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "swiglu_back %ux%u fused %d b %g", k->n_rows, k->n_cols,
             k->fused, (double)k->b_range);
    const uint32_t n = k->n_cols, rows = k->n_rows;
    const uint64_t ne = (uint64_t)n * rows;
    const uint32_t ld_in = k->fused ? 2 * n + 1 : n, ld_out = k->fused ? 2 * n + 3 : n;
    const uint32_t ld_dy = k->fused ? n + 2 : n, dy0 = k->fused ? 1 : 0;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *fin = silkie_malloc((size_t)ld_in * rows * 4), *fb = silkie_malloc(ne * 4);
    float *a = silkie_malloc(ne * 4), *b = silkie_malloc(ne * 4), *dy = silkie_malloc(ne * 4);
    float *want_a = silkie_malloc(ne * 4), *want_b = silkie_malloc(ne * 4);
    float *got_a = silkie_malloc(ne * 4), *got_b = silkie_malloc(ne * 4);
    float *gout = silkie_malloc((size_t)ld_out * rows * 4);
    float *dyw = silkie_malloc((size_t)ld_dy * rows * 4);
    sk_fill_uniform(&rng, fin, (uint64_t)ld_in * rows, -3, 3);
    sk_fill_uniform(&rng, fb, ne, -k->b_range, k->b_range);
    sk_fill_uniform(&rng, dyw, (uint64_t)ld_dy * rows, -1, 1);
    for (uint32_t r = 0; r < rows; r++) {
        if (k->fused) /* gates in the second half, rescaled to the case's range */
            for (uint32_t i = 0; i < n; i++)
                fin[(size_t)r * ld_in + n + i] = fb[(size_t)r * n + i];
        memcpy(a + (size_t)r * n, fin + (size_t)r * ld_in, (size_t)n * 4);
        memcpy(dy + (size_t)r * n, dyw + (size_t)r * ld_dy + dy0, (size_t)n * 4);
        memcpy(b + (size_t)r * n, k->fused ? fin + (size_t)r * ld_in + n : fb + (size_t)r * n,
               (size_t)n * 4);
    }
    silkie_ref_swiglu_back(a, b, dy, want_a, want_b, ne);

    silkie_owned_tensor tin = {0}, tb = {0}, tdy = {0};
    sk_guarded gda = {0}, gdb = {0};
    const uint32_t ne_in[4] = {ld_in, rows, 1, 1}, ne_t[4] = {n, rows, 1, 1};
    const uint32_t ne_out[4] = {ld_out, rows, 1, 1}, ne_dy[4] = {ld_dy, rows, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_in, fin, &tin) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_t, fb, &tb) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_dy, dyw, &tdy) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, k->fused ? ne_out : ne_t, &gda) &&
        (k->fused || sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_t, &gdb))) {
        silkie_tensor av = k->fused ? silkie_tensor_cols(&tin.t, 0, n) : tin.t;
        silkie_tensor bv = k->fused ? silkie_tensor_cols(&tin.t, n, n) : tb.t;
        silkie_tensor dyv = k->fused ? silkie_tensor_cols(&tdy.t, dy0, n) : tdy.t;
        /* Fused: da at columns [1, n + 1), db at [n + 2, 2n + 2), so both start unaligned and
         * the untouched columns between must keep their canaries. */
        silkie_tensor dav = k->fused ? silkie_tensor_cols(&gda.o.t, 1, n) : gda.o.t;
        silkie_tensor dbv = k->fused ? silkie_tensor_cols(&gda.o.t, n + 2, n) : gdb.o.t;
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_OK(silkie_op_swiglu_back(&c, &av, &bv, &dyv, &dav, &dbv));
            if (sk_op_run(&c)) {
                if (k->fused) {
                    SK_TEST_OK(silkie_tensor_download(&gda.o.t, gout, (uint64_t)ld_out * rows * 4));
                    int canary_ok = 1;
                    for (uint32_t r = 0; r < rows; r++) {
                        const float *row = gout + (size_t)r * ld_out;
                        memcpy(got_a + (size_t)r * n, row + 1, (size_t)n * 4);
                        memcpy(got_b + (size_t)r * n, row + n + 2, (size_t)n * 4);
                        uint32_t gap[3] = {0, n + 1, 2 * n + 2}, v;
                        for (int g = 0; g < 3; g++) {
                            memcpy(&v, row + gap[g], 4);
                            canary_ok &= v == CANARY;
                        }
                    }
                    SK_TEST_CHECK(canary_ok, "%s: a column outside da, db was written", what);
                } else {
                    SK_TEST_OK(silkie_tensor_download(&gda.o.t, got_a, ne * 4));
                    SK_TEST_OK(silkie_tensor_download(&gdb.o.t, got_b, ne * 4));
                    sk_guarded_check(&gdb, what);
                }
                sk_guarded_check(&gda, what);
                char wa[128], wb[128];
                snprintf(wa, sizeof wa, "%s da", what);
                snprintf(wb, sizeof wb, "%s db", what);
                sk_check_close(wa, want_a, got_a, ne, 1e-7, 1e-5 * sk_max_abs(want_a, ne), seed);
                sk_check_close(wb, want_b, got_b, ne, 1e-7, 1e-5 * sk_max_abs(want_b, ne), seed);
                /* Central differences at 32 elements. Bound: the op's few f32 roundings give
                 * ~1e-6 relative error; the double central difference with h = 1e-4 has
                 * truncation h^2 |f'''| / 6 < 1e-8 for |a| <= 3 and rounding ~1e-12. 1e-5 of
                 * the element's scale (|dy| * (|a| + |b| + 1)) covers both. */
                double fd_worst = 0.0;
                for (int t = 0; t < 32; t++) {
                    uint64_t i = ((uint64_t)sk_rng_u32(&rng) << 16 ^ sk_rng_u32(&rng)) % ne;
                    const double h = 1e-4, av_ = a[i], bv_ = b[i], r = dy[i];
                    double fa = (loss(av_ + h, bv_, r) - loss(av_ - h, bv_, r)) / (2 * h);
                    double fbd = (loss(av_, bv_ + h, r) - loss(av_, bv_ - h, r)) / (2 * h);
                    double scale = fabs(r) * (fabs(av_) + fabs(bv_) + 1.0) + 1e-30;
                    double ea = fabs(fa - got_a[i]) / scale, eb = fabs(fbd - got_b[i]) / scale;
                    fd_worst = fmax(fd_worst, fmax(ea, eb));
                    SK_TEST_CHECK(ea <= 1e-5 && eb <= 1e-5,
                                  "%s: element %llu: da %.9g vs %.9g, db %.9g vs %.9g", what,
                                  (unsigned long long)i, (double)got_a[i], fa, (double)got_b[i],
                                  fbd);
                }
                printf("%-40s nmse da %.2e db %.2e  fd %.2e\n", what, sk_nmse(want_a, got_a, ne),
                       sk_nmse(want_b, got_b, ne), fd_worst);
            }
        }
    }
    sk_guarded_free(&gda);
    sk_guarded_free(&gdb);
    silkie_tensor_free(&tin);
    silkie_tensor_free(&tb);
    silkie_tensor_free(&tdy);
    silkie_free(fin);
    silkie_free(fb);
    silkie_free(a);
    silkie_free(b);
    silkie_free(dy);
    silkie_free(want_a);
    silkie_free(want_b);
    silkie_free(got_a);
    silkie_free(got_b);
    silkie_free(gout);
    silkie_free(dyw);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 1200 + i);
    return sk_test_device_finish(d, "test_swiglu_back");
}
