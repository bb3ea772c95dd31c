/* DPO on a preference pair (spec §9.2): sequences in the chosen layout, truncation, the image
 * encoded once, reference log-probs with the adapter off, policy log-probs with it on, the
 * loss, and the backward pass of both responses into the adapter's gradients. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#define SK_LOG_MODULE "train"
#include "trainer_int.h"

void silkie_train_params_init_size(silkie_train_params *p, size_t size)
{
    silkie_train_params d = {0};
    d.lora_r = 64;
    d.lora_alpha = 16.0f;
    d.lora_dropout = -1.0f;
    d.lora_targets = "c_attn,attn.c_proj,w1,w2";
    d.loss = SILKIE_DPO_SIGMOID;
    d.beta = 0.1f;
    d.layout = SILKIE_CHAT_LAYOUT_SILKIE;
    d.max_prompt_tokens = 1024;
    d.max_total_tokens = 2048;
    sk_params_fill(p, size, &d, sizeof d);
}

static silkie_status check_params(const silkie_train_params *p)
{
    if ((uint32_t)p->loss > SILKIE_DPO_ROBUST)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer: loss %d", (int)p->loss);
    if (!(p->beta > 0) || !isfinite(p->beta))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer: beta must be > 0");
    if (!(p->label_smoothing >= 0 && p->label_smoothing < 0.5f))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer: label smoothing must be in [0, 0.5)");
    if (!(p->lora_dropout < 1.0f) || isnan(p->lora_dropout))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer: lora dropout must be < 1");
    if ((uint32_t)p->layout > SILKIE_CHAT_LAYOUT_SILKIE)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer: layout %d", (int)p->layout);
    if (!p->max_total_tokens || !p->max_prompt_tokens ||
        p->max_prompt_tokens >= p->max_total_tokens)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "trainer: need 0 < max_prompt_tokens (%u) < max_total_tokens (%u)",
                       p->max_prompt_tokens, p->max_total_tokens);
    if (!p->init_adapter && (p->lora_r == 0 || p->lora_r > 4096 || !(p->lora_alpha > 0)))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer: lora rank 1..4096, alpha > 0");
    return SILKIE_OK;
}

static silkie_status build_names(silkie_trainer *t)
{
    const silkie_qwen_lora *lo = &t->lora;
    uint32_t n = 0;
    for (uint32_t i = 0; i < lo->n_layers * SILKIE_LORA_N_TARGETS; i++) n += lo->mod[i].r ? 2 : 0;
    t->names = silkie_malloc(sizeof *t->names * (n ? n : 1));
    t->tensor_slot = SK_NEW_ARRAY(uint32_t, n ? n : 1);
    if (!t->names || !t->tensor_slot) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "trainer: names");
    /* Layer by layer, modules in name order, A before B: as the reference adapter lists them. */
    static const silkie_lora_target order[] = {SILKIE_LORA_C_ATTN, SILKIE_LORA_ATTN_C_PROJ,
                                               SILKIE_LORA_MLP_C_PROJ, SILKIE_LORA_W1,
                                               SILKIE_LORA_W2};
    for (uint32_t l = 0; l < lo->n_layers; l++)
        for (uint32_t k = 0; k < SK_ARRAY_LEN(order); k++) {
            uint32_t mi = l * SILKIE_LORA_N_TARGETS + order[k];
            if (!lo->mod[mi].r) continue;
            for (int b = 0; b < 2; b++) {
                silkie_lora_tensor_name(l, order[k], b, t->names[t->n_tensors],
                                        sizeof t->names[0]);
                t->tensor_slot[t->n_tensors++] = mi * 2 + (uint32_t)b;
            }
        }
    return SILKIE_OK;
}

void silkie_trainer_destroy(silkie_trainer *t)
{
    if (!t) return;
    silkie_trainer_optim_release(t);
    silkie_qwen_train_ws_destroy(t->ws);
    silkie_tensor_free(&t->colsum);
    silkie_vk_cmd_destroy(t->vcmd);
    silkie_qwen_ws_release(&t->vws);
    for (uint32_t i = 0; i < MAX_PAIR_IMAGES; i++) silkie_tensor_free(&t->features[i]);
    silkie_qwen_lora_release(&t->lora);
    for (int k = 0; k < 2; k++) {
        silkie_free(t->ids[k]);
        silkie_free(t->scored[k]);
    }
    silkie_free(t->pk_mem);
    silkie_free(t->names);
    silkie_free(t->tensor_slot);
    silkie_free(t->system);
    silkie_model_release_ref(t->m);
    silkie_free(t);
}

