#include "params.h"
/* Constants that depend on the step are computed on the host in double and rounded once, so the
 * shader and the reference use the same floats. */
SK_PUSH_BEGIN(adamw_push)
    SK_U32 n;          /* elements in this dispatch (one run of rows common to all four parts) */
    SK_U32 p_off;      /* element offsets of element 0 inside each binding */
    SK_U32 g_off;
    SK_U32 m_off;
    SK_U32 v_off;
    SK_F32 grad_scale;
    SK_F32 beta1;
    SK_F32 beta2;
    SK_F32 one_minus_beta1;
    SK_F32 one_minus_beta2;
    SK_F32 decay;      /* 1 - lr * weight_decay */
    SK_F32 step_size;  /* lr / (1 - beta1^step) */
    SK_F32 bc2_sqrt;   /* sqrt(1 - beta2^step) */
    SK_F32 eps;
SK_PUSH_END(adamw_push)
