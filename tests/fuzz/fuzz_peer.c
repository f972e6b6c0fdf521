/*
 * fuzz_peer.c - the kernel's NETLINK_SOCK_DIAG answer to peer_tcp_uid
 * (peer_diag_parse): outside the process, so judged as outside input.
 * The connection asked about is 127.0.0.1:40000 -> 127.0.0.1:8080,
 * request sequence 7 (the corpus is written for them).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage client, us;
	struct sockaddr_in *c = (struct sockaddr_in *)(void *)&client;
	struct sockaddr_in *u = (struct sockaddr_in *)(void *)&us;
	void *buf;
	uid_t uid = 12345;
	int r;

	/* As recvfrom leaves it: aligned, exactly size bytes (ASan sees a
	 * read past the end). */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	memset(&client, 0, sizeof(client));
	memset(&us, 0, sizeof(us));
	c->sin_family = u->sin_family = AF_INET;
	c->sin_addr.s_addr = u->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->sin_port = htons(40000);
	u->sin_port = htons(8080);
	errno = 0;
	r = peer_diag_parse(buf, size, 7, &client, &us, &uid);
	if (r == 0 ? errno != 0 : (errno == 0 || uid != 12345))
		abort();	/* a refusal says why and writes nothing */
	free(buf);
	return 0;
}
