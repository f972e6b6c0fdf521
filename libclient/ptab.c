/*
 * ptab.c - an open-addressing table of pointers keyed by a 64-bit hash
 * (the handle's entries, a thread's copies): linear probing, at most half
 * full, entries only added.
 */
#include <stdlib.h>

#include "client_int.h"

/* Room in t for one more entry.  0, or -1 if out of memory (t is left
 * as it was). */
int
ptab_reserve(struct ptab *t, uint64_t (*hash_of)(const void *))
{
	size_t size = t->slot != NULL ? t->mask + 1 : 0, nsize, i, j;
	void **ns;

	if ((t->n + 1) * 2 <= size)
		return 0;
	nsize = size ? size * 2 : 8;
	if ((ns = calloc(nsize, sizeof(*ns))) == NULL)
		return -1;
	for (i = 0; i < size; i++) {
		if (t->slot[i] == NULL)
			continue;
		for (j = hash_of(t->slot[i]) & (nsize - 1); ns[j] != NULL;
		    j = (j + 1) & (nsize - 1))
			;
		ns[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = ns;
	t->mask = nsize - 1;
	return 0;
}

/* Add p, whose hash is h, to t (ptab_reserve made room). */
void
ptab_add(struct ptab *t, void *p, uint64_t h)
{
	size_t i;

	for (i = h & t->mask; t->slot[i] != NULL; i = (i + 1) & t->mask)
		;
	t->slot[i] = p;
	t->n++;
}
