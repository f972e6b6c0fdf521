/*
 * proto.h - the control socket protocol (internal).
 *
 * runtime_dir/socket is an AF_UNIX SOCK_SEQPACKET socket, so every message
 * arrives whole or not at all.  A client sends one struct proto_req per
 * message and gets one struct proto_resp back for each.  Both have a fixed
 * size; the daemon disconnects a peer whose message has any other length,
 * a wrong magic or version, an unknown op, or a name that is not valid.
 * The daemon judges every request by the peer's SO_PEERCRED / SO_PEERGROUPS
 * credentials, never by anything in the message.
 */
#ifndef TC_PROTO_H
#define TC_PROTO_H

#include <stdint.h>
#include <sys/types.h>
#include "seg.h"

#define PROTO_MAGIC   UINT32_C(0x31504354)  /* "TCP1" */
#define PROTO_VERSION 1

enum proto_op {
	PROTO_OP_PING = 1,     /* is the daemon there?  no name */
	PROTO_OP_KEY = 2,      /* key for name at the current epoch */
	PROTO_OP_WAIT = 3,     /* fetch now if no valid token; reply when done */
	PROTO_OP_REFRESH = 4,  /* fetch now even if valid; reply when done */
	PROTO_OP_RELOAD = 5,   /* re-read the configuration (admin) */
	PROTO_OP_ROTATE = 6,   /* new key epoch, every slot re-sealed (admin) */
	PROTO_OP_INVALIDATE = 7, /* drop name's token, fetch anew (admin) */
	PROTO_OP_SEGMENT = 8,  /* the live segment: a read-only fd comes with
	                     * the reply (SCM_RIGHTS); no name */
	PROTO_OP_OPEN = 9,     /* a first read's one round trip: the segment,
	                     * as SEGMENT, and name's key, as KEY (status
	                     * says whether the key is there) */
	PROTO_OP_ENDPOINT = 10, /* the local token endpoint: its addresses and
	                     * counts, as "key value" lines in message
	                     * ("off" alone when it is off); no name */
	PROTO_OP_CLIENT = 11,  /* what a request to the local endpoint gives
	                     * to get name's token: "key<TAB>value" lines
	                     * (client_id, audience, scope, resource) */
	PROTO_OP_METRICS = 12, /* the daemon's metrics: a sealed read-only
	                     * memfd comes with the reply, holding the
	                     * Prometheus text exposition (0.0.4); no name,
	                     * anyone */
	PROTO_OP_STATUS = 13,  /* every credential's state and recent
	                     * attempts: a sealed memfd with a JSON array
	                     * (tokencache(7), STATUS); no name, anyone */
};
#define PROTO_OP_LAST PROTO_OP_STATUS

/*
 * The operations, one row each, the one list of what a request must carry
 * and who may make it.  proto_req_parse() checks requests by it; the
 * daemon's control server (provider/control.c) expands it into its
 * dispatch table, one handler op_<fn> a row, and applies the checks
 * before the handler runs.  Adding an operation is a value in enum
 * proto_op, a row here and its handler.
 *
 * X(op, flags, what, fn): flags are PROTO_OPF_*; what names the op in the
 * daemon's log of denials.
 */
#define PROTO_OPF_NAME    0x1u  /* names a credential (a valid name; the
                                 * others carry none) that must exist */
#define PROTO_OPF_ACCESS  0x2u  /* for callers the credential admits */
#define PROTO_OPF_ADMIN   0x4u  /* for root, the daemon's user, admin_group */
#define PROTO_OPF_SEGMENT 0x8u  /* the reply brings the segment's fd */
#define PROTO_OPF_DOC     0x10u /* a reply with status 0 brings a sealed
                                 * memfd holding a document */
/* A reply that may bring a descriptor: once per connection, capped while
 * unread (provider/control.c). */
#define PROTO_OPF_FD      (PROTO_OPF_SEGMENT | PROTO_OPF_DOC)
#define PROTO_OPS(X) \
	X(PROTO_OP_PING,       0,                                 "ping",      ping) \
	X(PROTO_OP_KEY,        PROTO_OPF_NAME | PROTO_OPF_ACCESS, "key",       key) \
	X(PROTO_OP_WAIT,       PROTO_OPF_NAME | PROTO_OPF_ACCESS, "fetch",     wait) \
	X(PROTO_OP_REFRESH,    PROTO_OPF_NAME | PROTO_OPF_ACCESS, "fetch",     refresh) \
	X(PROTO_OP_RELOAD,     PROTO_OPF_ADMIN,                   "reload",    reload) \
	X(PROTO_OP_ROTATE,     PROTO_OPF_ADMIN,              "rotate-keys",    rotate) \
	X(PROTO_OP_INVALIDATE, PROTO_OPF_NAME | PROTO_OPF_ADMIN,  "invalidate", invalidate) \
	X(PROTO_OP_SEGMENT,    PROTO_OPF_SEGMENT,                 "segment",   segment) \
	X(PROTO_OP_OPEN,       PROTO_OPF_NAME | PROTO_OPF_ACCESS | PROTO_OPF_SEGMENT, \
	                                                          "key",       open) \
	X(PROTO_OP_ENDPOINT,   0,                                 "endpoint",  endpoint) \
	X(PROTO_OP_CLIENT,     PROTO_OPF_NAME | PROTO_OPF_ACCESS, "client",    client) \
	X(PROTO_OP_METRICS,    PROTO_OPF_DOC,                     "metrics",   metrics) \
	X(PROTO_OP_STATUS,     PROTO_OPF_DOC,                     "status",    status)

