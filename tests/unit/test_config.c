/*
 * test_config.c - the main file and credential files
 * (provider/config_load.c, config_cred.c, config_ini.c, config_check.c).
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "seg.h"
#include "testutil.h"

#define SECRET	"s3cr3t-VALUE-xyz"
/* ca_file is read by the monitor, which checks only that it is PEM. */
#define CA_PEM	"-----BEGIN CERTIFICATE-----\nMIIB\n" \
	"-----END CERTIFICATE-----\n"

/* Lines 1-5 of a valid credential file; tests append from line 6. */
#define BASE \
	"[credential]\n" \
	"provider = oauth2\n" \
	"token_url = https://login.example.com/oauth/token\n" \
	"client_id = my-client\n" \
	"client_secret_file = secret\n"

/* 256 bytes: one more than a user or group name may have */
#define LONG_NAME16 "nnnnnnnnnnnnnnnn"
#define LONG_NAME \
	LONG_NAME16 LONG_NAME16 LONG_NAME16 LONG_NAME16 \
	LONG_NAME16 LONG_NAME16 LONG_NAME16 LONG_NAME16 \
	LONG_NAME16 LONG_NAME16 LONG_NAME16 LONG_NAME16 \
	LONG_NAME16 LONG_NAME16 LONG_NAME16 LONG_NAME16

static void
mkd(const char *rel)
{
	ck_assert_int_eq(mkdir(tu_path(rel), 0755), 0);
}

static void
assert_no_ctl(const char *err)
{
	const unsigned char *p;

	for (p = (const unsigned char *)err; *p != '\0'; p++)
		ck_assert_msg(*p >= 0x20 && *p != 0x7f,
		    "control byte 0x%02x in '%s'", *p, err);
}

/* err names path, and line (or no line when 0), and says what. */
static void
assert_err(const char *err, const char *path, unsigned int line,
    const char *what)
{
	char want[PATH_MAX + 32];

	if (line != 0)
		snprintf(want, sizeof(want), "%s:%u: ", path, line);
	else
		snprintf(want, sizeof(want), "%s: ", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "error '%s' does not start with '%s'", err, want);
	ck_assert_msg(strstr(err, what) != NULL,
	    "error '%s' lacks '%s'", err, what);
	ck_assert_ptr_null(strstr(err, SECRET));
	ck_assert_uint_lt(strlen(err), CONF_ERR_MAX);
	assert_no_ctl(err);
}

static void
put_secret(void)
{
	tu_put("secret", 0600, SECRET "\n");
}

/* Load the scratch cred.conf as credential "cred"; expect failure. */
static void
cred_fails(const char *content, unsigned int line, const char *what)
{
	struct cred_conf c;
	char err[CONF_ERR_MAX];

	tu_put("cred.conf", 0600, content);
	memset(&c, 0x5a, sizeof(c));
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	assert_err(err, tu_path("cred.conf"), line, what);
	/* untouched on failure */
	{
		unsigned char *p = (unsigned char *)&c;
		size_t i;

		for (i = 0; i < sizeof(c); i++)
			ck_assert_uint_eq(p[i], 0x5a);
	}
}

static void
cred_ok(const char *content, struct cred_conf *c)
{
	char err[CONF_ERR_MAX] = "";

	tu_put("cred.conf", 0600, content);
	ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred", c,
	    err) == 0, "%s", err);
}

/* ---- the main file ----------------------------------------------------- */

START_TEST(main_defaults)
{
	struct daemon_conf *c = NULL;
	char err[CONF_ERR_MAX];
	static const char *const bodies[] = { "", "[daemon]\n",
	    "# only a comment\n\n[daemon]\n; another\n" };
	size_t i;

	for (i = 0; i < 3; i++) {
		tu_put("tokencache.conf", 0644, bodies[i]);
		ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0,
		    "%s", err);
		ck_assert_str_eq(c->path, tu_path("tokencache.conf"));
		ck_assert_str_eq(c->runtime_dir, "/run/tokencache");
		ck_assert_str_eq(c->credentials_dir, tu_path("credentials.d"));
		ck_assert_uint_eq(c->max_credentials, 128);
		ck_assert_uint_eq(c->max_token_size, 16384);
		ck_assert_str_eq(c->user, "tokencache");
		ck_assert_ptr_null(c->admin_group);
		ck_assert_int_eq(c->key_rotation_interval, 86400);
		ck_assert_uint_eq(c->endpoint_rate, 1);
		ck_assert_uint_eq(c->endpoint_burst, 2);
		ck_assert_int_eq(c->refresh_min_interval, 10);
		ck_assert_ptr_null(c->metrics_textfile);
		ck_assert_int_eq(c->metrics_interval, 15);
		ck_assert_uint_eq(c->ncreds, 0);
		/* The local endpoint is off without its section. */
		ck_assert_int_eq(c->endpoint.on, 0);
		ck_assert_uint_eq(c->endpoint.nlisten, 0);
		conf_free(c);
	}
}
END_TEST

START_TEST(main_endpoint)
{
	struct daemon_conf *c = NULL;
	char err[CONF_ERR_MAX];

	/* The section alone: the Unix socket, the defaults. */
	tu_put("tokencache.conf", 0644, "[daemon]\n[endpoint]\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0,
	    "%s", err);
	ck_assert_int_eq(c->endpoint.on, 1);
	ck_assert_uint_eq(c->endpoint.nlisten, 0);
	ck_assert_int_eq(c->endpoint.min_lifetime, 60);
	ck_assert_uint_eq(c->endpoint.max_connections, 256);
	ck_assert_uint_eq(c->endpoint.max_connections_per_user, 64);
	conf_free(c);

	/* Before [daemon] or after it; listen repeats. */
	tu_put("tokencache.conf", 0644, "[endpoint]\n"
	    "listen = 127.0.0.1:8080\n"
	    "listen = [::1]:8080\n"
	    "listen = 127.1.2.3:65535\n"
	    "min_lifetime = 0\n"
	    "max_connections = 4096\n"
	    "max_connections_per_user = 1\n"
	    "[daemon]\nruntime_dir = /run/x\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0,
	    "%s", err);
	ck_assert_uint_eq(c->endpoint.nlisten, 3);
	ck_assert_str_eq(c->endpoint.listen[0], "127.0.0.1:8080");
	ck_assert_str_eq(c->endpoint.listen[1], "[::1]:8080");
	ck_assert_str_eq(c->endpoint.listen[2], "127.1.2.3:65535");
	ck_assert_ptr_null(c->endpoint.listen[3]);
	ck_assert_int_eq(c->endpoint.min_lifetime, 0);
	ck_assert_uint_eq(c->endpoint.max_connections, 4096);
	ck_assert_uint_eq(c->endpoint.max_connections_per_user, 1);
	ck_assert_str_eq(c->runtime_dir, "/run/x");
	conf_free(c);
}
END_TEST

START_TEST(listen_parse)
{
	static const char *const good[] = { "127.0.0.1:1", "127.255.0.9:80",
	    "[::1]:443", "[0:0:0:0:0:0:0:1]:8080" };
	static const struct { const char *s, *why; } bad[] = {
		{ "0.0.0.0:8080", "not a loopback" },
		{ "192.168.1.1:8080", "not a loopback" },
		{ "128.0.0.1:8080", "not a loopback" },
		{ "[::]:8080", "not a loopback" },
		{ "[::ffff:127.0.0.1]:8080", "not a loopback" },
		{ "[fe80::1]:8080", "not a loopback" },
		{ "localhost:8080", "names are not looked up" },
		{ "::1:8080", "expected a numeric" },
		{ "127.0.0.1", "expected ADDRESS:PORT" },
		{ "8080", "expected ADDRESS:PORT" },
		{ "127.0.0.1:0", "1..65535" },
		{ "127.0.0.1:65536", "1..65535" },
		{ "127.0.0.1:http", "1..65535" },
		{ "127.0.0.1:", "1..65535" },
		{ "[::1]8080", "expected [::1]:PORT" },
		{ ":8080", "numeric loopback" },
		{ "127.0.0.1 :8080", "numeric" },
	};
	struct sockaddr_storage ss;
	const char *why = NULL;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(conf_listen_parse(good[i], &ss, &why) == 0,
		    "%s: %s", good[i], why);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(conf_listen_parse(bad[i].s, &ss, &why) == -1,
		    "%s accepted", bad[i].s);
		ck_assert_msg(why != NULL && strstr(why, bad[i].why) != NULL,
		    "%s: '%s' lacks '%s'", bad[i].s, why, bad[i].why);
	}
}
END_TEST

