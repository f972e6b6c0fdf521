/*
 * test_tokenreq.c - the local endpoint's token requests
 * (provider/tokenreq.c): what the clients of issue 11 send is accepted
 * and read right, every rule of tokenreq.h refuses what it should with
 * the RFC 6749 §5.2 error and status, the secret is never kept nor
 * echoed, and treq_match() picks the credential the request names.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tokenreq.h"
#include "testutil.h"

#define SECRET "S3cr3t~value_0123456789"
#define FORM   "application/x-www-form-urlencoded"

static struct treq req;
static struct treq_error err;

static int
parse_full(const char *method, const char *path, const char *ct,
    const char *auth, const char *body, size_t len)
{
	struct treq_http in = {
		.method = method, .path = path, .content_type = ct,
		.authorization = auth, .body = (const unsigned char *)body,
		.body_len = len,
	};

	treq_free(&req);
	memset(&err, 0, sizeof(err));
	return treq_parse(&in, &req, &err);
}

static int
parse_ct(const char *ct, const char *auth, const char *body)
{
	return parse_full("POST", "/oauth/token", ct, auth, body,
	    strlen(body));
}

static int
parse_form(const char *body)
{
	return parse_ct(FORM, NULL, body);
}

static void
assert_err(int status, const char *error)
{
	ck_assert_int_eq(err.status, status);
	ck_assert_ptr_nonnull(err.error);
	ck_assert_str_eq(err.error, error);
	ck_assert_int_gt(strlen(err.description), 0);
	ck_assert_ptr_null(strstr(err.description, SECRET));
}

/* "Basic " + base64(s) into a static buffer. */
static const char *
basic(const char *s)
{
	static char h[8192];

	memcpy(h, "Basic ", 6);
	sodium_bin2base64(h + 6, sizeof(h) - 6, (const unsigned char *)s,
	    strlen(s), sodium_base64_VARIANT_ORIGINAL);
	return h;
}

/* The Camunda JS SDK's body, built by hand: audience and scope raw. */
START_TEST(js_sdk_raw_body)
{
	ck_assert_int_eq(parse_form("audience=zeebe.camunda.io&client_id=x&"
	    "client_secret=y&grant_type=client_credentials&scope=a b"), 0);
	ck_assert_str_eq(req.client_id, "x");
	ck_assert_str_eq(req.audience, "zeebe.camunda.io");
	ck_assert_str_eq(req.scope, "a b");
	ck_assert_uint_eq(req.nresources, 0);
	ck_assert_int_eq(req.basic, 0);
}
END_TEST

START_TEST(raw_reserved_bytes)
{
	ck_assert_int_eq(parse_form("grant_type=client_credentials&"
	    "client_id=x&audience=https://api.example.com:8443/a=b?c"), 0);
	ck_assert_str_eq(req.audience, "https://api.example.com:8443/a=b?c");
}
END_TEST

START_TEST(form_decoding)
{
	ck_assert_int_eq(parse_form("grant%5Ftype=client_credentials&"
	    "client_id=a%2Bb+c&scope=read+write%20x%2fy&&"), 0);
	ck_assert_str_eq(req.client_id, "a+b c");
	ck_assert_str_eq(req.scope, "read write x/y");
	/* Go's and Java's encoding of the same. */
	ck_assert_int_eq(parse_form("client_id=my-client&grant_type="
	    "client_credentials&audience=zeebe.camunda.io&client_secret="
	    SECRET), 0);
	ck_assert_str_eq(req.client_id, "my-client");
}
END_TEST

static const char *const bad_escapes[] = {
	"client_id=a%", "client_id=a%4", "client_id=%G1", "client_id=%4g",
	"client_id=%%41", "cl%ient_id=a", "client_secret=ab%zz",
};

START_TEST(form_bad_escape)
{
	char body[256];

	snprintf(body, sizeof(body), "grant_type=client_credentials&%s",
	    bad_escapes[_i]);
	ck_assert_int_eq(parse_form(body), -1);
	assert_err(400, "invalid_request");
}
END_TEST

