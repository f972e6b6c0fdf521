/*
 * token_parse.c - parse a token endpoint's reply (RFC 6749 §5.1, §5.2).
 *
 * Everything here reads text that came over the network from a server we
 * do not control: every length is checked before use, nothing the server
 * sent is echoed without being cut short and stripped of control bytes,
 * and the token itself never reaches an error message.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <sodium.h>

#include "seg.h"
#include "token_parse.h"

/*
 * Replies larger than this are refused before parsing.  A token can be as
 * large as max_token_size (at most 1 MiB, SEG_TOKEN_MAX); JSON escaping
 * (\/ and \uXXXX) can inflate it up to six times, and the rest of a
 * client-credentials reply is small.
 */
#define TOK_BODY_MAX	(8u * 1024 * 1024)

/* Nesting a token reply needs: an object holding scalars and, rarely, an
 * array or object of them.  json-c recurses per level. */
#define TOK_JSON_DEPTH	16

/* How much of the server's own text may appear in an error message. */
#define ECHO_CODE_MAX	64
#define ECHO_DESC_MAX	150	/* code, ": " and this fit a slot's error */

/* A JWT payload is part of the token, so it is bounded by token_max; this
 * bounds the work tok_jwt_exp() does when called on anything else. */
#define JWT_MAX		(4u * 1024 * 1024)

void
tok_seterr(struct tok_result *r, enum tok_outcome o, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->outcome = o;
	r->error_code_at = r->error_code_len = 0;	/* a new text */
	va_start(ap, fmt);
	n = vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	/* Cut: say so, rather than let the reader take it as whole. */
	if (n >= (int)sizeof(r->error))
		memcpy(r->error + sizeof(r->error) - 4, "...", 4);
}

/*
 * Copy at most max bytes of server text into dst (size dstsz, NUL-terminated)
 * replacing every byte outside printable ASCII with '?', so that nothing the
 * server sends can forge log lines or terminal escapes.
 */
static void
echo_sanitized(char *dst, size_t dstsz, const char *src, size_t len,
    size_t max)
{
	size_t i, n;
	int cut = 0;

	if (dstsz == 0)
		return;
	n = len;
	if (n > max) {
		n = max;
		cut = 1;
	}
	if (n > dstsz - 1)
		n = dstsz - 1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = (ch >= 0x20 && ch <= 0x7e) ? (char)ch : '?';
	}
	dst[i] = '\0';
	if (cut && i >= 3 && dstsz > 3) {
		dst[i - 3] = '.';
		dst[i - 2] = '.';
		dst[i - 1] = '.';
	}
}

static int
is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Parse exactly one JSON object from buf[0..len).  Returns the object (the
 * caller puts it) or NULL with *why saying what was wrong in words fit for
 * an error message.
 */