START_TEST(main_keys)
{
	struct daemon_conf *c = NULL;
	char err[CONF_ERR_MAX];

	tu_put("tokencache.conf", 0644,
	    "[daemon]\n"
	    "runtime_dir = /run/tc-test\n"
	    "  credentials_dir\t=   /nonexistent/creds  \n"
	    "max_credentials=5\n"
	    "user = tc-daemon_1\n"
	    "admin_group = tc.admins\n"
	    "key_rotation_interval = 0\n"
	    "refresh_min_interval = 0\n"
	    "max_token_size = 2048\r\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0, "%s",
	    err);
	ck_assert_str_eq(c->user, "tc-daemon_1");
	ck_assert_str_eq(c->admin_group, "tc.admins");
	ck_assert_int_eq(c->key_rotation_interval, 0);
	ck_assert_int_eq(c->refresh_min_interval, 0);
	ck_assert_str_eq(c->runtime_dir, "/run/tc-test");
	ck_assert_str_eq(c->credentials_dir, "/nonexistent/creds");
	ck_assert_uint_eq(c->max_credentials, 5);
	ck_assert_uint_eq(c->max_token_size, 2048);
	ck_assert_uint_eq(c->ncreds, 0);
	conf_free(c);

	tu_put("tokencache.conf", 0644, "[daemon]\nmax_credentials = 65536\n"
	    "max_token_size = 1048576\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0, "%s",
	    err);
	ck_assert_uint_eq(c->max_credentials, 65536);
	ck_assert_uint_eq(c->max_token_size, 1048576);
	conf_free(c);

	tu_put("tokencache.conf", 0644, "[daemon]\nmax_credentials = 1\n"
	    "max_token_size = 1024\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0, "%s",
	    err);
	ck_assert_uint_eq(c->max_credentials, 1);
	ck_assert_uint_eq(c->max_token_size, 1024);
	conf_free(c);

	tu_put("tokencache.conf", 0644, "[daemon]\n"
	    "metrics_textfile = /var/lib/node_exporter/tokencache.prom\n"
	    "metrics_interval = 60\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0, "%s",
	    err);
	ck_assert_str_eq(c->metrics_textfile,
	    "/var/lib/node_exporter/tokencache.prom");
	ck_assert_int_eq(c->metrics_interval, 60);
	conf_free(c);
}
END_TEST

START_TEST(main_relative_credentials_dir)
{
	struct daemon_conf *c = NULL;
	char err[CONF_ERR_MAX];

	mkd("etc");
	mkd("etc/creds");
	tu_put("etc/tokencache.conf", 0644, "[daemon]\ncredentials_dir = creds\n");
	tu_put("etc/creds/secret", 0600, SECRET);
	tu_put("etc/creds/zeebe.conf", 0600, BASE);
	/* resolution must not depend on the working directory */
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_msg(conf_load(tu_path("etc/tokencache.conf"), &c, err) == 0,
	    "%s", err);
	ck_assert_str_eq(c->credentials_dir, tu_path("etc/creds"));
	ck_assert_uint_eq(c->ncreds, 1);
	ck_assert_str_eq(c->creds[0].name, "zeebe");
	ck_assert_str_eq(c->creds[0].path, tu_path("etc/creds/zeebe.conf"));
	ck_assert_str_eq(c->creds[0].client_secret, SECRET);
	conf_free(c);

	tu_put("etc/tokencache.conf", 0644,
	    "[daemon]\ncredentials_dir = ../etc/./creds\n");
	ck_assert_msg(conf_load(tu_path("etc/tokencache.conf"), &c, err) == 0,
	    "%s", err);
	ck_assert_uint_eq(c->ncreds, 1);
	conf_free(c);
}
END_TEST

/*
 * The longest runtime_dir taken is the one whose temporary socket path,
 * runtime_dir/.socket, just fits in sun_path with its NUL; one byte more
 * is an error naming the limit.
 */
START_TEST(main_runtime_dir_longest)
{
	struct daemon_conf *c = NULL;
	char err[CONF_ERR_MAX], dir[256], text[512];
	size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1 -
	    strlen("/" SEG_SOCKET_TEMP);

	ck_assert_uint_eq(max, 99);
	memset(dir, 'a', sizeof(dir));
	dir[0] = '/';
	dir[max] = '\0';
	snprintf(text, sizeof(text), "[daemon]\nruntime_dir = %s\n", dir);
	tu_put("tokencache.conf", 0644, text);
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0, "%s",
	    err);
	ck_assert_uint_eq(strlen(c->runtime_dir), max);
	conf_free(c);

	dir[max] = 'a';
	dir[max + 1] = '\0';
	snprintf(text, sizeof(text), "[daemon]\nruntime_dir = %s\n", dir);
	tu_put("tokencache.conf", 0644, text);
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &c, err), -1);
	ck_assert_msg(strstr(err, "tokencache.conf:2: runtime_dir is longer "
	    "than 99 bytes") != NULL, "%s", err);
}
END_TEST

START_TEST(main_missing)
{
	struct daemon_conf *c = (struct daemon_conf *)&c;   /* sentinel */
	char err[CONF_ERR_MAX];

	ck_assert_int_eq(conf_load(tu_path("nope.conf"), &c, err), -1);
	ck_assert_ptr_eq(c, (struct daemon_conf *)&c);
	assert_err(err, tu_path("nope.conf"), 0, "No such file");

	/* a directory is not a configuration file */
	ck_assert_int_eq(conf_load(tu_scratch(), &c, err), -1);
	assert_err(err, tu_scratch(), 0, "not a regular file");
}
END_TEST

