/*
 * test_ctl_jwt.c - the claim decoder of `tokencachectl show`
 * (tools/ctl_jwt.c): base64url by RFC 4648 §5 and its test vectors, JWS
 * compact form (RFC 7515 §7.1), the registered claims of RFC 7519 §4.1,
 * and inputs that are not JWTs, each told apart without a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "../../tools/ctl_jwt.h"

/* base64url of s, no padding, into a malloc'd string. */
static char *
b64url(const char *s, size_t n)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n / 3 * 4 + 5), *p = out;
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	ck_assert_ptr_nonnull(out);
	for (i = 0; i + 2 < n; i += 3) {
		*p++ = al[u[i] >> 2];
		*p++ = al[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
		*p++ = al[((u[i + 1] & 15) << 2) | (u[i + 2] >> 6)];
		*p++ = al[u[i + 2] & 63];
	}
	if (n - i == 1) {
		*p++ = al[u[i] >> 2];
		*p++ = al[(u[i] & 3) << 4];
	} else if (n - i == 2) {
		*p++ = al[u[i] >> 2];
		*p++ = al[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
		*p++ = al[(u[i + 1] & 15) << 2];
	}
	*p = '\0';
	return out;
}

/* header.payload.signature from the JSON texts. */
static char *
jws(const char *header, const char *payload, const char *sig)
{
	char *h = b64url(header, strlen(header));
	char *p = b64url(payload, strlen(payload));
	size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
	char *t = malloc(n);

	ck_assert_ptr_nonnull(t);
	snprintf(t, n, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return t;
}

static int
decode(const char *tok, struct ctl_jwt_claims *c)
{
	return ctl_jwt_claims(tok, strlen(tok), c);
}

#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define SIG   "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

START_TEST(test_base64url_vectors)
{
	/* RFC 4648 §10, without the padding JWS leaves out. */
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "Zg", "f" }, { "Zm8", "fo" }, { "Zm9v", "foo" },
		{ "Zm9vYg", "foob" }, { "Zm9vYmE", "fooba" },
		{ "Zm9vYmFy", "foobar" },
		/* the two characters that differ from base64 */
		{ "-_8", "\xfb\xff" },
	};
	unsigned char buf[16];
	size_t i;
	long n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = ctl_base64url_decode(v[i].in, strlen(v[i].in), buf,
		    sizeof(buf));
		ck_assert_int_eq(n, (long)strlen(v[i].out));
		ck_assert_mem_eq(buf, v[i].out, (size_t)n);
	}
}
END_TEST

START_TEST(test_base64url_rejects)
{
	unsigned char buf[16];

	/* Not the alphabet: base64's + and /, '=' but at the end, spaces,
	 * NUL. */
	ck_assert_int_eq(ctl_base64url_decode("Zm+v", 4, buf, sizeof(buf)), -1);
	ck_assert_int_eq(ctl_base64url_decode("Zm/v", 4, buf, sizeof(buf)), -1);
	ck_assert_int_eq(ctl_base64url_decode("Z=g=", 4, buf, sizeof(buf)), -1);
	ck_assert_int_eq(ctl_base64url_decode("Zm 9", 4, buf, sizeof(buf)), -1);
	ck_assert_int_eq(ctl_base64url_decode("Zm\0v", 4, buf, sizeof(buf)), -1);
	/* 4n+1 characters */
	ck_assert_int_eq(ctl_base64url_decode("Zm9vY", 5, buf, sizeof(buf)), -1);
	/* bits left over that a canonical encoder zeroes */
	ck_assert_int_eq(ctl_base64url_decode("Zh", 2, buf, sizeof(buf)), -1);
	ck_assert_int_eq(ctl_base64url_decode("Zm9", 3, buf, sizeof(buf)), -1);
	/* room: exactly enough, one byte short */
	ck_assert_int_eq(ctl_base64url_decode("Zm9vYmFy", 8, buf, 6), 6);
	ck_assert_int_eq(ctl_base64url_decode("Zm9vYmFy", 8, buf, 5), -1);
	ck_assert_int_eq(ctl_base64url_decode("Zm9vYg", 6, buf, 3), -1);
}
END_TEST

