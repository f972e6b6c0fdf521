/*
 * camunda_env.c - Camunda's console credentials file, read as data.
 *
 * The console offers the file for `source`-ing into a shell.  We never
 * hand it to one: the monitor runs as root, and a file that says
 * $(...) would run as root.  Instead this reads the subset of sh that the
 * console writes and that a careful admin adds (camunda_env.h has the
 * grammar), and refuses, with the line and column, everything a shell
 * would expand or run, so that what we accept means to us exactly what it
 * would mean to sh.
 *
 * Values may be secrets: they are copied only into the arena the caller's
 * allocator gave (sodium_malloc in the daemon), which is wiped on every
 * way out, and no message quotes a byte of one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camunda_env.h"

#define CAMUNDA_ENV_NAME(name) #name,
static const char *const var_names[CV_COUNT] = {
	CAMUNDA_ENV_VARS(CAMUNDA_ENV_NAME)
};
#undef CAMUNDA_ENV_NAME

struct env_parse {
	struct camunda_env *env;
	size_t used;             /* bytes of the arena written */
	char *err;
	size_t errlen;
	unsigned int line;
};

const char *
camunda_env_name(enum camunda_var v)
{
	return (unsigned int)v < CV_COUNT ? var_names[v] : NULL;
}

enum camunda_var
camunda_env_lookup(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < CV_COUNT; i++) {
		if (strlen(var_names[i]) == len &&
		    memcmp(var_names[i], name, len) == 0)
			return (enum camunda_var)i;
	}
	return CV_COUNT;
}

