/*
 * discovery.h - OpenID Connect Discovery 1.0 documents, as the oauth2
 * source reads them to find an issuer's token endpoint.
 */
#ifndef TC_DISCOVERY_H
#define TC_DISCOVERY_H

#include <stddef.h>

/* The path appended to the issuer (§4.1), after dropping one trailing
 * '/'. */
#define DISCOVERY_PATH "/.well-known/openid-configuration"

/* The longest token_endpoint taken, in bytes. */
#define DISCOVERY_URL_MAX 2048

/*
 * Judge the discovery document doc (len bytes, any bytes, and a NUL at
 * doc[len]) fetched for issuer.  On success returns 0 with *endpoint its token_endpoint
 * (malloc'd, NUL-terminated): a JSON object whose "issuer" is issuer,
 * byte for byte (§4.3), and whose "token_endpoint" meets the rules of a
 * token_url (conf_token_url_problem).  Else returns -1 with *why a
 * constant message that quotes nothing of doc, *endpoint untouched, and
 * *permanent 1 if the document says something wrong (another issuer, a
 * refused endpoint) rather than being garbage or cut short.
 */
int discovery_parse(const char *doc, size_t len, const char *issuer,
    char **endpoint, const char **why, int *permanent);

#endif /* TC_DISCOVERY_H */
