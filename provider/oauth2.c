/*
 * oauth2.c - the `oauth2` module: RFC 6749 §4.4 client credentials grant,
 * with the token endpoint given (token_url) or discovered from an issuer
 * (OpenID Connect Discovery 1.0), and client authentication by secret,
 * TLS client certificate (RFC 8705) or signed assertion (RFC 7523).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "discovery.h"
#include "jwt.h"
#include "srcmod.h"
#include "tokencache.h"

/*
 * Replies are cut off at twice the longest token we accept plus room for
 * the other members: no token endpoint needs more, and a longer reply
 * cannot carry a token we would publish.  A discovery document fits the
 * same bound.
 */
#define RESPONSE_SLACK (64 * 1024)

/* A discovered token endpoint is kept this long, and forgotten at once
 * when it fails to answer (oauth2_finish). */
#define DISCOVERY_TTL_S (24 * 3600)

/*
 * A credential's state.  A request holds a reference: the built-in
 * module's requests outlive a reload of their configuration (reload.c
 * lets them run), so what a request still needs after start() (the
 * discovery cache, the keys, client_id) is copied here rather than read
 * from the cred_conf, which goes with the old configuration.
 */
struct oauth2_state {
	unsigned int refs;
	const struct cred_conf *cred;  /* NULL once released */
	char *issuer;             /* NULL: token_url */
	char *client_id;
	char *jwt_kid;
	enum auth_method auth_method;
	char *private_key;        /* sodium_malloc'd PEM copies */
	size_t private_key_len;
	char *tls_cert;
	size_t tls_cert_len;
	char *tls_key;
	size_t tls_key_len;
	char *endpoint;           /* discovered; NULL: discover first */
	time_t endpoint_at;       /* CLOCK_MONOTONIC seconds */
};

enum oauth2_step { STEP_DISCOVER, STEP_TOKEN };

