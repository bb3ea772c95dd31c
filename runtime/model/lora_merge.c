/* PEFT LoRA adapters merged into Hugging Face weights (spec §9.1): W' = W + s * B A. The merged
 * matrices replace the originals in a new weights view, so the GGUF converter quantizes the
 * adapted model exactly as it would a plain checkpoint. */
#include <math.h>
#include <stdio.h>

#define SK_LOG_MODULE "model"
#include "files_int.h"
#include "lora_merge.h"
#include "lora_peft.h"

#define N_TARGETS ((uint32_t)SILKIE_LORA_N_TARGETS)

typedef struct merge_mod {
    uint32_t r;          /* 0: not adapted */
    float scale;
    const silkie_weight *w; /* base matrix [out, in] */
} merge_mod;

/* One adapter or base matrix as f32, after checking its shape and type. */
static silkie_status read_f32(const silkie_weight *t, uint64_t rows, uint64_t cols,
                              const char *what, float **out)
{
    *out = NULL;
    if (t->n_dims != 2 || t->shape[0] != rows || t->shape[1] != cols)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: tensor '%s' is not [%llu, %llu]", what,
                       t->name, (unsigned long long)rows, (unsigned long long)cols);
    if (t->dtype != SILKIE_DTYPE_F32 && t->dtype != SILKIE_DTYPE_F16 &&
        t->dtype != SILKIE_DTYPE_BF16)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: tensor '%s' is not f32/f16/bf16", what,
                       t->name);
    float *f = silkie_malloc((size_t)(rows * cols) * sizeof(float));
    if (!f) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: %s", what, t->name);
    silkie_status st = silkie_convert_rows(t->dtype, t->data, SILKIE_DTYPE_F32, f, rows, cols);
    for (uint64_t i = 0; st == SILKIE_OK && i < rows * cols; i++)
        if (!isfinite(f[i]))
            st = SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: tensor '%s' holds NaN or Inf", what, t->name);
    if (st != SILKIE_OK) {
        silkie_free(f);
        return st;
    }
    *out = f;
    return SILKIE_OK;
}

/* W [out, in] += s * B [out, r] A [r, in], each element's sum over r in double. */
static silkie_status merge_into(float *W, const float *A, const float *B, uint32_t out,
                                uint32_t in, uint32_t r, float s)
{
    double *acc = silkie_malloc((size_t)in * sizeof(double));
    if (!acc) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter merge: %u doubles", in);
    for (uint32_t o = 0; o < out; o++) {
        memset(acc, 0, (size_t)in * sizeof(double));
        for (uint32_t k = 0; k < r; k++) {
            const double b = B[(uint64_t)o * r + k];
            const float *a = A + (uint64_t)k * in;
            for (uint32_t i = 0; i < in; i++) acc[i] += b * a[i];
        }
        float *w = W + (uint64_t)o * in;
        for (uint32_t i = 0; i < in; i++) w[i] = (float)((double)w[i] + (double)s * acc[i]);
    }
    silkie_free(acc);
    return SILKIE_OK;
}

/* Merged copy of module m (layer l, target t) into *out. */
static silkie_status merge_module(const silkie_weights *base, const silkie_weights *aw,
                                  const silkie_model_config *cfg, uint32_t l, uint32_t t,
                                  merge_mod *m, float **out)
{
    uint32_t o, in;
    silkie_lora_target_dims(cfg, (silkie_lora_target)t, &in, &o);
    char mod[96], wname[160], aname[192], bname[192];
    silkie_lora_module_name(l, (silkie_lora_target)t, mod, sizeof mod);
    snprintf(wname, sizeof wname, "%s.weight", mod);
    silkie_lora_tensor_name(l, (silkie_lora_target)t, 0, aname, sizeof aname);
    silkie_lora_tensor_name(l, (silkie_lora_target)t, 1, bname, sizeof bname);
    const silkie_weight *ta = NULL, *tb = NULL;
    SK_CHECK(silkie_weights_get(aw, aname, &ta));
    SK_CHECK(silkie_weights_get(aw, bname, &tb));
    SK_CHECK(silkie_weights_get(base, wname, &m->w));
    float *A = NULL, *B = NULL, *W = NULL;
    silkie_status st = read_f32(ta, m->r, in, "adapter", &A);
    if (st == SILKIE_OK) st = read_f32(tb, o, m->r, "adapter", &B);
    if (st == SILKIE_OK) st = read_f32(m->w, o, in, "adapter merge: base", &W);
    if (st == SILKIE_OK) st = merge_into(W, A, B, o, in, m->r, m->scale);
    silkie_free(A);
    silkie_free(B);
    if (st != SILKIE_OK) {
        silkie_free(W);
        return st;
    }
    *out = W;
    return SILKIE_OK;
}

