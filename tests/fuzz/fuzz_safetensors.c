/* libFuzzer target: safetensors container parser. */
#include "fuzz_files_common.h"

#ifndef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SK_FUZZ_ENTRY(const uint8_t *data, size_t size);
int SK_FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    silkie_weights *w = NULL;
    if (silkie_weights_from_safetensors(data, size, "fuzz", &w) == SILKIE_OK) {
        volatile uint32_t sink = sk_fuzz_touch(w);
        (void)sink;
    }
    silkie_weights_close(w);
    return 0;
}
