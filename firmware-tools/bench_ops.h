/* silkie-bench-ops internals shared by its case files (silkie_bench_ops.c: reference points and
 * matmul; bench_ops_attention.c: attention). */
#ifndef SILKIE_BENCH_OPS_H
#define SILKIE_BENCH_OPS_H
#include "ops/ops.h"

typedef struct bench {
    silkie_vk_device *dev;
    const char *device_name;
    int quick, json, variants, check;
    const char *filter;
    uint32_t iters, reps;
    double copy_gbps, fma_gflops; /* reference points, 0 until measured */
    int failures;
    int gpu_time;                  /* dispatches timed with GPU timestamps */
    double wall_us, submit_us;     /* of the last case: wall time per call, overhead per submit */
} bench;

typedef silkie_status (*record_fn)(silkie_op_ctx *c, void *user);

/* Microseconds per call of the op: GPU time when timed on the GPU, else the median wall time
 * per call; b->wall_us and b->submit_us are set too. < 0 on failure (message printed). */
double time_case(bench *b, record_fn rec, void *user);
/* One result row. ref: "copy" or "fma" (which reference the percentage is of) or NULL;
 * kernel: which setting and kernel ran, or NULL. */
void report(bench *b, const char *op, const char *shape, const char *dtype, double us,
            double flops, double bytes, const char *ref, const char *kernel);
/* 1 when --filter is absent or "op shape dtype" contains it. */
int wanted(const bench *b, const char *op, const char *shape, const char *dtype);

/* Attention cases (prefill, vision, resampler, decode) and their --check against the reference. */
void bench_attentions(bench *b);
void check_attentions(bench *b);

#endif
