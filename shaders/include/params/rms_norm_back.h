#include "params.h"
SK_PUSH_BEGIN(rms_norm_back_push)
    SK_U32 n_cols;    /* elements per row */
    SK_U32 n_rows;
    SK_U32 x_stride;  /* elements between rows of x and of dy (dx is contiguous) */
    SK_U32 dy_stride;
    SK_U32 x_off;     /* element offsets of element 0 inside each binding */
    SK_U32 w_off;
    SK_U32 dy_off;
    SK_U32 dx_off;
    SK_F32 eps;
SK_PUSH_END(rms_norm_back_push)
