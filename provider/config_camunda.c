/*
 * config_camunda.c - `provider = camunda`: a credential whose token_url,
 * client_id, client secret and audience come from the credentials file
 * Camunda's console hands out (camunda_env.c reads it, as data).
 *
 * It is an oauth2 client-credentials request in every other way: the
 * monitor, which reads configuration and secrets, reads the console's file
 * here under the rules of client_secret_file and fills struct cred_conf's
 * oauth2 fields, so the worker fetches exactly as for `provider = oauth2`
 * and the request identity (conf_cred_request_id) covers the values
 * derived, not the path they came from: a rotated secret in the same file
 * is a changed request.
 *
 * config_cred.c calls conf_camunda_finish() once a credential file is
 * read, whatever its provider, so that the camunda keys are refused
 * elsewhere too.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "camunda_env.h"
#include "config_internal.h"
#include "log.h"

/* The components a console client may be scoped for, and the audience
 * each asks for: the first of its variables set, else SaaS's default. */
static const struct camunda_component {
	const char *word;            /* audience = WORD */
	const char *saas_audience;
	enum camunda_var vars[4];    /* ends at CV_COUNT */
} components[] = {
	/* CAMUNDA_TOKEN_AUDIENCE is the Java client's (Self-Managed), for
	 * the orchestration cluster, which is Zeebe's API. */
	{ "zeebe", "zeebe.camunda.io", { CV_ZEEBE_TOKEN_AUDIENCE,
	    CV_CAMUNDA_ZEEBE_OAUTH_AUDIENCE, CV_CAMUNDA_TOKEN_AUDIENCE,
	    CV_COUNT } },
	{ "operate", "operate.camunda.io", {
	    CV_CAMUNDA_OPERATE_OAUTH_AUDIENCE, CV_COUNT } },
	{ "tasklist", "tasklist.camunda.io", {
	    CV_CAMUNDA_TASKLIST_OAUTH_AUDIENCE, CV_COUNT } },
	{ "optimize", "optimize.camunda.io", {
	    CV_CAMUNDA_OPTIMIZE_OAUTH_AUDIENCE, CV_COUNT } },
};

#define NCOMPONENTS (sizeof(components) / sizeof(components[0]))

/* Where each setting may come from, in order; where several are set they
 * must agree, since a file that says two things was not meant. */
static const enum camunda_var id_vars[] = {
	CV_ZEEBE_CLIENT_ID, CV_CAMUNDA_CLIENT_ID, CV_COUNT };
static const enum camunda_var secret_vars[] = {
	CV_ZEEBE_CLIENT_SECRET, CV_CAMUNDA_CLIENT_SECRET, CV_COUNT };
static const enum camunda_var url_vars[] = {
	CV_CAMUNDA_OAUTH_URL, CV_ZEEBE_AUTHORIZATION_SERVER_URL,
	CV_CAMUNDA_AUTHORIZATION_SERVER_URL, CV_COUNT };
static const enum camunda_var scope_vars[] = {
	CV_CAMUNDA_TOKEN_SCOPE, CV_ZEEBE_TOKEN_SCOPE, CV_COUNT };

/* The keys of provider = oauth2 that the console's file replaces. */
static const char *const oauth2_keys[] = {
	"token_url", "client_id", "client_secret", "client_secret_file", NULL
};

/* The keys only provider = camunda takes. */
static const char *const camunda_keys[] = {
	"credentials_file", "audience_value", NULL
};

/* The line key was (first) given on in the credential file, 0 if not. */
static unsigned int
key_line(const unsigned int *seen, const char *key)
{
	size_t i;

	for (i = 0; i < conf_cred_nfields; i++) {
		if (conf_cred_fields[i].key != NULL &&
		    strcmp(conf_cred_fields[i].key, key) == 0)
			return seen[i];
	}
	return 0;
}

static void *
secret_alloc(size_t n)
{
	return sodium_malloc(n);
}

static void
secret_release(void *p, size_t n)
{
	(void)n;
	sodium_free(p);
}

/*
 * The console's file fpath (named on line of cpath) into sodium_malloc'd
 * *bufp, under client_secret_file's rules: not a symbolic link, a regular
 * file, owned by root or the daemon's user, no access for group or
 * others.  0, or -1 with err.
 */
static int
read_console_file(const char *cpath, unsigned int line, const char *fpath,
    struct daemon_user *du, char **bufp, size_t *lenp, char *err)
{
	char *buf = NULL;
	size_t n = 0;

