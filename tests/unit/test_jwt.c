/*
 * test_jwt.c - private_key_jwt client assertions (provider/jwt.c): each
 * is decoded and its signature verified with the public key, as a token
 * endpoint would (RFC 7523 §3, RFC 7515, RFC 7518 §3.3 and §3.4).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "jwt.h"
#include "testutil.h"

#define AUD "https://idp.example.com/oauth/token"
#define NOW 1800000000

/* A fresh key of the kind asked, as PEM (malloc'd). */
static char *
new_key_pem(const char *type, EVP_PKEY **pkp, int enc)
{
	EVP_PKEY *pk;
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *pem;
	long n;

	if (strcmp(type, "RSA") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(type, "RSA1024") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	else if (strcmp(type, "P-384") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (strcmp(type, "ED25519") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(pk);
	ck_assert_int_eq(PEM_write_bio_PrivateKey(b, pk, enc ?
	    EVP_aes_128_cbc() : NULL, enc ? (unsigned char *)"pw" : NULL,
	    enc ? 2 : 0, NULL, NULL), 1);
	n = BIO_get_mem_data(b, &data);
	ck_assert_ptr_nonnull(pem = malloc((size_t)n + 1));
	memcpy(pem, data, (size_t)n);
	pem[n] = '\0';
	BIO_free(b);
	*pkp = pk;
	return pem;
}

/* base64url part i of jws, decoded (malloc'd, NUL-terminated). */
static unsigned char *
part(const char *jws, int i, size_t *len)
{
	const char *p = jws, *end;
	unsigned char *out;
	size_t n;

	while (i-- > 0) {
		ck_assert_ptr_nonnull(p = strchr(p, '.'));
		p++;
	}
	end = strchr(p, '.');
	n = end != NULL ? (size_t)(end - p) : strlen(p);
	ck_assert_ptr_nonnull(out = malloc(n + 1));
	ck_assert_int_eq(sodium_base642bin(out, n, p, n, NULL, len, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	out[*len] = '\0';
	return out;
}

static const char *
member(json_object *o, const char *key)
{
	json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
	return json_object_get_string(v);
}

/* Make an assertion with a key of type, then check it as a server. */
static void
check_assertion(const char *type, const char *alg, const char *kid)
{
	EVP_PKEY *pk;
	char *pem = new_key_pem(type, &pk, 0), *jws = NULL, *jws2 = NULL;
	unsigned char *h, *c, *sig, der[80], *dp = der;
	json_object *hdr, *cl;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *es;
	size_t hl, cll, sl, dl, signed_len;

	ck_assert_ptr_null(jwt_key_problem(pem, strlen(pem)));
	ck_assert_int_eq(jwt_client_assertion(pem, strlen(pem),
	    "my \"client\"", AUD, kid, NOW, &jws), 0);
	ck_assert_int_eq(jwt_client_assertion(pem, strlen(pem),
	    "my \"client\"", AUD, kid, NOW, &jws2), 0);

	h = part(jws, 0, &hl);
	c = part(jws, 1, &cll);
	sig = part(jws, 2, &sl);
	ck_assert_ptr_nonnull(hdr = json_tokener_parse((char *)h));
	ck_assert_ptr_nonnull(cl = json_tokener_parse((char *)c));
	ck_assert_str_eq(member(hdr, "alg"), alg);
	ck_assert_str_eq(member(hdr, "typ"), "JWT");
	if (kid != NULL)
		ck_assert_str_eq(member(hdr, "kid"), kid);
	else
		ck_assert(!json_object_object_get_ex(hdr, "kid", NULL));
	/* RFC 7523 §3: iss and sub the client, aud the endpoint, exp */
	ck_assert_str_eq(member(cl, "iss"), "my \"client\"");
	ck_assert_str_eq(member(cl, "sub"), "my \"client\"");
	ck_assert_str_eq(member(cl, "aud"), AUD);
	ck_assert_str_eq(member(cl, "iat"), "1800000000");
	ck_assert_str_eq(member(cl, "exp"), "1800000060");
	ck_assert_uint_ge(strlen(member(cl, "jti")), 16);
	/* a fresh jti each time, so each assertion is good once */
	ck_assert_str_ne(jws, jws2);

	signed_len = (size_t)(strrchr(jws, '.') - jws);
	if (strcmp(alg, "ES256") == 0) {
		/* R || S, 32 bytes each: DER again for libcrypto */
		ck_assert_uint_eq(sl, 64);
		ck_assert_ptr_nonnull(es = ECDSA_SIG_new());
		ck_assert_int_eq(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
		    BN_bin2bn(sig + 32, 32, NULL)), 1);
		dl = (size_t)i2d_ECDSA_SIG(es, &dp);
		ECDSA_SIG_free(es);
	} else {
		ck_assert_uint_eq(sl, 256);	/* RSA 2048 */
		dl = 0;
	}
	ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    pk), 1);
	ck_assert_int_eq(EVP_DigestVerify(md, dl ? der : sig, dl ? dl : sl,
	    (unsigned char *)jws, signed_len), 1);
	/* one byte of the claims changed: the signature no longer holds */
	jws[signed_len - 1] ^= 1;
	ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    pk), 1);
	ck_assert_int_ne(EVP_DigestVerify(md, dl ? der : sig, dl ? dl : sl,
	    (unsigned char *)jws, signed_len), 1);

	json_object_put(hdr);
	json_object_put(cl);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	free(h);
	free(c);
	free(sig);
	free(pem);
	sodium_free(jws);
	sodium_free(jws2);
}

START_TEST(jwt_rs256)
{
	check_assertion("RSA", "RS256", NULL);
}
END_TEST

START_TEST(jwt_es256_kid)
{
	check_assertion("P-256", "ES256", "key-1");
}
END_TEST

/* Keys that cannot sign are refused, and nothing is made with them. */
START_TEST(jwt_keys_refused)
{
	static const struct {
		const char *type;
		int enc;
		const char *why;
	} bad[] = {
		{ "RSA1024", 0, "shorter than 2048" },
		{ "P-384", 0, "not on P-256" },
		{ "ED25519", 0, "neither an RSA nor a P-256 EC key" },
		{ "P-256", 1, "not a PEM private key (or an encrypted one)" },
	};
	const char *why;
	char *pem, *out = (char *)"untouched";
	EVP_PKEY *pk;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pem = new_key_pem(bad[i].type, &pk, bad[i].enc);
		ck_assert_ptr_nonnull(why = jwt_key_problem(pem, strlen(pem)));
		ck_assert_msg(strstr(why, bad[i].why) != NULL, "%s: %s",
		    bad[i].type, why);
		ck_assert_int_eq(jwt_client_assertion(pem, strlen(pem), "c",
		    AUD, NULL, NOW, &out), -1);
		ck_assert_str_eq(out, "untouched");
		EVP_PKEY_free(pk);
		free(pem);
	}
	ck_assert_ptr_nonnull(jwt_key_problem("garbage", 7));
	ck_assert_ptr_nonnull(jwt_key_problem("", 0));
}
END_TEST

static Suite *
jwt_suite(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("assertion");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, jwt_rs256);
	tcase_add_test(tc, jwt_es256_kid);
	tcase_add_test(tc, jwt_keys_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	return tu_run(jwt_suite());
}
