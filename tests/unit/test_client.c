/*
 * test_client.c - the public API against a real segment written by the
 * daemon's writer half.  Keys come from a minimal key service in a thread
 * that speaks the real protocol (proto.h) and derives keys with the
 * writer's own segw_key_for(); the integration tests cover the same path
 * against the real daemon.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "proto.h"
#include "seg.h"
#include "seg_write.h"
#include "testutil.h"
#include "keysrv.h"
#include "tokencache.h"

static void
setup(void)
{
	keysrv_setup(64);
}

START_TEST(test_arguments_and_strings)
{
	tc_client *c;
	char buf[64];
	int code;

	ck_assert_int_eq(tc_open(NULL, dir), TC_EINVAL);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	ck_assert_int_eq(tc_get(NULL, "x", buf, sizeof(buf), NULL), TC_EINVAL);
	ck_assert_int_eq(tc_get(c, NULL, buf, sizeof(buf), NULL), TC_EINVAL);
	ck_assert_int_eq(tc_get(c, "x", NULL, 0, NULL), TC_EINVAL);
	ck_assert_int_eq(tc_get(c, "", buf, sizeof(buf), NULL), TC_EINVAL);
	ck_assert_int_eq(tc_get(c, "../etc", buf, sizeof(buf), NULL), TC_EINVAL);
	ck_assert_int_eq(tc_get(c, "a b", buf, sizeof(buf), NULL), TC_EINVAL);
	ck_assert_int_eq(tc_refresh(c, NULL, 10), TC_EINVAL);
	tc_close(c);
	tc_close(NULL);
	for (code = TC_EINVAL; code >= TC_EPEER; code--) {
		ck_assert_ptr_nonnull(tc_strerror(code));
		ck_assert_str_ne(tc_strerror(code), "unknown error");
		ck_assert_str_ne(tc_strerror(code), tc_strerror(code + 1));
	}
	ck_assert_str_eq(tc_strerror(-9999), "unknown error");
	ck_assert_str_eq(tc_version(), TC_VERSION_STRING);
	ck_assert_int_ge(TC_VERSION_NUM, 0x000100);
}
END_TEST

START_TEST(test_no_cache)
{
	char *empty = tu_tmpdir(), buf[64];
	tc_client *c;

	ck_assert_int_eq(tc_open(&c, empty), 0);
	ck_assert_int_eq(tc_get(c, "x", buf, sizeof(buf), NULL), TC_ENOCACHE);
	ck_assert_int_eq(tc_get_wait(c, "x", buf, sizeof(buf), NULL, 100),
	    TC_ENODAEMON);
	tc_close(c);
	tu_rmtree(empty);
}
END_TEST

START_TEST(test_roundtrip_and_hot_path)
{
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c;
	char buf[TMAX + 1];
	int i;

	keysrv_publish("zeebe", "token-one", 3600 * NS_PER_S);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	ck_assert_int_eq(tc_get(c, "zeebe", buf, sizeof(buf), &info), 0);
	ck_assert_str_eq(buf, "token-one");
	ck_assert_uint_eq(info.length, 9);
	ck_assert_str_eq(info.token_type, "Bearer");
	ck_assert_int_ge(info.expires_at, (int64_t)time(NULL) + 3590);
	ck_assert_int_gt(info.expires_in_ms, 3590000);
	ck_assert_str_eq(info.error, "");
	ck_assert_int_eq(atomic_load(&key_requests), 1);
	/* The segment and the key came in one round trip (PROTO_OP_OPEN). */
	ck_assert_int_eq(atomic_load(&connections), 1);
	for (i = 0; i < 10000; i++) {
		ck_assert_int_eq(tc_get(c, "zeebe", buf, sizeof(buf), NULL), 0);
		ck_assert_str_eq(buf, "token-one");
	}
	/* A new token: one decrypt, no new key. */
	keysrv_publish("zeebe", "token-two", 3600 * NS_PER_S);
	ck_assert_int_eq(tc_get(c, "zeebe", buf, sizeof(buf), &info), 0);
	ck_assert_str_eq(buf, "token-two");
	ck_assert_int_eq(atomic_load(&key_requests), 1);
	/* A status-only change (a failed refresh) keeps the token. */
	pthread_mutex_lock(&wlock);
	{
		uint32_t idx;

		ck_assert_int_eq(segw_find(&w, "zeebe", &idx), 0);
		segw_set_status(&w, idx, TS_VALID, "HTTP 503", 1, 503, 0, 0);
	}
	pthread_mutex_unlock(&wlock);
	ck_assert_int_eq(tc_get(c, "zeebe", buf, sizeof(buf), &info), 0);
	ck_assert_str_eq(buf, "token-two");
	ck_assert_str_eq(info.error, "HTTP 503");
	tc_close(c);
}
END_TEST

