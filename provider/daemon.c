/*
 * daemon.c - tokencached's event loop.
 *
 * One thread.  curl_multi_poll() waits on libcurl's sockets and, as extra
 * descriptors, on a signalfd, the control socket and its connections, with
 * a timeout that ends at the next scheduled fetch or waiter deadline.  All
 * times that decide anything are CLOCK_BOOTTIME nanoseconds, so wall-clock
 * jumps cause no refresh storm and suspend is honest; wall-clock time is
 * only written to the segment for people to read.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <linux/sockios.h>
#include <sodium.h>

#include "daemon.h"
#include "log.h"
#include "module.h"
#include "privsep.h"
#include "scheduler.h"
#include "proto.h"
#include "seg_write.h"
#include "tokencache.h"
#include "wipe_regs.h"

#define MAX_CONNS        128
#define ACCEPT_BURST     32       /* connections taken in one turn */
#define FILE_CHECK_NS    NS_PER_S
#define CONN_IDLE_NS     (10 * NS_PER_S)
#define CONN_FIRST_NS    (2 * NS_PER_S)   /* to send a first request */
#define CONN_QUIET_NS    (200 * NS_PER_MS) /* silent this long: evictable */
#define CONNS_PER_UID    16     /* a user cannot take every connection */
#define RATE_PER_S       100    /* requests per second per user ... */
#define RATE_BURST       200    /* ... after a burst of this many */
#define RATE_SLOTS       64
#define ACCEPT_PAUSE_NS  NS_PER_S   /* out of descriptors: listen again after */
#define ACCEPT_LOG_NS    (60 * NS_PER_S)  /* ... and say so at most this often */
#define DENY_LOG_NS      (60 * NS_PER_S)  /* a denial logged per user and */
#define DENY_LOG_SLOTS   64               /* ... credential this often */
#define SEG_LOG_NS       (60 * NS_PER_S)  /* a failed segment send, as often */
#define PARKED_PER_UID   4      /* unread segment replies a user may hold */
#define PARKED_MAX       4096   /* ... and all users but root and ours */
#define PARK_CHECK_NS    NS_PER_S  /* parked connections looked at */

/*
 * A token endpoint (token_url), shared by the credentials that use it.
 * Its token bucket keeps the whole host under the service's rate limit
 * (Camunda SaaS blocks an address past about one request a second, and
 * counts failed requests too); its hold honours Retry-After for everyone.
 */
struct endpoint {
	char *url;
	struct tbucket bucket;   /* endpoint_rate after endpoint_burst */
	size_t idx;              /* in d->eps, for run_timers */
	int64_t hold_until_ns;   /* Retry-After: no request before this */
	int used;                /* by the configuration being applied */
	int overloaded;          /* the capacity rule fails (sched_over) */
	uint64_t demand_nano;    /* sched_demand_nano of its credentials */
	size_t nknown;           /* ... those whose lifetime is known */
	uint32_t failures;       /* transient failures in a row, any credential */
	int64_t probe_at_ns;     /* failing: no request before this ... */
	const struct cred *prober; /* ... nor while this one's is in flight
	                          * (sched_probe_ms) */
};

struct cred {
	char name[SEG_NAME_FIELD];
	struct endpoint *ep;
	const struct cred_conf *conf;   /* into daemon->conf */
	const struct prov_module *mod;
	uid_t *uids;
	size_t nuids;
	gid_t *gids;
	size_t ngids;
	uint32_t slot;
	int in_flight;
	CURL *easy;
	void *ctx;
	int64_t due_ns;          /* next fetch; INT64_MAX: none planned */
	int64_t need_by_ns;      /* a valid token needs its successor by
	                          * then (see sched_urgency) */
	int64_t sent_ns;         /* when the last request went out, 0: never */
	int64_t fetched_ns;      /* when the current token's request went out */
	int64_t life_ns;         /* the last token's lifetime, 0: unknown */
	int64_t expires_ns;      /* deadline of the published token, 0: none */
	uint32_t failures;
	int permanent;           /* the last failure was permanent */
	char last_error[SEG_SLOT_ERROR];  /* as long as the slot keeps */
};

struct conn {
	int fd;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
	int waiting;             /* holds a WAIT or REFRESH for `name` */
	int answered;            /* has had a reply: may be evicted */
	int seg_sent;            /* has had its one segment reply (see
	                          * conn_reply_segment) */
	int64_t accepted_ns;
	uint16_t op;
	char name[SEG_NAME_FIELD];
	int64_t deadline_ns;     /* reply or idle deadline */
};

struct daemon {
	struct daemon_conf *conf;
	struct cred **creds;
	size_t ncreds;
	struct endpoint **eps;
	size_t neps;
	struct segw seg;
	CURLM *multi;
	int sfd;
	int lfd;
	char sock_path[PATH_MAX];
	struct conn conns[MAX_CONNS];
	int nconns;
	struct parked {          /* an unread segment reply: see conn_park */
		int fd;
		uid_t uid;
	} *parked;
	int nparked;
	int parked_cap;          /* for users other than root and ours */
	int parked_size;         /* the array: twice that, for root and us */
	int64_t next_park_check_ns;
	int stop;
	char *tokbuf;            /* sodium_malloc'd scratch, token_max + 1 */
	int have_admin_gid;
	gid_t admin_gid;
	int64_t next_rotation_ns;  /* INT64_MAX: rotation off */
	int64_t next_file_check_ns; /* of the segment's persistent copy */
	int64_t accept_paused_until_ns;  /* out of descriptors: 0 if not */
	int64_t accept_logged_ns;        /* when that was last logged */
	uint64_t accept_refused;         /* accept() failures since then */
	struct peer_rate {
		uid_t uid;
		int used;
		int64_t last_ns;
		int64_t tokens_milli;  /* requests left, in thousandths */
	} rates[RATE_SLOTS];
	struct deny_log {        /* see log_denied() */
		uid_t uid;
		int used;
		int64_t since_ns;      /* when it was last logged */
		uint64_t unlogged;     /* denials since, not logged */
		char what[16];         /* "key", "fetch", "reload" ... */
		char name[SEG_NAME_FIELD];  /* credential, "" for none */
	} denials[DENY_LOG_SLOTS];
	struct {                   /* denials the table had no room for */
		int64_t since_ns;      /* the first one since the last report */
		uint64_t count;
		int nuids;             /* distinct users, up to DENY_LOG_SLOTS */
		uid_t uids[DENY_LOG_SLOTS];
	} deny_over;
	int64_t seg_logged_ns;     /* a segment send last failed, logged */
	uint64_t seg_failed;       /* ... and failures since */
	char conf_error[SEG_ERROR_FIELD];  /* the last reload's, "" if none */
};

static int64_t
now_ns(void)
{
	return seg_boottime_ns();
}

/* ------------------------------------------------------------------ */
/* Credentials                                                         */

static struct cred *
cred_find(struct daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->ncreds; i++)
		if (strcmp(d->creds[i]->name, name) == 0)
			return d->creds[i];
	return NULL;
}

static struct endpoint *
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
static void
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
static int64_t
endpoint_take(struct daemon *d, struct endpoint *e, int64_t now)
{
	int64_t wait;

	if (e->hold_until_ns > now)
		return e->hold_until_ns - now;
	if ((wait = sched_probe_wait(e->failures, e->prober != NULL,
	    e->probe_at_ns, now)) != 0)
		return wait < 0 ? 60 * NS_PER_S : wait;	/* a reply wakes us */
	return tbucket_take(&e->bucket, d->conf->endpoint_rate,
	    d->conf->endpoint_burst, now);
}

static int64_t
cred_urgency(const struct cred *c, int64_t now)
{
	return sched_urgency(c->due_ns, c->expires_ns > now, c->need_by_ns);
}

/* c's lifetime changes from old_ns to new_ns: its endpoint's demand. */
static void
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

	if (over == e->overloaded)
		return 0;
	if (over)
		log_warnx("%s: %zu credentials on it need about "
		    "%llu.%03llu token requests a second, more than "
		    "90 %% of endpoint_rate = %u: refreshes can come "
		    "after 80 %% of a lifetime; raise endpoint_rate, or "
		    "use fewer or longer-lived credentials", e->url, e->nknown,
		    (unsigned long long)(demand / 1000),
		    (unsigned long long)(demand % 1000),
		    d->conf->endpoint_rate);
	else
		log_info("%s: endpoint_rate = %u serves the %zu "
		    "credentials on it again (about %llu.%03llu token "
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
static void
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
static void
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
static int64_t
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

static int
parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return (errno != 0 || *end != '\0' || *out > UINT32_MAX - 1) ? -1 : 0;
}

/* Turn allow_users / allow_groups into ids.  Names that do not resolve
 * are reported and admit nobody. */
