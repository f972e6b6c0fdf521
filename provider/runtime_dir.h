/*
 * runtime_dir.h - the daemon's runtime directory (runtime_dir): the
 * segment's persistent copy, its master key, the lock and the sockets.
 */
#ifndef TC_RUNTIME_DIR_H
#define TC_RUNTIME_DIR_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Make dir ready for a daemon whose files belong to uid:gid, creating its
 * last component (mode 0755) if need be.  Run as root, the path is
 * opened without following a symbolic link and refused if another user
 * could change it (tokencached(8), runtime_dir); another user opens only
 * its own directory.  When uid is not the caller's (root preparing it for
 * the worker), the directory and the files a previous daemon left in it
 * as root are given to uid:gid, unless a running daemon holds its lock.
 * Otherwise the directory must belong to uid and be writable by nobody
 * else.  Its mode ends as 0755, so that readers can search it.
 * Returns 0, or -1 with a message in err and *config set when the
 * configuration is at fault.
 */
int runtime_dir_prepare(const char *dir, uid_t uid, gid_t gid, int *config,
    char *err, size_t errlen);

/*
 * As root, before each reload: if dir (as runtime_dir_prepare() walks it)
 * belongs to root again, give it and the files runtime_dir_prepare()
 * gives back to uid:gid, so that the worker can still create files in
 * it.  systemd makes a unit's RuntimeDirectory= root's (the unit's user)
 * when it runs ExecReload=.  Failures are logged.
 */
void runtime_dir_reown(const char *dir, uid_t uid, gid_t gid);

#endif /* TC_RUNTIME_DIR_H */
