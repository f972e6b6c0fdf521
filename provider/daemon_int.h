/*
 * daemon_int.h - tokencached's shared state, internal to provider/: the
 * daemon, its credentials, token endpoints and control connections.  Each
 * file of the daemon has its own header with the contract of its
 * functions; this one has only the structures they share.
 *
 * provider/, one concern per file.  Start and configuration:
 *
 *   main.c         the command line; privilege separation or not
 *   detach.c       leaving the terminal (chdir /, stdio to /dev/null)
 *   privsep.c      the monitor (root, reads the files) and the worker's
 *                  end of it: load requests, signals over a pipe, dropping
 *                  privileges
 *   config_load.c  tokencache.conf's [daemon] keys, loading it all
 *   config_cred.c  a credential file: the one table of credential
 *                  fields, its sections (a chain's [source]s), a
 *                  module's options
 *   config_keys.c  the parsers of credential keys, one per kind of value
 *   config_encode.c  a credential whole: clear, diffs, the encoding for
 *                  the hand-over and the request identity
 *   config_ini.c   the INI reader and its PATH:LINE messages
 *   config_check.c who may own a file; token_url and resource checks;
 *                  reading client_secret_file
 *   config_pack.c  the configuration packed for the monitor's hand-over
 *   config_camunda.c  provider = camunda: the oauth2 fields taken from
 *                  the console's credentials file
 *   config_endpoint.c  the main file's [endpoint]: the local token
 *                  endpoint's listeners and limits
 *   camunda_env.c  that file read as data (also linked by tokencachectl)
 *   runtime_dir.c  the runtime directory, walked and made safely, once
 *   url.c          a token endpoint's URL as it may be shown (no
 *                  userinfo, query or fragment)
 *   log.c          logging to stderr or syslog with sd-daemon priorities
 *   notify.c       sd_notify(3)'s protocol: a datagram to $NOTIFY_SOCKET,
 *                  sent by the monitor (or the only process)
 *
 * Tokens and the shared segment:
 *
 *   tokencache/module.h  the module ABI (installed): what a token
 *                  source module provides, and the tc_mod_* host calls
 *   srcmod.c       modules in the worker: built in or loaded from
 *                  module_dir, configuring credentials, their requests,
 *                  the host's side of the ABI
 *   oauth2.c       the built-in `oauth2` module (camunda's too): the
 *                  client credentials request, discovery, mTLS
 *   discovery.c    an OIDC discovery document, judged
 *   jwt.c          private_key_jwt client assertions (libcrypto)
 *   modules/exec.c the shipped `exec` module (exec.so), built against
 *                  tokencache/module.h alone; exec_doc.c its document
 *   token_parse.c  the token endpoint's reply: JSON, errors, the judgement
 *                  of a failure as permanent or transient
 *   seg_file.c     the segment's life: master key, memfd, persistent
 *                  copy, boot id, open and adopt, close
 *   seg_slot.c     what the daemon writes into slots: assign, publish,
 *                  drop, status, failure, plan, rotate
 *   seg_store.c    the one seqlock write of a slot, and its persistence
 *   seg_key.c      deriving a slot's key (the daemon's alone)
 *   wipe_malloc.c  every block the daemon frees is wiped first
 *   wipe_regs.c    zeroing the vector registers after secrets
 *
 * The running daemon:
 *
 *   daemon.c    the loop: set up, poll, timers, signals
 *   cred.c      a credential's record, bound to its slot in the segment
 *   access.c    who may do what: admin rights, a credential's readers,
 *               and the log of denials
 *   endpoint.c  token endpoints: rate guard, Retry-After hold, probes of
 *               a failing one, the capacity rule, turns, due requests
 *   fetch.c     a fetch's life: start, finish, publish or fail and retry
 *   listen.c    listening sockets: Unix ones in the runtime directory,
 *               TCP on loopback, pausing accept out of descriptors
 *   control.c   the control socket: listen, accept, evict, park unread
 *               segment replies, read requests, send replies
 *   request.c   a control request: the per-user rate, the checks its
 *               row of PROTO_OPS (proto.h) asks for, one handler per op
 *   httpd.c     the local token endpoint: listeners, connections and
 *               their limits, libmicrohttpd in this loop, waiting
 *               requests
 *   httpd_token.c  its requests: a token from the cache (or a wait for
 *               the fetch, or 503), the discovery document, the replies
 *   tokenreq.c  a token request parsed, and the credential it picks
 *   peer.c      who is at the other end of a loopback TCP or Unix
 *               socket
 *   reload.c    a new configuration: what changes (a pure function),
 *               then applying it
 *   status.c    Type=notify: readiness, reloading, stopping and the
 *               status line, sent as they change (readiness.c, the rule
 *               and the line, pure; notify.c, the protocol)
 *   keys.c      key rotation
 *   scheduler.c the policy, pure functions: refresh points, turns,
 *               backoff, the capacity rule, the token bucket
 *   stats.c     the counts kept for metrics and status: attempts by
 *               outcome, latency, the last attempts; the Prometheus text
 *               format's rules
 *   stats_doc.c the documents of PROTO_OP_METRICS and PROTO_OP_STATUS,
 *               sent as sealed memfds
 */