static int
cred_resolve_acl(struct cred *c)
{
	const struct cred_conf *cc = c->conf;
	unsigned long id;
	struct passwd *pw;
	struct group *gr;
	size_t i;

	free(c->uids);
	free(c->gids);
	c->uids = calloc(cc->nallow_users + 1, sizeof(uid_t));
	c->gids = calloc(cc->nallow_groups + 1, sizeof(gid_t));
	c->nuids = c->ngids = 0;
	if (c->uids == NULL || c->gids == NULL)
		return -1;
	for (i = 0; i < cc->nallow_users; i++) {
		if ((pw = getpwnam(cc->allow_users[i])) != NULL)
			c->uids[c->nuids++] = pw->pw_uid;
		else if (parse_id(cc->allow_users[i], &id) == 0)
			c->uids[c->nuids++] = (uid_t)id;
		else
			log_warnx("%s: allow_users: no such user '%s' "
			    "(ignored)", cc->path, cc->allow_users[i]);
	}
	for (i = 0; i < cc->nallow_groups; i++) {
		if ((gr = getgrnam(cc->allow_groups[i])) != NULL)
			c->gids[c->ngids++] = gr->gr_gid;
		else if (parse_id(cc->allow_groups[i], &id) == 0)
			c->gids[c->ngids++] = (gid_t)id;
		else
			log_warnx("%s: allow_groups: no such group '%s' "
			    "(ignored)", cc->path, cc->allow_groups[i]);
	}
	return 0;
}

static int
conn_allowed(const struct cred *c, const struct conn *k)
{
	size_t i;
	int j;

	if (k->uid == 0 || k->uid == geteuid())
		return 1;
	for (i = 0; i < c->nuids; i++)
		if (c->uids[i] == k->uid)
			return 1;
	for (i = 0; i < c->ngids; i++) {
		if (c->gids[i] == k->gid)
			return 1;
		for (j = 0; j < k->ngroups; j++)
			if (c->gids[i] == k->groups[j])
				return 1;
	}
	return 0;
}

/* Root, the daemon's own user, and members of admin_group. */
static int
conn_is_admin(const struct daemon *d, const struct conn *k)
{
	int j;

	if (k->uid == 0 || k->uid == geteuid())
		return 1;
	if (!d->have_admin_gid)
		return 0;
	if (k->gid == d->admin_gid)
		return 1;
	for (j = 0; j < k->ngroups; j++)
		if (k->groups[j] == d->admin_gid)
			return 1;
	return 0;
}

static void
resolve_admin_group(struct daemon *d)
{
	struct group *gr;

	d->have_admin_gid = 0;
	if (d->conf->admin_group == NULL)
		return;
	if ((gr = getgrnam(d->conf->admin_group)) == NULL) {
		log_warnx("%s: admin_group: no such group '%s' (ignored)",
		    d->conf->path, d->conf->admin_group);
		return;
	}
	d->admin_gid = gr->gr_gid;
	d->have_admin_gid = 1;
}

/*
 * A token bucket per user: RATE_PER_S requests a second after a burst of
 * RATE_BURST, so that one local user cannot keep the daemon busy.  Root
 * and the daemon's user are not limited.  The table keeps the users seen
 * most recently.
 */
static int
rate_allow(struct daemon *d, uid_t uid, int64_t now)
{
	struct peer_rate *p = NULL, *oldest = &d->rates[0];
	int64_t add;
	int i;

	if (uid == 0 || uid == geteuid())
		return 1;
	for (i = 0; i < RATE_SLOTS; i++) {
		if (d->rates[i].used && d->rates[i].uid == uid) {
			p = &d->rates[i];
			break;
		}
		if (!d->rates[i].used || d->rates[i].last_ns < oldest->last_ns)
			oldest = &d->rates[i];
	}
	if (p == NULL) {
		p = oldest;
		p->used = 1;
		p->uid = uid;
		p->last_ns = now;
		p->tokens_milli = RATE_BURST * 1000;
	}
	/* thousandths of a request per elapsed millisecond = RATE_PER_S */
	add = (now - p->last_ns) / (NS_PER_S / 1000) * RATE_PER_S;
	if (add > 0) {
		p->tokens_milli += add;
		if (p->tokens_milli > RATE_BURST * 1000)
			p->tokens_milli = RATE_BURST * 1000;
		p->last_ns = now;
	}
	if (p->tokens_milli < 1000)
		return 0;
	p->tokens_milli -= 1000;
	return 1;
}

/*
 * Denials are logged once per user, operation and credential per
 * DENY_LOG_NS, with the count of those not logged one by one: a denied
 * user who keeps asking, at the per-user rate, cannot flood the log, and
 * the admin still learns who tried what and how often.  A name that is
 * not a configured credential gets no entry of its own (request_denied
 * passes ""), so fresh names cannot make fresh lines.  An entry lives its
 * whole minute (deny_log_flush then logs its count and frees it); with
 * the table full, further denials are only counted, in one overflow
 * counter logged once a minute ("N more denials from M users").  So the
 * log gets at most DENY_LOG_SLOTS + 1 lines a minute, twice that with
 * the counts, whoever asks for what.
 */
static void
deny_log_report(const struct deny_log *e, int64_t now)
{
	if (e->unlogged == 0)
		return;
	log_info("%s%sdenied %s to uid %u %llu more time%s in the last "
	    "%lld s", e->name, e->name[0] != '\0' ? ": " : "", e->what,
	    (unsigned)e->uid, (unsigned long long)e->unlogged,
	    e->unlogged == 1 ? "" : "s",
	    (long long)((now - e->since_ns) / NS_PER_S));
}

static void
log_denied(struct daemon *d, uid_t uid, const char *what, const char *name,
    int64_t now)
{
	struct deny_log *e, *pick = NULL;
	int i;

	for (i = 0; i < DENY_LOG_SLOTS; i++) {
		e = &d->denials[i];
		if (e->used && e->uid == uid && strcmp(e->what, what) == 0 &&
		    strcmp(e->name, name) == 0) {
			e->unlogged++;
			return;
		}
		if (pick == NULL && !e->used)
			pick = e;
	}
	if (pick == NULL) {
		if (d->deny_over.count++ == 0)
			d->deny_over.since_ns = now;
		for (i = 0; i < d->deny_over.nuids; i++)
			if (d->deny_over.uids[i] == uid)
				return;
		if (d->deny_over.nuids < DENY_LOG_SLOTS)
			d->deny_over.uids[d->deny_over.nuids++] = uid;
		return;
	}
	memset(pick, 0, sizeof(*pick));
	pick->used = 1;
	pick->uid = uid;
	pick->since_ns = now;
	snprintf(pick->what, sizeof(pick->what), "%s", what);
	snprintf(pick->name, sizeof(pick->name), "%s", name);
	log_info("%s%sdenied %s to uid %u%s", name, name[0] != '\0' ? ": " :
	    "", what, (unsigned)uid, " (logged once a minute per user and "
	    "credential)");
}

/* Report and forget the pairs whose minute is over (all: every pair). */
static void
deny_log_flush(struct daemon *d, int64_t now, int all)
{
	int i;

	for (i = 0; i < DENY_LOG_SLOTS; i++) {
		struct deny_log *e = &d->denials[i];

		if (!e->used || (!all && now - e->since_ns < DENY_LOG_NS))
			continue;
		deny_log_report(e, now);
		e->used = 0;
	}
	if (d->deny_over.count > 0 && (all ||
	    now - d->deny_over.since_ns >= DENY_LOG_NS)) {
		log_info("%llu more denial%s from %s%d user%s in the last %lld "
		    "s (not logged one by one)",
		    (unsigned long long)d->deny_over.count,
		    d->deny_over.count == 1 ? "" : "s",
		    d->deny_over.nuids == DENY_LOG_SLOTS ? "at least " : "",
		    d->deny_over.nuids, d->deny_over.nuids == 1 ? "" : "s",
		    (long long)((now - d->deny_over.since_ns) / NS_PER_S));
		memset(&d->deny_over, 0, sizeof(d->deny_over));
	}
}

static void
cred_abort_fetch(struct daemon *d, struct cred *c)
{
	if (!c->in_flight)
		return;
	if (c->ep->prober == c)
		c->ep->prober = NULL;
	curl_multi_remove_handle(d->multi, c->easy);
	c->mod->cleanup(c->ctx);
	c->easy = NULL;
	c->ctx = NULL;
	c->in_flight = 0;
}

static void
cred_free(struct cred *c)
{
	if (c == NULL)
		return;
	free(c->uids);
	free(c->gids);
	free(c);
}

/* What identifies the token a credential's request yields. */
static void
cred_request_id(struct daemon *d, const struct cred_conf *cc, uint8_t out[16])
{
	crypto_generichash_state st;

	segw_request_hash_init(&d->seg, &st);
	conf_cred_request_id(cc, &st, out);
}

/*
 * Was the token in the slot granted a longer lifetime than cc's
 * max_lifetime now allows?  Then a lowered max_lifetime takes effect at
 * once, at a reload and a restart alike; timeout, ca_file and
 * default_lifetime change only the next fetch.  expires_at and fetched_at
 * were written from one reading of the wall clock, so their difference
 * does not depend on what that clock did since.
 */
static int
outlives_max_lifetime(const struct cred_conf *cc, const struct seg_slot *m)
{
	return m->expires_at - m->fetched_at > cc->max_lifetime;
}

/*
 * Bind a credential to its slot.  If the slot already holds a token that
 * decrypts and has time left (a previous daemon's), keep it and plan the
 * refresh the previous daemon planned.  A slot whose fetches were failing
 * keeps its planned retry, so that a restart does not hammer a server that
 * asked us to back off, and a Retry-After hold recorded in any slot holds
 * for the whole endpoint again.  Otherwise fetch at once.  The plan is
 * kept on the boot clock (seg_slot.plan), to the nanosecond; a segment
 * older than that has it in whole wall-clock seconds only, read toward
 * the later side.
 */
