/*
 * scheduler.c - tokencached's scheduling policy (see scheduler.h): the
 * refresh point and window, the turns an endpoint's rate leaves, the order in
 * which an endpoint serves its due credentials, retries and backoff, the
 * capacity rule, explicit refreshes, plans adopted from a previous daemon,
 * and the token bucket.  The daemon's files own the state and the clocks
 * and apply these (endpoint.c and fetch.c; request.c the bucket, for its
 * per-user limit).
 */
#include <stdlib.h>

#include "scheduler.h"

int64_t
sched_refresh_after_ms(int64_t lifetime_ms, uint32_t rnd)
{
	/* 70 % + up to 10 % jitter, so that a fleet of credentials issued
	 * together does not refresh together. */
	int64_t base = lifetime_ms * 7 / 10;
	int64_t jitter = (lifetime_ms / 10) * (int64_t)(rnd % 1000) / 1000;

	return base + jitter < 1000 ? 1000 : base + jitter;
}

int64_t
sched_backoff_ms(uint32_t n, int64_t base_ms, int64_t cap_ms, uint32_t rnd)
{
	int64_t ceiling = base_ms;
	uint32_t i;

	for (i = 1; i < n && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	/* Full jitter (uniform over [0, ceiling]), but never under base. */
	ceiling = (int64_t)((uint64_t)ceiling * (rnd % 10001) / 10000);
	return ceiling < base_ms ? base_ms : ceiling;
}

void
sched_window(int64_t sent, int64_t deadline, int64_t *lo, int64_t *hi)
{
	int64_t life = deadline > sent ? deadline - sent : 0;

	*lo = sent + life / 10 * 7;
	*hi = sent + life / 10 * 8;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The time in [lo, hi] nearest want (the earlier on a tie) that is at
 * least gap from each of the n sorted taken times, or -1.  The free
 * times form segments between the taken times' gaps, [cur, next gap's
 * start]; the nearest point of each segment is want clamped into it.
 */
static int64_t
nearest_free(int64_t want, int64_t lo, int64_t hi, const int64_t *taken,
    size_t n, int64_t gap)
{
	int64_t best = -1, bdist = INT64_MAX, cur = lo, end, c, dist;
	size_t i;

	for (i = 0; i <= n && cur <= hi; i++) {
		end = i < n && taken[i] - gap < hi ? taken[i] - gap : hi;
		if (cur <= end) {
			c = want < cur ? cur : want > end ? end : want;
			dist = c > want ? c - want : want - c;
			if (dist < bdist) {
				best = c;
				bdist = dist;
			}
		}
		if (i < n && taken[i] + gap > cur)
			cur = taken[i] + gap;
	}
	return best;
}

/*
 * Keep of the n taken turns those that can be within gap of [lo, hi],
 * sorted; return how many.  The others (INT64_MAX: none planned, or in
 * flight) do not matter there, and would overflow t + gap.
 */
static size_t
turns_near(int64_t *taken, size_t n, int64_t lo, int64_t hi, int64_t gap)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (taken[i] > lo - gap && taken[i] < hi + gap)
			taken[k++] = taken[i];
	if (k > 1)	/* taken may be NULL when n is 0 */
		qsort(taken, k, sizeof(*taken), cmp_i64);
	return k;
}

int64_t
sched_plan_turn(int64_t want, int64_t lo, int64_t hi, int64_t floor,
    int64_t *taken, size_t ntaken, int64_t gap, int *in_window)
{
	int64_t t;

	ntaken = turns_near(taken, ntaken, floor < lo ? floor : lo, hi, gap);
	*in_window = 1;
	if ((t = nearest_free(want, lo, hi, taken, ntaken, gap)) != -1)
		return t;
	*in_window = 0;
	/* Early is safe, late is not: the free time nearest the window's
	 * start, before it; failing that, the start, in the queue. */
	if ((t = nearest_free(lo, floor, lo, taken, ntaken, gap)) != -1)
		return t;
	return lo < floor ? floor : lo;
}

int64_t
sched_refresh_due(int64_t turn, int64_t sent, int64_t lo, int64_t now,
    int64_t spacing)
{
	/* A second between requests at least, unless the token is so short
	 * that its window starts sooner: then the window's start, never
	 * the deadline itself. */
	int64_t floor = sent + spacing < lo ? sent + spacing : lo;

	if (turn < floor)
		turn = floor;
	return turn < now ? now : turn;
}

