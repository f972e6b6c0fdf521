/*
 * tokenreq.c - parse a token request for the local endpoint and find the
 * credential it asks for.  The rules are the contract in tokenreq.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>
#include <sodium.h>

#include "tokenreq.h"

#define TOKEN_PATH "/oauth/token"
/* json-c's stack: 4 holds three nested containers (the object, an
 * unknown member's object, its array); more is refused. */
#define TREQ_JSON_DEPTH 4
/* base64 of "ID:SECRET", each at most TREQ_VALUE_MAX encoded three
 * times over (%XX), with room to spare. */
#define TREQ_BASIC_MAX  (4 * TREQ_VALUE_MAX * 3)

enum treq_field {
	TF_GRANT_TYPE,
	TF_CLIENT_ID,
	TF_CLIENT_SECRET,
	TF_AUDIENCE,
	TF_SCOPE,
	TF_RESOURCE,
	TF_COUNT
};

/* treq_param.flags */
#define TP_REPEAT  0x01u   /* may be given more than once */
#define TP_SECRET  0x02u   /* never stored: only its keyed hash */

/* The parameters the endpoint reads, a row each. */
static const struct treq_param {
	const char *name;
	enum treq_field field;
	unsigned int flags;
} treq_params[] = {
	{ "grant_type",    TF_GRANT_TYPE,    0 },
	{ "client_id",     TF_CLIENT_ID,     0 },
	{ "client_secret", TF_CLIENT_SECRET, TP_SECRET },
	{ "audience",      TF_AUDIENCE,      0 },
	{ "scope",         TF_SCOPE,         0 },
	{ "resource",      TF_RESOURCE,      TP_REPEAT },
};

/* What the body said so far. */
struct treq_body {
	size_t nparams;
	unsigned int seen;              /* 1u << field */
	char *value[TF_COUNT];          /* TF_RESOURCE: in resources */
	char *resources[TREQ_RESOURCES_MAX];
	size_t nresources;
	unsigned char secret_hash[TREQ_SECRET_HASH];
};

/*
 * A client secret is kept only as a hash under a key of this process,
 * drawn at its first use, so that what stays in memory until the reply
 * is neither the secret nor a fingerprint of it that means anything
 * elsewhere.  (The daemon's one thread is the only caller.)
 */
static void
secret_hash(const char *s, size_t n, unsigned char out[TREQ_SECRET_HASH])
{
	static unsigned char key[crypto_generichash_KEYBYTES];
	static int have_key;

	if (!have_key) {
		randombytes_buf(key, sizeof(key));
		have_key = 1;
	}
	crypto_generichash(out, TREQ_SECRET_HASH, (const unsigned char *)s, n,
	    key, sizeof(key));
}

static int fail(struct treq_error *, int, const char *, int,
    const char *, ...) __attribute__((format(printf, 5, 6)));

static int
fail(struct treq_error *err, int status, const char *error, int www,
    const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->error = error;
	err->www_authenticate = www;
	va_start(ap, fmt);
	vsnprintf(err->description, sizeof(err->description), fmt, ap);
	va_end(ap);
	return -1;
}

