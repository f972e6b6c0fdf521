/*
 * test_config_cred.c - the table of credential fields (conf_cred_fields[]
 * in provider/config_cred.c) and everything it drives: parsing a key of
 * each kind, conf_cred_clear(), the hand-over to the worker
 * (conf_pack/conf_unpack in config_pack.c), the "request changed" and ACL
 * diffs, and the request identity.  The tests walk the table itself, so a
 * row added without a sample value here fails cred_table_covered.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "tokencache/module.h"
#include "privsep.h"
#include "testutil.h"

#define SECRET	"s3cr3t-VALUE-xyz"

/* Every key of a credential file, each given; see samples[]. */
#define FULL \
	"[credential]\n" \
	"provider = oauth2\n" \
	"token_url = https://login.example.com/oauth/token\n" \
	"client_id = my-client\n" \
	"client_secret = " SECRET "\n" \
	"auth_method = client_secret_basic\n" \
	"audience = https://api.example.com\n" \
	"scope = read write\n" \
	"resource = https://api.example.com/\n" \
	"resource = urn:example:other\n" \
	"allow_users = alice bob\n" \
	"allow_groups = staff\n" \
	"timeout = 7\n" \
	"default_lifetime = 600\n" \
	"max_lifetime = 7200\n" \
	"ca_file = ca.pem\n"

/* The console's file a camunda credential reads (test_config_camunda.c
 * has the rest of them). */
#define CONSOLE \
	"export ZEEBE_CLIENT_ID='cam-id'\n" \
	"export ZEEBE_CLIENT_SECRET='" SECRET "'\n" \
	"export CAMUNDA_OAUTH_URL='https://login.example.com/oauth/token'\n"
/* Stand-ins for PEM files: the monitor only checks that they are PEM and
 * reads them; the worker parses them (oauth2.c, tested by the
 * integration tests and test_jwt). */
#define PEM_CERT "-----BEGIN CERTIFICATE-----\nMIIBcert\n" \
	"-----END CERTIFICATE-----\n"
#define PEM_KEY "-----BEGIN PRIVATE KEY-----\nMIIBkey\n" \
	"-----END PRIVATE KEY-----\n"

/* Only what a credential must say. */
#define BARE \
	"[credential]\n" \
	"provider = oauth2\n" \
	"token_url = https://login.example.com/oauth/token\n" \
	"client_id = my-client\n" \
	"client_secret_file = secret\n"

/* The files a credential may name besides its secret. */
static void
put_pems(void)
{
	tu_put("cert.pem", 0644, PEM_CERT);
	tu_put("key.pem", 0600, PEM_KEY);
	tu_put("ca.pem", 0644, PEM_CERT);
}

static void
cred_ok(const char *content, struct cred_conf *c)
{
	char err[CONF_ERR_MAX] = "";

	tu_put("cred.conf", 0600, content);
	tu_put("secret", 0600, SECRET "\n");
	tu_put("console", 0600, CONSOLE);
	put_pems();
	ck_assert_msg(conf_load_credential(tu_path("cred.conf"), "cred", c,
	    err) == 0, "%s", err);
}

/* The row of key. */
static const struct cred_field *
row(const char *key)
{
	size_t i;

	for (i = 0; i < conf_cred_nfields; i++) {
		if (conf_cred_fields[i].key != NULL &&
		    strcmp(conf_cred_fields[i].key, key) == 0)
			return &conf_cred_fields[i];
	}
	ck_abort_msg("no row for key '%s'", key);
	return NULL;
}

/*
 * One line per key: a value that parses, what it must read back as (the
 * field's string, list items joined by ' ', or a number), a value that must
 * fail and the words its message must hold.
 */
static const struct sample {
	const char *key;
	const char *good, *stored;
	const char *bad, *why;
} samples[] = {
	{ "provider", "oauth2", "oauth2", "OAuth3",
	    "provider 'OAuth3' is not a module name" },
	{ "token_url", "https://idp.example.com/t",
	    "https://idp.example.com/t", "http://idp.example.com/t",
	    "token_url must use https://" },
	{ "client_id", "id ~!", "id ~!", "id\xc3\xa9",
	    "client_id contains a byte outside printable ASCII" },
	{ "client_secret", "inline-secret", "inline-secret", "s\xc3\xa9",
	    "client_secret contains a byte outside printable ASCII" },
	{ "client_secret_file", "secret", NULL, "no/such/file",
	    "client_secret_file" },
	{ "auth_method", "client_secret_basic", "1", "client_secret_jwt",
	    "unknown auth_method 'client_secret_jwt' (known: "
	    "client_secret_post, client_secret_basic, tls_client_auth, "
	    "private_key_jwt)" },
	{ "audience", "aud", "aud", "a\xff", "audience contains a byte" },
	{ "scope", "a b", "a b", "a\xff", "scope contains a byte" },
	{ "resource", "urn:x:y", "urn:x:y", "https://r/#frag",
	    "resource must be an absolute URI without a fragment" },
	{ "allow_users", "alice  bob", "alice bob", NULL, NULL },
	{ "allow_groups", "staff", "staff", NULL, NULL },
	{ "timeout", "600", "600000", "601",
	    "timeout must be an integer in 1..600 (seconds)" },
	{ "default_lifetime", "60", "60", "0",
	    "default_lifetime must be an integer in 1..315360000 (seconds)" },
	{ "max_lifetime", "315360000", "315360000", "315360001",
	    "max_lifetime must be an integer in 1..315360000 (seconds)" },
	{ "ca_file", "ca.pem", "ca.pem", "cred.conf", "is not a PEM file" },
	{ "issuer", "https://idp.example.com/realms/x",
	    "https://idp.example.com/realms/x", "https://idp.example.com/?a",
	    "issuer must not have a query" },
	{ "connect_timeout", "5", "5000", "601",
	    "connect_timeout must be an integer in 1..600 (seconds)" },
	{ "proxy", "http://proxy.example.com:3128",
	    "http://proxy.example.com:3128", "http://u:p@proxy:3128",
	    "proxy must not hold a user or password" },
	{ "param", "tenant=a b", "tenant=a b", "client_assertion_type=x",
	    "param 'client_assertion_type' is one the daemon sets itself" },
	{ "tls_cert_file", "cert.pem", PEM_CERT, "no/such/file",
	    "tls_cert_file" },
	{ "tls_key_file", "key.pem", PEM_KEY, "cred.conf",
	    "is not a PEM file" },
	{ "private_key_file", "key.pem", PEM_KEY, "no/such/file",
	    "private_key_file" },
	{ "jwt_kid", "key-1", "key-1", "k\xff", "jwt_kid contains a byte" },
	{ "endpoint_secret_file", "secret", SECRET, "no/such/file",
	    "endpoint_secret_file /" },
	/* provider = camunda's (with_key gives them a camunda base) */
	{ "credentials_file", "console", "console", "no/such/file",
	    "credentials_file" },
	{ "audience_value", "my-aud", "my-aud", "a\xff",
	    "audience_value contains a byte" },
};

