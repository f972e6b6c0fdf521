/*
 * exec.c - the exec token source: run a configured program and read a
 * token document from its standard output, in the manner of AWS
 * credential_process and kubectl's exec plugins (tokencache.conf(5), EXEC
 * TOKEN SOURCE; the document: exec_doc.h).
 *
 * Built against <tokencache/module.h> alone: the tc_mod_* functions are
 * the daemon's, resolved when it loads exec.so.  The daemon runs modules in
 * its unprivileged worker, in one thread, so the program runs as the
 * daemon's user and nothing here may block: the child's pipes are read
 * without blocking, its exit is learnt from a pidfd, and the daemon
 * enforces the credential's timeout by calling end(), which kills it.
 */
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tokencache/module.h>

#include "exec_doc.h"

/*
 * A token is at most the daemon's token_max (up to 1 MiB) and JSON
 * escapes may lengthen it, so output_max may go well above that; the
 * bound keeps a typo from letting a program fill the worker's memory.
 */
#define OUTPUT_MAX_DEFAULT	65536
#define OUTPUT_MAX_MIN		256
#define OUTPUT_MAX_MAX		(16 * 1024 * 1024)

/* The start of stderr that is kept, for the first line in a message. */
#define STDERR_KEEP		512
#define STDERR_ECHO		150

/*
 * Reads of stderr beyond what is kept, per wake-up: a program that
 * writes to it without end must not hold the daemon's loop.  What is left
 * keeps the descriptor readable, and the daemon calls again.
 */
#define STDERR_DISCARD_READS	16

#define DEFAULT_PATH		"PATH=/usr/bin:/bin"

struct exec_conf {
	char **argv;		/* the command, then each arg; NULL-ended */
	size_t argc;
	/*
	 * The command's last component, for messages: a credential's last
	 * error holds some 220 bytes, which a long path would fill before
	 * the part that says what went wrong.  The log names the credential.
	 */
	const char *name;
	char **envp;		/* exactly the child's environment */
	size_t envc;
	size_t output_max;
};

/* One run of the program, from start() to end(). */
struct exec_run {
	pid_t pid;		/* -1 once reaped */
	int ep;			/* the epoll set the daemon polls */
	int out_fd;		/* our ends of the pipes; -1 at EOF */
	int err_fd;
	int pid_fd;		/* once stdout is closed, until the exit */
	char *out;		/* stdout so far: the token is in it */
	size_t out_len, out_cap;
	char err[STDERR_KEEP];	/* the start of stderr */
	size_t err_len;
};

/* ---- configuration ------------------------------------------------------ */

static void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	/* env values may be secrets (an env_file). */
	for (i = 0; i < n; i++) {
		if (v[i] != NULL) {
			explicit_bzero(v[i], strlen(v[i]));
			free(v[i]);
		}
	}
	free(v);
}

static void
exec_release(void *state)
{
	struct exec_conf *c = state;

	if (c == NULL)
		return;
	strv_free(c->argv, c->argc);
	strv_free(c->envp, c->envc);
	free(c);
}

/* env = NAME=VALUE: a portable name (POSIX.1-2017 §8.1), once. */
static int
add_env(tc_mod_cred *cred, size_t i, struct exec_conf *c, const char *value,
    size_t len)
{
	size_t n, k;

	for (n = 0; n < len && value[n] != '='; n++) {
		if (!(value[n] == '_' || (value[n] >= 'A' && value[n] <= 'Z') ||
		    (value[n] >= 'a' && value[n] <= 'z') ||
		    (n > 0 && value[n] >= '0' && value[n] <= '9')))
			break;
	}
	/* The value itself is never echoed: it may be a secret. */
	if (n == 0 || n == len || value[n] != '=')
		return tc_mod_error(cred, i, "must be NAME=VALUE, NAME of "
		    "letters, digits and '_', not starting with a digit");
	for (k = 0; k < c->envc; k++) {
		if (strncmp(c->envp[k], value, n + 1) == 0)
			return tc_mod_error(cred, i, "sets %.*s twice", (int)n,
			    value);
	}
	if ((c->envp[c->envc] = strndup(value, len)) == NULL)
		return tc_mod_error(cred, i, "out of memory");
	c->envc++;
	return 0;
}

