/* Status names and the per-thread last-error message. */
#include <stdio.h>
#include <stdlib.h>

#include "base.h"

static _Thread_local char tl_msg[1024];

const char *silkie_status_name(silkie_status st)
{
    switch (st) {
#define SK_STATUS_CASE_(name, value) \
    case name:                       \
        return #name;
        SILKIE_STATUS_LIST(SK_STATUS_CASE_)
#undef SK_STATUS_CASE_
    default:
        return "SILKIE_STATUS_UNKNOWN";
    }
}

silkie_status silkie_fail(silkie_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_msg, sizeof tl_msg, fmt, ap);
    va_end(ap);
    return st;
}

void silkie_error_clear(void) { tl_msg[0] = 0; }

const char *silkie_last_error(void) { return tl_msg; }

uint32_t silkie_version_number(void) { return SILKIE_VERSION_NUMBER; }

#define SK_STR2_(x) #x
#define SK_STR_(x) SK_STR2_(x)
const char *silkie_version_string(void)
{
    return SK_STR_(SILKIE_VERSION_MAJOR) "." SK_STR_(SILKIE_VERSION_MINOR) "." SK_STR_(
        SILKIE_VERSION_PATCH);
}

#ifndef NDEBUG
void silkie_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "silkie: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
#endif

const char *silkie_env(const char *name) { return getenv(name); }
