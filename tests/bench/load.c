/*
 * load.c - tokencache under load.
 *
 * bench_readers: reads per second with 1, 2, 4 and 8 reader threads (one
 * shared handle) and processes (a handle each), while the token is left
 * alone, while tokencached refreshes it in a loop (each refresh a real
 * request to the OAuth server), and while the daemon's segment writer
 * republishes it flat out in this process, so that nearly every read
 * finds a new token.  Reads and writes are also counted per CPU-second
 * spent, which tells contention (fewer per CPU-second) from the two cores
 * being shared out (fewer per second, as many per CPU-second).
 *
 * bench_fleet: tokencached's memory and CPU with 1,000 credentials
 * refreshing against the short-lived OAuth server.
 *
 * bench_load: token requests the OAuth server receives with N = 1, 10,
 * 100 and 1,000 reader processes each wanting a token, through tokencache
 * and, beside it, with every process fetching and caching its own.
 */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "seg.h"

#define MAX_READERS 8

/* Shared with reader processes: an anonymous shared mapping. */
struct rctl {
	int go, stop, ready;      /* atomics */
	struct {
		uint64_t reads, errors;
		int64_t cpu_ns;
		int last_error;
	} r[MAX_READERS];
};

struct reader_arg {
	struct rctl *ctl;
	tc_client *c;             /* NULL: open one (a process) */
	const char *dir, *name;
	int i;
};

static int64_t
cpu_now(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *
reader_main(void *p)
{
	struct reader_arg *a = p;
	struct rctl *ctl = a->ctl;
	clockid_t clk = a->c != NULL ? CLOCK_THREAD_CPUTIME_ID :
	    CLOCK_PROCESS_CPUTIME_ID;
	tc_client *c = a->c;
	uint64_t n = 0, err = 0;
	char b[65536];
	int64_t cpu0;
	int r, last = 0;

	if (c == NULL && tc_open(&c, a->dir) != 0)
		c = NULL;
	if (c == NULL || tc_get(c, a->name, b, sizeof(b), NULL) != 0)
		ctl->r[a->i].errors = 1;	/* cannot start: reported */
	__atomic_add_fetch(&ctl->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&ctl->go, __ATOMIC_ACQUIRE))
		usleep(200);
	cpu0 = cpu_now(clk);
	while (c != NULL && !__atomic_load_n(&ctl->stop, __ATOMIC_RELAXED)) {
		if ((r = tc_get(c, a->name, b, sizeof(b), NULL)) != 0) {
			err++;
			last = r;
		}
		n++;
	}
	ctl->r[a->i].cpu_ns = cpu_now(clk) - cpu0;
	ctl->r[a->i].reads = n;
	ctl->r[a->i].errors += err;
	ctl->r[a->i].last_error = last;
	if (a->c == NULL)
		tc_close(c);
	return NULL;
}

enum writer_kind { W_NONE, W_DAEMON, W_FLAT };

static const char *const writer_name[] = {
	"none", "tokencached refresh loop", "segment writer, flat out",
};

struct writer {
	enum writer_kind kind;
	struct inseg *seg;
	int stop;                 /* atomic */
	uint64_t writes;          /* atomic */
	uint64_t errors;
	pthread_t th;
};

static void *
writer_main(void *p)
{
	struct writer *w = p;
	tc_client *c = NULL;
	int r;

	if (w->kind == W_DAEMON && tc_open(&c, env.rundir) != 0)
		die("tc_open");
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		if (w->kind == W_DAEMON)
			r = tc_refresh(c, env.cred, 10000);
		else {
			inseg_publish(w->seg, "hot", token, token_len);
			r = 0;
		}
		if (r == 0)
			__atomic_add_fetch(&w->writes, 1, __ATOMIC_RELAXED);
		else
			w->errors++;
	}
	tc_close(c);
	return NULL;
}

/* The writer's CPU time so far: its thread, or the daemon's processes. */
static int64_t
writer_cpu(struct writer *w)
{
	clockid_t id;

	if (w->kind == W_DAEMON)
		return proc_cpu_ns(env.monitor_pid) +
		    proc_cpu_ns(env.worker_pid);
	if (pthread_getcpuclockid(w->th, &id) != 0)
		return 0;
	return cpu_now(id);
}