#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

/* A credential file: BARE, with key = value added (client_secret_file
 * replaced when the key is about the secret). */
static void
with_key(char *buf, size_t sz, const char *key, const char *value)
{
	const char *base = BARE;

	if (strcmp(key, "client_secret") == 0 ||
	    strcmp(key, "client_secret_file") == 0)
		base = "[credential]\nprovider = oauth2\n"
		    "token_url = https://login.example.com/oauth/token\n"
		    "client_id = my-client\n";
	if (strcmp(key, "provider") == 0 || strcmp(key, "token_url") == 0 ||
	    strcmp(key, "client_id") == 0)
		base = "[credential]\nclient_secret_file = secret\n";
	/* camunda's keys: on line 6 too */
	if (strcmp(key, "credentials_file") == 0 ||
	    strcmp(key, "audience_value") == 0)
		base = "[credential]\nprovider = camunda\naudience = zeebe\n"
		    "#\n#\n";
	/* The key on line 6, as after BARE. */
	if (strcmp(key, "issuer") == 0)
		base = "[credential]\nprovider = oauth2\n"
		    "client_id = my-client\nclient_secret_file = secret\n\n";
	if (strcmp(key, "private_key_file") == 0 ||
	    strcmp(key, "jwt_kid") == 0)
		base = "[credential]\nprovider = oauth2\n"
		    "token_url = https://login.example.com/oauth/token\n"
		    "client_id = my-client\nauth_method = private_key_jwt\n";
	snprintf(buf, sz, "%s%s = %s\n", base, key, value);
	if (strcmp(key, "audience_value") == 0)
		strcat(buf, "credentials_file = console\n");
	/* the keys this one goes with */
	if (strcmp(key, "jwt_kid") == 0)
		strcat(buf, "private_key_file = key.pem\n");
	else if (strcmp(key, "tls_cert_file") == 0)
		strcat(buf, "tls_key_file = key.pem\n");
	else if (strcmp(key, "tls_key_file") == 0)
		strcat(buf, "tls_cert_file = cert.pem\n");
	/* the required keys BARE gave and this one did not */
	if (strcmp(key, "provider") == 0)
		strcat(buf, "token_url = https://login.example.com/t\n"
		    "client_id = c\n");
	else if (strcmp(key, "token_url") == 0)
		strcat(buf, "provider = oauth2\nclient_id = c\n");
	else if (strcmp(key, "client_id") == 0)
		strcat(buf, "provider = oauth2\n"
		    "token_url = https://login.example.com/t\n");
}

/* The field of row f in c, as samples[].stored spells it. */
static void
field_text(const struct cred_conf *c, const struct cred_field *f, char *out,
    size_t sz)
{
	char *const *list;
	size_t i, n;

	out[0] = '\0';
	switch (f->kind) {
	case CF_STR:
		snprintf(out, sz, "%s", *CRED_CFIELD(c, f, char *) != NULL ?
		    *CRED_CFIELD(c, f, char *) : "(null)");
		break;
	case CF_SECRET:
		snprintf(out, sz, "%.*s", (int)*CRED_CLEN(c, f),
		    *CRED_CFIELD(c, f, char *));
		break;
	case CF_LIST:
		list = *CRED_CFIELD(c, f, char **);
		n = *CRED_CLEN(c, f);
		for (i = 0; i < n; i++)
			snprintf(out + strlen(out), sz - strlen(out), "%s%s",
			    i == 0 ? "" : " ", list[i]);
		break;
	case CF_CHOICE:
		snprintf(out, sz, "%u", *CRED_CFIELD(c, f, unsigned int));
		break;
	case CF_LONG:
		snprintf(out, sz, "%ld", *CRED_CFIELD(c, f, long));
		break;
	case CF_SOURCES:
		snprintf(out, sz, "%zu sources", *CRED_CLEN(c, f));
		break;
	case CF_OPTS:
		n = *CRED_CLEN(c, f);
		for (i = 0; i < n; i++)
			snprintf(out + strlen(out), sz - strlen(out),
			    "%s%s=%s", i == 0 ? "" : " ",
			    (*CRED_CFIELD(c, f, struct cred_opt *))[i].key,
			    (*CRED_CFIELD(c, f, struct cred_opt *))[i].value);
		break;
	case CF_NONE:
		break;
	}
}

/* Every key of the table has a sample, and every sample a row. */
START_TEST(cred_table_covered)
{
	size_t i, j;

	for (i = 0; i < conf_cred_nfields; i++) {
		/* control is a [source]'s: the cred_chain tests. */
		if (conf_cred_fields[i].key == NULL ||
		    (conf_cred_fields[i].flags & CF_SOURCE) != 0)
			continue;
		for (j = 0; j < NSAMPLES; j++) {
			if (strcmp(samples[j].key,
			    conf_cred_fields[i].key) == 0)
				break;
		}
		ck_assert_msg(j < NSAMPLES, "key '%s' has no sample in "
		    "test_config_cred.c", conf_cred_fields[i].key);
	}
	for (j = 0; j < NSAMPLES; j++)
		(void)row(samples[j].key);
}
END_TEST

/*
 * Which keys make up the request (and so its identity and the reload's
 * "request changed") and which the ACL, written out here rather than
 * taken from the table, so that a flag dropped from a row is noticed.
 */
START_TEST(cred_table_flags)
{
	static const char *const request[] = { "provider", "token_url",
	    "client_id", "client_secret", "auth_method", "audience", "scope",
	    "resource", "issuer", "param", "tls_cert_file", NULL };
	/* added after identities were first stored: see CF_ID_IFSET */
	static const char *const ifset[] = { "issuer", "param",
	    "tls_cert_file", NULL };
	static const char *const acl[] = { "allow_users", "allow_groups",
	    NULL };
	const struct cred_field *f;
	size_t i, nreq = 0, nacl = 0, nifset = 0;

	for (i = 0; request[i] != NULL; i++, nreq++)
		ck_assert_msg((row(request[i])->flags & CF_REQUEST) != 0,
		    "%s is not CF_REQUEST", request[i]);
	for (i = 0; acl[i] != NULL; i++, nacl++)
		ck_assert_msg((row(acl[i])->flags & CF_ACL) != 0,
		    "%s is not CF_ACL", acl[i]);
	/* A chain's sources are part of its request (put_sources), but
	 * only when there are some. */
	for (f = conf_cred_fields; f->kind != CF_SOURCES; f++)
		;
	ck_assert_uint_ne(f->flags & CF_REQUEST, 0);
	ck_assert_uint_ne(f->flags & CF_ID_IFSET, 0);
	nreq++;
	nifset++;
	for (i = 0; ifset[i] != NULL; i++, nifset++)
		ck_assert_msg((row(ifset[i])->flags & CF_ID_IFSET) != 0,
		    "%s is not CF_ID_IFSET", ifset[i]);
	for (f = conf_cred_fields; f < conf_cred_fields + conf_cred_nfields;
	    f++) {
		if ((f->flags & CF_REQUEST) != 0)
			nreq--;
		if ((f->flags & CF_ACL) != 0)
			nacl--;
		if ((f->flags & CF_ID_IFSET) != 0)
			nifset--;
	}
	ck_assert_uint_eq(nreq, 0);
	ck_assert_uint_eq(nacl, 0);
	ck_assert_uint_eq(nifset, 0);
}
END_TEST

