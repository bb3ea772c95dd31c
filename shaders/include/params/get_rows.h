#include "params.h"
/* One dispatch per group of up to 4 table parts (bindings 1 and 3..5). Offsets/strides of the
 * table are in elements of its bound arrays (floats for f32, 16-bit words otherwise); of ids
 * and y in 32-bit elements. */
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
    SK_U32 part_rows;  /* rows per bound part (all but the last are full) */
    SK_U32 t_off1;     /* t_off of bound parts 1..3 */
    SK_U32 t_off2;
    SK_U32 t_off3;
SK_PUSH_END(get_rows_push)