START_TEST(test_states)
{
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c;
	char buf[TMAX + 1];
	uint32_t idx;

	ck_assert_int_eq(tc_open(&c, dir), 0);
	ck_assert_int_eq(tc_get(c, "absent", buf, sizeof(buf), &info),
	    TC_ENOTFOUND);
	pthread_mutex_lock(&wlock);
	ck_assert_int_eq(segw_assign(&w, "pending", &idx), 0);
	ck_assert_int_eq(segw_assign(&w, "failing", &idx), 0);
	segw_set_status(&w, idx, TS_FAILED, "invalid_client: bad secret", 1,
	    401, 0, 0);
	pthread_mutex_unlock(&wlock);
	ck_assert_int_eq(tc_get(c, "pending", buf, sizeof(buf), &info),
	    TC_ENOTOKEN);
	ck_assert_int_eq(tc_get(c, "failing", buf, sizeof(buf), &info),
	    TC_EFAILED);
	ck_assert_str_eq(info.error, "invalid_client: bad secret");
	keysrv_publish("stale", "old-token", -NS_PER_S);
	ck_assert_int_eq(tc_get(c, "stale", buf, sizeof(buf), &info),
	    TC_EEXPIRED);
	ck_assert_int_eq(info.expires_in_ms, 0);
	/* Too small a buffer says how much is needed. */
	keysrv_publish("sized", "0123456789", 60 * NS_PER_S);
	ck_assert_int_eq(tc_get(c, "sized", buf, 10, &info), TC_ERANGE);
	ck_assert_uint_eq(info.length, 10);
	ck_assert_int_eq(tc_get(c, "sized", buf, 11, &info), 0);
	ck_assert_str_eq(buf, "0123456789");
	tc_close(c);
}
END_TEST

/*
 * tc_token_info's ABI rule: the library writes no byte at or past
 * info->size, whatever the path (slow, hot, too small a buffer, no token,
 * expired), fills what fits, and refuses a size of 0.  A caller built
 * against an older header (a struct that ends before error[]) and one
 * built against a newer (a struct with more after it) both get guard
 * bytes back as they were.
 */
#define GUARD 0xA5
struct sized_info {
	tc_token_info info;
	unsigned char after[64];
};

static void
sized_init(struct sized_info *si, size_t size)
{
	memset(si, GUARD, sizeof(*si));
	si->info.size = size;
}

static void
assert_guarded(const struct sized_info *si, size_t size)
{
	const unsigned char *p = (const unsigned char *)si;
	size_t i;

	ck_assert_uint_eq(si->info.size, size);
	/* The size member is the caller's, whatever it says. */
	for (i = size > sizeof(size) ? size : sizeof(size); i < sizeof(*si);
	    i++)
		ck_assert_msg(p[i] == GUARD, "byte %zu of a %zu-byte "
		    "tc_token_info written", i, size);
}

