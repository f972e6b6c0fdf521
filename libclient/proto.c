/*
 * proto.c - checking control-socket messages (both directions).
 *
 * Messages have one fixed size each; anything else is refused whole, like
 * OpenBSD's imsg users check `hdr.len` before looking inside.
 */
#include <string.h>

#include "proto.h"
#include "tokencache.h"

int
tc_req_parse(const void *buf, size_t len, struct tc_req *out,
    char name[SEG_NAME_FIELD])
{
	struct tc_req q;

	if (len != sizeof(q))
		return TC_EPROTO;
	memcpy(&q, buf, sizeof(q));
	if (q.magic != TC_PROTO_MAGIC || q.version != TC_PROTO_VERSION ||
	    q.op < TC_OP_PING || q.op > TC_OP_LAST || q.name_len > TC_NAME_MAX)
		return TC_EPROTO;
	/* Requests about a credential name a valid one; the others none. */
	if (q.op == TC_OP_PING || q.op == TC_OP_RELOAD || q.op == TC_OP_ROTATE) {
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
tc_resp_check(const void *buf, size_t len, int op, struct tc_resp *out)
{
	struct tc_resp r;

	if (len != sizeof(r))
		return TC_EPROTO;
	memcpy(&r, buf, sizeof(r));
	/* A status is 0 or one of our (negative, small) codes. */
	if (r.magic != TC_PROTO_MAGIC || r.version != TC_PROTO_VERSION ||
	    r.op != op || r.status > 0 || r.status < -1000)
		return TC_EPROTO;
	r.message[sizeof(r.message) - 1] = '\0';
	*out = r;
	return 0;
}
