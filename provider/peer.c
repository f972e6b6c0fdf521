/*
 * peer.c - who is at the other end of a local connection (peer.h).
 *
 * TCP: the kernel's socket table over NETLINK_SOCK_DIAG.  The request is
 * an exact lookup (no NLM_F_DUMP): the kernel hashes the 4-tuple
 * (inet_diag_find_one_icsk) instead of walking every socket of the host,
 * and answers with one SOCK_DIAG_BY_FAMILY message or an NLMSG_ERROR.
 * In the request, idiag_src/idiag_sport are the client's address and
 * port (our remote end) and idiag_dst/idiag_dport ours, so the socket
 * found is the one whose local end is our remote: the client's.
 *
 * An exact lookup ignores idiag_states and may find a listener or a
 * TIME_WAIT socket instead, so the reply is judged on its own: the same
 * 4-tuple, a state of a socket still open, and an inode (a socket still
 * held by a file).  A TIME_WAIT or orphaned socket is reported with uid
 * 0 and inode 0: taking that uid would make root of any client that has
 * just closed.
 *
 * The netlink socket is opened for each call and closed before return.
 * That is most of a call's cost (measured on the development machine:
 * about 10 of 13-17 microseconds), but a call is made once per
 * connection, not per request, and a kept socket could hold the late
 * answer to a request that timed out, would need a lock once two
 * threads ask, and would be one more descriptor to carry across fork,
 * reload and privilege drops.  It is connected to the kernel (port id
 * 0), so no other process can send it a forged answer, and each
 * answer's sender and sequence are checked.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "peer.h"

/* One end of a connection, IPv4 as ::ffff:a.b.c.d so that both families
 * compare alike. */
struct peer_end {
	unsigned char	addr[16];
	uint16_t	port;		/* network order */
};

static const unsigned char v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
peer_addr_is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (ss == NULL)
		return 0;
	switch (ss->ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)ss;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)ss;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127;
	default:
		return 0;
	}
}

/* ss (of length len, from getsockname or getpeername) as a peer_end;
 * -1 if it is not a whole IPv4 or IPv6 address. */
static int
peer_end_from(const struct sockaddr_storage *ss, socklen_t len,
    struct peer_end *e)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(e, 0, sizeof(*e));
	switch (ss->ss_family) {
	case AF_INET:
		if (len < sizeof(*sin))
			return -1;
		sin = (const struct sockaddr_in *)(const void *)ss;
		memcpy(e->addr, v4mapped_prefix, sizeof(v4mapped_prefix));
		memcpy(e->addr + 12, &sin->sin_addr, 4);
		e->port = sin->sin_port;
		return 0;
	case AF_INET6:
		if (len < sizeof(*sin6))
			return -1;
		sin6 = (const struct sockaddr_in6 *)(const void *)ss;
		memcpy(e->addr, &sin6->sin6_addr, 16);
		e->port = sin6->sin6_port;
		return 0;
	default:
		return -1;
	}
}

