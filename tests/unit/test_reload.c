/*
 * test_reload.c - reload_compute(): what a new configuration changes
 * against the running credentials, worked out from the configurations
 * alone, with no daemon: which credentials are kept (and under which
 * running index), added, removed, which lose their token (request
 * changed, max_lifetime lowered), whose access lists changed, and the
 * settings that only a restart may change.
 */
#include <string.h>

#include "config.h"
#include "reload.h"
#include "testutil.h"

static char runtime_dir[] = "/run/tokencache", other_dir[] = "/run/other";
static char user[] = "tokencache";
static char url[] = "https://127.0.0.1:1/token", id[] = "client";
static char scope_a[] = "read", scope_b[] = "write";
static char secret_a[] = "s3cret", secret_b[] = "s3crex";
static char alice[] = "alice";
static char *users_alice[] = { alice, NULL };
static char names[5][2] = { "a", "b", "c", "d", "e" };

/* A credential named names[n], its request (token_url, client_id,
 * secret_a, scope_a) and limits as a loaded configuration has them. */
static struct cred_conf
cred(int n)
{
	struct cred_conf c;

	memset(&c, 0, sizeof(c));
	c.name = names[n];
	c.token_url = url;
	c.client_id = id;
	c.client_secret = secret_a;
	c.client_secret_len = strlen(secret_a);
	c.scope = scope_a;
	c.timeout_ms = 30000;
	c.default_lifetime = 3600;
	c.max_lifetime = 86400;
	return c;
}

static void
conf_init(struct daemon_conf *dc, struct cred_conf *creds, size_t n)
{
	memset(dc, 0, sizeof(*dc));
	dc->runtime_dir = runtime_dir;
	dc->user = user;
	dc->max_credentials = 128;
	dc->max_token_size = 16384;
	dc->creds = creds;	/* sorted by name, as conf_load leaves them */
	dc->ncreds = n;
}

START_TEST(test_add_drop_change)
{
	/* Running a, b, c, e; the new configuration: a as it was, b with
	 * another scope, c gone, d new, e with an access list and a
	 * shorter max_lifetime. */
	struct cred_conf old[4] = { cred(0), cred(1), cred(2), cred(4) };
	struct cred_conf neu[4] = { cred(0), cred(1), cred(3), cred(4) };
	/* The daemon's order is not the configuration's. */
	const struct cred_conf *cur[4] = { &old[3], &old[2], &old[1], &old[0] };
	struct daemon_conf oc, nc;
	struct reload_change ch;

	neu[1].scope = scope_b;
	neu[3].allow_users = users_alice;
	neu[3].nallow_users = 1;
	neu[3].max_lifetime = 3600;
	conf_init(&oc, old, 4);
	conf_init(&nc, neu, 4);
	ck_assert_int_eq(reload_compute(&oc, cur, 4, &nc, &ch), 0);
	ck_assert_uint_eq(ch.ncreds, 4);
	ck_assert_uint_eq(ch.ncur, 4);
	ck_assert_ptr_eq(ch.creds[0].conf, &neu[0]);
	ck_assert_uint_eq(ch.creds[0].cur, 3);
	ck_assert(!ch.creds[0].request_changed && !ch.creds[0].acl_changed &&
	    !ch.creds[0].lifetime_shorter);
	ck_assert_uint_eq(ch.creds[1].cur, 2);
	ck_assert(ch.creds[1].request_changed && !ch.creds[1].acl_changed);
	ck_assert_uint_eq(ch.creds[2].cur, RELOAD_NEW);
	ck_assert_ptr_eq(ch.creds[2].conf, &neu[2]);
	ck_assert_uint_eq(ch.creds[3].cur, 0);
	ck_assert(!ch.creds[3].request_changed);
	ck_assert(ch.creds[3].acl_changed && ch.creds[3].lifetime_shorter);
	ck_assert(!ch.gone[0] && ch.gone[1] && !ch.gone[2] && !ch.gone[3]);
	ck_assert_uint_eq(ch.added, 1);
	ck_assert_uint_eq(ch.removed, 1);
	ck_assert_uint_eq(ch.acl_changed, 1);
	reload_change_free(&ch);
}
END_TEST

