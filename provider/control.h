/*
 * control.h - the control socket (control.c).
 */
#ifndef TC_CONTROL_H
#define TC_CONTROL_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct cred;
struct daemon;
struct proto_resp;

/* Bind runtime_dir/socket (under a temporary name, renamed once it
 * listens) into d->lfd.  0, or -1 with a message in err. */
int listen_socket(struct daemon *d, char *err, size_t errlen);

/* How many unread segment replies users other than root and ours may
 * hold at once, from our RLIMIT_NOFILE (see control.c). */
int parked_cap_for_limit(void);

/* Is there room in the table for a new connection (evicting one that
 * may be evicted)?  While not, the listening socket is not polled. */
int conn_room(const struct daemon *d);

/* Accept one connection into the table; 0 when there was none left to
 * accept (or accept failed, which pauses listening: see control.c). */
int accept_conn(struct daemon *d);

/* Read and handle conn i's request; a peer that sent anything malformed,
 * or anything while it waits, is closed. */
void read_conn(struct daemon *d, int i);

/* Close conn i; its place is freed by conn_reap at the next turn, so that
 * indexes stay valid meanwhile. */
void conn_close(struct daemon *d, int i);

/* Compact the table: drop the places of closed connections. */
void conn_reap(struct daemon *d);

/* Answer k with r (magic, version and op filled in here); k is answered
 * and may be evicted.  Wipes *r.  0, or -1 if the send failed. */
int conn_reply(struct conn *k, struct proto_resp *r);

/* Answer k with r and the descriptor fd (PROTO_OPF_FD ops; fd stays the
 * caller's): once per connection, and only after park_room() said yes;
 * an unread reply parks k.  Wipes *r.  0, or -1 if the send failed. */
int conn_reply_fd(struct daemon *d, struct conn *k, struct proto_resp *r,
    int fd);

/* conn_reply_fd() with the read-only segment fd (PROTO_OPF_SEGMENT). */
int conn_reply_segment(struct daemon *d, struct conn *k,
    struct proto_resp *r);

/* May k be sent a reply with a descriptor, within the caps on unread ones
 * (see control.c)?  NULL if so, else the reason. */
const char *park_room(struct daemon *d, const struct conn *k);

/* Answer k with status (0 or a TC_E* code), msg (NULL: none) and
 * generation; k is answered and may be evicted.  0, or -1 if the send
 * failed. */
int conn_reply_status(struct conn *k, int status, const char *msg,
    uint64_t generation);

/* Answer every connection waiting on c: status 0, a token was published
 * (its generation in the reply), else the error with msg. */
void wake_waiters(struct daemon *d, struct cred *c, int status,
    const char *msg);

/* Close the parked connections whose peer read the reply or went. */
void park_sweep(struct daemon *d);

/* Close parked connection i (at exit: all of them). */
void park_drop(struct daemon *d, int i);

#endif /* TC_CONTROL_H */
