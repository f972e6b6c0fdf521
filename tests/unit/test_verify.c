/*
 * test_verify.c - `tokencachectl verify`'s checks (tools/ctl_verify_seg.c)
 * on a segment the daemon's writer built, and on copies of it damaged in
 * each way the checks look for.
 */
#include <stddef.h>
#include <time.h>

#include "seg.h"
#include "seg_write.h"
#include "testutil.h"
#include "tokencache.h"
#include "../../tools/ctl_verify.h"

#define TMAX   4096
#define NSLOTS 64

static const char token[] = "verify-secret-token-0123456789abcdef";
static char *dir;
static struct segw w;
static unsigned char *img;	/* the persistent copy, aligned */
static size_t img_size;
static uint32_t idx_a, idx_b, idx_c;

static struct ctl_vopts
opts(void)
{
	struct ctl_vopts o;

	memset(&o, 0, sizeof(o));
	o.now_wall = (int64_t)time(NULL);
	o.now_boot_ns = seg_boottime_ns();
	o.seq_tries = 1;
	return o;
}

static void
setup(void)
{
	char err[256], path[512];
	struct segw_meta m;
	unsigned char *file;
	uint32_t idx_r;

	ck_assert_int_ge(sodium_init(), 0);
	dir = tu_tmpdir();
	ck_assert_msg(segw_open(&w, dir, NSLOTS, TMAX, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(segw_assign(&w, "alpha", &idx_a), 0);
	ck_assert_int_eq(segw_assign(&w, "beta", &idx_b), 0);
	ck_assert_int_eq(segw_assign(&w, "gamma.x", &idx_c), 0);
	ck_assert_int_eq(segw_assign(&w, "gone", &idx_r), 0);
	segw_release(&w, idx_r);	/* a tombstone */
	memset(&m, 0, sizeof(m));
	m.token_type = "Bearer";
	m.expires_at = (int64_t)time(NULL) + 3600;
	m.expires_boot_ns = seg_boottime_ns() + INT64_C(3600000000000);
	m.fetched_at = (int64_t)time(NULL);
	m.next_refresh_at = m.fetched_at + 1800;
	ck_assert_int_eq(segw_publish(&w, idx_a, token, strlen(token), &m), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME);
	file = tu_slurp(path, &img_size);
	ck_assert_ptr_nonnull(file);
	img = aligned_alloc(64, (img_size + 63) & ~(size_t)63);
	ck_assert_ptr_nonnull(img);
	memcpy(img, file, img_size);
	free(file);
}

static void
teardown(void)
{
	free(img);
	img = NULL;
	segw_close(&w, 0);
	tu_rmtree(dir);
	dir = NULL;
}

static struct seg_slot *
slot(uint32_t i)
{
	struct seg_header *h = (void *)img;

	return (struct seg_slot *)(void *)(img + h->slots_offset +
	    (size_t)i * h->slot_size);
}

/* No finding may show the token (nor could it: the copy holds only
 * ciphertext, and no ciphertext byte is ever put into a finding). */
static void
assert_no_token(const struct ctl_vresult *r)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		ck_assert_ptr_null(strstr(r->findings[i].text,
		    "verify-secret"));
}

/* Verify img (size bytes); assert a problem whose text has needle. */
static void
expect_problem(size_t size, const char *needle)
{
	struct ctl_vopts o = opts();
	struct ctl_vresult r;
	size_t i;
	int found = 0;

	ck_assert_int_eq(ctl_verify_segment(img, size, &o, &r), 0);
	for (i = 0; i < r.nfindings; i++)
		if (r.findings[i].level == CTL_V_PROBLEM &&
		    strstr(r.findings[i].text, needle) != NULL)
			found = 1;
	if (!found)
		for (i = 0; i < r.nfindings; i++)
			fprintf(stderr, "finding: %s\n", r.findings[i].text);
	ck_assert_msg(found, "no problem saying \"%s\"", needle);
	assert_no_token(&r);
	ctl_vresult_free(&r);
}

START_TEST(test_good_segment)
{
	struct ctl_vopts o = opts();
	struct ctl_vresult r, cmp;
	struct seg_map live;
	size_t i;

	ck_assert_int_eq(ctl_verify_segment(img, img_size, &o, &r), 0);
	for (i = 0; i < r.nfindings; i++)
		fprintf(stderr, "finding: %s\n", r.findings[i].text);
	ck_assert_uint_eq(r.nproblems, 0);
	ck_assert_int_eq(r.header_ok, 1);
	ck_assert_uint_eq(r.nused, 3);
	ck_assert_uint_eq(r.nreleased, 1);
	ck_assert_uint_eq(r.nempty, NSLOTS - 4);
	ck_assert_uint_eq(r.nnames, 3);
	ck_assert_str_eq(r.names[0], "alpha");
	ck_assert_str_eq(r.names[2], "gamma.x");
	/* The live memfd, through the writer's own view: the same. */
	live = w.view;
	{
		struct ctl_vresult lr;

		o.seq_tries = SEG_READ_TRIES;
		ck_assert_int_eq(ctl_verify_segment(live.base, live.size, &o,
		    &lr), 0);
		ck_assert_uint_eq(lr.nproblems, 0);
		memset(&cmp, 0, sizeof(cmp));
		ck_assert_int_eq(ctl_verify_compare(&r, &lr, &cmp), 0);
		ck_assert_uint_eq(cmp.nproblems, 0);
		/* A name the copy lacks is told. */
		lr.nnames = 2;
		ck_assert_int_eq(ctl_verify_compare(&r, &lr, &cmp), 0);
		ck_assert_uint_eq(cmp.nproblems, 1);
		ck_assert_ptr_nonnull(strstr(cmp.findings[0].text,
		    "gamma.x"));
		lr.nnames = 3;
		ctl_vresult_free(&cmp);
		ctl_vresult_free(&lr);
	}
	ctl_vresult_free(&r);
}
END_TEST

/* A copy left by another daemon: another instance; and one where a
 * name sits in another slot than live. */
START_TEST(test_compare_differs)
{
	struct ctl_vopts o = opts();
	struct ctl_vresult a, b, cmp;
	struct seg_header *h = (void *)img;
	uint32_t next = (idx_b + 1) % NSLOTS;

	ck_assert_int_eq(ctl_verify_segment(img, img_size, &o, &a), 0);
	h->instance_id[0] ^= 1;
	ck_assert_uint_eq(slot(next)->use, SLOT_EMPTY);
	memcpy(slot(next), slot(idx_b), h->slot_size);
	slot(idx_b)->use = SLOT_RELEASED;
	slot(idx_b)->name_len = 0;
	slot(idx_b)->state = 0;
	memset(slot(idx_b)->name, 0, SEG_NAME_FIELD);
	ck_assert_int_eq(ctl_verify_segment(img, img_size, &o, &b), 0);
	ck_assert_uint_eq(b.nproblems, 0);
	memset(&cmp, 0, sizeof(cmp));
	ck_assert_int_eq(ctl_verify_compare(&a, &b, &cmp), 0);
	ck_assert_uint_eq(cmp.nproblems, 2);
	ck_assert_ptr_nonnull(strstr(cmp.findings[0].text,
	    "different instance ids"));
	ck_assert_ptr_nonnull(strstr(cmp.findings[1].text, "\"beta\" is in "
	    "slot"));
	ctl_vresult_free(&cmp);
	ctl_vresult_free(&a);
	ctl_vresult_free(&b);
}
END_TEST

START_TEST(test_bad_magic)
{
	((struct seg_header *)(void *)img)->magic ^= 1;
	expect_problem(img_size, "not a tokencache segment");
}
END_TEST

START_TEST(test_truncated)
{
	expect_problem(img_size - 100, "truncated");
	expect_problem(100, "shorter than the");
}
END_TEST

START_TEST(test_wrong_geometry)
{
	((struct seg_header *)(void *)img)->nslots += 1;
	expect_problem(img_size, "file_size");
	((struct seg_header *)(void *)img)->nslots -= 1;
	((struct seg_header *)(void *)img)->slot_size += 64;
	expect_problem(img_size, "does not match token_max");
}
END_TEST

START_TEST(test_odd_sequence)
{
	slot(idx_b)->seq |= 1;
	expect_problem(img_size, "is odd");
}
END_TEST

START_TEST(test_name_too_long)
{
	slot(idx_b)->name_len = 200;
	expect_problem(img_size, "exceeds the 127 bytes");
	slot(idx_b)->name_len = 2;	/* "be" + 't': no NUL after it */
	expect_problem(img_size, "longer than its recorded length");
	slot(idx_b)->name_len = 4;
	slot(idx_b)->name[1] = ' ';
	expect_problem(img_size, "not a valid credential name");
}
END_TEST

START_TEST(test_ct_len_out_of_bounds)
{
	slot(idx_a)->ct_len = TMAX + 1000;
	expect_problem(img_size, "exceeds the slot's");
	slot(idx_a)->ct_len = 3;
	expect_problem(img_size, "too short");
}
END_TEST

START_TEST(test_behind_empty)
{
	struct seg_header *h = (void *)img;
	uint32_t home = idx_c, to = (idx_c + 2) % NSLOTS;

	/* gamma.x two slots on, its home and the slot between never used:
	 * lookups stop at its home. */
	ck_assert_uint_eq(slot((idx_c + 1) % NSLOTS)->use, SLOT_EMPTY);
	ck_assert_uint_eq(slot(to)->use, SLOT_EMPTY);
	ck_assert_uint_eq((uint32_t)(seg_hash("gamma.x", 7) % NSLOTS), home);
	memcpy(slot(to), slot(home), h->slot_size);
	memset(slot(home), 0, h->slot_size);
	expect_problem(img_size, "\"gamma.x\" is unreachable");
}
END_TEST

START_TEST(test_duplicate)
{
	struct seg_header *h = (void *)img;
	uint32_t next = (idx_c + 1) % NSLOTS;

	ck_assert_uint_eq(slot(next)->use, SLOT_EMPTY);
	memcpy(slot(next), slot(idx_c), h->slot_size);
	expect_problem(img_size, "\"gamma.x\" is also in slot");
}
END_TEST

START_TEST(test_unknown_state_and_use)
{
	slot(idx_b)->state = 9;
	expect_problem(img_size, "unknown state 9");
	slot(idx_b)->use = 7;
	expect_problem(img_size, "unknown use 7");
}
END_TEST

START_TEST(test_tombstone_not_wiped)
{
	uint32_t i;

	for (i = 0; i < NSLOTS; i++)
		if (slot(i)->use == SLOT_RELEASED)
			break;
	ck_assert_uint_lt(i, NSLOTS);
	slot(i)->ct_len = 100;
	expect_problem(img_size, "not wiped");
}
END_TEST

START_TEST(test_expiry_disagrees)
{
	slot(idx_a)->expires_at += 86400;
	expect_problem(img_size, "disagree");
	slot(idx_a)->expires_at = 0;
	expect_problem(img_size, "expiry is unset");
}
END_TEST

START_TEST(test_other_boot_is_a_note)
{
	struct ctl_vopts o = opts();
	struct ctl_vresult r;
	uint8_t other[16];

	memset(other, 0xab, sizeof(other));
	o.boot_id = other;
	slot(idx_a)->expires_at += 86400;	/* not compared then */
	ck_assert_int_eq(ctl_verify_segment(img, img_size, &o, &r), 0);
	ck_assert_uint_eq(r.nproblems, 0);
	ck_assert_uint_eq(r.nnotes, 1);
	ck_assert_ptr_nonnull(strstr(r.findings[0].text, "earlier boot"));
	ctl_vresult_free(&r);
}
END_TEST

/* Every prefix and a byte flipped at many offsets: no crash (the fuzz
 * target does more). */
START_TEST(test_any_bytes)
{
	struct ctl_vopts o = opts();
	struct ctl_vresult r;
	size_t n;

	for (n = 0; n < img_size; n += 97) {
		ck_assert_int_eq(ctl_verify_segment(img, n, &o, &r), 0);
		ctl_vresult_free(&r);
	}
	for (n = 0; n < img_size; n += 61) {
		img[n] ^= 0x5a;
		ck_assert_int_eq(ctl_verify_segment(img, img_size, &o, &r), 0);
		assert_no_token(&r);
		ctl_vresult_free(&r);
		img[n] ^= 0x5a;
	}
}
END_TEST

static Suite *
verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good_segment);
	tcase_add_test(tc, test_compare_differs);
	tcase_add_test(tc, test_bad_magic);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_wrong_geometry);
	tcase_add_test(tc, test_odd_sequence);
	tcase_add_test(tc, test_name_too_long);
	tcase_add_test(tc, test_ct_len_out_of_bounds);
	tcase_add_test(tc, test_behind_empty);
	tcase_add_test(tc, test_duplicate);
	tcase_add_test(tc, test_unknown_state_and_use);
	tcase_add_test(tc, test_tombstone_not_wiped);
	tcase_add_test(tc, test_expiry_disagrees);
	tcase_add_test(tc, test_other_boot_is_a_note);
	tcase_add_test(tc, test_any_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(verify_suite());
}
