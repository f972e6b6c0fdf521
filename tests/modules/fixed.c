/*
 * fixed.c - a token source module built the way a third party builds
 * one: from the installed <tokencache/module.h> and pkg-config alone
 * (tests/integration/modules.sh).  It hands out the token its options
 * name, through a pipe, so that the daemon's descriptor path is the one
 * used; `fail = transient|permanent` makes it fail instead.
 *
 *   -DFIXED_WRONG_ABI   claims ABI major 99
 *   -DFIXED_NO_ENTRY    exports no tokencache_module
 *   -DFIXED_NO_START    lacks start()
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tokencache/module.h>

struct fixed {
	char *token;
	long expires_in;
	int fail;                /* 0, TC_MOD_TRANSIENT, TC_MOD_PERMANENT */
};

struct fixed_req {
	int fd;
	char buf[4096];
	size_t len;
};

static void
fixed_release(void *state)
{
	struct fixed *f = state;

	if (f == NULL)
		return;
	free(f->token);
	free(f);
}

static int
fixed_configure(tc_mod_cred *cred, void **state)
{
	struct fixed *f;
	const char *key, *value;
	char *end;
	size_t i, n = tc_mod_opt_count(cred), len;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return tc_mod_error(cred, TC_MOD_NO_OPT, "out of memory");
	for (i = 0; i < n; i++) {
		key = tc_mod_opt_key(cred, i);
		value = tc_mod_opt_value(cred, i, &len);
		if (strcmp(key, "token") == 0) {
			free(f->token);
			if ((f->token = strdup(value)) == NULL)
				goto nomem;
			tc_mod_identity(cred, value, len);
		} else if (strcmp(key, "expires_in") == 0) {
			errno = 0;
			f->expires_in = strtol(value, &end, 10);
			if (errno != 0 || *end != '\0' || f->expires_in <= 0) {
				tc_mod_error(cred, i, "not a positive number");
				goto fail;
			}
		} else if (strcmp(key, "fail") == 0) {
			if (strcmp(value, "transient") == 0)
				f->fail = TC_MOD_TRANSIENT;
			else if (strcmp(value, "permanent") == 0)
				f->fail = TC_MOD_PERMANENT;
			else {
				tc_mod_error(cred, i, "transient or permanent");
				goto fail;
			}
		} else {
			tc_mod_error(cred, i, "unknown option");
			goto fail;
		}
	}
	if (f->token == NULL) {
		tc_mod_error(cred, TC_MOD_NO_OPT, "missing option 'token'");
		goto fail;
	}
	*state = f;
	return 0;
 nomem:
	tc_mod_error(cred, TC_MOD_NO_OPT, "out of memory");
 fail:
	fixed_release(f);
	return -1;
}

static int
fixed_start(void *state, tc_mod_req *req)
{
	struct fixed *f = state;
	struct fixed_req *q;
	int p[2];

	if (f->fail != 0) {
		tc_mod_fail(req, f->fail, 0, 0, "fixed: failing as told");
		return -1;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		free(q);
		return -1;
	}
	/* What a child would print, written now: the read end polls
	 * readable at once, and EOF follows. */
	if (write(p[1], f->token, strlen(f->token)) !=
	    (ssize_t)strlen(f->token)) {
		close(p[0]);
		close(p[1]);
		free(q);
		return -1;
	}
	close(p[1]);
	q->fd = p[0];
	tc_mod_req_set_data(req, q);
	tc_mod_req_set_fd(req, q->fd);
	return 0;
}

static int
fixed_finish(void *state, tc_mod_req *req, CURLcode cc)
{
	struct fixed *f = state;
	struct fixed_req *q = tc_mod_req_data(req);
	ssize_t r;

	(void)cc;
	r = read(q->fd, q->buf + q->len, sizeof(q->buf) - 1 - q->len);
	if (r > 0) {
		q->len += (size_t)r;
		if (q->len < sizeof(q->buf) - 1)
			return 1;	/* until EOF */
	} else if (r == -1 && errno == EAGAIN)
		return 1;
	(void)tc_mod_token(req, q->buf, q->len, "Bearer", f->expires_in);
	return 0;
}

static void
fixed_end(void *state, tc_mod_req *req)
{
	struct fixed_req *q = tc_mod_req_data(req);

	(void)state;
	if (q == NULL)
		return;
	close(q->fd);
	explicit_bzero(q->buf, sizeof(q->buf));
	free(q);
}

#ifndef FIXED_NO_ENTRY
TC_MODULE_EXPORT const struct tc_module tokencache_module = {
#ifdef FIXED_WRONG_ABI
	.abi_major = 99,
#else
	.abi_major = TC_MODULE_ABI_MAJOR,
#endif
	.abi_minor = TC_MODULE_ABI_MINOR,
	.size = sizeof(struct tc_module),
	.name = FIXED_NAME,
	.configure = fixed_configure,
	.release = fixed_release,
#ifndef FIXED_NO_START
	.start = fixed_start,
#endif
	.finish = fixed_finish,
	.end = fixed_end,
};
#endif