/* Each key's good value is stored as its row says. */
START_TEST(cred_parse_each_key)
{
	const struct sample *s = &samples[_i];
	const struct cred_field *f = row(s->key);
	struct cred_conf c;
	char body[2048], got[512], want[PATH_MAX];

	with_key(body, sizeof(body), s->key, s->good);
	cred_ok(body, &c);
	if (f->kind == CF_NONE) {
		/* client_secret_file: the file's secret, one line ending off */
		ck_assert_uint_eq(c.client_secret_len, strlen(SECRET));
		ck_assert_str_eq(c.client_secret, SECRET);
	} else {
		field_text(&c, f, got, sizeof(got));
		if (strcmp(s->key, "ca_file") == 0 ||
		    strcmp(s->key, "credentials_file") == 0)
			snprintf(want, sizeof(want), "%s", tu_path(s->stored));
		else
			snprintf(want, sizeof(want), "%s", s->stored);
		ck_assert_msg(strcmp(got, want) == 0, "%s: got '%s', want "
		    "'%s'", s->key, got, want);
	}
	conf_cred_clear(&c);
}
END_TEST

/* Each key's bad value is refused with the file, the line and why. */
START_TEST(cred_parse_each_key_refused)
{
	const struct sample *s = &samples[_i];
	struct cred_conf c;
	char body[2048], err[CONF_ERR_MAX] = "", want[PATH_MAX + 16];
	unsigned int line;

	if (s->bad == NULL)
		return;
	with_key(body, sizeof(body), s->key, s->bad);
	tu_put("cred.conf", 0600, body);
	tu_put("secret", 0600, SECRET "\n");
	tu_put("console", 0600, CONSOLE);
	put_pems();
	memset(&c, 0x5a, sizeof(c));
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	/* the key is line 3 after the header and one required key, or 6 */
	line = strcmp(s->key, "provider") == 0 ||
	    strcmp(s->key, "token_url") == 0 ||
	    strcmp(s->key, "client_id") == 0 ? 3 :
	    strcmp(s->key, "client_secret") == 0 ||
	    strcmp(s->key, "client_secret_file") == 0 ? 5 : 6;
	snprintf(want, sizeof(want), "%s:%u: ", tu_path("cred.conf"), line);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "%s: error '%s' does not start with '%s'", s->key, err, want);
	ck_assert_msg(strstr(err, s->why) != NULL, "%s: error '%s' lacks "
	    "'%s'", s->key, err, s->why);
	ck_assert_ptr_null(strstr(err, SECRET));
}
END_TEST

/* conf_cred_clear() leaves every field zero (and LeakSanitizer sees
 * whether it freed them). */
START_TEST(cred_clear_every_field)
{
	struct cred_conf c, zero;

	memset(&zero, 0, sizeof(zero));
	cred_ok(FULL, &c);
	ck_assert_ptr_nonnull(c.ca_file);
	ck_assert_uint_eq(c.nresources, 2);
	conf_cred_clear(&c);
	ck_assert_int_eq(memcmp(&c, &zero, sizeof(c)), 0);
	conf_cred_clear(&c);	/* twice is fine */
	conf_cred_clear(NULL);
}
END_TEST

static void
assert_same_opts(const struct cred_opt *a, size_t na,
    const struct cred_opt *b, size_t nb)
{
	size_t i;

	ck_assert_uint_eq(na, nb);
	for (i = 0; i < na; i++) {
		ck_assert_str_eq(a[i].key, b[i].key);
		ck_assert_uint_eq(a[i].len, b[i].len);
		ck_assert_int_eq(memcmp(a[i].value, b[i].value, a[i].len + 1),
		    0);
		ck_assert_uint_eq(a[i].line, b[i].line);
		ck_assert_uint_eq(a[i].flags, b[i].flags);
		ck_assert((a[i].path == NULL) == (b[i].path == NULL));
		if (a[i].path != NULL)
			ck_assert_str_eq(a[i].path, b[i].path);
	}
}

/* a and b the same, field by field, walking the table. */
static void assert_same_cred(const struct cred_conf *a,
    const struct cred_conf *b);
static void
assert_same_cred(const struct cred_conf *a, const struct cred_conf *b)
{
	const struct cred_field *f;
	char *const *la, *const *lb;
	const char *sa, *sb;
	size_t i;

	for (f = conf_cred_fields; f < conf_cred_fields + conf_cred_nfields;
	    f++) {
		switch (f->kind) {
		case CF_STR:
			sa = *CRED_CFIELD(a, f, char *);
			sb = *CRED_CFIELD(b, f, char *);
			ck_assert_msg((sa == NULL) == (sb == NULL) &&
			    (sa == NULL || strcmp(sa, sb) == 0),
			    "field at %zu differs", f->off);
			break;
		case CF_SECRET:
			ck_assert_uint_eq(*CRED_CLEN(a, f), *CRED_CLEN(b, f));
			sa = *CRED_CFIELD(a, f, char *);
			sb = *CRED_CFIELD(b, f, char *);
			ck_assert((sa == NULL) == (sb == NULL));
			ck_assert(sa == NULL || memcmp(sa, sb,
			    *CRED_CLEN(a, f) + 1) == 0);
			break;
		case CF_LIST:
			ck_assert_uint_eq(*CRED_CLEN(a, f), *CRED_CLEN(b, f));
			la = *CRED_CFIELD(a, f, char **);
			lb = *CRED_CFIELD(b, f, char **);
			for (i = 0; i < *CRED_CLEN(a, f); i++)
				ck_assert_str_eq(la[i], lb[i]);
			ck_assert_ptr_null(lb[i]);
			break;
		case CF_CHOICE:
			ck_assert_uint_eq(*CRED_CFIELD(a, f, unsigned int),
			    *CRED_CFIELD(b, f, unsigned int));
			break;
		case CF_LONG:
			ck_assert_int_eq(*CRED_CFIELD(a, f, long),
			    *CRED_CFIELD(b, f, long));
			break;
		case CF_SOURCES:
			ck_assert_uint_eq(*CRED_CLEN(a, f), *CRED_CLEN(b, f));
			for (i = 0; i < *CRED_CLEN(a, f); i++)
				assert_same_cred(&(*CRED_CFIELD(a, f,
				    struct cred_conf *))[i], &(*CRED_CFIELD(b,
				    f, struct cred_conf *))[i]);
			break;
		case CF_OPTS:
			assert_same_opts(*CRED_CFIELD(a, f, struct cred_opt *),
			    *CRED_CLEN(a, f), *CRED_CFIELD(b, f,
			    struct cred_opt *), *CRED_CLEN(b, f));
			break;
		case CF_NONE:
			break;
		}
	}
}

