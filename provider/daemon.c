/*
 * daemon.c - tokencached's event loop.
 *
 * One thread.  curl_multi_poll() waits on libcurl's sockets and, as extra
 * descriptors, on a signalfd, the control socket and its connections, with
 * a timeout that ends at the next scheduled fetch or waiter deadline.  All
 * times that decide anything are CLOCK_BOOTTIME nanoseconds, so wall-clock
 * jumps cause no refresh storm and suspend is honest; wall-clock time is
 * only written to the segment for people to read.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <linux/sockios.h>
#include <sodium.h>

#include "access.h"
#include "stats_doc.h"
#include "control.h"
#include "cred.h"
#include "daemon.h"
#include "daemon_int.h"
#include "endpoint.h"
#include "fetch.h"
#include "httpd.h"
#include "keys.h"
#include "reload.h"
#include "log.h"
#include "srcmod.h"
#include "privsep.h"
#include "scheduler.h"
#include "proto.h"
#include "seg_write.h"
#include "status.h"
#include "tokencache.h"
#include "wipe_regs.h"

static int
keep_configured(const char *name, void *arg)
{
	return conf_find(arg, name) != NULL;
}

/*
 * Descriptors sent to a client and not yet received count against our
 * RLIMIT_NOFILE soft limit (see conn_reply_segment), besides those we
 * hold: take all the hard limit allows.  Failing that, the soft limit
 * stays; nothing depends on more.
 */
static void
raise_nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("setrlimit RLIMIT_NOFILE");
	else
		log_debug("descriptor limit raised to %llu",
		    (unsigned long long)rl.rlim_cur);
}