static struct json_object *
json_parse_object(const char *buf, size_t len, const char **why)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL, *ret = NULL;
	enum json_tokener_error jerr;
	size_t i, end;

	if (len > TOK_BODY_MAX || len > INT_MAX) {
		*why = "body is too large";
		goto out;
	}
	for (i = 0; i < len && is_json_space(buf[i]); i++)
		;
	if (i == len) {
		*why = "body is empty";
		goto out;
	}
	/* json-c would stop at a NUL and report success on the prefix. */
	if (memchr(buf, '\0', len) != NULL) {
		*why = "body contains a NUL byte";
		goto out;
	}
	if ((tok = json_tokener_new_ex(TOK_JSON_DEPTH)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	/* Trailing bytes are checked below, to say so in the error. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT
#ifdef JSON_TOKENER_ALLOW_TRAILING_CHARS
	    | JSON_TOKENER_ALLOW_TRAILING_CHARS
#endif
#ifdef JSON_TOKENER_VALIDATE_UTF8
	    | JSON_TOKENER_VALIDATE_UTF8
#endif
	    );
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		/* json-c cannot tell a complete top-level scalar from a
		 * truncated one; an object at least ends with '}'. */
		if (jerr == json_tokener_continue && buf[i] != '{')
			*why = "body is not a JSON object";
		else if (jerr == json_tokener_continue)
			*why = "body is truncated JSON";
		else if (jerr == json_tokener_error_depth)
			*why = "body is JSON nested too deeply";
		else
			*why = "body is not JSON";
		goto out;
	}
	end = json_tokener_get_parse_end(tok);
	if (end > len) {
		*why = "body is not JSON";
		goto out;
	}
	for (i = end; i < len; i++) {
		if (!is_json_space(buf[i])) {
			*why = "body has data after the JSON object";
			goto out;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		*why = "body is not a JSON object";
		goto out;
	}
	/* success */
	ret = obj;
	obj = NULL;
 out:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	return ret;
}

/* A string member of obj, or NULL (and *len 0) if absent or not a string. */
static const char *
member_string(struct json_object *obj, const char *key, size_t *len)
{
	struct json_object *v;
	int n;

	*len = 0;
	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	if ((n = json_object_get_string_len(v)) < 0)
		return NULL;
	*len = (size_t)n;
	return json_object_get_string(v);
}

/*
 * expires_in (RFC 6749 §5.1) is a JSON number, but some servers send it as
 * a string of digits.  Either counts only as a positive whole number that
 * fits; 0 means "treat as absent".  json-c saturates integers that overflow
 * int64 at INT64_MAX, so that value is taken as the overflow it signals.
 */
static int64_t
expires_in_value(struct json_object *obj)
{
	struct json_object *v;
	const char *s;
	int64_t n;
	size_t i, len;

	if (!json_object_object_get_ex(obj, "expires_in", &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
		return (n > 0 && n != INT64_MAX) ? n : 0;
	}
	if ((s = member_string(obj, "expires_in", &len)) == NULL || len == 0)
		return 0;
	n = 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (n > (INT64_MAX - 1 - (s[i] - '0')) / 10)
			return 0;
		n = n * 10 + (s[i] - '0');
	}
	return n;
}

/* RFC 6749 §5.2 codes that mean "this request will fail again". */
static const char *const permanent_codes[] = {
	"invalid_request", "invalid_client", "invalid_grant",
	"unauthorized_client", "unsupported_grant_type", "invalid_scope",
	"access_denied", "invalid_target",	/* RFC 8707 §2 */
	NULL,
};

/* Codes servers use for "try again later" (RFC 6749 §4.1.2.1, RFC 8628
 * §3.5) whatever status they come with. */
static const char *const transient_codes[] = {
	"temporarily_unavailable", "server_error", "slow_down", NULL,
};

static int
code_in(const char *code, size_t len, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++) {
		if (strlen(list[i]) == len && memcmp(list[i], code, len) == 0)
			return 1;
	}
	return 0;
}

/*
 * Describe an error reply (an object with an `error` member) into buf and
 * classify it: TOK_PERMANENT for codes that will fail again, TOK_TRANSIENT
 * for codes that say "later", and `unknown` for anything else.  *coded is
 * CODE's length when the text is "CODE" or "CODE: DESCRIPTION" (a code may
 * hold ": " itself), 0 when it only says what was wrong with the reply.
 */
static enum tok_outcome
describe_oauth_error(struct json_object *obj, char *buf, size_t bufsz,
    enum tok_outcome unknown, int *coded)
{
	char code[ECHO_CODE_MAX + 1], desc[ECHO_DESC_MAX + 1];
	const char *s, *d;
	size_t len, dlen;
	struct json_object *v;
	enum tok_outcome o = unknown;

	*coded = 0;
	s = member_string(obj, "error", &len);
	if (s != NULL && code_in(s, len, permanent_codes))
		o = TOK_PERMANENT;
	else if (s != NULL && code_in(s, len, transient_codes))
		o = TOK_TRANSIENT;

	/*
	 * A reply that carries both an error and an access_token is broken;
	 * its text could quote the token, so echo none of it.
	 */
	if (json_object_object_get_ex(obj, "access_token", &v))
		snprintf(buf, bufsz, "error reply that also carries an "
		    "access_token (server text withheld)");
	else if (s == NULL)
		snprintf(buf, bufsz, "error member is not a string");
	else if (len == 0)
		snprintf(buf, bufsz, "empty error code");
	else {
		echo_sanitized(code, sizeof(code), s, len, ECHO_CODE_MAX);
		*coded = (int)strlen(code);	/* > 0 */
		d = member_string(obj, "error_description", &dlen);
		if (d != NULL && dlen > 0) {
			echo_sanitized(desc, sizeof(desc), d, dlen,
			    ECHO_DESC_MAX);
			snprintf(buf, bufsz, "%s: %s", code, desc);
		} else
			snprintf(buf, bufsz, "%s", code);
	}
	return o;
}

