/*
 * stats_doc.c - the documents of PROTO_OP_METRICS (the Prometheus text
 * exposition format, version 0.0.4) and PROTO_OP_STATUS (a JSON array, a
 * credential an object), each handed out as a sealed memfd so that a
 * reader gets it whole, whatever its size, and no one can change it.
 *
 * Neither holds a token or a secret: credential names, module names,
 * token endpoints (whose URLs carry no user information: config_check.c
 * refuses it) without their query, counts and times.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "cred.h"
#include "daemon_int.h"
#include "httpd.h"
#include "log.h"
#include "stats.h"
#include "stats_doc.h"
#include "tokencache.h"
#include "url.h"

#define HTTPD_STATUS_ROWS 16
#define DOC_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

int
stats_doc_memfd(const char *name, const char *buf, size_t len)
{
	char path[64];
	size_t off = 0;
	ssize_t n;
	int fd, ro, saved;

	if ((fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return -1;
	while (off < len) {
		if ((n = write(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, DOC_SEALS) == -1)
		goto fail;
	/* A read-only descriptor, as the segment's (seg_file.c); the
	 * seals alone keep the reader from changing it where there is no
	 * /proc. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((ro = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		close(fd);
		fd = ro;
	}
	return fd;
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* The provider as the documents name it: a chain's sources' modules,
 * joined by ",". */
