/*
 * list: the credentials' state from the segment, as a table or as JSON,
 * with the provider from the daemon when it answers; and what list and
 * show share: times in words, a slot's JSON object, the daemon's status
 * document (PROTO_OP_STATUS).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "ctl.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

#define STATUS_JSON_DEPTH 16


/* Unix time t seen from now: "in 4m12s", "3m05s ago", "now", or "-" for
 * 0 (never, not planned). */
void
ctl_format_relative(char *buf, size_t len, int64_t t, int64_t now)
{
	char d[32];

	if (t == 0)
		snprintf(buf, len, "-");
	else if (t == now)
		snprintf(buf, len, "now");
	else if (t > now) {
		ctl_format_duration(d, sizeof(d), t - now);
		snprintf(buf, len, "in %s", d);
	} else {
		ctl_format_duration(d, sizeof(d), now - t);
		snprintf(buf, len, "%s ago", d);
	}
}

/* NEXT REFRESH: "in 4m12s", "due" once its time has come, "-". */
static void
format_next_refresh(char *buf, size_t len, const struct seg_slot *s,
    int64_t now_wall)
{
	if (s->next_refresh_at != 0 && s->next_refresh_at <= now_wall)
		snprintf(buf, len, "due");
	else
		ctl_format_relative(buf, len, s->next_refresh_at, now_wall);
}

/* An integer, or null when have is 0. */
static int
json_put_int(struct json_object *o, const char *key, int have, int64_t v)
{
	if (!have)
		return json_object_object_add(o, key, NULL) == 0 ? 0 : -1;
	return ctl_json_put(o, key, json_object_new_int64(v));
}

struct json_object *
ctl_slot_json(const struct seg_slot *s, int64_t now_boot, int64_t now_wall)
{
	struct json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (ctl_json_put(o, "name", json_object_new_string(s->name)) != 0 ||
	    ctl_json_put(o, "state", json_object_new_string(
	    ctl_slot_state_name(s, now_boot))) != 0 ||
	    json_put_int(o, "expires_at", s->expires_at != 0,
	    s->expires_at) != 0 ||
	    json_put_int(o, "expires_in", ctl_slot_has_expiry(s),
	    ctl_slot_seconds_left(s, now_boot)) != 0 ||
	    json_put_int(o, "fetched_at", s->fetched_at != 0,
	    s->fetched_at) != 0 ||
	    json_put_int(o, "last_success_at", s->fetched_at != 0,
	    s->fetched_at) != 0 ||
	    json_put_int(o, "next_refresh_at", s->next_refresh_at != 0,
	    s->next_refresh_at) != 0 ||
	    json_put_int(o, "next_refresh_in", s->next_refresh_at != 0,
	    s->next_refresh_at > now_wall ? s->next_refresh_at - now_wall :
	    0) != 0 ||
	    json_put_int(o, "last_attempt_at", s->last_attempt_at != 0,
	    s->last_attempt_at) != 0 ||
	    json_put_int(o, "next_request_in_ms", s->plan.next_boot_ns != 0,
	    s->plan.next_boot_ns > now_boot ?
	    (s->plan.next_boot_ns - now_boot) / NS_PER_MS : 0) != 0 ||
	    ctl_json_put(o, "endpoint_overloaded", json_object_new_boolean(
	    (s->plan.flags & SEG_PLAN_OVERLOADED) != 0)) != 0 ||
	    ctl_json_put(o, "generation",
	    json_object_new_uint64(s->generation)) != 0 ||
	    ctl_json_put(o, "failures", json_object_new_int64(s->failures)) != 0 ||
	    ctl_json_put(o, "http_status",
	    json_object_new_int64(s->http_status)) != 0 ||
	    ctl_json_put(o, "token_type",
	    json_object_new_string(s->token_type)) != 0 ||
	    ctl_json_put(o, "last_error", json_object_new_string(s->error)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/*
 * The status document is the daemon's, but it carries what OAuth servers
 * sent (error_description): it is parsed strictly, bounded in depth, and
 * every string printed from it goes through ctl_make_printable().
 */
int
ctl_status_fetch(const char *dir, int timeout_ms, struct json_object **out,
    char *why, size_t whylen)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;
	char *text = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = ctl_daemon_doc(dir, PROTO_OP_STATUS, timeout_ms, &text,
	    &len)) != 0) {
		ctl_daemon_strerror(why, whylen, dir, r, 0);
		r = -1;
		goto out;
	}
	r = -1;
	if (len == 0 || len > CTL_DOC_MAX || len > INT_MAX ||
	    memchr(text, '\0', len) != NULL ||
	    (tok = json_tokener_new_ex(STATUS_JSON_DEPTH)) == NULL) {
		snprintf(why, whylen, "tokencached sent an unusable status "
		    "document");
		goto out;
	}
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_array)) {
		snprintf(why, whylen, "tokencached sent a malformed status "
		    "document");
		goto out;
	}
	/* success */
	*out = o;
	o = NULL;
	r = 0;
 out:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	free(text);
	return r;
}

