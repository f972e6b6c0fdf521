/*
 * jwt.c - private_key_jwt client assertions (RFC 7523, OIDC Core §9):
 * RS256 for RSA keys, ES256 for P-256 EC keys (RFC 7518 §3.3, §3.4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "jwt.h"

enum jwt_alg { JWT_NONE, JWT_RS256, JWT_ES256 };

/* An encrypted key would make libcrypto ask a terminal: refuse it. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

EVP_PKEY *
jwt_pem_private_key(const char *pem, size_t len)
{
	EVP_PKEY *pk;
	BIO *bio;

	if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return pk;
}

static EVP_PKEY *
load_key(const char *pem, size_t len, enum jwt_alg *alg, const char **why)
{
	EVP_PKEY *pk;
	char group[32];
	size_t glen = 0;

	*alg = JWT_NONE;
	*why = "not a PEM private key (or an encrypted one)";
	if ((pk = jwt_pem_private_key(pem, len)) == NULL)
		return NULL;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
		/* RFC 7518 §3.3: 2048 bits or more. */
		if (EVP_PKEY_get_bits(pk) >= 2048)
			*alg = JWT_RS256;
		else
			*why = "an RSA key shorter than 2048 bits";
	} else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		if (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    &glen) == 1 && strcmp(group, "prime256v1") == 0)
			*alg = JWT_ES256;
		else
			*why = "an EC key not on P-256 (ES256 only)";
	} else
		*why = "neither an RSA nor a P-256 EC key";
	if (*alg == JWT_NONE) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	*why = NULL;
	return pk;
}

const char *
jwt_key_problem(const char *pem, size_t len)
{
	enum jwt_alg alg;
	const char *why;
	EVP_PKEY *pk;

	if ((pk = load_key(pem, len, &alg, &why)) != NULL)
		EVP_PKEY_free(pk);
	return why;
}

/* A JSON string of printable ASCII, quoted: only '"' and '\' need an
 * escape.  Returns the bytes written, or 0 if they do not fit. */
static size_t
json_str(char *out, size_t sz, const char *s)
{
	size_t n = 0;

	if (sz < 3)
		return 0;
	out[n++] = '"';
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
		if (n + 4 > sz)
			return 0;
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '"';
	out[n] = '\0';
	return n;
}

/* base64url without padding (RFC 7515 §2) of in (n bytes) at out, which
 * has room; returns the characters written. */
static size_t
b64url(char *out, size_t sz, const void *in, size_t n)
{
	sodium_bin2base64(out, sz, in, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return strlen(out);
}

#define CLAIMS_MAX 4096

int
jwt_client_assertion(const char *pem, size_t len, const char *client_id,
    const char *aud, const char *kid, int64_t now, char **out)
{
	unsigned char jti[16], *sig = NULL, rs[64];
	char *header = NULL, *claims = NULL, *jws = NULL, *p;
	char id_q[600], aud_q[2100], kid_q[600] = "", jti_s[32];
	const BIGNUM *r, *s;
	ECDSA_SIG *es = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pk = NULL;
	enum jwt_alg alg;
	const char *why;
	const unsigned char *dp;
	size_t siglen = 0, hlen, clen, n, cap;
	int ret = -1;

	if ((pk = load_key(pem, len, &alg, &why)) == NULL)
		goto out;
	if (json_str(id_q, sizeof(id_q), client_id) == 0 ||
	    json_str(aud_q, sizeof(aud_q), aud) == 0 ||
	    (kid != NULL && json_str(kid_q, sizeof(kid_q), kid) == 0))
		goto out;
	randombytes_buf(jti, sizeof(jti));
	b64url(jti_s, sizeof(jti_s), jti, sizeof(jti));
	if ((header = malloc(CLAIMS_MAX)) == NULL ||
	    (claims = malloc(CLAIMS_MAX)) == NULL)
		goto out;
	hlen = (size_t)snprintf(header, CLAIMS_MAX, "{\"alg\":\"%s\","
	    "\"typ\":\"JWT\"%s%s}", alg == JWT_RS256 ? "RS256" : "ES256",
	    kid != NULL ? ",\"kid\":" : "", kid != NULL ? kid_q : "");
	clen = (size_t)snprintf(claims, CLAIMS_MAX, "{\"iss\":%s,\"sub\":%s,"
	    "\"aud\":%s,\"jti\":\"%s\",\"iat\":%lld,\"exp\":%lld}", id_q,
	    id_q, aud_q, jti_s, (long long)now,
	    (long long)(now + JWT_LIFETIME));
	if (hlen >= CLAIMS_MAX || clen >= CLAIMS_MAX)
		goto out;
	/* header.claims.signature, each base64url; a signature is at most
	 * the key's size (RSA), or its DER form's (ECDSA). */
	cap = sodium_base64_ENCODED_LEN(hlen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
	    sodium_base64_ENCODED_LEN(clen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
	    sodium_base64_ENCODED_LEN((size_t)EVP_PKEY_get_size(pk) + 64,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) + 2;
	if ((jws = sodium_malloc(cap)) == NULL)
		goto out;
	p = jws;
	p += b64url(p, cap, header, hlen);
	*p++ = '.';
	p += b64url(p, cap - (size_t)(p - jws), claims, clen);
	n = (size_t)(p - jws);	/* the signing input */

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (unsigned char *)jws, n) != 1 ||
	    (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)jws, n) != 1)
		goto out;
	*p++ = '.';
	if (alg == JWT_ES256) {
		/* RFC 7518 §3.4: R and S, 32 bytes each, not DER. */
		dp = sig;
		if ((es = d2i_ECDSA_SIG(NULL, &dp, (long)siglen)) == NULL)
			goto out;
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, rs, 32) != 32 ||
		    BN_bn2binpad(s, rs + 32, 32) != 32)
			goto out;
		b64url(p, cap - (size_t)(p - jws), rs, sizeof(rs));
	} else
		b64url(p, cap - (size_t)(p - jws), sig, siglen);
	/* success */
	*out = jws;
	jws = NULL;
	ret = 0;
 out:
	ERR_clear_error();
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);	/* libcrypto clears the key's numbers */
	free(sig);
	free(header);
	free(claims);
	sodium_free(jws);
	return ret;
}