struct point {
	double reads_s, reads_cpu, writes_s, writes_cpu;
	uint64_t errors;
	int last_error;
};

static double
window_s(void)
{
	return env.quick ? 0.3 : 1.0;
}

/* n readers (threads or processes) for one window beside writer w. */
static struct point
run_point(struct writer *w, int n, int processes)
{
	struct reader_arg a[MAX_READERS];
	pthread_t th[MAX_READERS];
	pid_t pid[MAX_READERS];
	struct rctl *ctl;
	struct point pt;
	tc_client *shared = NULL;
	const char *dir, *name;
	uint64_t w0 = 0, w1 = 0, reads = 0;
	int64_t c0 = 0, c1 = 0, rcpu = 0;
	double t0, t1;
	int i;

	memset(&pt, 0, sizeof(pt));
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(ctl, 0, sizeof(*ctl));
	dir = w->kind == W_FLAT ? inseg_dir(w->seg) : env.rundir;
	name = w->kind == W_FLAT ? "hot" : env.cred;
	if (!processes && n > 0 && tc_open(&shared, dir) != 0)
		die("tc_open %s", dir);
	for (i = 0; i < n; i++) {
		a[i].ctl = ctl;
		a[i].c = shared;
		a[i].dir = dir;
		a[i].name = name;
		a[i].i = i;
		if (!processes) {
			if (pthread_create(&th[i], NULL, reader_main, &a[i]) != 0)
				die("pthread_create");
			continue;
		}
		if ((pid[i] = fork()) == -1)
			die("fork: %s", strerror(errno));
		if (pid[i] == 0) {
			reader_main(&a[i]);
			_exit(0);
		}
	}
	while (__atomic_load_n(&ctl->ready, __ATOMIC_ACQUIRE) < n)
		usleep(1000);
	w->stop = 0;
	w->writes = 0;
	if (w->kind != W_NONE &&
	    pthread_create(&w->th, NULL, writer_main, w) != 0)
		die("pthread_create");
	usleep(20000);		/* let the writer get going */
	if (w->kind != W_NONE) {
		w0 = __atomic_load_n(&w->writes, __ATOMIC_RELAXED);
		c0 = writer_cpu(w);
	}
	t0 = now_ns();
	__atomic_store_n(&ctl->go, 1, __ATOMIC_RELEASE);
	usleep((useconds_t)(window_s() * 1e6));
	__atomic_store_n(&ctl->stop, 1, __ATOMIC_RELEASE);
	t1 = now_ns();
	if (w->kind != W_NONE) {
		w1 = __atomic_load_n(&w->writes, __ATOMIC_RELAXED);
		c1 = writer_cpu(w);
		__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
		pthread_join(w->th, NULL);
	}
	for (i = 0; i < n; i++) {
		if (processes)
			waitpid(pid[i], NULL, 0);
		else
			pthread_join(th[i], NULL);
		reads += ctl->r[i].reads;
		rcpu += ctl->r[i].cpu_ns;
		pt.errors += ctl->r[i].errors;
		if (ctl->r[i].last_error != 0)
			pt.last_error = ctl->r[i].last_error;
	}
	tc_close(shared);
	pt.reads_s = (double)reads / ((t1 - t0) / 1e9);
	pt.reads_cpu = rcpu > 0 ? (double)reads / ((double)rcpu / 1e9) : 0;
	pt.writes_s = (double)(w1 - w0) / ((t1 - t0) / 1e9);
	pt.writes_cpu = c1 > c0 ? (double)(w1 - w0) / ((double)(c1 - c0) /
	    1e9) : 0;
	munmap(ctl, sizeof(*ctl));
	return pt;
}

static void
human(char *out, size_t len, double v)
{
	if (v >= 1e6)
		snprintf(out, len, "%.1f M", v / 1e6);
	else if (v >= 1e3)
		snprintf(out, len, "%.1f k", v / 1e3);
	else
		snprintf(out, len, "%.0f", v);
}