static const struct {
	const char *content;
	unsigned int line;
	const char *what;
} main_errors[] = {
	{ "[daemon]\nruntime_dir = /run/x\nfoo = 1\n", 3,
	  "unknown key 'foo' in [daemon]" },
	{ "[daemon]\nuser = bad/name\n", 2, "user: not a valid user" },
	{ "[daemon]\nadmin_group = a b\n", 2, "admin_group: not a valid" },
	{ "[daemon]\nkey_rotation_interval = 59\n", 2,
	  "key_rotation_interval must be" },
	{ "[daemon]\nkey_rotation_interval = x\n", 2,
	  "key_rotation_interval must be" },
	{ "[daemon]\nendpoint_rate = 0\n", 2, "endpoint_rate must be" },
	{ "[daemon]\nendpoint_burst = 1001\n", 2, "endpoint_burst must be" },
	{ "[daemon]\nrefresh_min_interval = 86401\n", 2,
	  "refresh_min_interval must be" },
	{ "[daemon]\nrefresh_min_interval = -1\n", 2,
	  "refresh_min_interval must be" },
	{ "[daemon]\nrefresh_min_interval = 10\nrefresh_min_interval = 5\n",
	  3, "refresh_min_interval" },
	{ "[daemon]\nmetrics_textfile = tc.prom\n", 2,
	  "metrics_textfile must be an absolute path" },
	{ "[daemon]\nmetrics_textfile = /var/lib/\n", 2,
	  "metrics_textfile must be an absolute path" },
	{ "[daemon]\n\nmetrics_interval = 0\n", 3,
	  "metrics_interval must be" },
	{ "[daemon]\nmetrics_interval = 86401\n", 2,
	  "metrics_interval must be" },
	{ "[daemon]\nmax_credentials = 1\nmax_credentials = 2\n", 3,
	  "key 'max_credentials' given twice" },
	{ "[server]\n", 1, "unknown section [server]" },
	{ "[endpoint]\nlisten = 10.0.0.1:80\n", 2, "listen '10.0.0.1:80': "
	  "not a loopback address" },
	{ "[endpoint]\nlisten = 127.0.0.1:80\nlisten = 127.0.0.1:80\n", 3,
	  "given twice" },
	{ "[endpoint]\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n"
	  "listen = 127.0.0.1:3\nlisten = 127.0.0.1:4\nlisten = 127.0.0.1:5\n"
	  "listen = 127.0.0.1:6\nlisten = 127.0.0.1:7\nlisten = 127.0.0.1:8\n"
	  "listen = 127.0.0.1:9\n", 10, "more than 8 listen lines" },
	{ "[endpoint]\nmin_lifetime = 3601\n", 2, "min_lifetime must be" },
	{ "[endpoint]\nmin_lifetime = 1\nmin_lifetime = 2\n", 3,
	  "given twice" },
	{ "[endpoint]\nmax_connections = 0\n", 2, "max_connections must" },
	{ "[endpoint]\nmax_connections_per_user = 4097\n", 2,
	  "max_connections_per_user must" },
	{ "[endpoint]\nruntime_dir = /x\n", 2,
	  "unknown key 'runtime_dir' in [endpoint]" },
	{ "[endpoint]\n[daemon]\nlisten = 127.0.0.1:80\n", 3,
	  "unknown key 'listen' in [daemon]" },
	{ "[endpoint]\n[endpoint]\n", 2, "section [endpoint] given twice" },
	{ "[daemon]\n[daemon]\n", 2, "given twice" },
	{ "runtime_dir = /x\n", 1, "key outside any section" },
	{ "\n\n# c\nruntime_dir = /x\n", 4, "key outside any section" },
	{ "[daemon]\nmax_credentials = 0\n", 2, "max_credentials must be" },
	{ "[daemon]\nmax_credentials = 65537\n", 2, "max_credentials" },
	{ "[daemon]\nmax_credentials = abc\n", 2, "max_credentials" },
	{ "[daemon]\nmax_credentials = -1\n", 2, "max_credentials" },
	{ "[daemon]\nmax_credentials = +1\n", 2, "max_credentials" },
	{ "[daemon]\nmax_credentials = 1 2\n", 2, "max_credentials" },
	{ "[daemon]\nmax_credentials = 99999999999999999999999999\n", 2,
	  "max_credentials" },
	{ "[daemon]\nmax_token_size = 1023\n", 2, "max_token_size must be" },
	{ "[daemon]\nmax_token_size = 1048577\n", 2, "max_token_size" },
	{ "[daemon]\nruntime_dir = run/x\n", 2, "absolute" },
	{ "[daemon]\nruntime_dir =\n", 2, "key 'runtime_dir' has no value" },
	{ "[daemon]\nruntime_dir = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaa\n", 2, "longer than" },
	{ "[daemon]\nnonsense\n", 2, "expected 'key = value'" },
	{ "[daemon]\n# c\n; c\n\n \t \nbad line\n", 6,
	  "expected 'key = value'" },
	{ "[daemon]\n\"runtime_dir\" = /x\n", 2, "expected 'key = value'" },
	{ "[daemon\n", 1, "expected '[section]'" },
	{ "[]\n", 1, "expected '[section]'" },
	{ "[dae mon]\n", 1, "invalid section name" },
	{ "[daemon]\nruntime_dir = /x\x1b[0m\n", 2, "control character" },
	/* The README's example once had comments after values (issue 15):
	 * runtime_dir became "/run/tokencache        # cache, ...". */
	{ "[daemon]\nruntime_dir = /run/tokencache        # cache, socket, "
	  "lock (tmpfs)\n", 2, "'#' after a value: a comment must be on a "
	  "line of its own" },
	{ "[daemon]\n#user = x\nuser = tokencache\t# the worker\n", 3,
	  "'#' after a value" },
	{ "[daemon]\nmax_credentials = 12 ; twelve\n", 2,
	  "';' after a value" },
	{ "[daemon]\ncredentials_dir = /etc/x #y\n", 2, "'#' after a value" },
	/* ...and a value that is all comment: "# the cache" is no path. */
	{ "[daemon]\nruntime_dir = # the cache\n", 2, "value of "
	  "'runtime_dir' begins with '#': a comment must be on a line of "
	  "its own" },
	{ "[daemon]\nuser =\t;tokencache\n", 2,
	  "value of 'user' begins with ';'" },
};

START_TEST(main_error_lines)
{
	struct daemon_conf *c = (struct daemon_conf *)&c;
	char err[CONF_ERR_MAX];

	tu_put("tokencache.conf", 0644, main_errors[_i].content);
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &c, err), -1);
	ck_assert_ptr_eq(c, (struct daemon_conf *)&c);
	assert_err(err, tu_path("tokencache.conf"), main_errors[_i].line,
	    main_errors[_i].what);
}
END_TEST

/* ---- credential files -------------------------------------------------- */

START_TEST(cred_defaults)
{
	struct cred_conf c;

	put_secret();
	cred_ok(BASE, &c);
	ck_assert_str_eq(c.name, "cred");
	ck_assert_str_eq(c.path, tu_path("cred.conf"));
	ck_assert_str_eq(c.provider, "oauth2");
	ck_assert_str_eq(c.token_url, "https://login.example.com/oauth/token");
	ck_assert_str_eq(c.client_id, "my-client");
	ck_assert_str_eq(c.client_secret, SECRET);
	ck_assert_uint_eq(c.client_secret_len, strlen(SECRET));
	ck_assert_int_eq(c.auth_method, AUTH_CLIENT_SECRET_POST);
	ck_assert_ptr_null(c.audience);
	ck_assert_ptr_null(c.scope);
	ck_assert_ptr_nonnull(c.resources);
	ck_assert_ptr_null(c.resources[0]);
	ck_assert_uint_eq(c.nresources, 0);
	ck_assert_ptr_nonnull(c.allow_users);
	ck_assert_ptr_null(c.allow_users[0]);
	ck_assert_uint_eq(c.nallow_users, 0);
	ck_assert_ptr_nonnull(c.allow_groups);
	ck_assert_ptr_null(c.allow_groups[0]);
	ck_assert_uint_eq(c.nallow_groups, 0);
	ck_assert_int_eq(c.timeout_ms, 30000);
	ck_assert_int_eq(c.default_lifetime, 3600);
	ck_assert_int_eq(c.max_lifetime, 2678400);
	ck_assert_ptr_null(c.ca_file);
	conf_cred_clear(&c);
	ck_assert_ptr_null(c.client_secret);
	ck_assert_ptr_null(c.name);
	conf_cred_clear(&c);
	conf_cred_clear(NULL);
}
END_TEST

START_TEST(cred_every_key)
{
	struct cred_conf c;
	char body[1024];

	put_secret();
	ck_assert_int_eq(mkdir(tu_path("ca"), 0755), 0);
	tu_put("ca/roots.pem", 0644, CA_PEM);
	tu_put("abs-ca.pem", 0644, CA_PEM);
	cred_ok("# Camunda SaaS\r\n"
	    "[credential]\r\n"
	    "provider=oauth2\r\n"
	    "  token_url   =   https://login.cloud.camunda.io/oauth/token\r\n"
	    "client_id = id with spaces ~!\r\n"
	    "client_secret_file = ./secret\r\n"
	    "auth_method = client_secret_basic\r\n"
	    "audience = zeebe.camunda.io#not;a-comment\r\n"
	    "scope = read write=x\r\n"
	    "resource = https://api.example.com/\r\n"
	    "; comment between\r\n"
	    "resource = urn+x.y-z://thing\r\n"
	    "resource = urn:tokencache:api\r\n"
	    "resource = https://api.example.com/\r\n"
	    "allow_users = alice  bob\tcarol\r\n"
	    "allow_groups = svc\r\n"
	    "timeout = 5\r\n"
	    "default_lifetime = 600\r\n"
	    "max_lifetime = 7200\r\n"
	    "ca_file = ca/roots.pem\r\n", &c);
	ck_assert_str_eq(c.token_url,
	    "https://login.cloud.camunda.io/oauth/token");
	ck_assert_str_eq(c.client_id, "id with spaces ~!");
	ck_assert_str_eq(c.client_secret, SECRET);
	ck_assert_int_eq(c.auth_method, AUTH_CLIENT_SECRET_BASIC);
	ck_assert_str_eq(c.audience, "zeebe.camunda.io#not;a-comment");
	ck_assert_str_eq(c.scope, "read write=x");
	ck_assert_uint_eq(c.nresources, 4);
	ck_assert_str_eq(c.resources[0], "https://api.example.com/");
	ck_assert_str_eq(c.resources[1], "urn+x.y-z://thing");
	ck_assert_str_eq(c.resources[2], "urn:tokencache:api");
	ck_assert_str_eq(c.resources[3], "https://api.example.com/");
	ck_assert_ptr_null(c.resources[4]);
	ck_assert_uint_eq(c.nallow_users, 3);
	ck_assert_str_eq(c.allow_users[0], "alice");
	ck_assert_str_eq(c.allow_users[1], "bob");
	ck_assert_str_eq(c.allow_users[2], "carol");
	ck_assert_ptr_null(c.allow_users[3]);
	ck_assert_uint_eq(c.nallow_groups, 1);
	ck_assert_str_eq(c.allow_groups[0], "svc");
	ck_assert_ptr_null(c.allow_groups[1]);
	ck_assert_int_eq(c.timeout_ms, 5000);
	ck_assert_int_eq(c.default_lifetime, 600);
	ck_assert_int_eq(c.max_lifetime, 7200);
	ck_assert_str_eq(c.ca_file, tu_path("ca/roots.pem"));
	conf_cred_clear(&c);

	/* An absolute path is kept as it is; the monitor reads the file. */
	snprintf(body, sizeof(body), BASE "ca_file = %s\n"
	    "auth_method = client_secret_post\n"
	    "timeout = 600\n", tu_path("abs-ca.pem"));
	cred_ok(body, &c);
	ck_assert_str_eq(c.ca_file, tu_path("abs-ca.pem"));
	ck_assert_str_eq(c.ca_pem, CA_PEM);
	ck_assert_uint_eq(c.ca_pem_len, strlen(CA_PEM));
	ck_assert_int_eq(c.auth_method, AUTH_CLIENT_SECRET_POST);
	ck_assert_int_eq(c.timeout_ms, 600000);
	conf_cred_clear(&c);

	/* a short max_lifetime pulls the built-in default down with it */
	cred_ok(BASE "max_lifetime = 60\n", &c);
	ck_assert_int_eq(c.max_lifetime, 60);
	ck_assert_int_eq(c.default_lifetime, 60);
	conf_cred_clear(&c);
}
END_TEST

