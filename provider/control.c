/*
 * control.c - the control socket (runtime_dir/socket): listen, accept,
 * evict, read, reply; the parked set of connections whose segment reply
 * is unread.  What a request does is request.c's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/sockios.h>
#include <sodium.h>

#include "access.h"
#include "control.h"
#include "daemon_int.h"
#include "log.h"
#include "peer.h"
#include "proto.h"
#include "request.h"
#include "listen.h"
#include "tokencache.h"

/*
 * Has the peer not read all we sent it?  On a Unix socket, SIOCOUTQ counts
 * the bytes of our messages still queued at the peer.  Should the call
 * fail, the answer is no: a connection must never outlive its use for
 * want of it.
 */
static int
conn_unread(int fd)
{
	int n = 0;

	return ioctl(fd, SIOCOUTQ, &n) == 0 && n > 0;
}

/*
 * Closing only marks the slot; conn_reap() compacts the array at the top
 * of the loop, so that indexes held by callers stay valid.  A connection
 * with an unread segment reply is never here: it was parked as soon as
 * the reply went out (conn_park).
 */
void
conn_close(struct daemon *d, int i)
{
	struct conn *k = &d->conns[i];

	if (k->fd == -1)
		return;
	close(k->fd);
	k->fd = -1;
	k->waiting = 0;
	free(k->groups);
	k->groups = NULL;
	/* A descriptor is free again: try the queued peers. */
	d->accept_paused_until_ns = 0;
}

/*
 * Parked connections.  A descriptor sent but not yet received is charged
 * by the kernel to the sender's user, us, and past our RLIMIT_NOFILE soft
 * limit every further send fails (ETOOMANYREFS), for every reader of the
 * host, root's too.  Closing our end does not uncharge it: the message
 * stays queued at the peer until the peer reads it or closes.  So a
 * connection whose segment reply is unread leaves the table of control
 * connections (it takes no place there, and the table stays free for
 * others) for this set, where we keep it, unpolled, only to count what is
 * in flight, until the peer reads the reply or goes (SIOCOUTQ drops to 0
 * either way; park_sweep looks every PARK_CHECK_NS, and before turning a
 * user away).  It has no deadline: closing it would forget a descriptor
 * still charged to us.  The counts are bounded instead, before the reply
 * is sent (park_room): PARKED_PER_UID per user, parked_cap for all users
 * but root and ours, sized well below our descriptor limit; root and we
 * have the rest of the array.  A user at a cap is told TC_EBUSY with no
 * descriptor until they read.
 */
void
park_drop(struct daemon *d, int i)
{
	close(d->parked[i].fd);
	d->parked[i] = d->parked[--d->nparked];
	d->accept_paused_until_ns = 0;
}

/* Close the parked connections whose peer has read the reply or gone. */
void
park_sweep(struct daemon *d)
{
	int i;

	for (i = d->nparked - 1; i >= 0; i--)
		if (!conn_unread(d->parked[i].fd))
			park_drop(d, i);
}

/*
 * May k be sent a segment reply?  Only if, should it stay unread, there
 * is room to park it within the caps above; looked at again after a sweep
 * before saying no.  Then the reason, else NULL.
 */
const char *
park_room(struct daemon *d, const struct conn *k)
{
	int i, mine, others, swept = 0;

	for (;;) {
		mine = others = 0;
		for (i = 0; i < d->nparked; i++) {
			if (d->parked[i].uid == k->uid)
				mine++;
			if (!uid_is_privileged(d->parked[i].uid))
				others++;
		}
		if (uid_is_privileged(k->uid)) {
			if (d->nparked < d->parked_size)
				return NULL;
		} else if (mine < PARKED_PER_UID && others < d->parked_cap)
			return NULL;
		if (swept)
			break;
		park_sweep(d);
		swept = 1;
	}
	if (!uid_is_privileged(k->uid) && mine >= PARKED_PER_UID)
		return "too many unread segment replies from this user; "
		    "read them first";
	return "too many unread segment replies on this host";
}

/* k's segment reply is unread: move it from the table to the parked set
 * (park_room made room for it). */
static void
conn_park(struct daemon *d, struct conn *k)
{
	if (d->nparked >= d->parked_size) {	/* not reached */
		log_warnx("no room to park uid %u's connection",
		    (unsigned)k->uid);
		return;
	}
	d->parked[d->nparked].fd = k->fd;
	d->parked[d->nparked++].uid = k->uid;
	k->fd = -1;
	k->waiting = 0;
	free(k->groups);
	k->groups = NULL;
}

void
conn_reap(struct daemon *d)
{
	int i;

	for (i = d->nconns - 1; i >= 0; i--) {
		if (d->conns[i].fd != -1)
			continue;
		d->conns[i] = d->conns[d->nconns - 1];
		memset(&d->conns[d->nconns - 1], 0, sizeof(struct conn));
		d->conns[d->nconns - 1].fd = -1;
		d->nconns--;
	}
}

