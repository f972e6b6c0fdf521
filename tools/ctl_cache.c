/*
 * The token cache as the tool reads it: the daemon's persistent copy of
 * the segment, loaded without a key (metadata only, never a token), and
 * what a slot's state means to the people looking at it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "seg.h"
#include "tokencache.h"

int
ctl_slot_has_expiry(const struct seg_slot *s)
{
	return s->expires_boot_ns != 0;
}

/* Whole seconds the token has left, 0 once it has expired. */
int64_t
ctl_slot_seconds_left(const struct seg_slot *s, int64_t now_boot)
{
	int64_t left = s->expires_boot_ns - now_boot;

	return left > 0 ? left / NS_PER_S : 0;
}

/*
 * The state people should see.  The daemon marks a token TS_EXPIRED only
 * when its timer fires; a reader may get there first, and a token whose
 * deadline has passed is expired whatever the slot says.
 */
const char *
ctl_slot_state_name(const struct seg_slot *s, int64_t now_boot)
{
	switch (s->state) {
	case TS_PENDING:
		return "pending";
	case TS_VALID:
		return s->expires_boot_ns > now_boot ? "valid" : "expired";
	case TS_FAILED:
		return "failed";
	case TS_EXPIRED:
		return "expired";
	case TS_LOST:
		return "lost";
	default:
		return "unknown";
	}
}

int
ctl_slot_is_ok(const struct seg_slot *s, int64_t now_boot)
{
	return s->state == TS_VALID && s->expires_boot_ns > now_boot;
}

/* Time left on s's token: "59m12s", "expired", or "-" for none (the IN
 * column of list and watch, show's expires_in). */
void
ctl_format_remaining(char *buf, size_t len, const struct seg_slot *s,
    int64_t now_boot)
{
	if (!ctl_slot_has_expiry(s))
		snprintf(buf, len, "-");
	else if (s->expires_boot_ns <= now_boot)
		snprintf(buf, len, "expired");
	else
		ctl_format_duration(buf, len, ctl_slot_seconds_left(s, now_boot));
}

/*
 * The SGR parameters that colour s's state in list and watch: green
 * (CTL_SGR_GREEN) while the token is good, yellow while it is good but a
 * refresh fails or it is about to expire (check's WARNING threshold: 300
 * s, or a tenth of a short lifetime), while the first token is awaited
 * and while the daemon has lost track of it, red when there is none to
 * serve.
 */
const char *
ctl_state_colour(const struct seg_slot *s, int64_t now_boot)
{
	int64_t lifetime = 0, warn = 300;

	switch (s->state) {
	case TS_PENDING:
	case TS_LOST:
		return CTL_SGR_YELLOW;
	case TS_VALID:
		if (!ctl_slot_is_ok(s, now_boot))
			return CTL_SGR_RED;
		if (s->plan.fetched_boot_ns != 0 &&
		    s->expires_boot_ns > s->plan.fetched_boot_ns)
			lifetime = (s->expires_boot_ns -
			    s->plan.fetched_boot_ns) / NS_PER_S;
		if (lifetime > 0 && warn > lifetime / 10)
			warn = lifetime / 10;
		if (s->failures > 0 ||
		    ctl_slot_seconds_left(s, now_boot) < warn)
			return CTL_SGR_YELLOW;
		return CTL_SGR_GREEN;
	default:
		return CTL_SGR_RED;
	}
}

/*
 * Make a consistent slot copy safe to print: the name must be one the
 * daemon could have written, the other strings printable.
 */
static int
ctl_slot_clean(struct seg_slot *s)
{
	/* seg_read_slot() checked name_len <= TC_NAME_MAX < SEG_NAME_FIELD. */
	s->name[s->name_len] = '\0';
	if (seg_name_valid(s->name, s->name_len) != 0)
		return TC_ECORRUPT;
	ctl_make_printable(s->token_type, sizeof(s->token_type));
	ctl_make_printable(s->error, sizeof(s->error));
	return 0;
}

/*
 * Read the daemon's persistent copy of the segment (never mapped: a file
 * truncated meanwhile is an error, not SIGBUS).  A segment the daemon has
 * retired is about to be replaced by a new file under the same name, so
 * look once more.
 */