/* A name list such as "mlp.c_proj" also names the vision tower's MLPs under PEFT's suffix rule.
 * A new adapter is for the LLM blocks, so such a list becomes the equivalent regular expression
 * confined to them (PEFT reads either form). */
static silkie_status restrict_to_llm(silkie_lora_config *c)
{
    if (c->target_is_regex) return SILKIE_OK;
    char hit[128];
    SK_CHECK(silkie_lora_config_outside(c, 1, hit, sizeof hit));
    if (!hit[0]) return SILKIE_OK;
    char re[sizeof c->target_regex];
    size_t n = (size_t)snprintf(re, sizeof re, "transformer\\.h\\.\\d+\\.(.*\\.)?(");
    for (uint32_t i = 0; i < c->n_targets; i++) {
        if (n + 2 * strlen(c->targets[i]) + 4 >= sizeof re)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "lora targets: too many to confine to the LLM blocks (%u)",
                           c->n_targets);
        if (i) re[n++] = '|';
        for (const char *q = c->targets[i]; *q; q++) {
            if (*q == '.') re[n++] = '\\';
            re[n++] = *q;
        }
    }
    snprintf(re + n, sizeof re - n, ")");
    SK_LOGI("targets also name vision modules; adapting the LLM blocks only: %s", re);
    c->target_is_regex = true;
    c->n_targets = 0;
    memcpy(c->target_regex, re, sizeof re);
    return SILKIE_OK;
}

static silkie_status new_adapter_config(const silkie_train_params *p, silkie_lora_config *c)
{
    memset(c, 0, sizeof *c);
    c->r = p->lora_r;
    c->alpha = p->lora_alpha;
    c->dropout = p->lora_dropout < 0 ? 0.05 : p->lora_dropout;
    c->use_rslora = p->use_rslora != 0;
    snprintf(c->base_model, sizeof c->base_model, "%s",
             p->base_model ? p->base_model : "Qwen/Qwen-VL-Chat");
    SK_CHECK(silkie_lora_config_set_targets(c, p->lora_targets ? p->lora_targets
                                                               : "c_attn,attn.c_proj,w1,w2"));
    return restrict_to_llm(c);
}

silkie_status silkie_trainer_create(silkie_model *model, const silkie_train_params *params,
                                    silkie_trainer **out)
{
    silkie_error_clear();
    if (!model || !out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer: model, out required");
    *out = NULL;
    SK_CHECK(silkie_model_alive(model, "trainer_create"));
    silkie_train_params p;
    silkie_train_params_init(&p);
    if (params) {
        if (params->struct_size < 8)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer: struct_size unset");
        memcpy(&p, params, SK_MIN((size_t)params->struct_size, sizeof p));
        p.struct_size = sizeof p;
    }
    SK_CHECK(check_params(&p));
    silkie_trainer *t = SK_NEW(silkie_trainer);
    if (!t) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "trainer");
    atomic_fetch_add(&model->refs, 1);
    t->m = model;
    t->p = p;
    t->p.init_adapter = NULL; /* borrowed strings are not kept */
    t->p.lora_targets = NULL;
    t->p.system = NULL;
    t->p.base_model = NULL;
    silkie_status st = SILKIE_OK;
    if (p.system && !(t->system = silkie_strdup(p.system)))
        st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "trainer: system prompt");
    if (st == SILKIE_OK) {
        if (p.init_adapter) {
            st = silkie_qwen_lora_load(model->q, p.init_adapter, 1, &t->lcfg, &t->lora);
            if (st == SILKIE_OK && p.lora_dropout >= 0) {
                t->lcfg.dropout = p.lora_dropout;
                t->lora.dropout = p.lora_dropout;
            }
        } else {
            st = new_adapter_config(&p, &t->lcfg);
            if (st == SILKIE_OK)
                st = silkie_qwen_lora_init(model->q, &t->lcfg, p.seed, 1, &t->lora);
        }
    }
    if (st == SILKIE_OK) st = build_names(t);
    if (st == SILKIE_OK) st = silkie_trainer_optim_alloc(t);
    if (st == SILKIE_OK && model->q->has_vision) {
        st = silkie_qwen_ws_create(model->q, 1, &t->vws);
        if (st == SILKIE_OK) st = silkie_vk_cmd_create(model->dev, &t->vcmd);
    }
    if (st != SILKIE_OK) {
        silkie_trainer_destroy(t);
        return st;
    }
    *out = t;
    return SILKIE_OK;
}

