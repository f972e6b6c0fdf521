/*
 * seg_file.c - the segment's life: the runtime directory's lock, the
 * master key, the live memfd (create, seal, map), the persistent copy
 * runtime_dir/cache (written whole, checked each tick, moved aside), and
 * building the segment at start, adopting what a previous daemon left.
 *
 * The live segment is a sealed memfd (see seg.h for why).  Everything
 * written to it is also written to the persistent copy (seg_store.c says
 * in which order, so that a dead daemon leaves slots whole or visibly
 * torn).  Nobody maps the copy, so truncating or replacing it can hurt no
 * reader; the daemon notices on its next tick (segw_check_file) and writes
 * a new one from the memfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "runtime_dir.h"
#include "seg_write_int.h"
#include "tokencache.h"

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t
key_id_of(const unsigned char *master)
{
	unsigned char h[8];
	uint64_t id = 0;
	int i;

	crypto_generichash(h, sizeof(h), (const unsigned char *)"key-id", 6,
	    master, SEG_KEY_BYTES);
	for (i = 0; i < 8; i++)
		id |= (uint64_t)h[i] << (8 * i);
	return id;
}

static int
check_private_file(int fd, const char *path, size_t want, char *err,
    size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0 || (size_t)st.st_size != want) {
		seterr(err, errlen, "%s: not a %zu-byte file of mode 0600 "
		    "owned by uid %u", path, want, (unsigned)geteuid());
		return -1;
	}
	return 0;
}

/*
 * A file in the runtime directory that another user owns was left by a
 * daemon that ran as someone else (root before privileges were dropped, or
 * another `user`).  The directory is ours, so we may remove it; a segment
 * made under that file's key cannot be adopted and is replaced.
 */
static void
unlink_foreign(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_uid != geteuid())
		(void)unlink(path);
}

/* Load runtime_dir/master.key, or create it.  It lives only on the runtime
 * tmpfs, beside the segment it protects: a restarted daemon needs it to
 * adopt the segment, and a reboot loses both together. */
static int
load_master_key(struct segw *w, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	ssize_t n;
	int fd = -1, r = -1;

	snprintf(path, sizeof(path), "%s/%s", w->dir, SEG_KEY_NAME);
	snprintf(tmp, sizeof(tmp), "%s/%s.new", w->dir, SEG_KEY_NAME);
	unlink_foreign(path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd != -1) {
		if (check_private_file(fd, path, SEG_KEY_BYTES, err,
		    errlen) != 0)
			goto out;
		n = read(fd, w->master, SEG_KEY_BYTES);
		if (n != SEG_KEY_BYTES) {
			seterr(err, errlen, "%s: short read", path);
			goto out;
		}
		r = 0;
		goto out;
	}
	if (errno != ENOENT) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	randombytes_buf(w->master, SEG_KEY_BYTES);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1 || fchmod(fd, 0600) == -1 ||
	    write(fd, w->master, SEG_KEY_BYTES) != SEG_KEY_BYTES ||
	    fsync(fd) == -1 || rename(tmp, path) == -1) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

static int
map_rw(struct segw *w, int fd, size_t size)
{
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	w->fd = fd;
	w->base = p;
	w->size = size;
	w->view.fd = -1;
	w->view.base = p;
	w->view.size = size;
	return 0;
}

static void
unmap(struct segw *w)
{
	if (w->base != NULL)
		munmap(w->base, w->size);
	if (w->fd != -1)
		close(w->fd);
	if (w->ro_fd != -1)
		close(w->ro_fd);
	w->base = NULL;
	w->fd = w->ro_fd = -1;
	memset(&w->view, 0, sizeof(w->view));
	w->view.fd = -1;
}

/*
 * Write a whole new persistent copy from the memfd: cache.new, renamed
 * over cache, so that the name always holds a complete copy.  We are the
 * only writer and single-threaded, so the memfd does not change meanwhile.
 */
