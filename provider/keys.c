/*
 * keys.c - key rotation: a new key epoch, every token re-sealed, so that
 * every reader asks for its key again and its access is judged again.
 * This is how access taken away takes effect for a process that holds an
 * old key: a reload that changes an access list or removes a credential
 * rotates, as do key_rotation_interval and tokencachectl rotate-keys.
 */
#include <stdint.h>

#include "daemon_int.h"
#include "keys.h"
#include "log.h"

/*
 * A new key epoch, every token re-sealed.  0, or -1 if nothing changed
 * (out of memory): the old keys stay in use, and the timer tries again in
 * a minute rather than at once, in a loop.
 */
int
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
