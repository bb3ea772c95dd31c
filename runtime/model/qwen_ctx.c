/* Execution context of one session: scratch, KV cache and command lists. Prefill chunks are
 * recorded per call; the single-token decode list is recorded once and replayed, with the
 * token id, position and cache length written to small host-visible tensors before each
 * submit. An attached LoRA adapter runs unmerged in both.
 *
 * With device sampling set, every list also marks its ids in a seen-token mask on the device
 * (the repetition penalty's history), and the sampling lists (a second decode list, and the
 * last prefill chunk of silkie_qwen_eval_sample) keep the logits in device memory and end with
 * the sampling step, so the host reads a token id or a few candidates instead of the logits. */
#define SK_LOG_MODULE "model"
#include "qwen.h"

struct silkie_qwen_ctx {
    const silkie_qwen *q;
    silkie_qwen_ws ws;
    silkie_qwen_kv kv;
    silkie_vk_cmd *cmd;    /* prefill chunks, vision */
    silkie_vk_cmd *decode; /* T = 1, logits to the host, replayed */
    silkie_vk_cmd *decode_smp; /* T = 1, logits sampled on the device, replayed */
    int decode_ready, smp_ready;
    float decode_base, smp_base;
    /* Device sampling (silkie_qwen_ctx_set_sampling). */
    int sampling;
    silkie_sample_params sp;
    silkie_owned_tensor dlogits; /* [V] f32, device-local: the sampling lists' logits */
    silkie_owned_tensor seen;    /* [ceil(V / 32)] i32: ids marked since the last clear */
    silkie_owned_tensor scratch; /* f32, silkie_op_sample_scratch_elems(V) */
    silkie_owned_tensor out;     /* i32, silkie_op_sample_out_words(), host-visible */
    uint64_t n_marked;           /* ids marked since the last clear; UINT64_MAX: unknown */
    int seen_clear;              /* clear the mask before the next pass */
    silkie_qwen_ctx_stats stats;
    uint32_t n_past;
    float freq_base;       /* dynamic-NTK base fixed by the first prefill */
    const silkie_qwen_lora *lora; /* borrowed; NULL = base model */
    silkie_progress_fn progress;  /* prefills longer than one chunk */
    void *progress_user;
};

void silkie_qwen_ctx_set_progress(silkie_qwen_ctx *x, silkie_progress_fn fn, void *user)
{
    x->progress = fn;
    x->progress_user = user;
}

static void free_sampling(silkie_qwen_ctx *x)
{
    silkie_tensor_free(&x->dlogits);
    silkie_tensor_free(&x->seen);
    silkie_tensor_free(&x->scratch);
    silkie_tensor_free(&x->out);
    x->sampling = 0;
}

silkie_status silkie_qwen_ctx_create(const silkie_qwen *q, uint32_t n_ctx, uint32_t n_batch,
                                     silkie_dtype kv_dtype, silkie_qwen_ctx **out)
{
    if (!q || !out || !n_ctx || !n_batch)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "ctx_create: q, out, n_ctx, n_batch required");
    *out = NULL;
    silkie_qwen_ctx *x = SK_NEW(silkie_qwen_ctx);
    if (!x) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "ctx_create");
    x->q = q;
    x->freq_base = q->cfg.rotary_base;
    silkie_status st = silkie_qwen_ws_create(q, SK_MIN(n_batch, n_ctx), &x->ws);
    if (st == SILKIE_OK)
        st = silkie_qwen_kv_create(q, n_ctx, kv_dtype, &x->kv);
    if (st == SILKIE_OK) st = silkie_vk_cmd_create(q->dev, &x->cmd);
    if (st == SILKIE_OK) st = silkie_vk_cmd_create(q->dev, &x->decode);
    if (st == SILKIE_OK) st = silkie_vk_cmd_create(q->dev, &x->decode_smp);
    if (st != SILKIE_OK) {
        silkie_qwen_ctx_destroy(x);
        return st;
    }
    *out = x;
    return SILKIE_OK;
}

