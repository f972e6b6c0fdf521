/*
 * dgram.c - one datagram to a Unix socket, never waiting (dgram.h).
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "dgram.h"

int
dgram_send(int *fd, const struct sockaddr_un *sa, socklen_t salen,
    const void *buf, size_t len)
{
	ssize_t w;

	if (*fd == -1 && (*fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	do
		w = sendto(*fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
		    (const struct sockaddr *)sa, salen);
	while (w == -1 && errno == EINTR);
	if (w == -1)
		return -1;
	if ((size_t)w != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}
