/*
 * oauth2.c - the `oauth2` module: RFC 6749 §4.4 client credentials grant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "module.h"
#include "tokencache.h"

/*
 * Replies are cut off at twice the longest token we accept plus room for
 * the other members: no token endpoint needs more, and a longer reply
 * cannot carry a token we would publish.
 */
#define RESPONSE_SLACK (64 * 1024)

struct oauth2_req {
	CURL *easy;
	char *body;               /* sodium_malloc'd: holds the secret */
	char *auth;               /* sodium_malloc'd Authorization header */
	struct curl_slist *headers;
	char *resp;
	size_t resp_len;
	size_t resp_cap;
	size_t resp_max;
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
};

/*
 * Collect the reply.  It holds the token, so the buffer grows by copying
 * and wiping rather than realloc(), which would leave copies behind.
 */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct oauth2_req *q = arg;
	size_t n = size * nmemb, ncap;
	char *p;

	if (n > q->resp_max - q->resp_len) {
		q->too_big = 1;
		return 0;	/* aborts the transfer */
	}
	if (q->resp_len + n + 1 > q->resp_cap) {
		ncap = q->resp_cap ? q->resp_cap : 4096;
		while (ncap < q->resp_len + n + 1)
			ncap *= 2;
		if ((p = malloc(ncap)) == NULL)
			return 0;
		if (q->resp != NULL) {
			memcpy(p, q->resp, q->resp_len);
			sodium_memzero(q->resp, q->resp_cap);
			free(q->resp);
		}
		q->resp = p;
		q->resp_cap = ncap;
	}
	memcpy(q->resp + q->resp_len, data, n);
	q->resp_len += n;
	q->resp[q->resp_len] = '\0';
	return n;
}

/* Append "&key=value" (form-encoded value) to the sodium buffer *buf. */
static int
add_param(char **buf, size_t *len, const char *key, const char *value)
{
	char *enc, *nb;
	size_t elen, klen = strlen(key), need;

	if ((enc = tok_form_encode(value, strlen(value))) == NULL)
		return -1;
	elen = strlen(enc);
	need = *len + 1 + klen + 1 + elen + 1;
	if ((nb = sodium_malloc(need)) == NULL) {
		sodium_free(enc);
		return -1;
	}
	memcpy(nb, *buf, *len);
	snprintf(nb + *len, need - *len, "%s%s=%s", *len ? "&" : "", key, enc);
	*len = strlen(nb);
	sodium_free(enc);
	sodium_free(*buf);
	*buf = nb;
	return 0;
}

/*
 * RFC 6749 §2.3.1: client id and secret are each form-urlencoded, then
 * joined with ':' and base64-encoded.
 */
static char *
basic_auth_header(const struct cred_conf *cred)
{
	char *id = NULL, *secret = NULL, *joined = NULL, *out = NULL;
	size_t jlen, b64len, olen;
	static const char prefix[] = "Authorization: Basic ";

	id = tok_form_encode(cred->client_id, strlen(cred->client_id));
	secret = tok_form_encode(cred->client_secret, cred->client_secret_len);
	if (id == NULL || secret == NULL)
		goto out;
	jlen = strlen(id) + 1 + strlen(secret);
	if ((joined = sodium_malloc(jlen + 1)) == NULL)
		goto out;
	snprintf(joined, jlen + 1, "%s:%s", id, secret);
	b64len = sodium_base64_ENCODED_LEN(jlen, sodium_base64_VARIANT_ORIGINAL);
	olen = sizeof(prefix) - 1 + b64len;
	if ((out = sodium_malloc(olen)) == NULL)
		goto out;
	memcpy(out, prefix, sizeof(prefix) - 1);
	sodium_bin2base64(out + sizeof(prefix) - 1, b64len,
	    (const unsigned char *)joined, jlen, sodium_base64_VARIANT_ORIGINAL);
 out:
	sodium_free(id);
	sodium_free(secret);
	sodium_free(joined);
	return out;
}

static void
oauth2_cleanup(void *ctx)
{
	struct oauth2_req *q = ctx;
	struct curl_slist *h;

	if (q == NULL)
		return;
	if (q->easy != NULL)
		curl_easy_cleanup(q->easy);
	/* curl copied the Authorization header into the list: wipe it. */
	for (h = q->headers; h != NULL; h = h->next)
		sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(q->headers);
	sodium_free(q->body);
	sodium_free(q->auth);
	if (q->resp != NULL) {
		sodium_memzero(q->resp, q->resp_cap);
		free(q->resp);
	}
	free(q);
}

