/*
 * keys.h - key rotation (keys.c).
 */
#ifndef TC_KEYS_H
#define TC_KEYS_H

struct daemon;

/*
 * A new key epoch, every token re-sealed (segw_rotate), the next rotation
 * planned (key_rotation_interval); a token that could not be re-sealed is
 * fetched again.  why is logged.  0, or -1 out of memory: nothing changed,
 * the old keys stay in use, and the next attempt is in a minute.
 */
int rotate_keys(struct daemon *d, const char *why);

#endif /* TC_KEYS_H */
