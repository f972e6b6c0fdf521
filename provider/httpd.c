/*
 * httpd.c - the local token endpoint's listeners and connections.
 *
 * We accept every connection ourselves, so that we learn who is at the
 * other end before a byte of HTTP is read: the kernel tells (peer.c),
 * the client never does.  Then the connection is handed to
 * libmicrohttpd (MHD_add_connection), which runs with no listening socket
 * and no thread of its own: its epoll descriptor sits in daemon_run's
 * poll set and MHD_run() does its work in our one thread, so that the
 * request handlers (httpd_token.c) see the daemon's state as it is, with
 * no lock.
 *
 * Limits, so that no local user can take the endpoint from the others:
 * max_connections in all and max_connections_per_user each (root and our
 * own user are not held to the second, as on the control socket); a
 * client has HTTP_FIRST_NS after connecting and HTTP_IDLE_NS after a
 * reply to send a whole request, and HTTP_SEND_NS once its request line
 * is in, however it trickles the bytes (libmicrohttpd's own timeout only
 * counts silence); the request line and headers must fit HTTP_MEMORY.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "access.h"
#include "daemon_int.h"
#include "httpd.h"
#include "httpd_int.h"
#include "listen.h"
#include "log.h"
#include "peer.h"
#include "tokencache.h"
#include "tokenreq.h"

#define ENDPOINT_SOCKET_NAME "endpoint.socket"

/* ---- connections ------------------------------------------------------ */

static struct hconn *
hconn_of_fd(struct httpd *h, int fd)
{
	uint32_t i, n = 0;

	for (i = 0; i < h->max_conns && n < h->nconns; i++) {
		if (h->conns[i].fd == -1)
			continue;
		if (h->conns[i].fd == fd)
			return &h->conns[i];
		n++;
	}
	return NULL;
}

static void
hconn_release(struct httpd *h, struct hconn *hc)
{
	free(hc->groups);
	memset(hc, 0, sizeof(*hc));
	hc->fd = -1;
	h->nconns--;
}

/* libmicrohttpd took a connection (we find its place by descriptor) or
 * closed one (its place is free again). */
static void
notify_connection(void *cls, struct MHD_Connection *mc,
    void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	struct daemon *d = cls;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(mc,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = ci != NULL ?
		    hconn_of_fd(d->httpd, ci->connect_fd) : NULL;
	} else if (*socket_context != NULL) {
		hconn_release(d->httpd, *socket_context);
		*socket_context = NULL;
	}
}

