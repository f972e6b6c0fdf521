/*
 * fuzz_token_parse.c - the token endpoint's reply (outside input).  The
 * first two bytes pick the HTTP status; the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "token_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 400, 401, 429, 503,
	    302, 500, 201 };
	struct tok_limits lim = { 4096, 3600, 86400 };
	struct tok_result r;
	long status = 200;

	if (sodium_init() < 0)
		abort();
	if (size >= 1) {
		status = statuses[data[0] % 10];
		data++;
		size--;
	}
	if (tok_parse((const char *)data, size, status, 1700000000, &lim,
	    &r) == TOK_OK) {
		/* The contract: a token that fits, of allowed bytes. */
		if (r.token == NULL || r.token_len == 0 ||
		    r.token_len > lim.token_max || r.lifetime <= 0 ||
		    r.lifetime > lim.max_lifetime ||
		    strlen(r.token) != r.token_len)
			abort();
	} else if (r.token != NULL)
		abort();
	tok_result_clear(&r);
	(void)tok_jwt_exp((const char *)data, size);
	return 0;
}
