/* Trainer internals: DPO losses and the pair evaluation behind silkie_train.h. */
#ifndef SILKIE_TRAINER_INT_H
#define SILKIE_TRAINER_INT_H

#include "silkie/silkie_train.h"

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
