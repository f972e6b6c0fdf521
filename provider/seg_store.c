/*
 * seg_store.c - the one way bytes reach a slot of the segment.
 *
 * The daemon is the only writer.  Every change to a slot goes through
 * slot_store(), which is the writer side of the seqlock described in seg.h:
 * make seq odd, release fence, store the words with relaxed atomics, store
 * the next even seq with release.
 *
 * Everything written to the live memfd is also written, with pwrite(), to
 * the persistent copy runtime_dir/cache, in an order that leaves a slot's
 * seq odd in the copy for as long as the copy may hold half of it: odd seq,
 * then the slot, then the even seq.  A daemon that dies at any point leaves
 * a copy whose slots are whole or visibly torn, and adoption turns a torn
 * one into TS_LOST (seg_file.c).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "seg_write_int.h"

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
void
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

void
persist_header(struct segw *w)
{
	persist_write(w, w->base, sizeof(struct seg_header), 0);
}

/*
 * Write meta (all but seq) and, if ct is not NULL, ctbytes (a multiple of
 * 8) of ciphertext area.  A reader that overlaps sees seq odd or changed
 * and retries.
 */
void
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
