/* Chat session: turns -> token ids (ChatML), images -> features, prefill, sampling loop with
 * streaming, multi-turn reuse of the KV cache. */
#include <stdio.h>

#define SK_LOG_MODULE "session"
#include "session_int.h"

#define TOKEN_IM_START 151644
#define TOKEN_IM_END 151645
#define TOKEN_NL 198

void silkie_session_params_init_size(silkie_session_params *p, size_t size)
{
    silkie_session_params d = {0};
    d.temperature = -1;
    d.top_k = -1;
    d.top_p = -1;
    d.repetition_penalty = -1;
    d.max_new_tokens = -1;
    d.kv_type = SILKIE_DTYPE_F16;
    sk_params_fill(p, size, &d, sizeof d);
}

void silkie_ask_params_init_size(silkie_ask_params *p, size_t size)
{
    silkie_ask_params d = {0};
    d.max_new_tokens = -1;
    sk_params_fill(p, size, &d, sizeof d);
}

/* Copies the first struct_size bytes the caller knows about over our defaults. */
static void read_params(void *dst, size_t dst_size, const void *src)
{
    uint32_t n;
    memcpy(&n, src, sizeof n);
    memcpy(dst, src, SK_MIN((size_t)n, dst_size));
    memcpy(dst, &dst_size, sizeof(uint32_t));
}

static silkie_status push_token(silkie_session *s, int32_t id)
{
    if (s->n_tokens == s->cap_tokens) {
        uint32_t cap = s->cap_tokens ? 2 * s->cap_tokens : 1024;
        int32_t *t = silkie_realloc(s->tokens, cap * sizeof *t);
        if (!t) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "session: token history");
        s->tokens = t;
        s->cap_tokens = cap;
    }
    s->tokens[s->n_tokens++] = id;
    return SILKIE_OK;
}

static silkie_status answer_append(silkie_session *s, const char *text, size_t len, int32_t id)
{
    if (s->answer_len + len + 1 > s->answer_cap) {
        size_t cap = SK_MAX(s->answer_cap * 2, s->answer_len + len + 256);
        char *a = silkie_realloc(s->answer, cap);
        if (!a) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "session: answer text");
        s->answer = a;
        s->answer_cap = cap;
    }
    memcpy(s->answer + s->answer_len, text, len);
    s->answer_len += len;
    s->answer[s->answer_len] = 0;
    if (id >= 0) {
        if (s->n_answer == s->cap_answer) {
            uint32_t cap = s->cap_answer ? 2 * s->cap_answer : 256;
            int32_t *a = silkie_realloc(s->answer_ids, cap * sizeof *a);
            if (!a) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "session: answer ids");
            s->answer_ids = a;
            s->cap_answer = cap;
        }
        s->answer_ids[s->n_answer++] = id;
    }
    return SILKIE_OK;
}

/* The bounds generation_config.json is held to (config.c); negative sampling values mean "the
 * checkpoint's", and NaN fails every comparison, so each check is written to reject it. */
static silkie_status check_params(const silkie_session_params *p, const silkie_model *m)
{
    const char *w = "session_create";
    if (p->temperature >= 0 ? !(p->temperature <= 1e4f) : !(p->temperature < 0))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: temperature %g is not in [0, 10000]",
                       w, (double)p->temperature);
    if (p->top_k > (int32_t)(1 << 24))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: top_k %d is not in [0, 16777216]", w,
                       p->top_k);
    if (p->top_p >= 0 ? !(p->top_p > 0 && p->top_p <= 1) : !(p->top_p < 0))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: top_p %g is not in (0, 1]", w,
                       (double)p->top_p);
    if (p->repetition_penalty >= 0
            ? !(p->repetition_penalty >= 1e-3f && p->repetition_penalty <= 1e3f)
            : !(p->repetition_penalty < 0))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "%s: repetition_penalty %g is not in [0.001, 1000]", w,
                       (double)p->repetition_penalty);
    if (p->max_new_tokens > (int32_t)(1 << 24))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: max_new_tokens %d is above 16777216", w,
                       p->max_new_tokens);
    if (p->n_ctx > m->cfg.max_position_embeddings)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "%s: n_ctx %u is above the model's max_position_embeddings %u", w,
                       p->n_ctx, m->cfg.max_position_embeddings);
    if (p->kv_type != SILKIE_DTYPE_F16 && p->kv_type != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: kv_type must be F16 or F32", w);
    return SILKIE_OK;
}

