/* silkie_op_adamw over several steps in a row (1, 2, 10, 1000), each judged from the state the
 * device held before it: against the float reference at ulp level, and against the documented
 * formula evaluated in double. Also: weight decay on and off, grad_scale != 1, sizes that are
 * not a multiple of the workgroup, more elements than 65535 workgroups cover (grid striding),
 * zero gradients that must leave p unchanged, tensors split into parts that do not line up,
 * canary guards around p, m and v, and argument errors that record nothing.
 *
 * Bound against the reference: the shader rounds every +, - and * correctly, unfused and in the
 * reference's order (m and v come out bit-identical; 1 ulp is allowed), but Vulkan lets sqrt
 * (inherited from inversesqrt, ~5 ulp) and division (2.5 ulp each, two of them) round
 * differently. That moves the update u = step_size * m / denom by at most ~11 ulp of itself;
 * the final p - u may then round the other way: |dp| <= 1 ulp(p) + 16 ulp(u). */
#include <string.h>

#include "harness_vk.h"
#include "ops/ops_train.h"
#include "ref/ref_train.h"

typedef struct {
    uint32_t n_cols, n_rows;
    float lr, beta1, beta2, eps, weight_decay, grad_scale;
    uint32_t n_steps; /* first n of k_steps; 0 = all */
} op_case;

static const op_case cases[] = {
    /* n_cols, n_rows, lr, beta1, beta2, eps, weight_decay, grad_scale, n_steps */
    {1, 1, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f, 1.0f},
    {255, 1, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1.0f},     /* below one workgroup */
    {1000, 3, 1e-2f, 0.9f, 0.95f, 1e-6f, 0.1f, 0.25f},     /* not a multiple of 256 */
    {4097, 5, 3e-4f, 0.0f, 0.99f, 1e-8f, 0.0f, 4.0f},      /* beta1 = 0 */
    {777, 33, 1e-1f, 0.5f, 0.25f, 1e-3f, 0.5f, 0.125f},    /* betas < 0.5: 1 - beta rounds */
    /* More than 65535 workgroups of 256 cover: grid striding (two steps keep it quick). */
    {4097, 4096, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 0.5f, 2},
};

static const uint32_t k_steps[] = {1, 2, 10, 1000};
static const double k_u = 1.0 / 16777216.0; /* unit roundoff 2^-24 */

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Distance in representable floats (0 for +0 vs -0). */
static uint64_t ulp_diff(float a, float b)
{
    int64_t ia = (int32_t)bits(a), ib = (int32_t)bits(b);
    if (ia < 0) ia = (int64_t)INT32_MIN - ia;
    if (ib < 0) ib = (int64_t)INT32_MIN - ib;
    return (uint64_t)(ia > ib ? ia - ib : ib - ia);
}

static double ulp_of(double x)
{
    float f = fabsf((float)x);
    return (double)nextafterf(f, INFINITY) - f;
}

typedef struct {
    uint64_t ulp_p, ulp_m, ulp_v; /* largest ulp distances to the reference */
    double ref_ratio;              /* largest |dp| / bound against the reference */
    double formula_ratio;          /* largest |error| / tolerance against the double formula */
} step_stats;

/* Host copies of one tensor state. */
typedef struct {
    float *p, *m, *v;
} state;

static int state_alloc(state *s, uint64_t n)
{
    s->p = silkie_malloc(n * 4);
    s->m = silkie_malloc(n * 4);
    s->v = silkie_malloc(n * 4);
    return s->p && s->m && s->v;
}

static void state_free(state *s)
{
    silkie_free(s->p);
    silkie_free(s->m);
    silkie_free(s->v);
}

/* Compares the device's new state `got` with the reference applied to `before`, and with the
 * documented formula in double. The formula tolerance: m and v carry at most 2 roundings of
 * their two terms (plus one of 1 - beta when beta < 0.5), so 4u of the terms' magnitudes; the
 * update ~11 ulp (see the top) and the rounded constants, 48u allowed, plus what the m and v
 * errors move it by; p then one rounding of p * decay and one of the difference. */
