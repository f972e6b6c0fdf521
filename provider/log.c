/*
 * log.c - after OpenBSD ntpd's log.c, with the journal's native protocol.
 *
 * In the foreground, lines go to stderr.  When stderr is the journal
 * (systemd sets JOURNAL_STREAM to its device and inode), each event goes
 * to the journal as one datagram with its fields instead (the native
 * protocol, https://systemd.io/JOURNAL_NATIVE_PROTOCOL/); if that cannot
 * be sent, the line goes to stderr after all, starting with its syslog
 * priority as "<N>" (sd-daemon(3)), which journald strips and keeps as
 * the priority, and without the program's name, which the journal adds.
 *
 * The protocol rather than libsystemd's sd_journal_sendv(3): what is sent
 * is its simplest case (a few short KEY=value lines, every value one line
 * since control bytes are masked, far below the datagram limit that makes
 * libsystemd fall back to a memfd), so it takes one sendto(2); the root
 * monitor and the worker, which holds every secret, map no library more
 * (libsystemd brings, on Debian 12, libgcrypt and libgpg-error, liblz4,
 * liblzma, libzstd and libcap); the same binary runs where there is no
 * libsystemd; and the test build can point it at a socket a test reads
 * (TOKENCACHE_TEST_JOURNAL_SOCKET).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dgram.h"
#include "log.h"
#include "url.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define LOG_MSG_MAX    1024
#define LOG_URL_MAX    512	/* TOKEN_ENDPOINT= */
/* An entry: the message, its process name, the fields and their names. */
#define LOG_ENTRY_MAX  (LOG_MSG_MAX + LOG_URL_MAX + 1024)

static int log_foreground = 1;
static int log_journal;      /* stderr is the journal's stream */
static int log_native;       /* events go to the journal's socket */
static int log_exiting;      /* see log_last */
static int log_level = LOG_LEVEL_INFO;
static int journal_fd = -1;
static unsigned long long journal_dropped; /* lines the journal missed */
static enum log_process log_proc = LOG_PROCESS_MONITOR;

static const char *const log_process_name[] = {
	[LOG_PROCESS_MONITOR] = "monitor",
	[LOG_PROCESS_WORKER] = "worker",
};

/*
 * The fields an event may carry: one row each, the member of struct
 * log_fields it comes from and how it is written.  A field is added here
 * and in struct log_fields, nowhere else.
 */
enum log_kind { LF_STRING, LF_URL, LF_LONG, LF_UID };
static const struct {
	const char *name;
	size_t offset;
	enum log_kind kind;
} log_field_table[] = {
	{ "CREDENTIAL", offsetof(struct log_fields, credential), LF_STRING },
	{ "TOKEN_ENDPOINT", offsetof(struct log_fields, endpoint), LF_URL },
	{ "OUTCOME", offsetof(struct log_fields, outcome), LF_STRING },
	{ "HTTP_STATUS", offsetof(struct log_fields, http_status), LF_LONG },
	{ "RETRY_AFTER", offsetof(struct log_fields, retry_after), LF_LONG },
	{ "READER_UID", offsetof(struct log_fields, reader_uid), LF_UID },
};

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

static const char *
journal_socket_path(void)
{
#ifdef TC_TEST_HOOKS
	/* For the tests: a socket of theirs instead of journald's. */
	const char *p = secure_getenv("TOKENCACHE_TEST_JOURNAL_SOCKET");

	if (p != NULL && *p != '\0')
		return p;
#endif
	return JOURNAL_SOCKET;
}

static int
journal_present(void)
{
	struct stat st;

	return stat(journal_socket_path(), &st) == 0 && S_ISSOCK(st.st_mode);
}

