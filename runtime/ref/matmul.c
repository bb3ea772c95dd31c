/* Reference matmul: dequantize each weight row once, accumulate in double. */
#include "ref.h"

void silkie_ref_matmul(const float *a, int trans_a, const void *w, silkie_dtype wdt, int w_kn,
                       const float *bias, float *y, uint32_t M, uint32_t N, uint32_t K,
                       int accumulate, float alpha)
{
    if (alpha == 0.0f) alpha = 1.0f;
    /* Dense [N][K] f32 copy of the weights, whatever the stored layout. */
    float *wf = silkie_malloc((size_t)N * K * sizeof(float));
    SK_ASSERT(wf);
    if (!w_kn) {
        uint64_t rb = silkie_ref_row_bytes(wdt, K);
        for (uint32_t n = 0; n < N; n++) {
            silkie_ref_dequant_row(wdt, (const uint8_t *)w + rb * n, wf + (size_t)n * K, K);
        }
    } else {
        float *row = silkie_malloc((size_t)N * sizeof(float));
        SK_ASSERT(row);
        uint64_t rb = silkie_ref_row_bytes(wdt, N);
        for (uint32_t k = 0; k < K; k++) {
            silkie_ref_dequant_row(wdt, (const uint8_t *)w + rb * k, row, N);
            for (uint32_t n = 0; n < N; n++) wf[(size_t)n * K + k] = row[n];
        }
        silkie_free(row);
    }
    for (uint32_t m = 0; m < M; m++) {
        for (uint32_t n = 0; n < N; n++) {
            double s = 0.0;
            const float *wr = wf + (size_t)n * K;
            for (uint32_t k = 0; k < K; k++) {
                float av = trans_a ? a[(size_t)k * M + m] : a[(size_t)m * K + k];
                s += (double)av * (double)wr[k];
            }
            double v = (double)alpha * s + (bias ? (double)bias[n] : 0.0);
            if (accumulate) v += (double)y[(size_t)m * N + n];
            y[(size_t)m * N + n] = (float)v;
        }
    }
    silkie_free(wf);
}