static int
persist_all(struct segw *w, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", w->dir, SEG_FILE_NAME);
	snprintf(tmp, sizeof(tmp), "%s/%s.new", w->dir, SEG_FILE_NAME);
	(void)unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if ((r = posix_fallocate(fd, 0, (off_t)w->size)) != 0) {
		seterr(err, errlen, "%s: cannot allocate %zu bytes: %s", tmp,
		    w->size, strerror(r));
		goto fail;
	}
	if (fchmod(fd, 0644) == -1 || fstat(fd, &st) == -1) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (w->file_fd != -1)
		close(w->file_fd);
	w->file_fd = fd;
	w->file_bad = 0;
	persist_write(w, w->base, w->size, 0);
	if (w->file_bad) {
		seterr(err, errlen, "%s: cannot write: %s", tmp,
		    strerror(errno));
		goto fail_keep;
	}
	if (rename(tmp, path) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto fail_keep;
	}
	w->file_dev = (uint64_t)st.st_dev;
	w->file_ino = (uint64_t)st.st_ino;
	return 0;
 fail:
	close(fd);
	(void)unlink(tmp);
	return -1;
 fail_keep:
	/* file_fd now names nothing useful; the next check starts over. */
	close(w->file_fd);
	w->file_fd = -1;
	w->file_bad = 1;
	(void)unlink(tmp);
	return -1;
}

