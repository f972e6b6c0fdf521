/*
 * test_log.c - the daemon's log.  With stderr the journal's stream
 * (JOURNAL_STREAM names its device and inode, as systemd sets it) and the
 * journal's socket there, each event is one native-protocol datagram with
 * its fields; without the socket (or when it refuses), each line goes to
 * stderr with its priority as sd-daemon(3)'s "<N>" and no program name;
 * otherwise lines start with "tokencached: ".  Every line names its
 * process.  Fatal configuration errors exit with TC_EXIT_CONFIG.  Built
 * with the test hooks: TOKENCACHE_TEST_JOURNAL_SOCKET stands for
 * /run/systemd/journal/socket, so that a host's own journal gets nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "log.h"
#include "url.h"
#include "testutil.h"

static char *dir;
static char path[512];
static char jpath[512];	/* the journal's socket for the child */

/* Run fn in a child whose stderr is a fresh file; JOURNAL_STREAM as
 * given (NULL: unset, "self": the file's own device and inode).  Returns
 * the child's wait status; the file's text in out. */
static int
capture(void (*fn)(void), const char *journal, char *out, size_t outlen)
{
	struct stat st;
	char env[64];
	size_t len;
	unsigned char *text;
	pid_t pid;
	int fd, status;

	snprintf(path, sizeof(path), "%s/stderr", dir);
	(void)unlink(path);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1 || dup2(fd, STDERR_FILENO) == -1 ||
		    fstat(STDERR_FILENO, &st) == -1)
			_exit(99);
		if (journal == NULL)
			unsetenv("JOURNAL_STREAM");
		else if (strcmp(journal, "self") == 0) {
			snprintf(env, sizeof(env), "%llu:%llu",
			    (unsigned long long)st.st_dev,
			    (unsigned long long)st.st_ino);
			setenv("JOURNAL_STREAM", env, 1);
		} else
			setenv("JOURNAL_STREAM", journal, 1);
		setenv("TOKENCACHE_TEST_JOURNAL_SOCKET", jpath, 1);
		log_init(1, LOG_LEVEL_DEBUG);
		fn();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	text = tu_slurp(path, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_lt(len, outlen);
	memcpy(out, text, len);
	out[len] = '\0';
	free(text);
	return status;
}

static void
every_level(void)
{
	log_errx("reload failed");
	errno = ENOENT;
	log_err("monitor");
	log_warnx("fetch failed");
	errno = EACCES;
	log_warn("accept");
	log_info("running");
	log_debug("detail");
}

static void
config_error(void)
{
	fatalx_config("%s:%d: unknown key", "tokencache.conf", 3);
}

static void
setup(void)
{
	dir = tu_tmpdir();
	/* No journal socket unless a test makes one. */
	snprintf(jpath, sizeof(jpath), "%s/journal", dir);
}

static void
teardown(void)
{
	tu_rmtree(dir);
	dir = NULL;
}

START_TEST(test_journal_priorities)
{
	char out[4096];

	ck_assert_int_eq(capture(every_level, "self", out, sizeof(out)), 0);
	ck_assert_str_eq(out,
	    "<3>monitor: reload failed\n"
	    "<3>monitor: monitor: No such file or directory\n"
	    "<4>monitor: fetch failed\n"
	    "<4>monitor: accept: Permission denied\n"
	    "<6>monitor: running\n"
	    "<7>monitor: debug: detail\n");
}
END_TEST

START_TEST(test_plain_stderr)
{
	char out[4096];

	ck_assert_int_eq(capture(every_level, NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out,
	    "tokencached: monitor: reload failed\n"
	    "tokencached: monitor: monitor: No such file or directory\n"
	    "tokencached: monitor: fetch failed\n"
	    "tokencached: monitor: accept: Permission denied\n"
	    "tokencached: monitor: running\n"
	    "tokencached: monitor: debug: detail\n");
}
END_TEST

/* A JOURNAL_STREAM inherited by a process whose stderr went elsewhere,
 * or that is malformed, is not believed. */
START_TEST(test_other_stream_is_not_journal)
{
	static const char *const bad[] = {
		"1:2", "", "12", "1:2:3", "x:y", "1:2x",
	};
	char out[4096];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(capture(every_level, bad[i], out,
		    sizeof(out)), 0);
		ck_assert_msg(strncmp(out, "tokencached: monitor: reload "
		    "failed\n", 36) == 0, "JOURNAL_STREAM=%s: %s", bad[i], out);
	}
}
END_TEST

