/* libFuzzer target: the restricted pickle machine. The input becomes archive/data.pkl of a
 * torch-style zip that also holds four 64-byte storages "0".."3", so fuzzed pickles that build
 * tensors reach the storage, stride and copy checks too. */
#include "fuzz_files_common.h"
#include "zip_build.h"

#ifndef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SK_FUZZ_ENTRY(const uint8_t *data, size_t size);
int SK_FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    static const uint8_t storage[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    sk_zb_entry e[] = {
        {"archive/data.pkl", data, size, 0}, {"archive/data/0", storage, 64, 0},
        {"archive/data/1", storage, 64, 0},  {"archive/data/2", storage, 64, 0},
        {"archive/data/3", storage, 64, 0},  {"archive/version", "3\n", 2, 0},
    };
    size_t zs = 0;
    uint8_t *zip = sk_zip_build(e, 6, &zs, 0);
    if (!zip) return 0;
    silkie_weights *w = NULL;
    if (silkie_weights_from_torch_zip(zip, zs, "fuzz", &w) == SILKIE_OK) {
        volatile uint32_t sink = sk_fuzz_touch(w);
        (void)sink;
    }
    silkie_weights_close(w);
    free(zip);
    return 0;
}
