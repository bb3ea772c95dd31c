/* Trainer internals: DPO losses and the pair evaluation behind silkie_train.h. */
#ifndef SILKIE_TRAINER_INT_H
#define SILKIE_TRAINER_INT_H

#include "model/lora_peft.h"
#include "session/session_int.h"
#include "silkie/silkie_train.h"

#define MAX_PAIR_IMAGES 8
#define WS_ROUND 64u

struct silkie_trainer {
    silkie_model *m;
    silkie_train_params p;
    char *system;
    silkie_lora_config lcfg;
    silkie_qwen_lora lora;
    silkie_qwen_train_ws *ws;
    silkie_owned_tensor colsum;   /* silkie_qwen_vocab_colsum, made with the first workspace */
    uint32_t ws_tokens;
    silkie_qwen_ws vws;           /* vision scratch (pixels in, features out) */
    silkie_vk_cmd *vcmd;
    silkie_owned_tensor features[MAX_PAIR_IMAGES];
    int32_t *ids[2];
    uint8_t *scored[2];
    uint32_t n[2], cap[2];
    /* the pair packed into one pass (pack_pair), and per-row results */
    silkie_qwen_train_seq pk;
    void *pk_mem;                 /* the six arrays below, one allocation */
    int32_t *pk_buf_ids, *pk_buf_pos, *pk_buf_lab;
    float *pk_g, *pk_lp, *pk_lg;
    uint32_t pk_cap;
    uint32_t n_tensors;
    char (*names)[160];
    uint32_t *tensor_slot;        /* module index * 2 + (B ? 1 : 0) */
    uint64_t n_pairs;             /* dropout streams of successive pairs differ */
    /* optimizer (optim.c): AdamW moments per adapter tensor, in the order of tensor_slot */
    silkie_owned_tensor *adam_m, *adam_v;
    silkie_owned_tensor norms;    /* HOST f32 [n_tensors]: per-tensor sums of squares */
    silkie_vk_cmd *opt_cmd;       /* the optimizer's command list, re-recorded each step */
    uint32_t opt_step;            /* optimizer steps taken (bias correction) */
    atomic_int cancel;
};
/* FNV-1a, 64-bit: content keys of pairs, data files and models. */
uint64_t silkie_hash64(uint64_t h, const void *data, size_t n);
#define SILKIE_HASH64_INIT 0xcbf29ce484222325ull
/* A fingerprint of the base model's content: its configuration and the reference log-probs of
 * a fixed probe sequence (any change of weights or storage type changes them). */
silkie_status silkie_trainer_model_fingerprint(silkie_trainer *t, uint64_t *out);

/* The device tensor behind adapter tensor i (parameter, gradient, or both). */
silkie_status silkie_trainer_tensor_at(const silkie_trainer *t, uint32_t i,
                                       silkie_lora_module **m, int *b);
silkie_status silkie_trainer_optim_alloc(silkie_trainer *t);
/* Packs t->ids/scored/n (chosen, rejected) into t->pk: shared prefix rows, then each side. */
silkie_status silkie_trainer_pack_pair(silkie_trainer *t);
/* Training scratch for sequences of up to `tokens` (grown, never shrunk). */
silkie_status silkie_trainer_ensure_ws(silkie_trainer *t, uint32_t tokens);
void silkie_trainer_optim_release(silkie_trainer *t);

/* Loss of the DPO logit z and its derivative dloss/dz. */
typedef struct silkie_dpo_loss_value {
    double loss;
    double dloss_dz;
} silkie_dpo_loss_value;
silkie_dpo_loss_value silkie_dpo_loss_eval(silkie_dpo_loss kind, double beta,
                                           double label_smoothing, double z);
/* log(sigmoid(x)) without overflow. */
double silkie_log_sigmoid(double x);

#endif /* SILKIE_TRAINER_INT_H */
