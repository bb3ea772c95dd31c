/* AdamW step on one tensor. Split tensors are walked in runs of rows that lie in one part of
 * each of p, g, m and v, one dispatch per run (runs touch disjoint elements, so their order does
 * not matter). */
#include <math.h>

#include "ops_train.h"
#include "params/adamw.h"

#define WG 256u
#define GRID_MAX 65535u

static silkie_status check_tensor(const silkie_tensor *t, const char *name)
{
    if (t->dtype != SILKIE_DTYPE_F32)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "adamw: %s is %s, want f32", name,
                       silkie_dtype_name(t->dtype));
    if (!silkie_tensor_is_contiguous(t))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "adamw: %s is strided", name);
    if (t->n_parts > 1 ? !t->parts || !t->part_rows : !t->buf)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "adamw: %s has no storage", name);
    return SILKIE_OK;
}

static silkie_status check_params(const silkie_adamw_params *ap)
{
    static const char *const names[] = {"lr", "beta1", "beta2", "eps", "weight_decay",
                                        "grad_scale"};
    const float f[] = {ap->lr, ap->beta1, ap->beta2, ap->eps, ap->weight_decay, ap->grad_scale};
    for (size_t i = 0; i < SK_ARRAY_LEN(f); i++)
        if (!isfinite(f[i]))
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "adamw: %s = %g is not finite", names[i],
                           (double)f[i]);
    if (ap->step == 0)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "adamw: step is 1-based, got 0");
    if (!(ap->beta1 >= 0.0f && ap->beta1 < 1.0f) || !(ap->beta2 >= 0.0f && ap->beta2 < 1.0f))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "adamw: betas (%g, %g) outside [0, 1)",
                       (double)ap->beta1, (double)ap->beta2);
    if (ap->lr < 0.0f || ap->eps < 0.0f || ap->weight_decay < 0.0f)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "adamw: lr %g, eps %g, weight_decay %g must not be negative",
                       (double)ap->lr, (double)ap->eps, (double)ap->weight_decay);
    return SILKIE_OK;
}

/* Binds (and with dispatch != 0 records) every run of rows; the first pass only binds, so that
 * a tensor that does not fit fails before anything is recorded. */
static silkie_status walk(silkie_op_ctx *c, const silkie_tensor *const t[4], adamw_push pc,
                          int dispatch)
{
    static const silkie_vk_access acc[4] = {SILKIE_VK_READ_WRITE, SILKIE_VK_READ,
                                            SILKIE_VK_READ_WRITE, SILKIE_VK_READ_WRITE};
    const uint64_t rows = silkie_tensor_rows(t[0]), n_cols = t[0]->ne[0];
    for (uint64_t r = 0; r < rows;) {
        uint64_t k = rows - r, off[4];
        silkie_vk_buffer *b[4];
        for (int i = 0; i < 4; i++) {
            uint64_t left;
            b[i] = silkie_tensor_row_location(t[i], r, &off[i], &left);
            k = SK_MIN(k, left);
        }
        const uint64_t n = k * n_cols;
        if (n > UINT32_MAX)
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "adamw: %llu elements in one buffer",
                           (unsigned long long)n);
        silkie_vk_binding bind[4];
        uint32_t *elem_off[4] = {&pc.p_off, &pc.g_off, &pc.m_off, &pc.v_off};
        for (int i = 0; i < 4; i++)
            SK_CHECK(silkie_op_bind(c, b[i], off[i], n * 4, 4, acc[i], &bind[i], elem_off[i]));
        pc.n = (uint32_t)n;
        if (dispatch) {
            const uint32_t spec[] = {WG};
            const silkie_vk_dispatch_desc d = {
                .shader = SILKIE_SHADER_ADAMW, .spec = spec, .n_spec = 1, .push = &pc,
                .push_size = sizeof pc, .bindings = bind, .n_bindings = 4,
                .groups = {(uint32_t)SK_MIN((n + WG - 1) / WG, GRID_MAX), 1, 1},
                .label = "adamw"};
            SK_CHECK(silkie_vk_cmd_dispatch(c->cmd, &d));
        }
        r += k;
    }
    return SILKIE_OK;
}

silkie_status silkie_op_adamw(silkie_op_ctx *c, silkie_tensor *p, const silkie_tensor *g,
                              silkie_tensor *m, silkie_tensor *v, const silkie_adamw_params *ap)
{
    if (!c || !p || !g || !m || !v || !ap)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "adamw: c, p, g, m, v, params required");
    if (!silkie_tensor_same_shape(p, g) || !silkie_tensor_same_shape(p, m) ||
        !silkie_tensor_same_shape(p, v))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "adamw: p, g, m, v shapes differ");
    SK_CHECK(check_tensor(p, "p"));
    SK_CHECK(check_tensor(g, "g"));
    SK_CHECK(check_tensor(m, "m"));
    SK_CHECK(check_tensor(v, "v"));
    SK_CHECK(check_params(ap));
    if (silkie_tensor_nelements(p) == 0) return SILKIE_OK;
    /* Same expressions as silkie_ref_adamw: the step-dependent constants in double, rounded
     * once to the floats both sides use. */
    const double b1 = ap->beta1, b2 = ap->beta2;
    const adamw_push pc = {
        .grad_scale = ap->grad_scale, .beta1 = ap->beta1, .beta2 = ap->beta2,
        .one_minus_beta1 = (float)(1.0 - b1), .one_minus_beta2 = (float)(1.0 - b2),
        .decay = (float)(1.0 - (double)ap->lr * ap->weight_decay),
        .step_size = (float)(ap->lr / (1.0 - pow(b1, ap->step))),
        .bc2_sqrt = (float)sqrt(1.0 - pow(b2, ap->step)), .eps = ap->eps};
    const silkie_tensor *const t[4] = {p, g, m, v};
    SK_CHECK(walk(c, t, pc, 0));
    return walk(c, t, pc, 1);
}
