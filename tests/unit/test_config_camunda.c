/*
 * test_config_camunda.c - `provider = camunda` credentials
 * (provider/config_camunda.c): the oauth2 fields taken from the console's
 * credentials file, the keys refused, and every error naming its file and
 * line without a secret.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "testutil.h"

#define SECRET	"Cam-SeCrEt~value.0123456789"
#define URL	"https://login.cloud.camunda.io/oauth/token"

#define SAAS \
	"# downloaded from the console\n" \
	"export ZEEBE_ADDRESS='abc.bru-2.zeebe.camunda.io:443'\n" \
	"export ZEEBE_CLIENT_ID='cam-client'\n" \
	"export ZEEBE_CLIENT_SECRET='" SECRET "'\n" \
	"export ZEEBE_AUTHORIZATION_SERVER_URL='" URL "'\n" \
	"export ZEEBE_TOKEN_AUDIENCE='zeebe.camunda.io'\n" \
	"export CAMUNDA_CLUSTER_ID='abc'\n" \
	"export CAMUNDA_CLUSTER_REGION='bru-2'\n" \
	"export CAMUNDA_CREDENTIALS_SCOPES='Zeebe,Operate'\n" \
	"export CAMUNDA_OAUTH_URL='" URL "'\n"

/* Self-Managed, as the Java client's variables say it. */
#define SM \
	"CAMUNDA_CLIENT_ID=sm-client\n" \
	"CAMUNDA_CLIENT_SECRET=\"" SECRET "\"\n" \
	"CAMUNDA_AUTHORIZATION_SERVER_URL=" \
	"https://kc.example.com/realms/camunda-platform/protocol/" \
	"openid-connect/token\n" \
	"CAMUNDA_TOKEN_AUDIENCE=orchestration-api\n" \
	"CAMUNDA_TOKEN_SCOPE=\"openid profile\"\n" \
	"CAMUNDA_OPERATE_OAUTH_AUDIENCE=operate-api\n"

static char err[CONF_ERR_MAX];

/* A camunda credential of audience aud, with extra lines, over console. */
static int
load(const char *console, const char *aud, const char *extra,
    struct cred_conf *c)
{
	char body[1024];

	snprintf(body, sizeof(body), "[credential]\nprovider = camunda\n"
	    "credentials_file = acme.camunda\naudience = %s\n%s", aud,
	    extra != NULL ? extra : "");
	tu_put("cred.conf", 0644, body);
	if (console != NULL)
		tu_put("acme.camunda", 0600, console);
	err[0] = '\0';
	memset(c, 0, sizeof(*c));
	return conf_load_credential(tu_path("cred.conf"), "acme.zeebe", c,
	    err);
}

static void
load_ok(const char *console, const char *aud, const char *extra,
    struct cred_conf *c)
{
	ck_assert_msg(load(console, aud, extra, c) == 0, "%s", err);
}

/* The error names file (tu_path) and line and says why, no secret. */
static void
assert_err(const char *file, unsigned int line, const char *why)
{
	char want[PATH_MAX + 32];

	if (line != 0)
		snprintf(want, sizeof(want), "%s:%u: ", tu_path(file), line);
	else
		snprintf(want, sizeof(want), "%s: ", tu_path(file));
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "error '%s' does not start with '%s'", err, want);
	ck_assert_msg(strstr(err, why) != NULL, "error '%s' lacks '%s'", err,
	    why);
	ck_assert_ptr_null(strstr(err, SECRET));
}

static void
load_bad(const char *console, const char *aud, const char *extra,
    const char *file, unsigned int line, const char *why)
{
	struct cred_conf c;

	ck_assert_int_eq(load(console, aud, extra, &c), -1);
	assert_err(file, line, why);
}

START_TEST(camunda_saas_zeebe)
{
	struct cred_conf c;

	load_ok(SAAS, "zeebe", NULL, &c);
	ck_assert_str_eq(c.provider, "camunda");
	ck_assert_str_eq(c.token_url, URL);
	ck_assert_str_eq(c.client_id, "cam-client");
	ck_assert_uint_eq(c.client_secret_len, strlen(SECRET));
	ck_assert_str_eq(c.client_secret, SECRET);
	ck_assert_str_eq(c.audience, "zeebe.camunda.io");
	ck_assert_ptr_null(c.scope);
	ck_assert_str_eq(c.camunda_file, tu_path("acme.camunda"));
	ck_assert_int_eq(c.auth_method, AUTH_CLIENT_SECRET_POST);
	conf_cred_clear(&c);
}
END_TEST

