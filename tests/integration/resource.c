/*
 * resource.c - helpers for the integration tests of resource exhaustion
 * and wall-clock jumps (tests/integration/resources.sh).
 *
 *   tc-resource client RUNTIME_DIR NAME
 *       Uses up its descriptors (RLIMIT_NOFILE lowered to 64), then makes
 *       its first tc_open/tc_get: a TC_E* error, not a crash.  Frees some,
 *       reads the token; uses them up again and reads 1000 times more on
 *       the hot path, which needs no descriptor.  Exit 0 if all held.
 *   tc-resource hog RUNTIME_DIR N SECONDS
 *       Keeps N connections to the control socket open (reconnecting those
 *       the daemon closes) for SECONDS, or until SIGTERM.  Each sends a
 *       PING every 2 s, so that the daemon does not close it as idle.
 *   tc-resource deadline RUNTIME_DIR NAME SECONDS
 *       Reads NAME every 10 ms for SECONDS on the hot path (no
 *       tc_token_info), printing each change of outcome: "ok K" (the K-th
 *       distinct token) or "error MESSAGE".  A token returned after its
 *       CLOCK_BOOTTIME deadline prints "LATE ..." and fails the run.
 *   tc-resource suspend RUNTIME_DIR NAME SECONDS
 *       As root, under libfaketime: reads NAME on the hot path for 1.5 s,
 *       then sees a suspend of SECONDS as a resume shows one: the wall
 *       clock (its libfaketime file) and CLOCK_BOOTTIME (a time namespace
 *       of its own, entered with setns) on by SECONDS, CLOCK_MONOTONIC
 *       not, with no read in between.  Prints "before: ok, MS ms left",
 *       then "hot path: ok, same token" (or "another token", or "error
 *       MESSAGE") and "exact: ok, MS ms left" (or "error MESSAGE").
 *       Exits 3 when there is no time namespace to make the suspend in.
 *   tc-resource clocks
 *       Prints time() and CLOCK_BOOTTIME in seconds (is libfaketime faking
 *       the one and leaving the other alone?).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "outcome.h"
#include "proto.h"
#include "tokencache.h"

#define NS_PER_MS INT64_C(1000000)

static char buf[65536], first[65536];

static int64_t
boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Open /dev/null until EMFILE; returns how many, fds in *fds. */
static int
use_up_fds(int *fds, int max)
{
	int n = 0, fd;

	while (n < max && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1)
		fds[n++] = fd;
	if (n == max || errno != EMFILE) {
		fprintf(stderr, "could not use up the descriptors (%d): %s\n",
		    n, strerror(errno));
		return -1;
	}
	return n;
}

static int
is_tc_error(int r)
{
	return r < 0 && r >= TC_EDECRYPT && strcmp(tc_strerror(r),
	    tc_strerror(-1000)) != 0;
}