silkie_status silkie_trainer_zero_grad(silkie_trainer *t)
{
    if (!t) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer: t required");
    for (uint32_t i = 0; i < t->lora.n_layers * SILKIE_LORA_N_TARGETS; i++) {
        silkie_lora_module *m = &t->lora.mod[i];
        if (!m->r) continue;
        SK_CHECK(silkie_vk_buffer_fill(m->ga.t.buf, m->ga.t.offset, silkie_tensor_nbytes(&m->ga.t),
                                       0));
        SK_CHECK(silkie_vk_buffer_fill(m->gb.t.buf, m->gb.t.offset, silkie_tensor_nbytes(&m->gb.t),
                                       0));
    }
    return SILKIE_OK;
}

/* Python's str.strip() for ASCII whitespace, into a heap copy. */
static char *strip_copy(const char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    char *r = silkie_malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = 0;
    }
    return r;
}

static uint32_t first_scored(const uint8_t *scored, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (scored[i]) return i;
    return n;
}

/* Training sequence of one side and its response length (tokens after the prompt). */
static silkie_status build_list(silkie_trainer *t, const silkie_chat_turn *turn,
                                silkie_token_list **l, uint32_t *n_resp)
{
    silkie_chat_params cp;
    silkie_chat_params_init(&cp);
    cp.system = t->system;
    cp.n_queries = t->m->cfg.visual.n_queries;
    SK_CHECK(silkie_chat_build_training(t->m->tok, &cp, turn, t->p.layout, l));
    uint32_t n = (uint32_t)silkie_token_list_size(*l);
    *n_resp = n - first_scored(silkie_token_list_scored(*l), n);
    return SILKIE_OK;
}

/* Side k of the pair from its list, truncated as the Silkie recipe does (TRL "keep_end"):
 * prompt to its last max_prompt tokens when prompt + the longer response exceeds max_total,
 * then responses to their first max_total - max_prompt tokens. A cut that would remove part of
 * an image span is refused. */
static silkie_status truncate_side(silkie_trainer *t, const silkie_token_list *l, int k,
                                   uint32_t longest_response)
{
    const int32_t *ids = silkie_token_list_ids(l);
    const uint8_t *sc = silkie_token_list_scored(l);
    uint32_t n = (uint32_t)silkie_token_list_size(l);
    uint32_t n_prompt = first_scored(sc, n), n_resp = n - n_prompt;
    uint32_t p0 = 0, resp_keep = n_resp;
    if (n_prompt + longest_response > t->p.max_total_tokens) {
        if (n_prompt > t->p.max_prompt_tokens) p0 = n_prompt - t->p.max_prompt_tokens;
        if (n_prompt - p0 + longest_response > t->p.max_total_tokens)
            resp_keep = SK_MIN(n_resp, t->p.max_total_tokens - t->p.max_prompt_tokens);
        const uint32_t *img = silkie_token_list_image_positions(l);
        for (uint32_t i = 0; i < silkie_token_list_n_images(l); i++)
            if (img[i] < p0)
                return SK_FAIL(SILKIE_ERR_BAD_DATA,
                               "pair: truncating the prompt to %u tokens would cut image %u's "
                               "<img>...</img> span", t->p.max_prompt_tokens, i + 1);
    }
    uint32_t len = n_prompt - p0 + resp_keep;
    if (len > t->cap[k]) {
        silkie_free(t->ids[k]);
        silkie_free(t->scored[k]);
        t->ids[k] = SK_NEW_ARRAY(int32_t, len);
        t->scored[k] = SK_NEW_ARRAY(uint8_t, len);
        t->cap[k] = t->ids[k] && t->scored[k] ? len : 0;
        if (!t->cap[k]) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "pair: %u tokens", len);
    }
    memcpy(t->ids[k], ids + p0, sizeof(int32_t) * len);
    memcpy(t->scored[k], sc + p0, len);
    t->n[k] = len;
    return SILKIE_OK;
}

