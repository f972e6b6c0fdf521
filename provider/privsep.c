/*
 * privsep.c - the monitor (root) and the worker (the daemon's user).
 *
 * The two talk over a socketpair.  The worker sends a 4-byte LOAD request;
 * the monitor answers with a status word and either a packed configuration
 * or an error message, each preceded by its length.  The monitor trusts
 * nothing the worker sends beyond "load now": it reads only the
 * configuration file it was started with.
 *
 * Signals for the worker (SIGHUP, SIGTERM) go over a pipe, not kill(2):
 * the worker runs as another user, and a monitor without CAP_KILL (as
 * under the systemd unit's CapabilityBoundingSet) may not signal it.
 *
 * What the worker has to tell the service manager (ready, reloading,
 * stopping, its status line) goes the other way, over a datagram socket
 * pair of its own: the monitor is the unit's main process, the only one
 * whose notifications systemd takes under NotifyAccess=main.  Each
 * datagram is one struct ps_notify, whole or not at all, so the worker
 * never blocks on it and it never mixes with the LOAD exchange.  The
 * monitor checks its size, flags and terminating NUL, and formats the
 * message itself (notify_format): the worker can say ready, reloading or
 * stopping and set the status line, nothing else (no MAINPID=, no
 * file descriptors).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "detach.h"
#include "log.h"
#include "notify.h"
#include "privsep.h"
#include "runtime_dir.h"
#include "seg.h"
#include "wipe_regs.h"

#define PS_LOAD        UINT32_C(0x4c4f4144)   /* "LOAD" */
#define PS_MAX_REPLY   (64u * 1024 * 1024)
#define PS_TIMEOUT_MS  30000

static int monitor_fd = -1;
static int monitor_lost;     /* it stopped answering: see privsep_load() */
static int signal_fd = -1;   /* the worker's end of the signal pipe */
static int notify_fd = -1;   /* the worker's end of the notify pair */

/* A notification from the worker, as it goes over the notify pair. */
struct ps_notify {
	uint32_t flags;              /* NOTIFY_* */
	char status[NOTIFY_STATUS_MAX];  /* NUL-terminated */
};

/* A signal on the pipe, one byte each. */
#define PS_SIG_HUP  'H'
#define PS_SIG_TERM 'T'

/* ---- the wire ----------------------------------------------------------- */

