/*
 * request.c - the control socket's requests: the limits every request
 * meets (one segment reply per connection, the per-user rate, room to
 * park a reply), the checks its row of PROTO_OPS (proto.h) asks for (the
 * credential named, access to it, admin rights), and one handler per
 * operation.  control.c owns the connections and sends the replies.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "control.h"
#include "cred.h"
#include "daemon_int.h"
#include "endpoint.h"
#include "httpd.h"
#include "keys.h"
#include "log.h"
#include "proto.h"
#include "reload.h"
#include "stats_doc.h"
#include "request.h"
#include "tokencache.h"

#define DENIED_ADMIN "permission denied: needs root or admin_group"

/* The table keeps the users seen most recently. */
int
rate_allow(struct daemon *d, uid_t uid, int64_t now)
{
	struct peer_rate *p = NULL, *oldest = &d->rates[0];
	int i;

	if (uid_is_privileged(uid))
		return 1;
	for (i = 0; i < RATE_SLOTS; i++) {
		if (d->rates[i].used && d->rates[i].uid == uid) {
			p = &d->rates[i];
			break;
		}
		if (!d->rates[i].used || d->rates[i].seen_ns < oldest->seen_ns)
			oldest = &d->rates[i];
	}
	if (p == NULL) {
		p = oldest;
		p->used = 1;
		p->uid = uid;
		tbucket_init(&p->bucket, RATE_BURST, now);
	}
	p->seen_ns = now;
	return tbucket_take(&p->bucket, RATE_PER_S, RATE_BURST, now) == 0;
}

/*
 * Park k until c's next fetch ends.  Single flight: a waiter joins the
 * fetch in progress or the one planned.  `hurry` (a reader with no token)
 * moves the plan to now, but never before a Retry-After hold, and not
 * after failures: those keep the backoff, so that many impatient readers
 * cannot turn into a request storm.  An explicit refresh has moved the
 * plan itself (sched_forced_refresh).
 */
static void
begin_wait(struct cred *c, struct conn *k, uint32_t timeout_ms, int64_t now,
    int hurry)
{
	int64_t t;

	if (timeout_ms == 0)
		t = (int64_t)c->conf->timeout_ms + 1000;
	else
		t = timeout_ms > PROTO_WAIT_MAX_MS ? PROTO_WAIT_MAX_MS : timeout_ms;
	k->waiting = 1;
	memcpy(k->name, c->name, sizeof(k->name));
	k->deadline_ns = now + t * NS_PER_MS;
	if (hurry)
		cred_hurry(c, now);
}

/*
 * Would k be denied the request for op (info) on c (NULL: none, or no
 * such credential)?  Then the denial is logged (log_denied) and the
 * reply's message returned; else NULL.  Unknown credentials are not
 * denied access: their requests get their own answer.
 */
static const char *
request_denied(struct daemon *d, struct conn *k,
    const struct proto_op_info *info, struct cred *c, int64_t now)
{
	if (info->flags & PROTO_OPF_ACCESS) {
		if (c == NULL || conn_allowed(c, k))
			return NULL;
		log_denied(d, k->uid, info->what, c->name, now);
		if (k->op == PROTO_OP_KEY || k->op == PROTO_OP_OPEN)
			c->st.key_denied++;
		return "permission denied";
	}
	if (info->flags & PROTO_OPF_ADMIN) {
		if (conn_is_admin(d, k))
			return NULL;
		/* A name that is no credential makes no entry of its own. */
		log_denied(d, k->uid, info->what, c != NULL ? c->name : "",
		    now);
		return DENIED_ADMIN;
	}
	return NULL;
}

/*
 * The handlers of the operations, one for each row of PROTO_OPS, called
 * by request_handle once the row's checks pass: c is the credential
 * named (PROTO_OPF_NAME), else NULL.  The reply's return: -1 drops the
 * peer.
 */
#define OP_HANDLER(fn) static int op_##fn(struct daemon *d, struct conn *k, \
    const struct proto_req *q, struct cred *c, int64_t now)

OP_HANDLER(ping)
{
	struct proto_resp r;

	(void)q, (void)c, (void)now;
	memset(&r, 0, sizeof(r));
	/* The configuration on disk did not load: say why, to those who may
	 * reload (the reason may name files, credentials and values); the
	 * others learn that it did not. */
	if (d->conf_error[0] != '\0') {
		r.flags = PROTO_RESP_CONF_STALE;
		snprintf(r.message, sizeof(r.message), "%s",
		    conn_is_admin(d, k) ? d->conf_error :
		    "see tokencached's log (the reason is told only "
		    "to root and admin_group)");
	} else
		snprintf(r.message, sizeof(r.message), "tokencached "
		    "%s pid %ld", TC_VERSION_STRING, (long)getpid());
	return conn_reply(k, &r);
}

