/*
 * test_seg.c - the segment: layout, writer, reader, bounds checks on a
 * corrupted segment, adoption, and the seqlock under a concurrent writer.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "seg.h"
#include "seg_write.h"
#include "token_parse.h"
#include "testutil.h"
#include "tokencache.h"

#define TMAX 4096

static char *dir;
static struct segw w;

static void
setup(void)
{
	char err[256];

	ck_assert_int_ge(sodium_init(), 0);
	dir = tu_tmpdir();
	ck_assert_msg(segw_open(&w, dir, 64, TMAX, err, sizeof(err)) == 0,
	    "%s", err);
}

static void
teardown(void)
{
	segw_close(&w, 0);
	tu_rmtree(dir);
	dir = NULL;
}

static struct segw_meta
meta_valid_for(int64_t secs)
{
	struct segw_meta m;

	memset(&m, 0, sizeof(m));
	m.token_type = "Bearer";
	m.expires_at = (int64_t)time(NULL) + secs;
	m.expires_boot_ns = seg_boottime_ns() + secs * INT64_C(1000000000);
	m.fetched_at = (int64_t)time(NULL);
	m.next_refresh_at = m.fetched_at + secs / 2;
	return m;
}

/* Decrypt slot idx of a read-only mapping with the daemon's key. */
static int
read_token(struct seg_map *m, uint32_t idx, char *out, size_t cap,
    size_t *len, struct seg_slot *s)
{
	unsigned char key[SEG_KEY_BYTES], ct[TMAX + 64];
	uint64_t epoch;
	int r;

	if ((r = seg_read_slot(m, idx, s, ct)) != 0)
		return r;
	segw_key_for(&w, s->name, key, &epoch);
	return seg_open_token(s, ct, key, out, cap, len);
}

/* Map the live segment as a reader does, from the fd the daemon hands out. */
static int
map_live(struct seg_map *m)
{
	return seg_map_fd(m, fcntl(w.ro_fd, F_DUPFD_CLOEXEC, 0));
}

START_TEST(test_layout)
{
	struct seg_map m;

	ck_assert_uint_eq(sizeof(struct seg_header), 256);
	ck_assert_uint_eq(seg_slot_size(TMAX) % 64, 0);
	ck_assert_uint_ge(seg_slot_size(TMAX),
	    sizeof(struct seg_slot) + TMAX + SEG_MAC_BYTES);
	ck_assert_int_eq(map_live(&m), 0);
	ck_assert_uint_eq(m.hdr.magic, SEG_MAGIC);
	ck_assert_uint_eq(m.hdr.major, SEG_MAJOR);
	ck_assert_uint_eq(m.hdr.nslots, 64);
	ck_assert_uint_eq(m.hdr.token_max, TMAX);
	ck_assert_uint_eq(m.hdr.file_size, m.size);
	ck_assert_uint_eq(seg_live_status(&m), SEG_ALIVE);
	seg_map_close(&m);
}
END_TEST

START_TEST(test_file_modes)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	snprintf(path, sizeof(path), "%s/%s", dir, SEG_KEY_NAME);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
}
END_TEST

START_TEST(test_names)
{
	char longname[200];

	ck_assert_int_eq(seg_name_valid("zeebe", 5), 0);
	ck_assert_int_eq(seg_name_valid("a.b_c-d~e@f+g", 13), 0);
	ck_assert_int_eq(seg_name_valid("", 0), TC_EINVAL);
	ck_assert_int_eq(seg_name_valid(".hidden", 7), TC_EINVAL);
	ck_assert_int_eq(seg_name_valid("a/b", 3), TC_EINVAL);
	ck_assert_int_eq(seg_name_valid("a b", 3), TC_EINVAL);
	ck_assert_int_eq(seg_name_valid("a\0b", 3), TC_EINVAL);
	ck_assert_int_eq(seg_name_valid("caf\xc3\xa9", 5), TC_EINVAL);
	memset(longname, 'x', sizeof(longname));
	ck_assert_int_eq(seg_name_valid(longname, TC_NAME_MAX), 0);
	ck_assert_int_eq(seg_name_valid(longname, TC_NAME_MAX + 1), TC_EINVAL);
}
END_TEST

START_TEST(test_assign_lookup_release)
{
	struct seg_map m;
	struct seg_slot s;
	char name[32];
	uint32_t idx[40], got;
	int i;

	/* 40 names in 64 slots: plenty of probe collisions. */
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "cred-%d", i);
		ck_assert_int_eq(segw_assign(&w, name, &idx[i]), 0);
	}
	ck_assert_int_eq(map_live(&m), 0);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "cred-%d", i);
		ck_assert_int_eq(seg_lookup(&m, name, strlen(name), &got, &s), 0);
		ck_assert_uint_eq(got, idx[i]);
		ck_assert_str_eq(s.name, name);
		ck_assert_uint_eq(s.state, TS_PENDING);
	}
	/* Release every other one: the rest must still be found past the
	 * released slots. */
	for (i = 0; i < 40; i += 2)
		segw_release(&w, idx[i]);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "cred-%d", i);
		ck_assert_int_eq(seg_lookup(&m, name, strlen(name), &got, &s),
		    i % 2 == 0 ? TC_ENOTFOUND : 0);
	}
	ck_assert_int_eq(seg_lookup(&m, "nope", 4, &got, &s), TC_ENOTFOUND);
	/* Assigning again is idempotent. */
	ck_assert_int_eq(segw_assign(&w, "cred-1", &got), 0);
	ck_assert_uint_eq(got, idx[1]);
	seg_map_close(&m);
}
END_TEST

START_TEST(test_full_table)
{
	char name[32];
	uint32_t idx;
	int i;

	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		ck_assert_int_eq(segw_assign(&w, name, &idx), 0);
	}
	ck_assert_int_eq(segw_assign(&w, "one-too-many", &idx), -1);
}
END_TEST