/* The other components get SaaS's audiences. */
START_TEST(camunda_saas_components)
{
	static const char *const comp[][2] = {
		{ "operate", "operate.camunda.io" },
		{ "tasklist", "tasklist.camunda.io" },
		{ "optimize", "optimize.camunda.io" },
	};
	struct cred_conf c;
	size_t i;

	for (i = 0; i < 3; i++) {
		load_ok(SAAS, comp[i][0], NULL, &c);
		ck_assert_str_eq(c.audience, comp[i][1]);
		ck_assert_str_eq(c.client_id, "cam-client");
		conf_cred_clear(&c);
	}
	/* zeebe's default too, when the file does not say */
	load_ok("ZEEBE_CLIENT_ID=a\nZEEBE_CLIENT_SECRET=b\n"
	    "CAMUNDA_OAUTH_URL=" URL "\n", "zeebe", NULL, &c);
	ck_assert_str_eq(c.audience, "zeebe.camunda.io");
	conf_cred_clear(&c);
}
END_TEST

START_TEST(camunda_audience_value)
{
	struct cred_conf c;

	load_ok(SAAS, "operate", "audience_value = my-operate\n", &c);
	ck_assert_str_eq(c.audience, "my-operate");
	conf_cred_clear(&c);
	load_bad(SAAS, "operate", "audience_value = a\x01\n", "cred.conf", 5,
	    "audience_value");
}
END_TEST

START_TEST(camunda_self_managed)
{
	struct cred_conf c;

	load_ok(SM, "zeebe", NULL, &c);
	ck_assert_str_eq(c.client_id, "sm-client");
	ck_assert_str_eq(c.client_secret, SECRET);
	ck_assert_str_eq(c.token_url, "https://kc.example.com/realms/"
	    "camunda-platform/protocol/openid-connect/token");
	ck_assert_str_eq(c.audience, "orchestration-api");
	ck_assert_str_eq(c.scope, "openid profile");
	conf_cred_clear(&c);
	load_ok(SM, "operate", NULL, &c);
	ck_assert_str_eq(c.audience, "operate-api");
	conf_cred_clear(&c);
	/* The credential file's scope wins over the console's. */
	load_ok(SM, "zeebe", "scope = mine\n", &c);
	ck_assert_str_eq(c.scope, "mine");
	conf_cred_clear(&c);
}
END_TEST

/* A relative credentials_file is relative to the credential file. */
START_TEST(camunda_relative_path)
{
	struct cred_conf c;

	ck_assert_int_eq(mkdir(tu_path("d"), 0755), 0);
	tu_put("d/x.conf", 0644, "[credential]\nprovider = camunda\n"
	    "audience = tasklist\ncredentials_file = ../acme.camunda\n");
	tu_put("acme.camunda", 0600, SAAS);
	ck_assert_msg(conf_load_credential(tu_path("d/x.conf"), "x", &c,
	    err) == 0, "%s", err);
	ck_assert_str_eq(c.audience, "tasklist.camunda.io");
	conf_cred_clear(&c);
}
END_TEST

/* The oauth2 keys the file replaces are refused, on their line. */
START_TEST(camunda_oauth2_keys_refused)
{
	load_bad(SAAS, "zeebe", "token_url = " URL "\n", "cred.conf", 5,
	    "token_url is taken from credentials_file with provider = "
	    "camunda");
	load_bad(SAAS, "zeebe", "#\nclient_id = x\n", "cred.conf", 6,
	    "client_id is taken from credentials_file");
	load_bad(SAAS, "zeebe", "client_secret = " SECRET "\n", "cred.conf", 5,
	    "client_secret is taken from credentials_file");
	load_bad(SAAS, "zeebe", "client_secret_file = s\n", "cred.conf", 5,
	    "client_secret_file is taken from credentials_file");
}
END_TEST

START_TEST(camunda_keys_required)
{
	struct cred_conf c;

	tu_put("cred.conf", 0644, "[credential]\nprovider = camunda\n"
	    "audience = zeebe\n");
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "x", &c,
	    err), -1);
	assert_err("cred.conf", 0, "missing required key 'credentials_file'");
	tu_put("cred.conf", 0644, "[credential]\nprovider = camunda\n"
	    "credentials_file = acme.camunda\n");
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "x", &c,
	    err), -1);
	assert_err("cred.conf", 0, "missing required key 'audience'");
	load_bad(SAAS, "zeebe.camunda.io", NULL, "cred.conf", 4,
	    "audience is zeebe, operate, tasklist or optimize");
}
END_TEST

