/*
 * test_peer.c - who is at the other end (peer.h), over real sockets on
 * 127.0.0.1 and ::1: the uid the kernel's socket table gives for a TCP
 * client, another user's client (as root), a closed client, refused
 * sockets and addresses, and SO_PEERCRED on Unix sockets.
 */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "peer.h"
#include "testutil.h"

#define NOBODY	65534

/* A loopback address of family fam, port 0 (or a mapped IPv4 one). */
static socklen_t
addr_of(int fam, const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		sin->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	return sizeof(*sin6);
}

/* A listener on text (port chosen by the kernel); its address in *ss. */
static int
listen_on(int fam, const char *text, struct sockaddr_storage *ss,
    socklen_t *len)
{
	int s;

	*len = addr_of(fam, text, ss);
	ck_assert_int_ne(s = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0), -1);
	ck_assert_msg(bind(s, (struct sockaddr *)ss, *len) == 0, "bind %s: %s",
	    text, strerror(errno));
	ck_assert_int_eq(listen(s, 8), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)ss, len), 0);
	return s;
}

/* The listener's address as a client of family cfam sees it: an IPv4
 * listener through an AF_INET6 socket is ::ffff:127.0.0.1. */
static socklen_t
target(int cfam, const struct sockaddr_storage *l, struct sockaddr_storage *t)
{
	const struct sockaddr_in *sin = (const void *)l;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)t;

	if (l->ss_family == cfam) {
		memcpy(t, l, sizeof(*t));
		return cfam == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6);
	}
	memset(t, 0, sizeof(*t));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = sin->sin_port;
	sin6->sin6_addr.s6_addr[10] = 0xff;
	sin6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&sin6->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
	return sizeof(*sin6);
}

/* A connected pair through a listener on text: *cli the client's end,
 * the accepted end returned. */
