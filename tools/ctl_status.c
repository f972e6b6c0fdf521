/*
 * list and show: the credentials' state from the segment, as a table,
 * as key: value lines or as JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json.h>

#include "ctl.h"
#include "seg.h"
#include "tokencache.h"

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
			if ((o = ctl_slot_json(&c.creds[i], now)) == NULL)
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
		ctl_format_remaining(in, sizeof(in), s, now);
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
		ctl_format_remaining(in, sizeof(in), s, now);
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
		return ctl_json_print(ctl_slot_json(&s, now));
	printf("%-16s %s\n", "name:", s.name);
	printf("%-16s %s\n", "state:", ctl_slot_state_name(&s, now));
	printf("%-16s %s\n", "token_type:",
	    s.token_type[0] != '\0' ? s.token_type : "-");
	ctl_format_wall(buf, sizeof(buf), s.expires_at);
	printf("%-16s %s\n", "expires_at:", buf);
	ctl_format_remaining(buf, sizeof(buf), &s, now);
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
