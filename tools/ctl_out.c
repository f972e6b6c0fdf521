/*
 * Output: warnings on stderr, text made safe to print, times and
 * durations as the tables show them, and the JSON of --json.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

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

/* "45s", "59m12s", "5h03m", "2d04h": two units are plenty to read. */
static void
format_duration(char *buf, size_t len, int64_t s)
{
	long long v = (long long)s;

	if (v < 60)
		snprintf(buf, len, "%llds", v);
	else if (v < 3600)
		snprintf(buf, len, "%lldm%02llds", v / 60, v % 60);
	else if (v < 86400)
		snprintf(buf, len, "%lldh%02lldm", v / 3600, v % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", v / 86400, v % 86400 / 3600);
}

/* What the IN column shows: time left, "expired", or "-" for no token. */
void
ctl_format_remaining(char *buf, size_t len, const struct seg_slot *s,
    int64_t now_boot)
{
	if (!ctl_slot_has_expiry(s))
		snprintf(buf, len, "-");
	else if (s->expires_boot_ns <= now_boot)
		snprintf(buf, len, "expired");
	else
		format_duration(buf, len, ctl_slot_seconds_left(s, now_boot));
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

/* An integer, or null when have is 0. */
static int
ctl_json_put_int(struct json_object *o, const char *key, int have, int64_t v)
{
	if (!have)
		return json_object_object_add(o, key, NULL) == 0 ? 0 : -1;
	return ctl_json_put(o, key, json_object_new_int64(v));
}

struct json_object *
ctl_slot_json(const struct seg_slot *s, int64_t now_boot)
{
	struct json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (ctl_json_put(o, "name", json_object_new_string(s->name)) != 0 ||
	    ctl_json_put(o, "state", json_object_new_string(
	    ctl_slot_state_name(s, now_boot))) != 0 ||
	    ctl_json_put_int(o, "expires_at", s->expires_at != 0,
	    s->expires_at) != 0 ||
	    ctl_json_put_int(o, "expires_in", ctl_slot_has_expiry(s),
	    ctl_slot_seconds_left(s, now_boot)) != 0 ||
	    ctl_json_put_int(o, "fetched_at", s->fetched_at != 0,
	    s->fetched_at) != 0 ||
	    ctl_json_put_int(o, "next_refresh_at", s->next_refresh_at != 0,
	    s->next_refresh_at) != 0 ||
	    ctl_json_put_int(o, "last_attempt_at", s->last_attempt_at != 0,
	    s->last_attempt_at) != 0 ||
	    ctl_json_put_int(o, "next_request_in_ms", s->plan.next_boot_ns != 0,
	    s->plan.next_boot_ns > now_boot ?
	    (s->plan.next_boot_ns - now_boot) / NS_PER_MS : 0) != 0 ||
	    ctl_json_put(o, "endpoint_overloaded", json_object_new_boolean(
	    (s->plan.flags & SEG_PLAN_OVERLOADED) != 0)) != 0 ||
	    ctl_json_put(o, "generation",
	    json_object_new_uint64(s->generation)) != 0 ||
	    ctl_json_put(o, "failures", json_object_new_int64(s->failures)) != 0 ||
	    ctl_json_put(o, "http_status",
	    json_object_new_int64(s->http_status)) != 0 ||
	    ctl_json_put(o, "token_type",
	    json_object_new_string(s->token_type)) != 0 ||
	    ctl_json_put(o, "last_error", json_object_new_string(s->error)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
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
