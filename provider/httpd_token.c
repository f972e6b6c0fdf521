/*
 * httpd_token.c - the local token endpoint's requests: an OAuth 2.0
 * token request answered from the cache (RFC 6749 §4.4, §5), and the
 * discovery document that points issuer-based clients at it.
 *
 * The order of the checks of a token request: the user's rate; the
 * request itself (tokenreq.c: path, method, body, grant, client); the
 * credential it selects (treq_match); whether the user at the other end
 * may have that credential's token (its allow_users and allow_groups, as
 * for the segment) and, if the credential has an endpoint_secret, whether
 * the request's client secret is that; then the token.  A token is handed out while at least
 * min_lifetime seconds are left (or a fifth of its lifetime, for tokens
 * too short for that floor), since clients refresh that early and would
 * otherwise ask again at once; below it the request joins or starts the
 * refresh and waits, bounded, so that any number of clients cause one
 * upstream request.  Never an expired token: with none valid left, 503
 * with Retry-After.
 *
 * The token travels only from the segment (segw_read_token, into the
 * daemon's locked scratch buffer) to the reply's buffer, which
 * libmicrohttpd frees by free(), which wipes (wipe_malloc.c).  The client
 * secret of a request is never kept (tokenreq.c), and its body, which
 * held it, is wiped once parsed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <sodium.h>

#include "access.h"
#include "cred.h"
#include "daemon_int.h"
#include "endpoint.h"
#include "httpd.h"
#include "httpd_int.h"
#include "log.h"
#include "request.h"
#include "scheduler.h"
#include "stats_doc.h"
#include "tokenreq.h"

#define DISCOVERY_PATH  "/.well-known/openid-configuration"
/* What a valid token keeps when a wait for its successor ends: a second
 * to hand out, and a margin for the reply to get there. */
#define WAIT_SPARE_NS   (NS_PER_S + NS_PER_S / 4)
#define TOKEN_PATH      "/oauth/token"
#define METRICS_PATH    "/metrics"
#define METRICS_TYPE    "text/plain; version=0.0.4; charset=utf-8"

/* ---- replies ---------------------------------------------------------- */

/* A growing reply body; failed: out of memory. */
struct jbuf {
	char *s;
	size_t len, cap;
	int failed;
};

