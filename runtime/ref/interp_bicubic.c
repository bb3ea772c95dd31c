/* Reference PyTorch bicubic resize (A = -0.75, align_corners false, taps clamped to the grid)
 * of a [gh*gw, D] grid table to [oh*ow, D]: along x for the four source rows, then along y. */
#include <math.h>

#include "ref/ref.h"

static double cubic_near(double t, double a) { return ((a + 2) * t - (a + 3)) * t * t + 1; }
static double cubic_far(double t, double a) { return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a; }

/* Source taps and weights of output index o along an axis of n_in -> n_out. */
static void taps(uint32_t o, uint32_t n_in, uint32_t n_out, int32_t idx[4], double w[4])
{
    const double A = -0.75;
    double s = ((double)o + 0.5) * ((double)n_in / n_out) - 0.5;
    double f = floor(s), t = s - f;
    w[0] = cubic_far(t + 1, A);
    w[1] = cubic_near(t, A);
    w[2] = cubic_near(1 - t, A);
    w[3] = cubic_far(2 - t, A);
    for (int k = 0; k < 4; k++) {
        int64_t i = (int64_t)f - 1 + k;
        idx[k] = (int32_t)(i < 0 ? 0 : i >= (int64_t)n_in ? (int64_t)n_in - 1 : i);
    }
}

void silkie_ref_interp_bicubic(const float *x, uint32_t gh, uint32_t gw, uint32_t D, float *y,
                               uint32_t oh, uint32_t ow)
{
    for (uint32_t r = 0; r < oh; r++) {
        int32_t ty[4];
        double wy[4];
        taps(r, gh, oh, ty, wy);
        for (uint32_t c = 0; c < ow; c++) {
            int32_t tx[4];
            double wx[4];
            taps(c, gw, ow, tx, wx);
            float *yr = y + ((uint64_t)r * ow + c) * D;
            for (uint32_t d = 0; d < D; d++) {
                double acc = 0.0;
                for (int a = 0; a < 4; a++) {
                    double row = 0.0;
                    for (int b = 0; b < 4; b++)
                        row += wx[b] * x[((uint64_t)ty[a] * gw + tx[b]) * D + d];
                    acc += wy[a] * row;
                }
                yr[d] = (float)acc;
            }
        }
    }
}