	if (conf_read_opt_file(cpath, line, "credentials_file", fpath, du, 1,
	    &buf, &n, err) != 0)
		return -1;
	if (n > CAMUNDA_ENV_FILE_MAX) {
		conf_err(err, cpath, line, "credentials_file %s is larger "
		    "than %d bytes", fpath, CAMUNDA_ENV_FILE_MAX);
		sodium_free(buf);	/* wipes */
		return -1;
	}
	*bufp = buf;
	*lenp = n;
	return 0;
}

/*
 * The first of vars set (non-empty) in env, into *vp (NULL if none); the
 * others set must say the same.  0, or -1 with err naming fpath and line.
 */
static int
pick(const struct camunda_env *env, const enum camunda_var *vars,
    const char *fpath, const struct camunda_env_value **vp, char *err)
{
	const struct camunda_env_value *first = NULL, *v;
	enum camunda_var fk = CV_COUNT;
	size_t i;

	for (i = 0; vars[i] != CV_COUNT; i++) {
		v = &env->var[vars[i]];
		if (v->s == NULL || v->len == 0)
			continue;
		if (first == NULL) {
			first = v;
			fk = vars[i];
			continue;
		}
		/* Compared in constant time: it may be the secret. */
		if (v->len != first->len ||
		    sodium_memcmp(v->s, first->s, v->len) != 0) {
			conf_err(err, fpath, v->line, "%s differs from %s "
			    "(line %u); give one, or the same in both",
			    camunda_env_name(vars[i]), camunda_env_name(fk),
			    first->line);
			return -1;
		}
	}
	*vp = first;
	return 0;
}

/* RFC 6749 Appendix A: VSCHARs, as config_cred.c wants of the keys. */
static int
vschar_value(const struct camunda_env_value *v, enum camunda_var k,
    const char *fpath, char *err)
{
	if (!all_bytes_in(v->s, v->len, 0x20, 0x7e)) {
		conf_err(err, fpath, v->line, "%s contains a byte outside "
		    "printable ASCII (0x20..0x7e)", camunda_env_name(k));
		return -1;
	}
	return 0;
}

/* Which of vars v is, for messages. */
static enum camunda_var
var_of(const struct camunda_env *env, const struct camunda_env_value *v)
{
	return (enum camunda_var)(v - env->var);
}

static int
set_str(char **field, const char *s, size_t len, const char *path, char *err)
{
	free(*field);
	if ((*field = strndup(s, len)) == NULL) {
		conf_err(err, path, 0, "out of memory");
		return -1;
	}
	return 0;
}

/* token_url, client_id, the secret and the scope from env. */
static int
derive_client(const struct camunda_env *env, const char *fpath,
    struct cred_conf *c, char *err)
{
	const struct camunda_env_value *v;
	const char *why;

	if (pick(env, url_vars, fpath, &v, err) != 0)
		return -1;
	if (v == NULL) {
		conf_err(err, fpath, 0, "no CAMUNDA_OAUTH_URL (or "
		    "ZEEBE_AUTHORIZATION_SERVER_URL, "
		    "CAMUNDA_AUTHORIZATION_SERVER_URL)");
		return -1;
	}
	if ((why = conf_token_url_problem(v->s, v->len)) != NULL) {
		conf_err(err, fpath, v->line, "%s: %s",
		    camunda_env_name(var_of(env, v)), why);
		return -1;
	}
	if (set_str(&c->token_url, v->s, v->len, fpath, err) != 0)
		return -1;

	if (pick(env, id_vars, fpath, &v, err) != 0)
		return -1;
	if (v == NULL) {
		conf_err(err, fpath, 0, "no ZEEBE_CLIENT_ID (or "
		    "CAMUNDA_CLIENT_ID)");
		return -1;
	}
	if (vschar_value(v, var_of(env, v), fpath, err) != 0 ||
	    set_str(&c->client_id, v->s, v->len, fpath, err) != 0)
		return -1;

	if (pick(env, secret_vars, fpath, &v, err) != 0)
		return -1;
	if (v == NULL) {
		conf_err(err, fpath, 0, "no ZEEBE_CLIENT_SECRET (or "
		    "CAMUNDA_CLIENT_SECRET)");
		return -1;
	}
	if (vschar_value(v, var_of(env, v), fpath, err) != 0)
		return -1;
	if (v->len > SECRET_MAX) {
		conf_err(err, fpath, v->line, "%s is longer than %d bytes",
		    camunda_env_name(var_of(env, v)), SECRET_MAX);
		return -1;
	}
	if ((c->client_secret = sodium_malloc(v->len + 1)) == NULL) {
		conf_err(err, fpath, 0, "out of memory");
		return -1;
	}
	memcpy(c->client_secret, v->s, v->len + 1);
	c->client_secret_len = v->len;

