/*
 * test_hotpath.c - the lock-free read path of libtokencache: per-thread
 * copies, the coarse expiry check, segments retired under running
 * readers, many handles per thread and many credentials per handle.
 * Keys come from the in-process key service of keysrv.h.
 */
#include <sys/wait.h>

#include "keysrv.h"

#if defined(__SANITIZE_THREAD__)
#define TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN_BUILD 1
#endif
#endif

#define NSLOTS 4096

static void
setup(void)
{
	keysrv_setup(NSLOTS);
}

static void
publish(const char *name, const char *token)
{
	keysrv_publish(name, token, 600 * NS_PER_S);
}

/* The token of generation gen: a reader can tell a wrong or torn one. */
static void
token_for(uint64_t gen, char *buf, size_t len)
{
	snprintf(buf, len, "tok-%llu-%llx", (unsigned long long)gen,
	    (unsigned long long)(gen * 0x9e3779b97f4a7c15ULL));
}

/* Is tok token_for(some generation)? */
static int
token_well_formed(const char *tok)
{
	unsigned long long gen;
	char want[64];

	if (sscanf(tok, "tok-%llu-", &gen) != 1)
		return 0;
	token_for(gen, want, sizeof(want));
	return strcmp(tok, want) == 0;
}

/* Republish name with the token of its next generation. */
static void
bump(const char *name)
{
	struct seg_slot s;
	uint32_t idx;
	char tok[64];

	pthread_mutex_lock(&wlock);
	ck_assert_int_eq(segw_assign(&w, name, &idx), 0);
	ck_assert_int_eq(segw_read(&w, idx, &s), 0);
	pthread_mutex_unlock(&wlock);
	token_for(s.generation + 1, tok, sizeof(tok));
	publish(name, tok);
}

/* The hot path gives what the slow path gave, info included. */
START_TEST(test_hot_matches_slow)
{
	tc_token_info a = TC_TOKEN_INFO_INIT, b = TC_TOKEN_INFO_INIT;
	tc_client *c;
	char buf[TMAX + 1], small[4];
	int i;

	publish("svc", "the-token");
	ck_assert_int_eq(tc_open(&c, dir), 0);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), &a), 0);
	for (i = 0; i < 1000; i++) {
		memset(buf, 0, sizeof(buf));
		ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
		ck_assert_str_eq(buf, "the-token");
	}
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), &b), 0);
	ck_assert_str_eq(buf, "the-token");
	ck_assert_int_eq(a.expires_at, b.expires_at);
	ck_assert_int_eq(a.fetched_at, b.fetched_at);
	ck_assert_uint_eq(a.generation, b.generation);
	ck_assert_uint_eq(a.length, b.length);
	ck_assert_str_eq(a.token_type, b.token_type);
	ck_assert_str_eq(a.error, b.error);
	ck_assert_int_le(b.expires_in_ms, a.expires_in_ms);
	ck_assert_int_gt(b.expires_in_ms, 590000);
	/* Too small a buffer, from a current copy: ERANGE and the length. */
	ck_assert_int_eq(tc_get(c, "svc", small, sizeof(small), &b),
	    TC_ERANGE);
	ck_assert_uint_eq(b.length, 9);
	/* Names that only start like a cached one are other names. */
	ck_assert_int_eq(tc_get(c, "svc2", buf, sizeof(buf), NULL),
	    TC_ENOTFOUND);
	ck_assert_int_eq(tc_get(c, "sv", buf, sizeof(buf), NULL),
	    TC_ENOTFOUND);
	ck_assert_int_eq(tc_get(c, "svc ", buf, sizeof(buf), NULL),
	    TC_EINVAL);
	ck_assert_int_eq(tc_get(c, "svc", buf, sizeof(buf), NULL), 0);
	ck_assert_int_eq(atomic_load(&key_requests), 1);
	tc_close(c);
}
END_TEST

/*
 * Near its deadline a token is judged by the exact clock: no read, with or
 * without info, returns a token whose CLOCK_BOOTTIME deadline had passed
 * before the call, and once it has passed every read says so.
 */
START_TEST(test_never_past_deadline)
{
	/* Long enough for the coarse check to be used for a while. */
	const int64_t life = INT64_C(8500000000);
	tc_client *c;
	tc_token_info info = TC_TOKEN_INFO_INIT;
	char buf[TMAX + 1];
	int64_t deadline, before;
	int r, ok = 0, i;

	deadline = seg_boottime_ns() + life;
	keysrv_publish_until("short", "short-lived", deadline);
	ck_assert_int_eq(tc_open(&c, dir), 0);
	for (i = 0;; i++) {
		before = seg_boottime_ns();
		r = tc_get(c, "short", buf, sizeof(buf),
		    (i & 1) ? &info : NULL);
		if (r == TC_EEXPIRED)
			break;
		ck_assert_int_eq(r, 0);
		ck_assert_int_lt(before, deadline);
		ok++;
		usleep(1000);
	}
	ck_assert_int_ge(seg_boottime_ns(), deadline);
	ck_assert_int_gt(ok, 100);
	ck_assert_int_eq(tc_get(c, "short", buf, sizeof(buf), NULL),
	    TC_EEXPIRED);
	ck_assert_int_eq(tc_get(c, "short", buf, sizeof(buf), &info),
	    TC_EEXPIRED);
	ck_assert_int_eq(info.expires_in_ms, 0);
	tc_close(c);
}
END_TEST