static int
peer_end_is_v4(const struct peer_end *e)
{
	return memcmp(e->addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0;
}

/* An address of a reply's inet_diag_sockid (family fam) as 16 bytes. */
static int
peer_diag_addr(int fam, const uint32_t a[4], unsigned char out[16])
{
	if (fam == AF_INET) {
		memcpy(out, v4mapped_prefix, sizeof(v4mapped_prefix));
		memcpy(out + 12, &a[0], 4);
		return 0;
	}
	if (fam == AF_INET6) {
		memcpy(out, a, 16);
		return 0;
	}
	return -1;
}

/*
 * Does the reply describe the client's socket of the connection whose
 * ends are client and us, open and owned?  An IPv4 connection may come
 * back as an AF_INET6 socket (a dual-stack client) with mapped addresses;
 * peer_end holds both alike.
 */
static int
peer_diag_matches(const struct inet_diag_msg *m, const struct peer_end *client,
    const struct peer_end *us)
{
	unsigned char src[16], dst[16];

	if (peer_diag_addr(m->idiag_family, m->id.idiag_src, src) == -1 ||
	    peer_diag_addr(m->idiag_family, m->id.idiag_dst, dst) == -1)
		return 0;
	return memcmp(src, client->addr, 16) == 0 &&
	    memcmp(dst, us->addr, 16) == 0 &&
	    m->id.idiag_sport == client->port &&
	    m->id.idiag_dport == us->port;
}

/* States of a socket its owner still has open.  The FIN states and
 * CLOSE_WAIT cover a half-closed connection (shutdown), still a live
 * socket of its owner; whether it still is, the inode says. */
static int
peer_state_is_open(unsigned state)
{
	switch (state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSE_WAIT:
		return 1;
	default:
		return 0;
	}
}

/*
 * Our ends of fd, refused unless fd is a TCP socket over IPv4 or IPv6
 * with both ends on loopback.
 */
static int
peer_tcp_ends(int fd, struct sockaddr_storage *remote,
    struct sockaddr_storage *local, struct peer_end *client,
    struct peer_end *us)
{
	socklen_t llen = sizeof(*local), rlen = sizeof(*remote);
	socklen_t olen;
	int type, proto;

	olen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) == -1)
		return -1;
	olen = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &olen) == -1)
		return -1;
	if (type != SOCK_STREAM || proto != IPPROTO_TCP) {
		errno = EINVAL;
		return -1;
	}
	memset(local, 0, sizeof(*local));
	memset(remote, 0, sizeof(*remote));
	if (getsockname(fd, (struct sockaddr *)local, &llen) == -1 ||
	    getpeername(fd, (struct sockaddr *)remote, &rlen) == -1)
		return -1;
	if (peer_end_from(local, llen, us) == -1 ||
	    peer_end_from(remote, rlen, client) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (!peer_addr_is_loopback(local) || !peer_addr_is_loopback(remote)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* The exact-lookup request for the client's socket. */
static void
peer_diag_request(struct inet_diag_req_v2 *r, const struct peer_end *client,
    const struct peer_end *us)
{
	memset(r, 0, sizeof(*r));
	r->sdiag_protocol = IPPROTO_TCP;
	/* Ignored by an exact lookup (peer_diag_parse judges the state),
	 * but says what is asked for should the kernel ever apply it. */
	r->idiag_states = 1U << TCP_ESTABLISHED;
	/* Any socket of the tuple, whatever its cookie. */
	r->id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	r->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	r->id.idiag_sport = client->port;
	r->id.idiag_dport = us->port;
	/* An IPv4 connection, even seen through an AF_INET6 socket, is in
	 * the table with its IPv4 addresses. */
	if (peer_end_is_v4(client) && peer_end_is_v4(us)) {
		r->sdiag_family = AF_INET;
		memcpy(&r->id.idiag_src[0], client->addr + 12, 4);
		memcpy(&r->id.idiag_dst[0], us->addr + 12, 4);
	} else {
		r->sdiag_family = AF_INET6;
		memcpy(r->id.idiag_src, client->addr, 16);
		memcpy(r->id.idiag_dst, us->addr, 16);
	}
}

int
peer_diag_parse(const void *buf, size_t len, uint32_t seq,
    const struct sockaddr_storage *client, const struct sockaddr_storage *us,
    uid_t *uid)
{
	struct peer_end ce, ue;
	const struct nlmsghdr *h;
	const struct nlmsgerr *err;
	const struct inet_diag_msg *m;
	uid_t found = 0;
	int nfound = 0, done = 0;
	size_t left = len, step;

	if (buf == NULL || len == 0 ||
	    peer_end_from(client, sizeof(*client), &ce) == -1 ||
	    peer_end_from(us, sizeof(*us), &ue) == -1) {
		errno = EPROTO;
		return -1;
	}
	/*
	 * Not NLMSG_NEXT: it takes the padded length off what is left, and
	 * with a size_t that wraps when the last message's length is not a
	 * multiple of 4 and its padding is missing (found by fuzz_peer).
	 */
	for (h = buf; NLMSG_OK(h, left); h = (const struct nlmsghdr *)
	    (const void *)((const unsigned char *)h + step), left -= step) {
		step = NLMSG_ALIGN(h->nlmsg_len);
		if (step > left)
			step = left;	/* the last, unpadded */
		if (h->nlmsg_seq != seq) {
			errno = EPROTO;
			return -1;
		}
		if (h->nlmsg_type == NLMSG_DONE) {
			done = 1;
			break;
		}
		if (h->nlmsg_type == NLMSG_ERROR) {
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*err))) {
				errno = EPROTO;
				return -1;
			}
			err = NLMSG_DATA(h);
			if (err->error == 0) {	/* an ack: the end */
				done = 1;
				break;
			}
			/* A tuple the kernel does not know: ENOENT.  A
			 * number that is no errno (the kernel's are below
			 * 4096) is no answer. */
			errno = err->error < 0 && err->error > -4096 ?
			    -err->error : EPROTO;
			return -1;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m))) {
			errno = EPROTO;
			return -1;
		}
		m = NLMSG_DATA(h);
		if (!peer_diag_matches(m, &ce, &ue) ||
		    !peer_state_is_open(m->idiag_state) ||
		    m->idiag_inode == 0)
			continue;
		found = m->idiag_uid;
		nfound++;
	}
	/* Bytes after the last whole message: a truncated one. */
	if (!done && left != 0) {
		errno = EPROTO;
		return -1;
	}
	if (nfound == 0) {
		errno = ENOENT;
		return -1;
	}
	/* One 4-tuple, one socket: two answers are not to be chosen
	 * from. */
	if (nfound > 1) {
		errno = EPROTO;
		return -1;
	}
	*uid = found;
	return 0;
}

/*
 * Read the kernel's answer to request seq from nl and judge it
 * (peer_diag_parse).  An exact lookup is answered in one datagram, its
 * one message without NLMSG_DONE, so one read is all: nothing waits for
 * a message that will not come.
 */
