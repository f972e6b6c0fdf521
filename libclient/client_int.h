/*
 * client_int.h - libtokencache's internals, shared by its files (never
 * installed).  The handle, its entry cache, the threads' copies and the
 * locked-memory cells; and, as static inline functions, the pieces of the
 * hot path (tc_get() on an unchanged token), so that it stays in one
 * translation unit after the split, inlined as it was.
 */
#ifndef TC_CLIENT_INT_H
#define TC_CLIENT_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "nsec.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

/*
 * Names.  tc_ means "declared in tokencache.h": the public API, and
 * nothing else but the versions of its functions (tc_get_v0_2 is
 * tc_get@@TOKENCACHE_0.2; see client.c).  Every other symbol of the library that one file shares
 * with another is named for its module, which is the file it lives in:
 *
 *   seg_      seg.c (reading the segment; seg_map_from_daemon, in
 *             segmap.c, is the segment's too)
 *   proto_    proto.c (checking messages), proto_call.c (the call)
 *   cell_     cell.c       locked-memory cells for keys and tokens
 *   ptab_     ptab.c       the pointer table
 *   segmap_   segmap.c     which segment the handle maps
 *   entry_    entry.c      the handle's entry cache
 *   view_     view.c       the threads' copies
 *   client_   client.c     the handle registry
 *
 * Functions private to a file are static and need no prefix; static
 * inline helpers here (the hot path) are named for what they do.
 *
 * Nothing declared here leaves the library: the version script
 * (libtokencache.sym) exports tokencache.h's functions alone, and this
 * pragma keeps the calls between the library's files direct.
 */
#pragma GCC visibility push(hidden)

#if defined(__SANITIZE_THREAD__)
#define TC_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TC_THREAD_SANITIZER 1
#endif
#endif

/* TC_DAEMON_USER, tokencached's default `user`, comes from the Makefile
 * (TOKENCACHE_USER). */
#define SYSTEM_UID_LIMIT 1000	/* below: a system account (Debian, Fedora) */
#define KEY_CALL_MS 5000
/*
 * How often, at most, the slow path asks whether the daemon has moved on
 * to another segment while what we read still looks fine; and how long a
 * thread's copy stays on the hot path without a visit to the slow path
 * (see view_copy_update), so that a reader of a dead daemon's segment
 * moves to its successor's within about that time, not at expiry.
 */
#define SEG_CHECK_NS    NS_PER_S
#define SEG_REVISIT_NS  (5 * NS_PER_S)

/* Cells: see cell.c. */
#define CELL_CLASSES   17

struct cell_chunk {
	struct cell_chunk *next;
	void *mem;                /* sodium_malloc'd */
};

struct cell_arena {
	struct cell_chunk *chunks;
	unsigned char *tail;      /* the newest chunk's unused end */
	size_t left;              /* its size */
	void *free[CELL_CLASSES]; /* a free cell holds the next one's address */
};

struct centry {
	/* Set when the entry is made and never changed after: thread
	 * copies read them without the lock. */
	char name[SEG_NAME_FIELD];
	size_t name_len;
	uint64_t hash;            /* name_hash(name) */
	/* The rest changes only under the handle's mutex. */
	int have_slot;
	uint32_t idx;
	uint64_t seq;             /* slot seq when token/meta were copied */
	int have_token;
	int stale;                /* token read from a segment we left */
	int own_copy;             /* last answer was our copy of a token the
	                           * segment lost (see refresh_entry) */
	struct seg_slot meta;     /* metadata as of seq */
	char *token;              /* secret cell of token_cap bytes */
	size_t token_len, token_cap;
	int have_key;
	uint64_t key_epoch;
	unsigned char *key;       /* secret cell */
};

/* An open-addressing table of pointers keyed by a 64-bit hash: linear
 * probing, at most half full, entries only added. */
struct ptab {
	void **slot;              /* NULL until the first entry */
	size_t mask, n;
};

/* One thread's copy of one credential's token. */
struct tcopy {
	const struct centry *e;   /* its name, length and hash */
	const uint64_t *live_seq; /* the slot's seq word in the mapping */
	const uint64_t *live_status; /* the segment header's status */
	uint64_t seq;             /* live seq this copy is current for; 0: none */
	int64_t expires_boot_ns;
	int64_t fast_until;       /* CLOCK_MONOTONIC_COARSE bound, see below */
	int64_t wall_offset;      /* time() - CLOCK_MONOTONIC_COARSE, in ns */
	time_t checked_sec;       /* time() when the coarse check last passed */
	char *token;              /* secret cell of token_cap bytes */
	size_t token_len, token_cap;
	tc_token_info info;       /* as of seq, but for expires_in_ms */
};