static const struct {
	const char *content;
	unsigned int line;
	const char *what;
} cred_errors[] = {
	{ BASE "tokn_url = https://x/\n", 6,
	  "unknown key 'tokn_url' in [credential]" },
	{ BASE "client_id = again\n", 6, "key 'client_id' given twice" },
	{ BASE "\n\nclient_secret_file = other\n", 8,
	  "key 'client_secret_file' given twice" },
	{ BASE "allow_users = a\nallow_users = b\n", 7,
	  "key 'allow_users' given twice" },
	{ "[credential]\nprovider = oauth2\nclient_id = a\n"
	  "client_secret_file = secret\n", 0,
	  "missing required key 'token_url'" },
	{ "[credential]\ntoken_url = https://a/\nclient_id = a\n"
	  "client_secret_file = secret\n", 0,
	  "missing required key 'provider'" },
	{ "[credential]\nprovider = oauth2\ntoken_url = https://a/\n"
	  "client_secret_file = secret\n", 0,
	  "missing required key 'client_id'" },
	{ "", 0, "missing required key 'provider'" },
	{ "[credential]\n", 0, "missing required key 'provider'" },
	{ "[credential]\nprovider = oauth2\ntoken_url = https://a/\n"
	  "client_id = a\n", 0,
	  "missing required key 'client_secret_file' (or 'client_secret')" },
	{ BASE "client_secret = " SECRET "\n", 6,
	  "give client_secret_file or client_secret, not both" },
	{ "[credential]\nclient_secret = s3cret # inline\n", 2,
	  "'#' after a value" },
	{ "[credential]\ntoken_url = https://a.example/t  # the token\n", 2,
	  "'#' after a value" },
	{ "[credential]\nscope = # read write\n", 2,
	  "value of 'scope' begins with '#'" },
	{ "[credential]\nclient_secret = #s3cret\n", 2,
	  "value of 'client_secret' begins with '#'" },
	{ "[credential]\naudience = ;zeebe\n", 2,
	  "value of 'audience' begins with ';'" },
	{ "[credential]\nprovider = Oidc\n", 2,
	  "provider 'Oidc' is not a module name" },
	{ "[credential]\nprovider = \xe2\x80\x8b\n", 2,
	  "provider '?\?\?' is not a module name" },
	{ "[credential]\ntoken_url = http://login.example.com/token\n", 2,
	  "token_url must use https:// (http:// is allowed only for "
	  "127.0.0.0/8, [::1] and localhost)" },
	{ "[credential]\ntoken_url = ftp://login.example.com/\n", 2,
	  "must start with https://" },
	{ "[credential]\ntoken_url = login.example.com\n", 2,
	  "must start with https://" },
	{ "[credential]\ntoken_url = https://\n", 2, "must start with https" },
	{ "[credential]\ntoken_url = https:///token\n", 2, "no host" },
	{ "[credential]\ntoken_url = https://:443/token\n", 2, "no host" },
	{ "[credential]\ntoken_url = https://[]/token\n", 2, "no host" },
	{ "[credential]\ntoken_url = https://[::1/token\n", 2,
	  "unterminated" },
	{ "[credential]\ntoken_url = https://[::1]x/token\n", 2, "junk" },
	{ "[credential]\ntoken_url = https://u:p@host/token\n", 2,
	  "user information" },
	{ "[credential]\ntoken_url = https://host:0/\n", 2, "invalid port" },
	{ "[credential]\ntoken_url = https://host:65536/\n", 2,
	  "invalid port" },
	{ "[credential]\ntoken_url = https://host:/\n", 2, "invalid port" },
	{ "[credential]\ntoken_url = https://host:44a/\n", 2,
	  "invalid port" },
	{ "[credential]\ntoken_url = https://host/#frag\n", 2, "fragment" },
	{ "[credential]\ntoken_url = https://host/a b\n", 2, "space" },
	{ "[credential]\ntoken_url = https://h\xc3\xb6st/\n", 2, "space" },
	{ "[credential]\nclient_id = caf\xc3\xa9\n", 2,
	  "client_id contains a byte outside printable ASCII" },
	{ "[credential]\nclient_id = a\tb\n", 2, "client_id contains" },
	{ "[credential]\nclient_secret = caf\xc3\xa9" SECRET "\n", 2,
	  "client_secret contains a byte outside printable ASCII" },
	{ BASE "auth_method = basic\n", 6,
	  "unknown auth_method 'basic' (known: client_secret_post, "
	  "client_secret_basic, tls_client_auth, private_key_jwt)" },
	{ BASE "resource = api.example.com\n", 6, "absolute URI" },
	{ BASE "resource = ://x\n", 6, "absolute URI" },
	{ BASE "resource = urn:\n", 6, "absolute URI" },
	{ BASE "resource = 1http://x\n", 6, "absolute URI" },
	{ BASE "resource = ht_tp://x\n", 6, "absolute URI" },
	{ BASE "resource = https://x/\nresource = https://x/#f\n", 7,
	  "absolute URI" },
	{ BASE "resource = https://x/ y\n", 6, "absolute URI" },
	{ BASE "audience = a\xff\n", 6, "audience contains" },
	{ BASE "scope = a\tb\n", 6, "scope contains" },
	{ BASE "timeout = 0\n", 6, "timeout must be an integer in 1..600" },
	{ BASE "timeout = 601\n", 6, "timeout must be" },
	{ BASE "timeout = 30s\n", 6, "timeout must be" },
	{ BASE "timeout = -1\n", 6, "timeout must be" },
	{ BASE "timeout =\n", 6, "key 'timeout' has no value" },
	{ BASE "timeout = \t \n", 6, "key 'timeout' has no value" },
	{ BASE "default_lifetime = 0\n", 6, "default_lifetime must be" },
	{ BASE "max_lifetime = 0\n", 6, "max_lifetime must be" },
	{ BASE "max_lifetime = 315360001\n", 6, "max_lifetime must be" },
	{ BASE "default_lifetime = 7200\nmax_lifetime = 3600\n", 6,
	  "default_lifetime 7200 exceeds max_lifetime 3600" },
	{ BASE "allow_users = ok " LONG_NAME "\n", 6, "longer than 255" },
	{ "[cred]\n", 1, "unknown section [cred] (expected [credential] or [source])" },
	{ "[daemon]\n", 1, "unknown section [daemon]" },
	{ "provider = oauth2\n", 1, "key outside any section" },
	{ BASE "just words\n", 6, "expected 'key = value'" },
	{ BASE "= value\n", 6, "expected 'key = value'" },
	{ BASE "key with space = 1\n", 6, "expected 'key = value'" },
	{ BASE "[credential]\n", 6, "section [credential] given twice" },
	{ BASE "[credential\n", 6, "expected '[section]'" },
	{ BASE "[credential] # x\n", 6, "expected '[section]'" },
	{ BASE "audience = a\x01z\n", 6,
	  "value of 'audience' contains a control character" },
	{ BASE "audience = a\rz\n", 6, "control character" },
	{ BASE "ca_file =\n", 6, "key 'ca_file' has no value" },
	{ BASE "client_secret\n", 6, "expected 'key = value'" },
	{ BASE SECRET "\n", 6, "expected 'key = value'" },
};

START_TEST(cred_error_lines)
{
	put_secret();
	cred_fails(cred_errors[_i].content, cred_errors[_i].line,
	    cred_errors[_i].what);
}
END_TEST

