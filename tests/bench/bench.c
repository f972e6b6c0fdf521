/*
 * bench.c - how fast a token read is, beside what it replaces.
 *
 *   tc-bench RUNTIME_DIR NAME [CSV_FILE]
 *
 * Needs a running tokencached that has a token for NAME (tests/bench/run.sh
 * starts one against a local OAuth server).  Every row is measured in this
 * run, on this machine:
 *   - tc_get on an unchanged token (the hot path)
 *   - the floor: memcpy of the token, and one XChaCha20-Poly1305 decrypt
 *   - a request/response of the same size over a connected Unix socket to
 *     a server thread (how socket-based token agents serve tokens)
 *   - a PING to tokencached: connect, request, reply
 * Times are per call: the median and 99th percentile over batches.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "proto.h"
#include "tokencache.h"

#define BATCHES 400

struct result {
	const char *what;
	double median_ns;
	double p99_ns;
	int batch;
};

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

typedef int (*bench_fn)(void *arg);

/* Run fn `batch` times per sample, BATCHES samples; per-call statistics. */
static struct result
measure(const char *what, bench_fn fn, void *arg, int batch)
{
	static double samples[BATCHES];
	struct result r = { what, 0, 0, batch };
	double t0;
	int i, j;

	for (j = 0; j < batch; j++)	/* warm up */
		if (fn(arg) != 0)
			goto fail;
	for (i = 0; i < BATCHES; i++) {
		t0 = now_ns();
		for (j = 0; j < batch; j++)
			if (fn(arg) != 0)
				goto fail;
		samples[i] = (now_ns() - t0) / batch;
	}
	qsort(samples, BATCHES, sizeof(samples[0]), cmp_double);
	r.median_ns = samples[BATCHES / 2];
	r.p99_ns = samples[BATCHES * 99 / 100];
	return r;
 fail:
	fprintf(stderr, "tc-bench: %s failed\n", what);
	exit(1);
}

/* ---- the rows ---- */

static tc_client *client;
static const char *cred;
static char tokbuf[1 << 20];
static char copybuf[1 << 20];
static size_t toklen;

static int
row_tc_get(void *arg)
{
	(void)arg;
	return tc_get(client, cred, tokbuf, sizeof(tokbuf), NULL);
}

static int
row_memcpy(void *arg)
{
	(void)arg;
	memcpy(copybuf, tokbuf, toklen + 1);
	/* Keep the compiler from dropping the copy. */
	__asm__ volatile("" : : "r"(copybuf) : "memory");
	return 0;
}

static unsigned char aead_key[32], aead_nonce[24], *aead_ct;
static unsigned long long aead_ctlen;

static int
row_decrypt(void *arg)
{
	unsigned long long n;

	(void)arg;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(
	    (unsigned char *)copybuf, &n, NULL, aead_ct, aead_ctlen,
	    (const unsigned char *)"ad", 2, aead_nonce, aead_key);
}

static int sock_pair[2];

/* The server half: read a 136-byte request, answer with the token. */
static void *
sock_server(void *arg)
{
	char req[136];
	ssize_t n;

	(void)arg;
	for (;;) {
		n = read(sock_pair[1], req, sizeof(req));
		if (n <= 0)
			return NULL;
		if (write(sock_pair[1], tokbuf, toklen) != (ssize_t)toklen)
			return NULL;
	}
}

static int
row_socket(void *arg)
{
	char req[136];
	size_t got = 0;
	ssize_t n;

	(void)arg;
	memset(req, 0, sizeof(req));
	if (write(sock_pair[0], req, sizeof(req)) != (ssize_t)sizeof(req))
		return -1;
	while (got < toklen) {
		n = read(sock_pair[0], copybuf + got, toklen - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static const char *rundir;

static int
row_ping(void *arg)
{
	struct tc_req q;
	struct tc_resp r;

	(void)arg;
	tc_req_init(&q, TC_OP_PING, NULL, 0);
	if (tc_call(rundir, &q, &r, 2000) != 0)
		return -1;
	return r.status;
}

int
main(int argc, char *argv[])
{
	struct result rows[5];
	pthread_t th;
	FILE *csv = NULL;
	int r, i, n = 0;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: tc-bench RUNTIME_DIR NAME [CSV]\n");
		return 2;
	}
	rundir = argv[1];
	cred = argv[2];
	if (sodium_init() < 0)
		return 1;
	if ((r = tc_open(&client, rundir)) != 0 ||
	    (r = tc_get_wait(client, cred, tokbuf, sizeof(tokbuf), NULL,
	    15000)) != 0) {
		fprintf(stderr, "tc-bench: %s: %s\n", cred, tc_strerror(r));
		return 1;
	}
	toklen = strlen(tokbuf);

	randombytes_buf(aead_key, sizeof(aead_key));
	randombytes_buf(aead_nonce, sizeof(aead_nonce));
	aead_ct = malloc(toklen + 16);
	crypto_aead_xchacha20poly1305_ietf_encrypt(aead_ct, &aead_ctlen,
	    (unsigned char *)tokbuf, toklen, (const unsigned char *)"ad", 2,
	    NULL, aead_nonce, aead_key);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock_pair) == -1 ||
	    pthread_create(&th, NULL, sock_server, NULL) != 0) {
		perror("tc-bench: socketpair");
		return 1;
	}

	rows[n++] = measure("tc_get, unchanged token (hot path)", row_tc_get,
	    NULL, 2000);
	rows[n++] = measure("floor: memcpy of the token", row_memcpy, NULL,
	    2000);
	rows[n++] = measure("floor: one XChaCha20-Poly1305 decrypt",
	    row_decrypt, NULL, 200);
	rows[n++] = measure("Unix socket request/response (connected)",
	    row_socket, NULL, 50);
	rows[n++] = measure("tokencached PING (connect + request + reply)",
	    row_ping, NULL, 10);

	printf("token: %zu bytes; per call, median and p99 over %d batches\n\n",
	    toklen, BATCHES);
	printf("%-46s %12s %12s\n", "operation", "median ns", "p99 ns");
	for (i = 0; i < n; i++)
		printf("%-46s %12.1f %12.1f\n", rows[i].what, rows[i].median_ns,
		    rows[i].p99_ns);
	printf("\nhot tc_get vs memcpy floor:        %6.1fx\n",
	    rows[0].median_ns / rows[1].median_ns);
	printf("Unix socket round trip vs tc_get:  %6.0fx faster\n",
	    rows[3].median_ns / rows[0].median_ns);

	if (argc == 4 && (csv = fopen(argv[3], "w")) != NULL) {
		fprintf(csv, "operation,token_bytes,median_ns,p99_ns\n");
		for (i = 0; i < n; i++)
			fprintf(csv, "\"%s\",%zu,%.1f,%.1f\n", rows[i].what,
			    toklen, rows[i].median_ns, rows[i].p99_ns);
		fclose(csv);
	}
	shutdown(sock_pair[0], SHUT_RDWR);
	pthread_join(th, NULL);
	tc_close(client);
	free(aead_ct);
	return 0;
}
