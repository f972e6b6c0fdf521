/*
 * seg.h - the shared-memory segment format (internal).
 *
 * One writer (tokencached), many readers (libtokencache).  The live
 * segment is a sealed memfd that the daemon maps read-write and hands to
 * readers, read-only, over the control socket (PROTO_OP_SEGMENT):
 *
 *   [struct seg_header][slot 0][slot 1] ... [slot nslots-1]
 *
 * Why a memfd and not a file: a reader that maps a file dies of SIGBUS when
 * anyone truncates the file under it, and the library may not install a
 * signal handler to survive that.  A memfd sealed with F_SEAL_SHRINK |
 * F_SEAL_GROW | F_SEAL_SEAL cannot change size, by anybody, for as long as
 * it exists, so a reader's mapping can never fault; readers check the seals
 * before they map (seg_map_fd).  F_SEAL_FUTURE_WRITE (where the kernel has
 * it) and a read-only descriptor keep readers from writing to it.
 *
 * The daemon also keeps a persistent copy in its runtime directory as
 * SEG_FILE_NAME, the same bytes, written with pwrite() after every change
 * and never mapped by anyone: it lets a restarted daemon adopt the tokens,
 * lets tokencachectl read the metadata without the daemon, and its header's
 * instance_id tells a reader, on its slow path, that the memfd it maps is
 * no longer the daemon's (seg_file_instance).
 *
 * All fields are fixed width, little-endian as the host (the segment never
 * leaves the host), and 8-byte aligned so that readers can copy them with
 * plain 64-bit atomic loads.  There are no pointers, only offsets, and a
 * reader checks every offset and length against the size it mapped.
 *
 * Slots are found by name through open addressing: a credential lives in
 * the first slot at or after seg_hash(name) % nslots (wrapping) that holds
 * its name; a never-used slot ends the search, a released one does not.
 *
 * Each slot is a seqlock (Boehm 2012, "Can seqlocks get along with
 * programming language memory models?"): the writer makes `seq` odd, issues
 * a release fence, writes the fields, then stores the next even value with
 * release.  A reader loads `seq` with acquire, copies the slot with relaxed
 * loads, issues an acquire fence, reloads `seq`; a copy is good only if both
 * loads saw the same even value.  Readers use only their copy, never the
 * live mapping, and never run libc string routines on it.
 *
 * The token is sealed with XChaCha20-Poly1305 under a key derived for the
 * credential; the name, generation, expiry, key epoch and token type are
 * bound as associated data, so a torn, moved or replayed slot fails to
 * decrypt rather than yielding a wrong token.
 */
#ifndef TC_SEG_H
#define TC_SEG_H

#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sodium.h>

#define SEG_FILE_NAME    "cache"
#define SEG_SOCKET_NAME  "socket"
#define SEG_SOCKET_TEMP  ".socket"   /* bound here, renamed once listening */
#define SEG_LOCK_NAME    "lock"
#define SEG_KEY_NAME     "master.key"

#define SEG_MAGIC        UINT64_C(0x314548434143544b)  /* "KTCACHE1" */
#define SEG_MAJOR        1     /* readers refuse any other major */
#define SEG_MINOR        2     /* readers accept any minor; 1: boot_id;
                                * 2: the slot's boot-clock plan (see
                                * seg_slot.plan) */

#define SEG_ALIVE        1     /* header status */
#define SEG_RETIRED      2     /* the daemon replaced or removed it */

/* seg_slot.use */
#define SLOT_EMPTY       0     /* never used: ends a lookup probe */
#define SLOT_USED        1
#define SLOT_RELEASED    2     /* used once, now free: probing goes on */

/* seg_slot.state, what tokencachectl shows */
#define TS_PENDING       1     /* configured, no token yet */
#define TS_VALID         2     /* token valid (it may be being refreshed) */
#define TS_FAILED        3     /* fetching failed and no valid token */
#define TS_EXPIRED       4     /* the token expired before a refresh */
#define TS_LOST          5     /* the daemon died writing it; a reader's
                                * own copy stays good until it expires */

#define SEG_NAME_FIELD   128   /* TC_NAME_MAX + 1, multiple of 8 */
#define SEG_TYPE_FIELD   32
#define SEG_ERROR_FIELD  256   /* error texts, in the protocol too */
#define SEG_SLOT_ERROR   224   /* seg_slot.error: minor 2 took the last 32
                                * bytes of the 256 for seg_slot.plan */
#define SEG_KEY_BYTES    crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define SEG_NONCE_BYTES  crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEG_MAC_BYTES    crypto_aead_xchacha20poly1305_ietf_ABYTES

#define SEG_TOKEN_MIN    1024
#define SEG_TOKEN_MAX    (1024 * 1024)
#define SEG_SLOTS_MAX    (1u << 20)
#define SEG_READ_TRIES   64    /* seqlock retries before TC_EBUSY */