static int
oauth2_start(const struct cred_conf *cred, const struct tok_limits *lim,
    CURL **easy, void **ctx, char *err, size_t errlen)
{
	struct oauth2_req *q;
	struct curl_slist *h;
	size_t blen = 0;
	size_t i;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		goto nomem;
	q->resp_max = 2 * lim->token_max + RESPONSE_SLACK;
	if ((q->body = sodium_malloc(1)) == NULL)
		goto nomem;
	q->body[0] = '\0';
	if (add_param(&q->body, &blen, "grant_type", "client_credentials"))
		goto nomem;
	if (cred->auth_method == AUTH_CLIENT_SECRET_POST) {
		if (add_param(&q->body, &blen, "client_id", cred->client_id) ||
		    add_param(&q->body, &blen, "client_secret",
		    cred->client_secret))
			goto nomem;
	} else if ((q->auth = basic_auth_header(cred)) == NULL)
		goto nomem;
	if ((cred->audience != NULL &&
	    add_param(&q->body, &blen, "audience", cred->audience)) ||
	    (cred->scope != NULL &&
	    add_param(&q->body, &blen, "scope", cred->scope)))
		goto nomem;
	for (i = 0; i < cred->nresources; i++)
		if (add_param(&q->body, &blen, "resource", cred->resources[i]))
			goto nomem;

	h = curl_slist_append(NULL, "Accept: application/json");
	if (h == NULL)
		goto nomem;
	q->headers = h;
	if ((h = curl_slist_append(q->headers,
	    "Content-Type: application/x-www-form-urlencoded")) == NULL)
		goto nomem;
	/* curl copies header strings into its list; oauth2_cleanup()
	 * wipes them before freeing. */
	if (q->auth != NULL &&
	    (h = curl_slist_append(q->headers, q->auth)) == NULL)
		goto nomem;
	if ((q->easy = curl_easy_init()) == NULL)
		goto nomem;

	curl_easy_setopt(q->easy, CURLOPT_URL, cred->token_url);
	curl_easy_setopt(q->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(q->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(q->easy, CURLOPT_PROXY, "");	/* ignore *_proxy env */
	curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->easy, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(q->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(q->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cred->ca_file != NULL)
		curl_easy_setopt(q->easy, CURLOPT_CAINFO, cred->ca_file);
	curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, cred->timeout_ms);
	curl_easy_setopt(q->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    cred->timeout_ms < 10000 ? cred->timeout_ms : 10000L);
	curl_easy_setopt(q->easy, CURLOPT_USERAGENT,
	    "tokencached/" TC_VERSION_STRING);
	curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->headers);
	curl_easy_setopt(q->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, q->body);
	curl_easy_setopt(q->easy, CURLOPT_POSTFIELDSIZE, (long)blen);
	curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(q->easy, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)q->resp_max);
	/* success */
	*easy = q->easy;
	*ctx = q;
	return 0;
 nomem:
	snprintf(err, errlen, "out of memory preparing the request");
	oauth2_cleanup(q);
	return -1;
}

/*
 * The server's clock, from the reply's Date header (RFC 9110 §6.6.1), or
 * local_now without one.  A JWT's exp and an HTTP-date Retry-After are
 * the server's clock too: measured against its Date, they give the time
 * left whatever our own wall clock says (set wrong, or jumped), and are
 * turned into CLOCK_BOOTTIME deadlines once, here, at fetch time.
 */
static int64_t
server_now(CURL *easy, int64_t local_now)
{
	struct curl_header *h;
	time_t t;

	if (curl_easy_header(easy, "Date", 0, CURLH_HEADER, -1, &h) !=
	    CURLHE_OK || (t = curl_getdate(h->value, NULL)) <= 0)
		return local_now;
	return (int64_t)t;
}

/*
 * Retry-After in seconds (RFC 9110 §10.2.3), 0 if none or in the past.
 * libcurl measures an HTTP-date against our wall clock; we measure it
 * against the server's.  Delay-seconds are libcurl's reading.
 */
static curl_off_t
retry_after_of(CURL *easy, int64_t server)
{
	struct curl_header *h;
	curl_off_t ra = 0;
	const char *v;
	time_t date;

	if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK)
		ra = 0;
	if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) ==
	    CURLHE_OK) {
		for (v = h->value; *v == ' ' || *v == '\t'; v++)
			;
		if ((*v < '0' || *v > '9') && *v != '-' &&
		    (date = curl_getdate(v, NULL)) != -1)
			ra = (curl_off_t)((int64_t)date - server);
	}
	/* Before curl 8.12 a date in the past could come back negative. */
	return ra < 0 ? 0 : ra;
}

static enum tok_outcome
oauth2_finish(void *ctx, CURLcode cc, int64_t now,
    const struct tok_limits *lim, struct tok_result *out,
    long *http_status, long *retry_after)
{
	struct oauth2_req *q = ctx;
	curl_off_t ra = 0;
	long status = 0;

	memset(out, 0, sizeof(*out));
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	*http_status = status;
	now = server_now(q->easy, now);
	ra = retry_after_of(q->easy, now);
	*retry_after = ra > 86400 ? 86400 : (long)ra;
	if (q->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		out->outcome = TOK_TRANSIENT;
		snprintf(out->error, sizeof(out->error),
		    "response larger than %zu bytes", q->resp_max);
		return out->outcome;
	}
	if (cc != CURLE_OK) {
		tok_seterr(out, TOK_TRANSIENT, "%s",
		    q->errbuf[0] ? q->errbuf : curl_easy_strerror(cc));
		return out->outcome;
	}
	/*
	 * Date, like our time(), has whole seconds: the server's clock may
	 * read up to a second more than it says.  A JWT's time left is
	 * measured from the latest it may be, so that its deadline never
	 * lands after exp; an HTTP-date Retry-After (above) from the
	 * earliest, so that the hold never ends early.  The daemon counts the
	 * lifetime from when the request was sent, before the server wrote
	 * either.
	 */
	return tok_parse(q->resp != NULL ? q->resp : "", q->resp_len, status,
	    now + 1, lim, out);
}

const struct prov_module prov_oauth2 = {
	.abi = PROV_MODULE_ABI,
	.name = "oauth2",
	.start = oauth2_start,
	.finish = oauth2_finish,
	.cleanup = oauth2_cleanup,
};

/* provider = camunda: an oauth2 request whose fields the monitor took
 * from the console's credentials file (config_camunda.c). */
const struct prov_module prov_camunda = {
	.abi = PROV_MODULE_ABI,
	.name = "camunda",
	.start = oauth2_start,
	.finish = oauth2_finish,
	.cleanup = oauth2_cleanup,
};

const struct prov_module *
prov_module_find(const char *name)
{
	static const struct prov_module *const builtin[] = { &prov_oauth2,
	    &prov_camunda };
	size_t i;

	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcmp(builtin[i]->name, name) == 0)
			return builtin[i];
	return NULL;
}
