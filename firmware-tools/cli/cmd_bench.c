/* `silkie bench`: Qwen-VL-Chat's real shape with synthetic weights, timed on this device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SILKIE_EXPERIMENTAL
#include "cli.h"
#include "silkie/silkie.h"
#include "silkie/silkie_train.h"

static const char k_train_usage[] =
    "usage: silkie bench train [--setting reference|silkie] [--weights f16|q8_0|q4_0|bf16|f32]\n"
    "         [--layers N] [--vision-layers N] [--lora-r R] [--targets LIST] [--response T]\n"
    "         [--prompt T] [--image] [--steps N] [--device D] [--json]\n"
    "  reference: r 64 on c_attn,attn.c_proj,w1,w2,mlp.c_proj; two 512-token sequences, text only\n"
    "  silkie:    r 64 on c_attn,attn.c_proj,w1,w2; 256-token image prompt + two 512-token\n"
    "             answers\n";

/* `silkie bench train`: one DPO step at the real shape, split into its parts. */
static int bench_train(int argc, char **argv)
{
    silkie_bench_train_params p;
    silkie_bench_train_params_init(&p);
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
        if (ARG("--setting")) {
            if (!strcmp(v, "silkie")) {
                p.lora_targets = "c_attn,attn.c_proj,w1,w2";
                p.with_image = 1;
                p.prompt_tokens = 24;
            } else if (strcmp(v, "reference")) {
                fprintf(stderr, "silkie bench train: --setting reference|silkie\n");
                return 2;
            }
        } else if (ARG("--weights")) {
            if (!silkie_cli_parse_dtype(v, &p.weight_type)) return 2;
        } else if (ARG("--layers")) p.n_layers = (uint32_t)atoi(v);
        else if (ARG("--vision-layers")) p.vision_layers = (uint32_t)atoi(v);
        else if (ARG("--lora-r")) p.lora_r = (uint32_t)atoi(v);
        else if (ARG("--targets")) p.lora_targets = v;
        else if (ARG("--response")) p.response_tokens = (uint32_t)atoi(v);
        else if (ARG("--prompt")) p.prompt_tokens = (uint32_t)atoi(v);
        else if (ARG("--steps")) p.steps = (uint32_t)atoi(v);
        else if (ARG("--device")) p.device = v;
        else if (!strcmp(a, "--image")) p.with_image = 1;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(k_train_usage, stdout);
            return 0;
        } else {
            fputs(k_train_usage, stderr);
            return 2;
        }
#undef ARG
    }
    silkie_bench_train_result r;
    if (silkie_bench_train_run(&p, &r) != SILKIE_OK) {
        fprintf(stderr, "silkie bench train: %s\n", silkie_last_error());
        return 1;
    }
    if (json) {
        printf("{\"device\":\"%s\",\"llm_layers\":%u,\"vision_layers\":%u,\"seq_tokens\":%u,"
               "\"lora_params\":%llu,\"vision_ms\":%.2f,\"reference_ms\":%.2f,"
               "\"policy_forward_ms\":%.2f,\"backward_ms\":%.2f,\"optimizer_ms\":%.2f,"
               "\"step_ms\":%.2f,\"tokens_per_s\":%.2f,\"weight_bytes\":%llu,"
               "\"train_device_bytes\":%llu,\"peak_host_bytes\":%llu}\n",
               r.device_name, r.n_layers, r.vision_layers, r.seq_tokens,
               (unsigned long long)r.lora_params, r.vision_ms, r.reference_ms,
               r.policy_forward_ms, r.backward_ms, r.optimizer_ms, r.step_ms, r.tokens_per_s,
               (unsigned long long)r.weight_bytes, (unsigned long long)r.train_device_bytes,
               (unsigned long long)r.peak_host_bytes);
        return 0;
    }
    printf("device                 %s\n", r.device_name);
    printf("model                  Qwen-VL-Chat shape, synthetic weights, %u/32 LLM layers, "
           "ViT %u/48\n", r.n_layers, r.vision_layers);
    printf("pair                   2 x %u tokens, %.1f M LoRA parameters\n", r.seq_tokens,
           r.lora_params / 1e6);
    printf("step                   %.1f ms = vision %.1f + reference %.1f + policy forward %.1f"
           " + backward %.1f + optimizer %.1f\n", r.step_ms, r.vision_ms, r.reference_ms,
           r.policy_forward_ms, r.backward_ms, r.optimizer_ms);
    printf("throughput             %.1f tokens/s\n", r.tokens_per_s);
    printf("device memory          weights %.1f MiB + training %.1f MiB\n",
           r.weight_bytes / 1048576.0, r.train_device_bytes / 1048576.0);
    printf("peak host memory       %.1f MiB\n", r.peak_host_bytes / 1048576.0);
    return 0;
}