silkie_status silkie_session_create(silkie_model *m, const silkie_session_params *p,
                                    silkie_session **out)
{
    if (!m || !out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "session_create: m, out required");
    *out = NULL;
    SK_CHECK(silkie_model_alive(m, "session_create"));
    silkie_session *s = SK_NEW(silkie_session);
    if (!s) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "session_create");
    silkie_session_params_init(&s->p);
    if (p) {
        if (p->struct_size < sizeof(uint32_t) * 2) {
            silkie_free(s);
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "session_create: struct_size unset");
        }
        read_params(&s->p, sizeof s->p, p);
    }
    silkie_status st = check_params(&s->p, m);
    if (st != SILKIE_OK) {
        silkie_free(s);
        return st;
    }
    const silkie_generation_config *g = &m->gen;
    s->sp.temperature = s->p.temperature >= 0 ? s->p.temperature
                        : (g->do_sample ? g->temperature : 0.0f);
    s->sp.top_k = s->p.top_k >= 0 ? (uint32_t)s->p.top_k : g->top_k;
    s->sp.top_p = s->p.top_p >= 0 ? s->p.top_p : g->top_p;
    s->sp.repetition_penalty = s->p.repetition_penalty >= 0 ? s->p.repetition_penalty
                                                            : g->repetition_penalty;
    s->sp.seed = s->p.seed;
    if (s->p.max_new_tokens < 0) s->p.max_new_tokens = (int32_t)g->max_new_tokens;
    if (!s->p.n_ctx) s->p.n_ctx = SK_MIN(m->cfg.seq_length, m->cfg.max_position_embeddings);
    if (!s->p.n_batch) s->p.n_batch = 512;
    s->m = m;
    atomic_fetch_add(&m->refs, 1);
    st = silkie_qwen_ctx_create(m->q, s->p.n_ctx, s->p.n_batch, s->p.kv_type,
                                              &s->ctx);
    /* The adapter is fixed for the session's life: its cache must not mix two models. */
    s->adapter = silkie_model_adapter_ref(m->adapter);
    if (st == SILKIE_OK && s->adapter) st = silkie_qwen_ctx_set_lora(s->ctx, &s->adapter->lora);
    if (st == SILKIE_OK) silkie_qwen_ctx_set_progress(s->ctx, m->progress, m->progress_user);
    if (st == SILKIE_OK) st = silkie_sampler_init(&s->sampler, &s->sp, m->cfg.vocab_size);
    silkie_sample_params dsp;
    if (st == SILKIE_OK && silkie_sampler_device_params(&s->sampler, &dsp)) {
        /* The device samples whenever it can reproduce the host sampler's tokens. */
        st = silkie_qwen_ctx_set_sampling(s->ctx, &dsp);
        s->sampler.device = st == SILKIE_OK;
    }
    if (st == SILKIE_OK)
        st = silkie_text_stream_create(m->tok, SILKIE_DECODE_LENIENT_SPANS, &s->stream);
    if (st == SILKIE_OK) {
        s->scratch_logits = silkie_malloc(m->cfg.vocab_size * sizeof(float));
        if (!s->scratch_logits) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "session: logits");
    }
    if (st != SILKIE_OK) {
        silkie_session_destroy(s);
        return st;
    }
    *out = s;
    return SILKIE_OK;
}

static void clear_pending(silkie_session *s)
{
    for (uint32_t i = 0; i < s->n_pending; i++) {
        silkie_tensor_free(&s->pending[i].features);
        silkie_free(s->pending[i].pixels);
    }
    memset(s->pending, 0, sizeof s->pending);
    s->n_pending = 0;
}

