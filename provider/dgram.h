/*
 * dgram.h - one datagram to a Unix socket that must never hold the daemon
 * up: the journal's (log.c) and the service manager's (notify.c).
 */
#ifndef TC_DGRAM_H
#define TC_DGRAM_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/*
 * Send the len bytes of buf to sa (salen bytes) in one datagram, over
 * *fd (a SOCK_DGRAM socket made at the first call and kept; -1 before),
 * without waiting (MSG_DONTWAIT: a peer that is behind loses this one)
 * and without SIGPIPE; an interrupted send is tried again.  0, or -1
 * with errno set (EAGAIN: the peer's queue is full).
 */
int dgram_send(int *fd, const struct sockaddr_un *sa, socklen_t salen,
    const void *buf, size_t len);

#endif /* TC_DGRAM_H */
