/*
 * test_camunda_env.c - the reader of Camunda's console credentials file
 * (provider/camunda_env.c): what it accepts and means, what it refuses
 * and on which line, and that its values are wiped.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camunda_env.h"
#include "testutil.h"

#define SECRET "Xy7~sEcReT.value-_0123456789abcdefABCDEF"

/* What the console's "Download credentials" gives (values made up). */
static const char saas_file[] =
    "export ZEEBE_ADDRESS='0a1b2c3d-4e5f-6789-abcd-ef0123456789."
    "bru-2.zeebe.camunda.io:443'\n"
    "export ZEEBE_CLIENT_ID='Abc_Def-ghi.JKL'\n"
    "export ZEEBE_CLIENT_SECRET='" SECRET "'\n"
    "export ZEEBE_AUTHORIZATION_SERVER_URL="
    "'https://login.cloud.camunda.io/oauth/token'\n"
    "export ZEEBE_TOKEN_AUDIENCE='zeebe.camunda.io'\n"
    "export CAMUNDA_CLUSTER_ID='0a1b2c3d-4e5f-6789-abcd-ef0123456789'\n"
    "export CAMUNDA_CLUSTER_REGION='bru-2'\n"
    "export CAMUNDA_CREDENTIALS_SCOPES='Zeebe,Tasklist,Operate,Optimize'\n"
    "export CAMUNDA_TASKLIST_BASE_URL='https://bru-2.tasklist.camunda.io/"
    "0a1b2c3d-4e5f-6789-abcd-ef0123456789'\n"
    "export CAMUNDA_OPERATE_BASE_URL='https://bru-2.operate.camunda.io/"
    "0a1b2c3d-4e5f-6789-abcd-ef0123456789'\n"
    "export CAMUNDA_OPTIMIZE_BASE_URL='https://bru-2.optimize.camunda.io/"
    "0a1b2c3d-4e5f-6789-abcd-ef0123456789'\n"
    "export CAMUNDA_OAUTH_URL='https://login.cloud.camunda.io/oauth/token'\n";

static char err[CAMUNDA_ENV_ERR_MAX];
static unsigned int eline;

static void
parse_ok(struct camunda_env *env, const char *buf, size_t len)
{
	err[0] = '\0';
	ck_assert_msg(camunda_env_parse(env, buf, len, NULL, NULL, err,
	    sizeof(err), &eline) == 0, "line %u: %s", eline, err);
}

/* buf is refused on line, with why in the message and no secret. */
static void
parse_bad(const char *buf, size_t len, unsigned int line, const char *why)
{
	struct camunda_env env;

	err[0] = '\0';
	memset(&env, 0x5a, sizeof(env));
	ck_assert_int_eq(camunda_env_parse(&env, buf, len, NULL, NULL, err,
	    sizeof(err), &eline), -1);
	ck_assert_msg(eline == line, "'%s': line %u, want %u (%s)", buf,
	    eline, line, err);
	ck_assert_msg(strstr(err, why) != NULL, "'%s': error '%s' lacks "
	    "'%s'", buf, err, why);
	ck_assert_ptr_null(strstr(err, SECRET));
	ck_assert_ptr_null(strstr(err, "topsecret"));
	/* Nothing left to free. */
	ck_assert_ptr_null(env.arena);
	ck_assert_ptr_null(env.var[CV_ZEEBE_CLIENT_ID].s);
	camunda_env_free(&env);
}

static const char *
val(const struct camunda_env *env, enum camunda_var v)
{
	return env->var[v].s;
}