/* '=' padding, which RFC 7515 §2 leaves out but some issuers send and
 * the daemon's tok_jwt_exp accepts: taken when it completes a group of
 * 4, refused otherwise. */
START_TEST(test_base64url_padding)
{
	static const struct { const char *in, *out; } v[] = {
		{ "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9vYg==", "foob" },
		{ "Zm9vYmE=", "fooba" },
	};
	static const char *const bad[] = {
		"Zg=", "Zg===", "Zm8==", "Zm9v=", "Zm9v==", "Z===", "=", "==",
		"====", "Zh==", "Zm9=",
	};
	unsigned char buf[16];
	size_t i;
	long n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = ctl_base64url_decode(v[i].in, strlen(v[i].in), buf,
		    sizeof(buf));
		ck_assert_int_eq(n, (long)strlen(v[i].out));
		ck_assert_mem_eq(buf, v[i].out, (size_t)n);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ctl_base64url_decode(bad[i], strlen(bad[i]), buf,
		    sizeof(buf)) == -1, "%s decoded", bad[i]);
	/* Room: the padding takes none. */
	ck_assert_int_eq(ctl_base64url_decode("Zg==", 4, buf, 1), 1);
}
END_TEST

/* base64url of s with its '=' padding. */
static char *
b64url_padded(const char *s)
{
	char *u = b64url(s, strlen(s));
	size_t n = strlen(u);
	char *p = malloc(n + 3);

	ck_assert_ptr_nonnull(p);
	snprintf(p, n + 3, "%s%s", u, n % 4 == 2 ? "==" : n % 4 == 3 ? "=" : "");
	free(u);
	return p;
}

/* A JWT whose header and payload are padded shows its claims, as the
 * daemon reads its exp. */
START_TEST(test_claims_padded)
{
	struct ctl_jwt_claims c;
	/* Lengths that need two and one '=' of padding. */
	char *h = b64url_padded("{\"alg\":\"RS256\" }");
	char *p = b64url_padded("{\"sub\":\"svc12\",\"exp\":1765133600}");
	char t[512];

	ck_assert_ptr_nonnull(strstr(h, "=="));
	ck_assert(strchr(p, '=') != NULL && strstr(p, "==") == NULL);
	snprintf(t, sizeof(t), "%s.%s.%s", h, p, SIG);
	ck_assert_int_eq(decode(t, &c), CTL_JWT_OK);
	ck_assert_str_eq(c.alg, "RS256");
	ck_assert_str_eq(c.sub, "svc12");
	ck_assert(c.have_exp && c.exp == 1765133600);
	ck_assert_str_eq(c.exp_not_integer, "");
	free(h);
	free(p);
}
END_TEST

/* An exp with a fraction: shown (cut to the second), and said to be not
 * an integer, which the daemon ignores; an integer one is not. */
START_TEST(test_claims_exp_not_integer)
{
	struct ctl_jwt_claims c;
	char *t = jws(HS256, "{\"iat\":1765130000.25,\"exp\":1765133600.5}",
	    SIG);

	ck_assert_int_eq(decode(t, &c), CTL_JWT_OK);
	ck_assert(c.have_exp && c.exp == 1765133600);
	ck_assert_str_eq(c.exp_not_integer, "1765133600.5");
	ck_assert(c.have_iat && c.iat == 1765130000);
	free(t);
	t = jws(HS256, "{\"exp\":1765133600}", SIG);
	ck_assert_int_eq(decode(t, &c), CTL_JWT_OK);
	ck_assert_str_eq(c.exp_not_integer, "");
	free(t);
}
END_TEST

START_TEST(test_claims)
{
	struct ctl_jwt_claims c;
	char *t = jws(HS256, "{\"iss\":\"https://idp.example.com\","
	    "\"sub\":\"svc-zeebe\",\"aud\":\"zeebe-api\",\"scope\":\"read write\","
	    "\"iat\":1765130000,\"exp\":1765133600,\"azp\":\"zeebe-client\","
	    "\"jti\":\"abc\"}", SIG);

	ck_assert_int_eq(decode(t, &c), CTL_JWT_OK);
	ck_assert_str_eq(c.alg, "HS256");
	ck_assert_str_eq(c.iss, "https://idp.example.com");
	ck_assert_str_eq(c.sub, "svc-zeebe");
	ck_assert_str_eq(c.aud, "zeebe-api");
	ck_assert_str_eq(c.scope, "read write");
	ck_assert_str_eq(c.azp, "zeebe-client");
	ck_assert(c.have_iat && c.iat == 1765130000);
	ck_assert(c.have_exp && c.exp == 1765133600);
	/* Nothing of the signature is kept anywhere in the result. */
	ck_assert_ptr_null(memmem(&c, sizeof(c), SIG, 8));
	free(t);
}
END_TEST