void silkie_session_destroy(silkie_session *s)
{
    if (!s) return;
    clear_pending(s);
    silkie_session_frame_release(s);
    silkie_qwen_ctx_destroy(s->ctx);
    silkie_model_adapter_release(s->adapter);
    silkie_sampler_release(&s->sampler);
    silkie_text_stream_destroy(s->stream);
    silkie_free(s->tokens);
    silkie_free(s->answer);
    silkie_free(s->answer_ids);
    silkie_free(s->scratch_logits);
    if (s->m) silkie_model_release_ref(s->m);
    silkie_free(s);
}

silkie_status silkie_session_check_usable(silkie_session *s, const char *what)
{
    if (!s) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: session is NULL", what);
    /* Another session (or the trainer) may have lost the shared device. */
    if (s->poisoned == SILKIE_OK && silkie_model_alive(s->m, what) != SILKIE_OK)
        s->poisoned = SILKIE_ERR_DEVICE_LOST;
    if (s->poisoned != SILKIE_OK)
        return SK_FAIL(s->poisoned,
                       "%s: the device was lost earlier; destroy the session and the model and "
                       "load the model again", what);
    return SILKIE_OK;
}

/* Device loss poisons the session: every later call reports it. */
static silkie_status note(silkie_session *s, silkie_status st)
{
    if (st == SILKIE_ERR_DEVICE_LOST) s->poisoned = st;
    return st;
}

static silkie_status add_image_pixels(silkie_session *s, float *chw, const char *name)
{
    if (s->n_pending == SK_MAX_PENDING_IMAGES) {
        silkie_free(chw);
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "add_image: at most %d images per question",
                       SK_MAX_PENDING_IMAGES);
    }
    pending_image *pi = &s->pending[s->n_pending];
    memset(pi, 0, sizeof *pi);
    uint64_t t0 = silkie_time_ns();
    const silkie_model *m = s->m;
    if (m->progress) m->progress("encoding image", 0, 1, m->progress_user);
    silkie_status st = silkie_qwen_features_alloc(s->m->q, &pi->features);
    if (st == SILKIE_OK) st = silkie_qwen_encode_image(s->ctx, chw, &pi->features.t, NULL);
    if (st == SILKIE_OK && m->progress) m->progress("encoding image", 1, 1, m->progress_user);
    if (st != SILKIE_OK) {
        silkie_tensor_free(&pi->features);
        silkie_free(chw);
        return note(s, st);
    }
    s->n_images_total++;
    if (name)
        snprintf(pi->name, sizeof pi->name, "%s", name);
    else
        snprintf(pi->name, sizeof pi->name, "image%u", s->n_images_total);
    pi->pixels = chw;
    s->timings.image_encode_ms += (silkie_time_ns() - t0) / 1e6;
    s->timings.n_images++;
    s->n_pending++;
    return SILKIE_OK;
}

static silkie_status pixels_buffer(silkie_session *s, float **out)
{
    uint32_t S = s->m->cfg.visual.image_size;
    if (!s->m->q->has_vision)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "add_image: the model was loaded text-only");
    *out = silkie_malloc((size_t)3 * S * S * sizeof(float));
    return *out ? SILKIE_OK : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "add_image: pixels");
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

silkie_status silkie_session_add_image_encoded(silkie_session *s, const void *data, size_t size,
                                               const char *name)
{
    SK_CHECK(silkie_session_check_usable(s, "add_image"));
    if (!data || !size) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "add_image: no data");
    if (s->n_pending == 0) s->timings.image_encode_ms = 0, s->timings.n_images = 0;
    float *chw;
    SK_CHECK(pixels_buffer(s, &chw));
    uint64_t t0 = silkie_time_ns();
    silkie_status st = silkie_session_preprocess_encoded(data, size, name,
                                                         s->m->cfg.visual.image_size, chw);
    if (st != SILKIE_OK) {
        silkie_free(chw);
        return st;
    }
    s->timings.image_encode_ms += (silkie_time_ns() - t0) / 1e6;
    return add_image_pixels(s, chw, name);
}

silkie_status silkie_session_add_image_file(silkie_session *s, const char *path)
{
    SK_CHECK(silkie_session_check_usable(s, "add_image_file"));
    if (!path) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "add_image_file: path is NULL");
    uint8_t *buf = NULL;
    size_t len = 0;
    silkie_status st = silkie_session_read_image_file(path, &buf, &len);
    if (st == SILKIE_OK) st = silkie_session_add_image_encoded(s, buf, len, base_name(path));
    silkie_free(buf);
    return st;
}

