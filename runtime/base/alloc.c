/* One allocator for all host memory. A small header in front of each block keeps its size so
 * that app allocators receive it on free and realloc. */
#include <stdatomic.h>
#include <stdlib.h>

#include "base.h"

typedef struct {
    size_t size;
    size_t pad; /* keeps the payload 16-byte aligned */
} alloc_hdr;

static void *def_alloc(size_t size, void *user) { (void)user; return malloc(size); }
static void *def_realloc(void *p, size_t old, size_t size, void *user)
{
    (void)old;
    (void)user;
    return realloc(p, size);
}
static void def_free(void *p, size_t size, void *user) { (void)size; (void)user; free(p); }

static silkie_allocator g_alloc = {def_alloc, def_realloc, def_free, NULL};
static atomic_uint_fast64_t g_count;
static atomic_uint_fast64_t g_fail_at;
static atomic_int_fast64_t g_live;

silkie_status silkie_set_allocator(const silkie_allocator *a)
{
    if (!a || !a->alloc || !a->realloc || !a->free)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "set_allocator: all three functions required");
    if (atomic_load(&g_count) != 0)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "set_allocator: must be called before any other allocation");
    g_alloc = *a;
    return SILKIE_OK;
}

void silkie_alloc_fail_at(uint64_t n)
{
    atomic_store(&g_fail_at, n ? atomic_load(&g_count) + n : 0);
}
uint64_t silkie_alloc_count(void) { return atomic_load(&g_count); }
int64_t silkie_alloc_live(void) { return atomic_load(&g_live); }

static bool should_fail(void)
{
    uint64_t c = atomic_fetch_add(&g_count, 1) + 1;
    uint64_t f = atomic_load(&g_fail_at);
    return f != 0 && c == f;
}

void *silkie_malloc(size_t size)
{
    size_t total;
    if (!sk_add_size(size, sizeof(alloc_hdr), &total) || should_fail()) return NULL;
    alloc_hdr *h = g_alloc.alloc(total, g_alloc.user);
    if (!h) return NULL;
    h->size = size;
    atomic_fetch_add(&g_live, 1);
    return h + 1;
}

void *silkie_calloc(size_t n, size_t size)
{
    size_t total;
    if (!sk_mul_size(n, size, &total)) return NULL;
    void *p = silkie_malloc(total);
    if (p) memset(p, 0, total);
    return p;
}

void *silkie_realloc(void *p, size_t size)
{
    if (!p) return silkie_malloc(size);
    size_t total;
    if (!sk_add_size(size, sizeof(alloc_hdr), &total) || should_fail()) return NULL;
    alloc_hdr *h = (alloc_hdr *)p - 1;
    alloc_hdr *n = g_alloc.realloc(h, h->size + sizeof(alloc_hdr), total, g_alloc.user);
    if (!n) return NULL;
    n->size = size;
    return n + 1;
}

void silkie_free(void *p)
{
    if (!p) return;
    alloc_hdr *h = (alloc_hdr *)p - 1;
    atomic_fetch_sub(&g_live, 1);
    g_alloc.free(h, h->size + sizeof(alloc_hdr), g_alloc.user);
}

char *silkie_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = silkie_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
