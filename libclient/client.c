/*
 * client.c - libtokencache: the public API.
 *
 * A tc_client keeps, per credential it has read, the slot index and the
 * slot's sequence word as of the last decrypt, the key, and the decrypted
 * token in guarded memory.  tc_get() on an unchanged slot compares the live
 * sequence word with the remembered one, checks the CLOCK_BOOTTIME
 * deadline (vDSO, no system call) and copies the token out: no system
 * call, no decryption.  Anything else takes the slow path: a seqlock copy
 * of the slot, a key from the daemon if we lack the right one, a decrypt.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "seg.h"
#include "tokencache.h"

#define DEFAULT_RUNTIME_DIR "/run/tokencache"
#define KEY_CALL_MS 5000

struct centry {
	char name[SEG_NAME_FIELD];
	size_t name_len;
	int have_slot;
	uint32_t idx;
	uint64_t seq;             /* slot seq when token/meta were copied */
	int have_token;
	struct seg_slot meta;     /* metadata as of seq */
	char *token;              /* sodium_malloc'd, token_max + 1 */
	size_t token_len;
	int have_key;
	uint64_t key_epoch;
	unsigned char *key;       /* sodium_malloc'd */
};

struct tc_client {
	char *dir;
	pthread_mutex_t lock;
	int mapped;
	struct seg_map map;
	unsigned char *ct;        /* scratch for ciphertext copies */
	struct centry *ents;
	size_t nents, cap;
	struct tc_client *next;   /* all handles, for fork safety */
};

/*
 * fork(): a child inherits our mutexes in whatever state other threads
 * left them.  Hold every handle's lock across fork so that both sides
 * start with them unlocked and consistent.
 */