struct json_object *
ctl_status_find(struct json_object *arr, const char *name)
{
	struct json_object *o, *n;
	size_t i, count;

	if (arr == NULL)
		return NULL;
	count = json_object_array_length(arr);
	for (i = 0; i < count; i++) {
		o = json_object_array_get_idx(arr, i);
		if (o != NULL && json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, "name", &n) &&
		    json_object_is_type(n, json_type_string) &&
		    strcmp(json_object_get_string(n), name) == 0)
			return o;
	}
	return NULL;
}

/* The provider chain the daemon names for name, printable, or NULL. */
static char *
status_provider(struct json_object *arr, const char *name)
{
	struct json_object *o, *p;
	char *s;

	if ((o = ctl_status_find(arr, name)) == NULL ||
	    !json_object_object_get_ex(o, "provider", &p) ||
	    !json_object_is_type(p, json_type_string) ||
	    (s = strdup(json_object_get_string(p))) == NULL)
		return NULL;
	ctl_make_printable(s, strlen(s) + 1);
	return s;
}

/* One row of list's table, its cells as printed. */
struct list_row {
	const char *name;
	char *provider;           /* strdup'd, NULL: "-" */
	const char *state;
	const char *sgr;          /* the state's colour, NULL: none */
	char expires[32];
	char in[32];
	char next[40];
	char last_ok[40];
	char fails[16];
	char gen[24];
	const char *error;
};

enum {
	COL_NAME, COL_PROVIDER, COL_STATE, COL_EXPIRES, COL_IN, COL_NEXT,
	COL_LAST_OK, COL_FAILS, COL_GEN, COL_ERROR, NCOLS
};
static const char *const col_titles[NCOLS] = {
	"NAME", "PROVIDER", "STATE", "EXPIRES", "IN", "NEXT REFRESH",
	"LAST OK", "FAILS", "GEN", "LAST ERROR",
};

static const char *
row_cell(const struct list_row *r, int col)
{
	switch (col) {
	case COL_NAME:		return r->name;
	case COL_PROVIDER:	return r->provider != NULL ? r->provider : "-";
	case COL_STATE:		return r->state;
	case COL_EXPIRES:	return r->expires;
	case COL_IN:		return r->in;
	case COL_NEXT:		return r->next;
	case COL_LAST_OK:	return r->last_ok;
	case COL_FAILS:		return r->fails;
	case COL_GEN:		return r->gen;
	default:		return r->error;
	}
}

static void
put_spaces(size_t n)
{
	while (n-- > 0)
		putchar(' ');
}

/*
 * LAST ERROR from column col on, in pieces that end before the terminal's
 * edge (width 0: no edge), broken at a space where there is one; each
 * further piece on a line of its own, indented to col.
 */
static void
print_wrapped(const char *text, size_t col, size_t width)
{
	size_t room, n, len = strlen(text);

	/* Too little room for a readable column: let the line run on. */
	if (width == 0 || col + 20 > width) {
		printf("%s\n", text);
		return;
	}
	room = width - col;
	for (;;) {
		if (len <= room) {
			printf("%s\n", text);
			return;
		}
		for (n = room; n > room / 2 && text[n] != ' '; n--)
			;
		if (text[n] != ' ')
			n = room;
		printf("%.*s\n", (int)n, text);
		text += n;
		len -= n;
		while (*text == ' ') {
			text++;
			len--;
		}
		if (len == 0)
			return;
		put_spaces(col);
	}
}

/*
 * The table.  Every column is as wide as its widest cell, so columns line
 * up whatever the names.  On a terminal too narrow for it, a name longer
 * than its column's share goes on a line of its own, the rest of its row
 * under it, and LAST ERROR wraps; nothing is ever cut off.
 */
static void
print_table(const struct list_row *rows, size_t n, int colour, size_t width)
{
	size_t w[NCOLS], i, rest = 0, name_w, col;
	int c;

	for (c = 0; c < NCOLS; c++)
		w[c] = strlen(col_titles[c]);
	for (i = 0; i < n; i++)
		for (c = 0; c < NCOLS; c++)
			if (strlen(row_cell(&rows[i], c)) > w[c])
				w[c] = strlen(row_cell(&rows[i], c));
	for (c = COL_PROVIDER; c < COL_ERROR; c++)
		rest += w[c] + 2;
	name_w = w[COL_NAME];
	/* The name column gives way only when the other columns and the
	 * start of LAST ERROR (which wraps) would not fit beside it. */
	if (width > 0 && name_w + 2 + rest + (w[COL_ERROR] < 12 ?
	    w[COL_ERROR] : 12) > width) {
		name_w = width > rest + 2 + 12 ? width - rest - 2 - 12 : 12;
		if (name_w < strlen(col_titles[COL_NAME]))
			name_w = strlen(col_titles[COL_NAME]);
		if (name_w > w[COL_NAME])
			name_w = w[COL_NAME];
	}
	for (c = 0; c < NCOLS; c++) {
		if (c == COL_ERROR)
			printf("%s\n", col_titles[c]);
		else
			printf("%-*s  ", (int)(c == COL_NAME ? name_w : w[c]),
			    col_titles[c]);
	}
	for (i = 0; i < n; i++) {
		const struct list_row *r = &rows[i];

		if (strlen(r->name) > name_w) {
			printf("%s\n", r->name);
			printf("%-*s  ", (int)name_w, "");
		} else
			printf("%-*s  ", (int)name_w, r->name);
		col = name_w + 2;
		for (c = COL_PROVIDER; c < COL_ERROR; c++) {
			/* The escapes around the padded cell, so that they
			 * take no room in it. */
			if (c == COL_STATE && colour && r->sgr != NULL)
				printf("\033[%sm%s\033[0m%-*s  ", r->sgr,
				    r->state, (int)(w[c] - strlen(r->state)),
				    "");
			else
				printf("%-*s  ", (int)w[c], row_cell(r, c));
			col += w[c] + 2;
		}
		print_wrapped(r->error, col, width);
	}
}