static void compare(const char *what, const op_case *k, uint32_t step, const state *before,
                    const float *g, const state *got, state *ref, uint64_t n, step_stats *st)
{
    memcpy(ref->p, before->p, n * 4);
    memcpy(ref->m, before->m, n * 4);
    memcpy(ref->v, before->v, n * 4);
    silkie_ref_adamw(ref->p, g, ref->m, ref->v, n, k->lr, k->beta1, k->beta2, k->eps,
                     k->weight_decay, k->grad_scale, step);
    const double b1 = k->beta1, b2 = k->beta2;
    const double step_size = k->lr / (1.0 - pow(b1, step)), bc2 = sqrt(1.0 - pow(b2, step));
    const double decay = 1.0 - (double)k->lr * k->weight_decay;
    *st = (step_stats){0};
    int reported = 0;
    for (uint64_t i = 0; i < n; i++) {
        const uint64_t dp = ulp_diff(got->p[i], ref->p[i]), dm = ulp_diff(got->m[i], ref->m[i]);
        const uint64_t dv = ulp_diff(got->v[i], ref->v[i]);
        st->ulp_p = SK_MAX(st->ulp_p, dp);
        st->ulp_m = SK_MAX(st->ulp_m, dm);
        st->ulp_v = SK_MAX(st->ulp_v, dv);
        const double upd_ref = step_size * fabs(ref->m[i]) / (sqrt(ref->v[i]) / bc2 + k->eps);
        const double bound_p = ulp_of(ref->p[i]) + 16.0 * 2.0 * k_u * upd_ref * 1.001;
        const double err_p = fabs((double)got->p[i] - ref->p[i]);
        st->ref_ratio = fmax(st->ref_ratio, err_p / bound_p);

        const double gs = (double)k->grad_scale * g[i];
        const double mt0 = b1 * before->m[i], mt1 = (1.0 - b1) * gs;
        const double vt0 = b2 * before->v[i], vt1 = (1.0 - b2) * gs * gs;
        const double md = mt0 + mt1, vd = vt0 + vt1;
        const double denom = sqrt(vd) / bc2 + k->eps;
        const double upd = step_size * md / denom;
        const double pd = before->p[i] * decay - upd;
        const double tol_m = 4 * k_u * (fabs(mt0) + fabs(mt1)) + 1e-45;
        const double tol_v = 4 * k_u * (vt0 + vt1) + 1e-45;
        const double rel_v = vd > 0 ? tol_v / (2 * vd) : 0.0;
        const double tol_upd = fabs(upd) * (48 * k_u + rel_v) + step_size * tol_m / denom;
        const double tol_p = tol_upd + 2 * k_u * fabs(before->p[i] * decay) + 2 * ulp_of(pd);
        const double r = fmax(fmax(fabs(got->m[i] - md) / tol_m, fabs(got->v[i] - vd) / tol_v),
                              fabs(got->p[i] - pd) / tol_p);
        st->formula_ratio = fmax(st->formula_ratio, r);

        const int bad = dm > 1 || dv > 1 || err_p > bound_p || !(r <= 1.0);
        if (bad && reported++ < 5)
            SK_TEST_CHECK(!bad,
                          "%s step %u [%llu]: p %.9g ref %.9g formula %.12g; m %.9g ref %.9g; "
                          "v %.9g ref %.9g",
                          what, step, (unsigned long long)i, (double)got->p[i],
                          (double)ref->p[i], pd, (double)got->m[i], (double)ref->m[i],
                          (double)got->v[i], (double)ref->v[i]);
    }
}

/* Gradients spread over magnitudes 2^-12 .. 2^2, with some exact zeros. */
static void fill_grad(sk_rng *rng, float *g, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uint32_t r = sk_rng_u32(rng);
        g[i] = r % 61 == 0 ? 0.0f : ldexpf(sk_rng_uniform(rng, -1, 1), (int)(r % 15) - 12);
    }
}

static int upload(const silkie_tensor *t, const float *data)
{
    silkie_status st = silkie_tensor_write_rows(t, 0, silkie_tensor_rows(t), data);
    SK_TEST_OK(st);
    return st == SILKIE_OK;
}

static int download(const silkie_tensor *t, float *data)
{
    silkie_status st = silkie_tensor_read_rows(t, 0, silkie_tensor_rows(t), data);
    SK_TEST_OK(st);
    return st == SILKIE_OK;
}

/* Runs the k_steps sequence on device tensors p, g, m, v (already holding `cur`), checking each
 * step; `cur` follows the device. Returns 0 after a failure that makes going on pointless. */
