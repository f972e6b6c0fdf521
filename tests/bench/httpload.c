/*
 * httpload.c - the local token endpoint (issue 11) measured: one token
 * through POST /oauth/token on a kept (keep-alive) connection and on a new
 * connection per request, over TCP and over runtime_dir/endpoint.socket;
 * requests per second from 32 concurrent keep-alive clients; and, beside
 * them, the same token request sent to the OAuth server itself, a token
 * from latency.c's Unix-socket agent, and a token by way of the daemon's
 * control socket (a WAIT round trip, then tc_get).
 *
 * A plain-socket HTTP/1.1 client, so that what is timed is the server and
 * the kernel, not a client library: the request is prepared once and sent
 * with one write; a reply is read until its Content-Length (or its last
 * chunk) is in.  Every reply is checked: status 200, and the access_token
 * exactly the token tokencached holds (for the OAuth server, which issues
 * a new token each time, a token at all), so that a fast error cannot pass
 * for a fast token.  A kept connection that the server closes is an error,
 * not a reconnect.
 *
 * The load is one thread driving every connection through epoll, each
 * connection with one request outstanding (a closed loop): on two cores
 * the daemon, which serves the endpoint from its one thread, has the other
 * core, and the client's CPU time is reported beside the rate.
 *
 * The OAuth server counts the token requests it gets (GET /_stats): those
 * of tokencached's client are read before and after the whole part, and
 * must not change, since every token here comes from the cache.  Last,
 * 200 clients ask at once while there is no token (cold_burst): one
 * request upstream, and every client gets the one new token.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "proto.h"

#define REPLY_MAX (64 * 1024)   /* a token reply is about 1 KiB */
#define CLIENTS   32            /* concurrent keep-alive clients */

/* A token request: path, Host, body length, a header or "", body. */
#define REQUEST_FMT "POST %s HTTP/1.1\r\nHost: %s\r\n" \
	"Accept: application/json\r\n" \
	"Content-Type: application/x-www-form-urlencoded\r\n" \
	"Content-Length: %zu\r\n%s\r\n%s"

/* Where a token request goes, and what it must bring back. */
struct target {
	const char *label;
	int port;                 /* TCP on 127.0.0.1, or 0: */
	char path[108];           /* a Unix stream socket */
	char req[2048];           /* the request, keep-alive */
	size_t req_len;
	char req_close[2048];     /* the same with Connection: close */
	size_t req_close_len;
	const char *expect;       /* the exact token, or NULL: any token */
	size_t expect_len;
};

/* One client connection. */
struct conn {
	int fd;
	char buf[REPLY_MAX];
	size_t have;
	double sent_ns;           /* when its outstanding request went */
};

/* A reply, parsed. */
struct reply {
	int status;
	int close;                /* Connection: close */
	const char *body;
	size_t body_len;
};

static char chunked_body[REPLY_MAX];
static long tokens_served;       /* replies checked to carry the token */
static tc_client *client;
static char tokbuf[TOKEN_BUF];

/* ---- requests and replies ---- */

static void
target_init(struct target *t, const char *label, int port,
    const char *path, const char *host, const char *uri, const char *body,
    const char *expect, size_t expect_len)
{
	int n;

	memset(t, 0, sizeof(*t));
	t->label = label;
	t->port = port;
	if (path != NULL &&
	    snprintf(t->path, sizeof(t->path), "%s", path) >= (int)sizeof(t->path))
		die("%s: path too long for a socket", path);
	n = snprintf(t->req, sizeof(t->req), REQUEST_FMT, uri, host,
	    strlen(body), "", body);
	if (n < 0 || (size_t)n >= sizeof(t->req))
		die("request too long");
	t->req_len = (size_t)n;
	n = snprintf(t->req_close, sizeof(t->req_close), REQUEST_FMT, uri,
	    host, strlen(body), "Connection: close\r\n", body);
	if (n < 0 || (size_t)n >= sizeof(t->req_close))
		die("request too long");
	t->req_close_len = (size_t)n;
	t->expect = expect;
	t->expect_len = expect_len;
}

/* A header line's value, if line (len bytes) is that header. */
static const char *
header_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

