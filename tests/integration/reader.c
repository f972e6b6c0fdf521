/*
 * reader.c - a client of the installed-style shared library, for the
 * integration tests: links -ltokencache only through its public header.
 *
 *   tc-reader RUNTIME_DIR NAME   prints the token, then checks that 1000
 *                                hot reads and a read in a forked child
 *                                return the same token
 *   tc-reader RUNTIME_DIR NAME SECONDS
 *                                also keeps reading every 10 ms for
 *                                SECONDS (while the test restarts the
 *                                daemon) and fails on any error; prints
 *                                each new token
 *   tc-reader RUNTIME_DIR NAME SECONDS watch
 *                                the same, but errors do not stop it: each
 *                                change of outcome is printed as
 *                                "ok GENERATION" or "error MESSAGE"
 *   tc-reader RUNTIME_DIR NAME SECONDS expcheck
 *                                reads every 2 ms for SECONDS, as a service
 *                                would (tc_get, and tc_get_wait for 1 s
 *                                when there is no token), and checks each
 *                                token against its JWT exp claim by the
 *                                wall clock read before the call: prints
 *                                "ok MS" / "error MS MESSAGE" at each change
 *                                of outcome (MS: Unix ms when the call
 *                                returned), then "reads N past_exp P
 *                                max_past_ms M"
 *   tc-reader RUNTIME_DIR NAME N herd
 *                                N processes, held at a barrier, then let
 *                                go at once, each makes its first read
 *                                (tc_open, tc_get_wait); prints how many
 *                                got a token and whether all saw the
 *                                same generation, after each error
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outcome.h"
#include "tokencache.h"

static int
watch(const char *dir, const char *name, int seconds)
{
	static char buf[65536];
	char last[OUTCOME_LINE] = "";
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c;
	int i, r;

	if ((r = tc_open(&c, dir)) != 0 ||
	    (r = tc_get_wait(c, name, buf, sizeof(buf), &info, 15000)) != 0) {
		fprintf(stderr, "tc-reader: %s: %s\n", name, tc_strerror(r));
		return 1;
	}
	for (i = 0; i < seconds * 100; i++) {
		r = tc_get(c, name, buf, sizeof(buf), &info);
		outcome_read(last, r, r == 0 ?
		    (unsigned long long)info.generation : 0);
		usleep(10000);
	}
	tc_close(c);
	return 0;
}

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The exp claim of a JWT, or -1: the payload base64url-decoded, then the
 * digits after "exp":.  Enough for the test server's tokens. */
