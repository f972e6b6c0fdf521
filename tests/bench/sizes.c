/*
 * sizes.c - tc_get against the size of the token, and against the number
 * of credentials.  Both use a segment written in this process by the
 * daemon's own writer (seg_write.h), so that the bench can republish at
 * will; readers get keys from a key service in this process that speaks
 * the daemon's protocol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"
#include "seg.h"

static tc_client *client;
static const char *rname;
static char buf[TOKEN_BUF];
static char copybuf[TOKEN_BUF];
static char *tok;
static size_t tlen;

/* A token of len characters from the base64url alphabet, as JWTs are. */
static void
make_token(char *out, size_t len, unsigned seed)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_";
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		out[i] = a[(seed >> 16) % 64];
	}
	out[len] = '\0';
}

static int
row_get(void *arg)
{
	(void)arg;
	return tc_get(client, rname, buf, sizeof(buf), NULL);
}

/* The floor: the token copied into the buffer tc_get fills. */
static int
row_memcpy(void *arg)
{
	(void)arg;
	memcpy(buf, tok, tlen + 1);
	__asm__ volatile("" : : "r"(buf) : "memory");
	return 0;
}

static struct sealed sealed;

static int
row_decrypt(void *arg)
{
	(void)arg;
	return sealed_open(&sealed, copybuf);
}

static void
fmt(char *out, double v)
{
	snprintf(out, 32, "%.1f", v);
}

void
bench_sizes(void)
{
	static const size_t sizes[] = { 1024, 4096, 16384 };
	char dir[1024], name[32], c[7][32], *next;
	struct inseg *s;
	struct lat hot, copy, dec, changed;
	double *smp, t0, t1, tc = timer_cost();
	size_t k;
	int i, r, n = env.quick ? 60 : 300;

	snprintf(dir, sizeof(dir), "%s/inseg-sizes", env.work);
	s = inseg_open(dir, 16, 16384);
	if ((tok = aligned_alloc(64, 16448)) == NULL ||
	    (next = malloc(16385)) == NULL ||
	    (smp = calloc((size_t)n, sizeof(*smp))) == NULL)
		die("out of memory");
	if ((r = tc_open(&client, inseg_dir(s))) != 0)
		die("tc_open: %s", tc_strerror(r));
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		tlen = sizes[k];
		snprintf(name, sizeof(name), "token-%zuk", tlen / 1024);
		rname = name;
		make_token(tok, tlen, (unsigned)tlen);
		inseg_publish(s, name, tok, tlen);
		if ((r = tc_get(client, name, buf, sizeof(buf), NULL)) != 0 ||
		    strcmp(buf, tok) != 0)
			die("%s: %s", name, tc_strerror(r));
		measure_pair(row_get, NULL, row_memcpy, NULL,
		    tlen > 4096 ? 500 : 2000, &hot, &copy);
		sealed_make(&sealed, name, tok, tlen);
		dec = measure("decrypt", row_decrypt, NULL, 50);
		/* A new token each time (untimed), then one tc_get. */
		for (i = 0; i < n; i++) {
			make_token(next, tlen, (unsigned)(tlen + (size_t)i + 1));
			inseg_publish(s, name, next, tlen);
			t0 = now_ns();
			r = tc_get(client, name, buf, sizeof(buf), NULL);
			t1 = now_ns();
			if (r != 0 || memcmp(buf, next, tlen + 1) != 0)
				die("%s changed: %s", name, tc_strerror(r));
			smp[i] = t1 - t0 - tc;
		}
		changed = lat_of(smp, n);
		snprintf(c[0], sizeof(c[0]), "%zu KiB", tlen / 1024);
		fmt(c[1], hot.median);
		fmt(c[2], copy.median);
		snprintf(c[3], sizeof(c[3]), "%.2fx", hot.median / copy.median);
		fmt(c[4], changed.median);
		fmt(c[5], dec.median);
		snprintf(c[6], sizeof(c[6]), "%.2fx",
		    changed.median / dec.median);
		table_row("sizes", 7, c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
		result("sizes", "tc_get hot", c[0], "median", hot.median, "ns");
		result("sizes", "tc_get hot", c[0], "p99", hot.p99, "ns");
		result("sizes", "memcpy", c[0], "median", copy.median, "ns");
		result("sizes", "tc_get changed", c[0], "median",
		    changed.median, "ns");
		result("sizes", "tc_get changed", c[0], "p99", changed.p99,
		    "ns");
		result("sizes", "decrypt", c[0], "median", dec.median, "ns");
	}
	tc_close(client);
	inseg_close(s);
	free(tok);
	free(next);
	sealed_free(&sealed);
	free(smp);
}

