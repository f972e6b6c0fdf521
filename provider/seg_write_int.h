/*
 * seg_write_int.h - what the segment writer's files share (seg_file.c,
 * seg_slot.c, seg_store.c); the rest of the daemon includes seg_write.h.
 */
#ifndef TC_SEG_WRITE_INT_H
#define TC_SEG_WRITE_INT_H

#include <string.h>

#include "seg_write.h"

static inline struct seg_header *
live_header(struct segw *w)
{
	return (struct seg_header *)(void *)w->base;
}

static inline struct seg_slot *
live_slot(struct segw *w, uint32_t idx)
{
	return (struct seg_slot *)(void *)(w->base + w->view.hdr.slots_offset +
	    (size_t)idx * w->view.hdr.slot_size);
}

/* Copy src into the fixed field dst, truncated, zero-filled to cap. */
static inline void
copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strnlen(src, cap - 1) : 0;

	memset(dst, 0, cap);
	if (n > 0)
		memcpy(dst, src, n);
}

/*
 * Write n bytes to the persistent copy at off.  A failure is remembered
 * in file_bad; the next segw_check_file() writes a whole new copy.
 */
void persist_write(struct segw *w, const void *buf, size_t n, size_t off);

/* Write the live header to the persistent copy. */
void persist_header(struct segw *w);

/*
 * Store meta (all but seq) and, if ct is not NULL, ctbytes (a multiple of
 * 8) of ciphertext into slot idx, as the seqlock writer, and mirror it to
 * the persistent copy so that the copy's slot reads torn until whole.
 */
void slot_store(struct segw *w, uint32_t idx, const struct seg_slot *meta,
    const unsigned char *ct, size_t ctbytes);

#endif
