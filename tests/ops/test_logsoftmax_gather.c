/* silkie_op_logsoftmax_gather (+ _finish, _back) against the double reference over whole rows:
 * several vocabulary blocks with an uneven last block, blocks as strided column views of one
 * [T, V] tensor or as separate contiguous tensors (with the backward written in place), unscored
 * rows (labels < 0), a label in every block, rows whose running max rises in a later block, more
 * rows than one grid dimension holds, and the real vocabulary size. Adds the sum of ~60 per-token
 * log-probabilities against double, central differences of a double forward for the backward,
 * and a replay that must repeat bit for bit. */
#include <string.h>

#include "harness_vk.h"
#include "ops/ops_train.h"
#include "ref/ref_train.h"

#define CANARY 0x5ca1ab1eu /* the fill of sk_guarded_alloc, tensor region included */

typedef struct {
    uint32_t T, V, Vb;
    int views;      /* 1: blocks are column views of one [T, V + 3] tensor; 0: separate tensors,
                       backward in place */
    int state_view; /* 1: state is columns [1, 5) of a [T, 6] tensor */
    float sigma;    /* logits ~ N(0, sigma^2) before the spikes */
} op_case;

static const op_case cases[] = {
    {1, 1, 1, 0, 0, 1.0f},
    {9, 1000, 256, 1, 0, 3.0f},     /* 4 blocks, last 232 wide */
    {11, 1000, 333, 0, 1, 3.0f},    /* last block 1 wide; in place; strided state */
    {66000, 3, 2, 1, 0, 1.0f},      /* more rows than one dispatch dimension: grid striding */
    {60, 151936, 40000, 1, 0, 1.0f}, /* Qwen vocabulary: log-probs ~ -12, 4 blocks */
};

static uint32_t n_blocks(const op_case *k) { return (k->V + k->Vb - 1) / k->Vb; }

/* log softmax(x)[label] in double with x_j replaced by xj (j = UINT32_MAX: none). */
static double row_logp(const float *x, uint32_t V, int32_t label, uint32_t j, double xj)
{
    double m = -INFINITY, s = 0.0;
    for (uint32_t i = 0; i < V; i++) m = fmax(m, i == j ? xj : x[i]);
    for (uint32_t i = 0; i < V; i++) s += exp((i == j ? xj : x[i]) - m);
    return ((uint32_t)label == j ? xj : x[label]) - m - log(s);
}

/* Row t: label -1 every fifth row, otherwise in block t % n_blocks (its first or last column on
 * some rows). Rows t % 3 == 1 get a spike of +12 in a block after the first, so their running
 * max rises there; on some of them the label is the spike. */