static int perr(struct env_parse *ep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Always -1. */
static int
perr(struct env_parse *ep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ep->err, ep->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int
is_name_start(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    ch == '_';
}

static int
is_name_char(char ch)
{
	return is_name_start(ch) || (ch >= '0' && ch <= '9');
}

/* A control byte other than tab: never in a value, never guessed at. */
static int
is_control(char ch)
{
	unsigned char u = (unsigned char)ch;

	return (u < 0x20 && u != '\t') || u == 0x7f;
}

static int
control_err(struct env_parse *ep, char ch, size_t col)
{
	return perr(ep, "control byte 0x%02x at column %zu",
	    (unsigned int)(unsigned char)ch, col + 1);
}

/*
 * One value (p, n bytes, starting at the byte after '=') into the arena;
 * *endp is where the word ended.  Each piece's rule is sh's (XCU 2.2,
 * Quoting); what sh would expand is refused rather than taken literally.
 */
static int
parse_value(struct env_parse *ep, const char *p, size_t n, size_t col0,
    size_t *endp)
{
	char *out = ep->env->arena + ep->used;
	size_t i = 0, o = 0, q;
	char ch;

	while (i < n && !is_blank(p[i])) {
		ch = p[i];
		if (ch == '\'') {
			/* 2.2.2: no escape inside single quotes. */
			for (q = i + 1; q < n && p[q] != '\''; q++) {
				if (is_control(p[q]))
					return control_err(ep, p[q], col0 + q);
				out[o++] = p[q];
			}
			if (q == n)
				return perr(ep, "single quote at column %zu "
				    "is not closed on its line", col0 + i + 1);
			i = q + 1;
		} else if (ch == '"') {
			/* 2.2.3: backslash escapes only $ ` " \ (and a
			 * newline, which would continue the line). */
			for (q = i + 1; q < n && p[q] != '"'; q++) {
				if (p[q] == '\\' && q + 1 < n &&
				    strchr("$`\"\\", p[q + 1]) != NULL) {
					out[o++] = p[++q];
					continue;
				}
				if (p[q] == '$' || p[q] == '`')
					return perr(ep, "'%c' at column %zu "
					    "would be expanded by a shell; "
					    "write \\%c, or use single quotes",
					    p[q], col0 + q + 1, p[q]);
				if (is_control(p[q]))
					return control_err(ep, p[q], col0 + q);
				out[o++] = p[q];
			}
			if (q == n)
				return perr(ep, "double quote at column %zu "
				    "is not closed on its line", col0 + i + 1);
			i = q + 1;
		} else if (ch == '\\') {
			/* 2.2.1: the next byte stands for itself. */
			if (i + 1 == n)
				return perr(ep, "backslash at the end of the "
				    "line (continued lines are not read)");
			if (is_control(p[i + 1]))
				return control_err(ep, p[i + 1], col0 + i + 1);
			out[o++] = p[i + 1];
			i += 2;
		} else if (strchr("$`;&|<>()*?[~{}", ch) != NULL) {
			/* { }: bash brace-expands export's arguments. */
			return perr(ep, "'%c' at column %zu would mean "
			    "something to a shell; quote the value with "
			    "'...'", ch, col0 + i + 1);
		} else if (is_control(ch)) {
			return control_err(ep, ch, col0 + i);
		} else {
			out[o++] = ch;
			i++;
		}
	}
	out[o] = '\0';
	*endp = i;
	return (int)o;
}

/* A known variable: keep it.  An unknown one: a warning, value dropped. */
static int
store(struct env_parse *ep, const char *name, size_t nlen, size_t vlen)
{
	struct camunda_env *env = ep->env;
	struct camunda_env_value *v;
	struct camunda_env_warning *w;
	enum camunda_var k;

	if ((k = camunda_env_lookup(name, nlen)) == CV_COUNT) {
		explicit_bzero(env->arena + ep->used, vlen + 1);
		if (env->nwarn < CAMUNDA_ENV_WARN_MAX) {
			w = &env->warn[env->nwarn++];
			w->line = ep->line;
			memcpy(w->name, name, nlen);
			w->name[nlen] = '\0';
		}
		env->nunknown++;
		return 0;
	}
	v = &env->var[k];
	if (v->s != NULL)
		return perr(ep, "%s set twice (first on line %u)",
		    var_names[k], v->line);
	v->s = env->arena + ep->used;
	v->len = vlen;
	v->line = ep->line;
	ep->used += vlen + 1;
	return 0;
}

/* One line, without its line ending. */
static int
parse_line(struct env_parse *ep, const char *p, size_t n)
{
	size_t i = 0, name, nlen, end = 0;
	int vlen;

	while (i < n && is_blank(p[i]))
		i++;
	if (i == n || p[i] == '#')
		return 0;
	if (n - i > 7 && memcmp(p + i, "export", 6) == 0 &&
	    is_blank(p[i + 6])) {
		i += 6;
		while (i < n && is_blank(p[i]))
			i++;
	}
	name = i;
	if (i < n && is_name_start(p[i]))
		for (i++; i < n && is_name_char(p[i]); i++)
			;
	nlen = i - name;
	if (nlen == 0 || i == n || p[i] != '=') {
		if (nlen > 0 && i < n && is_blank(p[i]))
			return perr(ep, "expected NAME=value (no blank "
			    "before '=')");
		return perr(ep, "expected NAME=value, optionally after "
		    "'export'");
	}
	if (nlen > CAMUNDA_ENV_NAME_MAX)
		return perr(ep, "variable name longer than %d bytes",
		    CAMUNDA_ENV_NAME_MAX);
	i++;
	if ((vlen = parse_value(ep, p + i, n - i, i, &end)) < 0)
		return -1;
	i += end;
	while (i < n && is_blank(p[i]))
		i++;
	if (i < n && p[i] != '#') {
		explicit_bzero(ep->env->arena + ep->used, (size_t)vlen + 1);
		return perr(ep, "text after the value at column %zu (one "
		    "assignment a line; quote a value with blanks)", i + 1);
	}
	return store(ep, p + name, nlen, (size_t)vlen);
}

int
camunda_env_parse(struct camunda_env *env, const char *buf, size_t len,
    camunda_env_alloc_fn *alloc, camunda_env_free_fn *release, char *err,
    size_t errlen, unsigned int *err_line)
{
	struct env_parse ep;
	const char *p, *nl;
	size_t off, next, n;

	memset(env, 0, sizeof(*env));
	memset(&ep, 0, sizeof(ep));
	ep.env = env;
	ep.err = err;
	ep.errlen = errlen;
	*err_line = 0;
	if (len > CAMUNDA_ENV_FILE_MAX) {
		perr(&ep, "file is larger than %d bytes",
		    CAMUNDA_ENV_FILE_MAX);
		return -1;
	}
	/* A value is never longer than the text it came from, less its
	 * "N=": one block as large as the file, plus a NUL, holds them all. */
	env->arena_size = len + 1;
	env->arena = alloc != NULL ? alloc(env->arena_size) :
	    malloc(env->arena_size);
	if (env->arena == NULL) {
		env->arena_size = 0;
		perr(&ep, "out of memory");
		return -1;
	}
	env->release = release;
	if (alloc == NULL)
		env->release = NULL;
	for (off = 0; off < len; off = next) {
		ep.line++;
		p = buf + off;
		nl = memchr(p, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - p) : len - off;
		next = off + n + (nl != NULL ? 1 : 0);
		if (memchr(p, '\0', n) != NULL) {
			perr(&ep, "NUL byte");
			goto fail;
		}
		/* CRLF: the console's file may have passed through Windows. */
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > CAMUNDA_ENV_LINE_MAX) {
			perr(&ep, "line longer than %d bytes",
			    CAMUNDA_ENV_LINE_MAX);
			goto fail;
		}
		if (parse_line(&ep, p, n) != 0)
			goto fail;
	}
	return 0;
 fail:
	*err_line = ep.line;
	camunda_env_free(env);
	return -1;
}

void
camunda_env_free(struct camunda_env *env)
{
	if (env == NULL)
		return;
	if (env->arena != NULL) {
		explicit_bzero(env->arena, env->arena_size);
		if (env->release != NULL)
			env->release(env->arena, env->arena_size);
		else
			free(env->arena);
	}
	memset(env, 0, sizeof(*env));
}
