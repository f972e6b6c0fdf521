/*
 * config_pack.c - a configuration packed for the hand-over from the
 * monitor (root, which reads the files) to the worker (the daemon's user,
 * which may not): conf_pack() and conf_unpack().  The credential fields
 * come from conf_cred_encode(), driven by conf_cred_fields[]
 * (config_cred.c), so a new key needs nothing here.  The buffer holds
 * secrets: it is sodium_malloc'd, and the worker trusts nothing in it that
 * a configuration file could not have said (words and ranges are checked
 * again).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config_internal.h"

struct pk {
	unsigned char *buf;      /* sodium_malloc'd: holds secrets */
	size_t len, cap;
	int failed;
};

static void
pk_put(struct pk *p, const void *data, size_t n)
{
	unsigned char *nb;
	size_t ncap;

	if (p->failed)
		return;
	if (p->len + n > p->cap) {
		for (ncap = p->cap ? p->cap : 1024; ncap < p->len + n; ncap *= 2)
			;
		if ((nb = sodium_malloc(ncap)) == NULL) {
			p->failed = 1;
			return;
		}
		if (p->buf != NULL) {
			memcpy(nb, p->buf, p->len);
			sodium_free(p->buf);
		}
		p->buf = nb;
		p->cap = ncap;
	}
	memcpy(p->buf + p->len, data, n);
	p->len += n;
}

static void
pk_u64(struct pk *p, uint64_t v)
{
	pk_put(p, &v, sizeof(v));
}

/* A string, or NULL, as a length (UINT64_MAX for NULL) and its bytes. */
static void
pk_bytes(struct pk *p, const char *s, size_t n)
{
	pk_u64(p, s == NULL ? UINT64_MAX : n);
	if (s != NULL)
		pk_put(p, s, n);
}

static void
pk_str(struct pk *p, const char *s)
{
	pk_bytes(p, s, s != NULL ? strlen(s) : 0);
}

/* conf_cred_encode()'s sink. */
static void
pk_put_cb(void *arg, const void *data, size_t n)
{
	pk_put(arg, data, n);
}

unsigned char *
conf_pack(const struct daemon_conf *c, size_t *len)
{
	struct pk p;
	size_t i;

	memset(&p, 0, sizeof(p));
	pk_str(&p, c->path);
	pk_str(&p, c->runtime_dir);
	pk_str(&p, c->credentials_dir);
	pk_u64(&p, c->max_credentials);
	pk_u64(&p, c->max_token_size);
	pk_str(&p, c->user);
	pk_str(&p, c->admin_group);
	pk_u64(&p, (uint64_t)c->key_rotation_interval);
	pk_u64(&p, c->endpoint_rate);
	pk_u64(&p, c->endpoint_burst);
	pk_u64(&p, (uint64_t)c->refresh_min_interval);
	pk_str(&p, c->module_dir);
	pk_str(&p, c->metrics_textfile);
	pk_u64(&p, (uint64_t)c->metrics_interval);
	pk_u64(&p, (uint64_t)c->endpoint.on);
	pk_u64(&p, c->endpoint.nlisten);
	for (i = 0; i < c->endpoint.nlisten; i++)
		pk_str(&p, c->endpoint.listen[i]);
	pk_u64(&p, (uint64_t)c->endpoint.min_lifetime);
	pk_u64(&p, c->endpoint.max_connections);
	pk_u64(&p, c->endpoint.max_connections_per_user);
	pk_u64(&p, c->ncreds);
	for (i = 0; i < c->ncreds; i++)
		conf_cred_encode(&c->creds[i], 0, pk_put_cb, &p);
	if (p.failed) {
		sodium_free(p.buf);
		return NULL;
	}
	*len = p.len;
	return p.buf;
}

struct up {
	const unsigned char *buf;
	size_t len, off;
	int failed;
};

