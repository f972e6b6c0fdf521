/*
 * seg.c - the reader half of the segment, and what both halves share.
 *
 * Nothing here trusts the mapping: it may be written by the daemon while we
 * read, or be corrupt.  Every read of live memory goes through
 * seg_copy_live() or an atomic load, every length is checked before it is
 * used, and all decisions are made on private copies.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nsec.h"
#include "seg.h"
#include "tokencache.h"

/* tc_token_info.error gets a slot's error text whole. */
_Static_assert(TC_ERROR_MAX >= SEG_SLOT_ERROR, "tc_token_info.error size");

size_t
seg_slot_size(uint32_t token_max)
{
	size_t n = SEG_SLOT_META + (size_t)token_max + SEG_MAC_BYTES;

	return (n + 63) & ~(size_t)63;
}

uint64_t
seg_hash(const char *name, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

int
seg_token_valid(const char *token, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)token[i] < 0x21 ||
		    (unsigned char)token[i] > 0x7e)
			return TC_EBADTOKEN;
	return 0;
}

int
seg_name_valid(const char *name, size_t len)
{
	size_t i;

	if (name == NULL || len == 0 || len > TC_NAME_MAX || name[0] == '.')
		return TC_EINVAL;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("._~@+-", ch) != NULL) {
			if (ch == '\0')
				return TC_EINVAL;
			continue;
		}
		return TC_EINVAL;
	}
	return 0;
}

int
seg_header_check(const struct seg_header *h, uint64_t file_size)
{
	uint64_t need;

	if (h->magic != SEG_MAGIC)
		return TC_ECORRUPT;
	if (h->major != SEG_MAJOR)
		return TC_EVERSION;
	if (h->header_size != sizeof(struct seg_header) ||
	    h->slots_offset != sizeof(struct seg_header))
		return TC_ECORRUPT;
	if (h->token_max < SEG_TOKEN_MIN || h->token_max > SEG_TOKEN_MAX)
		return TC_ECORRUPT;
	if (h->nslots == 0 || h->nslots > SEG_SLOTS_MAX)
		return TC_ECORRUPT;
	if (h->slot_size != seg_slot_size(h->token_max))
		return TC_ECORRUPT;
	/* Cannot overflow: both factors are bounded above. */
	need = h->slots_offset + (uint64_t)h->nslots * h->slot_size;
	if (h->file_size != need || file_size < need)
		return TC_ECORRUPT;
	return 0;
}

void
seg_copy_live(void *dst, const void *src, size_t n)
{
	uint64_t *d = dst;
	const uint64_t *s = src;
	size_t i;

	/*
	 * Word by word with relaxed atomic loads: the memory may change under
	 * us, and an optimised memcpy on racing memory is undefined behaviour
	 * that has crashed readers before (glibc nscd).
	 */
	for (i = 0; i < n / 8; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/* The size of fd's file, if it is a regular one that holds a header at
 * least: 0, or TC_ECORRUPT / TC_ESYSTEM. */
static int
seg_fd_size(int fd, off_t *size)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return TC_ESYSTEM;
	if (!S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)sizeof(struct seg_header))
		return TC_ECORRUPT;
	*size = st.st_size;
	return 0;
}

int
seg_map_fd(struct seg_map *m, int fd)
{
	struct seg_header h;
	off_t size = 0;
	void *base = MAP_FAILED;
	int seals, r;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	/*
	 * The seals first: once they are there, the size cannot change, so
	 * the size we then read is the one we map for good, and no access to
	 * the mapping can fault.  A plain file, or a memfd without them, is
	 * refused: someone could truncate it under us.
	 */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals == -1 || (seals & SEG_SEALS_REQUIRED) != SEG_SEALS_REQUIRED) {
		r = TC_ECORRUPT;
		goto out;
	}
	if ((r = seg_fd_size(fd, &size)) != 0)
		goto out;
	base = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		r = TC_ESYSTEM;
		goto out;
	}
	seg_copy_live(&h, base, sizeof(h));
	if ((r = seg_header_check(&h, (uint64_t)size)) != 0)
		goto out;
	if (h.file_size != (uint64_t)size) {
		r = TC_ECORRUPT;
		goto out;
	}
	/* success */
	m->fd = fd;
	m->base = base;
	m->size = (size_t)size;
	m->hdr = h;
	fd = -1;
	base = MAP_FAILED;
	r = 0;
 out:
	if (base != MAP_FAILED)
		munmap(base, (size_t)size);
	if (fd != -1)
		close(fd);
	return r;
}

