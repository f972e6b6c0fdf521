/*
 * ctl_jwt.h - the claims of a token that is a JWT, for `tokencachectl
 * show`: bytes in, a few printable fields out.
 *
 * ctl_jwt_claims() reads a JWS in compact serialization (RFC 7515 §7.1:
 * three base64url parts joined by '.'), decodes its header and payload,
 * and keeps the registered claims an operator asks about (RFC 7519 §4.1:
 * iss, sub, aud, iat, exp; scope from RFC 8693 §4.2, azp from OpenID
 * Connect Core §2).  It keeps nothing else: never the token, the
 * signature or the raw header or payload.  It wipes its own buffer of
 * decoded bytes before it returns, but json-c's objects, which hold the
 * parsed header and claims while it reads them, are freed without being
 * wiped.  The signature is not checked (the daemon got the
 * token from the server directly; this is a display).  Any bytes at all
 * may be given (tests/fuzz/fuzz_jwt_claims.c).  Not installed.
 */
#ifndef TC_CTL_JWT_H
#define TC_CTL_JWT_H

#include <stddef.h>
#include <stdint.h>

/* Longest token looked at: a slot's bound (SEG_TOKEN_MAX). */
#define CTL_JWT_MAX       (1024 * 1024)
/* Room for each text claim, with the NUL; a longer one ends in "...". */
#define CTL_JWT_TEXT      256

/* ctl_jwt_claims()'s verdicts */
#define CTL_JWT_OK        0
#define CTL_JWT_NOT       1   /* not a JWS in compact form, or its parts do
                               * not decode to JSON objects */
#define CTL_JWT_ENCRYPTED 2   /* five parts: a JWE, whose claims are
                               * sealed (RFC 7516 §7.1) */
#define CTL_JWT_NOMEM     (-1)

struct ctl_jwt_claims {
	/* Text claims, printable ASCII (others bytes shown as '?'), "" when
	 * absent; aud's list joined by ", ", scope as sent (or a list
	 * joined by spaces). */
	char iss[CTL_JWT_TEXT];
	char sub[CTL_JWT_TEXT];
	char aud[CTL_JWT_TEXT];
	char scope[CTL_JWT_TEXT];
	char azp[CTL_JWT_TEXT];
	char alg[32];             /* the header's, for the reader's benefit */
	int have_iat;
	int have_exp;
	int64_t iat;              /* NumericDate: Unix seconds */
	int64_t exp;              /* a fraction cut off */
	/* exp as sent when it is not an integer (such as "1765139465.5"),
	 * which the daemon ignores (tok_jwt_exp); "" for an integer. */
	char exp_not_integer[32];
};

/*
 * Decode tok[0..len) (not NUL-terminated; len bytes are read, no more).
 * Returns CTL_JWT_OK with *out filled, CTL_JWT_NOT or CTL_JWT_ENCRYPTED
 * with *out zeroed, or CTL_JWT_NOMEM.
 */
int	ctl_jwt_claims(const char *tok, size_t len, struct ctl_jwt_claims *out);

/*
 * Decode base64url (RFC 4648 §5) as JWS uses it (RFC 7515 §2), without
 * padding, or with the '=' padding that §2 forbids but some issuers send
 * and the daemon accepts (tok_jwt_exp): in[0..inlen) into out, which has
 * room for cap bytes.  Returns the decoded length, or -1 if in is not
 * base64url (a character outside the alphabet, a length of 4n+1, padding
 * that does not make a multiple of 4, non-zero bits left over) or cap is
 * too small.  Exposed for the unit tests.
 */
long	ctl_base64url_decode(const char *in, size_t inlen, unsigned char *out,
	    size_t cap);

#endif