static const char *const loopback_ok[] = {
	"http://127.0.0.1/token",
	"http://127.0.0.1:8080/token",
	"http://127.1.2.3/t",
	"http://127.255.255.255/",
	"http://[::1]/token",
	"http://[::1]:9000/token",
	"http://localhost/token",
	"http://LOCALHOST:1/",
	"HTTP://localhost/x?y=1",
	"http://127.0.0.1",
	"http://localhost?q",
	"https://[2001:db8::1]:8443/token",
	"HTTPS://Login.Example.COM/token",
	"https://example.com:443",
	NULL,
};

static const char *const loopback_bad[] = {
	"http://127.0.0.1.nip.io/",
	"http://10.0.0.1/",
	"http://128.0.0.1/",
	"http://127.0.0.01/",
	"http://0127.0.0.1/",
	"http://127.0.0/",
	"http://127.0.0.1.1/",
	"http://127.0.0.256/",
	"http://1270.0.0.1/",
	"http://0x7f000001/",
	"http://2130706433/",
	"http://localhost.evil.example/",
	"http://localhostx/",
	"http://[::2]/",
	"http://[0:0:0:0:0:0:0:1]/",
	"http://[::1/",
	"http://user@127.0.0.1/",
	"http://evil@localhost/",
	"http://127.0.0.1@evil.example/",
	"http://",
	NULL,
};

START_TEST(token_url_loopback)
{
	struct cred_conf c;
	char body[512];
	size_t i;

	put_secret();
	for (i = 0; loopback_ok[i] != NULL; i++) {
		snprintf(body, sizeof(body), "[credential]\nprovider = oauth2\n"
		    "token_url = %s\nclient_id = a\nclient_secret_file = "
		    "secret\n", loopback_ok[i]);
		cred_ok(body, &c);
		ck_assert_str_eq(c.token_url, loopback_ok[i]);
		conf_cred_clear(&c);
	}
	for (i = 0; loopback_bad[i] != NULL; i++) {
		snprintf(body, sizeof(body), "[credential]\nprovider = oauth2\n"
		    "token_url = %s\nclient_id = a\nclient_secret_file = "
		    "secret\n", loopback_bad[i]);
		cred_fails(body, 3, "token_url");
	}
}
END_TEST

/* ---- secrets ----------------------------------------------------------- */

START_TEST(secret_file_modes)
{
	struct cred_conf c;
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0610, 0601,
	    0666, 0700 | 0070 };
	static const mode_t good[] = { 0600, 0400, 0700, 04600 };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		tu_put("secret", 0600, SECRET "\n");
		ck_assert_int_eq(chmod(tu_path("secret"), good[i]), 0);
		cred_ok(BASE, &c);
		ck_assert_str_eq(c.client_secret, SECRET);
		conf_cred_clear(&c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tu_put("secret", 0600, SECRET "\n");
		ck_assert_int_eq(chmod(tu_path("secret"), bad[i]), 0);
		cred_fails(BASE, 5, "group- or world-accessible");
		{
			char err[CONF_ERR_MAX];

			ck_assert_int_eq(conf_load_credential(
			    tu_path("cred.conf"), "cred", &c, err), -1);
			ck_assert_ptr_nonnull(strstr(err, tu_path("secret")));
		}
	}
}
END_TEST

START_TEST(secret_file_owner)
{
	struct cred_conf c;
	char err[CONF_ERR_MAX];

	if (geteuid() != 0)
		return;   /* cannot give a file away without root */
	put_secret();
	tu_put("cred.conf", 0600, BASE);
	ck_assert_int_eq(chown(tu_path("secret"), 12345, 12345), 0);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	assert_err(err, tu_path("cred.conf"), 5, "owned by uid 12345");
	ck_assert_ptr_nonnull(strstr(err, tu_path("secret")));

	/* a credential file owned by someone else is refused before its
	 * secret is looked at */
	tu_put("inline.conf", 0600, "[credential]\nprovider = oauth2\n"
	    "token_url = https://a/\nclient_id = a\nclient_secret = "
	    SECRET "\n");
	ck_assert_int_eq(chown(tu_path("inline.conf"), 12345, 12345), 0);
	ck_assert_int_eq(conf_load_credential(tu_path("inline.conf"), "inline",
	    &c, err), -1);
	assert_err(err, tu_path("inline.conf"), 0,
	    "refused: the file is owned by uid 12345");
}
END_TEST

/*
 * Who may write the configuration decides where secrets go: the main
 * file, the credentials directory and every credential file must be
 * root's (or the loader's) and writable by nobody else.
 */
START_TEST(conf_files_trusted)
{
	struct daemon_conf *dc = NULL;
	struct cred_conf c;
	char err[CONF_ERR_MAX];

	put_secret();
	tu_put("cred.conf", 0600, BASE);
	ck_assert_int_eq(chmod(tu_path("cred.conf"), 0620), 0);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	assert_err(err, tu_path("cred.conf"), 0,
	    "refused: the file is group- or world-writable (mode 0620)");

	tu_put("tokencache.conf", 0644, "[daemon]\n");
	ck_assert_int_eq(chmod(tu_path("tokencache.conf"), 0646), 0);
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &dc, err), -1);
	assert_err(err, tu_path("tokencache.conf"), 0,
	    "group- or world-writable (mode 0646)");

	mkd("cd");
	ck_assert_int_eq(chmod(tu_path("cd"), 0775), 0);
	tu_put("tokencache.conf", 0644, "[daemon]\ncredentials_dir = cd\n");
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &dc, err), -1);
	assert_err(err, tu_path("cd"), 0,
	    "refused: the directory is group- or world-writable (mode 0775)");
	ck_assert_int_eq(chmod(tu_path("cd"), 0755), 0);
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &dc, err) == 0, "%s",
	    err);
	conf_free(dc);

	if (geteuid() != 0)
		return;   /* cannot give a file away without root */
	ck_assert_int_eq(chown(tu_path("tokencache.conf"), 12345, 0), 0);
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &dc, err), -1);
	assert_err(err, tu_path("tokencache.conf"), 0, "owned by uid 12345");
}
END_TEST

/* Under privilege separation root loads the configuration, and a secret
 * file may belong to the user the worker runs as. */
START_TEST(secret_owned_by_daemon_user)
{
	struct daemon_conf *dc = NULL;
	struct passwd *pw;
	char err[CONF_ERR_MAX];

	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL)
		return;   /* needs root and the user nobody */
	mkd("cd");
	tu_put("cd/secret", 0600, SECRET);
	tu_put("cd/zeebe.conf", 0600, BASE);
	ck_assert_int_eq(chown(tu_path("cd/secret"), pw->pw_uid, 0), 0);
	tu_put("tokencache.conf", 0644,
	    "[daemon]\ncredentials_dir = cd\nuser = nobody\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &dc, err) == 0, "%s",
	    err);
	ck_assert_uint_eq(dc->ncreds, 1);
	conf_free(dc);
	/* not so for another user */
	tu_put("tokencache.conf", 0644,
	    "[daemon]\ncredentials_dir = cd\nuser = root\n");
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &dc, err), -1);
	ck_assert_msg(strstr(err, "not by root") != NULL, "%s", err);
}
END_TEST

START_TEST(secret_file_kinds)
{
	struct cred_conf c;
	char err[CONF_ERR_MAX];

	/* missing */
	cred_fails(BASE, 5, "No such file");
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	ck_assert_ptr_nonnull(strstr(err, tu_path("secret")));

	/* a symbolic link, even to a good file */
	tu_put("real-secret", 0600, SECRET);
	ck_assert_int_eq(symlink(tu_path("real-secret"), tu_path("secret")), 0);
	cred_fails(BASE, 5, "symbolic link");
	ck_assert_int_eq(unlink(tu_path("secret")), 0);

	/* a directory */
	mkd("secret");
	ck_assert_int_eq(chmod(tu_path("secret"), 0700), 0);
	cred_fails(BASE, 5, "not a regular file");
	ck_assert_int_eq(rmdir(tu_path("secret")), 0);

	/* a FIFO must not hang the daemon */
	ck_assert_int_eq(mkfifo(tu_path("secret"), 0600), 0);
	cred_fails(BASE, 5, "not a regular file");
	ck_assert_int_eq(unlink(tu_path("secret")), 0);

	/* relative to the credential file, not the working directory */
	mkd("sub");
	tu_put("sub/secret", 0600, "sub-" SECRET "\n");
	tu_put("sub/cred.conf", 0600, BASE);
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_msg(conf_load_credential(tu_path("sub/cred.conf"), "cred", &c,
	    err) == 0, "%s", err);
	ck_assert_str_eq(c.client_secret, "sub-" SECRET);
	conf_cred_clear(&c);

	/* absolute */
	tu_put("cred.conf", 0600, "[credential]\nprovider = oauth2\n"
	    "token_url = https://a/\nclient_id = a\n");
	{
		char body[PATH_MAX + 128];

		snprintf(body, sizeof(body), "[credential]\nprovider = oauth2\n"
		    "token_url = https://a/\nclient_id = a\n"
		    "client_secret_file = %s\n", tu_path("sub/secret"));
		cred_ok(body, &c);
		ck_assert_str_eq(c.client_secret, "sub-" SECRET);
		conf_cred_clear(&c);
	}
}
END_TEST

