/*
 * client.c - libtokencache: the public API (tc_*), the registry of open
 * handles and fork handling.
 *
 * Two levels of cache.  The handle keeps (entry.c), per credential it
 * has read, the slot index, the slot's sequence word as of the last
 * decrypt, the key and the decrypted token.  It changes only under the
 * handle's mutex.  Each thread that reads through the handle also keeps a
 * copy of every token it has read (its "view" of the handle, view.c),
 * which that thread alone reads and which changes only under the mutex,
 * by that thread.
 *
 * tc_get() on an unchanged token touches only the calling thread's copy
 * and two words of the live segment: it finds the copy, checks that the
 * segment is alive and that the slot's sequence word is the one the copy
 * was made at, checks the expiry against coarse clocks (see copy_in_time
 * in client_int.h) and copies the token out.  No lock, no system call, no
 * decryption and no store to memory another thread reads, so readers on
 * different cores do not slow each other down.  Anything else takes the
 * slow path under the mutex: a seqlock copy of the slot, a key from the
 * daemon if we lack the right one, a decrypt, and a fresh copy for the
 * calling thread.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "client_int.h"

/*
 * fork(): a child inherits our mutexes in whatever state other threads
 * left them.  Hold every handle's lock across fork so that both sides
 * start with them unlocked and consistent.  Thread views change only under
 * their handle's lock, so they too are consistent in the child; those of
 * threads the child does not have are freed with the handle.
 *
 * Lock order: client_list_lock, then a handle's lock.
 */
pthread_mutex_t client_list_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
struct tc_client *client_list;
static uint64_t last_client_id;

static void
atfork_prepare(void)
{
	struct tc_client *c;

	pthread_mutex_lock(&client_list_lock);
	for (c = client_list; c != NULL; c = c->next)
		pthread_mutex_lock(&c->lock);
}

static void
atfork_release(void)
{
	struct tc_client *c;

	for (c = client_list; c != NULL; c = c->next)
		pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&client_list_lock);
}


static void
init_library(void)
{
	(void)pthread_atfork(atfork_prepare, atfork_release, atfork_release);
	view_tls_key_made = pthread_key_create(&view_tls_key,
	    view_thread_exit) == 0;
}

/*
 * Unloaded by dlclose(): a thread that ends later must not call
 * view_thread_exit(), which is gone.  Its views leak; they are wiped only at
 * tc_close(), which a program that unloads us has called.
 */
__attribute__((destructor)) static void
unload_library(void)
{
	if (view_tls_key_made)
		(void)pthread_key_delete(view_tls_key);
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
	pthread_mutex_lock(&client_list_lock);
	c->id = ++last_client_id;
	c->next = client_list;
	client_list = c;
	pthread_mutex_unlock(&client_list_lock);
	*ret = c;
	return 0;
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
	pthread_mutex_lock(&client_list_lock);
	for (pp = &client_list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&client_list_lock);
	view_forget_handle(c->id);
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
	cell_arena_destroy(&c->secrets);	/* wipes every key and token */
	pthread_mutex_destroy(&c->lock);
	free(c->dir);
	free(c);
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
	view_make_room(c);
	pthread_mutex_lock(&c->lock);
	r = entry_get_locked(c, name, len, buf, buflen, info, &e);
	/*
	 * No token here, or only our own copy of one the segment lost, or
	 * simply time to look: maybe the daemon was restarted and writes
	 * another segment now.  At once when there is no token; else at most
	 * every SEG_CHECK_NS.
	 */
	if (((r == TC_ENOTFOUND || r == TC_ENOTOKEN || r == TC_EEXPIRED ||
	    r == TC_EFAILED || r == TC_EDECRYPT) ||
	    coarse_mono_ns() >= c->next_check_ns) &&
	    segmap_switch(c, name, len, r == 0))
		r = entry_get_locked(c, name, len, buf, buflen, info, &e);
	if (e != NULL)
		view_copy_update(c, e, r);
	pthread_mutex_unlock(&c->lock);
	return r;
}

