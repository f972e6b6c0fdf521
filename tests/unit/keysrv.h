/*
 * keysrv.h - a minimal key service for the unit tests: a thread that
 * speaks the real control protocol (proto.h) on dir/socket and answers
 * KEY requests with the keys of the writer w (segw_key_for), refusing
 * `denied_name`, and SEGMENT requests with w's read-only segment fd (or,
 * to test the client's checks, keysrv_seg_nfds copies of keysrv_seg_fd).
 * keysrv_setup()/keysrv_teardown() make and remove the runtime directory,
 * the segment and the server around a test; keysrv_publish() writes a
 * token as the daemon would.  The integration tests use the real daemon
 * instead.
 */
#ifndef TC_KEYSRV_H
#define TC_KEYSRV_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "proto.h"
#include "seg_write.h"
#include "testutil.h"
#include "tokencache.h"

#define TMAX 4096                   /* token size of the test segments */
#define NS_PER_S INT64_C(1000000000)

static char *dir;
static struct segw w;
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t keysrv;
static int lfd = -1;
static atomic_int keysrv_stop;
static atomic_int key_requests;
static const char *denied_name = "forbidden";
static int keysrv_seg_fd = -1;     /* -1: w.ro_fd */
static int keysrv_seg_nfds = 1;    /* descriptors sent with SEGMENT */
static int keysrv_refuse_status;   /* not 0: SEGMENT and OPEN get this
                                    * status and no descriptor, as the
                                    * daemon answers a rate-limited peer */
static int keysrv_busy_times;      /* > 0: the next that many SEGMENT and
                                    * OPEN are answered TC_EBUSY */
static int keysrv_mute_after_busy; /* set: once keysrv_busy_times is used
                                    * up, SEGMENT and OPEN get no answer
                                    * until the client gives up (a daemon
                                    * too slow to answer in time) */
static atomic_int seg_requests;
static atomic_int connections;     /* connections accepted */
static atomic_int keysrv_closed;   /* connections the server has closed */

/* The SEGMENT reply, with keysrv_seg_nfds descriptors in one message. */
static void
keysrv_send_segment(int fd, struct proto_resp *r)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = r, .iov_len = sizeof(*r) };
	struct msghdr msg;
	struct cmsghdr *cm;
	int sfd = keysrv_seg_fd != -1 ? keysrv_seg_fd : w.ro_fd, i;

	if (keysrv_seg_nfds == 1) {
		(void)proto_send_with_fd(fd, r, sizeof(*r), sfd);
		return;
	}
	memset(&msg, 0, sizeof(msg));
	memset(&u, 0, sizeof(u));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (keysrv_seg_nfds > 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(2 * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
		for (i = 0; i < 2; i++)
			memcpy(CMSG_DATA(cm) + i * sizeof(int), &sfd,
			    sizeof(int));
	}
	(void)sendmsg(fd, &msg, MSG_NOSIGNAL);
}

static void *
keysrv_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&keysrv_stop)) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		struct proto_req q;
		struct proto_resp r;
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		atomic_fetch_add(&connections, 1);
		if (recv(fd, &q, sizeof(q), 0) == (ssize_t)sizeof(q) &&
		    (q.op == PROTO_OP_SEGMENT || (q.op == PROTO_OP_OPEN &&
		    q.name_len <= TC_NAME_MAX))) {
			memset(&r, 0, sizeof(r));
			r.magic = PROTO_MAGIC;
			r.version = PROTO_VERSION;
			r.op = q.op;
			atomic_fetch_add(&seg_requests, 1);
			pthread_mutex_lock(&wlock);
			if (q.op == PROTO_OP_OPEN) {
				/* The segment and the key, as the daemon
				 * answers a first read. */
				q.name[q.name_len < SEG_NAME_FIELD ?
				    q.name_len : 0] = 0;
				if (strcmp(q.name, denied_name) == 0)
					r.status = TC_EACCES;
				else
					segw_key_for(&w, q.name, r.key,
					    &r.key_epoch);
				atomic_fetch_add(&key_requests, 1);
			}
			if (keysrv_mute_after_busy && keysrv_busy_times == 0 &&
			    keysrv_refuse_status == 0) {
				struct pollfd pfd = { .fd = fd,
				    .events = POLLRDHUP };

				pthread_mutex_unlock(&wlock);
				(void)poll(&pfd, 1, 15000);
				close(fd);
				atomic_fetch_add(&keysrv_closed, 1);
				continue;
			}
			if (keysrv_refuse_status != 0 || keysrv_busy_times > 0) {
				sodium_memzero(r.key, sizeof(r.key));
				r.status = keysrv_refuse_status != 0 ?
				    keysrv_refuse_status : TC_EBUSY;
				if (keysrv_refuse_status == 0)
					keysrv_busy_times--;
				(void)send(fd, &r, sizeof(r), MSG_NOSIGNAL);
			} else
				keysrv_send_segment(fd, &r);
			pthread_mutex_unlock(&wlock);
		} else if (q.op == PROTO_OP_KEY && q.name_len <= TC_NAME_MAX) {
			memset(&r, 0, sizeof(r));
			r.magic = PROTO_MAGIC;
			r.version = PROTO_VERSION;
			r.op = q.op;
			q.name[q.name_len < SEG_NAME_FIELD ? q.name_len : 0] = 0;
			if (strcmp(q.name, denied_name) == 0)
				r.status = TC_EACCES;
			else {
				pthread_mutex_lock(&wlock);
				segw_key_for(&w, q.name, r.key, &r.key_epoch);
				pthread_mutex_unlock(&wlock);
			}
			atomic_fetch_add(&key_requests, 1);
			(void)send(fd, &r, sizeof(r), MSG_NOSIGNAL);
		}
		close(fd);
		atomic_fetch_add(&keysrv_closed, 1);
	}
	return NULL;
}