static int
write_all(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, void *buf, size_t n, int timeout_ms)
{
	unsigned char *p = buf;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t r;

	while (n > 0) {
		if (timeout_ms >= 0 && poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		r = read(fd, p, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The monitor's answer to LOAD. */
static void
monitor_load(int fd, const char *path)
{
	struct daemon_conf *c = NULL;
	unsigned char *blob = NULL;
	char err[CONF_ERR_MAX];
	uint64_t hdr[2];
	size_t len = 0;

	if (conf_load(path, &c, err) == 0 &&
	    (blob = conf_pack(c, &len)) == NULL)
		snprintf(err, sizeof(err), "%s: out of memory", path);
	hdr[0] = blob != NULL ? 0 : 1;
	hdr[1] = blob != NULL ? len : strlen(err);
	if (write_all(fd, hdr, sizeof(hdr)) != 0 ||
	    write_all(fd, blob != NULL ? (const void *)blob : (const void *)err,
	    (size_t)hdr[1]) != 0)
		log_warn("cannot answer the worker");
	sodium_free(blob);
	conf_free(c);
}

/*
 * Pass a signal the monitor received on to the worker.  A full pipe
 * (EAGAIN) already holds signals the worker has yet to read; one more
 * would add nothing.  A closed one (EPIPE) means the worker is gone, as
 * when systemd stops the unit with SIGTERM to every process in it: its
 * SIGCHLD follows, and the monitor leaves with its status.
 */
static void
monitor_pass_signal(int sig_fd, uint32_t signo)
{
	char c = signo == SIGHUP ? PS_SIG_HUP : PS_SIG_TERM;
	ssize_t w;

	do
		w = write(sig_fd, &c, 1);
	while (w == -1 && errno == EINTR);
	if (w != 1 && !(w == -1 && (errno == EAGAIN || errno == EPIPE)))
		log_err("cannot pass %s on to the worker",
		    signo == SIGHUP ? "SIGHUP (reload)" : "SIGTERM");
}

/*
 * Send on what the worker asked to tell the service manager: the
 * datagrams waiting, up to a burst, so that a worker that floods the pair
 * cannot keep the monitor from its signals.  A datagram of another size,
 * with other flags or an unterminated status is dropped (and said once):
 * the worker may have been taken over.
 */
#define PS_NOTIFY_BURST 32

static void
monitor_relay(int nfd)
{
	static int warned;
	struct ps_notify m;
	ssize_t r;
	int i;

	for (i = 0; i < PS_NOTIFY_BURST; i++) {
		do
			r = recv(nfd, &m, sizeof(m), MSG_DONTWAIT | MSG_TRUNC);
		while (r == -1 && errno == EINTR);
		if (r == -1)
			return;
		if (r != (ssize_t)sizeof(m) || (m.flags & ~NOTIFY_FLAGS) != 0 ||
		    memchr(m.status, '\0', sizeof(m.status)) == NULL) {
			if (!warned++)
				log_warnx("dropped a malformed "
				    "notification from the worker (%zd bytes)",
				    r);
			continue;
		}
		if (notify_send_direct(m.flags, m.status) != 0 && !warned++)
			log_warn("cannot notify the service manager");
	}
}

/*
 * The monitor: forward signals, relay notifications, answer LOAD, and
 * leave with the worker's exit status.
 */
static void __attribute__((noreturn))
monitor_main(int fd, int sig_fd, int nfd, pid_t worker, const char *path,
    const char *rundir, uid_t uid, gid_t gid)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[3];
	sigset_t mask;
	uint32_t req;
	int sfd, st;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = nfd;
	pfd[1].events = POLLIN;
	pfd[2].fd = fd;
	pfd[2].events = POLLIN;
	for (;;) {
		if (poll(pfd, fd != -1 ? 3 : 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents)
			monitor_relay(nfd);
		if (pfd[0].revents &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD &&
			    waitpid(worker, &st, WNOHANG) == worker) {
				/* Its last words (STOPPING=1) first. */
				monitor_relay(nfd);
				if (WIFEXITED(st))
					exit(WEXITSTATUS(st));
				log_last();
				log_warnx("worker killed by signal %d",
				    WTERMSIG(st));
				exit(128 + WTERMSIG(st));
			}
			if (si.ssi_signo != SIGCHLD)
				monitor_pass_signal(sig_fd, si.ssi_signo);
		}
		if (fd != -1 && pfd[2].revents) {
			if (read_all(fd, &req, sizeof(req), 1000) != 0 ||
			    req != PS_LOAD) {
				/* The worker is gone or confused: stop
				 * serving it and wait for it to exit. */
				close(fd);
				fd = -1;
				continue;
			}
			runtime_dir_reown(rundir, uid, gid);
			monitor_load(fd, path);
			/* The monitor then sleeps with whatever the load
			 * left in its registers: a core would show it. */
			wipe_vector_registers();
		}
	}
}

/* ---- the worker --------------------------------------------------------- */

int
privsep_load(const char *path, struct daemon_conf **out, char *err)
{
	uint32_t req = PS_LOAD;
	uint64_t hdr[2];
	unsigned char *blob = NULL;
	int ret = -1;

	if (monitor_lost) {
		snprintf(err, CONF_ERR_MAX, "the privileged monitor process "
		    "stopped answering earlier; restart tokencached to reload");
		return -1;
	}
	if (monitor_fd == -1)
		return conf_load(path, out, err);
	if (write_all(monitor_fd, &req, sizeof(req)) != 0 ||
	    read_all(monitor_fd, hdr, sizeof(hdr), PS_TIMEOUT_MS) != 0 ||
	    hdr[1] > PS_MAX_REPLY) {
		snprintf(err, CONF_ERR_MAX, "no answer from the privileged "
		    "monitor process");
		goto lost;
	}
	if (hdr[0] != 0) {
		size_t n = hdr[1] < CONF_ERR_MAX - 1 ? (size_t)hdr[1] :
		    CONF_ERR_MAX - 1;

		if (read_all(monitor_fd, err, n, PS_TIMEOUT_MS) != 0) {
			snprintf(err, CONF_ERR_MAX, "no answer from the "
			    "privileged monitor process");
			goto lost;
		}
		err[n] = '\0';
		/* A longer message than we keep would desynchronise us. */
		if (n != hdr[1]) {
			snprintf(err, CONF_ERR_MAX, "malformed monitor reply");
			goto lost;
		}
		return -1;
	}
	if ((blob = sodium_malloc(hdr[1] ? (size_t)hdr[1] : 1)) == NULL) {
		/* The reply is still in the socket: unread, it would
		 * answer the next request. */
		snprintf(err, CONF_ERR_MAX, "out of memory");
		goto lost;
	}
	if (read_all(monitor_fd, blob, (size_t)hdr[1], PS_TIMEOUT_MS) != 0) {
		snprintf(err, CONF_ERR_MAX, "no answer from the privileged "
		    "monitor process");
		sodium_free(blob);
		goto lost;
	}
	if (conf_unpack(blob, (size_t)hdr[1], out) != 0)
		snprintf(err, CONF_ERR_MAX, "malformed configuration from the "
		    "monitor process");
	else
		ret = 0;
	sodium_free(blob);
	return ret;
 lost:
	/*
	 * Part of a reply may still be on its way: the next request would
	 * read it as its own answer, one configuration behind from then on.
	 * Stop asking; the running configuration stays.
	 */
	close(monitor_fd);
	monitor_fd = -1;
	monitor_lost = 1;
	log_errx("reload: %s; no more reloads until tokencached is "
	    "restarted", err);
	return -1;
}

int
privsep_signal_fd(void)
{
	return signal_fd;
}

int
privsep_signal_read(void)
{
	char c;
	ssize_t r;

	if (signal_fd == -1)
		return 0;
	do
		r = read(signal_fd, &c, 1);
	while (r == -1 && errno == EINTR);
	if (r == 1)
		return c == PS_SIG_HUP ? SIGHUP : SIGTERM;
	if (r == 0 || errno != EAGAIN) {
		/* The monitor is gone; PR_SET_PDEATHSIG ends us. */
		close(signal_fd);
		signal_fd = -1;
	}
	return 0;
}

int
privsep_notify(unsigned flags, const char *status)
{
	struct ps_notify m;
	ssize_t w;

	if (notify_fd == -1)
		return -1;
	memset(&m, 0, sizeof(m));
	m.flags = flags & NOTIFY_FLAGS;
	if (status != NULL)
		snprintf(m.status, sizeof(m.status), "%s", status);
	do
		w = send(notify_fd, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w == -1 && errno == EINTR);
	return w == (ssize_t)sizeof(m) ? 0 : -1;
}

int
privsep_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	/* In this order: groups while we may, then the gid, then the uid. */
	if (setgroups(0, NULL) == -1) {
		snprintf(err, errlen, "setgroups: %s", strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) == -1) {
		snprintf(err, errlen, "setresgid: %s", strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "setresuid: %s", strerror(errno));
		return -1;
	}
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid || getgroups(0, NULL) != 0) {
		snprintf(err, errlen, "privileges not dropped as asked");
		return -1;
	}
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		snprintf(err, errlen, "could regain root after dropping it");
		return -1;
	}
	/* Credential changes reset these; set them again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "prctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The worker's user: uid and gid of conf->user, or PRIVSEP_ECONFIG with
 * a message in err if there is no such user.
 */
static int
worker_user(const struct daemon_conf *conf, uid_t *uid, gid_t *gid,
    char *err, size_t errlen)
{
	struct passwd *pw;

	if ((pw = getpwnam(conf->user)) == NULL) {
		snprintf(err, errlen, "%s: user '%s' does not exist (create it, "
		    "e.g. useradd --system --no-create-home tokencache, or set "
		    "user in [daemon])", conf->path, conf->user);
		return PRIVSEP_ECONFIG;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* The monitor-worker socket pair sv, the signal pipe sp and the notify
 * pair sn (its ends non-blocking: see monitor_relay, privsep_notify). */
static int
open_channels(int sv[2], int sp[2], int sn[2], char *err, size_t errlen)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	/* The signal pipe: non-blocking at both ends (see
	 * monitor_pass_signal and privsep_signal_read). */
	if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    sn) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	return 0;
}

/* Is the worker to fail at once (a test hook)? */
static int
worker_fails_at_once(void)
{
#ifdef TC_TEST_HOOKS
	const char *hook;

	/* For the tests: TOKENCACHE_TEST_CRASH=worker-start fails the worker
	 * at once, as a failed drop would, while the monitor dawdles. */
	hook = secure_getenv("TOKENCACHE_TEST_CRASH");
	return hook != NULL && strcmp(hook, "worker-start") == 0;
#else
	return 0;
#endif
}

/*
 * The parent after the fork: keep the monitor's ends of sv and sp, let
 * go of the configuration and the terminal, and serve the worker until
 * it exits.
 */
static void __attribute__((noreturn))
become_monitor(struct daemon_conf *conf, int worker_fd, const int sv[2],
    const int sp[2], const int sn[2], pid_t worker, int fail_at_once,
    uid_t uid, gid_t gid)
{
	char *path, *rundir;

	if (fail_at_once)
		usleep(200 * 1000);
	/* The monitor keeps no secrets between reloads. */
	close(sv[1]);
	close(sp[0]);
	close(sn[1]);
	if (worker_fd != -1) {
		/* In the background: the worker releases the
		 * parent; the monitor leaves the terminal too. */
		close(worker_fd);
		if (detach_terminal() == -1)
			log_warn("chdir /");
	}
	/* Its one line in the normal course: the monitor names itself. */
	log_info("started the worker, pid %ld, to run as %s", (long)worker,
	    conf->user);
	if ((path = strdup(conf->path)) == NULL ||
	    (rundir = strdup(conf->runtime_dir)) == NULL)
		fatalx("out of memory");
	conf_free(conf);
	wipe_vector_registers();
	monitor_main(sv[0], sp[1], sn[0], worker, path, rundir, uid, gid);
}

int
privsep_start(struct daemon_conf *conf, int worker_fd, char *err,
    size_t errlen)
{
	sigset_t chld, oldmask;
	int sv[2], sp[2], sn[2], fail_at_once, config, r;
	pid_t pid, monitor = getpid();
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0;
	if ((r = worker_user(conf, &uid, &gid, err, errlen)) != 0)
		return r;
	if (uid == 0) {
		log_set_process(LOG_PROCESS_WORKER);
		log_warnx("running as root: user = %s in %s", conf->user,
		    conf->path);
		return 0;
	}
	if (runtime_dir_prepare(conf->runtime_dir, uid, gid, &config, err,
	    errlen) != 0)
		return config ? PRIVSEP_ECONFIG : -1;
	if (open_channels(sv, sp, sn, err, errlen) != 0)
		return -1;
	/*
	 * SIGCHLD is blocked before the fork, so that a worker that dies at
	 * once (a failed drop) is still seen by the monitor's signalfd: left
	 * at its default, the signal would be discarded before
	 * monitor_main() blocks it, and the monitor would wait forever.
	 */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &oldmask);
	fail_at_once = worker_fails_at_once();
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		return -1;
	}
	if (pid == 0) {
		log_set_process(LOG_PROCESS_WORKER);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
#ifdef TC_TEST_HOOKS
		if (fail_at_once) {
			snprintf(err, errlen, "the worker failed at once "
			    "(TOKENCACHE_TEST_CRASH=worker-start)");
			return -1;
		}
#endif
	}
	if (pid != 0)
		become_monitor(conf, worker_fd, sv, sp, sn, pid, fail_at_once,
		    uid, gid);
	close(sv[0]);
	close(sp[1]);
	close(sn[0]);
	monitor_fd = sv[1];
	signal_fd = sp[0];
	notify_fd = sn[1];
	notify_set_relay(privsep_notify);
	if (privsep_drop(uid, gid, err, errlen) != 0)
		return -1;
	/* Set after the drop, which clears it: leave with the monitor. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == -1 ||
	    getppid() != monitor) {
		snprintf(err, errlen, "the monitor process went away");
		return -1;
	}
	log_info("running as %s (uid %u), monitor pid %ld", conf->user,
	    (unsigned)uid, (long)getppid());
	return 0;
}
