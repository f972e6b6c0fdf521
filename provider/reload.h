/*
 * reload.h - a new configuration (reload.c).
 */
#ifndef TC_RELOAD_H
#define TC_RELOAD_H

#include <stddef.h>

struct daemon;

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