#ifndef TC_DAEMON_INT_H
#define TC_DAEMON_INT_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "config.h"
#include "readiness.h"
#include "srcmod.h"
#include "scheduler.h"
#include "seg_write.h"
#include "stats.h"
#include "token_parse.h"

#define MAX_CONNS        128
#define ACCEPT_BURST     32       /* connections taken in one turn */
#define FILE_CHECK_NS    NS_PER_S
#define CONN_IDLE_NS     (10 * NS_PER_S)
#define CONN_FIRST_NS    (2 * NS_PER_S)   /* to send a first request */
#define CONN_QUIET_NS    (200 * NS_PER_MS) /* silent this long: evictable */
#define CONNS_PER_UID    16     /* a user cannot take every connection */
#define RATE_PER_S       100    /* requests per second per user ... */
#define RATE_BURST       200    /* ... after a burst of this many */
#define RATE_SLOTS       64
#define ACCEPT_PAUSE_NS  NS_PER_S   /* out of descriptors: listen again after */
#define ACCEPT_LOG_NS    (60 * NS_PER_S)  /* ... and say so at most this often */
#define DENY_LOG_NS      (60 * NS_PER_S)  /* a denial logged per user and */
#define DENY_LOG_SLOTS   64               /* ... credential this often */
#define SEG_LOG_NS       (60 * NS_PER_S)  /* a failed segment send, as often */
#define PARKED_PER_UID   4      /* unread segment replies a user may hold */
#define PARKED_MAX       4096   /* ... and all users but root and ours */
#define PARK_CHECK_NS    NS_PER_S  /* parked connections looked at */

/*
 * A token endpoint (token_url), shared by the credentials that use it.
 * Its token bucket keeps the whole host under the service's rate limit
 * (Camunda SaaS blocks an address past about one request a second, and
 * counts failed requests too); its hold honours Retry-After for everyone.
 */
struct endpoint {
	char *url;
	struct tbucket bucket;   /* endpoint_rate after endpoint_burst */
	size_t idx;              /* in d->eps, for run_timers */
	int64_t hold_until_ns;   /* Retry-After: no request before this */
	int used;                /* by the configuration being applied */
	int overloaded;          /* the capacity rule fails (sched_over) */
	uint64_t demand_nano;    /* sched_demand_nano of its credentials */
	size_t nknown;           /* ... those whose lifetime is known */
	uint32_t failures;       /* transient failures in a row, any credential */
	int64_t probe_at_ns;     /* failing: no request before this ... */
	const struct cred *prober; /* ... nor while this one's is in flight
	                          * (sched_probe_ms) */
	uint64_t rate_holds;     /* requests the token bucket delayed */
	uint64_t retry_after_holds; /* Retry-Afters that held it */
};

struct cred {
	char name[SEG_NAME_FIELD];
	struct endpoint *ep;
	const struct cred_conf *conf;   /* into daemon->conf: its src is
	                                 * the module that fetches */
	uid_t *uids;
	size_t nuids;
	gid_t *gids;
	size_t ngids;
	uint32_t slot;
	int in_flight;
	struct tc_mod_req req;   /* in flight: the module's request */
	int64_t req_deadline_ns; /* ... ended as timed out at this time */
	size_t src_at;           /* a chain: the source asked now */
	struct tok_result chain_res; /* ... the failure it will report
	                          * (error "" while none is kept) */
	long chain_status;       /* ... with its HTTP status */
	long chain_retry_after;  /* ... and Retry-After */
	int64_t due_ns;          /* next fetch; INT64_MAX: none planned */
	int64_t need_by_ns;      /* a valid token needs its successor by
	                          * then (see sched_urgency) */
	int64_t sent_ns;         /* when the last request went out, 0: never */
	int64_t fetched_ns;      /* when the current token's request went out */
	int64_t life_ns;         /* the last token's lifetime, 0: unknown */
	int64_t expires_ns;      /* deadline of the published token, 0: none */
	uint32_t failures;
	int permanent;           /* the last failure was permanent */
	char last_error[SEG_SLOT_ERROR];  /* as long as the slot keeps */
	char scope[TOK_SCOPE_MAX]; /* the token's as its server said it, ""
	                          * if it did not or we do not know (one
	                          * adopted from the previous daemon) */
	int rate_held;           /* its due request was counted in
	                          * ep->rate_holds (until it starts) */
	struct cred_stats st;    /* kept across a reload, as c is */
};

