/*
 * seg_write.c - the writer half of the segment.
 *
 * The daemon is the only writer.  Every change to a slot goes through
 * slot_store(), which is the writer side of the seqlock described in seg.h:
 * make seq odd, release fence, store the words with relaxed atomics, store
 * the next even seq with release.
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
 * Write meta (all but seq) and, if ct is not NULL, ctbytes (a multiple of
 * 8) of ciphertext area.  A reader that overlaps sees seq odd or changed
 * and retries.
 */
static void
slot_store(struct segw *w, uint32_t idx, const struct seg_slot *meta,
    const unsigned char *ct, size_t ctbytes)
{
	struct seg_slot *live = live_slot(w, idx);
	uint64_t seq = __atomic_load_n(&live->seq, __ATOMIC_RELAXED);
	size_t off = offsetof(struct seg_slot, generation);

	if (seq & 1)		/* left odd by a daemon that died mid-write */
		seq++;
	__atomic_store_n(&live->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	store_live((unsigned char *)live + off, (const unsigned char *)meta + off,
	    sizeof(*meta) - off);
	if (ct != NULL && w->crash_mid_publish && ctbytes > 8) {
		/* Test hook: die with half a token written. */
		store_live((unsigned char *)live + SEG_SLOT_META, ct,
		    (ctbytes / 2) & ~(size_t)7);
		raise(SIGKILL);
	}
	if (ct != NULL)
		store_live((unsigned char *)live + SEG_SLOT_META, ct, ctbytes);
	__atomic_store_n(&live->seq, seq + 2, __ATOMIC_RELEASE);
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
	w->base = NULL;
	w->fd = -1;
	memset(&w->view, 0, sizeof(w->view));
	w->view.fd = -1;
}

/*
 * Try to take over the segment a previous daemon left.  Returns 1 if
 * adopted, 0 if there is none or it does not fit (it is then retired and
 * moved aside), -1 on error.
 */
static int
adopt(struct segw *w, uint32_t nslots, uint32_t token_max, char *err,
    size_t errlen)
{
	char path[PATH_MAX], aside[PATH_MAX];
	struct seg_header h;
	struct stat st;
	int fd, r;
	uint32_t i;

	snprintf(path, sizeof(path), "%s/%s", w->dir, SEG_FILE_NAME);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)sizeof(h) || map_rw(w, fd, (size_t)st.st_size)) {
		close(fd);
		goto retire;
	}
	seg_copy_live(&h, w->base, sizeof(h));
	r = seg_header_check(&h, (uint64_t)st.st_size);
	if (r != 0 || h.nslots != nslots || h.token_max != token_max ||
	    h.key_id != key_id_of(w->master) || st.st_uid != geteuid())
		goto retire;
	w->view.hdr = h;
	w->view.dev = st.st_dev;
	w->view.ino = st.st_ino;
	w->epoch = h.key_epoch;
	/*
	 * A slot a dead daemon left mid-write has no token we can trust.
	 * Its name is rewritten with the same bytes by every publish, so if
	 * it still reads as a name, keep the slot as TS_LOST: readers that
	 * decrypted the token before may keep using their copy until it
	 * expires, and the credential is fetched again.  Else free it.
	 */
	for (i = 0; i < nslots; i++) {
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
	live_header(w)->daemon_pid = (uint64_t)getpid();
	__atomic_store_n(&live_header(w)->status, SEG_ALIVE, __ATOMIC_RELEASE);
	return 1;
 retire:
	/* Keep the old file for analysis; readers see it retired. */
	if (w->base != NULL && w->size >= sizeof(h))
		__atomic_store_n(&live_header(w)->status, SEG_RETIRED,
		    __ATOMIC_RELEASE);
	unmap(w);
	snprintf(aside, sizeof(aside), "%s/%s.old", w->dir, SEG_FILE_NAME);
	if (rename(path, aside) == -1) {
		seterr(err, errlen, "cannot move aside %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
create_segment(struct segw *w, uint32_t nslots, uint32_t token_max,
    char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct seg_header *h;
	size_t size;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", w->dir, SEG_FILE_NAME);
	snprintf(tmp, sizeof(tmp), "%s/%s.new", w->dir, SEG_FILE_NAME);
	size = sizeof(struct seg_header) + (size_t)nslots *
	    seg_slot_size(token_max);
	(void)unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* Allocate now: a full tmpfs fails here, not as SIGBUS in a reader. */
	if ((r = posix_fallocate(fd, 0, (off_t)size)) != 0) {
		seterr(err, errlen, "%s: cannot allocate %zu bytes: %s", tmp,
		    size, strerror(r));
		goto fail;
	}
	if (fchmod(fd, 0644) == -1 || map_rw(w, fd, size) == -1) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	h = live_header(w);
	h->major = SEG_MAJOR;
	h->minor = SEG_MINOR;
	h->header_size = sizeof(*h);
	h->slot_size = (uint32_t)seg_slot_size(token_max);
	h->nslots = nslots;
	h->token_max = token_max;
	h->file_size = size;
	h->slots_offset = sizeof(*h);
	randombytes_buf(h->instance_id, sizeof(h->instance_id));
	h->status = SEG_ALIVE;
	h->key_epoch = 1;
	h->key_id = key_id_of(w->master);
	h->created_at = (int64_t)time(NULL);
	h->daemon_pid = (uint64_t)getpid();
	__atomic_store_n(&h->magic, SEG_MAGIC, __ATOMIC_RELEASE);
	/* Readers only ever open a complete file. */
	if (rename(tmp, path) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		unmap(w);
		fd = -1;
		goto fail;
	}
	seg_copy_live(&w->view.hdr, w->base, sizeof(w->view.hdr));
	w->epoch = 1;
	return 0;
 fail:
	if (fd != -1 && w->fd != fd)
		close(fd);
	unmap(w);
	(void)unlink(tmp);
	return -1;
}

int
segw_open(struct segw *w, const char *dir, uint32_t nslots,
    uint32_t token_max, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *hook;
	struct stat st;
	int r;

	memset(w, 0, sizeof(*w));
	w->fd = w->lock_fd = w->view.fd = -1;
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
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		seterr(err, errlen, "cannot create runtime directory %s: %s",
		    dir, strerror(errno));
		goto fail;
	}
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		seterr(err, errlen, "runtime directory %s is not a directory",
		    dir);
		goto fail;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		seterr(err, errlen, "runtime directory %s must be owned by "
		    "uid %u and writable by nobody else", dir,
		    (unsigned)geteuid());
		goto fail;
	}
	/* Whatever the umask, readers need to search the directory. */
	(void)chmod(dir, 0755);
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
	/* For the kill tests: TOKENCACHE_TEST_CRASH=publish. */
	hook = secure_getenv("TOKENCACHE_TEST_CRASH");
	w->crash_mid_publish = hook != NULL && strcmp(hook, "publish") == 0;
	if ((r = adopt(w, nslots, token_max, err, errlen)) < 0)
		goto fail;
	w->adopted = r;
	if (!r && create_segment(w, nslots, token_max, err, errlen) != 0)
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
	unmap(w);
	if (w->lock_fd != -1)
		close(w->lock_fd);
	sodium_free(w->master);
	free(w->dir);
	memset(w, 0, sizeof(*w));
	w->fd = w->lock_fd = w->view.fd = -1;
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

int
segw_publish(struct segw *w, uint32_t idx, const char *token, size_t len,
    const struct segw_meta *meta)
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

void
segw_set_status(struct segw *w, uint32_t idx, uint32_t state,
    const char *error, uint32_t failures, uint32_t http_status,
    int64_t last_attempt_at, int64_t next_refresh_at)
{
	struct seg_slot s;

	if (segw_read(w, idx, &s) != 0 || s.use != SLOT_USED)
		return;
	s.state = state;
	copy_field(s.error, sizeof(s.error), error);
	s.failures = failures;
	s.http_status = http_status;
	s.last_attempt_at = last_attempt_at;
	s.next_refresh_at = next_refresh_at;
	slot_store(w, idx, &s, NULL, 0);
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