static void
body_free(struct treq_body *b)
{
	size_t i;

	for (i = 0; i < TF_COUNT; i++)
		free(b->value[i]);
	for (i = 0; i < b->nresources; i++)
		free(b->resources[i]);
	memset(b, 0, sizeof(*b));
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Form-decode s (n bytes) into out (TREQ_VALUE_MAX + 1 bytes),
 * NUL-terminated, length in *outlen: '+' is a space, %XX a byte, any
 * other byte itself (the JS SDK's raw values).  -1: a bad %XX; -2: too
 * long.
 */
static int
form_decode(const char *s, size_t n, char *out, size_t *outlen)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (o == TREQ_VALUE_MAX)
			return -2;
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%') {
			if (n - i < 3 ||
			    (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

static int
has_control(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return 1;
	}
	return 0;
}

static const struct treq_param *
param_find(const char *name, size_t nlen)
{
	size_t i;

	for (i = 0; i < sizeof(treq_params) / sizeof(treq_params[0]); i++) {
		if (strlen(treq_params[i].name) == nlen &&
		    memcmp(treq_params[i].name, name, nlen) == 0)
			return &treq_params[i];
	}
	return NULL;
}

/*
 * One decoded parameter.  The caller counts it against TREQ_PARAMS_MAX
 * and wipes value afterwards: it may be the secret.
 */
static int
body_put(struct treq_body *b, const char *name, size_t nlen,
    const char *value, size_t vlen, struct treq_error *err)
{
	const struct treq_param *p;
	char *copy;

	if (nlen > TREQ_VALUE_MAX || vlen > TREQ_VALUE_MAX)
		return fail(err, 400, "invalid_request", 0,
		    "parameter longer than %d bytes", TREQ_VALUE_MAX);
	if (has_control(name, nlen))
		return fail(err, 400, "invalid_request", 0,
		    "control byte in a parameter name");
	p = param_find(name, nlen);
	if (has_control(value, vlen))
		return fail(err, 400, "invalid_request", 0,
		    "control byte in %s", p != NULL ? p->name : "a parameter");
	/* RFC 6749 §3.2: the server ignores what it does not know; §3.1:
	 * a parameter without a value counts as omitted. */
	if (p == NULL || vlen == 0)
		return 0;
	if (p->flags & TP_REPEAT) {
		if (b->nresources == TREQ_RESOURCES_MAX)
			return fail(err, 400, "invalid_request", 0,
			    "more than %d %s parameters",
			    TREQ_RESOURCES_MAX, p->name);
	} else if (b->seen & (1u << p->field))
		return fail(err, 400, "invalid_request", 0,
		    "%s given more than once", p->name);
	b->seen |= 1u << p->field;
	if (p->flags & TP_SECRET) {
		secret_hash(value, vlen, b->secret_hash);
		return 0;
	}
	if ((copy = strndup(value, vlen)) == NULL)
		return fail(err, 500, "server_error", 0, "out of memory");
	if (p->flags & TP_REPEAT)
		b->resources[b->nresources++] = copy;
	else
		b->value[p->field] = copy;
	return 0;
}

static int
count_param(struct treq_body *b, struct treq_error *err)
{
	if (++b->nparams > TREQ_PARAMS_MAX)
		return fail(err, 400, "invalid_request", 0,
		    "more than %d parameters", TREQ_PARAMS_MAX);
	return 0;
}

static int
parse_form(const char *s, size_t n, struct treq_body *b,
    struct treq_error *err)
{
	char name[TREQ_VALUE_MAX + 1], value[TREQ_VALUE_MAX + 1];
	const char *amp, *eq, *end = s + n;
	size_t nlen = 0, vlen = 0, plen;
	int r = -1, d;

	while (s < end) {
		amp = memchr(s, '&', (size_t)(end - s));
		plen = (size_t)((amp != NULL ? amp : end) - s);
		if (plen == 0)
			goto next;
		if (count_param(b, err) == -1)
			goto out;
		eq = memchr(s, '=', plen);
		if ((d = form_decode(s, eq != NULL ? (size_t)(eq - s) : plen,
		    name, &nlen)) == 0 && eq != NULL)
			d = form_decode(eq + 1, plen - (size_t)(eq - s) - 1,
			    value, &vlen);
		else if (eq == NULL)
			vlen = 0;
		if (d == -1) {
			fail(err, 400, "invalid_request", 0,
			    "malformed %%XX escape");
			goto out;
		}
		if (d == -2) {
			fail(err, 400, "invalid_request", 0,
			    "parameter longer than %d bytes", TREQ_VALUE_MAX);
			goto out;
		}
		if (body_put(b, name, nlen, value, vlen, err) == -1)
			goto out;
		/* The value may have been the secret. */
		sodium_memzero(value, vlen);
 next:
		if (amp == NULL)
			break;
		s = amp + 1;
	}
	r = 0;
 out:
	sodium_memzero(value, sizeof(value));
	sodium_memzero(name, sizeof(name));
	return r;
}

/*
 * The number of members of the object that the valid JSON text s
 * (n bytes) holds at its top level, names repeated or not: json-c keeps
 * one of a repeated name, and §3.2 refuses repeats.
 */
static size_t
json_count_members(const char *s, size_t n)
{
	size_t i, count = 0;
	int depth = 0, in_str = 0, str_at_1 = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			str_at_1 = depth == 1;
			break;
		case '{':
		case '[':
			depth++;
			str_at_1 = 0;
			break;
		case '}':
		case ']':
			depth--;
			str_at_1 = 0;
			break;
		case ':':
			/* A string then ':' at depth 1 is a member's name. */
			if (depth == 1 && str_at_1)
				count++;
			str_at_1 = 0;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			break;
		default:
			str_at_1 = 0;
			break;
		}
	}
	return count;
}

static int
json_put(struct treq_body *b, const char *name, struct json_object *v,
    struct treq_error *err)
{
	if (!json_object_is_type(v, json_type_string))
		return fail(err, 400, "invalid_request", 0,
		    "%s is not a string", name);
	return body_put(b, name, strlen(name), json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), err);
}

