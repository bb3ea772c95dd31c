/* silkie-bench-ops: time single ops on one device against two reference points, the copy shader
 * (bandwidth) and the FMA shader (arithmetic rate).
 *
 * Each case records one command list with R back-to-back calls of the op and submits it N times.
 * Where the device has timestamps, every dispatch is timed on the GPU and us/call is that time
 * (mean over the N x R calls); the wall time per call (median submission / R) and the overhead of
 * one submission (its wall time minus its GPU time) are reported beside it, so a 3 us kernel is
 * not reported as the 17 us its submission takes. --wall-clock times by the wall clock alone.
 *
 * `silkie-bench-ops --help` lists the options. --variants times every matmul case under each
 * named kernel setting of matmul.c; --check compares each setting's result with
 * silkie_ref_matmul on small shapes and prints PASS/FAIL.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_ops.h"
#include "cli_opts.h"
#include "ref/ref.h"


static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* GPU time of every dispatch since the last reset, in microseconds. */
static double gpu_total_us(const bench *b)
{
    silkie_vk_profile_row rows[256];
    const uint32_t n = SK_MIN(silkie_vk_profile(b->dev, rows, 256), 256u);
    double ms = 0;
    for (uint32_t i = 0; i < n; i++) ms += rows[i].total_ms;
    return ms * 1e3;
}

double time_case(bench *b, record_fn rec, void *user)
{
    silkie_op_ctx c = {.dev = b->dev};
    silkie_status st = silkie_vk_cmd_create(b->dev, &c.cmd);
    if (st == SILKIE_OK) st = silkie_vk_cmd_begin(c.cmd);
    for (uint32_t r = 0; st == SILKIE_OK && r < b->reps; r++) st = rec(&c, user);
    if (st == SILKIE_OK) st = silkie_vk_cmd_end(c.cmd);
    /* The first submission builds pipelines' driver state and warms caches. */
    if (st == SILKIE_OK) st = silkie_vk_cmd_submit_wait(c.cmd);
    if (b->gpu_time) silkie_vk_profile_reset(b->dev);
    double *t = calloc(b->iters, sizeof *t);
    if (!t) st = SILKIE_ERR_OUT_OF_MEMORY;
    for (uint32_t i = 0; st == SILKIE_OK && i < b->iters; i++) {
        uint64_t t0 = silkie_time_ns();
        st = silkie_vk_cmd_submit_wait(c.cmd);
        t[i] = (double)(silkie_time_ns() - t0) * 1e-3 / b->reps;
    }
    double med = -1;
    if (st == SILKIE_OK) {
        qsort(t, b->iters, sizeof *t, cmp_double);
        med = b->iters % 2 ? t[b->iters / 2] : 0.5 * (t[b->iters / 2 - 1] + t[b->iters / 2]);
        b->wall_us = med;
        b->submit_us = 0;
        if (b->gpu_time) {
            const double gpu = gpu_total_us(b) / ((double)b->iters * b->reps);
            b->submit_us = SK_MAX(0.0, (med - gpu) * b->reps);
            med = gpu;
        }
    } else {
        fprintf(stderr, "  failed: %s: %s\n", silkie_status_name(st), silkie_last_error());
    }
    free(t);
    silkie_vk_cmd_destroy(c.cmd);
    return med;
}

