/*
 * status.h - what tokencached tells its service manager (Type=notify):
 * READY=1 by the readiness rule (readiness.h), RELOADING=1 and READY=1
 * around a reload, STOPPING=1, and a STATUS= line kept current.  Nothing
 * without $NOTIFY_SOCKET (notify_enabled()).
 */
#ifndef TC_STATUS_H
#define TC_STATUS_H

#include <stdint.h>

struct daemon;

/* Start-up: the bound on waiting for readiness counts from now. */
void status_start(struct daemon *d, int64_t now);

/*
 * Each turn of the loop: READY=1 once the credentials are settled or the
 * bound has passed; after that, the status line whenever it changes, at
 * most once a second.  Lowers *next (CLOCK_BOOTTIME ns) to when it must
 * look again.
 */
void status_tick(struct daemon *d, int64_t now, int64_t *next);

/* Around a reload: RELOADING=1 (with MONOTONIC_USEC=) before it, READY=1
 * and the status after it, whatever its outcome.  Only once ready: a
 * reload during start-up leaves the readiness rule to say when. */
void status_reloading(struct daemon *d);
void status_reloaded(struct daemon *d, int64_t now);

/* STOPPING=1, as the loop ends. */
void status_stopping(void);

/* What status_tick() keeps (daemon_free). */
void status_free(struct daemon *d);

#endif /* TC_STATUS_H */