static int
parse_json(const char *s, size_t n, struct treq_body *b,
    struct treq_error *err)
{
	struct json_tokener *tok;
	struct json_object *obj = NULL, *secret = NULL;
	const struct treq_param *p;
	size_t end, i;
	int r = -1;

	if ((tok = json_tokener_new_ex(TREQ_JSON_DEPTH)) == NULL)
		return fail(err, 500, "server_error", 0, "out of memory");
	/* Standard JSON only: json_count_members() reads that alone. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, s, (int)n);
	end = json_tokener_get_parse_end(tok);
	if (obj == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success) {
		fail(err, 400, "invalid_request", 0, "malformed JSON body");
		goto out;
	}
	for (; end < n; end++) {
		if (strchr(" \t\r\n", s[end]) == NULL || s[end] == '\0') {
			fail(err, 400, "invalid_request", 0,
			    "data after the JSON object");
			goto out;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		fail(err, 400, "invalid_request", 0,
		    "JSON body is not an object");
		goto out;
	}
	if (json_count_members(s, n) !=
	    (size_t)json_object_object_length(obj)) {
		fail(err, 400, "invalid_request", 0,
		    "a JSON member given more than once");
		goto out;
	}
	json_object_object_foreach(obj, key, val) {
		if (count_param(b, err) == -1)
			goto out;
		p = param_find(key, strlen(key));
		if (p == NULL)
			continue;
		if ((p->flags & TP_REPEAT) &&
		    json_object_is_type(val, json_type_array)) {
			for (i = 0; i < json_object_array_length(val); i++) {
				if (json_put(b, key, json_object_array_get_idx(
				    val, i), err) == -1)
					goto out;
			}
		} else if (json_put(b, key, val, err) == -1)
			goto out;
	}
	r = 0;
 out:
	/* json-c's string is ours to wipe, whichever member failed; the
	 * copies it freed while parsing are wiped by the daemon's
	 * allocator. */
	if (json_object_is_type(obj, json_type_object) &&
	    json_object_object_get_ex(obj, "client_secret", &secret) &&
	    json_object_is_type(secret, json_type_string))
		sodium_memzero((void *)(uintptr_t)json_object_get_string(
		    secret), (size_t)json_object_get_string_len(secret));
	json_object_put(obj);
	json_tokener_free(tok);
	return r;
}

/* The media type of a Content-Type value, case-insensitively. */
static int
media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/*
 * RFC 6749 §2.3.1: Authorization: Basic base64(urlenc(id) ":"
 * urlenc(secret)).  The id, decoded, into *id (malloc'd); the secret,
 * decoded, only as its hash into sh, and *have_secret set if it is not
 * empty.  Every buffer that held it is wiped.
 */
static int
parse_basic(const char *h, char **id, unsigned char sh[TREQ_SECRET_HASH],
    int *have_secret, struct treq_error *err)
{
	char idbuf[TREQ_VALUE_MAX + 1], secbuf[TREQ_VALUE_MAX + 1];
	size_t seclen = 0;
	unsigned char *bin = NULL;
	const char *b64, *b64_end, *colon;
	size_t b64_len, bin_len = 0, idlen = 0;
	int r = -1;

	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "Basic", 5) != 0 || (h[5] != ' ' && h[5] != '\t'))
		return fail(err, 401, "invalid_client", 1,
		    "only HTTP Basic client authentication is supported");
	for (b64 = h + 5; *b64 == ' ' || *b64 == '\t'; b64++)
		;
	for (b64_end = b64 + strlen(b64); b64_end > b64 &&
	    (b64_end[-1] == ' ' || b64_end[-1] == '\t'); b64_end--)
		;
	b64_len = (size_t)(b64_end - b64);
	if (b64_len == 0 || b64_len > TREQ_BASIC_MAX)
		return fail(err, 401, "invalid_client", 1,
		    "malformed Basic credentials");
	if ((bin = malloc(b64_len)) == NULL)
		return fail(err, 500, "server_error", 0, "out of memory");
	if (sodium_base642bin(bin, b64_len, b64, b64_len, NULL, &bin_len,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    (colon = memchr(bin, ':', bin_len)) == NULL) {
		fail(err, 401, "invalid_client", 1,
		    "malformed Basic credentials");
		goto out;
	}
	switch (form_decode((const char *)bin, (size_t)(colon -
	    (const char *)bin), idbuf, &idlen)) {
	case -1:
		fail(err, 401, "invalid_client", 1,
		    "malformed %%XX escape in the Basic client id");
		goto out;
	case -2:
		fail(err, 401, "invalid_client", 1,
		    "Basic client id longer than %d bytes", TREQ_VALUE_MAX);
		goto out;
	}
	if (idlen == 0 || has_control(idbuf, idlen)) {
		fail(err, 401, "invalid_client", 1,
		    "empty or malformed Basic client id");
		goto out;
	}
	colon++;
	if (form_decode(colon, bin_len - (size_t)(colon -
	    (const char *)bin), secbuf, &seclen) != 0) {
		fail(err, 401, "invalid_client", 1,
		    "malformed Basic client secret");
		goto out;
	}
	if (seclen > 0) {
		secret_hash(secbuf, seclen, sh);
		*have_secret = 1;
	}
	if ((*id = strndup(idbuf, idlen)) == NULL) {
		fail(err, 500, "server_error", 0, "out of memory");
		goto out;
	}
	r = 0;
 out:
	if (bin != NULL) {
		sodium_memzero(bin, b64_len);
		free(bin);
	}
	sodium_memzero(idbuf, sizeof(idbuf));
	sodium_memzero(secbuf, sizeof(secbuf));
	return r;
}