/* Anyone may map the segment: it holds metadata and ciphertext only, as
 * the world-readable persistent copy does. */
OP_HANDLER(segment)
{
	struct proto_resp r;

	(void)q, (void)c, (void)now;
	memset(&r, 0, sizeof(r));
	return conn_reply_segment(d, k, &r);
}

/* The segment, as SEGMENT, and c's key, as KEY. */
OP_HANDLER(open)
{
	struct proto_resp r;

	(void)q, (void)now;
	memset(&r, 0, sizeof(r));
	segw_key_for(&d->seg, c->name, r.key, &r.key_epoch);
	c->st.key_granted++;
	return conn_reply_segment(d, k, &r);	/* wipes r */
}

OP_HANDLER(key)
{
	struct proto_resp r;

	(void)q, (void)now;
	memset(&r, 0, sizeof(r));
	segw_key_for(&d->seg, c->name, r.key, &r.key_epoch);
	c->st.key_granted++;
	return conn_reply(k, &r);	/* wipes r */
}

OP_HANDLER(reload)
{
	char msg[SEG_ERROR_FIELD];

	(void)q, (void)c, (void)now;
	if (reload(d, msg, sizeof(msg)) != 0)
		return conn_reply_status(k, TC_EFAILED, msg, 0);
	return conn_reply_status(k, 0, msg, 0);
}

OP_HANDLER(rotate)
{
	char msg[SEG_ERROR_FIELD];

	(void)q, (void)c, (void)now;
	snprintf(msg, sizeof(msg), "requested by uid %u", (unsigned)k->uid);
	if (rotate_keys(d, msg) != 0)
		return conn_reply_status(k, TC_EFAILED, "key rotation "
		    "failed: out of memory; the old keys stay in use", 0);
	snprintf(msg, sizeof(msg), "keys rotated, epoch %llu",
	    (unsigned long long)d->seg.epoch);
	return conn_reply_status(k, 0, msg, 0);
}

OP_HANDLER(invalidate)
{
	char msg[SEG_ERROR_FIELD];

	(void)q;
	snprintf(msg, sizeof(msg), "invalidated by uid %u", (unsigned)k->uid);
	log_info("%s: token %s", c->name, msg);
	segw_drop_token(&d->seg, c->slot, msg);
	c->expires_ns = 0;
	if (!c->in_flight)
		c->due_ns = c->ep->hold_until_ns > now ?
		    c->ep->hold_until_ns : now;
	return conn_reply_status(k, 0, "invalidated; fetching a new token", 0);
}

OP_HANDLER(wait)
{
	(void)d;
	if (c->expires_ns > now && c->expires_ns != 0)
		return conn_reply_status(k, 0, NULL, 0);
	/* A permanent error will not mend by itself: say so now, rather
	 * than at the next slow retry. */
	if (c->permanent && !c->in_flight)
		return conn_reply_status(k, TC_EFAILED, c->last_error, 0);
	begin_wait(c, k, q->timeout_ms, now, 1);
	return 0;
}

/* Anyone may learn where the local endpoint listens and what it
 * answered, as anyone may connect to it. */
OP_HANDLER(endpoint)
{
	struct proto_resp r;

	(void)q, (void)c, (void)now;
	memset(&r, 0, sizeof(r));
	httpd_describe(d, r.message, sizeof(r.message));
	return conn_reply(k, &r);
}

/* What to ask the local endpoint for c's token: for those c admits,
 * who would be given it there anyway.  No secret: the endpoint needs
 * none (tokencachectl env). */
OP_HANDLER(client)
{
	struct proto_resp r;
	const char *why;
	int st;

	(void)d, (void)q, (void)now;
	memset(&r, 0, sizeof(r));
	if ((st = httpd_describe_client(c->conf, r.message, sizeof(r.message),
	    &why)) != 0)
		return conn_reply_status(k, st, why, 0);
	return conn_reply(k, &r);
}

/* An explicit request clears a permanent failure's slow retry; it does
 * not override a Retry-After hold, nor refresh_min_interval. */
