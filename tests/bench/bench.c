/*
 * bench.c - tc-bench: how fast a token read is, beside what it replaces,
 * and what the daemon costs.  One program, one run, every row measured on
 * this machine in this run.
 *
 *   tc-bench --work DIR --rundir DIR --creds DIR --secret FILE --cred NAME
 *            --main-port N --short-port N --short-ttl S
 *            --monitor-pid P --worker-pid P
 *            --csv FILE --md FILE --plot-data FILE
 *
 * tests/bench/run.sh starts what it needs: a local OAuth server with
 * long-lived tokens (main), one with short-lived tokens (short), and
 * tokencached with NAME configured against main.  The parts:
 *
 *   latency.c   the table: tc_get hot and after a change, a first read in
 *               a new process, and the alternatives (a Unix-socket agent,
 *               a cache file parsed per call, the OAuth server per call),
 *               beside the floor (memcpy, one AEAD decrypt)
 *   sizes.c     the same for 1, 4 and 16 KiB tokens; 10,000 credentials
 *   load.c      reads per second against reader threads and processes
 *               while the token is republished; tokencached with 1,000
 *               credentials; token requests per lifetime against readers
 *
 * Tables go to stdout and, as Markdown, to --md; every number to --csv;
 * the readers' curve to --plot-data (readers.gp draws it).  For trying
 * changes, TC_BENCH_QUICK=1 shortens every measurement and TC_BENCH_ONLY=
 * latency,sizes,many,readers,fleet,load runs only the parts named.
 *
 *   tc-bench first-read RUNDIR NAME | first-ping RUNDIR |
 *            first-agent SOCKET NAME | first-sodium
 *
 * are the children bench_latency runs to time, in a new process, tc_open()
 * and a first tc_get(), and what that costs on this machine whatever the
 * code: a first round trip to tokencached and to a plain socket server,
 * and libsodium's start-up.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "proto.h"
#include "seg.h"
#include "seg_write.h"

struct bench_env env;
char token[TOKEN_BUF];
size_t token_len;

double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "tc-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* Progress, on stderr: stdout carries the tables. */
void
note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct lat
lat_of(double *samples, int n)
{
	struct lat l;

	qsort(samples, (size_t)n, sizeof(samples[0]), cmp_double);
	l.median = samples[n / 2];
	l.p90 = samples[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1];
	l.p99 = samples[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	return l;
}

struct lat
measure(const char *what, bench_fn fn, void *arg, int batch)
{
	static double samples[BATCHES];
	double t0;
	int i, j;

	for (j = 0; j < batch; j++)	/* warm up */
		if (fn(arg) != 0)
			die("%s failed", what);
	for (i = 0; i < BATCHES; i++) {
		t0 = now_ns();
		for (j = 0; j < batch; j++)
			if (fn(arg) != 0)
				die("%s failed", what);
		samples[i] = (now_ns() - t0) / batch;
	}
	return lat_of(samples, BATCHES);
}

void
measure_pair(bench_fn fa, void *a, bench_fn fb, void *b, int batch,
    struct lat *la, struct lat *lb)
{
	static double sa[BATCHES], sb[BATCHES];
	double t0;
	int i, j;

	for (j = 0; j < batch; j++)	/* warm up */
		if (fa(a) != 0 || fb(b) != 0)
			die("measure_pair: a call failed");
	for (i = 0; i < BATCHES; i++) {
		t0 = now_ns();
		for (j = 0; j < batch; j++)
			if (fa(a) != 0)
				die("measure_pair: a call failed");
		sa[i] = (now_ns() - t0) / batch;
		t0 = now_ns();
		for (j = 0; j < batch; j++)
			if (fb(b) != 0)
				die("measure_pair: a call failed");
		sb[i] = (now_ns() - t0) / batch;
	}
	*la = lat_of(sa, BATCHES);
	*lb = lat_of(sb, BATCHES);
}

double
timer_cost(void)
{
	static double cost = -1;
	double s[1001], t;
	int i;

	if (cost >= 0)
		return cost;
	for (i = 0; i < 1001; i++) {
		t = now_ns();
		s[i] = now_ns() - t;
	}
	cost = lat_of(s, 1001).median;
	return cost;
}

/* ---- results ---- */

#define MAX_RESULTS 512
#define MAX_TABLES 12
#define MAX_ROWS 48
#define MAX_CELLS 8
#define CELL 128

static struct {
	char section[24], item[96], param[48], stat[24], unit[16];
	double value;
} results[MAX_RESULTS];
static int nresults;

void
result(const char *section, const char *item, const char *param,
    const char *stat, double value, const char *unit)
{
	if (nresults == MAX_RESULTS)
		die("too many results");
	snprintf(results[nresults].section, sizeof(results[0].section), "%s",
	    section);
	snprintf(results[nresults].item, sizeof(results[0].item), "%s", item);
	snprintf(results[nresults].param, sizeof(results[0].param), "%s",
	    param);
	snprintf(results[nresults].stat, sizeof(results[0].stat), "%s", stat);
	snprintf(results[nresults].unit, sizeof(results[0].unit), "%s", unit);
	results[nresults].value = value;
	nresults++;
}

static struct table {
	char name[24];
	char title[200];
	int ncols, nrows;
	char head[MAX_CELLS][CELL];
	char cell[MAX_ROWS][MAX_CELLS][CELL];
} tables[MAX_TABLES];
static int ntables;

static struct table *
table_find(const char *name)
{
	int i;

	for (i = 0; i < ntables; i++)
		if (strcmp(tables[i].name, name) == 0)
			return &tables[i];
	return NULL;
}

/* Declare a table: name, title, then ncols column headings. */
static void
table_new(const char *name, const char *title, int ncols, ...)
{
	struct table *t = &tables[ntables++];
	va_list ap;
	int i;

	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->title, sizeof(t->title), "%s", title);
	t->ncols = ncols;
	va_start(ap, ncols);
	for (i = 0; i < ncols; i++)
		snprintf(t->head[i], CELL, "%s", va_arg(ap, const char *));
	va_end(ap);
}

