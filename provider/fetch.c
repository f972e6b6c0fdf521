/*
 * fetch.c - a fetch's life: start a credential's request through its
 * module, finish it, publish the token and plan its refresh, or record
 * the failure and plan the retry (sched_retry_ms), waking the waiters
 * either way.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "control.h"
#include "cred.h"
#include "daemon_int.h"
#include "endpoint.h"
#include "fetch.h"
#include "httpd.h"
#include "log.h"
#include "stats.h"
#include "token_parse.h"
#include "tokencache.h"

void
cred_abort_fetch(struct daemon *d, struct cred *c)
{
	if (!c->in_flight)
		return;
	if (c->ep->prober == c)
		c->ep->prober = NULL;
	if (c->req.easy != NULL)
		curl_multi_remove_handle(d->multi, c->req.easy);
	srcmod_end(&c->req);
	tok_result_clear(&c->req.res);
	c->in_flight = 0;
}

static void
limits_of(const struct daemon *d, const struct cred *c, struct tok_limits *lim)
{
	lim->token_max = d->conf->max_token_size;
	lim->default_lifetime = c->conf->default_lifetime;
	lim->max_lifetime = c->conf->max_lifetime;
}

static void fetch_failed(struct daemon *d, struct cred *c,
    const struct tok_result *t, long http_status, long retry_after,
    int64_t now);

/* The source c asks now: its own, or its chain's current one. */
static const struct cred_conf *
source_of(const struct cred *c)
{
	return c->conf->nsources > 0 ? &c->conf->sources[c->src_at] : c->conf;
}

static void source_over(struct daemon *d, struct cred *c, int64_t now);

/*
 * Start the request of c's current source.  One that could not start
 * failed like any other (source_over), so that a chain goes on, backoff
 * applies and its reason shows; a handle libcurl would not take is tried
 * again soon.
 */
static void
start_source(struct daemon *d, struct cred *c, int64_t now)
{
	struct tc_mod_req *q = &c->req;
	struct tok_limits lim;

	limits_of(d, c, &lim);
	c->sent_ns = now;
	c->rate_held = 0;
	if (srcmod_start(source_of(c), &lim, q) != 0) {
		source_over(d, c, now);
		return;
	}
	if (q->easy != NULL) {
		curl_easy_setopt(q->easy, CURLOPT_PRIVATE, c);
		if (curl_multi_add_handle(d->multi, q->easy) != CURLM_OK) {
			log_warnx("%s: cannot start the request", c->name);
			srcmod_end(q);
			tok_result_clear(&q->res);
			c->due_ns = now + RETRY_BASE_MS * NS_PER_MS;
			return;
		}
	}
	c->in_flight = 1;
	c->due_ns = INT64_MAX;
	/* The daemon's bound, whatever the module does: exact for a
	 * descriptor; for a handle, a second after libcurl's own
	 * CURLOPT_TIMEOUT, whose message is the better one. */
	c->req_deadline_ns = now + c->conf->timeout_ms * NS_PER_MS +
	    (q->easy != NULL ? NS_PER_S : 0);
	if (c->conf->nsources > 0)
		log_event(LOG_DEBUG, &(struct log_fields){ .credential =
		    c->name }, "%s: requesting a token from source %zu (%s)",
		    c->name, c->src_at + 1, source_of(c)->provider);
	else
		log_event(LOG_DEBUG, &(struct log_fields){ .credential =
		    c->name, .endpoint = c->ep->url },
		    "%s: requesting a token (%s)", c->name, c->ep->url);
}

void
start_fetch(struct daemon *d, struct cred *c, int64_t now)
{
	/* A chain starts at its first source every time, PAM-style: a
	 * primary that is back is used again at the next refresh. */
	c->src_at = 0;
	chain_forget(c);
	start_source(d, c, now);
}

/*
 * A token arrived.  Its lifetime counts from when the request was sent,
 * the earliest the server can have measured it from; the refresh is
 * planned at a random point of 70-80 % of that lifetime, moved within the
 * window to a turn the endpoint's rate leaves free (plan_refresh).
 */