static silkie_status encode_images(silkie_trainer *t, const silkie_pref_pair *pair)
{
    const silkie_qwen *q = t->m->q;
    if (pair->n_images && !q->has_vision)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "pair: the model was loaded without vision");
    const uint32_t S = t->m->cfg.visual.image_size;
    for (uint32_t i = 0; i < pair->n_images; i++) {
        const char *ref = pair->images[i];
        char path[4096];
        int w = pair->image_dir ? snprintf(path, sizeof path, "%s/%s", pair->image_dir, ref)
                                : snprintf(path, sizeof path, "%s", ref);
        if (w < 0 || w >= (int)sizeof path)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "pair: image path too long");
        uint8_t *data = NULL;
        size_t n = 0;
        silkie_status st = silkie_session_read_image_file(path, &data, &n);
        float *chw = st == SILKIE_OK ? silkie_malloc((size_t)3 * S * S * sizeof(float)) : NULL;
        if (st == SILKIE_OK && !chw) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "pair: pixels");
        if (st == SILKIE_OK) st = silkie_session_preprocess_encoded(data, n, path, S, chw);
        silkie_free(data);
        if (st == SILKIE_OK)
            st = silkie_tensor_write_rows(&t->vws.pixels.t, 0,
                                          silkie_tensor_rows(&t->vws.pixels.t), chw);
        silkie_free(chw);
        if (st == SILKIE_OK && !t->features[i].t.buf)
            st = silkie_qwen_features_alloc(q, &t->features[i]);
        if (st == SILKIE_OK) {
            silkie_op_ctx c = {.dev = q->dev, .cmd = t->vcmd};
            st = silkie_vk_cmd_begin(t->vcmd);
            if (st == SILKIE_OK)
                st = silkie_qwen_record_vision(&c, q, &t->vws, &t->features[i].t, NULL);
            if (st == SILKIE_OK) st = silkie_vk_cmd_end(t->vcmd);
            if (st == SILKIE_OK) st = silkie_vk_cmd_submit_wait(t->vcmd);
        }
        if (st != SILKIE_OK) return st;
    }
    return SILKIE_OK;
}

silkie_status silkie_trainer_ensure_ws(silkie_trainer *t, uint32_t tokens)
{
    if (t->ws && tokens <= t->ws_tokens) return SILKIE_OK;
    silkie_qwen_train_ws_destroy(t->ws);
    t->ws = NULL;
    uint32_t n = (tokens + WS_ROUND - 1) / WS_ROUND * WS_ROUND;
    if (!t->colsum.t.buf) SK_CHECK(silkie_qwen_vocab_colsum(t->m->q, &t->colsum));
    SK_CHECK(silkie_qwen_train_ws_create(t->m->q, &t->lora, &t->colsum.t, n, &t->ws));
    t->ws_tokens = n;
    return SILKIE_OK;
}

static silkie_status check_pair(const silkie_pref_pair *pair)
{
    if (!pair || !pair->prompt || !pair->chosen || !pair->rejected)
        return SK_FAIL(SILKIE_ERR_BAD_DATA, "pair: prompt, chosen and rejected are required");
    if (!pair->chosen[0] || !pair->rejected[0])
        return SK_FAIL(SILKIE_ERR_BAD_DATA, "pair: empty %s response",
                       pair->chosen[0] ? "rejected" : "chosen");
    if (!strcmp(pair->chosen, pair->rejected))
        return SK_FAIL(SILKIE_ERR_BAD_DATA, "pair: chosen and rejected responses are identical");
    if (pair->n_images > MAX_PAIR_IMAGES)
        return SK_FAIL(SILKIE_ERR_BAD_DATA, "pair: %u images (at most %d)", pair->n_images,
                       MAX_PAIR_IMAGES);
    for (uint32_t i = 0; i < pair->n_images; i++)
        if (!pair->images || !pair->images[i] || !pair->images[i][0])
            return SK_FAIL(SILKIE_ERR_BAD_DATA, "pair: image reference %u is empty", i + 1);
    return SILKIE_OK;
}

