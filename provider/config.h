/*
 * config.h - tokencached's configuration: the main INI file and one file
 * per credential in credentials_dir.
 */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONF_ERR_MAX 512

enum auth_method {
	AUTH_CLIENT_SECRET_POST = 0,
	AUTH_CLIENT_SECRET_BASIC = 1,
};

struct cred_conf {
	char *name;              /* file stem, valid per seg_name_valid() */
	char *path;              /* the credential file, for messages */
	char *provider;          /* module name: "oauth2" */
	char *token_url;
	char *client_id;
	char *client_secret;     /* sodium_malloc'd, NUL-terminated */
	size_t client_secret_len;
	enum auth_method auth_method;
	char *audience;          /* NULL if unset */
	char *scope;             /* NULL if unset */
	char **resources;        /* NULL-terminated; `resource` may repeat */
	size_t nresources;
	char **allow_users;      /* NULL-terminated, names as written */
	size_t nallow_users;
	char **allow_groups;     /* NULL-terminated */
	size_t nallow_groups;
	long timeout_ms;         /* whole request, default 30000 */
	long default_lifetime;   /* seconds when the server sends none: 3600 */
	long max_lifetime;       /* cap on any lifetime: 31 days */
	char *ca_file;           /* NULL: system CA store */
};

struct daemon_conf {
	char *path;              /* the main file */
	char *runtime_dir;       /* default /run/tokencache */
	char *credentials_dir;   /* default: credentials.d beside path */
	uint32_t max_credentials;  /* default 128 */
	uint32_t max_token_size;   /* bytes, default 16384 */
	char *user;                /* drop to this user when started as root;
	                            * default "tokencache" */
	char *admin_group;         /* may reload, invalidate, rotate-keys;
	                            * NULL: root and the daemon's user only */
	long key_rotation_interval;  /* seconds, 0: never; default 86400 */
	uint32_t endpoint_rate;    /* token requests per second per token_url,
	                            * default 1 */
	uint32_t endpoint_burst;   /* ... after a burst of this many, default 2 */
	long refresh_min_interval; /* seconds between explicit refreshes of one
	                            * credential, 0: none; default 10 */
	struct cred_conf *creds;   /* sorted by name */
	size_t ncreds;
};

/*
 * Parse the main file and every credentials_dir/NAME.conf.  On failure
 * returns -1 and writes a message naming file and line into err (size
 * CONF_ERR_MAX); *out is untouched.  Secrets are read from
 * client_secret_file, which must not be group- or world-accessible and
 * must be owned by root or the daemon's effective user; a credential file
 * that holds client_secret inline must meet the same rule.
 */
int conf_load(const char *path, struct daemon_conf **out, char *err);

/* Free a configuration, wiping secrets.  NULL is a no-op. */
void conf_free(struct daemon_conf *c);

/* Parse one credential file (used by conf_load and the tests). */
int conf_load_credential(const char *path, const char *name,
    struct cred_conf *out, char *err);
void conf_cred_clear(struct cred_conf *c);

/*
 * 1 if the two differ in anything that changes the token request, and so
 * the token: what cred_request_id() in daemon.c hashes.  Not timeout,
 * ca_file or the lifetime bounds, which change only how the next token is
 * fetched and kept.
 */
int conf_cred_request_differs(const struct cred_conf *a,
    const struct cred_conf *b);

/* 1 if allow_users or allow_groups differ (as written). */
int conf_cred_acl_differs(const struct cred_conf *a,
    const struct cred_conf *b);

/* Find a credential by name; NULL if absent. */
const struct cred_conf *conf_find(const struct daemon_conf *c,
    const char *name);

#endif /* TC_CONFIG_H */
