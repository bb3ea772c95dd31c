/* AdamW on the device with global-norm clipping, and the optimizer's part of a checkpoint. */
#include <math.h>
#include <stdio.h>

#define SK_LOG_MODULE "train"
#include "ops/ops_train.h"
#include "trainer_int.h"

silkie_status silkie_trainer_optim_alloc(silkie_trainer *t)
{
    const uint32_t n = t->n_tensors;
    t->adam_m = SK_NEW_ARRAY(silkie_owned_tensor, n ? n : 1);
    t->adam_v = SK_NEW_ARRAY(silkie_owned_tensor, n ? n : 1);
    if (!t->adam_m || !t->adam_v) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "optimizer tables");
    const uint32_t ne_n[4] = {n ? n : 1, 1, 1, 1};
    SK_CHECK(silkie_tensor_alloc(t->m->dev, SILKIE_VK_POOL_HOST, SILKIE_DTYPE_F32, ne_n,
                                 &t->norms));
    SK_CHECK(silkie_vk_cmd_create(t->m->dev, &t->opt_cmd));
    for (uint32_t i = 0; i < n; i++) {
        silkie_lora_module *m = NULL;
        int b = 0;
        SK_CHECK(silkie_trainer_tensor_at(t, i, &m, &b));
        const silkie_tensor *p = b ? &m->b.t : &m->a.t;
        const uint32_t ne[4] = {p->ne[0], p->ne[1], 1, 1};
        silkie_owned_tensor *mv[2] = {&t->adam_m[i], &t->adam_v[i]};
        for (int k = 0; k < 2; k++) {
            SK_CHECK(silkie_tensor_alloc(t->m->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32,
                                         ne, mv[k]));
            SK_CHECK(silkie_vk_buffer_fill(mv[k]->t.buf, mv[k]->t.offset,
                                           silkie_tensor_nbytes(&mv[k]->t), 0));
        }
    }
    return SILKIE_OK;
}

void silkie_trainer_optim_release(silkie_trainer *t)
{
    for (uint32_t i = 0; i < t->n_tensors; i++) {
        if (t->adam_m) silkie_tensor_free(&t->adam_m[i]);
        if (t->adam_v) silkie_tensor_free(&t->adam_v[i]);
    }
    silkie_free(t->adam_m);
    silkie_free(t->adam_v);
    silkie_tensor_free(&t->norms);
    silkie_vk_cmd_destroy(t->opt_cmd);
    t->opt_cmd = NULL;
    t->adam_m = t->adam_v = NULL;
}

uint32_t silkie_trainer_n_steps(const silkie_trainer *t) { return t ? t->opt_step : 0; }

/* Records with rec into the optimizer's list, submits and waits. */
static silkie_status run_list(silkie_trainer *t, silkie_status (*rec)(silkie_trainer *,
                                                                      silkie_op_ctx *,
                                                                      const void *),
                              const void *arg)
{
    silkie_op_ctx c = {.dev = t->m->dev, .cmd = t->opt_cmd};
    SK_CHECK(silkie_vk_cmd_begin(t->opt_cmd));
    SK_CHECK(rec(t, &c, arg));
    SK_CHECK(silkie_vk_cmd_end(t->opt_cmd));
    return silkie_vk_cmd_submit_wait(t->opt_cmd);
}

static silkie_status record_norms(silkie_trainer *t, silkie_op_ctx *c, const void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < t->n_tensors; i++) {
        silkie_lora_module *m = NULL;
        int b = 0;
        SK_CHECK(silkie_trainer_tensor_at(t, i, &m, &b));
        SK_CHECK(silkie_op_sum_sq(c, b ? &m->gb.t : &m->ga.t, &t->norms.t, i));
    }
    return SILKIE_OK;
}

static silkie_status record_adamw(silkie_trainer *t, silkie_op_ctx *c, const void *arg)
{
    const silkie_adamw_params *ap = arg;
    for (uint32_t i = 0; i < t->n_tensors; i++) {
        silkie_lora_module *m = NULL;
        int b = 0;
        SK_CHECK(silkie_trainer_tensor_at(t, i, &m, &b));
        SK_CHECK(silkie_op_adamw(c, b ? &m->b.t : &m->a.t, b ? &m->gb.t : &m->ga.t,
                                 &t->adam_m[i].t, &t->adam_v[i].t, ap));
    }
    return SILKIE_OK;
}

silkie_status silkie_trainer_step(silkie_trainer *t, const silkie_optim_params *o,
                                  double *grad_norm)
{
    silkie_error_clear();
    if (!t || !o) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "trainer_step: t, o required");
    SK_CHECK(silkie_model_alive(t->m, "trainer_step"));
    if (!(o->lr >= 0) || !isfinite(o->lr) || !(o->beta1 >= 0 && o->beta1 < 1) ||
        !(o->beta2 >= 0 && o->beta2 < 1) || !(o->eps > 0) || !(o->weight_decay >= 0) ||
        !(o->max_grad_norm >= 0))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "trainer_step: optimizer settings out of range");
    SK_CHECK(run_list(t, record_norms, NULL));
    const float *sq = (const float *)((const uint8_t *)silkie_vk_buffer_map(t->norms.t.buf) +
                                      t->norms.t.offset);
    double ss = 0.0;
    for (uint32_t i = 0; i < t->n_tensors; i++) ss += sq[i]; /* fixed order: repeatable */
    const double norm = sqrt(ss);
    if (grad_norm) *grad_norm = norm;
    if (!isfinite(norm))
        return SK_FAIL(SILKIE_ERR_NOT_FINITE, "trainer_step: gradient norm is %s at step %u",
                       isnan(norm) ? "NaN" : "Inf", t->opt_step + 1);
    /* The HF Trainer's clip_grad_norm_: scale by max_norm / (norm + 1e-6) when above. */
    double clip = 1.0;
    if (o->max_grad_norm > 0 && norm > o->max_grad_norm) clip = o->max_grad_norm / (norm + 1e-6);
    const silkie_adamw_params ap = {.lr = o->lr, .beta1 = o->beta1, .beta2 = o->beta2,
                                    .eps = o->eps, .weight_decay = o->weight_decay,
                                    .grad_scale = (float)clip, .step = t->opt_step + 1};
    SK_CHECK(run_list(t, record_adamw, &ap));
    t->opt_step++;
    return silkie_trainer_zero_grad(t);
}

