#include "params.h"
/* qkv offsets and strides in floats, cache offsets and strides in 16-bit words (an f32 cache
 * element is two words, low half first). */
SK_PUSH_BEGIN(rope_qkv_push)
    SK_U32 n_rows;        /* tokens */
    SK_U32 n_heads;
    SK_U32 head_dim;
    SK_U32 x_off;         /* first q element of row 0 */
    SK_U32 x_ld;          /* floats between rows (>= 3 * n_heads * head_dim) */
    SK_U32 pos_off;
    SK_U32 step_off;      /* int index of the first cache row */
    SK_U32 k_off;
    SK_U32 v_off;
    SK_U32 cache_ld;      /* words between cache rows */
    SK_U32 cache_rows;    /* rows past it are never written */
    SK_F32 log2_base;     /* log2(freq_base), formed in double on the host */
    SK_U32 logn_base;     /* 0: no log-n scaling of q */
    SK_F32 inv_ln_logn;   /* 1 / ln(logn_base) */
SK_PUSH_END(rope_qkv_push)