/* Open runtime_dir/cache for reading: an fd, or a negative TC_E* code. */
static int
open_file_copy(const char *runtime_dir)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", runtime_dir,
	    SEG_FILE_NAME) >= (int)sizeof(path))
		return TC_EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return (errno == ENOENT || errno == ENOTDIR) ? TC_ENOCACHE :
		    (errno == EACCES ? TC_EACCES : TC_ESYSTEM);
	return fd;
}

/* Read exactly n bytes at off; a short file is corrupt. */
static int
pread_all(int fd, void *buf, size_t n, off_t off)
{
	size_t done = 0;
	ssize_t k;

	while (done < n) {
		k = pread(fd, (unsigned char *)buf + done, n - done,
		    off + (off_t)done);
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1)
			return TC_ESYSTEM;
		if (k == 0)
			return TC_ECORRUPT;
		done += (size_t)k;
	}
	return 0;
}

int
seg_file_load(struct seg_map *m, const char *runtime_dir)
{
	struct seg_header h;
	unsigned char *base = NULL;
	off_t fsize;
	size_t size;
	int fd, r;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if ((fd = open_file_copy(runtime_dir)) < 0)
		return fd;
	if ((r = seg_fd_size(fd, &fsize)) != 0)
		goto out;
	if ((r = pread_all(fd, &h, sizeof(h), 0)) != 0)
		goto out;
	/* Checked against the size the file had; read no more than that. */
	if ((r = seg_header_check(&h, (uint64_t)fsize)) != 0)
		goto out;
	if ((base = aligned_alloc(64, (size_t)h.file_size)) == NULL) {
		r = TC_ENOMEM;
		goto out;
	}
	size = (size_t)h.file_size;
	/* Shrunk meanwhile: TC_ECORRUPT from pread_all. */
	if ((r = pread_all(fd, base, size, 0)) != 0)
		goto out;
	/* Rewritten meanwhile: the header we now hold must describe the
	 * bytes we allocated and read, no more. */
	seg_copy_live(&h, base, sizeof(h));
	if ((r = seg_header_check(&h, size)) != 0)
		goto out;
	if (h.file_size != size) {
		r = TC_ECORRUPT;
		goto out;
	}
	/* success */
	m->base = base;
	m->size = size;
	m->hdr = h;
	m->copied = 1;
	base = NULL;
	r = 0;
 out:
	free(base);
	close(fd);
	return r;
}

int
seg_file_instance(const char *runtime_dir, uint8_t id[16])
{
	struct seg_header h;
	int fd, r;

	if ((fd = open_file_copy(runtime_dir)) < 0)
		return fd;
	if ((r = pread_all(fd, &h, sizeof(h), 0)) == 0 && h.magic != SEG_MAGIC)
		r = TC_ECORRUPT;
	close(fd);
	if (r == 0)
		memcpy(id, h.instance_id, sizeof(h.instance_id));
	return r;
}

