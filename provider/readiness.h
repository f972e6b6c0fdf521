/*
 * readiness.h - when tokencached tells its service manager that it is
 * ready, and the one line of status it shows there (systemctl status).
 * Pure functions: the caller gathers each credential's state and the
 * times; nothing here reads a clock, keeps state or does I/O.  status.c
 * applies them; tests/unit/test_readiness.c drives them.
 *
 * The rule (tokencached(8), SYSTEMD): ready once every configured
 * credential holds a valid token or has failed permanently, at once when
 * none is configured; and ready anyway, with the status naming what is
 * missing, once the start-up bound has passed, so that a token service
 * that is down cannot hold `systemctl start` until systemd gives up.
 */
#ifndef TC_READINESS_H
#define TC_READINESS_H

#include <stddef.h>
#include <stdint.h>

#include "nsec.h"

/*
 * The bound is the longest time the first fetch of a credential not yet
 * settled may take (its `timeout`; a chain's, the sum of its sources'),
 * counted from the start, and never more than this: the unit's
 * TimeoutStartSec= (90 s) less a margin of 30 s for the rest of
 * start-up.
 */
#define READINESS_BOUND_MAX_MS INT64_C(60000)

/* The status line, terminating NUL included (systemd keeps more; a line
 * this long is already more than `systemctl status` shows). */
#define READINESS_STATUS_MAX 256

struct readiness_cred {
	const char *name;
	int valid;             /* holds a token that has not expired */
	int permanent;         /* its last fetch failed permanently */
	const char *error;     /* its last failure, "" if none yet */
	int64_t fetch_ms;      /* the longest its first fetch may take */
};

/* 1 when each of the n credentials holds a valid token or has failed
 * permanently (so 1 when n is 0), else 0. */
int readiness_settled(const struct readiness_cred *c, size_t n);

/* How long after the start READY=1 may wait for readiness_settled():
 * the largest fetch_ms of the credentials that are neither valid nor
 * failed permanently, at most READINESS_BOUND_MAX_MS; 0 if there is
 * none.  A credential settled early lets the others' bound shrink. */
int64_t readiness_bound_ms(const struct readiness_cred *c, size_t n);

/*
 * The status line into buf (len > 0; cut short to fit, always
 * terminated): "no credentials configured"; "3 credentials, 3 valid;
 * next refresh in 4m" (next_refresh_ms: until the earliest refresh
 * planned, -1 if none); or "2/3 valid; NAME: ERROR" naming the first
 * credential without a valid token (", and 1 more" for the others),
 * "no token yet" while it has no error.  Coarse (minutes) on purpose:
 * the line changes with what happens, not with every second.  One line
 * of printable ASCII: any other byte of a name or an error becomes '?'.
 */
void readiness_status(char *buf, size_t len, const struct readiness_cred *c,
    size_t n, int64_t next_refresh_ms);

#endif /* TC_READINESS_H */
