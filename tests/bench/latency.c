/*
 * latency.c - the main table: a token read through tokencache beside the
 * ways services get tokens without it, and beside the floor.
 *
 * tokencache: tc_get on an unchanged token (the hot path); right after
 * tokencached published a new one (a seqlock copy of the slot and one
 * decrypt); the first tc_get in a new process (tc_open, the key from the
 * daemon, the read), with what that is made of on this machine whatever
 * the code: a new process's first round trip over a Unix socket, and
 * libsodium's start-up, each timed alone in a new process.
 *
 * The floor: a memcpy of the token, and one decrypt, both in a loop and,
 * as a changed-token read meets it, right after a round trip to the daemon
 * (caches cold).  The ratios the targets name are taken between rows
 * measured alike: the hot path and memcpy in alternating batches, the
 * changed-token read and the cold decrypt in alternating samples.
 *
 * Every alternative serves the same token (the JWT tokencached got from
 * the local OAuth server), and each is written the cheapest way it can be
 * in C, so that it is a lower bound for the real thing:
 *   - a token agent on a Unix socket (SPIRE's agent, gssproxy and Vault
 *     Agent serve tokens so), here a process that answers a fixed-size
 *     request with the token, on a kept-open connection and on a new
 *     connection per request; the real agents add gRPC or HTTP framing;
 *   - a per-user cache file read and parsed on every call, the way
 *     Camunda's Java client re-reads ~/.camunda/credentials: the same
 *     clientId -> auth -> credentials {access_token, expiry, token_type}
 *     layout, as JSON (which is YAML) parsed with json-c, where the Java
 *     client parses YAML with Jackson;
 *   - the OAuth server itself, on every call, over a kept-alive HTTP
 *     connection: what a client without a cache does.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "proto.h"
#include "seg.h"

static tc_client *client;
static char buf[TOKEN_BUF];
static char copybuf[TOKEN_BUF];

/* ---- tokencache ---- */

static int
row_tc_get(void *arg)
{
	(void)arg;
	return tc_get(client, env.cred, buf, sizeof(buf), NULL);
}

static int
row_tc_get_info(void *arg)
{
	/* size alone: zeroing the rest (TC_TOKEN_INFO_INIT) would time the
	 * caller's memset too. */
	tc_token_info info;

	info.size = sizeof(info);

	(void)arg;
	return tc_get(client, env.cred, buf, sizeof(buf), &info);
}

static int row_decrypt(void *arg);

/*
 * Each sample: tokencached fetches and publishes a new token (untimed),
 * then either one tc_get, which copies the slot and decrypts, or, for the
 * floor under the same conditions, one bare decrypt.  Right after the
 * round trip to the daemon the caches are cold, and a decrypt costs more
 * than in a loop.
 */
static void
changed_rows(int n, struct lat *changed, struct lat *cold)
{
	double *sc, *sd, t0, t1, tc = timer_cost();
	tc_token_info info = TC_TOKEN_INFO_INIT;
	uint64_t gen = 0;
	int i, r;

	if ((sc = calloc((size_t)n, sizeof(*sc))) == NULL ||
	    (sd = calloc((size_t)n, sizeof(*sd))) == NULL)
		die("out of memory");
	for (i = 0; i < 2 * n; i++) {
		if ((r = tc_refresh(client, env.cred, 10000)) != 0)
			die("tc_refresh: %s", tc_strerror(r));
		if (i & 1) {
			t0 = now_ns();
			r = row_decrypt(NULL);
			t1 = now_ns();
			if (r != 0)
				die("decrypt failed");
			sd[i / 2] = t1 - t0 - tc;
			continue;
		}
		t0 = now_ns();
		r = tc_get(client, env.cred, buf, sizeof(buf), NULL);
		t1 = now_ns();
		if (r != 0)
			die("tc_get after a refresh: %s", tc_strerror(r));
		sc[i / 2] = t1 - t0 - tc;
		/* Make sure it was a new token. */
		if (tc_get(client, env.cred, buf, sizeof(buf), &info) != 0 ||
		    info.generation == gen)
			die("refresh did not change the token");
		gen = info.generation;
	}
	*changed = lat_of(sc, n);
	*cold = lat_of(sd, n);
	free(sc);
	free(sd);
}