/* The camunda keys with another provider: refused on their line. */
START_TEST(camunda_keys_other_provider)
{
	struct cred_conf c;

	tu_put("s", 0600, "x\n");
	tu_put("cred.conf", 0644, "[credential]\nprovider = oauth2\n"
	    "token_url = " URL "\nclient_id = a\nclient_secret_file = s\n"
	    "credentials_file = acme.camunda\n");
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "x", &c,
	    err), -1);
	assert_err("cred.conf", 6, "credentials_file is a key of provider = "
	    "camunda");
	tu_put("cred.conf", 0644, "[credential]\nprovider = oauth2\n"
	    "token_url = " URL "\nclient_id = a\nclient_secret_file = s\n"
	    "audience_value = v\n");
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "x", &c,
	    err), -1);
	assert_err("cred.conf", 6, "audience_value is a key of provider");
}
END_TEST

/* credentials_file is held to client_secret_file's rules. */
START_TEST(camunda_file_rules)
{
	struct cred_conf c;

	ck_assert_int_eq(load(SAAS, "zeebe", NULL, &c), 0);
	conf_cred_clear(&c);
	ck_assert_int_eq(chmod(tu_path("acme.camunda"), 0640), 0);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "x", &c,
	    err), -1);
	assert_err("cred.conf", 3, "credentials_file");
	ck_assert_ptr_nonnull(strstr(err, "acme.camunda"));
	ck_assert_int_eq(chmod(tu_path("acme.camunda"), 0604), 0);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "x", &c,
	    err), -1);
	assert_err("cred.conf", 3, "credentials_file");
	/* a symbolic link */
	ck_assert_int_eq(chmod(tu_path("acme.camunda"), 0600), 0);
	ck_assert_int_eq(rename(tu_path("acme.camunda"), tu_path("real")), 0);
	ck_assert_int_eq(symlink("real", tu_path("acme.camunda")), 0);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "x", &c,
	    err), -1);
	assert_err("cred.conf", 3, "is a symbolic link");
	ck_assert_int_eq(unlink(tu_path("acme.camunda")), 0);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "x", &c,
	    err), -1);
	assert_err("cred.conf", 3, "No such file");
}
END_TEST

/* What is wrong in the console's file is named by its line there. */
START_TEST(camunda_file_errors)
{
	struct cred_conf c;

	load_bad("ZEEBE_CLIENT_ID=a\nZEEBE_CLIENT_SECRET=$(cat /etc/shadow)\n",
	    "zeebe", NULL, "acme.camunda", 2, "would mean something to a "
	    "shell");
	load_bad(SAAS "export ZEEBE_CLIENT_SECRET='" SECRET "'\n", "zeebe",
	    NULL, "acme.camunda", 11, "ZEEBE_CLIENT_SECRET set twice (first "
	    "on line 4)");
	load_bad(SAAS "CAMUNDA_CLIENT_ID=other\n", "zeebe", NULL,
	    "acme.camunda", 11, "CAMUNDA_CLIENT_ID differs from "
	    "ZEEBE_CLIENT_ID (line 3)");
	load_bad(SAAS "CAMUNDA_CLIENT_SECRET='" SECRET "x'\n", "zeebe", NULL,
	    "acme.camunda", 11, "CAMUNDA_CLIENT_SECRET differs from "
	    "ZEEBE_CLIENT_SECRET (line 4)");
	load_bad("ZEEBE_CLIENT_ID=a\nZEEBE_CLIENT_SECRET=b\n"
	    "CAMUNDA_OAUTH_URL=" URL "\n"
	    "ZEEBE_AUTHORIZATION_SERVER_URL=https://other.example/t\n",
	    "zeebe", NULL, "acme.camunda", 4, "ZEEBE_AUTHORIZATION_SERVER_URL "
	    "differs from CAMUNDA_OAUTH_URL (line 3)");
	load_bad("ZEEBE_CLIENT_ID=a\nZEEBE_CLIENT_SECRET=b\n"
	    "\nCAMUNDA_OAUTH_URL=http://login.example.com/t\n", "zeebe", NULL,
	    "acme.camunda", 4, "CAMUNDA_OAUTH_URL: token_url must use "
	    "https://");
	load_bad("ZEEBE_CLIENT_SECRET=b\nCAMUNDA_OAUTH_URL=" URL "\n",
	    "zeebe", NULL, "acme.camunda", 0, "no ZEEBE_CLIENT_ID");
	load_bad("ZEEBE_CLIENT_ID=a\nCAMUNDA_OAUTH_URL=" URL "\n", "zeebe",
	    NULL, "acme.camunda", 0, "no ZEEBE_CLIENT_SECRET");
	load_bad("ZEEBE_CLIENT_ID=a\nZEEBE_CLIENT_SECRET=b\n", "zeebe", NULL,
	    "acme.camunda", 0, "no CAMUNDA_OAUTH_URL");
	load_bad("ZEEBE_CLIENT_ID=a\nZEEBE_CLIENT_SECRET='s\xc3\xa9'\n"
	    "CAMUNDA_OAUTH_URL=" URL "\n", "zeebe", NULL, "acme.camunda", 2,
	    "ZEEBE_CLIENT_SECRET contains a byte outside printable ASCII");
	/* a NUL byte: the file as written, not up to it */
	ck_assert_int_eq(load(SAAS, "zeebe", NULL, &c), 0);
	conf_cred_clear(&c);
	tu_putn("acme.camunda", 0600, "#\nZEEBE_CLIENT_ID=a\0b\n", 22);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "x", &c,
	    err), -1);
	assert_err("acme.camunda", 2, "NUL byte");
}
END_TEST

