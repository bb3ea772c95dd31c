#include "params.h"
SK_PUSH_BEGIN(rope_push)
    SK_U32 n_rows;        /* tokens */
    SK_U32 n_heads;
    SK_U32 head_dim;
    SK_U32 x_stride;
    SK_U32 y_stride;
    SK_U32 x_off;
    SK_U32 y_off;
    SK_U32 pos_off;
    SK_F32 log2_base;     /* log2(freq_base), formed in double on the host */
    SK_U32 logn_base;     /* 0: no log-n scaling */
    SK_F32 inv_ln_logn;   /* 1 / ln(logn_base) */
    SK_F32 sign;          /* +1 forward, -1 inverse rotation */
SK_PUSH_END(rope_push)