START_TEST(env_saas_file)
{
	struct camunda_env env;

	parse_ok(&env, saas_file, strlen(saas_file));
	ck_assert_uint_eq(env.nwarn, 0);
	ck_assert_uint_eq(env.nunknown, 0);
	ck_assert_str_eq(val(&env, CV_ZEEBE_CLIENT_ID), "Abc_Def-ghi.JKL");
	ck_assert_str_eq(val(&env, CV_ZEEBE_CLIENT_SECRET), SECRET);
	ck_assert_uint_eq(env.var[CV_ZEEBE_CLIENT_SECRET].len,
	    strlen(SECRET));
	ck_assert_uint_eq(env.var[CV_ZEEBE_CLIENT_SECRET].line, 3);
	ck_assert_str_eq(val(&env, CV_CAMUNDA_OAUTH_URL),
	    "https://login.cloud.camunda.io/oauth/token");
	ck_assert_uint_eq(env.var[CV_CAMUNDA_OAUTH_URL].line, 12);
	ck_assert_str_eq(val(&env, CV_CAMUNDA_CREDENTIALS_SCOPES),
	    "Zeebe,Tasklist,Operate,Optimize");
	ck_assert_ptr_null(val(&env, CV_CAMUNDA_CLIENT_ID));
	camunda_env_free(&env);
	ck_assert_ptr_null(env.arena);
	camunda_env_free(&env);		/* twice is fine */
	camunda_env_free(NULL);
}
END_TEST

/* Each row: a line, and the value ZEEBE_CLIENT_ID must read as. */
static const struct {
	const char *line, *value;
} good[] = {
	{ "ZEEBE_CLIENT_ID=plain", "plain" },
	{ "export ZEEBE_CLIENT_ID=plain", "plain" },
	{ "  export \t ZEEBE_CLIENT_ID='x'   ", "x" },
	{ "\tZEEBE_CLIENT_ID=\"dq\"", "dq" },
	{ "ZEEBE_CLIENT_ID=", "" },
	{ "ZEEBE_CLIENT_ID=''", "" },
	{ "ZEEBE_CLIENT_ID='a b  c'", "a b  c" },
	/* no escape in single quotes; what sh would expand is text there */
	{ "ZEEBE_CLIENT_ID='a\\b\"$(id)`x`$HOME'", "a\\b\"$(id)`x`$HOME" },
	/* double quotes: \$ \` \" \\ escape, other backslashes stay */
	{ "ZEEBE_CLIENT_ID=\"a\\$b\\`c\\\"d\\\\e\\nf'g\"",
	    "a$b`c\"d\\e\\nf'g" },
	/* unquoted: \X is X */
	{ "ZEEBE_CLIENT_ID=a\\$b\\ c", "a$b c" },
	/* adjacent pieces are one word */
	{ "ZEEBE_CLIENT_ID='ab'\"cd\"ef", "abcdef" },
	/* '#' starts a comment only at the start of a word */
	{ "ZEEBE_CLIENT_ID=a#b", "a#b" },
	{ "ZEEBE_CLIENT_ID=ab # a comment", "ab" },
	{ "ZEEBE_CLIENT_ID='ab'#c", "ab#c" },
	{ "ZEEBE_CLIENT_ID=k=v,x:y/z@w%+!].", "k=v,x:y/z@w%+!]." },
	{ "ZEEBE_CLIENT_ID='{a,b}'", "{a,b}" },
	{ "ZEEBE_CLIENT_ID='caf\xc3\xa9'", "caf\xc3\xa9" },
	{ "ZEEBE_CLIENT_ID='a\tb'", "a\tb" },
};

START_TEST(env_quoting)
{
	struct camunda_env env;
	const char *line = good[_i].line;

	parse_ok(&env, line, strlen(line));
	ck_assert_ptr_nonnull(val(&env, CV_ZEEBE_CLIENT_ID));
	ck_assert_msg(strcmp(val(&env, CV_ZEEBE_CLIENT_ID),
	    good[_i].value) == 0, "%s: got '%s', want '%s'", line,
	    val(&env, CV_ZEEBE_CLIENT_ID), good[_i].value);
	ck_assert_uint_eq(env.var[CV_ZEEBE_CLIENT_ID].len,
	    strlen(good[_i].value));
	ck_assert_uint_eq(env.var[CV_ZEEBE_CLIENT_ID].line, 1);
	camunda_env_free(&env);
}
END_TEST

