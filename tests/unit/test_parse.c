/*
 * test_parse.c - token endpoint reply parsing (provider/token_parse.c).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "token_parse.h"
#include "testutil.h"

#define NOW	INT64_C(1700000000)

static const struct tok_limits LIM = {
	.token_max = 16384,
	.default_lifetime = 3600,
	.max_lifetime = 2678400,
};

/* A distinctive token that must never appear in an error message. */
#define SECRET_TOKEN "SeCrEtToKeN-0123456789-abcdefghijklmnop"

static enum tok_outcome
parse(const char *body, long status, struct tok_result *r)
{
	return tok_parse(body, strlen(body), status, NOW, &LIM, r);
}

static char *
b64url(const void *bin, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	sodium_bin2base64(s, cap, bin, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

/* header.payload.signature with payload taken verbatim. */
static char *
make_jwt(const char *payload)
{
	const char *hdr = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	char *h = b64url(hdr, strlen(hdr));
	char *p = b64url(payload, strlen(payload));
	char *s = b64url("not-a-real-signature", 20);
	size_t n = strlen(h) + strlen(p) + strlen(s) + 3;
	char *jwt = malloc(n);

	ck_assert_ptr_nonnull(jwt);
	snprintf(jwt, n, "%s.%s.%s", h, p, s);
	free(h);
	free(p);
	free(s);
	return jwt;
}

static char *
jwt_with_exp(int64_t exp)
{
	char payload[128];

	snprintf(payload, sizeof(payload),
	    "{\"sub\":\"svc\",\"iat\":1,\"exp\":%lld}", (long long)exp);
	return make_jwt(payload);
}

/* {"access_token":TOKEN,"token_type":"Bearer"EXTRA} */
static char *
success_body(const char *token, const char *extra)
{
	size_t n = strlen(token) + strlen(extra) + 64;
	char *b = malloc(n);

	ck_assert_ptr_nonnull(b);
	snprintf(b, n, "{\"access_token\":\"%s\",\"token_type\":\"Bearer\"%s}",
	    token, extra);
	return b;
}

static void
assert_clean_error(const struct tok_result *r)
{
	const unsigned char *p;

	ck_assert_int_ne(r->outcome, TOK_OK);
	ck_assert_ptr_null(r->token);
	ck_assert_uint_gt(strlen(r->error), 0);
	ck_assert_uint_lt(strlen(r->error), sizeof(r->error));
	for (p = (const unsigned char *)r->error; *p != '\0'; p++)
		ck_assert_msg(*p >= 0x20 && *p < 0x7f,
		    "control or non-ASCII byte 0x%02x in error", *p);
	ck_assert_ptr_null(strstr(r->error, SECRET_TOKEN));
}

/* §5.1 */

START_TEST(success_basic)
{
	struct tok_result r;

	ck_assert_int_eq(parse("{\"access_token\":\"abc\",\"token_type\":"
	    "\"Bearer\",\"expires_in\":120,\"scope\":\"x y\","
	    "\"unknown\":{\"a\":[1,2]}}", 200, &r), TOK_OK);
	ck_assert_int_eq(r.outcome, TOK_OK);
	ck_assert_ptr_nonnull(r.token);
	ck_assert_str_eq(r.token, "abc");
	ck_assert_uint_eq(r.token_len, 3);
	ck_assert_str_eq(r.token_type, "Bearer");
	ck_assert_int_eq(r.lifetime, 120);
	ck_assert_int_eq(r.jwt_exp, 0);
	ck_assert_str_eq(r.error, "");
	/* Kept for the local endpoint, which passes it on. */
	ck_assert_str_eq(r.scope, "x y");
	tok_result_clear(&r);
	ck_assert_ptr_null(r.token);
	ck_assert_int_eq(r.token_len, 0);
	ck_assert_int_eq(r.lifetime, 0);
}
END_TEST

/* A scope that is not printable ASCII, too long or not a string is not
 * passed on; the token is good either way. */
START_TEST(success_scope_not_kept)
{
	static const char *const scopes[] = {
		"\"\"", "\"a\\u0001b\"", "\"caf\\u00e9\"", "[\"a\"]", "7",
		NULL,
	};
	char body[1024], longs[TOK_SCOPE_MAX + 8];
	struct tok_result r;
	size_t i;

	for (i = 0; scopes[i] != NULL; i++) {
		snprintf(body, sizeof(body), "{\"access_token\":\"abc\","
		    "\"token_type\":\"Bearer\",\"scope\":%s}", scopes[i]);
		ck_assert_int_eq(parse(body, 200, &r), TOK_OK);
		ck_assert_msg(r.scope[0] == '\0', "scope %s kept", scopes[i]);
		tok_result_clear(&r);
	}
	memset(longs, 'a', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"access_token\":\"abc\","
	    "\"token_type\":\"Bearer\",\"scope\":\"%s\"}", longs);
	ck_assert_int_eq(parse(body, 200, &r), TOK_OK);
	ck_assert_str_eq(r.scope, "");
	tok_result_clear(&r);
}
END_TEST

START_TEST(success_token_type_as_sent)
{
	struct tok_result r;

	ck_assert_int_eq(parse("{\"access_token\":\"abc\",\"token_type\":"
	    "\"bEaReR\"}", 200, &r), TOK_OK);
	ck_assert_str_eq(r.token_type, "bEaReR");
	ck_assert_int_eq(r.lifetime, LIM.default_lifetime);
	tok_result_clear(&r);
}
END_TEST

START_TEST(success_whitespace_around)
{
	struct tok_result r;

	ck_assert_int_eq(parse(" \r\n\t{\"access_token\":\"abc\",\"token_type\""
	    ":\"Bearer\"}\r\n ", 200, &r), TOK_OK);
	tok_result_clear(&r);
}
END_TEST

START_TEST(success_other_2xx)
{
	struct tok_result r;

	ck_assert_int_eq(parse("{\"access_token\":\"abc\",\"token_type\":"
	    "\"Bearer\"}", 201, &r), TOK_OK);
	tok_result_clear(&r);
	ck_assert_int_eq(parse("", 204, &r), TOK_TRANSIENT);
	assert_clean_error(&r);
	tok_result_clear(&r);
}
END_TEST

static const struct {
	const char *expires_in;   /* JSON text, NULL: absent */
	long lifetime;
} expires_cases[] = {
	{ "120", 120 },
	{ "\"120\"", 120 },
	{ "\"007\"", 7 },
	{ "1", 1 },
	{ "2678400", 2678400 },
	{ "2678401", 2678400 },          /* capped at max_lifetime */
	{ "9223372036854775806", 2678400 },
	{ "\"99999999\"", 2678400 },
	{ NULL, 3600 },
	{ "\"abc\"", 3600 },
	{ "\"\"", 3600 },
	{ "\"12a\"", 3600 },
	{ "\" 12\"", 3600 },
	{ "\"-5\"", 3600 },
	{ "\"+5\"", 3600 },
	{ "\"1.5\"", 3600 },
	{ "\"99999999999999999999\"", 3600 },
	{ "0", 3600 },
	{ "\"0\"", 3600 },
	{ "-5", 3600 },
	{ "1.5", 3600 },
	{ "3600.0", 3600 },
	{ "1e3", 3600 },
	{ "1e999", 3600 },
	{ "99999999999999999999", 3600 },
	{ "-99999999999999999999", 3600 },
	{ "18446744073709551615", 3600 },
	{ "9223372036854775807", 3600 },
	{ "true", 3600 },
	{ "false", 3600 },
	{ "null", 3600 },
	{ "[60]", 3600 },
	{ "{\"s\":60}", 3600 },
};

START_TEST(expires_in_forms)
{
	struct tok_result r;
	char body[256];

	if (expires_cases[_i].expires_in == NULL)
		snprintf(body, sizeof(body), "{\"access_token\":\"abc\","
		    "\"token_type\":\"Bearer\"}");
	else
		snprintf(body, sizeof(body), "{\"access_token\":\"abc\","
		    "\"token_type\":\"Bearer\",\"expires_in\":%s}",
		    expires_cases[_i].expires_in);
	ck_assert_msg(parse(body, 200, &r) == TOK_OK, "%s: %s", body, r.error);
	ck_assert_msg(r.lifetime == expires_cases[_i].lifetime,
	    "%s: lifetime %ld, want %ld", body, r.lifetime,
	    expires_cases[_i].lifetime);
	tok_result_clear(&r);
}
END_TEST

START_TEST(max_lifetime_caps_default)
{
	struct tok_limits lim = LIM;
	struct tok_result r;
	const char *b = "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}";

	lim.max_lifetime = 60;
	ck_assert_int_eq(tok_parse(b, strlen(b), 200, NOW, &lim, &r), TOK_OK);
	ck_assert_int_eq(r.lifetime, 60);
	tok_result_clear(&r);
}
END_TEST

/* JWT exp */

START_TEST(jwt_exp_cuts_expires_in)
{
	struct tok_result r;
	char *jwt = jwt_with_exp(NOW + 600);
	char *b = success_body(jwt, ",\"expires_in\":3600");

	ck_assert_int_eq(parse(b, 200, &r), TOK_OK);
	ck_assert_int_eq(r.lifetime, 600);
	ck_assert_int_eq(r.jwt_exp, NOW + 600);
	ck_assert_str_eq(r.token, jwt);
	tok_result_clear(&r);
	free(b);
	free(jwt);
}
END_TEST

START_TEST(jwt_exp_later_than_expires_in)
{
	struct tok_result r;
	char *jwt = jwt_with_exp(NOW + 7200);
	char *b = success_body(jwt, ",\"expires_in\":\"3600\"");

	ck_assert_int_eq(parse(b, 200, &r), TOK_OK);
	ck_assert_int_eq(r.lifetime, 3600);
	ck_assert_int_eq(r.jwt_exp, NOW + 7200);
	tok_result_clear(&r);
	free(b);
	free(jwt);
}
END_TEST

START_TEST(jwt_exp_without_expires_in)
{
	struct tok_result r;
	char *jwt = jwt_with_exp(NOW + 7200);
	char *b = success_body(jwt, "");

	ck_assert_int_eq(parse(b, 200, &r), TOK_OK);
	ck_assert_int_eq(r.lifetime, 7200);
	tok_result_clear(&r);
	free(b);
	free(jwt);

	/* exp beyond max_lifetime: capped */
	jwt = jwt_with_exp(NOW + 100000000);
	b = success_body(jwt, ",\"expires_in\":0");
	ck_assert_int_eq(parse(b, 200, &r), TOK_OK);
	ck_assert_int_eq(r.lifetime, LIM.max_lifetime);
	tok_result_clear(&r);
	free(b);
	free(jwt);
}
END_TEST

START_TEST(jwt_exp_in_past)
{
	struct tok_result r;
	int64_t exps[] = { NOW - 1, NOW, 1 };
	size_t i;

	for (i = 0; i < sizeof(exps) / sizeof(exps[0]); i++) {
		char *jwt = jwt_with_exp(exps[i]);
		char *b = success_body(jwt, ",\"expires_in\":3600");

		ck_assert_int_eq(parse(b, 200, &r), TOK_TRANSIENT);
		assert_clean_error(&r);
		ck_assert_ptr_nonnull(strstr(r.error, "expired"));
		ck_assert_ptr_null(strstr(r.error, jwt));
		tok_result_clear(&r);
		free(b);
		free(jwt);
	}
}
END_TEST

START_TEST(jwt_without_exp)
{
	struct tok_result r;
	char *jwt = make_jwt("{\"sub\":\"svc\",\"iat\":1700000000}");
	char *b = success_body(jwt, "");

	ck_assert_int_eq(tok_jwt_exp(jwt, strlen(jwt)), 0);
	ck_assert_int_eq(parse(b, 200, &r), TOK_OK);
	ck_assert_int_eq(r.lifetime, LIM.default_lifetime);
	ck_assert_int_eq(r.jwt_exp, 0);
	tok_result_clear(&r);
	free(b);
	free(jwt);
}
END_TEST

START_TEST(jwt_exp_values)
{
	char *jwt;

	jwt = jwt_with_exp(1700000123);
	ck_assert_int_eq(tok_jwt_exp(jwt, strlen(jwt)), 1700000123);
	free(jwt);

	static const char *const zero[] = {
		"{\"exp\":\"1700000000\"}",
		"{\"exp\":1.7e9}",
		"{\"exp\":1700000000.5}",
		"{\"exp\":0}",
		"{\"exp\":-5}",
		"{\"exp\":99999999999999999999}",
		"{\"exp\":true}",
		"{\"exp\":null}",
		"[1700000000]",
		"\"exp\"",
		"{\"exp\":1700000000} x",
		"{\"exp\":1700000000",
		"not json",
		"",
		NULL,
	};
	size_t i;

	for (i = 0; zero[i] != NULL; i++) {
		jwt = make_jwt(zero[i]);
		ck_assert_msg(tok_jwt_exp(jwt, strlen(jwt)) == 0, "%s",
		    zero[i]);
		free(jwt);
	}
}
END_TEST

START_TEST(jwt_malformed)
{
	/* {"exp":1700000000} */
	char *p = b64url("{\"exp\":1700000000}", 18);
	char buf[512];
	size_t i;
	/* prefix and suffix around the valid payload */
	static const char *const zero[][2] = {
		{ "", "" },              /* one part */
		{ "a.", "" },            /* two parts */
		{ "a.", ".c.d" },        /* four parts */
		{ "a.", ".c.d.e" },      /* JWE-like */
		{ ".", ".c" },
		{ "a.", "." },
		{ "a.", ".." },
		{ "a!.", ".c" },
		{ "a.", ".c d" },
		{ "a.", ".c\n" },
		{ "a.", "%.c" },
		{ NULL, NULL },
	};

	snprintf(buf, sizeof(buf), "a.%s.c", p);
	ck_assert_int_eq(tok_jwt_exp(buf, strlen(buf)), 1700000000);
	for (i = 0; zero[i][0] != NULL; i++) {
		snprintf(buf, sizeof(buf), "%s%s%s", zero[i][0], p, zero[i][1]);
		ck_assert_msg(tok_jwt_exp(buf, strlen(buf)) == 0, "%s", buf);
	}
	ck_assert_int_eq(tok_jwt_exp("a..c", 4), 0);
	ck_assert_int_eq(tok_jwt_exp("a.!!!!.c", 8), 0);
	ck_assert_int_eq(tok_jwt_exp("a.b.c", 5), 0);
	ck_assert_int_eq(tok_jwt_exp("", 0), 0);
	ck_assert_int_eq(tok_jwt_exp(NULL, 0), 0);
	ck_assert_int_eq(tok_jwt_exp("opaque-token", 12), 0);
	/* length is honoured: the NUL-free prefix alone is not a JWT */
	snprintf(buf, sizeof(buf), "a.%s.c", p);
	ck_assert_int_eq(tok_jwt_exp(buf, strlen(buf) - 2), 0);
	/* a NUL inside the token */
	buf[1] = '\0';
	ck_assert_int_eq(tok_jwt_exp(buf, strlen(p) + 4), 0);
	free(p);
}
END_TEST

START_TEST(jwt_padded_payload)
{
	/* 17 bytes: base64 needs one '=' of padding */
	const char *payload = "{\"exp\":170000000}";
	char enc[64], buf[128];

	ck_assert_uint_eq(strlen(payload), 17);
	sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)payload,
	    strlen(payload),
	    sodium_base64_VARIANT_URLSAFE);
	ck_assert_ptr_nonnull(strchr(enc, '='));
	snprintf(buf, sizeof(buf), "eyJ.%s.sig", enc);
	ck_assert_int_eq(tok_jwt_exp(buf, strlen(buf)), 170000000);
}
END_TEST

