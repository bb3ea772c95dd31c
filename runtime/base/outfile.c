/* Safe output files (see outfile.h). */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "fault.h"

/* Small writes (GGUF padding, JSON pieces, text lines) gather here; larger ones go straight
 * to write(2). 1 MiB keeps a 2 MB vocabulary file to two system calls. */
#define OUT_BUF ((size_t)1 << 20)
/* Linux moves at most ~2 GiB per write(2); asking for less keeps the count exact. */
#define MAX_CHUNK ((size_t)1 << 30)

struct silkie_outfile {
    int fd;
    int err;          /* errno of the first failed write, 0 while healthy */
    size_t dir_len;   /* bytes of path that name its folder (0: the current one) */
    size_t len;       /* bytes waiting in buf */
    char *path, *tmp; /* point into the same allocation */
    uint8_t *buf;
};

const char *silkie_file_kind(uint32_t st_mode)
{
    switch (st_mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFLNK: return "a symbolic link";
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFDIR: return "a directory";
    case S_IFSOCK: return "a socket";
    default: return "an unknown kind of file";
    }
}

/* Missing or a regular file: OK (*exists, *mode tell which). Anything else is refused. */
static silkie_status check_target(const char *path, bool *exists, mode_t *mode)
{
    struct stat st;
    *exists = false;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return SILKIE_OK;
        return SK_FAIL(SILKIE_ERR_IO, "%s: cannot check the output path: %s", path,
                       strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return SK_FAIL(SILKIE_ERR_IO, "%s: is %s, not a regular file; refusing to replace it",
                       path, silkie_file_kind((uint32_t)st.st_mode));
    *exists = true;
    *mode = st.st_mode;
    return SILKIE_OK;
}

static uint64_t random_u64(void)
{
    uint64_t v;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v) return v;
    /* No entropy yet (early boot) or no getrandom: a mixed clock/pid/counter still differs per
     * call, and O_EXCL, not the name, is what makes the creation safe. */
    static atomic_uint_fast64_t ctr;
    uint64_t x = silkie_time_ns() ^ ((uint64_t)getpid() << 32) ^
                 atomic_fetch_add(&ctr, 0x9e3779b97f4a7c15ull);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Writes "<dir>/.<name>.<16 hex>.tmp" into out (room for strlen(path) + 24 bytes). */
static void temp_name_into(char *out, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *name = path + dir_len;
    /* 1 dot + 1 dot + 16 hex + ".tmp" = 22 extra bytes must still fit one file name. */
    size_t name_len = SK_MIN(strlen(name), (size_t)NAME_MAX - 22);
    memcpy(out, path, dir_len);
    snprintf(out + dir_len, name_len + 24, ".%.*s.%016llx.tmp", (int)name_len, name,
             (unsigned long long)random_u64());
}

char *silkie_outfile_temp_name(const char *path)
{
    if (!path) return NULL;
    char *t = silkie_malloc(strlen(path) + 24);
    if (t) temp_name_into(t, path);
    return t;
}

silkie_status silkie_outfile_open(const char *path, silkie_outfile **out)
{
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "outfile_open: out required");
    *out = NULL;
    if (!path || !*path) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "outfile_open: empty path");
    SK_CHECK(sk_fault_init()); /* a mistyped SILKIE_FAULT must not pass as "no fault" */
    bool exists;
    mode_t mode = 0;
    SK_CHECK(check_target(path, &exists, &mode));
    size_t plen = strlen(path), size;
    if (!sk_add_size(sizeof(silkie_outfile) + OUT_BUF, 2 * plen + 26, &size))
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: path too long", path);
    silkie_outfile *f = silkie_malloc(size);
    if (!f) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: %zu bytes of write buffer", path, size);
    f->buf = (uint8_t *)(f + 1);
    f->path = (char *)f->buf + OUT_BUF;
    f->tmp = f->path + plen + 1;
    memcpy(f->path, path, plen + 1);
    const char *slash = strrchr(path, '/');
    f->dir_len = slash ? (size_t)(slash - path) + (slash == path) : 0;
    f->err = 0;
    f->len = 0;
    f->fd = -1;
    int err = EEXIST;
    for (int attempt = 0; attempt < 32 && f->fd < 0 && err == EEXIST; attempt++) {
        temp_name_into(f->tmp, path);
        /* 0666: the kernel applies the umask (and default ACLs) as for any new file. */
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (f->fd < 0) err = errno;
    }
    if (f->fd < 0) {
        silkie_free(f);
        return SK_FAIL(SILKIE_ERR_IO, "%s: cannot create a temporary file beside it: %s", path,
                       strerror(err));
    }
    /* A replaced file keeps its permissions (a private file stays private). Failing to copy
     * them leaves the default mode, which is no reason to refuse the write. */
    if (exists) (void)fchmod(f->fd, mode & 0777);
    *out = f;
    return SILKIE_OK;
}

static silkie_status write_failed(const silkie_outfile *f)
{
    return SK_FAIL(SILKIE_ERR_IO, "%s: cannot write: %s", f->path, strerror(f->err));
}