static int
tcp_pair(int lfam, const char *text, int cfam, int *cli)
{
	struct sockaddr_storage l, t;
	socklen_t llen, tlen;
	int ls, a;

	ls = listen_on(lfam, text, &l, &llen);
	tlen = target(cfam, &l, &t);
	ck_assert_int_ne(*cli = socket(cfam, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	ck_assert_int_eq(connect(*cli, (struct sockaddr *)&t, tlen), 0);
	ck_assert_int_ne(a = accept4(ls, NULL, NULL, SOCK_CLOEXEC), -1);
	close(ls);
	return a;
}

static void
expect_uid(int fd, uid_t want)
{
	uid_t uid = 12345;

	ck_assert_msg(peer_tcp_uid(fd, &uid) == 0, "peer_tcp_uid: %s",
	    strerror(errno));
	ck_assert_uint_eq(uid, want);
}

static void
expect_errno(int fd, int want)
{
	uid_t uid = 12345;

	errno = 0;
	ck_assert_int_eq(peer_tcp_uid(fd, &uid), -1);
	ck_assert_msg(errno == want, "errno %d (%s), want %d (%s)", errno,
	    strerror(errno), want, strerror(want));
	ck_assert_uint_eq(uid, 12345);		/* untouched on failure */
}

START_TEST(test_tcp4_own_uid)
{
	int c, a = tcp_pair(AF_INET, "127.0.0.1", AF_INET, &c);

	expect_uid(a, getuid());
	/* The other way round too: the client asks about the server. */
	expect_uid(c, getuid());
	close(a);
	close(c);
}
END_TEST

START_TEST(test_tcp6_own_uid)
{
	int c, a = tcp_pair(AF_INET6, "::1", AF_INET6, &c);

	expect_uid(a, getuid());
	expect_uid(c, getuid());
	close(a);
	close(c);
}
END_TEST

/* An IPv6 client socket on an IPv4 connection: the table has it as an
 * AF_INET6 socket with mapped addresses. */
START_TEST(test_tcp_mapped_client)
{
	int c, a = tcp_pair(AF_INET, "127.0.0.1", AF_INET6, &c);

	expect_uid(a, getuid());
	expect_uid(c, getuid());
	close(a);
	close(c);
}
END_TEST

/* Become nobody for good, as a client of another user would be. */
static int
drop_to_nobody(void)
{
	if (setgroups(0, NULL) == -1 ||
	    setresgid(NOBODY, NOBODY, NOBODY) == -1 ||
	    setresuid(NOBODY, NOBODY, NOBODY) == -1)
		return -1;
	return getuid() == NOBODY && geteuid() == NOBODY ? 0 : -1;
}

/*
 * A client made by a child that is nobody for good: it connects, says
 * so on one pipe and holds its socket open until the other pipe closes.
 */
static void
other_user_client(int fam, const char *text)
{
	struct sockaddr_storage l;
	socklen_t llen;
	int ls, a, ready[2], hold[2], st;
	char ok = 0;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr, "test_peer: not root, another user's client "
		    "not tried\n");
		return;
	}
	ls = listen_on(fam, text, &l, &llen);
	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		int s;

		close(ready[0]);
		close(hold[1]);
		close(ls);
		if (drop_to_nobody() == -1 ||
		    (s = socket(fam, SOCK_STREAM, 0)) == -1 ||
		    connect(s, (struct sockaddr *)&l, llen) == -1)
			_exit(2);
		ok = 'y';
		if (write(ready[1], &ok, 1) != 1)
			_exit(3);
		/* until the parent is done */
		while (read(hold[0], &ok, 1) == -1 && errno == EINTR)
			continue;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	ck_assert_int_eq(read(ready[0], &ok, 1), 1);
	ck_assert_int_eq(ok, 'y');
	ck_assert_int_ne(a = accept4(ls, NULL, NULL, SOCK_CLOEXEC), -1);
	expect_uid(a, NOBODY);
	close(hold[1]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(ready[0]);
	close(a);
	close(ls);
}

START_TEST(test_tcp4_other_user)
{
	other_user_client(AF_INET, "127.0.0.1");
}
END_TEST

START_TEST(test_tcp6_other_user)
{
	other_user_client(AF_INET6, "::1");
}
END_TEST

/*
 * A client that has closed its socket: the kernel keeps it a while
 * (FIN_WAIT2, then TIME_WAIT), reported with uid 0 and no inode, as no
 * one's.  That must be ENOENT, never root.
 */
START_TEST(test_tcp_closed_client)
{
	int c, a = tcp_pair(AF_INET, "127.0.0.1", AF_INET, &c);
	char b;

	close(c);
	/* Our end has seen the FIN: the client's socket is past
	 * ESTABLISHED. */
	ck_assert_int_eq(read(a, &b, 1), 0);
	expect_errno(a, ENOENT);
	close(a);

	a = tcp_pair(AF_INET6, "::1", AF_INET6, &c);
	shutdown(c, SHUT_WR);
	ck_assert_int_eq(read(a, &b, 1), 0);
	/* Half-closed, still held by its owner: still its uid. */
	expect_uid(a, getuid());
	close(c);
	expect_errno(a, ENOENT);
	close(a);

	/* We have closed our writing side: the client's socket is in
	 * CLOSE_WAIT, still its owner's. */
	a = tcp_pair(AF_INET, "127.0.0.1", AF_INET, &c);
	ck_assert_int_eq(shutdown(a, SHUT_WR), 0);
	ck_assert_int_eq(read(c, &b, 1), 0);
	expect_uid(a, getuid());
	close(c);
	close(a);
}
END_TEST

/* Our accepted end after the client's socket was reset and is gone
 * from the table: the kernel answers ENOENT. */
START_TEST(test_tcp_reset_client)
{
	struct linger lg = { 1, 0 };
	int c, a = tcp_pair(AF_INET, "127.0.0.1", AF_INET, &c);
	char b;

	ck_assert_int_eq(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	close(c);			/* an RST, no TIME_WAIT */
	ck_assert_int_eq(read(a, &b, 1), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	/* Our end is no longer connected either. */
	errno = 0;
	{
		uid_t uid = 12345;

		ck_assert_int_eq(peer_tcp_uid(a, &uid), -1);
		ck_assert_msg(errno == ENOTCONN || errno == ENOENT,
		    "errno %s", strerror(errno));
		ck_assert_uint_eq(uid, 12345);
	}
	close(a);
}
END_TEST

START_TEST(test_tcp_refused_sockets)
{
	int sv[2], u, t, nf;
	uid_t uid = 12345;
	gid_t gid = 12345;

	/* not a socket, no descriptor */
	expect_errno(-1, EBADF);
	ck_assert_int_ne(nf = open("/dev/null", O_RDONLY | O_CLOEXEC), -1);
	expect_errno(nf, ENOTSOCK);
	close(nf);
	/* a Unix socket */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	expect_errno(sv[0], EINVAL);
	/* UDP */
	ck_assert_int_ne(u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0),
	    -1);
	expect_errno(u, EINVAL);
	/* TCP, not connected */
	ck_assert_int_ne(t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	expect_errno(t, ENOTCONN);

	/* peer_unix_uid: TCP is not its business, nor a lone socket */
	errno = 0;
	ck_assert_int_eq(peer_unix_uid(t, &uid, &gid), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(u);
	ck_assert_int_ne(u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	errno = 0;
	ck_assert_int_eq(peer_unix_uid(u, &uid, &gid), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	ck_assert_uint_eq(uid, 12345);
	ck_assert_uint_eq(gid, 12345);
	close(u);
	close(t);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static int
lb(int fam, const char *text)
{
	struct sockaddr_storage ss;

	addr_of(fam, text, &ss);
	return peer_addr_is_loopback(&ss);
}

START_TEST(test_addr_is_loopback)
{
	struct sockaddr_storage ss;

	ck_assert_int_eq(lb(AF_INET, "127.0.0.1"), 1);
	ck_assert_int_eq(lb(AF_INET, "127.0.0.0"), 1);
	ck_assert_int_eq(lb(AF_INET, "127.255.255.255"), 1);
	ck_assert_int_eq(lb(AF_INET, "127.1.2.3"), 1);
	ck_assert_int_eq(lb(AF_INET, "126.255.255.255"), 0);
	ck_assert_int_eq(lb(AF_INET, "128.0.0.1"), 0);
	ck_assert_int_eq(lb(AF_INET, "0.0.0.0"), 0);
	ck_assert_int_eq(lb(AF_INET, "10.0.0.1"), 0);
	ck_assert_int_eq(lb(AF_INET, "1.0.0.127"), 0);
	ck_assert_int_eq(lb(AF_INET, "255.255.255.255"), 0);
	ck_assert_int_eq(lb(AF_INET6, "::1"), 1);
	ck_assert_int_eq(lb(AF_INET6, "::ffff:127.0.0.1"), 1);
	ck_assert_int_eq(lb(AF_INET6, "::ffff:127.200.0.9"), 1);
	ck_assert_int_eq(lb(AF_INET6, "::"), 0);
	ck_assert_int_eq(lb(AF_INET6, "::2"), 0);
	ck_assert_int_eq(lb(AF_INET6, "::1:0:0:1"), 0);
	ck_assert_int_eq(lb(AF_INET6, "1::1"), 0);
	ck_assert_int_eq(lb(AF_INET6, "fe80::1"), 0);
	ck_assert_int_eq(lb(AF_INET6, "fd00::2"), 0);
	ck_assert_int_eq(lb(AF_INET6, "::ffff:10.0.0.1"), 0);
	ck_assert_int_eq(lb(AF_INET6, "::ffff:128.0.0.1"), 0);
	/* IPv4-compatible (deprecated) and NAT64 forms are not mapped. */
	ck_assert_int_eq(lb(AF_INET6, "::127.0.0.1"), 0);
	ck_assert_int_eq(lb(AF_INET6, "64:ff9b::127.0.0.1"), 0);
	ck_assert_int_eq(lb(AF_INET6, "::fffe:127.0.0.1"), 0);

	ck_assert_int_eq(peer_addr_is_loopback(NULL), 0);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(peer_addr_is_loopback(&ss), 0);
	ss.ss_family = AF_UNSPEC;
	ck_assert_int_eq(peer_addr_is_loopback(&ss), 0);
}
END_TEST

/*
 * A connection between two non-loopback addresses of this host is
 * refused (EPERM).  Made in a network namespace of its own (as root),
 * with 10.11.12.13 on its own loopback device: nothing of the host's
 * network is touched.
 */
START_TEST(test_tcp_not_loopback)
{
	int st;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr, "test_peer: not root, no network namespace for "
		    "a non-loopback connection\n");
		return;
	}
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		struct ifreq ifr;
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)
		    &ifr.ifr_addr;
		struct sockaddr_storage l;
		socklen_t llen = sizeof(l);
		int s, ls, c, a, r;
		uid_t uid = 12345;

		if (unshare(CLONE_NEWNET) == -1)
			_exit(77);		/* no namespaces here */
		if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
			_exit(2);
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
		ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1)
			_exit(3);
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo:1");
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, "10.11.12.13", &sin->sin_addr);
		if (ioctl(s, SIOCSIFADDR, &ifr) == -1)
			_exit(4);
		memset(&l, 0, sizeof(l));
		memcpy(&l, sin, sizeof(*sin));
		if ((ls = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    bind(ls, (struct sockaddr *)&l, sizeof(*sin)) == -1 ||
		    listen(ls, 1) == -1 ||
		    getsockname(ls, (struct sockaddr *)&l, &llen) == -1 ||
		    (c = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    connect(c, (struct sockaddr *)&l, llen) == -1 ||
		    (a = accept(ls, NULL, NULL)) == -1)
			_exit(5);
		errno = 0;
		r = peer_tcp_uid(a, &uid);
		_exit(r == -1 && errno == EPERM && uid == 12345 ? 0 : 6);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		fprintf(stderr, "test_peer: no network namespace, "
		    "a non-loopback connection not tried\n");
		return;
	}
	ck_assert_msg(WEXITSTATUS(st) == 0, "child exit %d", WEXITSTATUS(st));
}
END_TEST

/*
 * Answers as the kernel might write them, for peer_diag_parse: the
 * connection from 127.0.0.1:40000 (the client) to 127.0.0.1:8080 (us).
 */
struct answer {
	union {
		struct nlmsghdr	h;
		unsigned char	b[4096];
	} u;
	size_t	len;
};

static struct nlmsghdr *
ans_add(struct answer *an, uint16_t type, uint32_t seq, size_t payload)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)(an->u.b + an->len);

	ck_assert_uint_le(an->len + NLMSG_SPACE(payload), sizeof(an->u.b));
	memset(h, 0, NLMSG_SPACE(payload));
	h->nlmsg_len = NLMSG_LENGTH(payload);
	h->nlmsg_type = type;
	h->nlmsg_seq = seq;
	an->len += NLMSG_SPACE(payload);
	return h;
}

/* A socket of family fam from src:sport to dst:dport. */
static void
ans_sock(struct answer *an, uint32_t seq, int fam, const char *src,
    int sport, const char *dst, int dport, int state, uid_t uid,
    unsigned inode)
{
	struct nlmsghdr *h = ans_add(an, SOCK_DIAG_BY_FAMILY, seq,
	    sizeof(struct inet_diag_msg));
	struct inet_diag_msg *m = NLMSG_DATA(h);
	/* another family (a lie) carries IPv4 addresses */
	int pf = fam == AF_INET6 ? AF_INET6 : AF_INET;

	m->idiag_family = fam;
	m->idiag_state = state;
	ck_assert_int_eq(inet_pton(pf, src, m->id.idiag_src), 1);
	ck_assert_int_eq(inet_pton(pf, dst, m->id.idiag_dst), 1);
	m->id.idiag_sport = htons(sport);
	m->id.idiag_dport = htons(dport);
	m->idiag_uid = uid;
	m->idiag_inode = inode;
}

static void
ans_client(struct answer *an, int state, uid_t uid, unsigned inode)
{
	ans_sock(an, 7, AF_INET, "127.0.0.1", 40000, "127.0.0.1", 8080,
	    state, uid, inode);
}

static void
ans_error(struct answer *an, uint32_t seq, int error)
{
	struct nlmsghdr *h = ans_add(an, NLMSG_ERROR, seq,
	    sizeof(struct nlmsgerr));

	((struct nlmsgerr *)NLMSG_DATA(h))->error = error;
}

/* peer_diag_parse of the first len bytes of an, copied to a buffer of
 * exactly that size so that ASan sees any read past it. */
static int
parse_n(const struct answer *an, size_t len, uid_t *uid)
{
	struct sockaddr_storage client, us;
	void *copy = malloc(len ? len : 1);
	int r, e;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, an->u.b, len);
	addr_of(AF_INET, "127.0.0.1", &client);
	addr_of(AF_INET, "127.0.0.1", &us);
	((struct sockaddr_in *)(void *)&client)->sin_port = htons(40000);
	((struct sockaddr_in *)(void *)&us)->sin_port = htons(8080);
	r = peer_diag_parse(copy, len, 7, &client, &us, uid);
	e = errno;
	free(copy);
	errno = e;
	return r;
}