static int
set_output_max(tc_mod_cred *cred, size_t i, struct exec_conf *c,
    const char *value)
{
	unsigned long long n = 0;
	const char *p;

	for (p = value; *p >= '0' && *p <= '9' && n <= OUTPUT_MAX_MAX; p++)
		n = n * 10 + (unsigned long long)(*p - '0');
	if (p == value || *p != '\0' || n < OUTPUT_MAX_MIN ||
	    n > OUTPUT_MAX_MAX)
		return tc_mod_error(cred, i, "must be a number of bytes from "
		    "%d to %d", OUTPUT_MAX_MIN, OUTPUT_MAX_MAX);
	c->output_max = (size_t)n;
	return 0;
}

/*
 * Option i of cred into c: command, arg, env (or env_file, read by the
 * daemon), output_max.  *seen_path: an env set PATH; *seen_output_max:
 * output_max was given.  0, or -1 after tc_mod_error().
 */
static int
exec_option(tc_mod_cred *cred, size_t i, struct exec_conf *c,
    int *seen_path, int *seen_output_max)
{
	const char *key, *value;
	unsigned int flags;
	size_t len, klen;
	char name[16];

	key = tc_mod_opt_key(cred, i);
	value = tc_mod_opt_value(cred, i, &len);
	flags = tc_mod_opt_flags(cred, i);
	/* KEY_file: the daemon read the file; the option is KEY. */
	klen = strlen(key);
	if ((flags & TC_MOD_OPT_FILE) && klen > 5 &&
	    strcmp(key + klen - 5, "_file") == 0)
		klen -= 5;
	if (klen >= sizeof(name)) {
		tc_mod_error(cred, i, "not an option of the exec "
		    "provider (command, arg, env, output_max)");
		return -1;
	}
	memcpy(name, key, klen);
	name[klen] = '\0';
	if ((flags & TC_MOD_OPT_FILE) && strcmp(name, "env") != 0) {
		tc_mod_error(cred, i, "only env may be read from a "
		    "file");
		return -1;
	}
	/* A file holds one line: its line end is not the value's. */
	if ((flags & TC_MOD_OPT_FILE) && len > 0 &&
	    value[len - 1] == '\n')
		len -= len > 1 && value[len - 2] == '\r' ? 2 : 1;
	if (memchr(value, '\0', len) != NULL) {
		tc_mod_error(cred, i, "holds a NUL byte");
		return -1;
	}
	if (strcmp(name, "command") == 0) {
		if (c->argv[0] != NULL) {
			tc_mod_error(cred, i, "given twice");
			return -1;
		}
		if (value[0] != '/') {
			tc_mod_error(cred, i, "must be an absolute "
			    "path: no shell and no PATH search runs "
			    "it");
			return -1;
		}
		if ((c->argv[0] = strndup(value, len)) == NULL) {
			tc_mod_error(cred, i, "out of memory");
			return -1;
		}
	} else if (strcmp(name, "arg") == 0) {
		if ((c->argv[c->argc] = strndup(value, len)) == NULL) {
			tc_mod_error(cred, i, "out of memory");
			return -1;
		}
		c->argc++;
	} else if (strcmp(name, "env") == 0) {
		if (add_env(cred, i, c, value, len) != 0)
			return -1;
		if (strncmp(value, "PATH=", 5) == 0)
			*seen_path = 1;
	} else if (strcmp(name, "output_max") == 0) {
		if ((*seen_output_max)++) {
			tc_mod_error(cred, i, "given twice");
			return -1;
		}
		if (set_output_max(cred, i, c, value) != 0)
			return -1;
	} else {
		tc_mod_error(cred, i, "not an option of the exec "
		    "provider (command, arg, env, output_max)");
		return -1;
	}
	return 0;
}

/* One item of the identity: a tag and a length before the bytes, so that
 * no two configurations feed the same stream (arg = "a b" vs two args). */
static void
identity_item(tc_mod_cred *cred, char tag, const char *s)
{
	uint64_t len = strlen(s);
	unsigned char hdr[9];
	int k;

	hdr[0] = (unsigned char)tag;
	for (k = 0; k < 8; k++)
		hdr[1 + k] = (unsigned char)(len >> (56 - 8 * k));
	tc_mod_identity(cred, hdr, sizeof(hdr));
	tc_mod_identity(cred, s, (size_t)len);
}

