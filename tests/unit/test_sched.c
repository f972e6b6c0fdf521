/*
 * test_sched.c - when tokencached refreshes and how it backs off.
 */
#include <stdint.h>

#include "daemon.h"
#include "testutil.h"

START_TEST(test_refresh_point)
{
	uint32_t r;
	int64_t at;

	/* 24 h tokens (Camunda SaaS): between 70 % and 80 % of the life. */
	for (r = 0; r < 5000; r += 7) {
		at = sched_refresh_after_ms(INT64_C(86400000), r);
		ck_assert_int_ge(at, INT64_C(86400000) * 7 / 10);
		ck_assert_int_le(at, INT64_C(86400000) * 8 / 10);
	}
	/* The jitter spreads: not every value the same. */
	ck_assert_int_ne(sched_refresh_after_ms(3600000, 1),
	    sched_refresh_after_ms(3600000, 999));
	/* Tiny lifetimes: never sooner than a second. */
	ck_assert_int_eq(sched_refresh_after_ms(500, 0), 1000);
	ck_assert_int_eq(sched_refresh_after_ms(0, 0), 1000);
	/* Always before expiry for lifetimes over a second. */
	for (r = 0; r < 1000; r++)
		ck_assert_int_lt(sched_refresh_after_ms(8000, r), 8000);
}
END_TEST

START_TEST(test_backoff)
{
	uint32_t n, r;
	int64_t d, maxseen = 0;

	for (n = 1; n < 64; n++) {
		for (r = 0; r < 20000; r += 997) {
			d = sched_backoff_ms(n, 1000, 300000, r);
			ck_assert_int_ge(d, 1000);
			ck_assert_int_le(d, 300000);
			if (n <= 8) {
				/* ceiling doubles: 1 s, 2 s, 4 s ... */
				ck_assert_int_le(d, INT64_C(1000) << (n - 1));
			}
			if (d > maxseen)
				maxseen = d;
		}
	}
	/* The cap is reached, not exceeded. */
	ck_assert_int_gt(maxseen, 250000);
	/* Full jitter: the same attempt gives different delays. */
	ck_assert_int_ne(sched_backoff_ms(10, 1000, 300000, 100),
	    sched_backoff_ms(10, 1000, 300000, 9000));
	/* Huge attempt counts do not overflow. */
	ck_assert_int_le(sched_backoff_ms(UINT32_MAX, 1000, 300000, 10000),
	    300000);
}
END_TEST

/*
 * A restarted daemon adopting a token plans its refresh on CLOCK_BOOTTIME.
 * The slot says, in wall-clock time, expires_at and next_refresh_at; our
 * wall clock may have jumped since (the reader's and daemon's clocks are
 * not consulted here at all), and the boot clock may have jumped ahead
 * (a suspend): neither may move the refresh past the deadline, nor cause
 * more than the one fetch a due refresh is.
 */
START_TEST(test_adopted_refresh)
{
	const int64_t s = INT64_C(1000000000);
	const int64_t wall = INT64_C(1800000000);	/* any: only differences count */
	const int64_t boot = 5000 * s;
	int64_t due;

	/* Fetched at wall/boot, 3600 s token, refresh planned at 2700 s. */
	due = sched_adopted_refresh_ns(wall + 3600, wall + 2700,
	    boot + 3600 * s, boot + 10 * s);
	ck_assert_int_eq(due, boot + 2700 * s);
	/* The same whatever our wall clock reads now: it is not an input.
	 * A suspend of 3000 s (boot clock past the planned point): now. */
	due = sched_adopted_refresh_ns(wall + 3600, wall + 2700,
	    boot + 3600 * s, boot + 3000 * s);
	ck_assert_int_eq(due, boot + 3000 * s);
	/* Suspended past the deadline: now, never the stale plan. */
	due = sched_adopted_refresh_ns(wall + 3600, wall + 2700,
	    boot + 3600 * s, boot + 4000 * s);
	ck_assert_int_eq(due, boot + 4000 * s);
	/* A plan after expiry (the two fields written by different clock
	 * readings across a jump), or none: now. */
	ck_assert_int_eq(sched_adopted_refresh_ns(wall + 3600, wall + 90000,
	    boot + 3600 * s, boot), boot);
	ck_assert_int_eq(sched_adopted_refresh_ns(wall + 3600, 0,
	    boot + 3600 * s, boot), boot);
	/* A refresh planned a day before a far deadline: kept, not later. */
	due = sched_adopted_refresh_ns(wall + 86400 * 365, wall + 86400 * 364,
	    boot + 86400 * 365 * s, boot);
	ck_assert_int_eq(due, boot + 86400 * 364 * s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("schedule");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_refresh_point);
	tcase_add_test(tc, test_backoff);
	tcase_add_test(tc, test_adopted_refresh);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