START_TEST(test_info_size)
{
	const size_t old = offsetof(tc_token_info, error);
	const size_t sizes[] = { old, sizeof(tc_token_info),
	    sizeof(tc_token_info) + 32, offsetof(tc_token_info, expires_at) };
	struct sized_info si;
	tc_client *c;
	char buf[TMAX + 1];
	uint32_t idx;
	size_t k;
	int i;

	keysrv_publish("svc", "sized-token", 60 * NS_PER_S);
	keysrv_publish("stale", "old-token", -NS_PER_S);
	pthread_mutex_lock(&wlock);
	ck_assert_int_eq(segw_assign(&w, "pending", &idx), 0);
	pthread_mutex_unlock(&wlock);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		ck_assert_int_eq(tc_open(&c, dir), 0);
		/* The first read takes the slow path, the next the hot one. */
		for (i = 0; i < 3; i++) {
			sized_init(&si, sizes[k]);
			ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf),
			    &si.info), 0);
			assert_guarded(&si, sizes[k]);
			if (sizes[k] >= old) {
				ck_assert_uint_eq(si.info.length, 11);
				ck_assert_str_eq(si.info.token_type, "Bearer");
				ck_assert_int_gt(si.info.expires_in_ms, 50000);
			}
			if (sizes[k] > old)
				ck_assert_str_eq(si.info.error, "");
		}
		sized_init(&si, sizes[k]);
		ck_assert_int_eq(tc_get(c, "svc", buf, 5, &si.info),
		    TC_ERANGE);
		assert_guarded(&si, sizes[k]);
		if (sizes[k] >= old)
			ck_assert_uint_eq(si.info.length, 11);
		sized_init(&si, sizes[k]);
		ck_assert_int_eq(tc_get(c, "pending", buf, sizeof(buf),
		    &si.info), TC_ENOTOKEN);
		assert_guarded(&si, sizes[k]);
		sized_init(&si, sizes[k]);
		ck_assert_int_eq(tc_get_wait(c, "stale", buf, sizeof(buf),
		    &si.info, 0), TC_EEXPIRED);
		assert_guarded(&si, sizes[k]);
		tc_close(c);
	}
	/* No size at all: refused, nothing written. */
	ck_assert_int_eq(tc_open(&c, dir), 0);
	for (i = 0; i < 2; i++) {
		sized_init(&si, 0);
		ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf),
		    &si.info), TC_EINVAL);
		assert_guarded(&si, 0);
		ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
	}
	tc_close(c);
}
END_TEST

/*
 * Programs built against 0.1.0 pass tc_token_info without its size; the
 * TOKENCACHE_0.1 versions of tc_get and tc_get_wait (tc_get_v0_1 and
 * tc_get_wait_v0_1 in the library, hidden, reached here through the
 * static library) fill that struct and nothing past it.
 */
struct info_0_1 {
	int64_t expires_at, expires_in_ms, fetched_at;
	uint64_t generation;
	size_t length;
	char token_type[TC_TYPE_MAX];
	char error[TC_ERROR_MAX];
	unsigned char after[64];
};
int tc_get_v0_1(tc_client *c, const char *name, char *buf, size_t buflen,
    struct info_0_1 *old);
int tc_get_wait_v0_1(tc_client *c, const char *name, char *buf,
    size_t buflen, struct info_0_1 *old, int timeout_ms);

START_TEST(test_info_0_1)
{
	struct info_0_1 o;
	tc_client *c;
	char buf[TMAX + 1];
	size_t i;
	int k;

	keysrv_publish("svc", "old-abi-token", 60 * NS_PER_S);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	for (k = 0; k < 3; k++) {
		memset(&o, GUARD, sizeof(o));
		ck_assert_int_eq(k < 2 ? tc_get_v0_1(c, "svc", buf,
		    sizeof(buf), &o) : tc_get_wait_v0_1(c, "svc", buf,
		    sizeof(buf), &o, 1000), 0);
		ck_assert_str_eq(buf, "old-abi-token");
		ck_assert_uint_eq(o.length, 13);
		ck_assert_str_eq(o.token_type, "Bearer");
		ck_assert_str_eq(o.error, "");
		ck_assert_int_gt(o.expires_in_ms, 50000);
		ck_assert_int_gt(o.expires_at, 0);
		for (i = 0; i < sizeof(o.after); i++)
			ck_assert_uint_eq(o.after[i], GUARD);
	}
	/* An error that leaves info alone leaves the old struct alone. */
	memset(&o, GUARD, sizeof(o));
	ck_assert_int_eq(tc_get_v0_1(c, "no/such name", buf, sizeof(buf),
	    &o), TC_EINVAL);
	for (i = 0; i < sizeof(o); i++)
		ck_assert_uint_eq(((unsigned char *)&o)[i], GUARD);
	ck_assert_int_eq(tc_get_v0_1(c, "svc", buf, sizeof(buf), NULL), 0);
	tc_close(c);
}
END_TEST

