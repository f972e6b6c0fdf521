/*
 * check: is the daemon reachable, does it hand out its segment, did its
 * configuration load, is every credential valid; text or JSON, and the
 * exit status says it all.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json.h>

#include "ctl.h"
#include "proto.h"
#include "seg.h"

#define CTL_PING_MS      2000

/*
 * Ask for the segment as a first read does (PROTO_OP_SEGMENT: the memfd over
 * SCM_RIGHTS) and check it as the library would: a daemon that answers a
 * ping but can hand no reader its segment (out of descriptors, say) serves
 * nobody new, and check must say so.  0, or a message in buf.
 */
static int
ctl_segment_probe(const char *dir, char *buf, size_t len)
{
	struct seg_map m;
	int r;

	errno = 0;
	if ((r = seg_map_from_daemon(dir, CTL_PING_MS, &m)) != 0) {
		ctl_daemon_strerror(buf, len, dir, r, errno);
		return -1;
	}
	seg_map_close(&m);
	return 0;
}

static struct json_object *
ctl_check_json(int reachable, const char *daemon_msg, int seg_ok,
    const char *seg_msg, int conf_ok, const char *conf_msg, int cache_ok,
    const char *cache_msg, const struct ctl_cache *c, int64_t now, int ok)
{
	struct json_object *root, *d = NULL, *k = NULL, *arr = NULL, *o;
	size_t i;

	if ((root = json_object_new_object()) == NULL)
		return NULL;
	if ((d = json_object_new_object()) == NULL ||
	    ctl_json_put(d, "reachable", json_object_new_boolean(reachable)) ||
	    ctl_json_put(d, "message", json_object_new_string(daemon_msg)) ||
	    ctl_json_put(d, "segment", json_object_new_boolean(seg_ok)) ||
	    ctl_json_put(d, "segment_message",
	    json_object_new_string(seg_msg)) ||
	    ctl_json_put(d, "configuration_loaded",
	    json_object_new_boolean(conf_ok)) ||
	    ctl_json_put(d, "configuration_message",
	    json_object_new_string(conf_msg)) ||
	    ctl_json_give(root, "daemon", &d))
		goto fail;
	if ((k = json_object_new_object()) == NULL ||
	    ctl_json_put(k, "readable", json_object_new_boolean(cache_ok)) ||
	    ctl_json_put(k, "message", json_object_new_string(cache_msg)) ||
	    ctl_json_give(root, "cache", &k))
		goto fail;
	if ((arr = json_object_new_array()) == NULL)
		goto fail;
	for (i = 0; i < c->ncreds; i++) {
		const struct seg_slot *s = &c->creds[i];

		if ((o = json_object_new_object()) == NULL)
			goto fail;
		if (ctl_json_put(o, "name", json_object_new_string(s->name)) ||
		    ctl_json_put(o, "state", json_object_new_string(
		    ctl_slot_state_name(s, now))) ||
		    ctl_json_put(o, "ok", json_object_new_boolean(
		    ctl_slot_is_ok(s, now))) ||
		    ctl_json_put(o, "last_error",
		    json_object_new_string(s->error)) ||
		    json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			goto fail;
		}
	}
	if (ctl_json_give(root, "credentials", &arr))
		goto fail;
	if (ctl_json_put(root, "ok", json_object_new_boolean(ok)))
		goto fail;
	return root;
 fail:
	/* ctl_json_put() frees what it could not add; the rest is ours. */
	json_object_put(d);
	json_object_put(k);
	json_object_put(arr);
	json_object_put(root);
	return NULL;
}

int
cmd_check(const struct ctl_args *a)
{
	struct ctl_cache c;
	struct proto_resp resp;
	char dmsg[SEG_ERROR_FIELD + 64], cmsg[512] = "", smsg[512] = "";
	char fmsg[SEG_ERROR_FIELD] = "";
	int64_t now;
	size_t i, nok = 0;
	int r, err = 0, reachable, cache_ok, seg_ok = 0, conf_ok = 1, ok;

	memset(&c, 0, sizeof(c));
	if ((r = ctl_daemon_call(a->dir, PROTO_OP_PING, NULL, CTL_PING_MS, &resp,
	    &err)) == 0 && (r = resp.status) == 0) {
		/* It runs an older configuration than the one on disk,
		 * which did not load: a credential there is not served. */
		if (resp.flags & PROTO_RESP_CONF_STALE) {
			conf_ok = 0;
			snprintf(fmsg, sizeof(fmsg), "%s", resp.message);
			snprintf(dmsg, sizeof(dmsg), "tokencached answers");
		} else
			snprintf(dmsg, sizeof(dmsg), "%s", resp.message);
	} else
		ctl_daemon_strerror(dmsg, sizeof(dmsg), a->dir, r, err);
	reachable = r == 0;
	if (reachable)
		seg_ok = ctl_segment_probe(a->dir, smsg, sizeof(smsg)) == 0;
	if ((r = ctl_cache_load(&c, a->dir, &err)) != 0)
		ctl_cache_strerror(cmsg, sizeof(cmsg), a->dir, r, err);
	else if (c.nbad > 0)
		snprintf(cmsg, sizeof(cmsg), "%zu unreadable slot%s", c.nbad,
		    c.nbad == 1 ? "" : "s");
	cache_ok = r == 0 && c.nbad == 0;
	now = seg_boottime_ns();
	for (i = 0; i < c.ncreds; i++)
		if (ctl_slot_is_ok(&c.creds[i], now))
			nok++;
	ok = reachable && seg_ok && conf_ok && cache_ok && nok == c.ncreds;
	if (a->json) {
		r = ctl_json_print(ctl_check_json(reachable, dmsg, seg_ok, smsg,
		    conf_ok, fmsg, cache_ok, cmsg, &c, now, ok));
		ctl_cache_free(&c);
		return r != CTL_EXIT_OK ? r : (ok ? CTL_EXIT_OK : CTL_EXIT_FAIL);
	}
	if (!reachable)
		printf("daemon: not reachable: %s\n", dmsg);
	else if (!seg_ok)
		printf("daemon: hands out no cache segment, new readers get no "
		    "token: %s\n", smsg);
	if (!conf_ok)
		printf("configuration: not loaded, tokencached runs the previous "
		    "one: %s\n", fmsg);
	if (!cache_ok)
		printf("cache: %s\n", cmsg);
	for (i = 0; i < c.ncreds; i++) {
		const struct seg_slot *s = &c.creds[i];

		if (ctl_slot_is_ok(s, now))
			continue;
		if (s->error[0] != '\0')
			printf("%s: %s: %s\n", s->name,
			    ctl_slot_state_name(s, now), s->error);
		else
			printf("%s: %s\n", s->name, ctl_slot_state_name(s, now));
	}
	if (ok)
		printf("ok: %zu credential%s valid (%s)\n", nok,
		    nok == 1 ? "" : "s", dmsg);
	ctl_cache_free(&c);
	return ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}
