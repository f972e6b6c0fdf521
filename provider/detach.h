/*
 * detach.h - leaving the terminal, for both processes that run in the
 * background: the daemon (or the worker) once it has started, and the
 * monitor (privsep.c).
 */
#ifndef TC_DETACH_H
#define TC_DETACH_H

/*
 * As daemon(3) does after its fork: the working directory becomes "/"
 * (no mount point kept busy), stdin, stdout and stderr /dev/null, and the
 * log goes to syslog (log_detach()).  Returns 0, or -1 with errno set if
 * the directory could not be changed; the rest is done either way.
 */
int detach_terminal(void);

#endif /* TC_DETACH_H */