START_TEST(test_config_error_exit_status)
{
	char out[4096];
	int st;

	st = capture(config_error, "self", out, sizeof(out));
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), TC_EXIT_CONFIG);
	ck_assert_int_eq(TC_EXIT_CONFIG, 78);
	ck_assert_str_eq(out,
	    "<2>monitor: fatal: tokencache.conf:3: unknown key\n");
}
END_TEST

/* A datagram socket at jpath, standing for journald's. */
static int
journal_listen(void)
{
	struct sockaddr_un sa;
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(jpath), sizeof(sa.sun_path));
	memcpy(sa.sun_path, jpath, strlen(jpath));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The next datagram on fd (none waiting: ""), NUL-terminated in out. */
static void
journal_next(int fd, char *out, size_t outlen)
{
	ssize_t n = recv(fd, out, outlen - 1, MSG_DONTWAIT);

	out[n > 0 ? n : 0] = '\0';
}

static void
worker_events(void)
{
	uid_t reader = 1234;

	log_set_process(LOG_PROCESS_WORKER);
	log_event(LOG_WARNING, &(struct log_fields){ .credential = "zeebe",
	    .endpoint = "https://id:pw@login.example/oauth/token?x=1",
	    .outcome = LOG_OUTCOME_RATE_LIMITED, .http_status = 429,
	    .retry_after = 30 }, "zeebe: fetch failed");
	log_event(LOG_INFO, &(struct log_fields){ .credential = "zeebe",
	    .outcome = LOG_OUTCOME_DENIED, .reader_uid = &reader },
	    "zeebe: denied token to uid %u", (unsigned)reader);
	log_info("plain");
	log_event(LOG_DEBUG, NULL, "detail");
}

START_TEST(test_native_journal)
{
	char out[4096], d[4096];
	int fd = journal_listen();

	ck_assert_int_eq(capture(worker_events, "self", out, sizeof(out)), 0);
	/* Nothing on stderr: every event went to the journal. */
	ck_assert_str_eq(out, "");
	journal_next(fd, d, sizeof(d));
	ck_assert_str_eq(d,
	    "MESSAGE=worker: zeebe: fetch failed\n"
	    "PRIORITY=4\n"
	    "SYSLOG_FACILITY=3\n"
	    "SYSLOG_IDENTIFIER=tokencached\n"
	    "TOKENCACHED_PROCESS=worker\n"
	    "CREDENTIAL=zeebe\n"
	    "TOKEN_ENDPOINT=https://login.example/oauth/token\n"
	    "OUTCOME=rate_limited\n"
	    "HTTP_STATUS=429\n"
	    "RETRY_AFTER=30\n");
	journal_next(fd, d, sizeof(d));
	ck_assert_str_eq(d,
	    "MESSAGE=worker: zeebe: denied token to uid 1234\n"
	    "PRIORITY=6\n"
	    "SYSLOG_FACILITY=3\n"
	    "SYSLOG_IDENTIFIER=tokencached\n"
	    "TOKENCACHED_PROCESS=worker\n"
	    "CREDENTIAL=zeebe\n"
	    "OUTCOME=denied\n"
	    "READER_UID=1234\n");
	journal_next(fd, d, sizeof(d));
	ck_assert_str_eq(d,
	    "MESSAGE=worker: plain\n"
	    "PRIORITY=6\n"
	    "SYSLOG_FACILITY=3\n"
	    "SYSLOG_IDENTIFIER=tokencached\n"
	    "TOKENCACHED_PROCESS=worker\n");
	journal_next(fd, d, sizeof(d));
	ck_assert_str_eq(d,
	    "MESSAGE=worker: debug: detail\n"
	    "PRIORITY=7\n"
	    "SYSLOG_FACILITY=3\n"
	    "SYSLOG_IDENTIFIER=tokencached\n"
	    "TOKENCACHED_PROCESS=worker\n");
	journal_next(fd, d, sizeof(d));
	ck_assert_str_eq(d, "");
	close(fd);
}
END_TEST

