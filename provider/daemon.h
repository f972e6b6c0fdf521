/*
 * daemon.h - tokencached's event loop: scheduler, fetches, control socket.
 */
#ifndef TC_DAEMON_H
#define TC_DAEMON_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"

struct daemon;

/*
 * Set up a daemon from a loaded configuration (ownership passes in): take
 * the runtime directory, adopt or create the segment, bind the control
 * socket.  Returns NULL with a message in err on failure.
 */
struct daemon *daemon_new(struct daemon_conf *conf, char *err, size_t errlen);

/* Run until SIGTERM or SIGINT (signals must be blocked by the caller and
 * are read through a signalfd).  Returns the exit status. */
int daemon_run(struct daemon *d);

/* Close the socket, leave the segment for the next daemon to adopt. */
void daemon_free(struct daemon *d);

/* Scheduling policy, exposed for the unit tests. */
/* Seconds after a fetch to refresh a token of lifetime secs: a uniformly
 * random point between 70 % and 80 % of it, at least 1 s. */
int64_t sched_refresh_after_ms(int64_t lifetime_ms, uint32_t rnd);
/* Delay before retry number n (1-based) after a transient failure:
 * full jitter over min(cap, base * 2^(n-1)), at least base. */
int64_t sched_backoff_ms(uint32_t n, int64_t base_ms, int64_t cap_ms,
    uint32_t rnd);
/* When to refresh a token adopted from a previous daemon (all on
 * CLOCK_BOOTTIME but the slot's two wall-clock fields, of which only the
 * difference is used): between now and the deadline, never later. */
int64_t sched_adopted_refresh_ns(int64_t expires_at, int64_t next_refresh_at,
    int64_t expires_boot_ns, int64_t now);

#endif /* TC_DAEMON_H */
