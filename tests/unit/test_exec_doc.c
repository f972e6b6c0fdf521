/*
 * test_exec_doc.c - the exec module's document parser
 * (provider/modules/exec_doc.c): tokens, error documents, versions, and
 * every way a program's output can be wrong, without spawning anything.
 */
#include <stdint.h>

#include "testutil.h"
#include "modules/exec_doc.h"

#define NOW		1700000000LL
#define TOKEN_MAX	4096

static enum exec_doc_kind
parse(const char *s, struct exec_doc *doc)
{
	return exec_doc_parse(s, strlen(s), NOW, TOKEN_MAX, doc);
}

START_TEST(token_minimal)
{
	struct exec_doc d;

	ck_assert_int_eq(parse("{\"version\": 1, \"access_token\": \"abc\"}",
	    &d), EXEC_DOC_TOKEN);
	ck_assert_str_eq(d.token, "abc");
	ck_assert_uint_eq(d.token_len, 3);
	ck_assert_str_eq(d.token_type, "");
	ck_assert_int_eq(d.expires_in, 0);
	exec_doc_clear(&d);
	ck_assert_ptr_null(d.token);
	exec_doc_clear(&d);	/* idempotent */
	exec_doc_clear(NULL);
}
END_TEST

START_TEST(token_full)
{
	struct exec_doc d;

	ck_assert_int_eq(parse(" \r\n\t{\"access_token\":\"eyJ.a-b_c~+/=\","
	    "\"token_type\":\"Bearer\",\"expires_in\":3600,\"version\":1,"
	    "\"extra\":{\"nested\":[1,2.5e3,true,false,null,\"x\"]}}\n", &d),
	    EXEC_DOC_TOKEN);
	ck_assert_str_eq(d.token, "eyJ.a-b_c~+/=");
	ck_assert_str_eq(d.token_type, "Bearer");
	ck_assert_int_eq(d.expires_in, 3600);
	exec_doc_clear(&d);
}
END_TEST

START_TEST(token_escapes)
{
	struct exec_doc d;

	/* \/ and \u escapes of ASCII decode; a key may be escaped too. */
	ck_assert_int_eq(parse("{\"\\u0076ersion\": 1, \"access_token\": "
	    "\"a\\/b\\u0041\\\"\"}", &d), EXEC_DOC_TOKEN);
	ck_assert_str_eq(d.token, "a/bA\"");
	exec_doc_clear(&d);
}
END_TEST

START_TEST(expires_at)
{
	struct exec_doc d;
	char buf[128];

	snprintf(buf, sizeof(buf), "{\"version\":1,\"access_token\":\"t\","
	    "\"expires_at\":%lld}", NOW + 900);
	ck_assert_int_eq(parse(buf, &d), EXEC_DOC_TOKEN);
	ck_assert_int_eq(d.expires_in, 900);
	exec_doc_clear(&d);

	snprintf(buf, sizeof(buf), "{\"version\":1,\"access_token\":\"t\","
	    "\"expires_at\":%lld}", NOW);
	ck_assert_int_eq(parse(buf, &d), EXEC_DOC_BAD);
	ck_assert_int_eq(d.permanent, 0);
	ck_assert_ptr_nonnull(strstr(d.message, "expired"));

	/* Far ahead: capped, not wrapped. */
	ck_assert_int_eq(parse("{\"version\":1,\"access_token\":\"t\","
	    "\"expires_at\":9223372036854775807}", &d), EXEC_DOC_TOKEN);
	ck_assert_int_eq(d.expires_in, INT32_MAX);
	exec_doc_clear(&d);
}
END_TEST

START_TEST(error_document)
{
	struct exec_doc d;

	ck_assert_int_eq(parse("{\"version\":1,\"error\":\"account locked\","
	    "\"permanent\":true}", &d), EXEC_DOC_ERROR);
	ck_assert_int_eq(d.permanent, 1);
	ck_assert_str_eq(d.message, "account locked");
	ck_assert_ptr_null(d.token);

	ck_assert_int_eq(parse("{\"version\":1,\"error\":\"try later\"}", &d),
	    EXEC_DOC_ERROR);
	ck_assert_int_eq(d.permanent, 0);

	/* Control bytes, escapes and non-ASCII are masked; one line. */
	ck_assert_int_eq(parse("{\"version\":1,\"error\":\"a\\u001b[31mb"
	    "\\u00e9\xc3\xa9\\ud83d\\ude00c\\tz\\nsecond line\"}", &d),
	    EXEC_DOC_ERROR);
	ck_assert_str_eq(d.message, "a?[31mb???c?z");

	ck_assert_int_eq(parse("{\"version\":1,\"error\":\"\"}", &d),
	    EXEC_DOC_ERROR);
	ck_assert_str_eq(d.message, "(no text)");
}
END_TEST

