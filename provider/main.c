/*
 * tokencached - fetch OAuth tokens once per host, publish them encrypted in
 * shared memory for libtokencache readers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "config.h"
#include "daemon.h"
#include "detach.h"
#include "log.h"
#include "notify.h"
#include "privsep.h"
#include "srcmod.h"
#include "tokencache.h"

#ifndef TC_SYSCONFDIR
#define TC_SYSCONFDIR "/usr/local/etc"
#endif
#define DEFAULT_CONF TC_SYSCONFDIR "/tokencache/tokencache.conf"

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tokencached [-dfhV] [-c FILE]\n"
	    "  -c FILE  main configuration file (default %s)\n"
	    "  -f       stay in the foreground and log to stderr\n"
	    "  -d       log debug messages\n"
	    "  -V       print the version and exit\n"
	    "  -h       this help\n", DEFAULT_CONF);
	exit(status);
}

/*
 * Go to the background, but let the parent wait until start-up is done,
 * so that `tokencached` without -f still reports a bad configuration or a
 * busy runtime directory on stderr and with exit status 1.  Returns the
 * pipe the child writes "ready" to.
 */
static int
background(void)
{
	char c;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid != 0) {
		pid_t r;
		int st;

		close(p[1]);
		/* One byte: ready.  End of file: start-up failed, the child
		 * has said why on our stderr, and its status is ours (78 for
		 * a configuration error, as in the foreground). */
		if (read(p[0], &c, 1) == 1)
			_exit(0);
		while ((r = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
			;
		if (r != pid)
			_exit(1);
		_exit(WIFEXITED(st) && WEXITSTATUS(st) != 0 ?
		    WEXITSTATUS(st) : 1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	return p[1];
}

/* Start-up succeeded: leave the terminal and release the parent. */
static void
detach(int ready_fd)
{
	if (detach_terminal() == -1)
		fatal("chdir /");
	if (write(ready_fd, "", 1) != 1)
		fatal("cannot tell the parent we are ready");
	close(ready_fd);
}

int
main(int argc, char *argv[])
{
	struct daemon_conf *conf;
	struct daemon *d;
	struct rlimit rl = { 0, 0 };
	char err[CONF_ERR_MAX], abspath[PATH_MAX];
	int ready_fd = -1;
	const char *path = DEFAULT_CONF;
	sigset_t mask;
	int ch, foreground = 0, level = LOG_LEVEL_INFO, status;

	while ((ch = getopt(argc, argv, "c:dfhV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			level = LOG_LEVEL_DEBUG;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("tokencached %s\n", TC_VERSION_STRING);
			return 0;
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);

	log_init(1, level);
	/* Root forks a worker and stays as its monitor; anyone else is the
	 * worker alone (privsep_start). */
	log_set_process(geteuid() == 0 ? LOG_PROCESS_MONITOR :
	    LOG_PROCESS_WORKER);
	/* Before anything is started that could inherit it. */
	(void)notify_init();
	/* No core dumps and no ptrace by other users: we hold secrets. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("cannot disable core dumps");
	umask(022);
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("libcurl failed to initialise");
	/* Signals are read through a signalfd in the loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);

	/* Reloads happen after daemon(3) moved us to "/". */
	/* A configuration that does not load exits with TC_EXIT_CONFIG,
	 * which the unit's RestartPreventExitStatus= does not retry. */
	if (realpath(path, abspath) == NULL)
		fatalx_config("%s: %s", path, strerror(errno));
	if (conf_load(abspath, &conf, err) != 0)
		fatalx_config("%s", err);
	if (!foreground)
		ready_fd = background();
	/* As root: fork the monitor, drop to the daemon's user. */
	if ((status = privsep_start(conf, ready_fd, err, sizeof(err))) != 0) {
		if (status == PRIVSEP_ECONFIG)
			fatalx_config("%s", err);
		fatalx("%s", err);
	}
	/* In the worker: module code never runs as root. */
	if (srcmod_configure(conf, err, sizeof(err)) != 0)
		fatalx_config("%s", err);
	if ((d = daemon_new(conf, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (!foreground)
		detach(ready_fd);
	status = daemon_run(d);
	daemon_free(d);
	curl_global_cleanup();
	log_last();
	log_info("stopped");
	return status;
}
