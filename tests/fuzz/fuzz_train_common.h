/* Shared by the training-data fuzz targets. Each target defines its entry point through
 * SK_FUZZ_ENTRY so the deterministic replay test can include several of them in one program. */
#ifndef SILKIE_FUZZ_TRAIN_COMMON_H
#define SILKIE_FUZZ_TRAIN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "silkie/silkie.h"

/* A per-process scratch file. Memory-backed /dev/shm when there is one: the converter syncs
 * its output, which costs milliseconds per run on a disk. */
static inline const char *sk_fuzz_scratch(const char *tag)
{
    static char paths[4][512];
    static const char *tags[4];
    for (int i = 0; i < 4; i++) {
        if (tags[i] && !strcmp(tags[i], tag)) return paths[i];
        if (tags[i]) continue;
        const char *dir = getenv("TMPDIR");
        if (!dir || !dir[0]) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(paths[i], sizeof paths[i], "%s/silkie_fuzz_%s_%ld", dir, tag, (long)getpid());
        tags[i] = tag;
        /* Malformed records are logged at WARN: millions of lines that slow the fuzzer. */
        silkie_log_set_level(SILKIE_LOG_ERROR);
        return paths[i];
    }
    abort();
}

/* Writes size bytes to path; 0 on failure. */
static inline int sk_fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t n = size ? fwrite(data, 1, size, f) : 0;
    return (fclose(f) == 0) & (n == size);
}

/* A broken invariant: libFuzzer reports the abort as a crash with the input. */
#define SK_FUZZ_REQUIRE(cond, ...)                                 \
    do {                                                           \
        if (!(cond)) {                                             \
            fprintf(stderr, "fuzz invariant failed: %s: ", #cond); \
            fprintf(stderr, __VA_ARGS__);                          \
            fprintf(stderr, "\n");                                 \
            abort();                                               \
        }                                                          \
    } while (0)

#endif
