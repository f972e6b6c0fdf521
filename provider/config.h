/*
 * config.h - tokencached's configuration: the main INI file and one file
 * per credential in credentials_dir.
 */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <sodium.h>

#define CONF_ERR_MAX 512

/*
 * A chain's control word for one of its sources, PAM-style (see
 * tokencache.conf(5), CHAINS), in the order of control's words.
 */
enum src_control {
	SRC_SUFFICIENT = 0,  /* a token ends the chain; a failure goes on */
	SRC_REQUIRED = 1,    /* a failure ends the chain, as its failure */
	SRC_OPTIONAL = 2,    /* like sufficient, but its failure is not the
	                      * one reported if a later source fails too */
};

#define SOURCES_MAX 8        /* [source] sections of one credential */

/* In the order of cred_field.words of auth_method's row. */
enum auth_method {
	AUTH_CLIENT_SECRET_POST = 0,
	AUTH_CLIENT_SECRET_BASIC = 1,
	AUTH_TLS_CLIENT_AUTH = 2,     /* RFC 8705 §2.1: the client certificate */
	AUTH_PRIVATE_KEY_JWT = 3,     /* RFC 7523 §2.2: a signed assertion */
};

/*
 * struct cred_conf's fields and keys are listed once, in one table
 * (conf_cred_fields[] in config_cred.c, a row each, in the spirit of OpenSSH's
 * COPY_MATCH_STRING_OPTS): it says how a key is parsed and how its field
 * is stored, and so drives parsing, conf_cred_clear(), the hand-over from
 * the monitor to the worker (conf_pack/conf_unpack in config_pack.c), the
 * reload's comparisons and the request identity.  A new key is one row
 * there, plus its parser if none of the existing ones fits.
 */
enum cred_field_kind {
	CF_NONE,     /* a key with no field of its own (client_secret_file) */
	CF_STR,      /* char *, NULL if unset */
	CF_SECRET,   /* char *, sodium_malloc'd; its size_t length at len_off */
	CF_LIST,     /* char **, NULL-terminated; size_t count at len_off */
	CF_CHOICE,   /* an enum (unsigned int): the index of its word */
	CF_LONG,     /* long: lo..hi (in the key's unit) times scale */
	CF_OPTS,     /* struct cred_opt *: a loaded module's options;
	              * size_t count at len_off */
	CF_SOURCES,  /* struct cred_conf *: a chain's [source] sections;
	              * size_t count at len_off */
};

/* cred_field.flags */
#define CF_REQUIRED  0x01u  /* the credential file must give the key */
#define CF_SET       0x02u  /* not NULL in a loaded credential */
#define CF_REPEAT    0x04u  /* the key may be given more than once */
#define CF_REQUEST   0x08u  /* sent in the token request: part of its
                             * identity (conf_cred_request_id) */
#define CF_ACL       0x10u  /* who may read the token */
#define CF_SOURCE    0x80u  /* only in a [source] section */
#define CF_BUILTIN   0x20u  /* a key of the built-in sources (oauth2,
                             * camunda): with a loaded module's
                             * provider, the module's option instead */
#define CF_ID_IFSET  0x40u  /* with CF_REQUEST: in the identity only
                             * when set, as its key and its value, so
                             * that a credential without the key keeps
                             * the identity it had before the key
                             * existed (conf_cred_encode) */

struct cred_parse;

struct cred_field {
	const char *key;            /* in NAME.conf; NULL: set by the
	                             * loader (name, path) */
	enum cred_field_kind kind;
	size_t off;                 /* of the field in struct cred_conf */
	size_t len_off;             /* CF_SECRET, CF_LIST: of its length */
	unsigned int flags;         /* CF_* */
	/* Check value (vlen bytes, NUL-terminated) and store it; 0, or -1
	 * with a message naming file and line in err. */
	int (*parse)(struct cred_parse *cp, const struct cred_field *f,
	    const char *value, size_t vlen, unsigned int line, char *err);
	const char *const *words;   /* CF_CHOICE, or a CF_STR of fixed
	                             * values: the values allowed */
	long lo, hi, scale;         /* CF_LONG: range and unit */
	long dflt;                  /* CF_LONG, CF_CHOICE: the default */
};

