/*
 * discovery.c - OpenID Connect Discovery 1.0 documents: the token
 * endpoint of an issuer, taken only from a document that names that
 * issuer.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "config.h"
#include "discovery.h"

/* A string member of doc, or NULL; one with a NUL byte is none. */
static const char *
doc_string(json_object *doc, const char *key)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(doc, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return NULL;
	return s;
}

int
discovery_parse(const char *doc, size_t len, const char *issuer,
    char **endpoint, const char **why, int *permanent)
{
	struct json_tokener *tok = NULL;
	json_object *o = NULL;
	const char *iss, *ep;
	char *out;
	int ret = -1;

	*permanent = 0;
	*why = "the document is not a JSON object";
	if (len > INT_MAX || (tok = json_tokener_new()) == NULL)
		goto out;
	o = json_tokener_parse_ex(tok, doc, (int)len);
	/* One object and nothing after it but blanks. */
	if (o == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object) ||
	    strspn(doc + json_tokener_get_parse_end(tok), " \t\r\n") !=
	    len - json_tokener_get_parse_end(tok))
		goto out;
	*permanent = 1;
	/* §4.3: the same issuer, exactly, or a document from elsewhere
	 * could name its own token endpoint. */
	if ((iss = doc_string(o, "issuer")) == NULL ||
	    strcmp(iss, issuer) != 0) {
		*why = "the document's issuer is not the configured one "
		    "(OpenID Connect Discovery 4.3)";
		goto out;
	}
	if ((ep = doc_string(o, "token_endpoint")) == NULL) {
		*why = "the document has no token_endpoint";
		goto out;
	}
	if (strlen(ep) > DISCOVERY_URL_MAX) {
		*why = "its token_endpoint is too long";
		goto out;
	}
	if ((*why = conf_token_url_problem(ep, strlen(ep))) != NULL)
		goto out;
	if ((out = strdup(ep)) == NULL) {
		*why = "out of memory";
		*permanent = 0;
		goto out;
	}
	/* success */
	*endpoint = out;
	*why = NULL;
	ret = 0;
 out:
	if (o != NULL)
		json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return ret;
}
