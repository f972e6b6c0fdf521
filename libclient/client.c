/*
 * client.c - libtokencache: the public API.
 *
 * Two levels of cache.  The handle keeps, per credential it has read, the
 * slot index, the slot's sequence word as of the last decrypt, the key and
 * the decrypted token.  It changes only under the handle's mutex.  Each
 * thread that reads through the handle also keeps a copy of every token it
 * has read (its "view" of the handle), which that thread alone reads and
 * which changes only under the mutex, by that thread.
 *
 * tc_get() on an unchanged token touches only the calling thread's copy
 * and two words of the live segment: it finds the copy, checks that the
 * segment is alive and that the slot's sequence word is the one the copy
 * was made at, checks the expiry against coarse clocks (see
 * copy_in_time) and copies the token out.  No lock, no system call, no decryption and no
 * store to memory another thread reads, so readers on different cores do
 * not slow each other down.  Anything else takes the slow path under the
 * mutex: a seqlock copy of the slot, a key from the daemon if we lack the
 * right one, a decrypt, and a fresh copy for the calling thread.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "seg.h"
#include "tokencache.h"

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
 * (see thread_copy_update), so that a reader of a dead daemon's segment
 * moves to its successor's within about that time, not at expiry.
 */
#define SEG_CHECK_NS    NS_PER_S
#define SEG_REVISIT_NS  (5 * NS_PER_S)
#define NS_PER_S INT64_C(1000000000)

/*
 * Keys and tokens live in cells carved out of sodium_malloc'd chunks:
 * locked in memory, left out of core dumps, fenced by guard pages, wiped
 * when freed.  A sodium_malloc of its own for every secret would cost four
 * memory mappings each, so that a process reading 10,000 credentials would
 * run out of them (vm.max_map_count is 65530 by default), and a new process
 * several system calls and page faults more before its first token.  Cells
 * come in powers of two, from 32 bytes (a key) to 2 MiB (above
 * SEG_TOKEN_MAX), cut from the newest chunk; a freed cell is kept for its
 * size.
 */
#define SCELL_MIN_SHIFT 5
#define SCELL_CLASSES   17
#define SCHUNK_MIN      (16 * 1024)

struct schunk {
	struct schunk *next;
	void *mem;                /* sodium_malloc'd */
};

struct sarena {
	struct schunk *chunks;
	unsigned char *tail;      /* the newest chunk's unused end */
	size_t left;              /* its size */
	void *free[SCELL_CLASSES]; /* a free cell holds the next one's address */
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
 * unmap_segment(). */
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
	int64_t next_check_ns;    /* coarse monotonic; see segment_switch() */
	int64_t next_daemon_ns;   /* ditto, for asking the daemon */
	unsigned char *ct;        /* scratch for ciphertext copies */
	struct sarena secrets;
	struct ptab entries;      /* of struct centry, by name hash */
	struct tview *views;      /* every thread's, for tc_close() */
	struct tc_client *next;   /* all handles, for fork safety */
};

/*
 * fork(): a child inherits our mutexes in whatever state other threads
 * left them.  Hold every handle's lock across fork so that both sides
 * start with them unlocked and consistent.  Thread views change only under
 * their handle's lock, so they too are consistent in the child; those of
 * threads the child does not have are freed with the handle.
 *
 * Lock order: clients_lock, then a handle's lock.
 */
static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static struct tc_client *clients;
static uint64_t last_client_id;
static pthread_key_t tthread_key;
static int tthread_key_made;
static _Thread_local struct tthread *tls_thread
    __attribute__((tls_model("initial-exec")));

static void view_free(tc_client *c, struct tview *v);
static void thread_forget(uint64_t id);

static void
atfork_prepare(void)
{
	struct tc_client *c;

	pthread_mutex_lock(&clients_lock);
	for (c = clients; c != NULL; c = c->next)
		pthread_mutex_lock(&c->lock);
}

static void
atfork_release(void)
{
	struct tc_client *c;

	for (c = clients; c != NULL; c = c->next)
		pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&clients_lock);
}

static void
view_unlink(tc_client *c, struct tview *v)
{
	struct tview **pp;

	for (pp = &c->views; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == v) {
			*pp = v->next;
			return;
		}
	}
}

/* A thread ends: free its views of the handles still open. */
static void
thread_exit(void *arg)
{
	struct tthread *t = arg;
	struct tc_client *c;
	size_t i;

	pthread_mutex_lock(&clients_lock);
	for (i = 0; i < t->n; i++) {
		for (c = clients; c != NULL && c->id != t->views[i].id;
		    c = c->next)
			;
		if (c == NULL)
			continue;	/* closed, and its views freed */
		pthread_mutex_lock(&c->lock);
		view_unlink(c, t->views[i].v);
		view_free(c, t->views[i].v);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&clients_lock);
	tls_thread = NULL;
	free(t);
}

