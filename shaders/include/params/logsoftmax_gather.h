#include "params.h"
/* Shared by the fold, finish and back kernels (each reads the fields it needs). */
SK_PUSH_BEGIN(logsoftmax_gather_push)
    SK_U32 n_cols;    /* block width Vb (fold, back) */
    SK_U32 n_rows;    /* tokens T */
    SK_U32 v0;        /* vocabulary index of the block's first column */
    SK_U32 first;     /* fold: 1 starts the state from this block */
    SK_U32 x_stride;  /* logits row stride (fold, back) */
    SK_U32 st_stride; /* state row stride (>= 4) */
    SK_U32 x_off;     /* element offsets of element 0 inside each binding */
    SK_U32 lab_off;
    SK_U32 st_off;
    SK_U32 g_off;     /* back: g; finish: logp */
    SK_U32 dx_off;    /* back: dlogits (contiguous, n_cols per row) */
SK_PUSH_END(logsoftmax_gather_push)