START_TEST(paths_and_methods)
{
	static const char body[] = "grant_type=client_credentials&client_id=x";
	static const char *const good[] = {
		"/oauth/token", "/oauth/token/", "/oauth/token?a=b",
		"/oauth/token/?client_id=other",
	};
	static const char *const bad[] = {
		"/oauth/tokens", "/oauth/token//", "/", "/oauth", "",
		"/OAUTH/TOKEN", "oauth/token", "/oauth/token/x",
		"/.well-known/openid-configuration",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(parse_full("POST", good[i], FORM, NULL, body,
		    strlen(body)), 0);
		/* The query is ignored, its parameters too. */
		ck_assert_str_eq(req.client_id, "x");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse_full("POST", bad[i], FORM, NULL, body,
		    strlen(body)), -1);
		assert_err(404, "invalid_request");
		/* A wrong path is 404 whatever the method. */
		ck_assert_int_eq(parse_full("GET", bad[i], FORM, NULL, body,
		    strlen(body)), -1);
		assert_err(404, "invalid_request");
	}
	ck_assert_int_eq(parse_full("GET", "/oauth/token", FORM, NULL, body,
	    strlen(body)), -1);
	assert_err(405, "invalid_request");
	ck_assert_int_eq(parse_full("post", "/oauth/token", FORM, NULL, body,
	    strlen(body)), -1);
	assert_err(405, "invalid_request");
	ck_assert_int_eq(parse_full("PUT", "/oauth/token/", FORM, NULL, body,
	    strlen(body)), -1);
	assert_err(405, "invalid_request");
	ck_assert_int_eq(parse_full(NULL, NULL, FORM, NULL, body,
	    strlen(body)), -1);
	assert_err(404, "invalid_request");
}
END_TEST

START_TEST(grant_type_rules)
{
	ck_assert_int_eq(parse_form("client_id=x"), -1);
	assert_err(400, "invalid_request");
	ck_assert_int_eq(parse_form("client_id=x&grant_type="), -1);
	assert_err(400, "invalid_request");
	ck_assert_int_eq(parse_form(""), -1);
	assert_err(400, "invalid_request");
	ck_assert_int_eq(parse_form("client_id=x&grant_type=password"), -1);
	assert_err(400, "unsupported_grant_type");
	ck_assert_int_eq(parse_form("client_id=x&grant_type="
	    "client_credentials+"), -1);
	assert_err(400, "unsupported_grant_type");
	ck_assert_int_eq(parse_form("client_id=x&grant_type="
	    "Client_Credentials"), -1);
	assert_err(400, "unsupported_grant_type");
	/* The grant is checked before the client. */
	ck_assert_int_eq(parse_form("grant_type=refresh_token"), -1);
	assert_err(400, "unsupported_grant_type");
}
END_TEST

/* pyzeebe (oauthlib): the client in HTTP Basic, each part urlencoded. */
START_TEST(basic_auth)
{
	static const char body[] = "grant_type=client_credentials&"
	    "audience=zeebe.camunda.io";

	ck_assert_int_eq(parse_ct(FORM, basic("my%3Aid+x:" SECRET), body), 0);
	ck_assert_str_eq(req.client_id, "my:id x");
	ck_assert_int_eq(req.basic, 1);
	ck_assert_str_eq(req.audience, "zeebe.camunda.io");
	/* The secret may hold ':' (raw or encoded); the id ends at the
	 * first. */
	ck_assert_int_eq(parse_ct(FORM, basic("id:a:b%3Ac"), body), 0);
	ck_assert_str_eq(req.client_id, "id");
	/* Scheme without case, spaces around the token. */
	ck_assert_int_eq(parse_ct(FORM, "  bAsIc   aWQ6cw==  ", body), 0);
	ck_assert_str_eq(req.client_id, "id");
	/* An empty secret is allowed: it is never used. */
	ck_assert_int_eq(parse_ct(FORM, basic("id:"), body), 0);
	ck_assert_str_eq(req.client_id, "id");
}
END_TEST

static const char *const bad_basic[] = {
	"Bearer abc", "Basic", "Basic ", "Basic !!!!", "Basic aWQ",
	"Basicx aWQ6cw==", "Digest username=\"x\"", "",
};

START_TEST(basic_malformed)
{
	static const char body[] = "grant_type=client_credentials&client_id=x";

	ck_assert_int_eq(parse_ct(FORM, bad_basic[_i], body), -1);
	assert_err(401, "invalid_client");
	ck_assert_int_eq(err.www_authenticate, 1);
}
END_TEST

START_TEST(basic_bad_id)
{
	static const char body[] = "grant_type=client_credentials";

	/* No ':' at all. */
	ck_assert_int_eq(parse_ct(FORM, basic("justanid"), body), -1);
	assert_err(401, "invalid_client");
	/* Empty id. */
	ck_assert_int_eq(parse_ct(FORM, basic(":" SECRET), body), -1);
	assert_err(401, "invalid_client");
	ck_assert_int_eq(err.www_authenticate, 1);
	/* Bad escape, control byte. */
	ck_assert_int_eq(parse_ct(FORM, basic("a%zz:" SECRET), body), -1);
	assert_err(401, "invalid_client");
	ck_assert_int_eq(parse_ct(FORM, basic("a%0Ab:" SECRET), body), -1);
	assert_err(401, "invalid_client");
	ck_assert_int_eq(parse_ct(FORM, basic("a\tb:" SECRET), body), -1);
	assert_err(401, "invalid_client");
}
END_TEST

