/*
 * config_keys.c - the parsers of credential keys: one per kind of value,
 * each named by its keys' rows of conf_cred_fields[] (config_cred.c).  A
 * value is NUL-terminated at vlen and has passed conf_value_check(); a
 * parser checks it and stores it in the field of the section being read
 * (cp->s->c), or says why not, naming the file and line.  No message
 * quotes a value that could be a secret.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config_internal.h"
#include "tokencache/module.h"
static int
ckey_store_str(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	if ((*CRED_FIELD(cp->s->c, f, char *) = strndup(value, vlen)) == NULL) {
		conf_err(err, cp->path, line, "out of memory");
		return -1;
	}
	return 0;
}

/* One of f->words: the word itself (CF_STR) or its index (CF_CHOICE). */
int
ckey_word(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	char eb[ECHO_MAX + 4], known[256];
	size_t i, n = 0;

	for (i = 0; f->words[i] != NULL; i++) {
		if (strlen(f->words[i]) == vlen &&
		    memcmp(f->words[i], value, vlen) == 0)
			break;
	}
	if (f->words[i] == NULL) {
		known[0] = '\0';
		for (i = 0; f->words[i] != NULL && n < sizeof(known); i++)
			n += (size_t)snprintf(known + n, sizeof(known) - n,
			    "%s%s", i == 0 ? "" : ", ", f->words[i]);
		conf_err(err, cp->path, line, "unknown %s '%s' (known: %s)",
		    f->key, conf_echo(eb, sizeof(eb), value, vlen), known);
		return -1;
	}
	if (f->kind == CF_CHOICE) {
		*CRED_FIELD(cp->s->c, f, unsigned int) = (unsigned int)i;
		return 0;
	}
	return ckey_store_str(cp, f, value, vlen, line, err);
}

int
ckey_provider(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	char eb[ECHO_MAX + 4];

	if (!conf_provider_valid(value, vlen)) {
		conf_err(err, cp->path, line, "provider '%s' is not a module "
		    "name (1..64 bytes of a-z 0-9 _ -)", conf_echo(eb,
		    sizeof(eb), value, vlen));
		return -1;
	}
	if (strcmp(value, "chain") == 0) {
		conf_err(err, cp->path, line, "provider 'chain' is reserved: "
		    "a chain is written as [source] sections");
		return -1;
	}
	return ckey_store_str(cp, f, value, vlen, line, err);
}

int
ckey_token_url(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	const char *why;

	if ((why = conf_token_url_problem(value, vlen)) != NULL) {
		conf_err(err, cp->path, line, "%s", why);
		return -1;
	}
	return ckey_store_str(cp, f, value, vlen, line, err);
}

/* RFC 6749 Appendix A: client_id, client_secret and scope are VSCHARs;
 * so must an audience be, which goes into the same form. */
static int
ckey_vschar_check(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	if (!all_bytes_in(value, vlen, 0x20, 0x7e)) {
		conf_err(err, cp->path, line, "%s contains a byte outside "
		    "printable ASCII (0x20..0x7e)", f->key);
		return -1;
	}
	return 0;
}

int
ckey_vschar(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	if (ckey_vschar_check(cp, f, value, vlen, line, err) != 0)
		return -1;
	return ckey_store_str(cp, f, value, vlen, line, err);
}

/* A secret given inline, into sodium_malloc'd memory.  Never quoted. */
int
ckey_secret(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	char **sp = CRED_FIELD(cp->s->c, f, char *);

	if (ckey_vschar_check(cp, f, value, vlen, line, err) != 0)
		return -1;
	if (vlen > SECRET_MAX) {
		conf_err(err, cp->path, line, "%s is longer than %d bytes",
		    f->key, SECRET_MAX);
		return -1;
	}
	if ((*sp = sodium_malloc(vlen + 1)) == NULL) {
		conf_err(err, cp->path, line, "out of memory");
		return -1;
	}
	memcpy(*sp, value, vlen);
	(*sp)[vlen] = '\0';
	*CRED_LEN(cp->s->c, f) = vlen;
	return 0;
}

/* endpoint_secret_file: read now, by the monitor, under the rules of
 * client_secret_file. */
int
ckey_local_secret_file(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	char *path = NULL;
	int r;

	(void)vlen;
	if (ckey_resolve_value(cp, f, value, line, &path, err) != 0)
		return -1;
	r = conf_read_secret_file(cp->path, line, f->key, path, cp->du,
	    CRED_FIELD(cp->s->c, f, char *), CRED_LEN(cp->s->c, f), err);
	free(path);
	return r;
}

