/*
 * camunda_env.h - the credentials file Camunda's console hands out for an
 * API client, read as data, never run by a shell.
 *
 * Pure C and libc: tokencached's monitor (config_camunda.c),
 * tokencachectl import-camunda and the fuzz target link the same object.
 *
 * What a line may be (tokencache.conf(5) says the same to users):
 *
 *   - blank, or a comment: optional blanks, then '#' and anything;
 *   - an assignment: optional blanks, optional "export" and blanks,
 *     NAME=VALUE, optional blanks and an optional "# comment".  NAME is
 *     [A-Za-z_][A-Za-z0-9_]*, at most CAMUNDA_ENV_NAME_MAX bytes, with no
 *     blank before or after '='.  VALUE is one shell word made of
 *     adjacent pieces:
 *       'single quoted'  every byte as written, up to the next '; no
 *                        escape at all (as in sh);
 *       "double quoted"  \$ \` \" \\ stand for $ ` " \; a backslash before
 *                        any other byte is itself (as in sh); an unescaped
 *                        $ or ` is refused;
 *       unquoted bytes   \X stands for X (as in sh); $ ` ; & | < > ( )
 *                        * ? [ ~ { } and quotes left open are refused.
 *     What sh would expand, substitute or run ($VAR, ${..}, $(..),
 *     `..`, globs, a second command) is thus refused, never executed or
 *     guessed at: a value accepted here is the value sh would assign.
 *
 * A line ends at LF; one CR right before it (or before the end of the
 * file) is dropped.  A quote never spans lines.  A NUL byte, another
 * control byte outside a comment (tab is a blank), a line longer than
 * CAMUNDA_ENV_LINE_MAX or a file longer than CAMUNDA_ENV_FILE_MAX is an
 * error, as is a known variable set twice.  An unknown variable is a
 * warning, and its value is dropped.
 */
#ifndef TC_CAMUNDA_ENV_H
#define TC_CAMUNDA_ENV_H

#include <stddef.h>

#define CAMUNDA_ENV_FILE_MAX	65536
#define CAMUNDA_ENV_LINE_MAX	8192
#define CAMUNDA_ENV_NAME_MAX	64
#define CAMUNDA_ENV_WARN_MAX	16	/* warnings kept; more are counted */
#define CAMUNDA_ENV_ERR_MAX	160

/*
 * The variables known: what the console writes for SaaS, and what
 * Camunda's clients read for Self-Managed (Java: CAMUNDA_CLIENT_ID ...;
 * the JS SDK: CAMUNDA_*_OAUTH_AUDIENCE ...).  Append only: the order is
 * the enum's.
 */
#define CAMUNDA_ENV_VARS(X)						\
	X(ZEEBE_ADDRESS)						\
	X(ZEEBE_CLIENT_ID)						\
	X(ZEEBE_CLIENT_SECRET)						\
	X(ZEEBE_AUTHORIZATION_SERVER_URL)				\
	X(ZEEBE_TOKEN_AUDIENCE)						\
	X(ZEEBE_TOKEN_SCOPE)						\
	X(ZEEBE_GRPC_ADDRESS)						\
	X(ZEEBE_REST_ADDRESS)						\
	X(CAMUNDA_CLUSTER_ID)						\
	X(CAMUNDA_CLUSTER_REGION)					\
	X(CAMUNDA_CREDENTIALS_SCOPES)					\
	X(CAMUNDA_OAUTH_URL)						\
	X(CAMUNDA_TASKLIST_BASE_URL)					\
	X(CAMUNDA_OPERATE_BASE_URL)					\
	X(CAMUNDA_OPTIMIZE_BASE_URL)					\
	X(CAMUNDA_CLIENT_ID)						\
	X(CAMUNDA_CLIENT_SECRET)					\
	X(CAMUNDA_AUTHORIZATION_SERVER_URL)				\
	X(CAMUNDA_TOKEN_AUDIENCE)					\
	X(CAMUNDA_TOKEN_SCOPE)						\
	X(CAMUNDA_ZEEBE_OAUTH_AUDIENCE)					\
	X(CAMUNDA_OPERATE_OAUTH_AUDIENCE)				\
	X(CAMUNDA_TASKLIST_OAUTH_AUDIENCE)				\
	X(CAMUNDA_OPTIMIZE_OAUTH_AUDIENCE)				\
	X(CAMUNDA_GRPC_ADDRESS)						\
	X(CAMUNDA_REST_ADDRESS)						\
	X(CAMUNDA_AUTH_STRATEGY)					\
	X(CAMUNDA_SECURE_CONNECTION)					\
	X(CAMUNDA_TENANT_ID)						\
	X(CAMUNDA_MODELER_BASE_URL)

#define CAMUNDA_ENV_ENUM(name) CV_##name,
enum camunda_var {
	CAMUNDA_ENV_VARS(CAMUNDA_ENV_ENUM)
	CV_COUNT
};
#undef CAMUNDA_ENV_ENUM

struct camunda_env_value {
	const char *s;           /* NUL-terminated, in the arena; NULL: unset */
	size_t len;
	unsigned int line;       /* where it was set */
};

struct camunda_env_warning {
	unsigned int line;
	char name[CAMUNDA_ENV_NAME_MAX + 1];  /* [A-Za-z0-9_], printable */
};

/* Allocate n bytes for the values (secrets among them); free them, after
 * camunda_env_free() has wiped all n. */
typedef void *camunda_env_alloc_fn(size_t n);
typedef void camunda_env_free_fn(void *p, size_t n);

struct camunda_env {
	struct camunda_env_value var[CV_COUNT];
	struct camunda_env_warning warn[CAMUNDA_ENV_WARN_MAX];
	size_t nwarn;            /* in warn[] */
	size_t nunknown;         /* unknown variables, all of them */
	/* private */
	char *arena;
	size_t arena_size;
	camunda_env_free_fn *release;
};

/*
 * Parse buf (len bytes; it need not be NUL-terminated and may hold NUL
 * bytes, which are refused) into env.  alloc and release hold the values
 * (NULL, NULL: malloc and free); every value, secrets included, lives in
 * one block of len + 1 bytes that camunda_env_free() wipes.
 *
 * Returns 0 with env filled, or -1 with env empty (nothing to free), a
 * message in err (errlen bytes; it never quotes a value, only names and
 * columns) and *err_line the line it is about (0: the whole file).
 */
int camunda_env_parse(struct camunda_env *env, const char *buf, size_t len,
    camunda_env_alloc_fn *alloc, camunda_env_free_fn *release, char *err,
    size_t errlen, unsigned int *err_line);

/* Wipe and free env's values; env is then empty.  NULL and an empty env
 * are fine, and so is a second call. */
void camunda_env_free(struct camunda_env *env);

/* The name of v ("ZEEBE_CLIENT_ID"), or NULL if v is out of range. */
const char *camunda_env_name(enum camunda_var v);

/* The variable called name (len bytes), or CV_COUNT if unknown. */
enum camunda_var camunda_env_lookup(const char *name, size_t len);

#endif /* TC_CAMUNDA_ENV_H */
