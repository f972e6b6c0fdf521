/*
 * endpoint.h - token endpoints shared by credentials (endpoint.c).
 */
#ifndef TC_ENDPOINT_H
#define TC_ENDPOINT_H

#include <stdint.h>

struct cred;
struct daemon;
struct endpoint;

/* The endpoint of url, made (its bucket full) if d has none yet; NULL
 * out of memory. */
struct endpoint *endpoint_get(struct daemon *d, const char *url,
    int64_t now);

/* Free the endpoints no credential of d uses any more. */
void endpoint_gc(struct daemon *d);

/* How long until e may take another request: 0 if now, and the request
 * is counted.  Its Retry-After hold first, then a failing endpoint's
 * probe (sched_probe_wait), then its bucket (endpoint_rate); *bucket
 * says whether the bucket was the reason. */
int64_t endpoint_take(struct daemon *d, struct endpoint *e, int64_t now,
    int *bucket);

/* c's place in its endpoint's order of need (sched_urgency). */
int64_t cred_urgency(const struct cred *c, int64_t now);

/* A credential's token lifetime changes from old_ns to new_ns (0:
 * unknown): e's running demand for the capacity rule. */
void endpoint_count(struct endpoint *e, int64_t old_ns, int64_t new_ns);

/* Judge e's capacity again after endpoint_count; a change is logged and
 * the mark in each of its credentials' slots rewritten. */
void endpoint_rejudge(struct daemon *d, struct endpoint *e);

/* Count every endpoint's demand again and judge it, every slot's mark
 * checked: at start and after a reload. */
void endpoint_judge_all(struct daemon *d);

/* A turn for c's refresh near want within [lo, hi] that the other
 * credentials on its endpoint have not planned (sched_plan_turn), and
 * *in_window; out of memory: want, *in_window 0 (logged). */
int64_t plan_refresh(struct daemon *d, const struct cred *c, int64_t want,
    int64_t lo, int64_t hi, int64_t now, int *in_window);

/*
 * Someone waits for c, which has no token: its next fetch moved to now,
 * but never before its endpoint's Retry-After hold, and not while a
 * request is in flight or after failures, which keep their backoff, so
 * that many impatient readers cannot turn into a request storm.
 */
void cred_hurry(struct cred *c, int64_t now);

/* An explicit refresh of c: c->due_ns moved to a free turn not before the
 * allowed moment (sched_forced_refresh).  Returns SCHED_FORCE_*. */
int sched_refresh(struct daemon *d, struct cred *c, int64_t now);

/* e's Retry-After hold into the slot of every credential on it, so that
 * a restarted daemon keeps it; nothing if it has none. */
void endpoint_write_hold(struct daemon *d, const struct endpoint *e,
    int64_t now);

/* c's fetch ended: failed (transient) counts against its endpoint and
 * plans the next probe; any other outcome ends a failing run. */
void endpoint_outcome(const struct cred *c, int failed, int64_t now);

/* Send the due requests, each endpoint's in order of need (sched_order),
 * as far as its hold, probe and bucket allow; the others stay due.  *next
 * is lowered to when a refused endpoint may take one again. */
void start_due(struct daemon *d, int64_t now, int64_t *next);

#endif /* TC_ENDPOINT_H */
