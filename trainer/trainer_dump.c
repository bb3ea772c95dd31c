/* Verification dump of a DPO step (the names the golden reference uses). */
#include <stdio.h>

#define SK_LOG_MODULE "train"
#include "model/model.h"
#include "base/base.h"
#include "trainer_int.h"

#define N_SCALARS 8

silkie_status silkie_trainer_write_dump(silkie_trainer *t, const silkie_dpo_metrics *m,
                                        const char *path)
{
    if (!t || !m || !path) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "write_dump: arguments");
    const uint32_t nt = silkie_trainer_n_tensors(t), n = 4 + N_SCALARS + nt;
    silkie_st_tensor *tab = SK_NEW_ARRAY(silkie_st_tensor, n);
    void **bufs = SK_NEW_ARRAY(void *, 4 + nt);
    char (*names)[192] = silkie_malloc(sizeof *names * (nt ? nt : 1));
    silkie_status st = tab && bufs && names ? SILKIE_OK
                                            : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "write_dump");
    static const char *const seq_names[4] = {"chosen_ids", "rejected_ids", "chosen_loss_mask",
                                             "rejected_loss_mask"};
    for (uint32_t k = 0; st == SILKIE_OK && k < 4; k++) {
        const int32_t *ids;
        const uint8_t *sc;
        uint32_t len;
        st = silkie_trainer_last_sequence(t, k % 2, &ids, &sc, &len);
        int64_t *v = st == SILKIE_OK ? silkie_malloc(sizeof(int64_t) * (len ? len : 1)) : NULL;
        if (st == SILKIE_OK && !v) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "write_dump: ids");
        for (uint32_t i = 0; st == SILKIE_OK && i < len; i++) v[i] = k < 2 ? ids[i] : sc[i];
        bufs[k] = v;
        tab[k] = (silkie_st_tensor){.name = seq_names[k], .dtype = SILKIE_DTYPE_I64, .n_dims = 1,
                                    .shape = {len}, .data = v};
    }
    const float sv[N_SCALARS] = {(float)m->policy_chosen_logps, (float)m->policy_rejected_logps,
                                 (float)m->reference_chosen_logps,
                                 (float)m->reference_rejected_logps, (float)m->logits,
                                 (float)m->loss, (float)m->chosen_rewards,
                                 (float)m->rejected_rewards};
    static const char *const sn[N_SCALARS] = {
        "policy_chosen_logps", "policy_rejected_logps", "reference_chosen_logps",
        "reference_rejected_logps", "dpo_logits", "dpo_loss", "chosen_rewards",
        "rejected_rewards"};
    for (uint32_t i = 0; i < N_SCALARS; i++)
        if (tab) tab[4 + i] = (silkie_st_tensor){.name = sn[i], .dtype = SILKIE_DTYPE_F32,
                                                 .n_dims = 1, .shape = {1}, .data = &sv[i]};
    for (uint32_t i = 0; st == SILKIE_OK && i < nt; i++) {
        const char *name;
        uint32_t shape[2];
        st = silkie_trainer_tensor_info(t, i, &name, shape);
        float *g = st == SILKIE_OK ? silkie_malloc((size_t)shape[0] * shape[1] * 4) : NULL;
        if (st == SILKIE_OK && !g) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "write_dump: grads");
        bufs[4 + i] = g;
        if (st == SILKIE_OK) st = silkie_trainer_read_grad(t, i, g);
        snprintf(names[i], sizeof names[i], "grad.%s", name);
        tab[4 + N_SCALARS + i] = (silkie_st_tensor){.name = names[i], .dtype = SILKIE_DTYPE_F32,
                                                    .n_dims = 2, .shape = {shape[0], shape[1]},
                                                    .data = g};
    }
    if (st == SILKIE_OK) st = silkie_safetensors_write(path, tab, n);
    for (uint32_t i = 0; bufs && i < 4 + nt; i++) silkie_free(bufs[i]);
    silkie_free(bufs);
    silkie_free(names);
    silkie_free(tab);
    return st;
}
