/*
 * access.h - who may do what (access.c).
 */
#ifndef TC_ACCESS_H
#define TC_ACCESS_H

#include <stdint.h>
#include <sys/types.h>

struct conn;
struct cred;
struct daemon;

/* Root or the daemon's own user: admitted to everything and not held to
 * the per-user limits (rate, connections, parked replies).  1 or 0. */
int uid_is_privileged(uid_t uid);

/* c's allow_users / allow_groups as ids, in c->uids and c->gids (the old
 * ones freed).  A name that does not resolve is logged and admits nobody;
 * a number is taken as an id.  0, or -1 out of memory. */
int cred_resolve_acl(struct cred *c);

/* Does c admit the user uid, of primary group gid and supplementary
 * groups[ngroups]?  Root, the daemon's user, and the users and groups
 * c's allow lists name.  1 or 0. */
int cred_admits(const struct cred *c, uid_t uid, gid_t gid,
    const gid_t *groups, int ngroups);

/* May k read c's token (get its key, wait for or refresh it)?  Root, the
 * daemon's user, and the users and groups c admits.  1 or 0. */
int conn_allowed(const struct cred *c, const struct conn *k);

/* May k reload, rotate keys and invalidate?  Root, the daemon's user and
 * members of admin_group (resolve_admin_group).  1 or 0. */
int conn_is_admin(const struct daemon *d, const struct conn *k);

/* d->conf's admin_group as a gid for conn_is_admin; a group that does not
 * exist is logged and admits nobody. */
void resolve_admin_group(struct daemon *d);

/* Log that uid was denied `what` ("key", "fetch", "reload" ...) on the
 * credential name ("" for none), at most once a minute per user, what and
 * name, with the count of the others (see access.c). */
void log_denied(struct daemon *d, uid_t uid, const char *what,
    const char *name, int64_t now);

/* Log the counts of the denial entries whose minute is over (all: every
 * entry, at exit) and free them. */
void deny_log_flush(struct daemon *d, int64_t now, int all);

#endif /* TC_ACCESS_H */
