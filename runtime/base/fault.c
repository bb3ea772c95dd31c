/* SILKIE_FAULT parsing and counting (see fault.h). */
#include "fault.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static const char *const k_names[SK_FAULT_KIND_COUNT] = {
    [SK_FAULT_SUBMIT] = "submit", [SK_FAULT_ALLOC] = "alloc",   [SK_FAULT_MAP] = "map",
    [SK_FAULT_FENCE] = "fence",   [SK_FAULT_PIPELINE] = "pipeline", [SK_FAULT_SHORT] = "short",
    [SK_FAULT_ENOSPC] = "enospc", [SK_FAULT_EIO] = "eio",
};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static silkie_status g_status = SILKIE_OK;
static char g_bad[96];
static _Atomic sk_fault_kind g_kind = SK_FAULT_NONE; /* set under g_once or by sk_fault_arm */
static uint64_t g_at;
static _Atomic uint64_t g_count;
static atomic_bool g_fired;

static void parse(void)
{
    const char *e = silkie_env("SILKIE_FAULT");
    if (!e || !*e) return;
    const char *colon = strchr(e, ':');
    size_t len = colon ? (size_t)(colon - e) : strlen(e);
    sk_fault_kind kind = SK_FAULT_NONE;
    for (int k = 1; k < SK_FAULT_KIND_COUNT; k++)
        if (strlen(k_names[k]) == len && !strncmp(e, k_names[k], len)) kind = (sk_fault_kind)k;
    char *end = NULL;
    unsigned long long n = colon ? strtoull(colon + 1, &end, 10) : 0;
    if (kind == SK_FAULT_NONE || !colon || end == colon + 1 || *end || n == 0 ||
        colon[1] == '-') {
        snprintf(g_bad, sizeof g_bad, "%.64s", e);
        g_status = SILKIE_ERR_INVALID_ARGUMENT;
        return;
    }
    g_at = n;
    g_kind = kind;
}

silkie_status sk_fault_init(void)
{
    pthread_once(&g_once, parse);
    if (g_status != SILKIE_OK)
        return SK_FAIL(g_status,
                       "SILKIE_FAULT='%s': expected KIND:N with KIND one of submit, alloc, map, "
                       "fence, pipeline, short, enospc, eio and N >= 1",
                       g_bad);
    return SILKIE_OK;
}

bool sk_fault_hit(sk_fault_kind kind)
{
    pthread_once(&g_once, parse);
    if (g_kind != kind) return false;
    if (atomic_fetch_add(&g_count, 1) + 1 != g_at) return false;
    atomic_store(&g_fired, true);
    return true;
}

void sk_fault_arm(sk_fault_kind kind, uint64_t n)
{
    pthread_once(&g_once, parse);
    g_kind = SK_FAULT_NONE;
    atomic_store(&g_count, 0);
    atomic_store(&g_fired, false);
    g_at = n;
    g_kind = n ? kind : SK_FAULT_NONE;
}

bool sk_fault_fired(void) { return atomic_load(&g_fired); }

sk_fault_kind sk_fault_file_write(void)
{
    pthread_once(&g_once, parse);
    if (g_kind != SK_FAULT_SHORT && g_kind != SK_FAULT_ENOSPC && g_kind != SK_FAULT_EIO)
        return SK_FAULT_NONE;
    return sk_fault_hit(g_kind) ? g_kind : SK_FAULT_NONE;
}