static uint64_t
up_u64(struct up *u)
{
	uint64_t v = 0;

	if (u->failed || u->len - u->off < sizeof(v)) {
		u->failed = 1;
		return 0;
	}
	memcpy(&v, u->buf + u->off, sizeof(v));
	u->off += sizeof(v);
	return v;
}

/* A string packed by pk_bytes: malloc'd, or sodium_malloc'd if secret. */
static char *
up_str(struct up *u, int secret, size_t *lenp)
{
	uint64_t n = up_u64(u);
	char *s;

	if (u->failed || n == UINT64_MAX)
		return NULL;
	if (n > u->len - u->off || memchr(u->buf + u->off, '\0', n) != NULL) {
		u->failed = 1;
		return NULL;
	}
	s = secret ? sodium_malloc(n + 1) : malloc(n + 1);
	if (s == NULL) {
		u->failed = 1;
		return NULL;
	}
	memcpy(s, u->buf + u->off, n);
	s[n] = '\0';
	u->off += n;
	if (lenp != NULL)
		*lenp = n;
	return s;
}

/* Bytes packed by pk_bytes that may hold anything, NUL included (a
 * module's file): sodium_malloc'd, NUL-terminated. */
static char *
up_bin(struct up *u, size_t *lenp)
{
	uint64_t n = up_u64(u);
	char *s;

	if (u->failed || n == UINT64_MAX || n > u->len - u->off) {
		u->failed = 1;
		return NULL;
	}
	if ((s = sodium_malloc(n + 1)) == NULL) {
		u->failed = 1;
		return NULL;
	}
	memcpy(s, u->buf + u->off, n);
	s[n] = '\0';
	u->off += n;
	*lenp = n;
	return s;
}

static char **
up_list(struct up *u, size_t *np)
{
	uint64_t n = up_u64(u), i;
	char **list;

	/* Every item takes at least 8 bytes: bounds n before calloc. */
	if (u->failed || n > (u->len - u->off) / 8) {
		u->failed = 1;
		return NULL;
	}
	if ((list = calloc(n + 1, sizeof(*list))) == NULL) {
		u->failed = 1;
		return NULL;
	}
	for (i = 0; i < n; i++)
		if ((list[i] = up_str(u, 0, NULL)) == NULL)
			u->failed = 1;
	*np = n;
	return list;
}

/* Options packed by conf_cred_encode: count, then key, value, path, line
 * and flags each. */
static struct cred_opt *
up_opts(struct up *u, size_t *np)
{
	uint64_t n = up_u64(u), i;
	struct cred_opt *o;

	/* Every option takes at least 40 bytes: bounds n before calloc. */
	if (u->failed || n > (u->len - u->off) / 40) {
		u->failed = 1;
		return NULL;
	}
	if ((o = calloc(n + 1, sizeof(*o))) == NULL) {
		u->failed = 1;
		return NULL;
	}
	*np = n;
	for (i = 0; i < n && !u->failed; i++) {
		o[i].key = up_str(u, 0, NULL);
		o[i].value = up_bin(u, &o[i].len);
		o[i].path = up_str(u, 0, NULL);
		o[i].line = (unsigned int)up_u64(u);
		o[i].flags = (unsigned int)up_u64(u);
		if (o[i].key == NULL || o[i].value == NULL)
			u->failed = 1;
	}
	return o;
}

/* [endpoint], held to what conf_load allows: the worker binds what it
 * says. */
static int
up_endpoint(struct up *u, struct endpoint_conf *e)
{
	struct sockaddr_storage ss;
	const char *why;
	uint64_t n;
	size_t i;

	e->on = up_u64(u) != 0;
	if ((n = up_u64(u)) > LISTEN_MAX ||
	    (e->listen = calloc((size_t)n + 1, sizeof(*e->listen))) == NULL)
		return -1;
	for (i = 0; i < n; i++, e->nlisten++)
		if ((e->listen[i] = up_str(u, 0, NULL)) == NULL ||
		    conf_listen_parse(e->listen[i], &ss, &why) != 0)
			return -1;
	if ((n = up_u64(u)) > 3600)
		return -1;
	e->min_lifetime = (long)n;
	if ((n = up_u64(u)) < 1 || n > 4096)
		return -1;
	e->max_connections = (uint32_t)n;
	if ((n = up_u64(u)) < 1 || n > 4096)
		return -1;
	e->max_connections_per_user = (uint32_t)n;
	return u->failed ? -1 : 0;
}

