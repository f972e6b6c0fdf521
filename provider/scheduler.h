/*
 * scheduler.h - tokencached's scheduling policy: when each credential
 * sends its next token request, and which of the due ones its endpoint
 * serves first.  Pure functions (the token bucket's state and the arrays
 * that sched_plan_turn, sched_next_turn and sched_order reorder are the
 * caller's): every time is a CLOCK_BOOTTIME reading (ns) or a span in
 * ms, passed in, never read; nothing here does I/O or keeps state.
 * endpoint.c, fetch.c and request.c apply them; tests/unit/test_sched.c drives the same
 * functions in a model of an endpoint.
 */
#ifndef TC_SCHEDULER_H
#define TC_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "nsec.h"

#define RETRY_BASE_MS    INT64_C(1000)
#define RETRY_CAP_MS     INT64_C(300000)      /* transient: up to 5 min */
#define NOTOKEN_CAP_MS   INT64_C(4000)        /* ... 4 s while no valid token */
#define SLOW_BASE_MS     INT64_C(300000)      /* permanent: 5 min ... */
#define SLOW_CAP_MS      INT64_C(3600000)     /* ... to 1 h */
#define RETRY_AFTER_MAX  3600                 /* seconds we honour at most */
#define PROBE_CAP_MS     INT64_C(30000)  /* a failing endpoint's probes */
#define SCHED_PROBE_AFTER 2     /* transient failures in a row on an
                                 * endpoint that make it a failing one */

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

/* The refresh window of a token whose request was sent at `sent` and
 * which is valid until `deadline`: 70 % to 80 % of that lifetime. */
void sched_window(int64_t sent, int64_t deadline, int64_t *lo, int64_t *hi);

/*
 * A turn for a refresh at the endpoint: the time in [lo, hi] nearest want
 * that is at least gap (one request at the endpoint's rate) from every
 * turn in taken[], the turns already planned for the other credentials
 * on it (their due times; INT64_MAX, or any far from the window, are
 * ignored; taken[] is reordered and shortened in place); *in_window = 1.
 * If the window has none: *in_window = 0 and the free time nearest lo
 * in [floor, lo] (early is safe, late is not), or lo (not before floor)
 * if there is none either.
 */
int64_t sched_plan_turn(int64_t want, int64_t lo, int64_t hi, int64_t floor,
    int64_t *taken, size_t ntaken, int64_t gap, int *in_window);

/*
 * The refresh of a token sent at `sent` whose window starts at lo, given
 * the turn planned for it: not sooner than spacing (the daemon: 1 s)
 * after sent, unless lo comes first (a token of about 1 s), nor than now.
 */
int64_t sched_refresh_due(int64_t turn, int64_t sent, int64_t lo,
    int64_t now, int64_t spacing);

/*
 * Delay before the next attempt after n failures in a row (n >= 1).
 * Permanent: 5 min growing to 1 h.  Transient with a valid token left
 * (token_left_ms > 0): 1 s growing to 5 min, but at most token_left_ms
 * less the larger of 1 s and half of it (half of it, if that is less
 * than 1 s): never at or after the token's deadline.  Transient with no
 * valid token: 1 s growing to only 4 s, so that readers get a token
 * within seconds of the server's recovery (the endpoint's rate guard and
 * its failure state, sched_probe_ms, still bound the requests).  All with full
 * jitter; never less than a Retry-After (clamped to 1 h).
 */
int64_t sched_retry_ms(uint32_t n, int permanent, int64_t token_left_ms,
    long retry_after_s, uint32_t rnd);

/*
 * The capacity rule: a credential whose tokens live L asks for about one
 * every 3/4 L (sched_demand_nano: in billionths of a request a second; 0
 * for a lifetime of 0, not known yet); an endpoint serves its credentials
 * within their windows while these add up to at most 90 % of its rate.
 * sched_over: 1 if demand_nano is more; once over (was_over), until it is
 * below 85 % again.  sched_overloaded: the same over n lifetimes, with
 * *demand_milli the sum in thousandths of a request a second.
 */
uint64_t sched_demand_nano(int64_t life_ms);
int sched_over(uint64_t demand_nano, uint32_t rate, int was_over);
int sched_overloaded(const int64_t *life_ms, size_t n, uint32_t rate,
    int was_over, uint64_t *demand_milli);