/*
 * Walk a chunked body at p (have bytes): its decoded length and the bytes
 * it takes, or 0 while incomplete, -1 if malformed.  Trailers are not
 * expected and are an error.
 */
static int
chunked_walk(const char *p, size_t have, size_t *decoded, size_t *used,
    char *out, size_t cap)
{
	size_t pos = 0, total = 0, size;
	const char *eol;
	char *end;

	for (;;) {
		eol = memmem(p + pos, have - pos, "\r\n", 2);
		if (eol == NULL)
			return 0;
		size = strtoul(p + pos, &end, 16);
		if (end == p + pos)
			return -1;
		pos = (size_t)(eol - p) + 2;
		if (size == 0) {
			if (have - pos < 2)
				return 0;
			if (memcmp(p + pos, "\r\n", 2) != 0)
				return -1;
			*decoded = total;
			*used = pos + 2;
			return 1;
		}
		if (have - pos < size + 2)
			return 0;
		if (total + size > cap)
			return -1;
		memcpy(out + total, p + pos, size);
		total += size;
		pos += size + 2;
	}
}

/*
 * One reply at the start of buf (have bytes): the bytes it takes and *rp,
 * or 0 while incomplete, -1 if malformed.
 */
static long
reply_parse(const char *buf, size_t have, struct reply *rp)
{
	const char *end, *line, *eol, *v;
	size_t hlen, clen = 0, used;
	int chunked = 0, has_len = 0, r;

	if ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL)
		return have >= REPLY_MAX ? -1 : 0;
	hlen = (size_t)(end - buf) + 4;
	memset(rp, 0, sizeof(*rp));
	if (have < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0)
		return -1;
	rp->status = atoi(buf + 9);
	line = (const char *)memchr(buf, '\n', hlen) + 1;
	while (line < end) {
		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		if ((v = header_is(line, (size_t)(eol - line),
		    "content-length")) != NULL) {
			clen = strtoul(v, NULL, 10);
			has_len = 1;
		} else if ((v = header_is(line, (size_t)(eol - line),
		    "transfer-encoding")) != NULL)
			chunked = strncasecmp(v, "chunked", 7) == 0;
		else if ((v = header_is(line, (size_t)(eol - line),
		    "connection")) != NULL)
			rp->close = strncasecmp(v, "close", 5) == 0;
		line = eol + 2;
	}
	if (chunked) {
		r = chunked_walk(buf + hlen, have - hlen, &rp->body_len, &used,
		    chunked_body, sizeof(chunked_body));
		if (r <= 0)
			return r;
		rp->body = chunked_body;
		return (long)(hlen + used);
	}
	if (!has_len || clen > REPLY_MAX)
		return -1;
	if (have - hlen < clen)
		return 0;
	rp->body = buf + hlen;
	rp->body_len = clen;
	return (long)(hlen + clen);
}



/* c, non-blocking from now, in the epoll set ep for input. */
static void
conn_watch(int ep, struct conn *c)
{
	struct epoll_event ev;

	if (fcntl(c->fd, F_SETFL, O_NONBLOCK) == -1)
		die("fcntl: %s", strerror(errno));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
}

/* What a non-blocking kept connection c has to read, added to its buffer
 * and parsed: reply_parse's answer (0: no whole reply yet, as when there
 * was nothing to read).  Its end or an error ends the run. */
static int
conn_recv(const struct target *t, struct conn *c, struct reply *rp)
{
	ssize_t k;

	k = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
	if (k == -1 && errno == EAGAIN)
		return 0;
	if (k <= 0)
		die("%s: %s", t->label, k == 0 ? "the server closed a kept "
		    "connection" : strerror(errno));
	c->have += (size_t)k;
	return reply_parse(c->buf, c->have, rp);
}

/* 200 and the token expected: 0 and the token in the reply (*tok, *toklen,
 * where not NULL), else -1 (said on stderr). */
