/*
 * config_ini.c - the INI reader of tokencached.conf and NAME.conf, its
 * messages ("PATH:LINE: ...") and the small helpers the configuration
 * files share (config_internal.h lists who owns what).
 *
 * It is strict on purpose: a misspelt key or a stray line is an error that
 * names file and line, not something silently ignored.  Every buffer that
 * held a file's bytes is wiped before it is freed: credential files may
 * hold client secrets.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "config_internal.h"

#define CONF_LINE_MAX		4096
#define CONF_NAME_MAX		64	/* section and key names */

/* ---- messages ---------------------------------------------------------- */

/*
 * "PATH:LINE: message", or "PATH: message" when line is 0.  Control bytes
 * in the path (file names come from readdir) are shown as '?' so that a
 * crafted name cannot forge log lines.
 */
void
conf_err(char *err, const char *path, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	size_t i, n = 0;

	for (i = 0; path[i] != '\0' && n < CONF_ERR_MAX / 2; i++) {
		unsigned char ch = (unsigned char)path[i];

		err[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	err[n] = '\0';
	if (line != 0)
		n += (size_t)snprintf(err + n, CONF_ERR_MAX - n, ":%u: ", line);
	else
		n += (size_t)snprintf(err + n, CONF_ERR_MAX - n, ": ");
	if (n >= CONF_ERR_MAX)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err + n, CONF_ERR_MAX - n, fmt, ap);
	va_end(ap);
}

/*
 * A value fit to quote in a message: at most ECHO_MAX bytes, bytes outside
 * printable ASCII as '?'.  Never called on anything that may be a secret.
 */
const char *
conf_echo(char *buf, size_t bufsz, const char *s, size_t len)
{
	size_t i, n = len;

	if (n > ECHO_MAX)
		n = ECHO_MAX;
	if (n > bufsz - 4)
		n = bufsz - 4;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[i] = (ch >= 0x20 && ch <= 0x7e) ? (char)ch : '?';
	}
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* ---- small helpers ----------------------------------------------------- */

/* Decimal digits only, no sign, in [min, max]. */
int
conf_parse_ulong(const char *s, size_t len, unsigned long min,
    unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (ULONG_MAX - (unsigned long)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The directory part of path: "." if it has none. */
char *
conf_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* rel taken relative to dir unless it is absolute; NULL if too long. */
char *
conf_path_resolve(const char *dir, const char *rel)
{
	size_t dl = strlen(dir), rl = strlen(rel);
	char *p;

	if (rel[0] == '/')
		return rl < PATH_MAX ? strdup(rel) : NULL;
	if (dl + 1 + rl >= PATH_MAX || (p = malloc(dl + 1 + rl + 1)) == NULL)
		return NULL;
	memcpy(p, dir, dl);
	if (dl == 0 || dir[dl - 1] != '/')
		p[dl++] = '/';
	memcpy(p + dl, rel, rl + 1);
	return p;
}

void
conf_free_list(char **list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

/* Split a blank-separated list into a NULL-terminated array. */
int
conf_split_list(const char *path, unsigned int line, const char *key,
    const char *value, size_t vlen, char ***listp, size_t *np, char *err)
{
	char **list = NULL;
	size_t i, j, n = 0, cnt = 0;
	int ret = -1;

	for (i = 0; i < vlen; i++) {
		if (!is_blank(value[i]) && (i == 0 || is_blank(value[i - 1])))
			cnt++;
	}
	if ((list = calloc(cnt + 1, sizeof(*list))) == NULL) {
		conf_err(err, path, line, "out of memory");
		goto out;
	}
	for (i = 0; i < vlen; i = j) {
		while (i < vlen && is_blank(value[i]))
			i++;
		for (j = i; j < vlen && !is_blank(value[j]); j++)
			;
		if (j == i)
			break;
		if (j - i > LIST_ITEM_MAX) {
			conf_err(err, path, line, "a name in '%s' is longer "
			    "than %d bytes", key, LIST_ITEM_MAX);
			goto out;
		}
		if ((list[n] = strndup(value + i, j - i)) == NULL) {
			conf_err(err, path, line, "out of memory");
			goto out;
		}
		n++;
	}
	/* success */
	*listp = list;
	list = NULL;
	*np = n;
	ret = 0;
 out:
	conf_free_list(list);
	return ret;
}

/* ---- the INI reader ---------------------------------------------------- */

/* "[name]" between s and e (trimmed, NUL at e) into section. */
static int
ini_section(const char *path, unsigned int line, char *s, char *e,
    char section[CONF_NAME_MAX + 1], char *err)
{
	size_t i;

	if (e[-1] != ']' || e - s < 3) {
		conf_err(err, path, line, "expected '[section]'");
		return -1;
	}
	s++;
	e--;
	for (i = 0; s + i < e; i++) {
		if (!is_name_char(s[i]) || i >= CONF_NAME_MAX) {
			conf_err(err, path, line, "invalid section name");
			return -1;
		}
	}
	memcpy(section, s, i);
	section[i] = '\0';
	return 0;
}

/*
 * "key = value" between s and e (trimmed, NUL at e): the key NUL-terminated
 * in place at *kp, the value at *vp, up to e.
 */
static int
ini_key_value(const char *path, unsigned int line, char *s, char *e,
    char **kp, char **vp, char *err)
{
	char *eq, *k, *ke, *v;
	size_t i;

	if ((eq = strchr(s, '=')) == NULL) {
		conf_err(err, path, line, "expected 'key = value'");
		return -1;
	}
	k = s;
	for (ke = eq; ke > k && is_blank(ke[-1]); ke--)
		;
	for (v = eq + 1; v < e && is_blank(*v); v++)
		;
	if (ke == k || ke - k > CONF_NAME_MAX) {
		conf_err(err, path, line, "expected 'key = value'");
		return -1;
	}
	for (i = 0; k + i < ke; i++) {
		if (!is_name_char(k[i])) {
			conf_err(err, path, line,
			    "expected 'key = value'");
			return -1;
		}
	}
	*ke = '\0';
	/* A value that starts with one is a comment to a reader. */
	if (v < e && (*v == '#' || *v == ';')) {
		conf_err(err, path, line, "value of '%s' begins with "
		    "'%c': a comment must be on a line of its own",
		    k, *v);
		return -1;
	}
	for (i = 1; v + i < e; i++) {
		if ((v[i] == '#' || v[i] == ';') && is_blank(v[i - 1])) {
			conf_err(err, path, line, "'%c' after a value: "
			    "a comment must be on a line of its own "
			    "(a value may not hold a blank followed "
			    "by '%c')", v[i], v[i]);
			return -1;
		}
	}
	*kp = k;
	*vp = v;
	return 0;
}

/*
 * Parse buf (len bytes, buf[len] == '\0'), splitting it in place.  Lines
 * are "[section]", "key = value", blank, or comments starting with '#' or
 * ';'.  Values are literal: no quotes, no escapes, no trailing comments.
 * A value with a blank followed by '#' or ';' is refused rather than read
 * either way: it is nearly always a comment after the value (which would
 * otherwise end up in a path or URL), and a secret that really holds
 * such bytes belongs in client_secret_file, which is read as it is.
 */
int
conf_ini_parse(const char *path, char *buf, size_t len,
    conf_ini_handler handler, void *arg, char *err)
{
	char section[CONF_NAME_MAX + 1] = "", *p = buf, *end = buf + len;
	char *nl, *s, *e, *k, *v;
	size_t linelen;
	unsigned int line = 0;
	int have_section = 0;

	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		linelen = (size_t)((nl != NULL ? nl : end) - p);
		if (memchr(p, '\0', linelen) != NULL) {
			conf_err(err, path, line, "NUL byte in file");
			return -1;
		}
		if (linelen > 0 && p[linelen - 1] == '\r')
			linelen--;
		if (linelen > CONF_LINE_MAX) {
			conf_err(err, path, line, "line longer than %d bytes",
			    CONF_LINE_MAX);
			return -1;
		}
		p[linelen] = '\0';
		s = p;
		e = p + linelen;
		p = nl != NULL ? nl + 1 : end;

		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		*e = '\0';
		if (s == e || *s == '#' || *s == ';')
			continue;

		if (*s == '[') {
			if (ini_section(path, line, s, e, section, err) != 0)
				return -1;
			have_section = 1;
			if (handler(arg, section, NULL, NULL, 0, line, err) != 0)
				return -1;
			continue;
		}
		if (ini_key_value(path, line, s, e, &k, &v, err) != 0)
			return -1;
		if (!have_section) {
			conf_err(err, path, line, "key outside any section");
			return -1;
		}
		if (handler(arg, section, k, v, (size_t)(e - v), line,
		    err) != 0)
			return -1;
	}
	return 0;
}

/*
 * What every value must satisfy before a key looks at it: a value, and no
 * control bytes (tab is allowed; lists are split on it).
 */
int
conf_value_check(const char *path, unsigned int line, const char *key,
    const char *value, size_t vlen, char *err)
{
	size_t i;

	if (vlen == 0) {
		conf_err(err, path, line, "key '%s' has no value", key);
		return -1;
	}
	for (i = 0; i < vlen; i++) {
		unsigned char ch = (unsigned char)value[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			conf_err(err, path, line, "value of '%s' contains a "
			    "control character", key);
			return -1;
		}
	}
	return 0;
}

int
conf_key_index(const char *const *keys, size_t nkeys, unsigned int repeat,
    unsigned int *seen, const char *section, const char *path,
    const char *key, const char *value, size_t vlen, unsigned int line,
    char *err)
{
	char eb[ECHO_MAX + 4];
	size_t k;

	for (k = 0; k < nkeys; k++)
		if (strcmp(key, keys[k]) == 0)
			break;
	if (k == nkeys) {
		conf_err(err, path, line, "unknown key '%s' in [%s]",
		    conf_echo(eb, sizeof(eb), key, strlen(key)), section);
		return -1;
	}
	if (!(repeat & (1u << k)) && seen[k] != 0) {
		conf_err(err, path, line, "key '%s' given twice (first on "
		    "line %u)", key, seen[k]);
		return -1;
	}
	seen[k] = line;
	if (conf_value_check(path, line, key, value, vlen, err) != 0)
		return -1;
	return (int)k;
}