struct oauth2_req {
	struct oauth2_state *st;
	enum oauth2_step step;
	CURL *easy;
	char *body;               /* sodium_malloc'd: holds the secret */
	size_t body_len;
	char *auth;               /* sodium_malloc'd Authorization header */
	struct curl_slist *headers;
	struct curl_slist *get_headers;
	char *url;                /* the token endpoint of this request */
	long timeout_ms;
	int64_t started_ms;       /* CLOCK_MONOTONIC */
	char *resp;
	size_t resp_len;
	size_t resp_cap;
	size_t resp_max;
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static char *
sodium_dup(const char *s, size_t len)
{
	char *p;

	if (s == NULL || (p = sodium_malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void
state_unref(struct oauth2_state *st)
{
	if (st == NULL || --st->refs > 0)
		return;
	free(st->issuer);
	free(st->client_id);
	free(st->jwt_kid);
	sodium_free(st->private_key);
	sodium_free(st->tls_cert);
	sodium_free(st->tls_key);
	free(st->endpoint);
	free(st);
}

static void
oauth2_release(void *state)
{
	struct oauth2_state *st = state;

	if (st == NULL)
		return;
	st->cred = NULL;
	state_unref(st);
}

/*
 * Why the client certificate and key cannot be used, or NULL: each must
 * parse, and the key must be the certificate's (else every request would
 * fail in the TLS handshake, less clearly).
 */
static const char *
tls_pair_problem(const struct cred_conf *cred)
{
	const char *why = NULL;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	BIO *b;

	if ((b = BIO_new_mem_buf(cred->tls_cert, (int)cred->tls_cert_len))
	    != NULL) {
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	pk = jwt_pem_private_key(cred->tls_key, cred->tls_key_len);
	if (x == NULL)
		why = "tls_cert_file holds no PEM certificate";
	else if (pk == NULL)
		why = "tls_key_file holds no PEM private key (or an "
		    "encrypted one)";
	else if (X509_check_private_key(x, pk) != 1)
		why = "tls_key_file is not the key of tls_cert_file";
	ERR_clear_error();
	EVP_PKEY_free(pk);
	X509_free(x);
	return why;
}

/* The built-in source reads its credential's fields itself (struct
 * cred_conf, checked by config_cred.c); the keys are checked here, in
 * the worker, so that no root process parses them. */
static int
oauth2_configure(tc_mod_cred *mc, void **state)
{
	const struct cred_conf *cred = srcmod_cred_conf(mc);
	struct oauth2_state *st;
	const char *why;

	if (cred->private_key != NULL && (why = jwt_key_problem(
	    cred->private_key, cred->private_key_len)) != NULL)
		return tc_mod_error(mc, TC_MOD_NO_OPT, "private_key_file: %s",
		    why);
	if (cred->tls_cert != NULL && (why = tls_pair_problem(cred)) != NULL)
		return tc_mod_error(mc, TC_MOD_NO_OPT, "%s", why);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		goto nomem;
	st->refs = 1;
	st->cred = cred;
	st->auth_method = cred->auth_method;
	if ((st->client_id = strdup(cred->client_id)) == NULL ||
	    (cred->issuer != NULL &&
	    (st->issuer = strdup(cred->issuer)) == NULL) ||
	    (cred->jwt_kid != NULL &&
	    (st->jwt_kid = strdup(cred->jwt_kid)) == NULL) ||
	    (cred->private_key != NULL && (st->private_key = sodium_dup(
	    cred->private_key, cred->private_key_len)) == NULL) ||
	    (cred->tls_cert != NULL && ((st->tls_cert = sodium_dup(
	    cred->tls_cert, cred->tls_cert_len)) == NULL ||
	    (st->tls_key = sodium_dup(cred->tls_key, cred->tls_key_len)) ==
	    NULL)))
		goto nomem;
	st->private_key_len = cred->private_key_len;
	st->tls_cert_len = cred->tls_cert_len;
	st->tls_key_len = cred->tls_key_len;
	/* success */
	*state = st;
	return 0;
 nomem:
	oauth2_release(st);
	return tc_mod_error(mc, TC_MOD_NO_OPT, "out of memory");
}

static void
oauth2_cleanup(struct oauth2_req *q)
{
	struct curl_slist *h;

	if (q == NULL)
		return;
	if (q->easy != NULL)
		curl_easy_cleanup(q->easy);
	/* curl copied the Authorization header into the list: wipe it. */
	for (h = q->headers; h != NULL; h = h->next)
		sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(q->headers);
	curl_slist_free_all(q->get_headers);
	sodium_free(q->body);
	sodium_free(q->auth);
	free(q->url);
	if (q->resp != NULL) {
		sodium_memzero(q->resp, q->resp_cap);
		free(q->resp);
	}
	state_unref(q->st);
	free(q);
}

/* The body, save what is made per step (a client assertion), and the
 * headers of the token request. */
static int
token_request_parts(struct oauth2_req *q, const struct cred_conf *cred)
{
	struct curl_slist *h;
	const char *eq;
	char name[65];
	size_t i, nlen;

	if ((q->body = sodium_malloc(1)) == NULL)
		return -1;
	q->body[0] = '\0';
	if (add_param(&q->body, &q->body_len, "grant_type",
	    "client_credentials"))
		return -1;
	switch (cred->auth_method) {
	case AUTH_CLIENT_SECRET_POST:
		if (add_param(&q->body, &q->body_len, "client_id",
		    cred->client_id) || add_param(&q->body, &q->body_len,
		    "client_secret", cred->client_secret))
			return -1;
		break;
	case AUTH_CLIENT_SECRET_BASIC:
		if ((q->auth = basic_auth_header(cred)) == NULL)
			return -1;
		break;
	case AUTH_TLS_CLIENT_AUTH:
	case AUTH_PRIVATE_KEY_JWT:
		/* RFC 8705 §2.1 requires client_id; RFC 7523 §3 allows it,
		 * and servers find the client's keys by it. */
		if (add_param(&q->body, &q->body_len, "client_id",
		    cred->client_id))
			return -1;
		break;
	}
	if ((cred->audience != NULL && add_param(&q->body, &q->body_len,
	    "audience", cred->audience)) || (cred->scope != NULL &&
	    add_param(&q->body, &q->body_len, "scope", cred->scope)))
		return -1;
	for (i = 0; i < cred->nresources; i++)
		if (add_param(&q->body, &q->body_len, "resource",
		    cred->resources[i]))
			return -1;
	/* `param = name=value`, the name checked by config_cred.c */
	for (i = 0; i < cred->nparams; i++) {
		if ((eq = strchr(cred->params[i], '=')) == NULL ||
		    (nlen = (size_t)(eq - cred->params[i])) >= sizeof(name))
			return -1;
		memcpy(name, cred->params[i], nlen);
		name[nlen] = '\0';
		if (add_param(&q->body, &q->body_len, name, eq + 1))
			return -1;
	}

	if ((h = curl_slist_append(NULL, "Accept: application/json")) == NULL)
		return -1;
	q->headers = h;
	if (curl_slist_append(q->headers,
	    "Content-Type: application/x-www-form-urlencoded") == NULL)
		return -1;
	/* curl copies header strings into its list; oauth2_cleanup()
	 * wipes them before freeing. */
	if (q->auth != NULL && curl_slist_append(q->headers, q->auth) == NULL)
		return -1;
	if ((q->get_headers = curl_slist_append(NULL,
	    "Accept: application/json")) == NULL)
		return -1;
	return 0;
}

/* What stays the same for both steps of a request. */
static void
common_options(struct oauth2_req *q, const struct cred_conf *cred)
{
	struct oauth2_state *st = q->st;
	struct curl_blob blob;

	curl_easy_setopt(q->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(q->easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* An explicit proxy or none, whatever *_proxy and no_proxy say:
	 * the empty no-proxy list keeps libcurl from reading no_proxy. */
	curl_easy_setopt(q->easy, CURLOPT_PROXY, cred->proxy != NULL ?
	    cred->proxy : "");
	curl_easy_setopt(q->easy, CURLOPT_NOPROXY, "");
	curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->easy, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(q->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(q->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cred->ca_pem != NULL) {
		/* ca_file, as the monitor read it: the worker may not read
		 * the file.  Public: libcurl keeps a copy. */
		blob.data = cred->ca_pem;
		blob.len = cred->ca_pem_len;
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(q->easy, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (st->tls_cert != NULL) {
		/*
		 * RFC 8705: the client certificate, whatever auth_method.
		 * The worker cannot read root's files: the monitor read them
		 * (config_cred.c), and libcurl takes them as blobs.  No copy:
		 * the state, which outlives the handle, keeps them in locked
		 * memory that is wiped.
		 */
		blob.data = st->tls_cert;
		blob.len = st->tls_cert_len;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(q->easy, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(q->easy, CURLOPT_SSLCERTTYPE, "PEM");
		blob.data = st->tls_key;
		blob.len = st->tls_key_len;
		curl_easy_setopt(q->easy, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(q->easy, CURLOPT_SSLKEYTYPE, "PEM");
	}
	curl_easy_setopt(q->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    cred->connect_timeout_ms);
	curl_easy_setopt(q->easy, CURLOPT_USERAGENT,
	    "tokencached/" TC_VERSION_STRING);
	curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(q->easy, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)q->resp_max);
}

/* The time the request has left, for the step about to start: both
 * steps share the credential's timeout. */
static long
time_left_ms(const struct oauth2_req *q)
{
	int64_t left = q->timeout_ms - (mono_ms() - q->started_ms);

	return left > 1 ? (long)left : 1L;
}

static void
reset_response(struct oauth2_req *q)
{
	if (q->resp != NULL)
		sodium_memzero(q->resp, q->resp_cap);
	q->resp_len = 0;
	q->too_big = 0;
	q->errbuf[0] = '\0';
}

/* The GET of the issuer's discovery document (OIDC Discovery §4.1: the
 * issuer without a trailing '/', then the well-known path). */
static int
discover_step(struct oauth2_req *q)
{
	const char *iss = q->st->issuer;
	size_t n = strlen(iss);
	char *url;

	if (n > 0 && iss[n - 1] == '/')
		n--;
	if ((url = malloc(n + sizeof(DISCOVERY_PATH))) == NULL)
		return -1;
	memcpy(url, iss, n);
	memcpy(url + n, DISCOVERY_PATH, sizeof(DISCOVERY_PATH));
	q->step = STEP_DISCOVER;
	curl_easy_setopt(q->easy, CURLOPT_URL, url);	/* curl copies */
	free(url);
	curl_easy_setopt(q->easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->get_headers);
	curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, time_left_ms(q));
	return 0;
}

/*
 * The token request to url.  A client assertion is made now, for this
 * request only: its aud is the endpoint, known only now with discovery,
 * and its jti and exp make it good for one use (RFC 7523 §3).
 */
static int
token_step(struct oauth2_req *q, const char *url)
{
	struct oauth2_state *st = q->st;
	char *jwt = NULL;
	int r;

	if ((q->url = strdup(url)) == NULL)
		return -1;
	if (st->auth_method == AUTH_PRIVATE_KEY_JWT) {
		if (jwt_client_assertion(st->private_key,
		    st->private_key_len, st->client_id, url, st->jwt_kid,
		    (int64_t)time(NULL), &jwt) != 0)
			return -1;
		r = add_param(&q->body, &q->body_len, "client_assertion_type",
		    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") ||
		    add_param(&q->body, &q->body_len, "client_assertion", jwt);
		sodium_free(jwt);
		if (r != 0)
			return -1;
	}
	q->step = STEP_TOKEN;
	curl_easy_setopt(q->easy, CURLOPT_URL, q->url);
	curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->headers);
	curl_easy_setopt(q->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, q->body);
	curl_easy_setopt(q->easy, CURLOPT_POSTFIELDSIZE, (long)q->body_len);
	curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, time_left_ms(q));
	return 0;
}

static int
endpoint_fresh(const struct oauth2_state *st)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return st->endpoint != NULL &&
	    ts.tv_sec - st->endpoint_at < DISCOVERY_TTL_S;
}

static int
oauth2_start(void *state, tc_mod_req *req)
{
	struct oauth2_state *st = state;
	const struct cred_conf *cred = st->cred;
	struct oauth2_req *q;
	int r;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		goto nomem;
	q->st = st;
	st->refs++;
	q->resp_max = 2 * tc_mod_req_token_max(req) + RESPONSE_SLACK;
	q->timeout_ms = cred->timeout_ms;
	q->started_ms = mono_ms();
	if (token_request_parts(q, cred) != 0 ||
	    (q->easy = curl_easy_init()) == NULL)
		goto nomem;
	common_options(q, cred);
	if (st->issuer != NULL && !endpoint_fresh(st))
		r = discover_step(q);
	else
		r = token_step(q, st->issuer != NULL ? st->endpoint :
		    cred->token_url);
	if (r != 0)
		goto nomem;
	/* success */
	tc_mod_req_set_easy(req, q->easy);
	tc_mod_req_set_data(req, q);
	return 0;
 nomem:
	tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "out of memory preparing "
	    "the request");
	oauth2_cleanup(q);
	return -1;
}

/*
 * The discovery document arrived (or not).  0: the request failed, its
 * result set; 1: the token request is set up on the same handle.
 */
static int
discover_done(struct oauth2_req *q, tc_mod_req *req, CURLcode cc)
{
	struct oauth2_state *st = q->st;
	const char *why;
	char *ep = NULL;
	struct timespec ts;
	long status = 0;
	int permanent;

	if (q->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "discovery: "
		    "document larger than %zu bytes", q->resp_max);
		return 0;
	}
	if (cc != CURLE_OK) {
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "discovery: %s",
		    q->errbuf[0] ? q->errbuf : curl_easy_strerror(cc));
		return 0;
	}
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		/* A server in trouble may come back; an issuer without the
		 * document is a configuration to fix. */
		tc_mod_fail(req, status >= 500 || status == 429 ?
		    TC_MOD_TRANSIENT : TC_MOD_PERMANENT, status, 0,
		    "discovery: HTTP %ld from the issuer's %s", status,
		    DISCOVERY_PATH);
		return 0;
	}
	if (discovery_parse(q->resp != NULL ? q->resp : "", q->resp_len,
	    st->issuer, &ep, &why, &permanent) != 0) {
		tc_mod_fail(req, permanent ? TC_MOD_PERMANENT :
		    TC_MOD_TRANSIENT, status, 0, "discovery: %s", why);
		return 0;
	}
	free(st->endpoint);
	st->endpoint = ep;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	st->endpoint_at = ts.tv_sec;
	tc_mod_log(tc_mod_req_cred_name(req), TC_MOD_LOG_DEBUG,
	    "discovered token endpoint %s", st->endpoint);
	reset_response(q);
	if (token_step(q, st->endpoint) != 0) {
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "out of memory");
		return 0;
	}
	tc_mod_req_set_easy(req, q->easy);
	return 1;
}

/*
 * A discovered endpoint that cannot be reached or is not there any more
 * is forgotten, so that the next attempt asks the issuer again: the
 * server may have moved it.  Returns the HTTP status if that was a 404,
 * else 0.
 */
static long
judge_endpoint(struct oauth2_req *q, CURLcode cc)
{
	struct oauth2_state *st = q->st;
	long status = 0;

	if (st->issuer == NULL || st->endpoint == NULL ||
	    strcmp(st->endpoint, q->url) != 0)
		return 0;
	if (cc == CURLE_OK)
		curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT ||
	    status == 404) {
		free(st->endpoint);
		st->endpoint = NULL;
	}
	return status == 404 ? status : 0;
}

static int
oauth2_finish(void *state, tc_mod_req *req, CURLcode cc)
{
	struct oauth2_req *q = tc_mod_req_data(req);

	(void)state;
	if (q->step == STEP_DISCOVER)
		return discover_done(q, req, cc);
	if (judge_endpoint(q, cc) == 404) {
		/* Not the account's fault but a stale endpoint: transient,
		 * so that discovery runs again soon. */
		tc_mod_fail(req, TC_MOD_TRANSIENT, 404, 0, "the discovered "
		    "token endpoint %s answered HTTP 404; asking the issuer "
		    "again", q->url);
		return 0;
	}
	if (q->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "response larger "
		    "than %zu bytes", q->resp_max);
		return 0;
	}
	if (cc != CURLE_OK) {
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "%s",
		    q->errbuf[0] ? q->errbuf : curl_easy_strerror(cc));
		return 0;
	}
	(void)tc_mod_token_reply(req, q->easy, 0, q->resp, q->resp_len);
	return 0;
}

static void
oauth2_end(void *state, tc_mod_req *req)
{
	(void)state;
	oauth2_cleanup(tc_mod_req_data(req));
}

const struct tc_module srcmod_oauth2 = {
	.abi_major = TC_MODULE_ABI_MAJOR,
	.abi_minor = TC_MODULE_ABI_MINOR,
	.size = sizeof(struct tc_module),
	.name = "oauth2",
	.configure = oauth2_configure,
	.release = oauth2_release,
	.start = oauth2_start,
	.finish = oauth2_finish,
	.end = oauth2_end,
};
