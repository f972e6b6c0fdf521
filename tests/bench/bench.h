/*
 * bench.h - what the parts of tc-bench share.
 */
#ifndef TC_BENCH_H
#define TC_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "seg.h"
#include "tokencache.h"

#define BATCHES 400           /* samples per batched measurement */
#define TOKEN_BUF (1 << 20)   /* the largest token a segment holds */

/* Where everything is; filled from the command line (see bench.c). */
struct bench_env {
	const char *work;         /* private work directory */
	const char *rundir;       /* tokencached's runtime directory */
	const char *credsdir;     /* its credentials.d */
	const char *secret_file;  /* the client secret of every test client */
	const char *cred;         /* the credential the latency rows read */
	int main_port;            /* OAuth server, long-lived tokens */
	int short_port;           /* OAuth server, short-lived tokens */
	int short_ttl;            /* its token lifetime, seconds */
	int endpoint_port;        /* tokencached's token endpoint, or 0 */
	pid_t monitor_pid, worker_pid;  /* tokencached's two processes */
	const char *self;         /* this program, to run it afresh */
	int quick;                /* shorter runs (TC_BENCH_QUICK=1) */
};

extern struct bench_env env;

/* The client secret every test client shares, from env.secret_file. */
void read_secret(char *out, size_t cap);

/*
 * A token sealed the way the segment seals it (XChaCha20-Poly1305 under a
 * random key, with the associated data of a slot named name), for the
 * one-decrypt floor.  sealed_make() replaces what x held; sealed_open()
 * decrypts into out (room for len bytes) and returns 0.
 */
struct sealed {
	unsigned char key[32], nonce[24], ad[SEG_AD_MAX], *ct;
	unsigned long long ctlen;
	size_t adlen;
};
void sealed_make(struct sealed *x, const char *name, const char *tok,
    size_t len);
int sealed_open(const struct sealed *x, char *out);
void sealed_free(struct sealed *x);

/* Per call: median, 90th and 99th percentile, in nanoseconds. */
struct lat {
	double median, p90, p99;
};

typedef int (*bench_fn)(void *arg);

double now_ns(void);
/* fn timed in batches of `batch` calls, BATCHES batches. */
struct lat measure(const char *what, bench_fn fn, void *arg, int batch);
/* fa and fb timed in alternating batches, so that both see the same
 * machine; for the ratios. */
void measure_pair(bench_fn fa, void *a, bench_fn fb, void *b, int batch,
    struct lat *la, struct lat *lb);
/* Statistics of n single samples (sorted in place). */
struct lat lat_of(double *samples, int n);
/* What one now_ns() pair costs: subtracted from single-call samples. */
double timer_cost(void);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The results: printed as tables at the end, and written as CSV. */
void result(const char *section, const char *item, const char *param,
    const char *stat, double value, const char *unit);
/* One row of a printed table: cells already formatted. */
void table_row(const char *section, int ncells, ...);
/* A row of the targets table, and its number in the CSV. */
void target_row(const char *what, const char *goal, double value,
    const char *measured, int met);

/* The token the latency rows read, as tokencached serves it. */
extern char token[TOKEN_BUF];
extern size_t token_len;

/* An in-process segment with its own key service: the daemon's writer
 * half (seg_write.h) in this process, for what needs a writer under our
 * control (token sizes, 10,000 credentials, republishing flat out). */
struct inseg;
struct inseg *inseg_open(const char *dir, uint32_t nslots,
    uint32_t token_max);
void inseg_publish(struct inseg *s, const char *name, const char *tok,
    size_t len);
const char *inseg_dir(const struct inseg *s);
void inseg_close(struct inseg *s);

/* The parts, in the order they run. */
void bench_latency(void);
void bench_endpoint(void);
void bench_sizes(void);
void bench_many(void);
void bench_readers(const char *plot_data);
void bench_fleet(void);
void bench_load(void);

/* bench_latency's children: time a first read (and what it is made of)
 * in a new process; argv[0] names which. */
int first_child(int argc, char **argv);

/* latency.c's token agent on a Unix socket (a child process serving one
 * connection at a time): agent_ask sends one request on fd and reads the
 * token, 0 if it came. */
void agent_start(void);
void agent_stop(void);
int agent_connect(void);
int agent_ask(int fd);
/* bench_fn rows for them (latency.c): on the connection *arg (an int),
 * and on a new connection each time. */
int row_agent_kept(void *arg);
int row_agent_new(void *arg);

/* Helpers for the parts that steer tokencached. */
int write_cred(const char *name, int port, const char *client_id);
void remove_creds(const char *prefix);
void daemon_reload(void);
int http_post(int port, const char *path);
long server_requests(int port, const char *client_id);
int64_t proc_cpu_ns(pid_t pid);
long proc_rss_kb(pid_t pid, const char *field);

#endif /* TC_BENCH_H */
