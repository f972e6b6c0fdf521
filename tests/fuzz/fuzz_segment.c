/*
 * fuzz_segment.c - a shared segment as a reader sees it (outside input:
 * another process writes it).  The input is the file's contents; the
 * reader validates the header, then reads, looks up and decrypts slots.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seg.h"
#include "tokencache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[SEG_KEY_BYTES];
	struct seg_map m;
	struct seg_slot s;
	static const struct seg_plan zero_plan;
	const unsigned char *raw;
	unsigned char *base, *ct;
	char out[SEG_TOKEN_MAX + 1];
	size_t len;
	uint32_t i, idx;

	if (sodium_init() < 0 || size < sizeof(struct seg_header))
		return 0;
	/* An aligned private copy stands in for the mapping. */
	if ((base = aligned_alloc(64, (size + 63) & ~(size_t)63)) == NULL)
		abort();
	memcpy(base, data, size);
	memset(&m, 0, sizeof(m));
	m.fd = -1;
	m.base = base;
	m.size = size;
	seg_copy_live(&m.hdr, base, sizeof(m.hdr));
	if (seg_header_check(&m.hdr, size) != 0)
		goto out;
	ct = malloc(((size_t)m.hdr.token_max + SEG_MAC_BYTES + 7) & ~(size_t)7);
	if (ct == NULL)
		abort();
	for (i = 0; i < m.hdr.nslots && i < 64; i++) {
		if (seg_read_slot(&m, i, &s, ct) != 0)
			continue;
		if (s.name_len > TC_NAME_MAX)
			abort();
		/* The error text is always ended; a plan is read only from
		 * a minor-2 slot whose error held its NUL in the field that
		 * minor 2 left it (else a minor-1 writer's text fills it). */
		if (memchr(s.error, 0, sizeof(s.error)) == NULL)
			abort();
		raw = base + m.hdr.slots_offset + (size_t)i * m.hdr.slot_size +
		    offsetof(struct seg_slot, error);
		if ((m.hdr.minor < 2 || memchr(raw, 0, SEG_SLOT_ERROR) ==
		    NULL) && memcmp(&s.plan, &zero_plan, sizeof(zero_plan)))
			abort();
		(void)seg_open_token(&s, ct, key, out, sizeof(out), &len);
	}
	(void)seg_lookup(&m, "zeebe", 5, &idx, &s);
	free(ct);
 out:
	free(base);
	return 0;
}