struct proto_op_info {
	unsigned flags;          /* PROTO_OPF_* */
	const char *what;
};

/* op's row of PROTO_OPS, or NULL if there is no such op. */
const struct proto_op_info *proto_op_info(int op);

struct proto_req {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint32_t timeout_ms;      /* WAIT / REFRESH: how long to wait */
	uint32_t name_len;
	char name[SEG_NAME_FIELD];
};

struct proto_resp {
	uint32_t magic;
	uint16_t version;
	uint16_t op;              /* echoes the request */
	int32_t status;           /* 0 or a TC_E* code */
	uint32_t flags;           /* PING: PROTO_RESP_CONF_* */
	uint64_t key_epoch;       /* KEY: epoch of key */
	uint64_t generation;      /* WAIT / REFRESH: generation published */
	uint8_t key[SEG_KEY_BYTES];
	char message[SEG_ERROR_FIELD];  /* human-readable detail, NUL-ended */
};

/*
 * PING's flags.  CONF_STALE: the configuration on disk did not load at the
 * last reload; the daemon runs the one before, and message says why.
 */
#define PROTO_RESP_CONF_STALE 0x1u

#define PROTO_WAIT_MAX_MS   (10 * 60 * 1000)
#define PROTO_CALL_SLACK_MS 2000   /* a reply may take this much past timeout */

/* Where the daemon and its clients meet unless told otherwise: the
 * daemon's default runtime_dir, the clients' default directory. */
#define PROTO_RUNTIME_DIR "/run/tokencache"

/* The runtime directory clients use: $TOKENCACHE_RUNTIME_DIR (read with
 * secure_getenv) or PROTO_RUNTIME_DIR. */
const char *proto_runtime_dir(void);

/* One request/response exchange with the daemon in runtime_dir, waiting
 * at most timeout_ms for the reply.  Returns 0 with *resp checked (magic,
 * version, op), or TC_ENODAEMON / TC_ETIMEDOUT / TC_EPROTO / TC_ESYSTEM,
 * TC_ENOMEM, or TC_EPEER when the listener is not root, the daemon's user
 * or ours (see peer_trusted in proto_call.c).
 * resp->status is the daemon's verdict; a busy one (TC_EBUSY: rate
 * limited, or too many of our segment replies unread), or a connection
 * closed without a reply (past our user's connection cap), is asked
 * again, after pauses of 5 ms doubling to 200 ms, until timeout_ms, and
 * stands only then. */
int proto_call(const char *runtime_dir, const struct proto_req *req,
    struct proto_resp *resp, int timeout_ms);

/* proto_call() for a reply that brings a file descriptor: with status 0,
 * *fd gets it (close-on-exec), else TC_EPROTO.  fd NULL: proto_call(). */
int proto_call_fd(const char *runtime_dir, const struct proto_req *req,
    struct proto_resp *resp, int timeout_ms, int *fd);

/*
 * Ask the daemon in runtime_dir for its live segment (PROTO_OP_SEGMENT), as a
 * first read does, and map it read-only through seg_map_fd(), which checks
 * the descriptor (sealed, its size) and the header.  0 with *m to be
 * closed with seg_map_close(); else proto_call_fd()'s errors, the daemon's
 * status, or seg_map_fd()'s, with no descriptor left open.  Internal: the
 * library and tokencachectl check.
 */
int seg_map_from_daemon(const char *runtime_dir, int timeout_ms,
    struct seg_map *m);

/*
 * Check a received request of len bytes: size, magic, version, op, and a
 * valid name for the ops that take one (PROTO_OPF_NAME; none for the
 * others).  0 with
 * *out and the NUL-terminated name filled, or TC_EPROTO.
 */
int proto_req_parse(const void *buf, size_t len, struct proto_req *out,
    char name[SEG_NAME_FIELD]);

/*
 * Check a received reply to op: its size, magic, version, op and status,
 * and, when fd is not NULL (the caller wants a descriptor; *fd is the one
 * that came, -1 for none), that a reply with status 0 brought one.  0 with
 * *out filled (message NUL-terminated), or TC_EPROTO.  The library's one
 * check of replies (proto_call_fd), and what the proto fuzz target runs.
 */
int proto_resp_check(const void *buf, size_t len, int op, const int *fd,
    struct proto_resp *out);

/*
 * Send the len-byte message buf on the connected socket sock with one file
 * descriptor attached (SCM_RIGHTS).  0, or -1 with errno set.
 */
int proto_send_with_fd(int sock, const void *buf, size_t len, int fd);

/*
 * Receive one message of at most cap bytes from sock (MSG_DONTWAIT) and
 * the descriptors that came with it.  Exactly one descriptor, in one
 * SCM_RIGHTS message, not cut short (MSG_CTRUNC), is accepted: *fd gets
 * it (close-on-exec).  Anything else that arrived is closed and *fd is -1.
 * Returns the message's length (MSG_TRUNC: its real length), or -1 with
 * errno set.
 */
ssize_t proto_recv_with_fd(int sock, void *buf, size_t cap, int *fd);

/* Fill a request for op on name (NULL for none). */
int proto_req_init(struct proto_req *req, int op, const char *name,
    uint32_t timeout_ms);

#endif /* TC_PROTO_H */