void report(bench *b, const char *op, const char *shape, const char *dtype, double us,
            double flops, double bytes, const char *ref, const char *kernel)
{
    double gflops = us > 0 ? flops / (us * 1e3) : 0, gbps = us > 0 ? bytes / (us * 1e3) : 0;
    double pct = -1;
    if (ref && !strcmp(ref, "copy") && b->copy_gbps > 0) pct = 100 * gbps / b->copy_gbps;
    if (ref && !strcmp(ref, "fma") && b->fma_gflops > 0) pct = 100 * gflops / b->fma_gflops;
    if (b->json) {
        printf("{\"op\":");
        silkie_cli_json_string(stdout, op);
        printf(",\"shape\":");
        silkie_cli_json_string(stdout, shape);
        printf(",\"dtype\":");
        silkie_cli_json_string(stdout, dtype);
        printf(",\"us_per_call\":%.3f,\"timing\":\"%s\",\"wall_us_per_call\":%.3f", us,
               b->gpu_time ? "gpu" : "wall", b->wall_us);
        if (b->gpu_time) printf(",\"submit_overhead_us\":%.3f", b->submit_us);
        printf(",\"gflops\":%.3f,\"gbps\":%.3f", gflops, gbps);
        if (pct >= 0) {
            printf(",\"pct_of\":");
            silkie_cli_json_string(stdout, ref);
            printf(",\"pct\":%.2f", pct);
        }
        if (kernel) {
            printf(",\"kernel\":");
            silkie_cli_json_string(stdout, kernel);
        }
        printf(",\"reps\":%u,\"iters\":%u,\"device\":", b->reps, b->iters);
        silkie_cli_json_string(stdout, b->device_name);
        printf("}\n");
    } else {
        char pcts[32] = "";
        if (pct >= 0) snprintf(pcts, sizeof pcts, "%5.1f%% %s", pct, ref);
        printf("%-10s %-22s %-6s %12.2f %10.2f %10.2f %9.2f  %-12s %s\n", op, shape, dtype, us,
               b->wall_us, gflops, gbps, pcts, kernel ? kernel : "");
    }
    fflush(stdout);
}

int wanted(const bench *b, const char *op, const char *shape, const char *dtype)
{
    if (!b->filter) return 1;
    char key[128];
    snprintf(key, sizeof key, "%s %s %s", op, shape, dtype);
    return strstr(key, b->filter) != NULL;
}

/* ---- reference points ---------------------------------------------------------------------- */
typedef struct copy_args {
    silkie_tensor *x, *y;
} copy_args;
static silkie_status rec_copy(silkie_op_ctx *c, void *u)
{
    copy_args *a = u;
    return silkie_op_copy(c, a->x, a->y);
}

typedef struct fma_args {
    silkie_tensor *y;
    uint32_t groups, iters;
} fma_args;
static silkie_status rec_fma(silkie_op_ctx *c, void *u)
{
    fma_args *a = u;
    return silkie_op_fma_peak(c, a->y, a->groups, a->iters);
}

static void bench_copy(bench *b)
{
    uint32_t words = b->quick ? (1u << 20) : (16u << 20); /* 4 MiB or 64 MiB each way */
    char shape[64];
    snprintf(shape, sizeof shape, "%u MiB", words >> 18);
    int want = wanted(b, "copy", shape, "u32");
    const uint32_t ne[4] = {words, 1, 1, 1};
    silkie_owned_tensor x, y;
    silkie_status st =
        silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &x);
    if (st == SILKIE_OK)
        st = silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_I32, ne, &y);
    if (st == SILKIE_OK) st = silkie_vk_buffer_fill(x.bufs[0], 0, (uint64_t)words * 4, 1);
    double us = -1;
    if (st == SILKIE_OK) {
        copy_args a = {&x.t, &y.t};
        us = time_case(b, rec_copy, &a);
    } else {
        fprintf(stderr, "copy: %s\n", silkie_last_error());
    }
    if (us > 0) {
        double bytes = 2.0 * words * 4;
        b->copy_gbps = bytes / (us * 1e3);
        if (want) report(b, "copy", shape, "u32", us, 0, bytes, NULL, NULL);
    } else {
        b->failures++;
    }
    silkie_tensor_free(&x);
    silkie_tensor_free(&y);
}

static void bench_fma(bench *b)
{
    fma_args a = {.groups = b->quick ? 64 : 4096, .iters = b->quick ? 512 : 4096};
    char shape[64];
    snprintf(shape, sizeof shape, "%ux256 x%u", a.groups, a.iters);
    int want = wanted(b, "fma_peak", shape, "f32");
    const uint32_t ne[4] = {a.groups * 256, 1, 1, 1};
    silkie_owned_tensor y;
    silkie_status st =
        silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, &y);
    double us = -1;
    if (st == SILKIE_OK) {
        a.y = &y.t;
        us = time_case(b, rec_fma, &a);
    } else {
        fprintf(stderr, "fma_peak: %s\n", silkie_last_error());
    }
    if (us > 0) {
        /* 8 chains x vec4 = 32 FMAs = 64 flops per invocation per trip. */
        double flops = (double)a.groups * 256 * a.iters * 64;
        b->fma_gflops = flops / (us * 1e3);
        if (want) report(b, "fma_peak", shape, "f32", us, flops, 0, NULL, NULL);
    } else {
        b->failures++;
    }
    silkie_tensor_free(&y);
}

