/* Recorded frame sources: one still file, a directory of stills, a Motion-JPEG stream. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "camera/camera_int.h"

silkie_status sk_read_whole(const char *path, uint8_t **buf, size_t *cap, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return SK_FAIL(SILKIE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t n = 0;
    for (;;) {
        if (n == *cap) {
            size_t nc = *cap ? *cap * 2 : 65536;
            uint8_t *p = silkie_realloc(*buf, nc);
            if (!p) {
                fclose(f);
                return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: %zu bytes", path, nc);
            }
            *buf = p;
            *cap = nc;
        }
        size_t r = fread(*buf + n, 1, *cap - n, f);
        n += r;
        if (r == 0) break;
        if (n > ((size_t)1 << 30)) {
            fclose(f);
            return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: larger than 1 GiB", path);
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) return SK_FAIL(SILKIE_ERR_IO, "%s: read error", path);
    *size = n;
    return SILKIE_OK;
}

/* ---- one still ------------------------------------------------------------------------------- */

typedef struct src_file {
    char *path;
    uint8_t *buf;
    size_t cap, size;
    int done;
} src_file;

static void file_close(void *p)
{
    src_file *s = p;
    if (!s) return;
    silkie_free(s->path);
    silkie_free(s->buf);
    silkie_free(s);
}

static silkie_status file_next(void *p, uint32_t timeout_ms, sk_packet *pk,
                               silkie_skip_reason *skip, silkie_camera_stats *stats)
{
    (void)timeout_ms, (void)stats;
    src_file *s = p;
    if (s->done) return SK_FAIL(SILKIE_ERR_END_OF_STREAM, "%s: end of stream", s->path);
    s->done = 1;
    pk->kind = silkie_image_sniff(s->buf, s->size);
    if (pk->kind == SILKIE_IMAGE_KIND_UNKNOWN) {
        *skip = SILKIE_SKIP_NOT_IMAGE;
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: not a " SK_IMAGE_KINDS " file", s->path);
    }
    pk->data = s->buf;
    pk->size = s->size;
    pk->name = s->path;
    return SILKIE_OK;
}

const sk_source_vt sk_source_file_vt = { "file", file_next, NULL, file_close };

silkie_status silkie_camera_open_file(const char *path, const silkie_camera_params *p,
                                      silkie_camera **out)
{
    if (!path || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "camera_open_file: path, out required");
    silkie_error_clear();
    *out = NULL;
    src_file *s = SK_NEW(src_file);
    if (!s || !(s->path = silkie_strdup(path))) {
        file_close(s);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "camera_open_file: %s", path);
    }
    silkie_status st = sk_read_whole(path, &s->buf, &s->cap, &s->size);
    if (st == SILKIE_OK && silkie_image_sniff(s->buf, s->size) == SILKIE_IMAGE_KIND_UNKNOWN)
        st = SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: not a " SK_IMAGE_KINDS " file", path);
    if (st != SILKIE_OK) {
        file_close(s);
        return st;
    }
    silkie_camera_params q;
    silkie_camera_params_init(&q);
    if (p) memcpy(&q, p, SK_MIN(sizeof q, p->struct_size ? p->struct_size : sizeof q));
    q.threaded = 0; /* one frame: nothing to overlap */
    st = sk_camera_create(&q, &sk_source_file_vt, s, 0, out);
    if (st == SILKIE_OK) (*out)->single_still = 1;
    return st;
}

/* ---- directory ------------------------------------------------------------------------------- */

typedef struct src_dir {
    char *dir;
    char **names;
    uint32_t n, next;
    char *path;
    size_t path_cap;
    uint8_t *buf;
    size_t cap, size;
} src_dir;