static void
fetch_succeeded(struct daemon *d, struct cred *c, struct tok_result *t,
    long http_status, int64_t now)
{
	struct segw_meta m;
	struct tok_result f;
	uint8_t rid[16];
	int64_t wall = (int64_t)time(NULL);
	int64_t sent = c->sent_ns > 0 && c->sent_ns <= now ? c->sent_ns : now;
	int64_t life_ns = (int64_t)t->lifetime * NS_PER_S;
	int64_t deadline = sent + life_ns, lo, hi, want, due, old_life;
	int in_window, r;

	memset(&f, 0, sizeof(f));
	f.outcome = TOK_TRANSIENT;
	if (deadline <= now + NS_PER_MS) {
		snprintf(f.error, sizeof(f.error), "the token (lifetime %ld s) "
		    "expired before its reply arrived", t->lifetime);
		fetch_failed(d, c, &f, 200, 0, now);
		return;
	}
	sched_window(sent, deadline, &lo, &hi);
	want = sent + sched_refresh_after_ms(life_ns / NS_PER_MS,
	    randombytes_random()) * NS_PER_MS;
	due = sched_refresh_due(plan_refresh(d, c, want, lo, hi, now,
	    &in_window), sent, lo, now, NS_PER_S);
	old_life = c->life_ns;
	c->life_ns = life_ns;
	if (old_life != life_ns) {
		endpoint_count(c->ep, old_life, life_ns);
		endpoint_rejudge(d, c->ep);
	}

	memset(&m, 0, sizeof(m));
	cred_request_id(d, c->conf, rid);
	m.request_id = rid;
	m.token_type = t->token_type;
	/* Wall-clock times are for people; their difference is exact. */
	m.fetched_at = wall - (now - sent) / NS_PER_S;
	m.expires_at = m.fetched_at + t->lifetime;
	m.expires_boot_ns = deadline;
	m.next_refresh_at = m.fetched_at + (due - sent) / NS_PER_S;
	m.plan.fetched_boot_ns = sent;
	m.plan.next_boot_ns = due;
	m.plan.not_before_boot_ns = c->ep->hold_until_ns > now ?
	    c->ep->hold_until_ns : 0;
	m.plan.flags = c->ep->overloaded ? SEG_PLAN_OVERLOADED : 0;
	if ((r = segw_publish(&d->seg, c->slot, t->token, t->token_len, &m))
	    != 0) {
		/* Bytes no reader may get (whatever the module), out of
		 * memory, or a slot not ours any more: a transient failure
		 * like any other, so that backoff applies and impatient
		 * readers cannot make it a request a second. */
		snprintf(f.error, sizeof(f.error), "%s", r == TC_EBADTOKEN ?
		    "access_token or token_type contains a byte outside "
		    "0x21..0x7e; not published" : "could not publish the "
		    "token (out of memory?)");
		fetch_failed(d, c, &f, 0, 0, now);
		return;
	}
	c->expires_ns = deadline;
	memcpy(c->scope, t->scope, sizeof(c->scope));
	c->fetched_ns = sent;
	c->due_ns = due;
	c->need_by_ns = hi > due ? hi : due;
	c->failures = 0;
	c->permanent = 0;
	c->last_error[0] = '\0';
	log_event(LOG_INFO, &(struct log_fields){ .credential = c->name,
	    .endpoint = c->ep->url, .outcome = LOG_OUTCOME_OK,
	    .http_status = http_status },
	    "%s: new %s token, valid %ld s, refresh in %lld.%03lld s "
	    "(at %lld %% of its lifetime%s)", c->name, t->token_type,
	    t->lifetime, (long long)((due - now) / NS_PER_S),
	    (long long)((due - now) % NS_PER_S / NS_PER_MS),
	    (long long)((due - sent) / (life_ns / 100)), in_window ? "" :
	    "; the endpoint's rate left no turn within 70-80 %");
	wake_waiters(d, c, 0, NULL);
	httpd_wake(d, c);
}

