/*
 * sockfuzz.c - abuse tokencached's control socket, for the integration
 * tests (run as an unprivileged user who may read nothing).
 *
 *   tc-sockfuzz fuzz  RUNTIME_DIR NAME N   N connections each sending random
 *                                          or truncated or mutated messages;
 *                                          fails if any reply hands out a key
 *   tc-sockfuzz flood RUNTIME_DIR N        N PINGs on one connection as fast
 *                                          as possible; prints how many were
 *                                          answered "rate limited"
 *   tc-sockfuzz conns RUNTIME_DIR N        opens N connections at once;
 *                                          prints how many the daemon kept
 *   tc-sockfuzz hoard RUNTIME_DIR NAME SECONDS
 *                                          asks for segments (OPEN NAME and
 *                                          SEGMENT), 50 a second, on ever
 *                                          more connections, and never reads
 *                                          a reply nor closes a socket until
 *                                          the end (every fourth shuts its
 *                                          sending side): every descriptor
 *                                          sent stays in flight
 *   tc-sockfuzz deny RUNTIME_DIR NAME N [K OPS]
 *                                          asks for NAME's key N times, as
 *                                          fast as it can (a connection
 *                                          each, as the library does);
 *                                          prints how many replies said
 *                                          denied, busy, other, and the time;
 *                                          with K and OPS, for NAME0 ..
 *                                          NAME<K-1> in turn, each with the
 *                                          operations OPS (k key, w wait,
 *                                          i invalidate)
 *   tc-sockfuzz silent RUNTIME_DIR N MS PID
 *                                          holds N connections that never
 *                                          speak, then PINGs on one more;
 *                                          fails unless it is answered
 *                                          within MS of the first connect,
 *                                          or if process PID (the worker)
 *                                          then spends over half of the
 *                                          next second on the CPU
 *   tc-sockfuzz doc RUNTIME_DIR OP [again]
 *                                          asks for the document of OP
 *                                          (12 metrics, 13 status) and
 *                                          prints it; fails unless it comes
 *                                          as a sealed memfd that cannot be
 *                                          written; with "again", asks once
 *                                          more on the same connection and
 *                                          fails unless the daemon hangs up
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "tokencache.h"

static int
connect_to(const char *dir)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
	    SEG_SOCKET_NAME);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait up to ms for a reply; 1 and *r filled if one came. */
static int
get_reply(int fd, struct proto_resp *r, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = recv(fd, r, sizeof(*r), MSG_TRUNC);
	return n == (ssize_t)sizeof(*r);
}

static int
all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static int
fuzz(const char *dir, const char *name, int n)
{
	unsigned char buf[sizeof(struct proto_req) * 2];
	struct proto_req q;
	struct proto_resp r;
	int i, fd, leaked = 0, answered = 0, ops[] = { PROTO_OP_KEY, PROTO_OP_WAIT,
	    PROTO_OP_REFRESH, PROTO_OP_RELOAD, PROTO_OP_ROTATE, PROTO_OP_INVALIDATE };
	size_t len;

	srandom(12345);
	for (i = 0; i < n; i++) {
		if ((fd = connect_to(dir)) == -1) {
			/* Rate limits or the connection cap: wait a bit. */
			usleep(20000);
			continue;
		}
		proto_req_init(&q, PROTO_OP_KEY, name, 0);
		switch (i % 6) {
		case 0:		/* random bytes, random length */
			len = (size_t)random() % sizeof(buf);
			for (size_t j = 0; j < len; j++)
				buf[j] = (unsigned char)random();
			break;
		case 1:		/* a valid request, truncated */
			len = (size_t)random() % sizeof(q);
			memcpy(buf, &q, sizeof(q));
			break;
		case 2:		/* a valid request with one byte flipped */
			memcpy(buf, &q, sizeof(q));
			buf[(size_t)random() % sizeof(q)] ^=
			    (unsigned char)(1 + random() % 255);
			len = sizeof(q);
			break;
		case 3:		/* every op on the name, as this user */
			q.op = (uint16_t)ops[random() % 6];
			memcpy(buf, &q, sizeof(q));
			len = sizeof(q);
			break;
		case 4:		/* a name length past the field */
			q.name_len = (uint32_t)random();
			memcpy(buf, &q, sizeof(q));
			len = sizeof(q);
			break;
		default:	/* too long */
			memcpy(buf, &q, sizeof(q));
			len = sizeof(q) + 1 + (size_t)random() % sizeof(q);
			break;
		}
		(void)send(fd, buf, len, MSG_NOSIGNAL);
		if (get_reply(fd, &r, 200)) {
			answered++;
			if (r.status == 0 && !all_zero(r.key, sizeof(r.key))) {
				fprintf(stderr, "sockfuzz: case %d: a key was "
				    "handed out\n", i % 6);
				leaked++;
			}
		}
		close(fd);
	}
	printf("fuzz: %d messages, %d answered, %d keys leaked\n", n, answered,
	    leaked);
	return leaked == 0 ? 0 : 1;
}