START_TEST(test_publish_roundtrip_and_ciphertext_only)
{
	static const char token[] = "eyJhbGciOiJSUzI1NiJ9.secret-token-bytes-"
	    "0123456789abcdef.signature";
	struct segw_meta mt = meta_valid_for(3600);
	struct seg_map m;
	struct seg_slot s;
	char out[TMAX + 1], path[512];
	unsigned char *file;
	size_t len, flen;
	uint32_t idx;

	ck_assert_int_eq(segw_assign(&w, "zeebe", &idx), 0);
	ck_assert_int_eq(segw_publish(&w, idx, token, strlen(token), &mt), 0);
	ck_assert_int_eq(map_live(&m), 0);
	ck_assert_int_eq(read_token(&m, idx, out, sizeof(out), &len, &s), 0);
	ck_assert_str_eq(out, token);
	ck_assert_uint_eq(len, strlen(token));
	ck_assert_uint_eq(s.state, TS_VALID);
	ck_assert_str_eq(s.token_type, "Bearer");
	ck_assert_int_eq(s.expires_at, mt.expires_at);
	ck_assert_int_eq(s.expires_boot_ns, mt.expires_boot_ns);
	/* The token's bytes never appear in the file. */
	snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME);
	file = tu_slurp(path, &flen);
	ck_assert_ptr_nonnull(file);
	ck_assert_ptr_null(memmem(file, flen, "secret-token-bytes", 18));
	ck_assert_ptr_null(memmem(file, flen, token, strlen(token)));
	free(file);
	/* Too long for a slot: refused, old token intact. */
	{
		char *big = malloc(TMAX + 2);

		memset(big, 'a', TMAX + 1);
		big[TMAX + 1] = '\0';
		ck_assert_int_eq(segw_publish(&w, idx, big, TMAX + 1, &mt), -1);
		free(big);
	}
	ck_assert_int_eq(read_token(&m, idx, out, sizeof(out), &len, &s), 0);
	ck_assert_str_eq(out, token);
	/* A state change alone keeps everything else. */
	segw_set_status(&w, idx, TS_VALID, "HTTP 500", 3, 500, 11, 22);
	segw_set_state(&w, idx, TS_EXPIRED);
	ck_assert_int_eq(read_token(&m, idx, out, sizeof(out), &len, &s), 0);
	ck_assert_uint_eq(s.state, TS_EXPIRED);
	ck_assert_str_eq(s.error, "HTTP 500");
	ck_assert_uint_eq(s.failures, 3);
	ck_assert_uint_eq(s.http_status, 500);
	ck_assert_int_eq(s.last_attempt_at, 11);
	ck_assert_int_eq(s.next_refresh_at, 22);
	/* Status updates keep the token. */
	segw_set_status(&w, idx, TS_VALID, "HTTP 503", 1, 503, 1, 2);
	ck_assert_int_eq(read_token(&m, idx, out, sizeof(out), &len, &s), 0);
	ck_assert_str_eq(out, token);
	ck_assert_str_eq(s.error, "HTTP 503");
	ck_assert_uint_eq(s.failures, 1);
	seg_map_close(&m);
}
END_TEST

/*
 * Every token tokencached publishes goes through segw_publish, whatever
 * module fetched it: bytes a reader would put into a header or onto a
 * terminal are refused there, and the slot keeps its token.
 */