/* OUTCOME= of a failure: a transient one the server answered with 429
 * or a Retry-After is rate_limited. */
static const char *
failure_outcome(int permanent, long http_status, long retry_after)
{
	if (permanent)
		return LOG_OUTCOME_PERMANENT;
	return http_status == 429 || retry_after > 0 ?
	    LOG_OUTCOME_RATE_LIMITED : LOG_OUTCOME_TRANSIENT;
}

/*
 * A request failed.  The retry is planned by sched_retry_ms(); a
 * Retry-After also holds every credential of the endpoint.  The plan and
 * the hold are kept in the slot on the boot clock, so that a restarted
 * daemon sends nothing sooner.
 */
static void
fetch_failed(struct daemon *d, struct cred *c, const struct tok_result *t,
    long http_status, long retry_after, int64_t now)
{
	char hold[600] = "";
	struct seg_plan plan;
	struct seg_slot s;
	uint8_t rid[16];
	int64_t delay_ms, wall = (int64_t)time(NULL);
	int64_t left_ms = c->expires_ns > now ?
	    (c->expires_ns - now) / NS_PER_MS : 0;
	int have_token = left_ms > 0;

	c->failures++;
	c->permanent = t->outcome == TOK_PERMANENT;
	delay_ms = sched_retry_ms(c->failures, c->permanent, left_ms,
	    retry_after, randombytes_random());
	if (retry_after > 0) {
		c->ep->retry_after_holds++;
		if (retry_after > RETRY_AFTER_MAX)
			retry_after = RETRY_AFTER_MAX;
		/* The server's word holds for every credential on it. */
		if (c->ep->hold_until_ns < now + retry_after * NS_PER_S)
			c->ep->hold_until_ns = now + retry_after * NS_PER_S;
	}
	c->due_ns = c->need_by_ns = now + delay_ms * NS_PER_MS;
	snprintf(c->last_error, sizeof(c->last_error), "%s", t->error);
	memset(&plan, 0, sizeof(plan));
	if (segw_read(&d->seg, c->slot, &s) == 0)
		plan = s.plan;
	plan.next_boot_ns = c->due_ns;
	plan.not_before_boot_ns = c->ep->hold_until_ns > now ?
	    c->ep->hold_until_ns : 0;
	cred_request_id(d, c->conf, rid);
	segw_set_failure(&d->seg, c->slot, have_token ? TS_VALID : TS_FAILED,
	    c->last_error, c->failures, (uint32_t)http_status, wall,
	    wall + (delay_ms + 999) / 1000, &plan, rid, c->permanent);
	if (retry_after > 0) {
		endpoint_write_hold(d, c->ep, now);
		/* The hold, in the failure's line: one line per event. */
		snprintf(hold, sizeof(hold), "; Retry-After %ld s: no request "
		    "to %s before then", retry_after, c->ep->url);
	}
	log_event(LOG_WARNING, &(struct log_fields){ .credential = c->name,
	    .endpoint = c->ep->url, .outcome = failure_outcome(c->permanent,
	    http_status, retry_after), .http_status = http_status,
	    .retry_after = retry_after },
	    "%s: fetch failed (%s%s): %s; %s, retry in %lld.%03lld s%s",
	    c->name, c->permanent ? "permanent" : "transient",
	    http_status ? "" : ", no HTTP reply", t->error,
	    have_token ? "still serving the current token" : "no valid token",
	    (long long)(delay_ms / 1000), (long long)(delay_ms % 1000), hold);
	wake_waiters(d, c, TC_EFAILED, c->last_error);
	httpd_wake(d, c);
}

/*
 * A chain's source failed with q's result: keep it as the failure the
 * chain reports, unless an earlier one is kept and this source is
 * optional.  It is told with the source's number.
 */
static void
chain_keep(struct cred *c, const struct tc_mod_req *q)
{
	if (c->chain_res.error[0] != '\0' &&
	    c->conf->sources[c->src_at].control == SRC_OPTIONAL)
		return;
	memset(&c->chain_res, 0, sizeof(c->chain_res));
	tok_seterr(&c->chain_res, q->res.outcome, "source %zu (%s): %s",
	    c->src_at + 1, c->conf->sources[c->src_at].provider, q->res.error);
	c->chain_status = q->http_status;
	c->chain_retry_after = q->retry_after;
}

