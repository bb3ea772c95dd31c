#include "params.h"
SK_PUSH_BEGIN(copy_push)
    SK_U32 n_words; /* 32-bit words to copy */
SK_PUSH_END(copy_push)
