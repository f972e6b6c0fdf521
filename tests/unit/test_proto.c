/*
 * test_proto.c - the request side of the control protocol: the table of
 * operations (PROTO_OPS in proto.h) says who may make each request, and
 * proto_req_parse() checks requests by the same table.
 */
#include <string.h>

#include "proto.h"
#include "testutil.h"
#include "tokencache.h"

/* Who may do what is the security model (README, tokencache(7)): a row
 * that loses its check is a hole, so each row is pinned here. */
START_TEST(test_op_rows)
{
	static const struct {
		int op;
		unsigned flags;
	} want[] = {
		{ PROTO_OP_PING, 0 },
		{ PROTO_OP_KEY, PROTO_OPF_NAME | PROTO_OPF_ACCESS },
		{ PROTO_OP_WAIT, PROTO_OPF_NAME | PROTO_OPF_ACCESS },
		{ PROTO_OP_REFRESH, PROTO_OPF_NAME | PROTO_OPF_ACCESS },
		{ PROTO_OP_RELOAD, PROTO_OPF_ADMIN },
		{ PROTO_OP_ROTATE, PROTO_OPF_ADMIN },
		{ PROTO_OP_INVALIDATE, PROTO_OPF_NAME | PROTO_OPF_ADMIN },
		{ PROTO_OP_SEGMENT, PROTO_OPF_SEGMENT },
		{ PROTO_OP_OPEN, PROTO_OPF_NAME | PROTO_OPF_ACCESS |
		    PROTO_OPF_SEGMENT },
		/* The endpoint's addresses and counts: anyone, as anyone
		 * may connect to it; a credential's client_id and
		 * audience: those it admits. */
		{ PROTO_OP_ENDPOINT, 0 },
		{ PROTO_OP_CLIENT, PROTO_OPF_NAME | PROTO_OPF_ACCESS },
		/* Documents with no token or secret: anyone, as list. */
		{ PROTO_OP_METRICS, PROTO_OPF_DOC },
		{ PROTO_OP_STATUS, PROTO_OPF_DOC },
	};
	const struct proto_op_info *info;
	size_t i;

	ck_assert_uint_eq(sizeof(want) / sizeof(want[0]), PROTO_OP_LAST);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		info = proto_op_info(want[i].op);
		ck_assert_ptr_nonnull(info);
		ck_assert_msg(info->flags == want[i].flags, "op %d: flags %#x, "
		    "want %#x", want[i].op, info->flags, want[i].flags);
		ck_assert_ptr_nonnull(info->what);
	}
	ck_assert_ptr_null(proto_op_info(0));
	ck_assert_ptr_null(proto_op_info(PROTO_OP_LAST + 1));
	ck_assert_ptr_null(proto_op_info(-1));
	ck_assert_ptr_null(proto_op_info(0xffff));
}
END_TEST

static int
parse(int op, const char *name)
{
	struct proto_req q, out;
	char got[SEG_NAME_FIELD];
	size_t len = name != NULL ? strlen(name) : 0;

	memset(&q, 0, sizeof(q));
	q.magic = PROTO_MAGIC;
	q.version = PROTO_VERSION;
	q.op = (uint16_t)op;
	q.name_len = (uint32_t)len;
	memcpy(q.name, name != NULL ? name : "", len);
	if (proto_req_parse(&q, sizeof(q), &out, got) != 0)
		return -1;
	ck_assert_int_eq(out.op, op);
	ck_assert_str_eq(got, name != NULL ? name : "");
	return 0;
}

/* A name exactly for the ops whose row says so, and a valid one. */
START_TEST(test_parse_by_row)
{
	int op;

	for (op = PROTO_OP_PING; op <= PROTO_OP_LAST; op++) {
		if (proto_op_info(op)->flags & PROTO_OPF_NAME) {
			ck_assert_int_eq(parse(op, "svc-a.b_c"), 0);
			ck_assert_int_eq(parse(op, NULL), -1);
			ck_assert_int_eq(parse(op, "../etc"), -1);
		} else {
			ck_assert_int_eq(parse(op, NULL), 0);
			ck_assert_int_eq(parse(op, "svc"), -1);
		}
	}
	ck_assert_int_eq(parse(0, NULL), -1);
	ck_assert_int_eq(parse(PROTO_OP_LAST + 1, NULL), -1);
	ck_assert_int_eq(parse(PROTO_OP_LAST + 1, "svc"), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("requests");

	tcase_add_test(tc, test_op_rows);
	tcase_add_test(tc, test_parse_by_row);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