static silkie_status policy_and_loss(silkie_trainer *t, const silkie_qwen_train_seq *seq,
                                     const double *ref_logps, float grad_scale,
                                     silkie_dpo_metrics *out);

/* Packs the pair into one pass: the rows both sequences share (all but the last token of their
 * common prefix), then the chosen continuation, then the rejected one at the positions it has
 * in its own sequence. Each row predicts the next token of its own sequence. */
silkie_status silkie_trainer_pack_pair(silkie_trainer *t)
{
    const int32_t *c = t->ids[0], *r = t->ids[1];
    const uint8_t *sc = t->scored[0], *sr = t->scored[1];
    const uint32_t nc = t->n[0], nr = t->n[1];
    uint32_t lcp = 0;
    while (lcp < nc && lcp < nr && c[lcp] == r[lcp]) lcp++;
    const uint32_t s = lcp ? lcp - 1 : 0, na = nc - s, nb = nr - s, T = s + na + nb;
    if (T > t->pk_cap) {
        /* Three I32 and three F32 arrays of T in one block. */
        void *mem = silkie_malloc((size_t)T * 6 * 4);
        if (!mem) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "pair: %u packed rows", T);
        silkie_free(t->pk_mem);
        t->pk_mem = mem;
        t->pk_buf_ids = mem;
        t->pk_buf_pos = t->pk_buf_ids + T;
        t->pk_buf_lab = t->pk_buf_pos + T;
        t->pk_g = (float *)(t->pk_buf_lab + T);
        t->pk_lp = t->pk_g + T;
        t->pk_lg = t->pk_lp + T;
        t->pk_cap = T;
    }
    int32_t *ids = t->pk_buf_ids, *pos = t->pk_buf_pos, *lab = t->pk_buf_lab;
    for (uint32_t i = 0; i < s; i++) {
        if (sc[i + 1] != sr[i + 1])
            return SK_FAIL(SILKIE_ERR_INTERNAL, "pair: shared token %u scored differently", i + 1);
        ids[i] = c[i];
        pos[i] = (int32_t)i;
        lab[i] = sc[i + 1] ? c[i + 1] : -1;
    }
    for (int k = 0; k < 2; k++) {
        const int32_t *x = k ? r : c;
        const uint8_t *m = k ? sr : sc;
        const uint32_t n = k ? nr : nc, row0 = k ? s + na : s;
        for (uint32_t i = s; i < n; i++) {
            ids[row0 + i - s] = x[i];
            pos[row0 + i - s] = (int32_t)i;
            lab[row0 + i - s] = i + 1 < n && m[i + 1] ? x[i + 1] : -1;
        }
    }
    t->pk = (silkie_qwen_train_seq){.ids = ids, .pos = pos, .labels = lab, .n_tokens = T,
                                    .seg_begin = s, .seg_end = s + na};
    return SILKIE_OK;
}

silkie_status silkie_trainer_pair(silkie_trainer *t, const silkie_pref_pair *pair,
                                  float grad_scale, silkie_dpo_metrics *out)
{
    return silkie_trainer_pair_ref(t, pair, NULL, grad_scale, out);
}