/* ---- matmul -------------------------------------------------------------------------------- */
typedef struct mm_args {
    silkie_tensor *a, *w, *y;
} mm_args;
static silkie_status rec_mm(silkie_op_ctx *c, void *u)
{
    mm_args *m = u;
    return silkie_op_matmul(c, m->a, m->w, NULL, m->y, NULL);
}

/* Weights with sane block scales: random bytes would make f16 scales NaN or huge. */
static void fill_weights(silkie_dtype dt, uint8_t *p, uint64_t nbytes, uint64_t *seed)
{
    uint64_t s = *seed;
    for (uint64_t i = 0; i < nbytes; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        p[i] = (uint8_t)s;
    }
    *seed = s;
    const uint16_t small = silkie_f32_to_f16(0.01f);
    if (dt == SILKIE_DTYPE_F16) {
        uint16_t *h = (uint16_t *)p;
        for (uint64_t i = 0; i < nbytes / 2; i++)
            h[i] = silkie_f32_to_f16((float)(h[i] % 2001) * 1e-5f - 0.01f);
        return;
    }
    size_t blk = silkie_dtype_block_bytes(dt);
    for (uint64_t off = 0; off + blk <= nbytes; off += blk) memcpy(p + off, &small, 2);
}

static uint32_t scale_dim(const bench *b, uint32_t x, uint32_t mult)
{
    if (!b->quick) return x;
    uint32_t v = (x / 8 + mult - 1) / mult * mult;
    return v ? v : mult;
}

static void bench_matmul(bench *b, const char *op, uint32_t m, uint32_t n, uint32_t k,
                         silkie_dtype dt)
{
    m = m == 1 ? 1 : scale_dim(b, m, 1);
    n = scale_dim(b, n, 1);
    k = scale_dim(b, k, 32);
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%ux%u", m, n, k);
    const char *dname = silkie_dtype_name(dt);
    if (!wanted(b, op, shape, dname)) return;
    const uint32_t ane[4] = {k, m, 1, 1}, wne[4] = {k, n, 1, 1}, yne[4] = {n, m, 1, 1};
    silkie_owned_tensor a, w, y;
    memset(&a, 0, sizeof a);
    memset(&w, 0, sizeof w);
    memset(&y, 0, sizeof y);
    silkie_status st =
        silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ane, &a);
    if (st == SILKIE_OK) st = silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_WEIGHTS, dt, wne, &w);
    if (st == SILKIE_OK)
        st = silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, yne, &y);
    uint64_t wbytes = st == SILKIE_OK ? silkie_tensor_nbytes(&w.t) : 0;
    if (st == SILKIE_OK) {
        uint64_t seed = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n << 20) ^ k;
        uint8_t *host = malloc(wbytes);
        float *ah = malloc((size_t)m * k * sizeof *ah);
        if (!host || !ah) {
            st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "bench: %llu bytes of weights",
                         (unsigned long long)wbytes);
        } else {
            fill_weights(dt, host, wbytes, &seed);
            for (uint64_t i = 0; i < (uint64_t)m * k; i++)
                ah[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
            st = silkie_tensor_upload(&w, host, wbytes);
            if (st == SILKIE_OK) st = silkie_tensor_upload(&a, ah, (uint64_t)m * k * 4);
        }
        free(host);
        free(ah);
    }
    if (st != SILKIE_OK) {
        fprintf(stderr, "%s %s %s: %s\n", op, shape, dname, silkie_last_error());
        printf("%-10s %-22s %-6s   failed (see stderr)\n", op, shape, dname);
        b->failures++;
    }
    /* The automatic setting, then (--variants) every named one for this case's path. */
    const int gemv_path = m <= 8;
    uint32_t n_t = b->variants ? silkie_op_matmul_n_tunings() : 1;
    for (uint32_t t = 0; st == SILKIE_OK && t < n_t; t++) {
        const char *tname = silkie_op_matmul_tuning_name(t);
        if (t > 0 && (strncmp(tname, "gemv", 4) == 0) != gemv_path) continue;
        /* The GEMV settings only concern quantized weights (gemv_q.comp). */
        if (t > 0 && gemv_path && dt != SILKIE_DTYPE_Q8_0 && dt != SILKIE_DTYPE_Q4_0) continue;
        silkie_op_matmul_set_tuning(t);
        mm_args args = {&a.t, &w.t, &y.t};
        double us = time_case(b, rec_mm, &args);
        char kernel[128];
        snprintf(kernel, sizeof kernel, "%s: %s", tname, silkie_op_matmul_last_kernel());
        if (us > 0) {
            double flops = 2.0 * m * n * k;
            double bytes = (double)wbytes + 4.0 * m * k + 4.0 * m * n;
            report(b, op, shape, dname, us, flops, bytes, m == 1 ? "copy" : "fma", kernel);
        } else {
            printf("%-10s %-22s %-6s   failed (see stderr) %s\n", op, shape, dname, kernel);
            b->failures++;
        }
    }
    silkie_op_matmul_set_tuning(0);
    silkie_tensor_free(&a);
    silkie_tensor_free(&w);
    silkie_tensor_free(&y);
}

