/* silkie_bench_run: the real model shape with synthetic weights, timed end to end. */
#include <stdio.h>

#define SILKIE_EXPERIMENTAL
#define SK_LOG_MODULE "bench"
#include "session/session_int.h"

void silkie_bench_params_init_size(silkie_bench_params *p, size_t size)
{
    silkie_bench_params d = {0};
    d.weight_type = SILKIE_DTYPE_Q4_0;
    d.vision_type = SILKIE_DTYPE_F16;
    sk_params_fill(p, size, &d, sizeof d);
}

static uint64_t peak_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %llu kB", (unsigned long long *)&kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024;
}

/* Copy-shader bandwidth (GB/s, read + write) over a 256 MiB (or range-limited) buffer. */
static silkie_status copy_bandwidth(silkie_vk_device *d, double *gb_s)
{
    uint64_t bytes = SK_MIN((uint64_t)256 << 20, silkie_vk_device_caps(d)->max_storage_buffer_range);
    bytes &= ~(uint64_t)15;
    const uint32_t ne[4] = {(uint32_t)(bytes / 4), 1, 1, 1};
    silkie_owned_tensor a = {0}, b = {0};
    silkie_vk_cmd *cmd = NULL;
    silkie_status st = silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &a);
    if (st == SILKIE_OK)
        st = silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &b);
    if (st == SILKIE_OK) st = silkie_vk_cmd_create(d, &cmd);
    if (st == SILKIE_OK) st = silkie_vk_cmd_begin(cmd);
    silkie_op_ctx c = {.dev = d, .cmd = cmd};
    for (int i = 0; st == SILKIE_OK && i < 4; i++)
        st = i & 1 ? silkie_op_copy(&c, &b.t, &a.t) : silkie_op_copy(&c, &a.t, &b.t);
    if (st == SILKIE_OK) st = silkie_vk_cmd_end(cmd);
    if (st == SILKIE_OK) st = silkie_vk_cmd_submit_wait(cmd); /* warm-up */
    uint64_t t0 = silkie_time_ns();
    for (int r = 0; st == SILKIE_OK && r < 3; r++) st = silkie_vk_cmd_submit_wait(cmd);
    double s = (silkie_time_ns() - t0) / 1e9;
    if (st == SILKIE_OK) *gb_s = 3.0 * 4 * 2 * bytes / s / 1e9;
    silkie_vk_cmd_destroy(cmd);
    silkie_tensor_free(&a);
    silkie_tensor_free(&b);
    return st;
}

silkie_status silkie_bench_run(const silkie_bench_params *p, silkie_bench_result *out)
{
    silkie_error_clear();
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "bench_run: out required");
    memset(out, 0, sizeof *out);
    silkie_bench_params bp;
    silkie_bench_params_init(&bp);
    if (p) {
        if (p->struct_size < 8)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "bench_run: struct_size unset");
        memcpy(&bp, p, SK_MIN((size_t)p->struct_size, sizeof bp));
    }
    silkie_model_config cfg;
    silkie_model_config_qwen_vl_chat(&cfg);
    if (bp.vision_layers) cfg.visual.layers = SK_MIN(bp.vision_layers, cfg.visual.layers);
    uint32_t T = bp.prefill_tokens ? bp.prefill_tokens : 512;
    uint32_t G = bp.decode_tokens ? bp.decode_tokens : 128;
    silkie_vk_device_params dp;
    silkie_vk_device_params_init(&dp);
    dp.device = bp.device;
    dp.f16_gemm = bp.f16_gemm;
    silkie_vk_device *dev = NULL;
    silkie_qwen *q = NULL;
    silkie_qwen_ctx *x = NULL;
    silkie_owned_tensor feat = {0};
    float *pixels = NULL;
    int32_t *ids = NULL;
    silkie_status st = silkie_vk_device_create(&dp, &dev);
    if (st == SILKIE_OK) {
        snprintf(out->device_name, sizeof out->device_name, "%s",
                 silkie_vk_device_caps(dev)->device_name);
        st = copy_bandwidth(dev, &out->copy_gb_s);
    }
    if (st == SILKIE_OK) {
        silkie_qwen_load_params lp = {
            .llm_dtype = bp.weight_type,
            .vision_dtype = bp.vision_type,
            .embed_dtype = bp.weight_type,
            .skip_vision = bp.skip_vision,
            .max_layers = bp.n_layers,
            .progress = bp.progress,
            .progress_user = bp.progress_user};
        st = silkie_qwen_create(dev, &cfg, NULL, &lp, &q);
    }
    if (st == SILKIE_OK) st = silkie_qwen_ctx_create(q, T + G + 8, T, SILKIE_DTYPE_F16, &x);