void silkie_qwen_ctx_destroy(silkie_qwen_ctx *x)
{
    if (!x) return;
    silkie_vk_cmd_destroy(x->cmd);
    silkie_vk_cmd_destroy(x->decode);
    silkie_vk_cmd_destroy(x->decode_smp);
    free_sampling(x);
    silkie_qwen_kv_release(&x->kv);
    silkie_qwen_ws_release(&x->ws);
    silkie_free(x);
}

uint32_t silkie_qwen_ctx_n_past(const silkie_qwen_ctx *x) { return x->n_past; }
uint32_t silkie_qwen_ctx_n_ctx(const silkie_qwen_ctx *x) { return x->kv.n_ctx; }
float silkie_qwen_ctx_freq_base(const silkie_qwen_ctx *x) { return x->freq_base; }

void silkie_qwen_ctx_reset(silkie_qwen_ctx *x)
{
    x->n_past = 0;
    x->freq_base = x->q->cfg.rotary_base;
    x->n_marked = 0;
    x->seen_clear = 1;
}

silkie_tensor *silkie_qwen_pixels(silkie_qwen_ctx *x) { return &x->ws.pixels.t; }

silkie_status silkie_qwen_ctx_set_lora(silkie_qwen_ctx *x, const silkie_qwen_lora *lora)
{
    if (!x) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "ctx_set_lora: x is NULL");
    if (lora) {
        if (!lora->mod || lora->n_layers != x->q->n_layers || !lora->max_r)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "ctx_set_lora: adapter of %u layers (max rank %u) for a %u-layer model",
                           lora->n_layers, lora->max_r, x->q->n_layers);
        if (lora->dropout > 0.0f)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "ctx_set_lora: inference runs LoRA without dropout (dropout %g)",
                           (double)lora->dropout);
        /* One [n_batch, max_r] scratch serves every target: inference keeps no x A^T. */
        if (!x->ws.lora_u.t.buf || x->ws.lora_u.t.ne[0] < lora->max_r) {
            const uint32_t ne[4] = {lora->max_r, x->ws.max_tokens, 1, 1};
            silkie_owned_tensor u;
            SK_CHECK(silkie_tensor_alloc(x->q->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32,
                                         ne, &u));
            silkie_tensor_free(&x->ws.lora_u);
            x->ws.lora_u = u;
            if (u.t.parts) x->ws.lora_u.t.parts = x->ws.lora_u.parts; /* table moved with it */
        }
    } else {
        silkie_tensor_free(&x->ws.lora_u);
    }
    /* The decode lists name the adapter's buffers and the scratch: record them again. */
    x->decode_ready = 0;
    x->smp_ready = 0;
    x->lora = lora;
    return SILKIE_OK;
}

silkie_status silkie_qwen_features_alloc(const silkie_qwen *q, silkie_owned_tensor *out)
{
    const uint32_t ne[4] = {q->cfg.visual.output_dim, q->cfg.visual.n_queries, 1, 1};
    return silkie_tensor_alloc(q->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, out);
}

silkie_status silkie_qwen_encode_image(silkie_qwen_ctx *x, const float *pixels,
                                       silkie_tensor *features, const silkie_qwen_taps *taps)
{
    if (!x || !features) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "encode_image: arguments");
    if (pixels)
        SK_CHECK(silkie_tensor_write_rows(&x->ws.pixels.t, 0, silkie_tensor_rows(&x->ws.pixels.t),
                                          pixels));
    silkie_op_ctx c = {.dev = x->q->dev, .cmd = x->cmd};
    SK_CHECK(silkie_vk_cmd_begin(x->cmd));
    SK_CHECK(silkie_qwen_record_vision(&c, x->q, &x->ws, features, taps));
    SK_CHECK(silkie_vk_cmd_end(x->cmd));
    return silkie_vk_cmd_submit_wait(x->cmd);
}

static int32_t *host_i32(silkie_owned_tensor *t)
{
    uint8_t *p = silkie_vk_buffer_map(t->t.buf);
    return p ? (int32_t *)(p + t->t.offset) : NULL;
}

