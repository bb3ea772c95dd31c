/* Device sampling gives the host sampler's tokens.
 *
 * Part 1 (no device): silkie_sampler_pick, fed by the reference device step (ref/sample.c)
 * on synthetic logits, against silkie_sampler_sample on the same logits, one sampler of each
 * with the same seed, over many steps of greedy, top-k, top-p, both, penalties above and below
 * 1, peaked, flat, tied and -inf logits. The reference's normaliser is exact, so each step's
 * is moved by a random amount within the bound the device's may be off by
 * (silkie_op_sample_sum_tolerance), sometimes all the way: the tokens and the random streams
 * must stay equal, whether a step picks or falls back.
 *
 * Part 2 (the golden tiny model, text only, on the Vulkan device): for each setting and seed,
 * a session sampling on the device and one forced onto the host sampler answer the same two
 * questions (the second continues the first's cache and penalty history), then one of each is
 * saved, reset and restored (the device history is then uploaded from the sampler) and asked a
 * third: every answer must be the same token for token. Device steps and fall-backs are
 * counted and printed; settings the device takes must mostly be decided there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_common.h"
#include "ref/ref.h"
#include "session/session_int.h"

typedef struct setting {
    const char *name;
    float temperature, top_p, penalty;
    uint32_t top_k;
} setting;

/* ---- part 1 -------------------------------------------------------------------------------- */

static const setting k_cpu[] = {
    {"greedy", 0.0f, 1.0f, 1.0f, 0},
    {"greedy, penalty 1.3", 0.0f, 1.0f, 1.3f, 0},
    {"top-k 40", 1.0f, 1.0f, 1.0f, 40},
    {"top-k 1", 0.8f, 1.0f, 1.2f, 1},
    {"top-k 255", 1.0f, 1.0f, 1.1f, 255},
    {"top-p 0.9", 1.0f, 0.9f, 1.0f, 0},
    {"top-p 0.3, penalty 1.5", 0.7f, 0.3f, 1.5f, 0},
    {"top-p 0.99, T 0.2", 0.2f, 0.99f, 1.0f, 0},
    {"top-k 50 + top-p 0.8", 0.9f, 0.8f, 1.1f, 50},
    {"top-k 8 + top-p 0.5, penalty 0.8", 1.3f, 0.5f, 0.8f, 8},
};

/* Logits of one step: shape chosen per step so that nuclei of every length occur. */
static void synth_logits(sk_rng *r, float *x, uint32_t V, uint32_t step)
{
    const uint32_t kind = step % 5;
    const float scale = kind == 0 ? 0.3f : kind == 1 ? 2.0f : kind == 2 ? 6.0f : 3.0f;
    for (uint32_t i = 0; i < V; i++) {
        x[i] = scale * sk_rng_normal(r);
        if (kind == 3) x[i] = floorf(x[i]);                        /* ties */
        if (kind == 4 && sk_rng_u32(r) % 8 == 0) x[i] = -INFINITY; /* masked tokens */
    }
    const uint32_t n_top = 1 + step % 7; /* a few strong candidates, sometimes tied */
    for (uint32_t j = 0; j < n_top; j++) x[sk_rng_u32(r) % V] = 12.0f - (float)(j / 2);
}

