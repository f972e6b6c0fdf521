/*
 * wipe_malloc.c - every block the daemon frees is wiped first.
 *
 * Tokens and secrets pass through memory we do not own: libcurl's request
 * and receive buffers, json-c's parse buffers, which grow by realloc() and
 * are freed without being cleared.  Replacing free() and realloc() (glibc
 * supports replacing the malloc family, "Replacing malloc" in its manual)
 * makes sure no freed block keeps a copy, in the heap or in a core dump.
 * Our own secrets live in sodium_malloc() memory, which is also locked and
 * excluded from core dumps.
 *
 * The sanitizers bring their own allocator; there this file is empty.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define TC_NO_WIPE_MALLOC 1	/* clang's sanitizers */
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && \
    !defined(TC_NO_WIPE_MALLOC)

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);

void *
malloc(size_t n)
{
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	return __libc_calloc(n, size);
}

void
free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	__libc_free(p);
}

/* Never let the old block go unwiped: grow by copy, shrink in place. */
void *
realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return __libc_malloc(n);
	if (n == 0) {
		free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)
		return p;
	if ((q = __libc_malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old);
	free(p);
	return q;
}

#else
/* ISO C wants a translation unit to declare something. */
typedef int wipe_malloc_unused;
#endif