static void
provider_of(const struct cred_conf *cc, char *buf, size_t n)
{
	size_t i, len = 0;
	int w;

	buf[0] = '\0';
	if (cc->nsources == 0) {
		snprintf(buf, n, "%s", cc->provider);
		return;
	}
	for (i = 0; i < cc->nsources && len < n; i++) {
		w = snprintf(buf + len, n - len, "%s%s", i > 0 ? "," : "",
		    cc->sources[i].provider);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

/* The token endpoint's URL: the credential's token_url, or its chain's
 * first; NULL if it has none (an issuer's, a module's). */
static const char *
token_url_of(const struct cred_conf *cc)
{
	size_t i;

	if (cc->token_url != NULL)
		return cc->token_url;
	for (i = 0; i < cc->nsources; i++)
		if (cc->sources[i].token_url != NULL)
			return cc->sources[i].token_url;
	return NULL;
}

static uint64_t
generation_of(struct daemon *d, const struct cred *c)
{
	struct seg_slot s;

	return segw_read(&d->seg, c->slot, &s) == 0 ? s.generation : 0;
}

/* One sample per credential of a family: value(c). */
#define PER_CRED(fp, metric, expr) do {					\
	size_t i_;							\
	for (i_ = 0; i_ < d->ncreds; i_++) {				\
		const struct cred *c = d->creds[i_];			\
		const char *l_[] = { "credential", c->name };		\
		prom_sample((fp), (metric), l_, 1, (double)(expr));	\
	}								\
} while (0)

static void
write_histograms(struct daemon *d, FILE *fp)
{
	static const char *const name = "tokencache_refresh_duration_seconds";
	char le[32], bname[64];
	uint64_t cum;
	size_t i, j;

	prom_family(fp, name, "histogram", "Time from a token request's "
	    "sending to its end (a reply, a failure or the timeout), per "
	    "source attempt.");
	snprintf(bname, sizeof(bname), "%s_bucket", name);
	for (i = 0; i < d->ncreds; i++) {
		const struct cred *c = d->creds[i];
		const char *l[] = { "credential", c->name, "le", le };

		for (j = cum = 0; j <= STATS_BUCKETS; j++) {
			cum += c->st.buckets[j];
			if (j < STATS_BUCKETS)
				snprintf(le, sizeof(le), "%g",
				    stats_bucket_le[j]);
			else
				snprintf(le, sizeof(le), "+Inf");
			prom_sample(fp, bname, l, 2, (double)cum);
		}
		prom_sample(fp, "tokencache_refresh_duration_seconds_sum", l,
		    1, c->st.latency_sum);
		prom_sample(fp, "tokencache_refresh_duration_seconds_count",
		    l, 1, (double)c->st.latency_count);
	}
}

static void
write_credentials(struct daemon *d, int64_t now, FILE *fp)
{
	char prov[256];
	size_t i, o;

	prom_family(fp, "tokencache_credential_info", "gauge", "A "
	    "credential the daemon serves, with its source module (a chain's "
	    "modules joined by commas); always 1.");
	for (i = 0; i < d->ncreds; i++) {
		const struct cred *c = d->creds[i];
		const char *l[] = { "credential", c->name, "provider", prov };

		provider_of(c->conf, prov, sizeof(prov));
		prom_sample(fp, "tokencache_credential_info", l, 2, 1);
	}
	prom_family(fp, "tokencache_token_expiry_seconds", "gauge",
	    "Seconds until the credential's token expires; 0 when it has "
	    "no valid token.");
	PER_CRED(fp, "tokencache_token_expiry_seconds",
	    c->expires_ns > now ? (c->expires_ns - now) / NS_PER_S : 0);
	prom_family(fp, "tokencache_token_generation", "gauge", "The "
	    "generation of the credential's slot, as readers see it: one more "
	    "each time the slot gets or loses a token.");
	PER_CRED(fp, "tokencache_token_generation", generation_of(d, c));
	prom_family(fp, "tokencache_credential_consecutive_failures",
	    "gauge", "Attempts in a row that failed, since the last that "
	    "got a token.");
	PER_CRED(fp, "tokencache_credential_consecutive_failures",
	    c->st.consecutive_failures);
	prom_family(fp, "tokencache_refresh_requests_total", "counter",
	    "Token requests by outcome: ok, transient, permanent, or "
	    "rate_limited (HTTP 429 or a Retry-After).");
	for (i = 0; i < d->ncreds; i++)
		for (o = 0; o < ST_COUNT; o++) {
			const char *l[] = { "credential", d->creds[i]->name,
			    "outcome", stats_outcome_name(o) };

			prom_sample(fp, "tokencache_refresh_requests_total", l,
			    2, (double)d->creds[i]->st.requests[o]);
		}
	write_histograms(d, fp);
	prom_family(fp, "tokencache_last_success_timestamp_seconds", "gauge",
	    "When the credential's last token arrived (Unix time); none "
	    "before the first.");
	for (i = 0; i < d->ncreds; i++) {
		const char *l[] = { "credential", d->creds[i]->name };

		if (d->creds[i]->st.last_success_at != 0)
			prom_sample(fp,
			    "tokencache_last_success_timestamp_seconds", l, 1,
			    (double)d->creds[i]->st.last_success_at);
	}
	prom_family(fp, "tokencache_key_requests_total", "counter", "Readers' "
	    "requests for the credential's key, granted or denied.");
	for (i = 0; i < d->ncreds; i++) {
		const char *g[] = { "credential", d->creds[i]->name,
		    "result", "granted" };
		const char *n[] = { "credential", d->creds[i]->name,
		    "result", "denied" };

		prom_sample(fp, "tokencache_key_requests_total", g, 2,
		    (double)d->creds[i]->st.key_granted);
		prom_sample(fp, "tokencache_key_requests_total", n, 2,
		    (double)d->creds[i]->st.key_denied);
	}
}

/*
 * One sample per endpoint label of a family: the sum over the endpoints
 * that share it (they differ only in their query), so that no series is
 * written twice.  retry: the Retry-After holds, else the rate guard's.
 */
static void
write_endpoint_holds(struct daemon *d, FILE *fp, const char *metric,
    int retry)
{
	char ep[ENDPOINT_KEY_MAX], other[ENDPOINT_KEY_MAX];
	const char *l[] = { "endpoint", ep };
	uint64_t sum;
	size_t i, j;

	for (i = 0; i < d->neps; i++) {
		url_public(d->eps[i]->url, ep, sizeof(ep));
		for (j = 0; j < i; j++) {
			url_public(d->eps[j]->url, other, sizeof(other));
			if (strcmp(ep, other) == 0)
				break;
		}
		if (j < i)
			continue;	/* written with the first */
		for (sum = 0, j = i; j < d->neps; j++) {
			url_public(d->eps[j]->url, other, sizeof(other));
			if (strcmp(ep, other) == 0)
				sum += retry ? d->eps[j]->retry_after_holds :
				    d->eps[j]->rate_holds;
		}
		prom_sample(fp, metric, l, 1, (double)sum);
	}
}

static void
write_endpoints(struct daemon *d, FILE *fp)
{
	unsigned int status[HTTPD_STATUS_ROWS];
	uint64_t count[HTTPD_STATUS_ROWS];
	char code[16];
	size_t i, n;

	prom_family(fp, "tokencache_endpoint_rate_guard_holds_total",
	    "counter", "Token requests the endpoint's rate guard "
	    "(endpoint_rate, endpoint_burst) delayed.");
	write_endpoint_holds(d, fp,
	    "tokencache_endpoint_rate_guard_holds_total", 0);
	prom_family(fp, "tokencache_endpoint_retry_after_holds_total",
	    "counter", "Retry-After replies that held every request to the "
	    "endpoint.");
	write_endpoint_holds(d, fp,
	    "tokencache_endpoint_retry_after_holds_total", 1);
	n = httpd_status_counts(d, status, count, HTTPD_STATUS_ROWS);
	if (d->httpd == NULL)
		return;
	prom_family(fp, "tokencache_http_requests_total", "counter",
	    "Replies of the local token endpoint by HTTP status.");
	for (i = 0; i < n; i++) {
		const char *l[] = { "code", code };

		snprintf(code, sizeof(code), "%u", status[i]);
		prom_sample(fp, "tokencache_http_requests_total", l, 1,
		    (double)count[i]);
	}
}

int
stats_metrics_write(struct daemon *d, int64_t now, FILE *fp)
{
	const char *v[] = { "version", TC_VERSION_STRING };

	prom_family(fp, "tokencache_build_info", "gauge", "tokencached's "
	    "version; always 1.");
	prom_sample(fp, "tokencache_build_info", v, 1, 1);
	prom_family(fp, "tokencache_start_time_seconds", "gauge", "When "
	    "the daemon's worker started (Unix time).");
	prom_sample(fp, "tokencache_start_time_seconds", NULL, 0,
	    (double)d->started_at);
	write_credentials(d, now, fp);
	write_endpoints(d, fp);
	prom_family(fp, "tokencache_control_connections_total", "counter",
	    "Connections accepted on the control socket.");
	prom_sample(fp, "tokencache_control_connections_total", NULL, 0,
	    (double)d->conns_accepted);
	prom_family(fp, "tokencache_control_evictions_total", "counter",
	    "Idle control connections closed to make room for a new one.");
	prom_sample(fp, "tokencache_control_evictions_total", NULL, 0,
	    (double)d->conns_evicted);
	return fflush(fp) == 0 && !ferror(fp) ? 0 : -1;
}

void
stats_textfile(struct daemon *d, int64_t now)
{
	const char *path = d->conf->metrics_textfile;
	char tmp[PATH_MAX];
	FILE *fp = NULL;
	int fd, ok = 0, saved = 0, renaming = 0;
	const char *what = "cannot create";

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	/* Not one left by a crash, nor one someone put there for us. */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1 || (fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		if (fd != -1)
			close(fd);
		errno = saved;
		goto out;
	}
	what = "cannot write";
	/* No fsync: the rename is what makes it whole for the collector,
	 * and after a crash the next interval writes it again; the loop
	 * does not wait on the disk. */
	if (stats_metrics_write(d, now, fp) != 0) {
		saved = errno;
		(void)fclose(fp);
		(void)unlink(tmp);
		errno = saved;
		goto out;
	}
	if (fclose(fp) != 0) {
		saved = errno;
		(void)unlink(tmp);
		errno = saved;
		goto out;
	}
	what = "cannot rename";
	renaming = 1;
	if (rename(tmp, path) != 0) {
		saved = errno;
		(void)unlink(tmp);
		errno = saved;
		goto out;
	}
	ok = 1;
 out:
	if (!ok && !d->metrics_failing)
		log_warn("metrics_textfile: %s %s%s%s", what, tmp,
		    renaming ? " to " : "", renaming ? path : "");
	else if (ok && d->metrics_failing)
		log_info("metrics_textfile: %s written again", path);
	d->metrics_failing = !ok;
}

int
stats_metrics_fd(struct daemon *d, int64_t now)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int fd = -1;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return -1;
	if (stats_metrics_write(d, now, fp) == 0 && fclose(fp) == 0)
		fd = stats_doc_memfd("tokencache-metrics", buf, len);
	else
		(void)fclose(fp);
	free(buf);
	return fd;
}