START_TEST(test_claims_lists_and_absent)
{
	struct ctl_jwt_claims c;
	char *t;

	/* aud as a list (RFC 7519 §4.1.3), scp as a list, no iss, exp with
	 * a fraction (a NumericDate may have one), iat not a number. */
	t = jws("{\"alg\":\"RS256\"}", "{\"aud\":[\"a\",\"b\",7,\"c\"],"
	    "\"scp\":[\"x\",\"y\"],\"exp\":1765133600.75,\"iat\":\"soon\"}",
	    "sig");
	ck_assert_int_eq(decode(t, &c), CTL_JWT_OK);
	ck_assert_str_eq(c.aud, "a, b, c");
	ck_assert_str_eq(c.scope, "x y");
	ck_assert_str_eq(c.iss, "");
	ck_assert_str_eq(c.sub, "");
	ck_assert(c.have_exp && c.exp == 1765133600);
	ck_assert(!c.have_iat);
	free(t);
	/* Times out of range are left out. */
	t = jws(HS256, "{\"exp\":-5,\"iat\":1e300}", "s");
	ck_assert_int_eq(decode(t, &c), CTL_JWT_OK);
	ck_assert(!c.have_exp && !c.have_iat);
	free(t);
	t = jws(HS256, "{\"exp\":99999999999999999999999}", "s");
	ck_assert_int_eq(decode(t, &c), CTL_JWT_OK);
	ck_assert(!c.have_exp);
	free(t);
	/* An unsecured JWS has an empty signature (RFC 7519 §6.1). */
	t = jws("{\"alg\":\"none\"}", "{\"sub\":\"u\"}", "");
	ck_assert_int_eq(decode(t, &c), CTL_JWT_OK);
	ck_assert_str_eq(c.sub, "u");
	ck_assert_str_eq(c.alg, "none");
	free(t);
}
END_TEST

START_TEST(test_claims_made_printable_and_bounded)
{
	struct ctl_jwt_claims c;
	char payload[2048], *t;
	size_t n;

	/* A terminal escape and UTF-8 in a claim: '?' each byte. */
	t = jws(HS256, "{\"sub\":\"a\\u001b[31mb\",\"iss\":\"caf\xc3\xa9\"}",
	    "s");
	ck_assert_int_eq(decode(t, &c), CTL_JWT_OK);
	ck_assert_str_eq(c.sub, "a?[31mb");
	ck_assert_str_eq(c.iss, "caf??");
	free(t);
	/* A claim longer than its field is cut, and says so. */
	n = (size_t)snprintf(payload, sizeof(payload), "{\"iss\":\"");
	memset(payload + n, 'i', 600);
	snprintf(payload + n + 600, sizeof(payload) - n - 600, "\"}");
	t = jws(HS256, payload, "s");
	ck_assert_int_eq(decode(t, &c), CTL_JWT_OK);
	ck_assert_uint_eq(strlen(c.iss), CTL_JWT_TEXT - 1);
	ck_assert_str_eq(c.iss + CTL_JWT_TEXT - 4, "...");
	free(t);
}
END_TEST

