/*
 * log.h - the daemon's log: stderr in the foreground, syslog otherwise.
 * On stderr that is the journal (JOURNAL_STREAM), each line carries its
 * priority as an sd-daemon(3) "<N>" prefix.  Priorities: fatal crit,
 * log_err err, log_warn warning, log_info info, log_debug debug.
 * Tokens and secrets are never passed to these functions.
 */
#ifndef TC_LOG_H
#define TC_LOG_H

#include <stdarg.h>

/* Exit status for a configuration error (sysexits.h EX_CONFIG): the unit's
 * RestartPreventExitStatus= keeps systemd from retrying it. */
#define TC_EXIT_CONFIG 78

#define LOG_LEVEL_INFO  0
#define LOG_LEVEL_DEBUG 1

void log_init(int foreground, int level);
/* From now on, to syslog (the process left its terminal). */
void log_detach(void);
/* log_warn appends strerror(errno) and keeps errno. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Failures an operator must act on (a reload that did not apply). */
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 if log_debug writes anything (-d): spares formatting what it drops. */
int log_debugging(void);
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* A configuration error: fatalx, but exit with TC_EXIT_CONFIG. */
void fatalx_config(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif /* TC_LOG_H */