/* A path, relative to the credential file's directory. */
int
ckey_resolve_value(struct cred_parse *cp, const struct cred_field *f,
    const char *value, unsigned int line, char **out, char *err)
{
	if ((*out = conf_path_resolve(cp->dir, value)) == NULL) {
		conf_err(err, cp->path, line, "%s: path too long or out of "
		    "memory", f->key);
		return -1;
	}
	return 0;
}

int
ckey_path(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	(void)vlen;
	return ckey_resolve_value(cp, f, value, line, CRED_FIELD(cp->s->c, f, char *),
	    err);
}

/* The file is read once the whole credential file is (conf_cred_load):
 * client_secret_file and client_secret exclude each other. */
int
ckey_secret_file(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	(void)vlen;
	return ckey_resolve_value(cp, f, value, line, &cp->s->secret_file, err);
}

/* value (vlen bytes) added to the end of f's list. */
static int
ckey_list_append(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	char ***listp = CRED_FIELD(cp->s->c, f, char **), **nl;
	size_t *np = CRED_LEN(cp->s->c, f);

	if ((nl = reallocarray(*listp, *np + 2, sizeof(*nl))) == NULL)
		goto nomem;
	*listp = nl;
	nl[*np + 1] = NULL;
	if ((nl[*np] = strndup(value, vlen)) == NULL)
		goto nomem;
	(*np)++;
	return 0;
 nomem:
	conf_err(err, cp->path, line, "out of memory");
	return -1;
}

/* RFC 8707 §2: each `resource` line adds one. */
int
ckey_resource(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	if (!conf_resource_valid(value, vlen)) {
		conf_err(err, cp->path, line, "%s must be an absolute URI "
		    "without a fragment, like https://api.example.com/",
		    f->key);
		return -1;
	}
	return ckey_list_append(cp, f, value, vlen, line, err);
}

/* Blank-separated user or group names, as written. */
int
ckey_names(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	return conf_split_list(cp->path, line, f->key, value, vlen,
	    CRED_FIELD(cp->s->c, f, char **), CRED_LEN(cp->s->c, f), err);
}

/* Whole seconds in f->lo..f->hi, kept in units of 1/f->scale s. */
int
ckey_seconds(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	unsigned long n;

	if (conf_parse_ulong(value, vlen, (unsigned long)f->lo,
	    (unsigned long)f->hi, &n) != 0) {
		conf_err(err, cp->path, line, "%s must be an integer in "
		    "%ld..%ld (seconds)", f->key, f->lo, f->hi);
		return -1;
	}
	*CRED_FIELD(cp->s->c, f, long) = (long)n * f->scale;
	return 0;
}

/*
 * OIDC Discovery §2 and §4.3: the issuer is the URL the discovery
 * document must name again, byte for byte; https, or http on loopback as
 * for token_url, and neither query nor fragment.
 */
int
ckey_issuer(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	static const char what[] = "token_url ";
	const char *why;

	if ((why = conf_token_url_problem(value, vlen)) != NULL) {
		/* Its messages name token_url: say issuer. */
		if (strncmp(why, what, sizeof(what) - 1) == 0)
			why += sizeof(what) - 1;
		conf_err(err, cp->path, line, "%s %s", f->key, why);
		return -1;
	}
	if (memchr(value, '?', vlen) != NULL) {
		conf_err(err, cp->path, line, "%s must not have a query "
		    "('?')", f->key);
		return -1;
	}
	return ckey_store_str(cp, f, value, vlen, line, err);
}

/*
 * A proxy URL as libcurl takes it, with a scheme so that libcurl guesses
 * nothing.  No user information: a password in it would be a secret in a
 * field that is not kept as one.
 */
int
ckey_proxy(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	static const char *const schemes[] = { "http://", "https://",
	    "socks4://", "socks4a://", "socks5://", "socks5h://", NULL };
	const char *host = NULL;
	size_t i;

	for (i = 0; schemes[i] != NULL; i++) {
		if (strncasecmp(value, schemes[i], strlen(schemes[i])) == 0) {
			host = value + strlen(schemes[i]);
			break;
		}
	}
	if (!all_bytes_in(value, vlen, 0x21, 0x7e) || host == NULL ||
	    *host == '\0' || *host == '/' || *host == ':') {
		conf_err(err, cp->path, line, "%s must be a URL like "
		    "http://proxy.example.com:3128 (schemes: http, https, "
		    "socks4, socks4a, socks5, socks5h)", f->key);
		return -1;
	}
	if (strchr(host, '@') != NULL) {
		conf_err(err, cp->path, line, "%s must not hold a user or "
		    "password ('@')", f->key);
		return -1;
	}
	return ckey_store_str(cp, f, value, vlen, line, err);
}

