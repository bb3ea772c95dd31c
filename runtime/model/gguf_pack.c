/* A Hugging Face Qwen-VL folder -> one GGUF file that silkie_model_load runs by itself: LLM and
 * vision tensors, the config as qwen.* / clip.* keys, the tokenizer and the precomputed vision
 * tables. */
#include "files_int.h"
#include "lora_merge.h"

silkie_status silkie_gguf_pack_qwen(const char *model_dir, const char *out_path,
                                    const silkie_gguf_pack_params *p)
{
    if (!model_dir || !out_path)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_pack: model_dir, out_path required");
    silkie_gguf_pack_params pp = {0};
    if (p) pp = *p;
    if (pp.vision_type != SILKIE_DTYPE_F32 && pp.vision_type != SILKIE_DTYPE_F16 &&
        pp.vision_type != SILKIE_DTYPE_BF16)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_pack: vision type must be f32, f16 or "
                       "bf16 (the vision loader keeps no block types)");
    silkie_model_config cfg;
    silkie_generation_config gen;
    SK_CHECK(silkie_model_config_load(model_dir, &cfg, &gen));
    char *vocab = sk_path_join(model_dir, "qwen.tiktoken");
    if (!vocab) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_pack: path");
    silkie_weights *base = NULL, *merged = NULL;
    silkie_status st = sk_is_file(vocab) ? SILKIE_OK
                       : SK_FAIL(SILKIE_ERR_IO, "gguf_pack: %s is missing", vocab);
    if (st == SILKIE_OK) st = silkie_weights_open(model_dir, &base);
    if (st == SILKIE_OK && pp.merge_adapter) {
        /* A malformed base is reported as such, not as an adapter that does not fit it. */
        st = silkie_weights_check_qwen_vl(base, &cfg);
        if (st == SILKIE_OK) st = silkie_lora_merge(base, &cfg, pp.merge_adapter, &merged, NULL);
    }
    const silkie_weights *w = merged ? merged : base;
    if (st == SILKIE_OK) {
        silkie_gguf_convert_params cp = {.part = SILKIE_GGUF_PART_ALL,
                                         .matrix_type = pp.llm_type,
                                         .other_type = SILKIE_DTYPE_F32,
                                         .vision_matrix_type = pp.vision_type,
                                         .tiktoken_path = vocab,
                                         .gen = &gen,
                                         .vision_tables = true};
        if (pp.split) cp.part = SILKIE_GGUF_PART_LLM;
        st = silkie_gguf_convert_qwen(w, &cfg, &cp, out_path);
        char vpath[4096];
        if (st == SILKIE_OK && pp.split)
            st = silkie_qwen_gguf_mmproj_path(out_path, vpath, sizeof vpath);
        if (st == SILKIE_OK && pp.split) {
            /* The vision file takes its matrix type from matrix_type (part VISION). */
            cp = (silkie_gguf_convert_params){.part = SILKIE_GGUF_PART_VISION,
                                              .matrix_type = pp.vision_type,
                                              .other_type = SILKIE_DTYPE_F32,
                                              .vision_tables = true};
            st = silkie_gguf_convert_qwen(w, &cfg, &cp, vpath);
        }
    }
    silkie_weights_close(merged);
    silkie_weights_close(base);
    silkie_free(vocab);
    return st;
}
