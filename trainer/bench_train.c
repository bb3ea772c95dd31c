/* silkie_bench_train_run: one DPO step on the real model shape with synthetic weights. */
#include <stdio.h>

#define SILKIE_EXPERIMENTAL
#define SK_LOG_MODULE "bench"
#include "trainer_int.h"

void silkie_bench_train_params_init_size(silkie_bench_train_params *p, size_t size)
{
    silkie_bench_train_params d = {0};
    d.weight_type = SILKIE_DTYPE_F16;
    d.lora_r = 64;
    d.lora_targets = "c_attn,attn.c_proj,w1,w2,mlp.c_proj";
    d.response_tokens = 512;
    d.steps = 2;
    sk_params_fill(p, size, &d, sizeof d);
}

static uint64_t peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %llu kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024;
}

static double ms_since(uint64_t t0) { return (silkie_time_ns() - t0) / 1e6; }

/* A model handle around synthetic weights (no tokenizer: sequences are made here). */
static silkie_status make_model(const silkie_bench_train_params *bp, silkie_model **out)
{
    silkie_model *m = SK_NEW(silkie_model);
    if (!m) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "bench_train: model");
    atomic_init(&m->refs, 1);
    silkie_model_config_qwen_vl_chat(&m->cfg);
    silkie_generation_config_defaults(&m->gen);
    if (bp->vision_layers) m->cfg.visual.layers = SK_MIN(bp->vision_layers, m->cfg.visual.layers);
    silkie_vk_device_params dp;
    silkie_vk_device_params_init(&dp);
    dp.device = bp->device;
    silkie_status st = silkie_vk_device_create(&dp, &m->dev);
    if (st == SILKIE_OK) {
        silkie_qwen_load_params lp = {.llm_dtype = bp->weight_type,
                                      .vision_dtype = SILKIE_DTYPE_F16,
                                      .embed_dtype = bp->weight_type,
                                      .skip_vision = !bp->with_image,
                                      .max_layers = bp->n_layers};
        st = silkie_qwen_create(m->dev, &m->cfg, NULL, &lp, &m->q);
    }
    *out = m;
    return st;
}

