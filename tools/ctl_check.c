/*
 * check: is the daemon reachable, does it hand out its segment, did its
 * configuration load, is every credential valid and not due soon.  It is
 * a monitoring plugin (Nagios, Icinga, Sensu: the Monitoring Plugins
 * development guidelines): the exit status is OK, WARNING, CRITICAL or
 * UNKNOWN, and the first line of text a summary with performance data.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "ctl.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

#define CTL_PING_MS      2000

/*
 * The default thresholds, in seconds a token has left: 300 and 60, but
 * never more than a tenth and a twentieth of the token's lifetime.  The
 * daemon refreshes at 70-80 % of a lifetime, so a token it serves has at
 * least a fifth of it left in normal operation; a fixed 300 s would warn
 * all the time about a token of 5 minutes.  A tenth leaves half of that
 * margin for a refresh that is late (a slow server, an endpoint whose
 * rate cannot keep up) before it warns.  Neither is under a second.
 * Thresholds given on the command line apply as given.
 */
#define CHECK_WARNING_S      300
#define CHECK_CRITICAL_S     60
#define CHECK_WARNING_DIV    10
#define CHECK_CRITICAL_DIV   20

/* The summary line names this many problems, then counts the rest. */
#define CHECK_SUMMARY_ITEMS  5

/* One credential as check judges it. */
struct check_cred {
	const struct seg_slot *s;
	int status;               /* CTL_PLUGIN_* */
	int64_t left;             /* whole seconds of validity left, 0: none */
	int64_t lifetime;         /* of its token, 0: unknown */
	int64_t warn, crit;       /* the thresholds it was judged by */
	char what[96];            /* the problem, for the summary line */
};

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

static const char *
plugin_status_name(int status)
{
	switch (status) {
	case CTL_PLUGIN_OK:
		return "OK";
	case CTL_PLUGIN_WARNING:
		return "WARNING";
	case CTL_PLUGIN_CRITICAL:
		return "CRITICAL";
	default:
		return "UNKNOWN";
	}
}

/*
 * The worse of two states.  UNKNOWN (something could not be read) ranks
 * below WARNING and CRITICAL: a state that is known to be bad says more.
 */
static int
plugin_worse(int a, int b)
{
	static const int rank[] = { 0, 2, 3, 1 };

	return rank[a] >= rank[b] ? a : b;
}

/* The token's lifetime in seconds as the daemon saw it, 0 if unknown. */
static int64_t
check_lifetime(const struct seg_slot *s)
{
	if (s->plan.fetched_boot_ns != 0 &&
	    s->expires_boot_ns > s->plan.fetched_boot_ns)
		return (s->expires_boot_ns - s->plan.fetched_boot_ns) /
		    NS_PER_S;
	if (s->fetched_at != 0 && s->expires_at > s->fetched_at)
		return s->expires_at - s->fetched_at;
	return 0;
}

static void
check_thresholds(const struct ctl_args *a, int64_t lifetime, int64_t *warn,
    int64_t *crit)
{
	int64_t w = CHECK_WARNING_S, c = CHECK_CRITICAL_S;

	if (lifetime > 0) {
		if (w > lifetime / CHECK_WARNING_DIV)
			w = lifetime / CHECK_WARNING_DIV;
		if (c > lifetime / CHECK_CRITICAL_DIV)
			c = lifetime / CHECK_CRITICAL_DIV;
		/* At least a second: 0 s left is critical in the
		 * performance data too. */
		if (w < 1)
			w = 1;
		if (c < 1)
			c = 1;
	}
	if (a->have_warning)
		w = a->warning_s;
	if (a->have_critical)
		c = a->critical_s;
	/* One given alone: the other's default gives way (both given,
	 * the parser made sure that critical <= warning). */
	if (c > w) {
		if (a->have_critical)
			w = c;
		else
			c = w;
	}
	*warn = w;
	*crit = c;
}

static void
check_judge(const struct ctl_args *a, const struct seg_slot *s, int64_t now,
    struct check_cred *out)
{
	struct check_cred j;

