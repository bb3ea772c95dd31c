/* The safe output writer (runtime/base/outfile.c) on its own: content and modes, replacing,
 * abort, temporary names, targets it must refuse (link, FIFO, device, folder, socket, also when
 * one appears before commit), injected short writes / ENOSPC / EIO at every write, and the
 * SILKIE_FAULT switch in a child process.
 *
 *   test_outfile                 the tests
 *   test_outfile --child PATH    (internal) writes PATH once; exit 0 written, 3 SILKIE_ERR_IO
 *                                naming PATH, 4 SILKIE_ERR_INVALID_ARGUMENT, 5 anything else */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/outfile.h"
#include "harness.h"

static char g_dir[256];

static const char *in_dir(int slot, const char *name)
{
    static char buf[4][512];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", g_dir, name);
    return buf[slot];
}

static int put_plain(const char *path, const void *data, size_t n, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, n, f) == n;
    if (f) ok = fclose(f) == 0 && ok;
    return ok && chmod(path, mode) == 0;
}

/* 1 when path holds exactly n bytes equal to data. */
static int same_content(const char *path, const void *data, size_t n)
{
    size_t got = 0;
    void *b = sk_read_file(path, &got);
    int ok = b && got == n && (n == 0 || memcmp(b, data, n) == 0);
    silkie_free(b);
    return ok;
}

/* Number of entries in g_dir besides . and .. (temporary files start with '.'). */
static int count_entries(int *hidden)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    *hidden = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        if (e->d_name[0] == '.') (*hidden)++;
    }
    if (d) closedir(d);
    return n;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void empty_dir(void)
{
    nftw(g_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    mkdir(g_dir, 0700);
}

/* No temporary file left, and want_entries entries in all (-1: any number). */
static void check_clean(const char *what, int want_entries)
{
    int hidden = 0, n = count_entries(&hidden);
    SK_TEST_CHECK(hidden == 0, "%s: %d temporary file(s) left", what, hidden);
    SK_TEST_CHECK(want_entries < 0 || n == want_entries, "%s: %d entries, want %d", what, n,
                  want_entries);
}

static uint8_t *pattern(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    sk_rng r;
    sk_rng_seed(&r, seed);
    for (size_t i = 0; p && i < n; i++) p[i] = (uint8_t)sk_rng_u32(&r);
    return p;
}

static void test_new_and_replace(void)
{
    empty_dir();
    const char *p = in_dir(0, "new.bin");
    int64_t live = silkie_alloc_live();
    umask(022);
    SK_TEST_OK(silkie_outfile_write_all(p, "abc", 3));
    struct stat sb;
    SK_TEST_CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0644, "new file mode %o, want 644",
                  (unsigned)(sb.st_mode & 0777));
    SK_TEST_CHECK(same_content(p, "abc", 3), "new file content");
    umask(077);
    const char *q = in_dir(1, "private.bin");
    SK_TEST_OK(silkie_outfile_write_all(q, "", 0));
    SK_TEST_CHECK(stat(q, &sb) == 0 && sb.st_size == 0 && (sb.st_mode & 0777) == 0600,
                  "umask 077: mode %o", (unsigned)(sb.st_mode & 0777));
    umask(022);
    /* replacing keeps the old file's permissions */
    SK_TEST_CHECK(chmod(p, 0640) == 0, "chmod");
    const void *parts[3] = {"x", NULL, "yz"};
    const size_t sizes[3] = {1, 0, 2};
    SK_TEST_OK(silkie_outfile_write_parts(p, parts, sizes, 3));
    SK_TEST_CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0640, "replaced mode %o, want 640",
                  (unsigned)(sb.st_mode & 0777));
    SK_TEST_CHECK(same_content(p, "xyz", 3), "replaced content");
    check_clean("new and replace", 2);
    SK_TEST_CHECK(silkie_alloc_live() == live, "leak");
}

/* Small pieces, a piece larger than the buffer, formatted text longer than printf's stack
 * buffer: one stream, the bytes in order. */