START_TEST(test_access_denied_and_no_daemon)
{
	tc_client *c;
	char buf[TMAX + 1];

	keysrv_publish(denied_name, "private-token", 60 * NS_PER_S);
	keysrv_publish("late", "late-token", 60 * NS_PER_S);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	ck_assert_int_eq(tc_get(c, denied_name, buf, sizeof(buf), NULL),
	    TC_EACCES);
	keysrv_end();
	ck_assert_int_eq(tc_get(c, "late", buf, sizeof(buf), NULL),
	    TC_ENODAEMON);
	tc_close(c);
}
END_TEST

/*
 * Token bytes outside 0x21-0x7E, as a fake daemon or a hostile OAuth
 * server could put them in the segment: header injection (CR LF), terminal
 * escapes, space, tab, DEL, bytes above 0x7E.  Never handed out, the
 * caller's buffer untouched; a good token under the same name afterwards
 * is served.
 */
START_TEST(test_forged_token_bytes)
{
	static const char *const forged[] = {
		"abc\r\nX-Injected: yes\r\n",
		"tok\nX-Injected:yes",
		"\x1b]0;owned\x07tok",
		"\x1b[2Jtok",
		"has space",
		"tab\there",
		"del\x7f",
		"high\xc3\xa9",
		"\xff",
		"\x01",
	};
	tc_client *c;
	tc_token_info info = TC_TOKEN_INFO_INIT;
	char buf[TMAX + 1], name[32];
	size_t i;

	ck_assert_int_eq(tc_open(&c, dir), 0);
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		snprintf(name, sizeof(name), "forged%zu", i);
		keysrv_publish(name, forged[i], 60 * NS_PER_S);
		memset(buf, 'Z', sizeof(buf));
		ck_assert_msg(tc_get(c, name, buf, sizeof(buf), NULL) ==
		    TC_EBADTOKEN, "forged token %zu", i);
		ck_assert_msg(buf[0] == 'Z' && buf[TMAX] == 'Z',
		    "buffer written for forged token %zu", i);
		ck_assert_int_eq(tc_get(c, name, buf, sizeof(buf), &info),
		    TC_EBADTOKEN);
		/* A good one under the same name is served. */
		keysrv_publish(name, "good-token~+/=.", 60 * NS_PER_S);
		ck_assert_int_eq(tc_get(c, name, buf, sizeof(buf), NULL), 0);
		ck_assert_str_eq(buf, "good-token~+/=.");
	}
	/* The whole visible range is fine. */
	for (i = 0; i < 94; i++)
		buf[i] = (char)(0x21 + i);
	buf[94] = '\0';
	keysrv_publish("visible", buf, 60 * NS_PER_S);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(tc_get(c, "visible", buf, sizeof(buf), NULL), 0);
	ck_assert_int_eq(strlen(buf), 94);
	ck_assert_int_eq(buf[0], '!');
	ck_assert_int_eq(buf[93], '~');
	tc_close(c);
	ck_assert_str_ne(tc_strerror(TC_EBADTOKEN), "unknown error");
}
END_TEST

/*
 * A first read the daemon turns away before it looks at the request
 * (rate limited: TC_EBUSY, no segment descriptor) is reported as that,
 * not as a malformed reply; once the daemon answers again, it is served.
 */