static int
exec_configure(tc_mod_cred *cred, void **state)
{
	struct exec_conf *c;
	size_t i, n = tc_mod_opt_count(cred);
	int seen_output_max = 0, seen_path = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->argv = calloc(n + 2, sizeof(*c->argv))) == NULL ||
	    (c->envp = calloc(n + 2, sizeof(*c->envp))) == NULL) {
		tc_mod_error(cred, TC_MOD_NO_OPT, "out of memory");
		goto fail;
	}
	c->argc = 1;		/* argv[0], the command, is set below */
	c->output_max = OUTPUT_MAX_DEFAULT;
	for (i = 0; i < n; i++)
		if (exec_option(cred, i, c, &seen_path, &seen_output_max) != 0)
			goto fail;
	if (c->argv[0] == NULL) {
		tc_mod_error(cred, TC_MOD_NO_OPT, "the exec provider needs "
		    "'command = /absolute/path'");
		goto fail;
	}
	c->name = strrchr(c->argv[0], '/') + 1;
	/* The environment is exactly the configured one, but for a PATH
	 * for the scripts that call other programs. */
	if (!seen_path) {
		if ((c->envp[c->envc] = strdup(DEFAULT_PATH)) == NULL) {
			tc_mod_error(cred, TC_MOD_NO_OPT, "out of memory");
			goto fail;
		}
		c->envc++;
	}
	/* The program and what it is told select the token; output_max only
	 * bounds how it is read. */
	for (i = 0; i < c->argc; i++)
		identity_item(cred, i == 0 ? 'c' : 'a', c->argv[i]);
	for (i = 0; i < c->envc; i++)
		identity_item(cred, 'e', c->envp[i]);
	/* success */
	*state = c;
	return 0;
 fail:
	if (c != NULL) {
		/* argv may have a hole at 0 until the end: free by count. */
		strv_free(c->argv, c->argc);
		strv_free(c->envp, c->envc);
		free(c);
	}
	return -1;
}

/* ---- a run -------------------------------------------------------------- */

static void
close_fd(struct exec_run *r, int *fd)
{
	if (*fd == -1)
		return;
	if (r->ep != -1)
		epoll_ctl(r->ep, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static int
watch_fd(struct exec_run *r, int fd)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	return epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * Kill what is left of the run and free it.  Killing the process group
 * is safe while the child is not reaped: its pid, a zombie's at worst,
 * cannot name another group until then.  After SIGKILL the wait returns
 * at once.
 */
static void
run_free(struct exec_run *r)
{
	if (r == NULL)
		return;
	if (r->pid > 0) {
		kill(-r->pid, SIGKILL);
		while (waitpid(r->pid, NULL, 0) == -1 && errno == EINTR)
			;
		r->pid = -1;
	}
	close_fd(r, &r->out_fd);
	close_fd(r, &r->err_fd);
	close_fd(r, &r->pid_fd);
	if (r->ep != -1)
		close(r->ep);
	if (r->out != NULL) {
		explicit_bzero(r->out, r->out_cap);
		free(r->out);
	}
	explicit_bzero(r, sizeof(*r));
	free(r);
}

/* A descriptor of ours for the child: never 0, 1 or 2, which the child's
 * own dup2s would overwrite before they are read. */
static int
above_stdio(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3)) == -1)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

/* exec(2) errors that another try will not mend: the configuration's. */
static int
spawn_error_permanent(int e)
{
	return e == ENOENT || e == EACCES || e == ENOEXEC || e == ENOTDIR ||
	    e == ELOOP || e == EISDIR || e == ENAMETOOLONG || e == EPERM;
}

/*
 * Spawn the program with nothing of the daemon's: every signal at its
 * default and none blocked (the daemon blocks SIGHUP, SIGTERM and SIGINT
 * for its signalfd and ignores SIGPIPE), a session of its own (so that
 * end() kills all it started), stdin /dev/null, no descriptor but the
 * pipes, exactly the configured environment.
 */
