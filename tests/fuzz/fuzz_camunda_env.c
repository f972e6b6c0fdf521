/*
 * fuzz_camunda_env.c - Camunda's console credentials file (outside input,
 * read by the root monitor): camunda_env_parse() on any bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "camunda_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct camunda_env env;
	char err[CAMUNDA_ENV_ERR_MAX];
	unsigned int line, lines = 1;
	size_t i;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (camunda_env_parse(&env, (const char *)data, size, NULL, NULL,
	    err, sizeof(err), &line) != 0) {
		/* The contract: a message, a line of the file, nothing
		 * left to free. */
		if (err[0] == '\0' || strlen(err) >= sizeof(err) ||
		    line > lines || env.arena != NULL)
			abort();
		return 0;
	}
	if (env.nwarn > CAMUNDA_ENV_WARN_MAX || env.nwarn > env.nunknown)
		abort();
	for (i = 0; i < CV_COUNT; i++) {
		const struct camunda_env_value *v = &env.var[i];

		if (v->s == NULL)
			continue;
		/* Inside the arena, NUL-terminated at len, no control
		 * byte but tab, set on a line of the file. */
		if (v->s < env.arena || v->s + v->len >= env.arena +
		    env.arena_size || strlen(v->s) != v->len ||
		    v->line == 0 || v->line > lines)
			abort();
		for (size_t j = 0; j < v->len; j++) {
			unsigned char u = (unsigned char)v->s[j];

			if ((u < 0x20 && u != '\t') || u == 0x7f)
				abort();
		}
	}
	for (i = 0; i < env.nwarn; i++) {
		if (env.warn[i].line == 0 || env.warn[i].line > lines ||
		    env.warn[i].name[0] == '\0')
			abort();
	}
	camunda_env_free(&env);
	return 0;
}