/* write(2) until all n bytes are stored; short counts and EINTR are retried. */
static silkie_status raw_write(silkie_outfile *f, const uint8_t *p, size_t n)
{
    while (n) {
        size_t want = SK_MIN(n, MAX_CHUNK);
        ssize_t k;
        switch (sk_fault_file_write()) {
        case SK_FAULT_SHORT: k = write(f->fd, p, want > 1 ? want / 2 : 1); break;
        case SK_FAULT_ENOSPC: errno = ENOSPC, k = -1; break;
        case SK_FAULT_EIO: errno = EIO, k = -1; break;
        default: k = write(f->fd, p, want); break;
        }
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            f->err = k < 0 ? errno : ENOSPC; /* 0 for a non-empty write: nothing will fit */
            return write_failed(f);
        }
        p += k;
        n -= (size_t)k;
    }
    return SILKIE_OK;
}

static silkie_status flush(silkie_outfile *f)
{
    size_t n = f->len;
    f->len = 0;
    return raw_write(f, f->buf, n);
}

silkie_status silkie_outfile_write(silkie_outfile *f, const void *data, size_t n)
{
    if (!f || (n && !data))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "outfile_write: f, data required");
    if (f->err) return write_failed(f);
    if (n <= OUT_BUF - f->len) {
        if (n) memcpy(f->buf + f->len, data, n);
        f->len += n;
        return SILKIE_OK;
    }
    SK_CHECK(flush(f));
    if (n < OUT_BUF) {
        memcpy(f->buf, data, n);
        f->len = n;
        return SILKIE_OK;
    }
    return raw_write(f, data, n);
}

silkie_status silkie_outfile_printf(silkie_outfile *f, const char *fmt, ...)
{
    if (!f || !fmt) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "outfile_printf: f, fmt required");
    if (f->err) return write_failed(f);
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (k < 0) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "%s: unformattable text", f->path);
    if ((size_t)k < sizeof small) return silkie_outfile_write(f, small, (size_t)k);
    char *big = silkie_malloc((size_t)k + 1);
    if (!big) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: %d bytes of text", f->path, k);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    va_end(ap);
    silkie_status st = silkie_outfile_write(f, big, (size_t)k);
    silkie_free(big);
    return st;
}

const char *silkie_outfile_path(const silkie_outfile *f) { return f ? f->path : ""; }

void silkie_outfile_abort(silkie_outfile *f)
{
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    unlink(f->tmp);
    silkie_free(f);
}

/* The rename is durable once the folder entry is synced. The data is already safe, and some
 * file systems refuse fsync on a folder, so a failure here is not reported. */
static void sync_folder(const silkie_outfile *f)
{
    char *dir = NULL;
    if (f->dir_len) {
        dir = silkie_malloc(f->dir_len + 1);
        if (!dir) return;
        memcpy(dir, f->path, f->dir_len);
        dir[f->dir_len] = 0;
    }
    int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    silkie_free(dir);
}

silkie_status silkie_outfile_commit(silkie_outfile *f)
{
    if (!f) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "outfile_commit: f required");
    silkie_status st = f->err ? write_failed(f) : flush(f);
    if (st == SILKIE_OK && fsync(f->fd) != 0)
        st = SK_FAIL(SILKIE_ERR_IO, "%s: cannot sync: %s", f->path, strerror(errno));
    if (st == SILKIE_OK) {
        int rc = close(f->fd);
        f->fd = -1;
        if (rc != 0) st = SK_FAIL(SILKIE_ERR_IO, "%s: cannot close: %s", f->path, strerror(errno));
    }
    /* Again, right before the swap: something may have appeared at the target since open. In
     * the window left, rename() replaces a link or node itself and never writes through it. */
    bool exists;
    mode_t mode = 0;
    if (st == SILKIE_OK) st = check_target(f->path, &exists, &mode);
    if (st == SILKIE_OK && rename(f->tmp, f->path) != 0)
        st = SK_FAIL(SILKIE_ERR_IO, "%s: cannot move the temporary file over it: %s", f->path,
                     strerror(errno));
    if (st != SILKIE_OK) {
        silkie_outfile_abort(f);
        return st;
    }
    sync_folder(f);
    silkie_free(f);
    return SILKIE_OK;
}

silkie_status silkie_outfile_write_parts(const char *path, const void *const *parts,
                                         const size_t *sizes, uint32_t n_parts)
{
    if (n_parts && (!parts || !sizes))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "outfile_write_parts: parts, sizes required");
    silkie_outfile *f = NULL;
    SK_CHECK(silkie_outfile_open(path, &f));
    silkie_status st = SILKIE_OK;
    for (uint32_t i = 0; i < n_parts && st == SILKIE_OK; i++)
        st = silkie_outfile_write(f, parts[i], sizes[i]);
    if (st != SILKIE_OK) {
        silkie_outfile_abort(f);
        return st;
    }
    return silkie_outfile_commit(f);
}

silkie_status silkie_outfile_write_all(const char *path, const void *data, size_t n)
{
    const void *parts[1] = {data};
    const size_t sizes[1] = {n};
    return silkie_outfile_write_parts(path, parts, sizes, 1);
}
