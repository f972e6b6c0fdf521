/*
 * fuzz_jwt_claims.c - `tokencachectl show`'s claim decoder on arbitrary
 * bytes: a token is what an OAuth server sent.  Every verdict is one of
 * the three, and a decoded claim is NUL-terminated printable ASCII.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/ctl_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t cap)
{
	size_t i;

	if (memchr(s, '\0', cap) == NULL)
		abort();
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_jwt_claims c;
	unsigned char out[64];
	char *copy;
	int r;

	/* An exact-size copy: a read past size is a sanitizer's report. */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(copy, data, size);
	r = ctl_jwt_claims(copy, size, &c);
	if (r != CTL_JWT_OK && r != CTL_JWT_NOT && r != CTL_JWT_ENCRYPTED)
		abort();
	if (r == CTL_JWT_OK) {
		check_text(c.iss, sizeof(c.iss));
		check_text(c.sub, sizeof(c.sub));
		check_text(c.aud, sizeof(c.aud));
		check_text(c.scope, sizeof(c.scope));
		check_text(c.azp, sizeof(c.azp));
		check_text(c.alg, sizeof(c.alg));
	}
	/* The decoder alone, into a small buffer: never past its end. */
	if (ctl_base64url_decode(copy, size, out, sizeof(out)) >
	    (long)sizeof(out))
		abort();
	free(copy);
	return 0;
}