struct conn {
	int fd;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
	int waiting;             /* holds a WAIT or REFRESH for `name` */
	int answered;            /* has had a reply: may be evicted */
	int fd_sent;             /* has had its one reply with a descriptor
	                          * (see conn_reply_fd) */
	int64_t accepted_ns;
	uint16_t op;
	char name[SEG_NAME_FIELD];
	int64_t deadline_ns;     /* reply or idle deadline */
};

struct httpd;

struct daemon {
	struct daemon_conf *conf;
	struct cred **creds;
	size_t ncreds;
	struct endpoint **eps;
	size_t neps;
	struct segw seg;
	CURLM *multi;
	int sfd;
	int lfd;
	char sock_path[PATH_MAX];
	struct conn conns[MAX_CONNS];
	int nconns;
	struct parked {          /* an unread segment reply: see conn_park */
		int fd;
		uid_t uid;
	} *parked;
	int nparked;
	int parked_cap;          /* for users other than root and ours */
	int parked_size;         /* the array: twice that, for root and us */
	int64_t next_park_check_ns;
	int stop;
	char *tokbuf;            /* sodium_malloc'd scratch, token_max + 1 */
	int have_admin_gid;
	gid_t admin_gid;
	int64_t next_rotation_ns;  /* INT64_MAX: rotation off */
	int64_t next_file_check_ns; /* of the segment's persistent copy */
	int64_t accept_paused_until_ns;  /* out of descriptors: 0 if not */
	int64_t accept_logged_ns;        /* when that was last logged */
	uint64_t accept_refused;         /* accept() failures since then */
	struct peer_rate {       /* see rate_allow() */
		uid_t uid;
		int used;
		int64_t seen_ns;       /* the user's last request */
		struct tbucket bucket; /* RATE_PER_S after RATE_BURST */
	} rates[RATE_SLOTS];
	struct deny_log {        /* see log_denied() */
		uid_t uid;
		int used;
		int64_t since_ns;      /* when it was last logged */
		uint64_t unlogged;     /* denials since, not logged */
		char what[16];         /* "key", "fetch", "reload" ... */
		char name[SEG_NAME_FIELD];  /* credential, "" for none */
	} denials[DENY_LOG_SLOTS];
	struct {                   /* denials the table had no room for */
		int64_t since_ns;      /* the first one since the last report */
		uint64_t count;
		int nuids;             /* distinct users, up to DENY_LOG_SLOTS */
		uid_t uids[DENY_LOG_SLOTS];
	} deny_over;
	int64_t seg_logged_ns;     /* a segment send last failed, logged */
	uint64_t seg_failed;       /* ... and failures since */
	char conf_error[SEG_ERROR_FIELD];  /* the last reload's, "" if none */
	struct httpd *httpd;       /* the local token endpoint; NULL: off */
	struct {                   /* what the service manager was told
	                            * (status.c) */
		int ready;             /* READY=1 sent */
		int64_t started_ns;    /* daemon_new: the readiness bound
		                        * counts from then */
		int64_t checked_ns;    /* the credentials last looked at */
		int64_t sent_ns;       /* the status line last sent ... */
		char sent[READINESS_STATUS_MAX];  /* ... this one */
		struct readiness_cred *creds;   /* gathered: room for cap */
		size_t cap;
	} svc;
	int64_t started_at;        /* wall time, Unix seconds */
	int64_t next_metrics_ns;   /* metrics_textfile written next, 0: now */
	int metrics_failing;       /* writing it failed last time (logged) */
	uint64_t conns_accepted;   /* control connections, ever */
	uint64_t conns_evicted;    /* ... closed to make room for another */
	struct curl_waitfd *pfds;  /* the loop's poll set (daemon_run) ... */
	struct cred **pfd_creds;   /* ... and whose module descriptors in it */
	size_t pfds_cap;
};

static inline int64_t
now_ns(void)
{
	return seg_boottime_ns();
}

#endif /* TC_DAEMON_INT_H */