static void
init_library(void)
{
	(void)pthread_atfork(atfork_prepare, atfork_release, atfork_release);
	tthread_key_made = pthread_key_create(&tthread_key, thread_exit) == 0;
}

/*
 * Unloaded by dlclose(): a thread that ends later must not call
 * thread_exit(), which is gone.  Its views leak; they are wiped only at
 * tc_close(), which a program that unloads us has called.
 */
__attribute__((destructor)) static void
unload_library(void)
{
	if (tthread_key_made)
		(void)pthread_key_delete(tthread_key);
}

static int
scell_class(size_t n, size_t *size)
{
	int k;

	for (k = 0; k < SCELL_CLASSES; k++) {
		if (((size_t)1 << (k + SCELL_MIN_SHIFT)) >= n) {
			*size = (size_t)1 << (k + SCELL_MIN_SHIFT);
			return k;
		}
	}
	return -1;
}

/* A cell of at least n bytes; its size in *cap.  NULL if out of memory. */
static void *
scell_alloc(struct sarena *a, size_t n, size_t *cap)
{
	struct schunk *ch;
	size_t size, csize;
	void *cell;
	int k;

	if ((k = scell_class(n, &size)) < 0)
		return NULL;
	if ((cell = a->free[k]) != NULL) {
		memcpy(&a->free[k], cell, sizeof(void *));
		*cap = size;
		return cell;
	}
	if (a->left < size) {
		/* A new chunk; what is left of the last one stays unused. */
		csize = size > SCHUNK_MIN ? size : SCHUNK_MIN;
		if ((ch = malloc(sizeof(*ch))) == NULL)
			return NULL;
		if ((ch->mem = sodium_malloc(csize)) == NULL) {
			free(ch);
			return NULL;
		}
		ch->next = a->chunks;
		a->chunks = ch;
		a->tail = ch->mem;
		a->left = csize;
	}
	/* Cells are multiples of 32 bytes, so each is 32-byte aligned. */
	cell = a->tail;
	a->tail += size;
	a->left -= size;
	*cap = size;
	return cell;
}

/* Wipe a cell and give it back; NULL is a no-op. */
static void
scell_free(struct sarena *a, void *cell, size_t cap)
{
	size_t size;
	int k;

	if (cell == NULL || (k = scell_class(cap, &size)) < 0)
		return;
	sodium_memzero(cell, size);
	memcpy(cell, &a->free[k], sizeof(void *));
	a->free[k] = cell;
}

/* Free every chunk (sodium_free wipes them). */
static void
sarena_destroy(struct sarena *a)
{
	struct schunk *ch;

	while ((ch = a->chunks) != NULL) {
		a->chunks = ch->next;
		sodium_free(ch->mem);
		free(ch);
	}
	a->tail = NULL;
	a->left = 0;
	memset(a->free, 0, sizeof(a->free));
}

/*
 * A hash of a credential name for the handle's and the threads' tables:
 * the first and last eight bytes and the length, which tell apart the
 * names people give credentials (common prefixes, numbered suffixes) at a
 * cost that does not grow with the name.  Names that differ only in the
 * middle share a bucket chain, which costs time, never correctness.
 */
static uint64_t
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

const char *
proto_runtime_dir(void)
{
	const char *d = secure_getenv("TOKENCACHE_RUNTIME_DIR");

	return (d != NULL && *d != '\0') ? d : PROTO_RUNTIME_DIR;
}

int
proto_req_init(struct proto_req *req, int op, const char *name, uint32_t timeout_ms)
{
	size_t len = name != NULL ? strnlen(name, TC_NAME_MAX + 1) : 0;

	memset(req, 0, sizeof(*req));
	if (name != NULL && seg_name_valid(name, len) != 0)
		return TC_EINVAL;
	req->magic = PROTO_MAGIC;
	req->version = PROTO_VERSION;
	req->op = (uint16_t)op;
	req->timeout_ms = timeout_ms;
	req->name_len = (uint32_t)len;
	if (len > 0)
		memcpy(req->name, name, len);
	return 0;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The daemon's uid, looked up once per process (NSS modules run in the
 * caller: they may log, block or be missing in a sandbox, so not on every
 * slow path).  Only a successful lookup is kept; a failed one, or a user
 * not there (yet), is tried again at the next call.  Atomics, not a mutex:
 * two threads may both look it up, harmlessly, and a fork in the middle
 * leaves no lock behind; a kept uid is right in a child too.
 *
 * The name is TC_DAEMON_USER, fixed at build time, unless
 * TOKENCACHE_DAEMON_USER (a name or a numeric uid, read with
 * secure_getenv, so that set-user-ID programs ignore it) names a system
 * account, uid 1..SYSTEM_UID_LIMIT - 1: whoever sets our environment can
 * make us trust no ordinary user's daemon, only an account root made.
 * 0 with *uid, TC_EPEER (no such user), TC_ENOMEM, or TC_ESYSTEM with
 * errno set.
 */
