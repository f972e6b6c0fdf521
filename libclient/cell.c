/*
 * cell.c - the locked-memory cells that hold keys and tokens.
 *
 * Keys and tokens live in cells carved out of sodium_malloc'd chunks:
 * locked in memory, left out of core dumps, fenced by guard pages, wiped
 * when freed.  A sodium_malloc of its own for every secret would cost four
 * memory mappings each, so that a process reading 10,000 credentials would
 * run out of them (vm.max_map_count is 65530 by default), and a new process
 * several system calls and page faults more before its first token.  Cells
 * come in powers of two, from 32 bytes (a key) to 2 MiB (above
 * SEG_TOKEN_MAX), cut from the newest chunk; a freed cell is kept for its
 * size.
 */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

#define CELL_MIN_SHIFT 5
#define CELL_CHUNK_MIN      (16 * 1024)

static int
cell_class(size_t n, size_t *size)
{
	int k;

	for (k = 0; k < CELL_CLASSES; k++) {
		if (((size_t)1 << (k + CELL_MIN_SHIFT)) >= n) {
			*size = (size_t)1 << (k + CELL_MIN_SHIFT);
			return k;
		}
	}
	return -1;
}

/* A cell of at least n bytes; its size in *cap.  NULL if out of memory. */
void *
cell_alloc(struct cell_arena *a, size_t n, size_t *cap)
{
	struct cell_chunk *ch;
	size_t size, csize;
	void *cell;
	int k;

	if ((k = cell_class(n, &size)) < 0)
		return NULL;
	if ((cell = a->free[k]) != NULL) {
		memcpy(&a->free[k], cell, sizeof(void *));
		*cap = size;
		return cell;
	}
	if (a->left < size) {
		/* A new chunk; what is left of the last one stays unused. */
		csize = size > CELL_CHUNK_MIN ? size : CELL_CHUNK_MIN;
		if ((ch = malloc(sizeof(*ch))) == NULL)
			return NULL;
		if ((ch->mem = sodium_malloc(csize)) == NULL) {
			free(ch);
			return NULL;
		}
		ch->next = a->chunks;
		a->chunks = ch;
		a->tail = ch->mem;
		a->left = csize;
	}
	/* Cells are multiples of 32 bytes, so each is 32-byte aligned. */
	cell = a->tail;
	a->tail += size;
	a->left -= size;
	*cap = size;
	return cell;
}

/* Wipe a cell and give it back; NULL is a no-op. */
void
cell_free(struct cell_arena *a, void *cell, size_t cap)
{
	size_t size;
	int k;

	if (cell == NULL || (k = cell_class(cap, &size)) < 0)
		return;
	sodium_memzero(cell, size);
	memcpy(cell, &a->free[k], sizeof(void *));
	a->free[k] = cell;
}

/* Free every chunk (sodium_free wipes them). */
void
cell_arena_destroy(struct cell_arena *a)
{
	struct cell_chunk *ch;

	while ((ch = a->chunks) != NULL) {
		a->chunks = ch->next;
		sodium_free(ch->mem);
		free(ch);
	}
	a->tail = NULL;
	a->left = 0;
	memset(a->free, 0, sizeof(a->free));
}
