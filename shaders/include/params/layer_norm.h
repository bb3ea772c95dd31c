#include "params.h"
SK_PUSH_BEGIN(layer_norm_push)
    SK_U32 n_cols;
    SK_U32 n_rows;
    SK_U32 x_stride;
    SK_U32 x_off;
    SK_U32 w_off;
    SK_U32 b_off;
    SK_U32 y_off;
    SK_F32 eps;
SK_PUSH_END(layer_norm_push)