static void
load_two(struct daemon_conf **out)
{
	char err[CONF_ERR_MAX] = "";

	tu_put("tokencache.conf", 0644, "[daemon]\nruntime_dir = /run/tc-x\n");
	ck_assert_int_eq(mkdir(tu_path("credentials.d"), 0755), 0);
	tu_put("credentials.d/full.conf", 0600, FULL);
	tu_put("credentials.d/ca.pem", 0644, PEM_CERT);
	tu_put("credentials.d/bare.conf", 0600, BARE);
	tu_put("credentials.d/secret", 0600, SECRET "\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), out, err) == 0,
	    "%s", err);
	ck_assert_uint_eq((*out)->ncreds, 2);
}

/* The hand-over to the worker carries every field of every credential. */
START_TEST(cred_pack_roundtrip)
{
	struct daemon_conf *c = NULL, *u = NULL;
	unsigned char *buf;
	size_t len = 0, i;

	load_two(&c);
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), 0);
	ck_assert_uint_eq(u->ncreds, c->ncreds);
	ck_assert_ptr_null(u->metrics_textfile);
	ck_assert_int_eq(u->metrics_interval, c->metrics_interval);
	for (i = 0; i < c->ncreds; i++) {
		assert_same_cred(&c->creds[i], &u->creds[i]);
		ck_assert_int_eq(conf_cred_request_differs(&c->creds[i],
		    &u->creds[i]), 0);
		ck_assert_int_eq(conf_cred_acl_differs(&c->creds[i],
		    &u->creds[i]), 0);
	}
	/* One byte short, or one more: refused. */
	ck_assert_int_eq(conf_unpack(buf, len - 1, &u), -1);
	sodium_free(buf);
	conf_free(u);
	conf_free(c);
}
END_TEST

/*
 * The worker takes only what conf_load() could have produced: a choice
 * among its words, a number in its key's range.
 */
START_TEST(cred_unpack_refuses_out_of_range)
{
	struct daemon_conf *c = NULL, *u = NULL;
	unsigned char *buf;
	size_t len = 0;

	load_two(&c);
	c->creds[0].auth_method = (enum auth_method)4;
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), -1);
	sodium_free(buf);
	c->creds[0].auth_method = AUTH_CLIENT_SECRET_POST;
	c->creds[1].timeout_ms = 0;
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), -1);
	sodium_free(buf);
	c->creds[1].timeout_ms = 601 * 1000L;
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), -1);
	sodium_free(buf);
	conf_free(c);
}
END_TEST

/* Change row f's field in c to another valid-looking value. */
static void
mutate(struct cred_conf *c, const struct cred_field *f)
{
	char **sp, **list;

	switch (f->kind) {
	case CF_STR:
		sp = CRED_FIELD(c, f, char *);
		free(*sp);
		ck_assert_ptr_nonnull(*sp = strdup("something-else"));
		break;
	case CF_SECRET:
		/* FULL cannot give them all (private_key_file excludes
		 * client_secret): an unset one is set. */
		if (*CRED_FIELD(c, f, char *) == NULL) {
			ck_assert_ptr_nonnull(*CRED_FIELD(c, f, char *) =
			    sodium_malloc(2));
			memcpy(*CRED_FIELD(c, f, char *), "x", 2);
			*CRED_LEN(c, f) = 1;
		} else
			(*CRED_FIELD(c, f, char *))[0] ^= 1;
		break;
	case CF_LIST:
		list = *CRED_FIELD(c, f, char **);
		if (*CRED_LEN(c, f) == 0) {
			ck_assert_ptr_nonnull(list = realloc(list,
			    2 * sizeof(*list)));
			*CRED_FIELD(c, f, char **) = list;
			list[1] = NULL;
			*CRED_LEN(c, f) = 1;
		} else
			free(list[0]);
		ck_assert_ptr_nonnull(list[0] = strdup("other"));
		break;
	case CF_CHOICE:
		*CRED_FIELD(c, f, unsigned int) ^= 1;
		break;
	case CF_LONG:
		*CRED_FIELD(c, f, long) += 1;
		break;
	case CF_OPTS:
	case CF_SOURCES:
		/* An oauth2 credential has none: cred_module_options and
		 * the cred_chain tests cover them. */
		break;
	case CF_NONE:
		break;
	}
}

/* The same key and input for the request identity in every test. */
static void
request_id(const struct cred_conf *c, uint8_t id[16])
{
	crypto_generichash_state st;
	unsigned char key[32];
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	crypto_generichash_init(&st, key, sizeof(key), 16);
	conf_cred_request_id(c, &st, id);
}

/*
 * A change to any one field is a changed request exactly when its row says
 * CF_REQUEST, an ACL change exactly when it says CF_ACL, and changes the
 * request identity exactly when it is a changed request.
 */
START_TEST(cred_differs_each_field)
{
	const struct cred_field *f = &conf_cred_fields[_i];
	struct cred_conf a, b;
	uint8_t ida[16], idb[16];
	int req = (f->flags & CF_REQUEST) != 0, acl = (f->flags & CF_ACL) != 0;

	/* An oauth2 credential has no options or sources to change: the
	 * module and chain tests do. */
	if (f->kind == CF_NONE || f->kind == CF_OPTS || f->kind == CF_SOURCES)
		return;
	cred_ok(FULL, &a);
	cred_ok(FULL, &b);
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 0);
	mutate(&b, f);
	ck_assert_msg(conf_cred_request_differs(&a, &b) == req &&
	    conf_cred_request_differs(&b, &a) == req,
	    "row %zu (%s): request_differs != %d", (size_t)_i,
	    f->key != NULL ? f->key : "-", req);
	ck_assert_msg(conf_cred_acl_differs(&a, &b) == acl,
	    "row %zu (%s): acl_differs != %d", (size_t)_i,
	    f->key != NULL ? f->key : "-", acl);
	request_id(&a, ida);
	request_id(&b, idb);
	ck_assert_msg((memcmp(ida, idb, 16) != 0) == req,
	    "row %zu (%s): request id changed != %d", (size_t)_i,
	    f->key != NULL ? f->key : "-", req);
	conf_cred_clear(&b);
	conf_cred_clear(&a);
}
END_TEST

