/*
 * fakedaemon.c - a daemon that is not tokencached, for the integration
 * tests of what the library and tokencachectl trust (harden.sh).
 *
 *   tc-fakedaemon DIR MODE SECONDS
 *
 * Builds a real segment in DIR with the daemon's own writer (seg_write.h)
 * holding two credentials, "good" (the token fake-good-token) and
 * "forged" (a token with CR LF and a header after it, as a squatter or a
 * hostile OAuth server would serve), listens on DIR/socket (mode 0666)
 * and answers the real protocol for SECONDS: PING; KEY, SEGMENT and OPEN
 * with real keys and the segment's descriptor (MODE serve), or SEGMENT and
 * OPEN with status 0 and no descriptor (MODE nofd: a daemon that answers
 * but hands out no segment), or with /dev/null for the segment (MODE
 * badfd).  Prints "ready" once it listens.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "proto.h"
#include "seg_write.h"
#include "tokencache.h"

#define FORGED "forged\r\nX-Injected: yes\r\n\x1b]0;owned\x07"

static int
publish(struct segw *w, const char *name, const char *token)
{
	struct segw_meta m;
	uint32_t idx;
	int64_t now = (int64_t)time(NULL);

	memset(&m, 0, sizeof(m));
	m.token_type = "Bearer";
	m.expires_at = now + 600;
	m.expires_boot_ns = seg_boottime_ns() + INT64_C(600000000000);
	m.fetched_at = now;
	if (segw_assign(w, name, &idx) != 0 ||
	    segw_publish_unchecked(w, idx, token, strlen(token), &m) != 0)
		return -1;
	return 0;
}

static void
serve_one(struct segw *w, int fd, int nofd, int segfd)
{
	struct proto_req q;
	struct proto_resp r;
	char name[SEG_NAME_FIELD];
	ssize_t n;

	n = recv(fd, &q, sizeof(q), 0);
	if (n <= 0 || proto_req_parse(&q, (size_t)n, &q, name) != 0)
		return;
	memset(&r, 0, sizeof(r));
	r.magic = PROTO_MAGIC;
	r.version = PROTO_VERSION;
	r.op = q.op;
	switch (q.op) {
	case PROTO_OP_PING:
		snprintf(r.message, sizeof(r.message), "fake daemon");
		break;
	case PROTO_OP_KEY:
	case PROTO_OP_OPEN:
		segw_key_for(w, name, r.key, &r.key_epoch);
		break;
	case PROTO_OP_SEGMENT:
		break;
	default:
		r.status = TC_EINVAL;
		break;
	}
	if ((q.op == PROTO_OP_SEGMENT || q.op == PROTO_OP_OPEN) && !nofd)
		(void)proto_send_with_fd(fd, &r, sizeof(r), segfd);
	else
		(void)send(fd, &r, sizeof(r), MSG_NOSIGNAL);
	sodium_memzero(&r, sizeof(r));
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sun;
	struct segw w;
	char err[256];
	time_t end;
	int lfd, fd, nofd, segfd;

	if (argc != 4 || (strcmp(argv[2], "serve") != 0 &&
	    strcmp(argv[2], "nofd") != 0 && strcmp(argv[2], "badfd") != 0)) {
		fprintf(stderr, "usage: tc-fakedaemon DIR serve|nofd|badfd "
		    "SECONDS\n");
		return 2;
	}
	nofd = strcmp(argv[2], "nofd") == 0;
	end = time(NULL) + atoi(argv[3]);
	log_init(1, 0);
	if (sodium_init() < 0)
		return 1;
	memset(&w, 0, sizeof(w));
	if (segw_open(&w, argv[1], 16, 4096, err, sizeof(err)) != 0) {
		fprintf(stderr, "tc-fakedaemon: %s\n", err);
		return 1;
	}
	if (publish(&w, "good", "fake-good-token") != 0 ||
	    publish(&w, "forged", FORGED) != 0) {
		fprintf(stderr, "tc-fakedaemon: cannot publish\n");
		return 1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", argv[1],
	    SEG_SOCKET_NAME);
	(void)unlink(sun.sun_path);
	if ((lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(sun.sun_path, 0666) == -1 || listen(lfd, 64) == -1) {
		fprintf(stderr, "tc-fakedaemon: %s: %s\n", sun.sun_path,
		    strerror(errno));
		return 1;
	}
	segfd = w.ro_fd;
	if (strcmp(argv[2], "badfd") == 0 &&
	    (segfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		perror("tc-fakedaemon: /dev/null");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		serve_one(&w, fd, nofd, segfd);
		close(fd);
	}
	(void)unlink(sun.sun_path);
	segw_close(&w, 0);
	return 0;
}
