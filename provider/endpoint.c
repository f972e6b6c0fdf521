/*
 * endpoint.c - token endpoints (token_url), shared by the credentials
 * that use them: the rate guard (a token bucket), the Retry-After hold,
 * the probes of a failing endpoint, the capacity rule, and the turns a
 * refresh is planned on.  The policy is scheduler.c's; this applies it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "endpoint.h"
#include "fetch.h"
#include "log.h"

struct endpoint *
endpoint_get(struct daemon *d, const char *url, int64_t now)
{
	struct endpoint *e, **n;
	size_t i;

	for (i = 0; i < d->neps; i++)
		if (strcmp(d->eps[i]->url, url) == 0)
			return d->eps[i];
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->url = strdup(url)) == NULL ||
	    (n = realloc(d->eps, (d->neps + 1) * sizeof(*n))) == NULL) {
		if (e != NULL)
			free(e->url);
		free(e);
		return NULL;
	}
	tbucket_init(&e->bucket, d->conf->endpoint_burst, now);
	d->eps = n;
	d->eps[d->neps++] = e;
	return e;
}

/* Drop endpoints no credential uses any more. */
void
endpoint_gc(struct daemon *d)
{
	size_t i, j;

	for (i = 0; i < d->neps; i++)
		d->eps[i]->used = 0;
	for (i = 0; i < d->ncreds; i++)
		d->creds[i]->ep->used = 1;
	for (i = j = 0; i < d->neps; i++) {
		if (d->eps[i]->used) {
			d->eps[j++] = d->eps[i];
			continue;
		}
		free(d->eps[i]->url);
		free(d->eps[i]);
	}
	d->neps = j;
}

/*
 * How long until e may take another request: 0 if now (and the request
 * is counted).  A hold (Retry-After) comes first, then the bucket.
 */
int64_t
endpoint_take(struct daemon *d, struct endpoint *e, int64_t now, int *bucket)
{
	int64_t wait;

	*bucket = 0;
	if (e->hold_until_ns > now)
		return e->hold_until_ns - now;
	if ((wait = sched_probe_wait(e->failures, e->prober != NULL,
	    e->probe_at_ns, now)) != 0)
		return wait < 0 ? 60 * NS_PER_S : wait;	/* a reply wakes us */
	wait = tbucket_take(&e->bucket, d->conf->endpoint_rate,
	    d->conf->endpoint_burst, now);
	*bucket = wait > 0;
	return wait;
}

int64_t
cred_urgency(const struct cred *c, int64_t now)
{
	return sched_urgency(c->due_ns, c->expires_ns > now, c->need_by_ns);
}

/* c's lifetime changes from old_ns to new_ns: its endpoint's demand. */
void
endpoint_count(struct endpoint *e, int64_t old_ns, int64_t new_ns)
{
	if (old_ns > 0) {
		e->demand_nano -= sched_demand_nano(old_ns / NS_PER_MS);
		e->nknown--;
	}
	if (new_ns > 0) {
		e->demand_nano += sched_demand_nano(new_ns / NS_PER_MS);
		e->nknown++;
	}
}

/*
 * Judge the capacity rule for e again (sched_over, from its running
 * demand).  A change is logged; returns 1 if it changed, so that the
 * marks in its credentials' slots (for tokencachectl show) are rewritten.
 */
static int
endpoint_judge(struct daemon *d, struct endpoint *e)
{
	uint64_t demand = e->demand_nano / 1000000;
	int over = sched_over(e->demand_nano, d->conf->endpoint_rate,
	    e->overloaded);
	struct log_fields f = { .endpoint = e->url };

	if (over == e->overloaded)
		return 0;
	if (over)
		log_event(LOG_WARNING, &f, "%s: %zu credentials on it need "
		    "about %llu.%03llu token requests a second, more than "
		    "90 %% of endpoint_rate = %u: refreshes can come "
		    "after 80 %% of a lifetime; raise endpoint_rate, or "
		    "use fewer or longer-lived credentials", e->url, e->nknown,
		    (unsigned long long)(demand / 1000),
		    (unsigned long long)(demand % 1000),
		    d->conf->endpoint_rate);
	else
		log_event(LOG_INFO, &f, "%s: endpoint_rate = %u serves the "
		    "%zu credentials on it again (about %llu.%03llu token "
		    "requests a second)", e->url,
		    d->conf->endpoint_rate, e->nknown,
		    (unsigned long long)(demand / 1000),
		    (unsigned long long)(demand % 1000));
	e->overloaded = over;
	return 1;
}