int64_t
sched_retry_ms(uint32_t n, int permanent, int64_t token_left_ms,
    long retry_after_s, uint32_t rnd)
{
	int64_t d;

	if (permanent)
		d = sched_backoff_ms(n, SLOW_BASE_MS, SLOW_CAP_MS, rnd);
	else if (token_left_ms > 0) {
		/* Before the token runs out, with time to spare for the
		 * request and one more if that fails: at most left minus
		 * the larger of 1 s and half of it, or half, for less. */
		int64_t margin = token_left_ms / 2 > RETRY_BASE_MS ?
		    token_left_ms / 2 : RETRY_BASE_MS;

		if (margin >= token_left_ms)
			margin = token_left_ms / 2;
		d = sched_backoff_ms(n, RETRY_BASE_MS, RETRY_CAP_MS, rnd);
		if (d > token_left_ms - margin)
			d = token_left_ms - margin;
	} else
		d = sched_backoff_ms(n, RETRY_BASE_MS, NOTOKEN_CAP_MS, rnd);
	if (retry_after_s > 0) {
		if (retry_after_s > RETRY_AFTER_MAX)
			retry_after_s = RETRY_AFTER_MAX;
		if (d < (int64_t)retry_after_s * 1000)
			d = (int64_t)retry_after_s * 1000;
	}
	return d;
}

uint64_t
sched_demand_nano(int64_t life_ms)
{
	/* 1 / (3/4 L s) = 4e12 / (3 L ms) billionths of a request a second;
	 * rounded up, which matters little at that scale. */
	if (life_ms <= 0)
		return 0;
	return (UINT64_C(4000000000000) + 3 * (uint64_t)life_ms - 1) /
	    (3 * (uint64_t)life_ms);
}

int
sched_over(uint64_t demand_nano, uint32_t rate, int was_over)
{
	/* Over past 90 % of the rate; back under only below 85 %, so that
	 * lifetimes that differ by a second do not make it flap. */
	if (was_over)
		return demand_nano >= (uint64_t)rate * 850000000;
	return demand_nano > (uint64_t)rate * 900000000;
}

int
sched_overloaded(const int64_t *life_ms, size_t n, uint32_t rate,
    int was_over, uint64_t *demand_milli)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += sched_demand_nano(life_ms[i]);
	*demand_milli = sum / 1000000;
	return sched_over(sum, rate, was_over);
}

int64_t
sched_next_turn(int64_t from, int64_t *taken, size_t ntaken, int64_t gap)
{
	/* n taken turns leave a free one within (n + 1) gaps of from. */
	int64_t hi = from + (int64_t)(ntaken + 1) * gap, t;

	ntaken = turns_near(taken, ntaken, from, hi, gap);
	t = nearest_free(from, from, hi, taken, ntaken, gap);
	return t == -1 ? from : t;
}

int
sched_forced_refresh(int in_flight, int last_served, int64_t last_sent,
    int64_t min_interval, int64_t now, int64_t hold_until, int64_t *taken,
    size_t ntaken, int64_t gap, int64_t *due)
{
	int64_t t = now;

	if (in_flight)
		return SCHED_FORCE_JOIN;
	if (last_sent != 0 && now - last_sent < min_interval) {
		if (last_served)
			return SCHED_FORCE_LAST;
		t = last_sent + min_interval;
	}
	if (t < hold_until)
		t = hold_until;
	/* Not a turn another credential on the endpoint has planned: sent
	 * at once, it would empty the bucket just before theirs. */
	if (*due > t)
		t = sched_next_turn(t, taken, ntaken, gap);
	if (*due > t)
		*due = t;
	return SCHED_FORCE_WAIT;
}

int64_t
sched_adopted_hold_ns(int64_t not_before, int64_t now)
{
	/* No Retry-After we honour lasts that long: not a hold we wrote,
	 * so no hold at all (clamping it would hold the endpoint 1 h). */
	if (not_before > now + (int64_t)RETRY_AFTER_MAX * NS_PER_S)
		return 0;
	return not_before;
}

