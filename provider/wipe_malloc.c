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
	__atomic_sub_fetch(&wipe_malloc_live, 1, __ATOMIC_RELAXED);
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

#else
#include "wipe_malloc.h"

/* The sanitizers' allocator: no hooks. */
const int wipe_malloc_active = 0;
long wipe_malloc_fail_at;
long wipe_malloc_live;
#endif

#if defined(__x86_64__)
__attribute__((target("avx512f"), noinline)) static void
wipe_avx512(void)
{
	__asm__ volatile(
	    "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
	    "vmovdqa64 %%zmm0, %%zmm1\n\t"   "vmovdqa64 %%zmm0, %%zmm2\n\t"
	    "vmovdqa64 %%zmm0, %%zmm3\n\t"   "vmovdqa64 %%zmm0, %%zmm4\n\t"
	    "vmovdqa64 %%zmm0, %%zmm5\n\t"   "vmovdqa64 %%zmm0, %%zmm6\n\t"
	    "vmovdqa64 %%zmm0, %%zmm7\n\t"   "vmovdqa64 %%zmm0, %%zmm8\n\t"
	    "vmovdqa64 %%zmm0, %%zmm9\n\t"   "vmovdqa64 %%zmm0, %%zmm10\n\t"
	    "vmovdqa64 %%zmm0, %%zmm11\n\t"  "vmovdqa64 %%zmm0, %%zmm12\n\t"
	    "vmovdqa64 %%zmm0, %%zmm13\n\t"  "vmovdqa64 %%zmm0, %%zmm14\n\t"
	    "vmovdqa64 %%zmm0, %%zmm15\n\t"  "vmovdqa64 %%zmm0, %%zmm16\n\t"
	    "vmovdqa64 %%zmm0, %%zmm17\n\t"  "vmovdqa64 %%zmm0, %%zmm18\n\t"
	    "vmovdqa64 %%zmm0, %%zmm19\n\t"  "vmovdqa64 %%zmm0, %%zmm20\n\t"
	    "vmovdqa64 %%zmm0, %%zmm21\n\t"  "vmovdqa64 %%zmm0, %%zmm22\n\t"
	    "vmovdqa64 %%zmm0, %%zmm23\n\t"  "vmovdqa64 %%zmm0, %%zmm24\n\t"
	    "vmovdqa64 %%zmm0, %%zmm25\n\t"  "vmovdqa64 %%zmm0, %%zmm26\n\t"
	    "vmovdqa64 %%zmm0, %%zmm27\n\t"  "vmovdqa64 %%zmm0, %%zmm28\n\t"
	    "vmovdqa64 %%zmm0, %%zmm29\n\t"  "vmovdqa64 %%zmm0, %%zmm30\n\t"
	    "vmovdqa64 %%zmm0, %%zmm31\n\t"
	    "vzeroupper"
	    ::: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
	    "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
	    "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
	    "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
	    "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",
	    "xmm31");
}

__attribute__((target("avx"), noinline)) static void
wipe_avx(void)
{
	__asm__ volatile("vzeroall"
	    ::: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
	    "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
	    "xmm13", "xmm14", "xmm15");
}

static __attribute__((noinline)) void
wipe_sse(void)
{
	__asm__ volatile(
	    "pxor %%xmm0, %%xmm0\n\t"   "pxor %%xmm1, %%xmm1\n\t"
	    "pxor %%xmm2, %%xmm2\n\t"   "pxor %%xmm3, %%xmm3\n\t"
	    "pxor %%xmm4, %%xmm4\n\t"   "pxor %%xmm5, %%xmm5\n\t"
	    "pxor %%xmm6, %%xmm6\n\t"   "pxor %%xmm7, %%xmm7\n\t"
	    "pxor %%xmm8, %%xmm8\n\t"   "pxor %%xmm9, %%xmm9\n\t"
	    "pxor %%xmm10, %%xmm10\n\t" "pxor %%xmm11, %%xmm11\n\t"
	    "pxor %%xmm12, %%xmm12\n\t" "pxor %%xmm13, %%xmm13\n\t"
	    "pxor %%xmm14, %%xmm14\n\t" "pxor %%xmm15, %%xmm15"
	    ::: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
	    "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
	    "xmm13", "xmm14", "xmm15");
}

void
wipe_vector_registers(void)
{
	if (__builtin_cpu_supports("avx512f"))
		wipe_avx512();
	else if (__builtin_cpu_supports("avx"))
		wipe_avx();
	else
		wipe_sse();
}
#else
void
wipe_vector_registers(void)
{
}
#endif
