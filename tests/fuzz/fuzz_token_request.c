/*
 * fuzz_token_request.c - the local token endpoint's request parser and
 * credential match (provider/tokenreq.c) on any request.
 *
 * Input: four lines, the method, the path, the Content-Type and the
 * Authorization header ("-" alone: the header is absent), then the body.
 * Fewer than four lines: the whole input is a form body POSTed to
 * /oauth/token.
 *
 * Invariants: a parsed request's fields are bounded and free of control
 * bytes; an error is one of RFC 6749 §5.2's with a printable description;
 * and the client secret is never in either: each form input is parsed a
 * second time with a marker secret appended, which must appear nowhere,
 * and which treq_secret_is() must then recognise (and nothing else).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenreq.h"

#define MARK "Mk5ecretZZq"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const errors[] = {
	"invalid_request", "invalid_client", "unsupported_grant_type",
	"invalid_scope", "invalid_target", "server_error",
};

#define S(s) ((char *)(s))
static char *res[] = { S("https://r1"), S("https://r2"), NULL };
static struct cred_conf src[] = {
	{ .provider = S("oauth2"), .client_id = S("chain"),
	  .audience = S("a") },
};
static struct cred_conf creds[] = {
	{ .name = S("a"), .provider = S("camunda"), .client_id = S("x"),
	  .audience = S("zeebe.camunda.io") },
	{ .name = S("b"), .provider = S("oauth2"), .client_id = S("x"),
	  .scope = S("read write"), .resources = res, .nresources = 2 },
	{ .name = S("c"), .provider = S("chain"), .sources = src,
	  .nsources = 1 },
	{ .name = S("d"), .provider = S("chain") },
};
static const struct daemon_conf conf = {
	.creds = creds, .ncreds = sizeof(creds) / sizeof(creds[0]),
};

static void
check_str(const char *s, int may_be_null, const char *secret)
{
	size_t i, n;

	if (s == NULL) {
		if (!may_be_null)
			abort();
		return;
	}
	n = strlen(s);
	if (n == 0 || n > TREQ_VALUE_MAX)
		abort();
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
	}
	if (secret != NULL && strstr(s, secret) != NULL)
		abort();
}

static void
check_err(const struct treq_error *e, const char *secret)
{
	size_t i, n;

	if (e->status != 400 && e->status != 401 && e->status != 404 &&
	    e->status != 405 && e->status != 413 && e->status != 500)
		abort();
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		if (e->error != NULL && strcmp(e->error, errors[i]) == 0)
			break;
	}
	if (i == sizeof(errors) / sizeof(errors[0]))
		abort();
	n = strnlen(e->description, sizeof(e->description));
	if (n == 0 || n == sizeof(e->description))
		abort();
	for (i = 0; i < n; i++) {
		if (e->description[i] < 0x20 || e->description[i] > 0x7e)
			abort();
	}
	if (e->www_authenticate &&
	    (e->status != 401 || strcmp(e->error, "invalid_client") != 0))
		abort();
	if (secret != NULL && strstr(e->description, secret) != NULL)
		abort();
}

static void
run(const struct treq_http *in, const char *secret)
{
	const struct cred_conf *c, *f;
	struct treq req;
	struct treq_error err;
	size_t i;

	if (treq_parse(in, &req, &err) == -1) {
		check_err(&err, secret);
		return;
	}
	check_str(req.client_id, 0, secret);
	check_str(req.audience, 1, secret);
	check_str(req.scope, 1, secret);
	if (req.nresources > TREQ_RESOURCES_MAX || (req.basic != 0 &&
	    req.basic != 1))
		abort();
	for (i = 0; i < req.nresources; i++)
		check_str(req.resources[i], 0, secret);
	/* The secret appended is the one an endpoint_secret is compared
	 * with, and nothing else is. */
	if (secret != NULL && (!req.has_secret ||
	    !treq_secret_is(&req, secret, strlen(secret)) ||
	    treq_secret_is(&req, "x", 1)))
		abort();
	if ((c = treq_match(&conf, &req, &err)) == NULL)
		check_err(&err, secret);
	else {
		f = c->nsources > 0 ? &c->sources[0] : c;
		if (strcmp(f->client_id, req.client_id) != 0)
			abort();
	}
	treq_free(&req);
}

/* The next line of [*p, end) as a string (malloc'd), or NULL for "-". */
static char *
line(const char **p, const char *end, int *ok)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	char *s;

	if (nl == NULL) {
		*ok = 0;
		return NULL;
	}
	s = strndup(*p, (size_t)(nl - *p));
	if (s == NULL)
		abort();
	*p = nl + 1;
	if (strcmp(s, "-") == 0) {
		free(s);
		return NULL;
	}
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *field[4], *body;
	struct treq_http in;
	size_t i, blen;
	int ok = 1, form;

	for (i = 0; i < 4; i++)
		field[i] = ok ? line(&p, end, &ok) : NULL;
	if (!ok) {
		for (i = 0; i < 4; i++)
			free(field[i]);
		memset(field, 0, sizeof(field));
		field[0] = strdup("POST");
		field[1] = strdup("/oauth/token");
		p = (const char *)data;
	}
	memset(&in, 0, sizeof(in));
	in.method = field[0];
	in.path = field[1];
	in.content_type = field[2];
	in.authorization = field[3];
	in.body = (const unsigned char *)p;
	in.body_len = (size_t)(end - p);
	run(&in, NULL);

	/* Again with a secret of our own in the body, when it is a form
	 * that does not hold the marker already. */
	form = in.content_type == NULL ||
	    strncmp(in.content_type, "application/x-www", 17) == 0;
	if (form && memmem(data, size, MARK, strlen(MARK)) == NULL) {
		blen = in.body_len + sizeof("&client_secret=" MARK);
		if ((body = malloc(blen)) == NULL)
			abort();
		memcpy(body, p, in.body_len);
		memcpy(body + in.body_len, "&client_secret=" MARK,
		    sizeof("&client_secret=" MARK));
		in.body = (const unsigned char *)body;
		in.body_len = blen - 1;
		run(&in, MARK);
		free(body);
	}
	for (i = 0; i < 4; i++)
		free(field[i]);
	return 0;
}