/* The mark of c's endpoint into c's slot (a no-op if it is there). */
static void
cred_mark(struct daemon *d, const struct cred *c)
{
	struct seg_plan plan;
	struct seg_slot s;

	if (segw_read(&d->seg, c->slot, &s) != 0)
		return;
	plan = s.plan;
	plan.flags = c->ep->overloaded ? plan.flags | SEG_PLAN_OVERLOADED :
	    plan.flags & ~SEG_PLAN_OVERLOADED;
	segw_set_plan(&d->seg, c->slot, &plan);
}

/* e's capacity after c's lifetime changed; marks rewritten on a change. */
void
endpoint_rejudge(struct daemon *d, struct endpoint *e)
{
	size_t i;

	if (!endpoint_judge(d, e))
		return;
	for (i = 0; i < d->ncreds; i++)
		if (d->creds[i]->ep == e)
			cred_mark(d, d->creds[i]);
}

/*
 * Every endpoint's demand counted again and judged, in one pass over the
 * credentials (at start and at a reload, which may have moved, added or
 * removed credentials and changed endpoint_rate); every mark is checked.
 */
void
endpoint_judge_all(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->neps; i++) {
		d->eps[i]->demand_nano = 0;
		d->eps[i]->nknown = 0;
	}
	for (i = 0; i < d->ncreds; i++)
		endpoint_count(d->creds[i]->ep, 0, d->creds[i]->life_ns);
	for (i = 0; i < d->neps; i++)
		(void)endpoint_judge(d, d->eps[i]);
	for (i = 0; i < d->ncreds; i++)
		cred_mark(d, d->creds[i]);
}

/* One request's share of an endpoint's rate: the least time between
 * two planned turns. */
static int64_t
endpoint_gap(const struct daemon *d)
{
	return NS_PER_S / d->conf->endpoint_rate;
}

/*
 * The turns the other credentials on c's endpoint have planned (their
 * due times; INT64_MAX while in flight or with none planned) in a new
 * array, *n of them; NULL if out of memory (logged).
 */
static int64_t *
endpoint_turns(const struct daemon *d, const struct cred *c, size_t *n)
{
	int64_t *taken;
	size_t i;

	*n = 0;
	if ((taken = calloc(d->ncreds + 1, sizeof(*taken))) == NULL) {
		log_warnx("%s: out of memory planning its next request; "
		    "planned without regard to the other credentials on %s",
		    c->name, c->ep->url);
		return NULL;
	}
	for (i = 0; i < d->ncreds; i++)
		if (d->creds[i] != c && d->creds[i]->ep == c->ep)
			taken[(*n)++] = d->creds[i]->due_ns;
	return taken;
}

/*
 * A turn for c's next refresh that the other credentials on its endpoint
 * have not planned already (sched_plan_turn).  Out of memory: the
 * jittered point, not claimed to be a free turn.
 */
int64_t
plan_refresh(struct daemon *d, const struct cred *c, int64_t want,
    int64_t lo, int64_t hi, int64_t now, int *in_window)
{
	int64_t *taken, t;
	size_t n;

	if ((taken = endpoint_turns(d, c, &n)) == NULL) {
		*in_window = 0;
		return want;
	}
	t = sched_plan_turn(want, lo, hi, now, taken, n, endpoint_gap(d),
	    in_window);
	free(taken);
	return t;
}

void
cred_hurry(struct cred *c, int64_t now)
{
	int64_t soonest;

	if (c->in_flight || c->failures > 0)
		return;
	soonest = c->ep->hold_until_ns > now ? c->ep->hold_until_ns : now;
	if (c->due_ns > soonest)
		c->due_ns = soonest;
}

/*
 * An explicit refresh of c (sched_forced_refresh): the next turn its
 * endpoint's other credentials have not planned, not before the allowed
 * moment.  Returns SCHED_FORCE_*.
 */
int
sched_refresh(struct daemon *d, struct cred *c, int64_t now)
{
	int64_t *taken;
	size_t n;
	int r;

	taken = endpoint_turns(d, c, &n);
	r = sched_forced_refresh(c->in_flight, c->failures == 0 &&
	    c->expires_ns > now, c->sent_ns,
	    (int64_t)d->conf->refresh_min_interval * NS_PER_S, now,
	    c->ep->hold_until_ns, taken, n, endpoint_gap(d), &c->due_ns);
	free(taken);
	return r;
}

