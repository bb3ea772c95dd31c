#include "params.h"
SK_PUSH_BEGIN(sum_sq_push)
    SK_U32 n;        /* elements of x in this dispatch (one part of a split tensor) */
    SK_U32 x_off;    /* element offset of x[0] inside its binding */
    SK_U32 out_off;  /* element offset of out[index] inside its binding */
SK_PUSH_END(sum_sq_push)
