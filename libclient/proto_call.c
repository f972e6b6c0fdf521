/*
 * proto_call.c - the client side of the control socket: connect, make
 * sure the listener is one we trust, one exchange, and asking again when
 * the daemon says "not now".
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client_int.h"

/* TC_DAEMON_USER, tokencached's default `user`, comes from the Makefile
 * (TOKENCACHE_USER). */
#define SYSTEM_UID_LIMIT 1000	/* below: a system account (Debian, Fedora) */

const char *
proto_runtime_dir(void)
{
	const char *d = secure_getenv("TOKENCACHE_RUNTIME_DIR");

	return (d != NULL && *d != '\0') ? d : PROTO_RUNTIME_DIR;
}

int
proto_req_init(struct proto_req *req, int op, const char *name, uint32_t timeout_ms)
{
	size_t len = name != NULL ? strnlen(name, TC_NAME_MAX + 1) : 0;

	memset(req, 0, sizeof(*req));
	if (name != NULL && seg_name_valid(name, len) != 0)
		return TC_EINVAL;
	req->magic = PROTO_MAGIC;
	req->version = PROTO_VERSION;
	req->op = (uint16_t)op;
	req->timeout_ms = timeout_ms;
	req->name_len = (uint32_t)len;
	if (len > 0)
		memcpy(req->name, name, len);
	return 0;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NS_PER_MS;
}

/*
 * The daemon's uid, looked up once per process (NSS modules run in the
 * caller: they may log, block or be missing in a sandbox, so not on every
 * slow path).  Only a successful lookup is kept; a failed one, or a user
 * not there (yet), is tried again at the next call.  Atomics, not a mutex:
 * two threads may both look it up, harmlessly, and a fork in the middle
 * leaves no lock behind; a kept uid is right in a child too.
 *
 * The name is TC_DAEMON_USER, fixed at build time, unless
 * TOKENCACHE_DAEMON_USER (a name or a numeric uid, read with
 * secure_getenv, so that set-user-ID programs ignore it) names a system
 * account, uid 1..SYSTEM_UID_LIMIT - 1: whoever sets our environment can
 * make us trust no ordinary user's daemon, only an account root made.
 * 0 with *uid, TC_EPEER (no such user), TC_ENOMEM, or TC_ESYSTEM with
 * errno set.
 */
static _Atomic int daemon_uid_known;
static _Atomic uid_t daemon_uid;

static int
lookup_uid(const char *name, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char *end, *pwbuf;
	unsigned long id;
	long cap;
	int r;

	if (name[0] >= '0' && name[0] <= '9') {
		errno = 0;
		id = strtoul(name, &end, 10);
		if (errno == 0 && *end == '\0' && id == (uid_t)id) {
			*uid = (uid_t)id;
			return 0;
		}
	}
	if ((cap = sysconf(_SC_GETPW_R_SIZE_MAX)) < 1024 || cap > 65536)
		cap = 16384;
	for (;;) {
		if ((pwbuf = malloc((size_t)cap)) == NULL)
			return TC_ENOMEM;
		r = getpwnam_r(name, &pw, pwbuf, (size_t)cap, &res);
		if (r == 0 && res != NULL)
			*uid = pw.pw_uid;
		free(pwbuf);
		if (r != ERANGE || cap >= 1048576)
			break;
		cap *= 4;
	}
	if (r == 0)
		return res != NULL ? 0 : TC_EPEER;
	if (r == ENOMEM || r == ERANGE)
		return TC_ENOMEM;
	errno = r;
	return TC_ESYSTEM;
}

static int
resolve_daemon_uid(uid_t *uid)
{
	const char *name;
	uid_t u;
	int r;

	if (atomic_load_explicit(&daemon_uid_known, memory_order_acquire)) {
		*uid = atomic_load_explicit(&daemon_uid, memory_order_relaxed);
		return 0;
	}
	name = secure_getenv("TOKENCACHE_DAEMON_USER");
	if (name == NULL || *name == '\0' || lookup_uid(name, &u) != 0 ||
	    u == 0 || u >= SYSTEM_UID_LIMIT) {
		if ((r = lookup_uid(TC_DAEMON_USER, &u)) != 0)
			return r;
	}
	atomic_store_explicit(&daemon_uid, u, memory_order_relaxed);
	atomic_store_explicit(&daemon_uid_known, 1, memory_order_release);
	*uid = u;
	return 0;
}

/*
 * Who may serve us keys, segments and tokens: the user of the process
 * that listens on the socket we reached (SO_PEERCRED: the credentials of
 * whoever called listen()) must be root, the daemon's user
 * (resolve_daemon_uid), or our own user, whatever the path, its directory
 * or TOKENCACHE_RUNTIME_DIR say: a user who squats or swaps a runtime
 * directory, or points a service's environment at one of their own,
 * serves nothing we accept.  Our own user may run a daemon for us (the
 * tests, the demo, a private instance): a process of the same user could
 * read and change our memory anyway.  The daemon's user is looked up only
 * when the peer is neither root nor ourselves.  0, TC_EPEER, TC_ENOMEM,
 * or TC_ESYSTEM (errno set).
 */
static int
peer_trusted(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	uid_t u;
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 ||
	    len != sizeof(uc))
		return TC_ESYSTEM;
	if (uc.uid == 0 || uc.uid == geteuid())
		return 0;
	if ((r = resolve_daemon_uid(&u)) != 0)
		return r;
	return u == uc.uid ? 0 : TC_EPEER;
}