/*
 * The endpoint's hold (Retry-After) into the slot of every credential on
 * it, so that a restarted daemon keeps it whichever of them remain.
 */
void
endpoint_write_hold(struct daemon *d, const struct endpoint *e, int64_t now)
{
	struct seg_plan plan;
	struct seg_slot s;
	size_t i;

	if (e->hold_until_ns <= now)
		return;
	for (i = 0; i < d->ncreds; i++) {
		if (d->creds[i]->ep != e ||
		    segw_read(&d->seg, d->creds[i]->slot, &s) != 0 ||
		    s.plan.not_before_boot_ns >= e->hold_until_ns)
			continue;
		plan = s.plan;
		plan.not_before_boot_ns = e->hold_until_ns;
		segw_set_plan(&d->seg, d->creds[i]->slot, &plan);
	}
}

/*
 * The endpoint's failure state (sched_probe_ms): a transient failure
 * counts against it and plans its next probe; any other outcome (it
 * answered) ends the run and releases the credentials that waited.
 */
void
endpoint_outcome(const struct cred *c, int failed, int64_t now)
{
	struct endpoint *e = c->ep;
	struct log_fields f = { .endpoint = e->url };

	if (e->prober == c)
		e->prober = NULL;
	if (!failed) {
		if (e->failures >= SCHED_PROBE_AFTER)
			log_event(LOG_INFO, &f, "%s: answering again after %u "
			    "failed requests", e->url, e->failures);
		e->failures = 0;
		e->probe_at_ns = 0;
		return;
	}
	if (e->failures < UINT32_MAX)
		e->failures++;
	if (e->failures == SCHED_PROBE_AFTER)
		log_event(LOG_WARNING, &f, "%s: %u requests in a row failed; "
		    "one credential at a time tries it until it answers",
		    e->url, e->failures);
	e->probe_at_ns = now + sched_probe_ms(e->failures,
	    c->expires_ns > now, randombytes_random()) * NS_PER_MS;
}

/*
 * Each endpoint's requests go to its due credentials in order of need
 * (sched_order), as far as its hold, probe and bucket allow; the others
 * stay due and wait for the endpoint, their plan unchanged.  One pass to
 * collect, a sort, one walk: O(n log n) in the credentials due, however
 * many endpoints.  *next is lowered to when a refused endpoint may take
 * one again.
 */
void
start_due(struct daemon *d, int64_t now, int64_t *next)
{
	struct sched_due *v;
	struct cred *c;
	size_t i, n = 0, ep = SIZE_MAX;
	int64_t wait = 0;
	int bucket = 0;

	for (i = 0; i < d->ncreds; i++)
		n += !d->creds[i]->in_flight && d->creds[i]->due_ns <= now;
	if (n == 0)
		return;
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		log_warnx("out of memory starting due requests; trying again "
		    "in a second");
		if (now + NS_PER_S < *next)
			*next = now + NS_PER_S;
		return;
	}
	for (i = 0; i < d->neps; i++)
		d->eps[i]->idx = i;
	for (i = n = 0; i < d->ncreds; i++) {
		c = d->creds[i];
		if (c->in_flight || c->due_ns > now)
			continue;
		v[n].ep = c->ep->idx;
		v[n].urgency = cred_urgency(c, now);
		v[n].due = c->due_ns;
		v[n++].idx = i;
	}
	sched_order(v, n);
	for (i = 0; i < n; i++) {
		c = d->creds[v[i].idx];
		if (v[i].ep != ep || wait <= 0) {
			ep = v[i].ep;
			wait = endpoint_take(d, c->ep, now, &bucket);
		}
		if (wait > 0) {
			/* its endpoint refused one: counted once a request
			 * if its rate guard did (metrics) */
			if (bucket && !c->rate_held) {
				c->rate_held = 1;
				c->ep->rate_holds++;
			}
			if (now + wait < *next)
				*next = now + wait;
			continue;
		}
		start_fetch(d, c, now);
		if (c->in_flight && c->ep->failures >= SCHED_PROBE_AFTER)
			c->ep->prober = c;
	}
	free(v);
}