static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static struct tc_client *clients;

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
atfork_register(void)
{
	(void)pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

const char *
tc_default_runtime_dir(void)
{
	const char *d = secure_getenv("TOKENCACHE_RUNTIME_DIR");

	return (d != NULL && *d != '\0') ? d : DEFAULT_RUNTIME_DIR;
}

int
tc_req_init(struct tc_req *req, int op, const char *name, uint32_t timeout_ms)
{
	size_t len = name != NULL ? strnlen(name, TC_NAME_MAX + 1) : 0;

	memset(req, 0, sizeof(*req));
	if (name != NULL && seg_name_valid(name, len) != 0)
		return TC_EINVAL;
	req->magic = TC_PROTO_MAGIC;
	req->version = TC_PROTO_VERSION;
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

int
tc_call(const char *runtime_dir, const struct tc_req *req,
    struct tc_resp *resp, int timeout_ms)
{
	struct sockaddr_un sun;
	struct tc_resp r;
	struct pollfd pfd;
	int64_t deadline;
	ssize_t n;
	int fd, rc, ret, left;

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
	 * stopped with SIGSTOP) costs us at most timeout_ms: a Unix socket
	 * whose backlog is full says EAGAIN, and we try again until then.
	 */
	deadline = mono_ms() + timeout_ms;
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
	if (send(fd, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req)) {
		ret = TC_ENODAEMON;
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
	n = recv(fd, &r, sizeof(r), MSG_TRUNC);
	if (n == 0 || (n == -1 && errno == ECONNRESET)) {
		ret = TC_ENODAEMON;
		goto out;
	}
	if (n != (ssize_t)sizeof(r) || r.magic != TC_PROTO_MAGIC ||
	    r.version != TC_PROTO_VERSION || r.op != req->op ||
	    r.status > 0 || r.status < -1000) {
		ret = TC_EPROTO;
		goto out;
	}
	r.message[sizeof(r.message) - 1] = '\0';
	/* success */
	*resp = r;
	ret = 0;
 out:
	sodium_memzero(&r, sizeof(r));
	close(fd);
	return ret;
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
		runtime_dir = tc_default_runtime_dir();
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TC_ENOMEM;
	c->map.fd = -1;
	if ((c->dir = strdup(runtime_dir)) == NULL) {
		free(c);
		return TC_ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&clients_lock);
	c->next = clients;
	clients = c;
	pthread_mutex_unlock(&clients_lock);
	*ret = c;
	return 0;
}

static void
entry_forget_slot(struct centry *e)
{
	e->have_slot = 0;
	e->have_token = 0;
	e->seq = 0;
	if (e->token != NULL) {
		sodium_free(e->token);
		e->token = NULL;
	}
	e->token_len = 0;
}

static void
unmap_segment(tc_client *c)
{
	size_t i;

	for (i = 0; i < c->nents; i++)
		entry_forget_slot(&c->ents[i]);
	free(c->ct);
	c->ct = NULL;
	seg_map_close(&c->map);
	c->mapped = 0;
}

void
tc_close(tc_client *c)
{
	struct tc_client **pp;
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
	unmap_segment(c);
	for (i = 0; i < c->nents; i++)
		sodium_free(c->ents[i].key);
	free(c->ents);
	pthread_mutex_destroy(&c->lock);
	free(c->dir);
	free(c);
}

/*
 * Was the segment we map replaced or removed without being marked retired
 * (a daemon started on a fresh runtime directory)?  A system call, so only
 * asked on the slow paths, when the answer we have is not a token.
 */
static int
segment_replaced(tc_client *c)
{
	char path[PATH_MAX];
	struct stat st;

	if (!c->mapped)
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", c->dir, SEG_FILE_NAME) >=
	    (int)sizeof(path))
		return 0;
	if (stat(path, &st) == -1)
		return errno == ENOENT;
	return st.st_dev != c->map.dev || st.st_ino != c->map.ino;
}

/* Map the segment, or re-map it if the daemon retired the one we have. */
static int
ensure_mapped(tc_client *c)
{
	size_t ctcap;
	int r;

	if (c->mapped) {
		if (seg_live_status(&c->map) == SEG_ALIVE)
			return 0;
		unmap_segment(c);
	}
	if ((r = seg_map_open(&c->map, c->dir)) != 0)
		return r;
	ctcap = ((size_t)c->map.hdr.token_max + SEG_MAC_BYTES + 7) &
	    ~(size_t)7;
	if ((c->ct = malloc(ctcap)) == NULL) {
		seg_map_close(&c->map);
		return TC_ENOMEM;
	}
	c->mapped = 1;
	return 0;
}

static struct centry *
find_entry(tc_client *c, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < c->nents; i++)
		if (c->ents[i].name_len == len &&
		    memcmp(c->ents[i].name, name, len) == 0)
			return &c->ents[i];
	return NULL;
}

static struct centry *
add_entry(tc_client *c, const char *name, size_t len)
{
	struct centry *e;
	size_t ncap;

	if (c->nents == c->cap) {
		ncap = c->cap ? c->cap * 2 : 8;
		e = realloc(c->ents, ncap * sizeof(*e));
		if (e == NULL)
			return NULL;
		c->ents = e;
		c->cap = ncap;
	}
	e = &c->ents[c->nents];
	memset(e, 0, sizeof(*e));
	if ((e->key = sodium_malloc(SEG_KEY_BYTES)) == NULL)
		return NULL;
	memcpy(e->name, name, len);
	e->name_len = len;
	c->nents++;
	return e;
}

