/* Checks, comparisons and seeded data for every test. */
#include "harness.h"

#include <stdlib.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int sk_test_failures;

int sk_test_result(const char *name)
{
    if (sk_test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, sk_test_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

double sk_nmse(const float *ref, const float *got, uint64_t n)
{
    double num = 0, den = 0;
    for (uint64_t i = 0; i < n; i++) {
        double d = (double)ref[i] - (double)got[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    return den > 0 ? num / den : num;
}

double sk_max_abs_diff(const float *ref, const float *got, uint64_t n)
{
    double m = 0;
    for (uint64_t i = 0; i < n; i++) {
        double d = fabs((double)ref[i] - (double)got[i]);
        if (d > m || d != d) m = d;
    }
    return m;
}

double sk_max_abs(const float *x, uint64_t n)
{
    double m = 0;
    for (uint64_t i = 0; i < n; i++)
        if (fabs((double)x[i]) > m) m = fabs((double)x[i]);
    return m;
}

int64_t sk_first_nonfinite(const float *x, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return (int64_t)i;
    return -1;
}

int sk_check_close(const char *what, const float *ref, const float *got, uint64_t n,
                   double nmse_max, double max_abs, uint64_t seed)
{
    int64_t bad = sk_first_nonfinite(got, n);
    if (bad >= 0) {
        sk_test_failures++;
        fprintf(stderr, "FAIL %s: non-finite value at %lld (seed %llu)\n", what, (long long)bad,
                (unsigned long long)seed);
        return 0;
    }
    double e = sk_nmse(ref, got, n), m = 0;
    uint64_t worst = 0;
    for (uint64_t i = 0; i < n; i++) {
        double d = fabs((double)ref[i] - (double)got[i]);
        if (d > m) { m = d; worst = i; }
    }
    if (e > nmse_max || m > max_abs) {
        sk_test_failures++;
        fprintf(stderr,
                "FAIL %s: nmse %.3g (max %.3g), max abs %.3g (max %.3g) at %llu: ref %.9g got "
                "%.9g (seed %llu)\n",
                what, e, nmse_max, m, max_abs, (unsigned long long)worst,
                n ? (double)ref[worst] : 0.0, n ? (double)got[worst] : 0.0,
                (unsigned long long)seed);
        return 0;
    }
    return 1;
}

void sk_rng_seed(sk_rng *r, uint64_t seed) { r->s = seed * 0x9E3779B97F4A7C15ull + 1; }

uint32_t sk_rng_u32(sk_rng *r)
{
    uint64_t x = r->s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->s = x;
    return (uint32_t)(x >> 16);
}

float sk_rng_uniform(sk_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)(sk_rng_u32(r) >> 8) / 16777216.0f;
}

float sk_rng_normal(sk_rng *r)
{
    float u1 = sk_rng_uniform(r, 1e-7f, 1.0f), u2 = sk_rng_uniform(r, 0.0f, 1.0f);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

void sk_fill_uniform(sk_rng *r, float *x, uint64_t n, float lo, float hi)
{
    for (uint64_t i = 0; i < n; i++) x[i] = sk_rng_uniform(r, lo, hi);
}

const char *sk_shared_dir(void)
{
    static const char *dir = SILKIE_SHARED_DIR;
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

void *sk_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0) n = 0;
    char *p = silkie_malloc((size_t)n + 1); /* NUL-terminated, so text can be searched */
    if (p && n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n) {
        silkie_free(p);
        p = NULL;
    }
    if (p) p[n] = 0;
    fclose(f);
    if (p && size) *size = (size_t)n;
    return p;
}

int sk_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    SK_TEST_CHECK(ok, "cannot write %s", path);
    return ok;
}

static int visible(const struct dirent *e) { return e->d_name[0] != '.'; }

int sk_for_each_file(const char *dir, sk_file_fn fn, void *user)
{
    struct dirent **list = NULL;
    const int n = scandir(dir, &list, visible, alphasort);
    if (n < 0) return -1;
    int count = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        size_t size = 0;
        uint8_t *whole = sk_read_file(path, &size);
        uint8_t *exact = whole ? malloc(size ? size : 1) : NULL;
        if (exact) {
            memcpy(exact, whole, size);
            fn(list[i]->d_name, exact, size, user);
            count++;
        }
        free(exact);
        silkie_free(whole);
        free(list[i]);
    }
    free(list);
    return count;
}

int sk_spawn(char *const argv[], const char *out_path)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (out_path) {
            int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0 || dup2(fd, 1) < 0) _exit(126);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return (int)pid;
}

int sk_wait(int pid)
{
    int status = 0;
    if (pid < 0 || waitpid((pid_t)pid, &status, 0) != (pid_t)pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int sk_run(char *const argv[], const char *out_path) { return sk_wait(sk_spawn(argv, out_path)); }

int sk_run_capture(const char *exe, const char *args, char *out, size_t cap)
{
    size_t len = strlen(exe) + strlen(args) + 32;
    char *cmd = malloc(len);
    if (!cmd) return -1;
    snprintf(cmd, len, "'%s' %s 2>/dev/null", exe, args);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
