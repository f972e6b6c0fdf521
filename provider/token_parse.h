/*
 * token_parse.h - parse a token endpoint's reply (RFC 6749 §5.1, §5.2).
 */
#ifndef TC_TOKEN_PARSE_H
#define TC_TOKEN_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "seg.h"

enum tok_outcome {
	TOK_OK = 0,          /* a token to publish */
	TOK_TRANSIENT = 1,   /* retry with backoff: 5xx, 429, 408, garbage */
	TOK_PERMANENT = 2,   /* do not loop: invalid_client, 4xx, 3xx ... */
};

struct tok_limits {
	size_t token_max;        /* longest token accepted, bytes */
	long default_lifetime;   /* seconds, when neither expires_in nor exp */
	long max_lifetime;       /* seconds, cap on any lifetime */
};

#define TOK_SCOPE_MAX 512

struct tok_result {
	enum tok_outcome outcome;
	char *token;             /* TOK_OK: sodium_malloc'd, NUL-terminated */
	size_t token_len;
	char token_type[32];     /* TOK_OK: as sent, e.g. "Bearer" */
	long lifetime;           /* TOK_OK: seconds from `now`, > 0 */
	int64_t jwt_exp;         /* the JWT exp claim, 0 if none */
	char scope[TOK_SCOPE_MAX]; /* TOK_OK: the reply's scope, "" if it
	                          * gave none, or one that is not printable
	                          * ASCII or does not fit */
	char error[SEG_SLOT_ERROR]; /* not TOK_OK: "invalid_client: text"
	                          * etc.; as long as a slot keeps, a longer
	                          * text cut and ended with "..." */
	size_t error_code_at;    /* error holds at this offset an RFC 6749
	                          * §5.2 error code ... */
	size_t error_code_len;   /* ... this long (then ": " and its
	                          * error_description, if it gave one, to
	                          * the end); 0: none, the text is ours or a
	                          * module's */
};

/*
 * Parse `len` bytes of `body` received with HTTP status `http_status` at
 * Unix time `now`.  Always fills *out (outcome and, on failure, error) and
 * returns out->outcome.  The error text never contains the token.
 *
 * Lifetime rule: a positive integer expires_in (JSON number or a string of
 * digits) counts, capped at max_lifetime; any other expires_in (absent,
 * zero, negative, fractional, not a number) is treated as absent, and then
 * the JWT exp claim decides, else default_lifetime.  The lifetime never
 * runs past the JWT exp claim.  A token whose exp has passed is an error.
 */
enum tok_outcome tok_parse(const char *body, size_t len, long http_status,
    int64_t now, const struct tok_limits *lim, struct tok_result *out);

/*
 * Judge a token (toklen bytes) of type (typelen bytes) that came with
 * expires_in seconds (0 or less: none) at Unix time now, as tok_parse()
 * does for a successful reply (the same lifetime rule), and fill *r: on
 * success r->outcome is TOK_OK and r holds a copy of the token; else r
 * has the failure.  tok_parse() and modules (tc_mod_token) share it.
 */
void tok_accept(const char *tok, size_t toklen, const char *type,
    size_t typelen, int64_t expires_in, int64_t now,
    const struct tok_limits *lim, struct tok_result *r);

/* Wipe and free what tok_parse() allocated.  NULL-safe. */
void tok_result_clear(struct tok_result *r);

/* The exp claim of a JWT (three base64url parts), or 0 if token is not a
 * JWT or has no integer exp. */
int64_t tok_jwt_exp(const char *token, size_t len);

/* application/x-www-form-urlencoded (space as '+', RFC 6749 §2.3.1,
 * Appendix B).  Returns a sodium_malloc'd string (secrets pass through
 * it; free with sodium_free) or NULL on ENOMEM. */
char *tok_form_encode(const char *s, size_t len);

/*
 * A failure of outcome o, its text formatted into r->error; a text too
 * long for it is cut and ends with "...".
 */
void tok_seterr(struct tok_result *r, enum tok_outcome o, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

#endif /* TC_TOKEN_PARSE_H */