START_TEST(client_id_sources)
{
	/* Both, equal: fine, and from Basic. */
	ck_assert_int_eq(parse_ct(FORM, basic("a%3Ab:s"), "grant_type="
	    "client_credentials&client_id=a%3Ab"), 0);
	ck_assert_str_eq(req.client_id, "a:b");
	ck_assert_int_eq(req.basic, 1);
	/* Both, different. */
	ck_assert_int_eq(parse_ct(FORM, basic("a:" SECRET), "grant_type="
	    "client_credentials&client_id=b"), -1);
	assert_err(400, "invalid_request");
	/* Neither. */
	ck_assert_int_eq(parse_form("grant_type=client_credentials&"
	    "client_secret=" SECRET), -1);
	assert_err(401, "invalid_client");
	ck_assert_int_eq(err.www_authenticate, 0);
	/* An empty value counts as omitted (RFC 6749 §3.1). */
	ck_assert_int_eq(parse_form("grant_type=client_credentials&"
	    "client_id="), -1);
	assert_err(401, "invalid_client");
	ck_assert_int_eq(parse_form("grant_type=client_credentials&"
	    "client_id=&client_id=x&audience"), 0);
	ck_assert_str_eq(req.client_id, "x");
	ck_assert_ptr_null(req.audience);
}
END_TEST

static const char *const dups[] = {
	"client_id=x&client_id=x", "client_id=x&client_id=y",
	"client_id=x&audience=a&audience=a", "client_id=x&scope=a&scope=b",
	"client_id=x&grant_type=client_credentials",
	"client_id=x&client_secret=" SECRET "&client_secret=" SECRET,
	"client_id=x&client%5Fid=x",
};

START_TEST(duplicates)
{
	char body[256];

	snprintf(body, sizeof(body), "grant_type=client_credentials&%s",
	    dups[_i]);
	ck_assert_int_eq(parse_form(body), -1);
	assert_err(400, "invalid_request");
}
END_TEST

START_TEST(resources_repeat)
{
	char body[1024];
	size_t i;

	ck_assert_int_eq(parse_form("grant_type=client_credentials&"
	    "client_id=x&resource=https://a.example/&resource="
	    "https%3A%2F%2Fb.example%2F&resource=https://a.example/"), 0);
	ck_assert_uint_eq(req.nresources, 3);
	ck_assert_str_eq(req.resources[0], "https://a.example/");
	ck_assert_str_eq(req.resources[1], "https://b.example/");
	ck_assert_str_eq(req.resources[2], "https://a.example/");

	strcpy(body, "grant_type=client_credentials&client_id=x");
	for (i = 0; i < TREQ_RESOURCES_MAX; i++)
		strcat(body, "&resource=r");
	ck_assert_int_eq(parse_form(body), 0);
	ck_assert_uint_eq(req.nresources, TREQ_RESOURCES_MAX);
	strcat(body, "&resource=r");
	ck_assert_int_eq(parse_form(body), -1);
	assert_err(400, "invalid_request");
}
END_TEST

START_TEST(content_types)
{
	static const char body[] = "grant_type=client_credentials&client_id=x";

	ck_assert_int_eq(parse_ct(NULL, NULL, body), 0);
	ck_assert_int_eq(parse_ct("", NULL, body), 0);
	ck_assert_int_eq(parse_ct("Application/X-WWW-Form-Urlencoded; "
	    "charset=UTF-8", NULL, body), 0);
	ck_assert_int_eq(parse_ct(" " FORM " ", NULL, body), 0);
	ck_assert_int_eq(parse_ct("text/plain", NULL, body), -1);
	assert_err(400, "invalid_request");
	ck_assert_int_eq(parse_ct(FORM "x", NULL, body), -1);
	assert_err(400, "invalid_request");
	ck_assert_int_eq(parse_ct("multipart/form-data; boundary=x", NULL,
	    body), -1);
	assert_err(400, "invalid_request");
	/* A form sent as JSON is malformed JSON. */
	ck_assert_int_eq(parse_ct("application/json", NULL, body), -1);
	assert_err(400, "invalid_request");
}
END_TEST

