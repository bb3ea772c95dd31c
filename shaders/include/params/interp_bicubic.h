#include "params.h"
SK_PUSH_BEGIN(interp_bicubic_push)
    SK_U32 dim;        /* D, elements per grid cell */
    SK_U32 gh;
    SK_U32 gw;
    SK_U32 oh;
    SK_U32 ow;
    SK_U32 x_off;
    SK_U32 y_off;
    SK_F32 scale_y;    /* gh / oh, as PyTorch forms it in f32 */
    SK_F32 scale_x;
SK_PUSH_END(interp_bicubic_push)
