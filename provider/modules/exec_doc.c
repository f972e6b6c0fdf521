/*
 * exec_doc.c - parse the document an exec program prints (exec_doc.h).
 *
 * The program is configured by the administrator but its output is not
 * trusted: it may be garbage, truncated, enormous (exec.c bounds it before
 * it gets here) or hostile.  Every byte is checked against RFC 8259's
 * grammar before it is used; nothing of the token reaches a message; the
 * text that does (the program's error) is cut short and masked.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_doc.h"

/* The document is one flat object; members we do not know may hold
 * nested values, skipped by recursion that this bounds. */
#define DOC_DEPTH_MAX	16

/* How much of the program's error text a message may hold. */
#define ECHO_MAX	200

/* Longer than any lifetime the daemon keeps (it caps at max_lifetime). */
#define LIFETIME_MAX	INT32_MAX

/* A decoded code point that is not ASCII: never part of a key we know nor
 * of a token, and masked in messages. */
#define NOT_ASCII	0xff

enum jtype { J_NONE, J_STRING, J_NUMBER, J_TRUE, J_FALSE, J_NULL, J_OBJECT,
    J_ARRAY };

/* A value as it stands in the input: a string's span excludes its quotes
 * and still holds its escapes. */
struct jval {
	enum jtype type;
	const char *p;
	size_t len;
};

struct jparse {
	const char *start, *p, *end;
	const char *why;	/* the first syntax error, or NULL */
};

/* The members the document may have; the others are ignored. */
enum member { M_VERSION, M_ACCESS_TOKEN, M_TOKEN_TYPE, M_EXPIRES_IN,
    M_EXPIRES_AT, M_ERROR, M_PERMANENT, M_COUNT };

static const char *const member_names[M_COUNT] = {
	"version", "access_token", "token_type", "expires_in", "expires_at",
	"error", "permanent",
};

static int
jfail(struct jparse *jp, const char *why)
{
	if (jp->why == NULL)
		jp->why = why;
	return -1;
}