START_TEST(test_publish_refuses_bad_bytes)
{
	static const char *const bad[] = {
		"a\r\nX-Injected: yes", "a b", "a\x1b[2J", "a\x7f", "a\x80",
		"a\tb",
	};
	struct segw_meta mt = meta_valid_for(60);
	struct seg_map m;
	struct seg_slot s;
	char out[TMAX + 1];
	size_t len, i;
	uint32_t idx;

	ck_assert_int_eq(segw_assign(&w, "cred", &idx), 0);
	ck_assert_int_eq(segw_publish(&w, idx, "good", 4, &mt), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(segw_publish(&w, idx, bad[i], strlen(bad[i]),
		    &mt) == TC_EBADTOKEN, "bad token %zu published", i);
	/* A NUL inside counts too. */
	ck_assert_int_eq(segw_publish(&w, idx, "a\0b", 3, &mt), TC_EBADTOKEN);
	mt.token_type = "Bearer\r\nX: y";
	ck_assert_int_eq(segw_publish(&w, idx, "fine", 4, &mt), TC_EBADTOKEN);
	ck_assert_int_eq(map_live(&m), 0);
	ck_assert_int_eq(read_token(&m, idx, out, sizeof(out), &len, &s), 0);
	ck_assert_str_eq(out, "good");
	ck_assert_str_eq(s.token_type, "Bearer");
	seg_map_close(&m);
}
END_TEST

START_TEST(test_associated_data_binds)
{
	struct segw_meta mt = meta_valid_for(60);
	unsigned char key[SEG_KEY_BYTES], ct[TMAX + 64];
	struct seg_map m;
	struct seg_slot s, t;
	char out[TMAX + 1];
	uint64_t epoch;
	size_t len;
	uint32_t idx;

	ck_assert_int_eq(segw_assign(&w, "cred", &idx), 0);
	ck_assert_int_eq(segw_publish(&w, idx, "tok", 3, &mt), 0);
	ck_assert_int_eq(map_live(&m), 0);
	ck_assert_int_eq(seg_read_slot(&m, idx, &s, ct), 0);
	segw_key_for(&w, "cred", key, &epoch);
	ck_assert_int_eq(seg_open_token(&s, ct, key, out, sizeof(out), &len), 0);
	/* Any change to bound data, or another name's key, fails. */
	t = s; t.generation++;
	ck_assert_int_eq(seg_open_token(&t, ct, key, out, sizeof(out), &len),
	    TC_EDECRYPT);
	t = s; t.expires_boot_ns += 1;
	ck_assert_int_eq(seg_open_token(&t, ct, key, out, sizeof(out), &len),
	    TC_EDECRYPT);
	t = s; t.expires_at += 3600;
	ck_assert_int_eq(seg_open_token(&t, ct, key, out, sizeof(out), &len),
	    TC_EDECRYPT);
	t = s; t.name[0] = 'C';
	ck_assert_int_eq(seg_open_token(&t, ct, key, out, sizeof(out), &len),
	    TC_EDECRYPT);
	t = s; memcpy(t.token_type, "DPoP", 5);
	ck_assert_int_eq(seg_open_token(&t, ct, key, out, sizeof(out), &len),
	    TC_EDECRYPT);
	ct[0] ^= 1;
	ck_assert_int_eq(seg_open_token(&s, ct, key, out, sizeof(out), &len),
	    TC_EDECRYPT);
	ct[0] ^= 1;
	segw_key_for(&w, "other", key, &epoch);
	ck_assert_int_eq(seg_open_token(&s, ct, key, out, sizeof(out), &len),
	    TC_EDECRYPT);
	/* Output buffer too small. */
	segw_key_for(&w, "cred", key, &epoch);
	ck_assert_int_eq(seg_open_token(&s, ct, key, out, 3, &len), TC_ERANGE);
	seg_map_close(&m);
}
END_TEST

/* Corrupt the live file through a writable mapping of our own. */
static unsigned char *
map_file_rw(size_t *size)
{
	char path[512];
	struct stat st;
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	close(fd);
	*size = (size_t)st.st_size;
	return p;
}

START_TEST(test_corrupt_header)
{
	struct seg_header *h, saved;
	struct seg_map m;
	size_t size;
	unsigned char *p = map_file_rw(&size);

	h = (struct seg_header *)(void *)p;
	saved = *h;
	h->magic ^= 1;
	ck_assert_int_eq(seg_file_load(&m, dir), TC_ECORRUPT);
	*h = saved;
	h->major = SEG_MAJOR + 1;
	ck_assert_int_eq(seg_file_load(&m, dir), TC_EVERSION);
	*h = saved;
	h->minor = SEG_MINOR + 7;	/* minor bumps stay readable */
	ck_assert_int_eq(seg_file_load(&m, dir), 0);
	seg_map_close(&m);
	*h = saved;
	h->nslots = 0xffffffffu;
	ck_assert_int_eq(seg_file_load(&m, dir), TC_ECORRUPT);
	*h = saved;
	h->nslots = saved.nslots + 1;	/* would read past the end */
	ck_assert_int_eq(seg_file_load(&m, dir), TC_ECORRUPT);
	*h = saved;
	h->slot_size = 64;
	ck_assert_int_eq(seg_file_load(&m, dir), TC_ECORRUPT);
	*h = saved;
	h->token_max = 0xfffffff0u;
	ck_assert_int_eq(seg_file_load(&m, dir), TC_ECORRUPT);
	*h = saved;
	h->slots_offset = 8;
	ck_assert_int_eq(seg_file_load(&m, dir), TC_ECORRUPT);
	*h = saved;
	h->file_size = (uint64_t)1 << 40;
	ck_assert_int_eq(seg_file_load(&m, dir), TC_ECORRUPT);
	*h = saved;
	ck_assert_int_eq(seg_file_load(&m, dir), 0);
	seg_map_close(&m);
	munmap(p, size);
}
END_TEST

START_TEST(test_truncated_and_missing)
{
	char path[512];
	struct seg_map m;
	char *empty = tu_tmpdir();

	ck_assert_int_eq(seg_file_load(&m, empty), TC_ENOCACHE);
	snprintf(path, sizeof(path), "%s/%s", empty, SEG_FILE_NAME);
	ck_assert_int_eq(close(open(path, O_CREAT | O_WRONLY, 0644)), 0);
	ck_assert_int_eq(seg_file_load(&m, empty), TC_ECORRUPT);	/* empty */
	ck_assert_int_eq(truncate(path, 4096), 0);	/* zeros */
	ck_assert_int_eq(seg_file_load(&m, empty), TC_ECORRUPT);
	/* A truncated real segment. */
	snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME);
	ck_assert_int_eq(truncate(path, 1000), 0);
	ck_assert_int_eq(seg_file_load(&m, dir), TC_ECORRUPT);
	tu_rmtree(empty);
}
END_TEST

START_TEST(test_corrupt_slot)
{
	struct segw_meta mt = meta_valid_for(60);
	struct seg_map m;
	struct seg_slot s, *ls;
	unsigned char ct[TMAX + 64];
	uint32_t idx, got;
	unsigned char *p;

	ck_assert_int_eq(segw_assign(&w, "cred", &idx), 0);
	ck_assert_int_eq(segw_publish(&w, idx, "tok", 3, &mt), 0);
	ck_assert_int_eq(map_live(&m), 0);
	p = w.base;		/* the memfd is sealed against anyone else */
	ls = (struct seg_slot *)(void *)(p + m.hdr.slots_offset +
	    (size_t)idx * m.hdr.slot_size);
	ls->ct_len = TMAX + SEG_MAC_BYTES + 1;
	ck_assert_int_eq(seg_read_slot(&m, idx, &s, ct), TC_ECORRUPT);
	ls->ct_len = 5;		/* shorter than a MAC */
	ck_assert_int_eq(seg_read_slot(&m, idx, &s, ct), TC_ECORRUPT);
	ls->ct_len = 3 + SEG_MAC_BYTES;
	ls->name_len = 500;
	ck_assert_int_eq(seg_read_slot(&m, idx, &s, ct), TC_ECORRUPT);
	ck_assert_int_eq(seg_lookup(&m, "cred", 4, &got, &s), TC_ECORRUPT);
	ls->name_len = 4;
	/* A writer that died mid-write: the reader gives up, bounded. */
	ls->seq |= 1;
	ck_assert_int_eq(seg_read_slot(&m, idx, &s, ct), TC_EBUSY);
	ls->seq++;
	ck_assert_int_eq(seg_read_slot(&m, idx, &s, ct), 0);
	ck_assert_int_eq(seg_read_slot(&m, 64, &s, ct), TC_EINVAL);
	seg_map_close(&m);
}
END_TEST