	memset(&j, 0, sizeof(j));
	j.s = s;
	j.lifetime = check_lifetime(s);
	check_thresholds(a, j.lifetime, &j.warn, &j.crit);
	if (!ctl_slot_is_ok(s, now)) {
		j.status = CTL_PLUGIN_CRITICAL;
		switch (s->state) {
		case TS_PENDING:
			snprintf(j.what, sizeof(j.what), "has no token yet");
			break;
		case TS_LOST:
			snprintf(j.what, sizeof(j.what), "lost its token");
			break;
		case TS_VALID:
		case TS_FAILED:
		case TS_EXPIRED:
			snprintf(j.what, sizeof(j.what), "%s",
			    ctl_slot_state_name(s, now));
			break;
		default:
			j.status = CTL_PLUGIN_UNKNOWN;
			snprintf(j.what, sizeof(j.what), "is in an unknown "
			    "state");
			break;
		}
		*out = j;
		return;
	}
	j.left = ctl_slot_seconds_left(s, now);
	/* "300:" in the guidelines' range format: alert below 300. */
	if (j.left < j.crit)
		j.status = CTL_PLUGIN_CRITICAL;
	else if (j.left < j.warn)
		j.status = CTL_PLUGIN_WARNING;
	/* Still served, but the daemon cannot renew it. */
	if (s->failures > 0) {
		j.status = plugin_worse(j.status, CTL_PLUGIN_WARNING);
		snprintf(j.what, sizeof(j.what), "refresh failing (%llds "
		    "left)", (long long)j.left);
	} else if (j.status != CTL_PLUGIN_OK)
		snprintf(j.what, sizeof(j.what), "expires in %llds",
		    (long long)j.left);
	*out = j;
}

/*
 * Plugin output is read up to the first '|' as text, after it as
 * performance data, on every line: a '|' in a message (from the OAuth
 * server, a path) must not start either.
 */
static void
plugin_clean(char *buf)
{
	for (; *buf != '\0'; buf++)
		if (*buf == '|')
			*buf = '/';
}

static void plugin_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* One line of long output, cleaned. */
static void
plugin_line(const char *fmt, ...)
{
	char buf[2 * SEG_ERROR_FIELD + TC_NAME_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	plugin_clean(buf);
	printf("%s\n", buf);
}

/*
 * A performance-data label: quoted with '...' (a quote inside doubled)
 * when it has a character other than those of a credential name, which
 * never need it (the guidelines require quotes for spaces).
 */
static void
plugin_print_label(const char *name)
{
	const char *p;

	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._~@+-") == strlen(name)) {
		fputs(name, stdout);
		return;
	}
	putchar('\'');
	for (p = name; *p != '\0'; p++) {
		if (*p == '\'')
			putchar('\'');
		putchar(*p == '=' || *p == '|' ? '_' : *p);
	}
	putchar('\'');
}

/*
 * label=LEFTs;WARN:;CRIT:;0 for each credential, LEFT 0 when it has no
 * valid token; "300:" is the guidelines' range for "alert below 300".
 */
static void
plugin_print_perfdata(const struct check_cred *j, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		putchar(' ');
		plugin_print_label(j[i].s->name);
		printf("=%llds;%lld:;%lld:;0", (long long)j[i].left,
		    (long long)j[i].warn, (long long)j[i].crit);
	}
}

