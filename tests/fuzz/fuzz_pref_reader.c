/* libFuzzer target: the preference JSONL reader (silkie_pref_reader) over the input as a file. */
#include <string.h>

#include "fuzz_train_common.h"
#include "silkie/silkie_train.h"

#ifndef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SK_FUZZ_ENTRY(const uint8_t *data, size_t size);
int SK_FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    const char *path = sk_fuzz_scratch("pref");
    if (!sk_fuzz_write(path, data, size)) return 0;
    silkie_pref_reader *r = NULL;
    if (silkie_pref_reader_open(path, &r) == SILKIE_OK) {
        silkie_pref_pair p;
        uint64_t line = 0, last = 0;
        size_t acc = 0;
        for (;;) {
            silkie_status st = silkie_pref_reader_next(r, &p, &line);
            if (st == SILKIE_OK) {
                /* Every borrowed string must be readable to its end. */
                acc += strlen(p.prompt) + strlen(p.chosen) + strlen(p.rejected);
                for (uint32_t i = 0; i < p.n_images; i++) acc += strlen(p.images[i]);
                SK_FUZZ_REQUIRE(p.n_images == 0 || p.images, "images NULL");
            } else {
                SK_FUZZ_REQUIRE(st == SILKIE_ERR_BAD_DATA || st == SILKIE_ERR_END_OF_STREAM,
                                "status %s", silkie_status_name(st));
                if (st == SILKIE_ERR_END_OF_STREAM) break;
            }
            SK_FUZZ_REQUIRE(line > last, "line %llu after %llu", (unsigned long long)line,
                            (unsigned long long)last);
            last = line;
        }
        (void)acc;
    }
    silkie_pref_reader_destroy(r);
    unlink(path);
    return 0;
}
