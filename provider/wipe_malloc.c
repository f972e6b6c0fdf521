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
 * The sanitizers bring their own allocator; there only the test hooks'
 * variables remain, inert.
 *
 * The test hooks (wipe_malloc.h) exist only in test builds
 * (-DTC_TEST_HOOKS, the Makefile's $(B)/tests/obj/): the installed daemon
 * counts nothing and fails no allocation on purpose.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define TC_NO_WIPE_MALLOC 1	/* clang's sanitizers */
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && \
    !defined(TC_NO_WIPE_MALLOC)

#include <errno.h>
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

#ifdef TC_TEST_HOOKS
#include "wipe_malloc.h"

/*
 * For the allocation-failure tests (as curl's test suite does): fail the
 * n-th allocation from when wipe_malloc_fail_at was set, and count the
 * blocks alive so that a test can see a leak.  Off unless set.
 */
const int wipe_malloc_active = 1;
long wipe_malloc_fail_at;
long wipe_malloc_live;

static int
injected_failure(void)
{
	if (__atomic_load_n(&wipe_malloc_fail_at, __ATOMIC_RELAXED) <= 0)
		return 0;
	if (__atomic_sub_fetch(&wipe_malloc_fail_at, 1, __ATOMIC_RELAXED) != 0)
		return 0;
	errno = ENOMEM;		/* as malloc(3) does */
	return 1;
}

static void *
counted(void *p)
{
	if (p != NULL)
		__atomic_add_fetch(&wipe_malloc_live, 1, __ATOMIC_RELAXED);
	return p;
}

static void
uncounted(void)
{
	__atomic_sub_fetch(&wipe_malloc_live, 1, __ATOMIC_RELAXED);
}
#else
#define injected_failure() 0
#define counted(p) (p)
#define uncounted() ((void)0)
#endif

void *
malloc(size_t n)
{
	if (injected_failure())
		return NULL;
	return counted(__libc_malloc(n));
}

void *
calloc(size_t n, size_t size)
{
	if (injected_failure())
		return NULL;
	return counted(__libc_calloc(n, size));
}

void
free(void *p)
{
	if (p == NULL)
		return;
	uncounted();
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
		return malloc(n);
	if (n == 0) {
		free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)
		return p;
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old);
	free(p);
	return q;
}

#elif defined(TC_TEST_HOOKS)
#include "wipe_malloc.h"

/* The sanitizers' allocator: no hooks. */
const int wipe_malloc_active = 0;
long wipe_malloc_fail_at;
long wipe_malloc_live;
#endif