START_TEST(json_bodies)
{
	ck_assert_int_eq(parse_ct("application/json; charset=utf-8", NULL,
	    "{\"grant_type\": \"client_credentials\", \"client_id\": \"x\","
	    " \"client_secret\": \"" SECRET "\", \"audience\": \"a b:/c\","
	    " \"scope\": \"r w\", \"resource\": [\"https://r1\", "
	    "\"https://r2\"], \"extra\": {\"n\": [1, 2]}, \"n\": 5}\n"), 0);
	ck_assert_str_eq(req.client_id, "x");
	ck_assert_str_eq(req.audience, "a b:/c");
	ck_assert_str_eq(req.scope, "r w");
	ck_assert_uint_eq(req.nresources, 2);
	ck_assert_str_eq(req.resources[1], "https://r2");

	ck_assert_int_eq(parse_ct("application/json", basic("u%40x:s"),
	    "{\"grant_type\":\"client_credentials\",\"resource\":\"r\","
	    "\"client_id\":\"u\\u0040x\"}"), 0);
	ck_assert_str_eq(req.client_id, "u@x");
	ck_assert_uint_eq(req.nresources, 1);
	ck_assert_str_eq(req.resources[0], "r");
}
END_TEST

static const char *const bad_json[] = {
	"", "{", "[]", "\"x\"", "null",
	"{\"grant_type\":\"client_credentials\",\"client_id\":1}",
	"{\"grant_type\":\"client_credentials\",\"client_id\":[\"x\"]}",
	"{\"grant_type\":\"client_credentials\",\"client_id\":null}",
	"{\"grant_type\":\"client_credentials\",\"client_id\":\"x\","
	    "\"resource\":[1]}",
	"{\"grant_type\":\"client_credentials\",\"client_id\":\"x\"} x",
	"{\"grant_type\":\"client_credentials\",\"client_id\":\"x\"}{}",
	/* Duplicates, known or not. */
	"{\"grant_type\":\"client_credentials\",\"client_id\":\"x\","
	    "\"client_id\":\"x\"}",
	"{\"grant_type\":\"client_credentials\",\"client_id\":\"x\","
	    "\"zz\":1,\"zz\":2}",
	"{\"grant_type\":\"client_credentials\",\"client_id\":\"x\","
	    "\"resource\":\"a\",\"resource\":\"b\"}",
	/* Control bytes, escaped. */
	"{\"grant_type\":\"client_credentials\",\"client_id\":\"x\\u0000y\"}",
	"{\"grant_type\":\"client_credentials\",\"client_id\":\"x\\ny\"}",
	/* Too deep, non-standard JSON. */
	"{\"grant_type\":\"client_credentials\",\"client_id\":\"x\","
	    "\"a\":[[[\"deep\"]]]}",
	"{'grant_type':'client_credentials','client_id':'x'}",
	"{\"grant_type\":\"client_credentials\",\"client_id\":\"x\",}",
};

START_TEST(json_malformed)
{
	ck_assert_int_eq(parse_ct("application/json", NULL, bad_json[_i]),
	    -1);
	assert_err(400, "invalid_request");
}
END_TEST

START_TEST(json_nul_in_body)
{
	static const char body[] = "{\"grant_type\":\"client_credentials\","
	    "\"client_id\":\"x\"}\0{}";

	ck_assert_int_eq(parse_full("POST", "/oauth/token",
	    "application/json", NULL, body, sizeof(body) - 1), -1);
	assert_err(400, "invalid_request");
}
END_TEST

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