static void part_cpu(void)
{
    const uint32_t V = 151936, steps = 48;
    float *logits = silkie_malloc((size_t)V * sizeof *logits);
    float *scratch = silkie_malloc((size_t)V * sizeof *scratch);
    uint32_t *mask = silkie_malloc(((size_t)V + 31) / 32 * 4);
    silkie_ref_sample_out *ro = silkie_malloc(sizeof *ro);
    silkie_sample_result *res = silkie_malloc(sizeof *res);
    if (!logits || !scratch || !mask || !ro || !res) {
        SK_TEST_CHECK(0, "part 1: out of memory");
        return;
    }
    for (size_t si = 0; si < SK_ARRAY_LEN(k_cpu); si++) {
        const setting *t = &k_cpu[si];
        for (uint64_t seed = 1; seed <= 2; seed++) {
            const silkie_sampler_params sp = {.temperature = t->temperature, .top_k = t->top_k,
                                              .top_p = t->top_p,
                                              .repetition_penalty = t->penalty, .seed = seed};
            silkie_sampler dev, host;
            SK_TEST_OK(silkie_sampler_init(&dev, &sp, V));
            SK_TEST_OK(silkie_sampler_init(&host, &sp, V));
            silkie_sample_params dp;
            SK_TEST_CHECK(silkie_sampler_device_params(&dev, &dp), "%s: not a device setting",
                          t->name);
            sk_rng r;
            sk_rng_seed(&r, 77 * seed + si);
            memset(mask, 0, ((size_t)V + 31) / 32 * 4);
            uint32_t diff = 0;
            for (uint32_t step = 0; step < steps; step++) {
                synth_logits(&r, logits, V, step);
                silkie_ref_sample(logits, V, mask, dp.repetition_penalty, dp.temperature,
                                  dp.top_k, dp.top_p, ro);
                res->id = ro->id;
                res->n = ro->n;
                res->flags = ro->flags;
                res->max_logit = ro->max_logit;
                res->sum_err = (float)ro->sum_err;
                res->sum = (float)ro->sum;
                /* As far off as the device may be: anywhere in the bound, or at its edges. */
                const double tol = silkie_op_sample_sum_tolerance(res, V);
                const double u = step % 4 == 0 ? 1.0 : step % 4 == 1 ? -1.0
                                                   : 2.0 * sk_rng_uniform(&r, 0, 1) - 1.0;
                res->sum = (float)(ro->sum + 0.999 * u * tol);
                memcpy(res->value, ro->value, sizeof res->value);
                memcpy(res->index, ro->index, sizeof res->index);
                int32_t a;
                if (!silkie_sampler_pick(&dev, res, &a)) {
                    memcpy(scratch, logits, (size_t)V * sizeof *scratch);
                    a = silkie_sampler_sample(&dev, scratch);
                }
                memcpy(scratch, logits, (size_t)V * sizeof *scratch);
                const int32_t b = silkie_sampler_sample(&host, scratch);
                if (a != b || dev.rng != host.rng) diff++;
                if (a != b && diff <= 3)
                    SK_TEST_CHECK(0, "part 1: %s seed %llu step %u: device path %d, host %d",
                                  t->name, (unsigned long long)seed, step, a, b);
                silkie_sampler_accept(&dev, &b, 1);
                silkie_sampler_accept(&host, &b, 1);
                silkie_ref_sample_mark(&b, 1, V, mask);
            }
            SK_TEST_CHECK(diff == 0, "part 1: %s seed %llu: %u of %u steps differ", t->name,
                          (unsigned long long)seed, diff, steps);
            if (seed == 1)
                printf("  part 1 %-34s %3llu picked, %3llu fell back\n", t->name,
                       (unsigned long long)dev.stats.device,
                       (unsigned long long)dev.stats.fallback);
            silkie_sampler_release(&dev);
            silkie_sampler_release(&host);
        }
    }
    silkie_free(logits);
    silkie_free(scratch);
    silkie_free(mask);
    silkie_free(ro);
    silkie_free(res);
}

/* ---- part 2 -------------------------------------------------------------------------------- */

/* The tiny model's logits are nearly flat at temperature 1: low temperatures give the peaked
 * distributions a trained model has, so the nucleus fits the candidate list. */
static const setting k_model[] = {
    {"greedy", 0.0f, 1.0f, 1.0f, 0},
    {"greedy, penalty 1.3", 0.0f, 1.0f, 1.3f, 0},
    {"T 1, top-k 40", 1.0f, 1.0f, 1.0f, 40},
    {"T 0.7, top-k 5, penalty 1.2", 0.7f, 1.0f, 1.2f, 5},
    {"T 0.05, top-p 0.9", 0.05f, 0.9f, 1.0f, 0},
    {"T 0.02, top-p 0.5, penalty 1.5", 0.02f, 0.5f, 1.5f, 0},
    {"T 0.3, top-k 50, top-p 0.8", 0.3f, 0.8f, 1.0f, 50},
    {"T 0.1, top-k 200, top-p 0.95, penalty 0.8", 0.1f, 0.95f, 0.8f, 200},
    {"T 1, top-p 0.3 (checkpoint's)", 1.0f, 0.3f, 1.0f, 0},
    {"T 1, no top-k/top-p (host)", 1.0f, 1.0f, 1.0f, 0},
};

