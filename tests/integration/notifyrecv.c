/*
 * notifyrecv.c - a service manager's notification socket, for the tests
 * (tests/integration/privsep.sh): bind PATH as an AF_UNIX datagram socket,
 * and print each datagram received as one line, "PID MESSAGE", the
 * sender's pid as the kernel tells it (SCM_CREDENTIALS, as systemd reads
 * it) and the message's newlines as '|'.  Runs until killed.
 *
 *   tc-notifyrecv PATH
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct sockaddr_un sa;
	struct msghdr mh;
	struct cmsghdr *c;
	struct ucred cred;
	struct iovec iov;
	char msg[4096];
	ssize_t n, i;
	int fd, on = 1;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: tc-notifyrecv PATH\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, argv[1], strlen(argv[1]));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    chmod(argv[1], 0777) == -1) {
		perror(argv[1]);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		iov.iov_base = msg;
		iov.iov_len = sizeof(msg) - 1;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		if ((n = recvmsg(fd, &mh, 0)) == -1) {
			perror("recvmsg");
			return 1;
		}
		cred.pid = 0;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_CREDENTIALS)
				memcpy(&cred, CMSG_DATA(c), sizeof(cred));
		for (i = 0; i < n; i++)
			if (msg[i] == '\n')
				msg[i] = '|';
		msg[n] = '\0';
		printf("%ld %s\n", (long)cred.pid, msg);
	}
}
