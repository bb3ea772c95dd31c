/* silkie-bench-ops times each op with GPU timestamps where the device has them:
 *
 *   test_bench_ops_timing SILKIE_BENCH_OPS
 *
 * One small GEMV row as JSON: "timing" is "gpu", us_per_call is positive and not above the wall
 * time per call plus the submission overhead it reports (wall x reps = GPU x reps + overhead);
 * with --wall-clock the same row is timed by the wall clock and has no overhead field. A device
 * without timestamps reports "wall" in both runs. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static char g_out[1 << 16];

/* The GEMV row of one run; NULL when it is missing (reported). */
static cJSON *gemv_row(const char *exe, const char *extra)
{
    char args[512];
    snprintf(args, sizeof args,
             "--quick --json --iters 3 --reps 4 --filter 'gemv 1x512x512 f16' %s", extra);
    const int rc = sk_run_capture(exe, args, g_out, sizeof g_out);
    SK_TEST_CHECK(rc == 0, "silkie-bench-ops %s: exit %d", args, rc);
    for (char *line = strtok(g_out, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *op = cJSON_GetObjectItem(j, "op");
        if (cJSON_IsString(op) && !strcmp(op->valuestring, "gemv")) return j;
        cJSON_Delete(j);
    }
    SK_TEST_CHECK(0, "silkie-bench-ops %s: no gemv row", args);
    return NULL;
}

static double num(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_bench_ops_timing SILKIE_BENCH_OPS\n");
        return 2;
    }
    cJSON *gpu = gemv_row(argv[1], "");
    if (gpu) {
        const cJSON *timing = cJSON_GetObjectItem(gpu, "timing");
        const int on_gpu = cJSON_IsString(timing) && !strcmp(timing->valuestring, "gpu");
        SK_TEST_CHECK(on_gpu || (cJSON_IsString(timing) && !strcmp(timing->valuestring, "wall")),
                      "timing field missing");
        const double us = num(gpu, "us_per_call"), wall = num(gpu, "wall_us_per_call");
        SK_TEST_CHECK(us > 0 && wall > 0, "us_per_call %g, wall_us_per_call %g", us, wall);
        if (on_gpu) {
            const double over = num(gpu, "submit_overhead_us");
            SK_TEST_CHECK(over >= 0, "submit_overhead_us %g", over);
            /* The overhead is clamped at 0 when the GPU time exceeds the median wall time. */
            SK_TEST_CHECK(fabs(wall * 4 - (us * 4 + over)) <= 1e-3 * wall * 4 + 0.01 ||
                              (over == 0 && us >= wall),
                          "wall %g x 4 != GPU %g x 4 + overhead %g", wall, us, over);
        }
        cJSON_Delete(gpu);
    }
    cJSON *wall = gemv_row(argv[1], "--wall-clock");
    if (wall) {
        const cJSON *timing = cJSON_GetObjectItem(wall, "timing");
        SK_TEST_CHECK(cJSON_IsString(timing) && !strcmp(timing->valuestring, "wall"),
                      "--wall-clock: timing is not wall");
        SK_TEST_CHECK(!cJSON_GetObjectItem(wall, "submit_overhead_us"),
                      "--wall-clock: an overhead without GPU times");
        SK_TEST_CHECK(num(wall, "us_per_call") == num(wall, "wall_us_per_call"),
                      "--wall-clock: us_per_call is not the wall time");
        cJSON_Delete(wall);
    }
    return sk_test_result("test_bench_ops_timing");
}