/* What a daemon that died between the odd and the even seq leaves in the
 * persistent copy: slot idx with an odd seq. */
static void
tear_file_slot(uint32_t idx)
{
	char path[512];
	uint64_t seq;
	off_t at = (off_t)(w.view.hdr.slots_offset +
	    (size_t)idx * w.view.hdr.slot_size);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME);
	ck_assert_int_ge(fd = open(path, O_RDWR), 0);
	ck_assert_int_eq(pread(fd, &seq, sizeof(seq), at), sizeof(seq));
	seq |= 1;
	ck_assert_int_eq(pwrite(fd, &seq, sizeof(seq), at), sizeof(seq));
	close(fd);
}

START_TEST(test_adopt_and_second_writer)
{
	struct segw_meta mt = meta_valid_for(600);
	struct segw w2;
	struct seg_slot s;
	char err[256], out[TMAX + 1], path[512];
	size_t len;
	uint32_t idx, idx2;
	struct stat st;

	ck_assert_int_eq(segw_assign(&w, "keep", &idx), 0);
	ck_assert_int_eq(segw_publish(&w, idx, "kept-token", 10, &mt), 0);
	/* A second daemon on the same directory is refused. */
	ck_assert_int_eq(segw_open(&w2, dir, 64, TMAX, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "another tokencached"));
	/* Leave without retiring; a new writer adopts the tokens. */
	segw_close(&w, 0);
	ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)), 0);
	ck_assert_int_eq(w.adopted, 1);
	ck_assert_int_eq(segw_find(&w, "keep", &idx2), 0);
	ck_assert_uint_eq(idx2, idx);
	ck_assert_int_eq(segw_read_token(&w, idx2, out, sizeof(out), &len,
	    &s), 0);
	ck_assert_str_eq(out, "kept-token");
	/* A daemon that died mid-write: the torn slot keeps its name and
	 * becomes TS_LOST; its neighbours are adopted as they were. */
	{
		struct seg_slot *ls = (struct seg_slot *)(void *)(w.base +
		    w.view.hdr.slots_offset + (size_t)idx * w.view.hdr.slot_size);
		uint32_t idx3;

		ck_assert_int_eq(segw_assign(&w, "other", &idx3), 0);
		ck_assert_int_eq(segw_publish(&w, idx3, "other-token", 11, &mt),
		    0);
		(void)ls;
		tear_file_slot(idx);
		segw_close(&w, 0);
		ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)),
		    0);
		ck_assert_int_eq(segw_find(&w, "keep", &idx2), 0);
		ck_assert_int_eq(segw_read(&w, idx2, &s), 0);
		ck_assert_uint_eq(s.state, TS_LOST);
		ck_assert_uint_eq(s.ct_len, 0);
		ck_assert_ptr_nonnull(strstr(s.error, "died"));
		ck_assert_int_eq(segw_find(&w, "other", &idx3), 0);
		ck_assert_int_eq(segw_read_token(&w, idx3, out, sizeof(out),
		    &len, &s), 0);
		ck_assert_str_eq(out, "other-token");
	}
	/* Another geometry cannot adopt: the old file is moved aside. */
	segw_close(&w, 0);
	ck_assert_int_eq(segw_open(&w, dir, 32, TMAX, err, sizeof(err)), 0);
	ck_assert_int_eq(w.adopted, 0);
	ck_assert_int_eq(segw_find(&w, "keep", &idx2), -1);
	snprintf(path, sizeof(path), "%s/%s.old", dir, SEG_FILE_NAME);
	ck_assert_int_eq(stat(path, &st), 0);
}
END_TEST


/* The live segment: sealed, read-only for readers, not a file anyone can
 * truncate under them. */
