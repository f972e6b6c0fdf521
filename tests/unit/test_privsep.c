/*
 * test_privsep.c - the configuration handed from the monitor to the
 * worker survives packing, and a damaged blob is refused, never
 * half-accepted.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <sodium.h>

#include "config.h"
#include "privsep.h"
#include "testutil.h"

static char *dir;
static struct daemon_conf *conf;

static void
put(const char *name, mode_t mode, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
setup(void)
{
	char path[512], err[CONF_ERR_MAX];

	ck_assert_int_ge(sodium_init(), 0);
	dir = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/creds", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	put("tokencache.conf", 0644, "[daemon]\nruntime_dir = /run/tc-x\n"
	    "admin_group = adm\nkey_rotation_interval = 600\n"
	    "endpoint_rate = 3\nendpoint_burst = 4\nrefresh_min_interval = 7\n"
	    "credentials_dir = creds\n");
	put("secret", 0600, "s3cr3t with space\n");
	put("creds/a.conf", 0644, "[credential]\nprovider = oauth2\n"
	    "token_url = https://auth.example/token\nclient_id = a\n"
	    "client_secret_file = ../secret\nauth_method = client_secret_basic\n"
	    "audience = aud\nscope = s1 s2\nresource = urn:x\nresource = urn:y\n"
	    "allow_users = u1 u2\nallow_groups = g1\ntimeout = 7\n");
	put("creds/b.conf", 0600, "[credential]\nprovider = oauth2\n"
	    "token_url = https://auth.example/token\nclient_id = b\n"
	    "client_secret = inline\n");
	snprintf(path, sizeof(path), "%s/tokencache.conf", dir);
	ck_assert_msg(conf_load(path, &conf, err) == 0, "%s", err);
}

static void
teardown(void)
{
	conf_free(conf);
	conf = NULL;
	tu_rmtree(dir);
}

START_TEST(test_roundtrip)
{
	struct daemon_conf *c = NULL;
	unsigned char *blob;
	size_t len, i;

	blob = conf_pack(conf, &len);
	ck_assert_ptr_nonnull(blob);
	ck_assert_int_eq(conf_unpack(blob, len, &c), 0);
	ck_assert_str_eq(c->path, conf->path);
	ck_assert_str_eq(c->runtime_dir, "/run/tc-x");
	ck_assert_str_eq(c->credentials_dir, conf->credentials_dir);
	ck_assert_str_eq(c->user, "tokencache");
	ck_assert_str_eq(c->admin_group, "adm");
	ck_assert_int_eq(c->key_rotation_interval, 600);
	ck_assert_uint_eq(c->endpoint_rate, 3);
	ck_assert_uint_eq(c->endpoint_burst, 4);
	ck_assert_int_eq(c->refresh_min_interval, 7);
	ck_assert_uint_eq(c->max_credentials, conf->max_credentials);
	ck_assert_uint_eq(c->max_token_size, conf->max_token_size);
	ck_assert_uint_eq(c->ncreds, 2);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(conf_cred_request_differs(&c->creds[i],
		    &conf->creds[i]), 0);
		ck_assert_int_eq(conf_cred_acl_differs(&c->creds[i],
		    &conf->creds[i]), 0);
		ck_assert_str_eq(c->creds[i].name, conf->creds[i].name);
		ck_assert_str_eq(c->creds[i].path, conf->creds[i].path);
	}
	ck_assert_str_eq(c->creds[0].client_secret, "s3cr3t with space");
	ck_assert_uint_eq(c->creds[0].nresources, 2);
	ck_assert_str_eq(c->creds[0].resources[1], "urn:y");
	ck_assert_ptr_null(c->creds[0].resources[2]);
	ck_assert_str_eq(c->creds[0].allow_users[1], "u2");
	ck_assert_ptr_null(c->creds[1].audience);
	ck_assert_uint_eq(c->creds[1].nallow_users, 0);
	ck_assert_ptr_nonnull(c->creds[1].allow_users);
	/* A different list is seen as an access change. */
	c->creds[0].nallow_users = 1;
	ck_assert_int_eq(conf_cred_acl_differs(&c->creds[0], &conf->creds[0]),
	    1);
	c->creds[0].nallow_users = 2;
	conf_free(c);
	sodium_free(blob);
}
END_TEST

START_TEST(test_damaged_blobs)
{
	struct daemon_conf *c = (struct daemon_conf *)&c;
	unsigned char *blob, *copy;
	size_t len, cut, i;

	blob = conf_pack(conf, &len);
	ck_assert_ptr_nonnull(blob);
	copy = malloc(len + 1);
	/* Every truncation is refused. */
	for (cut = 0; cut < len; cut++) {
		memcpy(copy, blob, cut);
		ck_assert_int_eq(conf_unpack(copy, cut, &c), -1);
	}
	/* Trailing bytes too. */
	memcpy(copy, blob, len);
	copy[len] = 0;
	ck_assert_int_eq(conf_unpack(copy, len + 1, &c), -1);
	/* Random damage never crashes; whatever it accepts is freed. */
	srandom(7);
	for (i = 0; i < 5000; i++) {
		struct daemon_conf *d = NULL;

		memcpy(copy, blob, len);
		copy[(size_t)random() % len] ^= (unsigned char)(1 + random() % 255);
		if (conf_unpack(copy, len, &d) == 0)
			conf_free(d);
	}
	ck_assert_ptr_eq(c, (struct daemon_conf *)&c);
	free(copy);
	sodium_free(blob);
}
END_TEST

/* Review 10: the worker divides by endpoint_rate; a blob outside the
 * ranges conf_load allows is refused, not trusted. */
START_TEST(test_unpack_ranges)
{
	static const struct { uint32_t rate, burst; long min; int ok; } v[] = {
		{ 1, 1, 0, 0 }, { 1000, 1000, 86400, 0 }, { 0, 1, 0, -1 },
		{ 1001, 1, 0, -1 }, { 1, 0, 0, -1 }, { 1, 1001, 0, -1 },
		{ 1, 1, 86401, -1 },
	};
	struct daemon_conf *c;
	unsigned char *blob;
	size_t len, i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		conf->endpoint_rate = v[i].rate;
		conf->endpoint_burst = v[i].burst;
		conf->refresh_min_interval = v[i].min;
		blob = conf_pack(conf, &len);
		ck_assert_ptr_nonnull(blob);
		c = NULL;
		ck_assert_int_eq(conf_unpack(blob, len, &c), v[i].ok);
		if (c != NULL)
			ck_assert_uint_eq(c->endpoint_rate, v[i].rate);
		conf_free(c);
		sodium_free(blob);
	}
}
END_TEST

/* In a child, so that the test process keeps its privileges. */
START_TEST(test_drop)
{
	char err[256];
	pid_t pid;
	int st;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		int ok;

		if (geteuid() != 0)	/* cannot drop what we lack */
			_exit(privsep_drop(65534, 65534, err,
			    sizeof(err)) == -1 ? 0 : 1);
		ok = privsep_drop(65534, 65534, err, sizeof(err)) == 0 &&
		    getuid() == 65534 && geteuid() == 65534 &&
		    getgid() == 65534 && getegid() == 65534 &&
		    getgroups(0, NULL) == 0 && setuid(0) == -1 &&
		    setgid(0) == -1;
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("privsep");
	TCase *tc = tcase_create("pack");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_damaged_blobs);
	tcase_add_test(tc, test_unpack_ranges);
	tcase_add_test(tc, test_drop);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
