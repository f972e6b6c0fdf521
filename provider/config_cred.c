/*
 * config_cred.c - credentials_dir/NAME.conf: the table, its sections,
 * a module's options, and loading one file.
 *
 * Every key and field of a credential is one row of conf_cred_fields[]
 * below (see config.h), which drives parsing (the parsers are in
 * config_keys.c), clearing, the "request changed" and ACL diffs, the
 * hand-over to the worker and the request identity (config_encode.c).
 * A new key is one row, plus a parser if none of the existing ones fits.
 *
 * Credential files and secret files hold client secrets: secrets live in
 * sodium_malloc'd memory, and no error message quotes a value that could
 * be a secret.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "config_internal.h"
#include "seg.h"
#include "tokencache/module.h"

#define DEFAULT_TIMEOUT		30		/* seconds */
#define DEFAULT_LIFETIME	3600		/* seconds */
#define DEFAULT_MAX_LIFETIME	2678400		/* 31 days */
#define TIMEOUT_MAX		600
#define DEFAULT_CONNECT_TIMEOUT	10	/* seconds, or timeout if shorter */
#define LIFETIME_MAX		315360000	/* ten years */

/* ---- credential files -------------------------------------------------- */


/* struct cred_parse, struct cred_sec: config_internal.h */

/* ---- the table of credential fields --------------------------------------
 *
 * One row per field of struct cred_conf and per key of NAME.conf, in the
 * order they are packed and hashed.  See config.h.  The request identity
 * hashes the CF_REQUEST rows in this order (conf_cred_encode): their
 * order, kinds and encodings must stay as they are, or no restarted
 * daemon adopts a cached token (test_config_cred's cred_request_id_stable
 * holds them to main's values).  A new CF_REQUEST row changes every
 * identity, even while unset (NULL is encoded too): each token is then
 * fetched once more after the upgrade.  A new key also needs its line in
 * test_config_cred's samples[] (cred_table_covered says so).
 */

/*
 * The offset of a field, checked at compile time to have the type the
 * row's kind reads it as: a _Generic with no matching association does
 * not compile.  An enum is read as unsigned int, the type GCC and Clang
 * give an enum without negative values.
 */
#define CF_OFF(field, type) _Generic(((struct cred_conf *)0)->field, \
	type: offsetof(struct cred_conf, field))

#define F_STR(key, field, flags, parse) { key, CF_STR, \
	CF_OFF(field, char *), 0, flags, parse, NULL, 0, 0, 0, 0 }
#define F_CHOICE(key, field, flags, words, dflt) { key, CF_CHOICE, \
	CF_OFF(field, unsigned int), 0, flags, ckey_word, words, 0, 0, 0, \
	dflt }
#define F_SECRET(key, field, len, flags, parse) { key, CF_SECRET, \
	CF_OFF(field, char *), CF_OFF(len, size_t), flags, parse, NULL, \
	0, 0, 0, 0 }
#define F_LIST(key, field, n, flags, parse) { key, CF_LIST, \
	CF_OFF(field, char **), CF_OFF(n, size_t), flags, parse, NULL, \
	0, 0, 0, 0 }
#define F_SECONDS(key, field, lo, hi, scale, dflt) { key, CF_LONG, \
	CF_OFF(field, long), 0, 0, ckey_seconds, NULL, lo, hi, scale, dflt }
#define F_SECONDS_F(key, field, flags, lo, hi, scale, dflt) { key, \
	CF_LONG, CF_OFF(field, long), 0, flags, ckey_seconds, NULL, lo, hi, \
	scale, dflt }
#define F_KEY(key, flags, parse) { key, CF_NONE, 0, 0, flags, parse, \
	NULL, 0, 0, 0, 0 }

#define F_SOURCES(field, n) { NULL, CF_SOURCES, \
	_Generic(((struct cred_conf *)0)->field, struct cred_conf *: \
	offsetof(struct cred_conf, field)), CF_OFF(n, size_t), \
	CF_REQUEST | CF_ID_IFSET, NULL, NULL, 0, 0, 0, 0 }
