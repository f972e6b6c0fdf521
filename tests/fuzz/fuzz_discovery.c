/*
 * fuzz_discovery.c - an OpenID Connect discovery document (outside
 * input: whatever the issuer's URL answers).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *doc, *ep = NULL;
	const char *why = NULL;
	int permanent;

	/* As oauth2.c hands it over: NUL-terminated at size. */
	if ((doc = malloc(size + 1)) == NULL)
		return 0;
	memcpy(doc, data, size);
	doc[size] = '\0';
	if (discovery_parse(doc, size, "http://127.0.0.1:8080", &ep, &why,
	    &permanent) == 0) {
		if (ep == NULL || why != NULL)
			abort();
		free(ep);
	} else if (why == NULL || ep != NULL)
		abort();	/* every refusal says why */
	free(doc);
	return 0;
}
