/* Minimal safetensors writer for verification dumps (temp file + rename). */
#include <stdio.h>

#include "session_int.h"

silkie_status silkie_dump_safetensors(const char *path, const silkie_dump_tensor *t, uint32_t n)
{
    char hdr[8192];
    size_t len = 0;
    uint64_t off = 0;
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "{");
    for (uint32_t i = 0; i < n; i++) {
        uint64_t count = 1;
        for (uint32_t d = 0; d < t[i].n_dims; d++) count *= t[i].shape[d];
        uint64_t bytes = count * silkie_dtype_block_bytes(t[i].dtype);
        const char *dt = t[i].dtype == SILKIE_DTYPE_I64 ? "I64" : "F32";
        len += (size_t)snprintf(hdr + len, sizeof hdr - len, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                                i ? "," : "", t[i].name, dt);
        for (uint32_t d = 0; d < t[i].n_dims; d++)
            len += (size_t)snprintf(hdr + len, sizeof hdr - len, "%s%llu", d ? "," : "",
                                    (unsigned long long)t[i].shape[d]);
        len += (size_t)snprintf(hdr + len, sizeof hdr - len, "],\"data_offsets\":[%llu,%llu]}",
                                (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
        if (len >= sizeof hdr - 256) return SK_FAIL(SILKIE_ERR_INTERNAL, "dump: header too long");
    }
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "}");
    while (len % 8) hdr[len++] = ' ';
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "dump: path too long");
    FILE *f = fopen(tmp, "wb");
    if (!f) return SK_FAIL(SILKIE_ERR_IO, "dump: cannot create %s", tmp);
    uint64_t hl = len;
    int ok = fwrite(&hl, 8, 1, f) == 1 && fwrite(hdr, 1, len, f) == len;
    for (uint32_t i = 0; ok && i < n; i++) {
        uint64_t count = 1;
        for (uint32_t d = 0; d < t[i].n_dims; d++) count *= t[i].shape[d];
        size_t bytes = (size_t)(count * silkie_dtype_block_bytes(t[i].dtype));
        ok = fwrite(t[i].data, 1, bytes, f) == bytes;
    }
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return SK_FAIL(SILKIE_ERR_IO, "dump: cannot write %s", path);
    }
    return SILKIE_OK;
}