silkie_status silkie_session_add_image_rgb(silkie_session *s, const uint8_t *rgb, uint32_t width,
                                           uint32_t height, uint32_t stride, const char *name)
{
    SK_CHECK(silkie_session_check_usable(s, "add_image_rgb"));
    if (!rgb) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "add_image_rgb: rgb is NULL");
    if (stride && stride < 3ull * width)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "add_image_rgb: stride %u < 3 * width %u",
                       stride, width);
    if (s->n_pending == 0) s->timings.image_encode_ms = 0, s->timings.n_images = 0;
    float *chw;
    SK_CHECK(pixels_buffer(s, &chw));
    silkie_status st = silkie_session_preprocess_rgb(rgb, width, height, stride,
                                                     s->m->cfg.visual.image_size, chw);
    if (st != SILKIE_OK) {
        silkie_free(chw);
        return st;
    }
    return add_image_pixels(s, chw, name);
}

/* Token ids of one new user turn (and its image positions relative to the returned list). */
static silkie_status build_turn(silkie_session *s, const char *question, silkie_token_list **ids)
{
    const char *names[SK_MAX_PENDING_IMAGES];
    for (uint32_t i = 0; i < s->n_pending; i++) names[i] = s->pending[i].name;
    silkie_chat_turn turn = {.query = question, .image_paths = names, .n_images = s->n_pending};
    silkie_chat_params cp;
    silkie_chat_params_init(&cp);
    cp.system = s->p.system;
    cp.n_queries = s->m->cfg.visual.n_queries;
    /* A later turn continues the cached conversation: the one-turn prompt minus its system
     * block is exactly the "\n<|im_start|>user\n...assistant\n" continuation (the caller
     * skips that block). */
    return silkie_chat_build_prompt(s->m->tok, &cp, NULL, 0, &turn, ids);
}

/* Offset where the user turn starts in a one-turn prompt: after "<|im_start|>system\n...
 * <|im_end|>", i.e. at the first "\n" following the first <|im_end|>. */
static uint32_t system_block_len(const int32_t *ids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == TOKEN_IM_END) return i + 1;
    return 0;
}

static silkie_status generate(silkie_session *s, const silkie_ask_params *ap,
                              const float *logits, silkie_sample_result *res);

static int sample_on_device(const silkie_session *s)
{
    return s->sampler.device && !s->sampler.host_only;
}

/* The device's token history must be the sampler's. They move together through every pass;
 * after a restored cache or a failed pass the sampler's is uploaded once. Call before the
 * sampler accepts the ids of the next pass. */
static silkie_status sync_history(silkie_session *s)
{
    if (silkie_qwen_ctx_seen_count(s->ctx) == s->sampler.n_accepted) return SILKIE_OK;
    return silkie_qwen_ctx_set_seen(s->ctx, s->sampler.seen, s->sampler.n_accepted);
}

