/*
 * log.c - after OpenBSD ntpd's log.c.
 *
 * In the foreground, lines go to stderr.  When stderr is the journal
 * (systemd sets JOURNAL_STREAM to its device and inode), each line starts
 * with its syslog priority as "<N>" (sd-daemon(3)), which journald strips
 * and keeps as the priority, and without the program's name, which the
 * journal adds itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_foreground = 1;
static int log_journal;      /* stderr is the journal's stream */
static int log_level = LOG_LEVEL_INFO;

/* Is stderr the stream JOURNAL_STREAM ("DEV:INO") names?  A child that
 * inherited the variable with another stderr is not. */
static int
stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (e == NULL || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 ||
	    e[n] != '\0' || fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(int foreground, int level)
{
	log_foreground = foreground;
	log_level = level;
	log_journal = foreground && stderr_is_journal();
	if (!foreground)
		openlog("tokencached", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_detach(void)
{
	if (log_foreground) {
		log_foreground = 0;
		openlog("tokencached", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

static void
vlog(int pri, const char *prefix, const char *fmt, va_list ap, int with_errno)
    __attribute__((format(printf, 3, 0)));

static void
vlog(int pri, const char *prefix, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_foreground) {
		char lead[16];

		if (log_journal)
			snprintf(lead, sizeof(lead), "<%d>", pri);
		else
			snprintf(lead, sizeof(lead), "tokencached: ");
		if (with_errno)
			fprintf(stderr, "%s%s%s: %s\n", lead, prefix, msg,
			    strerror(saved));
		else
			fprintf(stderr, "%s%s%s\n", lead, prefix, msg);
		fflush(stderr);
	} else {
		if (with_errno)
			syslog(pri, "%s%s: %s", prefix, msg, strerror(saved));
		else
			syslog(pri, "%s%s", prefix, msg);
	}
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "", fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "", fmt, ap, 0);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, "", fmt, ap, 1);
	va_end(ap);
}

void
log_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, "", fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, "", fmt, ap, 0);
	va_end(ap);
}

int
log_debugging(void)
{
	return log_level >= LOG_LEVEL_DEBUG;
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, "debug: ", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal: ", fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void
fatalx_config(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(TC_EXIT_CONFIG);
}
