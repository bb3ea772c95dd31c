/* libFuzzer target: silkie-verify's file checks on a GGUF file (structure, the checksum keys,
 * layout, metadata and tensor digests, every finding reported) and the self-test vector
 * reader. */
#include "fuzz_files_common.h"

#ifndef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

static void sk_fuzz_verify_finding(void *user, const char *check, const char *subject,
                                   silkie_status st, const char *message)
{
    uint32_t *acc = user;
    *acc += (uint32_t)strlen(check) + (subject ? (uint32_t)strlen(subject) : 0) +
            (uint32_t)strlen(message) + (st == SILKIE_OK);
}

int SK_FUZZ_ENTRY(const uint8_t *data, size_t size);
int SK_FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    uint32_t acc = 0;
    /* Reporting every finding, then stopping at the first: two paths through the checks. */
    silkie_gguf_verify(data, size, "fuzz", NULL, sk_fuzz_verify_finding, &acc);
    silkie_gguf_verify(data, size, "fuzz", NULL, NULL, NULL);
    silkie_weights *w = NULL;
    if (silkie_weights_from_gguf(data, size, "fuzz", &w) == SILKIE_OK) {
        silkie_gguf_selftest v;
        bool present = false;
        if (silkie_gguf_selftest_read(silkie_weights_gguf(w), &v, &present) == SILKIE_OK &&
            present)
            acc += v.n_prompt + (uint32_t)strlen(v.prompt) + (uint32_t)strlen(v.system);
    }
    silkie_weights_close(w);
    volatile uint32_t sink = acc;
    (void)sink;
    return 0;
}