static void
point_row(const char *who, struct writer *w, struct point pt)
{
	char c[6][48];

	human(c[0], sizeof(c[0]), pt.reads_s);
	human(c[1], sizeof(c[1]), pt.reads_cpu);
	snprintf(c[2], sizeof(c[2]), "%llu%s%s",
	    (unsigned long long)pt.errors, pt.errors ? " " : "",
	    pt.errors ? tc_strerror(pt.last_error) : "");
	if (w->kind == W_NONE) {
		snprintf(c[3], sizeof(c[3]), "-");
		snprintf(c[4], sizeof(c[4]), "-");
	} else {
		human(c[3], sizeof(c[3]), pt.writes_s);
		human(c[4], sizeof(c[4]), pt.writes_cpu);
	}
	if (pt.reads_s == 0)
		snprintf(c[0], sizeof(c[0]), "-");
	if (pt.reads_cpu == 0)
		snprintf(c[1], sizeof(c[1]), "-");
	table_row("readers", 7, who, writer_name[w->kind], c[0], c[1], c[2],
	    c[3], c[4]);
	result("readers", writer_name[w->kind], who, "reads_per_s",
	    pt.reads_s, "1/s");
	result("readers", writer_name[w->kind], who, "reads_per_cpu_s",
	    pt.reads_cpu, "1/s");
	result("readers", writer_name[w->kind], who, "errors",
	    (double)pt.errors, "");
	result("readers", writer_name[w->kind], who, "writes_per_s",
	    pt.writes_s, "1/s");
	result("readers", writer_name[w->kind], who, "writes_per_cpu_s",
	    pt.writes_cpu, "1/s");
}

void
bench_readers(const char *plot_data)
{
	static const int counts[] = { 1, 2, 4, 8 };
	double curve[3][2][4];
	struct writer w[3];
	struct inseg *seg;
	struct point pt;
	char dir[1024], who[48];
	FILE *f;
	int k, mode, i;

	snprintf(dir, sizeof(dir), "%s/inseg-readers", env.work);
	seg = inseg_open(dir, 16, SEG_TOKEN_MIN);
	inseg_publish(seg, "hot", token, token_len);
	memset(w, 0, sizeof(w));
	for (k = 0; k < 3; k++) {
		w[k].kind = (enum writer_kind)k;
		w[k].seg = seg;
	}
	for (k = 0; k < 3; k++) {
		if (k != W_NONE) {
			note("%s, alone", writer_name[k]);
			pt = run_point(&w[k], 0, 0);
			point_row("0", &w[k], pt);
		}
		for (mode = 0; mode < 2; mode++) {
			for (i = 0; i < 4; i++) {
				snprintf(who, sizeof(who), "%d %s", counts[i],
				    mode ? (counts[i] > 1 ? "processes" :
				    "process") : (counts[i] > 1 ? "threads" :
				    "thread"));
				note("%s, %s", who, writer_name[k]);
				pt = run_point(&w[k], counts[i], mode);
				point_row(who, &w[k], pt);
				curve[k][mode][i] = pt.reads_s;
			}
		}
	}
	inseg_close(seg);
	if ((f = fopen(plot_data, "w")) == NULL)
		die("%s: %s", plot_data, strerror(errno));
	fprintf(f, "# readers, reads/s: threads (none, tokencached refresh "
	    "loop, flat-out writer), processes (same)\n");
	for (i = 0; i < 4; i++)
		fprintf(f, "%d %.0f %.0f %.0f %.0f %.0f %.0f\n", counts[i],
		    curve[0][0][i], curve[1][0][i], curve[2][0][i],
		    curve[0][1][i], curve[1][1][i], curve[2][1][i]);
	fclose(f);
}

/* ---- 1,000 credentials ---- */

#define FLEET 1000

/* Credentials named prefix* that hold a valid token, from the segment. */
static int
count_valid(const char *prefix)
{
	struct seg_map m;
	struct seg_slot s;
	uint32_t i;
	int n = 0;

	if (seg_file_load(&m, env.rundir) != 0)
		return -1;
	for (i = 0; i < m.hdr.nslots; i++)
		if (seg_read_slot(&m, i, &s, NULL) == 0 &&
		    s.use == SLOT_USED && s.state == TS_VALID &&
		    s.ct_len > 0 && strncmp(s.name, prefix,
		    strlen(prefix)) == 0)
			n++;
	seg_map_close(&m);
	return n;
}

static void
fleet_row(const char *what, const char *value, double v, const char *unit)
{
	table_row("fleet", 2, what, value);
	result("fleet", what, "", "value", v, unit);
}