/*
 * out->error holds at offset `at` the error code of an error reply, coded
 * bytes long (describe_oauth_error; 0: none): mark it, for those who show
 * the code and the description apart (the daemon's STATUS).  The text may
 * have been cut short.
 */
static void
mark_code(struct tok_result *out, size_t at, int coded)
{
	size_t n = strlen(out->error);

	if (coded <= 0 || at >= n)
		return;
	out->error_code_at = at;
	out->error_code_len = n - at < (size_t)coded ? n - at : (size_t)coded;
}

/* The length of "HTTP %ld: ", which comes before a coded text. */
static size_t
status_prefix_len(long http_status)
{
	int n = snprintf(NULL, 0, "HTTP %ld: ", http_status);

	return n > 0 ? (size_t)n : 0;
}

/* "error": null is what some serializers write into a success reply. */
static int
has_error_member(struct json_object *obj)
{
	struct json_object *v;

	return obj != NULL && json_object_object_get_ex(obj, "error", &v) &&
	    v != NULL;
}

/* Wipe a json-c string in place: json-c frees without wiping, and this
 * one held the token. */
static void
wipe_json_string(struct json_object *obj, const char *key)
{
	struct json_object *v;
	int n;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return;
	if ((n = json_object_get_string_len(v)) > 0)
		sodium_memzero((void *)(uintptr_t)json_object_get_string(v),
		    (size_t)n);
}

/*
 * RFC 6749 §5.1: the scope granted, when the server says it.  Kept for
 * the local endpoint, which passes it on (httpd_token.c); one that is
 * not printable ASCII, or too long, is not passed on rather than judged:
 * the token is good either way.
 */
static void
keep_scope(struct json_object *obj, struct tok_result *r)
{
	size_t i, n;
	const char *s = member_string(obj, "scope", &n);

	if (s == NULL || n == 0 || n >= sizeof(r->scope))
		return;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return;
	memcpy(r->scope, s, n + 1);
}

/* RFC 6749 §5.1: a successful reply.  Fills r only when TOK_OK. */
static void
parse_success(struct json_object *obj, int64_t now,
    const struct tok_limits *lim, struct tok_result *r)
{
	const char *tok, *type;
	size_t toklen, typelen;

	tok = member_string(obj, "access_token", &toklen);
	if (tok == NULL || toklen == 0) {
		tok_seterr(r, TOK_TRANSIENT, "response has no access_token");
		return;
	}
	type = member_string(obj, "token_type", &typelen);
	if (type == NULL || typelen == 0) {
		tok_seterr(r, TOK_TRANSIENT, "response has no token_type");
		return;
	}
	tok_accept(tok, toklen, type, typelen, expires_in_value(obj), now, lim,
	    r);
	if (r->outcome == TOK_OK)
		keep_scope(obj, r);
}

/* Kept whole, over 80 lines: the token is judged in order, each refusal
 * leaving r as it was. */
void
tok_accept(const char *tok, size_t toklen, const char *type, size_t typelen,
    int64_t expires_in, int64_t now, const struct tok_limits *lim,
    struct tok_result *r)
{
	int64_t jwt_exp, lifetime, left;
	char *copy = NULL;

	if (toklen == 0) {
		tok_seterr(r, TOK_TRANSIENT, "the token is empty");
		goto out;
	}
	/* Not the server's fault and not going to change on a retry. */
	if (toklen > lim->token_max) {
		tok_seterr(r, TOK_PERMANENT, "token of %zu bytes exceeds "
		    "max_token_size %zu", toklen, lim->token_max);
		goto out;
	}
	/* Tokens go into HTTP headers: printable ASCII without spaces, the
	 * rule the segment writer and the library apply too. */
	if (seg_token_valid(tok, toklen) != 0) {
		tok_seterr(r, TOK_TRANSIENT, "access_token contains a byte "
		    "outside 0x21..0x7e");
		goto out;
	}
	if (typelen == 0 || typelen >= sizeof(r->token_type)) {
		tok_seterr(r, TOK_TRANSIENT, "token_type of %zu bytes is "
		    "empty or longer than %zu", typelen,
		    sizeof(r->token_type) - 1);
		goto out;
	}
	if (seg_token_valid(type, typelen) != 0) {
		tok_seterr(r, TOK_TRANSIENT, "token_type contains a byte "
		    "outside 0x21..0x7e");
		goto out;
	}