START_TEST(jwt_payload_nul_and_depth)
{
	char raw[2200], *p, buf[4096];
	size_t i, n = 0;

	/* {"exp":1,"x":"<NUL>"}: JSON with a raw NUL inside */
	memcpy(raw, "{\"exp\":1700000000,\"x\":\"a\0b\"}", 28);
	p = b64url(raw, 28);
	snprintf(buf, sizeof(buf), "a.%s.c", p);
	ck_assert_int_eq(tok_jwt_exp(buf, strlen(buf)), 0);
	free(p);

	/* deep nesting before exp */
	n = 0;
	memcpy(raw, "{\"a\":", 5);
	n = 5;
	for (i = 0; i < 1000; i++)
		raw[n++] = '[';
	for (i = 0; i < 1000; i++)
		raw[n++] = ']';
	memcpy(raw + n, ",\"exp\":1700000000}", 18);
	n += 18;
	p = b64url(raw, n);
	ck_assert_uint_lt(strlen(p) + 5, sizeof(buf));
	snprintf(buf, sizeof(buf), "a.%s.c", p);
	ck_assert_int_eq(tok_jwt_exp(buf, strlen(buf)), 0);
	free(p);
}
END_TEST

/* Malformed success replies */

START_TEST(token_bad_bytes)
{
	static const char *const tokens[] = {
		"abc def", "abc\\tdef", "abc\\u0001def", "abc\\u0000def",
		"abc\\u007fdef", "abc\\u00e9def", "abc\\ndef", "\\u0020", NULL,
	};
	struct tok_result r;
	size_t i;

	for (i = 0; tokens[i] != NULL; i++) {
		char *b = success_body(tokens[i], "");

		ck_assert_msg(parse(b, 200, &r) == TOK_TRANSIENT, "%s", b);
		assert_clean_error(&r);
		ck_assert_ptr_null(strstr(r.error, "abc"));
		tok_result_clear(&r);
		free(b);
	}
}
END_TEST