START_TEST(size_limits)
{
	char *body, *v, *enc;
	size_t i;

	/* A value of exactly TREQ_VALUE_MAX bytes, raw and %-encoded. */
	v = repeat('a', TREQ_VALUE_MAX);
	ck_assert_int_ne(asprintf(&body, "grant_type=client_credentials&"
	    "client_id=%s", v), -1);
	ck_assert_int_eq(parse_form(body), 0);
	ck_assert_uint_eq(strlen(req.client_id), TREQ_VALUE_MAX);
	free(body);
	enc = malloc(3 * TREQ_VALUE_MAX + 1);
	for (i = 0; i < TREQ_VALUE_MAX; i++)
		memcpy(enc + 3 * i, "%41", 4);
	ck_assert_int_ne(asprintf(&body, "grant_type=client_credentials&"
	    "client_id=x&audience=%s", enc), -1);
	ck_assert_int_eq(parse_form(body), 0);
	ck_assert_uint_eq(strlen(req.audience), TREQ_VALUE_MAX);
	free(body);
	/* One more byte. */
	ck_assert_int_ne(asprintf(&body, "grant_type=client_credentials&"
	    "client_id=x&audience=%s%%41", enc), -1);
	ck_assert_int_eq(parse_form(body), -1);
	assert_err(400, "invalid_request");
	free(body);
	free(enc);
	ck_assert_int_ne(asprintf(&body, "grant_type=client_credentials&"
	    "client_id=x&unknown=%sb", v), -1);
	ck_assert_int_eq(parse_form(body), -1);
	assert_err(400, "invalid_request");
	free(body);
	/* A long name, too. */
	ck_assert_int_ne(asprintf(&body, "grant_type=client_credentials&"
	    "client_id=x&%sb=1", v), -1);
	ck_assert_int_eq(parse_form(body), -1);
	assert_err(400, "invalid_request");
	free(body);
	/* The same in JSON. */
	ck_assert_int_ne(asprintf(&body, "{\"grant_type\":"
	    "\"client_credentials\",\"client_id\":\"%sb\"}", v), -1);
	ck_assert_int_eq(parse_ct("application/json", NULL, body), -1);
	assert_err(400, "invalid_request");
	free(body);
	free(v);

	/* The body: TREQ_BODY_MAX bytes pass, one more is 413. */
	body = repeat('&', TREQ_BODY_MAX + 1);
	memcpy(body, "grant_type=client_credentials&client_id=x", 41);
	ck_assert_int_eq(parse_full("POST", "/oauth/token", FORM, NULL, body,
	    TREQ_BODY_MAX), 0);
	ck_assert_int_eq(parse_full("POST", "/oauth/token", FORM, NULL, body,
	    TREQ_BODY_MAX + 1), -1);
	assert_err(413, "invalid_request");
	ck_assert_int_eq(parse_full("POST", "/oauth/token", "application/json",
	    NULL, body, TREQ_BODY_MAX + 1), -1);
	assert_err(413, "invalid_request");
	free(body);
}
END_TEST

START_TEST(param_count)
{
	char body[1024];
	int i;

	/* 32 parameters, unknown ones counted. */
	strcpy(body, "grant_type=client_credentials&client_id=x");
	for (i = 2; i < TREQ_PARAMS_MAX; i++)
		strcat(body, "&u=1");
	ck_assert_int_eq(parse_form(body), 0);
	strcat(body, "&u");
	ck_assert_int_eq(parse_form(body), -1);
	assert_err(400, "invalid_request");
	/* Empty pairs are not parameters. */
	strcpy(body, "grant_type=client_credentials&client_id=x");
	for (i = 0; i < 100; i++)
		strcat(body, "&");
	ck_assert_int_eq(parse_form(body), 0);

	strcpy(body, "{\"grant_type\":\"client_credentials\","
	    "\"client_id\":\"x\"");
	for (i = 2; i < TREQ_PARAMS_MAX; i++)
		sprintf(body + strlen(body), ",\"u%d\":1", i);
	strcat(body, "}");
	ck_assert_int_eq(parse_ct("application/json", NULL, body), 0);
	strcpy(body + strlen(body) - 1, ",\"last\":1}");
	ck_assert_int_eq(parse_ct("application/json", NULL, body), -1);
	assert_err(400, "invalid_request");
}
END_TEST

static const char *const controls[] = {
	"client_id=a%0Ab", "client_id=a%00b", "client_id=a%7Fb",
	"client_id=a\tb", "client_id=x&scope=a\rb", "client_id=x&scope=a%0D",
	"client_id=x&audience=\x01", "client_id=x&resource=r%1F",
	"client_id=x&client_secret=a%0Ab", "client_id=x&un%0Aknown=1",
};

START_TEST(control_bytes)
{
	char body[256];

	snprintf(body, sizeof(body), "grant_type=client_credentials&%s",
	    controls[_i]);
	ck_assert_int_eq(parse_form(body), -1);
	assert_err(400, "invalid_request");
}
END_TEST

START_TEST(control_nul_raw)
{
	static const char body[] =
	    "grant_type=client_credentials&client_id=a\0b";

	ck_assert_int_eq(parse_full("POST", "/oauth/token", FORM, NULL, body,
	    sizeof(body) - 1), -1);
	assert_err(400, "invalid_request");
}
END_TEST

/* Bytes above 0x7f are not control bytes: UTF-8 ids pass unchanged. */
START_TEST(utf8_values)
{
	ck_assert_int_eq(parse_form("grant_type=client_credentials&"
	    "client_id=caf%C3%A9&audience=\xc3\xa9"), 0);
	ck_assert_str_eq(req.client_id, "caf\xc3\xa9");
	ck_assert_str_eq(req.audience, "\xc3\xa9");
}
END_TEST