static struct hconn *
hconn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* The request line is in: the request begins (its state is the access
 * handler's *req_cls), and the rest must follow within HTTP_SEND_NS. */
static void *
request_begins(void *cls, const char *uri, struct MHD_Connection *mc)
{
	struct hconn *hc = hconn_of(mc);
	struct hreq *r;
	int64_t by = now_ns() + HTTP_SEND_NS;

	(void)cls, (void)uri;
	if (hc == NULL || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;	/* the access handler then drops it */
	r->hc = hc;
	r->mc = mc;
	if (hc->deadline_ns > by)
		hc->deadline_ns = by;
	return r;
}

/* A reply is sent, or the request is abandoned: the next request has
 * HTTP_IDLE_NS to arrive whole. */
static void
request_ends(void *cls, struct MHD_Connection *mc, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct daemon *d = cls;
	struct hconn *hc = hconn_of(mc);

	(void)toe;
	if (*req_cls != NULL) {
		hreq_free(d->httpd, *req_cls);
		*req_cls = NULL;
	}
	if (hc != NULL) {
		hc->in_request = 0;
		hc->deadline_ns = now_ns() + HTTP_IDLE_NS;
	}
}

/* libmicrohttpd's messages, at debug: they are about callers (a
 * malformed request...) and, on the Unix socket, TCP options that do not
 * apply, once a reply. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	if (!log_debugging())
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("endpoint: libmicrohttpd: %s", msg);
}

/* ---- accepting -------------------------------------------------------- */

/* Who is at the other end of fd, accepted on the listener of index li:
 * 0 and hc's identity filled, or -1 (logged). */
static int
identify(struct hconn *hc, int fd, int unix_socket)
{
	int r;

	if (unix_socket) {
		if (peer_unix_uid(fd, &hc->uid, &hc->gid) != 0) {
			log_warn("endpoint: SO_PEERCRED");
			return -1;
		}
		(void)peer_unix_groups(fd, &hc->groups, &hc->ngroups);
		return 0;
	}
	if ((r = peer_tcp_uid(fd, &hc->uid)) != 0) {
		/* ENOENT: the client gave up already. */
		if (errno != ENOENT)
			log_warn("endpoint: cannot tell who is at the other "
			    "end of a TCP connection");
		return -1;
	}
	/* A user the database does not know may still be in allow_users
	 * by number. */
	hc->gid = (gid_t)-1;
	(void)peer_user_groups(hc->uid, &hc->gid, &hc->groups,
	    &hc->ngroups);
	return 0;
}

static uint32_t
conns_of_uid(const struct httpd *h, uid_t uid)
{
	uint32_t i, n = 0;

	for (i = 0; i < h->max_conns; i++)
		if (h->conns[i].fd != -1 && h->conns[i].uid == uid)
			n++;
	return n;
}

/* Accept one connection from listener li; 0 when there was none left. */
static int
accept_one(struct daemon *d, int li)
{
	struct httpd *h = d->httpd;
	const struct endpoint_conf *ec = &d->conf->endpoint;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer), llen;
	struct hconn *hc = NULL;
	uint32_t i;
	int fd;

	fd = accept4(h->lfds[li], (struct sockaddr *)&peer, &plen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			accept_failed(d);
		return errno == ECONNABORTED || errno == EPERM;
	}
	for (i = 0; i < h->max_conns; i++)
		if (h->conns[i].fd == -1) {
			hc = &h->conns[i];
			break;
		}
	if (hc == NULL) {	/* not reached: polled only with room */
		close(fd);
		return 1;
	}
	memset(hc, 0, sizeof(*hc));
	hc->fd = -1;
	if (identify(hc, fd, li == 0) != 0)
		goto refuse;
	if (!uid_is_privileged(hc->uid) &&
	    conns_of_uid(h, hc->uid) >= ec->max_connections_per_user) {
		log_denied(d, hc->uid, "connection", "", now_ns());
		goto refuse;
	}
	llen = sizeof(hc->local);
	(void)getsockname(fd, (struct sockaddr *)&hc->local, &llen);
	hc->unix_socket = li == 0;
	hc->deadline_ns = now_ns() + HTTP_FIRST_NS;
	hc->fd = fd;
	h->nconns++;
	/* libmicrohttpd closes fd itself if it cannot take it. */
	if (MHD_add_connection(h->mhd, fd, (struct sockaddr *)&peer,
	    plen) != MHD_YES && hc->fd == fd) {
		log_warn("endpoint: libmicrohttpd refused a connection");
		hconn_release(h, hc);
	}
	return 1;
 refuse:
	free(hc->groups);
	hc->groups = NULL;
	close(fd);
	return 1;
}

static void resume(struct httpd *h, struct hreq **pp, int waited);

/* ---- listeners -------------------------------------------------------- */

int
httpd_open(struct daemon *d, char *err, size_t errlen)
{
	const struct endpoint_conf *ec = &d->conf->endpoint;
	const union MHD_DaemonInfo *di;
	struct httpd *h;
	uint32_t i;

	if (!ec->on)
		return 0;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->conns = calloc(ec->max_connections, sizeof(*h->conns))) ==
	    NULL) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->httpd = h;
	h->mhd_fd = -1;
	h->max_conns = ec->max_connections;
	for (i = 0; i < h->max_conns; i++)
		h->conns[i].fd = -1;
	if (listen_unix(d->conf->runtime_dir, ENDPOINT_SOCKET_NAME,
	    SOCK_STREAM, &h->lfds[0], h->sock_path, sizeof(h->sock_path),
	    err, errlen) != 0)
		goto fail;
	h->nlfds = 1;
	for (i = 0; i < ec->nlisten; i++, h->nlfds++)
		if (listen_tcp(ec->listen[i], &h->lfds[h->nlfds], err,
		    errlen) != 0)
			goto fail;
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    httpd_access, d,
	    /* First, so that it gets every message. */
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, d,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)ec->max_connections,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)(HTTP_IDLE_NS / NS_PER_S),
	    MHD_OPTION_STRICT_FOR_CLIENT, 1,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_connection, d,
	    MHD_OPTION_URI_LOG_CALLBACK, request_begins, d,
	    MHD_OPTION_NOTIFY_COMPLETED, request_ends, d,
	    MHD_OPTION_END);
	if (h->mhd == NULL ||
	    (di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD)) ==
	    NULL) {
		snprintf(err, errlen, "[endpoint]: libmicrohttpd did not "
		    "start");
		goto fail;
	}
	h->mhd_fd = di->epoll_fd;
	log_info("endpoint: token requests on %s%s%s%s", h->sock_path,
	    ec->nlisten > 0 ? " and http://" : "",
	    ec->nlisten > 0 ? ec->listen[0] : "",
	    ec->nlisten > 1 ? " ..." : "");
	return 0;
 fail:
	httpd_close(d);
	return -1;
}