/* --check: every named setting against silkie_ref_matmul on small shapes (GEMV and GEMM, each
 * weight type, a partial last tile, a bias). Prints PASS/FAIL per setting and shape. */
static int check_one(bench *b, uint32_t m, uint32_t n, uint32_t k, silkie_dtype dt, uint64_t seed)
{
    const uint32_t ane[4] = {k, m, 1, 1}, wne[4] = {k, n, 1, 1}, yne[4] = {n, m, 1, 1};
    const uint32_t bne[4] = {n, 1, 1, 1};
    uint64_t wrb = silkie_ref_row_bytes(dt, k);
    float *ah = malloc((size_t)m * k * sizeof *ah), *wf = malloc((size_t)k * sizeof *wf);
    float *bh = malloc((size_t)n * sizeof *bh), *ref = malloc((size_t)m * n * sizeof *ref);
    float *got = malloc((size_t)m * n * sizeof *got);
    uint8_t *wq = malloc(wrb * n);
    silkie_owned_tensor a, w, bias, y;
    memset(&a, 0, sizeof a), memset(&w, 0, sizeof w), memset(&bias, 0, sizeof bias);
    memset(&y, 0, sizeof y);
    silkie_status st = SILKIE_ERR_OUT_OF_MEMORY;
    if (ah && wf && bh && ref && got && wq) {
        uint64_t s = seed;
        for (uint64_t i = 0; i < (uint64_t)m * k; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            ah[i] = (float)(s % 2001) * 1e-3f - 1.0f;
        }
        for (uint32_t r = 0; r < n; r++) {
            for (uint32_t i = 0; i < k; i++) {
                s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                wf[i] = (float)(s % 2001) * 1e-3f - 1.0f;
            }
            silkie_ref_quantize_row(dt, wf, wq + wrb * r, k);
        }
        for (uint32_t i = 0; i < n; i++) bh[i] = (float)(i % 7) * 0.25f - 0.75f;
        silkie_ref_matmul(ah, 0, wq, dt, 0, bh, ref, m, n, k, 0, 1.0f);
        st = silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ane, &a);
    }
    if (st == SILKIE_OK) st = silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_WEIGHTS, dt, wne, &w);
    if (st == SILKIE_OK)
        st = silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, bne, &bias);
    if (st == SILKIE_OK)
        st = silkie_tensor_alloc(b->dev, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, yne, &y);
    if (st == SILKIE_OK) st = silkie_tensor_upload(&a, ah, (uint64_t)m * k * 4);
    if (st == SILKIE_OK) st = silkie_tensor_upload(&w, wq, wrb * n);
    if (st == SILKIE_OK) st = silkie_tensor_upload(&bias, bh, (uint64_t)n * 4);
    int fails = 0;
    for (uint32_t t = 0; st == SILKIE_OK && t < silkie_op_matmul_n_tunings(); t++) {
        /* Settings for the other path would repeat the automatic row. */
        if (t > 0 && (strncmp(silkie_op_matmul_tuning_name(t), "gemv", 4) == 0) != (m <= 8))
            continue;
        silkie_op_matmul_set_tuning(t);
        silkie_op_ctx c = {.dev = b->dev};
        const char *kernel = "";
        st = silkie_vk_buffer_fill(y.bufs[0], y.t.offset, (uint64_t)m * n * 4, 0x7fc00000u);
        if (st == SILKIE_OK) st = silkie_vk_cmd_create(b->dev, &c.cmd);
        if (st == SILKIE_OK) st = silkie_vk_cmd_begin(c.cmd);
        if (st == SILKIE_OK) st = silkie_op_matmul(&c, &a.t, &w.t, &bias.t, &y.t, NULL);
        if (st == SILKIE_OK) kernel = silkie_op_matmul_last_kernel();
        if (st == SILKIE_OK) st = silkie_vk_cmd_end(c.cmd);
        if (st == SILKIE_OK) st = silkie_vk_cmd_submit_wait(c.cmd);
        if (c.cmd) silkie_vk_cmd_destroy(c.cmd);
        if (st == SILKIE_OK) st = silkie_tensor_download(&y.t, got, (uint64_t)m * n * 4);
        if (st != SILKIE_OK) break;
        /* Normalised squared error: only the summation order differs from the reference. */
        double num = 0, den = 0;
        for (uint64_t i = 0; i < (uint64_t)m * n; i++) {
            double d = (double)got[i] - ref[i];
            num += d * d;
            den += (double)ref[i] * ref[i];
        }
        double nmse = den > 0 ? num / den : num;
        /* f32 kernels differ from the reference only in summation order; the tensor-core one
         * also rounds both operands to f16 (about 1e-7 expected), and the f16-arithmetic one
         * also sums each K step in f16 (about 1e-6 on lavapipe). NaN (an unwritten output)
         * fails either way. */
        const int f16 = strstr(kernel, "coopmat") || strstr(kernel, " f16");
        int pass = nmse < (f16 ? 1e-5 : 1e-6);
        fails += !pass;
        char kdesc[128];
        snprintf(kdesc, sizeof kdesc, "%s: %s", silkie_op_matmul_tuning_name(t), kernel);
        printf("check %ux%ux%u %-5s %-40s nmse %.2e %s\n", m, n, k, silkie_dtype_name(dt), kdesc,
               nmse, pass ? "PASS" : "FAIL");
    }
    silkie_op_matmul_set_tuning(0);
    if (st != SILKIE_OK) {
        printf("check %ux%ux%u %-5s FAIL (%s: %s)\n", m, n, k, silkie_dtype_name(dt),
               silkie_status_name(st), silkie_last_error());
        fails++;
    }
    fflush(stdout);
    silkie_tensor_free(&a), silkie_tensor_free(&w), silkie_tensor_free(&bias);
    silkie_tensor_free(&y);
    free(ah), free(wf), free(bh), free(ref), free(got), free(wq);
    return fails;
}

