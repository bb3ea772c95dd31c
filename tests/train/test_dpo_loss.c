/* DPO losses (sigmoid, conservative, IPO, hinge, robust): values against their TRL formulas
 * written out here in long double, and derivatives against central differences. */
#include <math.h>

#include "harness.h"
#include "trainer_int.h"

static long double ls_sig(long double x) { return -log1pl(expl(-x)); } /* log sigmoid, x small */

static long double ref_loss(silkie_dpo_loss k, long double b, long double e, long double z)
{
    switch (k) {
    case SILKIE_DPO_IPO: return (z - 1 / (2 * b)) * (z - 1 / (2 * b));
    case SILKIE_DPO_HINGE: return fmaxl(0, 1 - b * z);
    case SILKIE_DPO_ROBUST: return (-(1 - e) * ls_sig(b * z) + e * ls_sig(-b * z)) / (1 - 2 * e);
    default: return -(1 - e) * ls_sig(b * z) - e * ls_sig(-b * z);
    }
}

int main(void)
{
    const silkie_dpo_loss kinds[] = {SILKIE_DPO_SIGMOID, SILKIE_DPO_IPO, SILKIE_DPO_HINGE,
                                     SILKIE_DPO_ROBUST};
    const double betas[] = {0.1, 0.5, 2.0}, eps[] = {0.0, 0.1, 0.3};
    const double zs[] = {-30.0, -2.88, -0.4, 0.0, 0.7, 3.3, 25.0};
    for (size_t k = 0; k < SK_ARRAY_LEN(kinds); k++)
        for (size_t bi = 0; bi < SK_ARRAY_LEN(betas); bi++)
            for (size_t ei = 0; ei < SK_ARRAY_LEN(eps); ei++)
                for (size_t zi = 0; zi < SK_ARRAY_LEN(zs); zi++) {
                    const double b = betas[bi], e = eps[ei], z = zs[zi];
                    silkie_dpo_loss_value v = silkie_dpo_loss_eval(kinds[k], b, e, z);
                    double want = (double)ref_loss(kinds[k], b, e, z);
                    SK_TEST_CHECK(fabs(v.loss - want) <= 1e-12 * (1 + fabs(want)),
                                  "loss %d b %g e %g z %g: %.17g want %.17g", (int)kinds[k], b,
                                  e, z, v.loss, want);
                    /* The hinge has a kink at b z = 1; none of the points sits on it. */
                    const double h = 1e-5;
                    double fd = (double)((ref_loss(kinds[k], b, e, z + h) -
                                          ref_loss(kinds[k], b, e, z - h)) / (2 * h));
                    SK_TEST_CHECK(fabs(v.dloss_dz - fd) <= 1e-7 * (1 + fabs(fd)),
                                  "dloss/dz %d b %g e %g z %g: %.17g, differences %.17g",
                                  (int)kinds[k], b, e, z, v.dloss_dz, fd);
                    SK_TEST_CHECK(isfinite(v.loss) && isfinite(v.dloss_dz), "finite");
                }
    /* The golden case: sigmoid, beta 0.1, the plain layout's DPO logit. */
    silkie_dpo_loss_value g = silkie_dpo_loss_eval(SILKIE_DPO_SIGMOID, 0.1, 0, -2.880656753898961);
    SK_TEST_CHECK(fabs(g.loss - 0.8475170800843134) < 1e-12, "golden loss %.17g", g.loss);
    return sk_test_result("test_dpo_loss");
}