static void up_cred(struct up *u, struct cred_conf *cc);
static struct cred_conf *up_sources(struct up *u, size_t *np);

/* 1 if word is one of words (NULL-terminated). */
static int
up_word_valid(const char *word, const char *const *words)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(words[i], word) == 0)
			return 1;
	}
	return 0;
}

/* What cred_finish() holds a built-in source's credential to: one of
 * token_url and issuer, the secret or key its auth_method uses. */
static int
up_builtin_valid(const struct cred_conf *cc)
{
	int secret = cc->auth_method == AUTH_CLIENT_SECRET_POST ||
	    cc->auth_method == AUTH_CLIENT_SECRET_BASIC;

	return (cc->token_url == NULL) != (cc->issuer == NULL) &&
	    secret == (cc->client_secret != NULL) &&
	    (cc->tls_cert == NULL) == (cc->tls_key == NULL) &&
	    (cc->auth_method != AUTH_TLS_CLIENT_AUTH ||
	    cc->tls_cert != NULL) &&
	    (cc->auth_method == AUTH_PRIVATE_KEY_JWT) ==
	    (cc->private_key != NULL) &&
	    cc->connect_timeout_ms <= cc->timeout_ms &&
	    (cc->ca_file == NULL) == (cc->ca_pem == NULL);
}

/*
 * A credential packed by conf_cred_encode().  The monitor is trusted, but the
 * worker still takes only what conf_load() could have produced: the
 * fields every credential has, a choice among its words, a number in
 * its key's range.
 */
static void
up_cred(struct up *u, struct cred_conf *cc)
{
	const struct cred_field *f;
	uint64_t n, i;
	char **sp;

	for (f = conf_cred_fields; f < conf_cred_fields + conf_cred_nfields;
	    f++) {
		switch (f->kind) {
		case CF_STR:
			sp = CRED_FIELD(cc, f, char *);
			*sp = up_str(u, 0, NULL);
			if (*sp != NULL && f->words != NULL &&
			    !up_word_valid(*sp, f->words))
				u->failed = 1;
			break;
		case CF_SECRET:
			*CRED_FIELD(cc, f, char *) = up_str(u, 1,
			    CRED_LEN(cc, f));
			break;
		case CF_LIST:
			*CRED_FIELD(cc, f, char **) = up_list(u,
			    CRED_LEN(cc, f));
			break;
		case CF_CHOICE:
			for (n = up_u64(u), i = 0; f->words[i] != NULL; i++)
				;
			if (n >= i)
				u->failed = 1;
			*CRED_FIELD(cc, f, unsigned int) = (unsigned int)n;
			break;
		case CF_LONG:
			n = up_u64(u);
			if (n % (uint64_t)f->scale != 0 ||
			    n / (uint64_t)f->scale < (uint64_t)f->lo ||
			    n / (uint64_t)f->scale > (uint64_t)f->hi)
				u->failed = 1;
			*CRED_FIELD(cc, f, long) = (long)n;
			break;
		case CF_OPTS:
			*CRED_FIELD(cc, f, struct cred_opt *) = up_opts(u,
			    CRED_LEN(cc, f));
			break;
		case CF_SOURCES:
			*CRED_FIELD(cc, f, struct cred_conf *) = up_sources(u,
			    CRED_LEN(cc, f));
			break;
		case CF_NONE:
			break;
		}
		/* The built-in sources' keys, for a loaded module's
		 * credential, are its options. */
		if ((f->flags & CF_BUILTIN) != 0 && cc->provider != NULL &&
		    !conf_provider_builtin(cc->provider)) {
			if (f->kind == CF_STR || f->kind == CF_SECRET ?
			    *CRED_FIELD(cc, f, char *) != NULL :
			    f->kind == CF_LIST && *CRED_LEN(cc, f) != 0)
				u->failed = 1;
			continue;
		}
		if ((f->flags & CF_SET) != 0 &&
		    *CRED_FIELD(cc, f, char *) == NULL)
			u->failed = 1;
		if (f->off == offsetof(struct cred_conf, provider) &&
		    cc->provider != NULL && !conf_provider_valid(cc->provider,
		    strlen(cc->provider)))
			u->failed = 1;
	}
	if (cc->provider != NULL && conf_provider_builtin(cc->provider) &&
	    (cc->nopts != 0 || !up_builtin_valid(cc)))
		u->failed = 1;
	/* A chain, and only a chain, has sources, which have none. */
	if (cc->provider != NULL && (strcmp(cc->provider, "chain") == 0) !=
	    (cc->nsources > 0))
		u->failed = 1;
}