int
proto_call(const char *runtime_dir, const struct proto_req *req,
    struct proto_resp *resp, int timeout_ms)
{
	return proto_call_fd(runtime_dir, req, resp, timeout_ms, NULL);
}

/*
 * call_once()'s "the daemon took the connection and closed it without a
 * word": it does so to a user past its connection cap (CONNS_PER_UID in
 * daemon.c), so that one user cannot take every connection.  A daemon
 * that died instead refuses the next connect.
 */
#define CALL_HUNG_UP 1

/*
 * One exchange of proto_call_fd(), bounded by deadline (mono_ms()).  Kept
 * whole, over 80 lines: connect, peer check, send, wait, receive and check
 * are one sequence with one exit that wipes both buffers and closes what
 * is open.
 */
static int
call_once(const char *runtime_dir, const struct proto_req *req,
    struct proto_resp *resp, int64_t deadline, int *fdp)
{
	struct sockaddr_un sun;
	struct proto_resp r, buf;
	struct pollfd pfd;
	ssize_t n;
	int fd, rc, ret, left, got = -1;

	memset(&r, 0, sizeof(r));
	memset(&buf, 0, sizeof(buf));

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", runtime_dir,
	    SEG_SOCKET_NAME) >= (int)sizeof(sun.sun_path))
		return TC_EINVAL;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return TC_ESYSTEM;
	/*
	 * Non-blocking, so that a daemon that does not accept (busy, or
	 * stopped with SIGSTOP) costs us at most the deadline: a Unix socket
	 * whose backlog is full says EAGAIN, and we try again until then.
	 */
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && mono_ms() < deadline) {
			(void)poll(NULL, 0, 10);
			continue;
		}
		ret = (errno == ENOENT || errno == ECONNREFUSED ||
		    errno == ENOTDIR) ? TC_ENODAEMON :
		    errno == EAGAIN ? TC_ETIMEDOUT :
		    (errno == EACCES ? TC_EACCES : TC_ESYSTEM);
		goto out;
	}
	/* Before a word is said: is that tokencached at all? */
	if ((ret = peer_trusted(fd)) != 0)
		goto out;
	if (send(fd, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req)) {
		ret = errno == EPIPE || errno == ECONNRESET ? CALL_HUNG_UP :
		    TC_ENODAEMON;
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	do {
		left = (int)(deadline - mono_ms());
		rc = poll(&pfd, 1, left > 0 ? left : 0);
	} while (rc == -1 && errno == EINTR);
	if (rc == 0) {
		ret = TC_ETIMEDOUT;
		goto out;
	}
	if (rc == -1) {
		ret = TC_ESYSTEM;
		goto out;
	}
	n = proto_recv_with_fd(fd, &buf, sizeof(buf), &got);
	if (n == 0 || (n == -1 && errno == ECONNRESET)) {
		ret = CALL_HUNG_UP;
		goto out;
	}
	if (n == -1) {
		ret = TC_ESYSTEM;
		goto out;
	}
	/* The one checker of replies, the one the fuzzer runs. */
	if ((ret = proto_resp_check(&buf, (size_t)n, req->op,
	    fdp != NULL ? &got : NULL, &r)) != 0)
		goto out;
	/* success */
	*resp = r;
	if (fdp != NULL) {
		*fdp = got;
		got = -1;
	}
	ret = 0;
 out:
	sodium_memzero(&r, sizeof(r));
	sodium_memzero(&buf, sizeof(buf));
	if (got != -1)
		close(got);
	close(fd);
	return ret;
}

/*
 * "Busy" (TC_EBUSY: the per-user rate limit, or too many of the user's
 * segment replies still unread) and a connection closed unanswered (the
 * user's connection cap) are the daemon's "not now", not "no", as when a
 * service starts many processes at once: ask again after a pause that
 * doubles from BUSY_PAUSE_MS to BUSY_PAUSE_MAX_MS, with jitter so that a
 * herd spreads out, for as long as the deadline allows.  The last answer
 * stands when it does not (a hang-up then says TC_ENODAEMON, as before);
 * and when the deadline runs out while waiting for the answer after a
 * busy one, busy stands too: the daemon answers, only not now, and "timed
 * out" would say it does not.
 */
#define BUSY_PAUSE_MS     5
#define BUSY_PAUSE_MAX_MS 200

int
proto_call_fd(const char *runtime_dir, const struct proto_req *req,
    struct proto_resp *resp, int timeout_ms, int *fdp)
{
	int64_t deadline = mono_ms() + timeout_ms;
	uint32_t pause = BUSY_PAUSE_MS, t;
	int r, busy = 0;

	for (;;) {
		r = call_once(runtime_dir, req, resp, deadline, fdp);
		if (r == TC_ETIMEDOUT && busy)
			return 0;	/* *resp still holds the busy answer */
		if (r != CALL_HUNG_UP && (r != 0 || resp->status != TC_EBUSY))
			return r;
		busy = r == 0;
		t = pause + randombytes_uniform(pause);
		if (mono_ms() + t >= deadline)
			return r == CALL_HUNG_UP ? TC_ENODAEMON : 0;
		(void)poll(NULL, 0, (int)t);
		if (pause < BUSY_PAUSE_MAX_MS)
			pause *= 2;
	}
}
