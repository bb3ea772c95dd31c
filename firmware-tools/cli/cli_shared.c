/* Pieces shared by the `silkie` subcommands: model and generation options, JSON, file reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DTYPES "f32|f16|bf16|q8_0|q4_0"
#define FROM_CONFIG "the model's generation_config.json"

size_t silkie_cli_model_opts(silkie_cli_model *m, silkie_opt *t)
{
    memset(m, 0, sizeof *m);
    silkie_model_params_init(&m->mp);
    silkie_session_params_init(&m->sp);
    /* The bounds are those generation_config.json is held to (and silkie_session_create). */
    const silkie_opt k[SILKIE_CLI_MODEL_OPTS] = {
        {"--model", SILKIE_OPT_STR, &m->model, "DIR|FILE.gguf",
         "model folder (Hugging Face layout) or packed GGUF file", NULL, 0, 0,
         SILKIE_OPT_REQUIRED | SILKIE_OPT_IN_PATH, NULL},
        {"--device", SILKIE_OPT_STR, &m->mp.device, "GPU",
         "Vulkan device: index or name substring (see `silkie devices`)", "the best device", 0,
         0, 0, NULL},
        {"--weights", SILKIE_OPT_DTYPE, &m->mp.weight_type, NULL,
         "type of the LLM weights on the device", NULL, 0, 0, 0, DTYPES},
        {"--vision-weights", SILKIE_OPT_DTYPE, &m->mp.vision_type, NULL,
         "type of the vision tower's weights on the device", NULL, 0, 0, 0, DTYPES},
        {"--kv", SILKIE_OPT_DTYPE, &m->sp.kv_type, "f16|f32", "type of the KV cache", NULL, 0, 0,
         0, "f16|f32"},
        {"--adapter", SILKIE_OPT_STR, &m->mp.adapter, "DIR",
         "LoRA adapter folder (PEFT layout) applied to the LLM", "none", 0, 0,
         SILKIE_OPT_IN_DIR, NULL},
        {"--n-ctx", SILKIE_OPT_U32, &m->sp.n_ctx, "N",
         "context size in tokens (KV cache), at most the model's max_position_embeddings",
         "the model's seq_length", 1, 16777216, 0, NULL},
        {"--system", SILKIE_OPT_STR, &m->sp.system, "TEXT", "system prompt of the chat",
         "\"You are a helpful assistant.\"", 0, 0, 0, NULL},
        {"--greedy", SILKIE_OPT_FLAG, &m->greedy, NULL, "always take the likeliest token "
         "(same as --temp 0)", NULL, 0, 0, 0, NULL},
        {"--temp", SILKIE_OPT_F32, &m->sp.temperature, "T", "sampling temperature, 0 = greedy",
         FROM_CONFIG, 0, 1e4, 0, NULL},
        {"--top-k", SILKIE_OPT_I32, &m->sp.top_k, "K", "sample among the K likeliest, 0 = off",
         FROM_CONFIG, 0, 16777216, 0, NULL},
        {"--top-p", SILKIE_OPT_F32, &m->sp.top_p, "P",
         "sample within probability mass P (nucleus), 1 = off", FROM_CONFIG, 0, 1,
         SILKIE_OPT_LO_OPEN, NULL},
        {"--repeat-penalty", SILKIE_OPT_F32, &m->sp.repetition_penalty, "R",
         "repetition penalty, 1 = off", FROM_CONFIG, 1e-3, 1e3, 0, NULL},
        {"--seed", SILKIE_OPT_U64, &m->sp.seed, "S", "sampling seed", NULL, 0, 0, 0, NULL},
        {"--max-tokens", SILKIE_OPT_I32, &m->sp.max_new_tokens, "N",
         "most tokens in one answer", FROM_CONFIG, 0, 16777216, 0, NULL},
        {"--validate", SILKIE_OPT_FLAG, &m->validate, NULL,
         "turn on the Vulkan validation layer (slow; for debugging drivers)", NULL, 0, 0, 0,
         NULL},
        {"--quiet", SILKIE_OPT_FLAG, &m->quiet, NULL,
         "no progress lines and no timing line on standard error", NULL, 0, 0, 0, NULL},
        {"--verify", SILKIE_OPT_FLAG, &m->verify, NULL,
         "check every checksum (GGUF) or zip CRC (.bin) of the model while loading it", NULL, 0,
         0, 0, NULL},
        {"--f16-gemm", SILKIE_OPT_FLAG, &m->f16_gemm, NULL,
         "f16 arithmetic for the products whose inputs fit f16, on a GPU with shaderFloat16 and "
         "no cooperative matrices (not yet measured on one)", NULL, 0, 0, 0, NULL},
        {"--pipeline-cache", SILKIE_OPT_STR, &m->mp.pipeline_cache, "FILE|off",
         "compiled-pipeline cache to read and update (silkie-cache builds one ahead of time)",
         "$XDG_CACHE_HOME/silkie/", 0, 0, SILKIE_OPT_OUT_FILE, NULL},
    };
    size_t n = 0;
    for (; n < SILKIE_CLI_MODEL_OPTS && k[n].name; n++) t[n] = k[n];
    return n;
}

void silkie_cli_model_finish(silkie_cli_model *m)
{
    if (m->greedy) m->sp.temperature = 0;
    if (m->validate) m->mp.validation = 1;
    if (m->verify) m->mp.verify = 1;
    if (m->f16_gemm) m->mp.f16_gemm = 1;
}

int silkie_cli_fail(const char *what)
{
    fprintf(stderr, "silkie: %s: %s\n", what, silkie_last_error());
    return 1;
}

char *silkie_cli_read_stream(FILE *f, const char *what, size_t max, size_t *size)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        if (cap >= max) {
            free(buf);
            fprintf(stderr, "silkie: %s is larger than %zu MiB\n", what, max >> 20);
            return NULL;
        }
        size_t ncap = cap * 2 > max ? max : cap * 2;
        char *nb = realloc(buf, ncap + 1);
        if (!nb) {
            free(buf);
            fprintf(stderr, "silkie: out of memory reading %s\n", what);
            return NULL;
        }
        buf = nb;
        cap = ncap;
    }
    if (!buf) {
        fprintf(stderr, "silkie: out of memory reading %s\n", what);
        return NULL;
    }
    if (ferror(f)) {
        free(buf);
        fprintf(stderr, "silkie: cannot read %s\n", what);
        return NULL;
    }
    buf[n] = 0;
    *size = n;
    return buf;
}

char *silkie_cli_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "silkie: cannot open '%s'\n", path);
        return NULL;
    }
    char what[4200];
    snprintf(what, sizeof what, "'%s'", path);
    char *buf = silkie_cli_read_stream(f, what, SILKIE_CLI_MAX_INPUT_BYTES, size);
    fclose(f);
    return buf;
}