#define N_TOK 8

static silkie_session *make_session(silkie_model *m, const setting *t, uint64_t seed,
                                    int host_only)
{
    silkie_session_params sp;
    silkie_session_params_init(&sp);
    sp.temperature = t->temperature;
    sp.top_k = (int32_t)t->top_k;
    sp.top_p = t->top_p;
    sp.repetition_penalty = t->penalty;
    sp.seed = seed;
    sp.n_ctx = 256;
    silkie_session *s = NULL;
    SK_TEST_OK(silkie_session_create(m, &sp, &s));
    if (s) s->sampler.host_only = (uint32_t)host_only;
    return s;
}

static void part_model(silkie_model *m)
{
    static const char *const q[3] = {"Tell me a story.", "And then?", "Why?"};
    const char *file = api_tmp_path(0, "sample.session");
    uint64_t total_device = 0, total_fallback = 0;
    for (size_t si = 0; si < SK_ARRAY_LEN(k_model); si++) {
        const setting *t = &k_model[si];
        const uint64_t n_seeds = t->temperature > 0 ? 2 : 1;
        for (uint64_t seed = 1; seed <= n_seeds; seed++) {
            silkie_session *d = make_session(m, t, seed, 0), *h = make_session(m, t, seed, 1);
            if (!d || !h) {
                silkie_session_destroy(d);
                silkie_session_destroy(h);
                return;
            }
            char what[160];
            for (int turn = 0; turn < 3; turn++) {
                if (turn == 2) { /* restored history: the device's is uploaded from the sampler */
                    SK_TEST_OK(silkie_session_save(d, file));
                    SK_TEST_OK(silkie_session_reset(d));
                    SK_TEST_OK(silkie_session_restore(d, file));
                    SK_TEST_OK(silkie_session_save(h, file));
                    SK_TEST_OK(silkie_session_reset(h));
                    SK_TEST_OK(silkie_session_restore(h, file));
                }
                api_answer a = api_ask(d, q[turn], N_TOK), b = api_ask(h, q[turn], N_TOK);
                snprintf(what, sizeof what, "%s, seed %llu, turn %d", t->name,
                         (unsigned long long)seed, turn + 1);
                api_same_answer(what, &a, &b);
            }
            const silkie_sampler_stats *ds = &d->sampler.stats, *hs = &h->sampler.stats;
            SK_TEST_CHECK(hs->device == 0 && hs->fallback == 0, "%s: the host session used %llu "
                          "device steps", t->name, (unsigned long long)hs->device);
            const int device_setting = d->sampler.device;
            SK_TEST_CHECK(device_setting == (si + 1 < SK_ARRAY_LEN(k_model)),
                          "%s: device sampling %s", t->name, device_setting ? "on" : "off");
            printf("  part 2 %-42s seed %llu: %2llu device, %2llu fell back, %2llu host\n",
                   t->name, (unsigned long long)seed, (unsigned long long)ds->device,
                   (unsigned long long)ds->fallback,
                   (unsigned long long)(ds->host - ds->fallback));
            /* Settings that fit the candidate list are decided on the device. */
            if (device_setting && si < 8)
                SK_TEST_CHECK(ds->device >= 2 * ds->fallback, "%s: %llu device steps, %llu "
                              "fall-backs", t->name, (unsigned long long)ds->device,
                              (unsigned long long)ds->fallback);
            total_device += ds->device;
            total_fallback += ds->fallback;
            silkie_session_destroy(d);
            silkie_session_destroy(h);
        }
    }
    printf("  part 2: %llu tokens picked on the device, %llu fell back to the logits\n",
           (unsigned long long)total_device, (unsigned long long)total_fallback);
}

int main(void)
{
    part_cpu();
    silkie_model *m = api_load(SILKIE_DTYPE_F16, 1, 0);
    part_model(m);
    silkie_model_destroy(m);
    api_cleanup();
    return sk_test_result("test_sample_session");
}
