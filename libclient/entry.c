/*
 * entry.c - the handle's entry cache: per credential read, the slot, its
 * sequence word as of the last decrypt, the key and the decrypted token;
 * bringing an entry up to date with its slot, and answering from it.
 * Everything here runs under the handle's mutex.
 */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

static void
entry_forget_slot(tc_client *c, struct centry *e)
{
	e->have_slot = 0;
	e->have_token = 0;
	e->seq = 0;
	cell_free(&c->secrets, e->token, e->token_cap);
	e->token = NULL;
	e->token_cap = 0;
	e->token_len = 0;
}

struct centry *
entry_find(tc_client *c, const char *name, size_t len, uint64_t h)
{
	struct centry *e;
	size_t i;

	if (c->entries.slot == NULL)
		return NULL;
	for (i = h & c->entries.mask; (e = c->entries.slot[i]) != NULL;
	    i = (i + 1) & c->entries.mask)
		if (e->hash == h && e->name_len == len &&
		    memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

static uint64_t
entry_hash(const void *p)
{
	return ((const struct centry *)p)->hash;
}

struct centry *
entry_add(tc_client *c, const char *name, size_t len, uint64_t h)
{
	struct centry *e;
	size_t cap;

	if (ptab_reserve(&c->entries, entry_hash) != 0)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->key = cell_alloc(&c->secrets, SEG_KEY_BYTES, &cap)) == NULL) {
		free(e);
		return NULL;
	}
	memcpy(e->name, name, len);
	e->name_len = len;
	e->hash = h;
	ptab_add(&c->entries, e, h);
	return e;
}

static int
fetch_key(tc_client *c, struct centry *e)
{
	struct proto_req req;
	struct proto_resp resp;
	int r;

	if ((r = proto_req_init(&req, PROTO_OP_KEY, e->name, 0)) != 0)
		return r;
	if ((r = proto_call(c->dir, &req, &resp, KEY_CALL_MS)) != 0)
		return r;
	if ((r = resp.status) == 0) {
		memcpy(e->key, resp.key, SEG_KEY_BYTES);
		e->key_epoch = resp.key_epoch;
		e->have_key = 1;
	}
	sodium_memzero(&resp, sizeof(resp));
	return r;
}

void
entry_fill_info(tc_token_info *info, const struct seg_slot *m, size_t len,
    int64_t now_boot)
{
	int64_t left = m->expires_boot_ns - now_boot;
	tc_token_info all;

	memset(&all, 0, sizeof(all));
	all.size = sizeof(all);
	all.expires_at = m->expires_at;
	all.expires_in_ms = left > 0 ? left / NS_PER_MS : 0;
	all.fetched_at = m->fetched_at;
	all.generation = m->generation;
	all.length = len;
	memcpy(all.token_type, m->token_type, sizeof(all.token_type));
	all.token_type[sizeof(all.token_type) - 1] = '\0';
	memcpy(all.error, m->error, sizeof(m->error));
	all.error[sizeof(m->error) - 1] = '\0';
	info_out(info, &all);
}

static int
no_token_code(const struct seg_slot *m)
{
	switch (m->state) {
	case TS_FAILED:
		return TC_EFAILED;
	case TS_EXPIRED:
		return TC_EEXPIRED;
	case TS_VALID:		/* valid but empty: the segment lies */
		return TC_ECORRUPT;
	default:
		return TC_ENOTOKEN;
	}
}

/* e holds a token this process decrypted, and it has not expired. */
static int
own_copy_valid(const struct centry *e)
{
	return e->have_token && e->meta.expires_boot_ns > seg_boottime_ns();
}

/*
 * Bring e up to date with its slot: find the slot, copy it, and decrypt
 * when the token changed.  Called with c->lock held.  Kept whole, over 80
 * lines: each step decides from the entry's state the step before left.
 */
