/*
 * peer.h - who is at the other end of a local connection (peer.c): the
 * user owning the client's socket, as identd would say, for the local
 * token endpoint's "who may ask" (issue 11).
 *
 * Why the answer can be trusted: both functions ask the kernel, never
 * the client.  A socket's owner is the fsuid of the process that created
 * it (sk_uid; only a process with CAP_CHOWN can change it by fchown on
 * the socket), and SO_PEERCRED holds the credentials of the process that
 * connected.  A process can therefore speak as another user only with a
 * socket that user's process created and handed to it, which is that
 * user's own choice.
 *
 * Neither function allocates anything the caller must free, keeps state
 * between calls, or writes its outputs unless it returns 0.
 */
#ifndef TC_PEER_H
#define TC_PEER_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * 1 if ss is a loopback address: 127.0.0.0/8, ::1, or an IPv4-mapped
 * ::ffff:127.x.y.z (what an AF_INET6 socket sees of an IPv4 peer);
 * 0 for anything else, another family included.
 */
int peer_addr_is_loopback(const struct sockaddr_storage *ss);

/*
 * The uid owning the client's socket at the other end of fd, an
 * accepted (or connected) TCP socket whose both ends are loopback
 * addresses, looked up by its exact 4-tuple in the kernel's socket table
 * (NETLINK_SOCK_DIAG, one request, PEER_TIMEOUT_MS at most).
 *
 * Returns 0 and sets *uid, or -1 with errno:
 *   EINVAL     fd is not a TCP socket over IPv4 or IPv6
 *   EPERM      one end (or both) is not a loopback address: a remote
 *              peer has no uid on this host
 *   ENOENT     no live client socket holds that 4-tuple: the client has
 *              closed its socket (it may linger in FIN_WAIT or
 *              TIME_WAIT, where the kernel no longer knows its owner)
 *              or is gone
 *   ETIMEDOUT  the kernel did not answer in time
 *   EPROTO     the kernel's reply was malformed, truncated, for another
 *              request, or named more than one socket
 *   and those of getsockname, getpeername, socket(AF_NETLINK) (EMFILE,
 *   EACCES under a sandbox...) or send (ENOTSOCK, EBADF, ENOTCONN...).
 */
int peer_tcp_uid(int fd, uid_t *uid);

/* The longest peer_tcp_uid waits for the kernel's answer. */
#define PEER_TIMEOUT_MS	200

/*
 * peer_tcp_uid's judge of the kernel's answer, apart for the tests and
 * the fuzz target: buf holds len bytes (aligned as a struct nlmsghdr)
 * answering request seq for the connection from client to us (our
 * getpeername and getsockname).  Returns 0 and sets *uid if it names
 * exactly one socket with client's address and port as its own and us
 * as its remote, in a state of a connection still open (ESTABLISHED,
 * FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT) and held by a file (an inode: the
 * kernel reports orphaned and TIME_WAIT sockets as uid 0, inode 0).
 * Otherwise -1 with errno: ENOENT if none such, the kernel's errno from
 * an NLMSG_ERROR, EPROTO for anything malformed, truncated, of another
 * sequence or naming two such sockets.  Reads nothing outside buf.
 */
int peer_diag_parse(const void *buf, size_t len, uint32_t seq,
    const struct sockaddr_storage *client, const struct sockaddr_storage *us,
    uid_t *uid);

/*
 * The uid and gid of the process that connected the Unix stream socket
 * fd (or created the socketpair), from SO_PEERCRED.  Returns 0 and sets
 * *uid and *gid, or -1 with errno: EINVAL if fd is not an AF_UNIX
 * socket, ENOTCONN if it has no peer, EPROTO if the kernel answers with
 * a credential of another size, or those of getsockname and
 * getsockopt.
 */
int peer_unix_uid(int fd, uid_t *uid, gid_t *gid);

/*
 * The supplementary groups of the process that connected the Unix socket
 * fd, from SO_PEERGROUPS, into *groups (malloc'd; the caller frees it)
 * and *ngroups.  0, or -1 with errno (those of getsockopt, ENOMEM; EPROTO
 * for a length that is not whole gids).
 */
int peer_unix_groups(int fd, gid_t **groups, int *ngroups);

/*
 * What the user database says of uid: its primary group in *gid and its
 * groups (getgrouplist(3), the primary one included) in *groups
 * (malloc'd; the caller frees it) and *ngroups.  For a TCP peer, of which
 * the kernel tells only the uid.  0, or -1 with errno: ENOENT for a uid
 * with no entry, ENOMEM, or getpwuid_r's.
 */
int peer_user_groups(uid_t uid, gid_t *gid, gid_t **groups, int *ngroups);

#endif /* TC_PEER_H */
