/* Log sink: stderr by default at WARN; SILKIE_LOG_LEVEL overrides the level once. */
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "base.h"

static silkie_log_fn g_fn;
static void *g_user;
static int g_level = -1;

static const char *level_name[] = {"error", "warn", "info", "debug"};

static int current_level(void)
{
    if (g_level < 0) {
        int lvl = SILKIE_LOG_WARN;
        const char *e = silkie_env("SILKIE_LOG_LEVEL");
        for (int i = 0; e && i < 4; i++)
            if (strcasecmp(e, level_name[i]) == 0) lvl = i;
        g_level = lvl;
    }
    return g_level;
}

void silkie_log_set(silkie_log_fn fn, void *user)
{
    g_fn = fn;
    g_user = user;
}

void silkie_log_set_level(silkie_log_level level) { g_level = (int)level; }

bool silkie_log_enabled(silkie_log_level level) { return (int)level <= current_level(); }

void silkie_log(silkie_log_level level, const char *module, const char *fmt, ...)
{
    if (!silkie_log_enabled(level)) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_fn)
        g_fn(level, module, msg, g_user);
    else
        fprintf(stderr, "silkie[%s] %s: %s\n", module, level_name[level & 3], msg);
}

uint64_t silkie_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