static int
reply_token(const struct target *t, const struct reply *rp, const char **tok,
    size_t *toklen)
{
	const char *p, *end = rp->body + rp->body_len, *q;
	static const char key[] = "\"access_token\"";

	if (rp->status != 200) {
		note("%s: status %d: %.*s", t->label, rp->status,
		    (int)(rp->body_len < 300 ? rp->body_len : 300), rp->body);
		return -1;
	}
	p = memmem(rp->body, rp->body_len, key, sizeof(key) - 1);
	if (p == NULL)
		goto bad;
	p += sizeof(key) - 1;
	while (p < end && (*p == ' ' || *p == ':'))
		p++;
	if (p == end || *p++ != '"' || (q = memchr(p, '"', (size_t)(end - p)))
	    == NULL)
		goto bad;
	if (t->expect == NULL ? q - p < 16 : ((size_t)(q - p) != t->expect_len ||
	    memcmp(p, t->expect, t->expect_len) != 0)) {
		note("%s: a token of %zu bytes, not the one expected (%zu)",
		    t->label, (size_t)(q - p), t->expect_len);
		return -1;
	}
	if (t->expect != NULL)
		tokens_served++;
	if (tok != NULL) {
		*tok = p;
		*toklen = (size_t)(q - p);
	}
	return 0;
 bad:
	note("%s: no access_token in the reply", t->label);
	return -1;
}

static int
reply_check(const struct target *t, const struct reply *rp)
{
	return reply_token(t, rp, NULL, NULL);
}

