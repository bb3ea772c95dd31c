#include "params.h"
SK_PUSH_BEGIN(binary_push)
    SK_U32 n_cols;
    SK_U32 n_rows;
    SK_U32 a_stride;
    SK_U32 b_stride; /* 0: b is one row broadcast over a's rows */
    SK_U32 y_stride;
    SK_U32 a_off;
    SK_U32 b_off;
    SK_U32 y_off;
    SK_F32 s;        /* scale op: y = a * s + bias */
    SK_F32 bias;
SK_PUSH_END(binary_push)
