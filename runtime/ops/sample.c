/* Sampling on the device: sample_mark keeps the seen-token mask, sample_prep applies the
 * repetition penalty and finds per-workgroup maxima over the vocabulary, and sample (one
 * workgroup) reduces them and, unless greedy, selects and sorts the candidates the host finishes
 * the draw from (see the shaders). */
#include <float.h>
#include <math.h>

#include "ops.h"
#include "params/sample.h"

#define PREP_WG 256u
#define PREP_LOADS 4u
#define N_MAX (1u << 24) /* the selection key keeps 24 bits of token id */

_Static_assert(SK_SAMPLE_CAP == SILKIE_SAMPLE_MAX_CAND, "candidate capacity");
_Static_assert(SK_SAMPLE_OUT_WORDS * 4 <= 4096, "a step reads back at most 4 KiB");

static int single_row(const silkie_tensor *t)
{
    return silkie_tensor_rows(t) == 1 && silkie_tensor_is_contiguous(t);
}

silkie_status silkie_op_sample_mark(silkie_op_ctx *c, const silkie_tensor *ids, silkie_tensor *seen,
                                    uint32_t n_vocab)
{
    if (!c || !ids || !seen)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sample_mark: c, ids, seen required");
    if (ids->dtype != SILKIE_DTYPE_I32 || seen->dtype != SILKIE_DTYPE_I32 ||
        !silkie_tensor_is_contiguous(ids) || !silkie_tensor_is_contiguous(seen))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sample_mark: contiguous i32 ids and seen");
    const uint64_t n_ids = silkie_tensor_nelements(ids);
    if (n_ids == 0 || n_ids > UINT32_MAX / 2 || n_vocab == 0 ||
        silkie_tensor_nelements(seen) < (n_vocab + 31ull) / 32)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "sample_mark: %llu ids, mask of %llu words for a vocabulary of %u",
                       (unsigned long long)n_ids,
                       (unsigned long long)silkie_tensor_nelements(seen), n_vocab);
    sample_mark_push pc = {.n_ids = (uint32_t)n_ids, .n_vocab = n_vocab};
    silkie_vk_binding bind[2];
    SK_CHECK(silkie_op_bind_rows(c, ids, SILKIE_VK_READ, "sample_mark", &bind[0], &pc.ids_off));
    SK_CHECK(silkie_op_bind_rows(c, seen, SILKIE_VK_READ_WRITE, "sample_mark", &bind[1],
                                 &pc.seen_off));
    const silkie_vk_dispatch_desc d = {
        .shader = SILKIE_SHADER_SAMPLE_MARK, .push = &pc, .push_size = sizeof pc,
        .bindings = bind, .n_bindings = 2, .groups = {(pc.n_ids + 63) / 64, 1, 1},
        .label = "sample_mark"};
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}

uint64_t silkie_op_sample_scratch_elems(uint32_t n_vocab)
{
    return (uint64_t)n_vocab + 3ull * SK_SAMPLE_MAX_GROUPS;
}

uint32_t silkie_op_sample_out_words(void) { return SK_SAMPLE_OUT_WORDS; }

static int top_k_on(const silkie_sample_params *p, uint32_t n_vocab)
{
    return p->top_k > 0 && p->top_k < n_vocab;
}

static int top_p_on(const silkie_sample_params *p) { return p->top_p > 0 && p->top_p < 1; }

uint32_t silkie_op_sample_n_want(const silkie_sample_params *p, uint32_t n_vocab)
{
    uint32_t n = SK_MIN(n_vocab, SK_SAMPLE_CAP);
    /* The margin past the k-th lets the host check that nothing outside ties with it. */
    if (top_k_on(p, n_vocab)) n = SK_MIN(n, p->top_k + SK_SAMPLE_MARGIN);
    return n;
}

static int penalty_on(const silkie_sample_params *p)
{
    return p->repetition_penalty > 0 && p->repetition_penalty != 1.0f;
}

/* Largest power of two <= the device's workgroup size, capped at 1024. */
static uint32_t main_wg(const silkie_vk_device *d)
{
    uint32_t lim = silkie_vk_device_caps(d)->max_workgroup_invocations, wg = 1024;
    while (wg > lim) wg >>= 1;
    return wg;
}