/* One thread's copies for one handle: open addressing on the name hash. */
struct tview {
	struct tview *next;       /* the handle's views, under its mutex */
	struct ptab copies;       /* of struct tcopy, by its name's hash */
	struct tcopy *last;       /* the copy read last: most loops read one */
};

/*
 * A thread's views, by handle id.  An id is never reused, so a record
 * left behind by a closed handle is never matched again; tc_close() has
 * freed its view already.
 */
#define TVIEWS_MAX 8
struct tthread {
	size_t n;
	struct {
		uint64_t id;
		struct tview *v;
	} views[TVIEWS_MAX];
};

/* A mapping we no longer read, kept reserved as zero pages; see
 * segmap_leave(). */
struct parked {
	struct parked *next;
	void *base;
	size_t size;
};

struct tc_client {
	uint64_t id;              /* unique in this process, never reused */
	char *dir;
	pthread_mutex_t lock;
	int mapped;
	struct seg_map map;
	struct parked *spare;     /* for the mapping we have, when it goes */
	struct parked *parked;    /* mappings we had */
	int64_t next_check_ns;    /* coarse monotonic; see segmap_switch() */
	int64_t next_daemon_ns;   /* ditto, for asking the daemon */
	unsigned char *ct;        /* scratch for ciphertext copies */
	struct cell_arena secrets;
	struct ptab entries;      /* of struct centry, by name hash */
	struct tview *views;      /* every thread's, for tc_close() */
	struct tc_client *next;   /* all handles, for fork safety */
};

/* The handles open in this process (client.c); lock order: client_list_lock,
 * then a handle's lock. */
extern pthread_mutex_t client_list_lock;
extern struct tc_client *client_list;

/* This thread's views (view.c). */
extern pthread_key_t view_tls_key;
extern int view_tls_key_made;
extern _Thread_local struct tthread *view_tls
    __attribute__((tls_model("initial-exec")));

/* cell.c */
void *cell_alloc(struct cell_arena *a, size_t n, size_t *cap);
void cell_free(struct cell_arena *a, void *cell, size_t cap);
void cell_arena_destroy(struct cell_arena *a);

/* ptab.c */
int ptab_reserve(struct ptab *t, uint64_t (*hash_of)(const void *));
void ptab_add(struct ptab *t, void *p, uint64_t h);

/* segmap.c */
void segmap_leave(tc_client *c);
int segmap_switch(tc_client *c, const char *name, size_t len,
    int have_token);
int segmap_ensure(tc_client *c, const char *name, size_t len, uint64_t h);

/* entry.c */
struct centry *entry_find(tc_client *c, const char *name, size_t len,
    uint64_t h);
struct centry *entry_add(tc_client *c, const char *name, size_t len,
    uint64_t h);
/* Describe m in the caller's *info, as far as info->size reaches. */
void entry_fill_info(tc_token_info *info, const struct seg_slot *m, size_t len,
    int64_t now_boot);
int entry_get_locked(tc_client *c, const char *name, size_t len, char *buf,
    size_t buflen, tc_token_info *info, struct centry **ep);

/* view.c */
void view_thread_exit(void *arg);
void view_free(tc_client *c, struct tview *v);
void view_forget_handle(uint64_t id);
void view_copy_update(tc_client *c, const struct centry *e, int r);
void view_make_room(const tc_client *c);
struct tcopy *view_find(struct tview *v, const char *name);
int view_copy_recheck(struct tcopy *t, time_t now);

/*
 * A hash of a credential name for the handle's and the threads' tables:
 * the first and last eight bytes and the length, which tell apart the
 * names people give credentials (common prefixes, numbered suffixes) at a
 * cost that does not grow with the name.  Names that differ only in the
 * middle share a bucket chain, which costs time, never correctness.
 */
static inline uint64_t
name_hash(const char *name, size_t len)
{
	uint64_t a = 0, b = 0, h;
	size_t i;

	if (len >= 8) {
		memcpy(&a, name, 8);
		memcpy(&b, name + len - 8, 8);
	} else {
		for (i = 0; i < len; i++)
			a |= (uint64_t)(unsigned char)name[i] << (8 * i);
	}
	h = a * UINT64_C(0x9e3779b97f4a7c15) ^
	    (b + len) * UINT64_C(0xc2b2ae3d27d4eb4f);
	h ^= h >> 29;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	return h ^ (h >> 32);
}

static inline int64_t
coarse_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* ---- thread copies ---- */

static inline struct tview *
thread_view(const tc_client *c)
{
	struct tthread *t = view_tls;
	size_t i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (t->views[i].id == c->id)
			return t->views[i].v;
	return NULL;
}

/*
 * The calling thread's copy of name's token, or NULL.  On the hot path:
 * reads only this thread's memory.
 */
