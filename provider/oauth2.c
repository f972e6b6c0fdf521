/*
 * oauth2.c - the `oauth2` module: RFC 6749 §4.4 client credentials grant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "srcmod.h"
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
	sodium_free(q->body);
	sodium_free(q->auth);
	if (q->resp != NULL) {
		sodium_memzero(q->resp, q->resp_cap);
		free(q->resp);
	}
	free(q);
}

/* The built-in source reads its credential's fields itself; a
 * credential's request is as its cred_conf says, nothing to keep. */
static int
oauth2_configure(tc_mod_cred *mc, void **state)
{
	*state = (void *)(uintptr_t)srcmod_cred_conf(mc);
	return 0;
}

static int
oauth2_start(void *state, tc_mod_req *req)
{
	const struct cred_conf *cred = state;
	struct oauth2_req *q;
	struct curl_slist *h;
	size_t blen = 0;
	size_t i;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		goto nomem;
	q->resp_max = 2 * tc_mod_req_token_max(req) + RESPONSE_SLACK;
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
	tc_mod_req_set_easy(req, q->easy);
	tc_mod_req_set_data(req, q);
	return 0;
 nomem:
	tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "out of memory preparing "
	    "the request");
	oauth2_cleanup(q);
	return -1;
}

static int
oauth2_finish(void *state, tc_mod_req *req, CURLcode cc)
{
	struct oauth2_req *q = tc_mod_req_data(req);

	(void)state;
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
	.start = oauth2_start,
	.finish = oauth2_finish,
	.end = oauth2_end,
};