static _Atomic int daemon_uid_known;
static _Atomic uid_t daemon_uid;

static int
lookup_uid(const char *name, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char *end, *pwbuf;
	unsigned long id;
	long cap;
	int r;

	if (name[0] >= '0' && name[0] <= '9') {
		errno = 0;
		id = strtoul(name, &end, 10);
		if (errno == 0 && *end == '\0' && id == (uid_t)id) {
			*uid = (uid_t)id;
			return 0;
		}
	}
	if ((cap = sysconf(_SC_GETPW_R_SIZE_MAX)) < 1024 || cap > 65536)
		cap = 16384;
	for (;;) {
		if ((pwbuf = malloc((size_t)cap)) == NULL)
			return TC_ENOMEM;
		r = getpwnam_r(name, &pw, pwbuf, (size_t)cap, &res);
		if (r == 0 && res != NULL)
			*uid = pw.pw_uid;
		free(pwbuf);
		if (r != ERANGE || cap >= 1048576)
			break;
		cap *= 4;
	}
	if (r == 0)
		return res != NULL ? 0 : TC_EPEER;
	if (r == ENOMEM || r == ERANGE)
		return TC_ENOMEM;
	errno = r;
	return TC_ESYSTEM;
}

static int
resolve_daemon_uid(uid_t *uid)
{
	const char *name;
	uid_t u;
	int r;

	if (atomic_load_explicit(&daemon_uid_known, memory_order_acquire)) {
		*uid = atomic_load_explicit(&daemon_uid, memory_order_relaxed);
		return 0;
	}
	name = secure_getenv("TOKENCACHE_DAEMON_USER");
	if (name == NULL || *name == '\0' || lookup_uid(name, &u) != 0 ||
	    u == 0 || u >= SYSTEM_UID_LIMIT) {
		if ((r = lookup_uid(TC_DAEMON_USER, &u)) != 0)
			return r;
	}
	atomic_store_explicit(&daemon_uid, u, memory_order_relaxed);
	atomic_store_explicit(&daemon_uid_known, 1, memory_order_release);
	*uid = u;
	return 0;
}

/*
 * Who may serve us keys, segments and tokens: the user of the process
 * that listens on the socket we reached (SO_PEERCRED: the credentials of
 * whoever called listen()) must be root, the daemon's user
 * (resolve_daemon_uid), or our own user, whatever the path, its directory
 * or TOKENCACHE_RUNTIME_DIR say: a user who squats or swaps a runtime
 * directory, or points a service's environment at one of their own,
 * serves nothing we accept.  Our own user may run a daemon for us (the
 * tests, the demo, a private instance): a process of the same user could
 * read and change our memory anyway.  The daemon's user is looked up only
 * when the peer is neither root nor ourselves.  0, TC_EPEER, TC_ENOMEM,
 * or TC_ESYSTEM (errno set).
 */
static int
peer_trusted(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	uid_t u;
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 ||
	    len != sizeof(uc))
		return TC_ESYSTEM;
	if (uc.uid == 0 || uc.uid == geteuid())
		return 0;
	if ((r = resolve_daemon_uid(&u)) != 0)
		return r;
	return u == uc.uid ? 0 : TC_EPEER;
}

int
proto_call(const char *runtime_dir, const struct proto_req *req,
    struct proto_resp *resp, int timeout_ms)
{
	return proto_call_fd(runtime_dir, req, resp, timeout_ms, NULL);
}

/*
 * call_once()'s "the daemon took the connection and closed it without a
 * word": it does so to a user past its connection cap (CONNS_PER_UID in
 * daemon.c), so that one user cannot take every connection.  A daemon
 * that died instead refuses the next connect.
 */
#define CALL_HUNG_UP 1

/* One exchange of proto_call_fd(), bounded by deadline (mono_ms()). */
static int
call_once(const char *runtime_dir, const struct proto_req *req,
    struct proto_resp *resp, int64_t deadline, int *fdp)
{
	struct sockaddr_un sun;
	struct proto_resp r, buf;
	struct pollfd pfd;
	ssize_t n;
	int fd, rc, ret, left, got = -1;

