/* The tensors Qwen-VL needs for a given config (spec §2.2, §2.3), checked by name and shape
 * against a weights view; for GGUF files the same list goes through the §10 name mapping. */
#include <stdio.h>

#include "files_int.h"

typedef struct expect {
    char name[128];
    uint32_t n_dims;
    uint64_t shape[4];
} expect;

typedef struct elist {
    expect *e;
    uint32_t n, cap;
} elist;

static silkie_status add(elist *l, uint32_t nd, uint64_t d0, uint64_t d1, uint64_t d2,
                         uint64_t d3, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static silkie_status add(elist *l, uint32_t nd, uint64_t d0, uint64_t d1, uint64_t d2,
                         uint64_t d3, const char *fmt, ...)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 256;
        expect *p = silkie_realloc(l->e, cap * sizeof *p);
        if (!p) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "weights check: list");
        l->e = p;
        l->cap = cap;
    }
    expect *e = &l->e[l->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->name, sizeof e->name, fmt, ap);
    va_end(ap);
    e->n_dims = nd;
    e->shape[0] = d0;
    e->shape[1] = d1;
    e->shape[2] = d2;
    e->shape[3] = d3;
    return SILKIE_OK;
}

#define A1(l, d0, ...) SK_CHECK(add(l, 1, d0, 0, 0, 0, __VA_ARGS__))
#define A2(l, d0, d1, ...) SK_CHECK(add(l, 2, d0, d1, 0, 0, __VA_ARGS__))

static silkie_status build(elist *l, const silkie_model_config *c)
{
    uint64_t H = c->hidden_size, V = c->vocab_size, F = c->mlp_width;
    A2(l, V, H, "transformer.wte.weight");
    for (uint32_t i = 0; i < c->n_layers; i++) {
        A1(l, H, "transformer.h.%u.ln_1.weight", i);
        A2(l, 3 * H, H, "transformer.h.%u.attn.c_attn.weight", i);
        A1(l, 3 * H, "transformer.h.%u.attn.c_attn.bias", i);
        A2(l, H, H, "transformer.h.%u.attn.c_proj.weight", i);
        A1(l, H, "transformer.h.%u.ln_2.weight", i);
        A2(l, F, H, "transformer.h.%u.mlp.w1.weight", i);
        A2(l, F, H, "transformer.h.%u.mlp.w2.weight", i);
        A2(l, H, F, "transformer.h.%u.mlp.c_proj.weight", i);
    }
    A1(l, H, "transformer.ln_f.weight");
    if (!c->tie_word_embeddings) A2(l, V, H, "lm_head.weight");
    const silkie_vision_config *v = &c->visual;
    uint64_t W = v->width, M = v->mlp_width, D = v->output_dim, Q = v->n_queries;
    SK_CHECK(add(l, 4, W, 3, v->patch_size, v->patch_size, "transformer.visual.conv1.weight"));
    A2(l, v->pos_rows, W, "transformer.visual.positional_embedding");
    A1(l, W, "transformer.visual.ln_pre.weight");
    A1(l, W, "transformer.visual.ln_pre.bias");
    for (uint32_t b = 0; b < v->layers; b++) {
#define RB "transformer.visual.transformer.resblocks.%u."
        A1(l, W, RB "ln_1.weight", b);
        A1(l, W, RB "ln_1.bias", b);
        A2(l, 3 * W, W, RB "attn.in_proj.weight", b);
        A1(l, 3 * W, RB "attn.in_proj.bias", b);
        A2(l, W, W, RB "attn.out_proj.weight", b);
        A1(l, W, RB "attn.out_proj.bias", b);
        A1(l, W, RB "ln_2.weight", b);
        A1(l, W, RB "ln_2.bias", b);
        A2(l, M, W, RB "mlp.c_fc.weight", b);
        A1(l, M, RB "mlp.c_fc.bias", b);
        A2(l, W, M, RB "mlp.c_proj.weight", b);
        A1(l, W, RB "mlp.c_proj.bias", b);
#undef RB
    }
#define AP "transformer.visual.attn_pool."
    A2(l, Q, D, AP "query");
    A2(l, Q, D, AP "pos_embed");
    /* The reference resampler uses an identity instead of kv_proj when the widths agree. */
    if (W != D) A2(l, D, W, AP "kv_proj.weight");
    A2(l, 3 * D, D, AP "attn.in_proj_weight");
    A1(l, 3 * D, AP "attn.in_proj_bias");
    A2(l, D, D, AP "attn.out_proj.weight");
    A1(l, D, AP "attn.out_proj.bias");
    A1(l, D, AP "ln_q.weight");
    A1(l, D, AP "ln_q.bias");
    A1(l, D, AP "ln_kv.weight");
    A1(l, D, AP "ln_kv.bias");
#undef AP
    A1(l, D, "transformer.visual.ln_post.weight");
    A1(l, D, "transformer.visual.ln_post.bias");
    A2(l, D, D, "transformer.visual.proj");
    return SILKIE_OK;
}

