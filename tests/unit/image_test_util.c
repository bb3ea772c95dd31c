#include "image_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <turbojpeg.h>

uint8_t *sk_synth_rgb(uint32_t w, uint32_t h)
{
    uint8_t *out = silkie_malloc((size_t)w * h * 3 + 1);
    if (!out) return NULL;
    size_t i = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < 3; c++) {
                uint32_t v;
                if ((x / 8 + y / 8) % 3 == 0) {
                    v = (x * 0x9E3779B1u) ^ (y * 0x85EBCA77u) ^ (c * 0xC2B2AE3Du);
                    v ^= v >> 15;
                    v *= 0x2C1B3C6Du;
                    v ^= v >> 12;
                    v &= 255;
                } else {
                    v = (x * 5 + y * 3 + c * 80) & 255;
                }
                out[i++] = (uint8_t)v;
            }
    return out;
}

uint64_t sk_fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

const uint8_t *sk_safetensors_find(const uint8_t *file, size_t size, const char *name,
                                   size_t *nbytes)
{
    if (size < 8) return NULL;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | file[i];
    if (hl > size - 8) return NULL;
    const char *hdr = (const char *)file + 8;
    char key[256];
    snprintf(key, sizeof key, "\"%s\"", name);
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl <= hl; i++) {
        if (memcmp(hdr + i, key, kl) != 0) continue;
        const char *q = hdr + i + kl;
        const char *end = hdr + hl;
        const char *d = NULL;
        for (const char *t = q; t + 13 < end && *t != '}'; t++)
            if (memcmp(t, "data_offsets", 12) == 0) { d = t; break; }
        if (!d) return NULL;
        while (d < end && *d != '[') d++;
        unsigned long long a, b;
        if (sscanf(d, "[%llu,%llu]", &a, &b) != 2 && sscanf(d, "[%llu, %llu]", &a, &b) != 2)
            return NULL;
        if (b < a || 8 + hl + b > size) return NULL;
        *nbytes = (size_t)(b - a);
        return file + 8 + hl + a;
    }
    return NULL;
}

uint8_t *sk_encode_jpeg(const uint8_t *rgb, uint32_t w, uint32_t h, int q, size_t *size)
{
    tjhandle tj = tjInitCompress();
    if (!tj) return NULL;
    unsigned char *buf = NULL;
    unsigned long n = 0;
    uint8_t *out = NULL;
    if (tjCompress2(tj, rgb, (int)w, 0, (int)h, TJPF_RGB, &buf, &n, TJSAMP_420, q,
                    TJFLAG_ACCURATEDCT) == 0) {
        out = silkie_malloc(n);
        if (out) {
            memcpy(out, buf, n);
            *size = n;
        }
    }
    tjFree(buf);
    tjDestroy(tj);
    return out;
}

const char *sk_image_fixture(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", SILKIE_IMAGE_DATA_DIR, name);
    return path;
}