START_TEST(error_text_cut)
{
	struct exec_doc d;
	char buf[2048];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "{\"version\":1,\"error\":\"");
	memset(buf + n, 'x', 1000);
	snprintf(buf + n + 1000, sizeof(buf) - n - 1000, "\"}");
	ck_assert_int_eq(parse(buf, &d), EXEC_DOC_ERROR);
	ck_assert_uint_le(strlen(d.message), 200);
	ck_assert_ptr_nonnull(strstr(d.message, "..."));
}
END_TEST

START_TEST(versions)
{
	struct exec_doc d;

	ck_assert_int_eq(parse("{\"version\":2,\"access_token\":\"t\"}", &d),
	    EXEC_DOC_BAD);
	ck_assert_int_eq(d.permanent, 1);
	ck_assert_str_eq(d.message, "document version 2 is not known "
	    "(known: 1)");
	ck_assert_ptr_null(d.token);

	ck_assert_int_eq(parse("{\"version\":0}", &d), EXEC_DOC_BAD);
	ck_assert_int_eq(d.permanent, 1);

	/* Not a version at all: a broken program, not a newer one. */
	ck_assert_int_eq(parse("{\"access_token\":\"t\"}", &d), EXEC_DOC_BAD);
	ck_assert_int_eq(d.permanent, 0);
	ck_assert_str_eq(d.message, "the document has no \"version\"");
	ck_assert_int_eq(parse("{\"version\":\"1\",\"access_token\":\"t\"}",
	    &d), EXEC_DOC_BAD);
	ck_assert_int_eq(d.permanent, 0);
	ck_assert_int_eq(parse("{\"version\":1.0,\"access_token\":\"t\"}",
	    &d), EXEC_DOC_BAD);
	ck_assert_int_eq(d.permanent, 0);
	ck_assert_int_eq(parse("{\"version\":99999999999999999999}", &d),
	    EXEC_DOC_BAD);
	ck_assert_int_eq(d.permanent, 0);
}
END_TEST