void
seg_map_close(struct seg_map *m)
{
	if (m == NULL)
		return;
	if (m->base != NULL && m->copied)
		free((void *)m->base);
	else if (m->base != NULL)
		munmap((void *)m->base, m->size);
	if (m->fd != -1)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

const struct seg_slot *
seg_slot_at(const struct seg_map *m, uint32_t idx)
{
	return (const struct seg_slot *)(const void *)(m->base +
	    m->hdr.slots_offset + (size_t)idx * m->hdr.slot_size);
}

uint64_t
seg_live_status(const struct seg_map *m)
{
	const struct seg_header *h = (const void *)m->base;

	return __atomic_load_n(&h->status, __ATOMIC_ACQUIRE);
}

uint64_t
seg_live_key_epoch(const struct seg_map *m)
{
	const struct seg_header *h = (const void *)m->base;

	return __atomic_load_n(&h->key_epoch, __ATOMIC_ACQUIRE);
}

int
seg_read_slot(const struct seg_map *m, uint32_t idx, struct seg_slot *out,
    unsigned char *ct)
{
	const struct seg_slot *live;
	struct seg_slot copy;
	uint64_t s1, s2;
	size_t ct_cap = (size_t)m->hdr.token_max + SEG_MAC_BYTES;
	size_t ct_len;
	int tries;

	if (idx >= m->hdr.nslots)
		return TC_EINVAL;
	live = seg_slot_at(m, idx);
	for (tries = 0; tries < SEG_READ_TRIES; tries++) {
		s1 = __atomic_load_n(&live->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1) {
			sched_yield();
			continue;
		}
		seg_copy_live(&copy, live, sizeof(copy));
		ct_len = copy.ct_len;
		if (ct != NULL && ct_len <= ct_cap)
			seg_copy_live(ct, (const unsigned char *)live +
			    SEG_SLOT_META, (ct_len + 7) & ~(size_t)7);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&live->seq, __ATOMIC_RELAXED);
		if (s1 != s2)
			continue;
		/* A consistent copy; now judge it. */
		if (copy.name_len > TC_NAME_MAX || ct_len > ct_cap ||
		    (ct_len != 0 && ct_len <= SEG_MAC_BYTES))
			return TC_ECORRUPT;
		copy.name[SEG_NAME_FIELD - 1] = '\0';
		copy.token_type[SEG_TYPE_FIELD - 1] = '\0';
		/*
		 * The plan lives in the old error field's tail.  A segment
		 * older than minor 2 has no plan there; nor has a minor-2
		 * slot that a minor-1 writer (a downgraded daemon adopting
		 * the cache) gave an error text of 224 bytes or more, with
		 * no NUL where a minor-2 writer always puts one.
		 */
		if (m->hdr.minor < 2 ||
		    memchr(copy.error, 0, sizeof(copy.error)) == NULL)
			memset(&copy.plan, 0, sizeof(copy.plan));
		copy.error[sizeof(copy.error) - 1] = '\0';
		copy.seq = s1;
		*out = copy;
		return 0;
	}
	return TC_EBUSY;
}

int
seg_lookup(const struct seg_map *m, const char *name, size_t len,
    uint32_t *idx, struct seg_slot *out)
{
	struct seg_slot s;
	uint32_t i, n = m->hdr.nslots, at;
	int r;

	if (seg_name_valid(name, len) != 0)
		return TC_EINVAL;
	at = (uint32_t)(seg_hash(name, len) % n);
	for (i = 0; i < n; i++, at = (at + 1 == n) ? 0 : at + 1) {
		if ((r = seg_read_slot(m, at, &s, NULL)) != 0)
			return r;
		if (s.use == SLOT_EMPTY)
			break;
		if (s.use == SLOT_USED && s.name_len == len &&
		    memcmp(s.name, name, len) == 0) {
			*idx = at;
			*out = s;
			return 0;
		}
	}
	return TC_ENOTFOUND;
}

size_t
seg_build_ad(const struct seg_slot *s, unsigned char *buf)
{
	size_t n = 0, tlen;

	seg_put_le64(buf + n, s->name_len);
	n += 8;
	memcpy(buf + n, s->name, s->name_len);
	n += s->name_len;
	seg_put_le64(buf + n, s->generation);
	n += 8;
	seg_put_le64(buf + n, (uint64_t)s->expires_at);
	n += 8;
	seg_put_le64(buf + n, (uint64_t)s->expires_boot_ns);
	n += 8;
	seg_put_le64(buf + n, s->key_epoch);
	n += 8;
	tlen = strnlen(s->token_type, SEG_TYPE_FIELD - 1);
	memcpy(buf + n, s->token_type, tlen);
	n += tlen;
	return n;
}

int
seg_open_token(const struct seg_slot *s, const unsigned char *ct,
    const unsigned char key[SEG_KEY_BYTES], char *out, size_t cap,
    size_t *len)
{
	unsigned char ad[SEG_AD_MAX];
	unsigned long long plen;
	size_t adlen;

	if (s->ct_len <= SEG_MAC_BYTES)
		return TC_ENOTOKEN;
	if (cap < s->ct_len - SEG_MAC_BYTES + 1)
		return TC_ERANGE;
	adlen = seg_build_ad(s, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out,
	    &plen, NULL, ct, s->ct_len, ad, adlen, s->nonce, key) != 0)
		return TC_EDECRYPT;
	out[plen] = '\0';
	*len = (size_t)plen;
	return 0;
}

int64_t
seg_boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}