void
httpd_close(struct daemon *d)
{
	struct httpd *h = d->httpd;
	int i;

	if (h == NULL)
		return;
	h->stopping = 1;
	if (h->mhd != NULL) {
		/* Suspended requests are resumed and dropped, not left to
		 * libmicrohttpd's stop, which expects none. */
		while (h->waiters != NULL)
			resume(h, &h->waiters, 1);
		(void)MHD_run(h->mhd);
		MHD_stop_daemon(h->mhd);
	}
	for (i = 0; i < h->nlfds; i++)
		close(h->lfds[i]);
	if (h->nlfds > 0)
		(void)unlink(h->sock_path);
	free(h->conns);
	free(h);
	d->httpd = NULL;
}

/* ---- the loop --------------------------------------------------------- */

int
httpd_poll_set(struct daemon *d, struct curl_waitfd *fds)
{
	struct httpd *h = d->httpd;
	int i, listening;

	if (h == NULL)
		return 0;
	listening = d->accept_paused_until_ns == 0 &&
	    h->nconns < h->max_conns;
	for (i = 0; i < h->nlfds; i++) {
		fds[i].fd = h->lfds[i];
		fds[i].events = listening ? CURL_WAIT_POLLIN : 0;
		fds[i].revents = 0;
	}
	fds[i].fd = h->mhd_fd;
	fds[i].events = CURL_WAIT_POLLIN;
	fds[i].revents = 0;
	return i + 1;
}

void
httpd_ready(struct daemon *d, const struct curl_waitfd *fds, int n)
{
	struct httpd *h = d->httpd;
	int i, j;

	if (h == NULL || n != h->nlfds + 1)
		return;
	for (i = 0; i < h->nlfds; i++) {
		if (!(fds[i].revents & CURL_WAIT_POLLIN))
			continue;
		for (j = 0; j < HTTP_ACCEPT_BURST &&
		    h->nconns < h->max_conns &&
		    d->accept_paused_until_ns == 0; j++)
			if (!accept_one(d, i))
				break;
	}
	/* Whether or not its descriptor said so: new connections may have
	 * a request waiting already, and its timeouts are due at times
	 * httpd_timers asked the poll to wake for. */
	(void)MHD_run(h->mhd);
	h->resumed = 0;
}

/*
 * Take the request at *pp out of the waiters and let libmicrohttpd call
 * the handler for it again; waited: its wait is over.  Polled from
 * outside, libmicrohttpd has no channel of its own to wake the poll
 * (it keeps one only with a thread of its own): a resumed connection
 * moves at the next MHD_run, which httpd_timers makes the next turn's
 * (MHD_resume_connection(3): "you must make sure to run MHD_run()").
 */
