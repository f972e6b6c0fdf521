/*
 * seg_write.c - the writer half of the segment.
 *
 * The daemon is the only writer.  Every change to a slot goes through
 * slot_store(), which is the writer side of the seqlock described in seg.h:
 * make seq odd, release fence, store the words with relaxed atomics, store
 * the next even seq with release.
 *
 * The live segment is a sealed memfd (see seg.h for why).  Everything
 * written to it is also written, with pwrite(), to the persistent copy
 * runtime_dir/cache, in an order that leaves a slot's seq odd in the copy
 * for as long as the copy may hold half of it: odd seq, then the slot, then
 * the even seq.  A daemon that dies at any point leaves a copy whose slots
 * are whole or visibly torn, and adoption turns a torn one into TS_LOST.
 * Nobody maps the copy, so truncating or replacing it can hurt no reader;
 * the daemon notices on its next tick (segw_check_file) and writes a new
 * one from the memfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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
#include "seg_write.h"
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

static void copy_field(char *dst, size_t cap, const char *src);

static struct seg_header *
live_header(struct segw *w)
{
	return (struct seg_header *)(void *)w->base;
}

static struct seg_slot *
live_slot(struct segw *w, uint32_t idx)
{
	return (struct seg_slot *)(void *)(w->base + w->view.hdr.slots_offset +
	    (size_t)idx * w->view.hdr.slot_size);
}

static void
store_live(void *dst, const void *src, size_t n)
{
	uint64_t *d = dst;
	const uint64_t *s = src;
	size_t i;

	for (i = 0; i < n / 8; i++)
		__atomic_store_n(&d[i], s[i], __ATOMIC_RELAXED);
}

/*
 * Write n bytes to the persistent copy at off.  A failure (tmpfs full, the
 * file gone bad) is remembered: the next segw_check_file() writes a whole
 * new copy.  Readers never depend on the copy, so nothing else waits.
 */
static void
persist_write(struct segw *w, const void *buf, size_t n, size_t off)
{
	size_t done = 0;
	ssize_t k;

	if (w->file_fd == -1) {
		w->file_bad = 1;
		return;
	}
	while (done < n) {
		k = pwrite(w->file_fd, (const unsigned char *)buf + done,
		    n - done, (off_t)(off + done));
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0) {
			w->file_bad = 1;
			return;
		}
		done += (size_t)k;
	}
}

static void
persist_header(struct segw *w)
{
	persist_write(w, w->base, sizeof(struct seg_header), 0);
}

/*
 * Write meta (all but seq) and, if ct is not NULL, ctbytes (a multiple of
 * 8) of ciphertext area.  A reader that overlaps sees seq odd or changed
 * and retries.
 */