silkie_status silkie_trainer_pair_ref(silkie_trainer *t, const silkie_pref_pair *pair,
                                      const double ref_logps[2], float grad_scale,
                                      silkie_dpo_metrics *out)
{
    silkie_error_clear();
    if (!t || !out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer_pair: t, out required");
    memset(out, 0, sizeof *out);
    SK_CHECK(silkie_model_alive(t->m, "trainer_pair")); /* before the pair's own checks */
    if (!isfinite(grad_scale))
        return SK_FAIL(SILKIE_ERR_NOT_FINITE, "trainer_pair: gradient scale is not finite");
    SK_CHECK(check_pair(pair));
    char *query = strip_copy(pair->prompt);
    if (!query) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "pair: prompt");
    silkie_chat_turn turn[2] = {
        {.query = query, .image_paths = pair->images, .n_images = pair->n_images,
         .response = pair->chosen},
        {.query = query, .image_paths = pair->images, .n_images = pair->n_images,
         .response = pair->rejected}};
    silkie_token_list *lists[2] = {NULL, NULL};
    uint32_t rl[2] = {0, 0};
    silkie_status st = SILKIE_OK;
    for (int k = 0; k < 2 && st == SILKIE_OK; k++) st = build_list(t, &turn[k], &lists[k], &rl[k]);
    for (int k = 0; k < 2 && st == SILKIE_OK; k++)
        st = truncate_side(t, lists[k], k, SK_MAX(rl[0], rl[1]));
    for (int k = 0; k < 2; k++) silkie_token_list_destroy(lists[k]);
    silkie_free(query);
    if (st == SILKIE_OK) st = silkie_trainer_pack_pair(t);
    if (st == SILKIE_OK) st = silkie_trainer_ensure_ws(t, t->pk.n_tokens);
    if (st == SILKIE_OK) st = encode_images(t, pair);
    if (st != SILKIE_OK) return st;

    /* The image spans lie in the shared prompt rows of the packed pass. */
    silkie_qwen_inject inj[MAX_PAIR_IMAGES];
    const uint32_t Nq = t->m->cfg.visual.n_queries;
    uint32_t n_inj = 0;
    for (uint32_t i = 0; i < t->pk.seg_begin && n_inj < pair->n_images; i++) {
        if (t->pk.ids[i] != t->m->cfg.visual.image_start_id) continue;
        if (i + 1 + Nq > t->pk.seg_begin)
            return SK_FAIL(SILKIE_ERR_BAD_DATA, "pair: image %u's span is cut", n_inj + 1);
        inj[n_inj] = (silkie_qwen_inject){.features = &t->features[n_inj].t, .row = i + 1};
        n_inj++;
    }
    if (n_inj != pair->n_images)
        return SK_FAIL(SILKIE_ERR_BAD_DATA, "pair: %u image spans for %u images", n_inj,
                       pair->n_images);
    silkie_qwen_train_seq seq = t->pk;
    seq.inject = inj;
    seq.n_inject = n_inj;
    /* Evaluation (no gradient) runs without dropout, as a model in eval mode does. */
    const float dropout = t->lora.dropout;
    if (grad_scale == 0.0f) t->lora.dropout = 0.0f;
    silkie_status fst = policy_and_loss(t, &seq, ref_logps, grad_scale, out);
    t->lora.dropout = dropout;
    return fst;
}

/* Chosen (side 0) and rejected (1) sums over the packed rows: the shared rows count for both. */
static void side_sums(const silkie_trainer *t, const float *v, double sums[2])
{
    const silkie_qwen_train_seq *s = &t->pk;
    double shared = 0.0, a = 0.0, b = 0.0;
    for (uint32_t i = 0; i < s->seg_begin; i++) shared += v[i];
    for (uint32_t i = s->seg_begin; i < s->seg_end; i++) a += v[i];
    for (uint32_t i = s->seg_end; i < s->n_tokens; i++) b += v[i];
    sums[0] = shared + a;
    sums[1] = shared + b;
}