	jwt_exp = tok_jwt_exp(tok, toklen);
	r->jwt_exp = jwt_exp;
	left = 0;
	if (jwt_exp != 0) {
		/* A server may hand out a cached token that has run out. */
		if (jwt_exp <= now) {
			tok_seterr(r, TOK_TRANSIENT,
			    "token already expired (exp in the past)");
			goto out;
		}
		if (__builtin_sub_overflow(jwt_exp, now, &left))
			left = INT64_MAX;
	}
	if (expires_in > 0)
		lifetime = expires_in;
	else if (jwt_exp != 0)
		lifetime = left;
	else
		lifetime = lim->default_lifetime;
	if (lifetime > lim->max_lifetime)
		lifetime = lim->max_lifetime;
	/* The token is dead at exp whatever expires_in claims. */
	if (jwt_exp != 0 && lifetime > left)
		lifetime = left;
	if (lifetime <= 0) {
		tok_seterr(r, TOK_PERMANENT, "computed lifetime %lld is not "
		    "positive", (long long)lifetime);
		goto out;
	}

	if ((copy = sodium_malloc(toklen + 1)) == NULL) {
		tok_seterr(r, TOK_TRANSIENT, "out of memory");
		goto out;
	}
	memcpy(copy, tok, toklen);
	copy[toklen] = '\0';

	/* success */
	r->outcome = TOK_OK;
	r->error[0] = '\0';
	r->token = copy;
	copy = NULL;
	r->token_len = toklen;
	memcpy(r->token_type, type, typelen);
	r->token_type[typelen] = '\0';
	r->lifetime = (long)lifetime;
 out:
	if (copy != NULL)
		sodium_free(copy);
}

enum tok_outcome
tok_parse(const char *body, size_t len, long http_status, int64_t now,
    const struct tok_limits *lim, struct tok_result *out)
{
	struct json_object *obj = NULL;
	const char *why = NULL;
	char text[sizeof(out->error)];
	enum tok_outcome o;
	int coded;

	memset(out, 0, sizeof(*out));
	if (lim == NULL || lim->token_max == 0 || lim->default_lifetime <= 0 ||
	    lim->max_lifetime <= 0) {
		tok_seterr(out, TOK_PERMANENT, "invalid token limits");
		goto out;
	}
	if (sodium_init() < 0) {
		tok_seterr(out, TOK_TRANSIENT, "libsodium failed to initialise");
		goto out;
	}
	if (body == NULL && len != 0) {
		tok_seterr(out, TOK_TRANSIENT, "no body");
		goto out;
	}
	obj = json_parse_object(body == NULL ? "" : body, len, &why);

	if (http_status >= 300 && http_status < 400) {
		/* Following a redirect could send the secret elsewhere. */
		tok_seterr(out, TOK_PERMANENT, "HTTP %ld: redirect not followed",
		    http_status);
	} else if (http_status == 408 || http_status == 429 ||
	    (http_status >= 500 && http_status < 600)) {
		/* Overload or timeout: whatever the body says, try later. */
		if (has_error_member(obj)) {
			(void)describe_oauth_error(obj, text, sizeof(text),
			    TOK_TRANSIENT, &coded);
			tok_seterr(out, TOK_TRANSIENT, "HTTP %ld: %s",
			    http_status, text);
			mark_code(out, status_prefix_len(http_status), coded);
		} else if (obj == NULL)
			tok_seterr(out, TOK_TRANSIENT, "HTTP %ld (%s)",
			    http_status, why);
		else
			tok_seterr(out, TOK_TRANSIENT, "HTTP %ld", http_status);
	} else if (http_status >= 400 && http_status < 500) {
		/* RFC 6749 §5.2: 400, or 401 for invalid_client. */
		if (has_error_member(obj)) {
			o = describe_oauth_error(obj, text, sizeof(text),
			    TOK_PERMANENT, &coded);
			if (coded) {
				tok_seterr(out, o, "%s", text);
				mark_code(out, 0, coded);
			} else
				tok_seterr(out, o, "HTTP %ld: %s", http_status,
				    text);
		} else if (obj == NULL)
			tok_seterr(out, TOK_PERMANENT, "HTTP %ld (%s)",
			    http_status, why);
		else
			tok_seterr(out, TOK_PERMANENT, "HTTP %ld (no error "
			    "code in body)", http_status);
	} else if (http_status >= 200 && http_status < 300) {
		/* §5.1 names 200; another 2xx is taken at its word if the
		 * body is a valid success reply. */
		if (obj == NULL)
			tok_seterr(out, TOK_TRANSIENT, "HTTP %ld: %s",
			    http_status, why);
		else if (has_error_member(obj)) {
			o = describe_oauth_error(obj, text, sizeof(text),
			    TOK_TRANSIENT, &coded);
			tok_seterr(out, o, "HTTP %ld: %s", http_status, text);
			mark_code(out, status_prefix_len(http_status), coded);
		} else
			parse_success(obj, now, lim, out);
	} else if (http_status == 0)
		tok_seterr(out, TOK_TRANSIENT, "no HTTP status");
	else
		tok_seterr(out, TOK_TRANSIENT, "HTTP %ld: unexpected status",
		    http_status);
 out:
	wipe_json_string(obj, "access_token");
	json_object_put(obj);
	return out->outcome;
}