START_TEST(token_size_limit)
{
	struct tok_result r;
	char *tok = malloc(LIM.token_max + 2), *b;

	memset(tok, 'a', LIM.token_max + 1);
	tok[LIM.token_max + 1] = '\0';
	b = success_body(tok, "");
	ck_assert_int_eq(parse(b, 200, &r), TOK_PERMANENT);
	assert_clean_error(&r);
	ck_assert_str_eq(r.error,
	    "token of 16385 bytes exceeds max_token_size 16384");
	tok_result_clear(&r);
	free(b);

	/* exactly token_max is fine */
	tok[LIM.token_max] = '\0';
	b = success_body(tok, "");
	ck_assert_int_eq(parse(b, 200, &r), TOK_OK);
	ck_assert_uint_eq(r.token_len, LIM.token_max);
	ck_assert_uint_eq(strlen(r.token), LIM.token_max);
	tok_result_clear(&r);
	free(b);
	free(tok);
}
END_TEST

static const struct {
	const char *body;
	const char *want;   /* substring of the error */
} bad_success[] = {
	{ "{\"token_type\":\"Bearer\"}", "no access_token" },
	{ "{\"access_token\":\"\",\"token_type\":\"Bearer\"}",
	  "no access_token" },
	{ "{\"access_token\":42,\"token_type\":\"Bearer\"}", "no access_token" },
	{ "{\"access_token\":null,\"token_type\":\"Bearer\"}",
	  "no access_token" },
	{ "{\"access_token\":[\"a\"],\"token_type\":\"Bearer\"}",
	  "no access_token" },
	{ "{\"access_token\":\"abc\"}", "no token_type" },
	{ "{\"access_token\":\"abc\",\"token_type\":\"\"}", "no token_type" },
	{ "{\"access_token\":\"abc\",\"token_type\":1}", "no token_type" },
	{ "{\"access_token\":\"abc\",\"token_type\":"
	  "\"0123456789012345678901234567890X\"}", "token_type" },
	{ "{\"access_token\":\"abc\",\"token_type\":\"Bea rer\"}",
	  "token_type" },
	{ "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"} x",
	  "after the JSON" },
	{ "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}{}",
	  "HTTP 200" },
	{ "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"", "truncated" },
	{ "{\"access_token\":\"abc\",\"token_type\":\"Bearer\",}", "not JSON" },
	{ "[\"access_token\"]", "not a JSON object" },
	{ "\"abc\"", "not a JSON object" },
	{ "42", "not a JSON object" },
	{ "null", "not a JSON object" },
	{ "", "empty" },
	{ "   \r\n", "empty" },
	{ "<html><body>OK</body></html>", "not JSON" },
	{ "{\"access_token\":\"ab\xff\",\"token_type\":\"Bearer\"}",
	  "not JSON" },
	{ "{\"access_token\":\"\xc3\x28\",\"token_type\":\"Bearer\"}",
	  "not JSON" },
};

