// erf and erfc in f32 to ~1e-7 relative, from two Chebyshev expansions fitted for this project
// (coefficients are Chebyshev interpolants of the exact functions, evaluated by Clenshaw):
//   u < 1.5:  erf(u)  = u * A(s),            s = u*u on [0, 2.25]
//   u >= 1.5: erfc(u) = exp(-u*u) * B(t),    t = 1/u on [0.1, 2/3]  (u > 10: erfc underflows)
//   u in [0.5, 1.5): erfc(u) = exp(-u*u) * C(t), t = 1/u on [2/3, 2], used where 1 - erf(u)
//   would cancel (the left tail of GELU)

const float SK_ERF_A[10] = float[10](
    0.851089478, -0.237851217, 0.034691222, -0.00426410278, 0.000440919801,
    -3.90138703e-05, 3.00575675e-06, -2.04679495e-07, 1.24743682e-08, -6.87575163e-10);
const float SK_ERFC_B[13] = float[13](
    0.195830986, 0.132923931, -0.0070734825, -0.000189013386, 0.000105591222,
    -1.29852733e-05, 1.72055678e-07, 2.67144344e-07, -6.08712583e-08, 6.07723427e-09,
    4.46414405e-10, -3.1739178e-10, 6.81219178e-11);

const float SK_ERFC_C[12] = float[12](
    0.488006055, 0.144766971, -0.0191525742, 0.0022771575, -0.000218533911, 9.44831845e-06,
    2.68102553e-06, -1.06462664e-06, 2.55630397e-07, -4.98561832e-08, 8.29032576e-09,
    -1.13685295e-09);

float sk_erf_small(float u) // u in [0, 1.5)
{
    const float y = (2.0 * (u * u) - 2.25) / 2.25;
    float b1 = 0.0, b2 = 0.0;
    [[unroll]] for (int k = 9; k >= 1; k--) {
        const float t = fma(2.0 * y, b1, -b2) + SK_ERF_A[k];
        b2 = b1;
        b1 = t;
    }
    return u * (fma(y, b1, -b2) + SK_ERF_A[0]);
}

// exp(v) for v <= 0 without the |v| * ulp error of exp2(v * log2 e): v = n ln2 + r with ln2
// split into an exact head and a tail (Cody-Waite), |r| <= ln2 / 2.
float sk_exp_accurate(float v)
{
    const float n = round(v * 1.4426950408889634);
    const float r = (v - n * 0.693145751953125) - n * 1.4286068202862268e-6;
    return ldexp(exp(r), int(n));
}

// exp(-u^2) with u^2 split so the large exponent carries no rounding: hi has 12 bits,
// hi*hi is exact and (u-hi)(u+hi) is the small remainder.
float sk_exp_neg_sq(float u)
{
    const float hi = uintBitsToFloat(floatBitsToUint(u) & 0xfffff000u);
    return sk_exp_accurate(-hi * hi) * exp(-(u - hi) * (u + hi));
}

float sk_erfc_large(float u) // u >= 1.5
{
    if (u > 10.0) return 0.0;
    const float t = 1.0 / u;
    const float y = (2.0 * t - (0.1 + 2.0 / 3.0)) / (2.0 / 3.0 - 0.1);
    float b1 = 0.0, b2 = 0.0;
    [[unroll]] for (int k = 12; k >= 1; k--) {
        const float s = fma(2.0 * y, b1, -b2) + SK_ERFC_B[k];
        b2 = b1;
        b1 = s;
    }
    return sk_exp_neg_sq(u) * (fma(y, b1, -b2) + SK_ERFC_B[0]);
}

float sk_erfc_mid(float u) // u in [0.5, 1.5]
{
    const float t = 1.0 / u;
    const float y = (2.0 * t - (2.0 + 2.0 / 3.0)) / (2.0 - 2.0 / 3.0);
    float b1 = 0.0, b2 = 0.0;
    [[unroll]] for (int k = 11; k >= 1; k--) {
        const float s = fma(2.0 * y, b1, -b2) + SK_ERFC_C[k];
        b2 = b1;
        b1 = s;
    }
    return sk_exp_neg_sq(u) * (fma(y, b1, -b2) + SK_ERFC_C[0]);
}

// 0.5 * x * (1 + erf(x / sqrt 2)), taking the erfc branch for x < 0 so that the left tail keeps
// its relative accuracy instead of cancelling 1 - erf.
float sk_gelu(float x)
{
    const float u = abs(x) * 0.70710678118654752;
    if (x < 0.0 && u >= 0.5 && u < 1.5) return 0.5 * x * sk_erfc_mid(u);
    if (u < 1.5) {
        const float e = sk_erf_small(u);
        return 0.5 * x * (1.0 + (x < 0.0 ? -e : e));
    }
    const float c = sk_erfc_large(u);
    return 0.5 * x * (x < 0.0 ? c : 2.0 - c);
}
