/* DPO losses of TRL (sigmoid, IPO, hinge, robust) and their derivatives in the DPO logit. */
#include <math.h>

#include "trainer_int.h"

double silkie_log_sigmoid(double x)
{
    return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x));
}

static double sigmoid(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

silkie_dpo_loss_value silkie_dpo_loss_eval(silkie_dpo_loss kind, double beta,
                                           double label_smoothing, double z)
{
    const double bz = beta * z, ls = label_smoothing, s = sigmoid(bz);
    silkie_dpo_loss_value v = {0};
    switch (kind) {
    case SILKIE_DPO_IPO: {
        double d = z - 1.0 / (2.0 * beta);
        v.loss = d * d;
        v.dloss_dz = 2.0 * d;
        break;
    }
    case SILKIE_DPO_HINGE:
        v.loss = 1.0 - bz > 0 ? 1.0 - bz : 0.0;
        v.dloss_dz = 1.0 - bz > 0 ? -beta : 0.0;
        break;
    case SILKIE_DPO_ROBUST:
        /* d/dz log s(b z) = b (1 - s); d/dz log s(-b z) = -b s */
        v.loss = (-(1.0 - ls) * silkie_log_sigmoid(bz) + ls * silkie_log_sigmoid(-bz)) /
                 (1.0 - 2.0 * ls);
        v.dloss_dz = (-(1.0 - ls) * beta * (1.0 - s) - ls * beta * s) / (1.0 - 2.0 * ls);
        break;
    default:
        v.loss = -(1.0 - ls) * silkie_log_sigmoid(bz) - ls * silkie_log_sigmoid(-bz);
        v.dloss_dz = -(1.0 - ls) * beta * (1.0 - s) + ls * beta * s;
        break;
    }
    return v;
}
