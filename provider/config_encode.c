/*
 * config_encode.c - what is done with a loaded credential as a whole,
 * walking the rows of conf_cred_fields[]: clearing it, telling whether
 * two differ in their request or their readers, and encoding it, for the
 * hand-over to the worker (config_pack.c) and for the request identity
 * (config.h has the contracts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config_internal.h"

static void
free_options(struct cred_opt *opts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(opts[i].key);
		free(opts[i].path);
		sodium_free(opts[i].value);	/* wipes */
	}
	free(opts);
}

void
conf_cred_clear(struct cred_conf *c)
{
	const struct cred_field *f;
	size_t i;

	if (c == NULL)
		return;
	for (f = conf_cred_fields; f < conf_cred_fields + conf_cred_nfields;
	    f++) {
		switch (f->kind) {
		case CF_STR:
			free(*CRED_FIELD(c, f, char *));
			break;
		case CF_SECRET:
			if (*CRED_FIELD(c, f, char *) != NULL)
				/* wipes */
				sodium_free(*CRED_FIELD(c, f, char *));
			break;
		case CF_LIST:
			conf_free_list(*CRED_FIELD(c, f, char **));
			break;
		case CF_OPTS:
			free_options(*CRED_FIELD(c, f, struct cred_opt *),
			    *CRED_LEN(c, f));
			break;
		case CF_SOURCES:
			for (i = 0; i < *CRED_LEN(c, f); i++)
				conf_cred_clear(&(*CRED_FIELD(c, f,
				    struct cred_conf *))[i]);
			free(*CRED_FIELD(c, f, struct cred_conf *));
			break;
		case CF_NONE:
		case CF_CHOICE:
		case CF_LONG:
			break;
		}
	}
	memset(c, 0, sizeof(*c));
}

static int
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static int
list_differs(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 1;
	for (i = 0; i < na; i++) {
		if (str_differs(a[i], b[i]))
			return 1;
	}
	return 0;
}

static int
opts_differ(const struct cred_opt *a, size_t na, const struct cred_opt *b,
    size_t nb)
{
	size_t i;

	if (na != nb)
		return 1;
	for (i = 0; i < na; i++) {
		if (strcmp(a[i].key, b[i].key) != 0 || a[i].len != b[i].len ||
		    a[i].flags != b[i].flags || a[i].line != b[i].line ||
		    str_differs(a[i].path, b[i].path) ||
		    sodium_memcmp(a[i].value, b[i].value, a[i].len) != 0)
			return 1;
	}
	return 0;
}

/* Only the CF_REQUEST row of sources calls it: a chain's sources differ
 * in what their requests are, or in their order or words. */
static int
sources_differ(const struct cred_conf *a, size_t na,
    const struct cred_conf *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 1;
	for (i = 0; i < na; i++) {
		if (a[i].control != b[i].control ||
		    conf_cred_request_differs(&a[i], &b[i]))
			return 1;
	}
	return 0;
}

static int
field_differs(const struct cred_conf *a, const struct cred_conf *b,
    const struct cred_field *f)
{
	const char *sa, *sb;
	size_t la, lb;

	switch (f->kind) {
	case CF_STR:
		return str_differs(*CRED_CFIELD(a, f, char *),
		    *CRED_CFIELD(b, f, char *));
	case CF_SECRET:
		sa = *CRED_CFIELD(a, f, char *);
		sb = *CRED_CFIELD(b, f, char *);
		la = *CRED_CLEN(a, f);
		lb = *CRED_CLEN(b, f);
		if (la != lb || (sa == NULL) != (sb == NULL))
			return 1;
		return sa != NULL && sodium_memcmp(sa, sb, la) != 0;
	case CF_LIST:
		return list_differs(*CRED_CFIELD(a, f, char **),
		    *CRED_CLEN(a, f), *CRED_CFIELD(b, f, char **),
		    *CRED_CLEN(b, f));
	case CF_CHOICE:
		return *CRED_CFIELD(a, f, unsigned int) !=
		    *CRED_CFIELD(b, f, unsigned int);
	case CF_LONG:
		return *CRED_CFIELD(a, f, long) != *CRED_CFIELD(b, f, long);
	case CF_OPTS:
		return opts_differ(*CRED_CFIELD(a, f, struct cred_opt *),
		    *CRED_CLEN(a, f), *CRED_CFIELD(b, f, struct cred_opt *),
		    *CRED_CLEN(b, f));
	case CF_SOURCES:
		return sources_differ(*CRED_CFIELD(a, f, struct cred_conf *),
		    *CRED_CLEN(a, f), *CRED_CFIELD(b, f, struct cred_conf *),
		    *CRED_CLEN(b, f));
	case CF_NONE:
		break;
	}
	return 0;
}

/* 1 if a and b differ in any field whose row has one of flags. */
static int
fields_differ(const struct cred_conf *a, const struct cred_conf *b,
    unsigned int flags)
{
	size_t i;

	for (i = 0; i < conf_cred_nfields; i++) {
		if ((conf_cred_fields[i].flags & flags) != 0 &&
		    field_differs(a, b, &conf_cred_fields[i]))
			return 1;
	}
	return 0;
}

int
conf_cred_request_differs(const struct cred_conf *a,
    const struct cred_conf *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return fields_differ(a, b, CF_REQUEST) ||
	    a->src_id_set != b->src_id_set ||
	    memcmp(a->src_id, b->src_id, sizeof(a->src_id)) != 0;
}

