/*
 * request.h - the control socket's requests (request.c).
 */
#ifndef TC_REQUEST_H
#define TC_REQUEST_H

struct conn;
struct daemon;
struct proto_req;

/*
 * Handle k's request q, checked by proto_req_parse() (name: its
 * credential name, NUL-terminated, "" for none), by its row of PROTO_OPS:
 * the limits, the credential named, access, then the operation.  Answers
 * k, or parks it until a fetch ends (WAIT, REFRESH).  0, or -1: drop the
 * peer.
 */
int request_handle(struct daemon *d, struct conn *k,
    const struct proto_req *q, const char *name);

#endif /* TC_REQUEST_H */
