/* File mapping and small-file helpers for the model readers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files_int.h"

silkie_status sk_map_file(const char *path, sk_map *m)
{
    m->base = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SK_FAIL(SILKIE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return SK_FAIL(SILKIE_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: empty file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: too large for this address space", path);
    }
    /* MAP_PRIVATE + PROT_READ: the file is never written through, and a concurrent writer of the
     * file cannot change bytes we already validated more than the kernel allows anyway. */
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return SK_FAIL(SILKIE_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
    m->base = p;
    m->size = (size_t)st.st_size;
    return SILKIE_OK;
}

void sk_map_release(sk_map *m)
{
    if (m && m->base) munmap((void *)m->base, m->size);
    if (m) {
        m->base = NULL;
        m->size = 0;
    }
}

silkie_status sk_read_text(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return SK_FAIL(SILKIE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return SK_FAIL(SILKIE_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        fclose(f);
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: %lld bytes, limit %zu", path,
                       (long long)st.st_size, max);
    }
    size_t n = (size_t)st.st_size;
    char *buf = silkie_malloc(n + 1);
    if (!buf) {
        fclose(f);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: %zu bytes", path, n + 1);
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        silkie_free(buf);
        return SK_FAIL(SILKIE_ERR_IO, "%s: short read", path);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return SILKIE_OK;
}

bool sk_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool sk_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *sk_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = silkie_malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t o = a;
    if (a && dir[a - 1] != '/') p[o++] = '/';
    memcpy(p + o, name, b + 1);
    return p;
}
