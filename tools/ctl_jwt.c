/*
 * The claims of a JWT, for show (ctl_jwt.h has the contract).
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <sodium.h>

#include "ctl_jwt.h"

/* A header or payload nested deeper than this is no JWT we show. */
#define JWT_JSON_DEPTH   16
/* NumericDate bounds: the epoch to the end of year 9999. */
#define JWT_TIME_MAX     INT64_C(253402300799)

/* The value of a base64url character, or -1. */
static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
ctl_base64url_decode(const char *in, size_t inlen, unsigned char *out,
    size_t cap)
{
	uint32_t acc = 0;
	size_t i, n = 0, need, npad = 0;
	int bits = 0, v;

	/* '=' padding, one or two, completes the last group of 4 (RFC 4648
	 * §3.2): taken off, and the rest decoded as unpadded. */
	while (npad < 2 && inlen > 0 && in[inlen - 1] == '=') {
		inlen--;
		npad++;
	}
	if (npad > 0 && (inlen + npad) % 4 != 0)
		return -1;
	/* 4n+1 characters cannot come from whole bytes (RFC 4648 §5). */
	if (inlen % 4 == 1 || inlen / 4 >= (size_t)LONG_MAX / 3)
		return -1;
	need = inlen / 4 * 3 + (inlen % 4 == 0 ? 0 : inlen % 4 - 1);
	if (need > cap)
		return -1;
	for (i = 0; i < inlen; i++) {
		if ((v = b64url_value((unsigned char)in[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* The bits left over are padding: a canonical encoder zeroes them
	 * (RFC 4648 §3.5), so anything else is not what it claims. */
	if (acc != 0)
		return -1;
	return (long)n;
}

/*
 * Exactly one JSON object from buf[0..len), nothing after it but spaces;
 * NULL otherwise.  json-c stops at a NUL and would take a prefix.
 */
static struct json_object *
parse_object(const unsigned char *buf, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o = NULL;
	size_t end;

	if (len == 0 || len > INT_MAX || memchr(buf, '\0', len) != NULL)
		return NULL;
	if ((tok = json_tokener_new_ex(JWT_JSON_DEPTH)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT
#ifdef JSON_TOKENER_ALLOW_TRAILING_CHARS
	    | JSON_TOKENER_ALLOW_TRAILING_CHARS
#endif
	    );
	o = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    json_object_is_type(o, json_type_object)) {
		end = json_tokener_get_parse_end(tok);
		while (end < len && (buf[end] == ' ' || buf[end] == '\t' ||
		    buf[end] == '\r' || buf[end] == '\n'))
			end++;
		if (end == len) {
			json_tokener_free(tok);
			return o;
		}
	}
	json_object_put(o);
	json_tokener_free(tok);
	return NULL;
}

/*
 * Append s[0..n) to dst (cap bytes, NUL-terminated), after sep if dst is
 * not empty; bytes outside printable ASCII become '?'.  What does not fit
 * is cut and the text ends in "..." so that a cut never passes for whole.
 */
static void
text_append(char *dst, size_t cap, const char *sep, const char *s, size_t n)
{
	size_t k = strlen(dst), i;

	if (k + 1 >= cap)		/* full: already cut */
		return;
	if (k > 0)
		for (; *sep != '\0' && k + 1 < cap; sep++)
			dst[k++] = *sep;
	for (i = 0; i < n && k + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[k++] = c < 0x20 || c > 0x7e ? '?' : (char)c;
	}
	dst[k] = '\0';
	if (i < n && cap > 4)
		memcpy(dst + cap - 4, "...", 4);
}

/* A string claim into dst; a list of strings joined by sep. */
static void
claim_text(struct json_object *payload, const char *key, char *dst,
    size_t cap, const char *sep)
{
	struct json_object *v, *item;
	size_t i, n;
	int len;

	dst[0] = '\0';
	if (!json_object_object_get_ex(payload, key, &v))
		return;
	if (json_object_is_type(v, json_type_string)) {
		if ((len = json_object_get_string_len(v)) > 0)
			text_append(dst, cap, sep, json_object_get_string(v),
			    (size_t)len);
		return;
	}
	if (!json_object_is_type(v, json_type_array))
		return;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(v, i);
		if (item == NULL || !json_object_is_type(item,
		    json_type_string) ||
		    (len = json_object_get_string_len(item)) <= 0)
			continue;
		text_append(dst, cap, sep, json_object_get_string(item),
		    (size_t)len);
	}
}

/* A NumericDate claim (RFC 7519 §2): a number of seconds, fractions
 * allowed (cut off); 0 if absent or out of range.  A number that is not
 * an integer is also copied, as sent, into not_integer (cap bytes). */
static int
claim_time(struct json_object *payload, const char *key, int64_t *out,
    char *not_integer, size_t cap)
{
	struct json_object *v;
	int64_t t;
	double d;

	if (!json_object_object_get_ex(payload, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		t = json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		if (!isfinite(d) || d < 0 || d > (double)JWT_TIME_MAX)
			return 0;
		t = (int64_t)d;
		/* json-c keeps a parsed number's text. */
		if (not_integer != NULL)
			text_append(not_integer, cap, "",
			    json_object_get_string(v),
			    strlen(json_object_get_string(v)));
	} else
		return 0;
	if (t < 0 || t > JWT_TIME_MAX)
		return 0;
	*out = t;
	return 1;
}

/* Where the k-th '.' of tok is; returns the number of dots (up to 5). */
static size_t
find_dots(const char *tok, size_t len, size_t dots[5])
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (tok[i] != '.')
			continue;
		if (n == 5)
			return n + 1;
		dots[n++] = i;
	}
	return n;
}

int
ctl_jwt_claims(const char *tok, size_t len, struct ctl_jwt_claims *out)
{
	struct ctl_jwt_claims c;
	struct json_object *header = NULL, *payload = NULL, *alg;
	unsigned char *buf = NULL;
	size_t dots[5], ndots, hlen, plen, cap = 0;
	long n;
	int r = CTL_JWT_NOT;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	if (len == 0 || len > CTL_JWT_MAX)
		goto out;
	ndots = find_dots(tok, len, dots);
	if (ndots == 4) {
		r = CTL_JWT_ENCRYPTED;
		goto out;
	}
	/* header.payload.signature, the first two not empty (an unsecured
	 * JWS has an empty signature: RFC 7519 §6.1). */
	if (ndots != 2 || dots[0] == 0 || dots[1] == dots[0] + 1)
		goto out;
	hlen = dots[0];
	plen = dots[1] - dots[0] - 1;
	/* One buffer for the larger decoded part, wiped after each use. */
	cap = (hlen > plen ? hlen : plen) / 4 * 3 + 3;
	if ((buf = malloc(cap)) == NULL) {
		r = CTL_JWT_NOMEM;
		goto out;
	}
	if ((n = ctl_base64url_decode(tok, hlen, buf, cap)) < 0 ||
	    (header = parse_object(buf, (size_t)n)) == NULL)
		goto out;
	sodium_memzero(buf, cap);
	/* A JOSE header names its algorithm (RFC 7515 §4.1.1). */
	if (!json_object_object_get_ex(header, "alg", &alg) ||
	    !json_object_is_type(alg, json_type_string))
		goto out;
	if ((n = ctl_base64url_decode(tok + dots[0] + 1, plen, buf, cap)) < 0 ||
	    (payload = parse_object(buf, (size_t)n)) == NULL)
		goto out;
	text_append(c.alg, sizeof(c.alg), "", json_object_get_string(alg),
	    (size_t)json_object_get_string_len(alg));
	claim_text(payload, "iss", c.iss, sizeof(c.iss), "");
	claim_text(payload, "sub", c.sub, sizeof(c.sub), "");
	claim_text(payload, "aud", c.aud, sizeof(c.aud), ", ");
	claim_text(payload, "scope", c.scope, sizeof(c.scope), " ");
	/* Some servers (Okta, Entra ID) say scp instead. */
	if (c.scope[0] == '\0')
		claim_text(payload, "scp", c.scope, sizeof(c.scope), " ");
	claim_text(payload, "azp", c.azp, sizeof(c.azp), "");
	c.have_iat = claim_time(payload, "iat", &c.iat, NULL, 0);
	c.have_exp = claim_time(payload, "exp", &c.exp, c.exp_not_integer,
	    sizeof(c.exp_not_integer));
	/* success */
	*out = c;
	r = CTL_JWT_OK;
 out:
	if (buf != NULL) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	json_object_put(header);
	json_object_put(payload);
	sodium_memzero(&c, sizeof(c));
	return r;
}