/* Documents that are wrong, transiently, and a word of the message. */
static const struct {
	const char *doc;
	const char *says;
} bad_cases[] = {
	{ "", "empty" },
	{ " \n\t ", "empty" },
	{ "garbage", "not a JSON document" },
	{ "\xef\xbb\xbf{\"version\":1}", "not a JSON document" },
	{ "[1]", "not a JSON object" },
	{ "\"token\"", "not a JSON object" },
	{ "42", "not a JSON object" },
	{ "{", "cut short" },
	{ "{\"version\":1,\"access_token\":\"t", "not closed" },
	{ "{\"version\":1,", "cut short" },
	{ "{\"version\":1,}", "not a string" },
	{ "{\"version\" 1}", "':'" },
	{ "{'version':1}", "not a string" },
	{ "{\"version\":01}", "unexpected" },
	{ "{\"version\":-}", "bad number" },
	{ "{\"version\":1.}", "bad number" },
	{ "{\"version\":1e}", "bad number" },
	{ "{\"version\":tru}", "unexpected" },
	{ "{\"version\":1,\"x\":\"\\x\"}", "bad escape" },
	{ "{\"version\":1,\"x\":\"\\u12G4\"}", "\\u escape" },
	{ "{\"version\":1,\"x\":\"a\nb\"}", "control character" },
	{ "{\"version\":1,\"x\":\"\xc3\"}", "UTF-8" },
	{ "{\"version\":1,\"x\":\"\xc0\xaf\"}", "UTF-8" },
	{ "{\"version\":1,\"x\":\"\xed\xa0\x80\"}", "UTF-8" },
	{ "{\"version\":1,\"x\":\"\xf4\x90\x80\x80\"}", "UTF-8" },
	{ "{\"version\":1,\"x\":\"\xff\"}", "UTF-8" },
	{ "{\"version\":1} {}", "data after" },
	{ "{\"version\":1}x", "data after" },
	{ "{\"version\":1,\"version\":1,\"access_token\":\"t\"}", "twice" },
	{ "{\"version\":1,\"access_token\":\"a\",\"access_token\":\"b\"}",
	    "twice" },
	{ "{\"version\":1}", "neither" },
	{ "{\"version\":1,\"access_token\":7}", "not a string" },
	{ "{\"version\":1,\"access_token\":null}", "not a string" },
	{ "{\"version\":1,\"access_token\":\"\"}", "empty" },
	{ "{\"version\":1,\"access_token\":\"a b\"}", "printable" },
	{ "{\"version\":1,\"access_token\":\"a\\u0000b\"}", "printable" },
	{ "{\"version\":1,\"access_token\":\"a\\u00e9\"}", "printable" },
	{ "{\"version\":1,\"access_token\":\"\xc3\xa9\"}", "printable" },
	{ "{\"version\":1,\"access_token\":\"a\\tb\"}", "printable" },
	{ "{\"version\":1,\"access_token\":\"t\",\"token_type\":\"\"}",
	    "token_type" },
	{ "{\"version\":1,\"access_token\":\"t\",\"token_type\":\"a b\"}",
	    "token_type" },
	{ "{\"version\":1,\"access_token\":\"t\",\"token_type\":1}",
	    "token_type" },
	{ "{\"version\":1,\"access_token\":\"t\",\"expires_in\":0}",
	    "expires_in" },
	{ "{\"version\":1,\"access_token\":\"t\",\"expires_in\":-5}",
	    "expires_in" },
	{ "{\"version\":1,\"access_token\":\"t\",\"expires_in\":1.5}",
	    "expires_in" },
	{ "{\"version\":1,\"access_token\":\"t\",\"expires_in\":\"60\"}",
	    "expires_in" },
	{ "{\"version\":1,\"access_token\":\"t\",\"expires_in\":3e3}",
	    "expires_in" },
	{ "{\"version\":1,\"access_token\":\"t\",\"expires_in\":2147483648}",
	    "expires_in" },
	{ "{\"version\":1,\"access_token\":\"t\",\"expires_at\":-1}",
	    "expires_at" },
	{ "{\"version\":1,\"access_token\":\"t\",\"expires_at\":\"x\"}",
	    "expires_at" },
	{ "{\"version\":1,\"access_token\":\"t\",\"expires_in\":5,"
	    "\"expires_at\":1800000000}", "both" },
	{ "{\"version\":1,\"access_token\":\"t\",\"error\":\"e\"}", "both" },
	{ "{\"version\":1,\"error\":5}", "not a string" },
	{ "{\"version\":1,\"error\":\"e\",\"permanent\":1}", "true or false" },
	{ "{\"version\":1,\"error\":\"e\",\"permanent\":\"true\"}",
	    "true or false" },
};

START_TEST(bad_documents)
{
	struct exec_doc d;
	const char *in = bad_cases[_i].doc;

	ck_assert_int_eq(parse(in, &d), EXEC_DOC_BAD);
	ck_assert_ptr_null(d.token);
	ck_assert_int_eq(d.permanent, 0);
	ck_assert_msg(strstr(d.message, bad_cases[_i].says) != NULL,
	    "case %d: \"%s\" not in \"%s\"", _i, bad_cases[_i].says,
	    d.message);
}
END_TEST

/* The length given is honoured: no reading past it, NUL or not. */
START_TEST(length_and_nul)
{
	static const char nul_doc[] =
	    "{\"version\":1,\"access_token\":\"a\0c\"}";
	const char *s = "{\"version\":1,\"access_token\":\"abc\"}";
	struct exec_doc d;
	char buf[64];
	size_t n = strlen(s);

	ck_assert_int_eq(exec_doc_parse(s, n - 1, NOW, TOKEN_MAX, &d),
	    EXEC_DOC_BAD);
	memcpy(buf, s, n);
	buf[n] = '\0';
	buf[n + 1] = ' ';
	ck_assert_int_eq(exec_doc_parse(buf, n + 2, NOW, TOKEN_MAX, &d),
	    EXEC_DOC_BAD);
	ck_assert_ptr_nonnull(strstr(d.message, "data after"));
	ck_assert_int_eq(exec_doc_parse(nul_doc, sizeof(nul_doc) - 1, NOW,
	    TOKEN_MAX, &d), EXEC_DOC_BAD);
	ck_assert_ptr_nonnull(strstr(d.message, "control character"));
}
END_TEST