void
tok_result_clear(struct tok_result *r)
{
	if (r == NULL)
		return;
	if (r->token != NULL) {
		sodium_memzero(r->token, r->token_len);
		sodium_free(r->token);
	}
	sodium_memzero(r, sizeof(*r));
}

static int
is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '=';
}

int64_t
tok_jwt_exp(const char *token, size_t len)
{
	const char *dot1 = NULL, *dot2 = NULL, *mid;
	struct json_object *claims = NULL, *v;
	unsigned char *bin = NULL;
	size_t i, midlen, binmax = 0, binlen = 0;
	const char *why;
	int64_t exp, ret = 0;

	if (token == NULL || len < 5 || len > JWT_MAX)
		goto out;
	/* RFC 7519 §7.2: JWS compact form, header.payload.signature. */
	for (i = 0; i < len; i++) {
		if (token[i] == '.') {
			if (dot1 == NULL)
				dot1 = token + i;
			else if (dot2 == NULL)
				dot2 = token + i;
			else
				goto out;	/* JWE has five parts */
		} else if (!is_b64url(token[i]))
			goto out;
	}
	if (dot1 == NULL || dot2 == NULL || dot1 == token ||
	    dot2 == dot1 + 1 || dot2 == token + len - 1)
		goto out;
	mid = dot1 + 1;
	midlen = (size_t)(dot2 - mid);
	binmax = midlen / 4 * 3 + 3;
	if ((bin = malloc(binmax)) == NULL)
		goto out;
	/* RFC 7515 §2 forbids padding; some issuers pad anyway. */
	if (sodium_base642bin(bin, binmax, mid, midlen, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 &&
	    sodium_base642bin(bin, binmax, mid, midlen, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_URLSAFE) != 0)
		goto out;
	if (binlen > binmax)
		goto out;
	if ((claims = json_parse_object((const char *)bin, binlen,
	    &why)) == NULL)
		goto out;
	if (!json_object_object_get_ex(claims, "exp", &v) ||
	    !json_object_is_type(v, json_type_int))
		goto out;
	exp = json_object_get_int64(v);
	/* INT64_MAX is json-c's saturated overflow, not a date. */
	if (exp <= 0 || exp == INT64_MAX)
		goto out;
	/* success */
	ret = exp;
 out:
	json_object_put(claims);
	if (bin != NULL) {
		/* The claims are part of the token. */
		sodium_memzero(bin, binmax);
		free(bin);
	}
	return ret;
}

char *
tok_form_encode(const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *ret = NULL, *p;
	size_t i;

	if (s == NULL && len != 0)
		goto out;
	if (len > (SIZE_MAX - 1) / 3)
		goto out;
	if (sodium_init() < 0)
		goto out;
	if ((ret = sodium_malloc(len * 3 + 1)) == NULL)
		goto out;
	p = ret;
	/*
	 * HTML 4.01 §17.13.4.1 as RFC 6749 Appendix B applies it: keep
	 * ALPHA DIGIT "-._*", space to '+', every other byte %XX.
	 */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '*')
			*p++ = (char)c;
		else if (c == ' ')
			*p++ = '+';
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 0x0f];
		}
	}
	*p = '\0';
 out:
	return ret;
}
