/*
 * testutil.h - helpers shared by the unit tests.
 */
#ifndef TC_TESTUTIL_H
#define TC_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh private directory under $TMPDIR or /tmp; removed by rmtree. */
static inline char *
tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&p, "%s/tc-test.XXXXXX", base) < 0)
		abort();
	if (mkdtemp(p) == NULL)
		abort();
	return p;
}

static inline void
tu_rmtree(char *dir)
{
	char *cmd;

	if (dir == NULL)
		return;
	if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
	free(cmd);
	free(dir);
}

/* Read a whole file into a malloc'd buffer. */
static inline unsigned char *
tu_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static inline int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

/*
 * A scratch directory for each test, as a Check fixture
 * (tcase_add_checked_fixture(tc, tu_scratch_setup, tu_scratch_teardown)),
 * and files in it.
 */
static inline char *
tu_scratch(void)
{
	static char dir[64];

	return dir;
}

static inline void
tu_scratch_setup(void)
{
	snprintf(tu_scratch(), 64, "/tmp/tc-unit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tu_scratch()));
}

static inline int
tu_rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void
tu_scratch_teardown(void)
{
	nftw(tu_scratch(), tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The scratch directory's rel; four rotating buffers so that a call can
 * use several. */
static inline const char *
tu_path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tu_scratch(), rel);
	return buf[i];
}

/* A fresh file rel of mode holding data: the old one may be read-only or
 * owned by another. */
static inline void
tu_putn(const char *rel, mode_t mode, const void *data, size_t len)
{
	const char *p = tu_path(rel);
	int fd;

	ck_assert(unlink(p) == 0 || errno == ENOENT);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	ck_assert_msg(fd != -1, "%s: %s", p, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static inline void
tu_put(const char *rel, mode_t mode, const char *content)
{
	tu_putn(rel, mode, content, strlen(content));
}

#endif /* TC_TESTUTIL_H */
