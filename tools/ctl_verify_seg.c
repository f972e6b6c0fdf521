/*
 * ctl_verify_seg.c - `tokencachectl verify` on a buffer: the checks,
 * with no input or output of their own (ctl_verify.h), so that the unit
 * tests and the fuzz target can give them any bytes.
 *
 * What "consistent" means comes from the reader (seg.c) and the writer
 * (provider/seg_slot.c, seg_store.c, seg_file.c): what seg_header_check
 * demands of a header, what seg_read_slot demands of a slot, what
 * seg_lookup needs of a probe sequence (no never-used slot between a
 * name's home and its slot), and what the writer always leaves behind (a
 * released slot wiped, a never-used slot all zeros, a name NUL-ended in
 * its field).  Each check is one finding in words; none stops the others
 * but a header whose geometry cannot be trusted, since without it there
 * are no slots to look at.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_verify.h"
#include "nsec.h"
#include "seg.h"
#include "tokencache.h"

int
ctl_vresult_add(struct ctl_vresult *r, int level, uint32_t slot,
    const char *fmt, ...)
{
	struct ctl_vfinding *f;
	va_list ap;
	size_t cap;

	if (r->nfindings == r->cap) {
		cap = r->cap ? r->cap * 2 : 16;
		if ((f = reallocarray(r->findings, cap, sizeof(*f))) == NULL) {
			r->oom = 1;
			return -1;
		}
		r->findings = f;
		r->cap = cap;
	}
	f = &r->findings[r->nfindings++];
	f->level = level;
	f->slot = slot;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
	if (level == CTL_V_PROBLEM)
		r->nproblems++;
	else
		r->nnotes++;
	return 0;
}

void
ctl_vresult_free(struct ctl_vresult *r)
{
	if (r == NULL)
		return;
	free(r->findings);
	free(r->names);
	free(r->name_slots);
	memset(r, 0, sizeof(*r));
}

#define PROBLEM(r, slot, ...) ctl_vresult_add((r), CTL_V_PROBLEM, (slot), \
    __VA_ARGS__)
#define NOTE(r, slot, ...) ctl_vresult_add((r), CTL_V_NOTE, (slot), \
    __VA_ARGS__)

/*
 * The header, field by field, in the order seg_header_check() takes them
 * but with a word for each.  1 if the geometry can be trusted (the slots
 * can be walked, possibly fewer than nslots if the buffer is short).
 */