START_TEST(token_max)
{
	struct exec_doc d;
	char buf[256];

	snprintf(buf, sizeof(buf), "{\"version\":1,\"access_token\":\"%s\"}",
	    "0123456789");
	ck_assert_int_eq(exec_doc_parse(buf, strlen(buf), NOW, 10, &d),
	    EXEC_DOC_TOKEN);
	exec_doc_clear(&d);
	ck_assert_int_eq(exec_doc_parse(buf, strlen(buf), NOW, 9, &d),
	    EXEC_DOC_BAD);
	ck_assert_ptr_nonnull(strstr(d.message, "longer than 9 bytes"));
	/* Escapes count as what they decode to. */
	snprintf(buf, sizeof(buf), "{\"version\":1,\"access_token\":"
	    "\"\\u0030\\u0031\\u0032\"}");
	ck_assert_int_eq(exec_doc_parse(buf, strlen(buf), NOW, 3, &d),
	    EXEC_DOC_TOKEN);
	ck_assert_str_eq(d.token, "012");
	exec_doc_clear(&d);
}
END_TEST

/* Nested values of unknown members are skipped up to a depth. */
START_TEST(depth)
{
	struct exec_doc d;
	char buf[512];
	size_t n, i;

	n = (size_t)snprintf(buf, sizeof(buf), "{\"version\":1,"
	    "\"access_token\":\"t\",\"x\":");
	for (i = 0; i < 15; i++)
		buf[n++] = '[';
	for (i = 0; i < 15; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	ck_assert_int_eq(exec_doc_parse(buf, n, NOW, TOKEN_MAX, &d),
	    EXEC_DOC_TOKEN);
	exec_doc_clear(&d);

	n = (size_t)snprintf(buf, sizeof(buf), "{\"version\":1,\"x\":");
	for (i = 0; i < 200; i++)
		buf[n++] = '[';
	ck_assert_int_eq(exec_doc_parse(buf, n, NOW, TOKEN_MAX, &d),
	    EXEC_DOC_BAD);
	ck_assert_ptr_nonnull(strstr(d.message, "nested too deeply"));
}
END_TEST

/* No message, good or bad, holds the token or a piece of it. */
START_TEST(token_never_in_message)
{
	static const char *const docs[] = {
		"{\"version\":1,\"access_token\":\"SECRETTOKENxyz\","
		    "\"expires_in\":0}",
		"{\"version\":1,\"access_token\":\"SECRETTOKENxyz\","
		    "\"error\":\"e\"}",
		"{\"version\":1,\"access_token\":\"SECRETTOKENxyz \"}",
		"{\"version\":1,\"access_token\":\"SECRETTOKENxyz\"} trailing",
		"{\"version\":1,\"access_token\":\"SECRETTOKENxyz\","
		    "\"token_type\":\"a b\"}",
		"{\"version\":2,\"access_token\":\"SECRETTOKENxyz\"}",
	};
	struct exec_doc d;
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		ck_assert_int_eq(exec_doc_parse(docs[i], strlen(docs[i]), NOW,
		    TOKEN_MAX, &d), EXEC_DOC_BAD);
		ck_assert_ptr_null(strstr(d.message, "SECRET"));
		ck_assert_ptr_null(strstr(d.message, "TOKEN"));
	}
}
END_TEST

START_TEST(masked)
{
	const char *two = "\n\n  first\x1b line\nsecond";
	char out[16];

	exec_doc_masked(out, sizeof(out), two, strlen(two), 100);
	ck_assert_str_eq(out, "first? line");
	exec_doc_masked(out, sizeof(out), "abcdefghijklmnopqrstuvwxyz", 26,
	    100);
	ck_assert_str_eq(out, "abcdefghijkl...");
	exec_doc_masked(out, sizeof(out), "abcdefghij", 10, 6);
	ck_assert_str_eq(out, "abc...");
	exec_doc_masked(out, sizeof(out), "", 0, 6);
	ck_assert_str_eq(out, "");
}
END_TEST

static Suite *
exec_doc_suite(void)
{
	Suite *s = suite_create("exec_doc");
	TCase *tc;

	tc = tcase_create("tokens");
	tcase_add_test(tc, token_minimal);
	tcase_add_test(tc, token_full);
	tcase_add_test(tc, token_escapes);
	tcase_add_test(tc, expires_at);
	tcase_add_test(tc, token_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, error_document);
	tcase_add_test(tc, error_text_cut);
	tcase_add_test(tc, versions);
	tcase_add_loop_test(tc, bad_documents, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, length_and_nul);
	tcase_add_test(tc, depth);
	tcase_add_test(tc, token_never_in_message);
	tcase_add_test(tc, masked);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(exec_doc_suite());
}
