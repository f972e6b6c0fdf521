/*
 * seg_slot.c - what the daemon writes into the slots: take and release a
 * credential's slot, publish (seal) a token, drop it, rotate the key,
 * record status, failure and plan; and read back a token or a key.  Every
 * write goes through slot_store() (seg_store.c).
 */
#include <stdlib.h>
#include <string.h>

#include "seg_write_int.h"
#include "tokencache.h"

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

/*
 * Every token the daemon publishes comes through here, whatever module
 * fetched it: one with a byte outside 0x21-0x7E (or such a token_type)
 * would reach a reader's HTTP header or terminal, so it is never
 * published (the library refuses one too; seg_token_valid is the one
 * rule for both).
 */
int
segw_publish(struct segw *w, uint32_t idx, const char *token, size_t len,
    const struct segw_meta *meta)
{
	if (seg_token_valid(token, len) != 0 || (meta->token_type != NULL &&
	    seg_token_valid(meta->token_type, strlen(meta->token_type)) != 0))
		return TC_EBADTOKEN;
	return segw_publish_unchecked(w, idx, token, len, meta);
}

int
segw_publish_unchecked(struct segw *w, uint32_t idx, const char *token,
    size_t len, const struct segw_meta *meta)
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
	s.plan.fetched_boot_ns = meta->plan.fetched_boot_ns;
	s.plan.next_boot_ns = meta->plan.next_boot_ns;
	s.plan.not_before_boot_ns = meta->plan.not_before_boot_ns;
	s.plan.flags = meta->plan.flags;
	s.plan.failure_class = SEG_FAILURE_UNKNOWN;
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
	persist_header(w);
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

/* The status fields segw_set_status() and segw_set_failure() write. */
static void
slot_status(struct seg_slot *s, uint32_t state, const char *error,
    uint32_t failures, uint32_t http_status, int64_t last_attempt_at,
    int64_t next_refresh_at)
{
	s->state = state;
	copy_field(s->error, sizeof(s->error), error);
	s->failures = failures;
	s->http_status = http_status;
	s->last_attempt_at = last_attempt_at;
	s->next_refresh_at = next_refresh_at;
	/* segw_set_failure() says which; a bare status does not. */
	s->plan.failure_class = SEG_FAILURE_UNKNOWN;
}

void
segw_set_status(struct segw *w, uint32_t idx, uint32_t state,
    const char *error, uint32_t failures, uint32_t http_status,
    int64_t last_attempt_at, int64_t next_refresh_at)
{
	struct seg_slot s;

	if (segw_read(w, idx, &s) != 0 || s.use != SLOT_USED)
		return;
	slot_status(&s, state, error, failures, http_status, last_attempt_at,
	    next_refresh_at);
	slot_store(w, idx, &s, NULL, 0);
}

void
segw_set_failure(struct segw *w, uint32_t idx, uint32_t state,
    const char *error, uint32_t failures, uint32_t http_status,
    int64_t last_attempt_at, int64_t next_refresh_at,
    const struct seg_plan *plan, const uint8_t request_id[16],
    int permanent)
{
	struct seg_slot s;

	if (segw_read(w, idx, &s) != 0 || s.use != SLOT_USED)
		return;
	slot_status(&s, state, error, failures, http_status, last_attempt_at,
	    next_refresh_at);
	s.plan = *plan;
	s.plan.failure_class = permanent ? SEG_FAILURE_PERMANENT :
	    SEG_FAILURE_TRANSIENT;
	/* A token's request_id stays the one that got it. */
	if (s.ct_len == 0)
		memcpy(s.request_id, request_id, sizeof(s.request_id));
	slot_store(w, idx, &s, NULL, 0);
}

void
segw_set_plan(struct segw *w, uint32_t idx, const struct seg_plan *plan)
{
	struct seg_slot s;
	struct seg_plan p = *plan;

	if (segw_read(w, idx, &s) != 0 || s.use != SLOT_USED)
		return;
	/* The plan, not the class of the failure it follows. */
	p.failure_class = s.plan.failure_class;
	if (memcmp(&s.plan, &p, sizeof(s.plan)) == 0)
		return;
	s.plan = p;
	slot_store(w, idx, &s, NULL, 0);
}

int
segw_failure_permanent(const struct seg_slot *s)
{
	switch (s->plan.failure_class) {
	case SEG_FAILURE_PERMANENT:
		return 1;
	case SEG_FAILURE_TRANSIENT:
		return 0;
	default:
		/* What the daemons that kept no class judged. */
		return s->http_status >= 400 && s->http_status < 500 &&
		    s->http_status != 408 && s->http_status != 429;
	}
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
	unsigned char key[SEG_KEY_BYTES];
	struct seg_slot s;
	int r;

	if ((r = seg_read_slot(&w->view, idx, &s, w->ctbuf)) != 0)
		return r;
	seg_derive_key(key, w->master, s.key_epoch, s.name, s.name_len);
	r = seg_open_token(&s, w->ctbuf, key, out, cap, len);
	sodium_memzero(key, sizeof(key));
	if (r == 0)
		*meta = s;
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