static int
check_header(const struct seg_header *h, size_t size,
    const struct ctl_vopts *o, struct ctl_vresult *r)
{
	uint64_t need;
	int good = 1;

	if (h->magic != SEG_MAGIC) {
		PROBLEM(r, CTL_V_NOSLOT, "header: magic is 0x%016llx, not "
		    "0x%016llx (\"KTCACHE1\"): this is not a tokencache "
		    "segment, or its first bytes were overwritten",
		    (unsigned long long)h->magic,
		    (unsigned long long)SEG_MAGIC);
		return 0;
	}
	if (h->major != SEG_MAJOR) {
		PROBLEM(r, CTL_V_NOSLOT, "header: format version %u.%u; this "
		    "tool reads major %u only: use the tokencachectl of the "
		    "daemon that wrote it", (unsigned)h->major,
		    (unsigned)h->minor, (unsigned)SEG_MAJOR);
		return 0;
	}
	if (h->minor > SEG_MINOR)
		NOTE(r, CTL_V_NOSLOT, "header: format minor %u is newer than "
		    "this tool's %u: fields it does not know are not checked",
		    (unsigned)h->minor, (unsigned)SEG_MINOR);
	if (h->header_size != sizeof(struct seg_header) ||
	    h->slots_offset != sizeof(struct seg_header)) {
		PROBLEM(r, CTL_V_NOSLOT, "header: header_size %u and "
		    "slots_offset %llu, both should be %zu",
		    (unsigned)h->header_size,
		    (unsigned long long)h->slots_offset,
		    sizeof(struct seg_header));
		good = 0;
	}
	if (h->token_max < SEG_TOKEN_MIN || h->token_max > SEG_TOKEN_MAX) {
		PROBLEM(r, CTL_V_NOSLOT, "header: token_max %u is outside "
		    "%u..%u", (unsigned)h->token_max, (unsigned)SEG_TOKEN_MIN,
		    (unsigned)SEG_TOKEN_MAX);
		good = 0;
	} else if (h->slot_size != seg_slot_size(h->token_max)) {
		PROBLEM(r, CTL_V_NOSLOT, "header: slot_size %u does not match "
		    "token_max %u (it should be %zu)", (unsigned)h->slot_size,
		    (unsigned)h->token_max, seg_slot_size(h->token_max));
		good = 0;
	}
	if (h->nslots == 0 || h->nslots > SEG_SLOTS_MAX) {
		PROBLEM(r, CTL_V_NOSLOT, "header: nslots %u is outside 1..%u",
		    (unsigned)h->nslots, (unsigned)SEG_SLOTS_MAX);
		good = 0;
	}
	if (!good)
		return 0;
	/* Cannot overflow: both factors are bounded above. */
	need = h->slots_offset + (uint64_t)h->nslots * h->slot_size;
	if (h->file_size != need) {
		PROBLEM(r, CTL_V_NOSLOT, "header: file_size %llu, but %u "
		    "slots of %u bytes after the header make %llu",
		    (unsigned long long)h->file_size, (unsigned)h->nslots,
		    (unsigned)h->slot_size, (unsigned long long)need);
	}
	if ((uint64_t)size < need)
		PROBLEM(r, CTL_V_NOSLOT, "size: %zu bytes, but the header's "
		    "geometry needs %llu: truncated (slots past the end are "
		    "not checked)", size, (unsigned long long)need);
	else if ((uint64_t)size > need)
		PROBLEM(r, CTL_V_NOSLOT, "size: %zu bytes, %llu more than the "
		    "header's geometry: trailing bytes no reader looks at",
		    size, (unsigned long long)(size - need));
	if (h->status == SEG_RETIRED)
		PROBLEM(r, CTL_V_NOSLOT, "header: status retired: the daemon "
		    "that wrote it has replaced or removed it, and readers "
		    "ignore it");
	else if (h->status != SEG_ALIVE)
		PROBLEM(r, CTL_V_NOSLOT, "header: unknown status %llu (1 "
		    "alive, 2 retired)", (unsigned long long)h->status);
	if (h->key_epoch == 0)
		NOTE(r, CTL_V_NOSLOT, "header: key epoch 0");
	r->same_boot = 1;
	if (o->boot_id != NULL) {
		static const uint8_t zero[16];

		if (memcmp(h->boot_id, zero, sizeof(zero)) == 0) {
			NOTE(r, CTL_V_NOSLOT, "header: no boot id recorded: "
			    "boot-clock deadlines are not compared with the "
			    "wall clock");
			r->same_boot = 0;
		} else if (memcmp(h->boot_id, o->boot_id, 16) != 0) {
			NOTE(r, CTL_V_NOSLOT, "header: written in an earlier "
			    "boot (another boot id): its boot-clock deadlines "
			    "mean nothing now, and a daemon starting now "
			    "adopts no token from it");
			r->same_boot = 0;
		}
	}
	return 1;
}

/* A seqlock-consistent copy of the slot at p, tried o->seq_tries times;
 * 0, or -1 if seq stayed odd or kept changing (*seq: the last seen). */
static int
read_slot(const unsigned char *p, const struct ctl_vopts *o,
    struct seg_slot *out, uint64_t *seq)
{
	const struct seg_slot *live = (const void *)p;
	uint64_t s1 = 0, s2;
	int tries, max = o->seq_tries > 0 ? o->seq_tries : 1;

