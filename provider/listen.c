/*
 * listen.c - the daemon's listening sockets: Unix sockets in the runtime
 * directory (the control socket, the local endpoint's), TCP on loopback
 * (the local endpoint's listen addresses), and what happens when accept()
 * runs out of descriptors, which every one of them shares.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon_int.h"
#include "listen.h"
#include "log.h"

int
listen_unix(const char *dir, const char *name, int type, int *fdp,
    char *path, size_t pathlen, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	const char *what;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/.%s", dir,
	    name) >= (int)sizeof(sun.sun_path) ||
	    snprintf(path, pathlen, "%s/%s", dir, name) >= (int)pathlen) {
		snprintf(err, errlen, "runtime_dir %s: path too long for the "
		    "socket %s", dir, name);
		return -1;
	}
	/* We hold the runtime directory's lock: one there is stale. */
	(void)unlink(sun.sun_path);
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if ((what = "socket", fd == -1) ||
	    (what = "bind", bind(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1) ||
	    (what = "chmod", chmod(sun.sun_path, 0666) == -1) ||
	    (what = "listen", listen(fd, SOMAXCONN) == -1)) {
		snprintf(err, errlen, "%s %s: %s", what, sun.sun_path,
		    strerror(errno));
		goto fail;
	}
	if (rename(sun.sun_path, path) == -1) {
		snprintf(err, errlen, "rename %s to %s: %s", sun.sun_path,
		    path, strerror(errno));
		goto fail;
	}
	*fdp = fd;
	return 0;
 fail:
	(void)unlink(sun.sun_path);
	if (fd != -1)
		close(fd);
	return -1;
}

int
listen_tcp(const char *spec, int *fdp, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	const char *why;
	socklen_t len;
	int fd, one = 1;

	if (conf_listen_parse(spec, &ss, &why) != 0) {
		snprintf(err, errlen, "[endpoint] listen %s: %s", spec, why);
		return -1;
	}
	len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "[endpoint] listen %s: %s%s", spec,
		    strerror(errno), errno == EACCES ? " (a port under 1024 "
		    "needs a privilege the daemon's user lacks)" : "");
		if (fd != -1)
			close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

/*
 * accept() failed with the peer still queued (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM).  The listening socket stays readable, so polling it again at
 * once would spin: stop listening until a connection of ours closes or
 * ACCEPT_PAUSE_NS passes (a libcurl transfer may free a descriptor too).
 * Queued peers wait, bounded by their own connect deadline.  Said once,
 * then at most every ACCEPT_LOG_NS with a count, never per attempt.
 */
void
accept_failed(struct daemon *d)
{
	int saved = errno;
	int64_t now = now_ns();

	d->accept_paused_until_ns = now + ACCEPT_PAUSE_NS;
	d->accept_refused++;
	if (d->accept_logged_ns != 0 &&
	    now - d->accept_logged_ns < ACCEPT_LOG_NS)
		return;
	errno = saved;
	log_warn("accept (%llu time%s since the last report; new "
	    "connections wait until a descriptor is free)",
	    (unsigned long long)d->accept_refused,
	    d->accept_refused == 1 ? "" : "s");
	d->accept_logged_ns = now;
	d->accept_refused = 0;
}
