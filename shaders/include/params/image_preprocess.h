#include "params.h"
SK_PUSH_BEGIN(image_preprocess_push)
    SK_U32 in_w;      /* source frame size in pixels */
    SK_U32 in_h;
    SK_U32 out_w;     /* model input size */
    SK_U32 out_h;
    SK_U32 src_stride; /* bytes per source row (NV12: both planes) */
    SK_U32 kx;        /* weights per output column / row in the tables */
    SK_U32 ky;
    SK_U32 xb_off;    /* int offsets into the table buffer: x bounds, x weights, */
    SK_U32 xw_off;    /*   y bounds, y weights, normalisation LUT (3 x 256 floats) */
    SK_U32 yb_off;
    SK_U32 yw_off;
    SK_U32 lut_off;
    SK_U32 y_off;     /* element offset of the output tensor in its binding */
SK_PUSH_END(image_preprocess_push)