static void
resume(struct httpd *h, struct hreq **pp, int waited)
{
	struct hreq *r = *pp;

	*pp = r->next_waiter;
	r->next_waiter = NULL;
	r->waiting = 0;
	r->waited |= waited;
	MHD_resume_connection(r->mc);
	h->resumed = 1;
}

void
httpd_timers(struct daemon *d, int64_t now, int64_t *next)
{
	struct httpd *h = d->httpd;
	MHD_UNSIGNED_LONG_LONG ms;
	struct hreq **pp;
	uint32_t i;

	if (h == NULL)
		return;
	for (pp = &h->waiters; *pp != NULL;) {
		if ((*pp)->wait_deadline_ns <= now)
			resume(h, pp, 1);
		else {
			if ((*pp)->wait_deadline_ns < *next)
				*next = (*pp)->wait_deadline_ns;
			pp = &(*pp)->next_waiter;
		}
	}
	if (h->resumed)
		*next = now;	/* see resume() */
	/* Too slow to send a request: shut down, which libmicrohttpd sees
	 * at once and closes (its notify_connection frees the place). */
	for (i = 0; i < h->max_conns; i++) {
		struct hconn *hc = &h->conns[i];

		if (hc->fd == -1 || hc->in_request || hc->shut)
			continue;
		if (hc->deadline_ns <= now) {
			(void)shutdown(hc->fd, SHUT_RDWR);
			hc->shut = 1;
		} else if (hc->deadline_ns < *next)
			*next = hc->deadline_ns;
	}
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
		if (ms > 60000)
			ms = 60000;
		if (now + (int64_t)ms * NS_PER_MS < *next)
			*next = now + (int64_t)ms * NS_PER_MS;
	}
}

void
httpd_wake(struct daemon *d, const struct cred *c)
{
	struct httpd *h = d->httpd;
	struct hreq **pp;

	if (h == NULL)
		return;
	/* A reload (c NULL) sends each through the handler again, to find
	 * its credential anew and maybe wait again, as long as it may. */
	for (pp = &h->waiters; *pp != NULL;) {
		if (c == NULL || strcmp((*pp)->name, c->name) == 0)
			resume(h, pp, c != NULL);
		else
			pp = &(*pp)->next_waiter;
	}
}

void
httpd_wait(struct httpd *h, struct hreq *r)
{
	r->waiting = 1;
	r->next_waiter = h->waiters;
	h->waiters = r;
	MHD_suspend_connection(r->mc);
}

void
hreq_free(struct httpd *h, struct hreq *r)
{
	struct hreq **pp;

	if (r->waiting)
		for (pp = &h->waiters; *pp != NULL; pp = &(*pp)->next_waiter)
			if (*pp == r) {
				*pp = r->next_waiter;
				break;
			}
	if (r->body != NULL) {
		sodium_memzero(r->body, r->body_len);
		free(r->body);
	}
	treq_free(&r->tr);
	free(r);
}

int
httpd_conf_differs(const struct endpoint_conf *a, const struct endpoint_conf *b)
{
	size_t i;

	if (a->on != b->on || a->nlisten != b->nlisten ||
	    a->max_connections != b->max_connections)
		return 1;
	for (i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return 1;
	return 0;
}

void
httpd_restart(struct daemon *d)
{
	char err[256];

	if (d->httpd != NULL)
		log_info("endpoint: [endpoint] changed: closing its "
		    "connections and listeners");
	httpd_close(d);
	if (httpd_open(d, err, sizeof(err)) != 0)
		log_warnx("endpoint: not started: %s", err);
	else if (d->httpd == NULL)
		log_info("endpoint: off");
}

int
httpd_addr_text(const struct sockaddr_storage *ss, char *out, size_t n)
{
	const struct sockaddr_in *sin = (const void *)ss;
	const struct sockaddr_in6 *sin6 = (const void *)ss;
	char addr[INET6_ADDRSTRLEN];
	int w;

	if (ss->ss_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr)) != NULL)
		w = snprintf(out, n, "%s:%u", addr, ntohs(sin->sin_port));
	else if (ss->ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr)) != NULL)
		w = snprintf(out, n, "[%s]:%u", addr, ntohs(sin6->sin6_port));
	else
		return -1;
	return w > 0 && (size_t)w < n ? 0 : -1;
}