/* ---- 10,000 credentials ---- */

#define MANY 10000
#define PATTERN 65536            /* names read in turn, a power of two */

static const char **pattern;
static unsigned at;

static int
row_pattern(void *arg)
{
	(void)arg;
	return tc_get(client, pattern[at++ & (PATTERN - 1)], buf, sizeof(buf),
	    NULL);
}

static void
many_row(const char *what, struct lat l)
{
	char med[32], p99[32];

	fmt(med, l.median);
	fmt(p99, l.p99);
	table_row("many", 3, what, med, p99);
	result("many", what, "", "median", l.median, "ns");
	result("many", what, "", "p99", l.p99, "ns");
}

/* Read the pattern: `distinct` names, alternating or in random order. */
static struct lat
pattern_lat(char (*names)[16], int distinct, int random)
{
	uint32_t i;

	for (i = 0; i < PATTERN; i++)
		pattern[i] = names[random ? randombytes_uniform(
		    (uint32_t)distinct) : i % (uint32_t)distinct];
	at = 0;
	return measure("tc_get", row_pattern, NULL, 2000);
}

void
bench_many(void)
{
	char dir[1024], (*names)[16], *t;
	struct inseg *s;
	tc_client *small;
	struct lat first;
	double *smp, t0, t1, tc = timer_cost();
	int i, r;

	snprintf(dir, sizeof(dir), "%s/inseg-many", env.work);
	s = inseg_open(dir, 2 * MANY, SEG_TOKEN_MIN);
	if ((names = calloc(MANY, sizeof(*names))) == NULL ||
	    (pattern = calloc(PATTERN, sizeof(*pattern))) == NULL ||
	    (smp = calloc(MANY, sizeof(*smp))) == NULL ||
	    (t = malloc(token_len + 1)) == NULL)
		die("out of memory");
	for (i = 0; i < MANY; i++) {
		snprintf(names[i], sizeof(names[i]), "cred-%05d", i);
		memcpy(t, token, token_len + 1);
		memcpy(t, names[i], 10);	/* a token of its own */
		inseg_publish(s, names[i], t, token_len);
	}
	note("%d credentials published; first reads", MANY);
	if ((r = tc_open(&client, inseg_dir(s))) != 0)
		die("tc_open: %s", tc_strerror(r));
	for (i = 0; i < MANY; i++) {
		t0 = now_ns();
		r = tc_get(client, names[i], buf, sizeof(buf), NULL);
		t1 = now_ns();
		if (r != 0 || strncmp(buf, names[i], 10) != 0)
			die("%s: %s", names[i], tc_strerror(r));
		smp[i] = t1 - t0 - tc;
	}
	first = lat_of(smp, MANY);

	/* A handle that has read two of them, for comparison. */
	if ((r = tc_open(&small, inseg_dir(s))) != 0)
		die("tc_open: %s", tc_strerror(r));
	tc_get(small, names[0], buf, sizeof(buf), NULL);
	tc_get(small, names[1], buf, sizeof(buf), NULL);
	{
		tc_client *big = client;

		client = small;
		many_row("hot, handle holds 2 credentials, same one each "
		    "call", pattern_lat(names, 1, 0));
		many_row("hot, handle holds 2, alternating",
		    pattern_lat(names, 2, 0));
		client = big;
	}
	many_row("hot, handle holds 10,000, same one each call",
	    pattern_lat(names, 1, 0));
	many_row("hot, handle holds 10,000, alternating between 2",
	    pattern_lat(names, 2, 0));
	many_row("hot, handle holds 10,000, random one (cache misses)",
	    pattern_lat(names, MANY, 1));
	many_row("first tc_get of each (segment lookup, key, decrypt)",
	    first);
	tc_close(small);
	tc_close(client);
	inseg_close(s);
	free(names);
	free(pattern);
	free(smp);
	free(t);
}
