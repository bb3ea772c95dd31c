/* Per-label dispatch timings accumulated from timestamp queries (see cmd.c). */
#include "vk_int.h"

#include <stdlib.h>

void silkie_vk_profile_add(silkie_vk_device *d, const char *label, uint64_t ns)
{
    for (uint32_t i = 0; i < d->n_prof; i++)
        if (d->prof[i].label == label || !strcmp(d->prof[i].label, label)) {
            d->prof[i].calls++;
            d->prof[i].total_ticks_ns += ns;
            return;
        }
    if (d->n_prof == d->cap_prof) {
        uint32_t cap = d->cap_prof ? d->cap_prof * 2 : 32;
        sk_prof_row *v = silkie_realloc(d->prof, cap * sizeof *v);
        if (!v) return; /* a profile row is not worth failing a submission for */
        d->prof = v;
        d->cap_prof = cap;
    }
    d->prof[d->n_prof++] = (sk_prof_row){label, 1, ns};
}

void silkie_vk_profile_release(silkie_vk_device *d)
{
    silkie_free(d->prof);
    d->prof = NULL;
    d->n_prof = d->cap_prof = 0;
}

void silkie_vk_profile_reset(silkie_vk_device *d)
{
    if (d) silkie_vk_profile_release(d);
}

static int by_total_desc(const void *a, const void *b)
{
    const silkie_vk_profile_row *x = a, *y = b;
    if (x->total_ms != y->total_ms) return x->total_ms < y->total_ms ? 1 : -1;
    return strcmp(x->label, y->label);
}

/* Sorted copy of all rows; caller frees. */
static silkie_vk_profile_row *sorted_rows(const silkie_vk_device *d)
{
    silkie_vk_profile_row *r = SK_NEW_ARRAY(silkie_vk_profile_row, d->n_prof ? d->n_prof : 1);
    if (!r) return NULL;
    for (uint32_t i = 0; i < d->n_prof; i++)
        r[i] = (silkie_vk_profile_row){d->prof[i].label, d->prof[i].calls,
                                       (double)d->prof[i].total_ticks_ns * 1e-6};
    qsort(r, d->n_prof, sizeof *r, by_total_desc);
    return r;
}

uint32_t silkie_vk_profile(const silkie_vk_device *d, silkie_vk_profile_row *rows, uint32_t max)
{
    if (!d || !d->n_prof) return 0;
    if (rows && max) {
        silkie_vk_profile_row *r = sorted_rows(d);
        if (!r) return 0;
        memcpy(rows, r, SK_MIN(max, d->n_prof) * sizeof *rows);
        silkie_free(r);
    }
    return d->n_prof;
}

void silkie_vk_profile_print(const silkie_vk_device *d)
{
    if (!d || !d->n_prof) return;
    silkie_vk_profile_row *r = sorted_rows(d);
    if (!r) return;
    double all = 0;
    for (uint32_t i = 0; i < d->n_prof; i++) all += r[i].total_ms;
    SK_LOGW("profile on %s: %.3f ms in %u kinds of dispatch", d->caps.device_name, all, d->n_prof);
    SK_LOGW("  %-28s %10s %12s %10s %6s", "label", "calls", "total ms", "avg us", "share");
    for (uint32_t i = 0; i < d->n_prof; i++)
        SK_LOGW("  %-28s %10llu %12.3f %10.2f %5.1f%%", r[i].label, (unsigned long long)r[i].calls,
                r[i].total_ms, r[i].total_ms * 1e3 / (double)r[i].calls,
                all > 0 ? 100.0 * r[i].total_ms / all : 0);
    silkie_free(r);
}
