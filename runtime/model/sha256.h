/* SHA-256 (FIPS 180-4), streaming. Used for the integrity keys of packed GGUF files
 * (docs/FIRMWARE.md, "Integrity"). */
#ifndef SILKIE_MODEL_SHA256_H
#define SILKIE_MODEL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SILKIE_SHA256_BYTES 32

typedef struct silkie_sha256 {
    uint32_t h[8];
    uint64_t bytes;  /* message length so far */
    uint8_t buf[64]; /* partial block */
    uint32_t fill;   /* bytes in buf */
} silkie_sha256;

void silkie_sha256_init(silkie_sha256 *s);
void silkie_sha256_update(silkie_sha256 *s, const void *data, size_t n);
/* Writes the digest; s must be initialised again before reuse. */
void silkie_sha256_final(silkie_sha256 *s, uint8_t out[SILKIE_SHA256_BYTES]);
/* One-shot digest of n bytes. */
void silkie_sha256_digest(const void *data, size_t n, uint8_t out[SILKIE_SHA256_BYTES]);
/* 64 lowercase hex digits and a NUL into hex. */
void silkie_sha256_hex(const uint8_t d[SILKIE_SHA256_BYTES], char hex[65]);

#endif