#define F_OPTS(field, n) { NULL, CF_OPTS, \
	_Generic(((struct cred_conf *)0)->field, struct cred_opt *: \
	offsetof(struct cred_conf, field)), CF_OFF(n, size_t), 0, NULL, \
	NULL, 0, 0, 0, 0 }

static const char *const control_words[] = {
	[SRC_SUFFICIENT] = "sufficient",
	[SRC_REQUIRED] = "required",
	[SRC_OPTIONAL] = "optional",
	NULL,
};
static const char *const auth_method_words[] = {
	[AUTH_CLIENT_SECRET_POST] = "client_secret_post",
	[AUTH_CLIENT_SECRET_BASIC] = "client_secret_basic",
	[AUTH_TLS_CLIENT_AUTH] = "tls_client_auth",
	[AUTH_PRIVATE_KEY_JWT] = "private_key_jwt",
	NULL,
};

const struct cred_field conf_cred_fields[] = {
	F_STR(NULL, name, CF_SET, NULL),
	F_STR(NULL, path, 0, NULL),
	F_STR("provider", provider, CF_REQUIRED | CF_SET | CF_REQUEST,
	    ckey_provider),
	/* Required too, or issuer: see cred_finish_oauth2(). */
	F_STR("token_url", token_url, CF_REQUEST | CF_BUILTIN,
	    ckey_token_url),
	F_STR("client_id", client_id, CF_REQUIRED | CF_SET | CF_REQUEST |
	    CF_BUILTIN, ckey_vschar),
	/* Required too, or client_secret_file, by the auth_methods that
	 * use one: see cred_finish(). */
	F_SECRET("client_secret", client_secret, client_secret_len,
	    CF_REQUEST | CF_BUILTIN, ckey_secret),
	F_KEY("client_secret_file", CF_BUILTIN, ckey_secret_file),
	F_CHOICE("auth_method", auth_method, CF_REQUEST | CF_BUILTIN,
	    auth_method_words, AUTH_CLIENT_SECRET_POST),
	F_STR("audience", audience, CF_REQUEST | CF_BUILTIN, ckey_vschar),
	F_STR("scope", scope, CF_REQUEST | CF_BUILTIN, ckey_vschar),
	/* RFC 8707 §2: several resource parameters may be sent. */
	F_LIST("resource", resources, nresources, CF_REPEAT | CF_REQUEST |
	    CF_BUILTIN, ckey_resource),
	F_LIST("allow_users", allow_users, nallow_users, CF_ACL, ckey_names),
	F_LIST("allow_groups", allow_groups, nallow_groups, CF_ACL,
	    ckey_names),
	F_SECONDS("timeout", timeout_ms, 1, TIMEOUT_MAX, 1000,
	    DEFAULT_TIMEOUT),
	F_SECONDS("default_lifetime", default_lifetime, 1, LIFETIME_MAX, 1,
	    DEFAULT_LIFETIME),
	F_SECONDS("max_lifetime", max_lifetime, 1, LIFETIME_MAX, 1,
	    DEFAULT_MAX_LIFETIME),
	/* Read by the monitor into ca_pem (a row below). */
	F_STR("ca_file", ca_file, CF_BUILTIN, ckey_ca_file),
	/* provider = camunda (config_camunda.c); what it derives from the
	 * file is in the CF_REQUEST rows above, so these are not. */
	F_STR("credentials_file", camunda_file, CF_BUILTIN, ckey_path),
	F_STR("audience_value", audience_value, CF_BUILTIN, ckey_vschar),
	/*
	 * Keys added after the request identity was first stored.  Those
	 * that select the token are CF_REQUEST with CF_ID_IFSET: left out
	 * of the identity while unset, so that no credential written
	 * before them loses its cached token on the upgrade (a plain
	 * CF_REQUEST row would change every identity, NULL being encoded
	 * too).  The issuer names the server as token_url did; a param
	 * can change the token (a tenant, say); the client certificate
	 * may bind it (RFC 8705 §3).  How the request travels (timeouts,
	 * proxy) and the keys that only prove who the client is (TLS key,
	 * JWT key and kid) are not part of it, as ca_file is not.
	 */
	F_STR("issuer", issuer, CF_REQUEST | CF_ID_IFSET | CF_BUILTIN,
	    ckey_issuer),
	/* Default min(timeout, 10 s): see cred_finish_oauth2(). */
	F_SECONDS_F("connect_timeout", connect_timeout_ms, CF_BUILTIN, 1,
	    TIMEOUT_MAX, 1000, DEFAULT_CONNECT_TIMEOUT),
	F_STR("proxy", proxy, CF_BUILTIN, ckey_proxy),
	F_LIST("param", params, nparams, CF_REPEAT | CF_REQUEST |
	    CF_ID_IFSET | CF_BUILTIN, ckey_param),
	F_SECRET("tls_cert_file", tls_cert, tls_cert_len, CF_REQUEST |
	    CF_ID_IFSET | CF_BUILTIN, ckey_cert_file),
	F_SECRET("tls_key_file", tls_key, tls_key_len, CF_BUILTIN,
	    ckey_key_file),
	F_SECRET("private_key_file", private_key, private_key_len,
	    CF_BUILTIN, ckey_key_file),
	F_STR("jwt_kid", jwt_kid, CF_BUILTIN, ckey_vschar),
	/* ca_file's contents (ckey_ca_file); not a secret, but kept like
	 * the other files the monitor reads for the worker. */
	F_SECRET(NULL, ca_pem, ca_pem_len, CF_BUILTIN, NULL),
	/* Every other key, when the provider is a loaded module. */
	F_OPTS(opts, nopts),
	/* The local endpoint's own secret (tokencache.conf(5)): not the
	 * client secret, nothing the token depends on. */
	F_SECRET("endpoint_secret_file", endpoint_secret,
	    endpoint_secret_len, 0, ckey_local_secret_file),
	/* A chain's sources (see cred_handler), and each one's word. */
	F_SOURCES(sources, nsources),
	F_CHOICE("control", control, CF_SOURCE, control_words,
	    SRC_SUFFICIENT),
};