static int
flood(const char *dir, int n)
{
	struct proto_req q;
	struct proto_resp r;
	int i, fd, limited = 0, ok = 0;

	proto_req_init(&q, PROTO_OP_PING, NULL, 0);
	for (i = 0; i < n; i++) {
		/* A limited peer is cut off: connect again. */
		if ((fd = connect_to(dir)) == -1)
			return 1;
		while (i < n && send(fd, &q, sizeof(q), MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(q) && get_reply(fd, &r, 1000)) {
			if (r.status == TC_EBUSY) {
				limited++;
				break;
			}
			ok++;
			i++;
		}
		close(fd);
	}
	printf("flood: %d answered, %d rate limited\n", ok, limited);
	return 0;
}

static int
conns(const char *dir, int n)
{
	struct proto_req q;
	struct proto_resp r;
	int *fds = calloc((size_t)n, sizeof(int)), i, kept = 0;

	if (fds == NULL)
		return 1;
	for (i = 0; i < n; i++)
		fds[i] = connect_to(dir);
	proto_req_init(&q, PROTO_OP_PING, NULL, 0);
	for (i = 0; i < n; i++) {
		if (fds[i] != -1 && send(fds[i], &q, sizeof(q), MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(q) && get_reply(fds[i], &r, 2000) &&
		    r.status == 0)
			kept++;
	}
	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
	free(fds);
	printf("conns: %d of %d served\n", kept, n);
	return 0;
}

#define HOARD_MAX 400

static int
hoard(const char *dir, const char *name, int seconds)
{
	struct proto_req open_q, seg_q;
	int fds[HOARD_MAX], n = 0, i, tick, sent = 0, failed = 0, fd;
	time_t end = time(NULL) + seconds;

	if (proto_req_init(&open_q, PROTO_OP_OPEN, name, 0) != 0 ||
	    proto_req_init(&seg_q, PROTO_OP_SEGMENT, NULL, 0) != 0)
		return 1;
	/*
	 * 25 ticks a second, two requests each, on connections the daemon
	 * has not closed (one it closed keeps what it holds but takes no
	 * more): under the per-user rate (100 a second), so that nothing but
	 * the replies piles up.  A new connection each tick, for when the
	 * daemon closes some.
	 */
	for (tick = 0; time(NULL) < end; tick++) {
		int j, k;

		if (n < HOARD_MAX && (fd = connect_to(dir)) != -1)
			fds[n++] = fd;
		for (i = 0, j = 0; i < 2 && j < n; j++) {
			struct pollfd p;

			k = (tick * 2 + j) % n;
			p.fd = fds[k];
			p.events = 0;
			if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))
				continue;
			if (send(fds[k], i % 2 ? &seg_q : &open_q, sizeof(open_q),
			    MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(open_q))
				sent++;
			else
				failed++;
			/* Every fourth then shuts its sending side: the
			 * daemon sees the end of its input, while the
			 * replies stay queued here. */
			if (k % 4 == 3)
				(void)shutdown(fds[k], SHUT_WR);
			i++;
		}
		usleep(40000);
	}
	printf("hoard: %d connections, %d requests sent, %d not\n", n, sent,
	    failed);
	fflush(stdout);
	for (i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

static long long now_ms(void);

/*
 * k > 0: request i asks for the credential NAME<j> (j = i / strlen(ops)
 * % k) with the operation ops[i % strlen(ops)]: k for KEY, w for WAIT,
 * i for INVALIDATE.
 */
static int
deny(const char *dir, const char *name, int n, int k, const char *ops)
{
	struct proto_req q;
	struct proto_resp r;
	char nm[SEG_NAME_FIELD];
	int i, fd, op, denied = 0, busy = 0, other = 0;
	size_t nops = strlen(ops);
	long long t0 = now_ms();

	if (proto_req_init(&q, PROTO_OP_KEY, name, 0) != 0 || nops == 0)
		return 1;
	for (i = 0; i < n; i++) {
		if (k > 0) {
			op = ops[i % nops] == 'w' ? PROTO_OP_WAIT :
			    ops[i % nops] == 'i' ? PROTO_OP_INVALIDATE : PROTO_OP_KEY;
			snprintf(nm, sizeof(nm), "%s%d", name,
			    (int)((size_t)i / nops % (size_t)k));
			if (proto_req_init(&q, op, nm, op == PROTO_OP_WAIT ? 100 : 0)
			    != 0)
				return 1;
		}
		if ((fd = connect_to(dir)) == -1) {
			other++;
			usleep(1000);
			continue;
		}
		if (send(fd, &q, sizeof(q), MSG_NOSIGNAL) == (ssize_t)sizeof(q) &&
		    get_reply(fd, &r, 1000)) {
			if (r.status == TC_EACCES)
				denied++;
			else if (r.status == TC_EBUSY)
				busy++;
			else
				other++;
		} else
			other++;
		close(fd);
	}
	printf("deny: %d denied, %d busy, %d other in %lld ms\n", denied,
	    busy, other, now_ms() - t0);
	return 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CPU time of process pid so far, in clock ticks; -1 if unknown. */
static long long
cpu_ticks(int pid)
{
	char path[64], line[1024], *p;
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	/* After the command name, which may hold spaces: field 3 on
	 * (the suppressed ones are read as numbers; their width is moot). */
	if (p == NULL || (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/*
 * Silent peers must not hold the connection table: the daemon closes one
 * that has not spoken for a while to make room for a client that does,
 * rather than let that client wait in the backlog until the silent ones
 * reach their deadline.  Prints how many of the n silent connections were
 * closed by the time the PING was answered.  Then, with the table still
 * full of silent connections that may be evicted, the daemon must sleep
 * until something happens, not spin.
 */
static int
silent(const char *dir, int n, int ms, int pid)
{
	long long c0, c1, hz = sysconf(_SC_CLK_TCK);
	struct proto_req q;
	struct proto_resp r;
	int *fds, i, fd = -1, ok, closed = 0;
	long long t0, left;
	char c;

	if (n < 1 || (fds = calloc((size_t)n, sizeof(int))) == NULL) {
		fprintf(stderr, "silent: bad count %d or no memory\n", n);
		return 1;
	}
	t0 = now_ms();
	for (i = 0; i < n; i++)
		if ((fds[i] = connect_to(dir)) == -1)
			break;
	if (i == n) {
		usleep(500 * 1000);
		fd = connect_to(dir);
	}
	if (fd == -1) {
		perror("silent: connect");
		while (--i >= 0)
			if (fds[i] != -1)
				close(fds[i]);
		free(fds);
		return 1;
	}
	proto_req_init(&q, PROTO_OP_PING, NULL, 0);
	left = t0 + ms - now_ms();
	ok = send(fd, &q, sizeof(q), MSG_NOSIGNAL) == (ssize_t)sizeof(q) &&
	    get_reply(fd, &r, left > 0 ? (int)left : 0) && r.status == 0;
	printf("silent: ping %s after %lld ms; ", ok ? "answered" :
	    "not answered", now_ms() - t0);
	c0 = cpu_ticks(pid);
	usleep(1000 * 1000);
	c1 = cpu_ticks(pid);
	for (i = 0; i < n; i++) {
		if (recv(fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0)
			closed++;
		close(fds[i]);
	}
	close(fd);
	free(fds);
	printf("%d of %d silent connections closed by then; the worker "
	    "then used %lld of %lld ticks in 1 s\n", closed, n, c1 - c0, hz);
	if (c0 < 0 || c1 < 0)
		printf("silent: no CPU time for pid %d\n", pid);
	return ok && closed > 0 && c0 >= 0 && c1 >= 0 &&
	    c1 - c0 < hz / 2 ? 0 : 1;
}

static int
doc(const char *dir, int op, int again)
{
	struct proto_req q;
	struct proto_resp r;
	struct pollfd p;
	struct stat st;
	char buf[4096];
	ssize_t n;
	int s, fd = -1, seals, want = F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL;

	if ((s = connect_to(dir)) == -1 ||
	    proto_req_init(&q, op, NULL, 0) != 0 ||
	    send(s, &q, sizeof(q), MSG_NOSIGNAL) != (ssize_t)sizeof(q)) {
		fprintf(stderr, "doc: cannot ask\n");
		return 1;
	}
	p.fd = s;
	p.events = POLLIN;
	if (poll(&p, 1, 5000) != 1 ||
	    proto_recv_with_fd(s, &r, sizeof(r), &fd) != (ssize_t)sizeof(r) ||
	    r.status != 0 || fd == -1) {
		fprintf(stderr, "doc: no reply with a descriptor\n");
		return 1;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals == -1 || (seals & want) != want) {
		fprintf(stderr, "doc: seals %#x, want %#x\n", seals, want);
		return 1;
	}
	if (fstat(fd, &st) != 0 || write(fd, "x", 1) != -1 ||
	    (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY) {
		fprintf(stderr, "doc: the descriptor is writable\n");
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	if (again) {
		if (send(s, &q, sizeof(q), MSG_NOSIGNAL) != (ssize_t)sizeof(q))
			return 0;	/* already gone */
		/* Closed with our request unread: a reset, or the end. */
		if (poll(&p, 1, 5000) != 1 ||
		    ((n = recv(s, &r, sizeof(r), 0)) != 0 &&
		    !(n == -1 && errno == ECONNRESET))) {
			fprintf(stderr, "doc: a second document on the same "
			    "connection was not refused (%zd, %s)\n", n,
			    n == -1 ? strerror(errno) : "");
			return 1;
		}
	}
	close(s);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 5 && strcmp(argv[1], "fuzz") == 0)
		return fuzz(argv[2], argv[3], atoi(argv[4]));
	if (argc == 4 && strcmp(argv[1], "flood") == 0)
		return flood(argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "conns") == 0)
		return conns(argv[2], atoi(argv[3]));
	if (argc == 5 && strcmp(argv[1], "hoard") == 0)
		return hoard(argv[2], argv[3], atoi(argv[4]));
	if (argc == 5 && strcmp(argv[1], "deny") == 0)
		return deny(argv[2], argv[3], atoi(argv[4]), 0, "k");
	if (argc == 7 && strcmp(argv[1], "deny") == 0)
		return deny(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]),
		    argv[6]);
	if ((argc == 4 || (argc == 5 && strcmp(argv[4], "again") == 0)) &&
	    strcmp(argv[1], "doc") == 0)
		return doc(argv[2], atoi(argv[3]), argc == 5);
	if (argc == 6 && strcmp(argv[1], "silent") == 0)
		return silent(argv[2], atoi(argv[3]), atoi(argv[4]),
		    atoi(argv[5]));
	fprintf(stderr, "usage: tc-sockfuzz fuzz DIR NAME N | flood DIR N | "
	    "conns DIR N | hoard DIR NAME SECONDS | deny DIR NAME N [K OPS] | "
	    "silent DIR N MS PID | doc DIR OP [again]\n");
	return 2;
}