/* The view: base's entries in order, merged matrices (owned, f32) in place of their originals. */
static silkie_status build_view(const silkie_weights *base, const merge_mod *mods,
                                float **merged, uint32_t n_mods, silkie_weights **out)
{
    silkie_weights *v = sk_weights_new(base->format);
    if (!v) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter merge: weights view");
    silkie_status st = SILKIE_OK;
    for (uint32_t i = 0; st == SILKIE_OK && i < base->n; i++) {
        const silkie_weight *w = &base->entries[i].w;
        float *own = NULL;
        for (uint32_t k = 0; k < n_mods && !own; k++)
            if (mods[k].w == w) {
                own = merged[k];
                merged[k] = NULL; /* the view owns it from here, even on failure */
            }
        if (own)
            st = sk_weights_add(v, "adapter merge", w->name, strlen(w->name), SILKIE_DTYPE_F32,
                                2, w->shape, own,
                                (size_t)(w->shape[0] * w->shape[1]) * sizeof(float), own);
        else
            st = sk_weights_add(v, "adapter merge", w->name, strlen(w->name), w->dtype,
                                w->n_dims, w->shape, w->data, w->nbytes, NULL);
    }
    if (st != SILKIE_OK) {
        silkie_weights_close(v);
        return st;
    }
    *out = v;
    return SILKIE_OK;
}

silkie_status silkie_lora_merge(const silkie_weights *base, const silkie_model_config *cfg,
                                const char *adapter_dir, silkie_weights **out,
                                uint32_t *n_merged)
{
    if (!base || !cfg || !adapter_dir || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "adapter merge: arguments");
    *out = NULL;
    if (n_merged) *n_merged = 0;
    if (base->format == SILKIE_WEIGHTS_GGUF)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "adapter merge: the base is a GGUF file; merge "
                                               "into the Hugging Face folder it came from");
    silkie_lora_config c;
    SK_CHECK(silkie_lora_config_load(adapter_dir, &c));
    const uint32_t n_mods = cfg->n_layers * N_TARGETS;
    merge_mod *mods = SK_NEW_ARRAY(merge_mod, n_mods);
    float **merged = SK_NEW_ARRAY(float *, n_mods);
    silkie_weights *aw = NULL;
    silkie_status st = mods && merged ? SILKIE_OK
                                      : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter merge: plan");
    silkie_lora_plan_entry *e = SK_NEW_ARRAY(silkie_lora_plan_entry, n_mods);
    if (st == SILKIE_OK && !e) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter merge: plan");
    if (st == SILKIE_OK) st = silkie_lora_plan(cfg, &c, e);
    for (uint32_t k = 0; st == SILKIE_OK && k < n_mods; k++) {
        mods[k].r = e[k].r;
        mods[k].scale = e[k].scale;
    }
    if (st == SILKIE_OK) st = silkie_weights_open(adapter_dir, &aw);
    uint32_t n = 0;
    for (uint32_t k = 0; st == SILKIE_OK && k < n_mods; k++) {
        if (!mods[k].r) continue;
        st = merge_module(base, aw, cfg, k / N_TARGETS, k % N_TARGETS, &mods[k], &merged[k]);
        /* The converter reads the merged copy: the original's pages are not needed again. */
        if (st == SILKIE_OK) silkie_weights_release_range(base, mods[k].w->data, mods[k].w->nbytes);
        n += st == SILKIE_OK;
    }
    if (st == SILKIE_OK && silkie_weights_count(aw) != 2 * n)
        st = silkie_lora_check_claimed(aw, e, cfg->n_layers);
    if (st == SILKIE_OK) st = build_view(base, mods, merged, n_mods, out);
    if (st == SILKIE_OK && n_merged) *n_merged = n;
    for (uint32_t k = 0; merged && k < n_mods; k++) silkie_free(merged[k]);
    silkie_free(merged);
    silkie_free(mods);
    silkie_free(e);
    silkie_weights_close(aw);
    return st;
}