static int
cred_attach(struct daemon *d, struct cred *c, int64_t now)
{
	struct seg_slot meta;
	uint8_t rid[16];
	size_t len;
	int64_t wall = (int64_t)time(NULL), left, lo, hi, nb;

	c->due_ns = now;
	if (segw_find(&d->seg, c->name, &c->slot) != 0) {
		if (segw_assign(&d->seg, c->name, &c->slot) != 0)
			return -1;
		segw_set_status(&d->seg, c->slot, TS_PENDING, "", 0, 0, 0,
		    wall);
		return 0;
	}
	cred_request_id(d, c->conf, rid);
	if (segw_read_token(&d->seg, c->slot, d->tokbuf,
	    (size_t)d->conf->max_token_size + 1, &len, &meta) == 0) {
		sodium_memzero(d->tokbuf, len);
		left = meta.expires_boot_ns - now;
		if (sodium_memcmp(rid, meta.request_id, sizeof(rid)) != 0) {
			/* Another client id, audience, scope ...: that token
			 * is not this credential's any more. */
			log_info("%s: the request changed since the cached "
			    "token was fetched; fetching a new one", c->name);
			segw_drop_token(&d->seg, c->slot, "configuration "
			    "changed");
			return 0;
		}
		if (left > NS_PER_S && outlives_max_lifetime(c->conf, &meta)) {
			log_info("%s: the cached token outlives max_lifetime; "
			    "fetching a new one", c->name);
			segw_drop_token(&d->seg, c->slot, "max_lifetime lowered");
			return 0;
		}
	} else if (segw_read(&d->seg, c->slot, &meta) != 0)
		return 0;
	else if (!sodium_is_zero(meta.request_id, sizeof(meta.request_id)) &&
	    sodium_memcmp(rid, meta.request_id, sizeof(rid)) != 0) {
		/* The failures, plan and hold were another request's
		 * (another token_url, client ...): not ours to keep.  A
		 * slot from before request ids were kept on failure has
		 * zeros, and keeps them. */
		log_info("%s: the request changed since the last attempt; "
		    "fetching now", c->name);
		return 0;
	} else
		left = 0;
	/* The endpoint's hold, whichever of its credentials recorded it. */
	nb = sched_adopted_hold_ns(meta.plan.not_before_boot_ns, now);
	if (nb > c->ep->hold_until_ns)
		c->ep->hold_until_ns = nb;
	if (meta.failures > 0) {
		c->failures = meta.failures;
		c->permanent = segw_failure_permanent(&meta);
		snprintf(c->last_error, sizeof(c->last_error), "%s", meta.error);
	}
	if (left > NS_PER_S) {
		c->expires_ns = meta.expires_boot_ns;
		if (meta.plan.fetched_boot_ns > 0 &&
		    meta.plan.fetched_boot_ns <= now &&
		    meta.plan.fetched_boot_ns < meta.expires_boot_ns) {
			c->sent_ns = c->fetched_ns = meta.plan.fetched_boot_ns;
			c->life_ns = meta.expires_boot_ns - c->fetched_ns;
		}
		if (meta.plan.next_boot_ns > 0)
			c->due_ns = sched_adopted_due_ns(meta.plan.next_boot_ns,
			    nb, meta.expires_boot_ns, now);
		else
			c->due_ns = sched_adopted_refresh_ns(meta.expires_at,
			    meta.next_refresh_at, meta.expires_boot_ns, now);
		c->need_by_ns = c->due_ns;
		if (c->fetched_ns != 0 && meta.failures == 0) {
			sched_window(c->fetched_ns, c->expires_ns, &lo, &hi);
			if (hi > c->due_ns)
				c->need_by_ns = hi;
		}
		log_info("%s: kept the cached token, valid %lld s more",
		    c->name, (long long)(left / NS_PER_S));
		return 0;
	}
	if (meta.failures > 0 && meta.plan.next_boot_ns > now) {
		c->due_ns = sched_adopted_due_ns(meta.plan.next_boot_ns, nb,
		    now + SLOW_CAP_MS * NS_PER_MS, now);
		log_info("%s: last fetch failed (%s); next attempt in %lld ms, "
		    "as planned", c->name, c->last_error,
		    (long long)((c->due_ns - now) / NS_PER_MS));
	} else if (meta.failures > 0 && meta.plan.next_boot_ns == 0 &&
	    meta.next_refresh_at > wall) {
		/*
		 * A segment from before minor 2 has the plan only in
		 * wall-clock seconds.  Never wait longer than the delay that
		 * was planned (both ends were written with one reading of
		 * the clock), nor than the cap, whatever the wall clock did
		 * meanwhile; the seconds were cut short, so a second more.
		 */
		left = meta.next_refresh_at - wall + 1;
		if (meta.last_attempt_at > 0 &&
		    left > meta.next_refresh_at - meta.last_attempt_at + 1)
			left = meta.next_refresh_at - meta.last_attempt_at + 1;
		if (left > SLOW_CAP_MS / 1000)
			left = SLOW_CAP_MS / 1000;
		c->due_ns = now + left * NS_PER_S;
		log_info("%s: last fetch failed (%s); next attempt in %lld s, "
		    "as planned", c->name, c->last_error, (long long)left);
	}
	if (c->due_ns < c->ep->hold_until_ns)
		c->due_ns = c->ep->hold_until_ns;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Control connections                                                 */

/*
 * Has the peer not read all we sent it?  On a Unix socket, SIOCOUTQ counts
 * the bytes of our messages still queued at the peer.  Should the call
 * fail, the answer is no: a connection must never outlive its use for
 * want of it.
 */
static int
conn_unread(int fd)
{
	int n = 0;

	return ioctl(fd, SIOCOUTQ, &n) == 0 && n > 0;
}

/*
 * Closing only marks the slot; conn_reap() compacts the array at the top
 * of the loop, so that indexes held by callers stay valid.  A connection
 * with an unread segment reply is never here: it was parked as soon as
 * the reply went out (conn_park).
 */
static void
conn_close(struct daemon *d, int i)
{
	struct conn *k = &d->conns[i];

	if (k->fd == -1)
		return;
	close(k->fd);
	k->fd = -1;
	k->waiting = 0;
	free(k->groups);
	k->groups = NULL;
	/* A descriptor is free again: try the queued peers. */
	d->accept_paused_until_ns = 0;
}

/*
 * Parked connections.  A descriptor sent but not yet received is charged
 * by the kernel to the sender's user, us, and past our RLIMIT_NOFILE soft
 * limit every further send fails (ETOOMANYREFS), for every reader of the
 * host, root's too.  Closing our end does not uncharge it: the message
 * stays queued at the peer until the peer reads it or closes.  So a
 * connection whose segment reply is unread leaves the table of control
 * connections (it takes no place there, and the table stays free for
 * others) for this set, where we keep it, unpolled, only to count what is
 * in flight, until the peer reads the reply or goes (SIOCOUTQ drops to 0
 * either way; park_sweep looks every PARK_CHECK_NS, and before turning a
 * user away).  It has no deadline: closing it would forget a descriptor
 * still charged to us.  The counts are bounded instead, before the reply
 * is sent (park_room): PARKED_PER_UID per user, parked_cap for all users
 * but root and ours, sized well below our descriptor limit; root and we
 * have the rest of the array.  A user at a cap is told TC_EBUSY with no
 * descriptor until they read.
 */
static void
park_drop(struct daemon *d, int i)
{
	close(d->parked[i].fd);
	d->parked[i] = d->parked[--d->nparked];
	d->accept_paused_until_ns = 0;
}

/* Close the parked connections whose peer has read the reply or gone. */
static void
park_sweep(struct daemon *d)
{
	int i;

	for (i = d->nparked - 1; i >= 0; i--)
		if (!conn_unread(d->parked[i].fd))
			park_drop(d, i);
}

static int
park_privileged(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * May k be sent a segment reply?  Only if, should it stay unread, there
 * is room to park it within the caps above; looked at again after a sweep
 * before saying no.  Then the reason, else NULL.
 */
static const char *
park_room(struct daemon *d, const struct conn *k)
{
	int i, mine, others, swept = 0;

	for (;;) {
		mine = others = 0;
		for (i = 0; i < d->nparked; i++) {
			if (d->parked[i].uid == k->uid)
				mine++;
			if (!park_privileged(d->parked[i].uid))
				others++;
		}
		if (park_privileged(k->uid)) {
			if (d->nparked < d->parked_size)
				return NULL;
		} else if (mine < PARKED_PER_UID && others < d->parked_cap)
			return NULL;
		if (swept)
			break;
		park_sweep(d);
		swept = 1;
	}
	if (!park_privileged(k->uid) && mine >= PARKED_PER_UID)
		return "too many unread segment replies from this user; "
		    "read them first";
	return "too many unread segment replies on this host";
}

/* k's segment reply is unread: move it from the table to the parked set
 * (park_room made room for it). */
static void
conn_park(struct daemon *d, struct conn *k)
{
	if (d->nparked >= d->parked_size) {	/* not reached */
		log_warnx("no room to park uid %u's connection",
		    (unsigned)k->uid);
		return;
	}
	d->parked[d->nparked].fd = k->fd;
	d->parked[d->nparked++].uid = k->uid;
	k->fd = -1;
	k->waiting = 0;
	free(k->groups);
	k->groups = NULL;
}

static void
conn_reap(struct daemon *d)
{
	int i;

	for (i = d->nconns - 1; i >= 0; i--) {
		if (d->conns[i].fd != -1)
			continue;
		d->conns[i] = d->conns[d->nconns - 1];
		memset(&d->conns[d->nconns - 1], 0, sizeof(struct conn));
		d->conns[d->nconns - 1].fd = -1;
		d->nconns--;
	}
}

static int
conn_reply(struct conn *k, struct proto_resp *r)
{
	ssize_t n;

	r->magic = PROTO_MAGIC;
	r->version = PROTO_VERSION;
	r->op = k->op;
	r->message[sizeof(r->message) - 1] = '\0';
	n = send(k->fd, r, sizeof(*r), MSG_NOSIGNAL | MSG_DONTWAIT);
	sodium_memzero(r, sizeof(*r));
	k->waiting = 0;
	k->answered = 1;
	k->deadline_ns = now_ns() + CONN_IDLE_NS;
	return n == (ssize_t)sizeof(*r) ? 0 : -1;
}

/*
 * A reply to PROTO_OP_SEGMENT or PROTO_OP_OPEN: the read-only segment fd rides
 * along.  Wipes *r.
 *
 * A descriptor sent but not yet received is charged by the kernel to the
 * sender's user, us, and past our RLIMIT_NOFILE soft limit every further
 * send fails (ETOOMANYREFS); closing our end does not help, the message
 * stays queued at the peer.  A user who asked for segments and never read
 * the replies once stopped every new reader of the host that way.  So no
 * connection ever holds more than one unread descriptor: it gets one
 * segment reply (a second request for one cuts it off), only if there is
 * room to park it (park_room), and is parked at once if it is unread
 * (conn_park), so that what is in flight stays counted and capped, far
 * below our descriptor limit, which the worker also raises to its hard
 * limit at start.  The library asks one question per connection and then
 * reads, so it never notices.
 */
static int
conn_reply_segment(struct daemon *d, struct conn *k, struct proto_resp *r)
{
	int64_t now;
	int ret, saved;

	r->magic = PROTO_MAGIC;
	r->version = PROTO_VERSION;
	r->op = k->op;
	r->message[sizeof(r->message) - 1] = '\0';
	k->waiting = 0;
	k->answered = 1;
	k->deadline_ns = now_ns() + CONN_IDLE_NS;
	k->seg_sent = 1;
	ret = proto_send_with_fd(k->fd, r, sizeof(*r), d->seg.ro_fd);
	sodium_memzero(r, sizeof(*r));
	if (ret == 0 && conn_unread(k->fd))
		conn_park(d, k);
	if (ret != 0 && errno != EPIPE && errno != ECONNRESET) {
		/* Said once a minute at most, with a count. */
		saved = errno;
		now = now_ns();
		d->seg_failed++;
		if (d->seg_logged_ns == 0 || now - d->seg_logged_ns >=
		    SEG_LOG_NS) {
			errno = saved;
			log_warn("cannot send the segment to uid %u (%llu "
			    "time%s since the last report)", (unsigned)k->uid,
			    (unsigned long long)d->seg_failed,
			    d->seg_failed == 1 ? "" : "s");
			d->seg_logged_ns = now;
			d->seg_failed = 0;
		}
	}
	return ret;
}

static int
conn_reply_status(struct conn *k, int status, const char *msg,
    uint64_t generation)
{
	struct proto_resp r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.generation = generation;
	if (msg != NULL)
		snprintf(r.message, sizeof(r.message), "%s", msg);
	return conn_reply(k, &r);
}

/* Answer everyone waiting on c; status 0 means a token was published. */
static void
wake_waiters(struct daemon *d, struct cred *c, int status, const char *msg)
{
	struct seg_slot s;
	uint64_t gen = 0;
	int i;

	if (status == 0 && segw_read(&d->seg, c->slot, &s) == 0)
		gen = s.generation;
	for (i = d->nconns - 1; i >= 0; i--) {
		struct conn *k = &d->conns[i];

		if (k->waiting && strcmp(k->name, c->name) == 0 &&
		    conn_reply_status(k, status, msg, gen) != 0)
			conn_close(d, i);
	}
}

/*
 * May k be closed to make room?  Not while it waits for a fetch, nor before
 * its request has had a turn: closing one whose request we have not read
 * would leave its client with no answer (a herd of first reads showed it).
 * A client sends its request as soon as it connects, so one still silent
 * after CONN_QUIET_NS is fair game, lest silent peers hold the table.
 */
static int
conn_evictable(const struct conn *k, int64_t now)
{
	return k->fd != -1 && !k->waiting &&
	    (k->answered || now - k->accepted_ns > CONN_QUIET_NS);
}

/*
 * Where a new connection goes: a free place at the end, else a closed one,
 * else that of an evictable connection: one that has had its answer, the
 * one with the nearest deadline, before one that never spoke.  -1 when
 * there is none: then the listening socket is not polled, so that new
 * clients queue in its backlog (SOMAXCONN deep) until a fetch ends and
 * frees places.  A thousand processes making their first read in the same
 * instant are all answered that way, none refused; each bounds its wait
 * with its own deadline.
 */
static int
conn_pick(const struct daemon *d)
{
	int64_t now = now_ns();
	int j, idle = -1;
	const struct conn *k, *best;

	if (d->nconns < MAX_CONNS)
		return d->nconns;
	for (j = 0; j < d->nconns; j++) {
		k = &d->conns[j];
		if (k->fd == -1)
			return j;
		if (!conn_evictable(k, now))
			continue;
		best = idle == -1 ? NULL : &d->conns[idle];
		if (best == NULL || k->answered > best->answered ||
		    (k->answered == best->answered &&
		    k->deadline_ns < best->deadline_ns))
			idle = j;
	}
	return idle;
}

/* Is there room for a new connection (see conn_pick)? */
static int
conn_room(const struct daemon *d)
{
	return conn_pick(d) != -1;
}

/* The place conn_pick() chose, its connection closed; or -1. */
static int
conn_slot(struct daemon *d)
{
	int j = conn_pick(d);

	if (j != -1 && j < d->nconns)
		conn_close(d, j);	/* no-op for a closed one */
	return j;
}

/*
 * accept() failed with the peer still queued (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM).  The listening socket stays readable, so polling it again at
 * once would spin: stop listening until a connection of ours closes or
 * ACCEPT_PAUSE_NS passes (a libcurl transfer may free a descriptor too).
 * Queued peers wait, bounded by their own connect deadline.  Said once,
 * then at most every ACCEPT_LOG_NS with a count, never per attempt.
 */
static void
accept_failed(struct daemon *d)
{
	int saved = errno;
	int64_t now = now_ns();

	d->accept_paused_until_ns = now + ACCEPT_PAUSE_NS;
	d->accept_refused++;
	if (d->accept_logged_ns != 0 &&
	    now - d->accept_logged_ns < ACCEPT_LOG_NS)
		return;
	errno = saved;
	log_warn("accept (%llu time%s since the last report; new "
	    "connections wait until a descriptor is free)",
	    (unsigned long long)d->accept_refused,
	    d->accept_refused == 1 ? "" : "s");
	d->accept_logged_ns = now;
	d->accept_refused = 0;
}

/* Accept one connection; 0 when there is none left to accept. */
static int
accept_conn(struct daemon *d)
{
	int slot;
	struct conn *k;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	gid_t groups[NGROUPS_MAX];
	socklen_t glen = sizeof(groups);
	int fd;

	fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			accept_failed(d);
		return 0;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 ||
	    len != sizeof(uc)) {
		log_warn("SO_PEERCRED");
		close(fd);
		return 1;
	}
	if (uc.uid != 0 && uc.uid != geteuid()) {
		int j, n = 0;

		for (j = 0; j < d->nconns; j++)
			if (d->conns[j].fd != -1 && d->conns[j].uid == uc.uid)
				n++;
		if (n >= CONNS_PER_UID) {
			log_debug("uid %u has %d connections: refused",
			    (unsigned)uc.uid, n);
			close(fd);
			return 1;
		}
	}
	if ((slot = conn_slot(d)) == -1) {
		/* Not reached: the caller asks conn_room() first. */
		log_debug("every connection is waiting: refused uid %u",
		    (unsigned)uc.uid);
		close(fd);
		return 1;
	}
	k = &d->conns[slot];
	memset(k, 0, sizeof(*k));
	k->fd = fd;
	k->uid = uc.uid;
	k->gid = uc.gid;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0 &&
	    glen > 0 && (k->groups = malloc(glen)) != NULL) {
		memcpy(k->groups, groups, glen);
		k->ngroups = (int)(glen / sizeof(gid_t));
	}
	k->accepted_ns = now_ns();
	k->deadline_ns = k->accepted_ns + CONN_FIRST_NS;
	if (slot == d->nconns)
		d->nconns++;
	return 1;
}