const size_t conf_cred_nfields = sizeof(conf_cred_fields) /
    sizeof(conf_cred_fields[0]);

_Static_assert(sizeof(conf_cred_fields) / sizeof(conf_cred_fields[0]) <=
    CRED_FIELDS_MAX, "raise CRED_FIELDS_MAX");

/* The row of a key, or NULL. */
static const struct cred_field *
cred_field_of(const char *key)
{
	size_t i;

	for (i = 0; i < conf_cred_nfields; i++) {
		if (conf_cred_fields[i].key != NULL &&
		    strcmp(conf_cred_fields[i].key, key) == 0)
			return &conf_cred_fields[i];
	}
	return NULL;
}

/* The line key was (first) given on, 0 if not at all. */
static unsigned int
cred_seen(const struct cred_parse *cp, const char *key)
{
	const struct cred_field *f = cred_field_of(key);

	return f != NULL ? cp->s->seen[f - conf_cred_fields] : 0;
}

/* ---- a loaded module's options ----------------------------------------- */

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

#define OPTS_MAX 256	/* options of one credential, at most */

/*
 * A key the daemon does not read itself, kept for the module as written
 * (tokencache/module.h).  A KEY_file is read here, by the monitor, which
 * can read what the worker may not; all but certificates under the rules
 * of secret files.  A key ending in "secret" given inline is a secret,
 * and makes the credential file one (cred_finish).
 */
