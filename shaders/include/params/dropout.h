#include "params.h"
SK_PUSH_BEGIN(dropout_push)
    SK_U32 n_cols;
    SK_U32 n_rows;
    SK_U32 x_stride;  /* y is contiguous */
    SK_U32 x_off;
    SK_U32 y_off;
    SK_U32 seed;
    SK_U32 stream;
    SK_U32 threshold; /* keep when hash >= threshold = (uint32)(p * 2^32), formed on the host */
    SK_F32 scale;     /* (float)(1 / (1 - p)), formed on the host like the reference */
SK_PUSH_END(dropout_push)