static void put_line(char *, size_t, size_t *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* A line appended to buf (n bytes) at *len, if it fits whole. */
static void
put_line(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*len >= n)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *len, n - *len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= n - *len) {
		buf[*len] = '\0';	/* cut at the line before */
		*len = n;
	} else
		*len += (size_t)w;
}

void
httpd_count_status(struct httpd *h, unsigned int status)
{
	size_t i;

	for (i = 0; i < HTTPD_STATUSES; i++)
		if (h->statuses[i].status == status ||
		    h->statuses[i].status == 0) {
			h->statuses[i].status = status;
			h->statuses[i].count++;
			return;
		}
	/* not reached: the endpoint answers with a handful of statuses */
}

size_t
httpd_status_counts(const struct daemon *d, unsigned int *status,
    uint64_t *count, size_t n)
{
	size_t i, k = 0;

	if (d->httpd == NULL)
		return 0;
	for (i = 0; i < HTTPD_STATUSES && k < n; i++)
		if (d->httpd->statuses[i].status != 0) {
			status[k] = d->httpd->statuses[i].status;
			count[k++] = d->httpd->statuses[i].count;
		}
	return k;
}

void
httpd_describe(const struct daemon *d, char *buf, size_t n)
{
	static const char *const names[HO_COUNT] = {
		[HO_TOKEN] = "token", [HO_OTHER_OK] = "other_ok",
		[HO_BAD_REQUEST] = "bad_request", [HO_DENIED] = "denied",
		[HO_RATE] = "rate_limited", [HO_UNAVAILABLE] = "unavailable",
	};
	const struct httpd *h = d->httpd;
	struct sockaddr_storage ss;
	socklen_t sl;
	char addr[64];
	size_t len = 0;
	int i;

	buf[0] = '\0';
	if (h == NULL) {
		put_line(buf, n, &len, "off\n");
		return;
	}
	/* Most useful first: a long list of addresses is what gets cut. */
	for (i = 0; i < HO_COUNT; i++)
		put_line(buf, n, &len, "%s %llu\n", names[i],
		    (unsigned long long)h->replies[i]);
	put_line(buf, n, &len, "connections %u\n", h->nconns);
	put_line(buf, n, &len, "min_lifetime %ld\n",
	    d->conf->endpoint.min_lifetime);
	put_line(buf, n, &len, "socket %s\n", h->sock_path);
	/* The addresses it was started with (a reload does not move it). */
	for (i = 1; i < h->nlfds; i++) {
		sl = sizeof(ss);
		if (getsockname(h->lfds[i], (struct sockaddr *)&ss, &sl) == 0 &&
		    httpd_addr_text(&ss, addr, sizeof(addr)) == 0)
			put_line(buf, n, &len, "listen %s\n", addr);
	}
}

int
httpd_describe_client(const struct cred_conf *cc, char *buf, size_t n,
    const char **why)
{
	const struct cred_conf *f = treq_fields(cc);
	size_t i, len = 0;

	buf[0] = '\0';
	if (f == NULL || f->client_id == NULL) {
		*why = "this credential has no client_id the endpoint could "
		    "match";
		return TC_ENOTFOUND;
	}
	put_line(buf, n, &len, "client_id\t%s\n", f->client_id);
	if (cc->endpoint_secret != NULL)
		put_line(buf, n, &len, "secret\trequired\n");
	if (f->audience != NULL)
		put_line(buf, n, &len, "audience\t%s\n", f->audience);
	if (f->scope != NULL)
		put_line(buf, n, &len, "scope\t%s\n", f->scope);
	for (i = 0; i < f->nresources; i++)
		put_line(buf, n, &len, "resource\t%s\n", f->resources[i]);
	/* put_line leaves len at n once a line did not fit. */
	if (len >= n) {
		*why = "its client_id, audience, scope and resources are too "
		    "long to tell";
		return TC_ERANGE;
	}
	return 0;
}