int
conn_reply(struct conn *k, struct proto_resp *r)
{
	ssize_t n;

	r->magic = PROTO_MAGIC;
	r->version = PROTO_VERSION;
	r->op = k->op;
	r->message[sizeof(r->message) - 1] = '\0';
	n = send(k->fd, r, sizeof(*r), MSG_NOSIGNAL | MSG_DONTWAIT);
	sodium_memzero(r, sizeof(*r));
	k->waiting = 0;
	k->answered = 1;
	k->deadline_ns = now_ns() + CONN_IDLE_NS;
	return n == (ssize_t)sizeof(*r) ? 0 : -1;
}

/*
 * A reply that brings a descriptor, fd (PROTO_OPF_FD: the read-only
 * segment for PROTO_OP_SEGMENT and PROTO_OP_OPEN, a sealed document for
 * PROTO_OP_METRICS and PROTO_OP_STATUS); fd stays the caller's.  Wipes *r.
 *
 * A descriptor sent but not yet received is charged by the kernel to the
 * sender's user, us, and past our RLIMIT_NOFILE soft limit every further
 * send fails (ETOOMANYREFS); closing our end does not help, the message
 * stays queued at the peer.  A user who asked for segments and never read
 * the replies once stopped every new reader of the host that way.  So no
 * connection ever holds more than one unread descriptor: it gets one
 * segment reply (a second request for one cuts it off), only if there is
 * room to park it (park_room), and is parked at once if it is unread
 * (conn_park), so that what is in flight stays counted and capped, far
 * below our descriptor limit, which the worker also raises to its hard
 * limit at start.  The library asks one question per connection and then
 * reads, so it never notices; nor does tokencachectl, for a document.
 */
int
conn_reply_fd(struct daemon *d, struct conn *k, struct proto_resp *r, int fd)
{
	int64_t now;
	int ret, saved;

	r->magic = PROTO_MAGIC;
	r->version = PROTO_VERSION;
	r->op = k->op;
	r->message[sizeof(r->message) - 1] = '\0';
	k->waiting = 0;
	k->answered = 1;
	k->deadline_ns = now_ns() + CONN_IDLE_NS;
	k->fd_sent = 1;
	ret = proto_send_with_fd(k->fd, r, sizeof(*r), fd);
	sodium_memzero(r, sizeof(*r));
	if (ret == 0 && conn_unread(k->fd))
		conn_park(d, k);
	if (ret != 0 && errno != EPIPE && errno != ECONNRESET) {
		/* Said once a minute at most, with a count. */
		saved = errno;
		now = now_ns();
		d->seg_failed++;
		if (d->seg_logged_ns == 0 || now - d->seg_logged_ns >=
		    SEG_LOG_NS) {
			errno = saved;
			log_warn("cannot send a descriptor to uid %u (%llu "
			    "time%s since the last report)", (unsigned)k->uid,
			    (unsigned long long)d->seg_failed,
			    d->seg_failed == 1 ? "" : "s");
			d->seg_logged_ns = now;
			d->seg_failed = 0;
		}
	}
	return ret;
}

int
conn_reply_segment(struct daemon *d, struct conn *k, struct proto_resp *r)
{
	return conn_reply_fd(d, k, r, d->seg.ro_fd);
}

int
conn_reply_status(struct conn *k, int status, const char *msg,
    uint64_t generation)
{
	struct proto_resp r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.generation = generation;
	if (msg != NULL)
		snprintf(r.message, sizeof(r.message), "%s", msg);
	return conn_reply(k, &r);
}

/* Answer everyone waiting on c; status 0 means a token was published. */
void
wake_waiters(struct daemon *d, struct cred *c, int status, const char *msg)
{
	struct seg_slot s;
	uint64_t gen = 0;
	int i;

	if (status == 0 && segw_read(&d->seg, c->slot, &s) == 0)
		gen = s.generation;
	for (i = d->nconns - 1; i >= 0; i--) {
		struct conn *k = &d->conns[i];

		if (k->waiting && strcmp(k->name, c->name) == 0 &&
		    conn_reply_status(k, status, msg, gen) != 0)
			conn_close(d, i);
	}
}

/*
 * May k be closed to make room?  Not while it waits for a fetch, nor before
 * its request has had a turn: closing one whose request we have not read
 * would leave its client with no answer (a herd of first reads showed it).
 * A client sends its request as soon as it connects, so one still silent
 * after CONN_QUIET_NS is fair game, lest silent peers hold the table.
 */
static int
conn_evictable(const struct conn *k, int64_t now)
{
	return k->fd != -1 && !k->waiting &&
	    (k->answered || now - k->accepted_ns > CONN_QUIET_NS);
}

