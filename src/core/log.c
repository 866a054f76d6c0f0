/* Logging: a callback chosen by the application, filtered by level; every
 * message carries the time of the entry point being processed. */
#include <stdarg.h>
#include <stdio.h>
#include "core.h"

void us_stack_set_log(struct us_stack *st, int max_level, us_log_fn fn, void *arg)
{
    st->log_level = max_level;
    st->log_fn = fn;
    st->log_arg = arg;
}

void us_log(struct us_stack *st, int level, const char *fmt, ...)
{
    if (!st->log_fn || level > st->log_level)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    st->log_fn(st->log_arg, level, st->now, buf);
}
