/*
 * token and refresh: through the public API (tokencache.h) like any
 * other client, so the daemon's access rules apply to them unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ctl.h"
#include "seg.h"
#include "tokencache.h"

#define CTL_TOKEN_BUF    (16 * 1024)   /* first guess; grown on TC_ERANGE */

/*
 * Report a failed token or refresh call: the library's verdict and, when
 * the credential has no token, the reason the daemon recorded.  The
 * reason is left out of other errors (permission denied, no daemon ...),
 * where an old fetch error would only mislead.
 */
static void
report_credential_error(const struct ctl_args *a, int r, int err,
    const char *info_error)
{
	char why[SEG_ERROR_FIELD] = "";

	if (r == TC_EFAILED || r == TC_EEXPIRED || r == TC_ENOTOKEN ||
	    r == TC_ETIMEDOUT) {
		if (info_error != NULL)
			snprintf(why, sizeof(why), "%s", info_error);
		if (why[0] == '\0')
			ctl_cache_last_error(why, sizeof(why), a->dir,
			    a->name);
		ctl_make_printable(why, sizeof(why));
	}
	if (r == TC_ENOCACHE)
		ctl_warnx("%s: no token cache in %s (is tokencached running?)",
		    a->name, a->dir);
	else if (r == TC_ENODAEMON)
		ctl_warnx("%s: cannot reach tokencached at %s/%s", a->name,
		    a->dir, SEG_SOCKET_NAME);
	else if (r == TC_EPEER)
		ctl_warnx("%s: %s/%s: %s", a->name, a->dir, SEG_SOCKET_NAME,
		    tc_strerror(r));
	else if (r == TC_ESYSTEM && err != 0)
		ctl_warnx("%s: %s: %s", a->name, tc_strerror(r), strerror(err));
	else if (why[0] != '\0')
		ctl_warnx("%s: %s: %s", a->name, tc_strerror(r), why);
	else
		ctl_warnx("%s: %s", a->name, tc_strerror(r));
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A library handle for a->dir; reports its own errors. */
static int
open_client(const struct ctl_args *a, tc_client **c)
{
	int r, err;

	if (sodium_init() < 0) {
		ctl_warnx("libsodium failed to initialise");
		return -1;
	}
	errno = 0;
	if ((r = tc_open(c, a->dir)) != 0) {
		err = errno;
		report_credential_error(a, r, err, NULL);
		return -1;
	}
	return 0;
}

/*
 * Read name's token into guarded memory (no swap, no core dump, wiped by
 * sodium_free()): *tok, NUL-terminated, its length in *len.  wait_s > 0
 * waits that long for a token when there is none.  Returns 0, or a TC_E*
 * code with *err the errno of the call and *info as the library left it
 * (its error text for the caller's message).
 */
int
ctl_token_read(tc_client *c, const char *name, long wait_s, char **tok,
    size_t *len, tc_token_info *info, int *err)
{
	char *buf;
	size_t cap = CTL_TOKEN_BUF;
	int r, tries;

	*err = 0;
	if ((buf = sodium_malloc(cap)) == NULL)
		return TC_ENOMEM;
	for (tries = 0;; tries++) {
		/* The library writes info on some failures too; start clean
		 * so that a stale error is never shown. */
		memset(info, 0, sizeof(*info));
		info->size = sizeof(*info);
		errno = 0;
		/* --wait 0 means do not wait: the library would take a zero
		 * timeout as "the daemon's own fetch timeout". */
		if (wait_s > 0)
			r = tc_get_wait(c, name, buf, cap, info,
			    (int)(wait_s * 1000));
		else
			r = tc_get(c, name, buf, cap, info);
		*err = errno;
		/* A token can change between calls, so grow a few times,
		 * but never past what a segment can hold. */
		if (r != TC_ERANGE || tries == 3 ||
		    info->length >= SEG_TOKEN_MAX || info->length + 1 <= cap)
			break;
		sodium_free(buf);
		cap = info->length + 1;
		if ((buf = sodium_malloc(cap)) == NULL)
			return TC_ENOMEM;
	}
	if (r == 0 && info->length >= cap)	/* tc_get checked */
		r = TC_EPROTO;
	if (r != 0) {
		sodium_free(buf);
		return r;
	}
	/* success */
	*tok = buf;
	*len = info->length;
	return 0;
}

int
cmd_token(const struct ctl_args *a)
{
	tc_client *c = NULL;
	tc_token_info info;
	char *buf = NULL;
	size_t len;
	int r, err, ret = CTL_EXIT_FAIL;

	memset(&info, 0, sizeof(info));
	if (open_client(a, &c) != 0)
		goto out;
	if ((r = ctl_token_read(c, a->name, a->have_wait ? a->wait_s : 0,
	    &buf, &len, &info, &err)) != 0) {
		if (r == TC_ENOMEM)
			ctl_warnx("out of memory");
		else
			report_credential_error(a, r, err, info.error);
		goto out;
	}
	/*
	 * Written straight from guarded memory: stdio would leave a copy of
	 * the token in its heap buffer.  The NUL makes room for the newline.
	 */
	buf[len] = '\n';
	if (write_all(STDOUT_FILENO, buf, len + 1) != 0) {
		ctl_warnx("standard output: %s", strerror(errno));
		goto out;
	}
	ret = CTL_EXIT_OK;
 out:
	sodium_free(buf);
	sodium_memzero(&info, sizeof(info));
	tc_close(c);
	return ret;
}

int
cmd_refresh(const struct ctl_args *a)
{
	tc_client *c = NULL;
	int r, err, ret = CTL_EXIT_FAIL;

	if (open_client(a, &c) != 0)
		goto out;
	errno = 0;
	if ((r = tc_refresh(c, a->name, (int)(a->timeout_s * 1000))) != 0) {
		err = errno;
		report_credential_error(a, r, err, NULL);
		goto out;
	}
	printf("%s: refreshed\n", a->name);
	ret = CTL_EXIT_OK;
 out:
	tc_close(c);
	return ret;
}
