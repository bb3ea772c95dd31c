#include "params.h"
SK_PUSH_BEGIN(softmax_push)
    SK_U32 n_cols;
    SK_U32 n_rows;
    SK_U32 x_stride;
    SK_U32 y_stride;
    SK_U32 x_off;
    SK_U32 y_off;
    SK_F32 scale;
SK_PUSH_END(softmax_push)