/*
 * Where in its predecessor's lifetime each refresh went out.  Every
 * snapshot of the segment gives each fleet slot's current token: when
 * the request for it was sent and its deadline, on the boot clock (the
 * slot's plan, segment minor 2).  A token that changed between two
 * snapshots was fetched at (sent_new - sent_old) / (deadline_old -
 * sent_old) of the old one's life.  Snapshots come every 2 s, well
 * under 70 % of a lifetime, so no refresh goes unseen.
 */
struct refresh_points {
	int64_t *sent, *deadline;   /* per slot, from the last snapshot */
	uint32_t nslots;
	double *at;
	size_t n, cap;
};

static void
refresh_points_snap(struct refresh_points *rp)
{
	struct seg_map m;
	struct seg_slot s;
	uint32_t i;

	if (seg_file_load(&m, env.rundir) != 0)
		return;
	if (rp->sent == NULL) {
		rp->nslots = m.hdr.nslots;
		if ((rp->sent = calloc(rp->nslots, sizeof(int64_t))) == NULL ||
		    (rp->deadline = calloc(rp->nslots, sizeof(int64_t))) ==
		    NULL)
			die("out of memory");
	}
	for (i = 0; i < m.hdr.nslots && i < rp->nslots; i++) {
		if (seg_read_slot(&m, i, &s, NULL) != 0 ||
		    s.use != SLOT_USED || s.ct_len == 0 ||
		    strncmp(s.name, "fleet-", 6) != 0 ||
		    s.plan.fetched_boot_ns == 0)
			continue;
		if (rp->sent[i] != 0 && s.plan.fetched_boot_ns != rp->sent[i] &&
		    rp->deadline[i] > rp->sent[i]) {
			if (rp->n == rp->cap) {
				rp->cap = rp->cap ? rp->cap * 2 : 1024;
				if ((rp->at = realloc(rp->at, rp->cap *
				    sizeof(double))) == NULL)
					die("out of memory");
			}
			rp->at[rp->n++] = (double)(s.plan.fetched_boot_ns -
			    rp->sent[i]) / (double)(rp->deadline[i] -
			    rp->sent[i]);
		}
		rp->sent[i] = s.plan.fetched_boot_ns;
		rp->deadline[i] = s.expires_boot_ns;
	}
	seg_map_close(&m);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
refresh_points_report(struct refresh_points *rp)
{
	char val[256];
	size_t i, early = 0, late = 0;
	double p50, p99;

	if (rp->n == 0) {
		fleet_row("refresh point, fraction of the lifetime", "none seen",
		    0, "");
		return;
	}
	qsort(rp->at, rp->n, sizeof(double), cmp_double);
	for (i = 0; i < rp->n; i++) {
		early += rp->at[i] < 0.70;
		late += rp->at[i] > 0.80;
	}
	p50 = rp->at[rp->n / 2];
	p99 = rp->at[(rp->n * 99) / 100];
	snprintf(val, sizeof(val), "min %.4f, p50 %.4f, p99 %.4f, max %.4f "
	    "over %zu refreshes; %zu before 0.7000, %zu after 0.8000",
	    rp->at[0], p50, p99, rp->at[rp->n - 1], rp->n, early, late);
	table_row("fleet", 2, "refresh point, fraction of the lifetime", val);
	result("fleet", "refresh point", "", "min", rp->at[0], "");
	result("fleet", "refresh point", "", "p50", p50, "");
	result("fleet", "refresh point", "", "p99", p99, "");
	result("fleet", "refresh point", "", "max", rp->at[rp->n - 1], "");
	result("fleet", "refreshes after 0.80", "", "count", (double)late, "");
	free(rp->sent);
	free(rp->deadline);
	free(rp->at);
}

void
bench_fleet(void)
{
	char name[32], val[96];
	struct seg_map m;
	double t0, t1, ta, tb, win = (env.quick ? 0.5 : 1.0) * env.short_ttl;
	struct refresh_points rp;
	int64_t ca, cb;
	long ra, rb, rss_w, anon_w, rss_m;
	int i, n;

	for (i = 0; i < FLEET; i++) {
		snprintf(name, sizeof(name), "fleet-%04d", i);
		if (write_cred(name, env.short_port, name) != 0)
			die("cannot write %s", name);
	}
	if (http_post(env.short_port, "/_reset") / 100 != 2)
		die("POST /_reset failed");
	t0 = now_ns();
	daemon_reload();
	while ((n = count_valid("fleet-")) < FLEET) {
		if (now_ns() - t0 > 120e9)
			die("only %d of %d credentials got a token", n, FLEET);
		usleep(50000);
	}
	t1 = now_ns();
	note("1,000 tokens in %.1f s; measuring for %.0f s", (t1 - t0) / 1e9,
	    win);
	ca = proc_cpu_ns(env.monitor_pid) + proc_cpu_ns(env.worker_pid);
	ra = server_requests(env.short_port, NULL);
	ta = now_ns();
	memset(&rp, 0, sizeof(rp));
	while (now_ns() - ta < win * 1e9) {
		refresh_points_snap(&rp);
		usleep(2000000);
	}
	refresh_points_snap(&rp);
	cb = proc_cpu_ns(env.monitor_pid) + proc_cpu_ns(env.worker_pid);
	rb = server_requests(env.short_port, NULL);
	tb = now_ns();
	rss_w = proc_rss_kb(env.worker_pid, "VmRSS");
	anon_w = proc_rss_kb(env.worker_pid, "RssAnon");
	rss_m = proc_rss_kb(env.monitor_pid, "VmRSS");
	n = count_valid("fleet-");

	snprintf(val, sizeof(val), "%d, token lifetime %d s", FLEET,
	    env.short_ttl);
	fleet_row("credentials", val, FLEET, "");
	snprintf(val, sizeof(val), "%.1f s", (t1 - t0) / 1e9);
	fleet_row("from reload to a token for each", val, (t1 - t0) / 1e9,
	    "s");
	snprintf(val, sizeof(val), "%ld in %.0f s (%.0f/s)", rb - ra,
	    (tb - ta) / 1e9, (double)(rb - ra) / ((tb - ta) / 1e9));
	fleet_row("token requests (refreshes)", val,
	    (double)(rb - ra) / ((tb - ta) / 1e9), "1/s");
	snprintf(val, sizeof(val), "%.1f %% of one core (%.0f us per "
	    "refresh)", 100.0 * (double)(cb - ca) / (tb - ta),
	    rb > ra ? (double)(cb - ca) / 1e3 / (double)(rb - ra) : 0);
	fleet_row("tokencached CPU (monitor + worker)", val,
	    100.0 * (double)(cb - ca) / (tb - ta), "%");
	snprintf(val, sizeof(val), "%.1f MiB (%.1f MiB of it private)",
	    rss_w / 1024.0, anon_w / 1024.0);
	fleet_row("resident memory, worker", val, rss_w / 1024.0, "MiB");
	snprintf(val, sizeof(val), "%.1f MiB", rss_m / 1024.0);
	fleet_row("resident memory, monitor", val, rss_m / 1024.0, "MiB");
	if (seg_file_load(&m, env.rundir) == 0) {
		snprintf(val, sizeof(val), "%.1f MiB (%u slots of %u bytes)",
		    m.size / 1048576.0, m.hdr.nslots, m.hdr.slot_size);
		fleet_row("segment file", val, m.size / 1048576.0, "MiB");
		seg_map_close(&m);
	}
	snprintf(val, sizeof(val), "%d of %d", n, FLEET);
	fleet_row("valid at the end", val, n, "");
	refresh_points_report(&rp);

	remove_creds("fleet-");
	daemon_reload();
}

/* ---- token requests against readers ---- */

static const int load_n[] = { 1, 10, 100, 1000 };
#define LOAD_GROUPS 4
#define READ_EVERY_US 1000000   /* 1,000 processes waking more often
				 * would take both cores of the machine */

struct lctl {
	int counting;             /* atomic: the window is open */
	int stop;                 /* atomic */
	struct {
		uint64_t min_gen, max_gen;  /* atomic */
		uint64_t errors;            /* atomic */
		uint64_t retries;           /* atomic */
		int last_error, last_retry;
		int started;                /* atomic */
	} g[LOAD_GROUPS];
};

static void
atomic_min_u64(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v < cur && !__atomic_compare_exchange_n(p, &cur, v, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void
atomic_max_u64(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void
load_error(struct lctl *ctl, int g, int r)
{
	__atomic_add_fetch(&ctl->g[g].errors, 1, __ATOMIC_RELAXED);
	ctl->g[g].last_error = r;
}

/* A process that wants a token every READ_EVERY_US, through tokencache. */
static void
tokencache_reader(struct lctl *ctl, int g)
{
	char name[32], b[65536];
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c;
	useconds_t backoff = 10000;
	int r, tries;

	snprintf(name, sizeof(name), "load-%d", load_n[g]);
	if ((r = tc_open(&c, env.rundir)) != 0) {
		load_error(ctl, g, r);
		_exit(1);
	}
	/*
	 * Many processes at once can overrun the daemon's connection table;
	 * what it closes unanswered says "cannot reach tokencached".  Try
	 * again, backing off as a program would, and count it.
	 */
	for (tries = 0; (r = tc_get_wait(c, name, b, sizeof(b), &info,
	    60000)) != 0; tries++) {
		if ((r != TC_ENODAEMON && r != TC_EBUSY &&
		    r != TC_ETIMEDOUT) || tries == 20) {
			load_error(ctl, g, r);
			_exit(1);
		}
		__atomic_add_fetch(&ctl->g[g].retries, 1, __ATOMIC_RELAXED);
		ctl->g[g].last_retry = r;
		usleep(backoff / 2 + (useconds_t)randombytes_uniform(
		    (uint32_t)backoff));
		if (backoff < 1000000)
			backoff *= 2;
	}
	__atomic_add_fetch(&ctl->g[g].started, 1, __ATOMIC_RELAXED);
	while (!__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE)) {
		if ((r = tc_get(c, name, b, sizeof(b), &info)) != 0)
			load_error(ctl, g, r);
		else if (__atomic_load_n(&ctl->counting, __ATOMIC_ACQUIRE)) {
			atomic_min_u64(&ctl->g[g].min_gen, info.generation);
			atomic_max_u64(&ctl->g[g].max_gen, info.generation);
		}
		usleep(READ_EVERY_US);
	}
	tc_close(c);
	_exit(0);
}

struct body {
	char b[8192];
	size_t len;
};

static size_t
body_add(char *data, size_t size, size_t n, void *arg)
{
	struct body *p = arg;

	if (p->len + size * n >= sizeof(p->b))
		return 0;
	memcpy(p->b + p->len, data, size * n);
	p->len += size * n;
	p->b[p->len] = '\0';
	return size * n;
}

/* What a client without tokencache does: fetch a token, keep it in the
 * process until it expires, fetch again. */
static void
perprocess_reader(struct lctl *ctl, int g, const char *secret)
{
	char form[512], url[128], tok[8192];
	struct json_object *j, *v;
	struct body body;
	double expires = 0;
	long code;
	CURL *h;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/token",
	    env.short_port);
	snprintf(form, sizeof(form), "grant_type=client_credentials&"
	    "client_id=perproc-%d&client_secret=%s&resource="
	    "urn%%3Atokencache%%3Abench-api", load_n[g], secret);
	while (!__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE)) {
		if (now_ns() >= expires) {
			body.len = 0;
			code = 0;
			if ((h = curl_easy_init()) == NULL)
				_exit(1);
			curl_easy_setopt(h, CURLOPT_URL, url);
			curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
			curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_add);
			curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
			curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
			if (curl_easy_perform(h) == CURLE_OK)
				curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE,
				    &code);
			curl_easy_cleanup(h);
			j = code == 200 ? json_tokener_parse(body.b) : NULL;
			if (j != NULL &&
			    json_object_object_get_ex(j, "access_token", &v) &&
			    (size_t)json_object_get_string_len(v) < sizeof(tok)) {
				memcpy(tok, json_object_get_string(v),
				    (size_t)json_object_get_string_len(v) + 1);
				if (expires == 0)
					__atomic_add_fetch(&ctl->g[g].started,
					    1, __ATOMIC_RELAXED);
				expires = now_ns() + 1e9 *
				    (json_object_object_get_ex(j, "expires_in",
				    &v) ? json_object_get_double(v) : 60);
			} else {
				load_error(ctl, g, (int)-code);
				expires = now_ns() + 1e9;
			}
			json_object_put(j);
		}
		usleep(READ_EVERY_US);
	}
	_exit(0);
}

