/*
 * notify.h - the service manager's notification protocol, sd_notify(3):
 * one datagram of VAR=value lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET.
 *
 * Written here rather than linked from libsystemd: the protocol is a
 * documented, stable interface (sd_notify(3) gives it in full, with an
 * implementation of this size to copy), the daemon gains no dependency
 * on hosts without systemd, and the sender is the monitor (privsep.c),
 * which relays the worker's state as flags and a status line it formats
 * itself, not as text it would pass on (see privsep_notify()).
 *
 * Without $NOTIFY_SOCKET nothing is sent and nothing changes.
 */
#ifndef TC_NOTIFY_H
#define TC_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#define NOTIFY_READY      0x1u  /* READY=1 */
#define NOTIFY_RELOADING  0x2u  /* RELOADING=1 and MONOTONIC_USEC= */
#define NOTIFY_STOPPING   0x4u  /* STOPPING=1 */
#define NOTIFY_FLAGS      0x7u  /* every flag there is */

/* A status line's room, NUL included (readiness.h makes them). */
#define NOTIFY_STATUS_MAX 256

/* A datagram's room: the three flags, MONOTONIC_USEC=, STATUS= and the
 * status line of readiness.h. */
#define NOTIFY_MSG_MAX    512

/*
 * Take the socket from $NOTIFY_SOCKET and remove the variable, so that
 * no process the daemon starts (the exec module's commands) inherits it.
 * Call once, early.  Returns 1 with a socket, 0 without one, -1 for one
 * this daemon cannot use (logged; then nothing is sent).
 */
int notify_init(void);

/* 1 if notify_init() found a socket (in the worker too: it inherits the
 * answer, and sends through the monitor). */
int notify_enabled(void);

/*
 * The datagram for flags and status (NULL or "": no STATUS=) into buf
 * (len bytes): one line each, RELOADING=1 followed by
 * MONOTONIC_USEC=monotonic_usec (which systemd 253 and later want);
 * bytes of status outside printable ASCII become '?'.  Returns its
 * length, or -1 if it does not fit.
 */
int notify_format(char *buf, size_t len, unsigned flags, const char *status,
    uint64_t monotonic_usec);

/*
 * Send flags and status to the service manager from this process: the
 * monitor, or the only process when there is no privilege separation.
 * Returns 0, or -1 (errno set) if it could not be sent; no socket: 0.
 */
int notify_send_direct(unsigned flags, const char *status);

/*
 * Send flags and status from wherever the caller runs: through the
 * monitor when there is one (NotifyAccess=main: systemd accepts only the
 * main process's messages), else directly.  0, or -1 if it was not
 * sent (not waiting for a peer that is behind); failures are logged
 * once.
 */
int notify_send(unsigned flags, const char *status);

/* From now on notify_send passes on through relay (the worker's pair to
 * the monitor: privsep_notify), which returns 0 or -1 as it does. */
void notify_set_relay(int (*relay)(unsigned flags, const char *status));

#endif /* TC_NOTIFY_H */
