#include "params.h"
/* One dispatch per table part. Offsets/strides of the table are in elements of its bound array
 * (floats for f32, 16-bit words otherwise); of ids and y in 32-bit elements. */
SK_PUSH_BEGIN(get_rows_push)
    SK_U32 D;          /* row length (elements) */
    SK_U32 T;          /* ids */
    SK_U32 V;          /* rows of the whole table */
    SK_U32 row_begin;  /* first table row held by this part */
    SK_U32 n_rows;     /* rows held by this part */
    SK_U32 t_off;
    SK_U32 t_ld;
    SK_U32 ids_off;
    SK_U32 y_off;
    SK_U32 y_ld;
    SK_U32 zero_fill;  /* 1: this dispatch also writes zero rows for ids outside [0, V) */
SK_PUSH_END(get_rows_push)