/* Readers on one handle while the writer republishes and, now and then,
 * retires the whole segment and starts a new one. */
#define THREADS 6
static atomic_int stop;
static tc_client *shared;

struct reader_stats {
	long ok, wrong, other;
	int last_other;
};

static void *
reader(void *arg)
{
	struct reader_stats *st = arg;
	tc_token_info info = TC_TOKEN_INFO_INIT;
	char buf[TMAX + 1], want[64];
	long n = 0;
	int r;

	while (!atomic_load(&stop)) {
		if (n++ & 1) {
			r = tc_get(shared, "race", buf, sizeof(buf), &info);
			token_for(info.generation, want, sizeof(want));
			if (r == 0 && strcmp(buf, want) != 0)
				st->wrong++;
		} else {
			r = tc_get(shared, "race", buf, sizeof(buf), NULL);
			if (r == 0 && !token_well_formed(buf))
				st->wrong++;
		}
		if (r == 0)
			st->ok++;
		else if (r != TC_ENOCACHE && r != TC_ENOTFOUND &&
		    r != TC_ENOTOKEN && r != TC_EDECRYPT) {
			/*
			 * Between segments only the above.  TC_EDECRYPT: the
			 * key service already answers for the next segment
			 * (a new master key) while we still read the last.
			 */
			st->other++;
			st->last_other = r;
		}
	}
	return NULL;
}

START_TEST(test_retire_under_readers)
{
	struct reader_stats st[THREADS];
	pthread_t th[THREADS];
	char err[256];
	long ok = 0;
	int i, round, n;

	bump("race");
	ck_assert_int_eq(tc_open(&shared, dir), 0);
	atomic_store(&stop, 0);
	memset(st, 0, sizeof(st));
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, reader, &st[i]),
		    0);
	for (round = 0; round < 20; round++) {
		for (n = 0; n < 200; n++)
			bump("race");
		pthread_mutex_lock(&wlock);
		segw_close(&w, 1);	/* retired: readers must let go */
		ck_assert_msg(segw_open(&w, dir, NSLOTS, TMAX, err,
		    sizeof(err)) == 0, "%s", err);
		pthread_mutex_unlock(&wlock);
		bump("race");
	}
	usleep(20000);
	atomic_store(&stop, 1);
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(st[i].wrong, 0);
		ck_assert_msg(st[i].other == 0, "%ld errors, last %s",
		    st[i].other, tc_strerror(st[i].last_other));
		ok += st[i].ok;
	}
	ck_assert_int_gt(ok, 0);
	tc_close(shared);
}
END_TEST

/* Threads come and go; their copies go with them or with the handle. */
static void *
read_once(void *arg)
{
	char buf[TMAX + 1];

	return (void *)(intptr_t)(tc_get(arg, "svc", buf, sizeof(buf),
	    NULL) == 0 && strcmp(buf, "the-token") == 0);
}

static void *
outlive_handle(void *arg)
{
	atomic_int *phase = arg;
	char buf[TMAX + 1];
	tc_client *c = NULL;
	intptr_t ok;

	ok = tc_get(shared, "svc", buf, sizeof(buf), NULL) == 0;
	atomic_store(phase, 1);
	while (atomic_load(phase) != 2)
		usleep(1000);
	/* shared is closed now; a new handle may even reuse its address. */
	ok = ok && tc_open(&c, dir) == 0 &&
	    tc_get(c, "svc", buf, sizeof(buf), NULL) == 0 &&
	    strcmp(buf, "the-token") == 0;
	tc_close(c);
	return (void *)ok;
}

START_TEST(test_threads_come_and_go)
{
	pthread_t th[16];
	atomic_int phase;
	void *res;
	int i, round;

	publish("svc", "the-token");
	ck_assert_int_eq(tc_open(&shared, dir), 0);
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 16; i++)
			ck_assert_int_eq(pthread_create(&th[i], NULL,
			    read_once, shared), 0);
		for (i = 0; i < 16; i++) {
			ck_assert_int_eq(pthread_join(th[i], &res), 0);
			ck_assert_ptr_eq(res, (void *)1);
		}
	}
	atomic_store(&phase, 0);
	ck_assert_int_eq(pthread_create(&th[0], NULL, outlive_handle, &phase),
	    0);
	while (atomic_load(&phase) != 1)
		usleep(1000);
	tc_close(shared);
	atomic_store(&phase, 2);
	ck_assert_int_eq(pthread_join(th[0], &res), 0);
	ck_assert_ptr_eq(res, (void *)1);
}
END_TEST