static int
add_option(struct cred_parse *cp, const char *key, const char *value,
    size_t vlen, unsigned int line, char *err)
{
	struct cred_conf *c = cp->s->c;
	struct cred_opt *o, *nl;
	int secret;

	if (c->nopts >= OPTS_MAX) {
		conf_err(err, cp->path, line, "more than %d options",
		    OPTS_MAX);
		return -1;
	}
	if ((nl = reallocarray(c->opts, c->nopts + 1, sizeof(*nl))) == NULL)
		goto nomem;
	c->opts = nl;
	o = &c->opts[c->nopts];
	memset(o, 0, sizeof(*o));
	o->line = line;
	if ((o->key = strdup(key)) == NULL)
		goto nomem;
	c->nopts++;
	if (ends_with(key, "_file")) {
		secret = !ends_with(key, "ca_file") &&
		    !ends_with(key, "cert_file");
		o->flags = TC_MOD_OPT_FILE | (secret ? TC_MOD_OPT_SECRET : 0);
		if (ckey_resolve_value(cp, &(struct cred_field){ .key = key },
		    value, line, &o->path, err) != 0)
			return -1;
		return conf_read_opt_file(cp->path, line, key, o->path,
		    secret ? cp->du : NULL, secret, &o->value, &o->len, err);
	}
	if (ends_with(key, "secret")) {
		o->flags = TC_MOD_OPT_SECRET;
		if (cp->s->secret_opt_line == 0)
			cp->s->secret_opt_line = line;
	}
	if ((o->value = sodium_malloc(vlen + 1)) == NULL)
		goto nomem;
	memcpy(o->value, value, vlen);
	o->value[vlen] = '\0';
	o->len = vlen;
	return 0;
 nomem:
	conf_err(err, cp->path, line, "out of memory");
	return -1;
}


/*
 * The first pass: how many [source] sections there are, and each
 * section's provider, which say whose keys the others are.  The second
 * pass reports what is wrong with the file.
 */
static int
provider_handler(void *arg, const char *section, const char *key,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	struct cred_parse *cp = arg;

	(void)line;
	(void)err;
	if (key == NULL) {
		if (strcmp(section, "source") != 0)
			cp->s = &cp->secs[0];
		else if (cp->nsources < SOURCES_MAX)
			cp->s = &cp->secs[++cp->nsources];
		else
			cp->s = NULL;	/* one too many: the second pass says */
		return 0;
	}
	if (cp->s != NULL && strcmp(key, "provider") == 0 &&
	    cp->s->builtin == -1)
		cp->s->builtin = conf_provider_builtin(value) ||
		    !conf_provider_valid(value, vlen);
	return 0;
}

/* A section header of the second pass: [credential] once, then any
 * [source] up to SOURCES_MAX. */
static int
cred_section(struct cred_parse *cp, const char *section, unsigned int line,
    char *err)
{
	if (strcmp(section, "credential") == 0) {
		if (cp->secs[0].line != 0) {
			conf_err(err, cp->path, line, "section [credential] "
			    "given twice (first on line %u)",
			    cp->secs[0].line);
			return -1;
		}
		cp->s = &cp->secs[0];
	} else if (strcmp(section, "source") == 0) {
		if (cp->at == SOURCES_MAX) {
			conf_err(err, cp->path, line, "more than %d [source] "
			    "sections", SOURCES_MAX);
			return -1;
		}
		cp->s = &cp->secs[++cp->at];
	} else {
		conf_err(err, cp->path, line, "unknown section [%s] "
		    "(expected [credential] or [source])", section);
		return -1;
	}
	cp->s->line = line;
	return 0;
}

/*
 * Which section may hold key (its row f, NULL if none: a module's
 * option): a source's keys (provider, the built-in sources' keys, a
 * module's options, control) go in [source] when the credential has any,
 * else in [credential]; the credential's own (who may read, timeout,
 * lifetimes) always in [credential].  NULL, or why not.
 */