START_TEST(malformed_success)
{
	struct tok_result r;

	ck_assert_msg(parse(bad_success[_i].body, 200, &r) == TOK_TRANSIENT,
	    "%s -> %d %s", bad_success[_i].body, r.outcome, r.error);
	assert_clean_error(&r);
	ck_assert_msg(strstr(r.error, bad_success[_i].want) != NULL,
	    "%s: error '%s' lacks '%s'", bad_success[_i].body, r.error,
	    bad_success[_i].want);
	tok_result_clear(&r);
}
END_TEST

START_TEST(success_error_null)
{
	struct tok_result r;

	ck_assert_int_eq(parse("{\"error\":null,\"access_token\":\"abc\","
	    "\"token_type\":\"Bearer\"}", 200, &r), TOK_OK);
	ck_assert_str_eq(r.token, "abc");
	tok_result_clear(&r);
}
END_TEST

START_TEST(token_type_31)
{
	struct tok_result r;

	ck_assert_int_eq(parse("{\"access_token\":\"abc\",\"token_type\":"
	    "\"0123456789012345678901234567890\"}", 200, &r), TOK_OK);
	ck_assert_str_eq(r.token_type, "0123456789012345678901234567890");
	tok_result_clear(&r);
}
END_TEST

START_TEST(nul_in_body)
{
	struct tok_result r;
	static const char body[] =
	    "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}\0garbage";
	static const char body2[] =
	    "{\"access_token\":\"ab\0c\",\"token_type\":\"Bearer\"}";

	ck_assert_int_eq(tok_parse(body, sizeof(body) - 1, 200, NOW, &LIM, &r),
	    TOK_TRANSIENT);
	assert_clean_error(&r);
	ck_assert_ptr_nonnull(strstr(r.error, "NUL"));
	tok_result_clear(&r);
	ck_assert_int_eq(tok_parse(body2, sizeof(body2) - 1, 200, NOW, &LIM,
	    &r), TOK_TRANSIENT);
	assert_clean_error(&r);
	tok_result_clear(&r);
	ck_assert_int_eq(tok_parse(body, sizeof(body) - 1, 400, NOW, &LIM, &r),
	    TOK_PERMANENT);
	assert_clean_error(&r);
	tok_result_clear(&r);
}
END_TEST

