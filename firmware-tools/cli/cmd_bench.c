/* `silkie bench`: Qwen-VL-Chat's real shape with synthetic weights, timed on this device. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SILKIE_EXPERIMENTAL
#include "cli.h"
#include "cli_progress.h"
#include "silkie/silkie.h"
#include "silkie/silkie_train.h"

#define DTYPES "f32|f16|bf16|q8_0|q4_0"
#define MAX_TOKENS 8192 /* Qwen-VL-Chat's max_position_embeddings */

static const char k_train_notes[] =
    "Settings:\n"
    "  reference  r 64 on c_attn,attn.c_proj,w1,w2,mlp.c_proj; two 512-token sequences, text "
    "only\n"
    "  silkie     r 64 on c_attn,attn.c_proj,w1,w2; 256-token image + 24-token prompt, two "
    "512-token answers\n";

/* `silkie bench train`: one DPO step at the real shape, split into its parts. */
static int bench_train(int argc, char **argv)
{
    silkie_bench_train_params p;
    silkie_bench_train_params_init(&p);
    int json = 0, with_image = 0;
    const char *setting = "reference", *targets = NULL;
    uint32_t prompt = UINT32_MAX; /* not given: the setting's */
    const silkie_opt t[] = {
        {"--setting", SILKIE_OPT_CHOICE, &setting, NULL,
         "workload preset (see below); options given with it override its values", NULL, 0, 0, 0,
         "reference|silkie"},
        {"--weights", SILKIE_OPT_DTYPE, &p.weight_type, NULL, "type of the LLM weights", NULL, 0,
         0, 0, DTYPES},
        {"--layers", SILKIE_OPT_U32, &p.n_layers, "N", "LLM blocks, 0 = all 32", NULL, 0, 32, 0,
         NULL},
        {"--vision-layers", SILKIE_OPT_U32, &p.vision_layers, "N", "ViT blocks, 0 = all 48",
         NULL, 0, 48, 0, NULL},
        {"--lora-r", SILKIE_OPT_U32, &p.lora_r, "R", "LoRA rank", NULL, 1, 4096, 0, NULL},
        {"--lora-targets", SILKIE_OPT_STR, &targets, "LIST|REGEX", "modules that get an adapter",
         "the setting's", 0, 0, 0, NULL},
        {"--with-image", SILKIE_OPT_FLAG, &with_image, NULL,
         "put a 256-token image span in the prompt and time the vision tower",
         "off (on with --setting silkie)", 0, 0, 0, NULL},
        {"--prompt", SILKIE_OPT_U32, &prompt, "T", "text prompt tokens besides the image",
         "0 (24 with --setting silkie)", 0, MAX_TOKENS, 0, NULL},
        {"--response", SILKIE_OPT_U32, &p.response_tokens, "T", "tokens of each answer", NULL, 1,
         MAX_TOKENS, 0, NULL},
        {"--steps", SILKIE_OPT_U32, &p.steps, "N",
         "timed steps after one warm-up, 0 = allocate and report memory only", NULL, 0, 1000000,
         0, NULL},
        {"--device", SILKIE_OPT_STR, &p.device, "GPU",
         "Vulkan device: index or name substring (see `silkie devices`)", "the best device", 0,
         0, 0, NULL},
        {"--json", SILKIE_OPT_FLAG, &json, NULL, "print one JSON object", NULL, 0, 0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie bench train", "",
        "Times one DPO step of Qwen-VL-Chat's real shape with synthetic weights on this device, "
        "split into vision, reference, policy forward, backward and optimizer.",
        t, sizeof t / sizeof t[0], 0, 0, k_train_notes};
    int rc = silkie_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    int silkie_setting = !strcmp(setting, "silkie");
    p.lora_targets = targets ? targets : silkie_setting ? "c_attn,attn.c_proj,w1,w2"
                                                         : p.lora_targets;
    p.with_image = (uint32_t)(with_image || silkie_setting);
    p.prompt_tokens = prompt != UINT32_MAX ? prompt : silkie_setting ? 24 : p.prompt_tokens;
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
    int json = 0, no_vision = 0, quiet = 0, f16_gemm = 0;
    const silkie_opt t[] = {
        {"--weights", SILKIE_OPT_DTYPE, &p.weight_type, NULL, "type of the LLM weights", NULL, 0,
         0, 0, DTYPES},
        {"--f16-gemm", SILKIE_OPT_FLAG, &f16_gemm, NULL,
         "f16 arithmetic for the products whose inputs fit f16, on a GPU with shaderFloat16 and "
         "no cooperative matrices (not yet measured on one)", NULL, 0, 0, 0, NULL},
        {"--layers", SILKIE_OPT_U32, &p.n_layers, "N",
         "LLM blocks, 0 = all 32 (fewer on a device too slow for them)", NULL, 0, 32, 0, NULL},
        {"--vision-layers", SILKIE_OPT_U32, &p.vision_layers, "N", "ViT blocks, 0 = all 48",
         NULL, 0, 48, 0, NULL},
        {"--prefill", SILKIE_OPT_U32, &p.prefill_tokens, "T", "prompt tokens timed in prefill",
         "512", 1, MAX_TOKENS, 0, NULL},
        {"--decode", SILKIE_OPT_U32, &p.decode_tokens, "G", "tokens timed in decode", "128", 1,
         MAX_TOKENS, 0, NULL},
        {"--no-vision", SILKIE_OPT_FLAG, &no_vision, NULL, "skip the image-encode measurement",
         NULL, 0, 0, 0, NULL},
        {"--device", SILKIE_OPT_STR, &p.device, "GPU",
         "Vulkan device: index or name substring (see `silkie devices`)", "the best device", 0,
         0, 0, NULL},
        {"--json", SILKIE_OPT_FLAG, &json, NULL, "print one JSON object", NULL, 0, 0, 0, NULL},
        {"--quiet", SILKIE_OPT_FLAG, &quiet, NULL, "no progress line on standard error", NULL, 0,
         0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie bench", "",
        "Times Qwen-VL-Chat's real shape with synthetic weights on this device: image encode, "
        "prefill and decode rates, memory, and decode against the copy-bandwidth bound.",
        t, sizeof t / sizeof t[0], 0, 0,
        "`silkie bench train --help`: the same for one DPO training step.\n"};
    int rc = silkie_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    p.skip_vision = (uint32_t)no_vision;
    p.f16_gemm = (uint32_t)f16_gemm;
    silkie_cli_progress pr;
    silkie_cli_progress_init(&pr, quiet);
    p.progress = silkie_cli_progress_update;
    p.progress_user = &pr;
    silkie_bench_result r;
    silkie_status st = silkie_bench_run(&p, &r);
    silkie_cli_progress_done(&pr);
    if (st != SILKIE_OK) {
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
               "\"decode_bound_tok_s\":%.2f,\"decode_fraction_of_bound\":%.3f,"
               "\"decode_dispatches_per_token\":%u,\"decode_readback_bytes_per_token\":%.1f,"
               "\"decode_host_ms_per_token\":%.4f,\"f16_gemm\":%s}\n",
               r.device_name, wt, r.n_layers, r.vision_layers,
               (unsigned long long)r.weight_bytes, (unsigned long long)r.kv_bytes,
               (unsigned long long)r.peak_host_bytes, r.image_encode_ms, r.prefill_tokens,
               r.prefill_tok_s, r.decode_tokens, r.decode_tok_s, r.copy_gb_s,
               r.decode_bound_tok_s, r.decode_tok_s / r.decode_bound_tok_s,
               r.decode_dispatches_per_token, r.decode_readback_bytes_per_token,
               r.decode_host_ms_per_token, f16_gemm ? "true" : "false");
        return 0;
    }
    printf("device                 %s\n", r.device_name);
    printf("model                  Qwen-VL-Chat shape, synthetic weights, LLM %s, %u/32 layers, "
           "ViT %u/48 blocks%s\n", wt, r.n_layers, r.vision_layers,
           f16_gemm ? ", f16 GEMM opted in" : "");
    printf("weights on device      %.1f MiB (decode reads %.1f MiB/token)\n",
           r.weight_bytes / 1048576.0, r.llm_bytes_per_token / 1048576.0);
    printf("KV cache               %.1f MiB (f16)\n", r.kv_bytes / 1048576.0);
    printf("peak host memory       %.1f MiB\n", r.peak_host_bytes / 1048576.0);
    if (r.vision_layers) printf("image encode           %.1f ms\n", r.image_encode_ms);
    printf("prefill (%u tokens)   %.1f tok/s\n", r.prefill_tokens, r.prefill_tok_s);
    printf("decode (%u tokens)    %.2f tok/s\n", r.decode_tokens, r.decode_tok_s);
    printf("decode per token       %u dispatches, %.0f bytes read back, %.3f ms host time\n",
           r.decode_dispatches_per_token, r.decode_readback_bytes_per_token,
           r.decode_host_ms_per_token);
    printf("copy bandwidth         %.1f GB/s -> decode bound %.1f tok/s (%.0f%% reached)\n",
           r.copy_gb_s, r.decode_bound_tok_s, 100.0 * r.decode_tok_s / r.decode_bound_tok_s);
    return 0;
}
