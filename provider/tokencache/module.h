/*
 * tokencache/module.h - the ABI of tokencached's token source modules.
 *
 * A module is a shared object in the module directory (module_dir in
 * tokencache.conf, by default $(PREFIX)/lib/tokencache/modules), named
 * NAME.so for `provider = NAME` in a credential file.  It exports one
 * symbol, tokencache_module, a struct tc_module; it is built against this
 * header alone:
 *
 *   cc -shared -fPIC $(pkg-config --cflags tokencache-module) \
 *       -o NAME.so NAME.c
 *
 * The tc_mod_* functions below are tokencached's own: the daemon exports
 * them to the modules it loads, so a module links nothing of tokencache.
 *
 * Modules run only in the daemon's unprivileged worker, never as root,
 * and in its one thread: no callback may block.  A request is either a
 * libcurl easy handle that the daemon drives on its multi handle, or a
 * descriptor that the daemon polls (a pipe from a child, say), with the
 * credential's timeout enforced by the daemon in both cases.  The daemon
 * owns scheduling, retries, backoff, rate guards and publishing.
 *
 * ABI rules.  TC_MODULE_ABI_MAJOR changes when a change would break a
 * module built against the old header: a member of struct tc_module
 * removed, moved or retyped, a tc_mod_* function removed or changed, a
 * meaning changed.  A minor version may only append members to struct
 * tc_module (a module's `size` says which it has; the daemon never reads
 * past it) and add tc_mod_* functions or TC_MOD_* values.  The daemon
 * refuses a module of another major version, or one whose size is less
 * than that of ABI 1.0's struct, or without configure, start, finish and
 * end, naming the file.
 */
#ifndef TOKENCACHE_MODULE_H
#define TOKENCACHE_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_MODULE_ABI_MAJOR 1
#define TC_MODULE_ABI_MINOR 1

/* The one symbol a module exports. */
#define TC_MODULE_SYMBOL "tokencache_module"

#if defined(__GNUC__)
#define TC_MODULE_EXPORT __attribute__((visibility("default")))
#define TC_MOD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TC_MODULE_EXPORT
#define TC_MOD_PRINTF(f, a)
#endif

/* A credential as its module sees it: its name, its own options, its
 * timeout; never another credential's.  Valid during configure(). */
typedef struct tc_mod_cred tc_mod_cred;

/* One request in flight.  Valid from start() to end(). */
typedef struct tc_mod_req tc_mod_req;

struct tc_module {
	uint32_t abi_major;      /* TC_MODULE_ABI_MAJOR */
	uint32_t abi_minor;      /* TC_MODULE_ABI_MINOR */
	size_t size;             /* sizeof(struct tc_module) */
	const char *name;        /* the provider name: the file's stem */

	/*
	 * Read the credential's options (tc_mod_opt_*), refuse any it does
	 * not know or cannot use with tc_mod_error(), and add to the
	 * request identity (tc_mod_identity) every option that changes
	 * which token the request yields.  On success return 0 with *state
	 * the module's own, for the credential's life; else -1.  Called in
	 * the worker at start and at every reload, before the daemon
	 * commits to the new configuration.
	 */
	int (*configure)(tc_mod_cred *cred, void **state);
	/* Free state (NULL-safe), wiping secrets.  May be NULL. */
	void (*release)(void *state);

	/*
	 * Begin one request: hand the daemon exactly one of an easy handle
	 * (tc_mod_req_set_easy) or a descriptor (tc_mod_req_set_fd), and
	 * keep per-request data with tc_mod_req_set_data.  Return 0, or -1
	 * after tc_mod_fail() (the daemon then retries with backoff).
	 */
	int (*start)(void *state, tc_mod_req *req);
	/*
	 * The request made progress.  For an easy handle, the transfer
	 * ended with cc; for a descriptor, it is readable or hung up and cc
	 * is CURLE_OK.  Return 0 when the request is over, with its result
	 * set by tc_mod_token() or tc_mod_fail() (neither: a transient
	 * failure); return 1 for a descriptor with more to come, after
	 * tc_mod_req_set_fd() if another descriptor is to be watched.
	 * Since ABI 1.1, a request of an easy handle may also return 1
	 * after tc_mod_req_set_easy() with the handle to drive next: the
	 * same one set up anew (the daemon took it off its multi handle
	 * before finish()) or another (the module frees the one it
	 * replaces); the credential's timeout covers all the steps.  A
	 * daemon of ABI 1.0 takes that 1 for the end, with no result.
	 */
	int (*finish)(void *state, tc_mod_req *req, CURLcode cc);
	/*
	 * The request is over: finished, timed out or abandoned (reload,
	 * stop).  Free what start() made, the easy handle included (the
	 * daemon has taken it off its multi handle), and end any child.
	 * Called exactly once for every start() that returned 0.
	 */
	void (*end)(void *state, tc_mod_req *req);
};

/* ---- options, during configure() ------------------------------------- */

/* tc_mod_opt_flags() */
#define TC_MOD_OPT_SECRET 0x01u  /* a secret: in locked memory that is
                                  * wiped; never log or echo it */
#define TC_MOD_OPT_FILE   0x02u  /* KEY_file: the value is the contents
                                  * of the file it named, read by the
                                  * daemon (tc_mod_opt_path: the path) */