/*
 * Symbol versions (libtokencache.sym).  tc_get and tc_get_wait are
 * TOKENCACHE_0.2 since tc_token_info carries its size; their
 * TOKENCACHE_0.1 versions, below, serve programs built against 0.1.0,
 * which pass the struct without it.  In a static link, and in the
 * library itself, the names mean the 0.2 functions.
 */
TC_EXPORT int tc_get_v0_2(tc_client *c, const char *name, char *buf,
    size_t buflen, tc_token_info *info);
TC_EXPORT int tc_get_wait_v0_2(tc_client *c, const char *name, char *buf,
    size_t buflen, tc_token_info *info, int timeout_ms);
__asm__(".symver tc_get_v0_2, tc_get@@TOKENCACHE_0.2");
__asm__(".symver tc_get_wait_v0_2, tc_get_wait@@TOKENCACHE_0.2");
_Static_assert(__builtin_types_compatible_p(__typeof__(tc_get),
    __typeof__(tc_get_v0_2)) && __builtin_types_compatible_p(
    __typeof__(tc_get_wait), __typeof__(tc_get_wait_v0_2)),
    "tc_get_v0_2 and tc_get_wait_v0_2 are tokencache.h's functions");

int
tc_get_v0_2(tc_client *c, const char *name, char *buf, size_t buflen,
    tc_token_info *info)
{
	struct tview *v;
	struct tcopy *t;

	if (c == NULL || name == NULL || buf == NULL ||
	    (info != NULL && info->size < INFO_FIRST))
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
tc_get_wait_v0_2(tc_client *c, const char *name, char *buf, size_t buflen,
    tc_token_info *info, int timeout_ms)
{
	int r;

	r = tc_get_v0_2(c, name, buf, buflen, info);
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
		    tc_get_v0_2(c, name, none, sizeof(none), info) ==
		    TC_ERANGE)
			return tc_get_v0_2(c, name, buf, buflen, info);
		return r;
	}
	return tc_get_v0_2(c, name, buf, buflen, info);
}

/* tc_token_info as 0.1.0 had it: today's first fields, without size. */
struct tc_token_info_0_1 {
	int64_t expires_at;
	int64_t expires_in_ms;
	int64_t fetched_at;
	uint64_t generation;
	size_t length;
	char token_type[TC_TYPE_MAX];
	char error[TC_ERROR_MAX];
};
_Static_assert(INFO_FIRST + sizeof(struct tc_token_info_0_1) ==
    offsetof(tc_token_info, error) + TC_ERROR_MAX &&
    INFO_FIRST + offsetof(struct tc_token_info_0_1, error) ==
    offsetof(tc_token_info, error),
    "tc_token_info after size is 0.1.0's struct");

TC_EXPORT int tc_get_v0_1(tc_client *c, const char *name, char *buf,
    size_t buflen, struct tc_token_info_0_1 *old);
TC_EXPORT int tc_get_wait_v0_1(tc_client *c, const char *name, char *buf,
    size_t buflen, struct tc_token_info_0_1 *old, int timeout_ms);
__asm__(".symver tc_get_v0_1, tc_get@TOKENCACHE_0.1");
__asm__(".symver tc_get_wait_v0_1, tc_get_wait@TOKENCACHE_0.1");

/*
 * The 0.1 calls: the 0.2 call on a sized copy of the caller's struct,
 * copied back whole, so that what 0.2 leaves alone the caller gets back
 * as it was.
 */
int
tc_get_v0_1(tc_client *c, const char *name, char *buf, size_t buflen,
    struct tc_token_info_0_1 *old)
{
	return tc_get_wait_v0_1(c, name, buf, buflen, old, 0);
}

int
tc_get_wait_v0_1(tc_client *c, const char *name, char *buf, size_t buflen,
    struct tc_token_info_0_1 *old, int timeout_ms)
{
	tc_token_info info;
	int r;

	if (old == NULL)
		return tc_get_wait_v0_2(c, name, buf, buflen, NULL,
		    timeout_ms);
	info.size = INFO_FIRST + sizeof(*old);
	memcpy((char *)&info + INFO_FIRST, old, sizeof(*old));
	r = tc_get_wait_v0_2(c, name, buf, buflen, &info, timeout_ms);
	memcpy(old, (char *)&info + INFO_FIRST, sizeof(*old));
	return r;
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
