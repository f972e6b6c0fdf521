/*
 * seg_write.h - the writer half of the segment (daemon only).
 *
 * Made of seg_file.c (the segment's life: lock, master key, memfd, the
 * persistent copy, building and adopting), seg_slot.c (what is written
 * into the slots) and seg_store.c (the seqlock writer every slot write
 * goes through); seg_write_int.h is what they share.
 */
#ifndef TC_SEG_WRITE_H
#define TC_SEG_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "seg.h"
#include "seg_key.h"

struct segw {
	char *dir;
	int lock_fd;
	int fd;                    /* the live segment, a sealed memfd */
	int ro_fd;                 /* a read-only open of it, for readers */
	int write_sealed;          /* F_SEAL_FUTURE_WRITE took */
	int file_fd;               /* the persistent copy, runtime_dir/cache */
	uint64_t file_dev, file_ino; /* what file_fd is */
	int file_bad;              /* a write to the copy failed */
	unsigned file_failures;    /* checks in a row that could not mend it */
	unsigned char *base;       /* writable mapping of fd */
	size_t size;
	struct seg_map view;       /* the same mapping, for the reader code */
	unsigned char *master;     /* sodium_malloc'd master key */
	uint64_t epoch;
	int adopted;               /* 1 if an existing segment was taken over */
	int crash_mid_publish;     /* test hook, see segw_open(); the
	                            * fields stay in every build, so that
	                            * test and installed objects agree on
	                            * the layout */
	char crash_name[SEG_NAME_FIELD]; /* only for this credential */
	unsigned char *ctbuf;      /* segw_read_token's scratch (token_max
	                            * + MAC, made by segw_open: the local
	                            * endpoint reads a token per request):
	                            * a slot's ciphertext, which the segment
	                            * shows anyone anyway */
};

/* What one publish writes beside the token. */
struct segw_meta {
	const char *token_type;
	int64_t expires_at;        /* Unix time */
	int64_t expires_boot_ns;   /* CLOCK_BOOTTIME deadline */
	int64_t fetched_at;
	int64_t next_refresh_at;
	const uint8_t *request_id; /* 16 bytes, see segw_request_hash() */
	struct seg_plan plan;      /* boot-clock plan, written as it is */
};

/*
 * Take the runtime directory: prepare it for this process's user
 * (runtime_dir_prepare()), lock it against a second daemon, load or
 * create the master key, then build the live segment (a new sealed
 * memfd) from the persistent copy a previous
 * daemon left if it is sound, matches nslots and token_max and was made
 * with the same master key (it is adopted), else empty (a copy that is
 * there but unusable is kept as cache.old), and write a new persistent
 * copy.  In a test build (-DTC_TEST_HOOKS), with
 * TOKENCACHE_TEST_CRASH=publish in the environment (for the kill tests),
 * the process kills itself halfway through writing a token;
 * with publish:NAME, only NAME's.  On failure returns
 * -1 with a message in err (size errlen) and changes nothing a running
 * daemon depends on.
 */
int segw_open(struct segw *w, const char *dir, uint32_t nslots,
    uint32_t token_max, char *err, size_t errlen);

/*
 * Leave the runtime directory.  retire != 0 marks the segment retired and
 * removes its persistent copy (readers notice and fail over); otherwise the
 * copy stays for the next daemon to adopt and readers keep reading valid
 * tokens from the memfd they map.
 */
void segw_close(struct segw *w, int retire);

/*
 * Is the persistent copy still ours and whole?  Deleted, replaced,
 * truncated or a header that differs from the memfd's: the bad file is
 * kept as cache.old (not a deleted one) and a new copy written from the
 * memfd; a failed write earlier: a new copy too.  Logged.  0 if it was
 * fine, 1 if repaired, -1 if it could not be.  An lstat and a pread when
 * all is well: meant for the daemon's periodic tick.
 */
int segw_check_file(struct segw *w);

/* Record the calling process as the daemon in the header (after fork). */
void segw_set_pid(struct segw *w);

/* Slot holding name, taking a free one if needed.  -1 if the table is full. */
int segw_assign(struct segw *w, const char *name, uint32_t *idx);