/* The journal's socket there but refusing (nobody reads it): the lines go
 * to the stream after all, with their priorities. */
START_TEST(test_native_refused_falls_back)
{
	char out[4096];

	close(journal_listen());
	ck_assert_int_eq(capture(worker_events, "self", out, sizeof(out)), 0);
	ck_assert_str_eq(out,
	    "<4>worker: zeebe: fetch failed\n"
	    "<6>worker: zeebe: denied token to uid 1234\n"
	    "<6>worker: plain\n"
	    "<7>worker: debug: detail\n");
}
END_TEST

/* A journal that is behind (its queue full) must not hold the daemon up:
 * its stream is the same journald, so the lines are dropped, counted, and
 * the count is the first entry once it takes entries again. */
static int flood_fd = -1;

static void
flood(void)
{
	char d[4096];
	int i;

	for (i = 0; i < 5000; i++)
		log_info("line %d", i);
	while (recv(flood_fd, d, sizeof(d), MSG_DONTWAIT) > 0)
		;
	log_info("after");
}

START_TEST(test_journal_behind_drops_and_counts)
{
	char out[4096], d[4096];
	unsigned long long n = 0;

	flood_fd = journal_listen();
	ck_assert_int_eq(capture(flood, "self", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	journal_next(flood_fd, d, sizeof(d));
	ck_assert_ptr_nonnull(strstr(d, "PRIORITY=4\n"));
	ck_assert_int_eq(sscanf(strstr(d, "MESSAGE=") + 8,
	    "monitor: %llu log lines dropped: the journal was behind", &n), 1);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, 5000);
	journal_next(flood_fd, d, sizeof(d));
	ck_assert_ptr_nonnull(strstr(d, "MESSAGE=monitor: after\n"));
	close(flood_fd);
}
END_TEST

/* stderr not the journal's stream: text, even with the socket there. */
START_TEST(test_not_journal_stream_keeps_stderr)
{
	char out[4096], d[4096];
	int fd = journal_listen();

	ck_assert_int_eq(capture(worker_events, NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out,
	    "tokencached: worker: zeebe: fetch failed\n"
	    "tokencached: worker: zeebe: denied token to uid 1234\n"
	    "tokencached: worker: plain\n"
	    "tokencached: worker: debug: detail\n");
	journal_next(fd, d, sizeof(d));
	ck_assert_str_eq(d, "");
	close(fd);
}
END_TEST

static void
detached_event(void)
{
	log_detach();
	log_info("after detach");
}

/* Detached, with the journal's socket present: to the journal. */
START_TEST(test_detached_to_journal)
{
	char out[4096], d[4096];
	int fd = journal_listen();

	ck_assert_int_eq(capture(detached_event, NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	journal_next(fd, d, sizeof(d));
	ck_assert_str_eq(d,
	    "MESSAGE=monitor: after detach\n"
	    "PRIORITY=6\n"
	    "SYSLOG_FACILITY=3\n"
	    "SYSLOG_IDENTIFIER=tokencached\n"
	    "TOKENCACHED_PROCESS=monitor\n");
	close(fd);
}
END_TEST

/* A fatal error, the process's last line: to the stream, whose unit
 * journald knows, not as a datagram it could not tell the unit of once
 * the sender is gone. */
START_TEST(test_fatal_to_stream)
{
	char out[4096], d[4096];
	int fd = journal_listen();

	ck_assert_int_eq(WEXITSTATUS(capture(config_error, "self", out,
	    sizeof(out))), TC_EXIT_CONFIG);
	ck_assert_str_eq(out,
	    "<2>monitor: fatal: tokencache.conf:3: unknown key\n");
	journal_next(fd, d, sizeof(d));
	ck_assert_str_eq(d, "");
	close(fd);
}
END_TEST

static void
control_bytes(void)
{
	log_info("a\nforged: line\x1b[2J\x7f end");
}

/* One line per event, whatever a message holds. */
START_TEST(test_control_bytes_masked)
{
	char out[4096], d[4096];
	int fd;

	ck_assert_int_eq(capture(control_bytes, NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out,
	    "tokencached: monitor: a?forged: line?[2J? end\n");
	fd = journal_listen();
	ck_assert_int_eq(capture(control_bytes, "self", out, sizeof(out)), 0);
	journal_next(fd, d, sizeof(d));
	ck_assert(strncmp(d, "MESSAGE=monitor: a?forged: line?[2J? end\n",
	    41) == 0);
	close(fd);
}
END_TEST

START_TEST(test_url_strip)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "https://login.example/oauth/token",
		  "https://login.example/oauth/token" },
		{ "https://user:secret@login.example:8443/t?client_secret=s#f",
		  "https://login.example:8443/t" },
		{ "http://a@b@127.0.0.1:9/token", "http://127.0.0.1:9/token" },
		{ "http://[::1]:8080/token?x", "http://[::1]:8080/token" },
		{ "https://host?q=1", "https://host" },
		{ "https://host#frag", "https://host" },
		{ "https://u:p@host", "https://host" },
		{ "coap+tcp://h/p", "coap+tcp://h/p" },
		{ "HTTPS://Host.Example/T", "HTTPS://Host.Example/T" },
	};
	static const char *const bad[] = {
		"exec:zeebe", "", "://host/x", "1http://host/", "ht tp://h/",
		"https:/host/x", "chain:acme", "a_b://h/",
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_int_eq(url_strip(ok[i].in, out, sizeof(out)), 0);
		ck_assert_str_eq(out, ok[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(url_strip(bad[i], out, sizeof(out)), -1);
	/* Exactly fits, one byte short. */
	ck_assert_int_eq(url_strip("http://h/xyz", out, 13), 0);
	ck_assert_str_eq(out, "http://h/xyz");
	ck_assert_int_eq(url_strip("http://h/xyz", out, 12), -1);
}
END_TEST

/* What no URL strip applies to is cut before any query; always ended. */
START_TEST(test_url_public)
{
	char out[32];

	url_public("https://u@h/t?secret=1", out, sizeof(out));
	ck_assert_str_eq(out, "https://h/t");
	url_public("exec:zeebe?x#y", out, sizeof(out));
	ck_assert_str_eq(out, "exec:zeebe");
	url_public("https://host.example/a-long-path/that/does/not/fit?q", out,
	    sizeof(out));
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	ck_assert_ptr_null(strchr(out, '?'));
}
END_TEST

START_TEST(test_journal_entry_fields)
{
	char buf[512];
	uid_t root = 0;
	size_t n;

	/* Empty strings and zeros are no fields; uid 0 is one; an endpoint
	 * key that is no URL is none; values are masked. */
	n = log_journal_entry(buf, sizeof(buf), LOG_ERR, LOG_PROCESS_MONITOR,
	    &(struct log_fields){ .credential = "", .endpoint = "exec:x",
	    .outcome = "fai\nled", .reader_uid = &root }, "m");
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_str_eq(buf,
	    "MESSAGE=monitor: m\n"
	    "PRIORITY=3\n"
	    "SYSLOG_FACILITY=3\n"
	    "SYSLOG_IDENTIFIER=tokencached\n"
	    "TOKENCACHED_PROCESS=monitor\n"
	    "OUTCOME=fai?led\n"
	    "READER_UID=0\n");
	/* What does not fit is not sent cut. */
	ck_assert_uint_eq(log_journal_entry(buf, 60, LOG_ERR,
	    LOG_PROCESS_MONITOR, NULL, "m"), 0);
	ck_assert_uint_eq(log_journal_entry(buf, 100, LOG_ERR,
	    LOG_PROCESS_MONITOR, &(struct log_fields){ .credential =
	    "a-name-long-enough-not-to-fit" }, "m"), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_journal_priorities);
	tcase_add_test(tc, test_plain_stderr);
	tcase_add_test(tc, test_other_stream_is_not_journal);
	tcase_add_test(tc, test_config_error_exit_status);
	tcase_add_test(tc, test_native_journal);
	tcase_add_test(tc, test_native_refused_falls_back);
	tcase_add_test(tc, test_not_journal_stream_keeps_stderr);
	tcase_add_test(tc, test_detached_to_journal);
	tcase_add_test(tc, test_fatal_to_stream);
	tcase_add_test(tc, test_control_bytes_masked);
	tcase_add_test(tc, test_journal_behind_drops_and_counts);
	tcase_add_test(tc, test_url_strip);
	tcase_add_test(tc, test_url_public);
	tcase_add_test(tc, test_journal_entry_fields);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
