/*
 * list and show: the credentials' state from the segment, as a table,
 * as key: value lines or as JSON (a slot's time left and its JSON object
 * are shown here alone).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json.h>

#include "ctl.h"
#include "seg.h"
#include "tokencache.h"

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
static void
format_remaining(char *buf, size_t len, const struct seg_slot *s,
    int64_t now_boot)
{
	if (!ctl_slot_has_expiry(s))
		snprintf(buf, len, "-");
	else if (s->expires_boot_ns <= now_boot)
		snprintf(buf, len, "expired");
	else
		format_duration(buf, len, ctl_slot_seconds_left(s, now_boot));
}

/* An integer, or null when have is 0. */
static int
json_put_int(struct json_object *o, const char *key, int have, int64_t v)
{
	if (!have)
		return json_object_object_add(o, key, NULL) == 0 ? 0 : -1;
	return ctl_json_put(o, key, json_object_new_int64(v));
}

static struct json_object *
slot_json(const struct seg_slot *s, int64_t now_boot)
{
	struct json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (ctl_json_put(o, "name", json_object_new_string(s->name)) != 0 ||
	    ctl_json_put(o, "state", json_object_new_string(
	    ctl_slot_state_name(s, now_boot))) != 0 ||
	    json_put_int(o, "expires_at", s->expires_at != 0,
	    s->expires_at) != 0 ||
	    json_put_int(o, "expires_in", ctl_slot_has_expiry(s),
	    ctl_slot_seconds_left(s, now_boot)) != 0 ||
	    json_put_int(o, "fetched_at", s->fetched_at != 0,
	    s->fetched_at) != 0 ||
	    json_put_int(o, "next_refresh_at", s->next_refresh_at != 0,
	    s->next_refresh_at) != 0 ||
	    json_put_int(o, "last_attempt_at", s->last_attempt_at != 0,
	    s->last_attempt_at) != 0 ||
	    json_put_int(o, "next_request_in_ms", s->plan.next_boot_ns != 0,
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

int
cmd_list(const struct ctl_args *a)
{
	struct ctl_cache c;
	struct json_object *arr = NULL, *o;
	char expires[32], in[32], gen[24];
	int64_t now;
	size_t i, wname = 4, win = 2, wgen = 3;
	int r, err;

	if ((r = ctl_cache_load(&c, a->dir, &err)) != 0) {
		char msg[512];

		ctl_cache_strerror(msg, sizeof(msg), a->dir, r, err);
		ctl_warnx("%s", msg);
		return CTL_EXIT_FAIL;
	}
	now = seg_boottime_ns();
	if (a->json) {
		if ((arr = json_object_new_array()) == NULL)
			goto nomem;
		for (i = 0; i < c.ncreds; i++) {
			if ((o = slot_json(&c.creds[i], now)) == NULL)
				goto nomem;
			if (json_object_array_add(arr, o) != 0) {
				json_object_put(o);
				goto nomem;
			}
		}
		r = ctl_json_print(arr);
		arr = NULL;
		goto out;
	}
	/* Size the columns to what they hold, so wide names still line up. */
	for (i = 0; i < c.ncreds; i++) {
		const struct seg_slot *s = &c.creds[i];

		if (strlen(s->name) > wname)
			wname = strlen(s->name);
		format_remaining(in, sizeof(in), s, now);
		if (strlen(in) > win)
			win = strlen(in);
		snprintf(gen, sizeof(gen), "%llu",
		    (unsigned long long)s->generation);
		if (strlen(gen) > wgen)
			wgen = strlen(gen);
	}
	printf("%-*s  %-7s  %-19s  %-*s  %-*s  %s\n", (int)wname, "NAME",
	    "STATE", "EXPIRES", (int)win, "IN", (int)wgen, "GEN",
	    "LAST ERROR");
	for (i = 0; i < c.ncreds; i++) {
		const struct seg_slot *s = &c.creds[i];

		ctl_format_wall(expires, sizeof(expires), s->expires_at);
		format_remaining(in, sizeof(in), s, now);
		printf("%-*s  %-7s  %-19s  %-*s  %-*llu  %s\n", (int)wname,
		    s->name, ctl_slot_state_name(s, now), expires, (int)win, in,
		    (int)wgen, (unsigned long long)s->generation,
		    s->error[0] != '\0' ? s->error : "-");
	}
	r = CTL_EXIT_OK;
	goto out;
 nomem:
	ctl_warnx("out of memory");
	r = CTL_EXIT_FAIL;
 out:
	json_object_put(arr);
	/* Unreadable slots were reported: the listing is not complete. */
	if (r == CTL_EXIT_OK && c.nbad > 0)
		r = CTL_EXIT_FAIL;
	ctl_cache_free(&c);
	return r;
}

int
cmd_show(const struct ctl_args *a)
{
	struct seg_slot s;
	char buf[64], msg[512];
	int64_t now;
	int r, err;

	if ((r = ctl_cache_lookup(&s, a->dir, a->name, &err)) != 0) {
		if (r == TC_ENOTFOUND)
			ctl_warnx("%s: %s", a->name, tc_strerror(r));
		else {
			ctl_cache_strerror(msg, sizeof(msg), a->dir, r, err);
			ctl_warnx("%s", msg);
		}
		return CTL_EXIT_FAIL;
	}
	now = seg_boottime_ns();
	if (a->json)
		return ctl_json_print(slot_json(&s, now));
	printf("%-16s %s\n", "name:", s.name);
	printf("%-16s %s\n", "state:", ctl_slot_state_name(&s, now));
	printf("%-16s %s\n", "token_type:",
	    s.token_type[0] != '\0' ? s.token_type : "-");
	ctl_format_wall(buf, sizeof(buf), s.expires_at);
	printf("%-16s %s\n", "expires_at:", buf);
	format_remaining(buf, sizeof(buf), &s, now);
	printf("%-16s %s\n", "expires_in:", buf);
	ctl_format_wall(buf, sizeof(buf), s.fetched_at);
	printf("%-16s %s\n", "fetched_at:", buf);
	ctl_format_wall(buf, sizeof(buf), s.next_refresh_at);
	printf("%-16s %s\n", "next_refresh_at:", buf);
	ctl_format_wall(buf, sizeof(buf), s.last_attempt_at);
	printf("%-16s %s\n", "last_attempt_at:", buf);
	if (s.plan.next_boot_ns == 0)
		printf("%-16s -\n", "next_request_in:");
	else if (s.plan.next_boot_ns <= now)
		printf("%-16s due\n", "next_request_in:");
	else
		printf("%-16s %lld.%03lld s\n", "next_request_in:",
		    (long long)((s.plan.next_boot_ns - now) / NS_PER_S),
		    (long long)((s.plan.next_boot_ns - now) / NS_PER_MS % 1000));
	printf("%-16s %s\n", "endpoint_rate:",
	    s.plan.flags & SEG_PLAN_OVERLOADED ? "cannot keep up: refreshes "
	    "can come after 80 % of a lifetime (see the log)" : "keeps up");
	printf("%-16s %llu\n", "generation:",
	    (unsigned long long)s.generation);
	printf("%-16s %u\n", "failures:", (unsigned)s.failures);
	if (s.http_status != 0)
		printf("%-16s %u\n", "http_status:", (unsigned)s.http_status);
	else
		printf("%-16s -\n", "http_status:");
	printf("%-16s %s\n", "last_error:", s.error[0] != '\0' ? s.error : "-");
	return CTL_EXIT_OK;
}