silkie_status silkie_op_sample(silkie_op_ctx *c, const silkie_tensor *logits,
                               silkie_tensor *seen, const silkie_tensor *own_id,
                               const silkie_sample_params *p, silkie_tensor *scratch,
                               silkie_tensor *out)
{
    if (!c || !logits || !p || !scratch || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sample: c, logits, p, scratch, out required");
    const uint32_t n = logits->ne[0];
    if (logits->dtype != SILKIE_DTYPE_F32 || !single_row(logits) || n == 0 || n > N_MAX)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "sample: logits must be one contiguous f32 row of 1..%u", N_MAX);
    if (scratch->dtype != SILKIE_DTYPE_F32 || !silkie_tensor_is_contiguous(scratch) ||
        silkie_tensor_nelements(scratch) < silkie_op_sample_scratch_elems(n))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sample: scratch needs %llu contiguous f32",
                       (unsigned long long)silkie_op_sample_scratch_elems(n));
    if (out->dtype != SILKIE_DTYPE_I32 || !silkie_tensor_is_contiguous(out) ||
        silkie_tensor_nelements(out) < SK_SAMPLE_OUT_WORDS)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sample: out needs %u contiguous i32",
                       SK_SAMPLE_OUT_WORDS);
    const int pen = seen && penalty_on(p);
    if (pen && !(p->repetition_penalty >= FLT_MIN && p->repetition_penalty <= FLT_MAX))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sample: repetition penalty %g",
                       (double)p->repetition_penalty);
    if (seen && (seen->dtype != SILKIE_DTYPE_I32 || !silkie_tensor_is_contiguous(seen) ||
                 silkie_tensor_nelements(seen) < (n + 31ull) / 32))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sample: seen needs %u i32 words",
                       (n + 31) / 32);
    if (own_id && (!seen || own_id->dtype != SILKIE_DTYPE_I32 ||
                   !silkie_tensor_is_contiguous(own_id) || silkie_tensor_nelements(own_id) != 1))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sample: own_id must be I32 [1], with seen");
    const int greedy = !(p->temperature > 0);
    if (!greedy && !(p->temperature <= FLT_MAX))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "sample: temperature %g",
                       (double)p->temperature);
    const uint32_t wg = main_wg(c->dev);
    if (wg < SK_SAMPLE_CAP)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "sample: needs %u invocations per workgroup",
                       SK_SAMPLE_CAP);

    sample_prep_push pp = {.n = n, .penalty = pen ? p->repetition_penalty : 1.0f,
                           .has_id = own_id != NULL};
    silkie_vk_binding pb[4], ib;
    SK_CHECK(silkie_op_bind_rows(c, logits, SILKIE_VK_READ, "sample", &pb[0], &pp.x_off));
    /* Without a penalty the mask is never read; the logits stand in for its binding. */
    SK_CHECK(silkie_op_bind_rows(c, pen ? seen : logits, SILKIE_VK_READ, "sample", &pb[1],
                                 &pp.seen_off));
    SK_CHECK(silkie_op_bind_rows(c, scratch, SILKIE_VK_WRITE, "sample", &pb[2], &pp.s_off));
    /* Without own_id the id bindings are never read; the logits stand in. */
    SK_CHECK(silkie_op_bind_rows(c, own_id ? own_id : logits, SILKIE_VK_READ, "sample", &ib,
                                 &pp.id_off));
    pb[3] = ib;
    const uint32_t groups = (uint32_t)SK_MIN((n + PREP_WG * PREP_LOADS - 1) /
                                             (PREP_WG * PREP_LOADS), SK_SAMPLE_MAX_GROUPS);
    const uint32_t pspec[] = {(uint32_t)pen};
    const silkie_vk_dispatch_desc dp = {
        .shader = SILKIE_SHADER_SAMPLE_PREP, .spec = pspec, .n_spec = 1, .push = &pp,
        .push_size = sizeof pp, .bindings = pb, .n_bindings = 4, .groups = {groups, 1, 1},
        .label = "sample_prep"};
    SK_CHECK(silkie_vk_cmd_dispatch(c->cmd, &dp));

    sample_push pc = {.n = n, .n_groups = groups, .n_want = silkie_op_sample_n_want(p, n),
                      .temperature = greedy ? 1.0f : p->temperature,
                      .top_p = top_p_on(p) ? p->top_p : 0.0f, .id_off = pp.id_off,
                      .has_id = own_id != NULL};
    silkie_vk_binding mb[4];
    SK_CHECK(silkie_op_bind_rows(c, scratch, SILKIE_VK_READ, "sample", &mb[0], &pc.s_off));
    SK_CHECK(silkie_op_bind_rows(c, out, SILKIE_VK_WRITE, "sample", &mb[1], &pc.out_off));
    if (own_id) {
        SK_CHECK(silkie_op_bind_rows(c, seen, SILKIE_VK_READ_WRITE, "sample", &mb[2],
                                     &pc.seen_off));
    } else {
        mb[2] = mb[1]; /* never touched without own_id */
    }
    mb[3] = ib;
    const uint32_t mspec[] = {wg, (uint32_t)greedy, (uint32_t)(!greedy && !top_k_on(p, n))};
    const silkie_vk_dispatch_desc dm = {
        .shader = SILKIE_SHADER_SAMPLE, .spec = mspec, .n_spec = 3, .push = &pc,
        .push_size = sizeof pc, .bindings = mb, .n_bindings = 4, .groups = {1, 1, 1},
        .label = "sample"};
    return silkie_vk_cmd_dispatch(c->cmd, &dm);
}

