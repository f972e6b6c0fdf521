/*
 * wipe_malloc.h - the daemon's wiping allocator (wipe_malloc.c): its test
 * hooks, and the wipe of the vector registers.
 */
#ifndef TC_WIPE_MALLOC_H
#define TC_WIPE_MALLOC_H

/* 0 in sanitizer builds, whose allocator replaces ours. */
extern const int wipe_malloc_active;
/* > 0: the allocation that brings it to 0 fails. */
extern long wipe_malloc_fail_at;
/* malloc'd blocks not yet freed (sodium_malloc is not counted). */
extern long wipe_malloc_live;

/*
 * Zero the vector registers.  libc's memcpy and strlen move whatever they
 * copy through them, so that after a configuration load the last secret
 * copied can sit in a register, and so in the register notes of a core
 * dump, until something else overwrites it.  Called where the daemon
 * finishes with secrets.  x86-64 only (SSE, AVX, AVX-512); elsewhere a
 * no-op.
 */
void wipe_vector_registers(void);

#endif /* TC_WIPE_MALLOC_H */
