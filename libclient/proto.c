/*
 * proto.c - checking control-socket messages (both directions).
 *
 * Messages have one fixed size each; anything else is refused whole, like
 * OpenBSD's imsg users check `hdr.len` before looking inside.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "tokencache.h"

/* PROTO_OPS as data; a row with no `what` is no op. */
static const struct proto_op_info op_rows[PROTO_OP_LAST + 1] = {
#define PROTO_OP_ROW(op, flags, what, fn) [op] = { flags, what },
	PROTO_OPS(PROTO_OP_ROW)
#undef PROTO_OP_ROW
};

const struct proto_op_info *
proto_op_info(int op)
{
	if (op < 0 || op > PROTO_OP_LAST || op_rows[op].what == NULL)
		return NULL;
	return &op_rows[op];
}

int
proto_req_parse(const void *buf, size_t len, struct proto_req *out,
    char name[SEG_NAME_FIELD])
{
	const struct proto_op_info *info;
	struct proto_req q;

	if (len != sizeof(q))
		return TC_EPROTO;
	memcpy(&q, buf, sizeof(q));
	if (q.magic != PROTO_MAGIC || q.version != PROTO_VERSION ||
	    (info = proto_op_info(q.op)) == NULL || q.name_len > TC_NAME_MAX)
		return TC_EPROTO;
	/* Requests about a credential name a valid one; the others none. */
	if (!(info->flags & PROTO_OPF_NAME)) {
		if (q.name_len != 0)
			return TC_EPROTO;
	} else if (seg_name_valid(q.name, q.name_len) != 0)
		return TC_EPROTO;
	memset(name, 0, SEG_NAME_FIELD);
	memcpy(name, q.name, q.name_len);
	*out = q;
	return 0;
}

int
proto_resp_check(const void *buf, size_t len, int op, const int *fd,
    struct proto_resp *out)
{
	struct proto_resp r;

	if (len != sizeof(r))
		return TC_EPROTO;
	memcpy(&r, buf, sizeof(r));
	/* A status is 0 or one of our (negative, small) codes. */
	if (r.magic != PROTO_MAGIC || r.version != PROTO_VERSION ||
	    r.op != op || r.status > 0 || r.status < -1000)
		return TC_EPROTO;
	/* A descriptor comes with a good answer to those who want one. */
	if (fd != NULL && *fd == -1 && r.status == 0)
		return TC_EPROTO;
	r.message[sizeof(r.message) - 1] = '\0';
	*out = r;
	return 0;
}

int
proto_send_with_fd(int sock, const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
		return -1;
	return 0;
}

ssize_t
proto_recv_with_fd(int sock, void *buf, size_t cap, int *fd)
{
	/* Room for a few: what a confused or hostile peer sends beyond one
	 * is closed below, and what does not fit the kernel closes. */
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cm;
	size_t i, nfd;
	ssize_t n;
	int got = -1, count = 0, saved, one;

	*fd = -1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = cap;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	n = recvmsg(sock, &msg, MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -1)
		return -1;
	saved = errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&one, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (count++ == 0)
				got = one;
			else
				(void)close(one);
		}
	}
	if (count != 1 || (msg.msg_flags & MSG_CTRUNC)) {
		if (got != -1)
			(void)close(got);
		got = -1;
	}
	*fd = got;
	errno = saved;
	return n;
}