silkie_status silkie_bench_train_run(const silkie_bench_train_params *p,
                                     silkie_bench_train_result *out)
{
    silkie_error_clear();
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "bench_train: out required");
    memset(out, 0, sizeof *out);
    silkie_bench_train_params bp;
    silkie_bench_train_params_init(&bp);
    if (p) {
        if (p->struct_size < 8)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "bench_train: struct_size unset");
        memcpy(&bp, p, SK_MIN((size_t)p->struct_size, sizeof bp));
    }
    if (!bp.response_tokens)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "bench_train: responses must be > 0");
    silkie_model *m = NULL;
    silkie_trainer *t = NULL;
    silkie_status st = make_model(&bp, &m);
    silkie_train_params tp;
    silkie_train_params_init(&tp);
    tp.lora_r = bp.lora_r;
    tp.lora_targets = bp.lora_targets;
    tp.lora_dropout = 0.05f;
    if (st == SILKIE_OK) st = silkie_trainer_create(m, &tp, &t);

    const uint32_t Nq = bp.with_image ? m->cfg.visual.n_queries : 0;
    const uint32_t P = bp.prompt_tokens + (bp.with_image ? Nq + 2 : 0), R = bp.response_tokens;
    const uint32_t T = P + R;
    /* A pair as the trainer holds it: one prompt, two responses that differ from their first
     * token on; the trainer packs it into one pass. */
    for (int k = 0; st == SILKIE_OK && k < 2; k++) {
        t->ids[k] = SK_NEW_ARRAY(int32_t, T);
        t->scored[k] = SK_NEW_ARRAY(uint8_t, T);
        if (!t->ids[k] || !t->scored[k]) {
            st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "bench_train: sequences");
            break;
        }
        t->n[k] = t->cap[k] = T;
        for (uint32_t i = 0; i < T; i++) {
            t->ids[k][i] = (int32_t)((i * 7919u + (uint32_t)k * 104729u * (i >= P)) % 150000u);
            t->scored[k][i] = i >= P;
        }
        if (bp.with_image) t->ids[k][0] = m->cfg.visual.image_start_id;
    }
    silkie_owned_tensor feat = {0};
    silkie_qwen_inject inj = {0};
    if (st == SILKIE_OK && bp.with_image) {
        st = silkie_qwen_features_alloc(m->q, &feat);
        inj = (silkie_qwen_inject){.features = &feat.t, .row = 1};
    }
    if (st == SILKIE_OK) st = silkie_trainer_pack_pair(t);
    if (st == SILKIE_OK) st = silkie_trainer_ensure_ws(t, t->pk.n_tokens);
    out->seq_tokens = T;
    const silkie_optim_params op = {.lr = 1e-5f, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f,
                                    .weight_decay = 0.05f, .max_grad_norm = 1.0f};
    silkie_qwen_train_seq seq = t->pk;
    seq.inject = bp.with_image ? &inj : NULL;
    seq.n_inject = bp.with_image ? 1u : 0u;
    for (uint32_t i = 0; st == SILKIE_OK && i < seq.n_tokens; i++)
        t->pk_g[i] = i < seq.seg_begin ? 0.0f : i < seq.seg_end ? -0.05f : 0.05f;
    /* steps == 0: allocate everything a step needs and report memory without running it. */
    for (uint32_t step = 0; st == SILKIE_OK && bp.steps && step <= bp.steps; step++) {
        double ms[5] = {0};
        uint64_t t0 = silkie_time_ns();
        if (bp.with_image) {
            /* The vision scratch keeps whatever pixels it holds: the cost does not depend on
             * them. */
            silkie_op_ctx c = {.dev = m->dev, .cmd = t->vcmd};
            st = silkie_vk_cmd_begin(t->vcmd);
            if (st == SILKIE_OK) st = silkie_qwen_record_vision(&c, m->q, &t->vws, &feat.t, NULL);
            if (st == SILKIE_OK) st = silkie_vk_cmd_end(t->vcmd);
            if (st == SILKIE_OK) st = silkie_vk_cmd_submit_wait(t->vcmd);
        }
        ms[0] = ms_since(t0);
        const silkie_qwen_train_pass ref = {.keep = 0};
        const silkie_qwen_train_pass pol = {.lora = &t->lora, .keep = 1, .dropout_seed = 1,
                                            .dropout_stream = step * 1000};
        t0 = silkie_time_ns();
        if (st == SILKIE_OK) st = silkie_qwen_train_forward(t->ws, &seq, &ref, t->pk_lp, NULL);
        ms[1] = ms_since(t0);
        t0 = silkie_time_ns();
        if (st == SILKIE_OK) st = silkie_qwen_train_forward(t->ws, &seq, &pol, t->pk_lp, t->pk_lg);
        ms[2] = ms_since(t0);
        t0 = silkie_time_ns();
        if (st == SILKIE_OK) st = silkie_qwen_train_backward(t->ws, &seq, &pol, t->pk_g);
        ms[3] = ms_since(t0);
        t0 = silkie_time_ns();
        if (st == SILKIE_OK) st = silkie_trainer_step(t, &op, NULL);
        ms[4] = ms_since(t0);
        if (step == 0) continue; /* warm-up: pipelines compiled, memory touched */
        out->vision_ms += ms[0] / bp.steps;
        out->reference_ms += ms[1] / bp.steps;
        out->policy_forward_ms += ms[2] / bp.steps;
        out->backward_ms += ms[3] / bp.steps;
        out->optimizer_ms += ms[4] / bp.steps;
    }
    if (st == SILKIE_OK) {
        out->step_ms = out->vision_ms + out->reference_ms + out->policy_forward_ms +
                       out->backward_ms + out->optimizer_ms;
        out->tokens_per_s = out->step_ms > 0 ? 2.0 * T / (out->step_ms / 1e3) : 0;
        snprintf(out->device_name, sizeof out->device_name, "%s",
                 silkie_vk_device_caps(m->dev)->device_name);
        out->n_layers = m->q->n_layers;
        out->vision_layers = bp.with_image ? m->cfg.visual.layers : 0;
        out->weight_bytes = m->q->weight_bytes;
        out->train_device_bytes = silkie_trainer_device_bytes(t);
        for (uint32_t i = 0; i < t->n_tensors; i++) {
            uint32_t shape[2];
            silkie_trainer_tensor_info(t, i, NULL, shape);
            out->lora_params += (uint64_t)shape[0] * shape[1];
        }
    }
    out->peak_host_bytes = peak_rss();
    silkie_tensor_free(&feat);
    silkie_trainer_destroy(t);
    silkie_model_release_ref(m);
    return st;
}
