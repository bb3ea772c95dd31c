/* Builds small STORED zip archives in memory, laid out like torch.save output (data aligned to
 * 64 bytes through a padding extra field), optionally with zip64 records. Test/fuzz helper. */
#ifndef SILKIE_ZIP_BUILD_H
#define SILKIE_ZIP_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sk_zb_entry {
    const char *name;
    const void *data;
    size_t size;
    uint16_t method; /* 0 = stored; anything else is only written into the headers */
} sk_zb_entry;

static void sk_zb_put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void sk_zb_put32(uint8_t *p, uint32_t v)
{
    sk_zb_put16(p, v & 0xffff);
    sk_zb_put16(p + 2, v >> 16);
}
static void sk_zb_put64(uint8_t *p, uint64_t v)
{
    sk_zb_put32(p, (uint32_t)v);
    sk_zb_put32(p + 4, (uint32_t)(v >> 32));
}

/* CRC-32 of the zip format (reflected 0xEDB88320), bit by bit: test archives are small. */
static uint32_t sk_zb_crc32(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* Returns a malloc'd archive (free with free()) or NULL. */
static uint8_t *sk_zip_build(const sk_zb_entry *e, int n, size_t *out_size, int zip64)
{
    size_t cap = 1024;
    for (int i = 0; i < n; i++) cap += 2 * (strlen(e[i].name) + 128) + e[i].size;
    uint8_t *b = calloc(1, cap);
    if (!b) return NULL;
    size_t *offs = calloc((size_t)n + 1, sizeof *offs);
    if (!offs) { free(b); return NULL; }
    size_t p = 0;
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(e[i].name);
        offs[i] = p;
        size_t data_at = p + 30 + nl + 4;
        size_t padn = (64 - data_at % 64) % 64;
        sk_zb_put32(b + p, 0x04034b50u);
        sk_zb_put16(b + p + 4, 45);
        sk_zb_put16(b + p + 8, e[i].method);
        sk_zb_put32(b + p + 14, sk_zb_crc32(e[i].data, e[i].size));
        sk_zb_put32(b + p + 18, (uint32_t)e[i].size);
        sk_zb_put32(b + p + 22, (uint32_t)e[i].size);
        sk_zb_put16(b + p + 26, (uint32_t)nl);
        sk_zb_put16(b + p + 28, (uint32_t)(4 + padn));
        memcpy(b + p + 30, e[i].name, nl);
        sk_zb_put16(b + p + 30 + nl, 0x4246); /* "FB" padding, as torch writes */
        sk_zb_put16(b + p + 32 + nl, (uint32_t)padn);
        p = data_at + padn;
        if (e[i].size) memcpy(b + p, e[i].data, e[i].size);
        p += e[i].size;
    }
    size_t cd = p;
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(e[i].name);
        sk_zb_put32(b + p, 0x02014b50u);
        sk_zb_put16(b + p + 4, 45);
        sk_zb_put16(b + p + 6, 45);
        sk_zb_put16(b + p + 10, e[i].method);
        sk_zb_put32(b + p + 16, sk_zb_crc32(e[i].data, e[i].size));
        sk_zb_put16(b + p + 28, (uint32_t)nl);
        if (zip64) {
            sk_zb_put32(b + p + 20, 0xffffffffu);
            sk_zb_put32(b + p + 24, 0xffffffffu);
            sk_zb_put32(b + p + 42, 0xffffffffu);
            sk_zb_put16(b + p + 30, 28);
        } else {
            sk_zb_put32(b + p + 20, (uint32_t)e[i].size);
            sk_zb_put32(b + p + 24, (uint32_t)e[i].size);
            sk_zb_put32(b + p + 42, (uint32_t)offs[i]);
        }
        memcpy(b + p + 46, e[i].name, nl);
        p += 46 + nl;
        if (zip64) {
            sk_zb_put16(b + p, 1);
            sk_zb_put16(b + p + 2, 24);
            sk_zb_put64(b + p + 4, e[i].size);
            sk_zb_put64(b + p + 12, e[i].size);
            sk_zb_put64(b + p + 20, offs[i]);
            p += 28;
        }
    }
    size_t cd_size = p - cd;
    if (zip64) {
        size_t r = p;
        sk_zb_put32(b + p, 0x06064b50u);
        sk_zb_put64(b + p + 4, 44);
        sk_zb_put16(b + p + 12, 45);
        sk_zb_put16(b + p + 14, 45);
        sk_zb_put64(b + p + 24, (uint64_t)n);
        sk_zb_put64(b + p + 32, (uint64_t)n);
        sk_zb_put64(b + p + 40, cd_size);
        sk_zb_put64(b + p + 48, cd);
        p += 56;
        sk_zb_put32(b + p, 0x07064b50u);
        sk_zb_put64(b + p + 8, r);
        sk_zb_put32(b + p + 16, 1);
        p += 20;
    }
    sk_zb_put32(b + p, 0x06054b50u);
    sk_zb_put16(b + p + 8, zip64 ? 0xffff : (uint32_t)n);
    sk_zb_put16(b + p + 10, zip64 ? 0xffff : (uint32_t)n);
    sk_zb_put32(b + p + 12, zip64 ? 0xffffffffu : (uint32_t)cd_size);
    sk_zb_put32(b + p + 16, zip64 ? 0xffffffffu : (uint32_t)cd);
    p += 22;
    free(offs);
    *out_size = p;
    return b;
}

#endif