	memset(&r, 0, sizeof(r));
	memset(&buf, 0, sizeof(buf));

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", runtime_dir,
	    SEG_SOCKET_NAME) >= (int)sizeof(sun.sun_path))
		return TC_EINVAL;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return TC_ESYSTEM;
	/*
	 * Non-blocking, so that a daemon that does not accept (busy, or
	 * stopped with SIGSTOP) costs us at most the deadline: a Unix socket
	 * whose backlog is full says EAGAIN, and we try again until then.
	 */
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && mono_ms() < deadline) {
			(void)poll(NULL, 0, 10);
			continue;
		}
		ret = (errno == ENOENT || errno == ECONNREFUSED ||
		    errno == ENOTDIR) ? TC_ENODAEMON :
		    errno == EAGAIN ? TC_ETIMEDOUT :
		    (errno == EACCES ? TC_EACCES : TC_ESYSTEM);
		goto out;
	}
	/* Before a word is said: is that tokencached at all? */
	if ((ret = peer_trusted(fd)) != 0)
		goto out;
	if (send(fd, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req)) {
		ret = errno == EPIPE || errno == ECONNRESET ? CALL_HUNG_UP :
		    TC_ENODAEMON;
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	do {
		left = (int)(deadline - mono_ms());
		rc = poll(&pfd, 1, left > 0 ? left : 0);
	} while (rc == -1 && errno == EINTR);
	if (rc == 0) {
		ret = TC_ETIMEDOUT;
		goto out;
	}
	if (rc == -1) {
		ret = TC_ESYSTEM;
		goto out;
	}
	n = proto_recv_with_fd(fd, &buf, sizeof(buf), &got);
	if (n == 0 || (n == -1 && errno == ECONNRESET)) {
		ret = CALL_HUNG_UP;
		goto out;
	}
	if (n == -1) {
		ret = TC_ESYSTEM;
		goto out;
	}
	/* The one checker of replies, the one the fuzzer runs. */
	if ((ret = proto_resp_check(&buf, (size_t)n, req->op, &r)) != 0)
		goto out;
	/* A descriptor comes with a good answer to those who want one. */
	if (fdp != NULL && r.status == 0 && got == -1) {
		ret = TC_EPROTO;
		goto out;
	}
	/* success */
	*resp = r;
	if (fdp != NULL) {
		*fdp = got;
		got = -1;
	}
	ret = 0;
 out:
	sodium_memzero(&r, sizeof(r));
	sodium_memzero(&buf, sizeof(buf));
	if (got != -1)
		close(got);
	close(fd);
	return ret;
}

/*
 * "Busy" (TC_EBUSY: the per-user rate limit, or too many of the user's
 * segment replies still unread) and a connection closed unanswered (the
 * user's connection cap) are the daemon's "not now", not "no", as when a
 * service starts many processes at once: ask again after a pause that
 * doubles from BUSY_PAUSE_MS to BUSY_PAUSE_MAX_MS, with jitter so that a
 * herd spreads out, for as long as the deadline allows.  The last answer
 * stands when it does not (a hang-up then says TC_ENODAEMON, as before).
 */
#define BUSY_PAUSE_MS     5
#define BUSY_PAUSE_MAX_MS 200

int
proto_call_fd(const char *runtime_dir, const struct proto_req *req,
    struct proto_resp *resp, int timeout_ms, int *fdp)
{
	int64_t deadline = mono_ms() + timeout_ms;
	uint32_t pause = BUSY_PAUSE_MS, t;
	int r;

	for (;;) {
		r = call_once(runtime_dir, req, resp, deadline, fdp);
		if (r != CALL_HUNG_UP && (r != 0 || resp->status != TC_EBUSY))
			return r;
		t = pause + randombytes_uniform(pause);
		if (mono_ms() + t >= deadline)
			return r == CALL_HUNG_UP ? TC_ENODAEMON : 0;
		(void)poll(NULL, 0, (int)t);
		if (pause < BUSY_PAUSE_MAX_MS)
			pause *= 2;
	}
}

int
tc_open(tc_client **ret, const char *runtime_dir)
{
	tc_client *c;

	if (ret == NULL)
		return TC_EINVAL;
	if (sodium_init() < 0)
		return TC_ESYSTEM;
	if (runtime_dir == NULL)
		runtime_dir = proto_runtime_dir();
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TC_ENOMEM;
	c->map.fd = -1;
	if ((c->dir = strdup(runtime_dir)) == NULL) {
		free(c);
		return TC_ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_once(&init_once, init_library);
	pthread_mutex_lock(&clients_lock);
	c->id = ++last_client_id;
	c->next = clients;
	clients = c;
	pthread_mutex_unlock(&clients_lock);
	*ret = c;
	return 0;
}

static void
entry_forget_slot(tc_client *c, struct centry *e)
{
	e->have_slot = 0;
	e->have_token = 0;
	e->seq = 0;
	scell_free(&c->secrets, e->token, e->token_cap);
	e->token = NULL;
	e->token_cap = 0;
	e->token_len = 0;
}

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
static void
unmap_segment(tc_client *c)
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
	p = c->spare;		/* ensure_mapped() made sure of it */
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

static void
view_free(tc_client *c, struct tview *v)
{
	struct tcopy *t;
	size_t i;

	for (i = 0; v->copies.slot != NULL && i <= v->copies.mask; i++) {
		if ((t = v->copies.slot[i]) == NULL)
			continue;
		scell_free(&c->secrets, t->token, t->token_cap);
		sodium_memzero(t, sizeof(*t));
		free(t);
	}
	free(v->copies.slot);
	free(v);
}

void
tc_close(tc_client *c)
{
	struct tc_client **pp;
	struct parked *p;
	struct tview *v;
	size_t i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&clients_lock);
	for (pp = &clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&clients_lock);
	thread_forget(c->id);
	while ((v = c->views) != NULL) {
		c->views = v->next;
		view_free(c, v);
	}
	seg_map_close(&c->map);
	while ((p = c->parked) != NULL) {
		c->parked = p->next;
		munmap(p->base, p->size);
		free(p);
	}
	free(c->spare);
	for (i = 0; c->entries.slot != NULL && i <= c->entries.mask; i++)
		free(c->entries.slot[i]);
	free(c->entries.slot);
	free(c->ct);
	sarena_destroy(&c->secrets);	/* wipes every key and token */
	pthread_mutex_destroy(&c->lock);
	free(c->dir);
	free(c);
}

