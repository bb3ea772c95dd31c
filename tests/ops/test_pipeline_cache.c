/* Where the pipeline cache lives when nothing names it: $XDG_CACHE_HOME/silkie (folders made,
 * mode 0700), else ~/.cache/silkie, one pipelines-<vendor>-<device>.bin per device model; a
 * second device loads it; a relative XDG_CACHE_HOME is ignored; SILKIE_PIPELINE_CACHE names
 * another file and "off" keeps none; a corrupt or foreign file is a miss with a log line, never
 * a failure, and is replaced by a good one. Everything happens under a private temporary
 * folder. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness_vk.h"

static char g_root[512];
static char g_log[4096];

static void on_log(silkie_log_level level, const char *module, const char *msg, void *user)
{
    (void)level, (void)module, (void)user;
    const size_t used = strlen(g_log);
    if (strstr(msg, "pipeline cache") && used + 2 < sizeof g_log)
        snprintf(g_log + used, sizeof g_log - used, "%s\n", msg); /* every cache line, in order */
}

static const char *path_in(int slot, const char *rel)
{
    static char buf[4][1024];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", g_root, rel);
    return buf[slot];
}

/* A validated device that builds one pipeline, then is destroyed (which saves the cache). */
static void one_run(const char *what)
{
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    p.validation = 1;
    silkie_vk_device *d = NULL;
    g_log[0] = 0;
    SK_TEST_OK(silkie_vk_device_create(&p, &d));
    if (!d) return;
    silkie_owned_tensor y;
    const uint32_t ne[4] = {256, 1, 1, 1};
    SK_TEST_OK(silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne, &y));
    silkie_op_ctx c;
    if (y.t.buf && sk_op_begin(d, &c)) {
        SK_TEST_OK(silkie_op_fma_peak(&c, &y.t, 1, 2));
        sk_op_run(&c);
    }
    silkie_tensor_free(&y);
    SK_TEST_CHECK(silkie_vk_validation_messages(d) == 0, "%s: validation messages", what);
    silkie_vk_device_destroy(d);
}

static int is_cache_file(const char *path)
{
    size_t n = 0;
    char *data = sk_read_file(path, &n);
    int ok = data && n > 64 && !memcmp(data, "SKPCACHE", 8);
    silkie_free(data);
    return ok;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int main(void)
{
    silkie_vk_device *probe = sk_test_device(); /* exits 77 without a device */
    char name[64];
    snprintf(name, sizeof name, "silkie/pipelines-%04x-%04x.bin",
             silkie_vk_device_caps(probe)->vendor_id, silkie_vk_device_caps(probe)->device_id);
    silkie_vk_device_destroy(probe);
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/silkie-pcache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_root)) {
        SK_TEST_CHECK(0, "mkdtemp %s", g_root);
        return sk_test_result("test_pipeline_cache");
    }
    silkie_log_set(on_log, NULL);
    silkie_log_set_level(SILKIE_LOG_INFO);
    unsetenv("SILKIE_PIPELINE_CACHE");

    /* Default under XDG_CACHE_HOME, whose folders do not exist yet. */
    setenv("XDG_CACHE_HOME", path_in(0, "xdg/cache"), 1);
    char file[1024];
    snprintf(file, sizeof file, "%s/xdg/cache/%s", g_root, name);
    one_run("first run");
    SK_TEST_CHECK(is_cache_file(file), "no cache file at %s", file);
    struct stat st;
    SK_TEST_CHECK(stat(path_in(1, "xdg/cache/silkie"), &st) == 0 && (st.st_mode & 0777) == 0700,
                  "cache folder mode %o", (unsigned)(st.st_mode & 0777));
    one_run("second run");
    SK_TEST_CHECK(strstr(g_log, "loaded") && strstr(g_log, file),
                  "second run: cache lines '%s'", g_log);

    /* Corrupt, then foreign (one byte of the pipelineCacheUUID changed): a logged miss. */
    FILE *f = fopen(file, "wb");
    if (f) {
        fputs("SKPCACHE not a cache", f);
        fclose(f);
    }
    one_run("corrupt file");
    SK_TEST_CHECK(is_cache_file(file), "corrupt file not replaced");
    size_t n = 0;
    uint8_t *data = sk_read_file(file, &n);
    f = data && n > 40 ? fopen(file, "wb") : NULL;
    if (f) {
        data[24] ^= 0x5a;
        fwrite(data, 1, n, f);
        fclose(f);
    }
    silkie_free(data);
    g_log[0] = 0;
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    silkie_vk_device *d = NULL;
    SK_TEST_OK(silkie_vk_device_create(&p, &d));
    SK_TEST_CHECK(strstr(g_log, "another device"), "foreign file: '%s'", g_log);
    silkie_vk_device_destroy(d);
    SK_TEST_CHECK(is_cache_file(file), "foreign file not replaced");

    /* "off" keeps none; an explicit file is used instead of the default. */
    unlink(file);
    setenv("SILKIE_PIPELINE_CACHE", "off", 1);
    one_run("off");
    SK_TEST_CHECK(!exists(file), "a cache was written with SILKIE_PIPELINE_CACHE=off");
    setenv("SILKIE_PIPELINE_CACHE", path_in(2, "explicit.bin"), 1);
    one_run("explicit");
    SK_TEST_CHECK(is_cache_file(path_in(2, "explicit.bin")) && !exists(file),
                  "SILKIE_PIPELINE_CACHE not honoured");
    unsetenv("SILKIE_PIPELINE_CACHE");

    /* No usable XDG_CACHE_HOME (relative): ~/.cache/silkie. */
    setenv("XDG_CACHE_HOME", "relative/cache", 1);
    setenv("HOME", path_in(3, "home"), 1);
    char home_file[1024];
    snprintf(home_file, sizeof home_file, "%s/home/.cache/%s", g_root, name);
    one_run("home");
    SK_TEST_CHECK(is_cache_file(home_file), "no cache file at %s", home_file);
    SK_TEST_CHECK(!exists("relative"), "a relative XDG_CACHE_HOME was used");

    silkie_log_set(NULL, NULL);
    silkie_log_set_level(SILKIE_LOG_WARN);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_root);
    return sk_test_result("test_pipeline_cache");
}