static long long
jwt_exp(const char *tok)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char out[4096], *p;
	const char *s = strchr(tok, '.'), *c;
	unsigned long acc = 0;
	size_t n = 0;
	int bits = 0;

	if (s == NULL)
		return -1;
	for (s++; *s != '\0' && *s != '.' && n + 1 < sizeof(out); s++) {
		if ((c = strchr(b64, *s)) == NULL)
			return -1;
		acc = (acc << 6) | (unsigned long)(c - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	if ((p = strstr(out, "\"exp\":")) == NULL)
		return -1;
	return strtoll(p + 6, NULL, 10);
}

static int
expcheck(const char *dir, const char *name, int seconds)
{
	static char buf[65536];
	char last[OUTCOME_LINE] = "", line[OUTCOME_LINE];
	long long t, end = wall_ms() + (long long)seconds * 1000, exp;
	long long reads = 0, past = 0, max_past = 0;
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c;
	int r;

	if ((r = tc_open(&c, dir)) != 0) {
		fprintf(stderr, "tc-reader: %s\n", tc_strerror(r));
		return 1;
	}
	while ((t = wall_ms()) < end) {
		r = tc_get(c, name, buf, sizeof(buf), &info);
		if (r == TC_ENOTOKEN || r == TC_EEXPIRED || r == TC_EFAILED)
			r = tc_get_wait(c, name, buf, sizeof(buf), &info, 1000);
		reads++;
		if (r == 0) {
			if ((exp = jwt_exp(buf)) < 0) {
				fprintf(stderr, "tc-reader: not a JWT\n");
				return 1;
			}
			/* t was read before the call: served past exp for
			 * certain if t is past it already. */
			if (t >= exp * 1000) {
				past++;
				if (t - exp * 1000 > max_past)
					max_past = t - exp * 1000;
			}
			if (strncmp(last, "ok", 2) != 0) {
				snprintf(line, sizeof(line), "ok %lld",
				    wall_ms());
				outcome_print(last, line);
			}
		} else if (strncmp(last, "error", 5) != 0) {
			snprintf(line, sizeof(line), "error %lld %s",
			    wall_ms(), tc_strerror(r));
			outcome_print(last, line);
		}
		usleep(2000);
	}
	printf("reads %lld past_exp %lld max_past_ms %lld\n", reads, past,
	    max_past);
	tc_close(c);
	return 0;
}

/*
 * A herd of first reads.  Each child opens its handle after the barrier
 * (a pipe the parent closes), so that the connections reach the daemon
 * together; it reports its token's generation, or its error, on a pipe.
 */
static int
herd(const char *dir, const char *name, int n)
{
	static char buf[65536];
	struct { int r; unsigned long long gen; } rep;
	unsigned long long first_gen = 0;
	int gate[2], out[2], i, ok = 0, same = 1, st;
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c;
	pid_t pid;
	char dummy;

	if (n < 1 || n > 5000 || pipe(gate) == -1 || pipe(out) == -1)
		return 2;
	for (i = 0; i < n; i++) {
		if ((pid = fork()) == -1) {
			perror("tc-reader: fork");
			return 1;
		}
		if (pid > 0)
			continue;
		close(gate[1]);
		close(out[0]);
		if (read(gate[0], &dummy, 1) == -1)	/* EOF: go */
			_exit(1);
		memset(&rep, 0, sizeof(rep));
		if ((rep.r = tc_open(&c, dir)) == 0) {
			rep.r = tc_get_wait(c, name, buf, sizeof(buf), &info,
			    60000);
			rep.gen = info.generation;
			tc_close(c);
		}
		_exit(write(out[1], &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ?
		    0 : 1);
	}
	close(gate[0]);
	close(out[1]);
	close(gate[1]);             /* go */
	for (i = 0; i < n && read(out[0], &rep, sizeof(rep)) ==
	    (ssize_t)sizeof(rep); i++) {
		if (rep.r != 0) {
			printf("error %s\n", tc_strerror(rep.r));
			continue;
		}
		if (ok++ == 0)
			first_gen = rep.gen;
		else if (rep.gen != first_gen)
			same = 0;
	}
	while (wait(&st) > 0)
		;
	printf("%d of %d got a token, %s generation\n", ok, n,
	    same ? "the same" : "not the same");
	return ok == n && same ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	static char buf[65536], again[65536];
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c;
	pid_t pid;
	int r, i, st;

	if (argc == 5 && strcmp(argv[4], "watch") == 0)
		return watch(argv[1], argv[2], atoi(argv[3]));
	if (argc == 5 && strcmp(argv[4], "expcheck") == 0)
		return expcheck(argv[1], argv[2], atoi(argv[3]));
	if (argc == 5 && strcmp(argv[4], "herd") == 0)
		return herd(argv[1], argv[2], atoi(argv[3]));
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: tc-reader RUNTIME_DIR NAME "
		    "[SECONDS [watch]] | N herd\n");
		return 2;
	}
	if (strcmp(tc_version(), TC_VERSION_STRING) != 0) {
		fprintf(stderr, "header %s, library %s\n", TC_VERSION_STRING,
		    tc_version());
		return 1;
	}
	if ((r = tc_open(&c, argv[1])) != 0 ||
	    (r = tc_get_wait(c, argv[2], buf, sizeof(buf), &info, 15000)) != 0) {
		fprintf(stderr, "tc-reader: %s: %s\n", argv[2], tc_strerror(r));
		return 1;
	}
	printf("%s\n", buf);
	fflush(stdout);	/* the tests wait for it before they stop the daemon */
	if (info.length != strlen(buf) || info.expires_in_ms <= 0 ||
	    info.expires_at <= 0) {
		fprintf(stderr, "tc-reader: implausible info\n");
		return 1;
	}
	/*
	 * getppid() brackets the hot reads, so that a test under strace can
	 * check that nothing else between the two is a system call.
	 */
	(void)getppid();
	for (i = 0; i < 1000; i++) {
		if ((r = tc_get(c, argv[2], again, sizeof(again), NULL)) == 0 &&
		    strcmp(again, buf) != 0 && argc == 4) {
			/* Following: a new token is news, not an error. */
			printf("%s\n", again);
			fflush(stdout);
			memcpy(buf, again, sizeof(buf));
		} else if (r != 0 || strcmp(again, buf) != 0) {
			fprintf(stderr, "tc-reader: hot read %d differs\n", i);
			return 1;
		}
	}
	(void)getppid();
	if ((pid = fork()) == 0) {
		r = tc_get(c, argv[2], again, sizeof(again), NULL);
		/* Following, the token may change at any time (a test
		 * refreshing in a loop): then any token will do. */
		_exit(r == 0 && (argc == 4 || strcmp(again, buf) == 0) ?
		    0 : 1);
	}
	if (pid == -1 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "tc-reader: read in a forked child failed%s\n",
		    argc == 4 ? "" : " or gave another token");
		return 1;
	}
	if (argc == 4) {
		int n = atoi(argv[3]) * 100;

		for (i = 0; i < n; i++) {
			if ((r = tc_get(c, argv[2], again, sizeof(again),
			    NULL)) != 0) {
				fprintf(stderr, "tc-reader: read %d: %s\n", i,
				    tc_strerror(r));
				return 1;
			}
			if (strcmp(again, buf) != 0) {
				printf("%s\n", again);
				fflush(stdout);
				memcpy(buf, again, sizeof(buf));
			}
			usleep(10000);
		}
	}
	tc_close(c);
	tc_close(NULL);
	return 0;
}
