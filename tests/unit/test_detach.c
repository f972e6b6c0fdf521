/*
 * test_detach.c - leaving the terminal (detach.h), which the daemon and
 * the monitor share: the working directory becomes "/", stdin, stdout
 * and stderr /dev/null.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "detach.h"
#include "log.h"
#include "testutil.h"

/* Is fd the same file as path? */
static int
same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

START_TEST(test_detach_terminal)
{
	char *dir = tu_tmpdir();
	char cwd[PATH_MAX], res[4] = "";
	int p[2], st;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		/* stdin, stdout and stderr something else than /dev/null */
		int fd = open(dir, O_RDONLY | O_DIRECTORY);

		close(p[0]);
		if (fd == -1 || chdir(dir) == -1 ||
		    dup2(p[1], STDOUT_FILENO) == -1 ||
		    dup2(fd, STDIN_FILENO) == -1 ||
		    dup2(p[1], STDERR_FILENO) == -1)
			_exit(2);
		log_init(1, LOG_LEVEL_INFO);
		res[0] = detach_terminal() == 0 ? 'y' : 'n';
		res[1] = getcwd(cwd, sizeof(cwd)) != NULL &&
		    strcmp(cwd, "/") == 0 ? 'y' : 'n';
		res[2] = same_file(STDIN_FILENO, "/dev/null") &&
		    same_file(STDOUT_FILENO, "/dev/null") &&
		    same_file(STDERR_FILENO, "/dev/null") ? 'y' : 'n';
		/* stdout is no longer the pipe: this goes nowhere */
		printf("not to the pipe\n");
		fflush(stdout);
		_exit(write(p[1], res, 3) == 3 ? 0 : 3);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], res, sizeof(res) - 1), 3);
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_msg(res[0] == 'y', "detach_terminal() failed");
	ck_assert_msg(res[1] == 'y', "working directory not /");
	ck_assert_msg(res[2] == 'y', "stdin, stdout or stderr not /dev/null");
	tu_rmtree(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("detach");
	TCase *tc = tcase_create("detach");

	tcase_add_test(tc, test_detach_terminal);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
