/*
 * request.h - the control socket's requests (request.c).
 */
#ifndef TC_REQUEST_H
#define TC_REQUEST_H

#include <stdint.h>
#include <sys/types.h>

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

/*
 * May uid make one more request, control socket and local endpoint
 * together?  A token bucket per user: RATE_PER_S requests a second after
 * a burst of RATE_BURST, so that one local user cannot keep the daemon
 * busy.  Root and the daemon's user are not limited.  1 or 0.
 */
int rate_allow(struct daemon *d, uid_t uid, int64_t now);

#endif /* TC_REQUEST_H */