void
table_row(const char *section, int ncells, ...)
{
	struct table *t = table_find(section);
	va_list ap;
	int i;

	if (t == NULL || t->nrows == MAX_ROWS || ncells != t->ncols)
		die("table %s: bad row", section);
	va_start(ap, ncells);
	for (i = 0; i < ncells; i++)
		snprintf(t->cell[t->nrows][i], CELL, "%s",
		    va_arg(ap, const char *));
	va_end(ap);
	t->nrows++;
}

void
target_row(const char *what, const char *goal, double value,
    const char *measured, int met)
{
	result("targets", what, goal, "measured", value, "");
	table_row("targets", 4, what, goal, measured, met ? "yes" : "NO");
}

static void
tables_print(FILE *f, int markdown)
{
	struct table *t;
	size_t w[MAX_CELLS];
	int i, r, c;

	for (i = 0; i < ntables; i++) {
		t = &tables[i];
		if (t->nrows == 0)
			continue;
		for (c = 0; c < t->ncols; c++) {
			w[c] = strlen(t->head[c]);
			for (r = 0; r < t->nrows; r++)
				if (strlen(t->cell[r][c]) > w[c])
					w[c] = strlen(t->cell[r][c]);
		}
		fprintf(f, markdown ? "\n**%s**\n\n" : "\n%s\n\n", t->title);
		for (c = 0; c < t->ncols; c++) {
			if (markdown)
				fprintf(f, "| %s ", t->head[c]);
			else if (c == 0)
				fprintf(f, "%-*s", (int)w[c], t->head[c]);
			else
				fprintf(f, "  %*s", (int)w[c], t->head[c]);
		}
		fprintf(f, markdown ? "|\n" : "\n");
		if (markdown) {
			for (c = 0; c < t->ncols; c++)
				fprintf(f, c ? "|---:" : "|---");
			fprintf(f, "|\n");
		}
		for (r = 0; r < t->nrows; r++) {
			for (c = 0; c < t->ncols; c++) {
				if (markdown)
					fprintf(f, "| %s ", t->cell[r][c]);
				else if (c == 0)
					fprintf(f, "%-*s", (int)w[c],
					    t->cell[r][c]);
				else
					fprintf(f, "  %*s", (int)w[c],
					    t->cell[r][c]);
			}
			fprintf(f, markdown ? "|\n" : "\n");
		}
	}
}

