/*
 * privsep.h - privilege separation.
 *
 * Started as root, tokencached splits in two, as OpenSSH does.  The monitor
 * keeps root and does one thing: load the configuration, secrets included,
 * when the worker asks for it (at a reload).  The worker drops to the
 * daemon's user with no supplementary groups and no way back, and does
 * everything else: the network, the segment, the control socket.
 * Started as any other user, tokencached runs as one process as that user.
 */
#ifndef TC_PRIVSEP_H
#define TC_PRIVSEP_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/*
 * If running as root and conf->user is not root: resolve the user, make
 * the runtime directory theirs, fork the monitor, and drop privileges.
 * Returns 0 in the worker (or in the only process when not root); the
 * monitor frees conf, closes worker_fd (if not -1: a descriptor only the
 * worker may hold) and never returns.  -1 with a message in err on
 * failure; PRIVSEP_ECONFIG when the configuration is at fault (no such
 * user, a runtime_dir that others could change or that is not a
 * directory), which no restart will mend.
 */
#define PRIVSEP_ECONFIG (-2)
int privsep_start(struct daemon_conf *conf, int worker_fd, char *err,
    size_t errlen);

/* Load the configuration at path: through the monitor when there is one,
 * else directly.  Same contract as conf_load(). */
int privsep_load(const char *path, struct daemon_conf **out, char *err);

/*
 * In the worker: the descriptor on which the monitor passes on the
 * signals it receives (-1 without a monitor); poll it for input, then
 * call privsep_signal_read() until it returns 0.  It returns SIGHUP or
 * SIGTERM for each signal passed on.
 */
int privsep_signal_fd(void);
int privsep_signal_read(void);

/*
 * In the worker: pass flags (NOTIFY_*, notify.h) and a status line (cut
 * to NOTIFY_STATUS_MAX - 1 bytes) to the monitor, which sends them to
 * the service manager as the unit's main process.  0 passed on, -1
 * (errno set) not.  The worker's notify_send goes through it
 * (notify_set_relay).
 */
int privsep_notify(unsigned flags, const char *status);

/* Drop to uid/gid for good: no supplementary groups, all three ids set,
 * checked, and no way back.  -1 with a message in err. */
int privsep_drop(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif /* TC_PRIVSEP_H */
