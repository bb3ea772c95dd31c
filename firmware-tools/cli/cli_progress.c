/* Terminal progress line (see cli_progress.h). */
#include "cli_progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void silkie_cli_progress_init(silkie_cli_progress *p, int quiet)
{
    memset(p, 0, sizeof *p);
    p->on = !quiet && isatty(STDERR_FILENO);
}

void silkie_cli_progress_update(const char *stage, uint64_t done, uint64_t total, void *user)
{
    silkie_cli_progress *p = user;
    if (!p || !p->on) return;
    uint64_t t = now_ns();
    if (p->shown && done < total && t - p->last_ns < 100000000u) return;
    p->last_ns = t;
    p->shown = 1;
    if (total) {
        fprintf(stderr, "\r\033[K%s %llu/%llu (%.0f%%)", stage, (unsigned long long)done,
                (unsigned long long)total, 100.0 * (double)done / (double)total);
    } else {
        fprintf(stderr, "\r\033[K%s %llu", stage, (unsigned long long)done);
    }
    fflush(stderr);
}

void silkie_cli_progress_done(silkie_cli_progress *p)
{
    if (!p->on || !p->shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = 0;
}

void silkie_cli_progress_attach(silkie_cli_progress *p, silkie_model_params *mp)
{
    mp->progress = silkie_cli_progress_update;
    mp->progress_user = p;
}