void
chain_forget(struct cred *c)
{
	memset(&c->chain_res, 0, sizeof(c->chain_res));
	c->chain_status = 0;
	c->chain_retry_after = 0;
}

/*
 * c's current source is over, with c->req.res.  A token, or the failure
 * of a credential that is no chain, is the fetch's result.  A chain's
 * source that failed passes on to the next source unless it is required
 * or the last; the chain then fails with the failure it kept (see
 * chain_keep): tokencache.conf(5), CHAINS.
 */
static void
source_over(struct daemon *d, struct cred *c, int64_t now)
{
	struct tc_mod_req *q = &c->req;
	const struct cred_conf *cc = c->conf;

	/* Every source's attempt counts, a chain's too. */
	stats_attempt(&c->st, (int64_t)time(NULL), q->res.outcome,
	    q->http_status, q->retry_after, now - c->sent_ns, q->res.error,
	    q->res.error_code_at, q->res.error_code_len);
	if (q->res.outcome != TOK_OK && cc->nsources > 0) {
		chain_keep(c, q);
		if (cc->sources[c->src_at].control != SRC_REQUIRED &&
		    c->src_at + 1 < cc->nsources) {
			log_info("%s: source %zu failed (%s); trying source "
			    "%zu", c->name, c->src_at + 1, q->res.error,
			    c->src_at + 2);
			tok_result_clear(&q->res);
			c->src_at++;
			start_source(d, c, now);
			return;
		}
		tok_result_clear(&q->res);
		q->res = c->chain_res;
		q->http_status = c->chain_status;
		q->retry_after = c->chain_retry_after;
		chain_forget(c);
	}
	endpoint_outcome(c, q->res.outcome == TOK_TRANSIENT, now);
	if (q->res.outcome == TOK_OK)
		fetch_succeeded(d, c, &q->res, q->http_status, now);
	else
		fetch_failed(d, c, &q->res, q->http_status, q->retry_after,
		    now);
	tok_result_clear(&q->res);
}

/* The request is over: end it and judge its result. */
static void
fetch_over(struct daemon *d, struct cred *c, int64_t now)
{
	struct tc_mod_req *q = &c->req;

	if (q->easy != NULL)
		curl_multi_remove_handle(d->multi, q->easy);
	srcmod_end(q);
	c->in_flight = 0;
	source_over(d, c, now);
}

void
fetch_done(struct daemon *d, CURL *easy, CURLcode cc)
{
	struct cred *c = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
	if (c == NULL || !c->in_flight || c->req.easy != easy)
		return;
	/* Off the multi handle first: the module may set the same handle
	 * up for a next step (oauth2's discovery, then its token). */
	curl_multi_remove_handle(d->multi, easy);
	if (srcmod_finish(&c->req, cc) == 1) {
		curl_easy_setopt(c->req.easy, CURLOPT_PRIVATE, c);
		if (curl_multi_add_handle(d->multi, c->req.easy) == CURLM_OK)
			return;
		tc_mod_fail(&c->req, TC_MOD_TRANSIENT, 0, 0, "cannot "
		    "continue the request");
	}
	fetch_over(d, c, now_ns());
}

void
fetch_fd_ready(struct daemon *d, struct cred *c)
{
	if (!c->in_flight || c->req.fd == -1)
		return;
	if (srcmod_finish(&c->req, CURLE_OK) == 1)
		return;
	fetch_over(d, c, now_ns());
}

void
fetch_check_deadline(struct daemon *d, struct cred *c, int64_t now)
{
	if (!c->in_flight || now < c->req_deadline_ns)
		return;
	tc_mod_fail(&c->req, TC_MOD_TRANSIENT, 0, 0, "timed out after "
	    "%ld ms", c->conf->timeout_ms);
	fetch_over(d, c, now);
}