/*
 * N = 1, 10, 100, 1000 processes of one kind.  They are forked first and
 * wait on a pipe; released, they start spread over START_SPREAD_US, as a
 * fleet being rolled out does (each costs a few milliseconds of CPU to
 * start, which for a thousand at once would take this machine's two cores
 * for seconds).  The window opens once every one has its first token and
 * lasts `win` seconds; *requests gets, per group, the token requests the
 * server received for client_prefix-N within it.  before() runs with the
 * processes forked, just before they are let go.
 */
#define START_SPREAD_US 5000000

static void
load_run(struct lctl *ctl, int tokencache, const char *secret, double win,
    void (*before)(void), const char *client_prefix, long *requests)
{
	char name[32];
	pid_t *pids;
	double t0;
	long before_win[LOAD_GROUPS];
	int g, i, np = 0, total = 0, started, p[2];
	char x;

	for (g = 0; g < LOAD_GROUPS; g++)
		total += load_n[g];
	if ((pids = calloc((size_t)total, sizeof(*pids))) == NULL)
		die("out of memory");
	memset(ctl, 0, sizeof(*ctl));
	for (g = 0; g < LOAD_GROUPS; g++)
		ctl->g[g].min_gen = UINT64_MAX;
	if (pipe(p) == -1)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	for (g = 0; g < LOAD_GROUPS; g++) {
		for (i = 0; i < load_n[g]; i++) {
			if ((pids[np] = fork()) == -1)
				die("fork: %s", strerror(errno));
			if (pids[np] == 0) {
				close(p[1]);
				/* EOF when the parent lets us all go. */
				while (read(p[0], &x, 1) == -1 && errno == EINTR)
					;
				close(p[0]);
				usleep(randombytes_uniform(START_SPREAD_US));
				if (tokencache)
					tokencache_reader(ctl, g);
				perprocess_reader(ctl, g, secret);
			}
			np++;
		}
	}
	close(p[0]);
	if (before != NULL)
		before();
	close(p[1]);
	t0 = now_ns();
	do {
		usleep(100000);
		for (started = 0, g = 0; g < LOAD_GROUPS; g++)
			started += __atomic_load_n(&ctl->g[g].started,
			    __ATOMIC_RELAXED);
	} while (started < total && now_ns() - t0 < 60e9);
	note("%d of %d %s readers started in %.1f s; counting for %.0f s",
	    started, total, tokencache ? "tokencache" : "per-process caching",
	    (now_ns() - t0) / 1e9, win);
	for (g = 0; g < LOAD_GROUPS; g++) {
		snprintf(name, sizeof(name), "%s-%d", client_prefix, load_n[g]);
		before_win[g] = server_requests(env.short_port, name);
	}
	__atomic_store_n(&ctl->counting, 1, __ATOMIC_RELEASE);
	t0 = now_ns();
	while ((now_ns() - t0) / 1e9 < win)
		usleep(50000);
	for (g = 0; g < LOAD_GROUPS; g++) {
		snprintf(name, sizeof(name), "%s-%d", client_prefix, load_n[g]);
		requests[g] = server_requests(env.short_port, name) -
		    before_win[g];
	}
	__atomic_store_n(&ctl->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < np; i++)
		waitpid(pids[i], NULL, 0);
	free(pids);
}

