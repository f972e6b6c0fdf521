/*
 * test_stats.c - the daemon's counts (stats.c): outcomes, the latency
 * histogram, the ring of attempts, the split of an RFC 6749 error; the
 * Prometheus text format's escapes and names; a document's sealed memfd
 * (stats_doc.c).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_int.h"
#include "stats.h"
#include "stats_doc.h"
#include "testutil.h"
#include "token_parse.h"

#define MS (1000 * 1000LL)

START_TEST(test_outcomes)
{
	struct cred_stats s;

	memset(&s, 0, sizeof(s));
	stats_attempt(&s, 100, TOK_OK, 200, 0, 20 * MS, NULL, 0, 0);
	stats_attempt(&s, 101, TOK_TRANSIENT, 503, 0, 20 * MS, "HTTP 503", 0,
	    0);
	/* 429, or a Retry-After with any status, is rate_limited; a
	 * permanent judgement does not change that. */
	stats_attempt(&s, 102, TOK_TRANSIENT, 429, 0, 20 * MS, "x", 0, 0);
	stats_attempt(&s, 103, TOK_TRANSIENT, 503, 5, 20 * MS, "x", 0, 0);
	stats_attempt(&s, 104, TOK_PERMANENT, 429, 0, 20 * MS, "x", 0, 0);
	stats_attempt(&s, 105, TOK_PERMANENT, 401, 0, 20 * MS,
	    "invalid_client: bad secret", 0, 14);
	ck_assert_uint_eq(s.requests[ST_OK], 1);
	ck_assert_uint_eq(s.requests[ST_TRANSIENT], 1);
	ck_assert_uint_eq(s.requests[ST_RATE_LIMITED], 3);
	ck_assert_uint_eq(s.requests[ST_PERMANENT], 1);
	ck_assert_int_eq(s.last_success_at, 100);
	ck_assert_uint_eq(s.consecutive_failures, 5);
	ck_assert_ptr_nonnull(stats_last_failure(&s));
	ck_assert_int_eq(stats_last_failure(&s)->at, 105);
	stats_attempt(&s, 106, TOK_OK, 200, 0, 20 * MS, "ignored", 0, 3);
	ck_assert_uint_eq(s.consecutive_failures, 0);
	ck_assert_int_eq(s.last_success_at, 106);
	/* The last failure stays after a success. */
	ck_assert_int_eq(stats_last_failure(&s)->at, 105);
	ck_assert_str_eq(stats_attempt_at(&s, 6)->error, "");
	ck_assert_str_eq(stats_outcome_name(ST_RATE_LIMITED), "rate_limited");
}
END_TEST

START_TEST(test_histogram)
{
	struct cred_stats s;
	uint64_t total = 0;
	size_t i;

	memset(&s, 0, sizeof(s));
	/* On a bound counts in that bucket (le: less or equal). */
	stats_attempt(&s, 1, TOK_OK, 200, 0, 10 * MS, NULL, 0, 0);
	stats_attempt(&s, 1, TOK_OK, 200, 0, 10 * MS + 1, NULL, 0, 0);
	stats_attempt(&s, 1, TOK_OK, 200, 0, 0, NULL, 0, 0);
	stats_attempt(&s, 1, TOK_OK, 200, 0, -5, NULL, 0, 0);   /* as 0 */
	stats_attempt(&s, 1, TOK_OK, 200, 0, 10000 * MS, NULL, 0, 0);
	stats_attempt(&s, 1, TOK_OK, 200, 0, 10001 * MS, NULL, 0, 0);
	ck_assert_uint_eq(s.buckets[0], 3);          /* <= 0.01 */
	ck_assert_uint_eq(s.buckets[1], 1);          /* <= 0.025 */
	ck_assert_uint_eq(s.buckets[STATS_BUCKETS - 1], 1);  /* <= 10 */
	ck_assert_uint_eq(s.buckets[STATS_BUCKETS], 1);      /* +Inf */
	for (i = 0; i <= STATS_BUCKETS; i++)
		total += s.buckets[i];
	ck_assert_uint_eq(total, s.latency_count);
	ck_assert_uint_eq(s.latency_count, 6);
	ck_assert(s.latency_sum > 20.02 && s.latency_sum < 20.03);
	for (i = 1; i < STATS_BUCKETS; i++)
		ck_assert(stats_bucket_le[i] > stats_bucket_le[i - 1]);
}
END_TEST

