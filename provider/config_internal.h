/*
 * config_internal.h - what the configuration reader's files share, and
 * nothing else of the daemon needs (that is config.h):
 *
 *   config_load.c  tokencached.conf's keys; loading the whole configuration
 *   config_cred.c  credentials_dir/NAME.conf: the table of credential
 *                  fields, its sections ([credential], a chain's
 *                  [source]s), a module's options, loading one file
 *   config_check.c who may own a file, what a token_url or resource may
 *                  be; reading configuration files and client_secret_file
 *                  under those checks
 *   config_ini.c   the INI reader, its messages and small helpers
 *   config_keys.c  the parsers of credential keys, one per kind of value
 *   config_encode.c  a credential as a whole: clear, diffs, its encoding
 *                  for the hand-over and the request identity
 *   config_camunda.c  provider = camunda: its keys, and the oauth2 fields
 *                  it takes from the console's credentials file
 *   config_endpoint.c  the main file's [endpoint]: the local token
 *                  endpoint's listeners and limits
 */
#ifndef TOKENCACHE_CONFIG_INTERNAL_H
#define TOKENCACHE_CONFIG_INTERNAL_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>

#include "config.h"

#define SECRET_MAX		4096
#define ECHO_MAX		64	/* bytes of a value quoted in errors */
#define LIST_ITEM_MAX		255	/* a user or group name */

/* ---- messages (config_ini.c) ---- */

/*
 * "PATH:LINE: message" into err (CONF_ERR_MAX bytes), or "PATH: message"
 * when line is 0.  Control bytes in the path are shown as '?'.
 */
void conf_err(char *err, const char *path, unsigned int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * s (len bytes) fit to quote in a message, in buf (at least ECHO_MAX + 4
 * bytes): at most ECHO_MAX bytes, others as '?'.  Returns buf.  Never
 * called on anything that may be a secret.
 */
const char *conf_echo(char *buf, size_t bufsz, const char *s, size_t len);

/* ---- small helpers (config_ini.c) ---- */

static inline int
all_bytes_in(const char *s, size_t len, unsigned char lo, unsigned char hi)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < lo || (unsigned char)s[i] > hi)
			return 0;
	}
	return 1;
}

static inline int
is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

static inline int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Decimal digits only, no sign, in [min, max]: 0 and *out, or -1. */
int conf_parse_ulong(const char *s, size_t len, unsigned long min,
    unsigned long max, unsigned long *out);

/* The directory of path (malloc'd), or NULL. */
char *conf_dir_of(const char *path);

/* rel if absolute, else dir/rel (malloc'd); NULL if too long or no
 * memory. */
char *conf_path_resolve(const char *dir, const char *rel);

/* Frees a NULL-terminated list and its strings; NULL is fine. */
void conf_free_list(char **list);

/*
 * Split a blank-separated value (key's, on line of path) into a
 * NULL-terminated array: 0 with *listp and *np set, or -1 with err.
 */
int conf_split_list(const char *path, unsigned int line, const char *key,
    const char *value, size_t vlen, char ***listp, size_t *np, char *err);

/* ---- the INI reader (config_ini.c) ---- */

/*
 * Called once per section header (key NULL) and once per "key = value".
 * Returns 0, or -1 with err set.
 */
typedef int (*conf_ini_handler)(void *arg, const char *section,
    const char *key, const char *value, size_t vlen, unsigned int line,
    char *err);

/* Parse buf (len bytes, buf[len] == '\0') in place, calling handler. */
int conf_ini_parse(const char *path, char *buf, size_t len,
    conf_ini_handler handler, void *arg, char *err);

/*
 * The index of key in keys[nkeys] (a section's table of keys), for
 * "key = value" on line: known, not given twice (unless bit k of repeat
 * is set) as seen[k] records, and a value conf_value_check() passes.
 * Returns k, or -1 with a message naming path, line and the section in
 * err.
 */
int conf_key_index(const char *const *keys, size_t nkeys, unsigned int repeat,
    unsigned int *seen, const char *section, const char *path,
    const char *key, const char *value, size_t vlen, unsigned int line,
    char *err);

/* What every value must satisfy before a key looks at it. */
int conf_value_check(const char *path, unsigned int line, const char *key,
    const char *value, size_t vlen, char *err);

/* ---- the main file's [endpoint] (config_endpoint.c) ---- */

#define ENDPOINT_KEYS_MAX	8	/* the seen[] conf_endpoint_key wants */

/* *e off, with the defaults of its keys. */
void conf_endpoint_defaults(struct endpoint_conf *e);
/* Free e's lists (not e). */
void conf_endpoint_free(struct endpoint_conf *e);
/* One "key = value" of [endpoint] into e, checked; seen[] (zeroed,
 * ENDPOINT_KEYS_MAX) has the line of each key given.  0, or -1 with err. */
int conf_endpoint_key(struct endpoint_conf *e, unsigned int *seen,
    const char *path, const char *key, const char *value, size_t vlen,
    unsigned int line, char *err);

/* ---- files and values (config_check.c) ---- */

/* The user the worker runs as, looked up when first needed. */
struct daemon_user {
	const char *name;         /* NULL: none */
	int looked_up;
	uid_t uid;                /* (uid_t)-1 if there is no such user */
};

/* Why a file holding a secret (st) may not be trusted, into buf, or
 * NULL. */
const char *conf_secret_perm_problem(const struct stat *st,
    struct daemon_user *du, char *buf, size_t sz);

/* Why a configuration file or directory may not be trusted, or NULL. */
const char *conf_perm_problem(const struct stat *st, char *buf, size_t sz);