int
conf_cred_acl_differs(const struct cred_conf *a, const struct cred_conf *b)
{
	return fields_differ(a, b, CF_ACL);
}

static void
put_u64(conf_put_fn *put, void *arg, uint64_t v)
{
	put(arg, &v, sizeof(v));
}

/* A string as its length (UINT64_MAX for NULL) and its bytes. */
static void
put_bytes(conf_put_fn *put, void *arg, const char *s, size_t n)
{
	put_u64(put, arg, s != NULL ? n : UINT64_MAX);
	if (s != NULL)
		put(arg, s, n);
}

static void
put_str(conf_put_fn *put, void *arg, const char *s)
{
	put_bytes(put, arg, s, s != NULL ? strlen(s) : 0);
}

/* Options as their count and, each, key, value, path, line and flags. */
static void
put_opts(conf_put_fn *put, void *arg, const struct cred_opt *o, size_t n)
{
	size_t i;

	put_u64(put, arg, n);
	for (i = 0; i < n; i++) {
		put_str(put, arg, o[i].key);
		put_bytes(put, arg, o[i].value, o[i].len);
		put_str(put, arg, o[i].path);
		put_u64(put, arg, o[i].line);
		put_u64(put, arg, o[i].flags);
	}
}

/*
 * A chain's sources: their count, then each source whole (flags 0: the
 * hand-over), or, for the request identity, each one's control word, its
 * request fields and what its module added.  The row is CF_ID_IFSET: no
 * sources add nothing to an identity, so that a credential without them
 * keeps the identity it had before chains.
 */
static void
put_sources(conf_put_fn *put, void *arg, unsigned int flags,
    const struct cred_conf *src, size_t n)
{
	size_t i;

	put_u64(put, arg, n);
	for (i = 0; i < n; i++) {
		if (flags == 0) {
			conf_cred_encode(&src[i], 0, put, arg);
			continue;
		}
		put_u64(put, arg, src[i].control);
		conf_cred_encode(&src[i], flags, put, arg);
		if (src[i].src_id_set)
			put(arg, src[i].src_id, sizeof(src[i].src_id));
	}
}

/* 1 if the field of row f differs from what an absent key leaves. */
static int
field_set(const struct cred_conf *cc, const struct cred_field *f)
{
	switch (f->kind) {
	case CF_STR:
	case CF_SECRET:
		return *CRED_CFIELD(cc, f, char *) != NULL;
	case CF_LIST:
	case CF_OPTS:
	case CF_SOURCES:
		return *CRED_CLEN(cc, f) != 0;
	case CF_CHOICE:
		return *CRED_CFIELD(cc, f, unsigned int) !=
		    (unsigned int)f->dflt;
	case CF_LONG:
		return *CRED_CFIELD(cc, f, long) != f->dflt * f->scale;
	case CF_NONE:
		break;
	}
	return 0;
}

void
conf_cred_encode(const struct cred_conf *cc, unsigned int flags,
    conf_put_fn *put, void *arg)
{
	const struct cred_field *f;
	char *const *list;
	size_t i, n;

	for (f = conf_cred_fields; f < conf_cred_fields + conf_cred_nfields;
	    f++) {
		if (flags != 0 && (f->flags & flags) == 0)
			continue;
		if ((flags & CF_REQUEST) != 0 &&
		    (f->flags & CF_ID_IFSET) != 0) {
			/* See CF_ID_IFSET: the key tells the set rows
			 * apart; none at all leaves the old identity. */
			if (!field_set(cc, f))
				continue;
			put_str(put, arg, f->key);
		}
		switch (f->kind) {
		case CF_STR:
			put_str(put, arg, *CRED_CFIELD(cc, f, char *));
			break;
		case CF_SECRET:
			put_bytes(put, arg, *CRED_CFIELD(cc, f, char *),
			    *CRED_CLEN(cc, f));
			break;
		case CF_LIST:
			list = *CRED_CFIELD(cc, f, char **);
			n = *CRED_CLEN(cc, f);
			put_u64(put, arg, n);
			for (i = 0; i < n; i++)
				put_str(put, arg, list[i]);
			break;
		case CF_CHOICE:
			put_u64(put, arg, *CRED_CFIELD(cc, f, unsigned int));
			break;
		case CF_LONG:
			put_u64(put, arg, (uint64_t)*CRED_CFIELD(cc, f, long));
			break;
		case CF_OPTS:
			put_opts(put, arg, *CRED_CFIELD(cc, f,
			    struct cred_opt *), *CRED_CLEN(cc, f));
			break;
		case CF_SOURCES:
			put_sources(put, arg, flags, *CRED_CFIELD(cc, f,
			    struct cred_conf *), *CRED_CLEN(cc, f));
			break;
		case CF_NONE:
			break;
		}
	}
}

static void
hash_put(void *arg, const void *data, size_t n)
{
	crypto_generichash_update(arg, data, n);
}

void
conf_cred_request_id(const struct cred_conf *cc,
    crypto_generichash_state *st, uint8_t out[16])
{
	conf_cred_encode(cc, CF_REQUEST, hash_put, st);
	/* Only a loaded module adds its part: an oauth2 credential's
	 * identity stays what it was before modules. */
	if (cc->src_id_set)
		crypto_generichash_update(st, cc->src_id,
		    sizeof(cc->src_id));
	crypto_generichash_final(st, out, 16);
	sodium_memzero(st, sizeof(*st));
}