static silkie_status set_step(silkie_qwen_ctx *x, const int32_t *ids, uint32_t T, uint32_t p0)
{
    int32_t *hid = host_i32(&x->ws.ids), *hpos = host_i32(&x->ws.pos);
    int32_t *hstep = host_i32(&x->ws.step);
    if (!hid || !hpos || !hstep)
        return SK_FAIL(SILKIE_ERR_INTERNAL, "eval: host-visible step buffers are not mapped");
    for (uint32_t i = 0; i < T; i++) {
        hid[i] = ids[i];
        hpos[i] = (int32_t)(p0 + i);
    }
    hstep[0] = (int32_t)p0;
    hstep[1] = (int32_t)(p0 + T);
    return SILKIE_OK;
}

static uint32_t logn_base(const silkie_qwen *q)
{
    return q->cfg.use_logn_attn ? q->cfg.seq_length : 0;
}

/* Records one LLM pass over T rows into c: with sampling set, the mask update first; with
 * `sample`, the logits go to the device-local tensor and the sampling step follows. */
static silkie_status record_pass(silkie_qwen_ctx *x, silkie_op_ctx *c, const silkie_qwen_pass *p,
                                 const silkie_qwen_taps *taps, int sample)
{
    const silkie_tensor ids = silkie_tensor_2d(x->ws.ids.t.buf, x->ws.ids.t.offset,
                                               SILKIE_DTYPE_I32, p->n_tokens, 1);
    /* A one-token sampled pass leaves its mark to the sampling step (no dispatch of its own). */
    const int own = x->sampling && sample && p->n_tokens == 1;
    if (x->sampling && !own)
        SK_CHECK(silkie_op_sample_mark(c, &ids, &x->seen.t, x->q->cfg.vocab_size));
    if (!sample) return silkie_qwen_record_llm(c, x->q, &x->ws, &x->kv, p, taps);
    /* The same workspace but for its logits (a shallow copy: every other tensor is shared). */
    silkie_qwen_ws w = x->ws;
    w.logits = x->dlogits;
    SK_CHECK(silkie_qwen_record_llm(c, x->q, &w, &x->kv, p, taps));
    return silkie_op_sample(c, &x->dlogits.t, &x->seen.t, own ? &ids : NULL, &x->sp,
                            &x->scratch.t, &x->out.t);
}

/* Submits and waits, timing the wait (what the host spends on the device's work). */
static silkie_status submit_wait(silkie_qwen_ctx *x, silkie_vk_cmd *cmd)
{
    SK_CHECK(silkie_vk_cmd_submit(cmd));
    const uint64_t t0 = silkie_time_ns();
    silkie_status st = silkie_vk_cmd_wait(cmd);
    x->stats.wait_ns += silkie_time_ns() - t0;
    x->stats.passes++;
    return st;
}

static silkie_status run_decode(silkie_qwen_ctx *x, int32_t id, int sample)
{
    silkie_vk_cmd *cmd = sample ? x->decode_smp : x->decode;
    int *ready = sample ? &x->smp_ready : &x->decode_ready;
    float *base = sample ? &x->smp_base : &x->decode_base;
    if (!*ready || *base != x->freq_base) {
        silkie_op_ctx c = {.dev = x->q->dev, .cmd = cmd};
        const silkie_qwen_pass p = {.n_tokens = 1, .freq_base = x->freq_base,
                                    .logn_base = logn_base(x->q), .lora = x->lora};
        *ready = 0;
        SK_CHECK(silkie_vk_cmd_begin(cmd));
        SK_CHECK(record_pass(x, &c, &p, NULL, sample));
        SK_CHECK(silkie_vk_cmd_end(cmd));
        *ready = 1;
        *base = x->freq_base;
    }
    SK_CHECK(set_step(x, &id, 1, x->n_past));
    return submit_wait(x, cmd);
}

