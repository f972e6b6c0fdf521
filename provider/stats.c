/*
 * stats.c - the daemon's counts of fetch attempts and key requests, kept
 * per credential (struct cred_stats), and the Prometheus text format's
 * writing rules.  Pure: no daemon state, so the unit tests hold it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"
#include "token_parse.h"

/* A token request takes tens of milliseconds on a good day and up to the
 * credential's timeout (10 s by default) on a bad one. */
const double stats_bucket_le[STATS_BUCKETS] = {
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

static const char *const outcome_names[ST_COUNT] = {
	[ST_OK] = "ok", [ST_TRANSIENT] = "transient",
	[ST_PERMANENT] = "permanent", [ST_RATE_LIMITED] = "rate_limited",
};

const char *
stats_outcome_name(enum stats_outcome o)
{
	return (unsigned)o < ST_COUNT ? outcome_names[o] : "unknown";
}

void
stats_attempt(struct cred_stats *s, int64_t wall, int tok_outcome,
    long http_status, long retry_after, int64_t latency_ns,
    const char *error, size_t code_at, size_t code_len)
{
	struct stats_attempt *a = &s->ring[s->ring_next];
	enum stats_outcome o;
	double secs;
	size_t i, n;

	if (tok_outcome == TOK_OK)
		o = ST_OK;
	else if (http_status == 429 || retry_after > 0)
		o = ST_RATE_LIMITED;
	else if (tok_outcome == TOK_PERMANENT)
		o = ST_PERMANENT;
	else
		o = ST_TRANSIENT;
	if (latency_ns < 0)
		latency_ns = 0;
	s->requests[o]++;
	secs = (double)latency_ns / 1e9;
	for (i = 0; i < STATS_BUCKETS && secs > stats_bucket_le[i]; i++)
		;
	s->buckets[i]++;
	s->latency_count++;
	s->latency_sum += secs;
	if (o == ST_OK) {
		s->last_success_at = wall;
		s->consecutive_failures = 0;
	} else
		s->consecutive_failures++;

	memset(a, 0, sizeof(*a));
	a->at = wall;
	a->outcome = o;
	a->http_status = http_status;
	a->latency_ms = latency_ns / 1000000 > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)(latency_ns / 1000000);
	if (o != ST_OK && error != NULL) {
		snprintf(a->error, sizeof(a->error), "%s", error);
		n = strlen(a->error);
		if (code_len > 0 && code_at < n) {
			a->error_code_at = code_at;
			a->error_code_len = code_len < n - code_at ? code_len :
			    n - code_at;
		}
	}
	if (o != ST_OK) {
		s->last_failure = *a;
		s->has_failure = 1;
	}
	s->ring_next = (s->ring_next + 1) % STATS_RING;
	if (s->ring_len < STATS_RING)
		s->ring_len++;
}

const struct stats_attempt *
stats_attempt_at(const struct cred_stats *s, unsigned int i)
{
	if (i >= s->ring_len)
		return NULL;
	return &s->ring[(s->ring_next + STATS_RING - s->ring_len + i) %
	    STATS_RING];
}

const struct stats_attempt *
stats_last_failure(const struct cred_stats *s)
{
	return s->has_failure ? &s->last_failure : NULL;
}

/* token_parse.c writes "CODE" or "CODE: DESCRIPTION" for a §5.2 reply,
 * after "HTTP 429: " and the like for some statuses. */
void
stats_error_split(const struct stats_attempt *a, char *code, size_t codelen,
    char *desc, size_t desclen)
{
	size_t n = a->error_code_len;
	const char *rest = a->error + a->error_code_at + n;

	if (n == 0) {
		snprintf(code, codelen, "%s", a->error);
		snprintf(desc, desclen, "%s", "");
		return;
	}
	snprintf(code, codelen, "%.*s", (int)n, a->error + a->error_code_at);
	if (strncmp(rest, ": ", 2) == 0)
		rest += 2;
	snprintf(desc, desclen, "%s", rest);
}

/* The text format's escapes: \\ and \n everywhere, \" in label values. */
static void
prom_escape(FILE *fp, const char *v, int quote)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			fputs("\\\\", fp);
		else if (*v == '\n')
			fputs("\\n", fp);
		else if (*v == '"' && quote)
			fputs("\\\"", fp);
		else
			fputc(*v, fp);
	}
}

void
prom_escape_label(FILE *fp, const char *v)
{
	prom_escape(fp, v, 1);
}

void
prom_family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s ", name);
	prom_escape(fp, help, 0);
	fprintf(fp, "\n# TYPE %s %s\n", name, type);
}

void
prom_sample(FILE *fp, const char *name, const char *const *labels,
    size_t nlabels, double value)
{
	size_t i;

	fputs(name, fp);
	for (i = 0; i < nlabels; i++) {
		fprintf(fp, "%s%s=\"", i == 0 ? "{" : ",", labels[2 * i]);
		prom_escape(fp, labels[2 * i + 1], 1);
		fputc('"', fp);
	}
	if (nlabels > 0)
		fputc('}', fp);
	/* Go's ParseFloat reads all of these. */
	if (isnan(value))
		fputs(" NaN\n", fp);
	else if (isinf(value))
		fputs(value > 0 ? " +Inf\n" : " -Inf\n", fp);
	else if (value > -1e15 && value < 1e15 &&
	    value == (double)(long long)value)
		fprintf(fp, " %lld\n", (long long)value);
	else
		fprintf(fp, " %.15g\n", value);
}

int
prom_name_valid(const char *s, int label)
{
	size_t i;

	if (s[0] == '\0' || (label && s[0] == '_' && s[1] == '_'))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    ch == '_' || (ch == ':' && !label))
			continue;
		if (ch >= '0' && ch <= '9' && i > 0)
			continue;
		return 0;
	}
	return 1;
}