static int
path_is_token(const char *path)
{
	size_t n = strcspn(path, "?");

	if (n == sizeof(TOKEN_PATH) && path[n - 1] == '/')
		n--;
	return n == sizeof(TOKEN_PATH) - 1 &&
	    memcmp(path, TOKEN_PATH, n) == 0;
}

int
treq_parse(const struct treq_http *in, struct treq *out,
    struct treq_error *err)
{
	struct treq_body b;
	struct treq_error e;
	char *basic_id = NULL;
	const char *body = (const char *)in->body;
	unsigned char basic_hash[TREQ_SECRET_HASH];
	int basic_secret = 0;
	size_t i;
	int r = -1;

	memset(&b, 0, sizeof(b));
	memset(&e, 0, sizeof(e));
	if (in->path == NULL || !path_is_token(in->path)) {
		fail(&e, 404, "invalid_request", 0, "no such endpoint; "
		    "POST to " TOKEN_PATH);
		goto out;
	}
	if (in->method == NULL || strcmp(in->method, "POST") != 0) {
		fail(&e, 405, "invalid_request", 0, "method not allowed; "
		    "POST to " TOKEN_PATH);
		goto out;
	}
	if (in->body_len > TREQ_BODY_MAX) {
		fail(&e, 413, "invalid_request", 0,
		    "body larger than %d bytes", TREQ_BODY_MAX);
		goto out;
	}
	if (body == NULL)
		body = "";
	if (in->content_type == NULL || in->content_type[0] == '\0' ||
	    media_type_is(in->content_type,
	    "application/x-www-form-urlencoded")) {
		if (parse_form(body, in->body_len, &b, &e) == -1)
			goto out;
	} else if (media_type_is(in->content_type, "application/json")) {
		if (parse_json(body, in->body_len, &b, &e) == -1)
			goto out;
	} else {
		fail(&e, 400, "invalid_request", 0, "Content-Type must be "
		    "application/x-www-form-urlencoded or application/json");
		goto out;
	}
	if (b.value[TF_GRANT_TYPE] == NULL) {
		fail(&e, 400, "invalid_request", 0, "grant_type missing");
		goto out;
	}
	if (strcmp(b.value[TF_GRANT_TYPE], "client_credentials") != 0) {
		fail(&e, 400, "unsupported_grant_type", 0,
		    "only grant_type client_credentials is supported");
		goto out;
	}
	if (in->authorization != NULL &&
	    parse_basic(in->authorization, &basic_id, basic_hash,
	    &basic_secret, &e) == -1)
		goto out;
	/* RFC 6749 §2.3: one authentication method per request. */
	if (basic_secret && (b.seen & (1u << TF_CLIENT_SECRET))) {
		fail(&e, 400, "invalid_request", 0, "client_secret in both "
		    "the body and the Basic header");
		goto out;
	}
	if (basic_id != NULL && b.value[TF_CLIENT_ID] != NULL &&
	    strcmp(basic_id, b.value[TF_CLIENT_ID]) != 0) {
		fail(&e, 400, "invalid_request", 0,
		    "client_id differs from the Basic client id");
		goto out;
	}
	if (basic_id == NULL && b.value[TF_CLIENT_ID] == NULL) {
		fail(&e, 401, "invalid_client", 0, "client_id missing");
		goto out;
	}

