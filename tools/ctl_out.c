/*
 * Output: warnings on stderr, text made safe to print, wall-clock times
 * as the tables show them, the JSON helpers of --json, and whether and
 * how wide the terminal is.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "ctl.h"
#include "seg.h"

/* "tokencachectl: ", the message and a newline, on standard error. */
void
ctl_vwarnx(const char *fmt, va_list ap)
{
	fputs("tokencachectl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vwarnx(fmt, ap);
	va_end(ap);
}

/*
 * Text from the segment is written by the daemon, and the error field
 * partly by the OAuth server.  RFC 6749 §5.2 restricts error and
 * error_description to printable ASCII, so anything else is replaced: a
 * hostile server must not put terminal escapes on an operator's screen or
 * invalid UTF-8 into our JSON.
 */
void
ctl_make_printable(char *s, size_t cap)
{
	size_t i;

	for (i = 0; i < cap && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '?';
	if (cap > 0)
		s[cap - 1] = '\0';
}

/* Local time as "2026-11-30 10:00:00", or "-" for 0. */
void
ctl_format_wall(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0)
		snprintf(buf, len, "-");
	else if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

/* "45s", "59m12s", "5h03m", "2d04h": two units are plenty to read; a
 * negative s is 0s. */
void
ctl_format_duration(char *buf, size_t len, int64_t s)
{
	long long v = (long long)s;

	if (v < 0)
		v = 0;
	if (v < 60)
		snprintf(buf, len, "%llds", v);
	else if (v < 3600)
		snprintf(buf, len, "%lldm%02llds", v / 60, v % 60);
	else if (v < 86400)
		snprintf(buf, len, "%lldh%02lldm", v / 3600, v % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", v / 86400, v % 86400 / 3600);
}

/* Add v under key; v == NULL means json-c ran out of memory. */
int
ctl_json_put(struct json_object *o, const char *key, struct json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* ctl_json_put(), then *v is no longer ours, added or freed. */
int
ctl_json_give(struct json_object *o, const char *key, struct json_object **v)
{
	struct json_object *child = *v;

	*v = NULL;
	return ctl_json_put(o, key, child);
}

/* Print and free o; NULL (out of memory while building it) fails. */
int
ctl_json_print(struct json_object *o)
{
	const char *text;
	int r = CTL_EXIT_FAIL;

	if (o == NULL) {
		ctl_warnx("out of memory");
		return CTL_EXIT_FAIL;
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL)
		ctl_warnx("out of memory");
	else if (printf("%s\n", text) >= 0)
		r = CTL_EXIT_OK;
	json_object_put(o);
	return r;
}

/*
 * Whether to colour standard output.  NO_COLOR (https://no-color.org/):
 * present and not empty, whatever its value, it turns colour off unless
 * the command line asks for it (--color=always), as that page says an
 * explicit option should win.
 */
int
ctl_color_wanted(int mode)
{
	const char *v;

	if (mode == CTL_COLOR_ALWAYS)
		return 1;
	if (mode == CTL_COLOR_NEVER)
		return 0;
	if ((v = getenv("NO_COLOR")) != NULL && v[0] != '\0')
		return 0;
	if (!isatty(STDOUT_FILENO))
		return 0;
	return (v = getenv("TERM")) == NULL || strcmp(v, "dumb") != 0;
}

/* The terminal's width when standard output is one, else 0: output
 * that goes to a file or a pipe is never wrapped. */
size_t
ctl_terminal_width(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO) ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == -1 || ws.ws_col == 0)
		return 0;
	return ws.ws_col;
}
