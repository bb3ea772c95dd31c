/* libFuzzer target: PEFT adapter_config.json (silkie_lora_config_parse) and, on what parses,
 * the target, rank and alpha rules; input that does not parse is tried as a --lora-targets
 * specification instead. */
#include <string.h>

#include "fuzz_train_common.h"
#include "model/lora_peft.h"

#ifndef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

static void sk_fuzz_lora_match(const silkie_lora_config *c)
{
    static const char *const names[] = {
        "transformer.h.0.attn.c_attn", "transformer.h.31.attn.c_proj", "transformer.h.7.mlp.w1",
        "transformer.h.7.mlp.c_proj", "transformer.visual.transformer.resblocks.0.attn.in_proj",
        "lm_head", "w2", ""};
    static const int32_t layers[] = {0, 31, 7, 7, -1, -1, -1, -1};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        bool adapted = false;
        uint32_t r = 0;
        double alpha = 0;
        if (silkie_lora_config_match(c, names[i], layers[i], &adapted, &r, &alpha) != SILKIE_OK)
            continue;
        if (adapted) {
            SK_FUZZ_REQUIRE(r >= 1 && r <= 4096 && alpha > 0, "r %u alpha %g", r, alpha);
            (void)silkie_lora_scale(c, r, alpha);
        }
    }
}

int SK_FUZZ_ENTRY(const uint8_t *data, size_t size);
int SK_FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    silkie_lora_config c;
    if (silkie_lora_config_parse((const char *)data, size, "fuzz", &c) == SILKIE_OK) {
        sk_fuzz_lora_match(&c);
        return 0;
    }
    char spec[600];
    size_t n = size < sizeof spec - 1 ? size : sizeof spec - 1;
    memcpy(spec, data, n);
    spec[n] = 0;
    memset(&c, 0, sizeof c);
    c.r = 8;
    c.alpha = 16;
    if (silkie_lora_config_set_targets(&c, spec) == SILKIE_OK) sk_fuzz_lora_match(&c);
    return 0;
}
