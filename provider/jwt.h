/*
 * jwt.h - private_key_jwt client assertions (RFC 7523 §2.2 and §3, OIDC
 * Core §9), signed with OpenSSL's libcrypto.
 */
#ifndef TC_JWT_H
#define TC_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* The unencrypted PEM private key pem (len bytes), or NULL (libcrypto's
 * errors cleared); an encrypted key is refused, never asked about.
 * Free with EVP_PKEY_free. */
EVP_PKEY *jwt_pem_private_key(const char *pem, size_t len);

/*
 * Why the PEM private key pem (len bytes) cannot sign a client assertion,
 * or NULL: it must be an unencrypted RSA key of at least 2048 bits
 * (RS256) or a P-256 EC key (ES256).  The message is a constant and
 * quotes nothing of the key.
 */
const char *jwt_key_problem(const char *pem, size_t len);

/*
 * A client assertion for client_id, to be sent to the token endpoint
 * aud: a JWS (RFC 7515 compact form) over the claims iss = sub =
 * client_id, aud, a random jti, iat = now and exp = now + 60 (Unix
 * seconds), with kid in its header unless NULL.  client_id and kid are
 * printable ASCII (0x20..0x7e).  On success returns 0 with *out a
 * sodium_malloc'd, NUL-terminated string (sodium_free it); else -1 and
 * *out untouched.  The key is parsed for each assertion and freed with
 * it, so that it stays no longer than that in libcrypto's memory.
 */
#define JWT_LIFETIME 60
int jwt_client_assertion(const char *pem, size_t len, const char *client_id,
    const char *aud, const char *kid, int64_t now, char **out);

#endif /* TC_JWT_H */