uint64_t silkie_op_sample_read(const void *out_words, const silkie_sample_params *p,
                               silkie_sample_result *r)
{
    const uint32_t *w = out_words;
    r->id = (int32_t)w[SK_SAMPLE_OUT_ID];
    r->n = 0;
    r->flags = 0;
    r->max_logit = r->sum = r->sum_err = 0;
    if (!(p->temperature > 0)) return sizeof(uint32_t);
    uint32_t head[SK_SAMPLE_OUT_HEADER];
    memcpy(head, w, sizeof head);
    r->flags = head[SK_SAMPLE_OUT_FLAGS];
    r->n = r->flags ? 0 : SK_MIN(head[SK_SAMPLE_OUT_N], (uint32_t)SK_SAMPLE_CAP);
    memcpy(&r->max_logit, &head[SK_SAMPLE_OUT_MAX], 4);
    memcpy(&r->sum, &head[SK_SAMPLE_OUT_SUM], 4);
    memcpy(&r->sum_err, &head[SK_SAMPLE_OUT_SUM_ERR], 4);
    uint32_t pairs[2 * SK_SAMPLE_CAP];
    memcpy(pairs, w + SK_SAMPLE_OUT_HEADER, r->n * 2 * sizeof(uint32_t));
    for (uint32_t j = 0; j < r->n; j++) {
        memcpy(&r->value[j], &pairs[2 * j], 4);
        r->index[j] = (int32_t)pairs[2 * j + 1];
    }
    return sizeof head + r->n * 2 * sizeof(uint32_t);
}

/* With u = 2^-23 (one ulp at 1), per term x = (v - max) / T <= 0, e = exp(x):
 * - the subtraction rounds the same on both sides (correctly rounded in Vulkan and C);
 * - the device's division is within 2.5 ulp, so |x_dev - x_host| <= 3u|x|, i.e. 3u|x| e;
 * - the device's exp is within (3 + 2|x|) ulp, the host's expf within 1 ulp;
 * so |e_dev - e_host| <= u e (4 + 5|x|), giving u (4 S + 5 B) over the vocabulary (B is the
 * device's sum_err). Summation adds u S for Kahan within an invocation, 5u S for the tree over
 * <= 1024 invocations and V 2^-53 S for the host's double sum; subnormal terms a device flushes
 * add V 2^-126. Everything is doubled for the second-order terms and the error in B. */
double silkie_op_sample_sum_tolerance(const silkie_sample_result *r, uint32_t n_vocab)
{
    const double u = ldexp(1.0, -23), S = fabs((double)r->sum), B = fabs((double)r->sum_err);
    return 2.0 * (u * (10.0 * S + 5.0 * B) + n_vocab * (ldexp(S, -53) + ldexp(1.0, -126)));
}
