/*
 * test_runtime_dir.c - the runtime directory is prepared by one function
 * for both its callers: the monitor handing it to the worker's user and
 * the segment writer (segw_open) taking it, whoever runs them.
 *
 * Most of it needs root (to own files as another user); without root
 * those tests return at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <sodium.h>

#include "privsep.h"
#include "runtime_dir.h"
#include "seg.h"
#include "seg_write.h"
#include "testutil.h"

#define NOBODY 65534

static char *dir;

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	dir = tu_tmpdir();
}

static void
teardown(void)
{
	tu_rmtree(dir);
	dir = NULL;
}

/* buf = dir/name */
static const char *
at(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

static int
prepare(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int config = -1;

	return runtime_dir_prepare(path, uid, gid, &config, err, errlen);
}

/* The monitor's case: root prepares it for another user. */
START_TEST(test_handed_over)
{
	char rt[512], f[600], err[512];
	struct stat st;
	int fd;

	if (geteuid() != 0)
		return;
	umask(077);
	at(rt, sizeof(rt), "rt");
	/* A previous daemon's lock, left as root (systemd's preserved
	 * RuntimeDirectory=). */
	ck_assert_int_eq(mkdir(rt, 0700), 0);
	snprintf(f, sizeof(f), "%s/%s", rt, SEG_LOCK_NAME);
	ck_assert_int_ne(fd = open(f, O_RDWR | O_CREAT, 0600), -1);
	close(fd);
	ck_assert_msg(prepare(rt, NOBODY, NOBODY, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(stat(rt, &st), 0);
	ck_assert_int_eq(st.st_uid, NOBODY);
	ck_assert_int_eq(st.st_gid, NOBODY);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(stat(f, &st), 0);
	ck_assert_int_eq(st.st_uid, NOBODY);
	umask(022);
}
END_TEST

/* Not while a running daemon holds the lock: its files stay as they are. */
START_TEST(test_busy)
{
	char rt[512], f[600], err[512];
	struct stat st;
	int fd;

	if (geteuid() != 0)
		return;
	at(rt, sizeof(rt), "rt");
	ck_assert_int_eq(mkdir(rt, 0755), 0);
	snprintf(f, sizeof(f), "%s/%s", rt, SEG_LOCK_NAME);
	ck_assert_int_ne(fd = open(f, O_RDWR | O_CREAT, 0600), -1);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(prepare(rt, NOBODY, NOBODY, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "another tokencached is running") != NULL,
	    "%s", err);
	ck_assert_int_eq(stat(f, &st), 0);
	ck_assert_int_eq(st.st_uid, 0);
	close(fd);
}
END_TEST

/*
 * The writer's case as root (a daemon whose user is root, hence without
 * a monitor): the same walk as the monitor's, so a path another user
 * could change is refused here too.  Before the two were one function,
 * segw_open() created the directory through any symbolic link and under
 * any parent.
 */
START_TEST(test_root_writer_walks_the_path)
{
	char p[512], link[512], rt[600], err[512];
	struct segw w;

	if (geteuid() != 0)
		return;
	/* A parent that another user owns. */
	at(p, sizeof(p), "other");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(chown(p, NOBODY, NOBODY), 0);
	snprintf(rt, sizeof(rt), "%s/rt", p);
	ck_assert_int_eq(segw_open(&w, rt, 16, 4096, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "only root may own") != NULL, "%s", err);
	ck_assert_int_eq(access(rt, F_OK), -1);
	/* A symbolic link on the way. */
	at(p, sizeof(p), "real");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	at(link, sizeof(link), "link");
	ck_assert_int_eq(symlink(p, link), 0);
	snprintf(rt, sizeof(rt), "%s/rt", link);
	ck_assert_int_eq(segw_open(&w, rt, 16, 4096, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
	snprintf(rt, sizeof(rt), "%s/real/rt", dir);
	ck_assert_int_eq(access(rt, F_OK), -1);
	/* And a sound path is taken. */
	ck_assert_msg(segw_open(&w, rt, 16, 4096, err, sizeof(err)) == 0,
	    "%s", err);
	segw_close(&w, 1);
}
END_TEST

/* Its own directory must be its own and writable by nobody else. */
START_TEST(test_own_directory_judged)
{
	char rt[512], err[512];
	struct stat st;

	at(rt, sizeof(rt), "rt");
	ck_assert_int_eq(mkdir(rt, 0755), 0);
	ck_assert_int_eq(chmod(rt, 0775), 0);
	ck_assert_int_eq(prepare(rt, geteuid(), getegid(), err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "writable by nobody else") != NULL, "%s",
	    err);
	ck_assert_int_eq(chmod(rt, 0711), 0);
	ck_assert_msg(prepare(rt, geteuid(), getegid(), err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(stat(rt, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	/* A file where the directory should be. */
	at(rt, sizeof(rt), "file");
	ck_assert_int_ne(creat(rt, 0600), -1);
	ck_assert_int_eq(prepare(rt, geteuid(), getegid(), err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, rt) != NULL, "%s", err);
}
END_TEST

/*
 * Run as another user, the daemon judges only its own directory, not the
 * path above it (root's rules would refuse a parent this user owns, as a
 * home directory is): such a daemon keeps working as before.
 */
START_TEST(test_unprivileged_in_its_own_tree)
{
	char p[512], rt[600], err[512];
	pid_t pid;
	int st;

	if (geteuid() != 0)
		return;
	ck_assert_int_eq(chmod(dir, 0755), 0);
	at(p, sizeof(p), "home");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(chown(p, NOBODY, NOBODY), 0);
	snprintf(rt, sizeof(rt), "%s/rt", p);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		struct stat s;

		if (privsep_drop(NOBODY, NOBODY, err, sizeof(err)) != 0 ||
		    prepare(rt, NOBODY, NOBODY, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			_exit(1);
		}
		_exit(stat(rt, &s) == 0 && s.st_uid == NOBODY &&
		    (s.st_mode & 07777) == 0755 ? 0 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("runtime_dir");
	TCase *tc = tcase_create("prepare");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_handed_over);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_root_writer_walks_the_path);
	tcase_add_test(tc, test_own_directory_judged);
	tcase_add_test(tc, test_unprivileged_in_its_own_tree);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
