/*
 * reload.c - a new configuration (SIGHUP, tokencachectl reload): load it,
 * work out what changes against the running one (reload_compute, from the
 * configurations alone), apply that (reload_apply).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "control.h"
#include "cred.h"
#include "daemon_int.h"
#include "endpoint.h"
#include "fetch.h"
#include "keys.h"
#include "httpd.h"
#include "log.h"
#include "privsep.h"
#include "reload.h"
#include "status.h"
#include "tokencache.h"

int
reload_compute(const struct daemon_conf *oc,
    const struct cred_conf *const *cur, size_t ncur,
    const struct daemon_conf *nc, struct reload_change *out)
{
	struct reload_change ch;
	const struct cred_conf *cc;
	struct reload_cred *rc;
	size_t i;

	if (strcmp(nc->runtime_dir, oc->runtime_dir) != 0 ||
	    strcmp(nc->user, oc->user) != 0 ||
	    nc->max_credentials != oc->max_credentials ||
	    nc->max_token_size != oc->max_token_size)
		return 1;
	memset(&ch, 0, sizeof(ch));
	ch.ncreds = nc->ncreds;
	ch.ncur = ncur;
	if ((ch.creds = calloc(nc->ncreds + 1, sizeof(*ch.creds))) == NULL ||
	    (ch.gone = calloc(ncur + 1, 1)) == NULL) {
		free(ch.creds);
		return -1;
	}
	for (i = 0; i < nc->ncreds; i++) {
		ch.creds[i].conf = &nc->creds[i];
		ch.creds[i].cur = RELOAD_NEW;
	}
	/* nc->creds is sorted by name: each running one is looked up. */
	for (i = 0; i < ncur; i++) {
		if ((cc = conf_find(nc, cur[i]->name)) == NULL) {
			ch.gone[i] = 1;
			ch.removed++;
			continue;
		}
		rc = &ch.creds[cc - nc->creds];
		rc->cur = i;
		rc->request_changed = conf_cred_request_differs(cur[i], cc);
		rc->lifetime_shorter = cc->max_lifetime < cur[i]->max_lifetime;
		if ((rc->acl_changed = conf_cred_acl_differs(cur[i], cc)))
			ch.acl_changed++;
	}
	ch.added = nc->ncreds - (ncur - ch.removed);
	*out = ch;
	return 0;
}

void
reload_change_free(struct reload_change *ch)
{
	free(ch->creds);
	free(ch->gone);
	memset(ch, 0, sizeof(*ch));
}

/*
 * Take the running credential c over to cc, as rc says.  1 if its token
 * went: the old one answers another request (client, audience, scope
 * ...) or lives longer than now allowed, so it is dropped, as a restarted
 * daemon would.
 */
static int
reload_keep(struct daemon *d, struct cred *c, const struct reload_cred *rc,
    int64_t now)
{
	const struct cred_conf *cc = rc->conf;
	struct seg_slot meta;
	struct endpoint *ep;
	char key[ENDPOINT_KEY_MAX];
	int dropped = 0;

	if (rc->request_changed || (rc->lifetime_shorter &&
	    c->expires_ns > now && segw_read(&d->seg, c->slot, &meta) == 0 &&
	    outlives_max_lifetime(cc, &meta))) {
		cred_abort_fetch(d, c);
		segw_drop_token(&d->seg, c->slot, "configuration changed");
		c->expires_ns = 0;
		c->due_ns = now;
		c->failures = 0;
		c->permanent = 0;
		dropped = 1;
	} else if (c->in_flight && c->req.src != NULL &&
	    c->req.src->path != NULL) {
		/* A loaded module's request runs on the state it started
		 * with, which goes with the old configuration: start it
		 * again on the new one. */
		cred_abort_fetch(d, c);
		c->due_ns = now;
	}
	/* An explicit reload retries a permanent failure at once (the
	 * bucket and holds still apply). */
	if (c->permanent) {
		c->permanent = 0;
		if (!c->in_flight)
			c->due_ns = now;
	}
	c->conf = cc;
	/* A built-in source's request runs on: its name (for
	 * tc_mod_req_cred_name) pointed into the old configuration. */
	if (c->in_flight)
		c->req.name = cc->name;
	if ((ep = endpoint_get(d, cred_endpoint_key(cc, key, sizeof(key)),
	    now)) != NULL)
		c->ep = ep;
	if (cred_resolve_acl(c) != 0)
		log_warnx("%s: out of memory", c->name);
	return dropped;
}

/*
 * Apply ch, worked out from d's credentials against nc, which d takes
 * over.  The credentials kept and added are put in list (room for
 * nc->ncreds, in nc's order), which becomes d->creds; the removed ones
 * are dropped.  Returns how many lost their token.
 */
