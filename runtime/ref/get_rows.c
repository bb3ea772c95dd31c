/* Reference embedding lookup: ids outside [0, V) give zero rows. */
#include "ref.h"

void silkie_ref_get_rows(const void *table, silkie_dtype dt, uint32_t D, uint32_t V,
                         const int32_t *ids, uint32_t T, float *y)
{
    uint64_t rb = silkie_ref_row_bytes(dt, D);
    for (uint32_t t = 0; t < T; t++) {
        float *dst = y + (size_t)t * D;
        if (ids[t] < 0 || (uint32_t)ids[t] >= V) {
            memset(dst, 0, (size_t)D * sizeof(float));
            continue;
        }
        silkie_ref_dequant_row(dt, (const uint8_t *)table + rb * (uint32_t)ids[t], dst, D);
    }
}