static const char *
misplaced(const struct cred_parse *cp, const struct cred_field *f)
{
	int of_source = f == NULL || (f->flags & (CF_BUILTIN | CF_SOURCE)) !=
	    0 || f->off == offsetof(struct cred_conf, provider);

	if (cp->s != &cp->secs[0])
		return of_source ? NULL : "belongs in [credential]";
	if ((f != NULL && (f->flags & CF_SOURCE) != 0) ||
	    (of_source && cp->nsources > 0))
		return "belongs in a [source] section";
	return NULL;
}

static int
cred_handler(void *arg, const char *section, const char *key,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	struct cred_parse *cp = arg;
	const struct cred_field *f;
	const char *why;
	char eb[ECHO_MAX + 4];
	size_t k;

	if (key == NULL)
		return cred_section(cp, section, line, err);
	f = cred_field_of(key);
	if ((why = misplaced(cp, f)) != NULL) {
		conf_err(err, cp->path, line, "'%s' %s", conf_echo(eb,
		    sizeof(eb), key, strlen(key)), why);
		return -1;
	}
	if (!cp->s->builtin && (f == NULL || (f->flags & CF_BUILTIN) != 0)) {
		if (conf_value_check(cp->path, line, key, value, vlen, err) !=
		    0)
			return -1;
		return add_option(cp, key, value, vlen, line, err);
	}
	if (f == NULL) {
		conf_err(err, cp->path, line, "unknown key '%s' in [%s]",
		    conf_echo(eb, sizeof(eb), key, strlen(key)), section);
		return -1;
	}
	k = (size_t)(f - conf_cred_fields);
	if (cp->s->seen[k] != 0 && (f->flags & CF_REPEAT) == 0) {
		conf_err(err, cp->path, line, "key '%s' given twice (first "
		    "on line %u)", key, cp->s->seen[k]);
		return -1;
	}
	if (cp->s->seen[k] == 0)
		cp->s->seen[k] = line;
	if (conf_value_check(cp->path, line, key, value, vlen, err) != 0)
		return -1;
	return f->parse(cp, f, value, vlen, line, err);
}

int
conf_load_credential(const char *path, const char *name,
    struct cred_conf *out, char *err)
{
	return conf_cred_load(path, name, NULL, out, err);
}

/* A credential before its file is read: every key at its default. */
static void
cred_defaults(struct cred_conf *c)
{
	const struct cred_field *f;

	for (f = conf_cred_fields; f < conf_cred_fields + conf_cred_nfields;
	    f++) {
		if (f->kind == CF_CHOICE)
			*CRED_FIELD(c, f, unsigned int) =
			    (unsigned int)f->dflt;
		else if (f->kind == CF_LONG)
			*CRED_FIELD(c, f, long) = f->dflt * f->scale;
	}
}

/* A loaded module's credential: its options are the module's to judge,
 * in the worker; the file must be a secret file if it holds one. */
static int
module_cred_finish(struct cred_parse *cp, const struct stat *st, char *err)
{
	char why[128];

	if (cp->s->secret_opt_line != 0 &&
	    conf_secret_perm_problem(st, cp->du, why, sizeof(why)) != NULL) {
		conf_err(err, cp->path, cp->s->secret_opt_line,
		    "file holds a secret inline but %s", why);
		return -1;
	}
	return 0;
}

/* The line of key, or of auth_method if key is not given, for a
 * message about the two together. */
static unsigned int
seen_or_method(const struct cred_parse *cp, const char *key)
{
	unsigned int line = cred_seen(cp, key);

	return line != 0 ? line : cred_seen(cp, "auth_method");
}

/*
 * What the keys of the built-in oauth2 need of each other: one of
 * token_url and issuer, a connect_timeout within timeout, and the keys
 * that go with each auth_method (the client secret is cred_finish's).
 */
