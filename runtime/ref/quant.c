/* Row conversion between f32 and the storage types, in GGML's block layouts. */
#include "ref.h"