static int run_steps(silkie_vk_device *d, const char *what, const op_case *k, silkie_tensor *p,
                     const silkie_tensor *g, silkie_tensor *m, silkie_tensor *v, state *cur,
                     uint64_t n, sk_rng *rng, uint32_t expect_dispatches)
{
    float *gh = silkie_malloc(n * 4);
    state got = {0}, ref = {0};
    int ok = gh && state_alloc(&got, n) && state_alloc(&ref, n);
    SK_TEST_CHECK(ok, "%s: out of host memory", what);
    const size_t n_steps = k->n_steps ? k->n_steps : SK_ARRAY_LEN(k_steps);
    for (size_t s = 0; ok && s < n_steps; s++) {
        fill_grad(rng, gh, n);
        ok = upload(g, gh);
        silkie_op_ctx c;
        if (!ok) break;
        if (!sk_op_begin(d, &c)) {
            ok = 0;
            break;
        }
        const silkie_adamw_params ap = {.lr = k->lr, .beta1 = k->beta1, .beta2 = k->beta2,
                                        .eps = k->eps, .weight_decay = k->weight_decay,
                                        .grad_scale = k->grad_scale, .step = k_steps[s]};
        SK_TEST_OK(silkie_op_adamw(&c, p, g, m, v, &ap));
        if (expect_dispatches)
            SK_TEST_CHECK(silkie_vk_cmd_n_dispatches(c.cmd) == expect_dispatches,
                          "%s: %u dispatches, want %u", what, silkie_vk_cmd_n_dispatches(c.cmd),
                          expect_dispatches);
        ok = sk_op_run(&c) && download(p, got.p) && download(m, got.m) && download(v, got.v);
        if (!ok) break;
        step_stats st;
        compare(what, k, k_steps[s], cur, gh, &got, &ref, n, &st);
        printf("%-44s step %4u: ulp p %llu m %llu v %llu, |dp|/bound %.3f, formula %.3f\n", what,
               k_steps[s], (unsigned long long)st.ulp_p, (unsigned long long)st.ulp_m,
               (unsigned long long)st.ulp_v, st.ref_ratio, st.formula_ratio);
        state t = *cur;
        *cur = got;
        got = t;
    }
    state_free(&got);
    state_free(&ref);
    silkie_free(gh);
    return ok;
}

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[96];
    snprintf(what, sizeof what, "adamw %ux%u wd %g gs %g b %g/%g", k->n_rows, k->n_cols,
             (double)k->weight_decay, (double)k->grad_scale, (double)k->beta1,
             (double)k->beta2);
    const uint64_t n = (uint64_t)k->n_cols * k->n_rows;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    state cur = {0};
    if (!state_alloc(&cur, n)) {
        SK_TEST_CHECK(0, "%s: out of host memory", what);
        state_free(&cur);
        return;
    }
    sk_fill_uniform(&rng, cur.p, n, -1, 1);
    memset(cur.m, 0, n * 4);
    memset(cur.v, 0, n * 4);
    const uint32_t ne[4] = {k->n_cols, k->n_rows, 1, 1};
    sk_guarded gp = {0}, gm = {0}, gv = {0};
    silkie_owned_tensor tg = {0};
    if (sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne, &gp) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne, &gm) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne, &gv) &&
        silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, &tg) ==
            SILKIE_OK &&
        upload(&gp.o.t, cur.p) && upload(&gm.o.t, cur.m) && upload(&gv.o.t, cur.v)) {
        if (run_steps(d, what, k, &gp.o.t, &tg.t, &gm.o.t, &gv.o.t, &cur, n, &rng, 1)) {
            sk_guarded_check(&gp, what);
            sk_guarded_check(&gm, what);
            sk_guarded_check(&gv, what);
        }
    }
    sk_guarded_free(&gp);
    sk_guarded_free(&gm);
    sk_guarded_free(&gv);
    silkie_tensor_free(&tg);
    state_free(&cur);
}

/* A zero gradient with zero weight decay from a fresh state leaves p bit-identical (and m, v
 * zero): the update is step_size * (0 / eps) = 0 and the decay factor is exactly 1. */