static int
cred_finish_oauth2(struct cred_parse *cp, int camunda, unsigned int sline,
    char *err)
{
	struct cred_conf *c = cp->s->c;
	const char *path = cp->path;
	unsigned int url_line = cred_seen(cp, "token_url");
	unsigned int iss_line = cred_seen(cp, "issuer");
	unsigned int line;

	/* camunda's token URL came from the console's file. */
	if (url_line == 0 && iss_line == 0 && !camunda) {
		conf_err(err, path, sline, "missing required key 'token_url' "
		    "(or 'issuer')");
		return -1;
	}
	if (url_line != 0 && iss_line != 0) {
		conf_err(err, path, url_line > iss_line ? url_line :
		    iss_line, "give token_url or issuer, not both");
		return -1;
	}
	if ((line = cred_seen(cp, "connect_timeout")) == 0) {
		if (c->connect_timeout_ms > c->timeout_ms)
			c->connect_timeout_ms = c->timeout_ms;
	} else if (c->connect_timeout_ms > c->timeout_ms) {
		conf_err(err, path, line, "connect_timeout %ld exceeds "
		    "timeout %ld", c->connect_timeout_ms / 1000,
		    c->timeout_ms / 1000);
		return -1;
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		conf_err(err, path, cred_seen(cp, c->tls_cert != NULL ?
		    "tls_cert_file" : "tls_key_file"), "tls_cert_file and "
		    "tls_key_file go together");
		return -1;
	}
	if (c->auth_method == AUTH_TLS_CLIENT_AUTH && c->tls_cert == NULL) {
		conf_err(err, path, cred_seen(cp, "auth_method"), "auth_method "
		    "tls_client_auth needs tls_cert_file and tls_key_file");
		return -1;
	}
	if ((c->auth_method == AUTH_PRIVATE_KEY_JWT) !=
	    (c->private_key != NULL)) {
		conf_err(err, path, seen_or_method(cp, "private_key_file"),
		    "auth_method private_key_jwt and private_key_file go "
		    "together");
		return -1;
	}
	if (c->jwt_kid != NULL && c->auth_method != AUTH_PRIVATE_KEY_JWT) {
		conf_err(err, path, cred_seen(cp, "jwt_kid"), "jwt_kid needs "
		    "auth_method private_key_jwt");
		return -1;
	}
	return 0;
}

/*
 * The client secret of a built-in source's section: client_secret or
 * client_secret_file, one of them unless the auth_method sends none; a
 * secret inline makes the credential file a secret file.  sline: where
 * a missing key is told (a [source]'s header, else 0).
 */
static int
cred_finish_secret(struct cred_parse *cp, const struct stat *st,
    struct daemon_user *du, unsigned int sline, char *err)
{
	struct cred_conf *c = cp->s->c;
	const char *path = cp->path;
	unsigned int line, secret_line, file_line;
	char why[128];

	secret_line = cred_seen(cp, "client_secret");
	file_line = cred_seen(cp, "client_secret_file");
	if (c->auth_method == AUTH_TLS_CLIENT_AUTH ||
	    c->auth_method == AUTH_PRIVATE_KEY_JWT) {
		if (secret_line != 0 || file_line != 0) {
			conf_err(err, path, secret_line ? secret_line :
			    file_line, "auth_method %s sends no client "
			    "secret: remove client_secret%s",
			    auth_method_words[c->auth_method],
			    secret_line ? "" : "_file");
			return -1;
		}
		return 0;
	}
	if (secret_line == 0 && file_line == 0) {
		conf_err(err, path, sline, "missing required key "
		    "'client_secret_file' (or 'client_secret')");
		return -1;
	}
	if (secret_line != 0 && file_line != 0) {
		line = secret_line > file_line ? secret_line : file_line;
		conf_err(err, path, line, "give client_secret_file or "
		    "client_secret, not both");
		return -1;
	}
	if (secret_line != 0) {
		if (conf_secret_perm_problem(st, du, why, sizeof(why)) !=
		    NULL) {
			conf_err(err, path, secret_line,
			    "file holds client_secret inline but %s", why);
			return -1;
		}
		return 0;
	}
	return conf_read_secret_file(path, file_line, "client_secret_file",
	    cp->s->secret_file, du,
	    &c->client_secret, &c->client_secret_len, err);
}