START_TEST(test_live_segment_sealed)
{
	struct stat st;
	int seals = fcntl(w.fd, F_GET_SEALS);

	ck_assert_int_eq(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
	    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	ck_assert_int_eq(fcntl(w.ro_fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert_int_eq(fstat(w.ro_fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0444);
	ck_assert_uint_eq((size_t)st.st_size, w.size);
	/* Nobody, not even the daemon, can change its size. */
	ck_assert_int_eq(ftruncate(w.fd, 0), -1);
	ck_assert_int_eq(ftruncate(w.fd, (off_t)w.size * 2), -1);
	ck_assert_int_eq(fcntl(w.fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	/* A reader cannot map it writable. */
	ck_assert_ptr_eq(mmap(NULL, w.size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    w.ro_fd, 0), MAP_FAILED);
}
END_TEST

/* A sealed memfd holding a copy of n bytes of the live segment, then
 * edited by edit(). */
static int
fake_segment(size_t n, unsigned int seals, void (*edit)(unsigned char *))
{
	unsigned char *p;
	int fd = memfd_create("fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)n), 0);
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	memcpy(p, w.base, n < w.size ? n : w.size);
	if (edit != NULL)
		edit(p);
	munmap(p, n);
	if (seals != 0)
		ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

static void
bad_magic(unsigned char *p)
{
	((struct seg_header *)(void *)p)->magic ^= 1;
}

static int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

START_TEST(test_map_fd_refuses)
{
	struct seg_map m;
	char path[512];
	int fd;

	/* The real thing. */
	fd = fake_segment(w.size, F_SEAL_SHRINK | F_SEAL_GROW, NULL);
	ck_assert_int_eq(seg_map_fd(&m, fd), 0);
	seg_map_close(&m);
	/* No seals: someone could truncate it under us. */
	fd = fake_segment(w.size, 0, NULL);
	ck_assert_int_eq(seg_map_fd(&m, fd), TC_ECORRUPT);
	ck_assert(!fd_is_open(fd));	/* taken over, closed */
	/* Only one of the two. */
	fd = fake_segment(w.size, F_SEAL_SHRINK, NULL);
	ck_assert_int_eq(seg_map_fd(&m, fd), TC_ECORRUPT);
	/* Larger or smaller than its header says. */
	fd = fake_segment(w.size + 4096, F_SEAL_SHRINK | F_SEAL_GROW, NULL);
	ck_assert_int_eq(seg_map_fd(&m, fd), TC_ECORRUPT);
	fd = fake_segment(w.size - 64, F_SEAL_SHRINK | F_SEAL_GROW, NULL);
	ck_assert_int_eq(seg_map_fd(&m, fd), TC_ECORRUPT);
	/* A bad header. */
	fd = fake_segment(w.size, F_SEAL_SHRINK | F_SEAL_GROW, bad_magic);
	ck_assert_int_eq(seg_map_fd(&m, fd), TC_ECORRUPT);
	/* A plain file, even a perfect copy: not sealable. */
	snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME);
	ck_assert_int_ge(fd = open(path, O_RDONLY | O_CLOEXEC), 0);
	ck_assert_int_eq(seg_map_fd(&m, fd), TC_ECORRUPT);
	ck_assert(!fd_is_open(fd));
}
END_TEST

/* The persistent copy follows every change, and a new daemon builds a new
 * memfd (new instance_id) from it. */
START_TEST(test_persistent_copy_roundtrip)
{
	struct segw_meta mt = meta_valid_for(600);
	struct seg_map f;
	struct seg_slot s;
	uint8_t id[16], old_id[16];
	char out[TMAX + 1], err[256];
	size_t len;
	uint32_t idx, got;

	ck_assert_int_eq(segw_assign(&w, "kept", &idx), 0);
	ck_assert_int_eq(segw_publish(&w, idx, "persisted-token", 15, &mt), 0);
	ck_assert_int_eq(segw_rotate(&w), 0);
	ck_assert_int_eq(seg_file_load(&f, dir), 0);
	ck_assert_int_eq(memcmp(f.base, w.base, w.size), 0);
	ck_assert_uint_eq(f.hdr.key_epoch, 2);
	ck_assert_int_eq(seg_lookup(&f, "kept", 4, &got, &s), 0);
	ck_assert_int_eq(read_token(&f, got, out, sizeof(out), &len, &s), 0);
	ck_assert_str_eq(out, "persisted-token");
	seg_map_close(&f);
	ck_assert_int_eq(seg_file_instance(dir, id), 0);
	ck_assert_int_eq(memcmp(id, w.view.hdr.instance_id, 16), 0);
	memcpy(old_id, id, 16);
	segw_close(&w, 0);
	ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)), 0);
	ck_assert_int_eq(w.adopted, 1);
	ck_assert_int_ne(memcmp(w.view.hdr.instance_id, old_id, 16), 0);
	ck_assert_int_eq(seg_file_instance(dir, id), 0);
	ck_assert_int_eq(memcmp(id, w.view.hdr.instance_id, 16), 0);
	ck_assert_int_eq(segw_find(&w, "kept", &got), 0);
	ck_assert_int_eq(segw_read_token(&w, got, out, sizeof(out), &len, &s),
	    0);
	ck_assert_str_eq(out, "persisted-token");
	ck_assert_uint_eq(w.epoch, 2);
}
END_TEST

/*
 * Minor 2 keeps each slot's boot-clock plan in the last 32 bytes of what
 * was a 256-byte error field.  It is written and read back exactly; in a
 * segment of an older minor those bytes mean nothing, so readers see zero
 * there, and a daemon adopting such a copy clears them and writes its own
 * minor.  The error text reads the same in both.
 */
START_TEST(test_plan_minor2)
{
	struct segw_meta mt = meta_valid_for(600);
	struct seg_plan plan = { 111, 222, 333, SEG_PLAN_OVERLOADED, 0 };
	struct seg_header *h;
	struct seg_slot s, *live;
	struct seg_map f;
	unsigned char *p;
	size_t size;
	char err[256];
	uint32_t idx, got;

	ck_assert_int_eq(segw_assign(&w, "planned", &idx), 0);
	mt.plan.fetched_boot_ns = 11;
	mt.plan.next_boot_ns = 22;
	ck_assert_int_eq(segw_publish(&w, idx, "tok", 3, &mt), 0);
	ck_assert_int_eq(segw_read(&w, idx, &s), 0);
	ck_assert_int_eq(s.plan.fetched_boot_ns, 11);
	ck_assert_int_eq(s.plan.next_boot_ns, 22);
	segw_set_status(&w, idx, TS_VALID, "HTTP 429", 1, 429, 1, 2);
	segw_set_plan(&w, idx, &plan);
	ck_assert_int_eq(seg_file_load(&f, dir), 0);
	ck_assert_uint_eq(f.hdr.minor, SEG_MINOR);
	ck_assert_int_eq(seg_lookup(&f, "planned", 7, &got, &s), 0);
	ck_assert_int_eq(memcmp(&s.plan, &plan, sizeof(plan)), 0);
	ck_assert_str_eq(s.error, "HTTP 429");
	seg_map_close(&f);
	segw_close(&w, 0);

	/* The same copy as a minor-1 daemon would have left it, with
	 * bytes after the error's NUL that were never cleared. */
	p = map_file_rw(&size);
	h = (struct seg_header *)(void *)p;
	h->minor = 1;
	live = (struct seg_slot *)(void *)(p + h->slots_offset +
	    (size_t)idx * h->slot_size);
	memset(&live->plan, 0x5a, sizeof(live->plan));
	munmap(p, size);
	ck_assert_int_eq(seg_file_load(&f, dir), 0);
	ck_assert_int_eq(seg_lookup(&f, "planned", 7, &got, &s), 0);
	ck_assert_int_eq(s.plan.next_boot_ns, 0);
	ck_assert_int_eq(s.plan.not_before_boot_ns, 0);
	ck_assert_uint_eq(s.plan.flags, 0);
	ck_assert_str_eq(s.error, "HTTP 429");
	seg_map_close(&f);

	ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)), 0);
	ck_assert_int_eq(w.adopted, 1);
	ck_assert_uint_eq(w.view.hdr.minor, SEG_MINOR);
	ck_assert_int_eq(segw_find(&w, "planned", &got), 0);
	live = (struct seg_slot *)(void *)(w.base + w.view.hdr.slots_offset +
	    (size_t)got * w.view.hdr.slot_size);
	ck_assert_int_eq(live->plan.next_boot_ns, 0);
	ck_assert_uint_eq(live->plan.failure_class, SEG_FAILURE_UNKNOWN);
	ck_assert_int_eq(segw_read(&w, got, &s), 0);
	ck_assert_str_eq(s.error, "HTTP 429");
}
END_TEST

/*
 * Review 4: a failure is recorded in one store, status and plan together
 * (a daemon killed between two stores left the failures with the old
 * plan: a retry at once inside Retry-After), with the request's id when
 * the slot has no token; a token's id stays the one that got it.
 */
START_TEST(test_set_failure_one_store)
{
	struct segw_meta mt = meta_valid_for(600);
	struct seg_plan plan = { 0, 7000, 9000, 0, 0 };
	uint8_t rid_a[16], rid_b[16];
	struct seg_slot s;
	uint64_t seq;
	uint32_t idx;

	memset(rid_a, 0xa1, sizeof(rid_a));
	memset(rid_b, 0xb2, sizeof(rid_b));
	ck_assert_int_eq(segw_assign(&w, "failing", &idx), 0);
	ck_assert_int_eq(segw_read(&w, idx, &s), 0);
	seq = s.seq;
	segw_set_failure(&w, idx, TS_FAILED, "HTTP 429", 2, 429, 10, 30,
	    &plan, rid_b, 0);
	ck_assert_int_eq(segw_read(&w, idx, &s), 0);
	ck_assert_uint_eq(s.seq, seq + 2);	/* one store */
	ck_assert_uint_eq(s.failures, 2);
	ck_assert_uint_eq(s.http_status, 429);
	ck_assert_str_eq(s.error, "HTTP 429");
	ck_assert_int_eq(s.plan.next_boot_ns, 7000);
	ck_assert_int_eq(s.plan.not_before_boot_ns, 9000);
	ck_assert_int_eq(memcmp(s.request_id, rid_b, 16), 0);

	mt.request_id = rid_a;
	ck_assert_int_eq(segw_publish(&w, idx, "tok", 3, &mt), 0);
	segw_set_failure(&w, idx, TS_VALID, "HTTP 503", 1, 503, 11, 31,
	    &plan, rid_b, 0);
	ck_assert_int_eq(segw_read(&w, idx, &s), 0);
	ck_assert_uint_eq(s.failures, 1);
	ck_assert_int_eq(memcmp(s.request_id, rid_a, 16), 0);
	ck_assert_uint_ne(s.ct_len, 0);
}
END_TEST

/*
 * Issue 9: the class of a failure is kept in the slot, as tok_parse()
 * judged the reply, status and body.  A 200 whose body says
 * invalid_client is permanent when fetched; a restarted daemon used to
 * judge the adopted slot from the HTTP status alone (transient, then),
 * and likewise a 400 temporarily_unavailable (permanent, then) and a
 * redirect (transient).  A slot that an older daemon wrote, with no
 * class, is judged as that daemon did; a new plan keeps the class.
 */
START_TEST(test_failure_class_survives_restart)
{
	static const struct {
		long status;
		const char *body;
		enum tok_outcome want;
	} cases[] = {
		{ 200, "{\"error\":\"invalid_client\"}", TOK_PERMANENT },
		{ 400, "{\"error\":\"temporarily_unavailable\"}", TOK_TRANSIENT },
		{ 302, "", TOK_PERMANENT },
		{ 503, "{\"error\":\"server_error\"}", TOK_TRANSIENT },
		{ 401, "{\"error\":\"invalid_client\"}", TOK_PERMANENT },
	};
	const struct tok_limits lim = { TMAX, 3600, 86400 };
	struct seg_plan plan = { 0, 7000, 0, 0, 0 };
	struct tok_result t;
	struct seg_slot s;
	char err[256], name[16];
	uint8_t rid[16];
	uint32_t idx, old_idx, i;

	memset(rid, 0x5a, sizeof(rid));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(tok_parse(cases[i].body, strlen(cases[i].body),
		    cases[i].status, (int64_t)time(NULL), &lim, &t),
		    cases[i].want);
		snprintf(name, sizeof(name), "c%u", i);
		ck_assert_int_eq(segw_assign(&w, name, &idx), 0);
		segw_set_failure(&w, idx, TS_FAILED, t.error, 3,
		    (uint32_t)cases[i].status, 10, 30, &plan, rid,
		    t.outcome == TOK_PERMANENT);
		tok_result_clear(&t);
	}
	/* A slot as a daemon that kept no class left it. */
	ck_assert_int_eq(segw_assign(&w, "old401", &old_idx), 0);
	segw_set_status(&w, old_idx, TS_FAILED, "invalid_client", 1, 401,
	    10, 30);
	ck_assert_int_eq(segw_read(&w, old_idx, &s), 0);
	ck_assert_uint_eq(s.plan.failure_class, SEG_FAILURE_UNKNOWN);
	/* A new plan (an endpoint's hold) leaves the class alone. */
	ck_assert_int_eq(segw_find(&w, "c0", &idx), 0);
	plan.not_before_boot_ns = 9000;
	segw_set_plan(&w, idx, &plan);

	/* The daemon restarts and adopts the persistent copy. */
	segw_close(&w, 0);
	ck_assert_msg(segw_open(&w, dir, 64, TMAX, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(w.adopted, 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "c%u", i);
		ck_assert_int_eq(segw_find(&w, name, &idx), 0);
		ck_assert_int_eq(segw_read(&w, idx, &s), 0);
		ck_assert_uint_eq(s.failures, 3);
		ck_assert_msg(segw_failure_permanent(&s) ==
		    (cases[i].want == TOK_PERMANENT), "HTTP %ld %s read back "
		    "as %s", cases[i].status, cases[i].body,
		    segw_failure_permanent(&s) ? "permanent" : "transient");
	}
	ck_assert_int_eq(segw_find(&w, "c0", &idx), 0);
	ck_assert_int_eq(segw_read(&w, idx, &s), 0);
	ck_assert_int_eq(s.plan.not_before_boot_ns, 9000);
	ck_assert_int_eq(segw_find(&w, "old401", &old_idx), 0);
	ck_assert_int_eq(segw_read(&w, old_idx, &s), 0);
	ck_assert_int_eq(segw_failure_permanent(&s), 1);
	s.http_status = 503;
	ck_assert_int_eq(segw_failure_permanent(&s), 0);
	s.http_status = 429;
	ck_assert_int_eq(segw_failure_permanent(&s), 0);
	/* A published token ends the failures, and their class. */
	{
		struct segw_meta mt = meta_valid_for(600);

		ck_assert_int_eq(segw_find(&w, "c0", &idx), 0);
		ck_assert_int_eq(segw_publish(&w, idx, "tok", 3, &mt), 0);
		ck_assert_int_eq(segw_read(&w, idx, &s), 0);
		ck_assert_uint_eq(s.failures, 0);
		ck_assert_uint_eq(s.plan.failure_class, SEG_FAILURE_UNKNOWN);
	}
}
END_TEST

static off_t
file_size(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The daemon's tick repairs a persistent copy truncated, deleted or
 * replaced under it, and keeps the bad one as cache.old. */
START_TEST(test_check_file_repairs)
{
	struct segw_meta mt = meta_valid_for(600);
	struct seg_map f;
	char path[512], cmd[4096];
	uint32_t idx;

	ck_assert_int_eq(segw_assign(&w, "c", &idx), 0);
	ck_assert_int_eq(segw_publish(&w, idx, "tok", 3, &mt), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME);
	ck_assert_int_eq(segw_check_file(&w), 0);
	/* Truncated. */
	ck_assert_int_eq(truncate(path, 100), 0);
	ck_assert_int_eq(seg_file_load(&f, dir), TC_ECORRUPT);
	ck_assert_int_eq(segw_check_file(&w), 1);
	ck_assert_int_eq(file_size(SEG_FILE_NAME), (off_t)w.size);
	ck_assert_int_eq(file_size(SEG_FILE_NAME ".old"), 100);
	ck_assert_int_eq(seg_file_load(&f, dir), 0);
	ck_assert_int_eq(memcmp(f.base, w.base, w.size), 0);
	seg_map_close(&f);
	/* Deleted. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(segw_check_file(&w), 1);
	ck_assert_int_eq(file_size(SEG_FILE_NAME), (off_t)w.size);
	/* Replaced with garbage of the right size. */
	snprintf(cmd, sizeof(cmd), "head -c %zu /dev/urandom > '%s.x' && "
	    "mv '%s.x' '%s'", w.size, path, path, path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(segw_check_file(&w), 1);
	ck_assert_int_eq(file_size(SEG_FILE_NAME ".old"), (off_t)w.size);
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s.old'", path, path);
	ck_assert_int_ne(system(cmd), 0);
	/* Garbage written into it in place (same inode). */
	snprintf(cmd, sizeof(cmd), "dd if=/dev/urandom of='%s' bs=64 count=1 "
	    "conv=notrunc status=none", path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(segw_check_file(&w), 1);
	ck_assert_int_eq(seg_file_load(&f, dir), 0);
	seg_map_close(&f);
	/* Later writes go to the new copy. */
	ck_assert_int_eq(segw_publish(&w, idx, "tok2", 4, &mt), 0);
	ck_assert_int_eq(seg_file_load(&f, dir), 0);
	ck_assert_int_eq(memcmp(f.base, w.base, w.size), 0);
	seg_map_close(&f);
	ck_assert_int_eq(segw_check_file(&w), 0);
}
END_TEST

/* A corrupt persistent copy is not adopted: kept as cache.old, fresh
 * segment. */
START_TEST(test_corrupt_copy_not_adopted)
{
	char path[512], err[256];
	uint32_t idx;

	ck_assert_int_eq(segw_assign(&w, "c", &idx), 0);
	segw_close(&w, 0);
	snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME);
	ck_assert_int_eq(truncate(path, 1000), 0);
	ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)), 0);
	ck_assert_int_eq(w.adopted, 0);
	ck_assert_int_eq(segw_find(&w, "c", &idx), -1);
	ck_assert_int_eq(file_size(SEG_FILE_NAME ".old"), 1000);
	ck_assert_int_eq(file_size(SEG_FILE_NAME), (off_t)w.size);
}
END_TEST