static const struct {
	const char *data;
	size_t len;
	const char *want;   /* NULL: refused */
} secret_contents[] = {
	{ SECRET, sizeof(SECRET) - 1, SECRET },
	{ SECRET "\n", sizeof(SECRET), SECRET },
	{ SECRET "\r\n", sizeof(SECRET) + 1, SECRET },
	{ "  spaced out  \n", 15, "  spaced out  " },
	{ "x", 1, "x" },
	/* read as it is: no comment rule in a secret file */
	{ "a #b ;c\n", 8, "a #b ;c" },
	{ SECRET "\n\n", sizeof(SECRET) + 1, NULL },
	{ SECRET "\r", sizeof(SECRET), NULL },
	{ "", 0, NULL },
	{ "\n", 1, NULL },
	{ "\r\n", 2, NULL },
	{ "a\tb", 3, NULL },
	{ "a\0b", 3, NULL },
	{ "caf\xc3\xa9", 5, NULL },
	{ "a\x7f", 2, NULL },
	{ "line1\nline2", 11, NULL },
};

START_TEST(secret_file_contents)
{
	struct cred_conf c;
	char err[CONF_ERR_MAX];

	tu_putn("secret", 0600, secret_contents[_i].data, secret_contents[_i].len);
	tu_put("cred.conf", 0600, BASE);
	if (secret_contents[_i].want != NULL) {
		ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred",
		    &c, err) == 0, "%s", err);
		ck_assert_str_eq(c.client_secret, secret_contents[_i].want);
		ck_assert_uint_eq(c.client_secret_len,
		    strlen(secret_contents[_i].want));
		conf_cred_clear(&c);
	} else {
		ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"),
		    "cred", &c, err), -1);
		assert_err(err, tu_path("cred.conf"), 5, tu_path("secret"));
	}
}
END_TEST

START_TEST(secret_file_size)
{
	struct cred_conf c;
	char err[CONF_ERR_MAX], *buf = malloc(8192);

	memset(buf, 'k', 8192);
	buf[4096] = '\n';
	tu_putn("secret", 0600, buf, 4097);
	tu_put("cred.conf", 0600, BASE);
	ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err) == 0, "%s", err);
	ck_assert_uint_eq(c.client_secret_len, 4096);
	ck_assert_uint_eq(strlen(c.client_secret), 4096);
	conf_cred_clear(&c);

	buf[4096] = '\r';
	buf[4097] = '\n';
	tu_putn("secret", 0600, buf, 4098);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), 0);
	ck_assert_uint_eq(c.client_secret_len, 4096);
	conf_cred_clear(&c);

	buf[4096] = 'k';
	tu_putn("secret", 0600, buf, 4097);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	assert_err(err, tu_path("cred.conf"), 5, "longer than 4096");

	tu_putn("secret", 0600, buf, 8192);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	assert_err(err, tu_path("cred.conf"), 5, "longer than 4096");
	free(buf);
}
END_TEST

START_TEST(inline_secret)
{
	struct cred_conf c;
	char err[CONF_ERR_MAX];
	const char *body = "[credential]\nprovider = oauth2\n"
	    "token_url = https://a/\nclient_id = a\n"
	    "client_secret =   " SECRET "  \n";

	tu_put("cred.conf", 0600, body);
	ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err) == 0, "%s", err);
	ck_assert_str_eq(c.client_secret, SECRET);
	ck_assert_uint_eq(c.client_secret_len, strlen(SECRET));
	conf_cred_clear(&c);

	tu_put("cred.conf", 0644, body);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	assert_err(err, tu_path("cred.conf"), 5, "client_secret inline");
	ck_assert_ptr_nonnull(strstr(err, "group- or world-accessible"));

	tu_put("cred.conf", 0640, body);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);

	/* '#' and ';' are fine in a value, after anything but a blank */
	tu_put("cred.conf", 0600, "[credential]\nprovider = oauth2\n"
	    "token_url = https://a/\nclient_id = a\n"
	    "client_secret = s3c#ret;x#\n");
	ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err) == 0, "%s", err);
	ck_assert_str_eq(c.client_secret, "s3c#ret;x#");
	conf_cred_clear(&c);

	/* a file holding only client_secret_file may be world-readable */
	put_secret();
	tu_put("cred.conf", 0644, BASE);
	ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err) == 0, "%s", err);
	conf_cred_clear(&c);
}
END_TEST

/* Every failure involving the secret: the message never quotes it. */
START_TEST(secret_never_in_errors)
{
	static const char *const bodies[] = {
		"[credential]\nclient_secret = " SECRET "\nclient_secret = "
		    SECRET "\n",
		"[credential]\nclient_secret = " SECRET "\x01\n",
		"[credential]\nclient_secret = " SECRET "\xc3\xa9\n",
		"[credential]\nclient_secret = " SECRET "\n",
		"[credential]\nprovider = oauth2\ntoken_url = https://a/\n"
		    "client_id = a\nclient_secret = " SECRET "\nbogus\n",
		"[credential]\nclient_secret = " SECRET "\nclient_secret_file "
		    "= secret\nprovider = oauth2\ntoken_url = https://a/\n"
		    "client_id = a\n",
		"[credential]\nfoo = " SECRET "\n",
		"[credential]\n" SECRET "\n",
		"client_secret = " SECRET "\n",
		"[credential]\nclient_secret = " SECRET "\0\n",
		NULL,
	};
	struct cred_conf c;
	char err[CONF_ERR_MAX];
	size_t i;

	put_secret();
	for (i = 0; bodies[i] != NULL; i++) {
		tu_put("cred.conf", 0644, bodies[i]);
		ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"),
		    "cred", &c, err), -1);
		ck_assert_msg(strstr(err, SECRET) == NULL, "%s", err);
		/* the same in a safe file */
		tu_put("cred.conf", 0600, bodies[i]);
		if (conf_load_credential(tu_path("cred.conf"), "cred", &c,
		    err) == 0)
			conf_cred_clear(&c);
		else
			ck_assert_msg(strstr(err, SECRET) == NULL, "%s", err);
	}

	/* secret files that are refused */
	tu_put("cred.conf", 0600, BASE);
	tu_put("secret", 0644, SECRET);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	ck_assert_ptr_null(strstr(err, SECRET));
	tu_put("secret", 0600, SECRET "\x01");
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	ck_assert_ptr_null(strstr(err, SECRET));
	tu_put("secret", 0600, SECRET "\n\n");
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	ck_assert_ptr_null(strstr(err, SECRET));

	/* an overlong line holding the secret */
	{
		char *big = malloc(6000);

		memset(big, 'a', 6000);
		memcpy(big, "[credential]\nclient_secret = " SECRET, 29 +
		    strlen(SECRET));
		big[5999] = '\n';
		tu_putn("cred.conf", 0600, big, 6000);
		ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"),
		    "cred", &c, err), -1);
		assert_err(err, tu_path("cred.conf"), 2, "longer than 4096");
		free(big);
	}
}
END_TEST

/* ---- the reader's limits ----------------------------------------------- */