START_TEST(test_rate_limited_first_read)
{
	tc_client *c;
	char buf[TMAX + 1];

	keysrv_publish("svc", "limited-token", 60 * NS_PER_S);
	pthread_mutex_lock(&wlock);
	keysrv_refuse_status = TC_EBUSY;
	pthread_mutex_unlock(&wlock);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	/* Busy to the end of the call's deadline: busy, said as such. */
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), TC_EBUSY);
	pthread_mutex_lock(&wlock);
	keysrv_refuse_status = TC_EACCES;
	pthread_mutex_unlock(&wlock);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), TC_EACCES);
	pthread_mutex_lock(&wlock);
	keysrv_refuse_status = 0;
	pthread_mutex_unlock(&wlock);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
	ck_assert_str_eq(buf, "limited-token");
	tc_close(c);
}
END_TEST

/*
 * Told busy, then not answered before the deadline (the daemon slow under
 * load): the answer that stands is busy, not "timed out", which would say
 * the daemon does not answer at all.  Fails with the timeout passed on
 * (TC_ETIMEDOUT), as an ASan run on a loaded machine once showed for
 * test_rate_limited_first_read.
 */
START_TEST(test_busy_then_silent_is_busy)
{
	tc_client *c;
	char buf[TMAX + 1];

	keysrv_publish("svc", "slow-token", 60 * NS_PER_S);
	pthread_mutex_lock(&wlock);
	keysrv_busy_times = 1;
	keysrv_mute_after_busy = 1;
	pthread_mutex_unlock(&wlock);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), TC_EBUSY);
	pthread_mutex_lock(&wlock);
	keysrv_mute_after_busy = 0;
	pthread_mutex_unlock(&wlock);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
	ck_assert_str_eq(buf, "slow-token");
	tc_close(c);
}
END_TEST

/*
 * Busy is "not now": a first read told so (a service starting many
 * processes at once, past the daemon's count of a user's unread segment
 * replies) asks again within its deadline and gets the token.  Fails with
 * busy taken as final (TC_EBUSY after one connection).
 */
START_TEST(test_busy_first_read_retried)
{
	tc_client *c;
	char buf[TMAX + 1];
	int before;

	keysrv_publish("svc", "after-busy-token", 60 * NS_PER_S);
	pthread_mutex_lock(&wlock);
	keysrv_busy_times = 3;
	pthread_mutex_unlock(&wlock);
	before = atomic_load(&connections);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
	ck_assert_str_eq(buf, "after-busy-token");
	/* Three busy answers, then the one that counts. */
	ck_assert_int_eq(atomic_load(&connections) - before, 4);
	pthread_mutex_lock(&wlock);
	ck_assert_int_eq(keysrv_busy_times, 0);
	pthread_mutex_unlock(&wlock);
	tc_close(c);
}
END_TEST

START_TEST(test_segment_replaced)
{
	tc_client *c;
	char buf[TMAX + 1], err[256];

	keysrv_publish("svc", "first-daemon-token", 60 * NS_PER_S);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
	ck_assert_str_eq(buf, "first-daemon-token");
	/* The daemon retires the segment and its key; a new one starts. */
	pthread_mutex_lock(&wlock);
	segw_close(&w, 1);
	ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)), 0);
	pthread_mutex_unlock(&wlock);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), TC_ENOTFOUND);
	keysrv_publish("svc", "second-daemon-token", 60 * NS_PER_S);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
	ck_assert_str_eq(buf, "second-daemon-token");
	/*
	 * Replaced without being retired (the runtime directory was wiped
	 * under a stopped daemon): the reader notices once its answer is
	 * not a token, and re-opens.
	 */
	keysrv_publish("short", "short-lived", 1 * NS_PER_S);
	ck_assert_int_eq(tc_get(c, "short", buf, sizeof(buf), NULL), 0);
	pthread_mutex_lock(&wlock);
	segw_close(&w, 0);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -f '%s/%s' '%s/%s'", dir,
		    SEG_FILE_NAME, dir, SEG_KEY_NAME);
		ck_assert_int_eq(system(cmd), 0);
	}
	ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)), 0);
	pthread_mutex_unlock(&wlock);
	keysrv_publish("short", "third-daemon-token", 60 * NS_PER_S);
	sleep(2);	/* the old mapping's token expires */
	ck_assert_int_eq(tc_get(c, "short", buf, sizeof(buf), NULL), 0);
	ck_assert_str_eq(buf, "third-daemon-token");
	tc_close(c);
}
END_TEST

