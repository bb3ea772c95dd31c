#include "params.h"
SK_PUSH_BEGIN(topk_push)
    SK_U32 n;          /* row length */
    SK_U32 k;          /* <= 256 */
    SK_U32 x_off;
    SK_U32 v_off;
    SK_U32 i_off;
SK_PUSH_END(topk_push)