static silkie_status policy_and_loss(silkie_trainer *t, const silkie_qwen_train_seq *seq,
                                     const double *ref_logps, float grad_scale,
                                     silkie_dpo_metrics *out)
{
    const uint32_t T = seq->n_tokens;
    const uint32_t seed = (uint32_t)(t->p.seed ^ (t->p.seed >> 32));
    const silkie_qwen_train_pass ref = {.keep = 0};
    const silkie_qwen_train_pass pol = {
        .lora = &t->lora, .keep = 1, .dropout_seed = seed,
        .dropout_stream = (uint32_t)(t->n_pairs * t->lora.n_layers * SILKIE_LORA_N_TARGETS)};
    t->n_pairs++;
    double rs[2], ps[2], ls[2];
    if (ref_logps) {
        rs[0] = ref_logps[0];
        rs[1] = ref_logps[1];
    } else {
        SK_CHECK(silkie_qwen_train_forward(t->ws, seq, &ref, t->pk_lp, NULL));
        side_sums(t, t->pk_lp, rs);
    }
    SK_CHECK(silkie_qwen_train_forward(t->ws, seq, &pol, t->pk_lp, t->pk_lg));
    side_sums(t, t->pk_lp, ps);
    side_sums(t, t->pk_lg, ls);
    const double pc = ps[0], pr = ps[1], rc = rs[0], rr = rs[1];
    const double beta = t->p.beta, z = (pc - pr) - (rc - rr);
    silkie_dpo_loss_value v = silkie_dpo_loss_eval(t->p.loss, beta, t->p.label_smoothing, z);
    *out = (silkie_dpo_metrics){.policy_chosen_logps = pc, .policy_rejected_logps = pr,
                                .reference_chosen_logps = rc, .reference_rejected_logps = rr,
                                .logits = z, .loss = v.loss,
                                .chosen_rewards = beta * (pc - rc),
                                .rejected_rewards = beta * (pr - rr),
                                .chosen_tokens = t->n[0], .rejected_tokens = t->n[1],
                                .policy_chosen_mean_logit = ls[0] / t->n[0],
                                .policy_rejected_mean_logit = ls[1] / t->n[1]};
    if (!isfinite(v.loss) || !isfinite(v.dloss_dz))
        return SK_FAIL(SILKIE_ERR_NOT_FINITE, "pair: loss is not finite (logit %g)", z);
    if (grad_scale == 0.0f) return SILKIE_OK;
    /* d loss / d logp: +g for chosen rows, -g for rejected rows; the shared rows belong to
     * both, so their weights cancel (as the <|im_start|> term cancels in the margin). */
    const float g = (float)(grad_scale * v.dloss_dz);
    for (uint32_t i = 0; i < T; i++)
        t->pk_g[i] = i < seq->seg_begin ? 0.0f : i < seq->seg_end ? g : -g;
    return silkie_qwen_train_backward(t->ws, seq, &pol, t->pk_g);
}

uint32_t silkie_trainer_n_tensors(const silkie_trainer *t) { return t ? t->n_tensors : 0; }

void silkie_trainer_cancel(silkie_trainer *t)
{
    if (t) atomic_store(&t->cancel, 1);
}

uint64_t silkie_hash64(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

silkie_status silkie_trainer_model_fingerprint(silkie_trainer *t, uint64_t *out)
{
    enum { N = 24 };
    int32_t ids[N], pos[N], lab[N];
    float lp[N], lg[N];
    const uint32_t V = t->m->cfg.vocab_size;
    for (uint32_t i = 0; i < N; i++) {
        ids[i] = (int32_t)((i * 7919u + 11u) % SK_MIN(V, 151643u));
        pos[i] = (int32_t)i;
    }
    for (uint32_t i = 0; i < N; i++) lab[i] = i + 1 < N ? ids[i + 1] : -1;
    SK_CHECK(silkie_trainer_ensure_ws(t, N));
    const silkie_qwen_train_seq seq = {.ids = ids, .pos = pos, .labels = lab, .n_tokens = N};
    const silkie_qwen_train_pass ref = {.keep = 0};
    SK_CHECK(silkie_qwen_train_forward(t->ws, &seq, &ref, lp, lg));
    uint64_t h = silkie_hash64(SILKIE_HASH64_INIT, &t->m->cfg, sizeof t->m->cfg);
    h = silkie_hash64(h, lp, sizeof lp);
    *out = silkie_hash64(h, lg, sizeof lg);
    return SILKIE_OK;
}

silkie_status silkie_trainer_tensor_at(const silkie_trainer *t, uint32_t i,
                                       silkie_lora_module **m, int *b)
{
    if (!t || i >= t->n_tensors)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer: tensor %u of %u", i,
                       t ? t->n_tensors : 0);
    *m = &t->lora.mod[t->tensor_slot[i] / 2];
    *b = (int)(t->tensor_slot[i] % 2);
    return SILKIE_OK;
}

silkie_status silkie_trainer_tensor_info(const silkie_trainer *t, uint32_t i, const char **name,
                                         uint32_t shape[2])
{
    silkie_lora_module *m = NULL;
    int b = 0;
    SK_CHECK(silkie_trainer_tensor_at(t, i, &m, &b));
    const silkie_tensor *x = b ? &m->b.t : &m->a.t;
    if (name) *name = t->names[i];
    if (shape) {
        shape[0] = x->ne[1];
        shape[1] = x->ne[0];
    }
    return SILKIE_OK;
}