/* A copy made in another boot is not adopted: its CLOCK_BOOTTIME
 * deadlines mean nothing now. */
START_TEST(test_other_boot_not_adopted)
{
	uint8_t other[16];
	char path[512], err[256];
	uint32_t idx;
	int fd;

	ck_assert_int_eq(segw_assign(&w, "b", &idx), 0);
	segw_close(&w, 0);
	snprintf(path, sizeof(path), "%s/%s", dir, SEG_FILE_NAME);
	/* The same boot: adopted. */
	ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)), 0);
	ck_assert_int_eq(w.adopted, 1);
	segw_close(&w, 0);
	memset(other, 0xa5, sizeof(other));
	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CLOEXEC), -1);
	ck_assert_int_eq(pwrite(fd, other, sizeof(other),
	    (off_t)offsetof(struct seg_header, boot_id)), (ssize_t)sizeof(other));
	close(fd);
	ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)), 0);
	ck_assert_int_eq(w.adopted, 0);
	ck_assert_int_eq(segw_find(&w, "b", &idx), -1);
	ck_assert_int_eq(file_size(SEG_FILE_NAME ".old"), (off_t)w.size);
	/* The new segment carries this boot's id. */
	ck_assert_int_ne(memcmp(w.view.hdr.boot_id, other, sizeof(other)), 0);
}
END_TEST