static void
skip_space(struct jparse *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
	    *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at p (p + 4 <= end checked by the caller). */
static long
hex4(const char *p)
{
	long v = 0;
	int i, h;

	for (i = 0; i < 4; i++) {
		if ((h = hex_value((unsigned char)p[i])) < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629 §4: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* A string, jp->p at its opening quote. */
static int
scan_string(struct jparse *jp, struct jval *v)
{
	const unsigned char *p = (const unsigned char *)jp->p + 1;
	const unsigned char *end = (const unsigned char *)jp->end;
	size_t n;

	v->type = J_STRING;
	v->p = (const char *)p;
	for (;;) {
		if (p >= end)
			return jfail(jp, "a string is not closed");
		if (*p == '"')
			break;
		if (*p < 0x20)
			return jfail(jp, "a control character in a string");
		if (*p == '\\') {
			if (end - p < 2)
				return jfail(jp, "a string is not closed");
			if (p[1] == 'u') {
				if (end - p < 6 || hex4((const char *)p + 2) < 0)
					return jfail(jp, "a bad \\u escape");
				p += 6;
			} else if (strchr("\"\\/bfnrt", p[1]) != NULL &&
			    p[1] != '\0') {
				p += 2;
			} else
				return jfail(jp, "a bad escape in a string");
		} else if (*p >= 0x80) {
			if ((n = utf8_len(p, end)) == 0)
				return jfail(jp, "text that is not UTF-8");
			p += n;
		} else
			p++;
	}
	v->len = (size_t)((const char *)p - v->p);
	jp->p = (const char *)p + 1;
	return 0;
}

/* RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int
scan_number(struct jparse *jp, struct jval *v)
{
	const char *p = jp->p, *end = jp->end;

	v->type = J_NUMBER;
	v->p = p;
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else
		return jfail(jp, "a bad number");
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return jfail(jp, "a bad number");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return jfail(jp, "a bad number");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	v->len = (size_t)(p - v->p);
	jp->p = p;
	return 0;
}

static int
scan_word(struct jparse *jp, const char *word, enum jtype type,
    struct jval *v)
{
	size_t n = strlen(word);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
		return jfail(jp, "an unexpected character");
	v->type = type;
	v->p = jp->p;
	v->len = n;
	jp->p += n;
	return 0;
}

static int scan_value(struct jparse *, struct jval *, int);

/*
 * An object or array, jp->p at its opening bracket; for an object, keyfn
 * gets each member (the top level's collects them; nested ones are only
 * checked).
 */
static int
scan_container(struct jparse *jp, struct jval *v, int depth,
    int (*keyfn)(void *, const struct jval *, const struct jval *),
    void *arg)
{
	int object = *jp->p == '{';
	char close = object ? '}' : ']';
	struct jval key, val;

	if (depth > DOC_DEPTH_MAX)
		return jfail(jp, "JSON nested too deeply");
	v->type = object ? J_OBJECT : J_ARRAY;
	v->p = jp->p++;
	skip_space(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		v->len = (size_t)(jp->p - v->p);
		return 0;
	}
	for (;;) {
		skip_space(jp);
		if (object) {
			if (jp->p >= jp->end || *jp->p != '"')
				return jfail(jp, jp->p >= jp->end ?
				    "the document is cut short" :
				    "a member name is not a string");
			if (scan_string(jp, &key) != 0)
				return -1;
			skip_space(jp);
			if (jp->p >= jp->end || *jp->p != ':')
				return jfail(jp, jp->p >= jp->end ?
				    "the document is cut short" :
				    "a member name is not followed by ':'");
			jp->p++;
			skip_space(jp);
		}
		if (scan_value(jp, &val, depth + 1) != 0)
			return -1;
		if (object && keyfn != NULL && keyfn(arg, &key, &val) != 0)
			return -1;
		skip_space(jp);
		if (jp->p >= jp->end)
			return jfail(jp, "the document is cut short");
		if (*jp->p == close)
			break;
		if (*jp->p != ',')
			return jfail(jp, "an unexpected character");
		jp->p++;
	}
	jp->p++;
	v->len = (size_t)(jp->p - v->p);
	return 0;
}

static int
scan_value(struct jparse *jp, struct jval *v, int depth)
{
	if (jp->p >= jp->end)
		return jfail(jp, "the document is cut short");
	switch (*jp->p) {
	case '"':
		return scan_string(jp, v);
	case '{':
	case '[':
		return scan_container(jp, v, depth, NULL, NULL);
	case 't':
		return scan_word(jp, "true", J_TRUE, v);
	case 'f':
		return scan_word(jp, "false", J_FALSE, v);
	case 'n':
		return scan_word(jp, "null", J_NULL, v);
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return scan_number(jp, v);
	default:
		return jfail(jp, "an unexpected character");
	}
}

/*
 * Decode a string that scan_string() accepted into out (room for len + 1
 * bytes: decoding never lengthens).  A code point outside ASCII, escaped
 * or not, becomes one NOT_ASCII byte: nothing here needs its value.
 * Returns the decoded length.
 */
static size_t
decode_string(const struct jval *v, char *out)
{
	const unsigned char *p = (const unsigned char *)v->p;
	const unsigned char *end = p + v->len;
	size_t o = 0, n;
	long cp, lo;

	while (p < end) {
		if (*p == '\\' && p[1] == 'u') {
			cp = hex4((const char *)p + 2);
			p += 6;
			/* A surrogate pair is one code point (RFC 8259 §7). */
			if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 &&
			    p[0] == '\\' && p[1] == 'u' &&
			    (lo = hex4((const char *)p + 2)) >= 0xdc00 &&
			    lo <= 0xdfff)
				p += 6;
			out[o++] = cp < 0x80 ? (char)cp : (char)NOT_ASCII;
		} else if (*p == '\\') {
			switch (p[1]) {
			case 'b': out[o++] = '\b'; break;
			case 'f': out[o++] = '\f'; break;
			case 'n': out[o++] = '\n'; break;
			case 'r': out[o++] = '\r'; break;
			case 't': out[o++] = '\t'; break;
			default: out[o++] = (char)p[1]; break;
			}
			p += 2;
		} else if (*p >= 0x80) {
			n = utf8_len(p, end);
			p += n > 0 ? n : 1;
			out[o++] = (char)NOT_ASCII;
		} else
			out[o++] = (char)*p++;
	}
	out[o] = '\0';
	return o;
}

struct members {
	struct jval v[M_COUNT];
	const char *twice;	/* a member that appears twice */
};

static int
collect_member(void *arg, const struct jval *key, const struct jval *val)
{
	struct members *m = arg;
	char name[32];
	size_t n;
	int i;

	/* Longer than any name we know: some other member. */
	if (key->len >= sizeof(name))
		return 0;
	n = decode_string(key, name);
	for (i = 0; i < M_COUNT; i++) {
		if (strlen(member_names[i]) != n ||
		    memcmp(member_names[i], name, n) != 0)
			continue;
		if (m->v[i].type != J_NONE && m->twice == NULL)
			m->twice = member_names[i];
		m->v[i] = *val;
		return 0;
	}
	return 0;
}

/*
 * A whole number in [min, max]: no fraction or exponent, even ".0" (the
 * document's numbers are counts of seconds).  0 if so, with *out set.
 */
static int
whole_number(const struct jval *v, long long min, long long max,
    long long *out)
{
	const char *p = v->p, *end = v->p + v->len;
	int neg = 0;
	long long n = 0;

	if (v->type != J_NUMBER)
		return -1;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (n > (LLONG_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (neg)
		n = -n;
	if (n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static enum exec_doc_kind
doc_bad(struct exec_doc *doc, int permanent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum exec_doc_kind
doc_bad(struct exec_doc *doc, int permanent, const char *fmt, ...)
{
	va_list ap;

	exec_doc_clear(doc);
	doc->kind = EXEC_DOC_BAD;
	doc->permanent = permanent;
	va_start(ap, fmt);
	vsnprintf(doc->message, sizeof(doc->message), fmt, ap);
	va_end(ap);
	return doc->kind;
}

static int
printable_no_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* The error document: {"version": 1, "error": TEXT, "permanent": BOOL}. */
static enum exec_doc_kind
judge_error(const struct members *m, struct exec_doc *doc)
{
	const struct jval *e = &m->v[M_ERROR], *perm = &m->v[M_PERMANENT];
	char *text;
	size_t n;

	if (m->v[M_ACCESS_TOKEN].type != J_NONE)
		return doc_bad(doc, 0, "the document has both \"error\" and "
		    "\"access_token\"");
	if (e->type != J_STRING)
		return doc_bad(doc, 0, "\"error\" is not a string");
	if (perm->type != J_NONE && perm->type != J_TRUE &&
	    perm->type != J_FALSE)
		return doc_bad(doc, 0, "\"permanent\" is not true or false");
	if ((text = malloc(e->len + 1)) == NULL)
		return doc_bad(doc, 0, "out of memory");
	n = decode_string(e, text);
	doc->kind = EXEC_DOC_ERROR;
	doc->permanent = perm->type == J_TRUE;
	exec_doc_masked(doc->message, sizeof(doc->message), text, n,
	    ECHO_MAX);
	if (doc->message[0] == '\0')
		snprintf(doc->message, sizeof(doc->message), "(no text)");
	free(text);
	return doc->kind;
}

/* The token document. */
static enum exec_doc_kind
judge_token(const struct members *m, int64_t now, size_t token_max,
    struct exec_doc *doc)
{
	const struct jval *t = &m->v[M_ACCESS_TOKEN];
	const struct jval *ty = &m->v[M_TOKEN_TYPE];
	const struct jval *in = &m->v[M_EXPIRES_IN], *at = &m->v[M_EXPIRES_AT];
	char type[EXEC_DOC_TYPE_MAX + 1];
	long long secs = 0, when;
	char *tok = NULL;
	size_t n, typelen = 0;

	type[0] = '\0';

	if (t->type == J_NONE)
		return doc_bad(doc, 0, "the document has neither "
		    "\"access_token\" nor \"error\"");
	if (t->type != J_STRING)
		return doc_bad(doc, 0, "\"access_token\" is not a string");
	if (ty->type != J_NONE) {
		if (ty->type != J_STRING || ty->len > EXEC_DOC_TYPE_MAX ||
		    (typelen = decode_string(ty, type)) == 0 ||
		    !printable_no_blank(type, typelen))
			return doc_bad(doc, 0, "\"token_type\" is not a token "
			    "type (1 to %d printable characters, no blanks)",
			    EXEC_DOC_TYPE_MAX);
	}
	if (in->type != J_NONE && at->type != J_NONE)
		return doc_bad(doc, 0, "the document has both \"expires_in\" "
		    "and \"expires_at\"");
	if (in->type != J_NONE &&
	    whole_number(in, 1, LIFETIME_MAX, &secs) != 0)
		return doc_bad(doc, 0, "\"expires_in\" is not a whole number "
		    "of seconds from 1 to %d", LIFETIME_MAX);
	if (at->type != J_NONE) {
		if (whole_number(at, 0, LLONG_MAX, &when) != 0)
			return doc_bad(doc, 0, "\"expires_at\" is not a whole "
			    "number of seconds since 1970");
		if (when <= now)
			return doc_bad(doc, 0, "the token expired (expires_at "
			    "%lld) before it was read (now %lld)", when,
			    (long long)now);
		secs = when - now > LIFETIME_MAX ? LIFETIME_MAX : when - now;
	}
	/* Escapes only shorten: the raw length bounds the decoded one. */
	if ((tok = malloc(t->len + 1)) == NULL)
		return doc_bad(doc, 0, "out of memory");
	n = decode_string(t, tok);
	if (n == 0 || n > token_max || !printable_no_blank(tok, n)) {
		explicit_bzero(tok, t->len + 1);
		free(tok);
		if (n == 0)
			return doc_bad(doc, 0, "\"access_token\" is empty");
		if (n > token_max)
			return doc_bad(doc, 0, "\"access_token\" is longer "
			    "than %zu bytes", token_max);
		return doc_bad(doc, 0, "\"access_token\" holds a character "
		    "other than printable ASCII");
	}
	/* success */
	doc->kind = EXEC_DOC_TOKEN;
	doc->token = tok;
	doc->token_len = n;
	memcpy(doc->token_type, type, typelen);
	doc->token_type[typelen] = '\0';
	doc->expires_in = (long)secs;
	return doc->kind;
}

enum exec_doc_kind
exec_doc_parse(const char *buf, size_t len, int64_t now, size_t token_max,
    struct exec_doc *doc)
{
	struct jparse jp = { buf, buf, buf + len, NULL };
	struct members m;
	struct jval top;
	long long version;

	memset(doc, 0, sizeof(*doc));
	memset(&m, 0, sizeof(m));
	skip_space(&jp);
	if (jp.p == jp.end)
		return doc_bad(doc, 0, "the output is empty");
	if (*jp.p != '{') {
		if (strchr("[\"-0123456789tfn", *jp.p) != NULL && *jp.p != '\0')
			return doc_bad(doc, 0, "the output is not a JSON "
			    "object");
		return doc_bad(doc, 0, "the output is not a JSON document "
		    "(an unexpected character at byte %zu)",
		    (size_t)(jp.p - buf));
	}
	if (scan_container(&jp, &top, 1, collect_member, &m) != 0)
		return doc_bad(doc, 0, "the output is not a JSON document "
		    "(%s at byte %zu)", jp.why, (size_t)(jp.p - buf));
	skip_space(&jp);
	if (jp.p != jp.end)
		return doc_bad(doc, 0, "the output has data after the JSON "
		    "document (at byte %zu)", (size_t)(jp.p - buf));
	if (m.twice != NULL)
		return doc_bad(doc, 0, "\"%s\" appears twice in the document",
		    m.twice);
	/* The version first: another version's members may mean anything. */
	if (m.v[M_VERSION].type == J_NONE)
		return doc_bad(doc, 0, "the document has no \"version\"");
	if (whole_number(&m.v[M_VERSION], LLONG_MIN + 1, LLONG_MAX,
	    &version) != 0)
		return doc_bad(doc, 0, "\"version\" is not a whole number");
	if (version != EXEC_DOC_VERSION)
		return doc_bad(doc, 1, "document version %lld is not known "
		    "(known: " EXEC_DOC_VERSIONS ")", version);
	if (m.v[M_ERROR].type != J_NONE)
		return judge_error(&m, doc);
	return judge_token(&m, now, token_max, doc);
}

void
exec_doc_clear(struct exec_doc *doc)
{
	if (doc == NULL)
		return;
	if (doc->token != NULL) {
		explicit_bzero(doc->token, doc->token_len);
		free(doc->token);
	}
	doc->token = NULL;
	doc->token_len = 0;
}

void
exec_doc_masked(char *dst, size_t dstsz, const char *src, size_t len,
    size_t max)
{
	size_t i = 0, o = 0;
	int cut = 0;

	if (dstsz == 0)
		return;
	/* The first line with text in it. */
	while (i < len && (src[i] == '\n' || src[i] == '\r' ||
	    src[i] == ' ' || src[i] == '\t'))
		i++;
	for (; i < len && src[i] != '\n' && src[i] != '\r'; i++) {
		if (o == max || o == dstsz - 1) {
			cut = 1;
			break;
		}
		dst[o++] = (unsigned char)src[i] >= 0x20 &&
		    (unsigned char)src[i] < 0x7f ? src[i] : '?';
	}
	dst[o] = '\0';
	if (cut && o >= 3)
		memcpy(dst + o - 3, "...", 3);
}