/* Tensor i's value (grad 0) or accumulated gradient (grad 1) to host memory. */
static silkie_status read_tensor(silkie_trainer *t, uint32_t i, int grad, float *dst)
{
    silkie_lora_module *m = NULL;
    int b = 0;
    SK_CHECK(silkie_trainer_tensor_at(t, i, &m, &b));
    const silkie_tensor *x = grad ? (b ? &m->gb.t : &m->ga.t) : (b ? &m->b.t : &m->a.t);
    return silkie_tensor_download(x, dst, silkie_tensor_nbytes(x));
}

silkie_status silkie_trainer_read_param(silkie_trainer *t, uint32_t i, float *dst)
{
    return read_tensor(t, i, 0, dst);
}

silkie_status silkie_trainer_read_grad(silkie_trainer *t, uint32_t i, float *dst)
{
    return read_tensor(t, i, 1, dst);
}

silkie_status silkie_trainer_last_sequence(const silkie_trainer *t, uint32_t which,
                                           const int32_t **ids, const uint8_t **scored,
                                           uint32_t *n)
{
    if (!t || which > 1 || !ids || !scored || !n)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer_last_sequence: arguments");
    *ids = t->ids[which];
    *scored = t->scored[which];
    *n = t->n[which];
    return SILKIE_OK;
}

silkie_status silkie_trainer_save_adapter(silkie_trainer *t, const char *dir)
{
    if (!t || !dir) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "save_adapter: t, dir required");
    SK_CHECK(silkie_model_alive(t->m, "save_adapter")); /* no folder for an adapter we lost */
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return SK_FAIL(SILKIE_ERR_IO, "save_adapter: cannot create '%s' (%s)", dir,
                       strerror(errno));
    silkie_st_tensor *st_t = SK_NEW_ARRAY(silkie_st_tensor, t->n_tensors ? t->n_tensors : 1);
    float **data = SK_NEW_ARRAY(float *, t->n_tensors ? t->n_tensors : 1);
    silkie_status st = st_t && data ? SILKIE_OK
                                    : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "save_adapter: tables");
    for (uint32_t i = 0; st == SILKIE_OK && i < t->n_tensors; i++) {
        uint32_t shape[2];
        st = silkie_trainer_tensor_info(t, i, NULL, shape);
        if (st == SILKIE_OK && !(data[i] = silkie_malloc((size_t)shape[0] * shape[1] * 4)))
            st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "save_adapter: %s", t->names[i]);
        if (st == SILKIE_OK) st = silkie_trainer_read_param(t, i, data[i]);
        if (st == SILKIE_OK)
            st_t[i] = (silkie_st_tensor){.name = t->names[i], .dtype = SILKIE_DTYPE_F32,
                                         .n_dims = 2, .shape = {shape[0], shape[1]},
                                         .data = data[i]};
    }
    char path[4096];
    if (st == SILKIE_OK && snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir) >=
                               (int)sizeof path)
        st = SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "save_adapter: path too long");
    if (st == SILKIE_OK) st = silkie_safetensors_write(path, st_t, t->n_tensors);
    if (st == SILKIE_OK) {
        snprintf(path, sizeof path, "%s/adapter_config.json", dir);
        st = silkie_lora_config_save(&t->lcfg, path);
    }
    for (uint32_t i = 0; data && i < t->n_tensors; i++) silkie_free(data[i]);
    silkie_free(data);
    silkie_free(st_t);
    return st;
}

uint64_t silkie_trainer_device_bytes(const silkie_trainer *t)
{
    if (!t) return 0;
    uint64_t b = silkie_qwen_train_ws_bytes(t->ws);
    for (uint32_t i = 0; t->adam_m && i < t->n_tensors; i++)
        b += silkie_tensor_nbytes(&t->adam_m[i].t) + silkie_tensor_nbytes(&t->adam_v[i].t);
    for (uint32_t i = 0; i < t->lora.n_layers * SILKIE_LORA_N_TARGETS; i++) {
        const silkie_lora_module *m = &t->lora.mod[i];
        if (m->r) b += 2 * (silkie_tensor_nbytes(&m->a.t) + silkie_tensor_nbytes(&m->b.t));
    }
    return b;
}