static void
csv_write(const char *path)
{
	FILE *f;
	int i;

	if ((f = fopen(path, "w")) == NULL)
		die("%s: %s", path, strerror(errno));
	fprintf(f, "section,item,param,stat,value,unit\n");
	for (i = 0; i < nresults; i++)
		fprintf(f, "%s,\"%s\",%s,%s,%.6g,%s\n", results[i].section,
		    results[i].item, results[i].param, results[i].stat,
		    results[i].value, results[i].unit);
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

void
read_secret(char *out, size_t cap)
{
	FILE *f;

	if ((f = fopen(env.secret_file, "r")) == NULL ||
	    fgets(out, (int)cap, f) == NULL)
		die("%s: cannot read", env.secret_file);
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
}

void
sealed_make(struct sealed *x, const char *name, const char *tok, size_t len)
{
	struct seg_slot s;

	memset(&s, 0, sizeof(s));
	s.name_len = (uint32_t)strlen(name);
	memcpy(s.name, name, s.name_len);
	memcpy(s.token_type, "Bearer", 7);
	x->adlen = seg_build_ad(&s, x->ad);
	randombytes_buf(x->key, sizeof(x->key));
	randombytes_buf(x->nonce, sizeof(x->nonce));
	free(x->ct);
	if ((x->ct = malloc(len + crypto_aead_xchacha20poly1305_ietf_ABYTES)) ==
	    NULL)
		die("out of memory");
	crypto_aead_xchacha20poly1305_ietf_encrypt(x->ct, &x->ctlen,
	    (const unsigned char *)tok, len, x->ad, x->adlen, NULL, x->nonce,
	    x->key);
}

int
sealed_open(const struct sealed *x, char *out)
{
	unsigned long long n;

	return crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out,
	    &n, NULL, x->ct, x->ctlen, x->ad, x->adlen, x->nonce, x->key);
}

void
sealed_free(struct sealed *x)
{
	free(x->ct);
	x->ct = NULL;
}

/* ---- an in-process segment and its key service ---- */

struct inseg {
	struct segw w;
	pthread_mutex_t lock;     /* w: the writer and the key service */
	pthread_t keysrv;
	int lfd;
	int stop;                 /* atomic */
};

static void *
inseg_keysrv(void *arg)
{
	struct inseg *s = arg;
	struct pollfd p;
	struct proto_req q;
	struct proto_resp r;
	int fd;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		p.fd = s->lfd;
		p.events = POLLIN;
		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		if (recv(fd, &q, sizeof(q), 0) != (ssize_t)sizeof(q)) {
			close(fd);
			continue;
		}
		memset(&r, 0, sizeof(r));
		r.magic = PROTO_MAGIC;
		r.version = PROTO_VERSION;
		r.op = q.op;
		if (q.op == PROTO_OP_SEGMENT || (q.op == PROTO_OP_OPEN &&
		    q.name_len <= TC_NAME_MAX)) {
			/* The live segment, read-only, as the daemon hands
			 * it; with OPEN, the key too. */
			if (q.op == PROTO_OP_OPEN) {
				q.name[q.name_len] = '\0';
				pthread_mutex_lock(&s->lock);
				segw_key_for(&s->w, q.name, r.key,
				    &r.key_epoch);
				pthread_mutex_unlock(&s->lock);
			}
			(void)proto_send_with_fd(fd, &r, sizeof(r), s->w.ro_fd);
			sodium_memzero(&r, sizeof(r));
		} else if (q.op == PROTO_OP_KEY && q.name_len <= TC_NAME_MAX) {
			q.name[q.name_len] = '\0';
			pthread_mutex_lock(&s->lock);
			segw_key_for(&s->w, q.name, r.key, &r.key_epoch);
			pthread_mutex_unlock(&s->lock);
			(void)send(fd, &r, sizeof(r), MSG_NOSIGNAL);
			sodium_memzero(&r, sizeof(r));
		}
		close(fd);
	}
	return NULL;
}