static int
ctl_cache_open(struct seg_map *m, const char *dir, int *err)
{
	int r, tries;

	for (tries = 0; tries < 2; tries++) {
		errno = 0;
		if ((r = seg_file_load(m, dir)) != 0) {
			*err = errno;
			return r;
		}
		if (seg_live_status(m) == SEG_ALIVE)
			return 0;
		seg_map_close(m);
	}
	*err = 0;
	return TC_ENOCACHE;
}

void
ctl_cache_strerror(char *buf, size_t len, const char *dir, int r, int err)
{
	if (r == TC_ENOCACHE)
		snprintf(buf, len, "no token cache in %s (is tokencached "
		    "running?)", dir);
	else if (r == TC_EINVAL)
		snprintf(buf, len, "%s: path too long", dir);
	else if (r == TC_ESYSTEM && err != 0)
		snprintf(buf, len, "%s/%s: %s", dir, SEG_FILE_NAME,
		    strerror(err));
	else
		snprintf(buf, len, "%s/%s: %s", dir, SEG_FILE_NAME,
		    tc_strerror(r));
}

static int
compare_slot_names(const void *a, const void *b)
{
	const struct seg_slot *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void
ctl_cache_free(struct ctl_cache *c)
{
	free(c->creds);
	memset(c, 0, sizeof(*c));
}

/*
 * Copy every used slot of m, sorted by name.  A slot that cannot be read
 * consistently is counted in nbad (and reported on stderr unless quiet:
 * watch draws its own screen); the others are still listed.
 */
int
ctl_cache_read(struct ctl_cache *out, const struct seg_map *m,
    const char *dir, int quiet)
{
	struct ctl_cache c;
	struct seg_slot s, *p;
	size_t cap = 0;
	uint32_t i;
	int r;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < m->hdr.nslots; i++) {
		if ((r = seg_read_slot(m, i, &s, NULL)) == 0 &&
		    s.use == SLOT_USED)
			r = ctl_slot_clean(&s);
		if (r != 0) {
			if (!quiet)
				ctl_warnx("%s/%s: slot %u: %s", dir,
				    SEG_FILE_NAME, (unsigned)i, tc_strerror(r));
			c.nbad++;
			continue;
		}
		if (s.use != SLOT_USED)
			continue;
		if (c.ncreds == cap) {
			cap = cap ? cap * 2 : 16;
			if ((p = reallocarray(c.creds, cap, sizeof(*p))) ==
			    NULL) {
				r = TC_ENOMEM;
				goto out;
			}
			c.creds = p;
		}
		c.creds[c.ncreds++] = s;
	}
	if (c.ncreds > 0)
		qsort(c.creds, c.ncreds, sizeof(*c.creds), compare_slot_names);
	/* success */
	*out = c;
	memset(&c, 0, sizeof(c));
	r = 0;
 out:
	ctl_cache_free(&c);
	return r;
}

/* Every used slot of the persistent copy (ctl_cache_read()). */
int
ctl_cache_load(struct ctl_cache *out, const char *dir, int *err)
{
	struct seg_map m;
	int r;

	if ((r = ctl_cache_open(&m, dir, err)) != 0)
		return r;
	r = ctl_cache_read(out, &m, dir, 0);
	seg_map_close(&m);
	return r;
}

/* The metadata of one credential, cleaned up like ctl_cache_load()'s. */
int
ctl_cache_lookup(struct seg_slot *out, const char *dir, const char *name,
    int *err)
{
	struct seg_map m;
	struct seg_slot s;
	uint32_t idx;
	int r;

	if ((r = ctl_cache_open(&m, dir, err)) != 0)
		return r;
	if ((r = seg_lookup(&m, name, strlen(name), &idx, &s)) == 0 &&
	    (r = ctl_slot_clean(&s)) == 0)
		*out = s;
	seg_map_close(&m);
	return r;
}

/*
 * Why a credential has no token, from the segment.  The library hands
 * over the last error only when it read the slot itself; after a wait or
 * a refresh the daemon's verdict arrives without it.  Best effort.
 */
void
ctl_cache_last_error(char *buf, size_t len, const char *dir, const char *name)
{
	struct seg_slot s;
	int err;

	if (ctl_cache_lookup(&s, dir, name, &err) == 0)
		snprintf(buf, len, "%s", s.error);
}