/*
 * The request identity is stored in the segment's slots, and a restarted
 * daemon adopts a token only if it matches: the bytes hashed may never
 * change.  The expected values were computed by main's cred_request_id()
 * (provider/daemon.c before the field table), copied verbatim into a
 * scratch program with the state keyed by 0x00..0x1f as request_id() does,
 * on exactly these two credentials.
 */
static const uint8_t golden_full[16] = {
	0xf9, 0xfa, 0x06, 0x9f, 0x7c, 0x87, 0x07, 0x7f,
	0x2b, 0x2b, 0x1a, 0x7a, 0x30, 0x7a, 0xb4, 0xc9,
};
static const uint8_t golden_bare[16] = {
	0xca, 0xff, 0xb4, 0xa7, 0x61, 0x87, 0xba, 0x53,
	0xd1, 0xda, 0x3f, 0xb4, 0x05, 0x77, 0x41, 0x35,
};

START_TEST(cred_request_id_stable)
{
	char secret[] = SECRET, name[] = "golden", provider[] = "oauth2";
	char url[] = "https://login.example.com/oauth/token";
	char id_[] = "my-client", aud[] = "https://api.example.com";
	char scope[] = "read write", r1[] = "https://api.example.com/";
	char r2[] = "urn:example:other";
	char *res[] = { r1, r2, NULL };
	char *none[] = { NULL };
	struct cred_conf full, bare, loaded;
	uint8_t id[16];

	memset(&full, 0, sizeof(full));
	full.name = name;
	full.provider = provider;
	full.token_url = url;
	full.client_id = id_;
	full.client_secret = secret;
	full.client_secret_len = strlen(secret);
	full.auth_method = AUTH_CLIENT_SECRET_BASIC;
	full.audience = aud;
	full.scope = scope;
	full.resources = res;
	full.nresources = 2;
	full.allow_users = none;
	full.allow_groups = none;
	full.timeout_ms = 30000;
	full.default_lifetime = 3600;
	full.max_lifetime = 2678400;
	bare = full;
	bare.auth_method = AUTH_CLIENT_SECRET_POST;
	bare.audience = NULL;
	bare.scope = NULL;
	bare.resources = none;
	bare.nresources = 0;

	request_id(&full, id);
	ck_assert_int_eq(memcmp(id, golden_full, 16), 0);
	request_id(&bare, id);
	ck_assert_int_eq(memcmp(id, golden_bare, 16), 0);

	/* The same credentials read from files: name, ACL, timeouts and
	 * ca_file are not part of the request. */
	cred_ok(FULL, &loaded);
	request_id(&loaded, id);
	ck_assert_int_eq(memcmp(id, golden_full, 16), 0);
	conf_cred_clear(&loaded);
	cred_ok(BARE, &loaded);
	request_id(&loaded, id);
	ck_assert_int_eq(memcmp(id, golden_bare, 16), 0);
	conf_cred_clear(&loaded);
}
END_TEST

/* c's first credential survives the hand-over to the worker whole; c is
 * freed. */
static void
assert_handed_over(struct daemon_conf *c)
{
	struct daemon_conf *u = NULL;
	unsigned char *buf;
	size_t len = 0;

	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), 0);
	assert_same_cred(&c->creds[0], &u->creds[0]);
	ck_assert_int_eq(conf_cred_request_differs(&c->creds[0],
	    &u->creds[0]), 0);
	sodium_free(buf);
	conf_free(u);
	conf_free(c);
}

/*
 * A loaded module's credential: every key but the daemon's own is an
 * option, in file order with its line, the oauth2 keys included; a
 * KEY_file holds the file's bytes (NUL too), read under the rules of a
 * secret file unless it is a certificate; a key ending in "secret" is a
 * secret; all of it survives the hand-over.
 */
#define MODCRED \
	"[credential]\n" \
	"provider = fixed\n" \
	"token = abc\n" \
	"token_url = not-a-url\n" \
	"api_secret = s3cr3t\n" \
	"signing_key_file = key\n" \
	"ca_file = ca.pem\n" \
	"token = again\n" \
	"timeout = 7\n"

START_TEST(cred_module_options)
{
	static const struct {
		const char *key, *value;
		unsigned int line, flags;
	} want[] = {
		{ "token", "abc", 3, 0 },
		{ "token_url", "not-a-url", 4, 0 },
		{ "api_secret", "s3cr3t", 5, TC_MOD_OPT_SECRET },
		{ "signing_key_file", "K\0EY", 6,
		    TC_MOD_OPT_FILE | TC_MOD_OPT_SECRET },
		{ "ca_file", "CERT", 7, TC_MOD_OPT_FILE },
		{ "token", "again", 8, 0 },
	};
	struct daemon_conf *c = NULL;
	const struct cred_conf *cc;
	char err[CONF_ERR_MAX] = "";
	size_t i;

	tu_put("tokencache.conf", 0644, "[daemon]\nruntime_dir = /run/tc-x\n");
	ck_assert_int_eq(mkdir(tu_path("credentials.d"), 0755), 0);
	tu_put("credentials.d/mod.conf", 0600, MODCRED);
	tu_putn("credentials.d/key", 0600, "K\0EY", 4);
	tu_put("credentials.d/ca.pem", 0644, "CERT");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0,
	    "%s", err);
	cc = &c->creds[0];
	ck_assert_str_eq(cc->provider, "fixed");
	ck_assert_ptr_null(cc->token_url);
	ck_assert_ptr_null(cc->client_secret);
	ck_assert_int_eq(cc->timeout_ms, 7000);
	ck_assert_uint_eq(cc->nopts, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < cc->nopts; i++) {
		ck_assert_str_eq(cc->opts[i].key, want[i].key);
		ck_assert_uint_eq(cc->opts[i].line, want[i].line);
		ck_assert_uint_eq(cc->opts[i].flags, want[i].flags);
		ck_assert_uint_eq(cc->opts[i].len,
		    i == 3 ? 4 : strlen(want[i].value));
		ck_assert_int_eq(memcmp(cc->opts[i].value, want[i].value,
		    cc->opts[i].len), 0);
		ck_assert((cc->opts[i].path != NULL) ==
		    ((want[i].flags & TC_MOD_OPT_FILE) != 0));
	}
	ck_assert_str_eq(cc->opts[3].path, tu_path("credentials.d/key"));
	assert_handed_over(c);
}
END_TEST