/* A chain's sources packed by conf_cred_encode: count, then each whole. */
static struct cred_conf *
up_sources(struct up *u, size_t *np)
{
	uint64_t n = up_u64(u), i;
	struct cred_conf *src;

	if (u->failed || n > SOURCES_MAX) {
		u->failed = 1;
		return NULL;
	}
	if ((src = calloc(n + 1, sizeof(*src))) == NULL) {
		u->failed = 1;
		return NULL;
	}
	*np = n;
	for (i = 0; i < n && !u->failed; i++) {
		up_cred(u, &src[i]);
		if (src[i].nsources != 0)
			u->failed = 1;
	}
	return src;
}

int
conf_unpack(const unsigned char *buf, size_t len, struct daemon_conf **out)
{
	struct daemon_conf *c;
	struct up u = { buf, len, 0, 0 };
	uint64_t n, i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->path = up_str(&u, 0, NULL);
	c->runtime_dir = up_str(&u, 0, NULL);
	c->credentials_dir = up_str(&u, 0, NULL);
	c->max_credentials = (uint32_t)up_u64(&u);
	c->max_token_size = (uint32_t)up_u64(&u);
	c->user = up_str(&u, 0, NULL);
	c->admin_group = up_str(&u, 0, NULL);
	c->key_rotation_interval = (long)up_u64(&u);
	/* The ranges conf_load allows: the worker divides by the rate. */
	if ((n = up_u64(&u)) < 1 || n > 1000)
		u.failed = 1;
	c->endpoint_rate = (uint32_t)n;
	if ((n = up_u64(&u)) < 1 || n > 1000)
		u.failed = 1;
	c->endpoint_burst = (uint32_t)n;
	if ((n = up_u64(&u)) > 86400)
		u.failed = 1;
	c->refresh_min_interval = (long)n;
	c->module_dir = up_str(&u, 0, NULL);
	c->metrics_textfile = up_str(&u, 0, NULL);
	if ((n = up_u64(&u)) < 1 || n > 86400)
		u.failed = 1;
	c->metrics_interval = (long)n;
	if (up_endpoint(&u, &c->endpoint) != 0)
		goto fail;
	n = up_u64(&u);
	if (u.failed || n > 65536 ||
	    (c->creds = calloc(n + 1, sizeof(*c->creds))) == NULL)
		goto fail;
	for (i = 0; i < n && !u.failed; i++, c->ncreds++)
		up_cred(&u, &c->creds[i]);
	if (u.failed || u.off != u.len || c->path == NULL ||
	    c->runtime_dir == NULL || c->user == NULL ||
	    c->module_dir == NULL || c->module_dir[0] != '/' ||
	    (c->metrics_textfile != NULL && c->metrics_textfile[0] != '/'))
		goto fail;
	*out = c;
	return 0;
 fail:
	conf_free(c);
	return -1;
}

