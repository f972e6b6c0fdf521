/*
 * tokencache.h - read OAuth access tokens published by tokencached.
 *
 * A process opens the cache once with tc_open() and then calls tc_get() as
 * often as it likes: while a token is unchanged, tc_get() makes no system
 * call and does no decryption.  The handle is safe to share between threads
 * and survives fork() (the child may keep using it).
 *
 * Every function that can fail returns 0 or a negative TC_E* code;
 * tc_strerror() turns a code into a message.  Output parameters are written
 * only on success, except where a function says otherwise.
 */
#ifndef TOKENCACHE_H
#define TOKENCACHE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_VERSION_MAJOR 0
#define TC_VERSION_MINOR 1
#define TC_VERSION_PATCH 0
/* 0xMMmmpp, comparable with <, like LIBCURL_VERSION_NUM. */
#define TC_VERSION_NUM \
	((TC_VERSION_MAJOR << 16) | (TC_VERSION_MINOR << 8) | TC_VERSION_PATCH)
#define TC_VERSION_STRING "0.1.0"

#if defined(TC_BUILDING_LIBRARY) && defined(__GNUC__)
#define TC_EXPORT __attribute__((visibility("default")))
#else
#define TC_EXPORT
#endif

/*
 * Error codes.  Always add new codes last and never remove or renumber one:
 * programs compiled against an older header depend on these numbers.
 */
#define TC_OK             0
#define TC_EINVAL        -1  /* bad argument (NULL, name not valid, ...) */
#define TC_ENOMEM        -2  /* out of memory */
#define TC_ENOCACHE      -3  /* no cache segment: is tokencached running? */
#define TC_ECORRUPT      -4  /* the segment failed a consistency check */
#define TC_EVERSION      -5  /* the segment has an unsupported format */
#define TC_ENOTFOUND     -6  /* no credential of that name is configured */
#define TC_ENOTOKEN      -7  /* configured, but no token fetched yet */
#define TC_EEXPIRED      -8  /* the last token has expired, no new one yet */
#define TC_EFAILED       -9  /* fetching failed; see tc_token_info.error */
#define TC_EACCES       -10  /* this user may not read that credential */
#define TC_ERANGE       -11  /* the buffer is too small for the token */
#define TC_EBUSY        -12  /* the slot kept changing; try again */
#define TC_ENODAEMON    -13  /* cannot reach tokencached's control socket */
#define TC_ETIMEDOUT    -14  /* no token within the timeout */
#define TC_EPROTO       -15  /* the daemon sent a malformed reply */
#define TC_ESYSTEM      -16  /* a system call failed; errno has details */
#define TC_EDECRYPT     -17  /* a token failed authentication */
#define TC_EBADTOKEN    -18  /* the token has a byte outside 0x21-0x7E */
#define TC_EPEER        -19  /* the socket's listener (SO_PEERCRED) is not
                                root, tokencached's user or the caller's */

#define TC_NAME_MAX 127      /* longest credential name, in bytes */
#define TC_ERROR_MAX 256     /* size of tc_token_info.error, with the NUL */
#define TC_TYPE_MAX 32       /* size of tc_token_info.token_type */

/*
 * What tc_get() tells about the token beside the token itself.
 *
 * The ABI rule: this struct only grows, by fields added at its end; no
 * field is ever removed, moved or resized.  The caller sets size to
 * sizeof(tc_token_info) as its own header has it (TC_TOKEN_INFO_INIT does
 * that), and the library writes only the first min(size, its own
 * sizeof(tc_token_info)) bytes, never size itself: never a byte at or
 * past info->size.  So a program built against an older header runs with
 * a newer library, and one built against a newer header with an older
 * library, which leaves the fields it does not know as the caller set
 * them.  A size smaller than the size member itself (0: set to nothing)
 * gives TC_EINVAL.  Programs built against 0.1.0, whose struct had no
 * size, keep working: they are bound to the TOKENCACHE_0.1 versions of
 * tc_get() and tc_get_wait().
 */
typedef struct tc_token_info {
	size_t size;             /* set by the caller: sizeof(tc_token_info) */
	int64_t expires_at;      /* Unix time (seconds) the token expires */
	int64_t expires_in_ms;   /* milliseconds left, on CLOCK_BOOTTIME */
	int64_t fetched_at;      /* Unix time the daemon received it */
	uint64_t generation;     /* increases each time the token changes */
	size_t length;           /* strlen() of the token */
	char token_type[TC_TYPE_MAX];  /* as sent by the server, e.g. "Bearer" */
	char error[TC_ERROR_MAX];      /* last fetch error, "" if none */
	/* New fields go here, and only here. */
} tc_token_info;

/* tc_token_info info = TC_TOKEN_INFO_INIT; */
#define TC_TOKEN_INFO_INIT { .size = sizeof(tc_token_info) }

typedef struct tc_client tc_client;

/*
 * Make a handle for the cache in runtime_dir (NULL: $TOKENCACHE_RUNTIME_DIR,
 * else /run/tokencache).  On success *ret holds a handle to free with
 * tc_close().  The cache is mapped on first use, so a missing cache shows
 * up as TC_ENOCACHE from tc_get(), and a handle made before the daemon
 * starts works once it has.
 */
TC_EXPORT int tc_open(tc_client **ret, const char *runtime_dir);

/*
 * Copy the current token of credential `name` into buf (NUL-terminated) and,
 * if info is not NULL, describe it in *info.  Never blocks: a credential with
 * no valid token yet gives TC_ENOTOKEN, TC_EEXPIRED or TC_EFAILED at once.
 * The first read of a credential asks the daemon for its key (TC_EACCES if
 * this process's user is not allowed).  buf too small gives TC_ERANGE and
 * info->length (when info is given) says how many bytes are needed, less
 * the NUL.  On TC_ERANGE, TC_EEXPIRED, TC_EFAILED and TC_ENOTOKEN, info
 * (when given) describes the credential's state, error included; on other
 * errors it is left untouched.  info->size must be set (see tc_token_info).
 */
TC_EXPORT int tc_get(tc_client *c, const char *name, char *buf, size_t buflen,
    tc_token_info *info);

/*
 * Like tc_get(), but when there is no valid token, ask the daemon to fetch
 * one now and wait up to timeout_ms milliseconds for it (timeout_ms < 0:
 * as long as the credential's own fetch timeout; 0: do not wait, the same
 * as tc_get()).  Many waiters cause a single request to the OAuth server.
 * A failed fetch gives TC_EFAILED with the reason in info->error.
 */
TC_EXPORT int tc_get_wait(tc_client *c, const char *name, char *buf,
    size_t buflen, tc_token_info *info, int timeout_ms);

/*
 * Ask the daemon to fetch a new token for `name` now, even if the current
 * one is still valid, and wait up to timeout_ms for the outcome (<= 0: the
 * credential's own fetch timeout).  Returns 0 once a new token is
 * published, TC_EFAILED if the fetch failed (tc_get() then tells why), or
 * another error.
 */
TC_EXPORT int tc_refresh(tc_client *c, const char *name, int timeout_ms);

/* Free a handle and wipe the keys and tokens it cached.  NULL is a no-op. */
TC_EXPORT void tc_close(tc_client *c);

/* A static message for a TC_E* code; never NULL. */
TC_EXPORT const char *tc_strerror(int code);

/* The library's version at run time, e.g. "0.1.0". */
TC_EXPORT const char *tc_version(void);

#ifdef __cplusplus
}
#endif
#endif /* TOKENCACHE_H */