struct inseg *
inseg_open(const char *dir, uint32_t nslots, uint32_t token_max)
{
	struct sockaddr_un sun;
	struct inseg *s;
	char err[256];

	if ((s = calloc(1, sizeof(*s))) == NULL)
		die("out of memory");
	if (segw_open(&s->w, dir, nslots, token_max, err, sizeof(err)) != 0)
		die("%s: %s", dir, err);
	pthread_mutex_init(&s->lock, NULL);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
	    SEG_SOCKET_NAME);
	unlink(sun.sun_path);
	if ((s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(s->lfd, 1024) == -1)
		die("%s: %s", sun.sun_path, strerror(errno));
	if (pthread_create(&s->keysrv, NULL, inseg_keysrv, s) != 0)
		die("pthread_create");
	return s;
}

void
inseg_publish(struct inseg *s, const char *name, const char *tok,
    size_t len)
{
	struct segw_meta m;
	uint32_t idx;

	memset(&m, 0, sizeof(m));
	m.token_type = "Bearer";
	m.expires_at = (int64_t)time(NULL) + 3600;
	m.expires_boot_ns = seg_boottime_ns() + INT64_C(3600000000000);
	m.fetched_at = (int64_t)time(NULL);
	m.next_refresh_at = m.fetched_at + 2700;
	pthread_mutex_lock(&s->lock);
	if (segw_assign(&s->w, name, &idx) != 0 ||
	    segw_publish(&s->w, idx, tok, len, &m) != 0)
		die("publish %s failed", name);
	pthread_mutex_unlock(&s->lock);
}

const char *
inseg_dir(const struct inseg *s)
{
	return s->w.dir;
}

void
inseg_close(struct inseg *s)
{
	char path[1024];

	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(s->keysrv, NULL);
	close(s->lfd);
	snprintf(path, sizeof(path), "%s/%s", s->w.dir, SEG_SOCKET_NAME);
	unlink(path);
	segw_close(&s->w, 1);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- steering tokencached and the OAuth servers ---- */

int
write_cred(const char *name, int port, const char *client_id)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", env.credsdir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "[credential]\nprovider = oauth2\n"
	    "token_url = http://127.0.0.1:%d/token\n"
	    "client_id = %s\nclient_secret_file = %s\n"
	    "resource = urn:tokencache:bench-api\n", port, client_id,
	    env.secret_file);
	return fclose(f);
}

