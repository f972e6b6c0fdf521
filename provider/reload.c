/*
 * reload.c - a new configuration (SIGHUP, tokencachectl reload): load it,
 * work out what changes against the running one, apply that.
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
#include "log.h"
#include "privsep.h"
#include "reload.h"
#include "tokencache.h"

/*
 * Re-read the configuration.  A credential whose request changed loses
 * its token and is fetched again at once; one that disappeared is dropped
 * from the segment.  A configuration that does not
 * load changes nothing.  Returns 0 or -1, with what happened in msg.
 */
int
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
