/* silkie-pack: a Hugging Face Qwen-VL folder -> one GGUF file that `silkie ask --model` runs
 * (`silkie-pack --help` lists the options; docs/FIRMWARE.md describes the file).
 *
 * --split writes the llama.cpp-style pair instead of one file: FILE.gguf (LLM + tokenizer) and
 * mmproj-FILE.gguf beside it (vision tower + resampler); the runtime loads either form.
 * --merge-adapter merges a PEFT LoRA adapter into the LLM matrices it targets (W + s B A, in
 * f32, before conversion), so the file answers like the base with the adapter applied.
 * --tensor-type NAME=TYPE sets the type of the tensors a name or glob matches.
 * The self-test vector is computed by running the finished file on a Vulkan device through the
 * runtime (Mesa's lavapipe counts: it runs on the CPU); --no-selftest skips it.
 * The file is written to a hidden temporary file beside it and renamed when complete. Exit 0 on
 * success, 1 on any error (message on stderr), 2 on bad usage. */
#include <stdio.h>
#include <string.h>

#include "cli_opts.h"
#include "cli_progress.h"
#include "model/model.h"
#ifdef SILKIE_WITH_RUNTIME
#include "selftest_run.h"
#endif

#define TYPES "f32|f16|bf16|q8_0|q4_0"

typedef struct pack_ctx {
    const char *device;
    silkie_cli_progress *progress;
    char device_name[256];
} pack_ctx;

#ifdef SILKIE_WITH_RUNTIME
static silkie_status selftest(void *user, const char *path, silkie_gguf_selftest *v)
{
    pack_ctx *c = user;
    silkie_selftest_result r;
    silkie_status st = silkie_selftest_run(path, c->device, v, silkie_cli_progress_update,
                                           c->progress, &r);
    if (st == SILKIE_OK) {
        *v = r.out;
        snprintf(c->device_name, sizeof c->device_name, "%s", r.device);
    }
    silkie_selftest_result_release(&r);
    return st;
}
#endif

