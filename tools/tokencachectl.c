/*
 * tokencachectl - look at and drive tokencached from the shell.
 *
 * list, show and check read the segment's metadata directly through the
 * internal reader (seg.h): they need no key and work for every user, and
 * they never see a token.  token and refresh go through the public API
 * (tokencache.h) like any other client, so the daemon's access rules apply
 * to them unchanged.  check and reload speak the control protocol
 * (proto.h) directly, since the public API has no call for either.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json.h>
#include <sodium.h>

#include "ctl.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

#define CTL_TOKEN_BUF    (16 * 1024)   /* first guess; grown on TC_ERANGE */
#define CTL_MAX_SECONDS  (PROTO_WAIT_MAX_MS / 1000)
#define CTL_REFRESH_SECS 30
#define CTL_PING_MS      2000
/* A reload parses every credential file inside the daemon's loop. */
#define CTL_RELOAD_MS    10000

/* Options a command may accept, beside --help and --runtime-dir. */
#define CTL_OPT_JSON     0x01
#define CTL_OPT_WAIT     0x02
#define CTL_OPT_TIMEOUT  0x04

enum {
	LOPT_RUNTIME_DIR = 256,
	LOPT_VERSION,
	LOPT_JSON,
	LOPT_WAIT,
	LOPT_TIMEOUT,
};

struct ctl_cmd {
	const char *name;
	const char *synopsis;     /* what follows the command name in usage */
	const char *summary;
	unsigned int opts;        /* CTL_OPT_* */
	int takes_name;
	int (*run)(const struct ctl_args *);
};

static const struct option global_opts[] = {
	{ "runtime-dir",	required_argument,	NULL, LOPT_RUNTIME_DIR },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, LOPT_VERSION },
	{ NULL,			0,			NULL, 0 }
};

static const struct option command_opts[] = {
	{ "runtime-dir",	required_argument,	NULL, LOPT_RUNTIME_DIR },
	{ "help",		no_argument,		NULL, 'h' },
	{ "json",		no_argument,		NULL, LOPT_JSON },
	{ "wait",		required_argument,	NULL, LOPT_WAIT },
	{ "timeout",		required_argument,	NULL, LOPT_TIMEOUT },
	{ NULL,			0,			NULL, 0 }
};

static int usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const struct ctl_cmd *ctl_commands(size_t *n);

static void
print_usage(FILE *fp)
{
	const struct ctl_cmd *cmds;
	size_t i, n;

	cmds = ctl_commands(&n);
	fprintf(fp, "usage: tokencachectl [--runtime-dir DIR] COMMAND [ARGS]\n"
	    "\nCommands:\n");
	for (i = 0; i < n; i++) {
		char syn[64];

		snprintf(syn, sizeof(syn), "%s%s%s", cmds[i].name,
		    cmds[i].synopsis[0] != '\0' ? " " : "", cmds[i].synopsis);
		fprintf(fp, "  %-34s %s\n", syn, cmds[i].summary);
	}
	fprintf(fp, "\nOptions:\n"
	    "  --runtime-dir DIR  tokencached's runtime directory (default:\n"
	    "                     $TOKENCACHE_RUNTIME_DIR, else "
	    "/run/tokencache;\n"
	    "                     here %s)\n"
	    "  -h, --help         print this help and exit\n"
	    "  --version          print the version and exit\n"
	    "\nExit status: 0 success, 1 failure, 2 usage error.\n",
	    proto_runtime_dir());
}

static void
print_command_usage(FILE *fp, const struct ctl_cmd *cmd)
{
	fprintf(fp, "usage: tokencachectl [--runtime-dir DIR] %s%s%s\n",
	    cmd->name, cmd->synopsis[0] != '\0' ? " " : "", cmd->synopsis);
}

/* Always returns CTL_EXIT_USAGE, for `return usage_error(...)`. */
static int
usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("tokencachectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd != NULL)
		print_command_usage(stderr, cmd);
	else
		fputs("usage: tokencachectl [--runtime-dir DIR] COMMAND "
		    "[ARGS]\n", stderr);
	fputs("Try 'tokencachectl --help' for more information.\n", stderr);
	return CTL_EXIT_USAGE;
}