static void make_data(const op_case *k, sk_rng *rng, float *x, int32_t *labels)
{
    const uint32_t nb = n_blocks(k);
    for (uint64_t i = 0; i < (uint64_t)k->T * k->V; i++) x[i] = sk_rng_normal(rng) * k->sigma;
    for (uint32_t t = 0; t < k->T; t++) {
        uint32_t b = t % nb, v0 = b * k->Vb, vb = SK_MIN(k->Vb, k->V - v0);
        uint32_t col = v0 + (t % 7 == 0 ? 0 : t % 7 == 1 ? vb - 1 : sk_rng_u32(rng) % vb);
        labels[t] = t % 5 == 4 ? (t % 10 == 4 ? -1 : -100) : (int32_t)col;
        if (t % 3 == 1 && nb > 1) {
            uint32_t sb = 1 + t % (nb - 1), s0 = sb * k->Vb, sw = SK_MIN(k->Vb, k->V - s0);
            uint32_t spike = s0 + sk_rng_u32(rng) % sw;
            x[(uint64_t)t * k->V + spike] += 12.0f;
            if (t % 2 == 0 && labels[t] >= 0) labels[t] = (int32_t)spike;
        }
    }
}

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    char what[128];
    snprintf(what, sizeof what, "logsoftmax_gather T %u V %u Vb %u views %d", k->T, k->V, k->Vb,
             k->views);
    const uint32_t T = k->T, V = k->V, nb = n_blocks(k), ldx = V + 3, lds = k->state_view ? 6 : 4;
    const uint64_t ne = (uint64_t)T * V;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *x = silkie_malloc(ne * 4), *want_dx = silkie_malloc(ne * 4);
    float *got_dx = silkie_malloc(ne * 4), *tmp = silkie_malloc((uint64_t)T * ldx * 4);
    float *want_lp = silkie_malloc((size_t)T * 4), *want_lse = silkie_malloc((size_t)T * 4);
    float *got_lp = silkie_malloc((size_t)T * 4), *g = silkie_malloc((size_t)T * 4);
    float *st = silkie_malloc((size_t)T * lds * 4);
    int32_t *labels = silkie_malloc((size_t)T * 4);
    make_data(k, &rng, x, labels);
    for (uint32_t t = 0; t < T; t++) g[t] = labels[t] >= 0 ? sk_rng_uniform(&rng, -2, 2) : 0.0f;
    silkie_ref_logsoftmax_gather(x, labels, T, V, want_lp, want_lse);
    silkie_ref_logsoftmax_gather_back(x, labels, g, T, V, want_dx);

    silkie_owned_tensor tfull = {0}, tlab = {0}, tg = {0}, tblk[8];
    sk_guarded gst = {0}, glp = {0}, gdx[8];
    memset(tblk, 0, sizeof tblk);
    memset(gdx, 0, sizeof gdx);
    int ok = nb <= 8;
    const uint32_t ne_full[4] = {ldx, T, 1, 1}, ne_t[4] = {T, 1, 1, 1};
    const uint32_t ne_st[4] = {lds, T, 1, 1};
    if (k->views) { /* logits at columns [2, V + 2) of each row */
        for (uint32_t t = 0; t < T; t++) {
            float *row = tmp + (uint64_t)t * ldx;
            row[0] = row[1] = row[V + 2] = 1e30f; /* would dominate any row it leaked into */
            memcpy(row + 2, x + (uint64_t)t * V, (size_t)V * 4);
        }
        ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_full, tmp, &tfull);
    }
    for (uint32_t b = 0; ok && b < nb; b++) {
        uint32_t v0 = b * k->Vb, vb = SK_MIN(k->Vb, V - v0);
        const uint32_t ne_b[4] = {vb, T, 1, 1};
        if (!k->views) {
            for (uint32_t t = 0; t < T; t++)
                memcpy(tmp + (uint64_t)t * vb, x + (uint64_t)t * V + v0, (size_t)vb * 4);
            ok = sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_b, tmp, &tblk[b]);
        } else {
            ok = sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_b, &gdx[b]);
        }
    }
    ok = ok && sk_tensor_from_host(d, SILKIE_DTYPE_I32, ne_t, labels, &tlab) &&
         sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_t, g, &tg) &&
         sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_st, &gst) &&
         sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_t, &glp);
    silkie_op_ctx c = {0};
    if (ok && sk_op_begin(d, &c)) {
        silkie_tensor stv = k->state_view ? silkie_tensor_cols(&gst.o.t, 1, 4) : gst.o.t;
        silkie_tensor blk[8], dxv[8];
        for (uint32_t b = 0; b < nb; b++) {
            uint32_t v0 = b * k->Vb, vb = SK_MIN(k->Vb, V - v0);
            blk[b] = k->views ? silkie_tensor_cols(&tfull.t, 2 + v0, vb) : tblk[b].t;
            dxv[b] = k->views ? gdx[b].o.t : tblk[b].t; /* separate blocks: in place */
            SK_TEST_OK(silkie_op_logsoftmax_gather(&c, &blk[b], &tlab.t, v0, &stv, b == 0));
        }
        SK_TEST_OK(silkie_op_logsoftmax_gather_finish(&c, &stv, &tlab.t, &glp.o.t));
        for (uint32_t b = 0; b < nb; b++)
            SK_TEST_OK(silkie_op_logsoftmax_gather_back(&c, &blk[b], &tlab.t, b * k->Vb, &stv,
                                                        &tg.t, &dxv[b]));
        SK_TEST_OK(silkie_vk_cmd_end(c.cmd));
        if (silkie_vk_cmd_submit_wait(c.cmd) == SILKIE_OK) {
            SK_TEST_OK(silkie_tensor_download(&glp.o.t, got_lp, (uint64_t)T * 4));
            SK_TEST_OK(silkie_tensor_download(&gst.o.t, st, (uint64_t)T * lds * 4));
            for (uint32_t b = 0; b < nb; b++) {
                uint32_t v0 = b * k->Vb, vb = SK_MIN(k->Vb, V - v0);
                SK_TEST_OK(silkie_tensor_download(&dxv[b], tmp, (uint64_t)T * vb * 4));
                for (uint32_t t = 0; t < T; t++)
                    memcpy(got_dx + (uint64_t)t * V + v0, tmp + (uint64_t)t * vb, (size_t)vb * 4);
                if (k->views) sk_guarded_check(&gdx[b], what);
            }
            sk_guarded_check(&gst, what);
            sk_guarded_check(&glp, what);

            /* Per token: log-probs and lse. Bound: the f32 sum of V exponentials has a relative
             * error of at most ~(V / (256 * blocks) + 8) * 2^-24 (each invocation's sequential
             * run, then the 8-level tree), ~1e-5 for the largest case and typically 1e-7; lse
             * and the difference (label - m) - log(s) add a rounding at |x| < 32 (2e-6). */
            double lp_err = 0.0, lse_err = 0.0;
            int label_exact = 1, unscored_zero = 1;
            for (uint32_t t = 0; t < T; t++) {
                const float *sr = st + (size_t)t * lds + (k->state_view ? 1 : 0);
                lp_err = fmax(lp_err, fabs((double)got_lp[t] - want_lp[t]));
                lse_err = fmax(lse_err, fabs((double)sr[3] - want_lse[t]));
                if (labels[t] >= 0)
                    label_exact &= sr[2] == x[(uint64_t)t * V + (uint32_t)labels[t]];
                else
                    unscored_zero &= got_lp[t] == 0.0f;
                if (labels[t] < 0)
                    for (uint32_t j = 0; j < V; j++)
                        unscored_zero &= got_dx[(uint64_t)t * V + j] == 0.0f;
            }
            SK_TEST_CHECK(lp_err <= 2e-5, "%s: log-prob off by %.3g (seed %llu)", what, lp_err,
                          (unsigned long long)seed);
            SK_TEST_CHECK(lse_err <= 2e-5, "%s: lse off by %.3g (seed %llu)", what, lse_err,
                          (unsigned long long)seed);
            SK_TEST_CHECK(label_exact, "%s: state's label logit is not the logit", what);
            SK_TEST_CHECK(unscored_zero, "%s: an unscored row has a log-prob or gradient", what);
            if (k->state_view) { /* columns 0 and 5 of the strided state keep their canaries */
                int untouched = 1;
                for (uint32_t t = 0; t < T; t++) {
                    uint32_t a, b5;
                    memcpy(&a, st + (size_t)t * lds, 4);
                    memcpy(&b5, st + (size_t)t * lds + 5, 4);
                    untouched &= a == CANARY && b5 == CANARY;
                }
                SK_TEST_CHECK(untouched, "%s: state columns outside the view written", what);
            }

            /* The DPO quantity: the sum of the scored rows' log-probs (first 60 rows) against a
             * double forward; ~1e-5 relative is what the trainer needs, errors measured ~1e-8. */
            double sum_got = 0.0, sum_ref = 0.0;
            for (uint32_t t = 0; t < T && t < 60; t++) {
                if (labels[t] < 0) continue;
                sum_got += got_lp[t];
                sum_ref += row_logp(x + (uint64_t)t * V, V, labels[t], UINT32_MAX, 0.0);
            }
            double sum_rel = sum_ref != 0.0 ? fabs(sum_got - sum_ref) / fabs(sum_ref) : 0.0;
            SK_TEST_CHECK(sum_rel <= 1e-5, "%s: sum of log-probs %.9g, double %.9g", what, sum_got,
                          sum_ref);

            double gmax = 0.0;
            for (uint32_t t = 0; t < T; t++) gmax = fmax(gmax, fabs(g[t]));
            sk_check_close(what, want_dx, got_dx, ne, 1e-7, 1e-6 * gmax + 1e-9, seed);

            /* Central differences of L = sum_t g_t logp_t at 32 coordinates of scored rows: the
             * label, a spike (if any) and random columns. Bound: the op's probabilities carry
             * ~1e-6 relative error (exp, the f32 sum); the double central difference with
             * h = 1e-3 has truncation h^2 / 6 * max|p(1-p)(1-2p)| < 2e-8 and rounding
             * ~1e-16 * 15 / h. 5e-6 * |g_t| covers both. */
            double fd_worst = 0.0;
            for (int q = 0; q < 32 && V > 1; q++) {
                uint32_t t = sk_rng_u32(&rng) % T;
                while (labels[t] < 0) t = (t + 1) % T;
                const float *xr = x + (uint64_t)t * V;
                uint32_t j = sk_rng_u32(&rng) % V;
                if (q % 4 == 0) j = (uint32_t)labels[t];
                if (q % 4 == 1)
                    for (uint32_t i = 0; i < V; i++)
                        if (xr[i] > xr[j]) j = i;
                const double h = 1e-3;
                double fd = g[t] * (row_logp(xr, V, labels[t], j, xr[j] + h) -
                                    row_logp(xr, V, labels[t], j, xr[j] - h)) /
                            (2 * h);
                double e = fabs(fd - got_dx[(uint64_t)t * V + j]) / fmax(fabs(g[t]), 1e-30);
                fd_worst = fmax(fd_worst, e);
                SK_TEST_CHECK(e <= 5e-6, "%s: row %u col %u: op %.9g, central difference %.9g",
                              what, t, j, (double)got_dx[(uint64_t)t * V + j], fd);
            }

            /* Replay: same bits (fixed reduction order). Views only: in place, the blocks
             * now hold gradients. */
            if (k->views) {
                float *again = silkie_malloc((size_t)T * 4);
                SK_TEST_OK(silkie_vk_cmd_submit_wait(c.cmd));
                SK_TEST_OK(silkie_tensor_download(&glp.o.t, again, (uint64_t)T * 4));
                SK_TEST_CHECK(!memcmp(again, got_lp, (size_t)T * 4), "%s: replay differs", what);
                silkie_free(again);
            }
            printf("%-52s |dlogp| %.2e |dlse| %.2e sum rel %.2e dx nmse %.2e fd %.2e\n", what,
                   lp_err, lse_err, sum_rel, sk_nmse(want_dx, got_dx, ne), fd_worst);
        } else {
            SK_TEST_CHECK(0, "%s: submit failed: %s", what, silkie_last_error());
        }
    }
    silkie_vk_cmd_destroy(c.cmd);
    for (uint32_t b = 0; b < 8; b++) {
        silkie_tensor_free(&tblk[b]);
        sk_guarded_free(&gdx[b]);
    }
    silkie_tensor_free(&tfull);
    silkie_tensor_free(&tlab);
    silkie_tensor_free(&tg);
    sk_guarded_free(&gst);
    sk_guarded_free(&glp);
    silkie_free(x);
    silkie_free(want_dx);
    silkie_free(got_dx);
    silkie_free(tmp);
    silkie_free(want_lp);
    silkie_free(want_lse);
    silkie_free(got_lp);
    silkie_free(g);
    silkie_free(st);
    silkie_free(labels);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 1400 + i);
    return sk_test_device_finish(d, "test_logsoftmax_gather");
}