START_TEST(length_is_honoured)
{
	struct tok_result r;
	const char *b = "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}";

	/* not NUL-terminated at len: a prefix is truncated JSON */
	ck_assert_int_eq(tok_parse(b, strlen(b) - 1, 200, NOW, &LIM, &r),
	    TOK_TRANSIENT);
	tok_result_clear(&r);
	ck_assert_int_eq(tok_parse(NULL, 0, 200, NOW, &LIM, &r),
	    TOK_TRANSIENT);
	assert_clean_error(&r);
	tok_result_clear(&r);
	ck_assert_int_eq(tok_parse(NULL, 5, 200, NOW, &LIM, &r),
	    TOK_TRANSIENT);
	tok_result_clear(&r);
}
END_TEST

START_TEST(oversized_bodies)
{
	struct tok_result r;
	size_t n = 2u * 1024 * 1024, big = 9u * 1024 * 1024, i;
	char *b = malloc(big);

	ck_assert_ptr_nonnull(b);
	memset(b, ' ', big);
	ck_assert_int_eq(tok_parse(b, n, 200, NOW, &LIM, &r), TOK_TRANSIENT);
	assert_clean_error(&r);
	tok_result_clear(&r);
	ck_assert_int_eq(tok_parse(b, big, 200, NOW, &LIM, &r), TOK_TRANSIENT);
	assert_clean_error(&r);
	ck_assert_ptr_nonnull(strstr(r.error, "too large"));
	tok_result_clear(&r);

	/* [[[[...: json-c must stop at its depth limit, not recurse */
	memset(b, '[', n);
	ck_assert_int_eq(tok_parse(b, n, 200, NOW, &LIM, &r), TOK_TRANSIENT);
	assert_clean_error(&r);
	tok_result_clear(&r);
	ck_assert_int_eq(tok_parse(b, n, 500, NOW, &LIM, &r), TOK_TRANSIENT);
	tok_result_clear(&r);

	/* {"a":{"a":{...}}} balanced, 100 deep */
	n = 0;
	for (i = 0; i < 100; i++) {
		memcpy(b + n, "{\"a\":", 5);
		n += 5;
	}
	b[n++] = '1';
	for (i = 0; i < 100; i++)
		b[n++] = '}';
	ck_assert_int_eq(tok_parse(b, n, 200, NOW, &LIM, &r), TOK_TRANSIENT);
	assert_clean_error(&r);
	ck_assert_ptr_nonnull(strstr(r.error, "deep"));
	tok_result_clear(&r);

	/* a valid reply with a deeply nested unknown field */
	n = (size_t)snprintf(b, big, "{\"access_token\":\"abc\","
	    "\"token_type\":\"Bearer\",\"x\":");
	for (i = 0; i < 40; i++)
		b[n++] = '[';
	for (i = 0; i < 40; i++)
		b[n++] = ']';
	b[n++] = '}';
	ck_assert_int_eq(tok_parse(b, n, 200, NOW, &LIM, &r), TOK_TRANSIENT);
	tok_result_clear(&r);

	/* a long run of numbers */
	n = 0;
	b[n++] = '[';
	for (i = 0; i < 100000; i++) {
		memcpy(b + n, "99999999999999999999999,", 24);
		n += 24;
	}
	b[n++] = '1';
	b[n++] = ']';
	ck_assert_int_eq(tok_parse(b, n, 200, NOW, &LIM, &r), TOK_TRANSIENT);
	tok_result_clear(&r);
	free(b);
}
END_TEST

/* §5.2 and HTTP status classification */