static int
refresh_entry(tc_client *c, struct centry *e)
{
	struct seg_slot s;
	size_t need;
	int r, tries, fetched = 0;

	e->own_copy = 0;
	for (tries = 0; tries < 3; tries++) {
		if (!e->have_slot) {
			if ((r = seg_lookup(&c->map, e->name, e->name_len,
			    &e->idx, &s)) != 0)
				return r;
			e->have_slot = 1;
		}
		if ((r = seg_read_slot(&c->map, e->idx, &s, c->ct)) != 0) {
			/* Torn for good (the daemon died writing it): the
			 * copy we decrypted before stays good until it
			 * expires. */
			if (r == TC_EBUSY && own_copy_valid(e)) {
				e->own_copy = 1;
				return 0;
			}
			return r;
		}
		if (s.use != SLOT_USED || s.name_len != e->name_len ||
		    memcmp(s.name, e->name, e->name_len) != 0) {
			entry_forget_slot(c, e);	/* released or reused */
			continue;
		}
		/* The same after the daemon came back and found it torn. */
		if (s.ct_len == 0 && s.state == TS_LOST && own_copy_valid(e)) {
			e->own_copy = 1;
			return 0;
		}
		if (s.ct_len == 0) {
			e->have_token = 0;
			e->meta = s;
			e->seq = 0;
			return no_token_code(&s);
		}
		if (e->have_token && !e->stale &&
		    s.generation == e->meta.generation &&
		    s.key_epoch == e->meta.key_epoch) {
			/* Only the metadata changed: no decrypt needed. */
			e->meta = s;
			e->seq = s.seq;
			return 0;
		}
		if (!e->have_key || e->key_epoch != s.key_epoch) {
			if (fetched++ > 0)
				return TC_EDECRYPT;
			if ((r = fetch_key(c, e)) != 0)
				return r;
			continue;	/* the slot may have moved on meanwhile */
		}
		/* The token is decrypted in place: it is gone until it works. */
		e->have_token = 0;
		need = (size_t)s.ct_len - SEG_MAC_BYTES + 1;
		if (e->token_cap < need) {
			cell_free(&c->secrets, e->token, e->token_cap);
			e->token_cap = 0;
			if ((e->token = cell_alloc(&c->secrets, need,
			    &e->token_cap)) == NULL)
				return TC_ENOMEM;
		}
		r = seg_open_token(&s, c->ct, e->key, e->token, e->token_cap,
		    &e->token_len);
		if (r == TC_EDECRYPT && !fetched) {
			/* Maybe a new master key after a daemon restart. */
			e->have_key = 0;
			continue;
		}
		/* The daemon checked it too; a process that is not the
		 * daemon, or an OAuth server it trusted, must still never
		 * make us hand out a header line or a terminal escape. */
		if (r == 0 && (r = seg_token_valid(e->token,
		    e->token_len)) != 0)
			sodium_memzero(e->token, e->token_cap);
		if (r != 0)
			return r;
		e->have_token = 1;
		e->stale = 0;
		e->meta = s;
		e->seq = s.seq;
		return 0;
	}
	return TC_EBUSY;
}

static int
copy_out(const struct centry *e, char *buf, size_t buflen,
    tc_token_info *info, int64_t now)
{
	if (e->meta.expires_boot_ns <= now) {
		if (info != NULL)
			entry_fill_info(info, &e->meta, e->token_len, now);
		return TC_EEXPIRED;
	}
	if (buflen < e->token_len + 1) {
		if (info != NULL)
			entry_fill_info(info, &e->meta, e->token_len, now);
		return TC_ERANGE;
	}
	memcpy(buf, e->token, e->token_len + 1);
	if (info != NULL)
		entry_fill_info(info, &e->meta, e->token_len, now);
	return 0;
}

/* The token for name, through the handle's cache; *ep gets the entry
 * once there is one.  Called with c->lock held. */
int
entry_get_locked(tc_client *c, const char *name, size_t len, char *buf,
    size_t buflen, tc_token_info *info, struct centry **ep)
{
	struct centry *e;
	uint64_t h = name_hash(name, len);
	int r;

	if ((r = segmap_ensure(c, name, len, h)) != 0)
		return r;
	if ((e = entry_find(c, name, len, h)) == NULL &&
	    (e = entry_add(c, name, len, h)) == NULL)
		return TC_ENOMEM;
	*ep = e;
	/* The slot has not changed since we last copied it. */
	if (!(e->have_token && e->seq != 0 &&
	    __atomic_load_n(&seg_slot_at(&c->map, e->idx)->seq,
	    __ATOMIC_ACQUIRE) == e->seq)) {
		if ((r = refresh_entry(c, e)) != 0) {
			if (info != NULL && (r == TC_ENOTOKEN ||
			    r == TC_EFAILED || r == TC_EEXPIRED))
				entry_fill_info(info, &e->meta, 0,
				    seg_boottime_ns());
			return r;
		}
	}
	return copy_out(e, buf, buflen, info, seg_boottime_ns());
}
