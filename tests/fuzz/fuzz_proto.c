/*
 * fuzz_proto.c - control-socket messages, both ways (outside input: any
 * local user may connect; a reader must not trust a fake daemon either).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "tokencache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_req q;
	struct proto_resp r;
	char name[SEG_NAME_FIELD];
	const int no_fd = -1;
	int op;

	if (proto_req_parse(data, size, &q, name) == 0) {
		/* What passes is well formed. */
		if (size != sizeof(q) || q.op < PROTO_OP_PING ||
		    q.op > PROTO_OP_LAST || q.name_len > TC_NAME_MAX ||
		    strlen(name) != q.name_len)
			abort();
		if (q.name_len > 0 && seg_name_valid(name, q.name_len) != 0)
			abort();
		/* A name exactly where the op's row of PROTO_OPS says. */
		if (proto_op_info(q.op) == NULL ||
		    !(proto_op_info(q.op)->flags & PROTO_OPF_NAME) !=
		    (q.name_len == 0))
			abort();
	}
	for (op = PROTO_OP_PING; op <= PROTO_OP_LAST; op++) {
		if (proto_resp_check(data, size, op, NULL, &r) == 0 &&
		    (r.status > 0 || strlen(r.message) >= sizeof(r.message)))
			abort();
		/* Wanted a descriptor, none came: only a refusal passes. */
		if (proto_resp_check(data, size, op, &no_fd, &r) == 0 &&
		    r.status == 0)
			abort();
	}
	return 0;
}