/* mod.conf (mode) refused, the message naming line and saying what. */
static void
modcred_fails(const char *body, mode_t mode, unsigned int line,
    const char *what)
{
	struct cred_conf c;
	char err[CONF_ERR_MAX] = "", want[PATH_MAX + 16];

	tu_put("mod.conf", mode, body);
	ck_assert_int_eq(conf_load_credential(tu_path("mod.conf"), "mod", &c,
	    err), -1);
	snprintf(want, sizeof(want), "%s:%u: ", tu_path("mod.conf"), line);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0 &&
	    strstr(err, what) != NULL, "'%s' is not '%s...%s'", err, want,
	    what);
	ck_assert_ptr_null(strstr(err, "s3cr3t"));
}

START_TEST(cred_module_options_refused)
{
	tu_putn("key", 0640, "KEY", 3);
	tu_put("ca.pem", 0666, "CERT");
	modcred_fails("[credential]\nprovider = fixed\napi_secret = s3cr3t\n",
	    0644, 3, "file holds a secret inline but is group- or "
	    "world-accessible");
	modcred_fails("[credential]\nprovider = fixed\nx_key_file = key\n",
	    0600, 3, "x_key_file");
	modcred_fails("[credential]\nprovider = fixed\nx_key_file = key\n",
	    0600, 3, "is group- or world-accessible");
	modcred_fails("[credential]\nprovider = fixed\nca_file = ca.pem\n",
	    0600, 3, "is group- or world-writable");
	modcred_fails("[credential]\nprovider = fixed\nx_file = nothere\n",
	    0600, 3, "No such file");
	/* The daemon's own keys are still its own to judge. */
	modcred_fails("[credential]\nprovider = fixed\ntimeout = 0\n", 0600,
	    3, "timeout must be");
	/* oauth2 still knows its keys. */
	modcred_fails("[credential]\nprovider = oauth2\ntoken = abc\n", 0600,
	    3, "unknown key 'token'");
}
END_TEST

/* ---- chains ----------------------------------------------------------- */

#define CHAIN \
	"[credential]\n" \
	"allow_users = alice\n" \
	"timeout = 9\n" \
	"\n" \
	"[source]\n" \
	"control = required\n" \
	"provider = oauth2\n" \
	"token_url = https://a.example.com/t\n" \
	"client_id = a\n" \
	"client_secret_file = secret\n" \
	"\n" \
	"[source]\n" \
	"provider = fixed\n" \
	"token = abc\n"

/* [source] sections: each a source with its own keys and the
 * credential's name, path, timeout and lifetimes; the credential is a
 * chain with none of its own. */
START_TEST(cred_chain_parse)
{
	struct cred_conf c;

	cred_ok(CHAIN, &c);
	ck_assert_str_eq(c.provider, "chain");
	ck_assert_ptr_null(c.token_url);
	ck_assert_uint_eq(c.nallow_users, 1);
	ck_assert_uint_eq(c.nsources, 2);
	ck_assert_int_eq(c.sources[0].control, SRC_REQUIRED);
	ck_assert_int_eq(c.sources[1].control, SRC_SUFFICIENT);
	ck_assert_str_eq(c.sources[0].provider, "oauth2");
	ck_assert_str_eq(c.sources[0].token_url, "https://a.example.com/t");
	ck_assert_str_eq(c.sources[0].client_secret, SECRET);
	ck_assert_str_eq(c.sources[1].provider, "fixed");
	ck_assert_uint_eq(c.sources[1].nopts, 1);
	ck_assert_str_eq(c.sources[1].opts[0].key, "token");
	ck_assert_uint_eq(c.sources[1].opts[0].line, 14);
	ck_assert_str_eq(c.sources[1].name, "cred");
	ck_assert_str_eq(c.sources[1].path, tu_path("cred.conf"));
	ck_assert_int_eq(c.sources[0].timeout_ms, 9000);
	ck_assert_int_eq(c.sources[1].timeout_ms, 9000);
	ck_assert_uint_eq(c.sources[0].nallow_users, 0);
	conf_cred_clear(&c);
}
END_TEST

START_TEST(cred_chain_refused)
{
	char many[4096] = "[credential]\n";
	int i;

	modcred_fails("[credential]\nprovider = oauth2\n[source]\n"
	    "provider = fixed\n", 0600, 2,
	    "'provider' belongs in a [source] section");
	modcred_fails("[credential]\n[source]\nprovider = fixed\n"
	    "allow_users = bob\n", 0600, 4, "'allow_users' belongs in "
	    "[credential]");
	modcred_fails("[credential]\ncontrol = required\nprovider = oauth2"
	    "\n", 0600, 2, "'control' belongs in a [source] section");
	modcred_fails("[credential]\n[source]\ncontrol = requisite\n", 0600,
	    3, "unknown control 'requisite' (known: sufficient, required, "
	    "optional)");
	modcred_fails("[credential]\n[source]\nprovider = fixed\n"
	    "[source]\ncontrol = optional\n", 0600, 4,
	    "missing required key 'provider'");
	modcred_fails("[credential]\n[source]\nprovider = chain\n", 0600, 3,
	    "provider 'chain' is reserved");
	modcred_fails("[credential]\n[source]\nprovider = oauth2\n"
	    "token_url = https://a/\nclient_id = c\n", 0600, 2,
	    "missing required key 'client_secret_file'");
	for (i = 0; i < SOURCES_MAX + 1; i++)
		strcat(many, "[source]\nprovider = fixed\n");
	modcred_fails(many, 0600, 2 + 2 * SOURCES_MAX,
	    "more than 8 [source] sections");
}
END_TEST

/* The hand-over carries a chain whole; its identity covers each
 * source's request, order and word, and a source's module's part. */
START_TEST(cred_chain_identity)
{
	struct daemon_conf *c = NULL;
	struct cred_conf a, b;
	uint8_t ida[16], idb[16];
	char err[CONF_ERR_MAX] = "";
	struct cred_conf tmp;

	tu_put("tokencache.conf", 0644, "[daemon]\nruntime_dir = /run/tc-x\n");
	ck_assert_int_eq(mkdir(tu_path("credentials.d"), 0755), 0);
	tu_put("credentials.d/chain.conf", 0600, CHAIN);
	tu_put("credentials.d/secret", 0600, SECRET "\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0,
	    "%s", err);
	assert_handed_over(c);

	cred_ok(CHAIN, &a);
	cred_ok(CHAIN, &b);
	request_id(&a, ida);
	request_id(&b, idb);
	ck_assert_int_eq(memcmp(ida, idb, 16), 0);
	/* a word */
	b.sources[0].control = SRC_OPTIONAL;
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	request_id(&b, idb);
	ck_assert_int_ne(memcmp(ida, idb, 16), 0);
	b.sources[0].control = SRC_REQUIRED;
	/* the order */
	tmp = b.sources[0];
	b.sources[0] = b.sources[1];
	b.sources[1] = tmp;
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	request_id(&b, idb);
	ck_assert_int_ne(memcmp(ida, idb, 16), 0);
	tmp = b.sources[0];
	b.sources[0] = b.sources[1];
	b.sources[1] = tmp;
	/* what a source's module added */
	b.sources[1].src_id_set = 1;
	b.sources[1].src_id[0] = 1;
	ck_assert_int_eq(conf_cred_request_differs(&a, &b), 1);
	request_id(&b, idb);
	ck_assert_int_ne(memcmp(ida, idb, 16), 0);
	conf_cred_clear(&a);
	conf_cred_clear(&b);
}
END_TEST

