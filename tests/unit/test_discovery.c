/*
 * test_discovery.c - OpenID Connect Discovery documents
 * (provider/discovery.c): the token endpoint is taken only from a JSON
 * object that names the configured issuer exactly and whose endpoint a
 * token_url could be.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "testutil.h"

#define ISS "https://idp.example.com/realms/x"

static const struct {
	const char *doc;
	const char *endpoint;    /* NULL: refused */
	int permanent;
	const char *why;
} cases[] = {
	{ "{\"issuer\":\"" ISS "\",\"token_endpoint\":\"" ISS
	  "/protocol/openid-connect/token\"}",
	  ISS "/protocol/openid-connect/token", 0, NULL },
	/* other members ignored, blanks after the object allowed */
	{ " {\"jwks_uri\":\"x\",\"issuer\":\"" ISS "\",\"token_endpoint\":"
	  "\"https://t.example.com:8443/t\",\"n\":[1,{}]}\r\n",
	  "https://t.example.com:8443/t", 0, NULL },
	/* §4.3: exact, not "equivalent" */
	{ "{\"issuer\":\"" ISS "/\",\"token_endpoint\":\"https://t/\"}",
	  NULL, 1, "issuer is not the configured one" },
	{ "{\"issuer\":\"HTTPS://idp.example.com/realms/x\","
	  "\"token_endpoint\":\"https://t/\"}",
	  NULL, 1, "issuer is not the configured one" },
	{ "{\"token_endpoint\":\"https://t/\"}",
	  NULL, 1, "issuer is not the configured one" },
	{ "{\"issuer\":[\"" ISS "\"],\"token_endpoint\":\"https://t/\"}",
	  NULL, 1, "issuer is not the configured one" },
	/* a NUL inside the issuer string is no match */
	{ "{\"issuer\":\"" ISS "\\u0000x\",\"token_endpoint\":\"https://t/\"}",
	  NULL, 1, "issuer is not the configured one" },
	{ "{\"issuer\":\"" ISS "\"}", NULL, 1, "no token_endpoint" },
	{ "{\"issuer\":\"" ISS "\",\"token_endpoint\":7}", NULL, 1,
	  "no token_endpoint" },
	/* the rules of a token_url */
	{ "{\"issuer\":\"" ISS "\",\"token_endpoint\":\"http://t.example/\"}",
	  NULL, 1, "must use https://" },
	{ "{\"issuer\":\"" ISS "\",\"token_endpoint\":\"https://u@t/\"}",
	  NULL, 1, "user information" },
	{ "{\"issuer\":\"" ISS "\",\"token_endpoint\":\"ftp://t/\"}",
	  NULL, 1, "must start with https://" },
	{ "{\"issuer\":\"" ISS "\",\"token_endpoint\":\"https://t/a b\"}",
	  NULL, 1, "contains a space" },
	/* garbage: transient */
	{ "", NULL, 0, "not a JSON object" },
	{ "[]", NULL, 0, "not a JSON object" },
	{ "{\"issuer\":\"" ISS "\"", NULL, 0, "not a JSON object" },
	{ "{} {}", NULL, 0, "not a JSON object" },
	{ "<html>", NULL, 0, "not a JSON object" },
};

START_TEST(discovery_cases)
{
	const char *why = "untouched";
	char *ep = (char *)"untouched";
	int permanent = -1, r;

	r = discovery_parse(cases[_i].doc, strlen(cases[_i].doc), ISS, &ep,
	    &why, &permanent);
	if (cases[_i].endpoint != NULL) {
		ck_assert_msg(r == 0, "%d: refused: %s", _i, why);
		ck_assert_str_eq(ep, cases[_i].endpoint);
		ck_assert_ptr_null(why);
		free(ep);
		return;
	}
	ck_assert_int_eq(r, -1);
	ck_assert_str_eq(ep, "untouched");
	ck_assert_msg(strstr(why, cases[_i].why) != NULL, "%d: '%s' lacks "
	    "'%s'", _i, why, cases[_i].why);
	ck_assert_int_eq(permanent, cases[_i].permanent);
}
END_TEST

/* A token_endpoint longer than DISCOVERY_URL_MAX is refused. */
START_TEST(discovery_long_endpoint)
{
	size_t n = DISCOVERY_URL_MAX + 100;
	char *doc = malloc(n + 100), *ep = NULL;
	const char *why;
	int permanent;

	ck_assert_ptr_nonnull(doc);
	strcpy(doc, "{\"issuer\":\"" ISS "\",\"token_endpoint\":\"https://t/");
	memset(doc + strlen(doc), 'a', DISCOVERY_URL_MAX);
	strcpy(doc + strlen("{\"issuer\":\"" ISS "\",\"token_endpoint\":"
	    "\"https://t/") + DISCOVERY_URL_MAX, "\"}");
	ck_assert_int_eq(discovery_parse(doc, strlen(doc), ISS, &ep, &why,
	    &permanent), -1);
	ck_assert_ptr_null(ep);
	ck_assert_str_eq(why, "its token_endpoint is too long");
	free(doc);
}
END_TEST

static Suite *
discovery_suite(void)
{
	Suite *s = suite_create("discovery");
	TCase *tc = tcase_create("document");

	tcase_add_loop_test(tc, discovery_cases, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, discovery_long_endpoint);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(discovery_suite());
}
