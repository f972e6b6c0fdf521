/*
 * test_log.c - the daemon's log on stderr: with stderr the journal's
 * stream (JOURNAL_STREAM names its device and inode, as systemd sets it),
 * each line carries its priority as sd-daemon(3)'s "<N>" and no program
 * name; otherwise lines start with "tokencached: ".  Fatal configuration
 * errors exit with TC_EXIT_CONFIG.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "log.h"
#include "testutil.h"

static char *dir;
static char path[512];

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
	    "<3>reload failed\n"
	    "<3>monitor: No such file or directory\n"
	    "<4>fetch failed\n"
	    "<4>accept: Permission denied\n"
	    "<6>running\n"
	    "<7>debug: detail\n");
}
END_TEST

START_TEST(test_plain_stderr)
{
	char out[4096];

	ck_assert_int_eq(capture(every_level, NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out,
	    "tokencached: reload failed\n"
	    "tokencached: monitor: No such file or directory\n"
	    "tokencached: fetch failed\n"
	    "tokencached: accept: Permission denied\n"
	    "tokencached: running\n"
	    "tokencached: debug: detail\n");
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
		ck_assert_msg(strncmp(out, "tokencached: reload failed\n",
		    27) == 0, "JOURNAL_STREAM=%s: %s", bad[i], out);
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
	ck_assert_str_eq(out, "<2>fatal: tokencache.conf:3: unknown key\n");
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
	suite_add_tcase(s, tc);
	return tu_run(s);
}