extern const struct cred_field conf_cred_fields[];
extern const size_t conf_cred_nfields;

/* The field of c that row f describes, as a pointer to type. */
#define CRED_FIELD(c, f, type) \
	((type *)(void *)((char *)(c) + (f)->off))
#define CRED_CFIELD(c, f, type) \
	((type const *)(const void *)((const char *)(c) + (f)->off))
#define CRED_LEN(c, f) \
	((size_t *)(void *)((char *)(c) + (f)->len_off))
#define CRED_CLEN(c, f) \
	((const size_t *)(const void *)((const char *)(c) + (f)->len_off))

/*
 * An option of a credential whose provider is a loaded module: a key the
 * daemon does not read itself, handed to the module as written
 * (tokencache/module.h).  Values are sodium_malloc'd: any may be a
 * secret.  A KEY_file option holds the contents of the file it named,
 * read by the monitor under the secret-file rules unless KEY ends in
 * "ca_file" or "cert_file" (certificates are public).
 */
struct cred_opt {
	char *key;
	char *value;             /* NUL-terminated, len bytes */
	size_t len;
	char *path;              /* TC_MOD_OPT_FILE: the file; else NULL */
	unsigned int line;
	unsigned int flags;      /* TC_MOD_OPT_SECRET, TC_MOD_OPT_FILE */
};

struct srcmod;

struct cred_conf {
	char *name;              /* file stem, valid per seg_name_valid() */
	char *path;              /* the credential file, for messages */
	char *provider;          /* "oauth2" or "camunda" (built in),
	                          * or a loaded module's name */
	char *token_url;         /* NULL: issuer gives it (oauth2.c) */
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
	/* provider = camunda (config_camunda.c): the console's file, and
	 * the audience to send instead of the component's. */
	char *camunda_file;      /* credentials_file, resolved */
	char *audience_value;
	char *ca_pem;            /* its contents, read by the monitor */
	size_t ca_pem_len;
	char *issuer;            /* OIDC discovery instead of token_url */
	long connect_timeout_ms; /* default min(timeout, 10 s) */
	char *proxy;             /* NULL: none, whatever *_proxy say */
	char **params;           /* extra "name=value" form parameters */
	size_t nparams;
	char *tls_cert;          /* RFC 8705: client certificate, PEM */
	size_t tls_cert_len;
	char *tls_key;           /* ... its private key, PEM (secret) */
	size_t tls_key_len;
	char *private_key;       /* private_key_jwt's signing key, PEM */
	size_t private_key_len;
	char *jwt_kid;           /* the JWT header's kid; NULL: none */
	char *endpoint_secret;   /* the local endpoint asks for this as the
	                          * client secret; NULL: for none */
	size_t endpoint_secret_len;
	struct cred_opt *opts;   /* a loaded module's options, in file order */
	size_t nopts;
	/*
	 * A chain: its [source] sections in order, each a cred_conf with
	 * the source's keys (provider ...) and the credential's name, path,
	 * timeout and lifetimes; the credential itself then has provider
	 * "chain" and no source key.  A source has none of its own.
	 */
	struct cred_conf *sources;
	size_t nsources;
	enum src_control control;  /* a source's */

	/*
	 * Not from the file, not packed: set in the worker by
	 * srcmod_configure() (srcmod.h) and released by srcmod_release()
	 * before the configuration is freed.  src_id is what the module added
	 * to the request identity, hashed; conf_cred_request_differs()
	 * compares it.
	 */
	const struct srcmod *src;
	void *src_state;
	uint8_t src_id[16];
	int src_id_set;
};

/* 1 if name is a source built into the daemon (oauth2, camunda), whose
 * keys are the CF_BUILTIN rows; else a module's name (see
 * conf_provider_valid). */
int conf_provider_builtin(const char *name);
/* Why url (len bytes) may not be a token endpoint, or NULL: https, or
 * http on loopback only; no user information or fragment.  The worker
 * holds a discovered token_endpoint to it too (oauth2.c). */
const char *conf_token_url_problem(const char *url, size_t len);
/* 1 if name may name a provider: 1..64 bytes of a-z 0-9 _ -, not
 * starting with '-'. */
