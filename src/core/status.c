/* status.c — status names and texts from ENT_STATUS_MAP; per-thread detail. */
#include <stdarg.h>
#include <stdio.h>

#include "entropic.h"

static _Thread_local char last_error[1024];

const char *ent_status_name(ent_status s) {
    switch (s) {
#define ENT_STATUS_NAME(name, code, msg) \
    case ENT_##name:                     \
        return #name;
        ENT_STATUS_MAP(ENT_STATUS_NAME)
#undef ENT_STATUS_NAME
    }
    return "UNKNOWN";
}

const char *ent_status_str(ent_status s) {
    switch (s) {
#define ENT_STATUS_STR(name, code, msg) \
    case ENT_##name:                    \
        return msg;
        ENT_STATUS_MAP(ENT_STATUS_STR)
#undef ENT_STATUS_STR
    }
    return "unknown status";
}

const char *ent_last_error(void) {
    return last_error[0] ? last_error : "no detail";
}

ent_status ent_fail(ent_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}
