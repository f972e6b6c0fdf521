/*
 * readiness.c - the readiness rule and the status line (readiness.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "readiness.h"

/* Of an error, this much goes on the line: enough for an OAuth error
 * code and its description's start; `tokencachectl list` has it whole. */
#define ERROR_SHOWN 120

int
readiness_settled(const struct readiness_cred *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!c[i].valid && !c[i].permanent)
			return 0;
	return 1;
}

int64_t
readiness_bound_ms(const struct readiness_cred *c, size_t n)
{
	int64_t bound = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (!c[i].valid && !c[i].permanent && c[i].fetch_ms > bound)
			bound = c[i].fetch_ms;
	return bound < READINESS_BOUND_MAX_MS ? bound : READINESS_BOUND_MAX_MS;
}

/* Append to buf (of len, holding a string) what fmt makes, cut to fit. */
static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t len, const char *fmt, ...)
{
	size_t at = strlen(buf);
	va_list ap;

	if (at + 1 >= len)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
}

/* "4m", "1h05m", "under a minute": until the next refresh. */
static void
append_span(char *buf, size_t len, int64_t ms)
{
	int64_t min = ms / 60000;

	if (min < 1)
		append(buf, len, "under a minute");
	else if (min < 60)
		append(buf, len, "%lldm", (long long)min);
	else
		append(buf, len, "%lldh%02lldm", (long long)(min / 60),
		    (long long)(min % 60));
}

void
readiness_status(char *buf, size_t len, const struct readiness_cred *c,
    size_t n, int64_t next_refresh_ms)
{
	const struct readiness_cred *first = NULL;
	size_t i, valid = 0;
	char *p;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (c[i].valid)
			valid++;
		else if (first == NULL)
			first = &c[i];
	}
	if (n == 0) {
		append(buf, len, "no credentials configured");
	} else if (first == NULL) {
		append(buf, len, "%zu credential%s, %zu valid", n,
		    n == 1 ? "" : "s", valid);
		if (next_refresh_ms >= 0) {
			append(buf, len, "; next refresh in ");
			append_span(buf, len, next_refresh_ms);
		}
	} else {
		append(buf, len, "%zu/%zu valid; %s: %.*s", valid, n,
		    first->name, ERROR_SHOWN, first->error[0] != '\0' ?
		    first->error : "no token yet");
		if (n - valid > 1)
			append(buf, len, ", and %zu more", n - valid - 1);
	}
	/*
	 * A newline would end the STATUS= assignment and start another; and
	 * systemd ignores a status that is not UTF-8, which a cut may leave
	 * of a multibyte character: printable ASCII only.
	 */
	for (p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}