/* An unknown variable is only a warning. */
START_TEST(camunda_unknown_variable)
{
	struct cred_conf c;

	load_ok(SAAS "export MY_SETTING=1\n", "zeebe", NULL, &c);
	ck_assert_str_eq(c.client_id, "cam-client");
	conf_cred_clear(&c);
}
END_TEST

/*
 * The request identity covers what the file says, not where it is: a
 * rotated secret is a changed request; the same file elsewhere is not.
 */
START_TEST(camunda_request_identity)
{
	struct cred_conf a, b;

	load_ok(SAAS, "zeebe", NULL, &a);
	tu_put("other.camunda", 0600, SAAS);
	tu_put("cred2.conf", 0644, "[credential]\nprovider = camunda\n"
	    "credentials_file = other.camunda\naudience = zeebe\n");
	ck_assert_msg(conf_load_credential(tu_path("cred2.conf"), "x", &b,
	    err) == 0, "%s", err);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 0);
	conf_cred_clear(&b);
	tu_put("other.camunda", 0600, "ZEEBE_CLIENT_ID='cam-client'\n"
	    "ZEEBE_CLIENT_SECRET='rotated'\nCAMUNDA_OAUTH_URL='" URL "'\n");
	ck_assert_msg(conf_load_credential(tu_path("cred2.conf"), "x", &b,
	    err) == 0, "%s", err);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	conf_cred_clear(&b);
	load_ok(SAAS, "operate", NULL, &b);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	conf_cred_clear(&b);
	conf_cred_clear(&a);
}
END_TEST

/* The whole configuration: the console's file beside the credentials is
 * not one (only *.conf are), and the worker gets the derived fields. */
START_TEST(camunda_conf_load_and_pack)
{
	struct daemon_conf *c = NULL, *u = NULL;
	unsigned char *buf;
	size_t len = 0;

	tu_put("tokencache.conf", 0644, "[daemon]\nruntime_dir = /run/tc-x\n");
	ck_assert_int_eq(mkdir(tu_path("credentials.d"), 0755), 0);
	tu_put("credentials.d/acme.camunda", 0600, SAAS);
	tu_put("credentials.d/acme.zeebe.conf", 0644, "[credential]\n"
	    "provider = camunda\ncredentials_file = acme.camunda\n"
	    "audience = zeebe\n");
	tu_put("credentials.d/acme.operate.conf", 0644, "[credential]\n"
	    "provider = camunda\ncredentials_file = acme.camunda\n"
	    "audience = operate\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0,
	    "%s", err);
	ck_assert_uint_eq(c->ncreds, 2);
	ck_assert_str_eq(c->creds[0].name, "acme.operate");
	ck_assert_str_eq(c->creds[0].audience, "operate.camunda.io");
	ck_assert_str_eq(c->creds[1].name, "acme.zeebe");
	ck_assert_str_eq(c->creds[1].audience, "zeebe.camunda.io");
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), 0);
	ck_assert_str_eq(u->creds[1].provider, "camunda");
	ck_assert_str_eq(u->creds[1].token_url, URL);
	ck_assert_str_eq(u->creds[1].client_secret, SECRET);
	ck_assert_int_eq(conf_cred_request_differs(&c->creds[1],
	    &u->creds[1]), 0);
	sodium_free(buf);
	conf_free(u);
	conf_free(c);
}
END_TEST

static Suite *
config_camunda_suite(void)
{
	Suite *s = suite_create("config_camunda");
	TCase *tc = tcase_create("camunda");

	tcase_add_checked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, camunda_saas_zeebe);
	tcase_add_test(tc, camunda_saas_components);
	tcase_add_test(tc, camunda_audience_value);
	tcase_add_test(tc, camunda_self_managed);
	tcase_add_test(tc, camunda_relative_path);
	tcase_add_test(tc, camunda_oauth2_keys_refused);
	tcase_add_test(tc, camunda_keys_required);
	tcase_add_test(tc, camunda_keys_other_provider);
	tcase_add_test(tc, camunda_file_rules);
	tcase_add_test(tc, camunda_file_errors);
	tcase_add_test(tc, camunda_unknown_variable);
	tcase_add_test(tc, camunda_request_identity);
	tcase_add_test(tc, camunda_conf_load_and_pack);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(config_camunda_suite());
}
