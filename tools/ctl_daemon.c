/*
 * The control protocol (proto.h), spoken directly since the public API
 * has no call for these: one exchange, its errors in words, and the
 * admin commands reload, rotate-keys and invalidate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

/* A reload parses every credential file inside the daemon's loop. */
#define CTL_RELOAD_MS    10000

static int
daemon_call(const char *dir, int op, const char *name, int timeout_ms,
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
	return 0;
}

/* One exchange with the daemon; resp->message is printable afterwards. */
int
ctl_daemon_call(const char *dir, int op, const char *name, int timeout_ms,
    struct proto_resp *resp, int *err)
{
	int r;

	if ((r = daemon_call(dir, op, name, timeout_ms, resp, err)) == 0)
		ctl_make_printable(resp->message, sizeof(resp->message));
	return r;
}

int
ctl_daemon_call_text(const char *dir, int op, const char *name,
    int timeout_ms, struct proto_resp *resp, int *err)
{
	size_t i;
	int r;

	if ((r = daemon_call(dir, op, name, timeout_ms, resp, err)) != 0)
		return r;
	resp->message[sizeof(resp->message) - 1] = '\0';
	for (i = 0; resp->message[i] != '\0'; i++)
		if (resp->message[i] != '\n' && resp->message[i] != '\t' &&
		    ((unsigned char)resp->message[i] < 0x20 ||
		    (unsigned char)resp->message[i] > 0x7e))
			resp->message[i] = '?';
	return 0;
}

void
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

int
cmd_reload(const struct ctl_args *a)
{
	return admin_call(a, "reload", PROTO_OP_RELOAD, NULL, "reloaded");
}

int
cmd_rotate_keys(const struct ctl_args *a)
{
	return admin_call(a, "rotate-keys", PROTO_OP_ROTATE, NULL,
	    "keys rotated");
}

int
cmd_invalidate(const struct ctl_args *a)
{
	char what[TC_NAME_MAX + 16];

	snprintf(what, sizeof(what), "invalidate %s", a->name);
	return admin_call(a, what, PROTO_OP_INVALIDATE, a->name, "invalidated");
}