static silkie_status run_chunk(silkie_qwen_ctx *x, const int32_t *ids, uint32_t T,
                               const silkie_qwen_image_slot *images, uint32_t n_images,
                               const silkie_qwen_taps *taps, int sample)
{
    const uint32_t p0 = x->n_past, Nq = x->q->cfg.visual.n_queries;
    silkie_qwen_inject inj[16];
    silkie_tensor views[16];
    uint32_t n_inj = 0;
    for (uint32_t i = 0; i < n_images; i++) {
        /* The part of image i's rows that falls inside [p0, p0 + T). */
        uint32_t a = SK_MAX(images[i].pos, p0), b = SK_MIN(images[i].pos + Nq, p0 + T);
        if (a >= b) continue;
        if (n_inj == SK_ARRAY_LEN(inj))
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "eval: more than %zu images in one chunk",
                           SK_ARRAY_LEN(inj));
        views[n_inj] = silkie_tensor_rows_view(images[i].features, a - images[i].pos, b - a);
        inj[n_inj] = (silkie_qwen_inject){.features = &views[n_inj], .row = a - p0};
        n_inj++;
    }
    silkie_op_ctx c = {.dev = x->q->dev, .cmd = x->cmd};
    const silkie_qwen_pass p = {.n_tokens = T, .freq_base = x->freq_base,
                                .logn_base = logn_base(x->q), .inject = inj, .n_inject = n_inj,
                                .lora = x->lora};
    SK_CHECK(set_step(x, ids, T, p0));
    SK_CHECK(silkie_vk_cmd_begin(x->cmd));
    SK_CHECK(record_pass(x, &c, &p, taps, sample));
    SK_CHECK(silkie_vk_cmd_end(x->cmd));
    return submit_wait(x, x->cmd);
}

static silkie_status eval(silkie_qwen_ctx *x, const int32_t *ids, uint32_t n,
                          const silkie_qwen_image_slot *images, uint32_t n_images,
                          const silkie_qwen_taps *taps, int sample)
{
    if ((uint64_t)x->n_past + n > x->kv.n_ctx)
        return SK_FAIL(SILKIE_ERR_CONTEXT_FULL, "eval: %u cached + %u new tokens exceed n_ctx %u",
                       x->n_past, n, x->kv.n_ctx);
    const uint32_t V = x->q->cfg.vocab_size;
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] < 0 || (uint32_t)ids[i] >= V)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "eval: token %d at %u outside [0, %u)",
                           ids[i], i, V);
    for (uint32_t i = 0; i < n_images; i++)
        if (images[i].pos < x->n_past || images[i].pos + x->q->cfg.visual.n_queries > x->n_past + n)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "eval: image %u rows outside this call", i);
    if (x->sampling && x->seen_clear) {
        SK_CHECK(silkie_vk_buffer_fill(x->seen.t.buf, x->seen.t.offset,
                                       silkie_tensor_nbytes(&x->seen.t), 0));
        x->seen_clear = 0;
    }
    const uint32_t saved_past = x->n_past;
    const float saved_base = x->freq_base;
    if (x->n_past == 0) x->freq_base = silkie_qwen_ntk_base(&x->q->cfg, n);
    silkie_status st = SILKIE_OK;
    if (n == 1 && n_images == 0 && !taps) {
        st = run_decode(x, ids[0], sample);
        if (st == SILKIE_OK) x->n_past++;
    } else {
        /* Taps see a whole pass: only honour them when it fits one chunk. */
        if (taps && n > x->ws.max_tokens)
            st = SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "eval: taps need n <= n_batch (%u)",
                         x->ws.max_tokens);
        for (uint32_t done = 0; st == SILKIE_OK && done < n;) {
            uint32_t T = SK_MIN(n - done, x->ws.max_tokens);
            st = run_chunk(x, ids + done, T, images, n_images, taps, sample && done + T == n);
            if (st == SILKIE_OK) {
                x->n_past += T;
                done += T;
                if (x->progress && n > x->ws.max_tokens)
                    x->progress("prefill", done, n, x->progress_user);
            }
        }
    }
    if (st != SILKIE_OK) {
        x->n_past = saved_past;
        x->freq_base = saved_base;
        x->n_marked = UINT64_MAX; /* some chunks may have marked their ids */
        return st;
    }
    if (x->sampling && x->n_marked != UINT64_MAX) x->n_marked += n;
    return SILKIE_OK;
}

static const float *host_logits(silkie_qwen_ctx *x)
{
    const uint8_t *p = silkie_vk_buffer_map(x->ws.logits.t.buf);
    return p ? (const float *)(p + x->ws.logits.t.offset) : NULL;
}

