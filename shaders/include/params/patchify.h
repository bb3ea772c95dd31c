#include "params.h"
SK_PUSH_BEGIN(patchify_push)
    SK_U32 height;
    SK_U32 width;
    SK_U32 patch_size;
    SK_U32 patches_x;  /* width / patch */
    SK_U32 n_patches;
    SK_U32 img_off;
    SK_U32 y_off;
SK_PUSH_END(patchify_push)