static int parse_type(const char *s, silkie_dtype *t)
{
    static const struct { const char *name; silkie_dtype t; } k[] = {
        {"f32", SILKIE_DTYPE_F32}, {"f16", SILKIE_DTYPE_F16}, {"bf16", SILKIE_DTYPE_BF16},
        {"q8_0", SILKIE_DTYPE_Q8_0}, {"q4_0", SILKIE_DTYPE_Q4_0}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(s, k[i].name) == 0) {
            *t = k[i].t;
            return 1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *adapter = NULL, *device = NULL;
    int split = 0, no_selftest = 0, quiet = 0;
    silkie_opt_list types = {0};
    silkie_gguf_pack_params p = {.llm_type = SILKIE_DTYPE_F16, .vision_type = SILKIE_DTYPE_F16};
    const silkie_opt t[] = {
        {"--model", SILKIE_OPT_STR, &model, "DIR",
         "checkpoint folder (Hugging Face layout: safetensors or .bin shards)", NULL, 0, 0,
         SILKIE_OPT_REQUIRED | SILKIE_OPT_IN_DIR, NULL},
        {"--out", SILKIE_OPT_STR, &out, "FILE.gguf", "GGUF file to write", NULL, 0, 0,
         SILKIE_OPT_REQUIRED | SILKIE_OPT_OUT_FILE, NULL},
        {"--type", SILKIE_OPT_DTYPE, &p.llm_type, NULL, "type of the LLM matrices in the file",
         NULL, 0, 0, 0, TYPES},
        {"--vision-type", SILKIE_OPT_DTYPE, &p.vision_type, NULL,
         "type of the vision tower and resampler in the file", NULL, 0, 0, 0, "f32|f16|bf16"},
        {"--tensor-type", SILKIE_OPT_LIST, &types, "NAME=TYPE",
         "type (" TYPES ") of the tensors NAME matches: a GGUF or Hugging Face tensor name or a "
         "glob; repeatable, the last match wins",
         "none", 0, 0, 0, NULL},
        {"--split", SILKIE_OPT_FLAG, &split, NULL,
         "write FILE.gguf (LLM + tokenizer) and mmproj-FILE.gguf (vision) beside it, as "
         "llama.cpp does",
         NULL, 0, 0, 0, NULL},
        {"--merge-adapter", SILKIE_OPT_STR, &adapter, "DIR",
         "merge this PEFT LoRA adapter into the LLM matrices it targets (in f32, before "
         "conversion)",
         "none", 0, 0, SILKIE_OPT_IN_DIR, NULL},
        {"--device", SILKIE_OPT_STR, &device, "GPU",
         "Vulkan device that runs the self-test: index or name substring (see `silkie devices`)",
         "the best device", 0, 0, 0, NULL},
        {"--no-selftest", SILKIE_OPT_FLAG, &no_selftest, NULL,
         "write no self-test vector (no Vulkan device needed; silkie-verify then checks the "
         "checksums only)",
         NULL, 0, 0, 0, NULL},
        {"--quiet", SILKIE_OPT_FLAG, &quiet, NULL, "no progress line on standard error", NULL, 0,
         0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie-pack", "",
        "Packs a Qwen-VL-Chat checkpoint folder into one GGUF file that `silkie ask --model` "
        "runs with nothing beside it, with a SHA-256 of every tensor and of the metadata and a "
        "self-test vector computed on a Vulkan device (`silkie-verify` checks both). The file "
        "is written under a hidden temporary name beside FILE.gguf and renamed when complete.",
        t, sizeof t / sizeof t[0], 0, 0, NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    silkie_gguf_tensor_type over[SILKIE_OPT_LIST_MAX];
    char names[SILKIE_OPT_LIST_MAX][512];
    for (int i = 0; i < types.n; i++) {
        const char *eq = strrchr(types.v[i], '=');
        size_t n = eq ? (size_t)(eq - types.v[i]) : 0;
        if (!n || n >= sizeof names[i] || !parse_type(eq + 1, &over[i].type))
            return silkie_cli_usage_error(&spec, "--tensor-type '%s': want NAME=TYPE, TYPE one "
                                          "of " TYPES, types.v[i]);
        memcpy(names[i], types.v[i], n);
        names[i][n] = 0;
        over[i].pattern = names[i];
    }
    p.split = split != 0;
    p.merge_adapter = adapter;
    p.overrides = over;
    p.n_overrides = (uint32_t)types.n;
    silkie_cli_progress pr;
    silkie_cli_progress_init(&pr, quiet);
    p.progress = silkie_cli_progress_update;
    p.progress_user = &pr;
    pack_ctx ctx = {.device = device, .progress = &pr};
#ifndef SILKIE_WITH_RUNTIME
    if (!no_selftest) {
        fprintf(stderr, "silkie-pack: warning: built without the Vulkan runtime: no self-test\n");
        no_selftest = 1;
    }
#endif
    if (no_selftest) {
        fprintf(stderr, "silkie-pack: warning: --no-selftest: the file gets no self-test vector, "
                        "so silkie-verify can check its checksums but not how it runs\n");
    } else {
#ifdef SILKIE_WITH_RUNTIME
        /* Before hours of conversion, not after. */
        char why[512];
        if (!silkie_selftest_device_ok(device, why, sizeof why)) {
            fprintf(stderr, "silkie-pack: the self-test needs a Vulkan device%s%s: %s (Mesa's "
                            "lavapipe runs on any CPU); --no-selftest packs without it\n",
                    device ? " matching " : "", device ? device : "", why);
            return 1;
        }
        p.selftest = selftest;
        p.selftest_user = &ctx;
#endif
    }
    silkie_status st = silkie_gguf_pack_qwen(model, out, &p);
    silkie_cli_progress_done(&pr);
    if (st != SILKIE_OK) {
        fprintf(stderr, "silkie-pack: %s (%s)\n", silkie_last_error(), silkie_status_name(st));
        return 1;
    }
    char mmproj[4096] = "";
    if (p.split && silkie_qwen_gguf_mmproj_path(out, mmproj, sizeof mmproj) != SILKIE_OK)
        mmproj[0] = 0;
    printf("wrote %s%s%s (llm %s, vision %s%s%s%s); self-test %s%s\n", out,
           p.split ? " and " : "", mmproj, silkie_dtype_name(p.llm_type),
           silkie_dtype_name(p.vision_type), types.n ? ", per-tensor types" : "",
           adapter ? ", merged adapter " : "", adapter ? adapter : "",
           no_selftest ? "skipped" : "recorded on ", no_selftest ? "" : ctx.device_name);
    return 0;
}