static void check_matmuls(bench *b)
{
    static const silkie_dtype wdt[] = {SILKIE_DTYPE_F16, SILKIE_DTYPE_Q8_0, SILKIE_DTYPE_Q4_0};
    static const uint32_t shapes[][3] = {{1, 300, 256}, {5, 77, 160}, {130, 200, 256}};
    uint64_t seed = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < SK_ARRAY_LEN(shapes); i++)
        for (size_t j = 0; j < SK_ARRAY_LEN(wdt); j++)
            b->failures += check_one(b, shapes[i][0], shapes[i][1], shapes[i][2], wdt[j], seed++);
}

static void bench_matmuls(bench *b)
{
    static const silkie_dtype wdt[] = {SILKIE_DTYPE_F16, SILKIE_DTYPE_Q8_0, SILKIE_DTYPE_Q4_0};
    static const uint32_t gemv_n[] = {4096, 11008, 151936};
    for (size_t i = 0; i < SK_ARRAY_LEN(gemv_n); i++)
        for (size_t j = 0; j < SK_ARRAY_LEN(wdt); j++)
            bench_matmul(b, "gemv", 1, gemv_n[i], 4096, wdt[j]);
    /* Prefill: 512 tokens through the LLM's square and MLP projections. */
    static const uint32_t prefill_n[] = {4096, 11008};
    for (size_t i = 0; i < SK_ARRAY_LEN(prefill_n); i++)
        for (size_t j = 0; j < SK_ARRAY_LEN(wdt); j++)
            bench_matmul(b, "gemm", 512, prefill_n[i], 4096, wdt[j]);
    /* Vision tower: 1024 patches, width 1664, MLP 8192. */
    bench_matmul(b, "gemm_vit", 1024, 1664, 1664, SILKIE_DTYPE_F16);
    bench_matmul(b, "gemm_vit", 1024, 8192, 1664, SILKIE_DTYPE_F16);
}