static const struct {
	long status;
	const char *body;
	enum tok_outcome outcome;
	const char *error;   /* exact error text */
} error_cases[] = {
	{ 400, "{\"error\":\"invalid_client\",\"error_description\":"
	  "\"Client authentication failed\"}", TOK_PERMANENT,
	  "invalid_client: Client authentication failed" },
	{ 401, "{\"error\":\"invalid_client\"}", TOK_PERMANENT,
	  "invalid_client" },
	{ 400, "{\"error\":\"unauthorized_client\"}", TOK_PERMANENT,
	  "unauthorized_client" },
	{ 400, "{\"error\":\"invalid_scope\",\"error_description\":\"no\","
	  "\"error_uri\":\"https://x/\"}", TOK_PERMANENT, "invalid_scope: no" },
	{ 400, "{\"error\":\"invalid_grant\"}", TOK_PERMANENT,
	  "invalid_grant" },
	{ 400, "{\"error\":\"unsupported_grant_type\"}", TOK_PERMANENT,
	  "unsupported_grant_type" },
	{ 400, "{\"error\":\"invalid_request\",\"error_description\":\"\"}",
	  TOK_PERMANENT, "invalid_request" },
	{ 403, "{\"error\":\"access_denied\"}", TOK_PERMANENT,
	  "access_denied" },
	{ 400, "{\"error\":\"made_up_code\"}", TOK_PERMANENT, "made_up_code" },
	{ 400, "{\"error\":\"temporarily_unavailable\"}", TOK_TRANSIENT,
	  "temporarily_unavailable" },
	{ 400, "{\"error\":42}", TOK_PERMANENT,
	  "HTTP 400: error member is not a string" },
	{ 400, "{\"error\":\"\"}", TOK_PERMANENT,
	  "HTTP 400: empty error code" },
	{ 400, "{\"message\":\"nope\"}", TOK_PERMANENT,
	  "HTTP 400 (no error code in body)" },
	{ 400, "", TOK_PERMANENT, "HTTP 400 (body is empty)" },
	{ 404, "<html><body>Not Found</body></html>", TOK_PERMANENT,
	  "HTTP 404 (body is not JSON)" },
	{ 429, "{\"error\":\"slow_down\",\"error_description\":\"too many\"}",
	  TOK_TRANSIENT, "HTTP 429: slow_down: too many" },
	{ 429, "", TOK_TRANSIENT, "HTTP 429 (body is empty)" },
	{ 408, "{}", TOK_TRANSIENT, "HTTP 408" },
	{ 503, "{\"error\":\"invalid_client\"}", TOK_TRANSIENT,
	  "HTTP 503: invalid_client" },
	{ 500, "Internal Server Error", TOK_TRANSIENT,
	  "HTTP 500 (body is not JSON)" },
	{ 502, "<html><head><title>502 Bad Gateway</title></head><body>"
	  "<center><h1>502 Bad Gateway</h1></center></body></html>\r\n",
	  TOK_TRANSIENT, "HTTP 502 (body is not JSON)" },
	{ 599, "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}",
	  TOK_TRANSIENT, "HTTP 599" },
	{ 302, "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}",
	  TOK_PERMANENT, "HTTP 302: redirect not followed" },
	{ 301, "", TOK_PERMANENT, "HTTP 301: redirect not followed" },
	{ 200, "{\"error\":\"invalid_client\",\"error_description\":\"x\"}",
	  TOK_PERMANENT, "HTTP 200: invalid_client: x" },
	{ 200, "{\"error\":\"server_error\"}", TOK_TRANSIENT,
	  "HTTP 200: server_error" },
	{ 200, "{\"error\":\"weird\"}", TOK_TRANSIENT, "HTTP 200: weird" },
	{ 200, "{\"error\":{\"code\":1},\"access_token\":\"abc\","
	  "\"token_type\":\"B\"}", TOK_TRANSIENT,
	  "HTTP 200: error reply that also carries an access_token "
	  "(server text withheld)" },
	{ 200, "{\"error\":{\"code\":1}}", TOK_TRANSIENT,
	  "HTTP 200: error member is not a string" },
	{ 0, "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}",
	  TOK_TRANSIENT, "no HTTP status" },
	{ 100, "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}",
	  TOK_TRANSIENT, "HTTP 100: unexpected status" },
	{ 600, "", TOK_TRANSIENT, "HTTP 600: unexpected status" },
	{ -1, "", TOK_TRANSIENT, "HTTP -1: unexpected status" },
};

/* Where the error code sits in the text (error_code_at, error_code_len),
 * for STATUS's error and error_description; none for our own texts. */
static const struct {
	long status;
	const char *body;
	const char *code;    /* NULL: none marked */
} code_cases[] = {
	{ 400, "{\"error\":\"invalid_client\",\"error_description\":"
	  "\"bad\"}", "invalid_client" },
	{ 401, "{\"error\":\"invalid_client\"}", "invalid_client" },
	{ 429, "{\"error\":\"slow_down\",\"error_description\":\"x\"}",
	  "slow_down" },
	{ 503, "{\"error\":\"temporarily_unavailable\"}",
	  "temporarily_unavailable" },
	{ 200, "{\"error\":\"server_error\"}", "server_error" },
	{ 400, "{\"error\":\"a: b\",\"error_description\":\"c\"}", "a: b" },
	{ 400, "{\"error\":42}", NULL },
	{ 400, "{\"message\":\"nope\"}", NULL },
	{ 503, "", NULL },
	{ 302, "", NULL },
	{ 200, "{\"error\":{\"code\":1},\"access_token\":\"abc\","
	  "\"token_type\":\"B\"}", NULL },
};

START_TEST(error_code_marked)
{
	struct tok_result r;

	(void)parse(code_cases[_i].body, code_cases[_i].status, &r);
	if (code_cases[_i].code == NULL)
		ck_assert_uint_eq(r.error_code_len, 0);
	else {
		ck_assert_uint_eq(r.error_code_len,
		    strlen(code_cases[_i].code));
		ck_assert_int_eq(strncmp(r.error + r.error_code_at,
		    code_cases[_i].code, r.error_code_len), 0);
	}
	tok_result_clear(&r);
}
END_TEST

START_TEST(error_replies)
{
	struct tok_result r;
	enum tok_outcome o;

	o = parse(error_cases[_i].body, error_cases[_i].status, &r);
	ck_assert_msg(o == error_cases[_i].outcome && r.outcome == o,
	    "HTTP %ld %s: outcome %d, want %d (%s)", error_cases[_i].status,
	    error_cases[_i].body, o, error_cases[_i].outcome, r.error);
	assert_clean_error(&r);
	ck_assert_str_eq(r.error, error_cases[_i].error);
	tok_result_clear(&r);
}
END_TEST