/* More handles in one thread than it keeps views for, opened and closed
 * in turns: every read is right. */
START_TEST(test_many_handles)
{
	tc_client *c[20];
	char buf[TMAX + 1];
	int i, round;

	publish("svc", "the-token");
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(tc_open(&c[i], dir), 0);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 20; i++) {
			ck_assert_int_eq(tc_get(c[i], "svc", buf, sizeof(buf),
			    NULL), 0);
			ck_assert_str_eq(buf, "the-token");
		}
		/* Close every other one and open new ones in their place. */
		for (i = round & 1; i < 20; i += 2) {
			tc_close(c[i]);
			ck_assert_int_eq(tc_open(&c[i], dir), 0);
		}
	}
	for (i = 0; i < 20; i++)
		tc_close(c[i]);
}
END_TEST

/* Many credentials through one handle; some change, the rest stay. */
START_TEST(test_many_credentials)
{
	enum { N = 1500 };
	tc_token_info info = TC_TOKEN_INFO_INIT;
	tc_client *c;
	char name[32], buf[TMAX + 1], want[64];
	int i, round;

	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "cred-%05d", i);
		bump(name);
	}
	ck_assert_int_eq(tc_open(&c, dir), 0);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < N; i++) {
			snprintf(name, sizeof(name), "cred-%05d", i);
			ck_assert_int_eq(tc_get(c, name, buf, sizeof(buf),
			    &info), 0);
			token_for(info.generation, want, sizeof(want));
			ck_assert_str_eq(buf, want);
			ck_assert_int_eq(tc_get(c, name, buf, sizeof(buf),
			    NULL), 0);
			ck_assert_str_eq(buf, want);
		}
		for (i = round; i < N; i += 7) {
			snprintf(name, sizeof(name), "cred-%05d", i);
			bump(name);
		}
	}
	ck_assert_int_eq(atomic_load(&key_requests), N);
	tc_close(c);
}
END_TEST

/*
 * fork() while other threads read: the child reads with the handle it
 * inherited, from its main thread and from a new one.  The readers stay
 * on the hot path, which allocates nothing: a fork while another thread
 * is inside malloc() deadlocks the child under AddressSanitizer (its
 * allocator has no fork handlers), whatever the code under test does.
 */
static atomic_int steady_started;

static void *
steady_reader(void *arg)
{
	long *wrong = arg;
	char buf[TMAX + 1];

	if (tc_get(shared, "svc", buf, sizeof(buf), NULL) != 0 ||
	    strcmp(buf, "the-token") != 0)
		(*wrong)++;
	atomic_fetch_add(&steady_started, 1);
	while (!atomic_load(&stop)) {
		if (tc_get(shared, "svc", buf, sizeof(buf), NULL) != 0 ||
		    memcmp(buf, "the-token", 10) != 0)
			(*wrong)++;
	}
	return NULL;
}

START_TEST(test_fork_while_reading)
{
	long wrong[2] = { 0, 0 };
	pthread_t th[2];
	pid_t pid;
	int i, n, status;

	publish("svc", "the-token");
	ck_assert_int_eq(tc_open(&shared, dir), 0);
	atomic_store(&stop, 0);
	atomic_store(&steady_started, 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, steady_reader,
		    &wrong[i]), 0);
	while (atomic_load(&steady_started) < 2)
		usleep(1000);
	for (n = 0; n < 20; n++) {
		pid = fork();
		ck_assert_int_ne(pid, -1);
		if (pid == 0) {
			char buf[TMAX + 1];
			pthread_t t;
			void *res = NULL;
			int ok;

			ok = tc_get(shared, "svc", buf, sizeof(buf), NULL) == 0 &&
			    strcmp(buf, "the-token") == 0;
#ifndef TSAN_BUILD	/* which cannot start threads in such a child */
			ok = ok &&
			    pthread_create(&t, NULL, read_once, shared) == 0 &&
			    pthread_join(t, &res) == 0 && res == (void *)1;
#else
			(void)t;
			(void)res;
#endif
			tc_close(shared);
			_exit(ok ? 0 : 1);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(wrong[i], 0);
	}
	tc_close(shared);
}
END_TEST

static Suite *
hotpath_suite(void)
{
	Suite *s = suite_create("hotpath");
	TCase *tc = tcase_create("reads");

	tcase_add_checked_fixture(tc, setup, keysrv_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_hot_matches_slow);
	tcase_add_test(tc, test_never_past_deadline);
	tcase_add_test(tc, test_retire_under_readers);
	tcase_add_test(tc, test_threads_come_and_go);
	tcase_add_test(tc, test_many_handles);
	tcase_add_test(tc, test_many_credentials);
	tcase_add_test(tc, test_fork_while_reading);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(hotpath_suite());
}
