/*
 * wipe_malloc.h - test hooks of the daemon's allocator (wipe_malloc.c).
 * They exist only in test builds (-DTC_TEST_HOOKS): a program that uses
 * them must link the daemon objects built for the tests.
 */
#ifndef TC_WIPE_MALLOC_H
#define TC_WIPE_MALLOC_H

#ifndef TC_TEST_HOOKS
#error "wipe_malloc.h: the allocator's test hooks need -DTC_TEST_HOOKS"
#endif

/* 0 in sanitizer builds, whose allocator replaces ours. */
extern const int wipe_malloc_active;
/* > 0: the allocation that brings it to 0 fails. */
extern long wipe_malloc_fail_at;
/* malloc'd blocks not yet freed (sodium_malloc is not counted). */
extern long wipe_malloc_live;

#endif /* TC_WIPE_MALLOC_H */
