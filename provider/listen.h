/*
 * listen.h - the daemon's listening sockets (listen.c).
 */
#ifndef TC_LISTEN_H
#define TC_LISTEN_H

#include <stddef.h>

struct daemon;

/*
 * A Unix socket of the given type (SOCK_SEQPACKET, SOCK_STREAM) listening
 * at dir/name, non-blocking, close-on-exec, mode 0666 (who may do what is
 * judged per request): bound as dir/.name and renamed once it listens,
 * so that a client never finds a socket of ours that does not listen yet
 * (one left by a killed daemon refuses it until the rename, just as no
 * socket would).  0 with *fdp and path (pathlen bytes) set, or -1 with a
 * message in err and nothing left behind.
 */
int listen_unix(const char *dir, const char *name, int type, int *fdp,
    char *path, size_t pathlen, char *err, size_t errlen);

/*
 * A TCP socket listening on spec, an [endpoint] listen value (checked
 * again by conf_listen_parse), non-blocking, close-on-exec, IPv6 only for
 * [::1].  0 with *fdp set, or -1 with a message naming spec in err.
 */
int listen_tcp(const char *spec, int *fdp, char *err, size_t errlen);

/* accept() failed with errno EMFILE, ENFILE, ENOBUFS or ENOMEM, the peer
 * still queued: every listening socket (the control socket's, the local
 * endpoint's) is left alone for ACCEPT_PAUSE_NS, and it is logged, at
 * most every ACCEPT_LOG_NS with a count. */
void accept_failed(struct daemon *d);

#endif /* TC_LISTEN_H */
