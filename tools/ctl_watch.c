/*
 * watch: every credential's state, live, as the daemon changes it.
 *
 * What wakes it is the daemon's own writes, not a timer.  The daemon
 * pwrite()s every change of a slot to runtime_dir/cache right after it
 * stored it in the live segment (seg_store.c), so inotify on the runtime
 * directory (readable by everybody) says when to look, and the live
 * segment, mapped read-only as the library maps it, says what changed:
 * reading its slots' metadata is a copy, no system call, and needs no key.
 * The same directory says when the daemon comes and goes: it renames a
 * new `socket` into place when it starts and unlinks it when it stops.  A
 * daemon that is killed leaves its socket behind, so watch also holds a
 * pidfd of the process that writes the segment (the header's daemon_pid),
 * which polls readable when it exits.  A once-a-second tick only counts
 * the time left down on the screen; while the daemon is away it also
 * looks again at a socket that is there but did not answer (a daemon
 * still starting), and at a runtime directory that is gone (systemd
 * removes /run/tokencache when the unit stops).
 *
 * On a terminal it draws a screen (ctl_watch_tty.c); otherwise, or with
 * --json, it prints a line (or a JSON object) per change, for pipes and
 * logs.  Never a token: it reads metadata only, and has no key.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "ctl.h"
#include "ctl_watch.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

/* How long to wait for the daemon's segment: it answers from its loop. */
#define WATCH_CALL_MS    1000

#define WATCH_EVENTS (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | \
	IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF)

enum watch_daemon {
	DAEMON_UNKNOWN,
	DAEMON_UP,
	DAEMON_DOWN,
};

/* What the rows were read from. */
enum watch_source {
	SOURCE_NONE,
	SOURCE_LIVE,              /* the daemon's segment, live */
	SOURCE_FILE,              /* a snapshot of its persistent copy */
};

struct watch {
	const char *dir;
	int screen;               /* draw a screen; else a line per change */
	int json;
	struct watch_tty tty;
	int ifd, wd;              /* inotify; wd -1: the directory is not
	                           * watched (it is not there) */
	int sfd, tfd, pidfd;      /* signals, the tick, the daemon's exit */
	struct seg_map map;
	enum watch_source source;
	enum watch_daemon daemon;
	uint64_t pid;             /* the segment's writer, when up */
	int64_t since;            /* when daemon took its value, Unix time */
	char why[256];            /* why it is not up */
	int unreachable;          /* it may run, but does not serve us */
	struct ctl_cache rows;
	int rows_err;             /* reading them failed: TC_E* */
	/* Line mode: what was printed last. */
	struct ctl_cache printed;
	int printed_any;
	enum watch_daemon printed_daemon;
	int keys_fd;              /* tty.in_fd until it ends, then -1 */
	int quit;
	int exit_signal;          /* the signal that ended watch, 0: none */
};

/* The descriptors the loop polls, in this order. */
enum { PFD_SIGNAL, PFD_TICK, PFD_INOTIFY, PFD_KEYS, PFD_DAEMON, PFD_N };

/* ---------------------------------------------------------------- sources */

