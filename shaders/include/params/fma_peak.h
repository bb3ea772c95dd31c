#include "params.h"
SK_PUSH_BEGIN(fma_peak_push)
    SK_U32 iters; /* loop trips; each trip is 8 chains x 4 FMAs */
SK_PUSH_END(fma_peak_push)