struct seg_header {
	uint64_t magic;
	uint32_t major;
	uint32_t minor;
	uint32_t header_size;     /* sizeof(struct seg_header) */
	uint32_t slot_size;       /* bytes per slot, multiple of 64 */
	uint32_t nslots;
	uint32_t token_max;       /* longest token a slot holds, bytes */
	uint64_t file_size;
	uint64_t slots_offset;
	uint8_t instance_id[16];  /* random, new for every segment */
	uint64_t status;          /* SEG_ALIVE / SEG_RETIRED, atomic */
	uint64_t key_epoch;       /* current key epoch, atomic */
	uint64_t key_id;          /* identifies the master key, not secret */
	int64_t created_at;       /* Unix time */
	uint64_t daemon_pid;      /* informational */
	uint8_t boot_id[16];      /* the kernel's boot_id when made; zero if
	                           * unknown.  CLOCK_BOOTTIME deadlines mean
	                           * nothing in another boot. */
	uint64_t reserved[17];
};

struct seg_slot {
	uint64_t seq;             /* seqlock word: odd while being written */
	uint64_t generation;      /* bumped each time the token changes */
	uint32_t use;             /* SLOT_* */
	uint32_t state;           /* TS_* */
	uint32_t name_len;
	uint32_t ct_len;          /* ciphertext bytes, 0 when no token */
	uint64_t key_epoch;       /* epoch of the key that sealed ct */
	int64_t expires_at;       /* Unix time, for display */
	int64_t expires_boot_ns;  /* CLOCK_BOOTTIME deadline, for validity */
	int64_t fetched_at;       /* Unix time the token arrived */
	int64_t next_refresh_at;  /* Unix time of the next planned fetch */
	int64_t last_attempt_at;  /* Unix time of the last fetch attempt */
	uint32_t failures;        /* consecutive failed fetches */
	uint32_t http_status;     /* of the last attempt, 0 if none */
	uint8_t request_id[16];   /* keyed hash of the request that got the
	                           * token: a daemon whose configuration
	                           * changed meanwhile does not adopt it */
	uint8_t nonce[SEG_NONCE_BYTES];
	char name[SEG_NAME_FIELD];
	char token_type[SEG_TYPE_FIELD];
	char error[SEG_SLOT_ERROR];
	/*
	 * Minor 2.  Before, these bytes were the tail of a 256-byte error
	 * field that always held its NUL earlier, so readers of minor 1 see
	 * the same error text; seg_read_slot() zeroes them in a copy of an
	 * older segment, where they mean nothing, and in a slot whose
	 * error has no NUL in its first SEG_SLOT_ERROR bytes: a minor-1
	 * daemon (after a downgrade) writes texts of up to 255 bytes over
	 * them, and keeps the header's minor at 2.  Boot-clock times are
	 * valid within the boot the header's boot_id names.
	 *
	 * Why here and not in a field of its own: every reader requires
	 * slot_size == seg_slot_size(token_max), so a slot that grew would
	 * need a new major, which the readers running at the upgrade
	 * refuse (TC_EVERSION) until they are restarted.  The error
	 * field's tail was free: no text the daemon writes is that long.
	 */
	struct seg_plan {
		int64_t fetched_boot_ns;   /* when the request that got the
		                            * token was sent; 0: unknown */
		int64_t next_boot_ns;      /* the next planned request */
		int64_t not_before_boot_ns; /* no request before this: the
		                            * Retry-After hold of its endpoint */
		uint32_t flags;            /* SEG_PLAN_* */
		uint32_t failure_class;    /* SEG_FAILURE_*: of the failure
		                            * that `failures` counts last */
	} plan;
	/* followed by ct[token_max + SEG_MAC_BYTES], padded to slot_size */
};

/* seg_plan.flags */
#define SEG_PLAN_OVERLOADED 1u  /* its endpoint's rate cannot serve every
                                 * credential on it within its refresh
                                 * window (the capacity rule) */

/*
 * seg_plan.failure_class.  The daemon classifies a failure when it has the
 * reply at hand (the status and the body: a 200 carrying invalid_client is
 * permanent) and keeps the class here, so that a restarted daemon adopts
 * it rather than judging again from the status alone.  This was the
 * plan's reserved word, which every writer before it zeroed: a slot
 * written by one of them reads SEG_FAILURE_UNKNOWN (see
 * segw_failure_permanent()), and no minor was needed.
 */
#define SEG_FAILURE_UNKNOWN   0u  /* not recorded (an older writer) */
#define SEG_FAILURE_TRANSIENT 1u  /* retried with backoff */
#define SEG_FAILURE_PERMANENT 2u  /* will fail again: retried slowly */

#define SEG_SLOT_META    sizeof(struct seg_slot)

_Static_assert(sizeof(struct seg_header) % 64 == 0, "header alignment");
_Static_assert(sizeof(struct seg_slot) % 8 == 0, "slot alignment");
_Static_assert(sizeof(struct seg_slot) == 544, "slot layout of minor 1");
_Static_assert(SEG_SLOT_ERROR + sizeof(struct seg_plan) == 256,
    "minor 2 plan in the old error field's tail");