silkie_status silkie_qwen_eval(silkie_qwen_ctx *x, const int32_t *ids, uint32_t n,
                               const silkie_qwen_image_slot *images, uint32_t n_images,
                               const silkie_qwen_taps *taps, const float **logits)
{
    if (!x || !ids || !n || !logits || (n_images && !images))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "eval: ids, n, logits required");
    *logits = NULL;
    SK_CHECK(eval(x, ids, n, images, n_images, taps, 0));
    *logits = host_logits(x);
    if (!*logits) return SK_FAIL(SILKIE_ERR_INTERNAL, "eval: logits buffer is not mapped");
    x->stats.readback_bytes += 4ull * x->q->cfg.vocab_size;
    return SILKIE_OK;
}

silkie_status silkie_qwen_eval_sample(silkie_qwen_ctx *x, const int32_t *ids, uint32_t n,
                                      const silkie_qwen_image_slot *images, uint32_t n_images,
                                      silkie_sample_result *out)
{
    if (!x || !ids || !n || !out || (n_images && !images))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "eval_sample: ids, n, out required");
    if (!x->sampling)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "eval_sample: no sampling parameters set");
    SK_CHECK(eval(x, ids, n, images, n_images, NULL, 1));
    const uint8_t *p = silkie_vk_buffer_map(x->out.t.buf);
    if (!p) return SK_FAIL(SILKIE_ERR_INTERNAL, "eval_sample: result buffer is not mapped");
    x->stats.readback_bytes += silkie_op_sample_read(p + x->out.t.offset, &x->sp, out);
    return SILKIE_OK;
}

silkie_status silkie_qwen_ctx_logits(silkie_qwen_ctx *x, const float **logits)
{
    if (!x || !logits) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "ctx_logits: x, logits");
    *logits = NULL;
    if (!x->sampling)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "ctx_logits: no sampling parameters set");
    float *dst = (float *)host_logits(x);
    if (!dst) return SK_FAIL(SILKIE_ERR_INTERNAL, "ctx_logits: logits buffer is not mapped");
    SK_CHECK(silkie_tensor_read_rows(&x->dlogits.t, 0, 1, dst));
    x->stats.readback_bytes += 4ull * x->q->cfg.vocab_size;
    *logits = dst;
    return SILKIE_OK;
}

silkie_status silkie_qwen_ctx_set_sampling(silkie_qwen_ctx *x, const silkie_sample_params *p)
{
    if (!x) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "ctx_set_sampling: x is NULL");
    /* Every list marks ids while sampling is set, so all of them are recorded again. */
    x->decode_ready = 0;
    x->smp_ready = 0;
    if (!p) {
        free_sampling(x);
        return SILKIE_OK;
    }
    const silkie_qwen *q = x->q;
    const uint32_t V = q->cfg.vocab_size;
    silkie_status st = SILKIE_OK;
    if (!x->dlogits.t.buf) {
        const uint32_t ne_l[4] = {V, 1, 1, 1}, ne_m[4] = {(V + 31) / 32, 1, 1, 1};
        const uint32_t ne_s[4] = {(uint32_t)silkie_op_sample_scratch_elems(V), 1, 1, 1};
        const uint32_t ne_o[4] = {silkie_op_sample_out_words(), 1, 1, 1};
        const silkie_vk_pool A = SILKIE_VK_POOL_ACTIVATIONS;
        st = silkie_tensor_alloc(q->dev, A, SILKIE_DTYPE_F32, ne_l, &x->dlogits);
        if (st == SILKIE_OK) st = silkie_tensor_alloc(q->dev, A, SILKIE_DTYPE_I32, ne_m, &x->seen);
        if (st == SILKIE_OK)
            st = silkie_tensor_alloc(q->dev, A, SILKIE_DTYPE_F32, ne_s, &x->scratch);
        if (st == SILKIE_OK)
            st = silkie_tensor_alloc(q->dev, SILKIE_VK_POOL_HOST, SILKIE_DTYPE_I32, ne_o, &x->out);
        if (st != SILKIE_OK) {
            free_sampling(x);
            return st;
        }
        /* A history from before sampling was set is not in the mask. */
        x->n_marked = x->n_past ? UINT64_MAX : 0;
        x->seen_clear = 1;
    }
    x->sp = *p;
    x->sampling = 1;
    return SILKIE_OK;
}

