/*
 * pollfail.c - an LD_PRELOAD shim whose poll(2) fails, for the
 * integration test of what tokencachectl watch does then (watch.sh).
 *
 *   LD_PRELOAD=tc-pollfail.so TC_POLLFAIL_AFTER=N program
 *
 * The first N calls of poll go to libc's; every later one fails with
 * ENOMEM, which no retry cures.  N defaults to 0.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

int poll(struct pollfd *fds, nfds_t nfds, int timeout);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);

static int
pollfail_now(void)
{
	static long calls;
	const char *after = getenv("TC_POLLFAIL_AFTER");

	return calls++ >= (after != NULL ? atol(after) : 0);
}

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	int (*real)(struct pollfd *, nfds_t, int);

	if (pollfail_now()) {
		errno = ENOMEM;
		return -1;
	}
	real = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
	return real(fds, nfds, timeout);
}

/* _FORTIFY_SOURCE may route a call through here instead. */
int
__poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
	(void)fdslen;
	return poll(fds, nfds, timeout);
}
