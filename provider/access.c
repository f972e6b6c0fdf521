/*
 * access.c - who may do what: a credential's readers (allow_users,
 * allow_groups), admin rights (root, the daemon's user, admin_group), and
 * the log of denials, bounded whatever is asked.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "daemon_int.h"
#include "log.h"

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
int
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

int
uid_is_privileged(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

int
cred_admits(const struct cred *c, uid_t uid, gid_t gid, const gid_t *groups,
    int ngroups)
{
	size_t i;
	int j;

	if (uid_is_privileged(uid))
		return 1;
	for (i = 0; i < c->nuids; i++)
		if (c->uids[i] == uid)
			return 1;
	for (i = 0; i < c->ngids; i++) {
		if (c->gids[i] == gid)
			return 1;
		for (j = 0; j < ngroups; j++)
			if (c->gids[i] == groups[j])
				return 1;
	}
	return 0;
}

int
conn_allowed(const struct cred *c, const struct conn *k)
{
	return cred_admits(c, k->uid, k->gid, k->groups, k->ngroups);
}

/* Root, the daemon's own user, and members of admin_group. */
int
conn_is_admin(const struct daemon *d, const struct conn *k)
{
	int j;

	if (uid_is_privileged(k->uid))
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

void
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
	log_event(LOG_INFO, &(struct log_fields){ .credential = e->name,
	    .outcome = LOG_OUTCOME_DENIED, .reader_uid = &e->uid },
	    "%s%sdenied %s to uid %u %llu more time%s in the last "
	    "%lld s", e->name, e->name[0] != '\0' ? ": " : "", e->what,
	    (unsigned)e->uid, (unsigned long long)e->unlogged,
	    e->unlogged == 1 ? "" : "s",
	    (long long)((now - e->since_ns) / NS_PER_S));
}

void
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
	log_event(LOG_INFO, &(struct log_fields){ .credential = name,
	    .outcome = LOG_OUTCOME_DENIED, .reader_uid = &uid },
	    "%s%sdenied %s to uid %u%s", name, name[0] != '\0' ? ": " :
	    "", what, (unsigned)uid, " (logged once a minute per user and "
	    "credential)");
}

/* Report and forget the pairs whose minute is over (all: every pair). */
void
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
		log_event(LOG_INFO, &(struct log_fields){
		    .outcome = LOG_OUTCOME_DENIED },
		    "%llu more denial%s from %s%d user%s in the last %lld "
		    "s (not logged one by one)",
		    (unsigned long long)d->deny_over.count,
		    d->deny_over.count == 1 ? "" : "s",
		    d->deny_over.nuids == DENY_LOG_SLOTS ? "at least " : "",
		    d->deny_over.nuids, d->deny_over.nuids == 1 ? "" : "s",
		    (long long)((now - d->deny_over.since_ns) / NS_PER_S));
		memset(&d->deny_over, 0, sizeof(d->deny_over));
	}
}
