/*
 * url.c - a token endpoint's URL as it may be shown: in the journal's
 * TOKEN_ENDPOINT field, a metric's label, the STATUS document.  Its query
 * and fragment could carry what an operator would not publish, and user
 * information should never be there (the configuration refuses it).
 */
#include <stdio.h>
#include <string.h>

#include "url.h"

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int
url_strip(const char *url, char *out, size_t n)
{
	const char *s, *auth, *host, *end, *at;
	size_t slen, hlen, plen;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), RFC 3986 3.1 */
	if (!is_alpha(*url))
		return -1;
	for (s = url; *s != '\0' && *s != ':'; s++)
		if (!is_alpha(*s) && !(*s >= '0' && *s <= '9') &&
		    strchr("+-.", *s) == NULL)
			return -1;
	if (strncmp(s, "://", 3) != 0)
		return -1;
	slen = (size_t)(s - url) + 3;
	auth = s + 3;
	/* The authority ends at the path, query or fragment (3.2); its
	 * userinfo, if any, before its last '@' (3.2.1). */
	end = auth + strcspn(auth, "/?#");
	host = auth;
	for (at = auth; at < end; at++)
		if (*at == '@')
			host = at + 1;
	hlen = (size_t)(end - host);
	plen = strcspn(end, "?#");
	if (slen + hlen + plen >= n)
		return -1;
	memcpy(out, url, slen);
	memcpy(out + slen, host, hlen);
	memcpy(out + slen + hlen, end, plen);
	out[slen + hlen + plen] = '\0';
	return 0;
}

void
url_public(const char *url, char *out, size_t n)
{
	if (n == 0 || url_strip(url, out, n) == 0)
		return;
	/* No scheme://authority (a module's "PROVIDER:NAME"), or too long:
	 * what comes before a query or fragment, cut to fit. */
	snprintf(out, n, "%.*s", (int)strcspn(url, "?#"), url);
}