OP_HANDLER(refresh)
{
	if (sched_refresh(d, c, now) == SCHED_FORCE_LAST) {
		log_debug("%s: refresh requested by uid %u: the token fetched "
		    "%lld ms ago stands", c->name, (unsigned)k->uid,
		    (long long)((now - c->sent_ns) / NS_PER_MS));
		return conn_reply_status(k, 0, "the token in service was "
		    "fetched less than refresh_min_interval ago", 0);
	}
	log_info("%s: refresh requested by uid %u", c->name,
	    (unsigned)k->uid);
	c->permanent = 0;
	begin_wait(c, k, q->timeout_ms, now, 0);
	return 0;
}

/* A document as a sealed memfd (stats_doc.c): anyone may have the
 * metrics and the status, as anyone may list the credentials; neither
 * holds a token or a secret.  Out of memory: TC_ENOMEM, no descriptor. */
static int
reply_doc(struct daemon *d, struct conn *k, int (*make)(struct daemon *,
    int64_t), int64_t now)
{
	struct proto_resp r;
	int fd, ret;

	if ((fd = make(d, now)) < 0)
		return conn_reply_status(k, TC_ENOMEM, "could not make the "
		    "document (out of memory?)", 0);
	memset(&r, 0, sizeof(r));
	ret = conn_reply_fd(d, k, &r, fd);
	close(fd);
	return ret;
}

OP_HANDLER(metrics)
{
	(void)q, (void)c;
	return reply_doc(d, k, stats_metrics_fd, now);
}

OP_HANDLER(status)
{
	(void)q, (void)c;
	return reply_doc(d, k, stats_status_fd, now);
}

typedef int op_handler(struct daemon *, struct conn *,
    const struct proto_req *, struct cred *, int64_t);

static op_handler *const op_handlers[PROTO_OP_LAST + 1] = {
#define OP_ROW(op, flags, what, fn) [op] = op_##fn,
	PROTO_OPS(OP_ROW)
#undef OP_ROW
};

/* A refusal of the request, in the shape of its reply: a segment reply
 * (PROTO_OPF_SEGMENT) carries the segment even so; a document's
 * (PROTO_OPF_DOC) comes without one, as its status is not 0. */
static int
refuse(struct daemon *d, struct conn *k, const struct proto_op_info *info,
    int status, const char *msg)
{
	struct proto_resp r;

	if (!(info->flags & PROTO_OPF_SEGMENT))
		return conn_reply_status(k, status, msg, 0);
	memset(&r, 0, sizeof(r));
	r.status = status;
	snprintf(r.message, sizeof(r.message), "%s", msg);
	return conn_reply_segment(d, k, &r);
}

/*
 * Handle one request checked by proto_req_parse(), by its row of
 * PROTO_OPS: the limits first (one segment reply per connection, the
 * per-user rate, room to park the reply), then the credential named, then
 * access, then the op's handler.  -1: drop the peer.
 */
int
request_handle(struct daemon *d, struct conn *k, const struct proto_req *q,
    const char *name)
{
	const struct proto_op_info *info = proto_op_info(q->op);
	struct cred *c = NULL;
	const char *denied;
	int64_t now = now_ns();

	if (info == NULL || op_handlers[q->op] == NULL)
		return -1;
	k->op = q->op;
	/* One reply with a descriptor per connection: see conn_reply_fd. */
	if ((info->flags & PROTO_OPF_FD) && k->fd_sent)
		return -1;
	if (info->flags & PROTO_OPF_NAME)
		c = cred_find(d, name);
	if (!rate_allow(d, k->uid, now)) {
		/*
		 * Over the per-user rate.  A request that would be denied
		 * anyway is told so, never "busy": that would send the
		 * operator the wrong way.  It costs no more than "busy" (one
		 * small reply, no descriptor; its log line is limited too),
		 * and the peer is cut off all the same.
		 */
		if ((denied = request_denied(d, k, info, c, now)) != NULL)
			(void)conn_reply_status(k, TC_EACCES, denied, 0);
		else {
			log_debug("uid %u: rate limited", (unsigned)k->uid);
			(void)conn_reply_status(k, TC_EBUSY, "rate limited",
			    0);
		}
		return -1;
	}
	/* No room for one more unread descriptor: busy, none sent. */
	if ((info->flags & PROTO_OPF_FD) &&
	    (denied = park_room(d, k)) != NULL) {
		log_debug("uid %u: %s", (unsigned)k->uid, denied);
		return conn_reply_status(k, TC_EBUSY, denied, 0);
	}
	if ((info->flags & PROTO_OPF_NAME) && c == NULL)
		return refuse(d, k, info, TC_ENOTFOUND, "no such credential");
	if ((denied = request_denied(d, k, info, c, now)) != NULL)
		return refuse(d, k, info, TC_EACCES, denied);
	return op_handlers[q->op](d, k, q, c, now);
}