int silkie_cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "train")) return bench_train(argc - 1, argv + 1);
    silkie_bench_params p;
    silkie_bench_params_init(&p);
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
        if (ARG("--weights")) {
            if (!strcmp(v, "q4_0")) p.weight_type = SILKIE_DTYPE_Q4_0;
            else if (!strcmp(v, "q8_0")) p.weight_type = SILKIE_DTYPE_Q8_0;
            else if (!strcmp(v, "f16")) p.weight_type = SILKIE_DTYPE_F16;
            else if (!strcmp(v, "bf16")) p.weight_type = SILKIE_DTYPE_BF16;
            else if (!strcmp(v, "f32")) p.weight_type = SILKIE_DTYPE_F32;
            else {
                fprintf(stderr, "silkie bench: unknown weight type '%s'\n", v);
                return 2;
            }
        } else if (ARG("--layers")) p.n_layers = (uint32_t)atoi(v);
        else if (ARG("--vision-layers")) p.vision_layers = (uint32_t)atoi(v);
        else if (ARG("--prefill")) p.prefill_tokens = (uint32_t)atoi(v);
        else if (ARG("--decode")) p.decode_tokens = (uint32_t)atoi(v);
        else if (ARG("--device")) p.device = v;
        else if (!strcmp(a, "--no-vision")) p.skip_vision = 1;
        else if (!strcmp(a, "--json")) json = 1;
        else {
            fprintf(stderr, "usage: silkie bench [--weights q4_0|q8_0|f16|bf16|f32] [--layers N] "
                            "[--vision-layers N] [--prefill T] [--decode G] [--no-vision] "
                            "[--device D] [--json]\n");
            return 2;
        }
#undef ARG
    }
    silkie_bench_result r;
    if (silkie_bench_run(&p, &r) != SILKIE_OK) {
        fprintf(stderr, "silkie bench: %s\n", silkie_last_error());
        return 1;
    }
    const char *wt = p.weight_type == SILKIE_DTYPE_Q8_0   ? "q8_0"
                     : p.weight_type == SILKIE_DTYPE_F16  ? "f16"
                     : p.weight_type == SILKIE_DTYPE_BF16 ? "bf16"
                     : p.weight_type == SILKIE_DTYPE_F32  ? "f32"
                                                          : "q4_0";
    if (json) {
        printf("{\"device\":\"%s\",\"weights\":\"%s\",\"llm_layers\":%u,\"vision_layers\":%u,"
               "\"weight_bytes\":%llu,\"kv_bytes\":%llu,\"peak_host_bytes\":%llu,"
               "\"image_encode_ms\":%.3f,\"prefill_tokens\":%u,\"prefill_tok_s\":%.2f,"
               "\"decode_tokens\":%u,\"decode_tok_s\":%.2f,\"copy_gb_s\":%.2f,"
               "\"decode_bound_tok_s\":%.2f,\"decode_fraction_of_bound\":%.3f}\n",
               r.device_name, wt, r.n_layers, r.vision_layers,
               (unsigned long long)r.weight_bytes, (unsigned long long)r.kv_bytes,
               (unsigned long long)r.peak_host_bytes, r.image_encode_ms, r.prefill_tokens,
               r.prefill_tok_s, r.decode_tokens, r.decode_tok_s, r.copy_gb_s,
               r.decode_bound_tok_s, r.decode_tok_s / r.decode_bound_tok_s);
        return 0;
    }
    printf("device                 %s\n", r.device_name);
    printf("model                  Qwen-VL-Chat shape, synthetic weights, LLM %s, %u/32 layers, "
           "ViT %u/48 blocks\n", wt, r.n_layers, r.vision_layers);
    printf("weights on device      %.1f MiB (decode reads %.1f MiB/token)\n",
           r.weight_bytes / 1048576.0, r.llm_bytes_per_token / 1048576.0);
    printf("KV cache               %.1f MiB (f16)\n", r.kv_bytes / 1048576.0);
    printf("peak host memory       %.1f MiB\n", r.peak_host_bytes / 1048576.0);
    if (r.vision_layers) printf("image encode           %.1f ms\n", r.image_encode_ms);
    printf("prefill (%u tokens)   %.1f tok/s\n", r.prefill_tokens, r.prefill_tok_s);
    printf("decode (%u tokens)    %.2f tok/s\n", r.decode_tokens, r.decode_tok_s);
    printf("copy bandwidth         %.1f GB/s -> decode bound %.1f tok/s (%.0f%% reached)\n",
           r.copy_gb_s, r.decode_bound_tok_s, 100.0 * r.decode_tok_s / r.decode_bound_tok_s);
    return 0;
}