static int
spawn_child(const struct exec_conf *c, int out_w, int err_w, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int e;

	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		return e;
	if ((e = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return e;
	}
	sigemptyset(&none);
	sigfillset(&all);
	if ((e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID)) == 0 &&
	    (e = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (e = posix_spawnattr_setsigdefault(&at, &all)) == 0 &&
	    (e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) == 0 &&
	    (e = posix_spawn_file_actions_adddup2(&fa, out_w, 1)) == 0 &&
	    (e = posix_spawn_file_actions_adddup2(&fa, err_w, 2)) == 0 &&
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0)
		e = posix_spawn(pid, c->argv[0], &fa, &at, c->argv, c->envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return e;
}

/*
 * The daemon polls one descriptor per request; the run has up to three
 * (stdout, stderr, then the pidfd).  An epoll set of them is that one
 * descriptor: readable when any is.  Watching stdout alone would leave a
 * program that fills the stderr pipe blocked until the timeout.
 */
static int
exec_start(void *state, tc_mod_req *req)
{
	const struct exec_conf *c = state;
	struct exec_run *r;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, e;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "out of memory");
		return -1;
	}
	r->pid = -1;
	r->out_fd = r->err_fd = r->pid_fd = -1;
	/* O_NONBLOCK on our ends only: the child's stay blocking, as
	 * programs expect of their stdout. */
	if ((r->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    pipe2(outp, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1 ||
	    above_stdio(&outp[1]) == -1 || above_stdio(&errp[1]) == -1 ||
	    fcntl(outp[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(errp[0], F_SETFL, O_NONBLOCK) == -1) {
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "cannot run %s: %s",
		    c->argv[0], strerror(errno));
		goto fail;
	}
	r->out_fd = outp[0];
	r->err_fd = errp[0];
	outp[0] = errp[0] = -1;
	if ((e = spawn_child(c, outp[1], errp[1], &r->pid)) != 0) {
		r->pid = -1;
		tc_mod_fail(req, spawn_error_permanent(e) ? TC_MOD_PERMANENT :
		    TC_MOD_TRANSIENT, 0, 0, "cannot run %s: %s", c->argv[0],
		    strerror(e));
		goto fail;
	}
	/* Ours closed, so that the child's exit is our EOF. */
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (watch_fd(r, r->out_fd) == -1 || watch_fd(r, r->err_fd) == -1) {
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "cannot watch %s: %s",
		    c->name, strerror(errno));
		goto fail;
	}
	/* success */
	tc_mod_req_set_data(req, r);
	tc_mod_req_set_fd(req, r->ep);
	return 0;
 fail:
	for (e = 0; e < 2; e++) {
		if (outp[e] != -1)
			close(outp[e]);
		if (errp[e] != -1)
			close(errp[e]);
	}
	run_free(r);
	return -1;
}

/*
 * Read what stdout has without blocking.  0: no more for now, or EOF
 * (out_fd closed); 1: more than output_max bytes; -1: a read error.  The
 * buffer grows by copying, the old one wiped: it holds the token.
 */
static int
read_stdout(const struct exec_conf *c, struct exec_run *r)
{
	size_t cap;
	ssize_t n;
	char *p;

	for (;;) {
		if (r->out_len == r->out_cap) {
			/* One byte past the bound tells "too large". */
			if (r->out_cap == c->output_max + 1)
				return 1;
			cap = r->out_cap == 0 ? 4096 : r->out_cap * 2;
			if (cap > c->output_max + 1)
				cap = c->output_max + 1;
			if ((p = malloc(cap)) == NULL)
				return -1;
			if (r->out != NULL) {
				memcpy(p, r->out, r->out_len);
				explicit_bzero(r->out, r->out_cap);
				free(r->out);
			}
			r->out = p;
			r->out_cap = cap;
		}
		n = read(r->out_fd, r->out + r->out_len,
		    r->out_cap - r->out_len);
		if (n > 0)
			r->out_len += (size_t)n;
		else if (n == 0) {
			close_fd(r, &r->out_fd);
			return 0;
		} else if (errno == EAGAIN)
			return 0;
		else if (errno != EINTR)
			return -1;
	}
}

/* Keep the start of stderr, for the message; drop the rest. */
static void
read_stderr(struct exec_run *r)
{
	char sink[4096];
	int reads;
	ssize_t n;

	for (reads = 0; r->err_fd != -1 && reads < STDERR_DISCARD_READS;
	    reads++) {
		if (r->err_len < sizeof(r->err))
			n = read(r->err_fd, r->err + r->err_len,
			    sizeof(r->err) - r->err_len);
		else
			n = read(r->err_fd, sink, sizeof(sink));
		if (n > 0) {
			if (r->err_len < sizeof(r->err))
				r->err_len += (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			close_fd(r, &r->err_fd);
		else if (errno == EAGAIN)
			break;
	}
}

/* ": FIRST LINE OF STDERR", or "" if it said nothing. */
static void
stderr_suffix(const struct exec_run *r, char *buf, size_t size)
{
	char line[STDERR_ECHO + 1];

	exec_doc_masked(line, sizeof(line), r->err, r->err_len, STDERR_ECHO);
	if (line[0] == '\0')
		buf[0] = '\0';
	else
		snprintf(buf, size, ": %s", line);
}

static void
fail_kind(tc_mod_req *req, int permanent, const char *cmd, const char *what,
    const char *msg)
{
	tc_mod_fail(req, permanent ? TC_MOD_PERMANENT : TC_MOD_TRANSIENT, 0,
	    0, "%s %s: %s", cmd, what, msg);
}

/* The program has exited (si) and its output is whole: set the result. */
static void
judge(const struct exec_conf *c, struct exec_run *r, const siginfo_t *si,
    tc_mod_req *req)
{
	const char *cmd = c->name, *sig;
	char why[STDERR_ECHO + 8];
	struct exec_doc doc;

	stderr_suffix(r, why, sizeof(why));
	if (si->si_code != CLD_EXITED) {
		sig = sigabbrev_np(si->si_status);
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "%s was killed by "
		    "signal %d (SIG%s)%s", cmd, si->si_status,
		    sig != NULL ? sig : "?", why);
		return;
	}
	if (r->out_len == 0) {
		if (si->si_status != 0)
			tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "%s exited "
			    "with status %d%s", cmd, si->si_status, why);
		else
			tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "%s printed "
			    "nothing on its standard output%s", cmd, why);
		return;
	}
	exec_doc_parse(r->out, r->out_len, (int64_t)time(NULL),
	    tc_mod_req_token_max(req), &doc);
	/* Done with the output: no copy of the token beyond doc's. */
	explicit_bzero(r->out, r->out_cap);
	if (doc.kind == EXEC_DOC_ERROR) {
		/* Its own words, whatever its status. */
		fail_kind(req, doc.permanent, cmd, "reported", doc.message);
	} else if (si->si_status != 0) {
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "%s exited with "
		    "status %d%s", cmd, si->si_status, why);
	} else if (doc.kind == EXEC_DOC_BAD) {
		fail_kind(req, doc.permanent, cmd, "printed a bad document",
		    doc.message);
	} else {
		/* tc_mod_token() sets the failure itself if it refuses. */
		(void)tc_mod_token(req, doc.token, doc.token_len,
		    doc.token_type[0] != '\0' ? doc.token_type : NULL,
		    doc.expires_in);
	}
	exec_doc_clear(&doc);
}