static int64_t coarse_mono_ns(void);

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
 * left as unmap_segment() leaves it. */
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
	unmap_segment(c);	/* takes c->spare if mapped */
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
static int
segment_switch(tc_client *c, const char *name, size_t len, int have_token)
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

static struct centry *find_entry(tc_client *c, const char *name, size_t len,
    uint64_t h);
static struct centry *add_entry(tc_client *c, const char *name, size_t len,
    uint64_t h);

/*
 * Map the segment, or a new one if the daemon retired the one we have.
 * That takes the daemon, and name's key will be wanted next, so one round
 * trip (PROTO_OP_OPEN) brings both: the segment for anyone, the key if the
 * daemon gives it.  Without the key (denied, no such credential), the entry
 * asks again in refresh_entry(), which reports why.
 */
static int
ensure_mapped(tc_client *c, const char *name, size_t len, uint64_t h)
{
	struct proto_req req;
	struct proto_resp resp;
	struct seg_map m;
	struct centry *e;
	int r, fd = -1;

	if (c->mapped) {
		if (seg_live_status(&c->map) == SEG_ALIVE)
			return 0;
		unmap_segment(c);
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
	    ((e = find_entry(c, name, len, h)) != NULL ||
	    (e = add_entry(c, name, len, h)) != NULL)) {
		memcpy(e->key, resp.key, SEG_KEY_BYTES);
		e->key_epoch = resp.key_epoch;
		e->have_key = 1;
	}
	sodium_memzero(&resp, sizeof(resp));
	return r;
}

static struct centry *
find_entry(tc_client *c, const char *name, size_t len, uint64_t h)
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

/* Room in t for one more entry.  0, or -1 if out of memory (t is left
 * as it was). */