static void zero_grad(silkie_vk_device *d, uint64_t seed)
{
    const uint32_t n = 3001;
    const uint32_t ne[4] = {n, 1, 1, 1};
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *p0 = silkie_malloc(n * 4), *z = silkie_malloc(n * 4), *got = silkie_malloc(n * 4);
    float *mg = silkie_malloc(n * 4), *vg = silkie_malloc(n * 4);
    sk_fill_uniform(&rng, p0, n, -4, 4);
    p0[0] = 0.0f;
    p0[1] = -0.0f;
    p0[2] = 1e-30f;
    memset(z, 0, n * 4);
    silkie_owned_tensor tp = {0}, tg = {0}, tm = {0}, tv = {0};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, p0, &tp) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, z, &tg) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, z, &tm) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, z, &tv)) {
        for (uint32_t step = 1; step <= 3; step++) {
            silkie_op_ctx c;
            if (!sk_op_begin(d, &c)) break;
            const silkie_adamw_params ap = {.lr = 0.5f, .beta1 = 0.9f, .beta2 = 0.999f,
                                            .eps = 1e-8f, .weight_decay = 0.0f,
                                            .grad_scale = step == 2 ? 3.0f : 1.0f, .step = step};
            SK_TEST_OK(silkie_op_adamw(&c, &tp.t, &tg.t, &tm.t, &tv.t, &ap));
            if (!sk_op_run(&c)) break;
            SK_TEST_OK(silkie_tensor_download(&tp.t, got, n * 4));
            SK_TEST_OK(silkie_tensor_download(&tm.t, mg, n * 4));
            SK_TEST_OK(silkie_tensor_download(&tv.t, vg, n * 4));
            SK_TEST_CHECK(!memcmp(got, p0, n * 4) && !memcmp(mg, z, n * 4) &&
                              !memcmp(vg, z, n * 4),
                          "adamw zero gradient: step %u changed p, m or v", step);
        }
        float ref[3] = {p0[0], p0[1], p0[2]}, zm[3] = {0}, zv[3] = {0};
        silkie_ref_adamw(ref, z, zm, zv, 3, 0.5f, 0.9f, 0.999f, 1e-8f, 0.0f, 1.0f, 1);
        SK_TEST_CHECK(!memcmp(ref, p0, sizeof ref), "adamw reference: zero gradient moved p");
        printf("%-44s p, m, v bit-identical over 3 steps\n", "adamw zero gradient, no decay");
    }
    silkie_tensor_free(&tp);
    silkie_tensor_free(&tg);
    silkie_tensor_free(&tm);
    silkie_tensor_free(&tv);
    silkie_free(p0);
    silkie_free(z);
    silkie_free(got);
    silkie_free(mg);
    silkie_free(vg);
}

/* On a device whose bindings hold 64 KiB: p, m, v split in 7 parts of 15 rows (the allocator's
 * choice), g in 8 hand-made parts of 13 rows at unaligned offsets, so the op walks 14 runs. */
static void split(uint64_t seed)
{
    silkie_vk_device_params dp;
    silkie_vk_device_params_init(&dp);
    dp.validation = 1;
    dp.max_binding_bytes = 65536;
    silkie_vk_device *d = NULL;
    SK_TEST_OK(silkie_vk_device_create(&dp, &d));
    if (!d) return;
    const op_case k = {1000, 100, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.05f, 0.5f};
    const uint64_t n = (uint64_t)k.n_cols * k.n_rows;
    const uint32_t ne[4] = {k.n_cols, k.n_rows, 1, 1}, g_rows = 13;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    state cur = {0};
    silkie_owned_tensor tp = {0}, tm = {0}, tv = {0}, tg = {0}; /* tg owns the g buffers */
    int ok = state_alloc(&cur, n);
    if (ok) {
        sk_fill_uniform(&rng, cur.p, n, -1, 1);
        memset(cur.m, 0, n * 4);
        memset(cur.v, 0, n * 4);
    }
    const uint32_t n_gparts = (k.n_rows + g_rows - 1) / g_rows;
    for (uint32_t i = 0; ok && i < n_gparts; i++) {
        const uint64_t off = 20 + 4 * i; /* not a multiple of any binding alignment */
        ok = silkie_vk_buffer_create(d, SILKIE_VK_POOL_ACTIVATIONS,
                                     off + (uint64_t)g_rows * k.n_cols * 4,
                                     &tg.bufs[i]) == SILKIE_OK;
        tg.parts[i] = (silkie_tensor_part){tg.bufs[i], off};
    }
    tg.t = (silkie_tensor){.dtype = SILKIE_DTYPE_F32, .ne = {ne[0], ne[1], 1, 1},
                           .n_parts = n_gparts, .part_rows = g_rows, .parts = tg.parts};
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, cur.p, &tp) &&
         sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, cur.m, &tm) &&
         sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne, cur.v, &tv);
    SK_TEST_CHECK(ok, "adamw split: setup failed");
    if (ok) {
        SK_TEST_CHECK(tp.t.n_parts == 7 && tp.t.part_rows == 15, "adamw split: %u parts of %u",
                      tp.t.n_parts, tp.t.part_rows);
        run_steps(d, "adamw split 100x1000 (p 7 parts, g 8)", &k, &tp.t, &tg.t, &tm.t, &tv.t,
                  &cur, n, &rng, 14);
    }
    silkie_tensor_free(&tp);
    silkie_tensor_free(&tm);
    silkie_tensor_free(&tv);
    silkie_tensor_free(&tg);
    state_free(&cur);
    SK_TEST_CHECK(silkie_vk_validation_messages(d) == 0, "adamw split: validation messages");
    silkie_vk_device_destroy(d);
}

