/*
 * segmap.c - which segment the handle reads: mapping the daemon's live
 * segment (with the first key, in one round trip), noticing that the
 * daemon moved on to another one, and leaving the old one so that threads
 * still reading it without the lock never fault.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client_int.h"

/*
 * We leave the segment: e's slot index and sequence mean nothing in the
 * next one.  The token stays, marked stale: refresh_entry() decrypts anew
 * from the next segment before trusting its metadata, and until then it
 * is what a slot the daemon lost falls back on (own_copy_valid).
 */
static void
entry_leave_segment(struct centry *e)
{
	e->have_slot = 0;
	e->seq = 0;
	e->stale = 1;
}

/*
 * Stop reading the segment we map (retired, or replaced under us).  Other
 * threads may be reading its slot and header words without the lock, on
 * their hot path, through their copies.  So the range is not unmapped but
 * replaced in place, atomically, by zero pages: such a reader sees
 * sequence 0 and status 0, never a fault, and takes the slow path.  The
 * segment's own pages are released now; the address range at tc_close().
 *
 * ThreadSanitizer takes that mmap() for a plain write racing with the
 * readers' atomic loads.  A load racing with the kernel replacing the page
 * it reads gets the old word or the new zero, never a torn one; but to
 * keep its reports meaningful, its builds leave the old pages mapped.
 * Readers then see the segment marked retired (or, if it was replaced
 * without being retired, unchanged until their copies expire, as they
 * would in a single thread).
 */