static int
target_connect(const struct target *t)
{
	struct sockaddr_in sin;
	struct sockaddr_un sun;
	struct timeval tv = { 10, 0 };
	int fd, one = 1;

	if (t->port != 0) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)t->port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return -1;
		/* As HTTP clients do; the request goes in one write anyway. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			goto fail;
	} else {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, t->path, sizeof(sun.sun_path));
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			goto fail;
	}
	/* A server that stops answering fails the run, not hangs it. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
 fail:
	close(fd);
	return -1;
}

/* Send one request on c and read its reply: 0 if it was the token. */
static int
ask(const struct target *t, struct conn *c, int closing)
{
	const char *req = closing ? t->req_close : t->req;
	size_t len = closing ? t->req_close_len : t->req_len, done = 0;
	struct reply rp;
	ssize_t k;
	long used = 0;

	while (done < len) {
		k = send(c->fd, req + done, len - done, MSG_NOSIGNAL);
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	c->have = 0;
	while ((used = reply_parse(c->buf, c->have, &rp)) == 0) {
		k = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
		if (k <= 0) {
			note("%s: %s", t->label, k == 0 ? "connection closed" :
			    strerror(errno));
			return -1;
		}
		c->have += (size_t)k;
	}
	if (used < 0 || (size_t)used != c->have) {
		note("%s: malformed reply", t->label);
		return -1;
	}
	if (rp.close && !closing) {
		note("%s: the server closed a kept connection", t->label);
		return -1;
	}
	return reply_check(t, &rp);
}

/* ---- latency ---- */

static double *
samples_new(int n)
{
	double *s;

	if ((s = calloc((size_t)n, sizeof(*s))) == NULL)
		die("out of memory");
	return s;
}

/* Single samples of fn(arg), n of them after warm unmeasured ones. */
static struct lat
lat_fn(const char *what, bench_fn fn, void *arg, int warm, int n)
{
	double *s = samples_new(n), t0;
	struct lat l;
	int i;

	for (i = -warm; i < n; i++) {
		t0 = now_ns();
		if (fn(arg) != 0)
			die("%s failed", what);
		if (i >= 0)
			s[i] = now_ns() - t0;
	}
	l = lat_of(s, n);
	free(s);
	return l;
}

/* What a request row works on: the target and its kept connection. */
struct row {
	const struct target *t;
	struct conn c;
};

/* One request on the kept connection. */
static int
row_kept(void *arg)
{
	struct row *w = arg;

	return ask(w->t, &w->c, 0);
}

/* One request on a connection of its own: connect, request (with
 * Connection: close, as a client that keeps none says), reply, close. */
static int
row_new(void *arg)
{
	struct row *w = arg;
	int r;

	if ((w->c.fd = target_connect(w->t)) == -1)
		return -1;
	r = ask(w->t, &w->c, 1);
	close(w->c.fd);
	return r;
}

/* n requests on one kept connection, after warm requests. */
static struct lat
lat_kept(const struct target *t, int warm, int n)
{
	static struct row w;
	struct lat l;

	w.t = t;
	if ((w.c.fd = target_connect(t)) == -1)
		die("%s: connect: %s", t->label, strerror(errno));
	l = lat_fn(t->label, row_kept, &w, warm, n);
	close(w.c.fd);
	return l;
}

/* n requests, each on a connection of its own. */
static struct lat
lat_new(const struct target *t, int warm, int n)
{
	static struct row w;

	w.t = t;
	return lat_fn(t->label, row_new, &w, warm, n);
}

/* A token by way of the control socket: WAIT (the daemon answers at once
 * while the token is valid), then the read from the segment. */
static int
row_control_wait(void *arg)
{
	struct proto_req q;
	struct proto_resp r;

	(void)arg;
	if (proto_req_init(&q, PROTO_OP_WAIT, env.cred, 2000) != 0 ||
	    proto_call(env.rundir, &q, &r, 5000) != 0 || r.status != 0)
		return -1;
	return tc_get(client, env.cred, tokbuf, sizeof(tokbuf), NULL);
}



/*
 * The kept-connection latency with the client and tokencached's worker
 * pinned to one CPU, then to different CPUs: on this VM a wake-up on the
 * other CPU costs tens of microseconds, and where the scheduler puts the
 * two decides most of an unpinned run's number.  Both masks are put back.
 * 0, or -1 if the worker's affinity could not be set (not our process).
 */
static int
lat_pinned(const struct target *t, int warm, int n, struct lat *same,
    struct lat *other)
{
	cpu_set_t self0, worker0, one;
	int r = -1;

	if (sched_getaffinity(0, sizeof(self0), &self0) != 0 ||
	    sched_getaffinity(env.worker_pid, sizeof(worker0), &worker0) != 0 ||
	    !CPU_ISSET(0, &worker0) || !CPU_ISSET(1, &self0))
		return -1;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(env.worker_pid, sizeof(one), &one) != 0)
		return -1;
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		goto out;
	*same = lat_kept(t, warm, n);
	CPU_ZERO(&one);
	CPU_SET(1, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		goto out;
	*other = lat_kept(t, warm, n);
	r = 0;
 out:
	(void)sched_setaffinity(0, sizeof(self0), &self0);
	(void)sched_setaffinity(env.worker_pid, sizeof(worker0), &worker0);
	return r;
}

/* ---- throughput ---- */

struct tput {
	double rate;              /* requests per second */
	long requests;
	double secs;
	double server_cpu_ns;     /* per request, tokencached's worker */
	double client_cpu;        /* this process's CPU, share of one core */
	struct lat under_load;    /* each request, sent to reply */
};

static double
cpu_self_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
conn_send(const struct target *t, struct conn *c)
{
	ssize_t k;

	/* An empty socket buffer takes the whole request at once. */
	c->sent_ns = now_ns();
	k = send(c->fd, t->req, t->req_len, MSG_NOSIGNAL);
	return k == (ssize_t)t->req_len ? 0 : -1;
}

/*
 * nclients kept connections, each with one request outstanding, for secs
 * seconds; then the replies still due are read.  server_pid's CPU time is
 * taken over the run (0: none).
 */
static void
throughput(const struct target *t, int nclients, double secs,
    pid_t server_pid, struct tput *out)
{
	struct epoll_event evs[CLIENTS];
	struct conn *conns;
	struct reply rp;
	double t0, t_end, c0, cpu0, *lat;
	long done = 0, used, maxlat = 1L << 20, nlat = 0;
	int64_t s0 = 0, s1;
	int ep, i, n, outstanding = nclients;

	if ((conns = calloc((size_t)nclients, sizeof(*conns))) == NULL ||
	    (lat = calloc((size_t)maxlat, sizeof(*lat))) == NULL ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("out of memory");
	for (i = 0; i < nclients; i++) {
		if ((conns[i].fd = target_connect(t)) == -1)
			die("%s: connect: %s", t->label, strerror(errno));
		/* Warm: the connection is taken and answered once. */
		if (ask(t, &conns[i], 0) != 0)
			die("%s: request failed", t->label);
		conn_watch(ep, &conns[i]);
		conns[i].have = 0;
	}
	if (server_pid > 0)
		s0 = proc_cpu_ns(server_pid);
	cpu0 = cpu_self_ns();
	t0 = now_ns();
	t_end = t0 + secs * 1e9;
	for (i = 0; i < nclients; i++)
		if (conn_send(t, &conns[i]) != 0)
			die("%s: send: %s", t->label, strerror(errno));
	while (outstanding > 0) {
		if ((n = epoll_wait(ep, evs, CLIENTS, 10000)) <= 0)
			die("%s: %s", t->label, n == 0 ? "no reply in 10 s" :
			    strerror(errno));
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if ((used = conn_recv(t, c, &rp)) == 0)
				continue;
			/* One request outstanding: nothing may follow. */
			if (used < 0 || (size_t)used != c->have || rp.close ||
			    reply_check(t, &rp) != 0)
				die("%s: bad reply under load", t->label);
			c0 = now_ns();
			if (nlat < maxlat)
				lat[nlat++] = c0 - c->sent_ns;
			done++;
			c->have = 0;
			if (c0 < t_end) {
				if (conn_send(t, c) != 0)
					die("%s: send: %s", t->label,
					    strerror(errno));
			} else
				outstanding--;
		}
	}
	out->secs = (now_ns() - t0) / 1e9;
	out->client_cpu = (cpu_self_ns() - cpu0) / 1e9 / out->secs;
	s1 = server_pid > 0 ? proc_cpu_ns(server_pid) : 0;
	out->requests = done;
	out->rate = (double)done / out->secs;
	out->server_cpu_ns = server_pid > 0 && s0 >= 0 && s1 >= 0 ?
	    (double)(s1 - s0) / (double)done : 0;
	out->under_load = lat_of(lat, (int)nlat);
	for (i = 0; i < nclients; i++)
		close(conns[i].fd);
	close(ep);
	free(conns);
	free(lat);
}

/* ---- clients arriving while there is no token ---- */

#define BURST_CLIENTS 200
#define BURST_HOLD_MS 300

struct burst {
	long upstream;            /* the OAuth server's count, after - before */
	int replies;              /* 200 with the one new token */
	struct lat wait;          /* request sent to reply */
};

/*
 * BURST_CLIENTS clients ask at once while the credential has no token:
 * tokencached drops it (INVALIDATE, as `tokencachectl invalidate` does)
 * and the OAuth server holds its next token reply BURST_HOLD_MS, so that
 * every request finds the fetch under way and waits for it.  Each must get
 * the one new token, and the OAuth server must count one request.  The
 * new token becomes the one the other parts expect.  0, or -1 if the
 * daemon refused to drop the token (not an admin).
 */
static int
cold_burst(const struct target *tcp, struct burst *out)
{
	struct target t = *tcp;
	struct epoll_event evs[64];
	struct conn *conns;
	struct proto_req q;
	struct proto_resp resp;
	struct reply rp;
	const char *tok;
	char *first = NULL, path[64];
	double *w, t0;
	size_t toklen, first_len = 0;
	long up0, used;
	int ep, i, n, left = BURST_CLIENTS, r = -1;

	t.label = "endpoint (TCP), no token yet";
	t.expect = NULL;	/* a new token, compared among the replies */
	if ((conns = calloc(BURST_CLIENTS, sizeof(*conns))) == NULL ||
	    (w = calloc(BURST_CLIENTS, sizeof(*w))) == NULL ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("out of memory");
	for (i = 0; i < BURST_CLIENTS; i++)
		if ((conns[i].fd = target_connect(&t)) == -1)
			die("%s: connect: %s", t.label, strerror(errno));
	snprintf(path, sizeof(path), "/_delay?ms=%d", BURST_HOLD_MS);
	if (http_post(env.main_port, path) != 204)
		die("POST %s failed", path);
	up0 = server_requests(env.main_port, "bench");
	proto_req_init(&q, PROTO_OP_INVALIDATE, env.cred, 0);
	if (proto_call(env.rundir, &q, &resp, 5000) != 0 || resp.status != 0)
		goto out;
	t0 = now_ns();
	for (i = 0; i < BURST_CLIENTS; i++) {
		conns[i].sent_ns = t0;
		if (send(conns[i].fd, t.req, t.req_len, MSG_NOSIGNAL) !=
		    (ssize_t)t.req_len)
			die("%s: send: %s", t.label, strerror(errno));
		conn_watch(ep, &conns[i]);
	}
	while (left > 0) {
		if ((n = epoll_wait(ep, evs, 64, 15000)) <= 0)
			die("%s: %s", t.label, n == 0 ? "no reply in 15 s" :
			    strerror(errno));
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if ((used = conn_recv(&t, c, &rp)) == 0)
				continue;
			if (used < 0 || reply_token(&t, &rp, &tok,
			    &toklen) != 0)
				die("%s: bad reply", t.label);
			if (first == NULL) {
				if ((first = strndup(tok, toklen)) == NULL)
					die("out of memory");
				first_len = toklen;
			} else if (toklen != first_len ||
			    memcmp(tok, first, toklen) != 0)
				die("%s: two different tokens", t.label);
			w[BURST_CLIENTS - left] = now_ns() - c->sent_ns;
			(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			left--;
		}
	}
	if (first_len == token_len && memcmp(first, token, token_len) == 0)
		die("%s: the old token came back", t.label);
	out->upstream = server_requests(env.main_port, "bench") - up0;
	out->replies = BURST_CLIENTS;
	out->wait = lat_of(w, BURST_CLIENTS);
	if ((r = tc_get(client, env.cred, tokbuf, sizeof(tokbuf), NULL)) != 0 ||
	    strcmp(tokbuf, first) != 0)
		die("tc_get after the burst: %s", r != 0 ? tc_strerror(r) :
		    "not the token the endpoint handed out");
	memcpy(token, tokbuf, strlen(tokbuf) + 1);
	token_len = strlen(token);
	r = 0;
 out:
	if (http_post(env.main_port, "/_delay?ms=0") != 204)
		die("POST /_delay?ms=0 failed");
	for (i = 0; i < BURST_CLIENTS; i++)
		close(conns[i].fd);
	close(ep);
	free(first);
	free(conns);
	free(w);
	return r;
}

/* ---- the tables ---- */

static void
ep_row(const char *item, struct lat l)
{
	char med[32], p90[32], p99[32];

	result("endpoint", item, "", "median", l.median, "ns");
	result("endpoint", item, "", "p90", l.p90, "ns");
	result("endpoint", item, "", "p99", l.p99, "ns");
	snprintf(med, sizeof(med), "%.1f", l.median / 1000);
	snprintf(p90, sizeof(p90), "%.1f", l.p90 / 1000);
	snprintf(p99, sizeof(p99), "%.1f", l.p99 / 1000);
	table_row("endpoint", 4, item, med, p90, p99);
}

static void
tput_row(const char *item, const struct tput *tp)
{
	char rate[32], scpu[32], ccpu[32], med[32], p99[32];

	result("endpoint-load", item, "32 clients", "requests/s", tp->rate,
	    "1/s");
	result("endpoint-load", item, "32 clients", "requests", tp->requests,
	    "");
	result("endpoint-load", item, "32 clients", "server CPU per request",
	    tp->server_cpu_ns, "ns");
	result("endpoint-load", item, "32 clients", "client CPU", tp->client_cpu,
	    "cores");
	result("endpoint-load", item, "32 clients", "median", tp->under_load.median,
	    "ns");
	result("endpoint-load", item, "32 clients", "p99", tp->under_load.p99,
	    "ns");
	snprintf(rate, sizeof(rate), "%.0f", tp->rate);
	if (tp->server_cpu_ns > 0)
		snprintf(scpu, sizeof(scpu), "%.1f", tp->server_cpu_ns / 1000);
	else
		snprintf(scpu, sizeof(scpu), "-");
	snprintf(ccpu, sizeof(ccpu), "%.0f %%", tp->client_cpu * 100);
	snprintf(med, sizeof(med), "%.0f", tp->under_load.median / 1000);
	snprintf(p99, sizeof(p99), "%.0f", tp->under_load.p99 / 1000);
	table_row("endpoint-load", 6, item, rate, scpu, ccpu, med, p99);
}

void
bench_endpoint(void)
{
	struct target tcp, unx, oauth;
	struct tput tp_tcp, tp_unix, tp_oauth;
	struct lat k_tcp, k_unix, n_tcp, n_unix, k_oauth, a_kept, a_new, ctl,
	    p_same, p_other;
	char host[64], sock[512], body[512], secret[256], item[128], p99s[32];
	long up0, up1;
	int n = env.quick ? 500 : 5000, warm = env.quick ? 50 : 500;
	int nnew = env.quick ? 200 : 2000, noauth = env.quick ? 50 : 400;
	double secs = env.quick ? 1 : 5;
	struct burst burst;
	int r, afd, pinned, burst_ok;

	if (env.endpoint_port == 0) {
		note("no --endpoint-port: the endpoint part is left out");
		return;
	}
	up0 = server_requests(env.main_port, "bench");
	/* The token tokencached holds now: the latency part refreshed it. */
	if ((r = tc_open(&client, env.rundir)) != 0 ||
	    (r = tc_get(client, env.cred, tokbuf, sizeof(tokbuf), NULL)) != 0)
		die("%s: %s", env.cred, tc_strerror(r));
	memcpy(token, tokbuf, strlen(tokbuf) + 1);
	token_len = strlen(token);

	/* As a client of the bench credential sends it: the secret is in
	 * the body, where the endpoint ignores it. */
	read_secret(secret, sizeof(secret));
	snprintf(body, sizeof(body), "grant_type=client_credentials&"
	    "client_id=bench&client_secret=%s&resource=urn%%3Atokencache%%3A"
	    "bench-api", secret);
	snprintf(host, sizeof(host), "127.0.0.1:%d", env.endpoint_port);
	target_init(&tcp, "endpoint (TCP)", env.endpoint_port, NULL, host,
	    "/oauth/token", body, token, token_len);
	snprintf(sock, sizeof(sock), "%s/endpoint.socket", env.rundir);
	target_init(&unx, "endpoint (Unix socket)", 0, sock, "localhost",
	    "/oauth/token", body, token, token_len);
	/* The OAuth server, for its own client "direct" (another client's
	 * requests, so that the count of tokencached's stays apart). */
	snprintf(body, sizeof(body), "grant_type=client_credentials&"
	    "client_id=direct&client_secret=%s&resource=urn%%3Atokencache%%3A"
	    "bench-api", secret);
	snprintf(host, sizeof(host), "127.0.0.1:%d", env.main_port);
	target_init(&oauth, "OAuth server", env.main_port, NULL, host,
	    "/token", body, NULL, 0);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(body, sizeof(body));

	note("endpoint, kept connection (%d each)", n);
	k_tcp = lat_kept(&tcp, warm, n);
	k_unix = lat_kept(&unx, warm, n);
	pinned = lat_pinned(&tcp, warm, n, &p_same, &p_other) == 0;
	if (!pinned)
		note("could not pin tokencached's worker to a CPU: the pinned "
		    "rows are left out");
	note("endpoint, connection per request (%d each)", nnew);
	n_tcp = lat_new(&tcp, warm / 5, nnew);
	n_unix = lat_new(&unx, warm / 5, nnew);
	note("OAuth server, kept connection (%d)", noauth);
	k_oauth = lat_kept(&oauth, noauth / 10, noauth);
	note("Unix-socket agent and the control socket (%d each)", n);
	agent_start();
	if ((afd = agent_connect()) == -1)
		die("agent: %s", strerror(errno));
	a_kept = lat_fn("agent, kept connection", row_agent_kept, &afd, warm,
	    n);
	close(afd);		/* it serves one connection at a time */
	a_new = lat_fn("agent, new connection", row_agent_new, NULL, warm, n);
	agent_stop();
	ctl = lat_fn("control socket WAIT", row_control_wait, NULL, warm / 5,
	    nnew);
	note("%d keep-alive clients, %.0f s each", CLIENTS, secs);
	throughput(&tcp, CLIENTS, secs, env.worker_pid, &tp_tcp);
	throughput(&unx, CLIENTS, secs, env.worker_pid, &tp_unix);
	throughput(&oauth, CLIENTS, env.quick ? 1 : 3, 0, &tp_oauth);
	up1 = server_requests(env.main_port, "bench");
	note("%d clients at once while there is no token", BURST_CLIENTS);
	burst_ok = cold_burst(&tcp, &burst) == 0;
	if (!burst_ok)
		note("tokencached would not drop the token (not an admin): "
		    "the burst is left out");

	ep_row("E1. endpoint, TCP, kept connection", k_tcp);
	ep_row("E1. endpoint, Unix socket, kept connection", k_unix);
	if (pinned) {
		ep_row("E1. ... TCP, client and daemon pinned to one CPU",
		    p_same);
		ep_row("E1. ... TCP, client and daemon on different CPUs",
		    p_other);
	}
	ep_row("E2. endpoint, TCP, connection per request", n_tcp);
	ep_row("E2. endpoint, Unix socket, connection per request", n_unix);
	ep_row("E3. OAuth server itself, TCP, kept connection", k_oauth);
	ep_row("E4. Unix-socket agent (as 4.), kept connection", a_kept);
	ep_row("E4. Unix-socket agent (as 4.), connection per request", a_new);
	ep_row("E5. tokencached control socket: WAIT, then tc_get", ctl);
	tput_row("endpoint, TCP", &tp_tcp);
	tput_row("endpoint, Unix socket", &tp_unix);
	tput_row("OAuth server itself, TCP", &tp_oauth);
	result("endpoint", "upstream token requests during the part", "bench",
	    "count", (double)(up1 - up0), "");
	snprintf(item, sizeof(item), "%ld", up1 - up0);
	table_row("endpoint-load", 6, "upstream token requests during the "
	    "endpoint part", item, "", "", "", "");

	if (burst_ok) {
		char what[128], waited[64];

		snprintf(what, sizeof(what), "%d clients at once, no token yet "
		    "(the fetch held %d ms): upstream requests", BURST_CLIENTS,
		    BURST_HOLD_MS);
		snprintf(item, sizeof(item), "%ld", burst.upstream);
		snprintf(waited, sizeof(waited), "%.0f", burst.wait.median /
		    1000);
		snprintf(p99s, sizeof(p99s), "%.0f", burst.wait.p99 / 1000);
		result("endpoint-load", what, "", "upstream", (double)
		    burst.upstream, "");
		result("endpoint-load", what, "", "median", burst.wait.median,
		    "ns");
		result("endpoint-load", what, "", "p99", burst.wait.p99, "ns");
		table_row("endpoint-load", 6, what, item, "", "", waited, p99s);
	}
	snprintf(item, sizeof(item), "%.1f us (p99 %.1f us)",
	    k_tcp.median / 1000, k_tcp.p99 / 1000);
	target_row("endpoint, kept TCP connection, median", "<= 100 us",
	    k_tcp.median / 1000, item, k_tcp.median <= 100000);
	snprintf(item, sizeof(item), "%.0f/s", tp_tcp.rate);
	target_row("endpoint, 32 keep-alive clients (TCP)", ">= 10,000/s",
	    tp_tcp.rate, item, tp_tcp.rate >= 10000);
	snprintf(item, sizeof(item), "%ld in %ld token replies",
	    up1 - up0, tokens_served);
	target_row("upstream requests during the endpoint part (token cached)",
	    "0", (double)(up1 - up0), item, up1 == up0);
	if (burst_ok) {
		snprintf(item, sizeof(item), "%ld for %d clients, one token",
		    burst.upstream, burst.replies);
		target_row("upstream requests, many clients and no token", "1",
		    (double)burst.upstream, item, burst.upstream == 1);
	}
	tc_close(client);
	client = NULL;
}