void
log_init(int foreground, int level)
{
	log_foreground = foreground;
	log_level = level;
	log_journal = foreground && stderr_is_journal();
	log_native = log_journal && journal_present();
	if (!foreground) {
		openlog("tokencached", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_native = journal_present();
	}
}

void
log_set_process(enum log_process p)
{
	log_proc = p;
}

void
log_detach(void)
{
	if (log_foreground) {
		log_foreground = 0;
		openlog("tokencached", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_native = journal_present();
	}
}

void
log_last(void)
{
	log_exiting = 1;
}

/* Append "KEY=value\n" to buf (size n) at *len, value masked, and end
 * it with a NUL; -1 if it does not fit. */
static int
entry_put(char *buf, size_t n, size_t *len, const char *key,
    const char *value)
{
	size_t k = strlen(key), v = strlen(value), i;
	char *p;

	if (*len + k + v + 2 >= n)
		return -1;
	p = buf + *len;
	memcpy(p, key, k);
	p[k] = '=';
	for (i = 0; i < v; i++) {
		unsigned char ch = (unsigned char)value[i];

		/* Every value one line: a newline would need the
		 * protocol's binary form and make two lines of one
		 * elsewhere. */
		p[k + 1 + i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	p[k + 1 + v] = '\n';
	/* Room for it was checked: the entry is a string too. */
	p[k + 2 + v] = '\0';
	*len += k + v + 2;
	return 0;
}

size_t
log_journal_entry(char *buf, size_t n, int pri, enum log_process p,
    const struct log_fields *f, const char *msg)
{
	char num[32], url[LOG_URL_MAX], line[LOG_MSG_MAX + 16];
	const char *v;
	size_t len = 0, i;

	snprintf(line, sizeof(line), "%s: %s", log_process_name[p], msg);
	snprintf(num, sizeof(num), "%d", pri);
	if (entry_put(buf, n, &len, "MESSAGE", line) != 0 ||
	    entry_put(buf, n, &len, "PRIORITY", num) != 0 ||
	    entry_put(buf, n, &len, "SYSLOG_FACILITY", "3") != 0 ||
	    entry_put(buf, n, &len, "SYSLOG_IDENTIFIER", "tokencached") != 0 ||
	    entry_put(buf, n, &len, "TOKENCACHED_PROCESS",
	    log_process_name[p]) != 0)
		return 0;
	for (i = 0; f != NULL && i < sizeof(log_field_table) /
	    sizeof(log_field_table[0]); i++) {
		const char *at = (const char *)f + log_field_table[i].offset;

		v = NULL;
		switch (log_field_table[i].kind) {
		case LF_STRING:
			memcpy(&v, at, sizeof(v));
			if (v != NULL && *v == '\0')
				v = NULL;
			break;
		case LF_URL:
			memcpy(&v, at, sizeof(v));
			if (v != NULL &&
			    url_strip(v, url, sizeof(url)) == 0)
				v = url;
			else
				v = NULL;
			break;
		case LF_LONG: {
			long l;

			memcpy(&l, at, sizeof(l));
			if (l != 0) {
				snprintf(num, sizeof(num), "%ld", l);
				v = num;
			}
			break;
		}
		case LF_UID: {
			const uid_t *u;

			memcpy(&u, at, sizeof(u));
			if (u != NULL) {
				snprintf(num, sizeof(num), "%lu",
				    (unsigned long)*u);
				v = num;
			}
			break;
		}
		}
		if (v != NULL && entry_put(buf, n, &len,
		    log_field_table[i].name, v) != 0)
			return 0;
	}
	return len;
}

/* The entry to the journal's socket: 0, or -1 if it was not taken. */
static int
journal_send(int pri, const struct log_fields *f, const char *msg)
{
	char buf[LOG_ENTRY_MAX];
	struct sockaddr_un sa;
	const char *path = journal_socket_path();
	size_t len;

	if ((len = log_journal_entry(buf, sizeof(buf), pri, log_proc, f,
	    msg)) == 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	return dgram_send(&journal_fd, &sa, sizeof(sa), buf, len);
}

/* Once the journal takes entries again: how many it missed. */
static void
journal_report_dropped(void)
{
	char text[96];

	if (journal_dropped == 0)
		return;
	snprintf(text, sizeof(text), "%llu log line%s dropped: the journal "
	    "was behind", (unsigned long long)journal_dropped,
	    journal_dropped == 1 ? "" : "s");
	if (journal_send(LOG_WARNING, NULL, text) == 0)
		journal_dropped = 0;
}

static void
vlog(int pri, const struct log_fields *f, const char *prefix,
    const char *fmt, va_list ap, int with_errno)
    __attribute__((format(printf, 4, 0)));

static void
vlog(int pri, const struct log_fields *f, const char *prefix,
    const char *fmt, va_list ap, int with_errno)
{
	char msg[LOG_MSG_MAX], text[LOG_MSG_MAX];
	unsigned char *p;
	int saved = errno, n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno)
		n = snprintf(text, sizeof(text), "%s%s: %s", prefix, msg,
		    strerror(saved));
	else
		n = snprintf(text, sizeof(text), "%s%s", prefix, msg);
	/* Cut: say so. */
	if (n >= (int)sizeof(text))
		memcpy(text + sizeof(text) - 4, "...", 4);
	/* One line per event, whatever a value held. */
	for (p = (unsigned char *)text; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (log_native && !(log_exiting && log_journal)) {
		journal_report_dropped();
		if (journal_send(pri, f, text) == 0) {
			errno = saved;
			return;
		}
		/* journald is behind: its stream and /dev/log are the same
		 * journald and would block the loop; the line is lost,
		 * and counted.  Anything else (no journald just now): the
		 * other sink. */
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			journal_dropped++;
			errno = saved;
			return;
		}
	}
	if (log_foreground) {
		char lead[16];

		if (log_journal)
			snprintf(lead, sizeof(lead), "<%d>", pri);
		else
			snprintf(lead, sizeof(lead), "tokencached: ");
		fprintf(stderr, "%s%s: %s\n", lead, log_process_name[log_proc],
		    text);
		fflush(stderr);
	} else
		syslog(pri, "%s: %s", log_process_name[log_proc], text);
	errno = saved;
}

void
log_event(int pri, const struct log_fields *f, const char *fmt, ...)
{
	va_list ap;

	if (pri >= LOG_DEBUG && log_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	vlog(pri, f, pri >= LOG_DEBUG ? "debug: " : "", fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, NULL, "", fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, NULL, "", fmt, ap, 0);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, NULL, "", fmt, ap, 1);
	va_end(ap);
}

void
log_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, NULL, "", fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, NULL, "", fmt, ap, 0);
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
	vlog(LOG_DEBUG, NULL, "debug: ", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	log_last();
	va_start(ap, fmt);
	vlog(LOG_CRIT, NULL, "fatal: ", fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	log_last();
	va_start(ap, fmt);
	vlog(LOG_CRIT, NULL, "fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void
fatalx_config(const char *fmt, ...)
{
	va_list ap;

	log_last();
	va_start(ap, fmt);
	vlog(LOG_CRIT, NULL, "fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(TC_EXIT_CONFIG);
}