/* A daemon that does not accept: tc_get gives up in bounded time. */
START_TEST(test_daemon_not_accepting)
{
	struct sockaddr_un sun;
	tc_client *c;
	char buf[TMAX + 1];
	int fds[8], i, n = 0, r;
	time_t t0;

	keysrv_end();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
	    SEG_SOCKET_NAME);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	/* Fill the backlog. */
	for (i = 0; i < 8; i++) {
		fds[i] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
		if (connect(fds[i], (struct sockaddr *)&sun, sizeof(sun)) == 0)
			n++;
	}
	keysrv_publish("stuck", "never-read", 60 * NS_PER_S);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	t0 = time(NULL);
	r = tc_get(c, "stuck", buf, sizeof(buf), NULL);
	ck_assert_int_eq(r, TC_ETIMEDOUT);
	ck_assert_int_le(time(NULL) - t0, 10);
	tc_close(c);
	for (i = 0; i < 8; i++)
		close(fds[i]);
	close(lfd);
	lfd = -1;
	(void)n;
}
END_TEST

START_TEST(test_fork)
{
	tc_client *c;
	char buf[TMAX + 1];
	pid_t pid;
	int st;

	keysrv_publish("forked", "fork-token", 60 * NS_PER_S);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	ck_assert_int_eq(tc_get(c, "forked", buf, sizeof(buf), NULL), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		int ok = tc_get(c, "forked", buf, sizeof(buf), NULL) == 0 &&
		    strcmp(buf, "fork-token") == 0;

		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	tc_close(c);
}
END_TEST

/* Reader threads share one handle while the writer republishes. */
#define THREADS 8
static atomic_int race_stop;
static tc_client *shared;

static void
token_for(uint64_t gen, char *buf)
{
	snprintf(buf, 64, "tok-%llu-%llx", (unsigned long long)gen,
	    (unsigned long long)(gen * 0x9e3779b97f4a7c15ULL));
}

static void *
reader(void *arg)
{
	long *wrong = arg;
	tc_token_info info = TC_TOKEN_INFO_INIT;
	char buf[TMAX + 1], want[64];

	while (!atomic_load(&race_stop)) {
		if (tc_get(shared, "race", buf, sizeof(buf), &info) != 0) {
			(*wrong)++;
			continue;
		}
		token_for(info.generation, want);
		if (strcmp(buf, want) != 0)
			(*wrong)++;
	}
	return NULL;
}

START_TEST(test_threads_while_writing)
{
	pthread_t th[THREADS];
	long wrong[THREADS];
	struct seg_slot s;
	char tok[64];
	uint32_t idx;
	long total = 0;
	int i, n;

	pthread_mutex_lock(&wlock);
	ck_assert_int_eq(segw_assign(&w, "race", &idx), 0);
	pthread_mutex_unlock(&wlock);
	ck_assert_int_eq(segw_read(&w, idx, &s), 0);
	token_for(s.generation + 1, tok);
	keysrv_publish("race", tok, 600 * NS_PER_S);
	ck_assert_int_eq(tc_open(&shared, dir), 0);
	atomic_store(&race_stop, 0);
	for (i = 0; i < THREADS; i++) {
		wrong[i] = 0;
		pthread_create(&th[i], NULL, reader, &wrong[i]);
	}
	for (n = 0; n < 3000; n++) {
		ck_assert_int_eq(segw_read(&w, idx, &s), 0);
		token_for(s.generation + 1, tok);
		keysrv_publish("race", tok, 600 * NS_PER_S);
	}
	atomic_store(&race_stop, 1);
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		total += wrong[i];
	}
	ck_assert_int_eq(total, 0);
	tc_close(shared);
}
END_TEST


/* How many descriptors this process has open. */
static int
open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/* A sealed or unsealed memfd with a copy of the live segment, n bytes. */
static int
copy_segment(size_t n, int seal)
{
	int fd = memfd_create("copy", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)n), 0);
	ck_assert_int_eq(pwrite(fd, w.base, n < w.size ? n : w.size, 0),
	    (ssize_t)(n < w.size ? n : w.size));
	if (seal)
		ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK |
		    F_SEAL_GROW), 0);
	return fd;
}

