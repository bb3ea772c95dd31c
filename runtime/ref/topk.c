/* Reference top-k: insertion into a sorted list while scanning in index order, so an equal
 * value never displaces an earlier index (ties: lower index first). */
#include "ref/ref.h"

void silkie_ref_topk(const float *x, uint32_t n, uint32_t k, float *values, int32_t *indices)
{
    uint32_t len = 0;
    if (k > n) k = n;
    if (k == 0) return;
    for (uint32_t i = 0; i < n; i++) {
        if (len == k && !(x[i] > values[len - 1])) continue;
        uint32_t j = len < k ? len++ : k - 1;
        while (j > 0 && x[i] > values[j - 1]) {
            values[j] = values[j - 1];
            indices[j] = indices[j - 1];
            j--;
        }
        values[j] = x[i];
        indices[j] = (int32_t)i;
    }
}