#define PROGRESS(stage, done, total) \
    (bp.progress ? bp.progress((stage), (done), (total), bp.progress_user) : (void)0)
    if (st == SILKIE_OK) {
        out->weight_bytes = q->weight_bytes;
        out->n_layers = q->n_layers;
        out->vision_layers = bp.skip_vision ? 0 : cfg.visual.layers;
        out->prefill_tokens = T;
        out->decode_tokens = G;
        uint64_t per_layer = silkie_tensor_nbytes(&q->layers[0].c_attn_w.t) +
                             silkie_tensor_nbytes(&q->layers[0].c_proj.t) +
                             silkie_tensor_nbytes(&q->layers[0].w12.t) +
                             silkie_tensor_nbytes(&q->layers[0].mlp_proj.t);
        out->llm_bytes_per_token = per_layer * q->n_layers + silkie_tensor_nbytes(&q->lm_head.t);
        out->kv_bytes = 2ull * q->n_layers * (T + G + 8) * cfg.hidden_size * 2;
        out->decode_bound_tok_s = out->copy_gb_s * 1e9 / out->llm_bytes_per_token;
        ids = silkie_malloc(T * sizeof *ids);
        if (!ids) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "bench: ids");
    }
    if (st == SILKIE_OK && !bp.skip_vision) {
        uint64_t n = 3ull * cfg.visual.image_size * cfg.visual.image_size;
        pixels = silkie_malloc(n * sizeof(float));
        if (!pixels) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "bench: pixels");
        for (uint64_t i = 0; pixels && i < n; i++) pixels[i] = (float)((i * 2654435761u) % 997) / 500 - 1;
        if (st == SILKIE_OK) st = silkie_qwen_features_alloc(q, &feat);
        PROGRESS("encoding image", 0, 2);
        if (st == SILKIE_OK) st = silkie_qwen_encode_image(x, pixels, &feat.t, NULL); /* warm-up */
        PROGRESS("encoding image", 1, 2);
        uint64_t t0 = silkie_time_ns();
        if (st == SILKIE_OK) st = silkie_qwen_encode_image(x, NULL, &feat.t, NULL);
        out->image_encode_ms = (silkie_time_ns() - t0) / 1e6;
    }
    /* Greedy sampling on the device, as a greedy session runs it (session.c). */
    silkie_sampler smp;
    const silkie_sampler_params spp = {.temperature = 0, .repetition_penalty = 1};
    silkie_sample_params dsp;
    silkie_sample_result *res = silkie_malloc(sizeof *res);
    float *scratch = silkie_malloc((size_t)cfg.vocab_size * sizeof *scratch);
    silkie_status sst = silkie_sampler_init(&smp, &spp, cfg.vocab_size);
    if (st == SILKIE_OK) st = sst;
    if (st == SILKIE_OK && (!res || !scratch))
        st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "bench: sampling buffers");
    if (st == SILKIE_OK && silkie_sampler_device_params(&smp, &dsp))
        st = silkie_qwen_ctx_set_sampling(x, &dsp);
    for (uint32_t i = 0; ids && i < T; i++) ids[i] = (int32_t)((i * 7919u) % 150000u);
    if (st == SILKIE_OK) { /* warm-up with the timed shapes: pipelines built, memory touched */
        PROGRESS("warm-up", 0, 1);
        st = silkie_qwen_eval_sample(x, ids, T, NULL, 0, res);
        if (st == SILKIE_OK) st = silkie_qwen_eval_sample(x, ids, 1, NULL, 0, res);
        silkie_qwen_ctx_reset(x);
    }
    int32_t tok = 0;
    if (st == SILKIE_OK) {
        PROGRESS("prefill", 0, T);
        uint64_t t0 = silkie_time_ns();
        st = silkie_qwen_eval_sample(x, ids, T, NULL, 0, res);
        out->prefill_tok_s = T / ((silkie_time_ns() - t0) / 1e9);
        silkie_sampler_accept(&smp, ids, T);
    }
    if (st == SILKIE_OK) {
        silkie_qwen_ctx_stats a, b;
        silkie_qwen_ctx_stats_get(x, &a);
        uint64_t progress_ns = 0;
        const uint64_t t0 = silkie_time_ns();
        for (uint32_t i = 0; st == SILKIE_OK && i < G; i++) {
            if (!silkie_sampler_pick(&smp, res, &tok)) { /* the session's fallback */
                const float *logits = NULL;
                st = silkie_qwen_ctx_logits(x, &logits);
                if (st != SILKIE_OK) break;
                memcpy(scratch, logits, (size_t)cfg.vocab_size * sizeof *scratch);
                tok = silkie_sampler_sample(&smp, scratch);
            }
            silkie_sampler_accept(&smp, &tok, 1);
            st = silkie_qwen_eval_sample(x, &tok, 1, NULL, 0, res);
            /* Every 16th token; the redraw is timed apart from the decode path's host time. */
            if ((i & 15) == 15) {
                const uint64_t p0 = silkie_time_ns();
                PROGRESS("decode", i + 1, G);
                progress_ns += silkie_time_ns() - p0;
            }
        }
        const uint64_t ns = silkie_time_ns() - t0;
        silkie_qwen_ctx_stats_get(x, &b);
        out->decode_tok_s = G / (ns / 1e9);
        out->decode_dispatches_per_token = silkie_qwen_ctx_decode_dispatches(x, 1);
        out->decode_readback_bytes_per_token = (double)(b.readback_bytes - a.readback_bytes) / G;
        out->decode_host_ms_per_token =
            (double)(ns - progress_ns - (b.wait_ns - a.wait_ns)) / 1e6 / G;
    }
#undef PROGRESS
    out->peak_host_bytes = peak_rss_bytes();
    silkie_sampler_release(&smp);
    silkie_free(res);
    silkie_free(scratch);
    silkie_free(ids);
    silkie_free(pixels);
    silkie_tensor_free(&feat);
    silkie_qwen_ctx_destroy(x);
    silkie_qwen_destroy(q);
    silkie_vk_device_destroy(dev);
    return st;
}
