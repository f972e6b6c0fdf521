/*
 * httpd.h - the local token endpoint: OAuth 2.0 token requests from
 * unmodified clients, over HTTP/1.1 on runtime_dir/endpoint.socket and
 * the loopback addresses of [endpoint] listen (httpd.c: listeners,
 * connections and who is at their other end; httpd_token.c: the
 * requests and their replies).  libmicrohttpd parses HTTP; it runs in
 * the daemon's one thread, driven from daemon_run's poll.
 */
#ifndef TC_HTTPD_H
#define TC_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "config.h"

struct cred;
struct daemon;

/* The descriptors httpd_poll_set() may add: the listeners and
 * libmicrohttpd's epoll descriptor. */
#define HTTPD_FDS_MAX   (LISTEN_MAX + 2)

/*
 * Open the endpoint d->conf->endpoint asks for (nothing if it is off):
 * bind runtime_dir/endpoint.socket (0666: who may ask is judged per
 * request) and each listen address, and start libmicrohttpd.  0, or -1
 * with a message in err naming what failed; nothing is left open then.
 */
int httpd_open(struct daemon *d, char *err, size_t errlen);

/* Close every connection and listener; remove the socket.  NULL-safe in
 * the sense that an endpoint that is off has nothing to close. */
void httpd_close(struct daemon *d);

/* The endpoint's descriptors into fds (room for HTTPD_FDS_MAX):
 * listeners polled for input while there is room for a connection, and
 * libmicrohttpd's.  Returns how many. */
int httpd_poll_set(struct daemon *d, struct curl_waitfd *fds);

/* After the poll: accept on the listeners that are ready, then let
 * libmicrohttpd read, answer and write.  fds and n as httpd_poll_set
 * filled them. */
void httpd_ready(struct daemon *d, const struct curl_waitfd *fds, int n);

/* Requests whose wait for a token is over, connections whose client is
 * too slow to send its request, libmicrohttpd's own timeouts; *next
 * lowered to the next such deadline. */
void httpd_timers(struct daemon *d, int64_t now, int64_t *next);

/* c's fetch is over (a token, or a failure): the requests waiting for it
 * are answered.  c NULL: every waiting request is looked at again (a
 * reload may have removed or changed its credential). */
void httpd_wake(struct daemon *d, const struct cred *c);

/* What tokencachectl shows of the endpoint, as "key value" lines into
 * buf (n bytes, NUL-terminated, cut at a line if need be): listen (the
 * TCP addresses), socket, min_lifetime, connections, and the replies by
 * kind; "off" when the endpoint is off. */
void httpd_describe(const struct daemon *d, char *buf, size_t n);

/* The endpoint's replies by HTTP status, into status[] and count[] (n
 * places each, in the order first seen); how many.  0 when it is off. */
size_t httpd_status_counts(const struct daemon *d, unsigned int *status,
    uint64_t *count, size_t n);

/* What a request to the endpoint gives to get cc's token, as
 * "key<TAB>value" lines into buf (n bytes): client_id, "secret required"
 * with an endpoint_secret_file, audience, scope, each resource (a chain:
 * its first source's, as treq_match compares them).  0, or TC_ENOTFOUND
 * (no client_id) or TC_ERANGE (too long for buf) with *why set. */
int httpd_describe_client(const struct cred_conf *cc, char *buf, size_t n,
    const char **why);

/* 1 if a and b differ in what the endpoint was opened with (on or off,
 * listen, max_connections): a reload then restarts it; the rest
 * (min_lifetime, max_connections_per_user) applies as it is. */
int httpd_conf_differs(const struct endpoint_conf *a,
    const struct endpoint_conf *b);

/* A reload changed that: every connection and listener closed, then the
 * endpoint opened as d->conf says (or left off).  A failure to open it
 * (a port taken, say) is logged; the rest of the daemon goes on. */
void httpd_restart(struct daemon *d);

#endif /* TC_HTTPD_H */
