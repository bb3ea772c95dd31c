#include "params.h"
/* Offsets and strides in 16-bit words (an f32 element is two words, low half first). */
SK_PUSH_BEGIN(convert_push)
    SK_U32 n_cols;
    SK_U32 n_rows;
    SK_U32 x_off;
    SK_U32 x_ld;
    SK_U32 y_off;
    SK_U32 y_ld;
    SK_U32 row0;     /* first destination row (plus step[0] when HAS_STEP) */
    SK_U32 step_off; /* int index of the step value */
    SK_U32 y_rows;   /* rows of the destination: rows past it are never written */
SK_PUSH_END(convert_push)