silkie_status silkie_trainer_save_state(silkie_trainer *t, const char *dir)
{
    if (!t || !dir) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "save_state: t, dir required");
    SK_CHECK(silkie_trainer_save_adapter(t, dir));
    const uint32_t n = t->n_tensors;
    silkie_st_tensor *tab = SK_NEW_ARRAY(silkie_st_tensor, 2 * n + 1);
    float **data = SK_NEW_ARRAY(float *, 2 * n + 1);
    char (*names)[200] = silkie_malloc(sizeof *names * (2 * n + 1));
    silkie_status st = tab && data && names ? SILKIE_OK
                                            : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "save_state");
    for (uint32_t i = 0; st == SILKIE_OK && i < 2 * n; i++) {
        const silkie_owned_tensor *o = i < n ? &t->adam_m[i] : &t->adam_v[i - n];
        const char *pname = t->names[i % n];
        uint64_t bytes = silkie_tensor_nbytes(&o->t);
        if (!(data[i] = silkie_malloc(bytes))) {
            st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "save_state: %s", pname);
            break;
        }
        st = silkie_tensor_download(&o->t, data[i], bytes);
        snprintf(names[i], sizeof names[i], "%s.%s", i < n ? "exp_avg" : "exp_avg_sq", pname);
        tab[i] = (silkie_st_tensor){.name = names[i], .dtype = SILKIE_DTYPE_F32, .n_dims = 2,
                                    .shape = {o->t.ne[1], o->t.ne[0]}, .data = data[i]};
    }
    /* Counters as I64: the optimizer step and the pair counter (dropout streams). */
    int64_t counters[2] = {(int64_t)t->opt_step, (int64_t)t->n_pairs};
    if (tab) tab[2 * n] = (silkie_st_tensor){.name = "counters", .dtype = SILKIE_DTYPE_I64,
                                             .n_dims = 1, .shape = {2}, .data = counters};
    char path[4096];
    if (st == SILKIE_OK &&
        snprintf(path, sizeof path, "%s/optimizer.safetensors", dir) >= (int)sizeof path)
        st = SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "save_state: path too long");
    if (st == SILKIE_OK) st = silkie_safetensors_write(path, tab, 2 * n + 1);
    for (uint32_t i = 0; data && i < 2 * n; i++) silkie_free(data[i]);
    silkie_free(data);
    silkie_free(names);
    silkie_free(tab);
    return st;
}

/* Uploads f32 tensor `name` of w into dst after checking its shape. */
static silkie_status restore(const silkie_weights *w, const char *what, const char *name,
                             silkie_owned_tensor *dst)
{
    const silkie_weight *x = silkie_weights_find(w, name);
    if (!x || x->dtype != SILKIE_DTYPE_F32 || x->n_dims != 2 || x->shape[0] != dst->t.ne[1] ||
        x->shape[1] != dst->t.ne[0])
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' is missing or does not fit this "
                                            "adapter", what, name);
    return silkie_tensor_upload(dst, x->data, x->nbytes);
}

silkie_status silkie_trainer_load_state(silkie_trainer *t, const char *dir)
{
    if (!t || !dir) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "load_state: t, dir required");
    char path[4096];
    if (snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir) >= (int)sizeof path)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "load_state: path too long");
    silkie_weights *a = NULL, *o = NULL;
    silkie_status st = silkie_weights_open(path, &a);
    if (st == SILKIE_OK) {
        snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
        st = silkie_weights_open(path, &o);
    }
    if (st == SILKIE_OK && silkie_weights_count(a) != t->n_tensors)
        st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: %u adapter tensors, this adapter has %u", dir,
                     silkie_weights_count(a), t->n_tensors);
    for (uint32_t i = 0; st == SILKIE_OK && i < t->n_tensors; i++) {
        silkie_lora_module *m = NULL;
        int b = 0;
        st = silkie_trainer_tensor_at(t, i, &m, &b);
        if (st == SILKIE_OK) st = restore(a, dir, t->names[i], b ? &m->b : &m->a);
        char name[200];
        snprintf(name, sizeof name, "exp_avg.%s", t->names[i]);
        if (st == SILKIE_OK) st = restore(o, dir, name, &t->adam_m[i]);
        snprintf(name, sizeof name, "exp_avg_sq.%s", t->names[i]);
        if (st == SILKIE_OK) st = restore(o, dir, name, &t->adam_v[i]);
    }
    const silkie_weight *c = st == SILKIE_OK ? silkie_weights_find(o, "counters") : NULL;
    if (st == SILKIE_OK && (!c || c->dtype != SILKIE_DTYPE_I64 || c->nbytes != 16))
        st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: optimizer counters missing", dir);
    if (st == SILKIE_OK) {
        const int64_t *v = c->data;
        if (v[0] < 0 || v[1] < 0)
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: negative optimizer counters", dir);
        t->opt_step = (uint32_t)v[0];
        t->n_pairs = (uint64_t)v[1];
    }
    silkie_weights_close(a);
    silkie_weights_close(o);
    if (st == SILKIE_OK) st = silkie_trainer_zero_grad(t);
    return st;
}
