/*
 * log.h - the daemon's log: stderr in the foreground, syslog otherwise.
 * Tokens and secrets are never passed to these functions.
 */
#ifndef TC_LOG_H
#define TC_LOG_H

#include <stdarg.h>

#define LOG_LEVEL_INFO  0
#define LOG_LEVEL_DEBUG 1

void log_init(int foreground, int level);
/* From now on, to syslog (the process left its terminal). */
void log_detach(void);
/* log_warn appends strerror(errno) and keeps errno. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif /* TC_LOG_H */