static silkie_status write_stream(const char *path, const uint8_t *big, size_t n_big)
{
    silkie_outfile *f = NULL;
    SK_CHECK(silkie_outfile_open(path, &f));
    silkie_status st = silkie_outfile_write(f, "head", 4);
    if (st == SILKIE_OK) st = silkie_outfile_write(f, big, n_big);
    if (st == SILKIE_OK) st = silkie_outfile_printf(f, "[%0*d]", 900, 7);
    for (int i = 0; st == SILKIE_OK && i < 3000; i++) st = silkie_outfile_printf(f, "%04d\n", i);
    if (st == SILKIE_OK) st = silkie_outfile_write(f, big, n_big / 3);
    if (st != SILKIE_OK) {
        silkie_outfile_abort(f);
        return st;
    }
    return silkie_outfile_commit(f);
}

static uint8_t *expected_stream(const uint8_t *big, size_t n_big, size_t *n)
{
    size_t cap = 4 + n_big + 902 + 3000 * 5 + n_big / 3;
    uint8_t *e = malloc(cap);
    size_t k = 0;
    memcpy(e + k, "head", 4), k += 4;
    memcpy(e + k, big, n_big), k += n_big;
    k += (size_t)sprintf((char *)e + k, "[%0*d]", 900, 7);
    for (int i = 0; i < 3000; i++) k += (size_t)sprintf((char *)e + k, "%04d\n", i);
    memcpy(e + k, big, n_big / 3), k += n_big / 3;
    *n = k;
    return e;
}

static void test_stream(void)
{
    empty_dir();
    const size_t n_big = (3u << 20) + 17;
    uint8_t *big = pattern(n_big, 11);
    size_t n_want = 0;
    uint8_t *want = expected_stream(big, n_big, &n_want);
    const char *p = in_dir(0, "stream.bin");
    int64_t live = silkie_alloc_live();
    SK_TEST_OK(write_stream(p, big, n_big));
    SK_TEST_CHECK(same_content(p, want, n_want), "streamed content (%zu bytes)", n_want);
    SK_TEST_CHECK(silkie_alloc_live() == live, "leak");
    check_clean("stream", 1);

    /* Every write(2) in turn stored short, or failing: a short write still gives the whole
     * file, a failure leaves the old one. */
    static const sk_fault_kind kinds[] = {SK_FAULT_SHORT, SK_FAULT_ENOSPC, SK_FAULT_EIO};
    static const char *const names[] = {"short", "enospc", "eio"};
    for (size_t k = 0; k < SK_ARRAY_LEN(kinds); k++) {
        uint64_t n = 1;
        for (;; n++) {
            SK_TEST_CHECK(put_plain(p, "old", 3, 0644), "previous file");
            live = silkie_alloc_live();
            sk_fault_arm(kinds[k], n);
            silkie_status st = write_stream(p, big, n_big);
            bool fired = sk_fault_fired();
            sk_fault_arm(SK_FAULT_NONE, 0);
            SK_TEST_CHECK(silkie_alloc_live() == live, "%s:%llu: leak", names[k],
                          (unsigned long long)n);
            check_clean(names[k], 1);
            if (!fired || kinds[k] == SK_FAULT_SHORT) {
                SK_TEST_OK(st);
                SK_TEST_CHECK(same_content(p, want, n_want), "%s:%llu: content", names[k],
                              (unsigned long long)n);
                if (!fired) break;
                continue;
            }
            const char *msg = silkie_last_error();
            SK_TEST_CHECK(st == SILKIE_ERR_IO && strstr(msg, p) &&
                              strstr(msg, strerror(kinds[k] == SK_FAULT_EIO ? EIO : ENOSPC)),
                          "%s:%llu: %s: %s", names[k], (unsigned long long)n,
                          silkie_status_name(st), msg);
            SK_TEST_CHECK(same_content(p, "old", 3), "%s:%llu: previous file changed", names[k],
                          (unsigned long long)n);
        }
        printf("  %-8s faults at writes 1..%llu handled\n", names[k], (unsigned long long)n - 1);
        SK_TEST_CHECK(n > 3, "%s: only %llu write(s) seen", names[k], (unsigned long long)n - 1);
    }
    free(big);
    free(want);
}