START_TEST(error_description_sanitized)
{
	struct tok_result r;
	char *b, *desc;
	size_t i, n = 5000;

	ck_assert_int_eq(parse("{\"error\":\"invalid_client\","
	    "\"error_description\":\"bad\\r\\nFAKE LOG LINE\\u001b[31m\\u0000"
	    "\\u00e9\\t\\u007f end\"}", 401, &r), TOK_PERMANENT);
	assert_clean_error(&r);
	ck_assert_str_eq(r.error, "invalid_client: bad??FAKE LOG LINE?[31m?"
	    "???? end");
	tok_result_clear(&r);

	ck_assert_int_eq(parse("{\"error\":\"inv\\nalid\"}", 400, &r),
	    TOK_PERMANENT);
	assert_clean_error(&r);
	ck_assert_str_eq(r.error, "inv?alid");
	tok_result_clear(&r);

	/* a very long description and code are cut short */
	desc = malloc(n + 1);
	for (i = 0; i < n; i++)
		desc[i] = (char)('a' + i % 26);
	desc[n] = '\0';
	b = malloc(2 * n + 64);
	snprintf(b, 2 * n + 64, "{\"error\":\"%s\",\"error_description\":"
	    "\"%s\"}", desc, desc);
	ck_assert_int_eq(parse(b, 400, &r), TOK_PERMANENT);
	assert_clean_error(&r);
	ck_assert_uint_le(strlen(r.error), SEG_SLOT_ERROR - 1);
	ck_assert_ptr_nonnull(strstr(r.error, "..."));
	tok_result_clear(&r);
	/* Review 6: with "HTTP 503: " in front, the text still fits a
	 * slot whole and ends with "...", not cut by the slot after it. */
	ck_assert_int_eq(parse(b, 503, &r), TOK_TRANSIENT);
	assert_clean_error(&r);
	ck_assert_uint_eq(strlen(r.error), SEG_SLOT_ERROR - 1);
	ck_assert_str_eq(r.error + SEG_SLOT_ERROR - 4, "...");
	ck_assert_int_eq(strncmp(r.error, "HTTP 503: ", 10), 0);
	tok_result_clear(&r);
	free(b);
	free(desc);
}
END_TEST

START_TEST(error_never_contains_token)
{
	static const char *const extras[] = {
		",\"error\":\"invalid_client\",\"error_description\":\""
		    SECRET_TOKEN "\"",
		",\"error\":\"" SECRET_TOKEN "\"",
		",\"token_type\":\"Bearer\"",           /* duplicate: fine */
		",\"expires_in\":\"" SECRET_TOKEN "\"",
		"} trailing " SECRET_TOKEN,
		NULL,
	};
	static const long statuses[] = { 200, 201, 302, 400, 401, 429, 500,
	    0 };
	struct tok_result r;
	char *jwt, *b;
	size_t i, j;

	for (i = 0; extras[i] != NULL; i++) {
		for (j = 0; j < sizeof(statuses) / sizeof(statuses[0]); j++) {
			b = success_body(SECRET_TOKEN, extras[i]);
			if (parse(b, statuses[j], &r) == TOK_OK) {
				ck_assert_str_eq(r.token, SECRET_TOKEN);
				ck_assert_str_eq(r.error, "");
			} else
				assert_clean_error(&r);
			tok_result_clear(&r);
			free(b);
		}
	}

	/* an expired JWT */
	jwt = jwt_with_exp(NOW - 10);
	b = success_body(jwt, "");
	ck_assert_int_eq(parse(b, 200, &r), TOK_TRANSIENT);
	assert_clean_error(&r);
	ck_assert_ptr_null(strstr(r.error, jwt));
	ck_assert_ptr_null(strstr(r.error, strchr(jwt, '.') + 1));
	tok_result_clear(&r);
	free(b);
	free(jwt);

	/* bad bytes in the token */
	b = success_body(SECRET_TOKEN "\\u0001", "");
	ck_assert_int_eq(parse(b, 200, &r), TOK_TRANSIENT);
	assert_clean_error(&r);
	tok_result_clear(&r);
	free(b);

	/* no token_type */
	ck_assert_int_eq(parse("{\"access_token\":\"" SECRET_TOKEN "\"}", 200,
	    &r), TOK_TRANSIENT);
	assert_clean_error(&r);
	tok_result_clear(&r);
}
END_TEST

START_TEST(invalid_limits)
{
	struct tok_limits lim = LIM;
	struct tok_result r;
	const char *b = "{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}";

	ck_assert_int_eq(tok_parse(b, strlen(b), 200, NOW, NULL, &r),
	    TOK_PERMANENT);
	assert_clean_error(&r);
	lim.token_max = 0;
	ck_assert_int_eq(tok_parse(b, strlen(b), 200, NOW, &lim, &r),
	    TOK_PERMANENT);
	lim = LIM;
	lim.default_lifetime = 0;
	ck_assert_int_eq(tok_parse(b, strlen(b), 200, NOW, &lim, &r),
	    TOK_PERMANENT);
	lim = LIM;
	lim.max_lifetime = -1;
	ck_assert_int_eq(tok_parse(b, strlen(b), 200, NOW, &lim, &r),
	    TOK_PERMANENT);
	tok_result_clear(&r);
}
END_TEST

START_TEST(result_clear)
{
	struct tok_result r;

	tok_result_clear(NULL);
	ck_assert_int_eq(parse("{\"access_token\":\"abc\",\"token_type\":"
	    "\"Bearer\"}", 200, &r), TOK_OK);
	tok_result_clear(&r);
	ck_assert_ptr_null(r.token);
	ck_assert_str_eq(r.token_type, "");
	tok_result_clear(&r);   /* twice is fine */
}
END_TEST