START_TEST(nul_and_long_lines)
{
	struct cred_conf c;
	char err[CONF_ERR_MAX], *big;
	static const char nul[] = "[credential]\nprovider = oauth2\n"
	    "token_url = https://a/\0evil\nclient_id = a\n";
	size_t n;

	put_secret();
	tu_putn("cred.conf", 0600, nul, sizeof(nul) - 1);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	assert_err(err, tu_path("cred.conf"), 3, "NUL byte");

	/* a comment of exactly 4096 bytes is fine, 4097 is not */
	big = malloc(2 * 1024 * 1024);
	n = 0;
	memcpy(big, BASE, strlen(BASE));
	n = strlen(BASE);
	big[n] = '#';
	memset(big + n + 1, 'x', 4095);
	n += 4096;
	big[n++] = '\n';
	tu_putn("cred.conf", 0600, big, n);
	ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err) == 0, "%s", err);
	conf_cred_clear(&c);
	/* ... also with CRLF */
	big[n - 1] = '\r';
	big[n++] = '\n';
	tu_putn("cred.conf", 0600, big, n);
	ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err) == 0, "%s", err);
	conf_cred_clear(&c);
	/* 4097 bytes, with and without a newline */
	big[n - 2] = 'x';
	tu_putn("cred.conf", 0600, big, n - 1);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	assert_err(err, tu_path("cred.conf"), 6, "line longer than 4096 bytes");
	big[n - 1] = '\n';
	tu_putn("cred.conf", 0600, big, n);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	assert_err(err, tu_path("cred.conf"), 6, "line longer than 4096 bytes");

	/* a file over 1 MiB, even of blank lines */
	memset(big, '\n', 2 * 1024 * 1024);
	tu_putn("cred.conf", 0600, big, 1024 * 1024 + 1);
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	assert_err(err, tu_path("cred.conf"), 0, "larger than");
	memcpy(big, BASE, strlen(BASE));
	tu_putn("cred.conf", 0600, big, 1024 * 1024);
	ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err) == 0, "%s", err);
	conf_cred_clear(&c);
	free(big);

	/* no trailing newline at all */
	tu_putn("cred.conf", 0600, BASE, strlen(BASE) - 1);
	ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err) == 0, "%s", err);
	conf_cred_clear(&c);
}
END_TEST

static unsigned int rng_state;

static unsigned int
rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

/* Random files: a parse or a clean error, never a crash or a leak. */
START_TEST(random_garbage)
{
	static const char *const pieces[] = {
		"[credential]\n", "[daemon]\n", "[", "]", "=", " = ", "\n",
		"\r\n", "\r", "#", ";", " ", "\t", "\xff", "\x01", "\0",
		"provider = oauth2\n", "token_url = https://a/\n",
		"token_url = http://127.0.0.1:1/\n", "client_id = x\n",
		"client_secret = y\n", "client_secret_file = secret\n",
		"resource = https://r/\n", "allow_users = a  b\n",
		"timeout = 5\n", "max_lifetime = 9\n", "default_lifetime = 10\n",
		"runtime_dir = /run/x\n", "credentials_dir = c\n",
		"max_credentials = 3\n", "max_token_size = 2048\n",
		"provider", "token_url", "https://", "http://", "[::1]", "@",
		":", "%", "\"", "'", "\\", "0", "99999999999999999999",
		SECRET,
	};
	struct daemon_conf *dc;
	struct cred_conf c;
	char err[CONF_ERR_MAX], buf[3000];
	size_t len, k, plen;
	int i, r;

	rng_state = 20240601;
	put_secret();
	for (i = 0; i < 400; i++) {
		len = 0;
		if (i % 3 == 0) {
			len = rng() % sizeof(buf);
			for (k = 0; k < len; k++)
				buf[k] = (char)rng();
		} else {
			while (len < sizeof(buf) - 64 && rng() % 40 != 0) {
				const char *p = pieces[rng() %
				    (sizeof(pieces) / sizeof(pieces[0]))];

				/* "\0" is one NUL byte */
				plen = p[0] == '\0' ? 1 : strlen(p);
				memcpy(buf + len, p, plen);
				len += plen;
			}
		}
		tu_putn("cred.conf", 0600, buf, len);
		err[0] = '\0';
		r = conf_load_credential(tu_path("cred.conf"), "cred", &c, err);
		if (r == 0)
			conf_cred_clear(&c);
		else {
			ck_assert_int_eq(r, -1);
			ck_assert_ptr_nonnull(strstr(err, tu_path("cred.conf")));
			ck_assert_ptr_null(strstr(err, SECRET));
			assert_no_ctl(err);
		}
		r = conf_load(tu_path("cred.conf"), &dc, err);
		if (r == 0)
			conf_free(dc);
		else {
			ck_assert_int_eq(r, -1);
			ck_assert_uint_gt(strlen(err), 0);
			assert_no_ctl(err);
		}
	}
}
END_TEST

/* ---- the credentials directory ----------------------------------------- */

START_TEST(creds_dir_sorted_and_find)
{
	struct daemon_conf *c;
	char err[CONF_ERR_MAX];
	size_t i;

	tu_put("tokencache.conf", 0644, "[daemon]\n");
	mkd("credentials.d");
	tu_put("credentials.d/secret", 0600, SECRET);
	tu_put("credentials.d/b.conf", 0600, BASE);
	tu_put("credentials.d/a.conf", 0600, BASE "audience = A\n");
	/* "a-b.conf" sorts before "a.conf", but "a-b" after "a" */
	tu_put("credentials.d/a-b.conf", 0600, BASE "audience = AB\n");
	tu_put("credentials.d/C~x@y+z-1.conf", 0600, BASE);
	tu_put("credentials.d/z.conf.conf", 0600, BASE);
	/* skipped: hidden, other suffixes, not regular */
	tu_put("credentials.d/.hidden.conf", 0600, "garbage");
	tu_put("credentials.d/.conf", 0600, "garbage");
	tu_put("credentials.d/x.conf~", 0600, "garbage");
	tu_put("credentials.d/x.conf.dpkg-old", 0600, "garbage");
	tu_put("credentials.d/README", 0600, "garbage");
	tu_put("credentials.d/conf", 0600, "garbage");
	mkd("credentials.d/dir.conf");
	ck_assert_int_eq(mkfifo(tu_path("credentials.d/fifo.conf"), 0600), 0);
	/* a symlink to a regular file counts */
	tu_put("elsewhere.conf", 0600, BASE "audience = L\n");
	ck_assert_int_eq(symlink("../elsewhere.conf",
	    tu_path("credentials.d/link.conf")), 0);

	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0, "%s",
	    err);
	ck_assert_uint_eq(c->ncreds, 6);
	ck_assert_str_eq(c->creds[0].name, "C~x@y+z-1");
	ck_assert_str_eq(c->creds[1].name, "a");
	ck_assert_str_eq(c->creds[2].name, "a-b");
	ck_assert_str_eq(c->creds[3].name, "b");
	ck_assert_str_eq(c->creds[4].name, "link");
	ck_assert_str_eq(c->creds[5].name, "z.conf");
	for (i = 1; i < c->ncreds; i++)
		ck_assert_int_lt(strcmp(c->creds[i - 1].name,
		    c->creds[i].name), 0);
	ck_assert_str_eq(c->creds[1].path, tu_path("credentials.d/a.conf"));
	ck_assert_str_eq(conf_find(c, "a")->audience, "A");
	ck_assert_str_eq(conf_find(c, "a-b")->audience, "AB");
	ck_assert_ptr_null(conf_find(c, "b")->audience);
	ck_assert_str_eq(conf_find(c, "link")->audience, "L");
	ck_assert_ptr_nonnull(conf_find(c, "C~x@y+z-1"));
	ck_assert_ptr_nonnull(conf_find(c, "z.conf"));
	ck_assert_ptr_null(conf_find(c, "A"));
	ck_assert_ptr_null(conf_find(c, "zz"));
	ck_assert_ptr_null(conf_find(c, ""));
	ck_assert_ptr_null(conf_find(c, NULL));
	ck_assert_ptr_null(conf_find(NULL, "a"));
	conf_free(c);
	conf_free(NULL);
}
END_TEST

START_TEST(creds_dir_bad_names)
{
	static const char *const bad[] = {
		"has space.conf", "x#y.conf", "t\xc3\xa9.conf", "a/b",
		"new\nline.conf", "tab\t.conf", NULL,
	};
	struct daemon_conf *c = (struct daemon_conf *)&c;
	char err[CONF_ERR_MAX], rel[256], name[200];
	size_t i;

	tu_put("tokencache.conf", 0644, "[daemon]\n");
	mkd("credentials.d");
	tu_put("credentials.d/secret", 0600, SECRET);
	tu_put("credentials.d/good.conf", 0600, BASE);
	for (i = 0; bad[i] != NULL; i++) {
		if (strchr(bad[i], '/') != NULL)
			continue;
		snprintf(rel, sizeof(rel), "credentials.d/%s", bad[i]);
		tu_put(rel, 0600, BASE);
		ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &c, err),
		    -1);
		ck_assert_ptr_eq(c, (struct daemon_conf *)&c);
		ck_assert_msg(strstr(err, "invalid credential name") != NULL,
		    "%s", err);
		ck_assert_msg(strstr(err, tu_path("credentials.d/")) != NULL,
		    "%s", err);
		assert_no_ctl(err);
		ck_assert_int_eq(unlink(tu_path(rel)), 0);
	}

	/* 127 bytes is the longest name */
	memset(name, 'n', 127);
	memcpy(name + 127, ".conf", 6);
	snprintf(rel, sizeof(rel), "credentials.d/%s", name);
	tu_put(rel, 0600, BASE);
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0, "%s",
	    err);
	ck_assert_uint_eq(c->ncreds, 2);
	conf_free(c);
	ck_assert_int_eq(unlink(tu_path(rel)), 0);
	memset(name, 'n', 128);
	memcpy(name + 128, ".conf", 6);
	snprintf(rel, sizeof(rel), "credentials.d/%s", name);
	tu_put(rel, 0600, BASE);
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &c, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "invalid credential name"));

	/* conf_load_credential checks the name it is given, too */
	{
		struct cred_conf cc;

		ck_assert_int_eq(conf_load_credential(
		    tu_path("credentials.d/good.conf"), ".hidden", &cc, err), -1);
		ck_assert_ptr_nonnull(strstr(err, "invalid credential name"));
		ck_assert_int_eq(conf_load_credential(
		    tu_path("credentials.d/good.conf"), "", &cc, err), -1);
	}
}
END_TEST