/* Bad arguments return a status and record nothing. */
static void errors(silkie_vk_device *d)
{
    const uint32_t ne[4] = {64, 4, 1, 1}, ne2[4] = {64, 5, 1, 1};
    silkie_owned_tensor a = {0}, b = {0}, h = {0}, o = {0};
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, &a));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, &b));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F16, ne, &h));
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne2, &o));
    silkie_op_ctx c;
    if (a.t.buf && b.t.buf && h.t.buf && o.t.buf && sk_op_begin(d, &c)) {
        const silkie_adamw_params good = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
                                          .eps = 1e-8f, .grad_scale = 1.0f, .step = 1};
        silkie_adamw_params ap = good;
        silkie_tensor wide = silkie_tensor_2d(o.t.buf, 0, SILKIE_DTYPE_F32, 64, 4);
        silkie_tensor strided = silkie_tensor_cols(&wide, 0, 64);
        strided.row_stride = 80;
        SK_TEST_STATUS(silkie_op_adamw(&c, &a.t, &b.t, &a.t, &o.t, &ap),
                       SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_STATUS(silkie_op_adamw(&c, &a.t, &h.t, &a.t, &b.t, &ap), SILKIE_ERR_UNSUPPORTED);
        SK_TEST_STATUS(silkie_op_adamw(&c, &a.t, &b.t, &strided, &b.t, &ap),
                       SILKIE_ERR_UNSUPPORTED);
        SK_TEST_STATUS(silkie_op_adamw(&c, &a.t, &b.t, &a.t, &b.t, NULL),
                       SILKIE_ERR_INVALID_ARGUMENT);
        ap.step = 0;
        SK_TEST_STATUS(silkie_op_adamw(&c, &a.t, &b.t, &a.t, &b.t, &ap),
                       SILKIE_ERR_INVALID_ARGUMENT);
        ap = good;
        ap.beta1 = 1.0f;
        SK_TEST_STATUS(silkie_op_adamw(&c, &a.t, &b.t, &a.t, &b.t, &ap),
                       SILKIE_ERR_INVALID_ARGUMENT);
        ap = good;
        ap.eps = NAN;
        SK_TEST_STATUS(silkie_op_adamw(&c, &a.t, &b.t, &a.t, &b.t, &ap),
                       SILKIE_ERR_INVALID_ARGUMENT);
        ap = good;
        ap.lr = -1.0f;
        SK_TEST_STATUS(silkie_op_adamw(&c, &a.t, &b.t, &a.t, &b.t, &ap),
                       SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_CHECK(silkie_vk_cmd_n_dispatches(c.cmd) == 0, "adamw errors recorded work");
        sk_op_run(&c);
    }
    silkie_tensor_free(&a);
    silkie_tensor_free(&b);
    silkie_tensor_free(&h);
    silkie_tensor_free(&o);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 3100 + i);
    zero_grad(d, 3197);
    errors(d);
    split(3198);
    return sk_test_device_finish(d, "test_adamw");
}