START_TEST(test_not_jwts)
{
	struct ctl_jwt_claims c;
	char *t;
	static const char *const opaque[] = {
		"",
		"2YotnFZFEjr1zCsicMWpAA",            /* RFC 6749 §4.1.4 */
		"a.b",
		"a.b.c.d",
		"..",
		".e30.",
		"e30..",
		"e30.e30.x.y.z.w",
		"@@@.e30.x",
	};
	size_t i;

	for (i = 0; i < sizeof(opaque) / sizeof(opaque[0]); i++)
		ck_assert_msg(decode(opaque[i], &c) == CTL_JWT_NOT, "%s",
		    opaque[i]);
	/* Five parts: a JWE, sealed. */
	ck_assert_int_eq(decode("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", &c),
	    CTL_JWT_ENCRYPTED);
	/* Parts that decode, but not to what a JWS holds. */
	t = jws("{\"typ\":\"JWT\"}", "{\"sub\":\"u\"}", "s");	/* no alg */
	ck_assert_int_eq(decode(t, &c), CTL_JWT_NOT);
	free(t);
	t = jws(HS256, "[1,2]", "s");			/* not an object */
	ck_assert_int_eq(decode(t, &c), CTL_JWT_NOT);
	free(t);
	t = jws(HS256, "{\"sub\":\"u\"} x", "s");	/* trailing bytes */
	ck_assert_int_eq(decode(t, &c), CTL_JWT_NOT);
	free(t);
	t = jws(HS256, "{\"sub\":\"u\"", "s");	/* truncated */
	ck_assert_int_eq(decode(t, &c), CTL_JWT_NOT);
	free(t);
	t = jws(HS256, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "s");
	ck_assert_int_eq(decode(t, &c), CTL_JWT_NOT);
	free(t);
	t = jws("{\"alg\":\"HS256\"}", "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{"
	    "\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":"
	    "{\"o\":{\"p\":{\"q\":1}}}}}}}}}}}}}}}}}}", "s");	/* too deep */
	ck_assert_int_eq(decode(t, &c), CTL_JWT_NOT);
	free(t);
	/* A NUL inside the decoded payload: json-c would stop there. */
	{
		static const char raw[] = "{\"sub\":\"u\"}\0\0";
		char *p = b64url(raw, sizeof(raw) - 1);
		char *h = b64url(HS256, strlen(HS256));
		size_t n = strlen(p) + strlen(h) + 4;

		ck_assert_ptr_nonnull(t = malloc(n));
		snprintf(t, n, "%s.%s.s", h, p);
		ck_assert_int_eq(decode(t, &c), CTL_JWT_NOT);
		free(t);
		free(p);
		free(h);
	}
	/* Only len bytes are read: a JWT cut short in the middle. */
	t = jws(HS256, "{\"sub\":\"u\"}", "s");
	ck_assert_int_eq(ctl_jwt_claims(t, strlen(t) - 3, &c), CTL_JWT_NOT);
	ck_assert_int_eq(ctl_jwt_claims(t, 0, &c), CTL_JWT_NOT);
	free(t);
}
END_TEST

/* Every prefix and every single-byte change of a good JWT: a verdict,
 * never a crash (valgrind and ASan runs see the reads). */
START_TEST(test_any_bytes)
{
	struct ctl_jwt_claims c;
	char *t = jws(HS256, "{\"iss\":\"i\",\"aud\":[\"a\"],\"exp\":1}", SIG);
	size_t n = strlen(t), i;
	int r;
	char *copy = malloc(n);

	ck_assert_ptr_nonnull(copy);
	for (i = 0; i <= n; i++) {
		/* An exact-size copy, so that a read past len is caught. */
		memcpy(copy, t, i);
		r = ctl_jwt_claims(copy, i, &c);
		ck_assert(r == CTL_JWT_OK || r == CTL_JWT_NOT);
	}
	for (i = 0; i < n; i++) {
		memcpy(copy, t, n);
		copy[i] ^= 0x21;
		r = ctl_jwt_claims(copy, n, &c);
		ck_assert(r == CTL_JWT_OK || r == CTL_JWT_NOT ||
		    r == CTL_JWT_ENCRYPTED);
	}
	free(copy);
	free(t);
}
END_TEST

static Suite *
jwt_claims_suite(void)
{
	Suite *s = suite_create("ctl_jwt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_base64url_vectors);
	tcase_add_test(tc, test_base64url_rejects);
	tcase_add_test(tc, test_base64url_padding);
	tcase_add_test(tc, test_claims);
	tcase_add_test(tc, test_claims_padded);
	tcase_add_test(tc, test_claims_exp_not_integer);
	tcase_add_test(tc, test_claims_lists_and_absent);
	tcase_add_test(tc, test_claims_made_printable_and_bounded);
	tcase_add_test(tc, test_not_jwts);
	tcase_add_test(tc, test_any_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(jwt_claims_suite());
}