/* Every refusal, with the secret in every place it can be sent. */
START_TEST(secret_never_echoed)
{
	static const char *const bodies[] = {
		"grant_type=client_credentials&client_secret=" SECRET,
		"grant_type=password&client_id=x&client_secret=" SECRET,
		"grant_type=client_credentials&client_id=x&client_secret="
		    SECRET "&client_secret=" SECRET,
		"grant_type=client_credentials&client_id=x&client_secret="
		    SECRET "%zz",
		"grant_type=client_credentials&client_id=x&client_secret="
		    SECRET "%0A",
		"grant_type=client_credentials&client_id=" SECRET "%0A",
		"grant_type=client_credentials&client_id=x&scope=" SECRET
		    "&scope=" SECRET,
		"grant_type=client_credentials&client_id=x&" SECRET "%01=1",
		"client_secret=" SECRET,
	};
	static const char *const auths[] = {
		NULL, "Basic " SECRET, "Bearer " SECRET,
	};
	const char *json = "{\"grant_type\":\"client_credentials\","
	    "\"client_secret\":\"" SECRET "\"}";
	const char *json2 = "{\"grant_type\":\"client_credentials\","
	    "\"client_id\":\"x\",\"client_secret\":[\"" SECRET "\"]}";
	size_t i, j, n = 0;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		for (j = 0; j < sizeof(auths) / sizeof(auths[0]); j++) {
			ck_assert_int_eq(parse_ct(FORM, auths[j], bodies[i]),
			    -1);
			ck_assert_ptr_null(strstr(err.description, SECRET));
			ck_assert_ptr_null(strstr(err.description, "S3cr3t"));
			n++;
		}
	}
	ck_assert_int_eq(parse_ct(FORM, basic("x:" SECRET),
	    "grant_type=client_credentials&client_id=y"), -1);
	ck_assert_ptr_null(strstr(err.description, SECRET));
	ck_assert_int_eq(parse_ct(FORM, basic(SECRET), "grant_type="
	    "client_credentials"), -1);
	ck_assert_ptr_null(strstr(err.description, SECRET));
	ck_assert_int_eq(parse_ct("application/json", NULL, json), -1);
	ck_assert_ptr_null(strstr(err.description, SECRET));
	ck_assert_int_eq(parse_ct("application/json", NULL, json2), -1);
	ck_assert_ptr_null(strstr(err.description, SECRET));
	ck_assert_uint_eq(n, 27);
}
END_TEST

static void
assert_no_secret_in_req(void)
{
	size_t i;

	ck_assert_ptr_null(strstr(req.client_id, "S3cr3t"));
	ck_assert(req.audience == NULL || !strstr(req.audience, "S3cr3t"));
	ck_assert(req.scope == NULL || !strstr(req.scope, "S3cr3t"));
	for (i = 0; i < req.nresources; i++)
		ck_assert_ptr_null(strstr(req.resources[i], "S3cr3t"));
}

/* Accepted: the secret is nowhere in struct treq. */
START_TEST(secret_not_kept)
{
	ck_assert_int_eq(parse_form("grant_type=client_credentials&"
	    "client_id=x&client_secret=" SECRET "&audience=a"), 0);
	assert_no_secret_in_req();
	ck_assert_int_eq(parse_ct(FORM, basic("x:" SECRET),
	    "grant_type=client_credentials&scope=s"), 0);
	assert_no_secret_in_req();
	ck_assert_int_eq(parse_ct("application/json", NULL,
	    "{\"grant_type\":\"client_credentials\",\"client_id\":\"x\","
	    "\"client_secret\":\"" SECRET "\"}"), 0);
	assert_no_secret_in_req();
}
END_TEST

/* An endpoint_secret is compared with what the request sent, from the
 * body (form or JSON) or from Basic (form-decoded), never kept. */
START_TEST(secret_compared)
{
	static const char other[] = "not-" SECRET;

	ck_assert_int_eq(parse_form("grant_type=client_credentials&"
	    "client_id=x&client_secret=" SECRET), 0);
	ck_assert_int_eq(req.has_secret, 1);
	ck_assert_int_eq(treq_secret_is(&req, SECRET, strlen(SECRET)), 1);
	ck_assert_int_eq(treq_secret_is(&req, other, strlen(other)), 0);
	ck_assert_int_eq(treq_secret_is(&req, SECRET, strlen(SECRET) - 1), 0);
	/* Basic: form-encoded before base64 (RFC 6749 §2.3.1). */
	ck_assert_int_eq(parse_ct(FORM, basic("x:a+b%2Bc%3A"),
	    "grant_type=client_credentials"), 0);
	ck_assert_int_eq(treq_secret_is(&req, "a b+c:", 6), 1);
	ck_assert_int_eq(treq_secret_is(&req, "a+b%2Bc%3A", 10), 0);
	ck_assert_int_eq(parse_ct("application/json", NULL,
	    "{\"grant_type\":\"client_credentials\",\"client_id\":\"x\","
	    "\"client_secret\":\"" SECRET "\"}"), 0);
	ck_assert_int_eq(treq_secret_is(&req, SECRET, strlen(SECRET)), 1);
	/* None sent, or an empty one: nothing matches. */
	ck_assert_int_eq(parse_form("grant_type=client_credentials&"
	    "client_id=x&client_secret="), 0);
	ck_assert_int_eq(req.has_secret, 0);
	ck_assert_int_eq(treq_secret_is(&req, "", 0), 0);
	ck_assert_int_eq(parse_ct(FORM, basic("x:"),
	    "grant_type=client_credentials"), 0);
	ck_assert_int_eq(treq_secret_is(&req, "", 0), 0);
	/* RFC 6749 §2.3: not both ways at once. */
	ck_assert_int_eq(parse_ct(FORM, basic("x:" SECRET),
	    "grant_type=client_credentials&client_secret=" SECRET), -1);
	assert_err(400, "invalid_request");
}
END_TEST