struct daemon *
daemon_new(struct daemon_conf *conf, char *err, size_t errlen)
{
	struct daemon *d;
	sigset_t mask;
	size_t i;
	int64_t now = now_ns();

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "out of memory");
		srcmod_conf_free(conf);
		return NULL;
	}
	d->conf = conf;
	d->sfd = d->lfd = -1;
	d->started_at = (int64_t)time(NULL);
	raise_nofile_limit();
	d->parked_cap = parked_cap_for_limit();
	d->parked_size = 2 * d->parked_cap;
	d->seg.fd = d->seg.lock_fd = -1;
	if ((d->parked = calloc((size_t)d->parked_size,
	    sizeof(*d->parked))) == NULL ||
	    (d->tokbuf = sodium_malloc((size_t)conf->max_token_size + 1)) ==
	    NULL || (d->multi = curl_multi_init()) == NULL ||
	    (d->creds = calloc(conf->ncreds + 1, sizeof(*d->creds))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (segw_open(&d->seg, conf->runtime_dir, conf->max_credentials * 2,
	    conf->max_token_size, err, errlen) != 0)
		goto fail;
	segw_release_unless(&d->seg, keep_configured, conf);
	for (i = 0; i < conf->ncreds; i++) {
		if ((d->creds[i] = cred_new(d, &conf->creds[i], now)) == NULL) {
			snprintf(err, errlen, "%s: cannot set up the credential",
			    conf->creds[i].path);
			goto fail;
		}
		d->ncreds++;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if ((d->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		goto fail;
	}
	if (listen_socket(d, err, errlen) != 0 ||
	    httpd_open(d, err, errlen) != 0)
		goto fail;
	endpoint_judge_all(d);
	resolve_admin_group(d);
	d->next_rotation_ns = conf->key_rotation_interval > 0 ?
	    now + conf->key_rotation_interval * NS_PER_S : INT64_MAX;
	log_info("tokencached %s: %zu credential(s), runtime directory %s%s",
	    TC_VERSION_STRING, d->ncreds, conf->runtime_dir,
	    d->seg.adopted ? " (adopted the existing cache)" : "");
	status_start(d, now);
	return d;
 fail:
	daemon_free(d);
	return NULL;
}

void
daemon_free(struct daemon *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->ncreds; i++) {
		cred_abort_fetch(d, d->creds[i]);
		cred_free(d->creds[i]);
	}
	free(d->creds);
	for (i = 0; i < d->neps; i++) {
		free(d->eps[i]->url);
		free(d->eps[i]);
	}
	free(d->eps);
	httpd_close(d);
	for (i = 0; i < (size_t)d->nconns; i++)
		conn_close(d, (int)i);
	while (d->nparked > 0)
		park_drop(d, d->nparked - 1);
	free(d->parked);
	free(d->pfds);
	free(d->pfd_creds);
	status_free(d);
	deny_log_flush(d, now_ns(), 1);
	if (d->lfd != -1) {
		close(d->lfd);
		(void)unlink(d->sock_path);
	}
	if (d->sfd != -1)
		close(d->sfd);
	if (d->multi != NULL)
		curl_multi_cleanup(d->multi);
	if (d->seg.base != NULL || d->seg.lock_fd != -1)
		segw_close(&d->seg, 0);
	sodium_free(d->tokbuf);
	srcmod_conf_free(d->conf);
	free(d);
}

static void
handle_signal(struct daemon *d, uint32_t signo)
{
	char msg[SEG_ERROR_FIELD];

	switch (signo) {
	case SIGHUP:
		log_info("SIGHUP: reloading %s", d->conf->path);
		(void)reload(d, msg, sizeof(msg));
		break;
	case SIGTERM:
	case SIGINT:
		log_info("signal %u: exiting", signo);
		d->stop = 1;
		break;
	}
}

/* Signals sent to us, and those the monitor passes on (it may lack the
 * right to signal us: see privsep.c). */
static void
read_signals(struct daemon *d)
{
	struct signalfd_siginfo si;
	int signo;

	while (read(d->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		handle_signal(d, si.ssi_signo);
	while ((signo = privsep_signal_read()) != 0)
		handle_signal(d, (uint32_t)signo);
}

/* Start due fetches, mark expired tokens, time out waiters; return the
 * time until the next thing to do, in ms. */
static int
run_timers(struct daemon *d, int64_t now)
{
	int64_t next = now + 60 * NS_PER_S;
	size_t i;
	int j;

	for (i = 0; i < d->ncreds; i++) {
		struct cred *c = d->creds[i];

		if (c->expires_ns != 0 && c->expires_ns <= now) {
			c->expires_ns = 0;
			segw_set_state(&d->seg, c->slot, TS_EXPIRED);
			log_warnx("%s: token expired without a replacement",
			    c->name);
		}
	}
	for (i = 0; i < d->ncreds; i++)
		fetch_check_deadline(d, d->creds[i], now);
	/* Before start_due: a request whose wait ends now may move a
	 * fetch, never the other way round. */
	httpd_timers(d, now, &next);
	start_due(d, now, &next);
	for (i = 0; i < d->ncreds; i++) {
		struct cred *c = d->creds[i];

		if (c->in_flight && c->req_deadline_ns < next)
			next = c->req_deadline_ns;
		if (!c->in_flight && c->due_ns > now && c->due_ns < next)
			next = c->due_ns;
		if (c->expires_ns != 0 && c->expires_ns < next)
			next = c->expires_ns;
	}
	if (d->next_rotation_ns <= now)
		rotate_keys(d, "key_rotation_interval");
	if (d->next_rotation_ns < next)
		next = d->next_rotation_ns;
	/* Someone may have truncated, replaced or deleted the persistent
	 * copy: cheap to look, and no reader depends on it meanwhile.  This
	 * also bounds the poll below to a second, which matters after a
	 * suspend: poll's timeout runs on CLOCK_MONOTONIC, which stops while
	 * asleep, and every deadline here is on CLOCK_BOOTTIME, which does
	 * not; a refresh that fell due while asleep starts within a second
	 * of the resume. */
	if (d->next_file_check_ns <= now) {
		(void)segw_check_file(&d->seg);
		d->next_file_check_ns = now + FILE_CHECK_NS;
	}
	if (d->next_file_check_ns < next)
		next = d->next_file_check_ns;
	if (d->conf->metrics_textfile != NULL) {
		if (d->next_metrics_ns <= now) {
			stats_textfile(d, now);
			d->next_metrics_ns = now +
			    d->conf->metrics_interval * NS_PER_S;
		}
		if (d->next_metrics_ns < next)
			next = d->next_metrics_ns;
	}
	if (d->next_park_check_ns <= now) {
		park_sweep(d);
		d->next_park_check_ns = now + PARK_CHECK_NS;
	}
	if (d->nparked > 0 && d->next_park_check_ns < next)
		next = d->next_park_check_ns;
	/* After start_due and the deadlines: a fetch that ended or failed
	 * in the last turn counts now. */
	status_tick(d, now, &next);
	if (d->accept_paused_until_ns != 0) {
		if (d->accept_paused_until_ns <= now)
			d->accept_paused_until_ns = 0;
		else if (d->accept_paused_until_ns < next)
			next = d->accept_paused_until_ns;
	}
	for (j = d->nconns - 1; j >= 0; j--) {
		struct conn *k = &d->conns[j];

		if (k->fd == -1)
			continue;
		if (k->deadline_ns <= now) {
			if (k->waiting && conn_reply_status(k, TC_ETIMEDOUT,
			    "timed out", 0) == 0)
				continue;	/* deadline reset by reply */
			conn_close(d, j);
			continue;
		}
		if (k->deadline_ns < next)
			next = k->deadline_ns;
		/* With the table full, the moment a silent one becomes
		 * evictable is the moment there is room again (conn_pick);
		 * once it is, the listening socket is polled, and waking
		 * for it again would spin. */
		if (d->nconns == MAX_CONNS && !k->waiting && !k->answered &&
		    k->accepted_ns + CONN_QUIET_NS >= now &&
		    k->accepted_ns + CONN_QUIET_NS < next)
			next = k->accepted_ns + CONN_QUIET_NS + 1;
	}
	next -= now;
	return next <= 0 ? 0 : (int)((next + NS_PER_MS - 1) / NS_PER_MS);
}

/* Room in d->pfds for the loop's descriptors, connections and every
 * credential's; 0 or -1 (out of memory: the descriptors of modules wait). */
static int
pfds_room(struct daemon *d)
{
	size_t want = 3 + MAX_CONNS + HTTPD_FDS_MAX + d->ncreds;
	struct curl_waitfd *p;
	struct cred **c;

	if (want <= d->pfds_cap)
		return 0;
	if ((p = reallocarray(d->pfds, want, sizeof(*p))) != NULL)
		d->pfds = p;
	if ((c = reallocarray(d->pfd_creds, want, sizeof(*c))) != NULL)
		d->pfd_creds = c;
	if (p == NULL || c == NULL)
		return -1;
	d->pfds_cap = want;
	return 0;
}

/*
 * The loop's poll set into d->pfds: the signalfd, the listening socket,
 * the monitor's signal pipe, then each connection (d->conns[i] at 3 + i),
 * the local endpoint's (*nhttp of them) and last each module's descriptor
 * (whose credentials go in d->pfd_creds, *nmods of them).  *listening:
 * whether the listening socket is polled for input.  Returns the number
 * of descriptors.
 */
static int
poll_set(struct daemon *d, int *listening, int *nhttp, int *nmods)
{
	struct curl_waitfd *fds = d->pfds;
	int nfds = 0, i;
	size_t j;

	fds[nfds].fd = d->sfd;
	fds[nfds].events = CURL_WAIT_POLLIN;
	fds[nfds++].revents = 0;
	/*
	 * Not polled for input while out of descriptors, or while every
	 * connection waits for a fetch (see conn_slot); still in the set,
	 * so that the indexes below stay put.
	 */
	*listening = d->accept_paused_until_ns == 0 && conn_room(d);
	fds[nfds].fd = d->lfd;
	fds[nfds].events = *listening ? CURL_WAIT_POLLIN : 0;
	fds[nfds++].revents = 0;
	fds[nfds].fd = privsep_signal_fd();
	fds[nfds].events = CURL_WAIT_POLLIN;
	fds[nfds++].revents = 0;
	for (i = 0; i < d->nconns; i++) {
		fds[nfds].fd = d->conns[i].fd;
		fds[nfds].events = CURL_WAIT_POLLIN;
		fds[nfds++].revents = 0;
	}
	*nhttp = httpd_poll_set(d, fds + nfds);
	nfds += *nhttp;
	/* Modules' descriptors (a pipe from a child ...). */
	*nmods = 0;
	for (j = 0; j < d->ncreds && (size_t)nfds < d->pfds_cap; j++) {
		if (!d->creds[j]->in_flight || d->creds[j]->req.fd == -1)
			continue;
		d->pfd_creds[(*nmods)++] = d->creds[j];
		fds[nfds].fd = d->creds[j]->req.fd;
		fds[nfds].events = CURL_WAIT_POLLIN;
		fds[nfds++].revents = 0;
	}
	return nfds;
}

int
daemon_run(struct daemon *d)
{
	struct curl_waitfd *fds;
	struct CURLMsg *msg;
	int timeout, nfds, first, http_at, nhttp, nmods, running, left;
	int listening, i;

	/* After daemon(3), we are a new process. */
	segw_set_pid(&d->seg);
	while (!d->stop) {
		conn_reap(d);
		deny_log_flush(d, now_ns(), 0);
		timeout = run_timers(d, now_ns());
		if (pfds_room(d) != 0 &&
		    d->pfds_cap < 3 + MAX_CONNS + HTTPD_FDS_MAX) {
			log_warnx("out of memory");
			sleep(1);
			continue;
		}
		fds = d->pfds;
		nfds = poll_set(d, &listening, &nhttp, &nmods);
		http_at = 3 + d->nconns;
		if (curl_multi_poll(d->multi, fds, (unsigned)nfds, timeout,
		    NULL) != CURLM_OK) {
			log_warnx("curl_multi_poll failed");
			sleep(1);
			continue;
		}
		/* Before anything that may reload and free credentials. */
		first = nfds - nmods;
		for (i = 0; i < nmods; i++)
			if (fds[first + i].revents)
				fetch_fd_ready(d, d->pfd_creds[i]);
		if (fds[0].revents || fds[2].revents)
			read_signals(d);
		/* fds[3 + i] is d->conns[i]: closing only marks. */
		first = 3;
		for (i = 0; i < d->nconns; i++)
			if (fds[first + i].revents && d->conns[i].fd != -1)
				read_conn(d, i);
		/* A burst of clients is taken in one turn, as far as there
		 * is room, rather than one a turn. */
		if (listening && fds[1].revents)
			for (i = 0; i < ACCEPT_BURST && conn_room(d) &&
			    d->accept_paused_until_ns == 0; i++)
				if (!accept_conn(d))
					break;
		httpd_ready(d, fds + http_at, nhttp);
		curl_multi_perform(d->multi, &running);
		while ((msg = curl_multi_info_read(d->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				fetch_done(d, msg->easy_handle,
				    msg->data.result);
		/* Requests carry secrets and replies tokens, through libc's
		 * vector copies: sleep with none of them in a register. */
		wipe_vector_registers();
	}
	status_stopping();
	return 0;
}