/* 1 if s (len bytes) may be a resource (RFC 8707 §2). */
int conf_resource_valid(const char *s, size_t len);

/* A configuration file, if conf_perm_problem() finds nothing, into *bufp
 * (NUL-terminated, *lenp bytes, the caller wipes and frees it) and its
 * fstat into *stp; 0, or -1 with err. */
int conf_read_file(const char *path, char **bufp, size_t *lenp,
    struct stat *stp, char *err);

/*
 * The secret file spath (the value of key, given on line of cpath; one
 * line ending dropped) into sodium_malloc'd *secretp (*lenp bytes,
 * NUL-terminated): 0, or -1 with err.
 */
int conf_read_secret_file(const char *cpath, unsigned int line,
    const char *key, const char *spath, struct daemon_user *du,
    char **secretp, size_t *lenp, char *err);

/*
 * A loaded module's KEY_file option spath, given on line of cpath, into
 * sodium_malloc'd *valuep (*lenp bytes, NUL-terminated; any bytes, up to
 * CONF_OPT_FILE_MAX).  If secret, under the rules of a secret file (du as
 * for conf_secret_perm_problem), else those of a configuration file.  0,
 * or -1 with err.
 */
#define CONF_OPT_FILE_MAX (1024 * 1024)
int conf_read_opt_file(const char *cpath, unsigned int line,
    const char *key, const char *spath, struct daemon_user *du, int secret,
    char **valuep, size_t *lenp, char *err);

/* ---- credential files (config_cred.c) ---- */

#define CRED_FIELDS_MAX 40	/* rows of conf_cred_fields[], at most */

/* One section of a credential file as it is read: [credential], or one
 * of a chain's [source] sections. */
struct cred_sec {
	struct cred_conf *c;           /* where its keys go */
	unsigned int seen[CRED_FIELDS_MAX];  /* by row: line of the (first)
	                                      * occurrence of its key */
	unsigned int line;             /* of its header, 0 if none */
	char *secret_file;             /* resolved client_secret_file */
	int builtin;                   /* the provider is oauth2 or camunda
	                                * (see conf_provider_builtin); -1:
	                                * not given */
	unsigned int secret_opt_line;  /* a module's secret given inline */
};

struct cred_parse {
	const char *path;
	char *dir;
	struct daemon_user *du;
	struct cred_sec secs[1 + SOURCES_MAX];  /* [credential], [source]s */
	size_t nsources;               /* [source] sections (first pass) */
	size_t at;                     /* [source] sections read so far */
	struct cred_sec *s;            /* the section being read */
};

/*
 * The parsers of credential keys (config_keys.c), named by the rows of
 * conf_cred_fields[]: each checks value (vlen bytes, NUL-terminated,
 * past conf_value_check) for key f->key and stores it in cp->s->c; 0, or
 * -1 with a message naming the file and line in err.
 */
#define CKEY_PARSER(name) int ckey_##name(struct cred_parse *cp, \
    const struct cred_field *f, const char *value, size_t vlen, \
    unsigned int line, char *err)
CKEY_PARSER(word);       /* one of f->words: CF_CHOICE or CF_STR */
CKEY_PARSER(provider);   /* a module name, not "chain" */
CKEY_PARSER(token_url);  /* conf_token_url_problem() */
CKEY_PARSER(vschar);     /* printable ASCII (RFC 6749 Appendix A) */
CKEY_PARSER(secret);     /* a secret inline, into sodium memory */
CKEY_PARSER(path);       /* a path, relative to the file's directory */
CKEY_PARSER(secret_file); /* client_secret_file: read at finish */
CKEY_PARSER(local_secret_file); /* endpoint_secret_file: read now */
CKEY_PARSER(resource);   /* RFC 8707 §2: repeats */
CKEY_PARSER(names);      /* blank-separated user or group names */
CKEY_PARSER(seconds);    /* whole seconds in f->lo..f->hi */
CKEY_PARSER(issuer);     /* OIDC discovery's issuer */
CKEY_PARSER(proxy);
CKEY_PARSER(param);      /* name=value, not one the daemon sets */
CKEY_PARSER(cert_file);  /* PEM, read now by the monitor */
CKEY_PARSER(key_file);   /* PEM, under the rules of a secret file */
CKEY_PARSER(ca_file);    /* PEM, read now into ca_pem */

/* value, a path relative to the credential file's directory, into *out
 * (malloc'd); 0, or -1 with err naming f->key. */
int ckey_resolve_value(struct cred_parse *cp, const struct cred_field *f,
    const char *value, unsigned int line, char **out, char *err);

/* conf_load_credential(), with secret files also trusted when du's user
 * owns them. */
int conf_cred_load(const char *path, const char *name,
    struct daemon_user *du, struct cred_conf *out, char *err);

/* ---- provider = camunda (config_camunda.c) ---- */

/* 1 if c says provider = camunda. */
int conf_camunda_cred(const struct cred_conf *c);

/*
 * Called by cred_finish() for every credential file (path) once it is read;
 * seen[] holds the line of each row's key (0: not given).  For another
 * provider, refuses the camunda keys.  For camunda, refuses the oauth2 keys
 * the console's file replaces, reads credentials_file (under
 * client_secret_file's rules, du as there) and fills c's token_url,
 * client_id, client_secret, audience and, unless given, scope.  0, or -1
 * with err naming the file and line.
 */
int conf_camunda_finish(const char *path, const unsigned int *seen,
    struct cred_conf *c, struct daemon_user *du, char *err);

#endif