	/* The credential file's own scope wins. */
	if (c->scope != NULL)
		return 0;
	if (pick(env, scope_vars, fpath, &v, err) != 0)
		return -1;
	if (v == NULL)
		return 0;
	if (vschar_value(v, var_of(env, v), fpath, err) != 0)
		return -1;
	return set_str(&c->scope, v->s, v->len, fpath, err);
}

/* c->audience, the component's word, becomes the audience it asks for. */
static int
derive_audience(const struct camunda_env *env, const char *path,
    unsigned int aud_line, const char *fpath, struct cred_conf *c,
    char *err)
{
	const struct camunda_component *comp = NULL;
	const struct camunda_env_value *v = NULL;
	size_t i;

	for (i = 0; i < NCOMPONENTS; i++) {
		if (strcmp(c->audience, components[i].word) == 0)
			comp = &components[i];
	}
	if (comp == NULL) {
		conf_err(err, path, aud_line, "with provider = camunda, "
		    "audience is zeebe, operate, tasklist or optimize (the "
		    "component; audience_value sets the value sent)");
		return -1;
	}
	if (c->audience_value != NULL)
		return set_str(&c->audience, c->audience_value,
		    strlen(c->audience_value), path, err);
	for (i = 0; comp->vars[i] != CV_COUNT && v == NULL; i++) {
		if (env->var[comp->vars[i]].s != NULL &&
		    env->var[comp->vars[i]].len > 0)
			v = &env->var[comp->vars[i]];
	}
	if (v == NULL)
		return set_str(&c->audience, comp->saas_audience,
		    strlen(comp->saas_audience), path, err);
	if (vschar_value(v, var_of(env, v), fpath, err) != 0)
		return -1;
	return set_str(&c->audience, v->s, v->len, path, err);
}

/* The keys a camunda credential must give and must not. */
static int
check_keys(const char *path, const unsigned int *seen,
    const struct cred_conf *c, char *err)
{
	unsigned int line;
	size_t i;

	for (i = 0; oauth2_keys[i] != NULL; i++) {
		if ((line = key_line(seen, oauth2_keys[i])) != 0) {
			conf_err(err, path, line, "%s is taken from "
			    "credentials_file with provider = camunda; "
			    "remove it", oauth2_keys[i]);
			return -1;
		}
	}
	if (c->camunda_file == NULL) {
		conf_err(err, path, 0, "missing required key "
		    "'credentials_file' (provider = camunda)");
		return -1;
	}
	if (c->audience == NULL) {
		conf_err(err, path, 0, "missing required key 'audience' "
		    "(provider = camunda: zeebe, operate, tasklist or "
		    "optimize)");
		return -1;
	}
	return 0;
}

int
conf_camunda_finish(const char *path, const unsigned int *seen,
    struct cred_conf *c, struct daemon_user *du, char *err)
{
	struct camunda_env env;
	char *buf = NULL, msg[CAMUNDA_ENV_ERR_MAX];
	unsigned int eline;
	size_t len = 0, i;
	int ret = -1;

	memset(&env, 0, sizeof(env));
	if (!conf_camunda_cred(c)) {
		for (i = 0; camunda_keys[i] != NULL; i++) {
			if ((eline = key_line(seen, camunda_keys[i])) != 0) {
				conf_err(err, path, eline, "%s is a key of "
				    "provider = camunda", camunda_keys[i]);
				return -1;
			}
		}
		return 0;
	}
	if (check_keys(path, seen, c, err) != 0)
		goto out;
	if (read_console_file(path, key_line(seen, "credentials_file"),
	    c->camunda_file, du, &buf, &len, err) != 0)
		goto out;
	if (camunda_env_parse(&env, buf, len, secret_alloc, secret_release,
	    msg, sizeof(msg), &eline) != 0) {
		conf_err(err, c->camunda_file, eline, "%s", msg);
		goto out;
	}
	/* An unknown variable is no reason to refuse a credential, but
	 * may be a misspelt one. */
	for (i = 0; i < env.nwarn; i++)
		log_warnx("%s:%u: unknown variable %s, ignored",
		    c->camunda_file, env.warn[i].line, env.warn[i].name);
	if (derive_client(&env, c->camunda_file, c, err) != 0 ||
	    derive_audience(&env, path, key_line(seen, "audience"),
	    c->camunda_file, c, err) != 0)
		goto out;
	/* success */
	ret = 0;
 out:
	camunda_env_free(&env);
	if (buf != NULL)
		sodium_free(buf);	/* wipes */
	return ret;
}

int
conf_camunda_cred(const struct cred_conf *c)
{
	return c->provider != NULL && strcmp(c->provider, "camunda") == 0;
}
