/*
 * verify: a read-only consistency check of the daemon's persistent copy
 * (runtime_dir/cache) and of its live segment, as a reader gets it
 * (PROTO_OP_SEGMENT).  The checks themselves are ctl_verify_seg.c's; this
 * file reads the two images, compares them and prints the findings.
 *
 * The copy is read with pread into private memory, never mapped and
 * never opened for writing.  It is written slot by slot after the memfd
 * (seg_store.c), so while the daemon runs it may show one slot mid-write
 * (odd sequence) or a name the memfd already has or has already dropped;
 * a copy whose write failed is rewritten on the daemon's next tick
 * (segw_check_file).  Such differences are read again a few times before
 * they are reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "ctl_verify.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

#define VERIFY_DAEMON_MS  3000
#define VERIFY_REREADS    5        /* of the copy, while the daemon runs */
#define VERIFY_PAUSE_NS   100000000L
/* A bigger file is no copy this tool will read into memory. */
#define VERIFY_FILE_MAX   ((size_t)1 << 30)

/* This boot's id, as seg_file.c reads it; 0 if known. */
static int
read_boot_id(uint8_t id[16])
{
	char buf[64];
	ssize_t n;
	int fd, k = 0, hi = -1;
	size_t i;

	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	for (i = 0; i < (size_t)n && k < 16; i++) {
		int v;
		char ch = buf[i];

		if (ch >= '0' && ch <= '9')
			v = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v = ch - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			id[k++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return k == 16 ? 0 : -1;
}

/*
 * The whole copy in 64-byte aligned private memory.  0; or -1 with a
 * reason in why (no file, unreadable, too big).  *missing: there is none.
 */
static int
load_copy(const char *dir, unsigned char **buf, size_t *size, int *missing,
    char *why, size_t whylen)
{
	char path[PATH_MAX];
	struct stat st;
	unsigned char *b = NULL;
	size_t n, done = 0;
	ssize_t k;
	int fd = -1, r = -1;

	*missing = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME) >=
	    (int)sizeof(path)) {
		snprintf(why, whylen, "%s: path too long", dir);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		*missing = errno == ENOENT;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > VERIFY_FILE_MAX) {
		snprintf(why, whylen, "%s: %lld bytes, too big to be a copy "
		    "this tool reads", path, (long long)st.st_size);
		goto out;
	}
	n = (size_t)st.st_size;
	if ((b = aligned_alloc(64, (n + 63) & ~(size_t)63)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	/* A file that shrinks meanwhile is checked as it was read. */
	while (done < n) {
		k = pread(fd, b + done, n - done, (off_t)done);
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1) {
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (k == 0)
			break;
		done += (size_t)k;
	}
	/* success */
	*buf = b;
	*size = done;
	b = NULL;
	r = 0;
 out:
	free(b);
	close(fd);
	return r;
}

/* Read and check the copy; -1 (with *missing, why) if it cannot be read. */
static int
verify_copy(const char *dir, const struct ctl_vopts *o, struct ctl_vresult *res,
    int *missing, char *why, size_t whylen)
{
	unsigned char *buf = NULL;
	size_t size = 0;
	int r;

	if (load_copy(dir, &buf, &size, missing, why, whylen) != 0)
		return -1;
	r = ctl_verify_segment(buf, size, o, res);
	free(buf);
	return r;
}

static const char *
level_name(int level)
{
	return level == CTL_V_PROBLEM ? "error" : "note";
}

static void
print_findings(const char *what, const struct ctl_vresult *r)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		printf("%s: %s: %s\n", level_name(r->findings[i].level), what,
		    r->findings[i].text);
	if (r->oom)
		printf("error: %s: out of memory: findings are missing\n",
		    what);
}

/* ctl_json_put(), or a JSON null under key when !present (v is NULL). */
static int
put_opt(struct json_object *o, const char *key, int present,
    struct json_object *v)
{
	if (!present)
		return json_object_object_add(o, key, NULL) == 0 ? 0 : -1;
	return ctl_json_put(o, key, v);
}

static struct json_object *
findings_json(const struct ctl_vresult *r)
{
	struct json_object *arr, *f;
	size_t i;

	if ((arr = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < r->nfindings; i++) {
		const struct ctl_vfinding *x = &r->findings[i];

		if ((f = json_object_new_object()) == NULL ||
		    ctl_json_put(f, "level", json_object_new_string(
		    level_name(x->level))) != 0 ||
		    put_opt(f, "slot", x->slot != CTL_V_NOSLOT,
		    x->slot == CTL_V_NOSLOT ? NULL :
		    json_object_new_int64(x->slot)) != 0 ||
		    ctl_json_put(f, "text", json_object_new_string(x->text)) !=
		    0 || json_object_array_add(arr, f) != 0) {
			json_object_put(f);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static struct json_object *
image_json(const struct ctl_vresult *r, int checked)
{
	struct json_object *o;

	if (!checked)
		return NULL;
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (ctl_json_put(o, "header_ok",
	    json_object_new_boolean(r->header_ok)) != 0 ||
	    ctl_json_put(o, "slots", json_object_new_int64(r->header_ok ?
	    r->hdr.nslots : 0)) != 0 ||
	    ctl_json_put(o, "used", json_object_new_int64(r->nused)) != 0 ||
	    ctl_json_put(o, "released",
	    json_object_new_int64(r->nreleased)) != 0 ||
	    ctl_json_put(o, "never_used",
	    json_object_new_int64(r->nempty)) != 0 ||
	    ctl_json_put(o, "problems",
	    json_object_new_int64((int64_t)r->nproblems)) != 0 ||
	    ctl_json_put(o, "findings", findings_json(r)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int
print_json(int ok, int live_checked, const char *live_why,
    const struct ctl_vresult *copy, int copy_checked, const char *copy_why,
    const struct ctl_vresult *live, const struct ctl_vresult *cmp)
{
	struct json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	if (ctl_json_put(o, "consistent", json_object_new_boolean(ok)) != 0 ||
	    put_opt(o, "copy", copy_checked,
	    image_json(copy, copy_checked)) != 0 ||
	    put_opt(o, "copy_unreadable", copy_why[0] != '\0',
	    copy_why[0] != '\0' ? json_object_new_string(copy_why) : NULL) != 0 ||
	    put_opt(o, "live", live_checked,
	    image_json(live, live_checked)) != 0 ||
	    put_opt(o, "live_unavailable", live_why[0] != '\0',
	    live_why[0] != '\0' ? json_object_new_string(live_why) : NULL) != 0 ||
	    ctl_json_put(o, "differences", findings_json(cmp)) != 0) {
		json_object_put(o);
		return -1;
	}
	return ctl_json_print(o);
}

int
cmd_verify(const struct ctl_args *a)
{
	struct ctl_vopts copt, lopt;
	struct ctl_vresult copy, live, cmp;
	struct seg_map m;
	struct timespec ts, pause = { 0, VERIFY_PAUSE_NS };
	uint8_t boot[16];
	char copy_why[PATH_MAX + 256] = "", live_why[PATH_MAX + 256] = "";
	int have_boot, running = 0, live_checked = 0, copy_checked = 0;
	int missing = 0, live_failed = 0, ok, tries, r;
	size_t problems;

	memset(&copy, 0, sizeof(copy));
	memset(&live, 0, sizeof(live));
	memset(&cmp, 0, sizeof(cmp));
	memset(&m, 0, sizeof(m));
	m.fd = -1;
	have_boot = read_boot_id(boot) == 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&copt, 0, sizeof(copt));
	copt.boot_id = have_boot ? boot : NULL;
	copt.now_wall = (int64_t)ts.tv_sec;
	copt.now_boot_ns = seg_boottime_ns();
	copt.seq_tries = 1;	/* a private copy does not change */
	lopt = copt;
	lopt.seq_tries = SEG_READ_TRIES;

	errno = 0;
	r = seg_map_from_daemon(a->dir, VERIFY_DAEMON_MS, &m);
	if (r == 0) {
		running = 1;
		live_checked = 1;
	} else if (r == TC_ENODAEMON) {
		snprintf(live_why, sizeof(live_why), "tokencached is not "
		    "running (no %s/%s): the persistent copy alone was "
		    "checked", a->dir, SEG_SOCKET_NAME);
	} else if (r == TC_EACCES) {
		/* Not ours to see: no verdict on it, none against it. */
		snprintf(live_why, sizeof(live_why), "tokencached does not "
		    "hand this user its live segment (%s): the persistent "
		    "copy alone was checked", tc_strerror(r));
	} else {
		char e[256];

		live_failed = 1;
		ctl_daemon_strerror(e, sizeof(e), a->dir, r, errno);
		snprintf(live_why, sizeof(live_why), "the daemon's live "
		    "segment could not be mapped: %s", e);
	}

	/*
	 * The live segment first, then the copy, which the daemon writes
	 * after the memfd: what the copy lacks then is what is still being
	 * written.  Both again while they disagree, the daemon running.
	 */
	for (tries = 0; ; tries++) {
		ctl_vresult_free(&live);
		ctl_vresult_free(&copy);
		ctl_vresult_free(&cmp);
		if (live_checked &&
		    ctl_verify_segment(m.base, m.size, &lopt, &live) != 0)
			goto oom;
		copy_why[0] = '\0';
		r = verify_copy(a->dir, &copt, &copy, &missing, copy_why,
		    sizeof(copy_why));
		copy_checked = r == 0;
		if (r == 0) {
			if (live_checked &&
			    ctl_verify_compare(&copy, &live, &cmp) != 0)
				goto oom;
		} else if (copy.oom) {
			goto oom;
		}
		/* While the daemon writes, a torn slot or a difference in
		 * the copy may be the write in progress: read it again. */
		if (!running || tries + 1 >= VERIFY_REREADS ||
		    (r == 0 && copy.ntorn == 0 && live.ntorn == 0 &&
		    cmp.nproblems == 0))
			break;
		nanosleep(&pause, NULL);
	}

	problems = copy.nproblems + live.nproblems + cmp.nproblems;
	if (!copy_checked)
		problems++;	/* no copy, or it cannot be read */
	if (live_failed)
		problems++;	/* a daemon we could not read */
	ok = problems == 0;
	if (a->json) {
		if (print_json(ok, live_checked, live_why, &copy, copy_checked,
		    copy_why, &live, &cmp) != 0)
			goto oom;
	} else {
		if (!copy_checked)
			printf("error: copy: %s%s\n", copy_why, missing ?
			    (running ? " (the daemon writes a new one on its "
			    "next check)" : " (is tokencached running?)") : "");
		else
			print_findings("copy", &copy);
		if (live_checked)
			print_findings("live", &live);
		else if (!live_failed)
			printf("note: live: %s\n", live_why);
		else
			printf("error: live: %s\n", live_why);
		print_findings("copy vs live", &cmp);
		if (ok)
			printf("ok: %s consistent: %u slots, %u used, %u "
			    "released, %u never used\n", live_checked ?
			    "persistent copy and live segment" :
			    "persistent copy", (unsigned)copy.hdr.nslots,
			    (unsigned)copy.nused, (unsigned)copy.nreleased,
			    (unsigned)copy.nempty);
		else
			printf("verify: %zu problem%s found in %s\n", problems,
			    problems == 1 ? "" : "s", a->dir);
	}
	ctl_vresult_free(&copy);
	ctl_vresult_free(&live);
	ctl_vresult_free(&cmp);
	seg_map_close(&m);
	return ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
 oom:
	ctl_warnx("out of memory");
	ctl_vresult_free(&copy);
	ctl_vresult_free(&live);
	ctl_vresult_free(&cmp);
	seg_map_close(&m);
	return CTL_EXIT_FAIL;
}