void
segmap_leave(tc_client *c)
{
	struct parked *p;
	size_t i;

	for (i = 0; c->entries.slot != NULL && i <= c->entries.mask; i++)
		if (c->entries.slot[i] != NULL)
			entry_leave_segment(c->entries.slot[i]);
	free(c->ct);
	c->ct = NULL;
	if (!c->mapped)
		return;
	p = c->spare;		/* segmap_ensure() made sure of it */
	c->spare = NULL;
	p->base = (void *)c->map.base;
	p->size = c->map.size;
#ifndef TC_THREAD_SANITIZER
	/* Should this fail, the old segment stays mapped: still harmless. */
	(void)mmap(p->base, p->size, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
#endif
	p->next = c->parked;
	c->parked = p;
	c->map.base = NULL;	/* so that seg_map_close() leaves it */
	seg_map_close(&c->map);
	c->mapped = 0;
}

/* See proto.h. */
int
seg_map_from_daemon(const char *dir, int timeout_ms, struct seg_map *m)
{
	struct proto_req req;
	struct proto_resp resp;
	int r, fd = -1;

	if ((r = proto_req_init(&req, PROTO_OP_SEGMENT, NULL, 0)) != 0)
		return r;
	if ((r = proto_call_fd(dir, &req, &resp, timeout_ms, &fd)) != 0)
		return r;
	if (resp.status != 0) {
		if (fd != -1)
			close(fd);	/* none is due with an error */
		return resp.status;
	}
	return seg_map_fd(m, fd);
}

/* Read m from now on (closed on failure); the segment we map, if any, is
 * left as segmap_leave() leaves it. */
static int
install_map(tc_client *c, struct seg_map *m)
{
	struct parked *p = NULL;
	unsigned char *ct;
	size_t ctcap = ((size_t)m->hdr.token_max + SEG_MAC_BYTES + 7) &
	    ~(size_t)7;

	/* Everything allocated first: out of memory changes nothing. */
	if ((c->mapped || c->spare == NULL) &&
	    (p = malloc(sizeof(*p))) == NULL) {
		seg_map_close(m);
		return TC_ENOMEM;
	}
	if ((ct = malloc(ctcap)) == NULL) {
		free(p);
		seg_map_close(m);
		return TC_ENOMEM;
	}
	segmap_leave(c);	/* takes c->spare if mapped */
	if (c->spare == NULL)
		c->spare = p;
	else
		free(p);
	c->ct = ct;
	c->map = *m;
	c->mapped = 1;
	c->next_check_ns = coarse_mono_ns() + SEG_CHECK_NS;
	return 0;
}

/*
 * Has the daemon moved on to another live segment (it was restarted, so
 * the memfd we map is a dead daemon's, or it retired ours)?  The
 * persistent copy's header names the live segment; if it names another
 * one, or cannot be read, the daemon has the last word: if it hands over a
 * segment other than ours, read that one from now on.  A few system calls,
 * so only asked on the slow path.  Returns 1 if we switched.  Without a
 * daemon we keep what we map: its tokens stay good until they expire.
 */
int
segmap_switch(tc_client *c, const char *name, size_t len, int have_token)
{
	struct seg_map m;
	struct seg_slot s;
	uint8_t id[sizeof(c->map.hdr.instance_id)];
	uint32_t idx;
	int64_t now = coarse_mono_ns();

	if (!c->mapped)
		return 0;
	if (seg_file_instance(c->dir, id) == 0 &&
	    memcmp(id, c->map.hdr.instance_id, sizeof(id)) == 0) {
		c->next_check_ns = now + SEG_CHECK_NS;
		return 0;
	}
	/* Ask the daemon at most every SEG_CHECK_NS, even for a name that
	 * keeps failing: a loop of reads must not turn into a loop of
	 * round trips (and into the daemon's per-user rate limit). */
	if (now < c->next_daemon_ns)
		return 0;
	c->next_check_ns = c->next_daemon_ns = now + SEG_CHECK_NS;
	if (seg_map_from_daemon(c->dir, KEY_CALL_MS, &m) != 0)
		return 0;
	if (memcmp(m.hdr.instance_id, c->map.hdr.instance_id,
	    sizeof(id)) == 0) {
		seg_map_close(&m);
		return 0;
	}
	/*
	 * A valid token in hand stays in hand while the new segment has
	 * none yet for this name (a daemon that could not adopt the old
	 * segment and has not fetched yet, maybe because its token service
	 * is down): move over once it has one, or once ours is gone.  Not
	 * so for a name the new daemon does not know, or whose token it
	 * dropped on purpose (an error says why): those answers count.
	 */
	if (have_token && seg_lookup(&m, name, len, &idx, &s) == 0 &&
	    s.ct_len == 0 && s.state == TS_PENDING && s.error[0] == '\0') {
		seg_map_close(&m);
		return 0;
	}
	return install_map(c, &m) == 0;
}

/*
 * Map the segment, or a new one if the daemon retired the one we have.
 * That takes the daemon, and name's key will be wanted next, so one round
 * trip (PROTO_OP_OPEN) brings both: the segment for anyone, the key if the
 * daemon gives it.  Without the key (denied, no such credential), the entry
 * asks again in refresh_entry(), which reports why.
 */
int
segmap_ensure(tc_client *c, const char *name, size_t len, uint64_t h)
{
	struct proto_req req;
	struct proto_resp resp;
	struct seg_map m;
	struct centry *e;
	int r, fd = -1;

	if (c->mapped) {
		if (seg_live_status(&c->map) == SEG_ALIVE)
			return 0;
		segmap_leave(c);
	}
	if ((r = proto_req_init(&req, PROTO_OP_OPEN, name, 0)) != 0)
		return r;
	/* The cache is the daemon's to hand out: without a daemon there
	 * is none for us (tc_get_wait then says TC_ENODAEMON). */
	if ((r = proto_call_fd(c->dir, &req, &resp, KEY_CALL_MS, &fd)) != 0)
		return r == TC_ENODAEMON ? TC_ENOCACHE : r;
	/*
	 * The segment comes with every answer but those that refuse us
	 * before the daemon looked at the request: rate limited (TC_EBUSY),
	 * or denied while rate limited (TC_EACCES).  Those say why.
	 */
	if (fd == -1)
		r = resp.status != 0 ? resp.status : TC_EPROTO;
	else if ((r = seg_map_fd(&m, fd)) == 0 &&
	    (r = install_map(c, &m)) == 0 && resp.status == 0 &&
	    ((e = entry_find(c, name, len, h)) != NULL ||
	    (e = entry_add(c, name, len, h)) != NULL)) {
		memcpy(e->key, resp.key, SEG_KEY_BYTES);
		e->key_epoch = resp.key_epoch;
		e->have_key = 1;
	}
	sodium_memzero(&resp, sizeof(resp));
	return r;
}