/* Outputs are written only on success, errors only on failure. */
START_TEST(outputs_untouched)
{
	static const char body[] = "grant_type=client_credentials&client_id=x";
	struct treq_http in = {
		.method = "GET", .path = "/oauth/token", .content_type = FORM,
		.body = (const unsigned char *)body, .body_len = strlen(body),
	};
	struct treq out, sentinel;
	struct treq_error e, esentinel;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	out = sentinel;
	ck_assert_int_eq(treq_parse(&in, &out, &e), -1);
	ck_assert_mem_eq(&out, &sentinel, sizeof(out));
	in.method = "POST";
	memset(&esentinel, 0x5a, sizeof(esentinel));
	e = esentinel;
	ck_assert_int_eq(treq_parse(&in, &out, &e), 0);
	ck_assert_mem_eq(&e, &esentinel, sizeof(e));
	treq_free(&out);
	ck_assert_ptr_null(out.client_id);
	treq_free(NULL);
}
END_TEST

/* The daemon's configuration, sorted by name as conf_load leaves it. */
#define S(s) ((char *)(s))
static char *r12[] = { S("https://r1"), S("https://r2"), NULL };
static char *r3[] = { S("https://r3"), NULL };
static struct cred_conf chain_src[] = {
	{ .provider = S("oauth2"), .client_id = S("chainid"),
	  .audience = S("ca") },
	{ .provider = S("oauth2"), .client_id = S("other"),
	  .audience = S("oa") },
};
static struct cred_conf creds[] = {
	{ .name = S("a-zeebe"), .provider = S("camunda"), .client_id = S("cid"),
	  .audience = S("zeebe.camunda.io") },
	{ .name = S("b-operate"), .provider = S("oauth2"),
	  .client_id = S("cid"), .audience = S("operate.camunda.io"),
	  .scope = S("read") },
	{ .name = S("c-res"), .provider = S("oauth2"), .client_id = S("rid"),
	  .scope = S("read write"), .resources = r12, .nresources = 2 },
	{ .name = S("d-chain"), .provider = S("chain"), .sources = chain_src,
	  .nsources = 2 },
	{ .name = S("e-zeebe-again"), .provider = S("oauth2"),
	  .client_id = S("cid"), .audience = S("zeebe.camunda.io") },
	{ .name = S("f-res3"), .provider = S("oauth2"), .client_id = S("rid"),
	  .scope = S("read write"), .resources = r3, .nresources = 1 },
	{ .name = S("g-empty-chain"), .provider = S("chain") },
};
static struct daemon_conf conf = {
	.creds = creds, .ncreds = sizeof(creds) / sizeof(creds[0]),
};

static const char *
match(const char *body)
{
	const struct cred_conf *c;

	ck_assert_int_eq(parse_form(body), 0);
	memset(&err, 0, sizeof(err));
	c = treq_match(&conf, &req, &err);
	return c != NULL ? c->name : NULL;
}

#define GCC "grant_type=client_credentials&"

START_TEST(match_credentials)
{
	ck_assert_str_eq(match(GCC "client_id=cid&audience=zeebe.camunda.io"),
	    "a-zeebe");
	ck_assert_str_eq(match(GCC "client_id=cid&audience=operate.camunda.io"),
	    "b-operate");
	ck_assert_str_eq(match(GCC "client_id=cid&scope=read"), "b-operate");
	/* Omitted parameters are not compared: the first in name order. */
	ck_assert_str_eq(match(GCC "client_id=cid"), "a-zeebe");
	/* Scope as a set. */
	ck_assert_str_eq(match(GCC "client_id=rid&scope=write read"),
	    "c-res");
	ck_assert_str_eq(match(GCC "client_id=rid&scope=+write++read+"),
	    "c-res");
	/* Resources as a set. */
	ck_assert_str_eq(match(GCC "client_id=rid&resource=https://r2&"
	    "resource=https://r1"), "c-res");
	ck_assert_str_eq(match(GCC "client_id=rid&resource=https://r3"),
	    "f-res3");
	/* A chain by its first source, not its second. */
	ck_assert_str_eq(match(GCC "client_id=chainid&audience=ca"),
	    "d-chain");
	ck_assert_ptr_null(match(GCC "client_id=other"));
	assert_err(401, "invalid_client");
}
END_TEST