static int reload(struct daemon *d, char *msg, size_t msglen);
static int rotate_keys(struct daemon *d, const char *why);

/*
 * Park k until c's next fetch ends.  Single flight: a waiter joins the
 * fetch in progress or the one planned.  `hurry` (a reader with no token)
 * moves the plan to now, but never before a Retry-After hold, and not
 * after failures: those keep the backoff, so that many impatient readers
 * cannot turn into a request storm.  An explicit refresh has moved the
 * plan itself (sched_forced_refresh).
 */
/*
 * An explicit refresh of c (sched_forced_refresh): the next turn its
 * endpoint's other credentials have not planned, not before the allowed
 * moment.  Returns SCHED_FORCE_*.
 */
static int
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

static void
begin_wait(struct cred *c, struct conn *k, uint32_t timeout_ms, int64_t now,
    int hurry)
{
	int64_t t, soonest;

	if (timeout_ms == 0)
		t = (int64_t)c->conf->timeout_ms + 1000;
	else
		t = timeout_ms > PROTO_WAIT_MAX_MS ? PROTO_WAIT_MAX_MS : timeout_ms;
	k->waiting = 1;
	memcpy(k->name, c->name, sizeof(k->name));
	k->deadline_ns = now + t * NS_PER_MS;
	if (!hurry || c->in_flight || c->failures > 0)
		return;
	soonest = c->ep->hold_until_ns > now ? c->ep->hold_until_ns : now;
	if (c->due_ns > soonest)
		c->due_ns = soonest;
}

