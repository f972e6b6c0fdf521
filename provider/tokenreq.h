/*
 * tokenreq.h - one OAuth 2.0 token request as the local token endpoint
 * receives it (issue 11), and the credential it asks for.  No I/O: the
 * HTTP server hands over what it parsed, and replies with what these
 * functions say.
 *
 * The contract of treq_parse(), in the order the checks are made (the
 * first failing one is reported):
 *
 *  1. Path: "/oauth/token" or "/oauth/token/"; a query string ("?...")
 *     is ignored, its parameters too (RFC 6749 §3.2: parameters travel
 *     in the body).  Any other path: 404 invalid_request, whatever the
 *     method, since there is no such resource.
 *  2. Method: "POST" exactly (RFC 9110: case-sensitive), else 405
 *     invalid_request (the server adds "Allow: POST").
 *  3. Body: at most TREQ_BODY_MAX bytes, else 413 invalid_request.
 *     Content-Type (media type compared without case, parameters such
 *     as charset ignored): application/x-www-form-urlencoded, or none
 *     at all (read as a form); application/json; anything else is 400
 *     invalid_request.
 *     - A form is read tolerantly, because the Camunda JS SDK does not
 *       encode audience and scope: pairs split at '&', name and value at
 *       the first '='; any byte but '&' may stand raw in a value (a
 *       space, ':', '/', '=' ...); '+' is a space; %XX is decoded and a
 *       '%' not followed by two hex digits is 400 invalid_request.  An
 *       empty pair ("&&") is skipped.
 *     - JSON: one object (nothing but white space after it); a known
 *       parameter's value is a string, resource's also an array of
 *       strings; anything else there is 400 invalid_request.  Unknown
 *       members are ignored whatever their type (at most three containers
 *       nested, the object included).
 *     Either way: at most TREQ_PARAMS_MAX parameters, unknown ones
 *     included (RFC 6749 §3.2: ignored otherwise); a name or a decoded
 *     value longer than TREQ_VALUE_MAX bytes, or holding a control byte
 *     (0x00-0x1f, 0x7f), is 400 invalid_request.  A parameter with an
 *     empty value counts as omitted (RFC 6749 §3.1).  A known parameter
 *     given twice is 400 invalid_request (§3.2), except resource, which
 *     may repeat (RFC 8707 §2) up to TREQ_RESOURCES_MAX times.  In JSON,
 *     any member name given twice is refused (the parser keeps one).
 *  4. grant_type: missing is 400 invalid_request; anything but
 *     "client_credentials" is 400 unsupported_grant_type.
 *  5. Client: an Authorization header other than "Basic" (scheme without
 *     case), or a Basic one that is not base64 of "ID:SECRET" with a
 *     non-empty ID, is 401 invalid_client.  ID and SECRET are each
 *     form-urlencoded (RFC 6749 §2.3.1) and the ID is decoded and checked
 *     as a value (3.).  client_id from both the body and Basic must be
 *     the same, else 400 invalid_request; from neither is 401
 *     invalid_client.  Any invalid_client reply asks for
 *     "WWW-Authenticate: Basic" when the request used Basic (§5.2).
 *
 *     Both a Basic header with a secret and client_secret in the body
 *     is 400 invalid_request (RFC 6749 §2.3: one method per request).
 * client_secret, from the body or Basic, is never compared with the real
 * client secret, never kept in struct treq (only its hash under a key of
 * this process, for treq_secret_is) and never put in a message: every
 * buffer it is decoded into is wiped here.  json-c's own copies are wiped when it frees them
 * by the daemon's allocator (wipe_malloc.c); the secret's string in the
 * parsed object is wiped before that.  Messages name parameters of the
 * table in tokenreq.c only, never a value of the request.
 */
#ifndef TC_TOKENREQ_H
#define TC_TOKENREQ_H

#include <stddef.h>

#include "config.h"

#define TREQ_BODY_MAX       16384
#define TREQ_VALUE_MAX      4096
#define TREQ_PARAMS_MAX     32
#define TREQ_RESOURCES_MAX  8
#define TREQ_DESC_MAX       128
#define TREQ_SECRET_HASH    32

/* What the HTTP server parsed; every string NUL-terminated. */
struct treq_http {
	const char *method;
	const char *path;           /* the request target, query included */
	const char *content_type;   /* NULL if the header is absent */
	const char *authorization;  /* NULL if the header is absent */
	const unsigned char *body;  /* NULL only if body_len is 0 */
	size_t body_len;
};

/*
 * A parsed request.  Strings are malloc'd, NUL-terminated, at most
 * TREQ_VALUE_MAX bytes, without control bytes; NULL when not given.
 * Free with treq_free().
 */
struct treq {
	char *client_id;            /* never NULL after treq_parse() */
	char *audience;
	char *scope;                /* space-separated, as sent */
	char *resources[TREQ_RESOURCES_MAX];
	size_t nresources;
	int basic;                  /* 1: client_id came from HTTP Basic */
	int has_secret;             /* a non-empty client secret was sent */
	unsigned char secret_hash[TREQ_SECRET_HASH];  /* ... its keyed hash */
};

/* An RFC 6749 §5.2 error reply. */
struct treq_error {
	int status;                 /* 400, 401, 404, 405, 413; 500
	                             * when out of memory */
	const char *error;          /* static: "invalid_request" ... */
	char description[TREQ_DESC_MAX];  /* printable ASCII, no value of
	                                   * the request */
	int www_authenticate;       /* 1: reply "WWW-Authenticate: Basic" */
};

/*
 * Parse in (see the contract above).  0 and *out filled, or -1 and *err
 * filled; out is written only on success, err only on failure.
 */
int treq_parse(const struct treq_http *in, struct treq *out,
    struct treq_error *err);

/* Free what treq_parse() allocated and zero *r.  NULL is a no-op. */
void treq_free(struct treq *r);

/*
 * The credential req asks for, or NULL and *err filled.
 *
 * A credential's request fields are its own, or for provider "chain"
 * those of its first source; a camunda credential's audience is the one
 * it sends (config_camunda.c fills it).  A credential matches when its
 * client_id equals req's and every parameter req gives equals the
 * credential's: audience as a string, scope as a set of space-separated
 * words (RFC 6749 §3.3: order does not matter), resources as a set.  A
 * parameter req omits is not compared, so that a client that does not
 * send the audience still finds the one credential of its client id.
 * Several matches: the first in name order (conf->creds is sorted), so
 * a client that omits what tells them apart gets a predictable one.
 *
 * No credential with req's client_id: 401 invalid_client (with
 * WWW-Authenticate if req->basic).  Some, but none whose audience and
 * scope match: 400 invalid_scope; some whose audience and scope match
 * but none whose resources do: 400 invalid_target (RFC 8707 §2).
 */
const struct cred_conf *treq_match(const struct daemon_conf *conf,
    const struct treq *req, struct treq_error *err);

/* 1 if r carried a client secret equal to secret (len bytes), compared
 * as keyed hashes in constant time; 0 if it differs or r had none.  For
 * a credential's endpoint_secret, never its real client secret. */
int treq_secret_is(const struct treq *r, const char *secret, size_t len);

/* The credential whose request fields (client_id, audience, scope,
 * resources) treq_match compares for c: c itself, or a chain's first
 * source; NULL for a chain without sources. */
const struct cred_conf *treq_fields(const struct cred_conf *c);

#endif /* TC_TOKENREQ_H */
