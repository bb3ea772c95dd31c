/* silkie-pack: a Hugging Face Qwen-VL folder -> one GGUF file that `silkie ask --model` runs.
 *
 *   silkie-pack --model DIR --out FILE.gguf [--type f32|f16|bf16|q8_0|q4_0]
 *               [--vision-type f32|f16|bf16] [--split] [--merge-adapter ADAPTER_DIR]
 *
 * --split writes the llama.cpp-style pair instead of one file: FILE.gguf (LLM + tokenizer) and
 * mmproj-FILE.gguf beside it (vision tower + resampler); the runtime loads either form.
 * --merge-adapter merges a PEFT LoRA adapter into the LLM matrices it targets (W + s B A, in
 * f32, before conversion), so the file answers like the base with the adapter applied.
 * The file is written to FILE.gguf.tmp and renamed when complete. Exit 0 on success, 1 on any
 * error (message on stderr), 2 on bad usage. */
#include <stdio.h>
#include <string.h>

#include "model/model.h"

static int usage(void)
{
    fprintf(stderr, "usage: silkie-pack --model DIR --out FILE.gguf [--type f32|f16|bf16|q8_0|"
                    "q4_0] [--vision-type f32|f16|bf16] [--split] [--merge-adapter DIR]\n");
    return 2;
}

static bool parse_type(const char *s, silkie_dtype *t)
{
    static const struct { const char *name; silkie_dtype t; } k[] = {
        {"f32", SILKIE_DTYPE_F32}, {"f16", SILKIE_DTYPE_F16}, {"bf16", SILKIE_DTYPE_BF16},
        {"q8_0", SILKIE_DTYPE_Q8_0}, {"q4_0", SILKIE_DTYPE_Q4_0}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(s, k[i].name) == 0) {
            *t = k[i].t;
            return true;
        }
    return false;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *adapter = NULL;
    silkie_gguf_pack_params p = {.llm_type = SILKIE_DTYPE_F16, .vision_type = SILKIE_DTYPE_F16};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        }
        if (strcmp(a, "--split") == 0) {
            p.split = true;
            continue;
        }
        if (!v) return usage();
        if (strcmp(a, "--model") == 0) model = v;
        else if (strcmp(a, "--out") == 0) out = v;
        else if (strcmp(a, "--merge-adapter") == 0) adapter = v;
        else if (strcmp(a, "--type") == 0) {
            if (!parse_type(v, &p.llm_type)) return usage();
        } else if (strcmp(a, "--vision-type") == 0) {
            if (!parse_type(v, &p.vision_type) || silkie_dtype_block_elems(p.vision_type) > 1) {
                fprintf(stderr, "silkie-pack: --vision-type must be f32, f16 or bf16\n");
                return 2;
            }
        } else return usage();
        i++;
    }
    if (!model || !out) return usage();
    p.merge_adapter = adapter;
    silkie_status st = silkie_gguf_pack_qwen(model, out, &p);
    if (st != SILKIE_OK) {
        fprintf(stderr, "silkie-pack: %s (%s)\n", silkie_last_error(), silkie_status_name(st));
        return 1;
    }
    char mmproj[4096] = "";
    if (p.split && silkie_qwen_gguf_mmproj_path(out, mmproj, sizeof mmproj) != SILKIE_OK)
        mmproj[0] = 0;
    printf("wrote %s%s%s (llm %s, vision %s%s%s)\n", out, p.split ? " and " : "", mmproj,
           silkie_dtype_name(p.llm_type), silkie_dtype_name(p.vision_type),
           adapter ? ", merged adapter " : "", adapter ? adapter : "");
    return 0;
}
