// Rotary-embedding helpers shared by rope.comp and rope_qkv.comp.

// sin/cos after reducing the angle to [-pi, pi] in two steps (2*pi split into a short exact
// head and a tail), so that large positions do not depend on the driver's own range reduction.
vec2 rope_cos_sin(float theta)
{
    const float TWO_PI_HI = 6.28125;
    const float TWO_PI_LO = 1.9353071795864769e-3;
    const float k = round(theta * 0.15915494309189535);
    const float r = (theta - k * TWO_PI_HI) - k * TWO_PI_LO;
    return vec2(cos(r), sin(r));
}

// inv_freq = base^(-2i/head_dim), one rounding from a host-side log2(base).
float rope_inv_freq(uint i, uint head_dim, float log2_base)
{
    return exp2(-float(2 * i) / float(head_dim) * log2_base);
}

// Qwen's log-n attention scaling of queries at positions past logn_base (0: off).
float rope_logn(int ps, uint logn_base, float inv_ln_logn)
{
    return logn_base > 0 && ps >= int(logn_base) ? log(float(ps) + 1.0) * inv_ln_logn : 1.0;
}