static void test_abort_and_temp_names(void)
{
    empty_dir();
    const char *p = in_dir(0, "target.txt");
    SK_TEST_CHECK(put_plain(p, "keep", 4, 0644), "previous file");
    int64_t live = silkie_alloc_live();
    silkie_outfile *a = NULL, *b = NULL;
    SK_TEST_OK(silkie_outfile_open(p, &a));
    SK_TEST_OK(silkie_outfile_open(p, &b));
    SK_TEST_CHECK(a && !strcmp(silkie_outfile_path(a), p), "path kept");
    if (a) SK_TEST_OK(silkie_outfile_write(a, "new", 3));
    /* two temporaries beside the target, hidden, distinct; the target not yet touched */
    int hidden = 0;
    SK_TEST_CHECK(count_entries(&hidden) == 3 && hidden == 2, "two temporary files (%d)",
                  hidden);
    DIR *d = opendir(g_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] != '.' || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        size_t len = strlen(e->d_name);
        SK_TEST_CHECK(!strncmp(e->d_name, ".target.txt.", 12) && len == 12 + 16 + 4 &&
                          !strcmp(e->d_name + len - 4, ".tmp"),
                      "temporary name %s", e->d_name);
    }
    if (d) closedir(d);
    SK_TEST_CHECK(same_content(p, "keep", 4), "target untouched while open");
    silkie_outfile_abort(a);
    silkie_outfile_abort(b);
    silkie_outfile_abort(NULL);
    SK_TEST_CHECK(same_content(p, "keep", 4), "target untouched by abort");
    check_clean("abort", 1);
    SK_TEST_CHECK(silkie_alloc_live() == live, "leak");

    char *t1 = silkie_outfile_temp_name(p), *t2 = silkie_outfile_temp_name(p);
    SK_TEST_CHECK(t1 && t2 && strcmp(t1, t2) && !strncmp(t1, g_dir, strlen(g_dir)),
                  "temp names %s %s", t1 ? t1 : "", t2 ? t2 : "");
    silkie_free(t1);
    silkie_free(t2);

    /* a name near NAME_MAX still leaves room for the temporary one; a bare name goes to "." */
    char name[256];
    memset(name, 'n', 250);
    name[250] = 0;
    SK_TEST_OK(silkie_outfile_write_all(in_dir(1, name), "long", 4));
    char cwd[1024];
    if (getcwd(cwd, sizeof cwd) && chdir(g_dir) == 0) {
        SK_TEST_OK(silkie_outfile_write_all("bare.txt", "bare", 4));
        SK_TEST_CHECK(chdir(cwd) == 0, "chdir back");
    }
    SK_TEST_CHECK(same_content(in_dir(2, "bare.txt"), "bare", 4), "bare name written");
    check_clean("long and bare names", 3);
}

/* What must be refused at the target, left exactly as it was. */
static void expect_refused(const char *what, const char *path, const char *kind)
{
    struct stat before, after;
    SK_TEST_CHECK(lstat(path, &before) == 0, "%s: setup", what);
    int64_t live = silkie_alloc_live();
    silkie_status st = silkie_outfile_write_all(path, "data", 4);
    const char *msg = silkie_last_error();
    SK_TEST_CHECK(st == SILKIE_ERR_IO && strstr(msg, path) && strstr(msg, kind),
                  "%s: %s: %s", what, silkie_status_name(st), msg);
    SK_TEST_CHECK(lstat(path, &after) == 0 && after.st_mode == before.st_mode &&
                      after.st_ino == before.st_ino && after.st_rdev == before.st_rdev &&
                      after.st_size == before.st_size,
                  "%s: target changed", what);
    SK_TEST_CHECK(silkie_alloc_live() == live, "%s: leak", what);
}