_Static_assert(SEG_ERROR_FIELD >= SEG_SLOT_ERROR,
    "a slot's error text fits a protocol message");

/* A reader's view of a segment: the live memfd mapped read-only, or a
 * private copy of the persistent file. */
struct seg_map {
	int fd;
	const unsigned char *base;
	size_t size;
	struct seg_header hdr;    /* validated copy */
	int copied;               /* base is malloc'd, not mapped */
};

/* Bytes a slot needs for a given token_max, rounded up to 64. */
size_t seg_slot_size(uint32_t token_max);

/* FNV-1a over the name: the home slot is seg_hash() % nslots. */
uint64_t seg_hash(const char *name, size_t len);

/* 0 if name is a valid credential name ([A-Za-z0-9._~@+-], 1..127 bytes,
 * not starting with '.'), else TC_EINVAL. */
int seg_name_valid(const char *name, size_t len);

/*
 * 0 if the len bytes of token are all visible ASCII, 0x21-0x7E (RFC 6749
 * Appendix A's VSCHAR less the space), else TC_EBADTOKEN.  A token goes
 * into an HTTP header and onto terminals: no CR, LF, space, escape or
 * other control byte, no byte above 0x7E, ever.  The daemon applies it
 * before publishing, the library before handing a token out.
 */
int seg_token_valid(const char *token, size_t len);

/* Validate a copied header against the size of the file it came from. */
int seg_header_check(const struct seg_header *h, uint64_t file_size);

/* Copy n bytes (a multiple of 8) out of the live mapping with relaxed
 * 64-bit atomic loads; both pointers 8-byte aligned. */
void seg_copy_live(void *dst, const void *src, size_t n);

/*
 * Map the live segment from fd, a descriptor the daemon sent, read-only.
 * Takes fd over (closed on failure, and by seg_map_close).  The fd must be
 * a memfd sealed against shrinking and growing, its size the header's:
 * otherwise TC_ECORRUPT (TC_EVERSION for another major), and nothing is
 * mapped.
 */
int seg_map_fd(struct seg_map *m, int fd);

/*
 * Read runtime_dir/cache, the daemon's persistent copy, into private
 * memory (pread, never mmap: a truncated file gives an error, not SIGBUS)
 * and validate its header.  TC_ENOCACHE if there is none, TC_ECORRUPT /
 * TC_EVERSION if it is not one we read.  The copy is a snapshot: the
 * seg_live_* and seg_read_slot calls work on it, and it never changes.
 */
int seg_file_load(struct seg_map *m, const char *runtime_dir);
void seg_map_close(struct seg_map *m);

/*
 * The instance_id in the header of runtime_dir/cache: which live segment
 * the daemon writes now.  Three system calls; for slow paths only.  0, or
 * TC_ENOCACHE (no file), TC_ECORRUPT (no valid header), TC_ESYSTEM.
 */
int seg_file_instance(const char *runtime_dir, uint8_t id[16]);

/* The seals a live segment must carry. */
#define SEG_SEALS_REQUIRED (F_SEAL_SHRINK | F_SEAL_GROW)

/* Pointer to slot idx in the live mapping (idx < hdr.nslots). */
const struct seg_slot *seg_slot_at(const struct seg_map *m, uint32_t idx);

/* Header status and key epoch, read live with acquire. */
uint64_t seg_live_status(const struct seg_map *m);
uint64_t seg_live_key_epoch(const struct seg_map *m);

/* Seqlock-consistent copy of slot idx into *out (metadata only) and, if
 * ct is not NULL, its ciphertext into ct (capacity hdr.token_max +
 * SEG_MAC_BYTES).  Checks name_len and ct_len.  TC_EBUSY after
 * SEG_READ_TRIES torn reads. */
int seg_read_slot(const struct seg_map *m, uint32_t idx, struct seg_slot *out,
    unsigned char *ct);

/* Find the slot holding `name`; 0 and *idx, or TC_ENOTFOUND.  *out gets the
 * consistent metadata copy that matched. */
int seg_lookup(const struct seg_map *m, const char *name, size_t len,
    uint32_t *idx, struct seg_slot *out);

/* Associated data bound to a slot's ciphertext.  buf must hold
 * SEG_AD_MAX bytes; returns the length used. */
#define SEG_AD_MAX (SEG_NAME_FIELD + SEG_TYPE_FIELD + 5 * 8)
size_t seg_build_ad(const struct seg_slot *s, unsigned char *buf);

/* Decrypt a copied slot's token into out (capacity cap, NUL added).
 * TC_EDECRYPT if it does not authenticate under key. */
int seg_open_token(const struct seg_slot *s, const unsigned char *ct,
    const unsigned char key[SEG_KEY_BYTES], char *out, size_t cap,
    size_t *len);

/* v as 8 little-endian bytes at p: the segment's byte order for the
 * associated data and the daemon's key derivation. */
static inline void
seg_put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* CLOCK_BOOTTIME now, in nanoseconds. */
int64_t seg_boottime_ns(void);

#endif /* TC_SEG_H */