/* Slot holding name, or -1 if none. */
int segw_find(struct segw *w, const char *name, uint32_t *idx);

/* Free a slot: its token is wiped and lookups no longer find it. */
void segw_release(struct segw *w, uint32_t idx);

/* Seal token under the slot's key and publish it with meta.  State becomes
 * TS_VALID, failures and error are reset.  TC_EBADTOKEN if the token or
 * meta->token_type has a byte outside 0x21-0x7E (seg_token_valid), -1 if
 * the token does not fit or memory runs out; the slot is unchanged then. */
int segw_publish(struct segw *w, uint32_t idx, const char *token,
    size_t len, const struct segw_meta *meta);

/* The same without the byte rule, for tests that play a hostile daemon
 * (tests/unit/keysrv.h, tests/integration/fakedaemon.c); tokencached
 * publishes through segw_publish only. */
int segw_publish_unchecked(struct segw *w, uint32_t idx, const char *token,
    size_t len, const struct segw_meta *meta);

/*
 * Start a new key epoch and re-seal every token under it.  Readers holding
 * an older key must ask the daemon for the new one, which re-checks their
 * access.  Returns the number of slots whose token could not be re-sealed
 * (it was dropped: the slot is TS_PENDING again), or -1 on failure.
 */
int segw_rotate(struct segw *w);

/* Drop the token in slot idx: state TS_PENDING, error set to why. */
void segw_drop_token(struct segw *w, uint32_t idx, const char *why);

/* Record the outcome of a fetch that published nothing.  The token, if
 * any, stays as it is. */
void segw_set_status(struct segw *w, uint32_t idx, uint32_t state,
    const char *error, uint32_t failures, uint32_t http_status,
    int64_t last_attempt_at, int64_t next_refresh_at);

/*
 * A failed fetch, in one store (a daemon killed between two stores would
 * leave the failures with the old plan): segw_set_status's fields and the
 * boot-clock plan; request_id too when the slot holds no token (a token's
 * stays the one of the request that got it), so that a restarted daemon
 * whose request changed meanwhile does not adopt the old server's plan;
 * and the failure's class (permanent nonzero: as tok_parse() judged the
 * reply), which a restarted daemon reads back with segw_failure_permanent().
 */
void segw_set_failure(struct segw *w, uint32_t idx, uint32_t state,
    const char *error, uint32_t failures, uint32_t http_status,
    int64_t last_attempt_at, int64_t next_refresh_at,
    const struct seg_plan *plan, const uint8_t request_id[16],
    int permanent);

/*
 * 1 if the failure a slot records (s->failures > 0) is permanent: the
 * class segw_set_failure() kept (its `permanent`), or, in a slot written
 * by a daemon that kept none, the judgement such a daemon made from the
 * HTTP status alone (4xx other than 408 and 429).
 */
int segw_failure_permanent(const struct seg_slot *s);

/* Replace the boot-clock plan of slot idx (a no-op if unchanged). */
void segw_set_plan(struct segw *w, uint32_t idx, const struct seg_plan *plan);

/* Change only the state of slot idx. */
void segw_set_state(struct segw *w, uint32_t idx, uint32_t state);

/* Consistent copy of a slot's metadata. */
int segw_read(struct segw *w, uint32_t idx, struct seg_slot *out);

/* The token currently in slot idx, decrypted into out (capacity cap). */
int segw_read_token(struct segw *w, uint32_t idx, char *out, size_t cap,
    size_t *len, struct seg_slot *meta);

/*
 * A hash of a token request, keyed with (a subkey of) the master key so
 * that the segment's readers cannot test guesses of a secret against it.
 * Start with segw_request_hash_init(), feed every field, finish with
 * crypto_generichash_final(st, out, 16).
 */
void segw_request_hash_init(struct segw *w, crypto_generichash_state *st);

/* The key a reader needs for name at the current epoch. */
void segw_key_for(struct segw *w, const char *name,
    unsigned char key[SEG_KEY_BYTES], uint64_t *epoch);

/* Slots in use whose names are not in keep(name) == 1 are released. */
void segw_release_unless(struct segw *w, int (*keep)(const char *, void *),
    void *arg);

#endif /* TC_SEG_WRITE_H */
