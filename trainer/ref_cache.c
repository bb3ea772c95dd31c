/* Reference log-prob cache: an in-memory hash table over an append-only file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define SK_LOG_MODULE "train"
#include "ref_cache.h"

typedef struct record {
    uint64_t key;
    double v[2];
} record;

static uint64_t slot_key(uint64_t key) { return key ? key : 1; }

static silkie_status grow(silkie_ref_cache *c)
{
    uint64_t cap = c->cap ? c->cap * 2 : 1024;
    uint64_t *keys = SK_NEW_ARRAY(uint64_t, cap);
    double *vals = SK_NEW_ARRAY(double, cap * 2);
    if (!keys || !vals) {
        silkie_free(keys);
        silkie_free(vals);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "ref cache: %llu slots", (unsigned long long)cap);
    }
    for (uint64_t i = 0; i < c->cap; i++) {
        if (!c->keys[i]) continue;
        uint64_t j = c->keys[i] & (cap - 1);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = c->keys[i];
        vals[2 * j] = c->vals[2 * i];
        vals[2 * j + 1] = c->vals[2 * i + 1];
    }
    silkie_free(c->keys);
    silkie_free(c->vals);
    c->keys = keys;
    c->vals = vals;
    c->cap = cap;
    return SILKIE_OK;
}

static silkie_status insert(silkie_ref_cache *c, uint64_t key, const double v[2])
{
    if ((c->n + 1) * 2 > c->cap) SK_CHECK(grow(c));
    key = slot_key(key);
    uint64_t j = key & (c->cap - 1);
    while (c->keys[j] && c->keys[j] != key) j = (j + 1) & (c->cap - 1);
    if (!c->keys[j]) c->n++;
    c->keys[j] = key;
    c->vals[2 * j] = v[0];
    c->vals[2 * j + 1] = v[1];
    return SILKIE_OK;
}

int silkie_ref_cache_get(const silkie_ref_cache *c, uint64_t key, double v[2])
{
    if (!c->cap) return 0;
    key = slot_key(key);
    for (uint64_t j = key & (c->cap - 1); c->keys[j]; j = (j + 1) & (c->cap - 1))
        if (c->keys[j] == key) {
            v[0] = c->vals[2 * j];
            v[1] = c->vals[2 * j + 1];
            return 1;
        }
    return 0;
}

silkie_status silkie_ref_cache_open(silkie_ref_cache *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (!(c->path = silkie_strdup(path))) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "ref cache");
    /* Never through a link, and never blocking on a FIFO someone put there. */
    c->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0644);
    if (c->fd < 0) return SK_FAIL(SILKIE_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode))
        return SK_FAIL(SILKIE_ERR_IO, "%s: not a regular file", path);
    int fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
        return SK_FAIL(SILKIE_ERR_IO, "%s: %s", path, strerror(errno));
    record r;
    off_t good = 0;
    for (;;) {
        ssize_t n = read(c->fd, &r, sizeof r);
        if (n != (ssize_t)sizeof r) break;
        SK_CHECK(insert(c, r.key, r.v));
        good += (off_t)sizeof r;
    }
    /* Drop a record torn by a kill, so appends stay aligned. */
    if (ftruncate(c->fd, good) != 0 || lseek(c->fd, good, SEEK_SET) != good)
        return SK_FAIL(SILKIE_ERR_IO, "%s: cannot trim (%s)", path, strerror(errno));
    return SILKIE_OK;
}

silkie_status silkie_ref_cache_put(silkie_ref_cache *c, uint64_t key, const double v[2])
{
    SK_CHECK(insert(c, key, v));
    record r = {.key = key, .v = {v[0], v[1]}};
    if (write(c->fd, &r, sizeof r) != (ssize_t)sizeof r)
        return SK_FAIL(SILKIE_ERR_IO, "%s: cannot append (%s)", c->path, strerror(errno));
    return SILKIE_OK;
}

void silkie_ref_cache_close(silkie_ref_cache *c)
{
    if (c->fd >= 0) close(c->fd);
    silkie_free(c->keys);
    silkie_free(c->vals);
    silkie_free(c->path);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}