static char agent_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* In a new process: time one thing, print "status nanoseconds". */
int
first_child(int argc, char **argv)
{
	static char tok[TOKEN_BUF];
	struct proto_req q;
	struct proto_resp resp;
	double t0, t1;
	tc_client *c = NULL;
	int r = -1, fd;

	t0 = now_ns();
	if (strcmp(argv[0], "first-read") == 0 && argc == 3) {
		if ((r = tc_open(&c, argv[1])) == 0)
			r = tc_get(c, argv[2], tok, sizeof(tok), NULL);
	} else if (strcmp(argv[0], "first-ping") == 0 && argc == 2) {
		proto_req_init(&q, PROTO_OP_PING, NULL, 0);
		if ((r = proto_call(argv[1], &q, &resp, 5000)) == 0)
			r = resp.status;
	} else if (strcmp(argv[0], "first-agent") == 0 && argc == 3) {
		env.cred = argv[2];
		snprintf(agent_path, sizeof(agent_path), "%s", argv[1]);
		if ((fd = agent_connect()) != -1) {
			r = agent_ask(fd);
			close(fd);
		}
	} else if (strcmp(argv[0], "first-sodium") == 0 && argc == 1) {
		r = sodium_init() < 0 ? -1 : 0;
	}
	t1 = now_ns();
	printf("%d %.0f\n", r, t1 - t0);
	tc_close(c);
	return r == 0 ? 0 : 1;
}

/* Run this program afresh as `tc-bench ARGS...`; its time in ns. */
static double
run_child(const char *const *args)
{
	char out[128], *argv[8];
	double ns;
	pid_t pid;
	ssize_t k;
	int i, p[2], st, r;

	argv[0] = (char *)"tc-bench";
	for (i = 0; args[i] != NULL && i < 6; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	if (pipe2(p, O_CLOEXEC) == -1)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[1], 1);
		execv(env.self, argv);
		_exit(127);
	}
	close(p[1]);
	k = read(p[0], out, sizeof(out) - 1);
	close(p[0]);
	if (waitpid(pid, &st, 0) != pid || k <= 0)
		die("%s child failed", args[0]);
	out[k] = '\0';
	if (sscanf(out, "%d %lf", &r, &ns) != 2 || r != 0)
		die("%s in a new process: %s", args[0], out);
	return ns;
}

/* A child of this process, with the handle it inherits: its first read. */
static double
forked_read(void)
{
	double t0, t1, ns;
	pid_t pid;
	int p[2], st, r;

	if (pipe2(p, O_CLOEXEC) == -1)
		die("pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		t0 = now_ns();
		r = tc_get(client, env.cred, buf, sizeof(buf), NULL);
		t1 = now_ns();
		ns = r == 0 ? t1 - t0 : -1;
		_exit(write(p[1], &ns, sizeof(ns)) == (ssize_t)sizeof(ns) ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], &ns, sizeof(ns)) != (ssize_t)sizeof(ns) || ns < 0)
		die("first read in a forked child failed");
	close(p[0]);
	waitpid(pid, &st, 0);
	return ns;
}

/* The first read in a new process, and what it is made of; the kinds
 * take turns so that each sees the same machine. */
static void
first_rows(int n, struct lat *first, struct lat *sodium, struct lat *ping,
    struct lat *plain, struct lat *forked)
{
	const char *read_args[] = { "first-read", env.rundir, env.cred, NULL };
	const char *ping_args[] = { "first-ping", env.rundir, NULL };
	const char *agent_args[] = { "first-agent", agent_path, env.cred, NULL };
	const char *sodium_args[] = { "first-sodium", NULL };
	double *s[5];
	int i, k;

	for (k = 0; k < 5; k++)
		if ((s[k] = calloc((size_t)n, sizeof(double))) == NULL)
			die("out of memory");
	for (i = 0; i < n; i++) {
		s[0][i] = run_child(read_args);
		s[1][i] = run_child(sodium_args);
		s[2][i] = run_child(ping_args);
		s[3][i] = run_child(agent_args);
		s[4][i] = forked_read();
	}
	*first = lat_of(s[0], n);
	*sodium = lat_of(s[1], n);
	*ping = lat_of(s[2], n);
	*plain = lat_of(s[3], n);
	*forked = lat_of(s[4], n);
	for (k = 0; k < 5; k++)
		free(s[k]);
}

/* ---- a token agent on a Unix socket ---- */

struct agent_req {               /* what a client asks: op and name */
	uint32_t op;
	uint32_t name_len;
	char name[128];
};

static pid_t agent_pid;
static int agent_fd = -1;

static int
full_read(int fd, void *p, size_t n)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		k = read(fd, (char *)p + got, n - got);
		if (k <= 0) {
			if (k == -1 && errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)k;
	}
	return 0;
}