int64_t
sched_adopted_due_ns(int64_t planned, int64_t not_before, int64_t latest,
    int64_t now)
{
	int64_t t = planned;

	if (t > latest)
		t = latest;
	if (t < not_before)
		t = not_before;
	return t < now ? now : t;
}

/*
 * Which due credential gets its endpoint's next request: the one that
 * needs it soonest (earliest deadline first), whatever the names.  See
 * sched_urgency(); need_by is the end of the refresh window, or the
 * planned retry after a failure.
 */
int64_t
sched_urgency(int64_t due, int have_token, int64_t need_by)
{
	return have_token ? need_by : due;
}

/*
 * When to refresh an adopted token: the previous daemon planned it
 * next_refresh_at, which is wall-clock time and so not to be compared
 * with our wall clock (it may have jumped since).  But next_refresh_at and
 * expires_at were written together from one reading of the clock, so
 * their difference is how long before the CLOCK_BOOTTIME deadline the
 * refresh was planned, whatever the wall clock did.
 */
int64_t
sched_adopted_refresh_ns(int64_t expires_at, int64_t next_refresh_at,
    int64_t expires_boot_ns, int64_t now)
{
	int64_t before = expires_at - next_refresh_at, due;

	if (next_refresh_at <= 0 || before <= 0 ||
	    before > (expires_boot_ns - now) / NS_PER_S)
		return now;	/* no plan, or already due */
	due = expires_boot_ns - before * NS_PER_S;
	return due < now ? now : due;
}


int64_t
sched_probe_ms(uint32_t ep_failures, int have_token, uint32_t rnd)
{
	int64_t cap = have_token ? PROBE_CAP_MS : NOTOKEN_CAP_MS;
	int64_t ceiling = RETRY_BASE_MS;
	uint32_t i;

	if (ep_failures < SCHED_PROBE_AFTER)
		return 0;
	for (i = SCHED_PROBE_AFTER; i < ep_failures && ceiling < cap; i++)
		ceiling *= 2;
	if (ceiling > cap)
		ceiling = cap;
	/* Equal jitter: one prober per endpoint needs no spreading among
	 * its own kind, only from other hosts', and a floor keeps it slow. */
	ceiling = ceiling / 2 + (int64_t)((uint64_t)(ceiling / 2) *
	    (rnd % 10001) / 10000);
	return ceiling < RETRY_BASE_MS ? RETRY_BASE_MS : ceiling;
}

void
tbucket_init(struct tbucket *b, uint32_t burst, int64_t now)
{
	b->tokens_milli = (int64_t)burst * 1000;
	b->last_ns = now;
}

int64_t
tbucket_take(struct tbucket *b, uint32_t rate, uint32_t burst, int64_t now)
{
	int64_t max = (int64_t)burst * 1000, ms;

	if (rate == 0)
		rate = 1;
	/* rate requests/s = rate thousandths per ms; whole ms are added,
	 * and the remainder stays in last_ns for the next call. */
	if (now > b->last_ns) {
		ms = (now - b->last_ns) / NS_PER_MS;
		b->last_ns += ms * NS_PER_MS;
		b->tokens_milli += ms > max ? max : ms * (int64_t)rate;
		if (b->tokens_milli > max)
			b->tokens_milli = max;
	}
	if (b->tokens_milli < 1000)
		return ((1000 - b->tokens_milli + rate - 1) / rate) *
		    NS_PER_MS - (now - b->last_ns);
	b->tokens_milli -= 1000;
	return 0;
}

static int
cmp_due(const void *a, const void *b)
{
	const struct sched_due *x = a, *y = b;

	if (x->ep != y->ep)
		return (x->ep > y->ep) - (x->ep < y->ep);
	if (x->urgency != y->urgency)
		return (x->urgency > y->urgency) - (x->urgency < y->urgency);
	if (x->due != y->due)
		return (x->due > y->due) - (x->due < y->due);
	return (x->idx > y->idx) - (x->idx < y->idx);
}

void
sched_order(struct sched_due *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_due);
}

int64_t
sched_probe_wait(uint32_t ep_failures, int probing, int64_t probe_at,
    int64_t now)
{
	if (ep_failures < SCHED_PROBE_AFTER)
		return 0;
	if (probing)
		return -1;
	return probe_at > now ? probe_at - now : 0;
}