/* Form parameters the daemon sends itself, by RFC 6749, 7521, 7523, 8693
 * and 8707: a `param` may not set or repeat one. */
static const char *const param_reserved[] = { "grant_type", "client_id",
    "client_secret", "scope", "audience", "resource", NULL };

/*
 * `param = name=value`: one more form parameter of the token request.
 * The name is a token of letters, digits and "_.-"; the value VSCHARs
 * (RFC 6749 Appendix A), form-encoded when sent.
 */
int
ckey_param(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	size_t nlen, i;
	const char *eq = memchr(value, '=', vlen);
	char eb[ECHO_MAX + 4];
	int reserved;

	nlen = eq != NULL ? (size_t)(eq - value) : 0;
	for (i = 0; i < nlen; i++)
		if (!is_name_char(value[i]))
			break;
	if (eq == NULL || nlen == 0 || nlen > 64 || i < nlen) {
		conf_err(err, cp->path, line, "%s must be name=value, the "
		    "name 1..64 of A-Z a-z 0-9 _ . -", f->key);
		return -1;
	}
	if (ckey_vschar_check(cp, f, value, vlen, line, err) != 0)
		return -1;
	/* client_assertion and client_assertion_type, and any like them */
	reserved = nlen >= 16 && memcmp(value, "client_assertion", 16) == 0;
	for (i = 0; param_reserved[i] != NULL; i++)
		reserved |= strlen(param_reserved[i]) == nlen &&
		    memcmp(param_reserved[i], value, nlen) == 0;
	if (reserved) {
		conf_err(err, cp->path, line, "%s '%s' is one the daemon "
		    "sets itself", f->key, conf_echo(eb, sizeof(eb), value,
		    nlen));
		return -1;
	}
	return ckey_list_append(cp, f, value, vlen, line, err);
}

/*
 * A PEM file, read now by the monitor (root), since the worker may not
 * read it: a certificate under the rules of a configuration file, a key
 * under those of a secret file.  Into sodium_malloc'd memory either way;
 * whether it holds what it should is the worker's to judge (oauth2.c),
 * so that no root process parses it.
 */
static int
ckey_read_pem(struct cred_parse *cp, const char *key, const char *path,
    unsigned int line, int secret, char **out, size_t *lenp, char *err)
{
	if (conf_read_opt_file(cp->path, line, key, path, secret ? cp->du :
	    NULL, secret, out, lenp, err) != 0)
		return -1;
	if (memchr(*out, '\0', *lenp) != NULL ||
	    strstr(*out, "-----BEGIN ") == NULL) {
		conf_err(err, cp->path, line, "%s %s is not a PEM file", key,
		    path);
		return -1;	/* conf_cred_clear() frees *out */
	}
	return 0;
}

/* KEY_file: the row's CF_SECRET field gets the file's contents. */
static int
ckey_pem_field(struct cred_parse *cp, const struct cred_field *f,
    const char *value, unsigned int line, int secret, char *err)
{
	char *path = NULL;
	int r;

	if (ckey_resolve_value(cp, f, value, line, &path, err) != 0)
		return -1;
	r = ckey_read_pem(cp, f->key, path, line, secret, CRED_FIELD(cp->s->c, f,
	    char *), CRED_LEN(cp->s->c, f), err);
	free(path);
	return r;
}

int
ckey_cert_file(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	(void)vlen;
	return ckey_pem_field(cp, f, value, line, 0, err);
}

int
ckey_key_file(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	(void)vlen;
	return ckey_pem_field(cp, f, value, line, 1, err);
}

/*
 * ca_file: its path, for messages and the reload's diff, and its
 * contents, read now by the monitor since the worker may not read the
 * file (libcurl takes them as a blob).
 */
int
ckey_ca_file(struct cred_parse *cp, const struct cred_field *f,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	char **pathp = CRED_FIELD(cp->s->c, f, char *);

	(void)vlen;
	if (ckey_resolve_value(cp, f, value, line, pathp, err) != 0)
		return -1;
	return ckey_read_pem(cp, f->key, *pathp, line, 0, &cp->s->c->ca_pem,
	    &cp->s->c->ca_pem_len, err);
}