START_TEST(match_failures)
{
	ck_assert_ptr_null(match(GCC "client_id=nobody&audience=a"));
	assert_err(401, "invalid_client");
	ck_assert_int_eq(err.www_authenticate, 0);
	ck_assert_int_eq(parse_ct(FORM, basic("nobody:s"), GCC), 0);
	ck_assert_ptr_null(treq_match(&conf, &req, &err));
	assert_err(401, "invalid_client");
	ck_assert_int_eq(err.www_authenticate, 1);
	/* Case matters in ids. */
	ck_assert_ptr_null(match(GCC "client_id=CID"));
	assert_err(401, "invalid_client");

	ck_assert_ptr_null(match(GCC "client_id=cid&audience=tasklist"));
	assert_err(400, "invalid_scope");
	/* A scope against a credential without one. */
	ck_assert_ptr_null(match(GCC "client_id=cid&audience=zeebe.camunda.io"
	    "&scope=read"));
	assert_err(400, "invalid_scope");
	ck_assert_ptr_null(match(GCC "client_id=rid&scope=read"));
	assert_err(400, "invalid_scope");
	ck_assert_ptr_null(match(GCC "client_id=rid&scope=read write admin"));
	assert_err(400, "invalid_scope");
	ck_assert_ptr_null(match(GCC "client_id=chainid&audience=oa"));
	assert_err(400, "invalid_scope");
	/* Resources: a subset or a superset is not the credential's. */
	ck_assert_ptr_null(match(GCC "client_id=rid&resource=https://r1"));
	assert_err(400, "invalid_target");
	ck_assert_ptr_null(match(GCC "client_id=rid&resource=https://r1&"
	    "resource=https://r2&resource=https://r3"));
	assert_err(400, "invalid_target");
	ck_assert_ptr_null(match(GCC "client_id=cid&resource=https://r1"));
	assert_err(400, "invalid_target");
}
END_TEST

static Suite *
tokenreq_suite(void)
{
	Suite *s = suite_create("tokenreq");
	TCase *tc = tcase_create("parse");
	TCase *tm = tcase_create("match");

	tcase_add_test(tc, js_sdk_raw_body);
	tcase_add_test(tc, raw_reserved_bytes);
	tcase_add_test(tc, form_decoding);
	tcase_add_loop_test(tc, form_bad_escape, 0,
	    (int)(sizeof(bad_escapes) / sizeof(bad_escapes[0])));
	tcase_add_test(tc, paths_and_methods);
	tcase_add_test(tc, grant_type_rules);
	tcase_add_test(tc, basic_auth);
	tcase_add_loop_test(tc, basic_malformed, 0,
	    (int)(sizeof(bad_basic) / sizeof(bad_basic[0])));
	tcase_add_test(tc, basic_bad_id);
	tcase_add_test(tc, client_id_sources);
	tcase_add_loop_test(tc, duplicates, 0,
	    (int)(sizeof(dups) / sizeof(dups[0])));
	tcase_add_test(tc, resources_repeat);
	tcase_add_test(tc, content_types);
	tcase_add_test(tc, json_bodies);
	tcase_add_loop_test(tc, json_malformed, 0,
	    (int)(sizeof(bad_json) / sizeof(bad_json[0])));
	tcase_add_test(tc, json_nul_in_body);
	tcase_add_test(tc, size_limits);
	tcase_add_test(tc, param_count);
	tcase_add_loop_test(tc, control_bytes, 0,
	    (int)(sizeof(controls) / sizeof(controls[0])));
	tcase_add_test(tc, control_nul_raw);
	tcase_add_test(tc, utf8_values);
	tcase_add_test(tc, secret_never_echoed);
	tcase_add_test(tc, secret_not_kept);
	tcase_add_test(tc, secret_compared);
	tcase_add_test(tc, outputs_untouched);
	suite_add_tcase(s, tc);
	tcase_add_test(tm, match_credentials);
	tcase_add_test(tm, match_failures);
	suite_add_tcase(s, tm);
	return s;
}

int
main(void)
{
	return tu_run(tokenreq_suite());
}
