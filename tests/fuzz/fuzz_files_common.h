/* Shared by the model-file fuzz targets. Each target defines its entry point through
 * SK_FUZZ_ENTRY so the deterministic replay test can include several of them in one program. */
#ifndef SILKIE_FUZZ_FILES_COMMON_H
#define SILKIE_FUZZ_FILES_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* Reads every byte of every tensor so the sanitizers see any view that escaped the buffer. */
static inline uint32_t sk_fuzz_touch(const silkie_weights *w)
{
    uint32_t acc = 0;
    for (uint32_t i = 0; i < silkie_weights_count(w); i++) {
        const silkie_weight *t = silkie_weights_at(w, i);
        const uint8_t *p = t->data;
        for (size_t k = 0; k < t->nbytes; k++) acc += p[k];
        acc += (uint32_t)strlen(t->name);
        if (silkie_weights_find(w, t->name) != t) acc ^= 0xdeadu;
    }
    return acc;
}

#endif
