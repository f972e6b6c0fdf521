/*
 * outcome.h - for the integration tests' reader programs (reader.c,
 * resource.c): each records what its reads gave as one line per change
 * ("ok ...", "error ..."), which the tests then read.
 */
#ifndef TC_OUTCOME_H
#define TC_OUTCOME_H

#include <stdio.h>
#include <string.h>

#include "tokencache.h"

#define OUTCOME_LINE 512

/* Print line (and flush) if it differs from last, which then holds it. */
static inline void
outcome_print(char last[OUTCOME_LINE], const char *line)
{
	if (strcmp(line, last) == 0)
		return;
	printf("%s\n", line);
	fflush(stdout);
	snprintf(last, OUTCOME_LINE, "%s", line);
}

/* The outcome of a read that returned r: "ok K" (K says which token), or
 * "error MESSAGE"; printed as outcome_print() does. */
static inline void
outcome_read(char last[OUTCOME_LINE], int r, unsigned long long k)
{
	char line[OUTCOME_LINE];

	if (r == 0)
		snprintf(line, sizeof(line), "ok %llu", k);
	else
		snprintf(line, sizeof(line), "error %s", tc_strerror(r));
	outcome_print(last, line);
}

#endif /* TC_OUTCOME_H */