static inline struct tcopy *
view_lookup(struct tview *v, const char *name)
{
	struct tcopy *t = v->last;

	/* strcmp reads name no further than the end of a valid name. */
	if (t != NULL && strcmp(t->e->name, name) == 0)
		return t;
	return view_find(v, name);
}

/*
 * Expiry on the hot path.  The exact test is CLOCK_BOOTTIME against the
 * slot's deadline, but on a virtual machine that clock costs more than
 * the rest of tc_get() together (about 30 ns under kvm-clock, where
 * CLOCK_MONOTONIC_COARSE costs 4 and time() 2).  So when the caller does
 * not ask for tc_token_info (which carries the exact time left), a copy
 * is trusted while the coarse monotonic clock is below a bound computed
 * from CLOCK_BOOTTIME when the copy was made, FAST_MARGIN_NS short of the
 * deadline; in the last FAST_MARGIN_NS, the slow path checks exactly.
 *
 * Why that is safe.  Let b0 be CLOCK_BOOTTIME and m0 the coarse monotonic
 * clock, read just before it, when the copy was made.  CLOCK_BOOTTIME is
 * CLOCK_MONOTONIC plus the time spent suspended, S; the coarse clock lags
 * the exact one by at most a tick, L.  So at a later read m,
 * boottime <= b0 + (m + L - m0) + S, which is below the deadline by
 * FAST_MARGIN_NS - L - S or more while m < m0 + (deadline - b0) -
 * FAST_MARGIN_NS.  A suspend moves the wall clock forward by S against
 * the monotonic clock, so S shows as a change in time() -
 * CLOCK_MONOTONIC_COARSE; one of FAST_SKEW_NS or more (a suspend, or the
 * wall clock being set) sends us to the slow path, which measures anew.
 * With time() counting whole seconds, a suspend that goes unnoticed is
 * under FAST_SKEW_NS + 1 s = 3 s, and a tick is far under a second: the
 * token has 3 s or more left.
 *
 * Within the wall-clock second in which that check last passed, time()
 * alone will do.  The wall clock moves with CLOCK_BOOTTIME, suspend
 * included (both are CLOCK_MONOTONIC plus an offset, and a resume adds the
 * time asleep to both offsets), so less than a second has passed since,
 * and the token has 2 s or more left.
 *
 * What escapes: the wall clock set back by about as much as a suspend,
 * both since the check; or set back by 2 s or more and then read again,
 * in the very second of the last check, by a thread that did not read in
 * between.  Either way only while the daemon leaves the slot alone: every
 * refresh, failed or not, changes its sequence word.
 */
#define FAST_MARGIN_NS (7 * NS_PER_S)
#define FAST_SKEW_NS   (2 * NS_PER_S)

static inline int
copy_in_time(struct tcopy *t)
{
	time_t now = time(NULL);

	return now == t->checked_sec || view_copy_recheck(t, now);
}

/*
 * tc_token_info's ABI rule (tokencache.h): copy src's fields into the
 * caller's dst, as far as dst->size reaches, never size itself.  The
 * callers checked that dst->size >= INFO_FIRST (tc_get's TC_EINVAL).
 */
#define INFO_FIRST offsetof(tc_token_info, expires_at)
#define INFO_HAS(dst, field) ((dst)->size >= offsetof(tc_token_info, field) + \
	sizeof((dst)->field))

static inline void
info_out(tc_token_info *dst, const tc_token_info *src)
{
	/* The usual case first: a copy of known size, inlined (the hot
	 * path with info costs no more than a struct assignment did). */
	if (dst->size >= sizeof(*src))
		memcpy((char *)dst + INFO_FIRST,
		    (const char *)src + INFO_FIRST,
		    sizeof(*src) - INFO_FIRST);
	else
		memcpy((char *)dst + INFO_FIRST,
		    (const char *)src + INFO_FIRST,
		    dst->size - INFO_FIRST);
}

/*
 * Is the calling thread's copy the current token, in time, and does it
 * fit?  Then fill *info (if given) and say yes; on the hot path.
 */
static inline int
copy_usable(struct tcopy *t, size_t buflen, tc_token_info *info)
{
	int64_t now;

	if (t->seq == 0 || buflen <= t->token_len ||
	    __atomic_load_n(t->live_status, __ATOMIC_ACQUIRE) != SEG_ALIVE ||
	    __atomic_load_n(t->live_seq, __ATOMIC_ACQUIRE) != t->seq)
		return 0;
	if (info == NULL)
		return copy_in_time(t);
	now = seg_boottime_ns();
	if (now >= t->expires_boot_ns)
		return 0;
	info_out(info, &t->info);
	if (INFO_HAS(info, expires_in_ms))
		info->expires_in_ms = (t->expires_boot_ns - now) / NS_PER_MS;
	return 1;
}

#pragma GCC visibility pop

#endif /* TC_CLIENT_INT_H */