int conf_provider_valid(const char *name, size_t len);

/*
 * The local token endpoint (httpd.c), the main file's [endpoint]
 * section (config_endpoint.c).  Off when the section is absent; with it,
 * runtime_dir/endpoint.socket, and a TCP listener per listen line.
 */
#define LISTEN_MAX               8
#define DEFAULT_MIN_LIFETIME     60     /* seconds */
#define DEFAULT_HTTP_CONNS       256
#define DEFAULT_HTTP_CONNS_USER  64

struct endpoint_conf {
	int on;                    /* the section is there */
	char **listen;             /* "127.0.0.1:PORT", "[::1]:PORT": a
	                            * loopback address, checked */
	size_t nlisten;
	long min_lifetime;         /* seconds a handed-out token has left */
	uint32_t max_connections;  /* in total ... */
	uint32_t max_connections_per_user;  /* ... and for one user */
};

/*
 * A listen value as an address: "IPV4:PORT" with IPV4 in 127.0.0.0/8,
 * or "[::1]:PORT"; PORT 1..65535, numeric.  0 and *ss filled, or -1 and
 * why in *why (static).
 */
int conf_listen_parse(const char *s, struct sockaddr_storage *ss,
    const char **why);

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
	char *module_dir;          /* loaded modules: NAME.so; default
	                            * TC_MODULE_DIR */
	char *metrics_textfile;    /* the worker writes the metrics there
	                            * (PATH.tmp.PID, then renamed); NULL: no */
	long metrics_interval;     /* ... every this many seconds, default 15 */
	struct endpoint_conf endpoint;  /* [endpoint] */
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
 * the token: what conf_cred_request_id() hashes (the CF_REQUEST fields).
 * Not timeout, ca_file or the lifetime bounds, which change only how the
 * next token is fetched and kept.
 */
int conf_cred_request_differs(const struct cred_conf *a,
    const struct cred_conf *b);

/*
 * The fields of cc whose rows have one of flags (every row if flags is 0),
 * in table order, as bytes handed to put(arg, data, n): a string or secret
 * as its length (UINT64_MAX for NULL) and its bytes, a list as its count
 * and its strings, a choice or a number as a value; every count, length
 * and value as 8 bytes in host order.  When flags asks for CF_REQUEST, a
 * CF_ID_IFSET row that is unset (NULL, empty, its default) is left out
 * and a set one is preceded by its key as a string.  It is both the
 * hand-over to the worker (conf_pack, which carries every row) and the
 * input of the request identity (the CF_REQUEST rows), so the two cannot
 * drift apart; and since the identity is stored, the encoding must never
 * change.
 */
typedef void conf_put_fn(void *arg, const void *data, size_t n);
void conf_cred_encode(const struct cred_conf *cc, unsigned int flags,
    conf_put_fn *put, void *arg);

/*
 * What identifies the token a credential's request yields: the CF_REQUEST
 * fields, encoded by conf_cred_encode(), fed into st (a keyed BLAKE2b
 * state the caller initialised for a 16-byte output) and finalised into
 * out; st is wiped.
 * A slot keeps it (seg_slot.request_id), so the bytes hashed must not
 * change from one release to the next for the same configuration: a
 * restarted daemon adopts a token only if its identity matches.
 */
void conf_cred_request_id(const struct cred_conf *cc,
    crypto_generichash_state *st, uint8_t out[16]);

/* 1 if allow_users or allow_groups (the CF_ACL fields) differ, as
 * written. */
int conf_cred_acl_differs(const struct cred_conf *a,
    const struct cred_conf *b);

/* Find a credential by name; NULL if absent. */
const struct cred_conf *conf_find(const struct daemon_conf *c,
    const char *name);

/* Serialise a configuration, secrets included, into a sodium_malloc'd
 * buffer (free with sodium_free), and back: the monitor's hand-over to the
 * worker (config_pack.c).  conf_unpack refuses what a configuration file
 * could not have said. */
unsigned char *conf_pack(const struct daemon_conf *c, size_t *len);
int conf_unpack(const unsigned char *buf, size_t len,
    struct daemon_conf **out);

#endif /* TC_CONFIG_H */
