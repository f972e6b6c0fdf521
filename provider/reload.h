/*
 * reload.h - a new configuration (reload.c).
 */
#ifndef TC_RELOAD_H
#define TC_RELOAD_H

#include <stddef.h>
#include <stdint.h>

struct cred_conf;
struct daemon;
struct daemon_conf;

#define RELOAD_NEW SIZE_MAX

/* What a reload changes, worked out by reload_compute(). */
struct reload_change {
	struct reload_cred {     /* one per credential of the new
	                          * configuration, in its order */
		const struct cred_conf *conf;  /* the new one */
		size_t cur;      /* the running one's index, RELOAD_NEW */
		unsigned request_changed : 1;  /* its token answers another
		                                * request: it goes */
		unsigned lifetime_shorter : 1; /* max_lifetime lowered: a
		                                * token living longer goes */
		unsigned acl_changed : 1;      /* allow_users/groups */
	} *creds;
	size_t ncreds;
	unsigned char *gone;     /* per running credential: 1 if removed */
	size_t ncur;
	size_t added, removed, acl_changed;  /* counts of the above */
};

/*
 * Work out, from the configurations alone, what a reload from oc, whose
 * running credentials are cur[0..ncur), to nc changes; nothing is
 * applied, and nothing but *out is written.  0 with *out filled (free it
 * with reload_change_free()); 1 if nc changes a setting that takes effect
 * at the next start only (runtime_dir, user, max_credentials,
 * max_token_size); -1 out of memory.
 */
int reload_compute(const struct daemon_conf *oc,
    const struct cred_conf *const *cur, size_t ncur,
    const struct daemon_conf *nc, struct reload_change *out);

void reload_change_free(struct reload_change *ch);

/*
 * Re-read the configuration from d->conf->path and apply it: credentials
 * added are fetched, removed ones dropped from the segment, one whose
 * request changed loses its token and is fetched again, an unchanged one
 * keeps its token; access lists changed or credentials removed rotate the
 * keys.  A configuration that does not load, or changes what only a
 * restart may, changes nothing (d->conf_error says why until a reload
 * succeeds).  0 or -1, with what happened in msg either way.
 */
int reload(struct daemon *d, char *msg, size_t msglen);

#endif /* TC_RELOAD_H */
