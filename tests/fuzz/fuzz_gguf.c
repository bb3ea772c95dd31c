/* libFuzzer target: GGUF reader (metadata of all types, tensor infos, data views). */
#include "fuzz_files_common.h"

#ifndef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SK_FUZZ_ENTRY(const uint8_t *data, size_t size);
int SK_FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    silkie_weights *w = NULL;
    if (silkie_weights_from_gguf(data, size, "fuzz", &w) == SILKIE_OK) {
        volatile uint32_t sink = sk_fuzz_touch(w);
        const silkie_gguf *g = silkie_weights_gguf(w);
        for (uint64_t i = 0; i < silkie_gguf_n_kv(g); i++) {
            const silkie_gguf_kv *kv = silkie_gguf_kv_at(g, i);
            if (kv->type == SILKIE_GGUF_ARRAY && kv->arr_type == SILKIE_GGUF_STRING) {
                for (uint64_t k = 0; k < kv->n; k++) {
                    const char *s;
                    size_t n;
                    if (silkie_gguf_arr_str(kv, k, &s, &n) == SILKIE_OK && n)
                        sink += (uint8_t)s[n - 1];
                }
            } else if (kv->type == SILKIE_GGUF_STRING && kv->n) {
                sink += kv->data[kv->n - 1];
            }
        }
        (void)sink;
    }
    silkie_weights_close(w);
    return 0;
}