silkie_status silkie_session_ask(silkie_session *s, const char *question,
                                 const silkie_ask_params *p)
{
    SK_CHECK(silkie_session_check_usable(s, "ask"));
    if (!question) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "ask: question is NULL");
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    if (p && p->struct_size < sizeof(uint32_t) * 2)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "ask: struct_size unset");
    if (p) read_params(&ap, sizeof ap, p);
    atomic_store(&s->cancel, 0);
    s->answer_len = 0;
    s->n_answer = 0;
    if (s->answer) s->answer[0] = 0;

    silkie_token_list *turn = NULL;
    silkie_status st = build_turn(s, question, &turn);
    if (st != SILKIE_OK) return st;
    const int32_t *tid = silkie_token_list_ids(turn);
    uint32_t nt = (uint32_t)silkie_token_list_size(turn), skip = 0;
    if (s->n_tokens > 0) skip = system_block_len(tid, nt);
    /* New tokens: [<|im_end|> if the last answer lacks it] + the turn. */
    uint32_t n_new = nt - skip + (s->need_im_end ? 1 : 0);
    int32_t *ids = silkie_malloc(n_new * sizeof *ids);
    silkie_qwen_image_slot slots[SK_MAX_PENDING_IMAGES];
    uint32_t n_img = silkie_token_list_n_images(turn);
    const uint32_t *img_pos = silkie_token_list_image_positions(turn);
    if (!ids) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "ask: %u ids", n_new);
    if (st == SILKIE_OK && n_img != s->n_pending)
        st = SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                     "ask: the question has %u image tags besides the %u added images",
                     n_img - SK_MIN(n_img, s->n_pending), s->n_pending);
    uint32_t lead = s->need_im_end ? 1 : 0;
    if (st == SILKIE_OK) {
        if (lead) ids[0] = TOKEN_IM_END;
        memcpy(ids + lead, tid + skip, (nt - skip) * sizeof *ids);
        for (uint32_t i = 0; i < n_img; i++)
            slots[i] = (silkie_qwen_image_slot){
                .features = &s->pending[i].features.t,
                .pos = s->n_tokens + lead + (img_pos[i] - skip) + 1};
        if ((uint64_t)s->n_tokens + n_new + 1 > s->p.n_ctx)
            st = SK_FAIL(SILKIE_ERR_CONTEXT_FULL,
                         "ask: %u tokens of history + %u new exceed n_ctx %u", s->n_tokens, n_new,
                         s->p.n_ctx);
    }
    /* Verification dump: taps on the first question only (one pass, no history). */
    int dump = ap.dump_path && s->n_tokens == 0 && n_new <= s->p.n_batch;
    silkie_owned_tensor tap_h0 = {0};
    silkie_qwen_taps taps = {0};
    if (st == SILKIE_OK && dump) {
        const uint32_t ne[4] = {s->m->cfg.hidden_size, n_new, 1, 1};
        st = silkie_tensor_alloc(s->m->dev, SILKIE_VK_POOL_HOST, SILKIE_DTYPE_F32, ne, &tap_h0);
        taps.hidden_layer0 = &tap_h0.t;
    } else if (st == SILKIE_OK && ap.dump_path) {
        st = SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                     "ask: dump needs the first question of a session within n_batch tokens");
    }
    const float *logits = NULL;
    /* The dump keeps the prompt's logits: that prefill hands them to the host. */
    silkie_sample_result *res = NULL;
    if (st == SILKIE_OK && sample_on_device(s) && !dump) {
        res = silkie_malloc(sizeof *res);
        if (!res) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "ask: sampling result");
    }
    if (st == SILKIE_OK) {
        uint64_t t0 = silkie_time_ns();
        if (res) {
            st = note(s, sync_history(s));
            if (st == SILKIE_OK)
                st = note(s, silkie_qwen_eval_sample(s->ctx, ids, n_new, slots, n_img, res));
        } else {
            st = note(s, silkie_qwen_eval(s->ctx, ids, n_new, slots, n_img, dump ? &taps : NULL,
                                          &logits));
        }
        s->timings.prefill_ms = (silkie_time_ns() - t0) / 1e6;
        s->timings.prefill_tokens = n_new;
    }
    if (st == SILKIE_OK) {
        s->need_im_end = 0;
        silkie_sampler_accept(&s->sampler, ids, n_new);
        for (uint32_t i = 0; i < n_new && st == SILKIE_OK; i++) st = push_token(s, ids[i]);
    }
    float *first_logits = NULL;
    if (st == SILKIE_OK && dump) {
        first_logits = silkie_malloc(s->m->cfg.vocab_size * sizeof(float));
        if (first_logits)
            memcpy(first_logits, logits, s->m->cfg.vocab_size * sizeof(float));
        else
            st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "ask: dump logits");
    }
    if (st == SILKIE_OK) st = generate(s, &ap, logits, res);
    silkie_free(res);
    if ((st == SILKIE_OK || st == SILKIE_ERR_CANCELLED) && dump) {
        silkie_status ds = SILKIE_OK;
        const silkie_vision_config *v = &s->m->cfg.visual;
        uint64_t Hd = s->m->cfg.hidden_size;
        int64_t *ids64 = silkie_malloc(n_new * sizeof(int64_t));
        int64_t *greedy = silkie_malloc((s->n_answer + 1) * sizeof(int64_t));
        float *feat = n_img ? silkie_malloc((uint64_t)v->n_queries * v->output_dim * 4) : NULL;
        float *h0 = silkie_malloc(n_new * Hd * sizeof(float));
        if (!ids64 || !greedy || !h0 || (n_img && !feat))
            ds = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "ask: dump buffers");
        if (ds == SILKIE_OK && n_img)
            ds = silkie_tensor_read_rows(&s->pending[0].features.t, 0, v->n_queries, feat);
        if (ds == SILKIE_OK) ds = silkie_tensor_read_rows(&tap_h0.t, 0, n_new, h0);
        if (ds == SILKIE_OK) {
            for (uint32_t i = 0; i < n_new; i++) ids64[i] = ids[i];
            for (uint32_t i = 0; i < s->n_answer; i++) greedy[i] = s->answer_ids[i];
            silkie_dump_tensor t[6];
            uint32_t n = 0;
            uint64_t S = v->image_size;
            if (n_img) {
                if (s->pending[0].pixels) /* frames are preprocessed on the device only */
                    t[n++] = (silkie_dump_tensor){"pixel_values", SILKIE_DTYPE_F32, 3,
                                                  {3, S, S}, s->pending[0].pixels};
                t[n++] = (silkie_dump_tensor){"vision_features", SILKIE_DTYPE_F32, 2,
                                              {v->n_queries, v->output_dim}, feat};
            }
            t[n++] = (silkie_dump_tensor){"input_ids", SILKIE_DTYPE_I64, 1, {n_new}, ids64};
            t[n++] = (silkie_dump_tensor){"prompt_logits_last", SILKIE_DTYPE_F32, 1,
                                          {s->m->cfg.vocab_size}, first_logits};
            t[n++] = (silkie_dump_tensor){"hidden_layer0", SILKIE_DTYPE_F32, 2, {n_new, Hd}, h0};
            if (s->sp.temperature <= 0 && s->n_answer)
                t[n++] = (silkie_dump_tensor){"greedy_ids", SILKIE_DTYPE_I64, 1, {s->n_answer},
                                              greedy};
            ds = silkie_dump_safetensors(ap.dump_path, t, n);
        }
        silkie_free(ids64);
        silkie_free(greedy);
        silkie_free(feat);
        silkie_free(h0);
        if (st == SILKIE_OK) st = ds;
    }
    silkie_free(first_logits);
    silkie_tensor_free(&tap_h0);
    silkie_free(ids);
    silkie_token_list_destroy(turn);
    if (st == SILKIE_OK || st == SILKIE_ERR_CANCELLED) clear_pending(s);
    return st;
}