static void
parse_ok(const struct answer *an, uid_t want)
{
	uid_t uid = 12345;

	ck_assert_msg(parse_n(an, an->len, &uid) == 0, "parse: %s",
	    strerror(errno));
	ck_assert_uint_eq(uid, want);
}

static void
parse_fails(const struct answer *an, int want)
{
	uid_t uid = 12345;

	errno = 0;
	ck_assert_int_eq(parse_n(an, an->len, &uid), -1);
	ck_assert_msg(errno == want, "errno %d (%s), want %d (%s)", errno,
	    strerror(errno), want, strerror(want));
	ck_assert_uint_eq(uid, 12345);
}

START_TEST(test_parse_answers)
{
	struct answer an;

	/* the client's socket, alone and then with NLMSG_DONE */
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_ESTABLISHED, 1000, 5);
	parse_ok(&an, 1000);
	ans_add(&an, NLMSG_DONE, 7, sizeof(int));
	parse_ok(&an, 1000);

	/* a dual-stack client: AF_INET6, mapped addresses */
	memset(&an, 0, sizeof(an));
	ans_sock(&an, 7, AF_INET6, "::ffff:127.0.0.1", 40000,
	    "::ffff:127.0.0.1", 8080, TCP_ESTABLISHED, 1001, 5);
	parse_ok(&an, 1001);

	/* half-closed but held: still its owner's */
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_FIN_WAIT2, 1002, 5);
	parse_ok(&an, 1002);
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_CLOSE_WAIT, 1003, 5);
	parse_ok(&an, 1003);

	/* closed: TIME_WAIT and orphaned FIN_WAIT2 are no one's (uid 0) */
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_TIME_WAIT, 0, 0);
	parse_fails(&an, ENOENT);
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_FIN_WAIT2, 0, 0);
	parse_fails(&an, ENOENT);
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_TIME_WAIT, 1000, 5);
	parse_fails(&an, ENOENT);

	/* a listener on the client's port: not the client's socket */
	memset(&an, 0, sizeof(an));
	ans_sock(&an, 7, AF_INET, "127.0.0.1", 40000, "0.0.0.0", 0,
	    TCP_LISTEN, 1004, 5);
	parse_fails(&an, ENOENT);
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_LISTEN, 1004, 5);
	parse_fails(&an, ENOENT);

	/* our own socket (the tuple the other way round), other ports,
	 * other addresses */
	memset(&an, 0, sizeof(an));
	ans_sock(&an, 7, AF_INET, "127.0.0.1", 8080, "127.0.0.1", 40000,
	    TCP_ESTABLISHED, 1005, 5);
	ans_sock(&an, 7, AF_INET, "127.0.0.1", 40001, "127.0.0.1", 8080,
	    TCP_ESTABLISHED, 1005, 5);
	ans_sock(&an, 7, AF_INET, "127.0.0.1", 40000, "127.0.0.1", 8081,
	    TCP_ESTABLISHED, 1005, 5);
	ans_sock(&an, 7, AF_INET, "127.0.0.2", 40000, "127.0.0.1", 8080,
	    TCP_ESTABLISHED, 1005, 5);
	ans_sock(&an, 7, AF_INET6, "::1", 40000, "::1", 8080,
	    TCP_ESTABLISHED, 1005, 5);
	ans_sock(&an, 7, AF_UNIX, "127.0.0.1", 40000, "127.0.0.1", 8080,
	    TCP_ESTABLISHED, 1005, 5);
	parse_fails(&an, ENOENT);
	/* ... and then the client's: found among them */
	ans_client(&an, TCP_ESTABLISHED, 1006, 5);
	parse_ok(&an, 1006);
	/* two of it: refused, not chosen from */
	ans_client(&an, TCP_ESTABLISHED, 1007, 6);
	parse_fails(&an, EPROTO);

	/* the kernel's errors */
	memset(&an, 0, sizeof(an));
	ans_error(&an, 7, -ENOENT);
	parse_fails(&an, ENOENT);
	memset(&an, 0, sizeof(an));
	ans_error(&an, 7, -EACCES);
	parse_fails(&an, EACCES);
	memset(&an, 0, sizeof(an));
	ans_error(&an, 7, INT_MIN);
	parse_fails(&an, EPROTO);
	memset(&an, 0, sizeof(an));
	ans_error(&an, 7, 5);
	parse_fails(&an, EPROTO);
	/* an ack ends the answer: nothing found */
	memset(&an, 0, sizeof(an));
	ans_error(&an, 7, 0);
	ans_client(&an, TCP_ESTABLISHED, 1000, 5);
	parse_fails(&an, ENOENT);
	/* an error message too short for its nlmsgerr */
	memset(&an, 0, sizeof(an));
	ans_error(&an, 7, -ENOENT);
	an.u.h.nlmsg_len = NLMSG_LENGTH(2);
	an.len = NLMSG_SPACE(2);
	parse_fails(&an, EPROTO);
	/* nothing at all */
	memset(&an, 0, sizeof(an));
	parse_fails(&an, EPROTO);
	ans_add(&an, NLMSG_DONE, 7, sizeof(int));
	parse_fails(&an, ENOENT);

	/* another request's answer, another message type, a short one */
	memset(&an, 0, sizeof(an));
	ans_sock(&an, 8, AF_INET, "127.0.0.1", 40000, "127.0.0.1", 8080,
	    TCP_ESTABLISHED, 1000, 5);
	parse_fails(&an, EPROTO);
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_ESTABLISHED, 1000, 5);
	an.u.h.nlmsg_type = 0x99;
	parse_fails(&an, EPROTO);
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_ESTABLISHED, 1000, 5);
	an.u.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct inet_diag_msg) - 4);
	parse_fails(&an, EPROTO);
	/* a length past the end, a length shorter than a header */
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_ESTABLISHED, 1000, 5);
	an.u.h.nlmsg_len += 4;
	parse_fails(&an, EPROTO);
	an.u.h.nlmsg_len = sizeof(struct nlmsghdr) - 1;
	parse_fails(&an, EPROTO);
	an.u.h.nlmsg_len = 0;
	parse_fails(&an, EPROTO);

	/* a last message of a length not a multiple of 4, unpadded: its
	 * padded length is past the end (fuzz_peer found NLMSG_NEXT's
	 * wrap here) */
	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_ESTABLISHED, 1000, 5);
	an.u.h.nlmsg_len += 1;
	an.len = an.u.h.nlmsg_len;
	parse_ok(&an, 1000);
	/* ... with its padding (3 bytes), then a byte past it: not a
	 * message, refused */
	an.len += 3;
	parse_ok(&an, 1000);
	an.len++;
	parse_fails(&an, EPROTO);
}
END_TEST