/*
 * What a credential file must say as a whole, checked once all of it is
 * read (st: the file's fstat): the required keys, one source of the
 * secret, lifetimes that fit; then the secret file is read.
 */
static int
cred_finish(struct cred_parse *cp, const struct stat *st,
    struct daemon_user *du, char *err)
{
	const struct cred_field *f;
	struct cred_conf *c = cp->s->c;
	const char *path = cp->path;
	unsigned int dflt_line;
	size_t i;
	int camunda = conf_camunda_cred(c);
	/* A chain's [credential] has no source of its own. */
	int chain = cp->s == &cp->secs[0] && cp->nsources > 0;
	/* What is missing from a [source] is told at its header. */
	unsigned int sline = cp->s == &cp->secs[0] ? 0 : cp->s->line;

	/* provider = camunda takes token_url, client_id and the secret from
	 * its credentials_file, not from keys (config_camunda.c). */
	if (!chain && cp->s->builtin && conf_camunda_finish(path,
	    cp->s->seen, c, du, err) != 0)
		return -1;
	for (i = 0; i < conf_cred_nfields && !camunda && !chain; i++) {
		if ((conf_cred_fields[i].flags & CF_REQUIRED) != 0 &&
		    cp->s->seen[i] == 0 && (cp->s->builtin ||
		    (conf_cred_fields[i].flags & CF_BUILTIN) == 0)) {
			conf_err(err, path, sline, "missing required key '%s'",
			    conf_cred_fields[i].key);
			return -1;
		}
	}
	if (c->default_lifetime > c->max_lifetime) {
		/* Only an explicit default is a mistake; the built-in one
		 * yields to a short max_lifetime. */
		if ((dflt_line = cred_seen(cp, "default_lifetime")) != 0) {
			conf_err(err, path, dflt_line,
			    "default_lifetime %ld exceeds max_lifetime %ld",
			    c->default_lifetime, c->max_lifetime);
			return -1;
		}
		c->default_lifetime = c->max_lifetime;
	}
	/* A list not given is empty, not NULL. */
	for (f = conf_cred_fields; f < conf_cred_fields + conf_cred_nfields;
	    f++) {
		if (f->kind == CF_LIST && *CRED_FIELD(c, f, char **) == NULL &&
		    (*CRED_FIELD(c, f, char **) = calloc(1,
		    sizeof(char *))) == NULL) {
			conf_err(err, path, 0, "out of memory");
			return -1;
		}
	}
	if (chain) {
		if ((c->provider = strdup("chain")) == NULL) {
			conf_err(err, path, 0, "out of memory");
			return -1;
		}
		return 0;
	}
	if (!cp->s->builtin)
		return module_cred_finish(cp, st, err);
	if (cred_finish_oauth2(cp, camunda, sline, err) != 0)
		return -1;
	if (camunda)
		return 0;
	return cred_finish_secret(cp, st, du, sline, err);
}

/*
 * The first pass over buf (len bytes; a copy, since the reader splits
 * what it reads): the [source] sections and each section's provider,
 * then room for c's sources, each at its defaults.  0, or -1 with err.
 */
static int
cred_first_pass(struct cred_parse *cp, struct cred_conf *c, const char *buf,
    size_t len, char *err)
{
	char *pre, pre_err[CONF_ERR_MAX];
	size_t i;

	if ((pre = sodium_malloc(len + 1)) == NULL) {
		conf_err(err, cp->path, 0, "out of memory");
		return -1;
	}
	memcpy(pre, buf, len + 1);
	for (i = 0; i <= SOURCES_MAX; i++)
		cp->secs[i].builtin = -1;
	cp->s = &cp->secs[0];
	/* Its errors are the second pass's to report. */
	(void)conf_ini_parse(cp->path, pre, len, provider_handler, cp,
	    pre_err);
	sodium_free(pre);	/* wipes */
	for (i = 0; i <= SOURCES_MAX; i++)
		if (cp->secs[i].builtin == -1)
			cp->secs[i].builtin = 1;
	if (cp->nsources == 0)
		return 0;
	if ((c->sources = calloc(cp->nsources, sizeof(*c->sources))) == NULL) {
		conf_err(err, cp->path, 0, "out of memory");
		return -1;
	}
	c->nsources = cp->nsources;
	for (i = 0; i < cp->nsources; i++) {
		cred_defaults(&c->sources[i]);
		cp->secs[i + 1].c = &c->sources[i];
	}
	return 0;
}