static int
ptab_reserve(struct ptab *t, uint64_t (*hash_of)(const void *))
{
	size_t size = t->slot != NULL ? t->mask + 1 : 0, nsize, i, j;
	void **ns;

	if ((t->n + 1) * 2 <= size)
		return 0;
	nsize = size ? size * 2 : 8;
	if ((ns = calloc(nsize, sizeof(*ns))) == NULL)
		return -1;
	for (i = 0; i < size; i++) {
		if (t->slot[i] == NULL)
			continue;
		for (j = hash_of(t->slot[i]) & (nsize - 1); ns[j] != NULL;
		    j = (j + 1) & (nsize - 1))
			;
		ns[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = ns;
	t->mask = nsize - 1;
	return 0;
}

/* Add p, whose hash is h, to t (ptab_reserve made room). */
static void
ptab_add(struct ptab *t, void *p, uint64_t h)
{
	size_t i;

	for (i = h & t->mask; t->slot[i] != NULL; i = (i + 1) & t->mask)
		;
	t->slot[i] = p;
	t->n++;
}

static uint64_t
entry_hash(const void *p)
{
	return ((const struct centry *)p)->hash;
}

static uint64_t
copy_hash(const void *p)
{
	return ((const struct tcopy *)p)->e->hash;
}

static struct centry *
add_entry(tc_client *c, const char *name, size_t len, uint64_t h)
{
	struct centry *e;
	size_t cap;

	if (ptab_reserve(&c->entries, entry_hash) != 0)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->key = scell_alloc(&c->secrets, SEG_KEY_BYTES, &cap)) == NULL) {
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

static void
fill_info(tc_token_info *info, const struct seg_slot *m, size_t len,
    int64_t now_boot)
{
	int64_t left = m->expires_boot_ns - now_boot;

	memset(info, 0, sizeof(*info));
	info->expires_at = m->expires_at;
	info->expires_in_ms = left > 0 ? left / 1000000 : 0;
	info->fetched_at = m->fetched_at;
	info->generation = m->generation;
	info->length = len;
	memcpy(info->token_type, m->token_type, sizeof(info->token_type));
	info->token_type[sizeof(info->token_type) - 1] = '\0';
	memset(info->error, 0, sizeof(info->error));
	memcpy(info->error, m->error, sizeof(m->error));
	info->error[sizeof(m->error) - 1] = '\0';
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
 * when the token changed.  Called with c->lock held.
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
			scell_free(&c->secrets, e->token, e->token_cap);
			e->token_cap = 0;
			if ((e->token = scell_alloc(&c->secrets, need,
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
			fill_info(info, &e->meta, e->token_len, now);
		return TC_EEXPIRED;
	}
	if (buflen < e->token_len + 1) {
		if (info != NULL)
			fill_info(info, &e->meta, e->token_len, now);
		return TC_ERANGE;
	}
	memcpy(buf, e->token, e->token_len + 1);
	if (info != NULL)
		fill_info(info, &e->meta, e->token_len, now);
	return 0;
}

/* The token for name, through the handle's cache; *ep gets the entry
 * once there is one.  Called with c->lock held. */
static int
get_locked(tc_client *c, const char *name, size_t len, char *buf,
    size_t buflen, tc_token_info *info, struct centry **ep)
{
	struct centry *e;
	uint64_t h = name_hash(name, len);
	int r;

	if ((r = ensure_mapped(c, name, len, h)) != 0)
		return r;
	if ((e = find_entry(c, name, len, h)) == NULL &&
	    (e = add_entry(c, name, len, h)) == NULL)
		return TC_ENOMEM;
	*ep = e;
	/* The slot has not changed since we last copied it. */
	if (!(e->have_token && e->seq != 0 &&
	    __atomic_load_n(&seg_slot_at(&c->map, e->idx)->seq,
	    __ATOMIC_ACQUIRE) == e->seq)) {
		if ((r = refresh_entry(c, e)) != 0) {
			if (info != NULL && (r == TC_ENOTOKEN ||
			    r == TC_EFAILED || r == TC_EEXPIRED))
				fill_info(info, &e->meta, 0, seg_boottime_ns());
			return r;
		}
	}
	return copy_out(e, buf, buflen, info, seg_boottime_ns());
}

/* ---- thread copies ---- */

static struct tview *
thread_view(const tc_client *c)
{
	struct tthread *t = tls_thread;
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
static struct tcopy *view_find(struct tview *v, const char *name);

static inline struct tcopy *
view_lookup(struct tview *v, const char *name)
{
	struct tcopy *t = v->last;

	/* strcmp reads name no further than the end of a valid name. */
	if (t != NULL && strcmp(t->e->name, name) == 0)
		return t;
	return view_find(v, name);
}

/* view_lookup() when the name is not the last one read. */
static __attribute__((noinline)) struct tcopy *
view_find(struct tview *v, const char *name)
{
	struct tcopy *t;
	uint64_t h;
	size_t len, i;

	if (v->copies.slot == NULL ||
	    (len = strnlen(name, TC_NAME_MAX + 1)) > TC_NAME_MAX)
		return NULL;
	h = name_hash(name, len);
	for (i = h & v->copies.mask; (t = v->copies.slot[i]) != NULL;
	    i = (i + 1) & v->copies.mask) {
		if (t->e->hash == h && t->e->name_len == len &&
		    memcmp(t->e->name, name, len) == 0) {
			v->last = t;
			return t;
		}
	}
	return NULL;
}

static int64_t
coarse_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
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

/* The check against the coarse monotonic clock; out of line, as it runs
 * about once a second. */
static __attribute__((noinline)) int
copy_recheck(struct tcopy *t, time_t now)
{
	int64_t m = coarse_mono_ns(), skew;

	if (m >= t->fast_until)
		return 0;
	skew = (int64_t)now * NS_PER_S - m - t->wall_offset;
	if (skew >= FAST_SKEW_NS || skew <= -FAST_SKEW_NS)
		return 0;
	t->checked_sec = now;
	return 1;
}

static inline int
copy_in_time(struct tcopy *t)
{
	time_t now = time(NULL);

	return now == t->checked_sec || copy_recheck(t, now);
}

/*
 * Drop the calling thread's record of handle id (closed), and the record
 * itself once it is empty: a thread that opens and closes handles keeps
 * nothing.
 */
static void
thread_forget(uint64_t id)
{
	struct tthread *t = tls_thread;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		if (t->views[i].id == id) {
			t->views[i] = t->views[--t->n];
			break;
		}
	}
	if (t->n == 0) {
		(void)pthread_setspecific(tthread_key, NULL);
		tls_thread = NULL;
		free(t);
	}
}

/* A view of c for the calling thread, if it has room for one more.
 * Called with c->lock held. */
static struct tview *
view_make(tc_client *c)
{
	struct tthread *th;
	struct tview *v;

	if (!tthread_key_made)
		return NULL;
	if ((th = tls_thread) == NULL) {
		if ((th = calloc(1, sizeof(*th))) == NULL)
			return NULL;
		if (pthread_setspecific(tthread_key, th) != 0) {
			free(th);
			return NULL;
		}
		tls_thread = th;
	}
	if (th->n == TVIEWS_MAX || (v = calloc(1, sizeof(*v))) == NULL) {
		thread_forget(0);	/* ids start at 1 */
		return NULL;
	}
	v->next = c->views;
	c->views = v;
	th->views[th->n].id = c->id;
	th->views[th->n].v = v;
	th->n++;
	return v;
}

/* Refill the calling thread's copy of e after the slow path; r is what
 * it returned.  Called with c->lock held. */
static void
thread_copy_update(tc_client *c, const struct centry *e, int r)
{
	struct tview *v = thread_view(c);
	struct tcopy *t = NULL;
	int64_t m0, b0, left;
	size_t i;

	if (v != NULL && v->copies.slot != NULL) {
		for (i = e->hash & v->copies.mask; (t = v->copies.slot[i]) !=
		    NULL && t->e != e; i = (i + 1) & v->copies.mask)
			;
	}
	if (r != 0 || !e->have_token || e->seq == 0 || !c->mapped) {
		if (t != NULL)
			t->seq = 0;
		return;
	}
	if (v == NULL && (v = view_make(c)) == NULL)
		return;
	if (t == NULL) {
		if (ptab_reserve(&v->copies, copy_hash) != 0 ||
		    (t = calloc(1, sizeof(*t))) == NULL)
			return;
		t->e = e;
		ptab_add(&v->copies, t, e->hash);
	}
	t->seq = 0;
	if (t->token_cap < e->token_len + 1) {
		scell_free(&c->secrets, t->token, t->token_cap);
		t->token_cap = 0;
		if ((t->token = scell_alloc(&c->secrets, e->token_len + 1,
		    &t->token_cap)) == NULL)
			return;
	}
	memcpy(t->token, e->token, e->token_len + 1);
	t->token_len = e->token_len;
	fill_info(&t->info, &e->meta, e->token_len, 0);
	t->info.expires_in_ms = 0;
	t->expires_boot_ns = e->meta.expires_boot_ns;
	m0 = coarse_mono_ns();
	t->wall_offset = (int64_t)time(NULL) * NS_PER_S - m0;
	b0 = seg_boottime_ns();		/* since boot: far from overflow */
	if (t->expires_boot_ns <= b0 + FAST_MARGIN_NS)
		t->fast_until = INT64_MIN;
	else if ((left = t->expires_boot_ns - b0 - FAST_MARGIN_NS) >
	    INT64_MAX - m0)
		t->fast_until = INT64_MAX;
	else
		t->fast_until = m0 + left;
	/* Back to the slow path now and then: see SEG_REVISIT_NS. */
	if (t->fast_until > m0 + SEG_REVISIT_NS)
		t->fast_until = m0 + SEG_REVISIT_NS;
	t->checked_sec = (time_t)-1;
	t->live_seq = &seg_slot_at(&c->map, e->idx)->seq;
	t->live_status = &((const struct seg_header *)
	    (const void *)c->map.base)->status;
	t->seq = e->seq;
	v->last = t;
}

/*
 * Is the calling thread's copy the current token, in time, and does it
 * fit?  Then fill *info (if given) and say yes; on the hot path.
 */
static int
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
	*info = t->info;
	info->expires_in_ms = (t->expires_boot_ns - now) / 1000000;
	return 1;
}

/*
 * Before taking c->lock: if this thread has no view of c and no room for
 * one, forget the views of handles closed since (tc_close freed them).
 */
static void
thread_make_room(const tc_client *c)
{
	struct tthread *t = tls_thread;
	struct tc_client *o;
	size_t i;

	if (t == NULL || t->n < TVIEWS_MAX || thread_view(c) != NULL)
		return;
	pthread_mutex_lock(&clients_lock);
	for (i = 0; i < t->n; ) {
		for (o = clients; o != NULL && o->id != t->views[i].id;
		    o = o->next)
			;
		if (o == NULL)
			t->views[i] = t->views[--t->n];
		else
			i++;
	}
	pthread_mutex_unlock(&clients_lock);
}

/* Out of line, so that tc_get() itself stays small and fast. */
static __attribute__((noinline)) int
get_slow(tc_client *c, const char *name, char *buf, size_t buflen,
    tc_token_info *info)
{
	struct centry *e = NULL;
	size_t len;
	int r;

	len = strnlen(name, TC_NAME_MAX + 1);
	if (seg_name_valid(name, len) != 0)
		return TC_EINVAL;
	thread_make_room(c);
	pthread_mutex_lock(&c->lock);
	r = get_locked(c, name, len, buf, buflen, info, &e);
	/*
	 * No token here, or only our own copy of one the segment lost, or
	 * simply time to look: maybe the daemon was restarted and writes
	 * another segment now.  At once when there is no token; else at most
	 * every SEG_CHECK_NS.
	 */
	if (((r == TC_ENOTFOUND || r == TC_ENOTOKEN || r == TC_EEXPIRED ||
	    r == TC_EFAILED || r == TC_EDECRYPT) ||
	    coarse_mono_ns() >= c->next_check_ns) &&
	    segment_switch(c, name, len, r == 0))
		r = get_locked(c, name, len, buf, buflen, info, &e);
	if (e != NULL)
		thread_copy_update(c, e, r);
	pthread_mutex_unlock(&c->lock);
	return r;
}

int
tc_get(tc_client *c, const char *name, char *buf, size_t buflen,
    tc_token_info *info)
{
	struct tview *v;
	struct tcopy *t;

	if (c == NULL || name == NULL || buf == NULL)
		return TC_EINVAL;
	/* The hot path: this thread's copy is current. */
	if ((v = thread_view(c)) != NULL && (t = view_lookup(v, name)) != NULL &&
	    copy_usable(t, buflen, info)) {
		memcpy(buf, t->token, t->token_len + 1);
		return 0;
	}
	return get_slow(c, name, buf, buflen, info);
}

static int
wait_op(tc_client *c, int op, const char *name, int timeout_ms)
{
	struct proto_req req;
	struct proto_resp resp;
	uint32_t t;
	int r;

	if (timeout_ms <= 0)
		t = 0;		/* the daemon picks: its fetch timeout */
	else if (timeout_ms > PROTO_WAIT_MAX_MS)
		t = PROTO_WAIT_MAX_MS;
	else
		t = (uint32_t)timeout_ms;
	if ((r = proto_req_init(&req, op, name, t)) != 0)
		return r;
	r = proto_call(c->dir, &req, &resp,
	    (t ? (int)t : PROTO_WAIT_MAX_MS) + PROTO_CALL_SLACK_MS);
	if (r == 0)
		r = resp.status;
	return r;
}

int
tc_get_wait(tc_client *c, const char *name, char *buf, size_t buflen,
    tc_token_info *info, int timeout_ms)
{
	int r;

	r = tc_get(c, name, buf, buflen, info);
	if (timeout_ms == 0 || (r != TC_ENOTOKEN && r != TC_EEXPIRED &&
	    r != TC_EFAILED && r != TC_ENOCACHE))
		return r;
	if ((r = wait_op(c, PROTO_OP_WAIT, name, timeout_ms)) != 0) {
		char none[1];

		/*
		 * Let info carry the daemon's reason for the failure; a
		 * one-byte buffer keeps buf untouched.  A token published
		 * meanwhile (TC_ERANGE here) is worth returning after all.
		 */
		if (r == TC_EFAILED && info != NULL &&
		    tc_get(c, name, none, sizeof(none), info) == TC_ERANGE)
			return tc_get(c, name, buf, buflen, info);
		return r;
	}
	return tc_get(c, name, buf, buflen, info);
}

int
tc_refresh(tc_client *c, const char *name, int timeout_ms)
{
	if (c == NULL || name == NULL)
		return TC_EINVAL;
	return wait_op(c, PROTO_OP_REFRESH, name, timeout_ms);
}

const char *
tc_strerror(int code)
{
	switch (code) {
	case TC_OK:		return "success";
	case TC_EINVAL:		return "invalid argument";
	case TC_ENOMEM:		return "out of memory";
	case TC_ENOCACHE:	return "no token cache (is tokencached running?)";
	case TC_ECORRUPT:	return "token cache is corrupt";
	case TC_EVERSION:	return "token cache has an unsupported format version";
	case TC_ENOTFOUND:	return "no such credential";
	case TC_ENOTOKEN:	return "no token fetched yet";
	case TC_EEXPIRED:	return "token expired";
	case TC_EFAILED:	return "fetching the token failed";
	case TC_EACCES:		return "permission denied";
	case TC_ERANGE:		return "buffer too small for the token";
	case TC_EBUSY:		return "token cache busy, try again";
	case TC_ENODAEMON:	return "cannot reach tokencached";
	case TC_ETIMEDOUT:	return "timed out waiting for a token";
	case TC_EPROTO:		return "malformed reply from tokencached";
	case TC_ESYSTEM:	return "system error";
	case TC_EDECRYPT:	return "token failed authentication";
	case TC_EBADTOKEN:	return "token refused: it has a byte outside "
				    "visible ASCII (0x21-0x7E)";
	case TC_EPEER:		return "control socket refused: its listener "
				    "is not root, tokencached's user or ours";
	default:		return "unknown error";
	}
}

const char *
tc_version(void)
{
	return TC_VERSION_STRING;
}