static int
full_write(int fd, const void *p, size_t n)
{
	size_t done = 0;
	ssize_t k;

	while (done < n) {
		k = write(fd, (const char *)p + done, n - done);
		if (k <= 0) {
			if (k == -1 && errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)k;
	}
	return 0;
}

/* The agent: one connection at a time, each answered until it closes. */
static void
agent_main(int lfd)
{
	struct agent_req q;
	uint32_t len = (uint32_t)token_len;
	int fd;

	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		while (full_read(fd, &q, sizeof(q)) == 0) {
			if (q.name_len > sizeof(q.name) ||
			    full_write(fd, &len, sizeof(len)) != 0 ||
			    full_write(fd, token, token_len) != 0)
				break;
		}
		close(fd);
	}
}

void
agent_start(void)
{
	struct sockaddr_un sun;
	int lfd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(agent_path, sizeof(agent_path), "%s/agent.sock",
	    env.work) >= (int)sizeof(agent_path))
		die("%s: path too long for a socket", env.work);
	memcpy(sun.sun_path, agent_path, sizeof(sun.sun_path));
	unlink(agent_path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 64) == -1)
		die("agent socket: %s", strerror(errno));
	if ((agent_pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (agent_pid == 0)
		agent_main(lfd);
	close(lfd);
}

void
agent_stop(void)
{
	if (agent_fd != -1)
		close(agent_fd);
	kill(agent_pid, SIGTERM);
	waitpid(agent_pid, NULL, 0);
	unlink(agent_path);
}

int
agent_connect(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, agent_path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
agent_ask(int fd)
{
	struct agent_req q;
	uint32_t len;

	memset(&q, 0, sizeof(q));
	q.op = 1;
	q.name_len = (uint32_t)strlen(env.cred);
	memcpy(q.name, env.cred, q.name_len);
	if (full_write(fd, &q, sizeof(q)) != 0 ||
	    full_read(fd, &len, sizeof(len)) != 0 || len >= sizeof(copybuf) ||
	    full_read(fd, copybuf, len) != 0)
		return -1;
	copybuf[len] = '\0';
	return 0;
}

/* The agent on the connection *arg (an int). */
int
row_agent_kept(void *arg)
{
	return agent_ask(*(int *)arg);
}

/* The agent on a connection of its own. */
int
row_agent_new(void *arg)
{
	int fd, r;

	(void)arg;
	if ((fd = agent_connect()) == -1)
		return -1;
	r = agent_ask(fd);
	close(fd);
	return r;
}

static int
row_ping(void *arg)
{
	struct proto_req q;
	struct proto_resp r;

	(void)arg;
	proto_req_init(&q, PROTO_OP_PING, NULL, 0);
	if (proto_call(env.rundir, &q, &r, 2000) != 0)
		return -1;
	return r.status;
}

/* ---- a cache file parsed on every call ---- */

static char cache_path[256];
static char filebuf[TOKEN_BUF + 4096];

static void
cache_file_write(void)
{
	char expiry[64];
	time_t t = time(NULL) + 3600;
	struct tm tm;
	FILE *f;

	snprintf(cache_path, sizeof(cache_path), "%s/camunda-credentials",
	    env.work);
	gmtime_r(&t, &tm);
	strftime(expiry, sizeof(expiry), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	if ((f = fopen(cache_path, "w")) == NULL)
		die("%s: %s", cache_path, strerror(errno));
	fprintf(f, "{\"%s\": {\"auth\": {\"credentials\": {\"access_token\": "
	    "\"%s\", \"expiry\": \"%s\", \"token_type\": \"Bearer\"}}}}\n",
	    env.cred, token, expiry);
	fclose(f);
}

static int
row_cache_file(void *arg)
{
	struct json_object *j, *o, *tok, *exp;
	struct stat st;
	struct tm tm;
	ssize_t n;
	int fd, r = -1;

	(void)arg;
	if ((fd = open(cache_path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_size >= (off_t)sizeof(filebuf) ||
	    (n = read(fd, filebuf, (size_t)st.st_size)) != st.st_size) {
		close(fd);
		return -1;
	}
	close(fd);
	filebuf[n] = '\0';
	if ((j = json_tokener_parse(filebuf)) == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (json_object_object_get_ex(j, env.cred, &o) &&
	    json_object_object_get_ex(o, "auth", &o) &&
	    json_object_object_get_ex(o, "credentials", &o) &&
	    json_object_object_get_ex(o, "access_token", &tok) &&
	    json_object_object_get_ex(o, "expiry", &exp) &&
	    strptime(json_object_get_string(exp), "%Y-%m-%dT%H:%M:%S",
	    &tm) != NULL && timegm(&tm) > time(NULL)) {
		memcpy(copybuf, json_object_get_string(tok),
		    (size_t)json_object_get_string_len(tok) + 1);
		r = 0;
	}
	json_object_put(j);
	return r;
}

/* ---- the OAuth server on every call ---- */

struct fetch {
	CURL *h;
	char *body;
	size_t len, cap;
};

static size_t
fetch_add(char *data, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t add = size * n;
	char *np;

	if (f->len + add + 1 > f->cap) {
		if ((np = realloc(f->body, f->len + add + 1)) == NULL)
			return 0;
		f->body = np;
		f->cap = f->len + add + 1;
	}
	memcpy(f->body + f->len, data, add);
	f->len += add;
	f->body[f->len] = '\0';
	return add;
}

static struct fetch oauth;
static char oauth_form[512];

static int
row_oauth(void *arg)
{
	struct json_object *j, *tok;
	long code = 0;
	int r = -1;

	(void)arg;
	oauth.len = 0;
	if (curl_easy_perform(oauth.h) != CURLE_OK)
		return -1;
	curl_easy_getinfo(oauth.h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 || (j = json_tokener_parse(oauth.body)) == NULL)
		return -1;
	if (json_object_object_get_ex(j, "access_token", &tok)) {
		memcpy(copybuf, json_object_get_string(tok),
		    (size_t)json_object_get_string_len(tok) + 1);
		r = 0;
	}
	json_object_put(j);
	return r;
}

static void
oauth_setup(void)
{
	static char url[128];
	char secret[256];

	read_secret(secret, sizeof(secret));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/token", env.main_port);
	snprintf(oauth_form, sizeof(oauth_form), "grant_type="
	    "client_credentials&client_id=direct&client_secret=%s&resource="
	    "urn%%3Atokencache%%3Abench-api", secret);
	sodium_memzero(secret, sizeof(secret));
	if ((oauth.h = curl_easy_init()) == NULL)
		die("curl_easy_init");
	curl_easy_setopt(oauth.h, CURLOPT_URL, url);
	curl_easy_setopt(oauth.h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(oauth.h, CURLOPT_POSTFIELDS, oauth_form);
	curl_easy_setopt(oauth.h, CURLOPT_WRITEFUNCTION, fetch_add);
	curl_easy_setopt(oauth.h, CURLOPT_WRITEDATA, &oauth);
	curl_easy_setopt(oauth.h, CURLOPT_TIMEOUT, 10L);
}

/* ---- the floor ---- */

static struct sealed floor_sealed;

static char *floor_src;

/* What tc_get must do at least: copy the token into the caller's buffer
 * (the same buffer the tc_get rows use), from memory of its own. */
static int
row_memcpy(void *arg)
{
	(void)arg;
	memcpy(buf, floor_src, token_len + 1);
	/* Keep the compiler from dropping the copy. */
	__asm__ volatile("" : : "r"(buf) : "memory");
	return 0;
}

static int
row_decrypt(void *arg)
{
	(void)arg;
	return sealed_open(&floor_sealed, copybuf);
}

/* ---- the table ---- */

static void
lat_row(const char *item, struct lat l, double hot)
{
	char med[32], p99[32], vs[32];

	result("latency", item, "", "median", l.median, "ns");
	result("latency", item, "", "p99", l.p99, "ns");
	snprintf(med, sizeof(med), "%.1f", l.median);
	snprintf(p99, sizeof(p99), "%.1f", l.p99);
	if (hot <= 0)
		snprintf(vs, sizeof(vs), "1");
	else if (l.median / hot >= 100)
		snprintf(vs, sizeof(vs), "%.0fx", l.median / hot);
	else
		snprintf(vs, sizeof(vs), "%.2fx", l.median / hot);
	table_row("latency", 4, item, med, p99, vs);
}

void
bench_latency(void)
{
	struct lat hot, info, copy, changed, cold, first, sodium, ping1, plain1,
	    forked, kept, fresh, ping, file, fetch, dec;
	char item[128];
	int r, n = env.quick ? 40 : 200;

	if ((r = tc_open(&client, env.rundir)) != 0 ||
	    (r = tc_get(client, env.cred, buf, sizeof(buf), NULL)) != 0)
		die("%s: %s", env.cred, tc_strerror(r));
	sealed_make(&floor_sealed, env.cred, token, token_len);
	if ((floor_src = aligned_alloc(64, (token_len + 64) & ~(size_t)63)) ==
	    NULL)
		die("out of memory");
	memcpy(floor_src, token, token_len + 1);
	agent_start();
	cache_file_write();
	oauth_setup();

	note("tc_get, hot, and the floor");
	measure_pair(row_tc_get, NULL, row_memcpy, NULL, 2000, &hot, &copy);
	info = measure("tc_get with info", row_tc_get_info, NULL, 2000);
	dec = measure("decrypt", row_decrypt, NULL, 200);
	note("tc_get after the daemon published a new token (%d)", n);
	changed_rows(n, &changed, &cold);
	note("first read in a new process (%d)", n / 2);
	first_rows(n / 2, &first, &sodium, &ping1, &plain1, &forked);
	note("Unix socket agent");
	if ((agent_fd = agent_connect()) == -1)
		die("agent: %s", strerror(errno));
	kept = measure("agent, kept connection", row_agent_kept, &agent_fd, 50);
	close(agent_fd);	/* the agent serves one connection at a time */
	agent_fd = -1;
	fresh = measure("agent, new connection", row_agent_new, NULL, 20);
	ping = measure("tokencached PING", row_ping, NULL, 10);
	note("cache file");
	file = measure("cache file", row_cache_file, NULL, 50);
	note("OAuth server");
	fetch = measure("OAuth server", row_oauth, NULL, env.quick ? 1 : 2);

	lat_row("1. tc_get, unchanged token (hot path)", hot, 0);
	lat_row("1. the same, asking for tc_token_info too", info, hot.median);
	lat_row("2. tc_get right after tokencached published a new token",
	    changed, hot.median);
	lat_row("3. first tc_get in a new process (tc_open, key, read)",
	    first, hot.median);
	lat_row("3. ... a new process's libsodium start-up (part of it)",
	    sodium, hot.median);
	lat_row("3. ... a new process's first round trip to tokencached",
	    ping1, hot.median);
	lat_row("3. ... a new process's first round trip, Unix-socket agent",
	    plain1, hot.median);
	lat_row("3. first tc_get in a forked child (handle inherited)",
	    forked, hot.median);
	lat_row("4. Unix-socket agent, kept connection", kept, hot.median);
	lat_row("4. Unix-socket agent, connection per request", fresh,
	    hot.median);
	lat_row("4. tokencached PING (connect, request, reply)", ping,
	    hot.median);
	lat_row("5. cache file read and parsed (JSON/YAML)", file,
	    hot.median);
	lat_row("6. OAuth server, every call (HTTP keep-alive)", fetch,
	    hot.median);
	lat_row("7. floor: memcpy of the token", copy, hot.median);
	lat_row("7. floor: one XChaCha20-Poly1305 decrypt, in a loop", dec,
	    hot.median);
	lat_row("7. floor: one decrypt, right after a round trip (as 2.)",
	    cold, hot.median);
	result("latency", "token", env.cred, "bytes", (double)token_len, "B");

	snprintf(item, sizeof(item), "%.2fx", hot.median / copy.median);
	target_row("hot tc_get / memcpy floor", "<= 3x",
	    hot.median / copy.median, item, hot.median <= 3 * copy.median);
	snprintf(item, sizeof(item), "%.0fx", kept.median / hot.median);
	target_row("Unix-socket round trip / hot tc_get", ">= 100x",
	    kept.median / hot.median, item, kept.median >= 100 * hot.median);
	snprintf(item, sizeof(item), "%.2fx", changed.median / cold.median);
	target_row("changed-token tc_get / one decrypt, same conditions",
	    "<= 2x", changed.median / cold.median, item,
	    changed.median <= 2 * cold.median);
	snprintf(item, sizeof(item), "%.2fx", changed.median / dec.median);
	target_row("changed-token tc_get / one decrypt in a loop", "<= 2x",
	    changed.median / dec.median, item,
	    changed.median <= 2 * dec.median);
	snprintf(item, sizeof(item), "%.0f us median, %.0f us p99",
	    first.median / 1000, first.p99 / 1000);
	target_row("first tc_get in a new process", "< 200 us",
	    first.median / 1000, item, first.median < 200000);

	agent_stop();
	curl_easy_cleanup(oauth.h);
	free(oauth.body);
	sealed_free(&floor_sealed);
	free(floor_src);
	tc_close(client);
}
