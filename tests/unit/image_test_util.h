/* Helpers shared by the image tests: synthetic images, hashes, a minimal safetensors lookup,
 * JPEG encoding for building streams. */
#ifndef SILKIE_IMAGE_TEST_UTIL_H
#define SILKIE_IMAGE_TEST_UTIL_H

#include "harness.h"

/* The synthetic pattern of tests/data/image/gen_image_fixtures.py; caller frees. */
uint8_t *sk_synth_rgb(uint32_t w, uint32_t h);
uint64_t sk_fnv1a64(const uint8_t *p, size_t n);
/* Finds tensor `name` in a safetensors file image; returns its bytes (borrowed) or NULL. */
const uint8_t *sk_safetensors_find(const uint8_t *file, size_t size, const char *name,
                                   size_t *nbytes);
/* Encodes RGB to JPEG (4:2:0, quality q); caller frees with silkie_free. */
uint8_t *sk_encode_jpeg(const uint8_t *rgb, uint32_t w, uint32_t h, int q, size_t *size);
/* tests/data/image/<name>; static storage, overwritten by the next call. */
const char *sk_image_fixture(const char *name);

#endif