static void
load_reload(void)
{
	daemon_reload();	/* the daemon fetches the new credentials */
}

void
bench_load(void)
{
	char name[32], secret[256], c[7][64];
	struct lctl *tc, *pp;
	/* Two lifetimes for tokencache, where a refresh may fall either
	 * way; one is enough for processes that fetch on expiry. */
	double win_tc = (env.quick ? 1.0 : 2.0) * env.short_ttl,
	    win_pp = env.short_ttl, life_tc, life_pp;
	long req[2][LOAD_GROUPS];
	uint64_t tokens;
	double lo, hi;
	int g;

	read_secret(secret, sizeof(secret));
	tc = mmap(NULL, 2 * sizeof(*tc), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tc == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	pp = tc + 1;

	/* Through tokencache: one credential per N, added on reload. */
	for (g = 0; g < LOAD_GROUPS; g++) {
		snprintf(name, sizeof(name), "load-%d", load_n[g]);
		if (write_cred(name, env.short_port, name) != 0)
			die("cannot write %s", name);
	}
	if (http_post(env.short_port, "/_reset") / 100 != 2)
		die("POST /_reset failed");
	load_run(tc, 1, secret, win_tc, load_reload, "load", req[0]);
	remove_creds("load-");
	daemon_reload();

	/* Every process for itself. */
	load_run(pp, 0, secret, win_pp, NULL, "perproc", req[1]);
	sodium_memzero(secret, sizeof(secret));

	life_tc = win_tc / env.short_ttl;
	life_pp = win_pp / env.short_ttl;
	for (g = 0; g < LOAD_GROUPS; g++) {
		tokens = tc->g[g].max_gen >= tc->g[g].min_gen ?
		    tc->g[g].max_gen - tc->g[g].min_gen + 1 : 0;
		snprintf(c[0], sizeof(c[0]), "%d", load_n[g]);
		snprintf(c[1], sizeof(c[1]), "%ld", req[0][g]);
		snprintf(c[2], sizeof(c[2]), "%.2f", req[0][g] / life_tc);
		snprintf(c[3], sizeof(c[3]), "%llu", (unsigned long long)tokens);
		snprintf(c[4], sizeof(c[4]), "%llu, %llu",
		    (unsigned long long)tc->g[g].retries,
		    (unsigned long long)tc->g[g].errors);
		if (tc->g[g].errors || tc->g[g].started != load_n[g])
			snprintf(c[4] + strlen(c[4]), sizeof(c[4]) -
			    strlen(c[4]), " (%d of %d started; %s)",
			    tc->g[g].started, load_n[g],
			    tc_strerror(tc->g[g].last_error));
		snprintf(c[5], sizeof(c[5]), "%ld", req[1][g]);
		snprintf(c[6], sizeof(c[6]), "%.2f", req[1][g] / life_pp);
		if (pp->g[g].errors)
			snprintf(c[6] + strlen(c[6]), sizeof(c[6]) -
			    strlen(c[6]), " (%llu failed, HTTP %d)",
			    (unsigned long long)pp->g[g].errors,
			    -pp->g[g].last_error);
		table_row("load", 7, c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
		result("load", "tokencache requests", c[0], "count",
		    (double)req[0][g], "");
		result("load", "tokencache requests per lifetime", c[0],
		    "value", req[0][g] / life_tc, "");
		result("load", "tokencache tokens served", c[0], "count",
		    (double)tokens, "");
		result("load", "tokencache reader errors", c[0], "count",
		    (double)tc->g[g].errors, "");
		result("load", "tokencache first reads retried", c[0], "count",
		    (double)tc->g[g].retries, "");
		result("load", "per-process requests", c[0], "count",
		    (double)req[1][g], "");
		result("load", "per-process requests per lifetime", c[0],
		    "value", req[1][g] / life_pp, "");
		result("load", "per-process errors", c[0], "count",
		    (double)pp->g[g].errors, "");
	}
	result("load", "tokencache window", "", "lifetimes", life_tc, "");
	result("load", "per-process window", "", "lifetimes", life_pp, "");
	/*
	 * The target: one request per credential per token lifetime,
	 * whatever N.  Each request must bring one new token that every
	 * reader then sees (readers read every second, so none is missed),
	 * and no more requests than the daemon's own schedule makes: a new
	 * token at 70-80 % of a lifetime, 2 or 3 in two lifetimes, as its
	 * jitter falls.
	 */
	for (g = 0, lo = hi = req[0][0] / life_tc; g < LOAD_GROUPS; g++) {
		tokens = tc->g[g].max_gen >= tc->g[g].min_gen ?
		    tc->g[g].max_gen - tc->g[g].min_gen + 1 : 0;
		if (tokens != (uint64_t)req[0][g] + 1 ||
		    req[0][g] / life_tc > 1.5)
			break;
		lo = req[0][g] / life_tc < lo ? req[0][g] / life_tc : lo;
		hi = req[0][g] / life_tc > hi ? req[0][g] / life_tc : hi;
	}
	snprintf(c[0], sizeof(c[0]), "1 per token for every N "
	    "(%.2f to %.2f per lifetime)", lo, hi);
	table_row("targets", 4, "token requests per credential, N = 1 to "
	    "1000", "1 per lifetime, any N", c[0],
	    g == LOAD_GROUPS ? "yes" : "NO");
	munmap(tc, 2 * sizeof(*tc));
}