/*
 * Which due credential its endpoint serves first: the smallest urgency.
 * One whose token is still valid needs the next by need_by (the end of
 * its refresh window, or its planned retry), even when an explicit
 * refresh made it due sooner; one with no valid token (a first fetch, a
 * retry, a reader waiting) needs it from the moment it fell due.  So no
 * credential waits for another's requests longer than its own need
 * allows, and explicit refreshes cannot starve the others.
 */
int64_t sched_urgency(int64_t due, int have_token, int64_t need_by);

/*
 * The nearest time at or after from that is at least gap from each of
 * the ntaken turns in taken[] (reordered and shortened in place; entries
 * of INT64_MAX are ignored).
 */
int64_t sched_next_turn(int64_t from, int64_t *taken, size_t ntaken,
    int64_t gap);

/*
 * An explicit refresh (PROTO_OP_REFRESH).  JOIN: a request is in flight,
 * wait for it.  LAST: the last request went out less than min_interval
 * ago and its token is in service: that is the answer.  WAIT: *due moves
 * to the nearest turn (sched_next_turn; taken[] as for sched_plan_turn)
 * at or after the earliest allowed moment (not before last_sent +
 * min_interval nor hold_until), unless it was planned sooner.
 */
#define SCHED_FORCE_JOIN 1
#define SCHED_FORCE_LAST 2
#define SCHED_FORCE_WAIT 3
int sched_forced_refresh(int in_flight, int last_served, int64_t last_sent,
    int64_t min_interval, int64_t now, int64_t hold_until, int64_t *taken,
    size_t ntaken, int64_t gap, int64_t *due);

/* The endpoint's hold a previous daemon kept in a slot (boot clock): 0
 * (none) if it ends more than RETRY_AFTER_MAX (1 h) after now, which no
 * Retry-After we honour does: bytes of some other meaning, not a hold. */
int64_t sched_adopted_hold_ns(int64_t not_before, int64_t now);

/* A plan a previous daemon kept in the slot (boot clock, this boot):
 * planned, but not after latest, not before not_before (Retry-After),
 * and not before now. */
int64_t sched_adopted_due_ns(int64_t planned, int64_t not_before,
    int64_t latest, int64_t now);

/*
 * A failing endpoint: after SCHED_PROBE_AFTER transient failures in a row
 * on it (any of its credentials; a reply that is not a transient failure
 * ends the run), one request at a time goes to it, a probe, and the next
 * not sooner than this delay after the last failed: 0 while it is not
 * failing; else from 1 s doubling with each failure up to 30 s, or up to
 * 4 s while the credential that probed has no valid token (readers are
 * waiting: they get a token within about 4 s of the recovery), with equal
 * jitter (half to all of that, at least 1 s).  The other credentials
 * wait, their plans unchanged, and go out (by need, within the rate)
 * after the first success.  Without it, every credential's own retries
 * add up, to a request a second at the default rate for as long as the
 * outage lasts.
 */
int64_t sched_probe_ms(uint32_t ep_failures, int have_token, uint32_t rnd);

/* May a failing endpoint take a request at now?  0: yes (if it is
 * failing, the request is its probe); -1: not while its probe is in
 * flight; else the time until probe_at. */
int64_t sched_probe_wait(uint32_t ep_failures, int probing, int64_t probe_at,
    int64_t now);

/*
 * A token bucket: rate requests a second after a burst of burst, counted
 * in thousandths of a request and whole milliseconds (the remainder is
 * kept, not dropped).  tbucket_take: 0 if a request may go at now (it is
 * counted), else the ns until one may.
 */
struct tbucket {
	int64_t tokens_milli;
	int64_t last_ns;
};
void tbucket_init(struct tbucket *b, uint32_t burst, int64_t now);
int64_t tbucket_take(struct tbucket *b, uint32_t rate, uint32_t burst,
    int64_t now);

/*
 * The credentials due at one moment, in the order their endpoints serve
 * them: sched_order sorts by endpoint, then urgency (sched_urgency), then
 * due time, then idx (the caller's index: ties go the same way every
 * time).  The caller walks each endpoint's run and sends until its
 * endpoint refuses (hold, probe, bucket); the rest of the run waits.
 */
struct sched_due {
	size_t ep;               /* the caller's endpoint index */
	int64_t urgency;
	int64_t due;
	size_t idx;              /* the caller's credential index */
};
void sched_order(struct sched_due *v, size_t n);

#endif /* TC_SCHEDULER_H */
