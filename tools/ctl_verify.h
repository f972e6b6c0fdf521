/*
 * ctl_verify.h - the checks behind `tokencachectl verify`, on bytes alone.
 *
 * ctl_verify_segment() judges a segment image (the persistent copy read
 * into memory, or the live memfd mapped read-only) and says, in words an
 * operator can act on, what is wrong with it.  It reads nothing but the
 * buffer it is given, never writes to it, and never copies a token, a
 * ciphertext byte or an error text into a finding: only names that pass
 * seg_name_valid(), slot numbers and numeric fields.  Any bytes at all may
 * be given (tests/fuzz/fuzz_verify.c).  Not installed.
 */
#ifndef TC_CTL_VERIFY_H
#define TC_CTL_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "seg.h"

#define CTL_V_PROBLEM  1     /* inconsistent: verify exits 1 */
#define CTL_V_NOTE     2     /* worth knowing, not wrong */

#define CTL_V_NOSLOT   UINT32_MAX
#define CTL_V_TEXT     240

/* The boot clock and the wall clock may drift apart by this much (a
 * clock set by hand, NTP stepping it) before a slot's two expiry times
 * are reported as disagreeing. */
#define CTL_V_CLOCK_SLACK_S 600

struct ctl_vfinding {
	int level;                /* CTL_V_* */
	uint32_t slot;            /* CTL_V_NOSLOT: the header or the whole */
	char text[CTL_V_TEXT];
};

struct ctl_vopts {
	const uint8_t *boot_id;   /* this boot's, 16 bytes; NULL: unknown */
	int64_t now_wall;         /* Unix time */
	int64_t now_boot_ns;      /* CLOCK_BOOTTIME */
	int seq_tries;            /* seqlock reads per slot (>= 1); 1 for a
	                           * private copy, which cannot change */
};

struct ctl_vresult {
	struct ctl_vfinding *findings;
	size_t nfindings, cap;
	size_t nproblems, nnotes;
	int oom;                  /* findings were lost to memory */
	int header_ok;            /* hdr is valid: geometry can be trusted */
	int same_boot;            /* boot ids equal (or either unknown) */
	struct seg_header hdr;    /* as read, valid only if header_ok */
	uint32_t nused, nreleased, nempty, ntorn;
	char (*names)[SEG_NAME_FIELD]; /* the valid names in used slots */
	uint32_t *name_slots;     /* their slots */
	size_t nnames;            /* sorted by name */
};

/*
 * Check the size bytes at buf (8-byte aligned; else one problem is
 * reported) as a segment of this format: header, geometry against size,
 * every slot (sequence, use, state, name, lengths, expiry), tombstones,
 * probe sequences and duplicate names.  Fills *out (free it with
 * ctl_vresult_free, also on failure).  0, or -1 if memory ran out
 * (out->oom; the findings so far stay).
 */
int ctl_verify_segment(const unsigned char *buf, size_t size,
    const struct ctl_vopts *o, struct ctl_vresult *out);

/*
 * What a persistent copy and the live segment that should be its
 * original disagree on (instance, geometry, the set of names), appended
 * to *out as problems.  Both must have header_ok.
 */
int ctl_verify_compare(const struct ctl_vresult *copy,
    const struct ctl_vresult *live, struct ctl_vresult *out);

/* Add a finding (printf-style); -1 if memory ran out. */
int ctl_vresult_add(struct ctl_vresult *r, int level, uint32_t slot,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void ctl_vresult_free(struct ctl_vresult *r);

#endif
