/*
 * detach.c - leaving the terminal (detach.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "detach.h"
#include "log.h"

int
detach_terminal(void)
{
	int fd, ret = 0, e = 0;

	if (chdir("/") == -1) {
		e = errno;
		ret = -1;
	}
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_detach();
	errno = e;
	return ret;
}
