/*
 * test_ctl_out.c - what list, watch and show print of a slot
 * (tools/ctl_out.c): the time left and the state's colour, one rule for
 * all three.
 */
#include <string.h>

#include "testutil.h"
#include "../../tools/ctl.h"
#include "seg.h"

#define NOW (INT64_C(1000) * NS_PER_S)

/* A slot in state, fetched lifetime seconds before NOW + left, expiring
 * left seconds from NOW (left 0: no expiry). */
static struct seg_slot
slot(uint32_t state, int64_t left, int64_t lifetime, uint32_t failures)
{
	struct seg_slot s;

	memset(&s, 0, sizeof(s));
	s.state = state;
	s.failures = failures;
	if (left != 0) {
		s.expires_boot_ns = NOW + left * NS_PER_S;
		s.plan.fetched_boot_ns = s.expires_boot_ns -
		    lifetime * NS_PER_S;
	}
	return s;
}

START_TEST(test_format_remaining)
{
	struct seg_slot s;
	char buf[32];

	s = slot(TS_PENDING, 0, 0, 0);
	ctl_format_remaining(buf, sizeof(buf), &s, NOW);
	ck_assert_str_eq(buf, "-");
	s = slot(TS_VALID, 3552, 3600, 0);
	ctl_format_remaining(buf, sizeof(buf), &s, NOW);
	ck_assert_str_eq(buf, "59m12s");
	s = slot(TS_VALID, -1, 3600, 0);
	ctl_format_remaining(buf, sizeof(buf), &s, NOW);
	ck_assert_str_eq(buf, "expired");
	s.expires_boot_ns = NOW;
	ctl_format_remaining(buf, sizeof(buf), &s, NOW);
	ck_assert_str_eq(buf, "expired");
}
END_TEST

/* list's rules, which watch now follows too: lost is yellow (watch had
 * red), about to expire is yellow (watch had none), good is green. */
START_TEST(test_state_colour)
{
	struct seg_slot s;

	s = slot(TS_VALID, 3000, 3600, 0);
	ck_assert_str_eq(ctl_state_colour(&s, NOW), CTL_SGR_GREEN);
	s = slot(TS_VALID, 3000, 3600, 2);
	ck_assert_str_eq(ctl_state_colour(&s, NOW), CTL_SGR_YELLOW);
	s = slot(TS_VALID, 299, 3600, 0);
	ck_assert_str_eq(ctl_state_colour(&s, NOW), CTL_SGR_YELLOW);
	/* A short lifetime: a tenth of it, 6 s of 60. */
	s = slot(TS_VALID, 7, 60, 0);
	ck_assert_str_eq(ctl_state_colour(&s, NOW), CTL_SGR_GREEN);
	s = slot(TS_VALID, 5, 60, 0);
	ck_assert_str_eq(ctl_state_colour(&s, NOW), CTL_SGR_YELLOW);
	s = slot(TS_VALID, -1, 3600, 0);
	ck_assert_str_eq(ctl_state_colour(&s, NOW), CTL_SGR_RED);
	s = slot(TS_PENDING, 0, 0, 0);
	ck_assert_str_eq(ctl_state_colour(&s, NOW), CTL_SGR_YELLOW);
	s = slot(TS_LOST, 3000, 3600, 0);
	ck_assert_str_eq(ctl_state_colour(&s, NOW), CTL_SGR_YELLOW);
	s = slot(TS_FAILED, 0, 0, 3);
	ck_assert_str_eq(ctl_state_colour(&s, NOW), CTL_SGR_RED);
	s = slot(TS_EXPIRED, -5, 3600, 0);
	ck_assert_str_eq(ctl_state_colour(&s, NOW), CTL_SGR_RED);
}
END_TEST

static Suite *
ctl_out_suite(void)
{
	Suite *s = suite_create("ctl_out");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_format_remaining);
	tcase_add_test(tc, test_state_colour);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(ctl_out_suite());
}