uint64_t silkie_qwen_ctx_seen_count(const silkie_qwen_ctx *x)
{
    return x->sampling ? x->n_marked : UINT64_MAX;
}

silkie_status silkie_qwen_ctx_set_seen(silkie_qwen_ctx *x, const uint8_t *seen, uint64_t count)
{
    if (!x || !seen || !x->sampling)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "ctx_set_seen: x, seen and sampling required");
    const uint32_t V = x->q->cfg.vocab_size, W = (V + 31) / 32;
    uint32_t *w = silkie_calloc(W, sizeof *w);
    if (!w) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "ctx_set_seen: %u words", W);
    for (uint32_t i = 0; i < V; i++)
        if (seen[i]) w[i / 32] |= 1u << (i % 32);
    silkie_status st = silkie_tensor_upload(&x->seen, w, (uint64_t)W * sizeof *w);
    silkie_free(w);
    x->n_marked = st == SILKIE_OK ? count : UINT64_MAX;
    if (st == SILKIE_OK) x->seen_clear = 0;
    return st;
}

void silkie_qwen_ctx_stats_get(const silkie_qwen_ctx *x, silkie_qwen_ctx_stats *out)
{
    *out = x->stats;
}

uint32_t silkie_qwen_ctx_decode_dispatches(const silkie_qwen_ctx *x, int sampled)
{
    return silkie_vk_cmd_n_dispatches(sampled ? x->decode_smp : x->decode);
}

uint64_t silkie_qwen_ctx_state_bytes(const silkie_qwen_ctx *x)
{
    uint64_t rb = silkie_tensor_row_bytes(&x->kv.k[0].t);
    return 2ull * x->kv.n_layers * x->n_past * rb;
}

static silkie_status state_io(silkie_qwen_ctx *x, uint32_t n_past, uint8_t *buf, int write)
{
    uint64_t rb = silkie_tensor_row_bytes(&x->kv.k[0].t), blk = (uint64_t)n_past * rb;
    for (uint32_t l = 0; l < x->kv.n_layers; l++) {
        uint8_t *k = buf + (2ull * l) * blk, *v = k + blk;
        if (write) {
            SK_CHECK(silkie_tensor_write_rows(&x->kv.k[l].t, 0, n_past, k));
            SK_CHECK(silkie_tensor_write_rows(&x->kv.v[l].t, 0, n_past, v));
        } else {
            SK_CHECK(silkie_tensor_read_rows(&x->kv.k[l].t, 0, n_past, k));
            SK_CHECK(silkie_tensor_read_rows(&x->kv.v[l].t, 0, n_past, v));
        }
    }
    return SILKIE_OK;
}

silkie_status silkie_qwen_ctx_state_read(silkie_qwen_ctx *x, void *dst, uint64_t size)
{
    if (size != silkie_qwen_ctx_state_bytes(x))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "state_read: size %llu, want %llu",
                       (unsigned long long)size,
                       (unsigned long long)silkie_qwen_ctx_state_bytes(x));
    return state_io(x, x->n_past, dst, 0);
}

silkie_status silkie_qwen_ctx_state_write(silkie_qwen_ctx *x, uint32_t n_past, float freq_base,
                                          const void *src, uint64_t size)
{
    uint64_t rb = silkie_tensor_row_bytes(&x->kv.k[0].t);
    if (n_past > x->kv.n_ctx)
        return SK_FAIL(SILKIE_ERR_CONTEXT_FULL, "state_write: %u tokens exceed n_ctx %u", n_past,
                       x->kv.n_ctx);
    if (size != 2ull * x->kv.n_layers * n_past * rb)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "state_write: %llu bytes of cache for %u tokens",
                       (unsigned long long)size, n_past);
    SK_CHECK(state_io(x, n_past, (uint8_t *)src, 1));
    x->n_past = n_past;
    x->freq_base = freq_base;
    return SILKIE_OK;
}
