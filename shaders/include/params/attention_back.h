#include "params.h"
SK_PUSH_BEGIN(attention_back_push)
    SK_U32 n_q;        /* query rows (Tq) */
    SK_U32 n_kv;       /* key rows */
    SK_U32 head_dim;
    SK_U32 causal;
    SK_U32 q_pos0;     /* absolute position of query 0 */
    SK_F32 scale;
    SK_U32 q_stride;   /* elements between rows */
    SK_U32 k_stride;
    SK_U32 v_stride;
    SK_U32 y_stride;
    SK_U32 dy_stride;
    SK_U32 dq_stride;
    SK_U32 dk_stride;
    SK_U32 dv_stride;
    SK_U32 q_off;      /* element offsets of element 0 inside each binding */
    SK_U32 k_off;
    SK_U32 v_off;
    SK_U32 y_off;
    SK_U32 dy_off;
    SK_U32 lse_off;
    SK_U32 delta_off;
    SK_U32 dq_off;
    SK_U32 dk_off;
    SK_U32 dv_off;
    SK_U32 seg_begin;  /* queries at q_pos0 + i >= seg_end skip keys [seg_begin, seg_end) */
    SK_U32 seg_end;
SK_PUSH_END(attention_back_push)
