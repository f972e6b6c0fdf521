/*
 * notify.c - sd_notify(3)'s protocol: a datagram to $NOTIFY_SOCKET.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dgram.h"
#include "log.h"
#include "notify.h"

static struct sockaddr_un notify_addr;
static socklen_t notify_addrlen;     /* 0: no socket */
static int notify_fd = -1;          /* ours, to send on (dgram_send) */
/* The worker's way to the monitor (privsep.c); NULL: we send. */
static int (*notify_relay)(unsigned, const char *);
static int notify_logged;            /* a failure was logged */

int
notify_init(void)
{
	const char *e = getenv("NOTIFY_SOCKET");
	size_t n;

	notify_addrlen = 0;
	if (e == NULL || *e == '\0')
		return 0;
	n = strlen(e);
	/* A path, or '@' for the abstract namespace (its name starts
	 * with a NUL); not "vsock:", which no local systemd gives. */
	if ((e[0] != '/' && e[0] != '@') || n >= sizeof(notify_addr.sun_path)) {
		log_warnx("NOTIFY_SOCKET=%.64s: not a socket this daemon can "
		    "use; the service manager will not hear from it", e);
		(void)unsetenv("NOTIFY_SOCKET");
		return -1;
	}
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, e, n);
	if (e[0] == '@')
		notify_addr.sun_path[0] = '\0';
	/* The abstract name is exactly n bytes long; a path ends at its
	 * NUL, counted too. */
	notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    n + (e[0] == '/'));
	(void)unsetenv("NOTIFY_SOCKET");
	return 1;
}

int
notify_enabled(void)
{
	return notify_addrlen != 0;
}

int
notify_format(char *buf, size_t len, unsigned flags, const char *status,
    uint64_t monotonic_usec)
{
	size_t at = 0, st;
	int n = 0;

	buf[0] = '\0';
	if (flags & NOTIFY_RELOADING)
		n = snprintf(buf, len, "RELOADING=1\nMONOTONIC_USEC=%llu\n",
		    (unsigned long long)monotonic_usec);
	if (n < 0 || (size_t)n >= len)
		return -1;
	at = (size_t)n;
	n = snprintf(buf + at, len - at, "%s%s",
	    flags & NOTIFY_READY ? "READY=1\n" : "",
	    flags & NOTIFY_STOPPING ? "STOPPING=1\n" : "");
	if (n < 0 || (size_t)n >= len - at)
		return -1;
	at += (size_t)n;
	if (status == NULL || *status == '\0')
		return (int)at;
	n = snprintf(buf + at, len - at, "STATUS=%s\n", status);
	if (n < 0 || (size_t)n >= len - at)
		return -1;
	/* One line: a newline in it would start another assignment. */
	for (st = at + strlen("STATUS="); st + 1 < at + (size_t)n; st++)
		if ((unsigned char)buf[st] < 0x20 ||
		    (unsigned char)buf[st] > 0x7e)
			buf[st] = '?';
	return (int)(at + (size_t)n);
}

int
notify_send_direct(unsigned flags, const char *status)
{
	char msg[NOTIFY_MSG_MAX];
	struct timespec ts;
	uint64_t usec = 0;
	int n;

	if (notify_addrlen == 0)
		return 0;
	if ((flags & NOTIFY_RELOADING) &&
	    clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
		usec = (uint64_t)ts.tv_sec * 1000000u +
		    (uint64_t)ts.tv_nsec / 1000u;
	if ((n = notify_format(msg, sizeof(msg), flags, status, usec)) < 0) {
		errno = EMSGSIZE;
		return -1;
	}
	return dgram_send(&notify_fd, &notify_addr, notify_addrlen, msg,
	    (size_t)n);
}

void
notify_set_relay(int (*relay)(unsigned flags, const char *status))
{
	notify_relay = relay;
}

int
notify_send(unsigned flags, const char *status)
{
	int r;

	if (notify_addrlen == 0)
		return 0;
	r = notify_relay != NULL ? notify_relay(flags, status) :
	    notify_send_direct(flags, status);
	if (r != 0 && !notify_logged) {
		notify_logged = 1;
		log_warn("cannot notify the service manager");
	}
	return r;
}