static int
peer_diag_answer(int nl, uint32_t seq, const struct sockaddr_storage *client,
    const struct sockaddr_storage *us, uid_t *uid)
{
	union {
		struct nlmsghdr	h;
		unsigned char	b[8192];
	} buf;
	struct sockaddr_nl from;
	socklen_t flen = sizeof(from);
	ssize_t n;

	memset(&from, 0, sizeof(from));
	/* MSG_TRUNC: n is the datagram's real length. */
	n = recvfrom(nl, &buf, sizeof(buf), MSG_TRUNC,
	    (struct sockaddr *)&from, &flen);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			errno = ETIMEDOUT;
		return -1;
	}
	if (n == 0 || (size_t)n > sizeof(buf) || flen != sizeof(from) ||
	    from.nl_family != AF_NETLINK || from.nl_pid != 0) {
		errno = EPROTO;
		return -1;
	}
	return peer_diag_parse(&buf, (size_t)n, seq, client, us, uid);
}

int
peer_tcp_uid(int fd, uid_t *uid)
{
	struct sockaddr_storage remote, local;
	struct peer_end client, us;
	struct {
		struct nlmsghdr		h;
		struct inet_diag_req_v2	r;
	} req;
	struct sockaddr_nl kernel;
	struct timeval tv;
	/* Each call has its own socket: no answer to an earlier request
	 * can be waiting in it, and a constant will do. */
	const uint32_t seq = 1;
	uid_t found;
	ssize_t n;
	int nl = -1, ret = -1, e;

	if (peer_tcp_ends(fd, &remote, &local, &client, &us) == -1)
		return -1;

	if ((nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return -1;
	tv.tv_sec = PEER_TIMEOUT_MS / 1000;
	tv.tv_usec = (PEER_TIMEOUT_MS % 1000) * 1000;
	memset(&kernel, 0, sizeof(kernel));
	kernel.nl_family = AF_NETLINK;	/* nl_pid 0: the kernel */
	if (setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(nl, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(nl, (struct sockaddr *)&kernel, sizeof(kernel)) == -1)
		goto out;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.h.nlmsg_flags = NLM_F_REQUEST;
	req.h.nlmsg_seq = seq;
	peer_diag_request(&req.r, &client, &us);
	if ((n = send(nl, &req, sizeof(req), 0)) != (ssize_t)sizeof(req)) {
		if (n != -1)
			errno = EPROTO;		/* a datagram sent in part */
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			errno = ETIMEDOUT;
		goto out;
	}
	if (peer_diag_answer(nl, seq, &remote, &local, &found) == -1)
		goto out;

	/* success */
	*uid = found;
	ret = 0;
 out:
	e = errno;
	close(nl);
	errno = e;
	return ret;
}

int
peer_unix_uid(int fd, uid_t *uid, gid_t *gid)
{
	struct sockaddr_storage ss;
	struct ucred cred;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (len < sizeof(ss.ss_family) || ss.ss_family != AF_UNIX) {
		errno = EINVAL;
		return -1;
	}
	memset(&cred, 0, sizeof(cred));
	len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return -1;
	if (len != sizeof(cred)) {
		errno = EPROTO;
		return -1;
	}
	/* An unconnected socket answers with uid and gid -1. */
	if (cred.uid == (uid_t)-1 || cred.gid == (gid_t)-1) {
		errno = ENOTCONN;
		return -1;
	}
	*uid = cred.uid;
	*gid = cred.gid;
	return 0;
}

int
peer_unix_groups(int fd, gid_t **groups, int *ngroups)
{
	gid_t buf[NGROUPS_MAX];
	socklen_t len = sizeof(buf);
	gid_t *g;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, buf, &len) == -1)
		return -1;
	if (len % sizeof(gid_t) != 0) {
		errno = EPROTO;
		return -1;
	}
	if ((g = malloc(len > 0 ? len : 1)) == NULL)
		return -1;
	memcpy(g, buf, len);
	*groups = g;
	*ngroups = (int)(len / sizeof(gid_t));
	return 0;
}

int
peer_user_groups(uid_t uid, gid_t *gid, gid_t **groups, int *ngroups)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t *g = NULL, *ng;
	int n = 16, tries, r;

	if ((r = getpwuid_r(uid, &pw, buf, sizeof(buf), &res)) != 0 ||
	    res == NULL) {
		errno = r != 0 ? r : ENOENT;
		return -1;
	}
	/* getgrouplist says how many there are when n is too small. */
	for (tries = 0; tries < 3; tries++) {
		if (n < 1 || n > NGROUPS_MAX + 1 ||
		    (ng = reallocarray(g, (size_t)n, sizeof(*g))) == NULL)
			break;
		g = ng;
		if (getgrouplist(pw.pw_name, pw.pw_gid, g, &n) != -1) {
			*gid = pw.pw_gid;
			*groups = g;
			*ngroups = n;
			return 0;
		}
	}
	free(g);
	errno = ENOMEM;
	return -1;
}
