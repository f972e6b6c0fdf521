/*
 * view.c - each thread's copies of the tokens it read through a handle
 * (its "view" of the handle), which that thread alone reads, on the hot
 * path, and which change only under the handle's mutex, by that thread.
 */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

pthread_key_t view_tls_key;
int view_tls_key_made;
_Thread_local struct tthread *view_tls
    __attribute__((tls_model("initial-exec")));

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
void
view_thread_exit(void *arg)
{
	struct tthread *t = arg;
	struct tc_client *c;
	size_t i;

	pthread_mutex_lock(&client_list_lock);
	for (i = 0; i < t->n; i++) {
		for (c = client_list; c != NULL && c->id != t->views[i].id;
		    c = c->next)
			;
		if (c == NULL)
			continue;	/* closed, and its views freed */
		pthread_mutex_lock(&c->lock);
		view_unlink(c, t->views[i].v);
		view_free(c, t->views[i].v);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&client_list_lock);
	view_tls = NULL;
	free(t);
}

void
view_free(tc_client *c, struct tview *v)
{
	struct tcopy *t;
	size_t i;

	for (i = 0; v->copies.slot != NULL && i <= v->copies.mask; i++) {
		if ((t = v->copies.slot[i]) == NULL)
			continue;
		cell_free(&c->secrets, t->token, t->token_cap);
		sodium_memzero(t, sizeof(*t));
		free(t);
	}
	free(v->copies.slot);
	free(v);
}

static uint64_t
copy_hash(const void *p)
{
	return ((const struct tcopy *)p)->e->hash;
}

/* view_lookup() when the name is not the last one read. */
__attribute__((noinline)) struct tcopy *
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

/* The check against the coarse monotonic clock; out of line, as it runs
 * about once a second. */
__attribute__((noinline)) int
view_copy_recheck(struct tcopy *t, time_t now)
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

/*
 * Drop the calling thread's record of handle id (closed), and the record
 * itself once it is empty: a thread that opens and closes handles keeps
 * nothing.
 */
void
view_forget_handle(uint64_t id)
{
	struct tthread *t = view_tls;
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
		(void)pthread_setspecific(view_tls_key, NULL);
		view_tls = NULL;
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

	if (!view_tls_key_made)
		return NULL;
	if ((th = view_tls) == NULL) {
		if ((th = calloc(1, sizeof(*th))) == NULL)
			return NULL;
		if (pthread_setspecific(view_tls_key, th) != 0) {
			free(th);
			return NULL;
		}
		view_tls = th;
	}
	if (th->n == TVIEWS_MAX || (v = calloc(1, sizeof(*v))) == NULL) {
		view_forget_handle(0);	/* ids start at 1 */
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
void
view_copy_update(tc_client *c, const struct centry *e, int r)
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
		cell_free(&c->secrets, t->token, t->token_cap);
		t->token_cap = 0;
		if ((t->token = cell_alloc(&c->secrets, e->token_len + 1,
		    &t->token_cap)) == NULL)
			return;
	}
	memcpy(t->token, e->token, e->token_len + 1);
	t->token_len = e->token_len;
	t->info.size = sizeof(t->info);
	entry_fill_info(&t->info, &e->meta, e->token_len, 0);
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
 * Before taking c->lock: if this thread has no view of c and no room for
 * one, forget the views of handles closed since (tc_close freed them).
 */
void
view_make_room(const tc_client *c)
{
	struct tthread *t = view_tls;
	struct tc_client *o;
	size_t i;

	if (t == NULL || t->n < TVIEWS_MAX || thread_view(c) != NULL)
		return;
	pthread_mutex_lock(&client_list_lock);
	for (i = 0; i < t->n; ) {
		for (o = client_list; o != NULL && o->id != t->views[i].id;
		    o = o->next)
			;
		if (o == NULL)
			t->views[i] = t->views[--t->n];
		else
			i++;
	}
	pthread_mutex_unlock(&client_list_lock);
}
