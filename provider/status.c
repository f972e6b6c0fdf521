/*
 * status.c - the daemon's side of Type=notify: it gathers each
 * credential's state for the readiness rule and the status line
 * (readiness.c, pure) and sends what changed (notify.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "log.h"
#include "notify.h"
#include "readiness.h"
#include "status.h"

_Static_assert(READINESS_STATUS_MAX <= NOTIFY_STATUS_MAX,
    "a status line must fit a notification");

/* How long one fetch of c may take: its timeout, or a chain's sources'
 * in turn. */
static int64_t
fetch_ms(const struct cred *c)
{
	const struct cred_conf *cc = c->conf;
	int64_t ms = 0;
	size_t i;

	if (cc->nsources == 0)
		return cc->timeout_ms;
	for (i = 0; i < cc->nsources; i++)
		ms += cc->sources[i].timeout_ms;
	return ms;
}

/*
 * Each credential's state into d->svc.creds; the time until the earliest
 * planned refresh into *next_ms (-1: none).  -1 out of memory.
 */
static int
gather(struct daemon *d, int64_t now, int64_t *next_ms)
{
	struct readiness_cred *r;
	int64_t due = INT64_MAX;
	size_t i;

	if (d->ncreds > d->svc.cap) {
		if ((r = reallocarray(d->svc.creds, d->ncreds, sizeof(*r))) ==
		    NULL)
			return -1;
		d->svc.creds = r;
		d->svc.cap = d->ncreds;
	}
	for (i = 0; i < d->ncreds; i++) {
		const struct cred *c = d->creds[i];

		r = &d->svc.creds[i];
		r->name = c->name;
		r->valid = c->expires_ns > now;
		r->permanent = c->permanent;
		r->error = c->last_error;
		r->fetch_ms = fetch_ms(c);
		if (c->due_ns < due)
			due = c->due_ns;
	}
	*next_ms = due == INT64_MAX ? -1 : due > now ?
	    (due - now) / NS_PER_MS : 0;
	return 0;
}

/* Send flags with the current status line. */
static int
send_status(struct daemon *d, unsigned flags, const char *line, int64_t now)
{
	snprintf(d->svc.sent, sizeof(d->svc.sent), "%s", line);
	d->svc.sent_ns = now;
	return notify_send(flags, line);
}

/* READY=1 with line: ready once it went out; if it did not (a queue
 * full), 0 and *next lowered so that it is sent again in a second. */
static int
send_ready(struct daemon *d, const char *line, int64_t now, int64_t *next)
{
	if (send_status(d, NOTIFY_READY, line, now) != 0) {
		if (now + NS_PER_S < *next)
			*next = now + NS_PER_S;
		return 0;
	}
	d->svc.ready = 1;
	return 1;
}

/* The line, if it changed, and not sooner than a second after the last:
 * else *next lowered to when it may go. */
static void
keep_line(struct daemon *d, const char *line, int64_t now, int64_t *next)
{
	if (strcmp(line, d->svc.sent) == 0)
		return;
	if (d->svc.sent_ns == 0 || now >= d->svc.sent_ns + NS_PER_S) {
		(void)send_status(d, 0, line, now);
		return;
	}
	if (d->svc.sent_ns + NS_PER_S < *next)
		*next = d->svc.sent_ns + NS_PER_S;
}

void
status_start(struct daemon *d, int64_t now)
{
	d->svc.started_ns = now;
}

void
status_tick(struct daemon *d, int64_t now, int64_t *next)
{
	char line[READINESS_STATUS_MAX];
	int64_t next_ms, ready_by;
	int settled;

	if (!notify_enabled())
		return;
	/* Once ready, the credentials are looked at once a second, not at
	 * every turn of a busy loop. */
	if (d->svc.ready && now < d->svc.checked_ns + NS_PER_S) {
		if (d->svc.checked_ns + NS_PER_S < *next)
			*next = d->svc.checked_ns + NS_PER_S;
		return;
	}
	d->svc.checked_ns = now;
	if (gather(d, now, &next_ms) != 0) {
		if (!d->svc.ready)
			(void)send_ready(d, "out of memory", now, next);
		return;
	}
	readiness_status(line, sizeof(line), d->svc.creds, d->ncreds, next_ms);
	if (d->svc.ready) {
		keep_line(d, line, now, next);
		if (now + NS_PER_S < *next)
			*next = now + NS_PER_S;
		return;
	}
	settled = readiness_settled(d->svc.creds, d->ncreds);
	ready_by = d->svc.started_ns + readiness_bound_ms(d->svc.creds,
	    d->ncreds) * NS_PER_MS;
	if (!settled && now < ready_by) {
		/* Still starting: systemctl status shows how far. */
		keep_line(d, line, now, next);
		if (ready_by < *next)
			*next = ready_by;
		return;
	}
	if (!send_ready(d, line, now, next))
		return;
	if (settled)
		log_info("ready: %s", line);
	else
		log_warnx("ready without every token after %lld ms (the "
		    "longest timeout of those missing, at most %lld s): %s",
		    (long long)((now - d->svc.started_ns) / NS_PER_MS),
		    (long long)(READINESS_BOUND_MAX_MS / 1000), line);
}

void
status_reloading(struct daemon *d)
{
	if (notify_enabled() && d->svc.ready)
		notify_send(NOTIFY_RELOADING, NULL);
}

void
status_reloaded(struct daemon *d, int64_t now)
{
	char line[READINESS_STATUS_MAX];
	int64_t next_ms;

	if (!notify_enabled() || !d->svc.ready)
		return;
	if (gather(d, now, &next_ms) != 0)
		snprintf(line, sizeof(line), "out of memory");
	else
		readiness_status(line, sizeof(line), d->svc.creds, d->ncreds,
		    next_ms);
	(void)send_status(d, NOTIFY_READY, line, now);
}

void
status_stopping(void)
{
	if (notify_enabled())
		notify_send(NOTIFY_STOPPING, "stopping");
}

void
status_free(struct daemon *d)
{
	free(d->svc.creds);
	d->svc.creds = NULL;
	d->svc.cap = 0;
}