#define DENIED_ADMIN "permission denied: needs root or admin_group"

/*
 * Would k be denied the request?  Then the denial is logged (log_denied)
 * and the reply's message returned; else NULL.  Unknown credentials are
 * not denials: their requests get their own answer.
 */
static const char *
request_denied(struct daemon *d, struct conn *k, int op, const char *name,
    int64_t now)
{
	struct cred *c;

	switch (op) {
	case PROTO_OP_KEY:
	case PROTO_OP_OPEN:
	case PROTO_OP_WAIT:
	case PROTO_OP_REFRESH:
		if ((c = cred_find(d, name)) == NULL || conn_allowed(c, k))
			return NULL;
		log_denied(d, k->uid, op == PROTO_OP_KEY || op == PROTO_OP_OPEN ?
		    "key" : "fetch", c->name, now);
		return "permission denied";
	case PROTO_OP_RELOAD:
	case PROTO_OP_ROTATE:
	case PROTO_OP_INVALIDATE:
		if (conn_is_admin(d, k))
			return NULL;
		/* A name that is no credential makes no entry of its own. */
		log_denied(d, k->uid, op == PROTO_OP_RELOAD ? "reload" :
		    op == PROTO_OP_ROTATE ? "rotate-keys" : "invalidate",
		    op == PROTO_OP_INVALIDATE && (c = cred_find(d, name)) !=
		    NULL ? c->name : "", now);
		return DENIED_ADMIN;
	}
	return NULL;
}

/* Handle one request checked by proto_req_parse(); -1: drop the peer. */
static int
handle_request(struct daemon *d, struct conn *k, const struct proto_req *q,
    const char *name)
{
	struct proto_resp r;
	struct cred *c = NULL;
	const char *denied;
	char msg[SEG_ERROR_FIELD];
	int64_t now = now_ns();

	k->op = q->op;
	/* One segment reply per connection: see conn_reply_segment. */
	if ((q->op == PROTO_OP_SEGMENT || q->op == PROTO_OP_OPEN) && k->seg_sent)
		return -1;
	if (!rate_allow(d, k->uid, now)) {
		/*
		 * Over the per-user rate.  A request that would be denied
		 * anyway is told so, never "busy": that would send the
		 * operator the wrong way.  It costs no more than "busy" (one
		 * small reply, no descriptor; its log line is limited too),
		 * and the peer is cut off all the same.
		 */
		if ((denied = request_denied(d, k, q->op, name, now)) != NULL)
			(void)conn_reply_status(k, TC_EACCES, denied, 0);
		else {
			log_debug("uid %u: rate limited", (unsigned)k->uid);
			(void)conn_reply_status(k, TC_EBUSY, "rate limited",
			    0);
		}
		return -1;
	}
	/* No room for one more unread descriptor: busy, none sent. */
	if ((q->op == PROTO_OP_SEGMENT || q->op == PROTO_OP_OPEN) &&
	    (denied = park_room(d, k)) != NULL) {
		log_debug("uid %u: %s", (unsigned)k->uid, denied);
		return conn_reply_status(k, TC_EBUSY, denied, 0);
	}
	switch (q->op) {
	case PROTO_OP_PING:
		memset(&r, 0, sizeof(r));
		/* The configuration on disk did not load: say why, to those
		 * who may reload (the reason may name files, credentials
		 * and values); the others learn that it did not. */
		if (d->conf_error[0] != '\0') {
			r.flags = PROTO_RESP_CONF_STALE;
			snprintf(r.message, sizeof(r.message), "%s",
			    conn_is_admin(d, k) ? d->conf_error :
			    "see tokencached's log (the reason is told only "
			    "to root and admin_group)");
		} else
			snprintf(r.message, sizeof(r.message), "tokencached "
			    "%s pid %ld", TC_VERSION_STRING, (long)getpid());
		return conn_reply(k, &r);
	case PROTO_OP_SEGMENT:
		/* Anyone may map it: it holds metadata and ciphertext only,
		 * as the world-readable persistent copy does. */
		memset(&r, 0, sizeof(r));
		return conn_reply_segment(d, k, &r);
	case PROTO_OP_OPEN:
		/* The segment for anyone, as above; the key as for KEY. */
		memset(&r, 0, sizeof(r));
		if ((c = cred_find(d, name)) == NULL) {
			r.status = TC_ENOTFOUND;
			snprintf(r.message, sizeof(r.message),
			    "no such credential");
		} else if (request_denied(d, k, q->op, name, now) != NULL) {
			r.status = TC_EACCES;
			snprintf(r.message, sizeof(r.message),
			    "permission denied");
		} else
			segw_key_for(&d->seg, c->name, r.key, &r.key_epoch);
		return conn_reply_segment(d, k, &r);	/* wipes r */
	case PROTO_OP_RELOAD:
	case PROTO_OP_ROTATE:
		if ((denied = request_denied(d, k, q->op, name, now)) !=
		    NULL)
			return conn_reply_status(k, TC_EACCES, denied, 0);
		if (q->op == PROTO_OP_ROTATE) {
			snprintf(msg, sizeof(msg), "requested by uid %u",
			    (unsigned)k->uid);
			if (rotate_keys(d, msg) != 0)
				return conn_reply_status(k, TC_EFAILED, "key "
				    "rotation failed: out of memory; the old "
				    "keys stay in use", 0);
			snprintf(msg, sizeof(msg), "keys rotated, epoch %llu",
			    (unsigned long long)d->seg.epoch);
			return conn_reply_status(k, 0, msg, 0);
		}
		if (reload(d, msg, sizeof(msg)) != 0)
			return conn_reply_status(k, TC_EFAILED, msg, 0);
		return conn_reply_status(k, 0, msg, 0);
	}
	if ((c = cred_find(d, name)) == NULL)
		return conn_reply_status(k, TC_ENOTFOUND,
		    "no such credential", 0);
	if (q->op == PROTO_OP_INVALIDATE) {
		if ((denied = request_denied(d, k, q->op, name, now)) != NULL)
			return conn_reply_status(k, TC_EACCES, denied, 0);
		snprintf(msg, sizeof(msg), "invalidated by uid %u",
		    (unsigned)k->uid);
		log_info("%s: token %s", c->name, msg);
		segw_drop_token(&d->seg, c->slot, msg);
		c->expires_ns = 0;
		if (!c->in_flight)
			c->due_ns = c->ep->hold_until_ns > now ?
			    c->ep->hold_until_ns : now;
		return conn_reply_status(k, 0, "invalidated; fetching a new "
		    "token", 0);
	}
	if ((denied = request_denied(d, k, q->op, name, now)) != NULL)
		return conn_reply_status(k, TC_EACCES, denied, 0);
	switch (q->op) {
	case PROTO_OP_KEY:
		memset(&r, 0, sizeof(r));
		segw_key_for(&d->seg, c->name, r.key, &r.key_epoch);
		return conn_reply(k, &r);	/* wipes r */
	case PROTO_OP_WAIT:
		if (c->expires_ns > now && c->expires_ns != 0)
			return conn_reply_status(k, 0, NULL, 0);
		/* A permanent error will not mend by itself: say so now,
		 * rather than at the next slow retry. */
		if (c->permanent && !c->in_flight)
			return conn_reply_status(k, TC_EFAILED, c->last_error,
			    0);
		begin_wait(c, k, q->timeout_ms, now, 1);
		return 0;
	case PROTO_OP_REFRESH:
		/* An explicit request clears a permanent failure's slow
		 * retry; it does not override a Retry-After hold, nor
		 * refresh_min_interval. */
		if (sched_refresh(d, c, now) == SCHED_FORCE_LAST) {
			log_debug("%s: refresh requested by uid %u: the token "
			    "fetched %lld ms ago stands", c->name,
			    (unsigned)k->uid,
			    (long long)((now - c->sent_ns) / NS_PER_MS));
			return conn_reply_status(k, 0, "the token in service "
			    "was fetched less than refresh_min_interval ago",
			    0);
		}
		log_info("%s: refresh requested by uid %u", c->name,
		    (unsigned)k->uid);
		c->permanent = 0;
		begin_wait(c, k, q->timeout_ms, now, 0);
		return 0;
	}
	return -1;
}