/* Random input: never a crash, and TOK_OK only with sane fields. */
START_TEST(random_bodies)
{
	static const long statuses[] = { 200, 201, 400, 401, 429, 500, 0,
	    302 };
	const char *seed = "{\"access_token\":\"abc.def\",\"token_type\":"
	    "\"Bearer\",\"expires_in\":\"3600\",\"error\":null,\"x\":[1,{}]}";
	static const char alphabet[] = "{}[]\":,0123456789.-eE \\u\"atrfn";
	unsigned char buf[256];
	struct tok_result r;
	size_t len, i, k, seedlen = strlen(seed);
	unsigned int s = 12345;

	for (i = 0; i < 20000; i++) {
		s = s * 1103515245u + 12345u;
		if (i % 2 == 0) {
			/* mutate a valid-looking reply */
			memcpy(buf, seed, seedlen);
			len = seedlen;
			for (k = 0; k < 1 + (s >> 16) % 4; k++) {
				s = s * 1103515245u + 12345u;
				buf[(s >> 8) % len] = (i % 4 == 0) ?
				    (unsigned char)(s >> 20) :
				    (unsigned char)alphabet[(s >> 20) %
				    (sizeof(alphabet) - 1)];
			}
			s = s * 1103515245u + 12345u;
			len -= (s >> 16) % 8;
		} else {
			len = (s >> 16) % sizeof(buf);
			for (k = 0; k < len; k++) {
				s = s * 1103515245u + 12345u;
				buf[k] = (unsigned char)alphabet[(s >> 16) %
				    (sizeof(alphabet) - 1)];
			}
		}
		if (tok_parse((const char *)buf, len, statuses[i % 8], NOW,
		    &LIM, &r) == TOK_OK) {
			ck_assert_ptr_nonnull(r.token);
			ck_assert_uint_eq(strlen(r.token), r.token_len);
			ck_assert_int_gt(r.lifetime, 0);
			ck_assert_int_le(r.lifetime, LIM.max_lifetime);
			ck_assert_uint_gt(strlen(r.token_type), 0);
		} else {
			ck_assert_ptr_null(r.token);
			ck_assert_uint_gt(strlen(r.error), 0);
		}
		tok_result_clear(&r);
	}
}
END_TEST

/* Form encoding */

static void
assert_form(const char *in, size_t len, const char *want)
{
	char *got = tok_form_encode(in, len);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	sodium_free(got);
}

START_TEST(form_encode)
{
	assert_form("", 0, "");
	assert_form("abcXYZ019", 9, "abcXYZ019");
	assert_form("-._*", 4, "-._*");
	assert_form("a b", 3, "a+b");
	assert_form("+", 1, "%2B");
	assert_form(":", 1, "%3A");
	assert_form("%", 1, "%25");
	assert_form("~", 1, "%7E");
	assert_form("a=b&c", 5, "a%3Db%26c");
	assert_form("/?#[]@!$'()", 11, "%2F%3F%23%5B%5D%40%21%24%27%28%29");
	assert_form("\xc3\xa9\xff\x80", 4, "%C3%A9%FF%80");
	assert_form("a\0b", 3, "a%00b");
	assert_form("\r\n\t\x7f", 4, "%0D%0A%09%7F");
	assert_form("https://api.example/x y", 23,
	    "https%3A%2F%2Fapi.example%2Fx+y");
	/* RFC 6749 Appendix B: client_id " %&+£€" */
	assert_form(" %&+\xc2\xa3\xe2\x82\xac", 9,
	    "+%25%26%2B%C2%A3%E2%82%AC");
	ck_assert_ptr_null(tok_form_encode(NULL, 1));
}
END_TEST

START_TEST(form_encode_all_bytes)
{
	char in[256], want[256 * 3 + 1], *p = want, *got;
	int c;

	for (c = 0; c < 256; c++) {
		in[c] = (char)c;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '*')
			*p++ = (char)c;
		else if (c == ' ')
			*p++ = '+';
		else
			p += sprintf(p, "%%%02X", c);
	}
	*p = '\0';
	got = tok_form_encode(in, sizeof(in));
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	sodium_free(got);
}
END_TEST

static Suite *
parse_suite(void)
{
	Suite *s = suite_create("token_parse");
	TCase *tc;

	tc = tcase_create("success");
	tcase_add_test(tc, success_basic);
	tcase_add_test(tc, success_scope_not_kept);
	tcase_add_test(tc, success_token_type_as_sent);
	tcase_add_test(tc, success_whitespace_around);
	tcase_add_test(tc, success_other_2xx);
	tcase_add_loop_test(tc, expires_in_forms, 0,
	    sizeof(expires_cases) / sizeof(expires_cases[0]));
	tcase_add_test(tc, max_lifetime_caps_default);
	tcase_add_test(tc, token_type_31);
	tcase_add_test(tc, success_error_null);
	tcase_add_test(tc, result_clear);
	suite_add_tcase(s, tc);

	tc = tcase_create("jwt");
	tcase_add_test(tc, jwt_exp_cuts_expires_in);
	tcase_add_test(tc, jwt_exp_later_than_expires_in);
	tcase_add_test(tc, jwt_exp_without_expires_in);
	tcase_add_test(tc, jwt_exp_in_past);
	tcase_add_test(tc, jwt_without_exp);
	tcase_add_test(tc, jwt_exp_values);
	tcase_add_test(tc, jwt_malformed);
	tcase_add_test(tc, jwt_padded_payload);
	tcase_add_test(tc, jwt_payload_nul_and_depth);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, token_bad_bytes);
	tcase_add_test(tc, token_size_limit);
	tcase_add_loop_test(tc, malformed_success, 0,
	    sizeof(bad_success) / sizeof(bad_success[0]));
	tcase_add_test(tc, nul_in_body);
	tcase_add_test(tc, length_is_honoured);
	tcase_add_test(tc, oversized_bodies);
	tcase_add_test(tc, invalid_limits);
	tcase_add_test(tc, random_bodies);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, error_replies, 0,
	    sizeof(error_cases) / sizeof(error_cases[0]));
	tcase_add_loop_test(tc, error_code_marked, 0,
	    sizeof(code_cases) / sizeof(code_cases[0]));
	tcase_add_test(tc, error_description_sanitized);
	tcase_add_test(tc, error_never_contains_token);
	suite_add_tcase(s, tc);

	tc = tcase_create("form");
	tcase_add_test(tc, form_encode);
	tcase_add_test(tc, form_encode_all_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	return tu_run(parse_suite());
}