START_TEST(test_retire)
{
	struct seg_map m;
	char err[256];

	ck_assert_int_eq(map_live(&m), 0);
	segw_close(&w, 1);
	ck_assert_uint_eq(seg_live_status(&m), SEG_RETIRED);
	seg_map_close(&m);
	ck_assert_int_eq(seg_file_load(&m, dir), TC_ENOCACHE);
	ck_assert_int_eq(segw_open(&w, dir, 64, TMAX, err, sizeof(err)), 0);
}
END_TEST

/*
 * The seqlock under load: one writer republishes as fast as it can, each
 * token derived from its generation; readers on their own mappings must
 * never accept a token that does not match the generation it came with.
 */
#define READERS 6
static atomic_int stop_flag;
static uint32_t race_idx;

static void
token_for(uint64_t gen, char *buf, size_t *len)
{
	size_t n = 100 + (gen * 37) % 3000, i;

	for (i = 0; i < n; i++)
		buf[i] = (char)('A' + (gen + i) % 26);
	buf[n] = '\0';
	*len = n;
}

struct reader_stats {
	long good;
	long wrong;
	long busy;
};

static void *
reader(void *arg)
{
	struct reader_stats *st = arg;
	struct seg_map m;
	struct seg_slot s;
	char out[TMAX + 1], want[TMAX + 1];
	size_t len, wlen;
	int r;

	if (map_live(&m) != 0) {
		st->wrong++;
		return NULL;
	}
	while (!atomic_load(&stop_flag)) {
		r = read_token(&m, race_idx, out, sizeof(out), &len, &s);
		if (r == TC_EBUSY) {
			st->busy++;
			continue;
		}
		if (r != 0) {
			st->wrong++;
			continue;
		}
		/* generation g was published with token_for(g). */
		token_for(s.generation, want, &wlen);
		if (len == wlen && memcmp(out, want, len) == 0)
			st->good++;
		else
			st->wrong++;
	}
	seg_map_close(&m);
	return NULL;
}