/* Every truncation of a good answer (the client's socket, then DONE) is
 * refused, and nothing is read past the end (ASan). */
START_TEST(test_parse_truncated)
{
	struct answer an;
	size_t n, first;
	uid_t uid = 12345;

	memset(&an, 0, sizeof(an));
	ans_client(&an, TCP_ESTABLISHED, 1000, 5);
	first = an.len;
	ans_add(&an, NLMSG_DONE, 7, sizeof(int));
	for (n = 0; n < an.len; n++) {
		errno = 0;
		if (n == first) {	/* the whole first message: found */
			ck_assert_int_eq(parse_n(&an, n, &uid), 0);
			ck_assert_uint_eq(uid, 1000);
			uid = 12345;
			continue;
		}
		ck_assert_msg(parse_n(&an, n, &uid) == -1, "%zu bytes", n);
		ck_assert_int_eq(errno, EPROTO);
		ck_assert_uint_eq(uid, 12345);
	}
	ck_assert_int_eq(parse_n(&an, an.len, &uid), 0);
}
END_TEST

START_TEST(test_unix_socketpair)
{
	int sv[2];
	uid_t uid = 12345;
	gid_t gid = 12345;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	ck_assert_int_eq(peer_unix_uid(sv[0], &uid, &gid), 0);
	ck_assert_uint_eq(uid, getuid());
	ck_assert_uint_eq(gid, getgid());
	uid = 12345;
	gid = 12345;
	ck_assert_int_eq(peer_unix_uid(sv[1], &uid, &gid), 0);
	ck_assert_uint_eq(uid, getuid());
	ck_assert_uint_eq(gid, getgid());
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A Unix client connected by nobody (as root): SO_PEERCRED says so. */
START_TEST(test_unix_other_user)
{
	struct sockaddr_un sun;
	char *dir;
	int ls, a, ready[2], hold[2], st;
	uid_t uid = 12345;
	gid_t gid = 12345;
	char ok = 0;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr, "test_peer: not root, another user's Unix "
		    "client not tried\n");
		return;
	}
	dir = tu_tmpdir();
	ck_assert_int_eq(chmod(dir, 0755), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_int_lt(snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/s", dir), (int)sizeof(sun.sun_path));
	ck_assert_int_ne(ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(chmod(sun.sun_path, 0666), 0);
	ck_assert_int_eq(listen(ls, 1), 0);
	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		int s;

		close(ready[0]);
		close(hold[1]);
		if (drop_to_nobody() == -1 ||
		    (s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			_exit(2);
		ok = 'y';
		if (write(ready[1], &ok, 1) != 1)
			_exit(3);
		/* until the parent is done */
		while (read(hold[0], &ok, 1) == -1 && errno == EINTR)
			continue;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	ck_assert_int_eq(read(ready[0], &ok, 1), 1);
	ck_assert_int_ne(a = accept4(ls, NULL, NULL, SOCK_CLOEXEC), -1);
	ck_assert_int_eq(peer_unix_uid(a, &uid, &gid), 0);
	ck_assert_uint_eq(uid, NOBODY);
	ck_assert_uint_eq(gid, NOBODY);
	close(hold[1]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(ready[0]);
	close(a);
	close(ls);
	tu_rmtree(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("peer");
	TCase *tc = tcase_create("peer");

	tcase_add_test(tc, test_tcp4_own_uid);
	tcase_add_test(tc, test_tcp6_own_uid);
	tcase_add_test(tc, test_tcp_mapped_client);
	tcase_add_test(tc, test_tcp4_other_user);
	tcase_add_test(tc, test_tcp6_other_user);
	tcase_add_test(tc, test_tcp_closed_client);
	tcase_add_test(tc, test_tcp_reset_client);
	tcase_add_test(tc, test_tcp_refused_sockets);
	tcase_add_test(tc, test_addr_is_loopback);
	tcase_add_test(tc, test_tcp_not_loopback);
	tcase_add_test(tc, test_parse_answers);
	tcase_add_test(tc, test_parse_truncated);
	tcase_add_test(tc, test_unix_socketpair);
	tcase_add_test(tc, test_unix_other_user);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
