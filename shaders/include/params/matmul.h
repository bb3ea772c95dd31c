#include "params.h"
/* Shared by gemv.comp and matmul.comp. Offsets and leading dimensions are in elements of the
 * bound array: floats for A, bias, Y and f32 weights; 16-bit words for every other weight type
 * (one quantized row is K/32 blocks of 17 (q8_0) or 9 (q4_0) words). */
SK_PUSH_BEGIN(matmul_push)
    SK_U32 M;        /* rows of the result */
    SK_U32 N;        /* columns produced by this dispatch (one weight part) */
    SK_U32 K;
    SK_U32 n0;       /* first column of this part in y and bias */
    SK_U32 a_off;
    SK_U32 a_ld;     /* A row stride: between rows m, or between rows k when trans_a */
    SK_U32 w_off;
    SK_U32 w_ld;     /* weight storage row stride (row n, or row k when w_kn) */
    SK_U32 y_off;
    SK_U32 y_ld;
    SK_U32 bias_off;
    SK_F32 alpha;
    SK_U32 norm_off; /* GEMV with NORM: RMSNorm weights of A's rows (floats) */
    SK_F32 norm_eps;
    /* gemv_q with W_PARTS > 1: a split weight in one dispatch. Part p holds rows
     * [p * part_rows, ...) and gets part_groups workgroups; w_off (part 0) and w_off1..3 are
     * in 16-bit words of each part's binding. */
    SK_U32 part_rows;
    SK_U32 part_groups;
    SK_U32 w_off1;
    SK_U32 w_off2;
    SK_U32 w_off3;
SK_PUSH_END(matmul_push)
