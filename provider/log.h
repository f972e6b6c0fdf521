/*
 * log.h - the daemon's log: the journal under systemd, stderr in the
 * foreground, syslog otherwise.  Every line names the process that wrote
 * it (monitor or worker) and is one line: control bytes are masked.
 *
 * Sinks, chosen by log_init and log_detach:
 *   - the journal's native protocol (a datagram to
 *     /run/systemd/journal/socket, with structured fields) when stderr is
 *     the journal's stream (JOURNAL_STREAM names it) or, once detached,
 *     when that socket exists;
 *   - stderr in the foreground, each line with its priority as an
 *     sd-daemon(3) "<N>" prefix when stderr is the journal's stream (the
 *     fallback if a datagram cannot be sent), else "tokencached: ";
 *   - syslog once detached.
 * Priorities: fatal crit, log_err err, log_warn warning, log_info info,
 * log_debug debug.  Tokens and secrets are never passed to these
 * functions.
 */
#ifndef TC_LOG_H
#define TC_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include <syslog.h>

/* Exit status for a configuration error (sysexits.h EX_CONFIG): the unit's
 * RestartPreventExitStatus= keeps systemd from retrying it. */
#define TC_EXIT_CONFIG 78

#define LOG_LEVEL_INFO  0
#define LOG_LEVEL_DEBUG 1

/* The process writing: TOKENCACHED_PROCESS= and the "monitor: " or
 * "worker: " each line starts with.  The worker fetches and serves; the
 * monitor is the root process that started it (tokencached(8), PRIVILEGE
 * SEPARATION).  A daemon that does not split is its own worker. */
enum log_process {
	LOG_PROCESS_MONITOR,
	LOG_PROCESS_WORKER,
};

/* The structured fields of one event, for log_event.  A NULL string, a
 * zero number or a NULL reader_uid: the line has no such field.  The
 * names are those of the table in log.c (tokencached(8), LOGGING). */
struct log_fields {
	const char *credential;   /* CREDENTIAL= its name */
	const char *endpoint;     /* TOKEN_ENDPOINT= the URL without userinfo,
	                           * query or fragment; none if not a URL */
	const char *outcome;      /* OUTCOME= one of LOG_OUTCOME_* */
	long http_status;         /* HTTP_STATUS= */
	long retry_after;         /* RETRY_AFTER= seconds the server asked */
	const uid_t *reader_uid;  /* READER_UID= a denied reader's uid */
};

#define LOG_OUTCOME_OK           "ok"
#define LOG_OUTCOME_TRANSIENT    "transient"
#define LOG_OUTCOME_PERMANENT    "permanent"
#define LOG_OUTCOME_RATE_LIMITED "rate_limited"
#define LOG_OUTCOME_DENIED       "denied"
#define LOG_OUTCOME_FAILED       "failed"	/* a reload */

void log_init(int foreground, int level);
void log_set_process(enum log_process p);
/* From now on, to the journal if its socket exists, else to syslog (the
 * process left its terminal). */
void log_detach(void);
/* The process is about to exit: its lines go to the journal's stream, if
 * stderr is that, rather than its socket.  journald tells a datagram's
 * unit from its sender's cgroup, which it cannot read once the sender is
 * gone; a stream's unit is known from its start.  fatal* call it. */
void log_last(void);
/* log_warn appends strerror(errno) and keeps errno. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Failures an operator must act on (a reload that did not apply). */
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One event with its fields (f may be NULL), at syslog priority pri
 * (LOG_ERR ... LOG_DEBUG; LOG_DEBUG lines only with -d).  Keeps errno. */
void log_event(int pri, const struct log_fields *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 if log_debug writes anything (-d): spares formatting what it drops. */
int log_debugging(void);
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* A configuration error: fatalx, but exit with TC_EXIT_CONFIG. */
void fatalx_config(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * The parts log_event is made of, for the unit tests:
 * log_journal_entry: one native-protocol journal entry (KEY=value
 * lines, NUL-ended) for msg at pri from process p with fields f (may be
 * NULL) into buf (size n); its length, or 0 if it does not fit.  Control
 * bytes in the values are masked as '?'.
 */
size_t log_journal_entry(char *buf, size_t n, int pri, enum log_process p,
    const struct log_fields *f, const char *msg);

#endif /* TC_LOG_H */
