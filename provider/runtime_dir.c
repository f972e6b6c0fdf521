/*
 * runtime_dir.c - the runtime directory, prepared in one place for both of
 * its callers: the monitor (root) before it hands the directory to the
 * worker's user, and the segment writer (seg_file.c) that keeps its
 * files there, whoever runs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "runtime_dir.h"
#include "seg.h"

/*
 * Files of a daemon before us that root owns: systemd gives everything in
 * a preserved RuntimeDirectory= to the unit's user (root) at each start,
 * and the worker can neither read nor keep a root-owned master.key.  Give
 * them back to the daemon's user, acting on the very inode we checked (an
 * O_PATH descriptor): a regular file with one link, so that no other file
 * (a hard link to one elsewhere) can change owner.  Files of any other
 * user are left for the worker, which replaces them.
 */
static void
own_runtime_files(int dfd, uid_t uid, gid_t gid)
{
	static const char *const names[] = {
		SEG_KEY_NAME, SEG_FILE_NAME, SEG_LOCK_NAME,
	};
	struct stat st;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		fd = openat(dfd, names[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1) {
			if (errno != ENOENT)
				log_warn("runtime directory: %s: open",
				    names[i]);
			continue;
		}
		if (fstat(fd, &st) == -1)
			log_warn("runtime directory: %s: fstat", names[i]);
		else if (S_ISREG(st.st_mode) && st.st_uid == 0 &&
		    st.st_nlink == 1 &&
		    fchownat(fd, "", uid, gid, AT_EMPTY_PATH) == -1)
			log_warn("runtime directory: %s: chown", names[i]);
		close(fd);
	}
}

/*
 * Under the unit's ProtectSystem=strict only /run/tokencache is writable:
 * a runtime_dir elsewhere fails with EROFS.
 */
#define RO_HINT " (under systemd's ProtectSystem=strict, add it to the " \
	"unit's ReadWritePaths=)"

static void
writable_err(char *err, size_t errlen, const char *dir, const char *sofar,
    int plen, mode_t mode)
{
	snprintf(err, errlen, "runtime_dir %s: %.*s is writable by others "
	    "(mode %04o), who could replace %s", dir, plen ? plen : 1,
	    plen ? sofar : "/", (unsigned)(mode & 07777), sofar);
}

/*
 * Judge the parent (pst; its path is the first plen bytes of sofar)
 * before anything is made in it: root's, and writable by nobody else
 * unless sticky.
 */
static int
parent_safe(const char *dir, const char *sofar, int plen,
    const struct stat *pst, char *err, size_t errlen)
{
	if (pst->st_uid != 0) {
		snprintf(err, errlen, "runtime_dir %s: %.*s belongs to "
		    "uid %u; only root may own the directories above "
		    "the runtime directory", dir, plen ? plen : 1,
		    plen ? sofar : "/", (unsigned)pst->st_uid);
		return -1;
	}
	if ((pst->st_mode & 022) != 0 && (pst->st_mode & S_ISVTX) == 0) {
		writable_err(err, errlen, dir, sofar, plen, pst->st_mode);
		return -1;
	}
	return 0;
}

/*
 * Open comp in the directory pfd without following a link, creating it
 * first if it is the last component; its stat goes to cst.  Returns the
 * descriptor (O_PATH but for the last), or -1 with a message in err and
 * *config set as open_runtime_dir() says (left alone for a link).
 */