/* The next token from the last pass: from the device step's result when there is one (the
 * logits are read only if it cannot decide), else from the host logits. */
static silkie_status next_token(silkie_session *s, const float *logits,
                                const silkie_sample_result *res, int32_t *tok)
{
    if (res && silkie_sampler_pick(&s->sampler, res, tok)) return SILKIE_OK;
    if (res) SK_CHECK(note(s, silkie_qwen_ctx_logits(s->ctx, &logits)));
    memcpy(s->scratch_logits, logits, s->m->cfg.vocab_size * sizeof(float));
    *tok = silkie_sampler_sample(&s->sampler, s->scratch_logits);
    return SILKIE_OK;
}

/* Sampling loop: the prompt's pass left host logits in `logits` or a device sampling result in
 * `res` (then scratch for every later step too); every accepted token is streamed and
 * evaluated (a replayed decode list, with sampling on the device when the settings allow).
 * Stop tokens end the answer without being evaluated; the next turn then starts with
 * <|im_end|>. */
static silkie_status generate(silkie_session *s, const silkie_ask_params *ap,
                              const float *logits, silkie_sample_result *res)
{
    int32_t max_new = ap->max_new_tokens >= 0 ? ap->max_new_tokens : s->p.max_new_tokens;
    uint64_t t0 = silkie_time_ns();
    silkie_status st = SILKIE_OK;
    s->timings.decode_tokens = 0;
    s->need_im_end = 1;
    /* A dump's prefill handed its logits to the host; the decode steps may still sample on the
     * device. */
    silkie_sample_result *own = NULL, *dres = res;
    if (!dres && sample_on_device(s)) {
        own = dres = silkie_malloc(sizeof *dres);
        if (!dres) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "ask: sampling result");
    }
    for (int32_t i = 0; i < max_new; i++) {
        if (atomic_load(&s->cancel)) {
            st = SK_FAIL(SILKIE_ERR_CANCELLED, "ask: cancelled after %u tokens", s->n_answer);
            break;
        }
        int32_t tok;
        st = next_token(s, logits, res, &tok);
        if (st != SILKIE_OK) break;
        if (!ap->no_stop && silkie_chat_is_stop_token(tok)) break;
        const char *piece = NULL;
        size_t len = 0;
        st = silkie_text_stream_push(s->stream, tok, &piece, &len);
        if (st != SILKIE_OK) break;
        st = answer_append(s, piece, len, tok);
        if (st != SILKIE_OK) break;
        int stop = ap->on_text && len ? ap->on_text(piece, len, tok, ap->user) : 0;
        if (s->n_tokens + 1 >= s->p.n_ctx) {
            st = SK_FAIL(SILKIE_ERR_CONTEXT_FULL, "ask: context of %u tokens is full", s->p.n_ctx);
            break;
        }
        if (dres) {
            st = note(s, sync_history(s));
            if (st != SILKIE_OK) break;
            silkie_sampler_accept(&s->sampler, &tok, 1);
            st = note(s, silkie_qwen_eval_sample(s->ctx, &tok, 1, NULL, 0, dres));
            res = dres; /* this step's result, not logits */
        } else {
            silkie_sampler_accept(&s->sampler, &tok, 1);
            st = note(s, silkie_qwen_eval(s->ctx, &tok, 1, NULL, 0, NULL, &logits));
        }
        if (st != SILKIE_OK) break;
        st = push_token(s, tok);
        s->timings.decode_tokens++;
        if (st != SILKIE_OK || stop) break;
    }
    /* finish is a public entry point and clears this thread's message (so may the callback):
     * keep the loop's failure message for the caller. */
    char msg[256] = "";
    if (st != SILKIE_OK) snprintf(msg, sizeof msg, "%s", silkie_last_error());
    const char *tail = NULL;
    size_t tl = 0;
    if (silkie_text_stream_finish(s->stream, &tail, &tl) == SILKIE_OK && tl) {
        answer_append(s, tail, tl, -1);
        if (ap->on_text) ap->on_text(tail, tl, -1, ap->user);
    }
    s->timings.decode_ms = (silkie_time_ns() - t0) / 1e6;
    silkie_free(own);
    return st == SILKIE_OK ? st : SK_FAIL(st, "%s", msg);
}

const char *silkie_session_answer(const silkie_session *s)
{
    return s && s->answer ? s->answer : "";
}

const int32_t *silkie_session_answer_tokens(const silkie_session *s, uint32_t *n)
{
    if (n) *n = s ? s->n_answer : 0;
    return s ? s->answer_ids : NULL;
}

void silkie_session_cancel(silkie_session *s)
{
    if (s) atomic_store(&s->cancel, 1);
}

silkie_status silkie_session_reset(silkie_session *s)
{
    SK_CHECK(silkie_session_check_usable(s, "reset"));
    clear_pending(s);
    silkie_qwen_ctx_reset(s->ctx);
    silkie_sampler_reset(&s->sampler);
    s->n_tokens = 0;
    s->need_im_end = 0;
    s->answer_len = 0;
    s->n_answer = 0;
    if (s->answer) s->answer[0] = 0;
    memset(&s->timings, 0, sizeof s->timings);
    return SILKIE_OK;
}

uint32_t silkie_session_n_tokens(const silkie_session *s) { return s ? s->n_tokens : 0; }

void silkie_session_timings(const silkie_session *s, silkie_timings *out)
{
    if (!out) return;
    if (!s) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = s->timings;
}
