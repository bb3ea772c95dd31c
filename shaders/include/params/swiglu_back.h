#include "params.h"
SK_PUSH_BEGIN(swiglu_back_push)
    SK_U32 n_cols;
    SK_U32 n_rows;
    SK_U32 a_stride;  /* elements between rows, per tensor */
    SK_U32 b_stride;
    SK_U32 dy_stride;
    SK_U32 da_stride;
    SK_U32 db_stride;
    SK_U32 a_off;     /* element offsets of element 0 inside each binding */
    SK_U32 b_off;
    SK_U32 dy_off;
    SK_U32 da_off;
    SK_U32 db_off;
SK_PUSH_END(swiglu_back_push)