/* The worker refuses what conf_load could not have made: options for
 * oauth2, oauth2's keys for a module. */
START_TEST(cred_unpack_refuses_mixed)
{
	struct daemon_conf *c = NULL, *u = NULL;
	unsigned char *buf;
	char *keep;
	size_t len = 0;

	load_two(&c);
	ck_assert_ptr_nonnull(c->creds[0].opts = calloc(2,
	    sizeof(*c->creds[0].opts)));
	c->creds[0].nopts = 1;
	ck_assert_ptr_nonnull(c->creds[0].opts[0].key = strdup("k"));
	ck_assert_ptr_nonnull(c->creds[0].opts[0].value = sodium_malloc(1));
	c->creds[0].opts[0].value[0] = '\0';
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), -1);
	sodium_free(buf);
	/* A module's credential with a token_url. */
	keep = c->creds[0].provider;
	ck_assert_ptr_nonnull(c->creds[0].provider = strdup("fixed"));
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), -1);
	sodium_free(buf);
	free(c->creds[0].provider);
	c->creds[0].provider = keep;
	conf_free(c);
}
END_TEST

/* Lines 1-4: a credential with neither token_url nor a client secret. */
#define HEAD "[credential]\nprovider = oauth2\nclient_id = my-client\n"
#define URL "token_url = https://login.example.com/oauth/token\n"

/*
 * What the oauth2 keys need of each other, each refused with its file and
 * line: one of token_url and issuer, the keys of each auth_method, and
 * a connect_timeout within timeout.
 */
static const struct {
	const char *content;
	unsigned int line;
	const char *why;
} oauth2_refusals[] = {
	{ HEAD "client_secret_file = secret\n", 0,
	  "missing required key 'token_url' (or 'issuer')" },
	{ HEAD URL "client_secret_file = secret\n"
	  "issuer = https://login.example.com\n", 6,
	  "give token_url or issuer, not both" },
	{ HEAD URL "client_secret_file = secret\ntimeout = 5\n"
	  "connect_timeout = 6\n", 7, "connect_timeout 6 exceeds timeout 5" },
	{ HEAD URL "client_secret_file = secret\ntls_cert_file = cert.pem\n",
	  6, "tls_cert_file and tls_key_file go together" },
	{ HEAD URL "client_secret_file = secret\ntls_key_file = key.pem\n",
	  6, "tls_cert_file and tls_key_file go together" },
	{ HEAD URL "auth_method = tls_client_auth\n", 5,
	  "auth_method tls_client_auth needs tls_cert_file and tls_key_file" },
	{ HEAD URL "auth_method = private_key_jwt\n", 5,
	  "auth_method private_key_jwt and private_key_file go together" },
	{ HEAD URL "client_secret_file = secret\nprivate_key_file = key.pem\n",
	  6, "auth_method private_key_jwt and private_key_file go together" },
	{ HEAD URL "auth_method = private_key_jwt\nprivate_key_file = "
	  "key.pem\nclient_secret_file = secret\n", 7,
	  "auth_method private_key_jwt sends no client secret: remove "
	  "client_secret_file" },
	{ HEAD URL "auth_method = tls_client_auth\ntls_cert_file = cert.pem\n"
	  "tls_key_file = key.pem\nclient_secret = x\n", 8,
	  "auth_method tls_client_auth sends no client secret: remove "
	  "client_secret" },
	{ HEAD URL "client_secret_file = secret\njwt_kid = k\n", 6,
	  "jwt_kid needs auth_method private_key_jwt" },
	{ HEAD URL "client_secret_file = secret\nparam = scope=x\n", 6,
	  "param 'scope' is one the daemon sets itself" },
	{ HEAD URL "client_secret_file = secret\nparam = client_assertion=x\n",
	  6, "param 'client_assertion' is one the daemon sets itself" },
	{ HEAD URL "client_secret_file = secret\nparam = =x\n", 6,
	  "param must be name=value" },
	{ HEAD URL "client_secret_file = secret\nparam = a b=x\n", 6,
	  "param must be name=value" },
	{ HEAD URL "client_secret_file = secret\nproxy = ftp://p:21\n", 6,
	  "proxy must be a URL" },
	{ HEAD "issuer = http://idp.example.com\n"
	  "client_secret_file = secret\n", 4, "issuer must use https://" },
	{ HEAD "issuer = https://idp.example.com/#x\n"
	  "client_secret_file = secret\n", 4,
	  "issuer must not have a fragment" },
	{ HEAD URL "client_secret_file = secret\ntls_cert_file = secret\n"
	  "tls_key_file = key.pem\n", 6, "is not a PEM file" },
};

START_TEST(cred_oauth2_keys_refused)
{
	struct cred_conf c;
	char err[CONF_ERR_MAX] = "", want[PATH_MAX + 16];

	tu_put("cred.conf", 0600, oauth2_refusals[_i].content);
	tu_put("secret", 0600, SECRET "\n");
	put_pems();
	ck_assert_int_eq(conf_load_credential(tu_path("cred.conf"), "cred", &c,
	    err), -1);
	if (oauth2_refusals[_i].line != 0)
		snprintf(want, sizeof(want), "%s:%u: ", tu_path("cred.conf"),
		    oauth2_refusals[_i].line);
	else
		snprintf(want, sizeof(want), "%s: ", tu_path("cred.conf"));
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "%u: error '%s' does not start with '%s'", _i, err, want);
	ck_assert_msg(strstr(err, oauth2_refusals[_i].why) != NULL,
	    "%u: error '%s' lacks '%s'", _i, err, oauth2_refusals[_i].why);
	ck_assert_ptr_null(strstr(err, SECRET));
}
END_TEST

/* The ways of authenticating that need no secret load, and connect_timeout
 * defaults to min(timeout, 10 s). */