/* An attempt as JSON: at, [outcome, http_status, latency_ms,] error,
 * error_description (null when there is none). */
static struct json_object *
attempt_json(const struct stats_attempt *a, int full)
{
	struct json_object *o = json_object_new_object();
	char code[SEG_SLOT_ERROR], desc[SEG_SLOT_ERROR];

	if (o == NULL)
		return NULL;
	stats_error_split(a, code, sizeof(code), desc, sizeof(desc));
	json_object_object_add(o, "at", json_object_new_int64(a->at));
	if (full)
		json_object_object_add(o, "outcome",
		    json_object_new_string(stats_outcome_name(a->outcome)));
	json_object_object_add(o, "http_status", a->http_status != 0 ?
	    json_object_new_int64(a->http_status) : NULL);
	if (full)
		json_object_object_add(o, "latency_ms",
		    json_object_new_int64(a->latency_ms));
	json_object_object_add(o, "error", code[0] != '\0' ?
	    json_object_new_string(code) : NULL);
	json_object_object_add(o, "error_description", desc[0] != '\0' ?
	    json_object_new_string(desc) : NULL);
	return o;
}

static struct json_object *
cred_json(struct daemon *d, const struct cred *c)
{
	struct json_object *o = json_object_new_object(), *req, *at;
	const struct stats_attempt *a;
	const char *url = token_url_of(c->conf);
	char prov[256], pub[1024];
	unsigned int i;
	size_t k;

	if (o == NULL)
		return NULL;
	provider_of(c->conf, prov, sizeof(prov));
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "provider", json_object_new_string(prov));
	if (url != NULL)
		url_public(url, pub, sizeof(pub));
	json_object_object_add(o, "token_url", url != NULL ?
	    json_object_new_string(pub) : NULL);
	json_object_object_add(o, "last_success_at",
	    c->st.last_success_at != 0 ?
	    json_object_new_int64(c->st.last_success_at) : NULL);
	json_object_object_add(o, "consecutive_failures",
	    json_object_new_int64(c->st.consecutive_failures));
	json_object_object_add(o, "generation",
	    json_object_new_uint64(generation_of(d, c)));
	if ((req = json_object_new_object()) != NULL) {
		for (k = 0; k < ST_COUNT; k++)
			json_object_object_add(req, stats_outcome_name(k),
			    json_object_new_uint64(c->st.requests[k]));
		json_object_object_add(o, "requests", req);
	}
	a = stats_last_failure(&c->st);
	json_object_object_add(o, "last_error", a != NULL ?
	    attempt_json(a, 0) : NULL);
	if ((at = json_object_new_array()) != NULL) {
		for (i = 0; (a = stats_attempt_at(&c->st, i)) != NULL; i++)
			json_object_array_add(at, attempt_json(a, 1));
		json_object_object_add(o, "attempts", at);
	}
	return o;
}

int
stats_status_fd(struct daemon *d, int64_t now)
{
	struct json_object *arr = json_object_new_array(), *o;
	const char *s;
	size_t i;
	int fd = -1;

	(void)now;
	if (arr == NULL)
		return -1;
	for (i = 0; i < d->ncreds; i++) {
		if ((o = cred_json(d, d->creds[i])) == NULL)
			goto out;
		json_object_array_add(arr, o);
	}
	s = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s != NULL) {
		/* A document ends its last line, as the metrics do. */
		size_t n = strlen(s);
		char *buf = malloc(n + 2);

		if (buf != NULL) {
			memcpy(buf, s, n);
			buf[n] = '\n';
			fd = stats_doc_memfd("tokencache-status", buf, n + 1);
			free(buf);
		}
	}
 out:
	json_object_put(arr);
	return fd;
}