int main(int argc, char **argv)
{
    bench b = {.iters = 0, .reps = 0};
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    int wall_clock = 0;
    const silkie_opt t[] = {
        {"--quick", SILKIE_OPT_FLAG, &b.quick, NULL,
         "dimensions / 8 (for CPU drivers such as lavapipe)", NULL, 0, 0, 0, NULL},
        {"--variants", SILKIE_OPT_FLAG, &b.variants, NULL,
         "time each matmul case under every named kernel setting, and attention without the flash kernel", NULL, 0, 0, 0, NULL},
        {"--check", SILKIE_OPT_FLAG, &b.check, NULL,
         "only compare every kernel setting with the reference (PASS/FAIL)", NULL, 0, 0, 0,
         NULL},
        {"--filter", SILKIE_OPT_STR, &b.filter, "SUBSTR",
         "only rows whose \"op shape dtype\" contains SUBSTR", "all rows", 0, 0, 0, NULL},
        {"--iters", SILKIE_OPT_U32, &b.iters, "N",
         "timed submissions per case (the median is reported)", "10 (5 with --quick)", 1,
         100000, 0, NULL},
        {"--reps", SILKIE_OPT_U32, &b.reps, "R", "dispatches recorded back to back per submission",
         "10 (4 with --quick)", 1, 100000, 0, NULL},
        {"--json", SILKIE_OPT_FLAG, &b.json, NULL, "one JSON object per row", NULL, 0, 0, 0, NULL},
        {"--device", SILKIE_OPT_STR, &p.device, "GPU",
         "Vulkan device: index or name substring", "the best device", 0, 0, 0, NULL},
        {"--wall-clock", SILKIE_OPT_FLAG, &wall_clock, NULL,
         "time by the wall clock only, without GPU timestamps", NULL, 0, 0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie-bench-ops", "",
        "Times single ops on one device against two reference points, the copy shader "
        "(bandwidth) and the FMA shader (arithmetic rate).",
        t, sizeof t / sizeof t[0], 0, 0, NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    if (!b.iters) b.iters = b.quick ? 5 : 10;
    if (!b.reps) b.reps = b.quick ? 4 : 10;
    p.profile = !wall_clock && !b.check;
    silkie_status st = silkie_vk_device_create(&p, &b.dev);
    if (st != SILKIE_OK) {
        fprintf(stderr, "silkie-bench-ops: %s\n", silkie_last_error());
        return st == SILKIE_ERR_NO_DEVICE ? 77 : 1;
    }
    const silkie_vk_caps *caps = silkie_vk_device_caps(b.dev);
    b.device_name = caps->device_name;
    b.gpu_time = p.profile && caps->timestamps; /* the device drops profiling without them */
    if (b.check) {
        printf("device: %s (vendor 0x%04x, subgroup %u, coopmat_nv %u)\n", b.device_name,
               caps->vendor_id, caps->subgroup_size, caps->coopmat_nv);
        check_matmuls(&b);
        check_attentions(&b);
        printf("check: %s\n", b.failures ? "FAIL" : "PASS");
        silkie_vk_device_destroy(b.dev);
        return b.failures ? 1 : 0;
    }
    if (!b.json) {
        printf("device: %s (vendor 0x%04x, subgroup %u, coopmat_nv %u)\n", b.device_name,
               caps->vendor_id, caps->subgroup_size, caps->coopmat_nv);
        printf("timing: %s\n", b.gpu_time ? "GPU timestamps per dispatch (us/call); wall us/call "
               "includes the submission" : "wall clock (us/call includes the submission)");
        printf("%-10s %-22s %-6s %12s %10s %10s %9s  %-12s %s\n", "op", "shape (MxNxK)", "dtype",
               "us/call", "wall us", "GFLOP/s", "GB/s", "of ref", "setting: kernel");
    }
    /* The reference points run even when filtered out: the percentages need them. */
    bench_copy(&b);
    bench_fma(&b);
    bench_matmuls(&b);
    bench_attentions(&b);
    silkie_vk_profile_reset(b.dev); /* the rows are printed above, not again at destroy */
    silkie_vk_device_destroy(b.dev);
    return b.failures ? 1 : 0;
}
