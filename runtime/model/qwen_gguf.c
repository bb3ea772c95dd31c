/* What the device loader needs to read a Qwen-VL GGUF file through Hugging Face names: the
 * one-to-one name map and the storage types the file already has (kept, not re-quantized). */
#include <stdio.h>

#include "files_int.h"

const char *silkie_qwen_weight_name(const silkie_weights *w, const char *hf, char *buf,
                                    size_t cap)
{
    if (!w || !hf || w->format != SILKIE_WEIGHTS_GGUF) return hf;
    char names[3][96];
    silkie_gguf_conv conv;
    uint32_t k = silkie_gguf_name_from_hf(hf, names, &conv, NULL);
    if (k == 0) return hf; /* not a Hugging Face name: already the file's own */
    if (k != 1 || conv != SILKIE_GGUF_CONV_COPY) return NULL;
    size_t n = strlen(names[0]);
    if (!buf || n >= cap) return NULL;
    memcpy(buf, names[0], n + 1);
    return buf;
}

void silkie_qwen_gguf_types(const silkie_weights *w, silkie_dtype *llm, silkie_dtype *embed,
                            silkie_dtype *vision)
{
    if (!w || w->format != SILKIE_WEIGHTS_GGUF) return;
    const silkie_weight *t = silkie_weights_find(w, "blk.0.attn_qkv.weight");
    if (t && llm) *llm = t->dtype;
    t = silkie_weights_find(w, "token_embd.weight");
    if (t && embed) *embed = t->dtype;
    t = silkie_weights_find(w, "v.blk.0.attn_out.weight");
    if (t && vision) *vision = t->dtype;
}

silkie_status silkie_qwen_gguf_mmproj_path(const char *model_path, char *out, size_t cap)
{
    if (!model_path || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "mmproj_path: model_path, out required");
    const char *slash = strrchr(model_path, '/');
    size_t dir = slash ? (size_t)(slash - model_path) + 1 : 0;
    int n = snprintf(out, cap, "%.*smmproj-%s", (int)dir, model_path, model_path + dir);
    if (n < 0 || (size_t)n >= cap)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "mmproj_path: '%s' is too long", model_path);
    return SILKIE_OK;
}

silkie_status silkie_qwen_gguf_open(const char *path, silkie_weights **out,
                                    silkie_model_config *cfg, silkie_generation_config *gen,
                                    bool *has_vision)
{
    if (!path || !out || !cfg)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "qwen_gguf_open: path, out, cfg required");
    *out = NULL;
    silkie_weights *w = NULL;
    SK_CHECK(silkie_weights_open(path, &w));
    if (w->format != SILKIE_WEIGHTS_GGUF) {
        silkie_weights_close(w);
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: not a GGUF file", path);
    }
    char vpath[4096];
    bool vis = false;
    silkie_status st = silkie_qwen_gguf_mmproj_path(path, vpath, sizeof vpath);
    const silkie_gguf_kv *hv = silkie_gguf_find_kv(w->gguf, "clip.has_vision_encoder");
    if (st == SILKIE_OK && !hv && sk_is_file(vpath)) {
        /* Vision tensors from the mmproj file join this view (their names never collide with
         * the LLM's); its metadata is needed only for the config, read before it is freed. */
        sk_map m;
        silkie_gguf *llm = w->gguf, *vg = NULL;
        w->gguf = NULL;
        st = sk_map_file(vpath, &m);
        if (st == SILKIE_OK) st = sk_weights_add_map(w, &m);
        if (st == SILKIE_OK) {
            uint32_t from = w->n;
            st = sk_gguf_parse(w, w->maps[w->n_maps - 1].base, w->maps[w->n_maps - 1].size,
                               vpath);
            sk_weights_mark_file(w, from, w->n_maps - 1);
        }
        vg = w->gguf;
        w->gguf = llm;
        const char *arch = NULL;
        size_t alen = 0;
        if (st == SILKIE_OK &&
            (silkie_gguf_get_str(vg, "general.architecture", &arch, &alen) != SILKIE_OK ||
             alen != 4 || memcmp(arch, "clip", 4) != 0))
            st = SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: not a clip (mmproj) file", vpath);
        if (st == SILKIE_OK) st = silkie_model_config_from_gguf2(llm, vg, cfg, gen, &vis);
        sk_gguf_free(vg);
    } else if (st == SILKIE_OK) {
        st = silkie_model_config_from_gguf(w->gguf, cfg, gen, &vis);
    }
    if (st != SILKIE_OK) {
        silkie_weights_close(w);
        return st;
    }
    if (has_vision) *has_vision = vis;
    *out = w;
    return SILKIE_OK;
}

/* ---- the self-test question and image (version 1; docs/FIRMWARE.md) ------------------------ */

void silkie_gguf_selftest_inputs(silkie_gguf_selftest *v, bool has_vision)
{
    memset(v, 0, sizeof *v);
    v->version = SILKIE_SELFTEST_VERSION;
    snprintf(v->system, sizeof v->system, "You are a helpful assistant.");
    snprintf(v->prompt, sizeof v->prompt, "%s",
             has_vision ? "What is in this picture? Describe it briefly."
                        : "Count from one to ten in words, then name three colours.");
    /* Not square and not the model's input size, so the resize and padding run too. */
    v->image_width = has_vision ? 160 : 0;
    v->image_height = has_vision ? 120 : 0;
    v->kv_type = SILKIE_DTYPE_F16; /* what `silkie ask` uses */
}

void silkie_selftest_image(uint8_t *rgb, uint32_t width, uint32_t height)
{
    /* Horizontal and vertical ramps, a checkerboard of 8-pixel cells and a disc: integer
     * arithmetic only, so every machine makes the same bytes. */
    uint32_t cx = width / 3, cy = height / 2, r = height / 4;
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t x = 0; x < width; x++) {
            uint8_t *p = rgb + ((size_t)y * width + x) * 3;
            uint32_t dx = x > cx ? x - cx : cx - x, dy = y > cy ? y - cy : cy - y;
            bool disc = dx * dx + dy * dy <= r * r, check = ((x / 8) ^ (y / 8)) & 1;
            p[0] = (uint8_t)(disc ? 230 : x * 255 / (width > 1 ? width - 1 : 1));
            p[1] = (uint8_t)(disc ? 40 : y * 255 / (height > 1 ? height - 1 : 1));
            p[2] = (uint8_t)(disc ? 60 : check ? 200 : 30);
        }
}