/* The credential's name and the file it came from, for messages. */
const char *tc_mod_cred_name(const tc_mod_cred *cred);
const char *tc_mod_cred_path(const tc_mod_cred *cred);
/* The credential's `timeout` in milliseconds, and the longest token the
 * daemon publishes, in bytes. */
long tc_mod_cred_timeout_ms(const tc_mod_cred *cred);
size_t tc_mod_cred_token_max(const tc_mod_cred *cred);

/*
 * The options that are the module's: every key of the credential file
 * but those the daemon reads itself (provider, allow_users,
 * allow_groups, timeout, default_lifetime, max_lifetime), in file order;
 * a key may appear more than once.  i runs from 0 to tc_mod_opt_count()
 * - 1.  Values are NUL-terminated, with their length (a file's contents
 * may hold NUL bytes); all pointers stay valid until release().
 */
size_t tc_mod_opt_count(const tc_mod_cred *cred);
const char *tc_mod_opt_key(const tc_mod_cred *cred, size_t i);
const char *tc_mod_opt_value(const tc_mod_cred *cred, size_t i,
    size_t *len);
unsigned int tc_mod_opt_line(const tc_mod_cred *cred, size_t i);
unsigned int tc_mod_opt_flags(const tc_mod_cred *cred, size_t i);
const char *tc_mod_opt_path(const tc_mod_cred *cred, size_t i);

/*
 * Refuse the configuration: the message is shown as
 * "PATH:LINE: KEY: MESSAGE" for option i, or "PATH: MESSAGE" with i
 * TC_MOD_NO_OPT.  Never put a secret in it.  Returns -1.
 */
#define TC_MOD_NO_OPT ((size_t)-1)
int tc_mod_error(tc_mod_cred *cred, size_t i, const char *fmt, ...)
    TC_MOD_PRINTF(3, 4);

/*
 * Add data to the credential's request identity.  A restarted daemon
 * adopts a cached token, and a reload keeps one, only while the identity
 * is the same; so feed in what selects the token (URL, client id,
 * secret, audience ...), not what only shapes how it is fetched
 * (timeouts, CA files).  The daemon hashes it; it is never stored.
 */
void tc_mod_identity(tc_mod_cred *cred, const void *data, size_t len);

/* ---- a request, from start() to end() --------------------------------- */

const char *tc_mod_req_cred_name(const tc_mod_req *req);
long tc_mod_req_timeout_ms(const tc_mod_req *req);
size_t tc_mod_req_token_max(const tc_mod_req *req);

void tc_mod_req_set_data(tc_mod_req *req, void *data);
void *tc_mod_req_data(const tc_mod_req *req);
/* The daemon adds easy to its multi handle after start() returns; the
 * module keeps ownership and frees it in end(). */
void tc_mod_req_set_easy(tc_mod_req *req, CURL *easy);
/* fd is polled for input; the module keeps ownership. */
void tc_mod_req_set_fd(tc_mod_req *req, int fd);

/*
 * The result.  tc_mod_token: token (len bytes, printable ASCII, no
 * blanks) of type token_type (NULL: "Bearer"), valid for expires_in
 * seconds from when the request was sent (0 or less: unknown; the
 * daemon then takes the JWT exp claim or default_lifetime, and it always
 * caps a lifetime at max_lifetime and the JWT's exp).  The daemon
 * copies the token; wipe your copy.  Returns 0, or -1 if the token is
 * empty, too long or not printable (the request then failed).
 */
int tc_mod_token(tc_mod_req *req, const char *token, size_t len,
    const char *token_type, long expires_in);

/* tc_mod_fail() kinds */
#define TC_MOD_TRANSIENT 1   /* retried with backoff */
#define TC_MOD_PERMANENT 2   /* retried slowly: the configuration or the
                              * account is wrong */

/*
 * The request failed.  http_status: the HTTP status if any, else 0;
 * retry_after: seconds the server asked to wait (Retry-After), else 0,
 * which also holds every credential of the same endpoint.  The message
 * is the credential's last error, shown by tokencachectl: no secret.
 */
void tc_mod_fail(tc_mod_req *req, int kind, long http_status,
    long retry_after, const char *fmt, ...) TC_MOD_PRINTF(5, 6);

/*
 * Judge an OAuth 2.0 token endpoint's reply (RFC 6749 §5.1 and §5.2)
 * as the daemon's own oauth2 source does, and set the result: a token,
 * or an error classed permanent (invalid_client ...) or transient (5xx,
 * 429, garbage).  easy is the finished handle (its status, Date and
 * Retry-After are read), or NULL to judge body against http_status and
 * the local clock.  Returns 0 if a token was set, else -1.
 */
int tc_mod_token_reply(tc_mod_req *req, CURL *easy, long http_status,
    const char *body, size_t len);

/* Log, prefixed with the credential's name.  TC_MOD_LOG_*: syslog's
 * LOG_ERR, LOG_WARNING, LOG_INFO and LOG_DEBUG. */
#define TC_MOD_LOG_ERR     3
#define TC_MOD_LOG_WARNING 4
#define TC_MOD_LOG_INFO    6
#define TC_MOD_LOG_DEBUG   7
void tc_mod_log(const char *cred_name, int priority, const char *fmt, ...)
    TC_MOD_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif

#endif /* TOKENCACHE_MODULE_H */
