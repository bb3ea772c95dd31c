#include "params.h"
SK_PUSH_BEGIN(gelu_push)
    SK_U32 n_cols;
    SK_U32 n_rows;
    SK_U32 x_stride;
    SK_U32 y_stride;
    SK_U32 x_off;
    SK_U32 y_off;
SK_PUSH_END(gelu_push)
