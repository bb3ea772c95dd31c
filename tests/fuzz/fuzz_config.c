/* libFuzzer target: config.json and generation_config.json readers. */
#include "fuzz_files_common.h"

#ifndef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SK_FUZZ_ENTRY(const uint8_t *data, size_t size);
int SK_FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    silkie_model_config c;
    silkie_generation_config g;
    (void)silkie_model_config_parse((const char *)data, size, "fuzz", &c);
    (void)silkie_generation_config_parse((const char *)data, size, "fuzz", &g);
    return 0;
}