static void
read_conn(struct daemon *d, int i)
{
	struct conn *k = &d->conns[i];
	struct proto_req buf, q;
	char name[SEG_NAME_FIELD];
	ssize_t n;

	n = recv(k->fd, &buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	/* A peer that sends a malformed message, or anything at all while
	 * it waits for an answer, is cut off. */
	if (n <= 0 || k->waiting ||
	    proto_req_parse(&buf, (size_t)n, &q, name) != 0 ||
	    handle_request(d, k, &q, name) != 0)
		conn_close(d, i);
}

/*
 * The socket is bound under a temporary name and renamed into place once
 * it listens: a client never finds a socket of ours that does not listen
 * yet.  (One left by a killed daemon refuses it until the rename, just as
 * no socket would.)
 */
static int
listen_socket(struct daemon *d, char *err, size_t errlen)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    d->conf->runtime_dir, SEG_SOCKET_TEMP) >= (int)sizeof(sun.sun_path)) {
		snprintf(err, errlen, "runtime_dir %s: path too long for a "
		    "socket", d->conf->runtime_dir);
		return -1;
	}
	snprintf(d->sock_path, sizeof(d->sock_path), "%s/%s",
	    d->conf->runtime_dir, SEG_SOCKET_NAME);
	/* We hold the runtime directory's lock: one there is stale. */
	(void)unlink(sun.sun_path);
	d->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (d->lfd == -1 ||
	    bind(d->lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(sun.sun_path, 0666) == -1 ||
	    listen(d->lfd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "%s: %s", sun.sun_path, strerror(errno));
		(void)unlink(sun.sun_path);
		return -1;
	}
	if (rename(sun.sun_path, d->sock_path) == -1) {
		snprintf(err, errlen, "rename %s to %s: %s", sun.sun_path,
		    d->sock_path, strerror(errno));
		(void)unlink(sun.sun_path);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Fetching                                                            */

static void
limits_of(const struct daemon *d, const struct cred *c, struct tok_limits *lim)
{
	lim->token_max = d->conf->max_token_size;
	lim->default_lifetime = c->conf->default_lifetime;
	lim->max_lifetime = c->conf->max_lifetime;
}

static void
start_fetch(struct daemon *d, struct cred *c, int64_t now)
{
	struct tok_limits lim;
	char err[256];

	limits_of(d, c, &lim);
	if (c->mod->start(c->conf, &lim, &c->easy, &c->ctx, err,
	    sizeof(err)) != 0) {
		log_warnx("%s: %s", c->name, err);
		c->due_ns = now + RETRY_BASE_MS * NS_PER_MS;
		return;
	}
	curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
	if (curl_multi_add_handle(d->multi, c->easy) != CURLM_OK) {
		log_warnx("%s: cannot start the request", c->name);
		c->mod->cleanup(c->ctx);
		c->easy = NULL;
		c->ctx = NULL;
		c->due_ns = now + RETRY_BASE_MS * NS_PER_MS;
		return;
	}
	c->in_flight = 1;
	c->sent_ns = now;
	c->due_ns = INT64_MAX;
	log_debug("%s: requesting a token from %s", c->name,
	    c->conf->token_url);
}

static void fetch_failed(struct daemon *d, struct cred *c,
    const struct tok_result *t, long http_status, long retry_after,
    int64_t now);

/*
 * A token arrived.  Its lifetime counts from when the request was sent,
 * the earliest the server can have measured it from; the refresh is
 * planned at a random point of 70-80 % of that lifetime, moved within the
 * window to a turn the endpoint's rate leaves free (plan_refresh).
 */
static void
fetch_succeeded(struct daemon *d, struct cred *c, struct tok_result *t,
    int64_t now)
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
	c->fetched_ns = sent;
	c->due_ns = due;
	c->need_by_ns = hi > due ? hi : due;
	c->failures = 0;
	c->permanent = 0;
	c->last_error[0] = '\0';
	log_info("%s: new %s token, valid %ld s, refresh in %lld.%03lld s "
	    "(at %lld %% of its lifetime%s)", c->name, t->token_type,
	    t->lifetime, (long long)((due - now) / NS_PER_S),
	    (long long)((due - now) % NS_PER_S / NS_PER_MS),
	    (long long)((due - sent) / (life_ns / 100)), in_window ? "" :
	    "; the endpoint's rate left no turn within 70-80 %");
	wake_waiters(d, c, 0, NULL);
}

/*
 * The endpoint's hold (Retry-After) into the slot of every credential on
 * it, so that a restarted daemon keeps it whichever of them remain.
 */
static void
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
 * A request failed.  The retry is planned by sched_retry_ms(); a
 * Retry-After also holds every credential of the endpoint.  The plan and
 * the hold are kept in the slot on the boot clock, so that a restarted
 * daemon sends nothing sooner.
 */
static void
fetch_failed(struct daemon *d, struct cred *c, const struct tok_result *t,
    long http_status, long retry_after, int64_t now)
{
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
	if (retry_after > 0)
		endpoint_write_hold(d, c->ep, now);
	log_warnx("%s: fetch failed (%s%s): %s; %s, retry in %lld.%03lld s",
	    c->name, c->permanent ? "permanent" : "transient",
	    http_status ? "" : ", no HTTP reply", t->error,
	    have_token ? "still serving the current token" : "no valid token",
	    (long long)(delay_ms / 1000), (long long)(delay_ms % 1000));
	wake_waiters(d, c, TC_EFAILED, c->last_error);
}

/*
 * The endpoint's failure state (sched_probe_ms): a transient failure
 * counts against it and plans its next probe; any other outcome (it
 * answered) ends the run and releases the credentials that waited.
 */
static void
endpoint_outcome(const struct cred *c, int failed, int64_t now)
{
	struct endpoint *e = c->ep;

	if (e->prober == c)
		e->prober = NULL;
	if (!failed) {
		if (e->failures >= SCHED_PROBE_AFTER)
			log_info("%s: answering again after %u failed "
			    "requests", e->url, e->failures);
		e->failures = 0;
		e->probe_at_ns = 0;
		return;
	}
	if (e->failures < UINT32_MAX)
		e->failures++;
	if (e->failures == SCHED_PROBE_AFTER)
		log_warnx("%s: %u requests in a row failed; one credential "
		    "at a time tries it until it answers", e->url, e->failures);
	e->probe_at_ns = now + sched_probe_ms(e->failures,
	    c->expires_ns > now, randombytes_random()) * NS_PER_MS;
}

static void
fetch_done(struct daemon *d, CURL *easy, CURLcode cc)
{
	struct tok_result t;
	struct tok_limits lim;
	struct cred *c = NULL;
	long status = 0, retry_after = 0;
	int64_t now = now_ns();
	void *ctx;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
	if (c == NULL || c->easy != easy)
		return;
	limits_of(d, c, &lim);
	c->mod->finish(c->ctx, cc, (int64_t)time(NULL), &lim, &t, &status,
	    &retry_after);
	curl_multi_remove_handle(d->multi, easy);
	ctx = c->ctx;
	c->easy = NULL;
	c->ctx = NULL;
	c->in_flight = 0;
	c->mod->cleanup(ctx);
	endpoint_outcome(c, t.outcome == TOK_TRANSIENT, now);
	if (t.outcome == TOK_OK)
		fetch_succeeded(d, c, &t, now);
	else
		fetch_failed(d, c, &t, status, retry_after, now);
	tok_result_clear(&t);
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

/*
 * A new key epoch: every token is re-sealed, and every reader must ask for
 * the new key, which re-checks its access.  This is how access removed
 * from a credential takes effect for processes that hold the old key.
 */
/*
 * A new key epoch, every token re-sealed.  0, or -1 if nothing changed
 * (out of memory): the old keys stay in use, and the timer tries again in
 * a minute rather than at once, in a loop.
 */
static int
rotate_keys(struct daemon *d, const char *why)
{
	struct seg_slot s;
	int64_t now = now_ns();
	size_t i;
	int dropped;

	dropped = segw_rotate(&d->seg);
	if (dropped < 0) {
		log_warnx("key rotation (%s) failed: out of memory; the old "
		    "keys stay in use, next attempt in 60 s", why);
		d->next_rotation_ns = now + 60 * NS_PER_S;
		return -1;
	}
	log_info("keys rotated to epoch %llu (%s)%s",
	    (unsigned long long)d->seg.epoch, why,
	    dropped ? "; some tokens could not be re-sealed" : "");
	/* A token that could not be re-sealed is fetched again. */
	for (i = 0; dropped > 0 && i < d->ncreds; i++) {
		struct cred *c = d->creds[i];

		if (segw_read(&d->seg, c->slot, &s) == 0 && s.ct_len == 0 &&
		    c->expires_ns != 0) {
			c->expires_ns = 0;
			if (!c->in_flight)
				c->due_ns = now;
		}
	}
	d->next_rotation_ns = d->conf->key_rotation_interval > 0 ?
	    now + d->conf->key_rotation_interval * NS_PER_S : INT64_MAX;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

static struct cred *
cred_new(struct daemon *d, const struct cred_conf *cc, int64_t now)
{
	struct cred *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", cc->name);
	c->conf = cc;
	c->mod = prov_module_find(cc->provider);
	c->ep = endpoint_get(d, cc->token_url, now);
	if (c->mod == NULL || c->ep == NULL || cred_resolve_acl(c) != 0 ||
	    cred_attach(d, c, now) != 0) {
		cred_free(c);
		return NULL;
	}
	return c;
}

static int
keep_configured(const char *name, void *arg)
{
	return conf_find(arg, name) != NULL;
}

/*
 * Re-read the configuration.  A credential whose request changed loses
 * its token and is fetched again at once; one that disappeared is dropped
 * from the segment.  A configuration that does not
 * load changes nothing.  Returns 0 or -1, with what happened in msg.
 */
static int
reload(struct daemon *d, char *msg, size_t msglen)
{
	struct daemon_conf *nc;
	struct cred **list, *c;
	struct endpoint *ep;
	struct seg_slot meta;
	char err[CONF_ERR_MAX];
	size_t i, added = 0, changed = 0, removed = 0, acl_changed = 0;
	int64_t now = now_ns();

	if (privsep_load(d->conf->path, &nc, err) != 0) {
		log_errx("reload failed, keeping the running configuration: "
		    "%s", err);
		/* check reports it until a reload succeeds. */
		snprintf(d->conf_error, sizeof(d->conf_error), "%.*s",
		    (int)sizeof(d->conf_error) - 1, err);
		/* Cut short if need be: the log line above has it whole. */
		if (snprintf(msg, msglen, "not reloaded, the running "
		    "configuration stays: %s", d->conf_error) < 0)
			msg[0] = '\0';
		return -1;
	}
	if (strcmp(nc->runtime_dir, d->conf->runtime_dir) != 0 ||
	    strcmp(nc->user, d->conf->user) != 0 ||
	    nc->max_credentials != d->conf->max_credentials ||
	    nc->max_token_size != d->conf->max_token_size) {
		snprintf(msg, msglen, "runtime_dir, user, max_credentials and "
		    "max_token_size take effect at the next start only; "
		    "keeping the running configuration");
		log_errx("reload: %s", msg);
		snprintf(d->conf_error, sizeof(d->conf_error), "%s", msg);
		conf_free(nc);
		return -1;
	}
	if ((list = calloc(nc->ncreds + 1, sizeof(*list))) == NULL) {
		snprintf(msg, msglen, "out of memory");
		log_errx("reload: %s", msg);
		conf_free(nc);
		return -1;
	}
	for (i = 0; i < nc->ncreds; i++) {
		const struct cred_conf *cc = &nc->creds[i];

		if ((c = cred_find(d, cc->name)) != NULL) {
			if (conf_cred_acl_differs(c->conf, cc))
				acl_changed++;
			if (conf_cred_request_differs(c->conf, cc) ||
			    (cc->max_lifetime < c->conf->max_lifetime &&
			    c->expires_ns > now &&
			    segw_read(&d->seg, c->slot, &meta) == 0 &&
			    outlives_max_lifetime(cc, &meta))) {
				/* The old token answers another request
				 * (client, audience, scope ...) or lives
				 * longer than now allowed: drop it, as a
				 * restarted daemon would. */
				cred_abort_fetch(d, c);
				segw_drop_token(&d->seg, c->slot,
				    "configuration changed");
				c->expires_ns = 0;
				c->due_ns = now;
				c->failures = 0;
				c->permanent = 0;
				c->mod = prov_module_find(cc->provider);
				changed++;
			}
			/* An explicit reload retries a permanent failure
			 * at once (the bucket and holds still apply). */
			if (c->permanent) {
				c->permanent = 0;
				if (!c->in_flight)
					c->due_ns = now;
			}
			c->conf = cc;
			if ((ep = endpoint_get(d, cc->token_url, now)) != NULL)
				c->ep = ep;
			if (cred_resolve_acl(c) != 0)
				log_warnx("%s: out of memory", c->name);
		} else if ((c = cred_new(d, cc, now)) != NULL) {
			added++;
		} else {
			log_warnx("%s: cannot add: the segment is full",
			    cc->name);
			continue;
		}
		list[i] = c;
	}
	/* Drop what is gone. */
	for (i = 0; i < d->ncreds; i++) {
		c = d->creds[i];
		if (conf_find(nc, c->name) != NULL)
			continue;
		cred_abort_fetch(d, c);
		wake_waiters(d, c, TC_ENOTFOUND, "credential removed");
		segw_release(&d->seg, c->slot);
		cred_free(c);
		removed++;
	}
	free(d->creds);
	conf_free(d->conf);
	d->conf = nc;
	d->conf_error[0] = '\0';
	/* compact: cred_new may have failed for some */
	d->ncreds = 0;
	for (i = 0; i < nc->ncreds; i++)
		if (list[i] != NULL)
			list[d->ncreds++] = list[i];
	d->creds = list;
	endpoint_gc(d);
	endpoint_judge_all(d);	/* creds or endpoint_rate changed */
	resolve_admin_group(d);
	if (d->conf->key_rotation_interval == 0)
		d->next_rotation_ns = INT64_MAX;
	else if (d->next_rotation_ns == INT64_MAX)
		d->next_rotation_ns = now + d->conf->key_rotation_interval *
		    NS_PER_S;
	/*
	 * Access may have been taken away from someone holding a key: a list
	 * changed, or a credential went (keys are derived from the name, so
	 * one added again later under the same name would share the key).
	 */
	if ((acl_changed > 0 || removed > 0) && rotate_keys(d, acl_changed ?
	    "access lists changed" : "credentials removed") != 0) {
		/* Applied, but who lost access may still hold a key: say so
		 * as a failure, so that the admin does not rely on it. */
		snprintf(msg, msglen, "configuration reloaded: %zu "
		    "credentials, but the keys could not be rotated (out of "
		    "memory): run tokencachectl rotate-keys", d->ncreds);
		log_errx("%s", msg);
		return -1;
	}
	snprintf(msg, msglen, "configuration reloaded: %zu credentials "
	    "(%zu added, %zu changed, %zu removed)%s", d->ncreds, added,
	    changed, removed, acl_changed || removed ? "; keys rotated" : "");
	log_info("%s", msg);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

/*
 * Descriptors sent to a client and not yet received count against our
 * RLIMIT_NOFILE soft limit (see conn_reply_segment), besides those we
 * hold: take all the hard limit allows.  Failing that, the soft limit
 * stays; nothing depends on more.
 */
static void
raise_nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("setrlimit RLIMIT_NOFILE");
	else
		log_debug("descriptor limit raised to %llu",
		    (unsigned long long)rl.rlim_cur);
}

/*
 * How many unread segment replies users other than root and ours may
 * hold at once (see conn_park): a quarter of what our descriptor limit
 * leaves beside the table of connections and some for libcurl and the
 * rest, between 16 and PARKED_MAX (4096 past a limit of about 16,600).
 * Each parked one costs us a descriptor and one in flight, and root and
 * we may park as many again, so both counts stay below the limit.
 */
static int
parked_cap_for_limit(void)
{
	struct rlimit rl;
	rlim_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return PARKED_MAX;
	room = rl.rlim_cur > MAX_CONNS + 64 ? rl.rlim_cur - MAX_CONNS - 64 : 0;
	room /= 4;
	return room < 16 ? 16 : room > PARKED_MAX ? PARKED_MAX : (int)room;
}

struct daemon *
daemon_new(struct daemon_conf *conf, char *err, size_t errlen)
{
	struct daemon *d;
	sigset_t mask;
	size_t i;
	int64_t now = now_ns();

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "out of memory");
		conf_free(conf);
		return NULL;
	}
	d->conf = conf;
	d->sfd = d->lfd = -1;
	raise_nofile_limit();
	d->parked_cap = parked_cap_for_limit();
	d->parked_size = 2 * d->parked_cap;
	d->seg.fd = d->seg.lock_fd = -1;
	if ((d->parked = calloc((size_t)d->parked_size,
	    sizeof(*d->parked))) == NULL ||
	    (d->tokbuf = sodium_malloc((size_t)conf->max_token_size + 1)) ==
	    NULL || (d->multi = curl_multi_init()) == NULL ||
	    (d->creds = calloc(conf->ncreds + 1, sizeof(*d->creds))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (segw_open(&d->seg, conf->runtime_dir, conf->max_credentials * 2,
	    conf->max_token_size, err, errlen) != 0)
		goto fail;
	segw_release_unless(&d->seg, keep_configured, conf);
	for (i = 0; i < conf->ncreds; i++) {
		if ((d->creds[i] = cred_new(d, &conf->creds[i], now)) == NULL) {
			snprintf(err, errlen, "%s: cannot set up the credential",
			    conf->creds[i].path);
			goto fail;
		}
		d->ncreds++;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if ((d->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		goto fail;
	}
	if (listen_socket(d, err, errlen) != 0)
		goto fail;
	endpoint_judge_all(d);
	resolve_admin_group(d);
	d->next_rotation_ns = conf->key_rotation_interval > 0 ?
	    now + conf->key_rotation_interval * NS_PER_S : INT64_MAX;
	log_info("tokencached %s: %zu credential(s), runtime directory %s%s",
	    TC_VERSION_STRING, d->ncreds, conf->runtime_dir,
	    d->seg.adopted ? " (adopted the existing cache)" : "");
	return d;
 fail:
	daemon_free(d);
	return NULL;
}

void
daemon_free(struct daemon *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->ncreds; i++) {
		cred_abort_fetch(d, d->creds[i]);
		cred_free(d->creds[i]);
	}
	free(d->creds);
	for (i = 0; i < d->neps; i++) {
		free(d->eps[i]->url);
		free(d->eps[i]);
	}
	free(d->eps);
	for (i = 0; i < (size_t)d->nconns; i++)
		conn_close(d, (int)i);
	while (d->nparked > 0)
		park_drop(d, d->nparked - 1);
	free(d->parked);
	deny_log_flush(d, now_ns(), 1);
	if (d->lfd != -1) {
		close(d->lfd);
		(void)unlink(d->sock_path);
	}
	if (d->sfd != -1)
		close(d->sfd);
	if (d->multi != NULL)
		curl_multi_cleanup(d->multi);
	if (d->seg.base != NULL || d->seg.lock_fd != -1)
		segw_close(&d->seg, 0);
	sodium_free(d->tokbuf);
	conf_free(d->conf);
	free(d);
}

static void
handle_signal(struct daemon *d, uint32_t signo)
{
	char msg[SEG_ERROR_FIELD];

	switch (signo) {
	case SIGHUP:
		log_info("SIGHUP: reloading %s", d->conf->path);
		(void)reload(d, msg, sizeof(msg));
		break;
	case SIGTERM:
	case SIGINT:
		log_info("signal %u: exiting", signo);
		d->stop = 1;
		break;
	}
}

/* Signals sent to us, and those the monitor passes on (it may lack the
 * right to signal us: see privsep.c). */
static void
read_signals(struct daemon *d)
{
	struct signalfd_siginfo si;
	int signo;

	while (read(d->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		handle_signal(d, si.ssi_signo);
	while ((signo = privsep_signal_read()) != 0)
		handle_signal(d, (uint32_t)signo);
}

/*
 * Each endpoint's requests go to its due credentials in order of need
 * (sched_order), as far as its hold, probe and bucket allow; the others
 * stay due and wait for the endpoint, their plan unchanged.  One pass to
 * collect, a sort, one walk: O(n log n) in the credentials due, however
 * many endpoints.  *next is lowered to when a refused endpoint may take
 * one again.
 */
static void
start_due(struct daemon *d, int64_t now, int64_t *next)
{
	struct sched_due *v;
	struct cred *c;
	size_t i, n = 0, ep = SIZE_MAX;
	int64_t wait = 0;

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
		if (v[i].ep == ep && wait > 0)
			continue;	/* its endpoint refused one already */
		ep = v[i].ep;
		if ((wait = endpoint_take(d, c->ep, now)) > 0) {
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

/* Start due fetches, mark expired tokens, time out waiters; return the
 * time until the next thing to do, in ms. */
static int
run_timers(struct daemon *d, int64_t now)
{
	int64_t next = now + 60 * NS_PER_S;
	size_t i;
	int j;

	for (i = 0; i < d->ncreds; i++) {
		struct cred *c = d->creds[i];

		if (c->expires_ns != 0 && c->expires_ns <= now) {
			c->expires_ns = 0;
			segw_set_state(&d->seg, c->slot, TS_EXPIRED);
			log_warnx("%s: token expired without a replacement",
			    c->name);
		}
	}
	start_due(d, now, &next);
	for (i = 0; i < d->ncreds; i++) {
		struct cred *c = d->creds[i];

		if (!c->in_flight && c->due_ns > now && c->due_ns < next)
			next = c->due_ns;
		if (c->expires_ns != 0 && c->expires_ns < next)
			next = c->expires_ns;
	}
	if (d->next_rotation_ns <= now)
		rotate_keys(d, "key_rotation_interval");
	if (d->next_rotation_ns < next)
		next = d->next_rotation_ns;
	/* Someone may have truncated, replaced or deleted the persistent
	 * copy: cheap to look, and no reader depends on it meanwhile.  This
	 * also bounds the poll below to a second, which matters after a
	 * suspend: poll's timeout runs on CLOCK_MONOTONIC, which stops while
	 * asleep, and every deadline here is on CLOCK_BOOTTIME, which does
	 * not; a refresh that fell due while asleep starts within a second
	 * of the resume. */
	if (d->next_file_check_ns <= now) {
		(void)segw_check_file(&d->seg);
		d->next_file_check_ns = now + FILE_CHECK_NS;
	}
	if (d->next_file_check_ns < next)
		next = d->next_file_check_ns;
	if (d->next_park_check_ns <= now) {
		park_sweep(d);
		d->next_park_check_ns = now + PARK_CHECK_NS;
	}
	if (d->nparked > 0 && d->next_park_check_ns < next)
		next = d->next_park_check_ns;
	if (d->accept_paused_until_ns != 0) {
		if (d->accept_paused_until_ns <= now)
			d->accept_paused_until_ns = 0;
		else if (d->accept_paused_until_ns < next)
			next = d->accept_paused_until_ns;
	}
	for (j = d->nconns - 1; j >= 0; j--) {
		struct conn *k = &d->conns[j];

		if (k->fd == -1)
			continue;
		if (k->deadline_ns <= now) {
			if (k->waiting && conn_reply_status(k, TC_ETIMEDOUT,
			    "timed out", 0) == 0)
				continue;	/* deadline reset by reply */
			conn_close(d, j);
			continue;
		}
		if (k->deadline_ns < next)
			next = k->deadline_ns;
		/* With the table full, the moment a silent one becomes
		 * evictable is the moment there is room again (conn_pick);
		 * once it is, the listening socket is polled, and waking
		 * for it again would spin. */
		if (d->nconns == MAX_CONNS && !k->waiting && !k->answered &&
		    k->accepted_ns + CONN_QUIET_NS >= now &&
		    k->accepted_ns + CONN_QUIET_NS < next)
			next = k->accepted_ns + CONN_QUIET_NS + 1;
	}
	next -= now;
	return next <= 0 ? 0 : (int)((next + NS_PER_MS - 1) / NS_PER_MS);
}

int
daemon_run(struct daemon *d)
{
	struct curl_waitfd fds[3 + MAX_CONNS];
	struct CURLMsg *msg;
	int timeout, nfds, first, running, left, listening, i;

	/* After daemon(3), we are a new process. */
	segw_set_pid(&d->seg);
	while (!d->stop) {
		conn_reap(d);
		deny_log_flush(d, now_ns(), 0);
		timeout = run_timers(d, now_ns());
		nfds = 0;
		fds[nfds].fd = d->sfd;
		fds[nfds].events = CURL_WAIT_POLLIN;
		fds[nfds++].revents = 0;
		/*
		 * Not polled for input while out of descriptors, or while
		 * every connection waits for a fetch (see conn_slot); still
		 * in the set, so that the indexes below stay put.
		 */
		listening = d->accept_paused_until_ns == 0 && conn_room(d);
		fds[nfds].fd = d->lfd;
		fds[nfds].events = listening ? CURL_WAIT_POLLIN : 0;
		fds[nfds++].revents = 0;
		fds[nfds].fd = privsep_signal_fd();
		fds[nfds].events = CURL_WAIT_POLLIN;
		fds[nfds++].revents = 0;
		for (i = 0; i < d->nconns; i++) {
			fds[nfds].fd = d->conns[i].fd;
			fds[nfds].events = CURL_WAIT_POLLIN;
			fds[nfds++].revents = 0;
		}
		if (curl_multi_poll(d->multi, fds, (unsigned)nfds, timeout,
		    NULL) != CURLM_OK) {
			log_warnx("curl_multi_poll failed");
			sleep(1);
			continue;
		}
		if (fds[0].revents || fds[2].revents)
			read_signals(d);
		/* fds[first + i] is d->conns[i]: closing only marks. */
		first = nfds - d->nconns;
		for (i = 0; i < d->nconns; i++)
			if (fds[first + i].revents && d->conns[i].fd != -1)
				read_conn(d, i);
		/* A burst of clients is taken in one turn, as far as there
		 * is room, rather than one a turn. */
		if (first == 3 && listening && fds[1].revents)
			for (i = 0; i < ACCEPT_BURST && conn_room(d) &&
			    d->accept_paused_until_ns == 0; i++)
				if (!accept_conn(d))
					break;
		curl_multi_perform(d->multi, &running);
		while ((msg = curl_multi_info_read(d->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				fetch_done(d, msg->easy_handle,
				    msg->data.result);
		/* Requests carry secrets and replies tokens, through libc's
		 * vector copies: sleep with none of them in a register. */
		wipe_vector_registers();
	}
	return 0;
}