static void
list_rows_free(struct list_row *rows, size_t n)
{
	size_t i;

	for (i = 0; rows != NULL && i < n; i++)
		free(rows[i].provider);
	free(rows);
}

/* list --json: the slots' objects, each with the daemon's provider. */
static int
list_json(const struct ctl_cache *c, struct json_object *status,
    int64_t now_boot, int64_t now_wall)
{
	struct json_object *arr, *o, *p;
	char *prov;
	size_t i;

	if ((arr = json_object_new_array()) == NULL)
		return ctl_json_print(NULL);
	for (i = 0; i < c->ncreds; i++) {
		if ((o = ctl_slot_json(&c->creds[i], now_boot, now_wall)) ==
		    NULL || json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			goto nomem;
		}
		p = NULL;
		if ((prov = status_provider(status, c->creds[i].name)) !=
		    NULL) {
			p = json_object_new_string(prov);
			free(prov);
			if (p == NULL)
				goto nomem;
		}
		if (json_object_object_add(o, "provider", p) != 0) {
			json_object_put(p);
			goto nomem;
		}
	}
	return ctl_json_print(arr);
 nomem:
	json_object_put(arr);
	return ctl_json_print(NULL);
}

int
cmd_list(const struct ctl_args *a)
{
	struct ctl_cache c;
	struct json_object *status = NULL;
	struct list_row *rows = NULL;
	char why[512];
	int64_t now, now_wall;
	size_t i;
	int r, err;

	if ((r = ctl_cache_load(&c, a->dir, &err)) != 0) {
		char msg[512];

		ctl_cache_strerror(msg, sizeof(msg), a->dir, r, err);
		ctl_warnx("%s", msg);
		return CTL_EXIT_FAIL;
	}
	now = seg_boottime_ns();
	now_wall = (int64_t)time(NULL);
	/* The provider is the daemon's to tell; list works without it, from
	 * the persistent copy, and shows "-", also when the daemon is too
	 * busy or stopped to answer soon (CTL_DOC_LIST_MS). */
	if (ctl_status_fetch(a->dir, CTL_DOC_LIST_MS, &status, why,
	    sizeof(why)) != 0)
		status = NULL;
	if (a->json) {
		r = list_json(&c, status, now, now_wall);
		goto out;
	}
	if (c.ncreds > 0 && (rows = calloc(c.ncreds, sizeof(*rows))) == NULL) {
		ctl_warnx("out of memory");
		r = CTL_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < c.ncreds; i++) {
		const struct seg_slot *s = &c.creds[i];
		struct list_row *row = &rows[i];

		row->name = s->name;
		row->provider = status_provider(status, s->name);
		row->state = ctl_slot_state_name(s, now);
		row->sgr = ctl_state_colour(s, now);
		ctl_format_wall(row->expires, sizeof(row->expires),
		    s->expires_at);
		ctl_format_remaining(row->in, sizeof(row->in), s, now);
		format_next_refresh(row->next, sizeof(row->next), s, now_wall);
		ctl_format_relative(row->last_ok, sizeof(row->last_ok),
		    s->fetched_at, now_wall);
		snprintf(row->fails, sizeof(row->fails), "%u",
		    (unsigned)s->failures);
		snprintf(row->gen, sizeof(row->gen), "%llu",
		    (unsigned long long)s->generation);
		row->error = s->error[0] != '\0' ? s->error : "-";
	}
	print_table(rows, c.ncreds, ctl_color_wanted(a->color),
	    ctl_terminal_width());
	r = CTL_EXIT_OK;
 out:
	list_rows_free(rows, c.ncreds);
	json_object_put(status);
	/* Unreadable slots were reported: the listing is not complete. */
	if (r == CTL_EXIT_OK && c.nbad > 0)
		r = CTL_EXIT_FAIL;
	ctl_cache_free(&c);
	return r;
}