START_TEST(test_ring)
{
	struct cred_stats s;
	unsigned int i;

	memset(&s, 0, sizeof(s));
	ck_assert_ptr_null(stats_attempt_at(&s, 0));
	ck_assert_ptr_null(stats_last_failure(&s));
	for (i = 0; i < 3; i++)
		stats_attempt(&s, 1000 + i, TOK_TRANSIENT, 500, 0,
		    (int64_t)i * MS, "e", 0, 0);
	ck_assert_uint_eq(s.ring_len, 3);
	ck_assert_int_eq(stats_attempt_at(&s, 0)->at, 1000);
	ck_assert_int_eq(stats_attempt_at(&s, 2)->at, 1002);
	ck_assert_ptr_null(stats_attempt_at(&s, 3));
	/* Past STATS_RING: the oldest go, the order stays oldest first. */
	for (i = 3; i < 20; i++)
		stats_attempt(&s, 1000 + i, TOK_TRANSIENT, 500, 0,
		    (int64_t)i * MS, "e", 0, 0);
	ck_assert_uint_eq(s.ring_len, STATS_RING);
	for (i = 0; i < STATS_RING; i++) {
		ck_assert_int_eq(stats_attempt_at(&s, i)->at,
		    1000 + 20 - STATS_RING + i);
		ck_assert_uint_eq(stats_attempt_at(&s, i)->latency_ms,
		    20 - STATS_RING + i);
	}
	ck_assert_ptr_null(stats_attempt_at(&s, STATS_RING));
}
END_TEST

START_TEST(test_error_split)
{
	struct cred_stats s;
	char code[SEG_SLOT_ERROR], desc[SEG_SLOT_ERROR];

	memset(&s, 0, sizeof(s));
	stats_attempt(&s, 1, TOK_PERMANENT, 401, 0, 0,
	    "invalid_client: Client authentication failed", 0, 14);
	stats_error_split(stats_attempt_at(&s, 0), code, sizeof(code), desc,
	    sizeof(desc));
	ck_assert_str_eq(code, "invalid_client");
	ck_assert_str_eq(desc, "Client authentication failed");
	/* A code alone. */
	stats_attempt(&s, 1, TOK_PERMANENT, 400, 0, 0, "invalid_scope", 0, 13);
	stats_error_split(stats_attempt_at(&s, 1), code, sizeof(code), desc,
	    sizeof(desc));
	ck_assert_str_eq(code, "invalid_scope");
	ck_assert_str_eq(desc, "");
	/* A code that holds ": " itself is cut by its length, not by the
	 * first colon. */
	stats_attempt(&s, 1, TOK_PERMANENT, 400, 0, 0, "odd: code: text", 0, 9);
	stats_error_split(stats_attempt_at(&s, 2), code, sizeof(code), desc,
	    sizeof(desc));
	ck_assert_str_eq(code, "odd: code");
	ck_assert_str_eq(desc, "text");
	/* Not an OAuth error reply: the text whole, as the error. */
	stats_attempt(&s, 1, TOK_TRANSIENT, 0, 0, 0, "timed out after 10 ms", 0,
	    0);
	stats_error_split(stats_attempt_at(&s, 3), code, sizeof(code), desc,
	    sizeof(desc));
	ck_assert_str_eq(code, "timed out after 10 ms");
	ck_assert_str_eq(desc, "");
	/* After "HTTP 429: ", as token_parse.c writes it for an overload. */
	stats_attempt(&s, 1, TOK_TRANSIENT, 429, 0, 0,
	    "HTTP 429: slow_down: too many", 10, 9);
	stats_error_split(stats_attempt_at(&s, 4), code, sizeof(code), desc,
	    sizeof(desc));
	ck_assert_str_eq(code, "slow_down");
	ck_assert_str_eq(desc, "too many");
	/* A code length past the text is cut to it. */
	stats_attempt(&s, 1, TOK_PERMANENT, 400, 0, 0, "abc", 0, 99);
	ck_assert_uint_eq(stats_attempt_at(&s, 5)->error_code_len, 3);
}
END_TEST

/* What fn wrote to a memory stream. */
static char *
written(void (*fn)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(fp);
	fn(fp);
	ck_assert_int_eq(fclose(fp), 0);
	return buf;
}