/* What the daemon sends with PROTO_OP_SEGMENT is checked; anything wrong is
 * an error, never a mapping, and no descriptor is left behind. */
START_TEST(test_segment_fd_checked)
{
	struct {
		size_t size;
		int seal, nfds, want;
	} cases[] = {
		{ 0, 0, 0, TC_EPROTO },		/* no fd at all */
		{ 0, 1, 2, TC_EPROTO },		/* two in one message */
		{ 0, 0, 1, TC_ECORRUPT },	/* not sealed */
		{ 4096, 1, 1, TC_ECORRUPT },	/* sealed, too small */
		{ 1, 1, 1, TC_ECORRUPT },	/* sealed, too large */
		{ 0, 1, 1, 0 },			/* a good one */
	};
	tc_client *c;
	char buf[TMAX + 1];
	size_t i;
	int before, fd;

	keysrv_publish("svc", "checked-token", 60 * NS_PER_S);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].size == 1 ? w.size + 4096 :
		    cases[i].size == 0 ? w.size : cases[i].size;

		fd = copy_segment(n, cases[i].seal);
		keysrv_idle();
		before = open_fds();
		pthread_mutex_lock(&wlock);
		keysrv_seg_fd = fd;
		keysrv_seg_nfds = cases[i].nfds;
		pthread_mutex_unlock(&wlock);
		ck_assert_int_eq(tc_open(&c, dir), 0);
		ck_assert_msg(tc_get(c, "svc", buf, sizeof(buf), NULL) ==
		    cases[i].want, "case %zu", i);
		if (cases[i].want == 0)
			ck_assert_str_eq(buf, "checked-token");
		tc_close(c);
		keysrv_idle();
		ck_assert_int_eq(open_fds(), before);
		close(fd);
	}
	keysrv_seg_fd = -1;
	keysrv_seg_nfds = 1;
}
END_TEST

/*
 * The one reply check (proto_resp_check, which proto_call_fd uses and the
 * proto fuzz target runs): a reply that should bring a descriptor and
 * brought none is refused when it says yes, taken when it refuses.
 */
START_TEST(test_resp_check_descriptor)
{
	struct proto_resp in, out;
	const int none = -1, some = 7;

	memset(&in, 0, sizeof(in));
	in.magic = PROTO_MAGIC;
	in.version = PROTO_VERSION;
	in.op = PROTO_OP_SEGMENT;
	ck_assert_int_eq(proto_resp_check(&in, sizeof(in), PROTO_OP_SEGMENT,
	    NULL, &out), 0);
	ck_assert_int_eq(proto_resp_check(&in, sizeof(in), PROTO_OP_SEGMENT,
	    &some, &out), 0);
	ck_assert_int_eq(proto_resp_check(&in, sizeof(in), PROTO_OP_SEGMENT,
	    &none, &out), TC_EPROTO);
	in.status = TC_EBUSY;
	ck_assert_int_eq(proto_resp_check(&in, sizeof(in), PROTO_OP_SEGMENT,
	    &none, &out), 0);
	ck_assert_int_eq(out.status, TC_EBUSY);
	/* The older checks still hold. */
	ck_assert_int_eq(proto_resp_check(&in, sizeof(in), PROTO_OP_OPEN,
	    NULL, &out), TC_EPROTO);
	ck_assert_int_eq(proto_resp_check(&in, sizeof(in) - 1,
	    PROTO_OP_SEGMENT, NULL, &out), TC_EPROTO);
}
END_TEST

/*
 * A reader of a dead daemon's segment keeps its token while no daemon
 * runs, and moves to the next daemon's segment without waiting for its
 * token to expire: at once when the old segment shows no token, else on
 * its periodic visit to the slow path.
 */
/* A reader that has read "old-daemon-token" from a daemon that then
 * stopped (not retired); none runs now. */
