/*
 * daemon.h - tokencached's event loop: scheduler, fetches, control socket.
 */
#ifndef TC_DAEMON_H
#define TC_DAEMON_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"

struct daemon;

/*
 * Set up a daemon from a loaded configuration (ownership passes in): take
 * the runtime directory, adopt or create the segment, bind the control
 * socket.  Returns NULL with a message in err on failure.
 */
struct daemon *daemon_new(struct daemon_conf *conf, char *err, size_t errlen);

/* Run until SIGTERM or SIGINT (signals must be blocked by the caller and
 * are read through a signalfd).  Returns the exit status. */
int daemon_run(struct daemon *d);

/* Close the socket, leave the segment for the next daemon to adopt. */
void daemon_free(struct daemon *d);

#endif /* TC_DAEMON_H */