static int
client(const char *dir, const char *name)
{
	struct rlimit rl = { 64, 64 };
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c = NULL;
	int fds[128], n, i, r, st = 1;

	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    (n = use_up_fds(fds, 128)) < 0)
		return 1;
	printf("descriptors used up: %d more opened\n", n);
	r = tc_open(&c, dir);
	printf("tc_open with no descriptor free: %d (%s)\n", r,
	    r ? tc_strerror(r) : "ok");
	if (r == 0) {
		r = tc_get(c, name, buf, sizeof(buf), &info);
		printf("first tc_get with no descriptor free: %d (%s)\n", r,
		    r ? tc_strerror(r) : "ok");
		if (r == 0) {
			fprintf(stderr, "a first read cannot work without a "
			    "descriptor (the key comes over the socket)\n");
			goto out;
		}
	}
	if (!is_tc_error(r)) {
		fprintf(stderr, "not a documented TC_E* code: %d\n", r);
		goto out;
	}
	/* Free a few: the next call must work. */
	for (i = 0; i < 8; i++)
		close(fds[--n]);
	if (c == NULL && (r = tc_open(&c, dir)) != 0) {
		fprintf(stderr, "tc_open after freeing: %s\n", tc_strerror(r));
		goto out;
	}
	if ((r = tc_get_wait(c, name, first, sizeof(first), &info, 15000)) != 0) {
		fprintf(stderr, "tc_get after freeing: %s\n", tc_strerror(r));
		goto out;
	}
	printf("after freeing 8: token read\n");
	/* None free again: the hot path needs none. */
	for (i = 0; i < 8; i++)
		if ((fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1)
			n++;
	if (open("/dev/null", O_RDONLY | O_CLOEXEC) != -1 || errno != EMFILE) {
		fprintf(stderr, "descriptors left free\n");
		goto out;
	}
	for (i = 0; i < 1000; i++) {
		if ((r = tc_get(c, name, buf, sizeof(buf), i % 2 ? &info :
		    NULL)) != 0 || strcmp(buf, first) != 0) {
			fprintf(stderr, "hot read %d with no descriptor free: "
			    "%s\n", i, r ? tc_strerror(r) : "another token");
			goto out;
		}
	}
	printf("1000 hot reads with no descriptor free: the same token\n");
	st = 0;
 out:
	tc_close(c);
	while (n > 0)
		close(fds[--n]);
	return st;
}

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
connect_one(const struct sockaddr_un *sun)
{
	int fd;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
hog(const char *dir, int n, int seconds)
{
	struct sockaddr_un sun;
	struct pollfd *p;
	struct proto_req ping;
	struct proto_resp r;
	int64_t end = boot_ns() + (int64_t)seconds * 1000 * NS_PER_MS;
	int64_t next_ping = 0;
	ssize_t got;
	int i, pinging;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/socket", dir);
	signal(SIGTERM, on_term);
	if (n <= 0 || (p = calloc((size_t)n, sizeof(*p))) == NULL)
		return 1;
	for (i = 0; i < n; i++)
		p[i].fd = -1;
	if (proto_req_init(&ping, PROTO_OP_PING, NULL, 0) != 0)
		return 1;
	while (!stop && boot_ns() < end) {
		if ((pinging = boot_ns() >= next_ping))
			next_ping = boot_ns() + 2000 * NS_PER_MS;
		for (i = 0; i < n; i++) {
			while (p[i].fd != -1 && (got = recv(p[i].fd, &r,
			    sizeof(r), MSG_DONTWAIT)) != -1) {
				if (got == 0) {	/* closed by the daemon */
					close(p[i].fd);
					p[i].fd = -1;
				}
			}
			if (p[i].fd == -1)
				p[i].fd = connect_one(&sun);
			if (p[i].fd != -1 && pinging)
				(void)send(p[i].fd, &ping, sizeof(ping),
				    MSG_DONTWAIT | MSG_NOSIGNAL);
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		(void)poll(p, (nfds_t)n, 100);
	}
	for (i = 0; i < n; i++)
		if (p[i].fd != -1)
			close(p[i].fd);
	free(p);
	return 0;
}

/* The deadline of the token tc_get just returned, from above. */
static int
deadline_of(tc_client *c, const char *name, int64_t *deadline)
{
	tc_token_info info = TC_TOKEN_INFO_INIT;
	int r;

	r = tc_get(c, name, buf, sizeof(buf), &info);
	*deadline = boot_ns() + info.expires_in_ms * NS_PER_MS + NS_PER_MS;
	return r;
}

static int
deadline(const char *dir, const char *name, int seconds)
{
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c;
	char last[OUTCOME_LINE] = "";
	int64_t dl = 0, t, end;
	int r, k = 0, late = 0;

	if ((r = tc_open(&c, dir)) != 0 ||
	    (r = tc_get_wait(c, name, buf, sizeof(buf), &info, 15000)) != 0) {
		fprintf(stderr, "tc-resource: %s: %s\n", name, tc_strerror(r));
		return 1;
	}
	first[0] = '\0';
	end = boot_ns() + (int64_t)seconds * 1000 * NS_PER_MS;
	while ((t = boot_ns()) < end) {
		r = tc_get(c, name, buf, sizeof(buf), NULL);
		if (r == 0 && strcmp(buf, first) != 0) {
			/* A new token: learn its deadline (with info, the
			 * exact check), and keep it as the one to compare. */
			memcpy(first, buf, sizeof(first));
			if (deadline_of(c, name, &dl) != 0 ||
			    strcmp(buf, first) != 0) {
				first[0] = '\0';
				continue;
			}
			k++;
		} else if (r == 0 && t > dl) {
			printf("LATE: a token served %lld ms after its "
			    "deadline\n", (long long)((t - dl) / NS_PER_MS));
			fflush(stdout);
			late++;
		}
		outcome_read(last, r, (unsigned long long)k);
		usleep(10000);
	}
	tc_close(c);
	return late ? 1 : 0;
}

/*
 * Move this process's CLOCK_BOOTTIME and (through libfaketime's file) its
 * wall clock on by seconds, CLOCK_MONOTONIC staying: a resume.  No read in
 * between.  0 when done, 3 when there is no time namespace to be had, 1
 * on any other failure.
 */
static int
make_suspend(int seconds)
{
	const char *ft = getenv("FAKETIME_TIMESTAMP_FILE");
	const char *step = "unshare";
	char line[64];
	FILE *f = NULL;
	int fd = -1, ns = -1, n, ret = 3;

	if (ft == NULL) {
		fprintf(stderr, "suspend: not under libfaketime\n");
		return 1;
	}
	if (unshare(CLONE_NEWTIME) == -1)
		goto out;
	step = "/proc/self/timens_offsets";
	n = snprintf(line, sizeof(line), "boottime %d 0\n", seconds);
	if ((fd = open(step, O_WRONLY | O_CLOEXEC)) == -1)
		goto out;
	errno = EIO;
	if (write(fd, line, (size_t)n) != n)
		goto out;
	step = "/proc/self/ns/time_for_children";
	if ((ns = open(step, O_RDONLY | O_CLOEXEC)) == -1)
		goto out;
	step = "setns";
	if (setns(ns, CLONE_NEWTIME) == -1)
		goto out;
	/* CLOCK_BOOTTIME has moved on; now the wall clock. */
	ret = 1;
	step = ft;
	if ((f = fopen(ft, "w")) == NULL)
		goto out;
	n = fprintf(f, "+%ds\n", seconds);
	if (fclose(f) != 0 || n < 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	ret = 0;
 out:
	if (ret != 0)
		printf("%s%s: %s\n", ret == 3 ? "no time namespace: " :
		    "suspend: ", step, strerror(errno));
	if (f != NULL)
		fclose(f);
	if (fd != -1)
		close(fd);
	if (ns != -1)
		close(ns);
	return ret;
}

static int
suspend(const char *dir, const char *name, int seconds)
{
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c;
	int64_t end;
	int r;

	if ((r = tc_open(&c, dir)) != 0 ||
	    (r = tc_get_wait(c, name, buf, sizeof(buf), &info, 15000)) != 0) {
		fprintf(stderr, "tc-resource: %s: %s\n", name, tc_strerror(r));
		return 1;
	}
	end = boot_ns() + 1500 * NS_PER_MS;
	while (boot_ns() < end && (r = tc_get(c, name, buf, sizeof(buf),
	    NULL)) == 0)
		usleep(10000);
	if (r != 0 || (r = tc_get(c, name, first, sizeof(first), &info)) != 0) {
		printf("before: error %s\n", tc_strerror(r));
		return 1;
	}
	printf("before: ok, %lld ms left\n", (long long)info.expires_in_ms);
	/* The last read before the suspend is a hot one, as in a program
	 * that was reading when the machine went to sleep. */
	if ((r = tc_get(c, name, buf, sizeof(buf), NULL)) != 0 ||
	    strcmp(buf, first) != 0) {
		printf("before: the token changed\n");
		return 1;
	}
	if ((r = make_suspend(seconds)) != 0)
		return r;
	r = tc_get(c, name, buf, sizeof(buf), NULL);
	if (r == 0)
		printf("hot path: ok, %s token\n", strcmp(buf, first) == 0 ?
		    "same" : "another");
	else
		printf("hot path: error %s\n", tc_strerror(r));
	r = tc_get(c, name, buf, sizeof(buf), &info);
	if (r == 0)
		printf("exact: ok, %lld ms left\n",
		    (long long)info.expires_in_ms);
	else
		printf("exact: error %s\n", tc_strerror(r));
	tc_close(c);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "clocks") == 0) {
		printf("%lld %lld\n", (long long)time(NULL),
		    (long long)(boot_ns() / 1000000000));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "client") == 0)
		return client(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "hog") == 0)
		return hog(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 5 && strcmp(argv[1], "deadline") == 0)
		return deadline(argv[2], argv[3], atoi(argv[4]));
	if (argc == 5 && strcmp(argv[1], "suspend") == 0)
		return suspend(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: tc-resource client DIR NAME | "
	    "hog DIR N SECONDS | deadline DIR NAME SECONDS | "
	    "suspend DIR NAME SECONDS | clocks\n");
	return 2;
}