/* A chain's sources, once its [credential] is finished: each has the
 * credential's name, path, timeout and lifetimes, then is finished as a
 * credential of its own would be. */
static int
sources_finish(struct cred_parse *cp, struct cred_conf *c,
    const struct stat *st, struct daemon_user *du, char *err)
{
	struct cred_conf *src;
	size_t i;

	for (i = 0; i < c->nsources; i++) {
		src = &c->sources[i];
		src->timeout_ms = c->timeout_ms;
		src->default_lifetime = c->default_lifetime;
		src->max_lifetime = c->max_lifetime;
		if ((src->name = strdup(c->name)) == NULL ||
		    (src->path = strdup(c->path)) == NULL) {
			conf_err(err, cp->path, 0, "out of memory");
			return -1;
		}
		cp->s = &cp->secs[i + 1];
		if (cred_finish(cp, st, du, err) != 0)
			return -1;
	}
	return 0;
}

int
conf_cred_load(const char *path, const char *name, struct daemon_user *du,
    struct cred_conf *out, char *err)
{
	struct cred_parse cp;
	struct cred_conf c;
	struct stat st;
	char *buf = NULL, eb[ECHO_MAX + 4];
	size_t len = 0, i;
	int ret = -1;

	memset(&cp, 0, sizeof(cp));
	memset(&c, 0, sizeof(c));
	if (path == NULL || name == NULL || out == NULL) {
		snprintf(err, CONF_ERR_MAX, "conf_load_credential: invalid "
		    "argument");
		goto out;
	}
	if (sodium_init() < 0) {
		conf_err(err, path, 0, "libsodium failed to initialise");
		goto out;
	}
	if (seg_name_valid(name, strlen(name)) != 0) {
		conf_err(err, path, 0, "invalid credential name '%s' "
		    "(allowed: A-Z a-z 0-9 . _ ~ @ + -, 1..%d bytes, not "
		    "starting with '.')", conf_echo(eb, sizeof(eb), name,
		    strlen(name)), SEG_NAME_FIELD - 1);
		goto out;
	}
	cred_defaults(&c);
	if ((c.name = strdup(name)) == NULL || (c.path = strdup(path)) ==
	    NULL || (cp.dir = conf_dir_of(path)) == NULL) {
		conf_err(err, path, 0, "out of memory");
		goto out;
	}
	cp.path = path;

	if (conf_read_file(path, &buf, &len, &st, err) != 0)
		goto out;
	if (cred_first_pass(&cp, &c, buf, len, err) != 0)
		goto out;
	cp.secs[0].c = &c;
	cp.s = &cp.secs[0];
	cp.du = du;
	if (conf_ini_parse(path, buf, len, cred_handler, &cp, err) != 0)
		goto out;
	cp.s = &cp.secs[0];
	if (cred_finish(&cp, &st, du, err) != 0)
		goto out;
	if (sources_finish(&cp, &c, &st, du, err) != 0)
		goto out;

	/* success */
	*out = c;
	memset(&c, 0, sizeof(c));
	ret = 0;
 out:
	conf_cred_clear(&c);
	free(cp.dir);
	for (i = 0; i <= SOURCES_MAX; i++)
		free(cp.secs[i].secret_file);
	if (buf != NULL) {
		/* It may have held client_secret. */
		sodium_memzero(buf, len + 1);
		free(buf);
	}
	return ret;
}