static void
write_escapes(FILE *fp)
{
	const char *l[] = { "credential", "a\"b\\c\nd", "provider", "ok" };

	prom_family(fp, "tokencache_x_total", "counter", "back\\slash\nand "
	    "\"quotes\" kept");
	prom_sample(fp, "tokencache_x_total", l, 2, 3);
}

static void
write_values(FILE *fp)
{
	prom_sample(fp, "m", NULL, 0, 0);
	prom_sample(fp, "m", NULL, 0, 1796675221);
	prom_sample(fp, "m", NULL, 0, 0.25);
	prom_sample(fp, "m", NULL, 0, 1.0 / 0.0);
	prom_sample(fp, "m", NULL, 0, 0.0 / 0.0);
	prom_sample(fp, "m", NULL, 0, 1e300);
}

START_TEST(test_prom_text)
{
	char *s = written(write_escapes);

	/* HELP escapes backslash and newline; a label value also the
	 * double quote (the text format, 0.0.4). */
	ck_assert_str_eq(s,
	    "# HELP tokencache_x_total back\\\\slash\\nand \"quotes\" kept\n"
	    "# TYPE tokencache_x_total counter\n"
	    "tokencache_x_total{credential=\"a\\\"b\\\\c\\nd\",provider=\"ok\"} 3\n");
	free(s);
	s = written(write_values);
	ck_assert_str_eq(s, "m 0\nm 1796675221\nm 0.25\nm +Inf\nm NaN\n"
	    "m 1e+300\n");
	free(s);
}
END_TEST

START_TEST(test_prom_names)
{
	ck_assert_int_eq(prom_name_valid("tokencache_refresh_requests_total",
	    0), 1);
	ck_assert_int_eq(prom_name_valid("a:b_c9", 0), 1);
	ck_assert_int_eq(prom_name_valid("9a", 0), 0);
	ck_assert_int_eq(prom_name_valid("a-b", 0), 0);
	ck_assert_int_eq(prom_name_valid("", 0), 0);
	ck_assert_int_eq(prom_name_valid("credential", 1), 1);
	ck_assert_int_eq(prom_name_valid("a:b", 1), 0);
	ck_assert_int_eq(prom_name_valid("__name__", 1), 0);
	ck_assert_int_eq(prom_name_valid("le", 1), 1);
}
END_TEST

START_TEST(test_doc_memfd)
{
	static const char text[] = "# a document\nm 1\n";
	char buf[64];
	int fd, seals, want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL;

	fd = stats_doc_memfd("test", text, strlen(text));
	ck_assert_int_ge(fd, 0);
	seals = fcntl(fd, F_GET_SEALS);
	ck_assert_int_eq(seals & want, want);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0),
	    (ssize_t)strlen(text));
	ck_assert_int_eq(memcmp(buf, text, strlen(text)), 0);
	/* Read-only: no write, no new seal, no growing. */
	ck_assert_int_eq(pwrite(fd, "x", 1, 0), -1);
	ck_assert_int_eq(ftruncate(fd, 1), -1);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);
}
END_TEST

/*
 * The whole text of a small daemon, read back line by line as a parser
 * would: every sample's family has HELP then TYPE before it, every metric
 * and label name is valid, no series is written twice, and an endpoint's
 * query never shows.
 */