static void
jb_put(struct jbuf *b, const char *s, size_t n)
{
	char *ns;
	size_t cap;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 512 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		/* realloc's old block is wiped when freed (wipe_malloc.c). */
		if ((ns = realloc(b->s, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void jb_printf(struct jbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
jb_printf(struct jbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->failed = 1;
	else
		jb_put(b, tmp, (size_t)n);
}

/* s (n bytes of printable ASCII, as every string here is) as a JSON
 * string: '"' and '\' escaped, any other byte below 0x20 as \u00XX. */
static void
jb_string(struct jbuf *b, const char *s, size_t n)
{
	size_t i, from = 0;
	char esc[8];

	jb_put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch != '"' && ch != '\\' && ch >= 0x20)
			continue;
		jb_put(b, s + from, i - from);
		if (ch == '"' || ch == '\\')
			snprintf(esc, sizeof(esc), "\\%c", ch);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
		jb_put(b, esc, strlen(esc));
		from = i + 1;
	}
	jb_put(b, s + from, n - from);
	jb_put(b, "\"", 1);
}

/*
 * Queue b as the reply with status; the extra header (name, value) if
 * name is not NULL.  RFC 6749 §5.1 asks for no-store on every reply that
 * carries a token; errors get it too, so that no cache keeps anything of
 * the endpoint's.  b's buffer goes to libmicrohttpd.
 */
static enum MHD_Result
reply_typed(struct hreq *r, unsigned int status, struct jbuf *b,
    const char *type, const char *name, const char *value)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (b->failed) {
		free(b->s);
		return MHD_NO;	/* out of memory: the connection is closed */
	}
	resp = MHD_create_response_from_buffer(b->len, b->s,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(b->s);
		return MHD_NO;
	}
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    type);
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_PRAGMA, "no-cache");
	if (name != NULL)
		(void)MHD_add_response_header(resp, name, value);
	ret = MHD_queue_response(r->mc, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
reply(struct hreq *r, unsigned int status, struct jbuf *b, const char *name,
    const char *value)
{
	return reply_typed(r, status, b, "application/json;charset=UTF-8",
	    name, value);
}

/* An RFC 6749 §5.2 error, counted as outcome. */
static enum MHD_Result
reply_error(struct daemon *d, struct hreq *r, unsigned int status,
    const char *error, const char *desc, const char *hname,
    const char *hvalue, enum httpd_outcome outcome)
{
	struct jbuf b = { 0 };

	d->httpd->replies[outcome]++;
	httpd_count_status(d->httpd, status);
	jb_put(&b, "{\"error\":", 9);
	jb_string(&b, error, strlen(error));
	if (desc != NULL && desc[0] != '\0') {
		jb_put(&b, ",\"error_description\":", 21);
		jb_string(&b, desc, strlen(desc));
	}
	jb_put(&b, "}\n", 2);
	return reply(r, status, &b, hname, hvalue);
}

static enum MHD_Result
reply_treq_error(struct daemon *d, struct hreq *r, const struct treq_error *e)
{
	const char *hname = NULL, *hvalue = NULL;

	if (e->www_authenticate) {
		hname = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
		hvalue = "Basic realm=\"tokencache\"";
	} else if (e->status == MHD_HTTP_METHOD_NOT_ALLOWED) {
		hname = MHD_HTTP_HEADER_ALLOW;
		hvalue = "POST";
	}
	return reply_error(d, r, (unsigned int)e->status, e->error,
	    e->description, hname, hvalue, HO_BAD_REQUEST);
}

/* ---- the token -------------------------------------------------------- */

/* What a handed-out token must have left: min_lifetime, or a fifth of
 * the token's lifetime when that is less (the scheduler refreshes at 70
 * to 80 % of it, so that a working refresh never leaves a token under
 * the floor). */
static int64_t
token_floor_ns(const struct daemon *d, const struct cred *c)
{
	int64_t f = d->conf->endpoint.min_lifetime * NS_PER_S;

	if (c->life_ns > 0 && c->life_ns / 5 < f)
		f = c->life_ns / 5;
	return f < NS_PER_S ? NS_PER_S : f;
}

/* RFC 6749 §5.1: the token as the server issued it, the seconds it has
 * left, and the scope the server gave, if it did. */
static enum MHD_Result
reply_token(struct daemon *d, struct hreq *r, const struct cred *c,
    int64_t now)
{
	struct seg_slot meta;
	struct jbuf b = { 0 };
	size_t len = 0;
	int rc;

	rc = segw_read_token(&d->seg, c->slot, d->tokbuf,
	    (size_t)d->conf->max_token_size + 1, &len, &meta);
	if (rc != 0) {
		sodium_memzero(d->tokbuf, (size_t)d->conf->max_token_size + 1);
		return reply_error(d, r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "temporarily_unavailable", "the token could not be read "
		    "from the cache", MHD_HTTP_HEADER_RETRY_AFTER, "1",
		    HO_UNAVAILABLE);
	}
	jb_put(&b, "{\"access_token\":", 16);
	jb_string(&b, d->tokbuf, len);
	sodium_memzero(d->tokbuf, len);
	jb_put(&b, ",\"token_type\":", 14);
	jb_string(&b, meta.token_type, strlen(meta.token_type));
	jb_printf(&b, ",\"expires_in\":%" PRId64,
	    (c->expires_ns - now) / NS_PER_S);
	if (c->scope[0] != '\0') {
		jb_put(&b, ",\"scope\":", 9);
		jb_string(&b, c->scope, strlen(c->scope));
	}
	jb_put(&b, "}\n", 2);
	d->httpd->replies[HO_TOKEN]++;
	httpd_count_status(d->httpd, MHD_HTTP_OK);
	return reply(r, MHD_HTTP_OK, &b, NULL, NULL);
}

/* No valid token, and no wait left: 503 with when to ask again (RFC
 * 9110 §10.2.3) and why. */
static enum MHD_Result
reply_unavailable(struct daemon *d, struct hreq *r, const struct cred *c,
    int64_t now)
{
	int64_t at = c->in_flight ? now : c->due_ns, secs;
	char ra[24], desc[SEG_NAME_FIELD + SEG_SLOT_ERROR + 64];

	if (c->ep->hold_until_ns > at)
		at = c->ep->hold_until_ns;
	secs = (at - now + NS_PER_S - 1) / NS_PER_S;
	if (secs < 1)
		secs = 1;
	if (secs > RETRY_AFTER_MAX)
		secs = RETRY_AFTER_MAX;
	snprintf(ra, sizeof(ra), "%" PRId64, secs);
	if (c->last_error[0] != '\0')
		snprintf(desc, sizeof(desc), "%s: no valid token: %s",
		    c->name, c->last_error);
	else
		snprintf(desc, sizeof(desc), "%s: no valid token yet: the "
		    "request to the token endpoint is under way", c->name);
	return reply_error(d, r, MHD_HTTP_SERVICE_UNAVAILABLE,
	    "temporarily_unavailable", desc, MHD_HTTP_HEADER_RETRY_AFTER, ra,
	    HO_UNAVAILABLE);
}

/* The answer when no wait helps: the token while it has a second left
 * (left: the time it has), else 503. */
static enum MHD_Result
reply_as_is(struct daemon *d, struct hreq *r, const struct cred *c,
    int64_t left, int64_t now)
{
	return left >= NS_PER_S ? reply_token(d, r, c, now) :
	    reply_unavailable(d, r, c, now);
}

/*
 * c's token for r, now or after a wait.  A wait is worth it only while a
 * request is in flight or due before the wait would end; otherwise the
 * answer is the same now as later.
 */
static enum MHD_Result
serve_token(struct daemon *d, struct hreq *r, struct cred *c, int64_t now)
{
	int64_t left = c->expires_ns != 0 ? c->expires_ns - now : 0;
	int64_t budget;

	if (left >= token_floor_ns(d, c))
		return reply_token(d, r, c, now);
	if (r->waited)
		return reply_as_is(d, r, c, left, now);
	if (left >= NS_PER_S) {
		/* Valid but under the floor: an early refresh, which
		 * refresh_min_interval may refuse. */
		if (sched_refresh(d, c, now) == SCHED_FORCE_LAST)
			return reply_token(d, r, c, now);
	} else
		cred_hurry(c, now);
	budget = (int64_t)c->conf->timeout_ms + 1000;
	if (budget > HTTP_WAIT_MAX_MS)
		budget = HTTP_WAIT_MAX_MS;
	if (r->wait_deadline_ns == 0) {
		r->wait_deadline_ns = now + budget * NS_PER_MS;
		/* A valid token is better than a 503: the wait ends while
		 * it still has a second left to hand out. */
		if (left >= NS_PER_S &&
		    r->wait_deadline_ns > c->expires_ns - WAIT_SPARE_NS)
			r->wait_deadline_ns = c->expires_ns - WAIT_SPARE_NS;
	}
	if (r->wait_deadline_ns <= now ||
	    (!c->in_flight && c->due_ns >= r->wait_deadline_ns))
		return reply_as_is(d, r, c, left, now);
	memcpy(r->name, c->name, sizeof(r->name));
	httpd_wait(d->httpd, r);
	return MHD_YES;
}

/* ---- requests --------------------------------------------------------- */

static const char *
header(struct MHD_Connection *mc, const char *name)
{
	return MHD_lookup_connection_value(mc, MHD_HEADER_KIND, name);
}

/* A token request, whole (r->body holds its body). */
static enum MHD_Result
serve_token_request(struct daemon *d, struct hreq *r, const char *url,
    const char *method)
{
	struct hconn *hc = r->hc;
	const struct cred_conf *cc;
	struct treq_error e;
	struct cred *c;
	int64_t now = now_ns();

	if (!r->counted) {
		r->counted = 1;
		if (!rate_allow(d, hc->uid, now))
			return reply_error(d, r, MHD_HTTP_TOO_MANY_REQUESTS,
			    "invalid_request", "too many requests from this "
			    "user: slow down", MHD_HTTP_HEADER_RETRY_AFTER,
			    "1", HO_RATE);
	}
	if (!r->parsed) {
		struct treq_http in = {
			.method = method,
			.path = url,
			.content_type = header(r->mc, "Content-Type"),
			.authorization = header(r->mc, "Authorization"),
			.body = r->body,
			.body_len = r->body_len,
		};

		memset(&e, 0, sizeof(e));
		if (treq_parse(&in, &r->tr, &e) != 0)
			return reply_treq_error(d, r, &e);
		r->parsed = 1;
		/* It held the client secret. */
		if (r->body != NULL)
			sodium_memzero(r->body, r->body_len);
	}
	if ((cc = treq_match(d->conf, &r->tr, &e)) == NULL)
		return reply_treq_error(d, r, &e);
	if ((c = cred_find(d, cc->name)) == NULL)
		return reply_error(d, r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "temporarily_unavailable", "the configuration is being "
		    "reloaded", MHD_HTTP_HEADER_RETRY_AFTER, "1",
		    HO_UNAVAILABLE);
	if (!cred_admits(c, hc->uid, hc->gid, hc->groups, hc->ngroups)) {
		char desc[96];

		log_denied(d, hc->uid, "endpoint", c->name, now);
		snprintf(desc, sizeof(desc), "uid %u may not use this "
		    "client (see allow_users, allow_groups)",
		    (unsigned)hc->uid);
		return reply_error(d, r, MHD_HTTP_UNAUTHORIZED,
		    "invalid_client", desc, r->tr.basic ?
		    MHD_HTTP_HEADER_WWW_AUTHENTICATE : NULL,
		    "Basic realm=\"tokencache\"", HO_DENIED);
	}
	/* For hosts where several applications share a user: a secret of
	 * the endpoint's own, never the real client secret. */
	if (c->conf->endpoint_secret != NULL && !treq_secret_is(&r->tr,
	    c->conf->endpoint_secret, c->conf->endpoint_secret_len)) {
		log_denied(d, hc->uid, "endpoint", c->name, now);
		return reply_error(d, r, MHD_HTTP_UNAUTHORIZED,
		    "invalid_client", "the client secret is not this "
		    "credential's endpoint_secret_file", r->tr.basic ?
		    MHD_HTTP_HEADER_WWW_AUTHENTICATE : NULL,
		    "Basic realm=\"tokencache\"", HO_DENIED);
	}
	return serve_token(d, r, c, now);
}

/* This endpoint's base URL, from the address the client connected to
 * (not from its Host header, which it chooses). */
static void
base_url(const struct hconn *hc, char *out, size_t n)
{
	char addr[64];

	if (httpd_addr_text(&hc->local, addr, sizeof(addr)) == 0)
		snprintf(out, n, "http://%s", addr);
	else
		snprintf(out, n, "http://localhost");
}

/* OpenID Connect Discovery 1.0 §3, what of it a client credentials
 * client reads. */
static enum MHD_Result
serve_discovery(struct daemon *d, struct hreq *r, const char *method)
{
	struct jbuf b = { 0 };
	char base[96];

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_error(d, r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "invalid_request", "use GET", MHD_HTTP_HEADER_ALLOW,
		    "GET, HEAD", HO_BAD_REQUEST);
	base_url(r->hc, base, sizeof(base));
	jb_printf(&b, "{\"issuer\":\"%s\",\"token_endpoint\":\"%s%s\","
	    "\"grant_types_supported\":[\"client_credentials\"],"
	    "\"token_endpoint_auth_methods_supported\":"
	    "[\"client_secret_post\",\"client_secret_basic\"]}\n", base, base,
	    TOKEN_PATH);
	d->httpd->replies[HO_OTHER_OK]++;
	httpd_count_status(d->httpd, MHD_HTTP_OK);
	return reply(r, MHD_HTTP_OK, &b, NULL, NULL);
}

/* The daemon's metrics, as `tokencachectl metrics` prints them, for a
 * scraper on the host: anyone who may connect may read them, as anyone
 * may run the command (tokencached(8), METRICS). */
static enum MHD_Result
serve_metrics(struct daemon *d, struct hreq *r, const char *method)
{
	struct jbuf b = { 0 };
	FILE *fp;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_error(d, r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "invalid_request", "use GET", MHD_HTTP_HEADER_ALLOW,
		    "GET, HEAD", HO_BAD_REQUEST);
	/* Counted first, so that this reply is in its own counts. */
	d->httpd->replies[HO_OTHER_OK]++;
	httpd_count_status(d->httpd, MHD_HTTP_OK);
	if ((fp = open_memstream(&b.s, &b.len)) == NULL)
		return MHD_NO;
	if (stats_metrics_write(d, now_ns(), fp) != 0)
		b.failed = 1;
	if (fclose(fp) != 0)
		b.failed = 1;
	return reply_typed(r, MHD_HTTP_OK, &b, METRICS_TYPE, NULL, NULL);
}

/* Does the request announce a body longer than TREQ_BODY_MAX? */
static int
body_too_long(struct MHD_Connection *mc)
{
	const char *cl = header(mc, MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t n;

	/* libmicrohttpd refused a malformed one already; a digit string
	 * too long for strtoul is too long a body anyway. */
	if (cl == NULL || (n = strspn(cl, "0123456789")) == 0)
		return 0;
	return n > 9 || strtoul(cl, NULL, 10) > TREQ_BODY_MAX;
}

/* Keep the body, up to one byte more than TREQ_BODY_MAX, which is how
 * treq_parse learns that it was too long. */
static int
body_add(struct hreq *r, const char *data, size_t n)
{
	size_t room;

	if (r->body == NULL && (r->body = malloc(TREQ_BODY_MAX + 1)) == NULL)
		return -1;
	room = TREQ_BODY_MAX + 1 - r->body_len;
	if (n > room)
		n = room;
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	return 0;
}

enum MHD_Result
httpd_access(void *cls, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct daemon *d = cls;
	struct hreq *r = *req_cls;

	(void)mc, (void)version;
	if (r == NULL || d->httpd->stopping)
		return MHD_NO;
	if (!r->started) {	/* the headers are in */
		r->started = 1;
		if (strcmp(url, DISCOVERY_PATH) != 0 &&
		    strcmp(url, METRICS_PATH) != 0 && body_too_long(mc)) {
			/* Refused before a byte of it is read. */
			r->hc->in_request = 1;
			r->body_len = TREQ_BODY_MAX + 1;
			return serve_token_request(d, r, url, method);
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (body_add(r, upload_data, *upload_data_size) != 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	r->hc->in_request = 1;
	if (strcmp(url, DISCOVERY_PATH) == 0)
		return serve_discovery(d, r, method);
	if (strcmp(url, METRICS_PATH) == 0)
		return serve_metrics(d, r, method);
	return serve_token_request(d, r, url, method);
}
