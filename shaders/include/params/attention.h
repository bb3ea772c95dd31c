#include "params.h"
SK_PUSH_BEGIN(attention_push)
    SK_U32 n_q;        /* query rows (Tq) */
    SK_U32 n_heads;
    SK_U32 head_dim;
    SK_U32 q_stride;
    SK_U32 k_stride;
    SK_U32 v_stride;
    SK_U32 y_stride;
    SK_U32 q_off;
    SK_U32 k_off;
    SK_U32 v_off;
    SK_U32 y_off;
    SK_U32 lse_off;
    SK_U32 step_off;
    SK_U32 causal;
    SK_U32 q_pos0;     /* static values, used when the step tensor is absent */
    SK_U32 n_kv;
    SK_F32 scale;
    SK_U32 has_lse;    /* flags rather than specialization constants: fewer pipelines to build */
    SK_U32 use_step;   /* 1: q_pos0 and n_kv come from the step tensor */
    SK_U32 seg_begin;  /* queries at q_pos0 + i >= seg_end skip keys [seg_begin, seg_end) */
    SK_U32 seg_end;
SK_PUSH_END(attention_push)