START_TEST(test_render_names)
{
	static struct daemon d;
	static struct daemon_conf conf;
	static struct cred_conf cc[2], src[2];
	static struct cred c[2];
	static struct endpoint ep[3];
	struct cred *creds[2] = { &c[0], &c[1] };
	struct endpoint *eps[3] = { &ep[0], &ep[1], &ep[2] };
	char *buf = NULL, *line, *save = NULL, families[64][96], *series[512];
	char help[96] = "";
	size_t len = 0, nfam = 0, nseries = 0, i;
	FILE *fp;
	static char oauth2[] = "oauth2", exec[] = "exec";
	static char url0[] = "https://auth.example/oauth/token?tenant=secret-ish";
	static char url1[] = "https://auth.example/oauth/token?other";
	static char url2[] = "exec:chain";

	d.conf = &conf;
	cc[0].provider = oauth2;
	src[0].provider = exec;
	src[1].provider = oauth2;
	cc[1].sources = src;
	cc[1].nsources = 2;
	snprintf(c[0].name, sizeof(c[0].name), "svc-a.b_c");
	snprintf(c[1].name, sizeof(c[1].name), "chain");
	c[0].conf = &cc[0];
	c[1].conf = &cc[1];
	stats_attempt(&c[0].st, 10, TOK_OK, 200, 0, 30 * MS, NULL, 0, 0);
	stats_attempt(&c[1].st, 10, TOK_TRANSIENT, 429, 3, 7 * MS, "x", 0, 0);
	d.creds = creds;
	d.ncreds = 2;
	ep[0].url = url0;
	ep[1].url = url1;
	ep[2].url = url2;
	ep[0].retry_after_holds = 2;
	ep[1].retry_after_holds = 3;
	d.eps = eps;
	d.neps = 3;

	ck_assert_ptr_nonnull(fp = open_memstream(&buf, &len));
	ck_assert_int_eq(stats_metrics_write(&d, 0, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_ptr_null(strstr(buf, "secret-ish"));
	ck_assert_ptr_nonnull(strstr(buf, "tokencache_endpoint_retry_after_"
	    "holds_total{endpoint=\"https://auth.example/oauth/token\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(buf, "tokencache_credential_info{"
	    "credential=\"chain\",provider=\"exec,oauth2\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "tokencache_refresh_requests_total{"
	    "credential=\"chain\",outcome=\"rate_limited\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "tokencache_refresh_duration_seconds"
	    "_bucket{credential=\"svc-a.b_c\",le=\"0.025\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(buf, "tokencache_refresh_duration_seconds"
	    "_bucket{credential=\"svc-a.b_c\",le=\"0.05\"} 1\n"));

	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char name[96], *p;
		size_t n;

		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_int_eq(sscanf(line + 7, "%95s", help), 1);
			ck_assert_msg(prom_name_valid(help, 0), "%s", line);
			for (i = 0; i < nfam; i++)
				ck_assert_str_ne(families[i], help);
			ck_assert_uint_lt(nfam, 64);
			snprintf(families[nfam++], sizeof(families[0]), "%s",
			    help);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_int_eq(sscanf(line + 7, "%95s", name), 1);
			ck_assert_str_eq(name, help);	/* right after */
			ck_assert_msg(strstr(line, " counter") != NULL ?
			    strlen(name) > 6 && strcmp(name + strlen(name) - 6,
			    "_total") == 0 : strstr(name, "_total") == NULL,
			    "%s: _total is for counters alone", line);
			continue;
		}
		n = strcspn(line, "{ ");
		ck_assert_uint_lt(n, sizeof(name));
		memcpy(name, line, n);
		name[n] = '\0';
		ck_assert_msg(prom_name_valid(name, 0), "%s", line);
		ck_assert_msg(strncmp(name, help, strlen(help)) == 0 &&
		    (name[strlen(help)] == '\0' ||
		    strcmp(name + strlen(help), "_bucket") == 0 ||
		    strcmp(name + strlen(help), "_sum") == 0 ||
		    strcmp(name + strlen(help), "_count") == 0),
		    "%s: not of family %s", line, help);
		/* Label names: each NAME=" after '{' or ','. */
		for (p = line + n; *p == '{' || *p == ','; ) {
			char label[64];
			size_t k = strcspn(p + 1, "=");

			ck_assert_uint_lt(k, sizeof(label));
			memcpy(label, p + 1, k);
			label[k] = '\0';
			ck_assert_msg(prom_name_valid(label, 1), "%s", line);
			p += 1 + k + 2;		/* past =" */
			while (*p != '"') {
				ck_assert(*p != '\0');
				p += *p == '\\' ? 2 : 1;
			}
			p++;
		}
		/* The series, once. */
		*strrchr(line, ' ') = '\0';
		for (i = 0; i < nseries; i++)
			ck_assert_str_ne(series[i], line);
		ck_assert_uint_lt(nseries, 512);
		series[nseries++] = line;
	}
	ck_assert_uint_ge(nfam, 14);	/* the endpoint's is off */
	free(buf);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("counts");
	TCase *tp = tcase_create("prometheus");

	tcase_add_test(tc, test_outcomes);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_ring);
	tcase_add_test(tc, test_error_split);
	suite_add_tcase(s, tc);
	tcase_add_test(tp, test_prom_text);
	tcase_add_test(tp, test_prom_names);
	tcase_add_test(tp, test_doc_memfd);
	tcase_add_test(tp, test_render_names);
	suite_add_tcase(s, tp);
	return tu_run(s);
}