static void test_refused(void)
{
    empty_dir();
    const char *victim = in_dir(0, "victim.txt");
    SK_TEST_CHECK(put_plain(victim, "victim", 6, 0644), "victim");
    const char *link = in_dir(1, "link");
    SK_TEST_CHECK(symlink("victim.txt", link) == 0, "symlink");
    expect_refused("symlink to a file", link, "symbolic link");
    SK_TEST_CHECK(same_content(victim, "victim", 6), "the link's target changed");
    const char *dangling = in_dir(2, "dangling");
    SK_TEST_CHECK(symlink("nowhere", dangling) == 0, "symlink");
    expect_refused("dangling symlink", dangling, "symbolic link");
    SK_TEST_CHECK(access(in_dir(3, "nowhere"), F_OK) != 0, "dangling link's target created");
    const char *fifo = in_dir(1, "fifo");
    SK_TEST_CHECK(mkfifo(fifo, 0644) == 0, "mkfifo");
    expect_refused("FIFO", fifo, "FIFO");
    const char *sub = in_dir(1, "folder");
    SK_TEST_CHECK(mkdir(sub, 0755) == 0, "mkdir");
    expect_refused("folder", sub, "directory");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *sock = in_dir(1, "sock");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && strlen(sock) < sizeof sa.sun_path) {
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0) expect_refused("socket", sock,
                                                                              "socket");
    }
    if (fd >= 0) close(fd);
    const char *dev = in_dir(1, "null-dev");
    if (geteuid() == 0 && mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0)
        expect_refused("character device", dev, "character device");
    else
        printf("  note: not root, character device case skipped\n");
    check_clean("refusals", -1);

    /* a FIFO appearing at the target after open: commit refuses, drops the temporary file */
    const char *late = in_dir(1, "late");
    silkie_outfile *f = NULL;
    SK_TEST_OK(silkie_outfile_open(late, &f));
    if (f) SK_TEST_OK(silkie_outfile_write(f, "x", 1));
    SK_TEST_CHECK(mkfifo(late, 0644) == 0, "mkfifo");
    if (f) SK_TEST_STATUS(silkie_outfile_commit(f), SILKIE_ERR_IO);
    struct stat sb;
    SK_TEST_CHECK(lstat(late, &sb) == 0 && S_ISFIFO(sb.st_mode), "late FIFO replaced");
    SK_TEST_CHECK(strstr(silkie_last_error(), "FIFO"), "late FIFO: %s", silkie_last_error());

    /* errors name the target */
    const char *missing = in_dir(2, "no-such-folder/x.bin");
    SK_TEST_STATUS(silkie_outfile_write_all(missing, "x", 1), SILKIE_ERR_IO);
    SK_TEST_CHECK(strstr(silkie_last_error(), missing), "message: %s", silkie_last_error());
    SK_TEST_STATUS(silkie_outfile_open(NULL, &f), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_outfile_open("", &f), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_outfile_open(late, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_outfile_write(NULL, "x", 1), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_outfile_commit(NULL), SILKIE_ERR_INVALID_ARGUMENT);
}

/* SILKIE_FAULT in the environment of a fresh process (sk_fault_arm is the in-process twin). */
static int run_child(const char *self, const char *fault, const char *path)
{
    setenv("SILKIE_FAULT", fault, 1);
    char *argv[] = {(char *)self, "--child", (char *)path, NULL};
    int rc = sk_run(argv, NULL);
    unsetenv("SILKIE_FAULT");
    return rc;
}

static void test_env_switch(const char *self)
{
    empty_dir();
    const char *p = in_dir(0, "env.bin");
    SK_TEST_CHECK(put_plain(p, "old", 3, 0644), "previous file");
    SK_TEST_CHECK(run_child(self, "enospc:1", p) == 3, "SILKIE_FAULT=enospc:1 not seen");
    SK_TEST_CHECK(same_content(p, "old", 3), "previous file changed");
    SK_TEST_CHECK(run_child(self, "short:1", p) == 0, "SILKIE_FAULT=short:1 failed");
    SK_TEST_CHECK(same_content(p, "child", 5), "short write content");
    SK_TEST_CHECK(run_child(self, "eio:9", p) == 0, "eio:9 fired on a one-write file");
    SK_TEST_CHECK(run_child(self, "eoi:1", p) == 4, "a mistyped SILKIE_FAULT was accepted");
    check_clean("environment", 1);
}

static int child(const char *path)
{
    silkie_status st = silkie_outfile_write_all(path, "child", 5);
    if (st == SILKIE_OK) return 0;
    fprintf(stderr, "child: %s\n", silkie_last_error());
    if (st == SILKIE_ERR_IO && strstr(silkie_last_error(), path)) return 3;
    return st == SILKIE_ERR_INVALID_ARGUMENT ? 4 : 5;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--child")) return child(argv[2]);
    /* Parse SILKIE_FAULT (unset under ctest) before the children's setenv can reach us. */
    SK_TEST_OK(sk_fault_init());
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/silkie-outfile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "cannot create %s\n", g_dir);
        return 1;
    }
    mode_t old_mask = umask(022);
    test_new_and_replace();
    test_stream();
    test_abort_and_temp_names();
    test_refused();
    test_env_switch(argv[0]);
    umask(old_mask);
    nftw(g_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return sk_test_result("test_outfile");
}