static size_t
reload_apply(struct daemon *d, struct daemon_conf *nc,
    const struct reload_change *ch, struct cred **list, int64_t now)
{
	struct cred *c;
	size_t i, changed = 0;
	int restart_endpoint;

	for (i = 0; i < ch->ncreds; i++) {
		if (ch->creds[i].cur != RELOAD_NEW) {
			c = d->creds[ch->creds[i].cur];
			changed += reload_keep(d, c, &ch->creds[i], now);
		} else if ((c = cred_new(d, ch->creds[i].conf, now)) == NULL) {
			log_warnx("%s: cannot add: the segment is full",
			    ch->creds[i].conf->name);
			continue;
		}
		list[i] = c;
	}
	for (i = 0; i < ch->ncur; i++) {
		if (!ch->gone[i])
			continue;
		c = d->creds[i];
		cred_abort_fetch(d, c);
		wake_waiters(d, c, TC_ENOTFOUND, "credential removed");
		segw_release(&d->seg, c->slot);
		cred_free(c);
	}
	free(d->creds);
	restart_endpoint = httpd_conf_differs(&d->conf->endpoint,
	    &nc->endpoint);
	srcmod_conf_free(d->conf);
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
	if (restart_endpoint)
		httpd_restart(d);
	else
		httpd_wake(d, NULL);	/* their credentials may have changed */
	resolve_admin_group(d);
	if (d->conf->key_rotation_interval == 0)
		d->next_rotation_ns = INT64_MAX;
	else if (d->next_rotation_ns == INT64_MAX)
		d->next_rotation_ns = now + d->conf->key_rotation_interval *
		    NS_PER_S;
	return changed;
}

/*
 * Work out what nc changes against d (reload_compute), or why it
 * cannot be applied: 0 with *ch and *list (room for nc's credentials),
 * else -1 with the reason in msg (and d->conf_error) and nc freed.
 */
static int
reload_plan(struct daemon *d, struct daemon_conf *nc,
    struct reload_change *ch, struct cred ***list, char *msg, size_t msglen)
{
	const struct cred_conf **cur;
	size_t i;
	int r = -1;

	if ((cur = calloc(d->ncreds + 1, sizeof(*cur))) != NULL) {
		for (i = 0; i < d->ncreds; i++)
			cur[i] = d->creds[i]->conf;
		r = reload_compute(d->conf, cur, d->ncreds, nc, ch);
		free(cur);
	}
	if (r == 1) {
		snprintf(msg, msglen, "runtime_dir, user, max_credentials and "
		    "max_token_size take effect at the next start only; "
		    "keeping the running configuration");
		log_event(LOG_ERR, &(struct log_fields){
		    .outcome = LOG_OUTCOME_FAILED }, "reload: %s", msg);
		snprintf(d->conf_error, sizeof(d->conf_error), "%s", msg);
		srcmod_conf_free(nc);
		return -1;
	}
	if (r != 0 || (*list = calloc(nc->ncreds + 1, sizeof(**list))) ==
	    NULL) {
		if (r == 0)
			reload_change_free(ch);
		snprintf(msg, msglen, "out of memory");
		log_event(LOG_ERR, &(struct log_fields){
		    .outcome = LOG_OUTCOME_FAILED }, "reload: %s", msg);
		srcmod_conf_free(nc);
		return -1;
	}
	return 0;
}

/* A configuration that did not load or configure (err): nothing changes;
 * say so in msg and the log, and keep err for check.  Returns -1. */
static int
reload_refused(struct daemon *d, const char *err, char *msg, size_t msglen)
{
	log_event(LOG_ERR, &(struct log_fields){
	    .outcome = LOG_OUTCOME_FAILED },
	    "reload failed, keeping the running configuration: %s", err);
	/* check reports it until a reload succeeds. */
	snprintf(d->conf_error, sizeof(d->conf_error), "%.*s",
	    (int)sizeof(d->conf_error) - 1, err);
	/* Cut short if need be: the log line above has it whole. */
	if (snprintf(msg, msglen, "not reloaded, the running configuration "
	    "stays: %s", d->conf_error) < 0)
		msg[0] = '\0';
	return -1;
}

/*
 * Re-read the configuration: load it, work out the change
 * (reload_compute), apply it (reload_apply), and rotate the keys if
 * access may have been taken away.  A configuration that does not load
 * changes nothing.  Returns 0 or -1, with what happened in msg.
 */
static int
reload_now(struct daemon *d, char *msg, size_t msglen)
{
	struct daemon_conf *nc;
	struct reload_change ch;
	struct cred **list;
	char err[CONF_ERR_MAX];
	size_t changed, removed, acl_changed, added;
	int64_t now = now_ns();

	/* The new configuration's modules judge their options before
	 * anything changes. */
	if (privsep_load(d->conf->path, &nc, err) != 0)
		return reload_refused(d, err, msg, msglen);
	if (srcmod_configure(nc, err, sizeof(err)) != 0) {
		srcmod_conf_free(nc);
		return reload_refused(d, err, msg, msglen);
	}
	if (reload_plan(d, nc, &ch, &list, msg, msglen) != 0)
		return -1;
	changed = reload_apply(d, nc, &ch, list, now);
	removed = ch.removed;
	acl_changed = ch.acl_changed;
	/* Those cred_new could not add are not counted. */
	added = d->ncreds - (ch.ncur - removed);
	reload_change_free(&ch);
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
		log_event(LOG_ERR, &(struct log_fields){
		    .outcome = LOG_OUTCOME_FAILED }, "%s", msg);
		return -1;
	}
	snprintf(msg, msglen, "configuration reloaded: %zu credentials "
	    "(%zu added, %zu changed, %zu removed)%s", d->ncreds, added,
	    changed, removed, acl_changed || removed ? "; keys rotated" : "");
	log_event(LOG_INFO, &(struct log_fields){ .outcome = LOG_OUTCOME_OK },
	    "%s", msg);
	return 0;
}

/* The service manager sees the reload: RELOADING=1 before, READY=1 once
 * the new configuration applies (or the running one stays). */
int
reload(struct daemon *d, char *msg, size_t msglen)
{
	int r;

	status_reloading(d);
	r = reload_now(d, msg, msglen);
	status_reloaded(d, now_ns());
	return r;
}