static int
open_pidfd(uint64_t pid)
{
#ifdef SYS_pidfd_open
	if (pid == 0 || pid > INT_MAX)
		return -1;
	return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

static void
close_pidfd(struct watch *w)
{
	if (w->pidfd != -1)
		close(w->pidfd);
	w->pidfd = -1;
}

static void
set_daemon(struct watch *w, enum watch_daemon d)
{
	if (w->daemon != d)
		w->since = (int64_t)time(NULL);
	w->daemon = d;
}

/* Read the rows again from what we map. */
static void
read_rows(struct watch *w)
{
	struct ctl_cache c;

	if (w->source == SOURCE_NONE) {
		ctl_cache_free(&w->rows);
		w->rows_err = 0;
		return;
	}
	if ((w->rows_err = ctl_cache_read(&c, &w->map, w->dir, 1)) != 0)
		return;		/* out of memory: keep the last rows */
	ctl_cache_free(&w->rows);
	w->rows = c;
}

static void
drop_map(struct watch *w)
{
	if (w->source != SOURCE_NONE)
		seg_map_close(&w->map);
	w->source = SOURCE_NONE;
}

/* The persistent copy, while no daemon hands out a segment: what the
 * last one left. */
static void
load_snapshot(struct watch *w)
{
	struct seg_map m;

	/* None: keep what we had (a dead daemon's segment, an older
	 * snapshot), the last state known. */
	if (seg_file_load(&m, w->dir) != 0)
		return;
	drop_map(w);
	w->map = m;
	w->source = SOURCE_FILE;
}

/*
 * Ask the daemon for its segment.  Up: map it, unless it is the one we
 * map already, and watch its writer.  Not there: say why, and show what
 * it left (with snapshot set: the persistent copy read again).
 */
static void
connect_daemon(struct watch *w, int snapshot)
{
	struct seg_map m;
	int r;

	errno = 0;
	if ((r = seg_map_from_daemon(w->dir, WATCH_CALL_MS, &m)) != 0) {
		ctl_daemon_strerror(w->why, sizeof(w->why), w->dir, r, errno);
		w->unreachable = r != TC_ENODAEMON;
		close_pidfd(w);
		if (w->daemon != DAEMON_DOWN || snapshot ||
		    w->source == SOURCE_NONE)
			load_snapshot(w);
		set_daemon(w, DAEMON_DOWN);
		read_rows(w);
		return;
	}
	if (w->source == SOURCE_LIVE && memcmp(m.hdr.instance_id,
	    w->map.hdr.instance_id, sizeof(m.hdr.instance_id)) == 0 &&
	    w->pidfd != -1) {
		seg_map_close(&m);
	} else {
		drop_map(w);
		w->map = m;
		w->source = SOURCE_LIVE;
		w->pid = m.hdr.daemon_pid;
		/*
		 * The daemon just answered and handed over this segment, so
		 * the pid its header names was its writer a moment ago.  A
		 * pidfd that cannot be had (no pidfd_open, another pid
		 * namespace) leaves the socket's events alone to tell.
		 */
		close_pidfd(w);
		w->pidfd = open_pidfd(w->pid);
	}
	w->why[0] = '\0';
	set_daemon(w, DAEMON_UP);
	read_rows(w);
}

/* Watch the runtime directory, if it is there (again). */
static int
watch_dir(struct watch *w)
{
	if (w->wd != -1)
		return 0;
	w->wd = inotify_add_watch(w->ifd, w->dir, WATCH_EVENTS | IN_ONLYDIR);
	return w->wd == -1 ? -1 : 0;
}

/*
 * What the directory's events mean.  Several writes of one change come
 * together (inotify merges identical events in a row), so this reads
 * them all before it looks once.
 */
static void
on_inotify(struct watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	int socket_moved = 0, cache_new = 0, cache_written = 0, gone = 0;
	ssize_t n;
	char *p;

	for (;;) {
		n = read(w->ifd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				socket_moved = cache_new = 1;
			/* The directory itself went (or moved); an old
			 * watch's IN_IGNORED is not news. */
			if ((ev->mask & (IN_IGNORED | IN_DELETE_SELF |
			    IN_MOVE_SELF)) && ev->wd == w->wd)
				gone = 1;
			if (ev->len == 0)
				continue;
			if (strcmp(ev->name, SEG_SOCKET_NAME) == 0)
				socket_moved = 1;
			else if (strcmp(ev->name, SEG_FILE_NAME) == 0 &&
			    (ev->mask & IN_MODIFY))
				cache_written = 1;
			else if (strcmp(ev->name, SEG_FILE_NAME) == 0)
				cache_new = 1;
		}
	}
	if (gone && w->wd != -1) {
		/* IN_IGNORED follows: the watch is gone with it. */
		(void)inotify_rm_watch(w->ifd, w->wd);
		w->wd = -1;
		socket_moved = 1;
	}
	if (socket_moved || (cache_new && w->source != SOURCE_LIVE)) {
		connect_daemon(w, cache_new || cache_written);
		return;
	}
	if (cache_new) {
		uint8_t id[16];

		/* A new copy of the segment we map (the daemon rewrote a
		 * damaged one) changes nothing; another one is news. */
		if (seg_file_instance(w->dir, id) != 0 || memcmp(id,
		    w->map.hdr.instance_id, sizeof(id)) != 0) {
			connect_daemon(w, 1);
			return;
		}
	}
	if (w->source == SOURCE_LIVE &&
	    seg_live_status(&w->map) != SEG_ALIVE) {
		connect_daemon(w, 1);	/* retired: the daemon has another */
		return;
	}
	if (w->source == SOURCE_FILE && (cache_written || cache_new))
		load_snapshot(w);
	read_rows(w);
}

/* The daemon's writer exited. */
static void
on_daemon_exit(struct watch *w)
{
	close_pidfd(w);
	connect_daemon(w, 1);
}

/* Once a second, and only while the daemon is not up: look again at what
 * no event will announce (see the top of the file). */
static void
on_tick_waiting(struct watch *w)
{
	char path[PATH_MAX];
	struct stat st;

	if (w->wd == -1) {
		if (watch_dir(w) == 0)
			connect_daemon(w, 1);
		return;
	}
	if (w->daemon == DAEMON_UP)
		return;
	if (snprintf(path, sizeof(path), "%s/%s", w->dir,
	    SEG_SOCKET_NAME) < (int)sizeof(path) && stat(path, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		connect_daemon(w, 0);
}

/* ---------------------------------------------------------------- text */

static void
format_daemon(const struct watch *w, char *buf, size_t len)
{
	char since[32];

	ctl_format_wall(since, sizeof(since), w->since);
	if (w->daemon == DAEMON_UP)
		snprintf(buf, len, "tokencached: running (pid %llu)",
		    (unsigned long long)w->pid);
	else
		snprintf(buf, len, "tokencached: NOT %s since %s, waiting for "
		    "it", w->unreachable ? "REACHABLE" : "RUNNING", since);
}

/* ---------------------------------------------------------------- screen */

static void
set_line(struct watch_line *l, const char *attr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_line(struct watch_line *l, const char *attr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->text, sizeof(l->text), fmt, ap);
	va_end(ap);
	snprintf(l->attr, sizeof(l->attr), "%s", attr);
}

static void
clock_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%H:%M:%S", &tm) == 0)
		buf[0] = '\0';
}

/*
 * The screen: a header with the daemon's state and the clock, the column
 * titles of `list`, a row per credential, and a status line at the
 * bottom.  Rows that do not fit are counted, not scrolled.
 */
static void
draw_screen(struct watch *w)
{
	struct watch_line *lines;
	char daemon[384], clock[32], in[32], expires[32], gen[24];
	size_t i, n, avail, total, wname = 4, win = 2, wgen = 3, k = 0;
	int64_t now = seg_boottime_ns();
	int color = ctl_color_wanted(CTL_COLOR_AUTO);
	size_t width = w->tty.cols, rows = w->tty.rows;

	n = w->rows.ncreds;
	/* The header, the titles and the status line take three rows. */
	avail = rows > 3 ? rows - 3 : 0;
	total = n + 4 > rows ? n + 4 : rows;
	if ((lines = calloc(total, sizeof(*lines))) == NULL) {
		w->tty.repaint = 1;
		return;
	}
	format_daemon(w, daemon, sizeof(daemon));
	/* The clock on the right, if there is room for it. */
	clock_now(clock, sizeof(clock));
	if (width < strlen(daemon) + strlen(clock) + 3)
		clock[0] = '\0';
	set_line(&lines[k++], w->daemon == DAEMON_UP ? "1" : (color ?
	    "1;37;41" : "1;7"), "%-*s%s", (int)(width > strlen(clock) + 1 ?
	    width - strlen(clock) - 1 : 0), daemon, clock);
	/* Size the columns to what they hold, as list does. */
	for (i = 0; i < n; i++) {
		const struct seg_slot *s = &w->rows.creds[i];

		if (strlen(s->name) > wname)
			wname = strlen(s->name);
		ctl_format_remaining(in, sizeof(in), s, now);
		if (strlen(in) > win)
			win = strlen(in);
		snprintf(gen, sizeof(gen), "%llu",
		    (unsigned long long)s->generation);
		if (strlen(gen) > wgen)
			wgen = strlen(gen);
	}
	set_line(&lines[k++], "7", "%-*s  %-7s  %-19s  %-*s  %-*s  %-*s",
	    (int)wname, "NAME", "STATE", "EXPIRES", (int)win, "IN", (int)wgen,
	    "GEN", (int)(width > wname + win + wgen + 36 ?
	    width - wname - win - wgen - 36 : 0), "LAST ERROR");
	for (i = 0; i < n; i++) {
		const struct seg_slot *s = &w->rows.creds[i];

		if (n > avail && i + 1 >= avail) {
			set_line(&lines[k++], "", "... and %zu more (a taller "
			    "window shows them)", n - i);
			break;
		}
		ctl_format_wall(expires, sizeof(expires), s->expires_at);
		ctl_format_remaining(in, sizeof(in), s, now);
		set_line(&lines[k++], color ? ctl_state_colour(s, now) : "",
		    "%-*s  %-7s  %-19s  %-*s  %-*llu  %s", (int)wname, s->name,
		    ctl_slot_state_name(s, now), expires, (int)win, in,
		    (int)wgen, (unsigned long long)s->generation,
		    s->error[0] != '\0' ? s->error : "-");
	}
	if (n == 0)
		set_line(&lines[k++], "", "%s", w->source == SOURCE_NONE ?
		    "(no token cache to show)" : "(no credentials)");
	/* The status line: the last row of the window. */
	k = rows > k ? rows - 1 : k;
	if (w->rows_err != 0)
		set_line(&lines[k++], "", "q: quit   reading the rows: %s "
		    "(these are older)", tc_strerror(w->rows_err));
	else if (w->rows.nbad > 0)
		set_line(&lines[k++], "", "q: quit   %zu slots could not be "
		    "read (tokencachectl verify)", w->rows.nbad);
	else if (w->daemon != DAEMON_UP)
		set_line(&lines[k++], "", "q: quit   %s%s", w->why,
		    w->source != SOURCE_NONE ? "; the last state it left" : "");
	else
		set_line(&lines[k++], "", "q: quit   %s", w->dir);
	watch_tty_draw(&w->tty, lines, k);
	free(lines);
}

/* ---------------------------------------------------------------- lines */

static int
row_changed(const struct seg_slot *a, const struct seg_slot *b,
    int64_t now_boot)
{
	return a->generation != b->generation ||
	    strcmp(ctl_slot_state_name(a, now_boot),
	    ctl_slot_state_name(b, now_boot)) != 0 ||
	    a->expires_at != b->expires_at || a->failures != b->failures ||
	    a->http_status != b->http_status ||
	    strcmp(a->error, b->error) != 0;
}

static void
print_json(struct json_object *o)
{
	if (o != NULL)
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static struct json_object *
event_json(const char *event)
{
	struct json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (ctl_json_put(o, "time", json_object_new_int64(
	    (int64_t)time(NULL))) != 0 ||
	    ctl_json_put(o, "event", json_object_new_string(event)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void
print_cred(const struct watch *w, const struct seg_slot *s, int64_t now_boot)
{
	char stamp[32], expires[32], in[32];
	struct json_object *o;

	ctl_format_wall(stamp, sizeof(stamp), (int64_t)time(NULL));
	if (!w->json) {
		ctl_format_wall(expires, sizeof(expires), s->expires_at);
		ctl_format_remaining(in, sizeof(in), s, now_boot);
		printf("%s %s: %s, generation %llu, expires %s (in %s), "
		    "failures %u, last error: %s\n", stamp, s->name,
		    ctl_slot_state_name(s, now_boot),
		    (unsigned long long)s->generation, expires, in,
		    (unsigned)s->failures, s->error[0] != '\0' ? s->error : "-");
		return;
	}
	if ((o = event_json("credential")) == NULL ||
	    ctl_json_put(o, "name", json_object_new_string(s->name)) != 0 ||
	    ctl_json_put(o, "state", json_object_new_string(
	    ctl_slot_state_name(s, now_boot))) != 0 ||
	    ctl_json_put(o, "generation",
	    json_object_new_uint64(s->generation)) != 0 ||
	    ctl_json_put(o, "expires_at", json_object_new_int64(
	    s->expires_at)) != 0 ||
	    ctl_json_put(o, "expires_in", json_object_new_int64(
	    ctl_slot_seconds_left(s, now_boot))) != 0 ||
	    ctl_json_put(o, "failures", json_object_new_int64(
	    s->failures)) != 0 ||
	    ctl_json_put(o, "http_status", json_object_new_int64(
	    s->http_status)) != 0 ||
	    ctl_json_put(o, "last_error", json_object_new_string(
	    s->error)) != 0) {
		json_object_put(o);
		o = NULL;
	}
	print_json(o);
}

static void
print_removed(const struct watch *w, const char *name)
{
	char stamp[32];
	struct json_object *o;

	if (!w->json) {
		ctl_format_wall(stamp, sizeof(stamp), (int64_t)time(NULL));
		printf("%s %s: removed\n", stamp, name);
		return;
	}
	if ((o = event_json("removed")) != NULL &&
	    ctl_json_put(o, "name", json_object_new_string(name)) != 0) {
		json_object_put(o);
		o = NULL;
	}
	print_json(o);
}

static void
print_daemon(const struct watch *w)
{
	char stamp[32];
	struct json_object *o;

	if (!w->json) {
		ctl_format_wall(stamp, sizeof(stamp), (int64_t)time(NULL));
		if (w->daemon == DAEMON_UP)
			printf("%s tokencached: running (pid %llu)\n", stamp,
			    (unsigned long long)w->pid);
		else
			printf("%s tokencached: not %s: %s\n", stamp,
			    w->unreachable ? "reachable" : "running", w->why);
		return;
	}
	if ((o = event_json("daemon")) == NULL ||
	    ctl_json_put(o, "running", json_object_new_boolean(
	    w->daemon == DAEMON_UP)) != 0 ||
	    ctl_json_put(o, "pid", json_object_new_int64(w->daemon ==
	    DAEMON_UP ? (int64_t)w->pid : 0)) != 0 ||
	    ctl_json_put(o, "message", json_object_new_string(w->why)) != 0) {
		json_object_put(o);
		o = NULL;
	}
	print_json(o);
}

/* Line mode: print what changed since the last time, both lists sorted
 * by name. */
static void
print_changes(struct watch *w)
{
	const struct ctl_cache *was = &w->printed, *now = &w->rows;
	struct ctl_cache copy;
	int64_t boot = seg_boottime_ns();
	size_t i = 0, j = 0;
	int c;

	if (!w->printed_any || w->daemon != w->printed_daemon)
		print_daemon(w);
	while (i < was->ncreds || j < now->ncreds) {
		if (i == was->ncreds)
			c = 1;
		else if (j == now->ncreds)
			c = -1;
		else
			c = strcmp(was->creds[i].name, now->creds[j].name);
		if (c < 0) {
			print_removed(w, was->creds[i++].name);
		} else if (c > 0) {
			print_cred(w, &now->creds[j++], boot);
		} else {
			if (row_changed(&was->creds[i], &now->creds[j], boot))
				print_cred(w, &now->creds[j], boot);
			i++;
			j++;
		}
	}
	fflush(stdout);
	/* Remember what was printed; without memory, print it all again
	 * next time rather than miss a change. */
	memset(&copy, 0, sizeof(copy));
	if (now->ncreds > 0 && (copy.creds = reallocarray(NULL, now->ncreds,
	    sizeof(*copy.creds))) == NULL)
		return;
	if (now->ncreds > 0)
		memcpy(copy.creds, now->creds, now->ncreds * sizeof(*copy.creds));
	copy.ncreds = now->ncreds;
	ctl_cache_free(&w->printed);
	w->printed = copy;
	w->printed_any = 1;
	w->printed_daemon = w->daemon;
}

static void
show(struct watch *w)
{
	if (w->screen)
		draw_screen(w);
	else
		print_changes(w);
}

/* ---------------------------------------------------------------- loop */

static void
on_key(struct watch *w)
{
	char buf[64];
	ssize_t n, i;

	n = read(w->keys_fd, buf, sizeof(buf));
	if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN)) {
		w->keys_fd = -1;	/* end of input: no more keys */
		return;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] == 'q' || buf[i] == 'Q')
			w->quit = 1;
		else if (buf[i] == '\f')	/* Ctrl-L: draw it all again */
			w->tty.repaint = 1;
	}
}

/*
 * Ctrl-Z: give the terminal back before stopping, as the shell expects,
 * and take it again when continued (SIGCONT, handled as a repaint).
 */
static void
suspend(struct watch *w)
{
	sigset_t set;

	watch_tty_leave(&w->tty);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	(void)signal(SIGTSTP, SIG_DFL);
	(void)raise(SIGTSTP);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	/* Stopped here until SIGCONT. */
	(void)sigprocmask(SIG_BLOCK, &set, NULL);
	(void)watch_tty_enter(&w->tty);
}

static void
on_signal(struct watch *w)
{
	struct signalfd_siginfo si;

	while (read(w->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGWINCH:
			if (w->screen)
				watch_tty_resize(&w->tty);
			break;
		case SIGTSTP:
			if (w->screen)
				suspend(w);
			else
				(void)raise(SIGSTOP);
			break;
		case SIGCONT:
			if (w->screen) {
				(void)watch_tty_enter(&w->tty);
				watch_tty_resize(&w->tty);
			}
			break;
		default:	/* SIGINT, SIGTERM, SIGHUP, SIGQUIT */
			w->quit = 1;
			w->exit_signal = (int)si.ssi_signo;
			break;
		}
	}
}

static int
setup(struct watch *w, sigset_t *set)
{
	struct itimerspec tick = { { 1, 0 }, { 1, 0 } };
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
		SIGWINCH, SIGTSTP, SIGCONT };
	size_t i;

	sigemptyset(set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, set, NULL) == -1 ||
	    (w->sfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    (w->tfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1 ||
	    timerfd_settime(w->tfd, 0, &tick, NULL) == -1 ||
	    (w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		ctl_warnx("watch: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
teardown(struct watch *w, const sigset_t *set)
{
	watch_tty_leave(&w->tty);
	watch_tty_free(&w->tty);
	close_pidfd(w);
	drop_map(w);
	ctl_cache_free(&w->rows);
	ctl_cache_free(&w->printed);
	if (w->ifd != -1)
		close(w->ifd);
	if (w->tfd != -1)
		close(w->tfd);
	if (w->sfd != -1)
		close(w->sfd);
	(void)sigprocmask(SIG_UNBLOCK, set, NULL);
}

/* Returns 0 when ended by q or a signal, -1 when poll failed. */
static int
run_loop(struct watch *w)
{
	struct pollfd pfd[PFD_N];
	uint64_t ticks;
	int r;

	while (!w->quit) {
		pfd[PFD_SIGNAL] = (struct pollfd){ w->sfd, POLLIN, 0 };
		pfd[PFD_TICK] = (struct pollfd){ w->tfd, POLLIN, 0 };
		pfd[PFD_INOTIFY] = (struct pollfd){ w->ifd, POLLIN, 0 };
		pfd[PFD_KEYS] = (struct pollfd){ w->screen ? w->keys_fd : -1,
		    POLLIN, 0 };
		pfd[PFD_DAEMON] = (struct pollfd){ w->pidfd, POLLIN, 0 };
		if ((r = poll(pfd, PFD_N, -1)) == -1 && errno != EINTR) {
			ctl_warnx("watch: poll: %s", strerror(errno));
			return -1;
		}
		if (r <= 0)
			continue;
		if (pfd[PFD_SIGNAL].revents & POLLIN)
			on_signal(w);
		if (w->quit)
			break;
		if (pfd[PFD_KEYS].revents & (POLLIN | POLLHUP | POLLERR))
			on_key(w);
		if (pfd[PFD_INOTIFY].revents & POLLIN)
			on_inotify(w);
		if (pfd[PFD_DAEMON].revents & (POLLIN | POLLHUP | POLLERR))
			on_daemon_exit(w);
		if ((pfd[PFD_TICK].revents & POLLIN) &&
		    read(w->tfd, &ticks, sizeof(ticks)) > 0)
			on_tick_waiting(w);
		if (!w->quit)
			show(w);
	}
	return 0;
}

int
cmd_watch(const struct ctl_args *a)
{
	struct watch w;
	sigset_t set;
	int r = CTL_EXIT_FAIL;

	memset(&w, 0, sizeof(w));
	w.dir = a->dir;
	w.json = a->json;
	w.screen = !a->json && isatty(STDOUT_FILENO);
	w.ifd = w.wd = w.sfd = w.tfd = w.pidfd = -1;
	w.tty.in_fd = isatty(STDIN_FILENO) ? STDIN_FILENO : -1;
	w.tty.out_fd = STDOUT_FILENO;
	w.keys_fd = w.tty.in_fd;
	w.map.fd = -1;
	if (setup(&w, &set) != 0)
		goto out;
	(void)watch_dir(&w);
	connect_daemon(&w, 1);
	if (w.screen && watch_tty_enter(&w.tty) != 0) {
		ctl_warnx("watch: terminal: %s", strerror(errno));
		goto out;
	}
	show(&w);
	if (run_loop(&w) != 0)
		goto out;
	r = CTL_EXIT_OK;
 out:
	teardown(&w, &set);
	/* Ended by a signal: end by it too, now that the terminal is
	 * back, so that the shell sees why (128 + its number).  SIGQUIT's
	 * default action dumps core; watch was asked to quit, not found
	 * broken, so no core: the limit goes to 0 first. */
	if (w.exit_signal != 0) {
		struct rlimit no_core = { 0, 0 };

		fflush(stdout);
		(void)setrlimit(RLIMIT_CORE, &no_core);
		(void)signal(w.exit_signal, SIG_DFL);
		(void)raise(w.exit_signal);
	}
	return r;
}