START_TEST(creds_dir_limits)
{
	struct daemon_conf *c;
	char err[CONF_ERR_MAX];

	tu_put("tokencache.conf", 0644, "[daemon]\nmax_credentials = 2\n");
	mkd("credentials.d");
	tu_put("credentials.d/secret", 0600, SECRET);
	tu_put("credentials.d/a.conf", 0600, BASE);
	tu_put("credentials.d/b.conf", 0600, BASE);
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0, "%s",
	    err);
	ck_assert_uint_eq(c->ncreds, 2);
	conf_free(c);
	tu_put("credentials.d/c.conf", 0600, BASE);
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &c, err), -1);
	assert_err(err, tu_path("credentials.d"), 0, "max_credentials (2)");
}
END_TEST

START_TEST(creds_dir_errors)
{
	struct daemon_conf *c = (struct daemon_conf *)&c;
	char err[CONF_ERR_MAX];

	/* not a directory */
	tu_put("tokencache.conf", 0644, "[daemon]\ncredentials_dir = notadir\n");
	tu_put("notadir", 0644, "x");
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &c, err), -1);
	assert_err(err, tu_path("notadir"), 0, "cannot open directory");

	/* a bad credential file fails the whole load, naming file and line */
	tu_put("tokencache.conf", 0644, "[daemon]\n");
	mkd("credentials.d");
	tu_put("credentials.d/secret", 0600, SECRET);
	tu_put("credentials.d/a.conf", 0600, BASE);
	tu_put("credentials.d/b.conf", 0600, BASE "tokn_url = x\n");
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &c, err), -1);
	ck_assert_ptr_eq(c, (struct daemon_conf *)&c);
	assert_err(err, tu_path("credentials.d/b.conf"), 6,
	    "unknown key 'tokn_url' in [credential]");

	/* a dangling symlink is an error, not silently skipped */
	tu_put("credentials.d/b.conf", 0600, BASE);
	ck_assert_int_eq(symlink("nowhere", tu_path("credentials.d/d.conf")), 0);
	ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &c, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "d.conf"));

	/* unreadable: only meaningful when not root */
	ck_assert_int_eq(unlink(tu_path("credentials.d/d.conf")), 0);
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(tu_path("credentials.d"), 0), 0);
		ck_assert_int_eq(conf_load(tu_path("tokencache.conf"), &c, err),
		    -1);
		assert_err(err, tu_path("credentials.d"), 0, "cannot open");
		ck_assert_int_eq(chmod(tu_path("credentials.d"), 0755), 0);
	}
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0, "%s",
	    err);
	ck_assert_uint_eq(c->ncreds, 2);
	conf_free(c);
}
END_TEST

/* ---- conf_cred_request_differs ----------------------------------------- */

static const struct {
	const char *extra;
	int differs;
} differs_cases[] = {
	{ "", 0 },
	{ "allow_users = alice\n", 0 },
	{ "allow_groups = svc\n", 0 },
	{ "auth_method = client_secret_post\n", 0 },
	{ "timeout = 30\n", 0 },
	{ "auth_method = client_secret_basic\n", 1 },
	{ "audience = x\n", 1 },
	{ "scope = x\n", 1 },
	{ "resource = https://r/\n", 1 },
	/* These change how a token is fetched and kept, not which one. */
	{ "timeout = 31\n", 0 },
	{ "default_lifetime = 60\n", 0 },
	{ "max_lifetime = 60\n", 0 },
	{ "ca_file = ca.pem\n", 0 },
};

START_TEST(request_differs)
{
	struct cred_conf a, b;
	char body[1024];

	put_secret();
	tu_put("ca.pem", 0644, CA_PEM);
	cred_ok(BASE, &a);
	snprintf(body, sizeof(body), "%s%s", BASE, differs_cases[_i].extra);
	cred_ok(body, &b);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b),
	    differs_cases[_i].differs);
	ck_assert_int_eq(conf_cred_request_differs(&b, &a),
	    differs_cases[_i].differs);
	ck_assert_int_eq(conf_cred_request_differs(&a, &a), 0);
	conf_cred_clear(&b);
	conf_cred_clear(&a);
}
END_TEST

START_TEST(request_differs_fields)
{
	struct cred_conf a, b;

	put_secret();
	cred_ok(BASE "resource = https://r/\n", &a);
	cred_ok(BASE "resource = https://r/\nresource = https://s/\n", &b);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	conf_cred_clear(&b);
	cred_ok(BASE "resource = https://s/\n", &b);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	conf_cred_clear(&b);
	conf_cred_clear(&a);

	cred_ok(BASE, &a);
	tu_put("secret", 0600, SECRET "2");
	cred_ok(BASE, &b);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	conf_cred_clear(&b);
	tu_put("secret", 0600, "X" SECRET);   /* same length, other bytes */
	cred_ok(BASE, &b);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	conf_cred_clear(&b);
	put_secret();
	cred_ok("[credential]\nprovider = oauth2\n"
	    "token_url = https://login.example.com/oauth/token2\n"
	    "client_id = my-client\nclient_secret_file = secret\n", &b);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	conf_cred_clear(&b);
	cred_ok("[credential]\nprovider = oauth2\n"
	    "token_url = https://login.example.com/oauth/token\n"
	    "client_id = my-client2\nclient_secret_file = secret\n", &b);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	conf_cred_clear(&b);
	/* inline or from a file: the same request */
	cred_ok("[credential]\nprovider = oauth2\n"
	    "token_url = https://login.example.com/oauth/token\n"
	    "client_id = my-client\nclient_secret = " SECRET "\n", &b);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 0);
	conf_cred_clear(&b);
	ck_assert_int_eq(conf_cred_request_differs(&a, NULL), 1);
	ck_assert_int_eq(conf_cred_request_differs(NULL, NULL), 0);
	conf_cred_clear(&a);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("main");
	tcase_add_checked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, main_defaults);
	tcase_add_test(tc, main_endpoint);
	tcase_add_test(tc, listen_parse);
	tcase_add_test(tc, main_keys);
	tcase_add_test(tc, main_relative_credentials_dir);
	tcase_add_test(tc, main_runtime_dir_longest);
	tcase_add_test(tc, main_missing);
	tcase_add_loop_test(tc, main_error_lines, 0,
	    sizeof(main_errors) / sizeof(main_errors[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("credential");
	tcase_add_checked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, cred_defaults);
	tcase_add_test(tc, cred_every_key);
	tcase_add_loop_test(tc, cred_error_lines, 0,
	    sizeof(cred_errors) / sizeof(cred_errors[0]));
	tcase_add_test(tc, token_url_loopback);
	tcase_add_loop_test(tc, request_differs, 0,
	    sizeof(differs_cases) / sizeof(differs_cases[0]));
	tcase_add_test(tc, request_differs_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("secret");
	tcase_add_checked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, secret_file_modes);
	tcase_add_test(tc, secret_file_owner);
	tcase_add_test(tc, conf_files_trusted);
	tcase_add_test(tc, secret_owned_by_daemon_user);
	tcase_add_test(tc, secret_file_kinds);
	tcase_add_loop_test(tc, secret_file_contents, 0,
	    sizeof(secret_contents) / sizeof(secret_contents[0]));
	tcase_add_test(tc, secret_file_size);
	tcase_add_test(tc, inline_secret);
	tcase_add_test(tc, secret_never_in_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("reader");
	tcase_add_checked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, nul_and_long_lines);
	tcase_add_test(tc, random_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("directory");
	tcase_add_checked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, creds_dir_sorted_and_find);
	tcase_add_test(tc, creds_dir_bad_names);
	tcase_add_test(tc, creds_dir_limits);
	tcase_add_test(tc, creds_dir_errors);
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
	return tu_run(config_suite());
}