static int
open_component(int pfd, const char *comp, int last, const char *dir,
    const char *sofar, struct stat *cst, int *config, char *err,
    size_t errlen)
{
	int cfd, e;

	if (last && mkdirat(pfd, comp, 0755) == -1 && errno != EEXIST) {
		e = errno;
		*config = e == ENOENT || e == ENOTDIR || e == EROFS;
		snprintf(err, errlen, "cannot create runtime directory "
		    "%s: %s%s", dir, strerror(e),
		    e == EROFS ? RO_HINT : "");
		return -1;
	}
	cfd = openat(pfd, comp, (last ? O_RDONLY : O_PATH) |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd == -1 || fstat(cfd, cst) == -1) {
		e = errno;
		if (e == ELOOP || (e == ENOTDIR &&
		    fstatat(pfd, comp, cst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(cst->st_mode)))
			snprintf(err, errlen, "runtime_dir %s: %s is a "
			    "symbolic link; give the path it points to",
			    dir, sofar);
		else {
			*config = e == ENOENT || e == ENOTDIR;
			snprintf(err, errlen, "runtime_dir %s: %s: %s",
			    dir, sofar, strerror(e));
		}
		if (cfd != -1)
			close(cfd);
		return -1;
	}
	return cfd;
}

/*
 * Open runtime_dir as root without following a symbolic link anywhere in
 * its path, refusing a path another user could change.  Every directory
 * above it must belong to root and be writable by nobody else; a
 * root-owned sticky directory (/tmp) is fine when what follows it belongs
 * to root, or is runtime_dir itself and belongs to the daemon's user:
 * nobody else can then rename or remove it (systemd's rule for unsafe
 * path transitions).  Creates the last component if need be.  Returns a
 * read-only descriptor of the directory, or -1 with a message in err;
 * *config is set when the configuration is at fault.
 */
static int
open_runtime_dir(const char *dir, uid_t uid, int *config, char *err,
    size_t errlen)
{
	char buf[PATH_MAX], sofar[PATH_MAX] = "";
	char *comp, *next;
	struct stat pst, cst;
	int pfd, cfd = -1, last, plen = 0, ret = -1;

	*config = 1;
	if (dir[0] != '/' || strlen(dir) >= sizeof(buf)) {
		snprintf(err, errlen, "runtime_dir %s: not an absolute path "
		    "shorter than %d bytes", dir, PATH_MAX);
		return -1;
	}
	memcpy(buf, dir, strlen(dir) + 1);
	if ((pfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(pfd, &pst) == -1) {
		*config = 0;
		snprintf(err, errlen, "/: %s", strerror(errno));
		goto out;
	}
	for (comp = buf;;) {
		while (*comp == '/')
			comp++;
		if (*comp == '\0') {
			snprintf(err, errlen, "runtime_dir %s: not a directory "
			    "below /", dir);
			goto out;
		}
		if ((next = strchr(comp, '/')) != NULL)
			*next++ = '\0';
		while (next != NULL && *next == '/')
			next++;
		last = next == NULL || *next == '\0';
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			snprintf(err, errlen, "runtime_dir %s: '.' and '..' "
			    "are not allowed", dir);
			goto out;
		}
		/* sofar: the path so far, for messages (fits: dir does) */
		snprintf(sofar + strlen(sofar), sizeof(sofar) - strlen(sofar),
		    "/%s", comp);
		/* The parent's path: sofar without comp. */
		plen = (int)(strrchr(sofar, '/') - sofar);
		if (parent_safe(dir, sofar, plen, &pst, err, errlen) != 0)
			goto out;
		if ((cfd = open_component(pfd, comp, last, dir, sofar, &cst,
		    config, err, errlen)) == -1)
			goto out;
		/* A sticky parent: others may not rename or remove what
		 * root, or the daemon's user, owns in it. */
		if ((pst.st_mode & 022) != 0 &&
		    cst.st_uid != 0 && !(last && cst.st_uid == uid)) {
			writable_err(err, errlen, dir, sofar, plen, pst.st_mode);
			goto out;
		}
		close(pfd);
		pfd = cfd;
		cfd = -1;
		pst = cst;
		if (last)
			break;
		comp = next;
	}
	if (pst.st_uid != 0 && pst.st_uid != uid) {
		snprintf(err, errlen, "runtime directory %s belongs to uid %u, "
		    "neither root nor the daemon's user", dir,
		    (unsigned)pst.st_uid);
		goto out;
	}
	/* success */
	*config = 0;
	ret = pfd;
	pfd = -1;
 out:
	if (cfd != -1)
		close(cfd);
	if (pfd != -1)
		close(pfd);
	return ret;
}

/*
 * Another user than root opens its own runtime directory; it cannot
 * judge the path above it by root's rules (a daemon run by hand may keep
 * it in its home), so only the directory itself is judged, by the caller.
 */
static int
open_own_runtime_dir(const char *dir, int *config, char *err,
    size_t errlen)
{
	int dfd, e;

	*config = 0;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create runtime directory %s: %s",
		    dir, strerror(errno));
		return -1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		e = errno;
		if (e == ENOTDIR || e == ELOOP)
			snprintf(err, errlen, "runtime directory %s is not a "
			    "directory", dir);
		else
			snprintf(err, errlen, "runtime directory %s: %s", dir,
			    strerror(e));
	}
	return dfd;
}

/* Is the lock of a daemon that runs on dfd held? */
static int
runtime_dir_busy(int dfd)
{
	int fd, busy;

	fd = openat(dfd, SEG_LOCK_NAME, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return 0;
	busy = flock(fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

int
runtime_dir_prepare(const char *dir, uid_t uid, gid_t gid, int *config,
    char *err, size_t errlen)
{
	struct stat st;
	int dfd, e, ret = -1;

	if (geteuid() == 0)
		dfd = open_runtime_dir(dir, uid, config, err, errlen);
	else
		dfd = open_own_runtime_dir(dir, config, err, errlen);
	if (dfd == -1)
		return -1;
	*config = 0;
	if (uid != geteuid()) {
		/* Root hands it over, and must not touch a running
		 * daemon's files. */
		if (runtime_dir_busy(dfd)) {
			snprintf(err, errlen, "another tokencached is running "
			    "on %s", dir);
			goto out;
		}
		own_runtime_files(dfd, uid, gid);
		if (fchown(dfd, uid, gid) == -1)
			goto sys;
	}
	if (fstat(dfd, &st) == -1)
		goto sys;
	if (st.st_uid != uid || (uid == geteuid() && (st.st_mode & 022))) {
		snprintf(err, errlen, "runtime directory %s must be owned by "
		    "uid %u and writable by nobody else", dir, (unsigned)uid);
		goto out;
	}
	/* Whatever the umask, readers need to search it. */
	if ((st.st_mode & 07777) != 0755 && fchmod(dfd, 0755) == -1)
		goto sys;
	ret = 0;
	goto out;
 sys:
	e = errno;
	*config = e == EROFS;
	snprintf(err, errlen, "runtime directory %s: %s%s", dir, strerror(e),
	    e == EROFS ? RO_HINT : "");
 out:
	close(dfd);
	return ret;
}

void
runtime_dir_reown(const char *dir, uid_t uid, gid_t gid)
{
	char err[256];
	struct stat st;
	int dfd, config;

	if ((dfd = open_runtime_dir(dir, uid, &config, err,
	    sizeof(err))) == -1) {
		log_warnx("%s", err);
		return;
	}
	if (fstat(dfd, &st) == 0 && st.st_uid == 0) {
		own_runtime_files(dfd, uid, gid);
		if (fchown(dfd, uid, gid) == -1)
			log_warn("runtime directory %s: chown", dir);
		else
			log_info("runtime directory %s given back to uid %u "
			    "(something made it root's: systemd does, for "
			    "the unit's RuntimeDirectory=, when it runs "
			    "ExecReload=)", dir, (unsigned)uid);
	}
	close(dfd);
}
