#include "params.h"
SK_PUSH_BEGIN(swiglu_push)
    SK_U32 n_cols;
    SK_U32 n_rows;
    SK_U32 a_stride;
    SK_U32 b_stride;
    SK_U32 y_stride;
    SK_U32 a_off;
    SK_U32 b_off;
    SK_U32 y_off;
SK_PUSH_END(swiglu_push)