START_TEST(cred_oauth2_keys_ok)
{
	struct cred_conf c;

	cred_ok(HEAD "issuer = https://idp.example.com/\n"
	    "auth_method = tls_client_auth\ntls_cert_file = cert.pem\n"
	    "tls_key_file = key.pem\ntimeout = 4\n", &c);
	ck_assert_ptr_null(c.token_url);
	ck_assert_str_eq(c.issuer, "https://idp.example.com/");
	ck_assert_ptr_null(c.client_secret);
	ck_assert_uint_eq(c.auth_method, AUTH_TLS_CLIENT_AUTH);
	ck_assert_uint_eq(c.tls_key_len, strlen(PEM_KEY));
	ck_assert_int_eq(c.connect_timeout_ms, 4000);
	conf_cred_clear(&c);
	cred_ok(HEAD URL "auth_method = private_key_jwt\n"
	    "private_key_file = key.pem\njwt_kid = k1\n"
	    "param = tenant=t1\nparam = x.y-z_=\n", &c);
	ck_assert_uint_eq(c.auth_method, AUTH_PRIVATE_KEY_JWT);
	ck_assert_str_eq(c.private_key, PEM_KEY);
	ck_assert_uint_eq(c.nparams, 2);
	ck_assert_str_eq(c.params[1], "x.y-z_=");
	ck_assert_int_eq(c.connect_timeout_ms, 10000);
	conf_cred_clear(&c);
}
END_TEST

/*
 * The keys added after identities were first stored leave the identity
 * of a credential that does not give them as it was (the golden values
 * of cred_request_id_stable), those that only shape the request leave it
 * whatever they say, and each of the others changes it, distinctly.
 */
START_TEST(cred_request_id_new_keys)
{
	static const char *const extra[] = {
		"param = tenant=a\n",
		"param = tenant=b\n",
		"param = tenant=a\nparam = x=y\n",
		"tls_cert_file = cert.pem\ntls_key_file = key.pem\n",
	};
	uint8_t ids[5][16], id[16];
	struct cred_conf c;
	char body[2048];
	size_t i, j;

	/* connect_timeout, proxy: not the request */
	cred_ok(FULL "connect_timeout = 3\nproxy = socks5h://127.0.0.1:9\n",
	    &c);
	request_id(&c, id);
	conf_cred_clear(&c);
	ck_assert_int_eq(memcmp(id, golden_full, 16), 0);
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		snprintf(body, sizeof(body), "%s%s", FULL, extra[i]);
		cred_ok(body, &c);
		request_id(&c, ids[i]);
		conf_cred_clear(&c);
	}
	/* issuer instead of token_url, the same URL */
	cred_ok("[credential]\nprovider = oauth2\nclient_id = my-client\n"
	    "client_secret_file = secret\n"
	    "issuer = https://login.example.com/oauth/token\n", &c);
	request_id(&c, ids[i]);
	conf_cred_clear(&c);
	for (i = 0; i < 5; i++) {
		ck_assert_int_ne(memcmp(ids[i], golden_full, 16), 0);
		ck_assert_int_ne(memcmp(ids[i], golden_bare, 16), 0);
		for (j = 0; j < i; j++)
			ck_assert_msg(memcmp(ids[i], ids[j], 16) != 0,
			    "identities %zu and %zu are the same", i, j);
	}
}
END_TEST

/* The hand-over carries the new keys, and the worker refuses a built-in
 * credential that no file could have given. */
START_TEST(cred_pack_oauth2_keys)
{
	struct daemon_conf *c = NULL, *u = NULL;
	char err[CONF_ERR_MAX] = "";
	unsigned char *buf;
	size_t len = 0, i;
	char *keep;

	tu_put("tokencache.conf", 0644, "[daemon]\nruntime_dir = /run/tc-x\n");
	ck_assert_int_eq(mkdir(tu_path("credentials.d"), 0755), 0);
	tu_put("credentials.d/cert.pem", 0644, PEM_CERT);
	tu_put("credentials.d/key.pem", 0600, PEM_KEY);
	tu_put("credentials.d/jwt.conf", 0600, HEAD
	    "issuer = https://idp.example.com\nauth_method = private_key_jwt\n"
	    "private_key_file = key.pem\njwt_kid = k\nproxy = http://p:1\n"
	    "connect_timeout = 2\n");
	tu_put("credentials.d/mtls.conf", 0600, HEAD URL
	    "auth_method = tls_client_auth\ntls_cert_file = cert.pem\n"
	    "tls_key_file = key.pem\nparam = a=b\nparam = c=d\n");
	ck_assert_msg(conf_load(tu_path("tokencache.conf"), &c, err) == 0,
	    "%s", err);
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), 0);
	sodium_free(buf);
	for (i = 0; i < c->ncreds; i++) {
		assert_same_cred(&c->creds[i], &u->creds[i]);
		ck_assert_int_eq(conf_cred_request_differs(&c->creds[i],
		    &u->creds[i]), 0);
	}
	conf_free(u);
	/* jwt.conf with a token_url as well */
	ck_assert_ptr_nonnull(c->creds[0].token_url = strdup("https://a/"));
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), -1);
	sodium_free(buf);
	free(c->creds[0].token_url);
	c->creds[0].token_url = NULL;
	/* mtls.conf without its key */
	keep = c->creds[1].tls_key;
	c->creds[1].tls_key = NULL;
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), -1);
	sodium_free(buf);
	c->creds[1].tls_key = keep;
	/* ... or with a secret */
	ck_assert_ptr_nonnull(c->creds[1].client_secret = sodium_malloc(2));
	memcpy(c->creds[1].client_secret, "x", 2);
	c->creds[1].client_secret_len = 1;
	ck_assert_ptr_nonnull(buf = conf_pack(c, &len));
	ck_assert_int_eq(conf_unpack(buf, len, &u), -1);
	sodium_free(buf);
	conf_free(c);
}
END_TEST

static Suite *
config_cred_suite(void)
{
	Suite *s = suite_create("config_cred");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, cred_table_covered);
	tcase_add_test(tc, cred_table_flags);
	tcase_add_loop_test(tc, cred_parse_each_key, 0, NSAMPLES);
	tcase_add_loop_test(tc, cred_parse_each_key_refused, 0, NSAMPLES);
	tcase_add_test(tc, cred_clear_every_field);
	tcase_add_test(tc, cred_pack_roundtrip);
	tcase_add_test(tc, cred_unpack_refuses_out_of_range);
	tcase_add_loop_test(tc, cred_differs_each_field, 0,
	    (int)conf_cred_nfields);
	tcase_add_test(tc, cred_request_id_stable);
	tcase_add_test(tc, cred_module_options);
	tcase_add_test(tc, cred_module_options_refused);
	tcase_add_test(tc, cred_unpack_refuses_mixed);
	tcase_add_test(tc, cred_chain_parse);
	tcase_add_test(tc, cred_chain_refused);
	tcase_add_test(tc, cred_chain_identity);
	tcase_add_loop_test(tc, cred_oauth2_keys_refused, 0,
	    sizeof(oauth2_refusals) / sizeof(oauth2_refusals[0]));
	tcase_add_test(tc, cred_oauth2_keys_ok);
	tcase_add_test(tc, cred_request_id_new_keys);
	tcase_add_test(tc, cred_pack_oauth2_keys);
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
	return tu_run(config_cred_suite());
}