/* The same configuration again changes nothing; another secret is
 * another request. */
START_TEST(test_unchanged_and_secret)
{
	struct cred_conf old[2] = { cred(0), cred(1) };
	struct cred_conf neu[2] = { cred(0), cred(1) };
	const struct cred_conf *cur[2] = { &old[0], &old[1] };
	struct daemon_conf oc, nc;
	struct reload_change ch;
	size_t i;

	conf_init(&oc, old, 2);
	conf_init(&nc, neu, 2);
	ck_assert_int_eq(reload_compute(&oc, cur, 2, &nc, &ch), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(ch.creds[i].cur, i);
		ck_assert(!ch.creds[i].request_changed &&
		    !ch.creds[i].acl_changed && !ch.creds[i].lifetime_shorter);
		ck_assert(!ch.gone[i]);
	}
	ck_assert_uint_eq(ch.added + ch.removed + ch.acl_changed, 0);
	reload_change_free(&ch);

	neu[1].client_secret = secret_b;
	ck_assert_int_eq(reload_compute(&oc, cur, 2, &nc, &ch), 0);
	ck_assert(!ch.creds[0].request_changed && ch.creds[1].request_changed);
	reload_change_free(&ch);
}
END_TEST

/* From nothing, everything is added; to nothing, everything goes. */
START_TEST(test_empty)
{
	struct cred_conf creds[2] = { cred(0), cred(1) };
	const struct cred_conf *cur[2] = { &creds[0], &creds[1] };
	struct daemon_conf empty, full;
	struct reload_change ch;

	conf_init(&empty, NULL, 0);
	conf_init(&full, creds, 2);
	ck_assert_int_eq(reload_compute(&empty, NULL, 0, &full, &ch), 0);
	ck_assert_uint_eq(ch.added, 2);
	ck_assert(ch.creds[0].cur == RELOAD_NEW && ch.creds[1].cur == RELOAD_NEW);
	reload_change_free(&ch);
	ck_assert_int_eq(reload_compute(&full, cur, 2, &empty, &ch), 0);
	ck_assert_uint_eq(ch.ncreds, 0);
	ck_assert_uint_eq(ch.removed, 2);
	ck_assert(ch.gone[0] && ch.gone[1]);
	reload_change_free(&ch);
}
END_TEST

/* Settings only a restart may change: 1, and *out left as it was. */
START_TEST(test_restart_only)
{
	struct cred_conf creds[1] = { cred(0) };
	const struct cred_conf *cur[1] = { &creds[0] };
	struct daemon_conf oc, nc;
	struct reload_change ch, before;
	int i;

	for (i = 0; i < 4; i++) {
		conf_init(&oc, creds, 1);
		conf_init(&nc, creds, 1);
		if (i == 0)
			nc.runtime_dir = other_dir;
		else if (i == 1)
			nc.user = alice;
		else if (i == 2)
			nc.max_credentials = 129;
		else
			nc.max_token_size = 8192;
		memset(&ch, 0x5a, sizeof(ch));
		memcpy(&before, &ch, sizeof(ch));
		ck_assert_int_eq(reload_compute(&oc, cur, 1, &nc, &ch), 1);
		ck_assert(memcmp(&ch, &before, sizeof(ch)) == 0);
	}
	/* What a reload may change is not refused. */
	conf_init(&nc, creds, 1);
	nc.endpoint_rate = 7;
	nc.key_rotation_interval = 60;
	ck_assert_int_eq(reload_compute(&oc, cur, 1, &nc, &ch), 0);
	reload_change_free(&ch);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("compute");

	tcase_add_test(tc, test_add_drop_change);
	tcase_add_test(tc, test_unchanged_and_secret);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_restart_only);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