	/* success */
	memset(out, 0, sizeof(*out));
	if (basic_id != NULL) {
		out->client_id = basic_id;
		out->basic = 1;
		basic_id = NULL;
	} else {
		out->client_id = b.value[TF_CLIENT_ID];
		b.value[TF_CLIENT_ID] = NULL;
	}
	out->audience = b.value[TF_AUDIENCE];
	b.value[TF_AUDIENCE] = NULL;
	out->scope = b.value[TF_SCOPE];
	b.value[TF_SCOPE] = NULL;
	for (i = 0; i < b.nresources; i++) {
		out->resources[i] = b.resources[i];
		b.resources[i] = NULL;
	}
	out->nresources = b.nresources;
	b.nresources = 0;
	if (basic_secret) {
		memcpy(out->secret_hash, basic_hash, sizeof(basic_hash));
		out->has_secret = 1;
	} else if (b.seen & (1u << TF_CLIENT_SECRET)) {
		memcpy(out->secret_hash, b.secret_hash, sizeof(b.secret_hash));
		out->has_secret = 1;
	}
	r = 0;
 out:
	if (r == -1)
		*err = e;
	free(basic_id);
	body_free(&b);
	sodium_memzero(basic_hash, sizeof(basic_hash));
	return r;
}

void
treq_free(struct treq *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->client_id);
	free(r->audience);
	free(r->scope);
	for (i = 0; i < r->nresources && i < TREQ_RESOURCES_MAX; i++)
		free(r->resources[i]);
	memset(r, 0, sizeof(*r));
}

/* 1 if every space-separated word of a is one of b's. */
static int
words_within(const char *a, const char *b)
{
	const char *w, *x;
	size_t n, m;

	for (w = a; *w != '\0'; w += n) {
		w += strspn(w, " ");
		if ((n = strcspn(w, " ")) == 0)
			break;
		for (x = b; *x != '\0'; x += m) {
			x += strspn(x, " ");
			if ((m = strcspn(x, " ")) == 0)
				return 0;
			if (m == n && memcmp(w, x, n) == 0)
				break;
		}
		if (*x == '\0')
			return 0;
	}
	return 1;
}

/* RFC 6749 §3.3: a scope is a set of words. */
static int
scope_equal(const char *a, const char *b)
{
	return words_within(a, b) && words_within(b, a);
}

static int
list_within(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i, j;

	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && strcmp(a[i], b[j]) != 0; j++)
			;
		if (j == nb)
			return 0;
	}
	return 1;
}

int
treq_secret_is(const struct treq *r, const char *secret, size_t len)
{
	unsigned char h[TREQ_SECRET_HASH];
	int same;

	if (!r->has_secret)
		return 0;
	secret_hash(secret, len, h);
	same = sodium_memcmp(h, r->secret_hash, sizeof(h)) == 0;
	sodium_memzero(h, sizeof(h));
	return same;
}

const struct cred_conf *
treq_fields(const struct cred_conf *c)
{
	/* A chain asks with its first source's fields. */
	if (c->provider != NULL && strcmp(c->provider, "chain") == 0)
		return c->nsources > 0 && c->sources != NULL ?
		    &c->sources[0] : NULL;
	return c;
}

const struct cred_conf *
treq_match(const struct daemon_conf *conf, const struct treq *req,
    struct treq_error *err)
{
	const struct cred_conf *c, *f;
	struct treq_error e;
	int known = 0, target_only = 0;
	size_t i;

	for (i = 0; i < conf->ncreds; i++) {
		c = &conf->creds[i];
		if ((f = treq_fields(c)) == NULL ||
		    f->client_id == NULL ||
		    strcmp(f->client_id, req->client_id) != 0)
			continue;
		known = 1;
		if (req->audience != NULL && (f->audience == NULL ||
		    strcmp(f->audience, req->audience) != 0))
			continue;
		if (req->scope != NULL && (f->scope == NULL ||
		    !scope_equal(f->scope, req->scope)))
			continue;
		if (req->nresources > 0 &&
		    (!list_within(req->resources, req->nresources,
		    f->resources, f->nresources) ||
		    !list_within(f->resources, f->nresources,
		    req->resources, req->nresources))) {
			target_only = 1;
			continue;
		}
		return c;
	}
	memset(&e, 0, sizeof(e));
	if (!known)
		fail(&e, 401, "invalid_client", req->basic,
		    "no credential for this client_id");
	else if (target_only)
		fail(&e, 400, "invalid_target", 0,
		    "no credential of this client_id for these resources");
	else
		fail(&e, 400, "invalid_scope", 0, "no credential of this "
		    "client_id for this audience and scope");
	*err = e;
	return NULL;
}