	for (tries = 0; tries < max; tries++) {
		if (tries > 0)
			sched_yield();
		s1 = __atomic_load_n(&live->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		seg_copy_live(out, live, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&live->seq, __ATOMIC_RELAXED);
		if (s1 == s2) {
			*seq = s1;
			return 0;
		}
	}
	*seq = s1;
	return -1;
}

static int
field_has_nul(const char *f, size_t n)
{
	return memchr(f, 0, n) != NULL;
}

/* The token type is written through seg_token_valid(): visible ASCII. */
static int
type_printable(const char *t)
{
	size_t n = strnlen(t, SEG_TYPE_FIELD);

	return seg_token_valid(t, n) == 0;
}

/* What a used slot must hold.  The name is checked by the caller. */
static void
check_used(const struct seg_header *h, uint32_t i, const struct seg_slot *s,
    const struct ctl_vopts *o, struct ctl_vresult *r)
{
	size_t ct_cap = (size_t)h->token_max + SEG_MAC_BYTES;
	int known_minor = h->minor <= SEG_MINOR;
	int has_plan;

	if (s->state < TS_PENDING || s->state > TS_LOST)
		PROBLEM(r, i, "slot %u: unknown state %u (1..5 are pending, "
		    "valid, failed, expired, lost)", (unsigned)i,
		    (unsigned)s->state);
	if (s->ct_len > ct_cap)
		PROBLEM(r, i, "slot %u: ciphertext length %u exceeds the "
		    "slot's %zu bytes: readers refuse the slot",
		    (unsigned)i, (unsigned)s->ct_len, ct_cap);
	else if (s->ct_len != 0 && s->ct_len <= SEG_MAC_BYTES)
		PROBLEM(r, i, "slot %u: ciphertext length %u is too short "
		    "to hold a token (the tag alone is %u bytes)",
		    (unsigned)i, (unsigned)s->ct_len,
		    (unsigned)SEG_MAC_BYTES);
	if (s->state == TS_VALID && s->ct_len == 0)
		PROBLEM(r, i, "slot %u: state valid but no token stored",
		    (unsigned)i);
	if (!field_has_nul(s->token_type, SEG_TYPE_FIELD))
		PROBLEM(r, i, "slot %u: token type not NUL-terminated in "
		    "its %u-byte field", (unsigned)i,
		    (unsigned)SEG_TYPE_FIELD);
	else if (!type_printable(s->token_type))
		PROBLEM(r, i, "slot %u: token type holds bytes outside "
		    "0x21-0x7e", (unsigned)i);
	if (s->http_status != 0 && (s->http_status < 100 ||
	    s->http_status > 599))
		PROBLEM(r, i, "slot %u: last HTTP status %u is not one",
		    (unsigned)i, (unsigned)s->http_status);
	if (s->ct_len != 0 && s->key_epoch > h->key_epoch)
		PROBLEM(r, i, "slot %u: token sealed under key epoch %llu, "
		    "after the header's %llu", (unsigned)i,
		    (unsigned long long)s->key_epoch,
		    (unsigned long long)h->key_epoch);
	/* The plan is there only in a minor-2 slot whose error text
	 * ended inside the minor-2 field (seg_read_slot). */
	has_plan = h->minor >= 2 && field_has_nul(s->error, SEG_SLOT_ERROR);
	if (has_plan && known_minor &&
	    s->plan.failure_class > SEG_FAILURE_PERMANENT)
		PROBLEM(r, i, "slot %u: unknown failure class %u",
		    (unsigned)i, (unsigned)s->plan.failure_class);
	if (has_plan && known_minor &&
	    (s->plan.flags & ~(uint32_t)SEG_PLAN_OVERLOADED) != 0)
		PROBLEM(r, i, "slot %u: unknown plan flags 0x%x",
		    (unsigned)i, (unsigned)s->plan.flags);
	if (s->ct_len == 0)
		return;
	/* A token: its two expiry times, as segw_publish wrote them. */
	if (s->expires_at <= 0 || s->expires_boot_ns <= 0) {
		PROBLEM(r, i, "slot %u: holds a token but its expiry is "
		    "unset (expires_at %lld, boot deadline %lld ns)",
		    (unsigned)i, (long long)s->expires_at,
		    (long long)s->expires_boot_ns);
		return;
	}
	if (s->fetched_at > s->expires_at)
		PROBLEM(r, i, "slot %u: token fetched at %lld, after it "
		    "expires at %lld", (unsigned)i,
		    (long long)s->fetched_at, (long long)s->expires_at);
	if (r->same_boot) {
		int64_t wall_left = s->expires_at - o->now_wall;
		int64_t boot_left = (s->expires_boot_ns - o->now_boot_ns) /
		    NS_PER_S;
		int64_t d = wall_left - boot_left;

		if (d > CTL_V_CLOCK_SLACK_S || d < -CTL_V_CLOCK_SLACK_S)
			PROBLEM(r, i, "slot %u: its wall-clock expiry leaves "
			    "%lld s and its boot-clock deadline %lld s: they "
			    "disagree by more than %d s (the wall clock was "
			    "set since, or the slot is damaged)", (unsigned)i,
			    (long long)wall_left, (long long)boot_left,
			    CTL_V_CLOCK_SLACK_S);
	}
}

/* A never-used or released slot: the writer leaves it blank. */
static void
check_free(uint32_t i, const struct seg_slot *s, struct ctl_vresult *r)
{
	const char *what = s->use == SLOT_EMPTY ? "never-used" : "released";

	if (s->name_len != 0 || s->name[0] != '\0')
		PROBLEM(r, i, "slot %u: %s but still carries a name (%u bytes)",
		    (unsigned)i, what, (unsigned)s->name_len);
	if (s->ct_len != 0)
		PROBLEM(r, i, "slot %u: %s but still holds %u bytes of "
		    "ciphertext: a token that was not wiped", (unsigned)i,
		    what, (unsigned)s->ct_len);
	if (s->state != 0)
		PROBLEM(r, i, "slot %u: %s but has state %u", (unsigned)i,
		    what, (unsigned)s->state);
	if (s->use == SLOT_EMPTY && s->generation != 0)
		PROBLEM(r, i, "slot %u: never-used but at generation %llu: a "
		    "used slot must be released (2), not emptied, or the "
		    "names after it become unreachable", (unsigned)i,
		    (unsigned long long)s->generation);
}

/* Describe why name (name_len bytes claimed) is not a valid name. */
static void
check_name(uint32_t i, const struct seg_slot *s, struct ctl_vresult *r,
    int *valid)
{
	size_t k;

	*valid = 0;
	if (s->name_len == 0) {
		PROBLEM(r, i, "slot %u: in use but its name is empty",
		    (unsigned)i);
		return;
	}
	if (s->name_len > TC_NAME_MAX) {
		PROBLEM(r, i, "slot %u: name length %u exceeds the %u bytes "
		    "its field holds: readers refuse the slot", (unsigned)i,
		    (unsigned)s->name_len, (unsigned)TC_NAME_MAX);
		return;
	}
	if (s->name[s->name_len] != '\0') {
		PROBLEM(r, i, "slot %u: name is longer than its recorded "
		    "length %u (no NUL after it)", (unsigned)i,
		    (unsigned)s->name_len);
		return;
	}
	if (seg_name_valid(s->name, s->name_len) != 0) {
		for (k = 0; k < s->name_len; k++) {
			unsigned char ch = (unsigned char)s->name[k];

			if (ch == '\0' || strchr("._~@+-", ch) == NULL) {
				if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z')
					continue;
				if (ch >= '0' && ch <= '9')
					continue;
				break;
			}
		}
		if (k == s->name_len)
			PROBLEM(r, i, "slot %u: name starts with '.', which no "
			    "credential name may", (unsigned)i);
		else
			PROBLEM(r, i, "slot %u: name of %u bytes is not a "
			    "valid credential name (byte %zu is 0x%02x)",
			    (unsigned)i, (unsigned)s->name_len, k,
			    (unsigned)(unsigned char)s->name[k]);
		return;
	}
	*valid = 1;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct named {
	char name[SEG_NAME_FIELD];
	uint32_t slot;
};

static int
compare_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/*
 * seg_lookup walks from a name's home slot (seg_hash % nslots) and stops
 * at the first never-used slot.  A name behind one is lost to readers
 * although the daemon's table still holds it.  empties[k] counts the
 * never-used slots before k, so that each check is O(1).
 */
static void
check_probes(const struct seg_header *h, const struct named *v, size_t n,
    const uint32_t *empties, uint32_t nslots, struct ctl_vresult *r)
{
	size_t k;

	for (k = 0; k < n; k++) {
		uint32_t at = v[k].slot, home, between;
		size_t len = strlen(v[k].name);

		home = (uint32_t)(seg_hash(v[k].name, len) % h->nslots);
		if (home >= nslots)
			continue;	/* truncated: its home is not here */
		if (home <= at)
			between = empties[at] - empties[home];
		else
			between = (empties[nslots] - empties[home]) +
			    empties[at];
		if (between != 0)
			PROBLEM(r, at, "slot %u: \"%s\" is unreachable: its "
			    "probe sequence starts at slot %u and crosses %u "
			    "never-used slot(s), where lookups stop",
			    (unsigned)at, v[k].name, (unsigned)home,
			    (unsigned)between);
	}
}

int
ctl_verify_segment(const unsigned char *buf, size_t size,
    const struct ctl_vopts *o, struct ctl_vresult *out)
{
	struct seg_header h;
	struct seg_slot s;
	struct named *v = NULL;
	uint32_t *empties = NULL, i, nslots;
	size_t nv = 0, k;
	uint64_t seq;
	int valid;

	memset(out, 0, sizeof(*out));
	if (((uintptr_t)buf & 7) != 0) {
		PROBLEM(out, CTL_V_NOSLOT, "internal: buffer not 8-byte "
		    "aligned");
		goto out;
	}
	if (size < sizeof(h)) {
		PROBLEM(out, CTL_V_NOSLOT, "size: %zu bytes, shorter than the "
		    "%zu-byte header: truncated or not a segment", size,
		    sizeof(h));
		goto out;
	}
	seg_copy_live(&h, buf, sizeof(h));
	if (!check_header(&h, size, o, out))
		goto out;
	out->header_ok = 1;
	out->hdr = h;
	/* Only the slots wholly inside the buffer, whatever file_size says:
	 * the geometry is what readers index with. */
	nslots = h.nslots;
	if ((uint64_t)size < h.slots_offset + (uint64_t)h.nslots * h.slot_size)
		nslots = (uint32_t)((size - h.slots_offset) / h.slot_size);
	if ((v = calloc((size_t)nslots + 1, sizeof(*v))) == NULL ||
	    (empties = calloc((size_t)nslots + 1, sizeof(*empties))) == NULL) {
		out->oom = 1;
		goto out;
	}
	for (i = 0; i < nslots; i++) {
		const unsigned char *p = buf + h.slots_offset +
		    (size_t)i * h.slot_size;

		empties[i + 1] = empties[i];
		if (read_slot(p, o, &s, &seq) != 0) {
			out->ntorn++;
			PROBLEM(out, i, "slot %u: sequence number %llu %s: a "
			    "write in progress, or a daemon that died writing "
			    "it (the next daemon marks its token lost)",
			    (unsigned)i, (unsigned long long)seq,
			    o->seq_tries > 1 ? "stayed odd or kept changing" :
			    "is odd");
			continue;
		}
		switch (s.use) {
		case SLOT_EMPTY:
			out->nempty++;
			empties[i + 1]++;
			check_free(i, &s, out);
			break;
		case SLOT_RELEASED:
			out->nreleased++;
			check_free(i, &s, out);
			break;
		case SLOT_USED:
			out->nused++;
			check_name(i, &s, out, &valid);
			if (valid) {
				memcpy(v[nv].name, s.name, s.name_len);
				v[nv].name[s.name_len] = '\0';
				v[nv].slot = i;
				nv++;
			}
			check_used(&h, i, &s, o, out);
			break;
		default:
			PROBLEM(out, i, "slot %u: unknown use %u (0 never used, "
			    "1 used, 2 released)", (unsigned)i,
			    (unsigned)s.use);
			break;
		}
	}
	/* A name's home is its hash modulo nslots: with nslots in doubt,
	 * every name would look misplaced. */
	if (h.file_size == h.slots_offset + (uint64_t)h.nslots * h.slot_size &&
	    nslots == h.nslots)
		check_probes(&h, v, nv, empties, nslots, out);
	else
		NOTE(out, CTL_V_NOSLOT, "probe sequences not checked: the "
		    "header's slot count disagrees with the file's size");
	if (nv > 1)
		qsort(v, nv, sizeof(*v), compare_named);
	for (k = 1; k < nv; k++)
		if (strcmp(v[k - 1].name, v[k].name) == 0)
			PROBLEM(out, v[k].slot, "slot %u: \"%s\" is also in "
			    "slot %u: lookups find only the first on its "
			    "probe sequence", (unsigned)v[k].slot, v[k].name,
			    (unsigned)v[k - 1].slot);
	if (nv > 0) {
		out->names = calloc(nv, sizeof(*out->names));
		out->name_slots = calloc(nv, sizeof(*out->name_slots));
		if (out->names == NULL || out->name_slots == NULL) {
			out->oom = 1;
			goto out;
		}
		for (k = 0; k < nv; k++) {
			memcpy(out->names[k], v[k].name, SEG_NAME_FIELD);
			out->name_slots[k] = v[k].slot;
		}
		out->nnames = nv;
	}
 out:
	free(v);
	free(empties);
	return out->oom ? -1 : 0;
}

int
ctl_verify_compare(const struct ctl_vresult *copy,
    const struct ctl_vresult *live, struct ctl_vresult *out)
{
	const struct seg_header *a = &copy->hdr, *b = &live->hdr;
	size_t i = 0, j = 0;
	int c;

	if (!copy->header_ok || !live->header_ok)
		return 0;
	if (memcmp(a->instance_id, b->instance_id, sizeof(a->instance_id)))
		PROBLEM(out, CTL_V_NOSLOT, "copy and live segment: different "
		    "instance ids: the persistent copy is not the daemon's "
		    "current segment (left by another daemon, or replaced)");
	if (a->nslots != b->nslots || a->token_max != b->token_max ||
	    a->slot_size != b->slot_size)
		PROBLEM(out, CTL_V_NOSLOT, "copy and live segment: geometry "
		    "differs (copy %u slots of %u bytes for tokens up to %u, "
		    "live %u of %u for %u)", (unsigned)a->nslots,
		    (unsigned)a->slot_size, (unsigned)a->token_max,
		    (unsigned)b->nslots, (unsigned)b->slot_size,
		    (unsigned)b->token_max);
	if (a->key_epoch != b->key_epoch)
		PROBLEM(out, CTL_V_NOSLOT, "copy and live segment: key epoch "
		    "%llu in the copy, %llu live",
		    (unsigned long long)a->key_epoch,
		    (unsigned long long)b->key_epoch);
	while (i < copy->nnames || j < live->nnames) {
		if (i == copy->nnames)
			c = 1;
		else if (j == live->nnames)
			c = -1;
		else
			c = compare_names(copy->names[i], live->names[j]);
		if (c < 0) {
			PROBLEM(out, copy->name_slots[i], "copy: \"%s\" (slot "
			    "%u) is not in the live segment",
			    copy->names[i], (unsigned)copy->name_slots[i]);
			i++;
		} else if (c > 0) {
			PROBLEM(out, live->name_slots[j], "live: \"%s\" (slot "
			    "%u) is missing from the persistent copy",
			    live->names[j], (unsigned)live->name_slots[j]);
			j++;
		} else {
			if (copy->name_slots[i] != live->name_slots[j])
				PROBLEM(out, live->name_slots[j], "\"%s\" is in "
				    "slot %u of the copy but slot %u live",
				    live->names[j],
				    (unsigned)copy->name_slots[i],
				    (unsigned)live->name_slots[j]);
			i++;
			j++;
		}
	}
	return out->oom ? -1 : 0;
}