/* Move runtime_dir/cache aside as cache.old, for analysis. */
static int
move_aside(struct segw *w, char *err, size_t errlen)
{
	char path[PATH_MAX], aside[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", w->dir, SEG_FILE_NAME);
	snprintf(aside, sizeof(aside), "%s/%s.old", w->dir, SEG_FILE_NAME);
	if (rename(path, aside) == -1 && errno != ENOENT) {
		seterr(err, errlen, "cannot move aside %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The memfd readers map.  Sized with posix_fallocate, so that running out
 * of memory fails here rather than as SIGBUS in a reader.  Mapped
 * writable before it is sealed: F_SEAL_FUTURE_WRITE leaves the mapping
 * that exists writable and forbids any new one.
 */
static int
live_create(struct segw *w, size_t size, char *err, size_t errlen)
{
	int fd, r;

	fd = memfd_create("tokencache", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1) {
		seterr(err, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	if ((r = posix_fallocate(fd, 0, (off_t)size)) != 0) {
		seterr(err, errlen, "cannot allocate the %zu-byte segment: %s",
		    size, strerror(r));
		close(fd);
		return -1;
	}
	if (map_rw(w, fd, size) == -1) {
		seterr(err, errlen, "mmap: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

/*
 * Seal the memfd and make the descriptor readers get.  Size seals are a
 * must (they are what makes a reader's mapping safe), the write seal is
 * taken where the kernel has it (Linux 5.1).  Mode 0444 keeps a reader
 * from re-opening it read-write through /proc/<its pid>/fd; the
 * descriptor it gets is a read-only open of the memfd, so it can neither
 * map it writable nor mprotect() its mapping so.
 */
static int
live_seal(struct segw *w, char *err, size_t errlen)
{
	char path[64];
	int base = F_SEAL_SHRINK | F_SEAL_GROW;

	if (fcntl(w->fd, F_ADD_SEALS, base | F_SEAL_FUTURE_WRITE) == 0)
		w->write_sealed = 1;
	else if (errno != EINVAL || fcntl(w->fd, F_ADD_SEALS, base) == -1) {
		seterr(err, errlen, "cannot seal the segment: %s",
		    strerror(errno));
		return -1;
	}
	if (fcntl(w->fd, F_ADD_SEALS, F_SEAL_SEAL) == -1 ||
	    fchmod(w->fd, 0444) == -1) {
		seterr(err, errlen, "cannot seal the segment: %s",
		    strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", w->fd);
	w->ro_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->ro_fd == -1 && w->write_sealed)
		/* No /proc: the write seal alone keeps readers out. */
		w->ro_fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
	if (w->ro_fd == -1) {
		seterr(err, errlen, "cannot re-open the segment read-only: "
		    "%s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A slot a dead daemon left mid-write has no token we can trust.  Its name
 * is rewritten with the same bytes by every publish, so if it still reads
 * as a name, keep the slot as TS_LOST: readers that decrypted the token
 * before may keep using their copy until it expires, and the credential is
 * fetched again.  Else free it.
 */
static void
repair_torn_slots(struct segw *w)
{
	uint32_t i;

	for (i = 0; i < w->view.hdr.nslots; i++) {
		struct seg_slot *ls = live_slot(w, i);
		struct seg_slot torn, blank;

		if (!(__atomic_load_n(&ls->seq, __ATOMIC_RELAXED) & 1))
			continue;
		seg_copy_live(&torn, ls, sizeof(torn));
		memset(&blank, 0, sizeof(blank));
		blank.generation = torn.generation + 1;
		blank.use = SLOT_RELEASED;
		if (torn.use == SLOT_USED && torn.name_len <= TC_NAME_MAX &&
		    seg_name_valid(torn.name, torn.name_len) == 0) {
			blank.use = SLOT_USED;
			blank.state = TS_LOST;
			blank.name_len = torn.name_len;
			memcpy(blank.name, torn.name, torn.name_len);
			copy_field(blank.error, sizeof(blank.error), "token lost: "
			    "the daemon died while writing it");
		}
		slot_store(w, i, &blank, NULL, 0);
	}
}

/*
 * This boot's id (/proc/sys/kernel/random/boot_id, a UUID), or zeros if it
 * cannot be read: then a segment is adopted as before.
 */
static void
read_boot_id(uint8_t id[16])
{
	char text[64];
	size_t i, n = 0;
	ssize_t r = -1;
	int fd, hi = -1, v;

	memset(id, 0, 16);
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY |
	    O_CLOEXEC)) != -1) {
		r = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	for (i = 0; r > 0 && i < (size_t)r && n < 16; i++) {
		if (text[i] >= '0' && text[i] <= '9')
			v = text[i] - '0';
		else if (text[i] >= 'a' && text[i] <= 'f')
			v = text[i] - 'a' + 10;
		else
			continue;	/* the dashes, the newline */
		if (hi == -1)
			hi = v;
		else {
			id[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (n != 16)
		memset(id, 0, 16);
}

static int
boot_id_differs(const uint8_t a[16], const uint8_t b[16])
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) != 0 && memcmp(b, zero, 16) != 0 &&
	    memcmp(a, b, 16) != 0;
}

/*
 * Load the persistent copy a previous daemon left into img and judge it:
 * *r is 0 if it is sound and fits (nslots, token_max, master key, this
 * boot), and img is then open; else *r is TC_ENOCACHE or the load's error,
 * img is closed, and a copy that was there is moved aside as cache.old.
 * Returns -1 with a message in err only if moving it aside failed.
 */
static int
load_previous(struct segw *w, struct seg_map *img, uint32_t nslots,
    uint32_t token_max, const uint8_t boot_id[16], int *r, char *err,
    size_t errlen)
{
	*r = seg_file_load(img, w->dir);
	/* A runtime_dir that is not a tmpfs survives a reboot; the boot
	 * clock deadlines in it do not. */
	if (*r == 0 && boot_id_differs(img->hdr.boot_id, boot_id)) {
		log_info("%s/%s: made before the last reboot; not adopted, "
		    "kept as %s.old", w->dir, SEG_FILE_NAME, SEG_FILE_NAME);
		seg_map_close(img);
		*r = TC_ENOCACHE;
		if (move_aside(w, err, errlen) != 0)
			return -1;
	} else if (*r == 0 && (img->hdr.nslots != nslots ||
	    img->hdr.token_max != token_max ||
	    img->hdr.key_id != key_id_of(w->master))) {
		log_info("%s/%s: made for another size or master key; not "
		    "adopted, kept as %s.old", w->dir, SEG_FILE_NAME,
		    SEG_FILE_NAME);
		seg_map_close(img);
		*r = TC_ENOCACHE;
		if (move_aside(w, err, errlen) != 0)
			return -1;
	} else if (*r != 0 && *r != TC_ENOCACHE) {
		log_warnx("%s/%s: %s; not adopted, kept as %s.old", w->dir,
		    SEG_FILE_NAME, tc_strerror(*r), SEG_FILE_NAME);
		if (move_aside(w, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* Take over img (size bytes, nslots slots) into the new memfd. */
static void
adopt_image(struct segw *w, struct seg_map *img, size_t size,
    uint32_t nslots)
{
	struct seg_header *h = live_header(w);

	memcpy(w->base, img->base, size);
	seg_map_close(img);
	w->adopted = 1;
	/* Written in our format from now on.  Before minor 2 the
	 * plan's bytes were the tail of the error field: no reader
	 * has the memfd yet, so plain stores do. */
	if (h->minor < 2) {
		uint32_t i;

		for (i = 0; i < nslots; i++)
			memset(&((struct seg_slot *)(void *)(w->base +
			    h->slots_offset + (size_t)i *
			    h->slot_size))->plan, 0,
			    sizeof(struct seg_plan));
	}
	h->minor = SEG_MINOR;
}

/* The header of an empty segment, in the new memfd. */
static void
init_header(struct segw *w, uint32_t nslots, uint32_t token_max,
    size_t size)
{
	struct seg_header *h = live_header(w);

	h->major = SEG_MAJOR;
	h->minor = SEG_MINOR;
	h->header_size = sizeof(*h);
	h->slot_size = (uint32_t)seg_slot_size(token_max);
	h->nslots = nslots;
	h->token_max = token_max;
	h->file_size = size;
	h->slots_offset = sizeof(*h);
	h->key_epoch = 1;
	h->key_id = key_id_of(w->master);
	h->created_at = (int64_t)time(NULL);
	h->magic = SEG_MAGIC;
}

/*
 * Build the live segment: from the persistent copy a previous daemon left,
 * if it is sound and fits (nslots, token_max, master key), else empty.  A
 * copy that does not fit or is corrupt is moved aside as cache.old for
 * analysis.  Either way the memfd gets a new instance_id, which tells
 * readers of the previous daemon's memfd to come and get this one.
 */
static int
build_segment(struct segw *w, uint32_t nslots, uint32_t token_max,
    char *err, size_t errlen)
{
	struct seg_map img;
	struct seg_header *h;
	uint8_t boot_id[16];
	size_t size;
	int r;

	size = sizeof(struct seg_header) + (size_t)nslots *
	    seg_slot_size(token_max);
	read_boot_id(boot_id);
	if (load_previous(w, &img, nslots, token_max, boot_id, &r, err,
	    errlen) != 0)
		return -1;
	if (live_create(w, size, err, errlen) != 0) {
		seg_map_close(&img);
		return -1;
	}
	if (r == 0)
		adopt_image(w, &img, size, nslots);
	else
		init_header(w, nslots, token_max, size);
	h = live_header(w);
	randombytes_buf(h->instance_id, sizeof(h->instance_id));
	memcpy(h->boot_id, boot_id, sizeof(h->boot_id));
	h->status = SEG_ALIVE;
	h->daemon_pid = (uint64_t)getpid();
	seg_copy_live(&w->view.hdr, w->base, sizeof(w->view.hdr));
	w->epoch = h->key_epoch;
	if (live_seal(w, err, errlen) != 0 || persist_all(w, err, errlen) != 0)
		return -1;
	/* After persist_all: the repairs go to the copy too. */
	if (w->adopted)
		repair_torn_slots(w);
	return 0;
}

int
segw_open(struct segw *w, const char *dir, uint32_t nslots,
    uint32_t token_max, char *err, size_t errlen)
{
	char path[PATH_MAX];
#ifdef TC_TEST_HOOKS
	const char *hook;
#endif
	int config;

	memset(w, 0, sizeof(*w));
	w->fd = w->ro_fd = w->file_fd = w->lock_fd = w->view.fd = -1;
	if (nslots == 0 || nslots > SEG_SLOTS_MAX ||
	    token_max < SEG_TOKEN_MIN || token_max > SEG_TOKEN_MAX) {
		seterr(err, errlen, "segment size out of range");
		return -1;
	}
	if ((w->dir = strdup(dir)) == NULL ||
	    (w->master = sodium_malloc(SEG_KEY_BYTES)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (runtime_dir_prepare(dir, geteuid(), getegid(), &config, err,
	    errlen) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s", dir, SEG_LOCK_NAME);
	unlink_foreign(path);
	w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->lock_fd == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			seterr(err, errlen, "another tokencached is running "
			    "on %s", dir);
		else
			seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (load_master_key(w, err, errlen) != 0)
		goto fail;
#ifdef TC_TEST_HOOKS
	/* For the kill tests: TOKENCACHE_TEST_CRASH=publish. */
	hook = secure_getenv("TOKENCACHE_TEST_CRASH");
	w->crash_mid_publish = hook != NULL && (strcmp(hook, "publish") == 0 ||
	    strncmp(hook, "publish:", 8) == 0);
	if (w->crash_mid_publish && hook[7] == ':')
		copy_field(w->crash_name, sizeof(w->crash_name), hook + 8);
	if (w->crash_mid_publish)
		log_warnx("test hook TOKENCACHE_TEST_CRASH=%s is set: the "
		    "daemon will kill itself in a publish", hook);
#endif
	/* segw_read_token's scratch (seg_write.h). */
	if ((w->ctbuf = malloc(((size_t)token_max + SEG_MAC_BYTES + 7) &
	    ~(size_t)7)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (build_segment(w, nslots, token_max, err, errlen) != 0)
		goto fail;
	return 0;
 fail:
	segw_close(w, 0);
	return -1;
}

void
segw_close(struct segw *w, int retire)
{
	char path[PATH_MAX];

	if (w->base != NULL && retire) {
		__atomic_store_n(&live_header(w)->status, SEG_RETIRED,
		    __ATOMIC_RELEASE);
		snprintf(path, sizeof(path), "%s/%s", w->dir, SEG_FILE_NAME);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/%s", w->dir, SEG_KEY_NAME);
		(void)unlink(path);
	}
	/*
	 * Not retired: the memfd lives on in the readers that map it, ALIVE,
	 * so that they keep reading valid tokens while no daemon runs; the
	 * next daemon adopts the persistent copy and gives the memfd it
	 * builds a new instance_id, which moves them over.
	 */
	unmap(w);
	if (w->file_fd != -1)
		close(w->file_fd);
	if (w->lock_fd != -1)
		close(w->lock_fd);
	sodium_free(w->master);
	free(w->ctbuf);
	w->ctbuf = NULL;
	free(w->dir);
	memset(w, 0, sizeof(*w));
	w->fd = w->ro_fd = w->file_fd = w->lock_fd = w->view.fd = -1;
}

int
segw_check_file(struct segw *w)
{
	char path[PATH_MAX], err[PATH_MAX + 128];
	struct seg_header h;
	struct stat st;
	const char *why = NULL;
	int aside = 1;

	snprintf(path, sizeof(path), "%s/%s", w->dir, SEG_FILE_NAME);
	if (lstat(path, &st) == -1) {
		why = errno == ENOENT ? "deleted" : "unreadable";
		aside = 0;
	} else if ((uint64_t)st.st_dev != w->file_dev ||
	    (uint64_t)st.st_ino != w->file_ino)
		why = "replaced";
	else if ((uint64_t)st.st_size != w->size)
		why = "truncated or extended";
	else if (w->file_fd == -1 || pread(w->file_fd, &h, sizeof(h), 0) !=
	    (ssize_t)sizeof(h) || memcmp(&h, w->base, sizeof(h)) != 0)
		why = "corrupted";
	else if (w->file_bad) {
		why = "not up to date (a write to it failed)";
		aside = 0;
	} else
		return 0;
	if (aside && move_aside(w, err, sizeof(err)) != 0) {
		log_warnx("%s: %s", path, err);
		aside = 0;
	}
	/*
	 * Let go of the old file first: deleted or replaced, it is an inode
	 * only we keep alive, whose space a full tmpfs needs for the new
	 * copy.  Publishes meanwhile just mark the copy not up to date.
	 */
	if (w->file_fd != -1) {
		close(w->file_fd);
		w->file_fd = -1;
	}
	if (persist_all(w, err, sizeof(err)) != 0) {
		/* Tried again each second; said once, then once a minute. */
		if (w->file_failures++ % 60 == 0)
			log_warnx("%s was %s; cannot write a new copy: %s%s",
			    path, why, err, w->file_failures > 1 ?
			    " (still; next report in a minute)" : "");
		return -1;
	}
	w->file_failures = 0;
	log_warnx("%s was %s; wrote a new copy from memory%s", path, why,
	    aside ? " (the bad one is kept as " SEG_FILE_NAME ".old)" : "");
	return 1;
}

void
segw_set_pid(struct segw *w)
{
	live_header(w)->daemon_pid = (uint64_t)getpid();
	persist_header(w);
}