static void fmt_shape(char *buf, size_t cap, uint32_t nd, const uint64_t *s)
{
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < nd && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%llu", i ? ", " : "", (unsigned long long)s[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

static silkie_status check_one(const silkie_weights *w, const char *name, uint32_t nd,
                               const uint64_t *shape, bool allow_quant)
{
    const silkie_weight *t = silkie_weights_find(w, name);
    if (!t) return SK_FAIL(SILKIE_ERR_BAD_MODEL, "weights: tensor '%s' is missing", name);
    bool same = t->n_dims == nd;
    for (uint32_t i = 0; same && i < nd; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char got[128], want[128];
        fmt_shape(got, sizeof got, t->n_dims, t->shape);
        fmt_shape(want, sizeof want, nd, shape);
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "weights: tensor '%s' has shape %s, want %s", name,
                       got, want);
    }
    bool ok = t->dtype == SILKIE_DTYPE_F32 || t->dtype == SILKIE_DTYPE_F16 ||
              t->dtype == SILKIE_DTYPE_BF16 ||
              (allow_quant && nd == 2 &&
               (t->dtype == SILKIE_DTYPE_Q8_0 || t->dtype == SILKIE_DTYPE_Q4_0));
    if (!ok)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "weights: tensor '%s' has dtype %s, want a float "
                       "type", name, silkie_dtype_name(t->dtype) ? silkie_dtype_name(t->dtype)
                                                                   : "?");
    return SILKIE_OK;
}

static silkie_status check_gguf(const silkie_weights *w, const elist *l, uint32_t patch_grid)
{
    const char *arch = NULL;
    size_t alen = 0;
    if (silkie_gguf_get_str(w->gguf, "general.architecture", &arch, &alen) != SILKIE_OK)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "weights: GGUF without general.architecture");
    silkie_gguf_part want;
    bool vis = false;
    if (silkie_gguf_find_kv(w->gguf, "clip.has_vision_encoder") &&
        silkie_gguf_get_bool(w->gguf, "clip.has_vision_encoder", &vis) != SILKIE_OK)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "weights: clip.has_vision_encoder is not a bool");
    /* An LLM file whose mmproj sibling joined the view has the vision tensors too. */
    if (silkie_weights_find(w, "v.patch_embd.weight")) vis = true;
    if (alen == 4 && memcmp(arch, "qwen", 4) == 0)
        want = vis ? SILKIE_GGUF_PART_ALL : SILKIE_GGUF_PART_LLM;
    else if (alen == 4 && memcmp(arch, "clip", 4) == 0) want = SILKIE_GGUF_PART_VISION;
    else return SK_FAIL(SILKIE_ERR_BAD_MODEL, "weights: GGUF architecture '%.*s' is not qwen "
                        "or clip", (int)SK_MIN(alen, 64u), arch);
    for (uint32_t i = 0; i < l->n; i++) {
        const expect *e = &l->e[i];
        char names[3][96];
        silkie_gguf_conv conv;
        silkie_gguf_part part;
        uint32_t n = silkie_gguf_name_from_hf(e->name, names, &conv, &part);
        if (!n || (part != want && want != SILKIE_GGUF_PART_ALL)) continue;
        uint64_t s[4] = {e->shape[0], e->shape[1], e->shape[2], e->shape[3]};
        /* The position table may be stored already upsampled to the patch grid. */
        const silkie_weight *t = silkie_weights_find(w, names[0]);
        if (t && strcmp(names[0], "v.position_embd.weight") == 0 && t->n_dims == 2 &&
            t->shape[0] == (uint64_t)patch_grid * patch_grid)
            s[0] = t->shape[0];
        if (conv == SILKIE_GGUF_CONV_QKV_HEADS || conv == SILKIE_GGUF_CONV_QKV_THIRDS) s[0] /= 3;
        if (conv == SILKIE_GGUF_CONV_TRANSPOSE) {
            s[0] = e->shape[1];
            s[1] = e->shape[0];
        }
        for (uint32_t k = 0; k < n; k++) SK_CHECK(check_one(w, names[k], e->n_dims, s, true));
    }
    return SILKIE_OK;
}

silkie_status silkie_weights_check_qwen_vl(const silkie_weights *w,
                                           const silkie_model_config *cfg)
{
    if (!w || !cfg) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "weights_check: w, cfg required");
    elist l = {0};
    silkie_status st = build(&l, cfg);
    if (st == SILKIE_OK && w->format == SILKIE_WEIGHTS_GGUF) {
        st = check_gguf(w, &l, cfg->visual.patch_grid);
    } else {
        for (uint32_t i = 0; st == SILKIE_OK && i < l.n; i++)
            st = check_one(w, l.e[i].name, l.e[i].n_dims, l.e[i].shape, false);
    }
    silkie_free(l.e);
    return st;
}