void
remove_creds(const char *prefix)
{
	char path[1024];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(env.credsdir)) == NULL)
		die("%s: %s", env.credsdir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", env.credsdir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

void
daemon_reload(void)
{
	struct proto_req q;
	struct proto_resp r;
	int rc;

	proto_req_init(&q, PROTO_OP_RELOAD, NULL, 0);
	if ((rc = proto_call(env.rundir, &q, &r, 60000)) != 0)
		die("reload: %s", tc_strerror(rc));
	if (r.status != 0)
		die("reload: %s: %s", tc_strerror(r.status), r.message);
}

struct membuf {
	char *p;
	size_t len;
};

static size_t
membuf_add(char *data, size_t size, size_t n, void *arg)
{
	struct membuf *m = arg;
	char *np;

	if ((np = realloc(m->p, m->len + size * n + 1)) == NULL)
		return 0;
	memcpy(np + m->len, data, size * n);
	m->p = np;
	m->len += size * n;
	m->p[m->len] = '\0';
	return size * n;
}

/* GET (post == 0) or POST to the test controls of an OAuth server. */
static int
http_call(int port, const char *path, int post, struct membuf *out)
{
	char url[256];
	long code = 0;
	CURL *h;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	if ((h = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	if (post)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	if (out != NULL) {
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, membuf_add);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	}
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return (int)code;
}

int
http_post(int port, const char *path)
{
	return http_call(port, path, 1, NULL);
}

/* Token requests the server has counted for client_id (NULL: all). */
long
server_requests(int port, const char *client_id)
{
	struct membuf m = { NULL, 0 };
	struct json_object *j, *by, *v;
	long n = -1;

	if (http_call(port, "/_stats", 0, &m) != 200 ||
	    (j = json_tokener_parse(m.p)) == NULL)
		die("GET /_stats on port %d failed", port);
	if (client_id == NULL) {
		if (json_object_object_get_ex(j, "token_requests", &v))
			n = (long)json_object_get_int64(v);
	} else if (json_object_object_get_ex(j, "by_client", &by)) {
		n = json_object_object_get_ex(by, client_id, &v) ?
		    (long)json_object_get_int64(v) : 0;
	}
	json_object_put(j);
	free(m.p);
	return n;
}

/* utime + stime of a process, from /proc. */
int64_t
proc_cpu_ns(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* Fields after the command, which may hold anything, in parens. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	for (i = 0; i < 11 && p != NULL; i++)	/* to field 14, utime */
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -1;
	return (int64_t)(ut + st) * (1000000000 / sysconf(_SC_CLK_TCK));
}

/* A "Vm..." or "Rss..." line of /proc/PID/status, in KiB. */
long
proc_rss_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			kb = strtol(line + flen + 1, NULL, 10);
	fclose(f);
	return kb;
}

/* ---- main ---- */

static const char *
arg_value(int argc, char **argv, const char *key, int required)
{
	int i;

	for (i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], key) == 0)
			return argv[i + 1];
	if (required)
		die("missing %s", key);
	return NULL;
}

/* Is part to run?  TC_BENCH_ONLY=a,b runs only those (for trying
 * changes); by default everything runs. */
static int
part(const char *name)
{
	const char *only = getenv("TC_BENCH_ONLY"), *p;
	size_t n = strlen(name);

	if (only == NULL || *only == '\0')
		return 1;
	for (p = only; (p = strstr(p, name)) != NULL; p += n)
		if ((p == only || p[-1] == ',') && (p[n] == ',' ||
		    p[n] == '\0'))
			return 1;
	return 0;
}

static void
declare_tables(void)
{
	char title[200];

	table_new("latency", "Per call, on this machine (median and 99th "
	    "percentile)", 4, "operation", "median ns", "p99 ns", "vs hot "
	    "tc_get");
	table_new("targets", "Targets", 4, "target", "goal", "measured",
	    "met");
	table_new("endpoint", "A token through the local token endpoint "
	    "(POST /oauth/token), beside the OAuth server and socket agents: "
	    "one request at a time", 4, "request", "median us", "p90 us",
	    "p99 us");
	snprintf(title, sizeof(title), "Token requests per second from %d "
	    "concurrent keep-alive clients (%d s each; the OAuth server %d s)",
	    32, env.quick ? 1 : 5, env.quick ? 1 : 3);
	table_new("endpoint-load", title, 6, "server", "requests/s",
	    "server CPU us/request", "client CPU", "median us", "p99 us");
	table_new("sizes", "Token size", 7, "token", "tc_get hot ns",
	    "memcpy ns", "ratio", "tc_get changed ns", "decrypt ns", "ratio");
	table_new("many", "10,000 credentials in one segment", 3,
	    "tc_get", "median ns", "p99 ns");
	table_new("readers", "Reads per second against readers, while the "
	    "token is left alone or republished", 7, "readers", "writer", "reads/s",
	    "reads per reader CPU-s", "errors", "writes/s",
	    "writes per writer CPU-s");
	table_new("fleet", "tokencached with 1,000 credentials refreshing",
	    2, "quantity", "value");
	/* Windows as bench_load() sets them. */
	snprintf(title, sizeof(title), "Token requests to the OAuth server "
	    "while N processes each want a token (tokens live %d s; counted "
	    "over %d s through tokencache, %d s with per-process caching)",
	    env.short_ttl, (env.quick ? 1 : 2) * env.short_ttl,
	    env.short_ttl);
	table_new("load", title, 7, "N", "tokencache: requests",
	    "per lifetime", "tokens its readers saw",
	    "first reads retried, errors", "per-process caching: requests",
	    "per lifetime");
}

