/*
 * cred.c - a credential's record in the daemon: made from its
 * configuration, bound to its slot in the segment (adopting the token and
 * plan a previous daemon left there), and the identity of its request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "access.h"
#include "cred.h"
#include "daemon_int.h"
#include "endpoint.h"
#include "log.h"

struct cred *
cred_find(struct daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->ncreds; i++)
		if (strcmp(d->creds[i]->name, name) == 0)
			return d->creds[i];
	return NULL;
}

void
cred_free(struct cred *c)
{
	if (c == NULL)
		return;
	free(c->uids);
	free(c->gids);
	free(c);
}

/* What identifies the token a credential's request yields. */
void
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
int
outlives_max_lifetime(const struct cred_conf *cc, const struct seg_slot *m)
{
	return m->expires_at - m->fetched_at > cc->max_lifetime;
}

/*
 * Adopt the cached token in m, valid for left ns more: its expiry, when it
 * was fetched, and the refresh the last daemon planned for it.
 */
static void
adopt_token(struct cred *c, const struct seg_slot *m, int64_t left,
    int64_t nb, int64_t now)
{
	int64_t lo, hi;

	c->expires_ns = m->expires_boot_ns;
	if (m->plan.fetched_boot_ns > 0 &&
	    m->plan.fetched_boot_ns <= now &&
	    m->plan.fetched_boot_ns < m->expires_boot_ns) {
		c->sent_ns = c->fetched_ns = m->plan.fetched_boot_ns;
		c->life_ns = m->expires_boot_ns - c->fetched_ns;
	}
	if (m->plan.next_boot_ns > 0)
		c->due_ns = sched_adopted_due_ns(m->plan.next_boot_ns,
		    nb, m->expires_boot_ns, now);
	else
		c->due_ns = sched_adopted_refresh_ns(m->expires_at,
		    m->next_refresh_at, m->expires_boot_ns, now);
	c->need_by_ns = c->due_ns;
	if (c->fetched_ns != 0 && m->failures == 0) {
		sched_window(c->fetched_ns, c->expires_ns, &lo, &hi);
		if (hi > c->due_ns)
			c->need_by_ns = hi;
	}
	log_info("%s: kept the cached token, valid %lld s more",
	    c->name, (long long)(left / NS_PER_S));
}

/* Adopt the retry the last daemon planned after a failed fetch, if any. */
static void
adopt_retry(struct cred *c, const struct seg_slot *m, int64_t nb,
    int64_t wall, int64_t now)
{
	int64_t left;

	if (m->failures > 0 && m->plan.next_boot_ns > now) {
		c->due_ns = sched_adopted_due_ns(m->plan.next_boot_ns, nb,
		    now + SLOW_CAP_MS * NS_PER_MS, now);
		log_info("%s: last fetch failed (%s); next attempt in %lld ms, "
		    "as planned", c->name, c->last_error,
		    (long long)((c->due_ns - now) / NS_PER_MS));
	} else if (m->failures > 0 && m->plan.next_boot_ns == 0 &&
	    m->next_refresh_at > wall) {
		/*
		 * A segment from before minor 2 has the plan only in
		 * wall-clock seconds.  Never wait longer than the delay that
		 * was planned (both ends were written with one reading of
		 * the clock), nor than the cap, whatever the wall clock did
		 * meanwhile; the seconds were cut short, so a second more.
		 */
		left = m->next_refresh_at - wall + 1;
		if (m->last_attempt_at > 0 &&
		    left > m->next_refresh_at - m->last_attempt_at + 1)
			left = m->next_refresh_at - m->last_attempt_at + 1;
		if (left > SLOW_CAP_MS / 1000)
			left = SLOW_CAP_MS / 1000;
		c->due_ns = now + left * NS_PER_S;
		log_info("%s: last fetch failed (%s); next attempt in %lld s, "
		    "as planned", c->name, c->last_error, (long long)left);
	}
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
	int64_t wall = (int64_t)time(NULL), left, nb;

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
		adopt_token(c, &meta, left, nb, now);
		return 0;
	}
	adopt_retry(c, &meta, nb, wall, now);
	if (c->due_ns < c->ep->hold_until_ns)
		c->due_ns = c->ep->hold_until_ns;
	return 0;
}

const char *
cred_endpoint_key(const struct cred_conf *cc, char *buf, size_t n)
{
	if (cc->token_url != NULL)
		return cc->token_url;
	/* Discovery's token endpoint is the issuer's: its rate is the
	 * issuer's too, known before the first request. */
	if (cc->issuer != NULL)
		return cc->issuer;
	snprintf(buf, n, "%s:%s", cc->provider, cc->name);
	return buf;
}

struct cred *
cred_new(struct daemon *d, const struct cred_conf *cc, int64_t now)
{
	char key[ENDPOINT_KEY_MAX];
	struct cred *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", cc->name);
	c->conf = cc;
	c->req.fd = -1;
	c->ep = endpoint_get(d, cred_endpoint_key(cc, key, sizeof(key)), now);
	if (c->ep == NULL || cred_resolve_acl(c) != 0 ||
	    cred_attach(d, c, now) != 0) {
		cred_free(c);
		return NULL;
	}
	return c;
}