static int
fetch_key(tc_client *c, struct centry *e)
{
	struct tc_req req;
	struct tc_resp resp;
	int r;

	if ((r = tc_req_init(&req, TC_OP_KEY, e->name, 0)) != 0)
		return r;
	if ((r = tc_call(c->dir, &req, &resp, KEY_CALL_MS)) != 0)
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
	memcpy(info->error, m->error, sizeof(info->error));
	info->error[sizeof(info->error) - 1] = '\0';
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

/*
 * Bring e up to date with its slot: find the slot, copy it, and decrypt
 * when the token changed.  Called with c->lock held.
 */
static int
refresh_entry(tc_client *c, struct centry *e)
{
	struct seg_slot s;
	int r, tries, fetched = 0;

	for (tries = 0; tries < 3; tries++) {
		if (!e->have_slot) {
			if ((r = seg_lookup(&c->map, e->name, e->name_len,
			    &e->idx, &s)) != 0)
				return r;
			e->have_slot = 1;
		}
		if ((r = seg_read_slot(&c->map, e->idx, &s, c->ct)) != 0)
			return r;
		if (s.use != SLOT_USED || s.name_len != e->name_len ||
		    memcmp(s.name, e->name, e->name_len) != 0) {
			entry_forget_slot(e);	/* released or reused */
			continue;
		}
		if (s.ct_len == 0) {
			e->have_token = 0;
			e->meta = s;
			e->seq = 0;
			return no_token_code(&s);
		}
		if (e->have_token && s.generation == e->meta.generation &&
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
		if (e->token == NULL && (e->token =
		    sodium_malloc((size_t)c->map.hdr.token_max + 1)) == NULL)
			return TC_ENOMEM;
		r = seg_open_token(&s, c->ct, e->key, e->token,
		    (size_t)c->map.hdr.token_max + 1, &e->token_len);
		if (r == TC_EDECRYPT && !fetched) {
			/* Maybe a new master key after a daemon restart. */
			e->have_key = 0;
			continue;
		}
		if (r != 0)
			return r;
		e->have_token = 1;
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

static int get_locked(tc_client *c, const char *name, size_t len,
    char *buf, size_t buflen, tc_token_info *info);

int
tc_get(tc_client *c, const char *name, char *buf, size_t buflen,
    tc_token_info *info)
{
	size_t len;
	int r;

	if (c == NULL || name == NULL || buf == NULL)
		return TC_EINVAL;
	len = strnlen(name, TC_NAME_MAX + 1);
	if (seg_name_valid(name, len) != 0)
		return TC_EINVAL;
	pthread_mutex_lock(&c->lock);
	r = get_locked(c, name, len, buf, buflen, info);
	/* No token here: maybe a new daemon made a new segment elsewhere. */
	if ((r == TC_ENOTFOUND || r == TC_ENOTOKEN || r == TC_EEXPIRED ||
	    r == TC_EFAILED) && segment_replaced(c)) {
		unmap_segment(c);
		r = get_locked(c, name, len, buf, buflen, info);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int
get_locked(tc_client *c, const char *name, size_t len, char *buf,
    size_t buflen, tc_token_info *info)
{
	struct centry *e;
	int64_t now;
	int r;

	if ((r = ensure_mapped(c)) != 0)
		return r;
	if ((e = find_entry(c, name, len)) == NULL &&
	    (e = add_entry(c, name, len)) == NULL)
		return TC_ENOMEM;
	/* The hot path: the slot has not changed since we last copied it. */
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
	now = seg_boottime_ns();
	return copy_out(e, buf, buflen, info, now);
}

static int
wait_op(tc_client *c, int op, const char *name, int timeout_ms)
{
	struct tc_req req;
	struct tc_resp resp;
	uint32_t t;
	int r;

	if (timeout_ms <= 0)
		t = 0;		/* the daemon picks: its fetch timeout */
	else if (timeout_ms > TC_WAIT_MAX_MS)
		t = TC_WAIT_MAX_MS;
	else
		t = (uint32_t)timeout_ms;
	if ((r = tc_req_init(&req, op, name, t)) != 0)
		return r;
	r = tc_call(c->dir, &req, &resp,
	    (t ? (int)t : TC_WAIT_MAX_MS) + TC_CALL_SLACK_MS);
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
	if ((r = wait_op(c, TC_OP_WAIT, name, timeout_ms)) != 0) {
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
	return wait_op(c, TC_OP_REFRESH, name, timeout_ms);
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
	default:		return "unknown error";
	}
}

const char *
tc_version(void)
{
	return TC_VERSION_STRING;
}
