/* Test harness: checks, comparisons, seeded random data, and a Vulkan device for op tests.
 *
 * Exit codes: 0 pass, 1 fail, 77 skipped (no Vulkan device; under CI=true a missing device is
 * a failure instead, so a broken lavapipe install can never turn the suite green). */
#ifndef SILKIE_TEST_HARNESS_H
#define SILKIE_TEST_HARNESS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"

extern int sk_test_failures;

#define SK_TEST_CHECK(cond, ...)                                                    \
    do {                                                                            \
        if (!(cond)) {                                                              \
            sk_test_failures++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                           \
            fprintf(stderr, "\n");                                                  \
        }                                                                           \
    } while (0)
/* Checks that a silkie call returned the expected status, printing the message otherwise. */
#define SK_TEST_STATUS(expr, want)                                                        \
    do {                                                                                  \
        silkie_status sk_got_ = (expr);                                                   \
        if (sk_got_ != (want)) {                                                          \
            sk_test_failures++;                                                           \
            fprintf(stderr, "FAIL %s:%d: %s = %s (want %s): %s\n", __FILE__, __LINE__,    \
                    #expr, silkie_status_name(sk_got_), silkie_status_name(want),         \
                    silkie_last_error());                                                 \
        }                                                                                 \
    } while (0)
#define SK_TEST_OK(expr) SK_TEST_STATUS(expr, SILKIE_OK)

/* Returns the process exit code: 0 when no check failed, 1 otherwise; prints a summary. */
int sk_test_result(const char *name);

/* Normalised mean squared error sum((a-b)^2) / sum(a^2) with `a` the reference; a zero
 * reference uses sum(b^2) as the numerator alone. */
double sk_nmse(const float *ref, const float *got, uint64_t n);
double sk_max_abs_diff(const float *ref, const float *got, uint64_t n);
double sk_max_abs(const float *x, uint64_t n);
/* Index of the first NaN/Inf, or -1. */
int64_t sk_first_nonfinite(const float *x, uint64_t n);
/* Compares with both bounds and reports `what`, the seed and the worst element on failure. */
int sk_check_close(const char *what, const float *ref, const float *got, uint64_t n,
                   double nmse_max, double max_abs, uint64_t seed);

/* Deterministic xorshift generator. */
typedef struct sk_rng { uint64_t s; } sk_rng;
void sk_rng_seed(sk_rng *r, uint64_t seed);
uint32_t sk_rng_u32(sk_rng *r);
float sk_rng_uniform(sk_rng *r, float lo, float hi);
float sk_rng_normal(sk_rng *r);
void sk_fill_uniform(sk_rng *r, float *x, uint64_t n, float lo, float hi);

/* Running the project's programs (tests of the command line). sk_spawn starts argv[0] with
 * argv, stdout to out_path (NULL: inherited), and returns the pid (-1 on failure); sk_wait
 * returns its exit status (128 + signal when killed, -1 on failure); sk_run does both. */
int sk_spawn(char *const argv[], const char *out_path);
int sk_wait(int pid);
int sk_run(char *const argv[], const char *out_path);
/* Runs "'exe' args" through the shell (args already quoted) with stderr discarded; stdout into
 * out (NUL-terminated, cap bytes); returns the exit status. */
int sk_run_capture(const char *exe, const char *args, char *out, size_t cap);

/* Path of the shared reference folder (../shared beside the repository); NULL when absent. */
const char *sk_shared_dir(void);
/* Reads a whole file (with a NUL after its bytes); caller frees with silkie_free. NULL when
 * missing. */
void *sk_read_file(const char *path, size_t *size);
/* Writes n bytes to path (replacing it); 1 on success, else 0 with a failed check naming it. */
int sk_write_file(const char *path, const void *data, size_t n);
/* Calls fn with the bytes of every file in dir (names starting with '.' skipped), in name order so
 * every machine replays the same sequence; the buffer is exactly n bytes (an over-read trips
 * ASan) and freed after the call. Returns how many files, -1 when dir cannot be read. */
typedef void (*sk_file_fn)(const char *name, const uint8_t *data, size_t n, void *user);
int sk_for_each_file(const char *dir, sk_file_fn fn, void *user);

#endif