static tc_client *
reader_of_stopped_daemon(void)
{
	tc_client *c;
	char buf[TMAX + 1];

	keysrv_publish("svc", "old-daemon-token", 600 * NS_PER_S);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
	keysrv_end();
	pthread_mutex_lock(&wlock);
	segw_close(&w, 0);
	pthread_mutex_unlock(&wlock);
	return c;
}

START_TEST(test_moves_to_new_segment)
{
	tc_client *c = reader_of_stopped_daemon();
	char buf[TMAX + 1], err[256];
	int i, r;

	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
		ck_assert_str_eq(buf, "old-daemon-token");
	}
	/* A new daemon adopts the copy and publishes a new token. */
	ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)), 0);
	ck_assert_int_eq(w.adopted, 1);
	keysrv_start();
	keysrv_publish("svc", "new-daemon-token", 600 * NS_PER_S);
	/* Within the revisit period (5 s) plus a check period, with room. */
	for (i = 0; i < 200; i++) {
		r = tc_get(c, "svc", buf, sizeof(buf), NULL);
		ck_assert_int_eq(r, 0);
		if (strcmp(buf, "new-daemon-token") == 0)
			break;
		ck_assert_str_eq(buf, "old-daemon-token");
		usleep(50000);
	}
	ck_assert_str_eq(buf, "new-daemon-token");
	tc_close(c);
}
END_TEST

/*
 * A new daemon that could not adopt the old segment (another geometry)
 * and has not fetched yet: a reader keeps the valid token it has, rather
 * than trading it for "no token fetched yet", and moves over once the new
 * segment has a token.
 */
START_TEST(test_keeps_token_until_new_segment_has_one)
{
	tc_client *c = reader_of_stopped_daemon();
	char buf[TMAX + 1], err[256];
	uint32_t idx;
	int i, r;

	pthread_mutex_lock(&wlock);
	ck_assert_int_eq(segw_open(&w, dir, 32, TMAX, err, sizeof(err)), 0);
	ck_assert_int_eq(w.adopted, 0);
	ck_assert_int_eq(segw_assign(&w, "svc", &idx), 0);
	segw_set_status(&w, idx, TS_PENDING, "", 0, 0, 0, time(NULL));
	pthread_mutex_unlock(&wlock);
	keysrv_start();
	/* Past the revisit period (5 s) and a check period. */
	for (i = 0; i < 140; i++) {
		r = tc_get(c, "svc", buf, sizeof(buf), NULL);
		ck_assert_msg(r == 0, "read %d: %s", i, tc_strerror(r));
		ck_assert_str_eq(buf, "old-daemon-token");
		usleep(50000);
	}
	keysrv_publish("svc", "new-daemon-token", 600 * NS_PER_S);
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
		if (strcmp(buf, "new-daemon-token") == 0)
			break;
		usleep(50000);
	}
	ck_assert_str_eq(buf, "new-daemon-token");
	tc_close(c);
}
END_TEST

static Suite *
client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(tc, setup, keysrv_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_arguments_and_strings);
	tcase_add_test(tc, test_no_cache);
	tcase_add_test(tc, test_roundtrip_and_hot_path);
	tcase_add_test(tc, test_states);
	tcase_add_test(tc, test_info_size);
	tcase_add_test(tc, test_info_0_1);
	tcase_add_test(tc, test_access_denied_and_no_daemon);
	tcase_add_test(tc, test_forged_token_bytes);
	tcase_add_test(tc, test_rate_limited_first_read);
	tcase_add_test(tc, test_busy_first_read_retried);
	tcase_add_test(tc, test_busy_then_silent_is_busy);
	tcase_add_test(tc, test_segment_replaced);
	tcase_add_test(tc, test_segment_fd_checked);
	tcase_add_test(tc, test_resp_check_descriptor);
	tcase_add_test(tc, test_moves_to_new_segment);
	tcase_add_test(tc, test_keeps_token_until_new_segment_has_one);
	tcase_add_test(tc, test_daemon_not_accepting);
	tcase_add_test(tc, test_fork);
	tcase_add_test(tc, test_threads_while_writing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(client_suite());
}