static void dir_close(void *p)
{
    src_dir *s = p;
    if (!s) return;
    for (uint32_t i = 0; i < s->n; i++) silkie_free(s->names[i]);
    silkie_free(s->names);
    silkie_free(s->dir);
    silkie_free(s->path);
    silkie_free(s->buf);
    silkie_free(s);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static silkie_status dir_next(void *p, uint32_t timeout_ms, sk_packet *pk,
                              silkie_skip_reason *skip, silkie_camera_stats *stats)
{
    (void)timeout_ms, (void)stats;
    src_dir *s = p;
    if (s->next >= s->n) return SK_FAIL(SILKIE_ERR_END_OF_STREAM, "%s: end of directory", s->dir);
    const char *name = s->names[s->next++];
    size_t need = strlen(s->dir) + strlen(name) + 2;
    if (need > s->path_cap) {
        char *np = silkie_realloc(s->path, need);
        if (!np) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: path", s->dir);
        s->path = np;
        s->path_cap = need;
    }
    snprintf(s->path, need, "%s/%s", s->dir, name);
    silkie_status st = sk_read_whole(s->path, &s->buf, &s->cap, &s->size);
    if (st != SILKIE_OK || silkie_image_sniff(s->buf, s->size) == SILKIE_IMAGE_KIND_UNKNOWN) {
        /* Unreadable entries (subdirectories, sockets) and non-images are skipped alike. */
        *skip = SILKIE_SKIP_NOT_IMAGE;
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: not a " SK_IMAGE_KINDS " file", s->path);
    }
    pk->kind = silkie_image_sniff(s->buf, s->size);
    pk->data = s->buf;
    pk->size = s->size;
    pk->name = s->path;
    return SILKIE_OK;
}

const sk_source_vt sk_source_dir_vt = { "dir", dir_next, NULL, dir_close };

silkie_status silkie_camera_open_dir(const char *path, const silkie_camera_params *p,
                                     silkie_camera **out)
{
    if (!path || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "camera_open_dir: path, out required");
    silkie_error_clear();
    *out = NULL;
    DIR *d = opendir(path);
    if (!d) return SK_FAIL(SILKIE_ERR_IO, "%s: cannot open directory: %s", path, strerror(errno));
    src_dir *s = SK_NEW(src_dir);
    silkie_status st = SILKIE_OK;
    if (!s || !(s->dir = silkie_strdup(path))) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s", path);
    uint32_t cap = 0;
    struct dirent *e;
    while (st == SILKIE_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue; /* ., .. and hidden files */
        if (s->n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = silkie_realloc(s->names, cap * sizeof *nn);
            if (!nn) {
                st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: names", path);
                break;
            }
            s->names = nn;
        }
        if (!(s->names[s->n] = silkie_strdup(e->d_name))) {
            st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: names", path);
            break;
        }
        s->n++;
    }
    closedir(d);
    if (st != SILKIE_OK) {
        dir_close(s);
        return st;
    }
    if (s->n) qsort(s->names, s->n, sizeof *s->names, name_cmp);
    return sk_camera_create(p, &sk_source_dir_vt, s, 0, out);
}

/* ---- Motion-JPEG stream ---------------------------------------------------------------------- */

typedef struct src_mjpeg {
    char *path;
    int fd;
    int own_fd;
    int eof;
    silkie_mjpeg_splitter sp;
    uint64_t seen_truncated, seen_corrupt;
    uint8_t chunk[65536];
} src_mjpeg;

static void mjpeg_close(void *p)
{
    src_mjpeg *s = p;
    if (!s) return;
    if (s->own_fd && s->fd >= 0) close(s->fd);
    silkie_mjpeg_splitter_release(&s->sp);
    silkie_free(s->path);
    silkie_free(s);
}

static silkie_status mjpeg_next(void *p, uint32_t timeout_ms, sk_packet *pk,
                                silkie_skip_reason *skip, silkie_camera_stats *stats)
{
    (void)stats;
    src_mjpeg *s = p;
    for (;;) {
        const uint8_t *f;
        size_t n;
        silkie_status st = silkie_mjpeg_splitter_next(&s->sp, s->eof, &f, &n);
        /* Frames the splitter threw away are reported one skip at a time. */
        if (s->sp.n_truncated > s->seen_truncated) {
            s->seen_truncated++;
            *skip = SILKIE_SKIP_TRUNCATED;
            if (st == SILKIE_OK) s->sp.frame_len = 0; /* keep the good frame for next time */
            return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: truncated frame", s->path);
        }
        if (s->sp.n_corrupt > s->seen_corrupt) {
            s->seen_corrupt++;
            *skip = SILKIE_SKIP_CORRUPT;
            if (st == SILKIE_OK) s->sp.frame_len = 0;
            return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "%s: corrupt frame", s->path);
        }
        if (st == SILKIE_OK) {
            pk->kind = SILKIE_IMAGE_KIND_JPEG;
            pk->data = f;
            pk->size = n;
            pk->name = s->path;
            return SILKIE_OK;
        }
        if (st == SILKIE_ERR_END_OF_STREAM)
            return SK_FAIL(SILKIE_ERR_END_OF_STREAM, "%s: end of stream", s->path);
        /* A pipe may stay silent: wait at most the timeout so acquire (and the decode thread's
         * stop check) never block on read. Regular files are always ready. */
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        int pr = poll(&pfd, 1, (int)SK_MIN(timeout_ms, 0x7FFFFFFFu));
        if (pr == 0)
            return SK_FAIL(SILKIE_ERR_AGAIN, "%s: no data within %u ms", s->path, timeout_ms);
        ssize_t r;
        do r = read(s->fd, s->chunk, sizeof s->chunk);
        while (r < 0 && errno == EINTR);
        if (r < 0) return SK_FAIL(SILKIE_ERR_IO, "%s: read: %s", s->path, strerror(errno));
        if (r == 0) s->eof = 1;
        else SK_CHECK(silkie_mjpeg_splitter_feed(&s->sp, s->chunk, (size_t)r));
    }
}

const sk_source_vt sk_source_mjpeg_vt = { "mjpeg", mjpeg_next, NULL, mjpeg_close };

silkie_status silkie_camera_open_mjpeg(const char *path, const silkie_camera_params *p,
                                       silkie_camera **out)
{
    if (!path || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "camera_open_mjpeg: path, out required");
    silkie_error_clear();
    *out = NULL;
    src_mjpeg *s = SK_NEW(src_mjpeg);
    if (!s || !(s->path = silkie_strdup(path))) {
        mjpeg_close(s);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "camera_open_mjpeg: %s", path);
    }
    silkie_mjpeg_splitter_init(&s->sp, 0);
    if (strcmp(path, "-") == 0) {
        s->fd = 0;
    } else {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            int e = errno;
            mjpeg_close(s);
            return SK_FAIL(SILKIE_ERR_IO, "%s: cannot open: %s", path, strerror(e));
        }
        s->own_fd = 1;
    }
    return sk_camera_create(p, &sk_source_mjpeg_vt, s, 0, out);
}
