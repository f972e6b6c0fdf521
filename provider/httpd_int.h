/*
 * httpd_int.h - what httpd.c (listeners, connections, libmicrohttpd) and
 * httpd_token.c (requests and replies) share, and nothing else needs.
 */
#ifndef TC_HTTPD_INT_H
#define TC_HTTPD_INT_H

#include <sys/socket.h>
#include <sys/types.h>

#include <limits.h>
#include <stdint.h>

#include <microhttpd.h>

#include "config.h"
#include "scheduler.h"
#include "seg.h"
#include "tokenreq.h"

#define HTTP_FIRST_NS    (10 * NS_PER_S)  /* connected: a request by then */
#define HTTP_IDLE_NS     (30 * NS_PER_S)  /* answered: the next by then */
#define HTTP_SEND_NS     (10 * NS_PER_S)  /* request line read: the rest */
#define HTTP_WAIT_MAX_MS 30000            /* a request waits for a token */
#define HTTP_MEMORY      (32 * 1024)      /* per connection: the request
                                           * line and headers must fit */
#define HTTP_ACCEPT_BURST 32

/* The replies counted, for tokencachectl and the log. */
enum httpd_outcome {
	HO_TOKEN,          /* 200 with a token */
	HO_OTHER_OK,       /* 200 otherwise: the discovery document */
	HO_BAD_REQUEST,    /* a 4xx for the request itself */
	HO_DENIED,         /* 401: the user may not have the credential */
	HO_RATE,           /* 429: the user's rate */
	HO_UNAVAILABLE,    /* 503: no valid token */
	HO_COUNT
};

/* A connection handed to libmicrohttpd, and who is at its other end. */
struct hconn {
	int fd;                  /* -1: a free place */
	uid_t uid;
	gid_t gid;
	gid_t *groups;           /* supplementary groups, malloc'd */
	int ngroups;
	int unix_socket;         /* came through endpoint.socket */
	int in_request;          /* its request is whole: a reply is due,
	                          * however long a token takes */
	int shut;                /* shut down by us: let it go */
	int64_t deadline_ns;     /* to have sent a whole request */
	struct sockaddr_storage local;  /* our end, for discovery */
};

/* A request, from its request line to its reply. */
struct hreq {
	struct hconn *hc;
	struct MHD_Connection *mc;
	int started;             /* the access handler has seen it */
	unsigned char *body;     /* TREQ_BODY_MAX + 1 bytes, wiped */
	size_t body_len;
	int parsed;              /* tr holds the request */
	struct treq tr;
	int counted;             /* against the user's rate */
	int waiting;             /* suspended, in httpd's waiters, until
	                          * `name`'s fetch is over */
	int waited;              /* ... and that wait is over */
	char name[SEG_NAME_FIELD];
	int64_t wait_deadline_ns;
	struct hreq *next_waiter;
};

#define HTTPD_STATUSES 16   /* distinct statuses counted; the endpoint
                             * answers with fewer */

/* Count a reply with HTTP status (httpd.c). */
void httpd_count_status(struct httpd *h, unsigned int status);

struct httpd {
	struct MHD_Daemon *mhd;
	int mhd_fd;              /* its epoll descriptor */
	int lfds[LISTEN_MAX + 1];
	int nlfds;               /* lfds[0]: endpoint.socket */
	char sock_path[PATH_MAX];
	struct hconn *conns;     /* max_conns places */
	uint32_t max_conns;      /* max_connections when it started */
	uint32_t nconns;
	struct hreq *waiters;
	int resumed;             /* a connection resumed since MHD_run */
	int stopping;            /* httpd_close: refuse what is resumed */
	int64_t accept_paused_until_ns;
	uint64_t replies[HO_COUNT];
	struct {                 /* the replies by HTTP status, for metrics */
		unsigned int status;   /* 0: a free row */
		uint64_t count;
	} statuses[HTTPD_STATUSES];
};

/* libmicrohttpd's access handler (httpd_token.c): the daemon is cls. */
enum MHD_Result httpd_access(void *cls, struct MHD_Connection *mc,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **req_cls);

/* Suspend r's connection until its credential's fetch is over or its
 * wait_deadline_ns (httpd_wake, httpd_timers); the handler is called
 * again then, with r->waited set. */
void httpd_wait(struct httpd *h, struct hreq *r);

/* ss, an AF_INET or AF_INET6 address, as "127.0.0.1:PORT" or
 * "[::1]:PORT" into out (n bytes).  0, or -1 for another family or no
 * room. */
int httpd_addr_text(const struct sockaddr_storage *ss, char *out, size_t n);

/* A request is over: out of the waiters, its body wiped, freed. */
void hreq_free(struct httpd *h, struct hreq *r);

#endif /* TC_HTTPD_INT_H */