START_TEST(test_seqlock_concurrent)
{
	struct segw_meta mt = meta_valid_for(600);
	struct reader_stats st[READERS];
	pthread_t th[READERS];
	struct seg_slot s;
	char tok[TMAX + 1];
	size_t len;
	long good = 0, wrong = 0;
	int i, n;

	ck_assert_int_eq(segw_assign(&w, "race", &race_idx), 0);
	ck_assert_int_eq(segw_read(&w, race_idx, &s), 0);
	token_for(s.generation + 1, tok, &len);
	ck_assert_int_eq(segw_publish(&w, race_idx, tok, len, &mt), 0);
	memset(st, 0, sizeof(st));
	atomic_store(&stop_flag, 0);
	for (i = 0; i < READERS; i++)
		pthread_create(&th[i], NULL, reader, &st[i]);
	for (n = 0; n < 20000; n++) {
		ck_assert_int_eq(segw_read(&w, race_idx, &s), 0);
		token_for(s.generation + 1, tok, &len);
		ck_assert_int_eq(segw_publish(&w, race_idx, tok, len, &mt), 0);
	}
	atomic_store(&stop_flag, 1);
	for (i = 0; i < READERS; i++) {
		pthread_join(th[i], NULL);
		good += st[i].good;
		wrong += st[i].wrong;
	}
	ck_assert_int_eq(wrong, 0);
	ck_assert_int_gt(good, 0);
}
END_TEST

static Suite *
seg_suite(void)
{
	Suite *s = suite_create("segment");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_file_modes);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_assign_lookup_release);
	tcase_add_test(tc, test_full_table);
	tcase_add_test(tc, test_publish_roundtrip_and_ciphertext_only);
	tcase_add_test(tc, test_publish_refuses_bad_bytes);
	tcase_add_test(tc, test_associated_data_binds);
	tcase_add_test(tc, test_corrupt_header);
	tcase_add_test(tc, test_truncated_and_missing);
	tcase_add_test(tc, test_corrupt_slot);
	tcase_add_test(tc, test_adopt_and_second_writer);
	tcase_add_test(tc, test_retire);
	tcase_add_test(tc, test_live_segment_sealed);
	tcase_add_test(tc, test_map_fd_refuses);
	tcase_add_test(tc, test_persistent_copy_roundtrip);
	tcase_add_test(tc, test_plan_minor2);
	tcase_add_test(tc, test_set_failure_one_store);
	tcase_add_test(tc, test_failure_class_survives_restart);
	tcase_add_test(tc, test_check_file_repairs);
	tcase_add_test(tc, test_corrupt_copy_not_adopted);
	tcase_add_test(tc, test_other_boot_not_adopted);
	tcase_add_test(tc, test_seqlock_concurrent);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(seg_suite());
}
