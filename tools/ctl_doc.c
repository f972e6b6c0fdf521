/*
 * The daemon's documents, which come as sealed memfds with the reply
 * (PROTO_OPF_DOC): the metrics (PROTO_OP_METRICS) and the status of every
 * credential (PROTO_OP_STATUS); and `metrics`, which prints the first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

#define DOC_SEALS    (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Read fd's len bytes into a new NUL-terminated buffer. */
static int
doc_read(int fd, size_t len, char **out)
{
	char *buf;
	size_t off = 0;
	ssize_t n;

	if ((buf = malloc(len + 1)) == NULL)
		return TC_ENOMEM;
	while (off < len) {
		n = pread(fd, buf + off, len - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n == 0 ? TC_EPROTO : TC_ESYSTEM;
		}
		off += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int
ctl_daemon_doc(const char *runtime_dir, int op, int timeout_ms, char **text,
    size_t *len)
{
	const struct proto_op_info *info = proto_op_info(op);
	struct proto_req req;
	struct proto_resp resp;
	struct stat st;
	char *buf = NULL;
	int fd = -1, r, seals;

	if (info == NULL || !(info->flags & PROTO_OPF_DOC))
		return TC_EINVAL;
	if ((r = proto_req_init(&req, op, NULL, 0)) != 0)
		return r;
	if ((r = proto_call_fd(runtime_dir, &req, &resp, timeout_ms, &fd)) !=
	    0)
		goto out;
	if ((r = resp.status) != 0)
		goto out;
	/* Sealed, or someone could change it while we read: the same rule
	 * as for the segment (seg_map_fd). */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals == -1 || (seals & DOC_SEALS) != DOC_SEALS ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0) {
		r = TC_EPROTO;
		goto out;
	}
	if ((uintmax_t)st.st_size > CTL_DOC_MAX) {
		r = TC_ERANGE;
		goto out;
	}
	if ((r = doc_read(fd, (size_t)st.st_size, &buf)) != 0)
		goto out;
	/* success */
	*text = buf;
	*len = (size_t)st.st_size;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

int
cmd_metrics(const struct ctl_args *a)
{
	char msg[SEG_ERROR_FIELD + 64], *text = NULL;
	size_t len = 0;
	int r;

	if ((r = ctl_daemon_doc(a->dir, PROTO_OP_METRICS, CTL_DOC_MS, &text,
	    &len)) !=
	    0) {
		ctl_daemon_strerror(msg, sizeof(msg), a->dir, r, errno);
		ctl_warnx("metrics: %s", msg);
		return CTL_EXIT_FAIL;
	}
	if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
		free(text);
		ctl_warnx("metrics: cannot write: %s", strerror(errno));
		return CTL_EXIT_FAIL;
	}
	free(text);
	return CTL_EXIT_OK;
}