/* Wait (up to 5 s) until the server has closed every connection it took:
 * a client has its reply before the server's close(), so a test counting
 * this process's descriptors waits for this first. */
static inline void
keysrv_idle(void)
{
	int i;

	for (i = 0; i < 5000; i++) {
		if (atomic_load(&keysrv_closed) == atomic_load(&connections))
			return;
		usleep(1000);
	}
	ck_abort_msg("key server still holds a connection after 5 s");
}

static void
keysrv_start(void)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
	    SEG_SOCKET_NAME);
	unlink(sun.sun_path);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	atomic_store(&keysrv_stop, 0);
	ck_assert_int_eq(pthread_create(&keysrv, NULL, keysrv_main, NULL), 0);
}

static void keysrv_end(void);

/* A fresh runtime directory with a segment of nslots slots, and the key
 * server on it. */
static inline void
keysrv_setup(uint32_t nslots)
{
	char err[256];

	ck_assert_int_ge(sodium_init(), 0);
	dir = tu_tmpdir();
	ck_assert_msg(segw_open(&w, dir, nslots, TMAX, err, sizeof(err)) == 0,
	    "%s", err);
	atomic_store(&key_requests, 0);
	atomic_store(&connections, 0);
	atomic_store(&keysrv_closed, 0);
	keysrv_start();
}

static inline void
keysrv_teardown(void)
{
	keysrv_end();
	segw_close(&w, 0);
	tu_rmtree(dir);
	dir = NULL;
}

/* Publish token as name's, valid until CLOCK_BOOTTIME reaches
 * boot_deadline_ns; returns its slot. */
static inline uint32_t
keysrv_publish_until(const char *name, const char *token,
    int64_t boot_deadline_ns)
{
	struct segw_meta m;
	int64_t now = (int64_t)time(NULL);
	uint32_t idx;

	memset(&m, 0, sizeof(m));
	m.token_type = "Bearer";
	m.expires_at = now + (boot_deadline_ns - seg_boottime_ns()) / NS_PER_S;
	m.expires_boot_ns = boot_deadline_ns;
	m.fetched_at = now;
	pthread_mutex_lock(&wlock);
	ck_assert_int_eq(segw_assign(&w, name, &idx), 0);
	ck_assert_int_eq(segw_publish_unchecked(&w, idx, token, strlen(token), &m), 0);
	pthread_mutex_unlock(&wlock);
	return idx;
}

/* Publish token as name's, valid for valid_ns from now (negative: already
 * expired); returns its slot. */
static inline uint32_t
keysrv_publish(const char *name, const char *token, int64_t valid_ns)
{
	return keysrv_publish_until(name, token, seg_boottime_ns() + valid_ns);
}

static void
keysrv_end(void)
{
	char path[512];

	if (lfd == -1)
		return;
	atomic_store(&keysrv_stop, 1);
	pthread_join(keysrv, NULL);
	close(lfd);
	lfd = -1;
	snprintf(path, sizeof(path), "%s/%s", dir, SEG_SOCKET_NAME);
	unlink(path);
}

#endif /* TC_KEYSRV_H */