/* Each row: a file, the line it is refused on and why. */
static const struct {
	const char *file;
	unsigned int line;
	const char *why;
} bad[] = {
	{ "ZEEBE_CLIENT_ID = x", 1, "no blank before '='" },
	{ "ZEEBE_CLIENT_ID =x", 1, "no blank before '='" },
	{ "# ok\nZEEBE_CLIENT_ID", 2, "expected NAME=value" },
	{ "export", 1, "expected NAME=value" },
	{ "export -p", 1, "expected NAME=value" },
	{ "echo hi", 1, "expected NAME=value" },
	{ "1ABC=x", 1, "expected NAME=value" },
	{ "=x", 1, "expected NAME=value" },
	{ "A=1 B=2", 1, "text after the value at column 5" },
	/* sh: one word 'ab'#, then the command "comment" */
	{ "ZEEBE_CLIENT_ID='ab'# comment", 1, "text after the value" },
	{ "ZEEBE_CLIENT_ID=topsecret rm -rf /", 1, "text after the value" },
	{ "ZEEBE_CLIENT_ID=$(id)", 1, "'$' at column 17 would mean something "
	    "to a shell" },
	{ "ZEEBE_CLIENT_ID=`id`", 1, "'`' at column 17" },
	{ "ZEEBE_CLIENT_ID=$HOME", 1, "'$' at column 17" },
	{ "ZEEBE_CLIENT_ID=\"a$(id)\"", 1, "'$' at column 19 would be "
	    "expanded by a shell" },
	{ "ZEEBE_CLIENT_ID=\"`id`\"", 1, "would be expanded" },
	{ "ZEEBE_CLIENT_ID=a;id", 1, "';' at column 18" },
	{ "ZEEBE_CLIENT_ID=a&&id", 1, "'&'" },
	{ "ZEEBE_CLIENT_ID=a|id", 1, "'|'" },
	{ "ZEEBE_CLIENT_ID=a>/tmp/x", 1, "'>'" },
	{ "ZEEBE_CLIENT_ID=*", 1, "'*'" },
	{ "ZEEBE_CLIENT_ID=~/x", 1, "'~'" },
	/* bash: export A={a,b} sets A=b */
	{ "export ZEEBE_CLIENT_ID={a,b}", 1, "'{' at column 24" },
	{ "ZEEBE_CLIENT_ID='topsecret", 1, "single quote at column 17 is "
	    "not closed" },
	{ "ZEEBE_CLIENT_ID=\"topsecret", 1, "double quote at column 17 is "
	    "not closed" },
	{ "ZEEBE_CLIENT_ID='a\nb'", 1, "not closed on its line" },
	{ "ZEEBE_CLIENT_ID=abc\\", 1, "backslash at the end of the line" },
	{ "ZEEBE_CLIENT_ID='a\rb'", 1, "control byte 0x0d at column 19" },
	{ "ZEEBE_CLIENT_ID=a\x1b[0m", 1, "control byte 0x1b" },
	{ "ZEEBE_CLIENT_ID=\x7f", 1, "control byte 0x7f" },
	{ "ZEEBE_CLIENT_ID=a\r\r\n", 1, "control byte 0x0d" },
	{ "ZEEBE_CLIENT_ID=a\nZEEBE_CLIENT_ID=b", 2, "ZEEBE_CLIENT_ID set "
	    "twice (first on line 1)" },
	{ "\n\n\nABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "ABCDEFGHIJKLMNO=1", 4, "variable name longer than 64 bytes" },
};

START_TEST(env_malformed)
{
	parse_bad(bad[_i].file, strlen(bad[_i].file), bad[_i].line,
	    bad[_i].why);
}
END_TEST

START_TEST(env_comments_blank_crlf)
{
	static const char f[] =
	    "# Camunda credentials\r\n"
	    "\r\n"
	    "   \t \r\n"
	    "  # indented comment with $(id) and `id` and 'quotes\r\n"
	    "export ZEEBE_CLIENT_ID='id-1'\r\n"
	    "ZEEBE_CLIENT_SECRET='" SECRET "'\r\n"
	    "CAMUNDA_OAUTH_URL=\"https://x.example/t\"   # trailing\r\n"
	    "\r\n"
	    "export CAMUNDA_CLUSTER_REGION=bru-2";	/* no line ending */
	struct camunda_env env;

	parse_ok(&env, f, sizeof(f) - 1);
	ck_assert_str_eq(val(&env, CV_ZEEBE_CLIENT_ID), "id-1");
	ck_assert_uint_eq(env.var[CV_ZEEBE_CLIENT_ID].line, 5);
	ck_assert_str_eq(val(&env, CV_ZEEBE_CLIENT_SECRET), SECRET);
	ck_assert_str_eq(val(&env, CV_CAMUNDA_OAUTH_URL),
	    "https://x.example/t");
	ck_assert_str_eq(val(&env, CV_CAMUNDA_CLUSTER_REGION), "bru-2");
	ck_assert_uint_eq(env.var[CV_CAMUNDA_CLUSTER_REGION].line, 9);
	camunda_env_free(&env);

	/* An empty file, and one of only a line ending. */
	parse_ok(&env, "", 0);
	ck_assert_ptr_null(val(&env, CV_ZEEBE_CLIENT_ID));
	camunda_env_free(&env);
	parse_ok(&env, "\r\n", 2);
	camunda_env_free(&env);
}
END_TEST

START_TEST(env_unknown_is_warning)
{
	static const char f[] =
	    "ZEEBE_CLIENT_ID=id\n"
	    "export ZEEBE_CLIENT_SECRT='topsecret'\n"	/* misspelt */
	    "MY_OWN=1\n"
	    "exportFOO=2\n";
	struct camunda_env env;
	char many[64 * 32];
	size_t i, n = 0;

	parse_ok(&env, f, strlen(f));
	ck_assert_str_eq(val(&env, CV_ZEEBE_CLIENT_ID), "id");
	ck_assert_uint_eq(env.nwarn, 3);
	ck_assert_uint_eq(env.nunknown, 3);
	ck_assert_str_eq(env.warn[0].name, "ZEEBE_CLIENT_SECRT");
	ck_assert_uint_eq(env.warn[0].line, 2);
	ck_assert_str_eq(env.warn[1].name, "MY_OWN");
	ck_assert_uint_eq(env.warn[1].line, 3);
	ck_assert_str_eq(env.warn[2].name, "exportFOO");
	ck_assert_uint_eq(env.warn[2].line, 4);
	ck_assert_ptr_null(val(&env, CV_ZEEBE_CLIENT_SECRET));
	/* The unknown value is not kept in the arena. */
	ck_assert_ptr_null(memmem(env.arena, env.arena_size, "topsecret", 9));
	camunda_env_free(&env);

	/* More than fit: counted, the first kept. */
	for (i = 0; i < CAMUNDA_ENV_WARN_MAX + 5; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n,
		    "UNKNOWN_%zu=x\n", i);
	parse_ok(&env, many, n);
	ck_assert_uint_eq(env.nwarn, CAMUNDA_ENV_WARN_MAX);
	ck_assert_uint_eq(env.nunknown, CAMUNDA_ENV_WARN_MAX + 5);
	ck_assert_str_eq(env.warn[0].name, "UNKNOWN_0");
	camunda_env_free(&env);
}
END_TEST

START_TEST(env_huge_lines)
{
	struct camunda_env env;
	char *buf;
	size_t n;

	/* A line of exactly CAMUNDA_ENV_LINE_MAX bytes (plus CRLF): read. */
	buf = malloc(CAMUNDA_ENV_FILE_MAX + 16);
	ck_assert_ptr_nonnull(buf);
	n = (size_t)snprintf(buf, 64, "ZEEBE_CLIENT_SECRET=");
	memset(buf + n, 'a', CAMUNDA_ENV_LINE_MAX - n);
	memcpy(buf + CAMUNDA_ENV_LINE_MAX, "\r\n", 2);
	parse_ok(&env, buf, CAMUNDA_ENV_LINE_MAX + 2);
	ck_assert_uint_eq(env.var[CV_ZEEBE_CLIENT_SECRET].len,
	    CAMUNDA_ENV_LINE_MAX - n);
	camunda_env_free(&env);
	/* One more: refused, on its line. */
	memcpy(buf, "#\n", 2);
	memset(buf + 2, '#', CAMUNDA_ENV_LINE_MAX + 1);
	parse_bad(buf, CAMUNDA_ENV_LINE_MAX + 3, 2, "line longer than 8192");
	/* A file of many short lines beyond the limit. */
	memset(buf, '\n', CAMUNDA_ENV_FILE_MAX + 1);
	parse_bad(buf, CAMUNDA_ENV_FILE_MAX + 1, 0, "file is larger than");
	parse_ok(&env, buf, CAMUNDA_ENV_FILE_MAX);
	camunda_env_free(&env);
	free(buf);
}
END_TEST

START_TEST(env_nul_bytes)
{
	static const char f1[] = "ZEEBE_CLIENT_ID=a\0b\n";
	static const char f2[] = "# c\nZEEBE_CLIENT_ID=ab\n#\0\n";
	static const char f3[] = "\0";

	parse_bad(f1, sizeof(f1) - 1, 1, "NUL byte");
	parse_bad(f2, sizeof(f2) - 1, 3, "NUL byte");
	parse_bad(f3, 1, 1, "NUL byte");
}
END_TEST

/* Every known name reads back, and only those are known. */
START_TEST(env_names)
{
	size_t i;
	const char *n;

	for (i = 0; i < CV_COUNT; i++) {
		n = camunda_env_name((enum camunda_var)i);
		ck_assert_ptr_nonnull(n);
		ck_assert_int_eq(camunda_env_lookup(n, strlen(n)), (int)i);
	}
	ck_assert_ptr_null(camunda_env_name(CV_COUNT));
	ck_assert_int_eq(camunda_env_lookup("ZEEBE_CLIENT_I", 14), CV_COUNT);
	ck_assert_int_eq(camunda_env_lookup("ZEEBE_CLIENT_IDX", 16),
	    CV_COUNT);
}
END_TEST

/* The allocator's block holds the values and comes back wiped. */
static size_t alloc_calls, release_calls, released_nonzero;
static void *
t_alloc(size_t n)
{
	alloc_calls++;
	return malloc(n);
}
static void
t_release(void *p, size_t n)
{
	size_t i;

	release_calls++;
	for (i = 0; i < n; i++)
		if (((unsigned char *)p)[i] != 0)
			released_nonzero++;
	free(p);
}

START_TEST(env_wiped)
{
	struct camunda_env env;
	static const char bad_file[] = "ZEEBE_CLIENT_SECRET='" SECRET "'\n"
	    "ZEEBE_CLIENT_ID=$(id)\n";

	alloc_calls = release_calls = released_nonzero = 0;
	ck_assert_int_eq(camunda_env_parse(&env, saas_file,
	    strlen(saas_file), t_alloc, t_release, err, sizeof(err), &eline),
	    0);
	ck_assert_uint_eq(alloc_calls, 1);
	ck_assert_ptr_nonnull(memmem(env.arena, env.arena_size, SECRET,
	    strlen(SECRET)));
	camunda_env_free(&env);
	ck_assert_uint_eq(release_calls, 1);
	ck_assert_uint_eq(released_nonzero, 0);
	/* A refused file is wiped too. */
	ck_assert_int_eq(camunda_env_parse(&env, bad_file,
	    strlen(bad_file), t_alloc, t_release, err, sizeof(err), &eline),
	    -1);
	ck_assert_uint_eq(eline, 2);
	ck_assert_uint_eq(release_calls, 2);
	ck_assert_uint_eq(released_nonzero, 0);
}
END_TEST

static Suite *
camunda_env_suite(void)
{
	Suite *s = suite_create("camunda_env");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, env_saas_file);
	tcase_add_loop_test(tc, env_quoting, 0,
	    (int)(sizeof(good) / sizeof(good[0])));
	tcase_add_loop_test(tc, env_malformed, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, env_comments_blank_crlf);
	tcase_add_test(tc, env_unknown_is_warning);
	tcase_add_test(tc, env_huge_lines);
	tcase_add_test(tc, env_nul_bytes);
	tcase_add_test(tc, env_names);
	tcase_add_test(tc, env_wiped);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(camunda_env_suite());
}