/*
 * Where a new connection goes: a free place at the end, else a closed one,
 * else that of an evictable connection: one that has had its answer, the
 * one with the nearest deadline, before one that never spoke.  -1 when
 * there is none: then the listening socket is not polled, so that new
 * clients queue in its backlog (SOMAXCONN deep) until a fetch ends and
 * frees places.  A thousand processes making their first read in the same
 * instant are all answered that way, none refused; each bounds its wait
 * with its own deadline.
 */
static int
conn_pick(const struct daemon *d)
{
	int64_t now = now_ns();
	int j, idle = -1;
	const struct conn *k, *best;

	if (d->nconns < MAX_CONNS)
		return d->nconns;
	for (j = 0; j < d->nconns; j++) {
		k = &d->conns[j];
		if (k->fd == -1)
			return j;
		if (!conn_evictable(k, now))
			continue;
		best = idle == -1 ? NULL : &d->conns[idle];
		if (best == NULL || k->answered > best->answered ||
		    (k->answered == best->answered &&
		    k->deadline_ns < best->deadline_ns))
			idle = j;
	}
	return idle;
}

/* Is there room for a new connection (see conn_pick)? */
int
conn_room(const struct daemon *d)
{
	return conn_pick(d) != -1;
}

/* The place conn_pick() chose, its connection closed; or -1. */
static int
conn_slot(struct daemon *d)
{
	int j = conn_pick(d);

	if (j != -1 && j < d->nconns && d->conns[j].fd != -1) {
		d->conns_evicted++;
		conn_close(d, j);
	}
	return j;
}

/* Accept one connection; 0 when there is none left to accept. */
int
accept_conn(struct daemon *d)
{
	int slot;
	struct conn *k;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int fd;

	fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			accept_failed(d);
		return 0;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 ||
	    len != sizeof(uc)) {
		log_warn("SO_PEERCRED");
		close(fd);
		return 1;
	}
	if (!uid_is_privileged(uc.uid)) {
		int j, n = 0;

		for (j = 0; j < d->nconns; j++)
			if (d->conns[j].fd != -1 && d->conns[j].uid == uc.uid)
				n++;
		if (n >= CONNS_PER_UID) {
			log_debug("uid %u has %d connections: refused",
			    (unsigned)uc.uid, n);
			close(fd);
			return 1;
		}
	}
	if ((slot = conn_slot(d)) == -1) {
		/* Not reached: the caller asks conn_room() first. */
		log_debug("every connection is waiting: refused uid %u",
		    (unsigned)uc.uid);
		close(fd);
		return 1;
	}
	k = &d->conns[slot];
	memset(k, 0, sizeof(*k));
	k->fd = fd;
	k->uid = uc.uid;
	k->gid = uc.gid;
	(void)peer_unix_groups(fd, &k->groups, &k->ngroups);
	k->accepted_ns = now_ns();
	k->deadline_ns = k->accepted_ns + CONN_FIRST_NS;
	d->conns_accepted++;
	if (slot == d->nconns)
		d->nconns++;
	return 1;
}

void
read_conn(struct daemon *d, int i)
{
	struct conn *k = &d->conns[i];
	struct proto_req buf, q;
	char name[SEG_NAME_FIELD];
	ssize_t n;

	n = recv(k->fd, &buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	/* A peer that sends a malformed message, or anything at all while
	 * it waits for an answer, is cut off. */
	if (n <= 0 || k->waiting ||
	    proto_req_parse(&buf, (size_t)n, &q, name) != 0 ||
	    request_handle(d, k, &q, name) != 0)
		conn_close(d, i);
}

/* runtime_dir/socket, as runtime_dir_listen() makes it. */
int
listen_socket(struct daemon *d, char *err, size_t errlen)
{
	return listen_unix(d->conf->runtime_dir, SEG_SOCKET_NAME,
	    SOCK_SEQPACKET, &d->lfd, d->sock_path, sizeof(d->sock_path), err,
	    errlen);
}

/*
 * How many unread segment replies users other than root and ours may
 * hold at once (see conn_park): a quarter of what our descriptor limit
 * leaves beside the table of connections and some for libcurl and the
 * rest, between 16 and PARKED_MAX (4096 past a limit of about 16,600).
 * Each parked one costs us a descriptor and one in flight, and root and
 * we may park as many again, so both counts stay below the limit.
 */
int
parked_cap_for_limit(void)
{
	struct rlimit rl;
	rlim_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return PARKED_MAX;
	room = rl.rlim_cur > MAX_CONNS + 64 ? rl.rlim_cur - MAX_CONNS - 64 : 0;
	room /= 4;
	return room < 16 ? 16 : room > PARKED_MAX ? PARKED_MAX : (int)room;
}