/* Append to the summary: "a, b, c" up to CHECK_SUMMARY_ITEMS items. */
static void summary_add(char *buf, size_t len, size_t *items,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
summary_add(char *buf, size_t len, size_t *items, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if ((*items)++ >= CHECK_SUMMARY_ITEMS || used >= len)
		return;
	if (used > 0) {
		snprintf(buf + used, len - used, ", ");
		used = strlen(buf);
	}
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static struct json_object *
ctl_check_json(int reachable, const char *daemon_msg, int seg_ok,
    const char *seg_msg, int conf_ok, const char *conf_msg, int cache_ok,
    const char *cache_msg, const struct check_cred *jc, size_t n, int64_t now,
    int ok, int status, const char *summary)
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
	for (i = 0; i < n; i++) {
		const struct seg_slot *s = jc[i].s;

		if ((o = json_object_new_object()) == NULL)
			goto fail;
		if (ctl_json_put(o, "name", json_object_new_string(s->name)) ||
		    ctl_json_put(o, "state", json_object_new_string(
		    ctl_slot_state_name(s, now))) ||
		    ctl_json_put(o, "ok", json_object_new_boolean(
		    ctl_slot_is_ok(s, now))) ||
		    ctl_json_put(o, "last_error",
		    json_object_new_string(s->error)) ||
		    ctl_json_put(o, "status", json_object_new_string(
		    plugin_status_name(jc[i].status))) ||
		    ctl_json_put(o, "seconds_left",
		    json_object_new_int64(jc[i].left)) ||
		    ctl_json_put(o, "warning",
		    json_object_new_int64(jc[i].warn)) ||
		    ctl_json_put(o, "critical",
		    json_object_new_int64(jc[i].crit)) ||
		    json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			goto fail;
		}
	}
	if (ctl_json_give(root, "credentials", &arr))
		goto fail;
	if (ctl_json_put(root, "ok", json_object_new_boolean(ok)) ||
	    ctl_json_put(root, "status", json_object_new_string(
	    plugin_status_name(status))) ||
	    ctl_json_put(root, "exit_status", json_object_new_int(status)) ||
	    ctl_json_put(root, "summary", json_object_new_string(summary)))
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
	struct check_cred *jc = NULL;
	char dmsg[SEG_ERROR_FIELD + 64], cmsg[512] = "", smsg[512] = "";
	char fmsg[SEG_ERROR_FIELD] = "", what[1024] = "";
	char summary[sizeof(what) + 128];
	int64_t now;
	size_t i, nok = 0, items = 0;
	int r, err = 0, reachable, loaded, cache_ok, seg_ok = 0, conf_ok = 1;
	int ok, status = CTL_PLUGIN_OK, st;

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
	loaded = r == 0;
	cache_ok = loaded && c.nbad == 0;
	if (c.ncreds > 0 &&
	    (jc = calloc(c.ncreds, sizeof(*jc))) == NULL) {
		ctl_warnx("out of memory");
		ctl_cache_free(&c);
		return CTL_PLUGIN_UNKNOWN;
	}
	now = seg_boottime_ns();
	for (i = 0; i < c.ncreds; i++) {
		check_judge(a, &c.creds[i], now, &jc[i]);
		if (ctl_slot_is_ok(&c.creds[i], now))
			nok++;
	}
	ok = reachable && seg_ok && conf_ok && cache_ok && nok == c.ncreds;

	/*
	 * Without the daemon, or without the cache, nothing can be said
	 * of the tokens (a stopped daemon's copy tells the past): UNKNOWN.
	 * Otherwise the worst of what is wrong, the daemon's troubles
	 * named first, then the credentials' by severity.
	 */
	if (!reachable || !loaded) {
		status = CTL_PLUGIN_UNKNOWN;
		snprintf(what, sizeof(what), "%s", !reachable ? dmsg : cmsg);
	} else {
		if (!seg_ok) {
			status = plugin_worse(status, CTL_PLUGIN_CRITICAL);
			summary_add(what, sizeof(what), &items, "tokencached "
			    "hands out no cache segment");
		}
		if (!conf_ok) {
			status = plugin_worse(status, CTL_PLUGIN_WARNING);
			summary_add(what, sizeof(what), &items, "configuration "
			    "not loaded");
		}
		if (c.nbad > 0) {
			status = plugin_worse(status, CTL_PLUGIN_UNKNOWN);
			summary_add(what, sizeof(what), &items, "%s", cmsg);
		}
		for (st = CTL_PLUGIN_CRITICAL; st != CTL_PLUGIN_OK;
		    st = st == CTL_PLUGIN_CRITICAL ? CTL_PLUGIN_WARNING :
		    st == CTL_PLUGIN_WARNING ? CTL_PLUGIN_UNKNOWN :
		    CTL_PLUGIN_OK)
			for (i = 0; i < c.ncreds; i++) {
				if (jc[i].status != st)
					continue;
				status = plugin_worse(status, st);
				summary_add(what, sizeof(what), &items,
				    "%s %s", jc[i].s->name, jc[i].what);
			}
		if (items > CHECK_SUMMARY_ITEMS) {
			size_t used = strlen(what);

			snprintf(what + used, sizeof(what) - used, " and %zu "
			    "more", items - CHECK_SUMMARY_ITEMS);
		}
	}
	if (status == CTL_PLUGIN_OK)
		snprintf(summary, sizeof(summary), "TOKENCACHE OK - %zu "
		    "credential%s valid", c.ncreds, c.ncreds == 1 ? "" : "s");
	else if (status == CTL_PLUGIN_UNKNOWN && (!reachable || !loaded))
		snprintf(summary, sizeof(summary), "TOKENCACHE UNKNOWN - %s",
		    what);
	else {
		size_t good = 0;

		for (i = 0; i < c.ncreds; i++)
			if (jc[i].status == CTL_PLUGIN_OK)
				good++;
		snprintf(summary, sizeof(summary), "TOKENCACHE %s - %s; %zu of "
		    "%zu credential%s OK", plugin_status_name(status), what,
		    good, c.ncreds, c.ncreds == 1 ? "" : "s");
	}
	plugin_clean(summary);

	if (a->json) {
		r = ctl_json_print(ctl_check_json(reachable, dmsg, seg_ok, smsg,
		    conf_ok, fmsg, cache_ok, cmsg, jc, c.ncreds, now, ok, status,
		    summary));
		goto out;
	}
	fputs(summary, stdout);
	/* Performance data only for a cache the daemon serves. */
	if (reachable && loaded && c.ncreds > 0) {
		fputs(" |", stdout);
		plugin_print_perfdata(jc, c.ncreds);
	}
	putchar('\n');
	/* The long output: one line per problem, with the reasons. */
	if (reachable && !seg_ok)
		plugin_line("daemon: hands out no cache segment, new readers "
		    "get no token: %s", smsg);
	if (!conf_ok)
		plugin_line("configuration: not loaded, tokencached runs the "
		    "previous one: %s", fmsg);
	if (reachable && loaded && c.nbad > 0)
		plugin_line("cache: %s", cmsg);
	for (i = 0; reachable && loaded && i < c.ncreds; i++) {
		const struct check_cred *j = &jc[i];
		const struct seg_slot *s = j->s;

		if (j->status == CTL_PLUGIN_OK)
			continue;
		if (!ctl_slot_is_ok(s, now))
			plugin_line("%s: %s%s%s", s->name,
			    ctl_slot_state_name(s, now),
			    s->error[0] != '\0' ? ": " : "", s->error);
		else if (s->failures > 0)
			plugin_line("%s: valid, expires in %llds, refresh "
			    "failing (%u failure%s): %s", s->name,
			    (long long)j->left, (unsigned)s->failures,
			    s->failures == 1 ? "" : "s", s->error);
		else
			plugin_line("%s: valid, expires in %llds, below the "
			    "%s threshold of %llds", s->name, (long long)j->left,
			    j->status == CTL_PLUGIN_CRITICAL ? "critical" :
			    "warning", (long long)(j->status ==
			    CTL_PLUGIN_CRITICAL ? j->crit : j->warn));
	}
	/* Last, who answered (its version and pid). */
	if (reachable)
		plugin_line("daemon: %s", dmsg);
	r = CTL_EXIT_OK;
 out:
	free(jc);
	ctl_cache_free(&c);
	/* The tool's own failure (out of memory for the JSON) is UNKNOWN. */
	return r != CTL_EXIT_OK ? CTL_PLUGIN_UNKNOWN : status;
}