int
main(int argc, char *argv[])
{
	const char *csv, *md, *plot;
	tc_client *c;
	FILE *f;
	int r;

	if (argc >= 2 && strncmp(argv[1], "first-", 6) == 0)
		return first_child(argc - 1, argv + 1);
	env.work = arg_value(argc, argv, "--work", 1);
	env.rundir = arg_value(argc, argv, "--rundir", 1);
	env.credsdir = arg_value(argc, argv, "--creds", 1);
	env.secret_file = arg_value(argc, argv, "--secret", 1);
	env.cred = arg_value(argc, argv, "--cred", 1);
	env.main_port = atoi(arg_value(argc, argv, "--main-port", 1));
	env.short_port = atoi(arg_value(argc, argv, "--short-port", 1));
	env.short_ttl = atoi(arg_value(argc, argv, "--short-ttl", 1));
	if (arg_value(argc, argv, "--endpoint-port", 0) != NULL)
		env.endpoint_port = atoi(arg_value(argc, argv,
		    "--endpoint-port", 0));
	env.monitor_pid = (pid_t)atol(arg_value(argc, argv, "--monitor-pid",
	    1));
	env.worker_pid = (pid_t)atol(arg_value(argc, argv, "--worker-pid", 1));
	csv = arg_value(argc, argv, "--csv", 1);
	md = arg_value(argc, argv, "--md", 1);
	plot = arg_value(argc, argv, "--plot-data", 1);
	env.self = "/proc/self/exe";
	env.quick = getenv("TC_BENCH_QUICK") != NULL &&
	    strcmp(getenv("TC_BENCH_QUICK"), "1") == 0;
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		die("library initialisation failed");
	setvbuf(stdout, NULL, _IOLBF, 0);

	if ((r = tc_open(&c, env.rundir)) != 0 ||
	    (r = tc_get_wait(c, env.cred, token, sizeof(token), NULL,
	    15000)) != 0)
		die("%s: %s", env.cred, tc_strerror(r));
	token_len = strlen(token);
	tc_close(c);
	declare_tables();

	if (part("latency")) {
		fprintf(stderr, "tc-bench: latency (token of %zu bytes)\n",
		    token_len);
		bench_latency();
	}
	if (part("endpoint")) {
		fprintf(stderr, "tc-bench: the local token endpoint\n");
		bench_endpoint();
	}
	if (part("sizes")) {
		fprintf(stderr, "tc-bench: token sizes\n");
		bench_sizes();
	}
	if (part("many")) {
		fprintf(stderr, "tc-bench: 10,000 credentials\n");
		bench_many();
	}
	if (part("readers")) {
		fprintf(stderr, "tc-bench: readers\n");
		bench_readers(plot);
	}
	if (part("fleet")) {
		fprintf(stderr, "tc-bench: tokencached with 1,000 "
		    "credentials\n");
		bench_fleet();
	}
	if (part("load")) {
		fprintf(stderr, "tc-bench: token requests against readers\n");
		bench_load();
	}

	tables_print(stdout, 0);
	if ((f = fopen(md, "w")) == NULL)
		die("%s: %s", md, strerror(errno));
	tables_print(f, 1);
	fclose(f);
	csv_write(csv);
	curl_global_cleanup();
	return 0;
}