static void
slot_store(struct segw *w, uint32_t idx, const struct seg_slot *meta,
    const unsigned char *ct, size_t ctbytes)
{
	struct seg_slot *live = live_slot(w, idx);
	uint64_t seq = __atomic_load_n(&live->seq, __ATOMIC_RELAXED), odd;
	size_t off = offsetof(struct seg_slot, generation);
	size_t at = (size_t)((unsigned char *)live - w->base);

	if (seq & 1)		/* left odd by a daemon that died mid-write */
		seq++;
	/* The persistent copy reads torn before the memfd changes at all. */
	odd = seq + 1;
	persist_write(w, &odd, sizeof(odd), at);
	__atomic_store_n(&live->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	store_live((unsigned char *)live + off, (const unsigned char *)meta + off,
	    sizeof(*meta) - off);
#ifdef TC_TEST_HOOKS
	if (ct != NULL && w->crash_mid_publish && ctbytes > 8 &&
	    (w->crash_name[0] == '\0' ||
	    strcmp(w->crash_name, meta->name) == 0)) {
		/* Test hook: die with half a token written. */
		store_live((unsigned char *)live + SEG_SLOT_META, ct,
		    (ctbytes / 2) & ~(size_t)7);
		raise(SIGKILL);
	}
#endif
	if (ct != NULL)
		store_live((unsigned char *)live + SEG_SLOT_META, ct, ctbytes);
	__atomic_store_n(&live->seq, seq + 2, __ATOMIC_RELEASE);
	persist_write(w, (unsigned char *)live + off, sizeof(*meta) - off,
	    at + off);
	if (ct != NULL)
		persist_write(w, (unsigned char *)live + SEG_SLOT_META, ctbytes,
		    at + SEG_SLOT_META);
	persist_write(w, &live->seq, sizeof(live->seq), at);
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
	r = seg_file_load(&img, w->dir);
	/* A runtime_dir that is not a tmpfs survives a reboot; the boot
	 * clock deadlines in it do not. */
	if (r == 0 && boot_id_differs(img.hdr.boot_id, boot_id)) {
		log_info("%s/%s: made before the last reboot; not adopted, "
		    "kept as %s.old", w->dir, SEG_FILE_NAME, SEG_FILE_NAME);
		seg_map_close(&img);
		r = TC_ENOCACHE;
		if (move_aside(w, err, errlen) != 0)
			return -1;
	} else if (r == 0 && (img.hdr.nslots != nslots ||
	    img.hdr.token_max != token_max ||
	    img.hdr.key_id != key_id_of(w->master))) {
		log_info("%s/%s: made for another size or master key; not "
		    "adopted, kept as %s.old", w->dir, SEG_FILE_NAME,
		    SEG_FILE_NAME);
		seg_map_close(&img);
		r = TC_ENOCACHE;
		if (move_aside(w, err, errlen) != 0)
			return -1;
	} else if (r != 0 && r != TC_ENOCACHE) {
		log_warnx("%s/%s: %s; not adopted, kept as %s.old", w->dir,
		    SEG_FILE_NAME, tc_strerror(r), SEG_FILE_NAME);
		if (move_aside(w, err, errlen) != 0)
			return -1;
	}
	if (live_create(w, size, err, errlen) != 0) {
		seg_map_close(&img);
		return -1;
	}
	h = live_header(w);
	if (r == 0) {
		memcpy(w->base, img.base, size);
		seg_map_close(&img);
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
	} else {
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

int
segw_find(struct segw *w, const char *name, uint32_t *idx)
{
	struct seg_slot s;

	return seg_lookup(&w->view, name, strlen(name), idx, &s) == 0 ? 0 : -1;
}

int
segw_assign(struct segw *w, const char *name, uint32_t *idx)
{
	struct seg_slot s;
	size_t len = strlen(name);
	uint32_t i, n = w->view.hdr.nslots, at;
	uint64_t gen;

	if (segw_find(w, name, idx) == 0)
		return 0;
	at = (uint32_t)(seg_hash(name, len) % n);
	for (i = 0; i < n; i++, at = (at + 1 == n) ? 0 : at + 1) {
		if (seg_read_slot(&w->view, at, &s, NULL) != 0)
			return -1;
		if (s.use == SLOT_USED)
			continue;
		gen = s.generation + 1;
		memset(&s, 0, sizeof(s));
		s.use = SLOT_USED;
		s.state = TS_PENDING;
		s.name_len = (uint32_t)len;
		memcpy(s.name, name, len);
		s.generation = gen;
		slot_store(w, at, &s, NULL, 0);
		*idx = at;
		return 0;
	}
	return -1;
}

void
segw_release(struct segw *w, uint32_t idx)
{
	unsigned char *zero;
	struct seg_slot s;
	size_t area = w->view.hdr.slot_size - SEG_SLOT_META;
	uint64_t gen = 0;

	if (segw_read(w, idx, &s) == 0)
		gen = s.generation;
	memset(&s, 0, sizeof(s));
	s.use = SLOT_RELEASED;
	s.generation = gen + 1;
	/* Wipe the old ciphertext too; without memory, metadata is enough. */
	zero = calloc(1, area);
	slot_store(w, idx, &s, zero, zero != NULL ? area : 0);
	free(zero);
}

int
segw_read(struct segw *w, uint32_t idx, struct seg_slot *out)
{
	return seg_read_slot(&w->view, idx, out, NULL);
}

static void
copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strnlen(src, cap - 1) : 0;

	memset(dst, 0, cap);
	if (n > 0)
		memcpy(dst, src, n);
}

/* Bytes of ciphertext scratch a seal or an open needs. */
static size_t
ct_scratch_size(const struct segw *w)
{
	return ((size_t)w->view.hdr.token_max + SEG_MAC_BYTES + 8 + 7) &
	    ~(size_t)7;
}

/*
 * Seal token under the slot's key at the current epoch into the copy s and
 * store it, using ct (ct_scratch_size() bytes) as scratch.  s carries the
 * metadata to publish with it.
 */
static int
seal_store(struct segw *w, uint32_t idx, struct seg_slot *s,
    const char *token, size_t len, unsigned char *ct)
{
	unsigned char key[SEG_KEY_BYTES], ad[SEG_AD_MAX];
	unsigned long long ctlen;
	size_t adlen;

	if (len == 0 || len > w->view.hdr.token_max)
		return -1;
	s->key_epoch = w->epoch;
	randombytes_buf(s->nonce, sizeof(s->nonce));
	seg_derive_key(key, w->master, w->epoch, s->name, s->name_len);
	adlen = seg_build_ad(s, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ctlen,
	    (const unsigned char *)token, len, ad, adlen, NULL, s->nonce, key);
	sodium_memzero(key, sizeof(key));
	s->ct_len = (uint32_t)ctlen;
	memset(ct + ctlen, 0, 8);	/* the padding store_live copies */
	slot_store(w, idx, s, ct, (ctlen + 7) & ~(size_t)7);
	return 0;
}

/*
 * Every token the daemon publishes comes through here, whatever module
 * fetched it: one with a byte outside 0x21-0x7E (or such a token_type)
 * would reach a reader's HTTP header or terminal, so it is never
 * published (the library refuses one too; seg_token_valid is the one
 * rule for both).
 */
int
segw_publish(struct segw *w, uint32_t idx, const char *token, size_t len,
    const struct segw_meta *meta)
{
	if (seg_token_valid(token, len) != 0 || (meta->token_type != NULL &&
	    seg_token_valid(meta->token_type, strlen(meta->token_type)) != 0))
		return TC_EBADTOKEN;
	return segw_publish_unchecked(w, idx, token, len, meta);
}

int
segw_publish_unchecked(struct segw *w, uint32_t idx, const char *token,
    size_t len, const struct segw_meta *meta)
{
	struct seg_slot s;
	unsigned char *ct;
	int r;

	if (segw_read(w, idx, &s) != 0 || s.use != SLOT_USED)
		return -1;
	s.generation++;
	s.state = TS_VALID;
	s.expires_at = meta->expires_at;
	s.expires_boot_ns = meta->expires_boot_ns;
	s.fetched_at = meta->fetched_at;
	s.last_attempt_at = meta->fetched_at;
	s.next_refresh_at = meta->next_refresh_at;
	s.plan.fetched_boot_ns = meta->plan.fetched_boot_ns;
	s.plan.next_boot_ns = meta->plan.next_boot_ns;
	s.plan.not_before_boot_ns = meta->plan.not_before_boot_ns;
	s.plan.flags = meta->plan.flags;
	s.plan.failure_class = SEG_FAILURE_UNKNOWN;
	s.failures = 0;
	s.http_status = 200;
	copy_field(s.token_type, sizeof(s.token_type), meta->token_type);
	memset(s.error, 0, sizeof(s.error));
	if (meta->request_id != NULL)
		memcpy(s.request_id, meta->request_id, sizeof(s.request_id));
	else
		memset(s.request_id, 0, sizeof(s.request_id));
	/* Allocate before touching the slot: no half-done publish. */
	if ((ct = malloc(ct_scratch_size(w))) == NULL)
		return -1;
	r = seal_store(w, idx, &s, token, len, ct);
	free(ct);
	return r;
}

void
segw_drop_token(struct segw *w, uint32_t idx, const char *why)
{
	unsigned char *zero;
	struct seg_slot s;
	size_t area = w->view.hdr.slot_size - SEG_SLOT_META;

	if (segw_read(w, idx, &s) != 0 || s.use != SLOT_USED)
		return;
	s.generation++;
	s.state = TS_PENDING;
	s.ct_len = 0;
	s.expires_at = 0;
	s.expires_boot_ns = 0;
	copy_field(s.error, sizeof(s.error), why);
	zero = calloc(1, area);
	slot_store(w, idx, &s, zero, zero != NULL ? area : 0);
	free(zero);
}

int
segw_rotate(struct segw *w)
{
	struct seg_slot s;
	unsigned char *ct, key[SEG_KEY_BYTES];
	char *tok;
	size_t len, cap = (size_t)w->view.hdr.token_max + 1;
	uint32_t i;
	int dropped = 0;

	/* Everything allocated first: out of memory changes nothing. */
	tok = sodium_malloc(cap);
	ct = malloc(ct_scratch_size(w));
	if (tok == NULL || ct == NULL) {
		sodium_free(tok);
		free(ct);
		return -1;
	}
	w->epoch++;
	__atomic_store_n(&live_header(w)->key_epoch, w->epoch,
	    __ATOMIC_RELEASE);
	persist_header(w);
	for (i = 0; i < w->view.hdr.nslots; i++) {
		if (seg_read_slot(&w->view, i, &s, ct) != 0 ||
		    s.use != SLOT_USED || s.ct_len == 0)
			continue;
		seg_derive_key(key, w->master, s.key_epoch, s.name, s.name_len);
		if (seg_open_token(&s, ct, key, tok, cap, &len) != 0 ||
		    seal_store(w, i, &s, tok, len, ct) != 0) {
			/* It did not decrypt: a damaged slot. */
			segw_drop_token(w, i, "token lost in key rotation");
			dropped++;
		}
		sodium_memzero(tok, cap);
	}
	sodium_memzero(key, sizeof(key));
	sodium_free(tok);
	free(ct);
	return dropped;
}

/* The status fields segw_set_status() and segw_set_failure() write. */
static void
slot_status(struct seg_slot *s, uint32_t state, const char *error,
    uint32_t failures, uint32_t http_status, int64_t last_attempt_at,
    int64_t next_refresh_at)
{
	s->state = state;
	copy_field(s->error, sizeof(s->error), error);
	s->failures = failures;
	s->http_status = http_status;
	s->last_attempt_at = last_attempt_at;
	s->next_refresh_at = next_refresh_at;
	/* segw_set_failure() says which; a bare status does not. */
	s->plan.failure_class = SEG_FAILURE_UNKNOWN;
}

void
segw_set_status(struct segw *w, uint32_t idx, uint32_t state,
    const char *error, uint32_t failures, uint32_t http_status,
    int64_t last_attempt_at, int64_t next_refresh_at)
{
	struct seg_slot s;

	if (segw_read(w, idx, &s) != 0 || s.use != SLOT_USED)
		return;
	slot_status(&s, state, error, failures, http_status, last_attempt_at,
	    next_refresh_at);
	slot_store(w, idx, &s, NULL, 0);
}

void
segw_set_failure(struct segw *w, uint32_t idx, uint32_t state,
    const char *error, uint32_t failures, uint32_t http_status,
    int64_t last_attempt_at, int64_t next_refresh_at,
    const struct seg_plan *plan, const uint8_t request_id[16],
    int permanent)
{
	struct seg_slot s;

	if (segw_read(w, idx, &s) != 0 || s.use != SLOT_USED)
		return;
	slot_status(&s, state, error, failures, http_status, last_attempt_at,
	    next_refresh_at);
	s.plan = *plan;
	s.plan.failure_class = permanent ? SEG_FAILURE_PERMANENT :
	    SEG_FAILURE_TRANSIENT;
	/* A token's request_id stays the one that got it. */
	if (s.ct_len == 0)
		memcpy(s.request_id, request_id, sizeof(s.request_id));
	slot_store(w, idx, &s, NULL, 0);
}

void
segw_set_plan(struct segw *w, uint32_t idx, const struct seg_plan *plan)
{
	struct seg_slot s;
	struct seg_plan p = *plan;

	if (segw_read(w, idx, &s) != 0 || s.use != SLOT_USED)
		return;
	/* The plan, not the class of the failure it follows. */
	p.failure_class = s.plan.failure_class;
	if (memcmp(&s.plan, &p, sizeof(s.plan)) == 0)
		return;
	s.plan = p;
	slot_store(w, idx, &s, NULL, 0);
}

int
segw_failure_permanent(const struct seg_slot *s)
{
	switch (s->plan.failure_class) {
	case SEG_FAILURE_PERMANENT:
		return 1;
	case SEG_FAILURE_TRANSIENT:
		return 0;
	default:
		/* What the daemons that kept no class judged. */
		return s->http_status >= 400 && s->http_status < 500 &&
		    s->http_status != 408 && s->http_status != 429;
	}
}

void
segw_set_state(struct segw *w, uint32_t idx, uint32_t state)
{
	struct seg_slot s;

	if (segw_read(w, idx, &s) != 0 || s.use != SLOT_USED)
		return;
	s.state = state;
	slot_store(w, idx, &s, NULL, 0);
}

int
segw_read_token(struct segw *w, uint32_t idx, char *out, size_t cap,
    size_t *len, struct seg_slot *meta)
{
	unsigned char key[SEG_KEY_BYTES], *ct;
	struct seg_slot s;
	size_t ctcap = ((size_t)w->view.hdr.token_max + SEG_MAC_BYTES + 7) &
	    ~(size_t)7;
	int r;

	if ((ct = malloc(ctcap)) == NULL)
		return TC_ENOMEM;
	if ((r = seg_read_slot(&w->view, idx, &s, ct)) != 0)
		goto out;
	seg_derive_key(key, w->master, s.key_epoch, s.name, s.name_len);
	r = seg_open_token(&s, ct, key, out, cap, len);
	sodium_memzero(key, sizeof(key));
	if (r == 0)
		*meta = s;
 out:
	free(ct);
	return r;
}

void
segw_request_hash_init(struct segw *w, crypto_generichash_state *st)
{
	unsigned char sub[SEG_KEY_BYTES];

	/* A subkey no reader ever receives: epoch 0 is never used. */
	seg_derive_key(sub, w->master, 0, "\x01request", 8);
	crypto_generichash_init(st, sub, sizeof(sub), 16);
	sodium_memzero(sub, sizeof(sub));
}

void
segw_key_for(struct segw *w, const char *name,
    unsigned char key[SEG_KEY_BYTES], uint64_t *epoch)
{
	seg_derive_key(key, w->master, w->epoch, name, strlen(name));
	*epoch = w->epoch;
}

void
segw_release_unless(struct segw *w, int (*keep)(const char *, void *),
    void *arg)
{
	struct seg_slot s;
	uint32_t i;

	for (i = 0; i < w->view.hdr.nslots; i++) {
		if (segw_read(w, i, &s) != 0 || s.use != SLOT_USED)
			continue;
		if (!keep(s.name, arg))
			segw_release(w, i);
	}
}