/* A whole number of seconds in [min, max], digits only. */
static int
parse_seconds(const char *s, long min, long max, long *out)
{
	long v = 0;
	size_t i;

	if (s[0] == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

static int
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

static int
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

/*
 * Report a failed token or refresh call: the library's verdict and, when
 * the credential has no token, the reason the daemon recorded.  The
 * reason is left out of other errors (permission denied, no daemon ...),
 * where an old fetch error would only mislead.
 */
static void
report_credential_error(const struct ctl_args *a, int r, int err,
    const char *info_error)
{
	char why[SEG_ERROR_FIELD] = "";

	if (r == TC_EFAILED || r == TC_EEXPIRED || r == TC_ENOTOKEN ||
	    r == TC_ETIMEDOUT) {
		if (info_error != NULL)
			snprintf(why, sizeof(why), "%s", info_error);
		if (why[0] == '\0')
			ctl_cache_last_error(why, sizeof(why), a->dir,
			    a->name);
		ctl_make_printable(why, sizeof(why));
	}
	if (r == TC_ENOCACHE)
		ctl_warnx("%s: no token cache in %s (is tokencached running?)",
		    a->name, a->dir);
	else if (r == TC_ENODAEMON)
		ctl_warnx("%s: cannot reach tokencached at %s/%s", a->name,
		    a->dir, SEG_SOCKET_NAME);
	else if (r == TC_EPEER)
		ctl_warnx("%s: %s/%s: %s", a->name, a->dir, SEG_SOCKET_NAME,
		    tc_strerror(r));
	else if (r == TC_ESYSTEM && err != 0)
		ctl_warnx("%s: %s: %s", a->name, tc_strerror(r), strerror(err));
	else if (why[0] != '\0')
		ctl_warnx("%s: %s: %s", a->name, tc_strerror(r), why);
	else
		ctl_warnx("%s: %s", a->name, tc_strerror(r));
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A library handle for a->dir; reports its own errors. */
static int
open_client(const struct ctl_args *a, tc_client **c)
{
	int r, err;

	if (sodium_init() < 0) {
		ctl_warnx("libsodium failed to initialise");
		return -1;
	}
	errno = 0;
	if ((r = tc_open(c, a->dir)) != 0) {
		err = errno;
		report_credential_error(a, r, err, NULL);
		return -1;
	}
	return 0;
}

static int
cmd_token(const struct ctl_args *a)
{
	tc_client *c = NULL;
	tc_token_info info;
	char *buf = NULL;
	size_t cap = CTL_TOKEN_BUF;
	int r, err, tries, ret = CTL_EXIT_FAIL;

	memset(&info, 0, sizeof(info));
	if (open_client(a, &c) != 0)
		goto out;
	/* Guarded memory: no swap, no core dump, wiped by sodium_free(). */
	if ((buf = sodium_malloc(cap)) == NULL) {
		ctl_warnx("out of memory");
		goto out;
	}
	for (tries = 0;; tries++) {
		/* The library writes info on some failures too; start clean
		 * so that a stale error is never shown. */
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		errno = 0;
		/* --wait 0 means do not wait: the library would take a zero
		 * timeout as "the daemon's own fetch timeout". */
		if (a->have_wait && a->wait_s > 0)
			r = tc_get_wait(c, a->name, buf, cap, &info,
			    (int)(a->wait_s * 1000));
		else
			r = tc_get(c, a->name, buf, cap, &info);
		err = errno;
		/* A token can change between calls, so grow a few times,
		 * but never past what a segment can hold. */
		if (r != TC_ERANGE || tries == 3 ||
		    info.length >= SEG_TOKEN_MAX || info.length + 1 <= cap)
			break;
		sodium_free(buf);
		cap = info.length + 1;
		if ((buf = sodium_malloc(cap)) == NULL) {
			ctl_warnx("out of memory");
			goto out;
		}
	}
	if (r != 0) {
		report_credential_error(a, r, err, info.error);
		goto out;
	}
	if (info.length >= cap) {	/* cannot happen: tc_get checked */
		ctl_warnx("%s: %s", a->name, tc_strerror(TC_EPROTO));
		goto out;
	}
	/*
	 * Written straight from guarded memory: stdio would leave a copy of
	 * the token in its heap buffer.  The NUL makes room for the newline.
	 */
	buf[info.length] = '\n';
	if (write_all(STDOUT_FILENO, buf, info.length + 1) != 0) {
		ctl_warnx("standard output: %s", strerror(errno));
		goto out;
	}
	ret = CTL_EXIT_OK;
 out:
	sodium_free(buf);
	sodium_memzero(&info, sizeof(info));
	tc_close(c);
	return ret;
}

static int
cmd_refresh(const struct ctl_args *a)
{
	tc_client *c = NULL;
	int r, err, ret = CTL_EXIT_FAIL;

	if (open_client(a, &c) != 0)
		goto out;
	errno = 0;
	if ((r = tc_refresh(c, a->name, (int)(a->timeout_s * 1000))) != 0) {
		err = errno;
		report_credential_error(a, r, err, NULL);
		goto out;
	}
	printf("%s: refreshed\n", a->name);
	ret = CTL_EXIT_OK;
 out:
	tc_close(c);
	return ret;
}

/* One exchange with the daemon; resp->message is printable afterwards. */
static int
ctl_daemon_call(const char *dir, int op, const char *name, int timeout_ms,
    struct proto_resp *resp, int *err)
{
	struct proto_req req;
	int r;

	if ((r = proto_req_init(&req, op, name, 0)) != 0)
		return r;
	errno = 0;
	if ((r = proto_call(dir, &req, resp, timeout_ms)) != 0) {
		*err = errno;
		return r;
	}
	ctl_make_printable(resp->message, sizeof(resp->message));
	return 0;
}

static void
ctl_daemon_strerror(char *buf, size_t len, const char *dir, int r, int err)
{
	if (r == TC_ENODAEMON)
		snprintf(buf, len, "cannot reach tokencached at %s/%s", dir,
		    SEG_SOCKET_NAME);
	else if (r == TC_EPEER)
		snprintf(buf, len, "%s/%s: %s", dir, SEG_SOCKET_NAME,
		    tc_strerror(r));
	else if (r == TC_ESYSTEM && err != 0)
		snprintf(buf, len, "%s: %s", tc_strerror(r), strerror(err));
	else
		snprintf(buf, len, "%s", tc_strerror(r));
}

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

static int
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

/*
 * reload, rotate-keys and invalidate: one request, the daemon's message
 * printed.  They need root or the daemon's admin_group.
 */
static int
admin_call(const struct ctl_args *a, const char *what, int op,
    const char *name, const char *done)
{
	struct proto_resp resp;
	char msg[SEG_ERROR_FIELD + 64];
	int r, err = 0;

	if ((r = ctl_daemon_call(a->dir, op, name, CTL_RELOAD_MS, &resp,
	    &err)) != 0) {
		ctl_daemon_strerror(msg, sizeof(msg), a->dir, r, err);
		ctl_warnx("%s: %s", what, msg);
		return CTL_EXIT_FAIL;
	}
	/*
	 * The daemon's message, when there is one, is the whole story
	 * ("permission denied: needs root or admin_group", "not reloaded,
	 * ...: FILE:LINE: ..."); the code's generic text is for when there
	 * is none, and would only repeat it or, as TC_EFAILED's "fetching
	 * the token failed" for a reload, mislead.
	 */
	if (resp.status != 0) {
		ctl_warnx("%s: %s", what, resp.message[0] != '\0' ?
		    resp.message : tc_strerror(resp.status));
		return CTL_EXIT_FAIL;
	}
	printf("%s\n", resp.message[0] != '\0' ? resp.message : done);
	return CTL_EXIT_OK;
}

static int
cmd_reload(const struct ctl_args *a)
{
	return admin_call(a, "reload", PROTO_OP_RELOAD, NULL, "reloaded");
}

static int
cmd_rotate_keys(const struct ctl_args *a)
{
	return admin_call(a, "rotate-keys", PROTO_OP_ROTATE, NULL,
	    "keys rotated");
}

static int
cmd_invalidate(const struct ctl_args *a)
{
	char what[TC_NAME_MAX + 16];

	snprintf(what, sizeof(what), "invalidate %s", a->name);
	return admin_call(a, what, PROTO_OP_INVALIDATE, a->name, "invalidated");
}

static void
print_version(void)
{
	printf("tokencachectl %s\nlibtokencache %s\n", TC_VERSION_STRING,
	    tc_version());
}

static int
cmd_version(const struct ctl_args *a)
{
	(void)a;
	print_version();
	return CTL_EXIT_OK;
}

static int
cmd_help(const struct ctl_args *a)
{
	(void)a;
	print_usage(stdout);
	return CTL_EXIT_OK;
}

static const struct ctl_cmd commands[] = {
	{ "list", "[--json]", "list every credential and its state",
	    CTL_OPT_JSON, 0, cmd_list },
	{ "show", "NAME [--json]", "show one credential in detail",
	    CTL_OPT_JSON, 1, cmd_show },
	{ "token", "NAME [--wait SECONDS]", "print the current token of NAME",
	    CTL_OPT_WAIT, 1, cmd_token },
	{ "refresh", "NAME [--timeout SECONDS]", "fetch a new token for NAME "
	    "now", CTL_OPT_TIMEOUT, 1, cmd_refresh },
	{ "check", "[--json]", "check the daemon and every credential",
	    CTL_OPT_JSON, 0, cmd_check },
	{ "reload", "", "make tokencached re-read its configuration",
	    0, 0, cmd_reload },
	{ "rotate-keys", "", "re-key every token; readers must ask again",
	    0, 0, cmd_rotate_keys },
	{ "invalidate", "NAME", "drop NAME's token now and fetch a new one",
	    0, 1, cmd_invalidate },
	{ "version", "", "print the versions of the tool and the library",
	    0, 0, cmd_version },
	{ "help", "", "print this help", 0, 0, cmd_help },
};

static const struct ctl_cmd *
ctl_commands(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

static const struct ctl_cmd *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * The option getopt_long() just rejected, for the message.  For an
 * unknown long option only argv still has its spelling.
 */
static const char *
rejected_option(char **argv, char *buf, size_t len)
{
	if (optopt != 0 && optopt < 256)
		snprintf(buf, len, "-%c", optopt);
	else
		snprintf(buf, len, "%s", argv[optind - 1]);
	ctl_make_printable(buf, len);
	return buf;
}

static int
check_name(const struct ctl_cmd *cmd, const char *name)
{
	char shown[TC_NAME_MAX + 2];

	if (seg_name_valid(name, strnlen(name, TC_NAME_MAX + 1)) == 0)
		return 0;
	snprintf(shown, sizeof(shown), "%s", name);
	ctl_make_printable(shown, sizeof(shown));
	return usage_error(cmd, "invalid credential name '%s%s': a name has "
	    "1 to %d of the characters A-Z a-z 0-9 . _ ~ @ + - and does not "
	    "start with '.'", shown, strlen(name) > TC_NAME_MAX ? "..." : "",
	    TC_NAME_MAX);
}

/* The first operand is NAME if the command takes one; the next is extra. */
static void
add_operand(const struct ctl_cmd *cmd, const char **name, const char **extra,
    const char *arg)
{
	if (cmd->takes_name && *name == NULL)
		*name = arg;
	else if (*extra == NULL)
		*extra = arg;
}

/*
 * Parse a command's options and operands (argv[0] is the command name).
 * The leading '-' makes getopt_long() hand over operands in order as
 * option 1, so options may follow NAME even with POSIXLY_CORRECT set.
 */
static int
parse_command(const struct ctl_cmd *cmd, int argc, char **argv,
    struct ctl_args *a, int *done)
{
	const char *name = NULL, *extra = NULL;
	char opt[64];
	int ch, r, longindex = -1;

	*done = 0;
	opterr = 0;
	optind = 0;		/* a second argument vector: reinitialise */
	while ((ch = getopt_long(argc, argv, "-:h", command_opts,
	    &longindex)) != -1) {
		switch (ch) {
		case 1:
			add_operand(cmd, &name, &extra, optarg);
			break;
		case 'h':
			print_command_usage(stdout, cmd);
			printf("%s\n", cmd->summary);
			*done = 1;
			return CTL_EXIT_OK;
		case LOPT_RUNTIME_DIR:
			if (optarg[0] == '\0')
				return usage_error(cmd, "--runtime-dir must "
				    "not be empty");
			a->dir = optarg;
			break;
		case LOPT_JSON:
			if (!(cmd->opts & CTL_OPT_JSON))
				goto unknown;
			a->json = 1;
			break;
		case LOPT_WAIT:
			if (!(cmd->opts & CTL_OPT_WAIT))
				goto unknown;
			if (parse_seconds(optarg, 0, CTL_MAX_SECONDS,
			    &a->wait_s) != 0)
				return usage_error(cmd, "--wait: '%s' is not "
				    "a whole number of seconds from 0 to %d",
				    optarg, CTL_MAX_SECONDS);
			a->have_wait = 1;
			break;
		case LOPT_TIMEOUT:
			if (!(cmd->opts & CTL_OPT_TIMEOUT))
				goto unknown;
			/* 0 would mean the daemon's own timeout to the
			 * library; keep the meaning obvious. */
			if (parse_seconds(optarg, 1, CTL_MAX_SECONDS,
			    &a->timeout_s) != 0)
				return usage_error(cmd, "--timeout: '%s' is "
				    "not a whole number of seconds from 1 to "
				    "%d", optarg, CTL_MAX_SECONDS);
			break;
		case ':':
			return usage_error(cmd, "%s: option %s needs an "
			    "argument", cmd->name,
			    rejected_option(argv, opt, sizeof(opt)));
		default:
			goto unknown;
		}
	}
	/* What follows "--" is all operands. */
	for (; optind < argc; optind++)
		add_operand(cmd, &name, &extra, argv[optind]);
	if (extra != NULL) {
		char shown[64];

		snprintf(shown, sizeof(shown), "%s", extra);
		ctl_make_printable(shown, sizeof(shown));
		return usage_error(cmd, "%s: unexpected argument '%s'",
		    cmd->name, shown);
	}
	if (cmd->takes_name) {
		if (name == NULL)
			return usage_error(cmd, "%s: NAME is missing",
			    cmd->name);
		if ((r = check_name(cmd, name)) != 0)
			return r;
		a->name = name;
	}
	return CTL_EXIT_OK;
 unknown:
	/* A known option this command does not take: name it, since argv
	 * may point at its argument by now. */
	if (ch >= 256 && longindex >= 0)
		return usage_error(cmd, "%s does not take --%s", cmd->name,
		    command_opts[longindex].name);
	return usage_error(cmd, "%s: unknown option %s", cmd->name,
	    rejected_option(argv, opt, sizeof(opt)));
}

int
main(int argc, char *argv[])
{
	const struct ctl_cmd *cmd;
	struct ctl_args a;
	char opt[64];
	int ch, r, done;

	memset(&a, 0, sizeof(a));
	a.timeout_s = CTL_REFRESH_SECS;
	opterr = 0;
	/* '+': stop at the command; its options are parsed below. */
	while ((ch = getopt_long(argc, argv, "+:h", global_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			print_usage(stdout);
			return CTL_EXIT_OK;
		case LOPT_VERSION:
			print_version();
			return CTL_EXIT_OK;
		case LOPT_RUNTIME_DIR:
			if (optarg[0] == '\0')
				return usage_error(NULL, "--runtime-dir must "
				    "not be empty");
			a.dir = optarg;
			break;
		case ':':
			return usage_error(NULL, "option %s needs an argument",
			    rejected_option(argv, opt, sizeof(opt)));
		default:
			return usage_error(NULL, "unknown option %s",
			    rejected_option(argv, opt, sizeof(opt)));
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "no command given");
	if ((cmd = find_command(argv[optind])) == NULL) {
		char shown[64];

		snprintf(shown, sizeof(shown), "%s", argv[optind]);
		ctl_make_printable(shown, sizeof(shown));
		return usage_error(NULL, "unknown command '%s'", shown);
	}
	r = parse_command(cmd, argc - optind, argv + optind, &a, &done);
	if (r != CTL_EXIT_OK || done)
		return r;
	if (a.dir == NULL)
		a.dir = proto_runtime_dir();
	r = cmd->run(&a);
	/* Buffered output may still fail, e.g. on a full disk. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ctl_warnx("standard output: %s", strerror(errno));
		r = CTL_EXIT_FAIL;
	}
	return r;
}