static int
exec_finish(void *state, tc_mod_req *req, CURLcode cc)
{
	const struct exec_conf *c = state;
	struct exec_run *r = tc_mod_req_data(req);
	siginfo_t si;
	int n;

	(void)cc;		/* CURLE_OK for a descriptor */
	if (r->out_fd != -1) {
		if ((n = read_stdout(c, r)) == 1) {
			tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "the output "
			    "of %s is larger than %zu bytes (output_max)",
			    c->name, c->output_max);
			return 0;
		} else if (n == -1) {
			tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "reading the "
			    "output of %s: %s", c->name, strerror(errno));
			return 0;
		}
	}
	read_stderr(r);
	if (r->out_fd != -1)
		return 1;
	/*
	 * Its output is over; has it exited?  WNOWAIT leaves it a zombie,
	 * so that its process group can still be named safely below.
	 */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT)
	    == -1) {
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "waiting for %s: %s",
		    c->name, strerror(errno));
		return 0;
	}
	if (si.si_pid == 0) {
		/* It closed stdout and runs on: watch for its exit.  A pidfd
		 * is readable once the process has exited (pidfd_open(2)). */
		if (r->pid_fd == -1) {
			r->pid_fd = (int)syscall(SYS_pidfd_open, r->pid, 0);
			if (r->pid_fd == -1 || watch_fd(r, r->pid_fd) == -1) {
				tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0,
				    "cannot wait for %s: %s", c->name,
				    strerror(errno));
				return 0;
			}
		}
		return 1;
	}
	/* What it left running in its session ends with it. */
	kill(-r->pid, SIGKILL);
	while (waitpid(r->pid, NULL, 0) == -1 && errno == EINTR)
		;
	r->pid = -1;
	read_stderr(r);
	judge(c, r, &si, req);
	return 0;
}

static void
exec_end(void *state, tc_mod_req *req)
{
	(void)state;
	run_free(tc_mod_req_data(req));
}

TC_MODULE_EXPORT const struct tc_module tokencache_module = {
	.abi_major = TC_MODULE_ABI_MAJOR,
	.abi_minor = TC_MODULE_ABI_MINOR,
	.size = sizeof(struct tc_module),
	.name = "exec",
	.configure = exec_configure,
	.release = exec_release,
	.start = exec_start,
	.finish = exec_finish,
	.end = exec_end,
};
