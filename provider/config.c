/*
 * config.c - read tokencached's main file and credentials_dir/NAME.conf.
 *
 * Both are INI files read by the small reader below.  It is strict on
 * purpose: a misspelt key or a stray line is an error that names file and
 * line, not something silently ignored, because a credential that is
 * quietly configured differently from what the admin wrote is worse than a
 * daemon that refuses to start.
 *
 * Credential files and secret files hold client secrets.  Every buffer
 * that held their bytes is wiped before it is freed, secrets themselves
 * live in sodium_malloc'd memory, and no error message quotes a value that
 * could be a secret.
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

#include "config.h"
#include "proto.h"
#include "seg.h"

#define CONF_FILE_MAX		(1024 * 1024)
#define CONF_LINE_MAX		4096
#define CONF_NAME_MAX		64	/* section and key names */
#define SECRET_MAX		4096
#define ECHO_MAX		64	/* bytes of a value quoted in errors */
#define LIST_ITEM_MAX		255	/* a user or group name */

#define DEFAULT_CREDS_DIR	"credentials.d"
#define DEFAULT_MAX_CREDS	128
#define DEFAULT_MAX_TOKEN	16384
#define DEFAULT_USER		TC_DAEMON_USER	/* the Makefile's TOKENCACHE_USER */
#define DEFAULT_KEY_ROTATION	86400		/* seconds */
/* Camunda SaaS blocks an address past about one request a second. */
#define DEFAULT_ENDPOINT_RATE	1		/* per second */
#define DEFAULT_ENDPOINT_BURST	2
#define DEFAULT_REFRESH_MIN	10		/* seconds */
#define DEFAULT_TIMEOUT		30		/* seconds */
#define DEFAULT_LIFETIME	3600		/* seconds */
#define DEFAULT_MAX_LIFETIME	2678400		/* 31 days */
#define TIMEOUT_MAX		600
#define LIFETIME_MAX		315360000	/* ten years */

/* ---- messages ---------------------------------------------------------- */

static void conf_err(char *err, const char *path, unsigned int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * "PATH:LINE: message", or "PATH: message" when line is 0.  Control bytes
 * in the path (file names come from readdir) are shown as '?' so that a
 * crafted name cannot forge log lines.
 */
static void
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
static const char *
echo(char *buf, size_t bufsz, const char *s, size_t len)
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

static int
all_bytes_in(const char *s, size_t len, unsigned char lo, unsigned char hi)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < lo || (unsigned char)s[i] > hi)
			return 0;
	}
	return 1;
}

static int
is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Decimal digits only, no sign, in [min, max]. */
static int
parse_ulong(const char *s, size_t len, unsigned long min, unsigned long max,
    unsigned long *out)
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
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* rel taken relative to dir unless it is absolute; NULL if too long. */
static char *
path_resolve(const char *dir, const char *rel)
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

static void
free_list(char **list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

/* The user the worker runs as, looked up when first needed. */
struct daemon_user {
	const char *name;         /* NULL: none */
	int looked_up;
	uid_t uid;                /* (uid_t)-1 if there is no such user */
};

/* Looked up only when a file's owner makes it matter, so that loading a
 * configuration of root's files never depends on NSS. */
static uid_t
daemon_user_uid(struct daemon_user *u)
{
	struct passwd *pw;

	if (u == NULL || u->name == NULL)
		return (uid_t)-1;
	if (!u->looked_up) {
		u->uid = (pw = getpwnam(u->name)) != NULL ? pw->pw_uid :
		    (uid_t)-1;
		u->looked_up = 1;
	}
	return u->uid;
}

/* Why st's owner is not to be trusted, or NULL: it must be root, whoever
 * loads the configuration, or du's user (du NULL: none). */
static const char *
owner_problem(const struct stat *st, struct daemon_user *du, char *buf,
    size_t sz)
{
	if (st->st_uid != 0 && st->st_uid != geteuid() &&
	    st->st_uid != daemon_user_uid(du)) {
		snprintf(buf, sz, "is owned by uid %lu, not by root or uid %lu",
		    (unsigned long)st->st_uid, (unsigned long)geteuid());
		return buf;
	}
	return NULL;
}

/*
 * Why a file that holds a secret may not be trusted, or NULL.  Like ssh
 * with private keys: nobody but its owner may read it, and the owner must
 * be root, whoever loads the configuration, or the user the worker runs
 * as (du; NULL for none).
 */
static const char *
secret_perm_problem(const struct stat *st, struct daemon_user *du, char *buf,
    size_t sz)
{
	if ((st->st_mode & 077) != 0) {
		snprintf(buf, sz, "is group- or world-accessible (mode %04o, "
		    "must be 0600 or stricter)",
		    (unsigned int)(st->st_mode & 07777));
		return buf;
	}
	return owner_problem(st, du, buf, sz);
}

/*
 * Why a configuration file or directory may not be trusted, or NULL.  It
 * says where secrets go (token_url, ca_file) and which secret files the
 * root monitor reads, so, as ssh's StrictModes asks of ~/.ssh, only root
 * (or whoever loads the configuration) may own or change it.  Not the
 * daemon's user: a compromised worker could otherwise point a credential
 * at another one's secret file and its own endpoint.
 */
static const char *
conf_perm_problem(const struct stat *st, char *buf, size_t sz)
{
	if ((st->st_mode & 022) != 0) {
		snprintf(buf, sz, "is group- or world-writable (mode %04o)",
		    (unsigned int)(st->st_mode & 07777));
		return buf;
	}
	return owner_problem(st, NULL, buf, sz);
}

/* ---- the INI reader ---------------------------------------------------- */

/*
 * Called once per section header (key NULL) and once per "key = value".
 * Returns 0, or -1 with err set.
 */
typedef int (*ini_handler)(void *arg, const char *section, const char *key,
    const char *value, size_t vlen, unsigned int line, char *err);

/*
 * Read all of a regular file of at most CONF_FILE_MAX bytes into *bufp
 * (NUL-terminated, length *lenp; the caller wipes and frees it).  O_NONBLOCK
 * keeps a FIFO from hanging the daemon; fstat is done on the descriptor so
 * the checks apply to what was opened.
 */
static int
ini_read(const char *path, char **bufp, size_t *lenp, struct stat *stp,
    char *err)
{
	char why[128];
	struct stat st;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t r;
	int fd = -1, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) ==
	    -1) {
		conf_err(err, path, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		conf_err(err, path, 0, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_err(err, path, 0, "not a regular file");
		goto out;
	}
	if (conf_perm_problem(&st, why, sizeof(why)) != NULL) {
		conf_err(err, path, 0, "refused: the file %s", why);
		goto out;
	}
	if (st.st_size < 0 || st.st_size > CONF_FILE_MAX) {
		conf_err(err, path, 0, "file is larger than %d bytes",
		    CONF_FILE_MAX);
		goto out;
	}
	/* One spare byte to notice growth, one for the NUL. */
	cap = (size_t)st.st_size + 2;
	if ((buf = malloc(cap)) == NULL) {
		conf_err(err, path, 0, "out of memory");
		goto out;
	}
	while (n < cap - 1) {
		r = read(fd, buf + n, cap - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			conf_err(err, path, 0, "read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > (size_t)st.st_size) {
		conf_err(err, path, 0, "file changed while being read");
		goto out;
	}
	buf[n] = '\0';
	/* success */
	*bufp = buf;
	buf = NULL;
	*lenp = n;
	*stp = st;
	ret = 0;
 out:
	if (buf != NULL) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	return ret;
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
static int
ini_parse(const char *path, char *buf, size_t len, ini_handler handler,
    void *arg, char *err)
{
	char section[CONF_NAME_MAX + 1] = "", *p = buf, *end = buf + len;
	char *nl, *s, *e, *eq, *k, *ke, *v;
	size_t linelen, i;
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
			if (e[-1] != ']' || e - s < 3) {
				conf_err(err, path, line,
				    "expected '[section]'");
				return -1;
			}
			s++;
			e--;
			for (i = 0; s + i < e; i++) {
				if (!is_name_char(s[i]) || i >= CONF_NAME_MAX) {
					conf_err(err, path, line,
					    "invalid section name");
					return -1;
				}
			}
			memcpy(section, s, i);
			section[i] = '\0';
			have_section = 1;
			if (handler(arg, section, NULL, NULL, 0, line, err) != 0)
				return -1;
			continue;
		}

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
static int
value_check(const char *path, unsigned int line, const char *key,
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

/* ---- the main file ----------------------------------------------------- */

enum daemon_key {
	DK_RUNTIME_DIR,
	DK_CREDENTIALS_DIR,
	DK_MAX_CREDENTIALS,
	DK_MAX_TOKEN_SIZE,
	DK_USER,
	DK_ADMIN_GROUP,
	DK_KEY_ROTATION_INTERVAL,
	DK_ENDPOINT_RATE,
	DK_ENDPOINT_BURST,
	DK_REFRESH_MIN_INTERVAL,
	DK_COUNT
};

static const char *const daemon_keys[DK_COUNT] = {
	"runtime_dir", "credentials_dir", "max_credentials", "max_token_size",
	"user", "admin_group", "key_rotation_interval", "endpoint_rate",
	"endpoint_burst", "refresh_min_interval",
};

struct daemon_parse {
	const char *path;
	const char *dir;
	struct daemon_conf *c;
	unsigned int seen[DK_COUNT];
	unsigned int section_line;
};

static int
daemon_handler(void *arg, const char *section, const char *key,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	struct daemon_parse *dp = arg;
	struct daemon_conf *c = dp->c;
	char eb[ECHO_MAX + 4];
	unsigned long n;
	size_t k, max;

	if (key == NULL) {
		if (strcmp(section, "daemon") != 0) {
			conf_err(err, dp->path, line, "unknown section [%s] "
			    "(expected [daemon])", section);
			return -1;
		}
		if (dp->section_line != 0) {
			conf_err(err, dp->path, line, "section [daemon] "
			    "given twice (first on line %u)", dp->section_line);
			return -1;
		}
		dp->section_line = line;
		return 0;
	}
	for (k = 0; k < DK_COUNT; k++) {
		if (strcmp(key, daemon_keys[k]) == 0)
			break;
	}
	if (k == DK_COUNT) {
		conf_err(err, dp->path, line, "unknown key '%s' in [daemon]",
		    echo(eb, sizeof(eb), key, strlen(key)));
		return -1;
	}
	if (dp->seen[k] != 0) {
		conf_err(err, dp->path, line, "key '%s' given twice (first "
		    "on line %u)", key, dp->seen[k]);
		return -1;
	}
	dp->seen[k] = line;
	if (value_check(dp->path, line, key, value, vlen, err) != 0)
		return -1;

	switch ((enum daemon_key)k) {
	case DK_RUNTIME_DIR:
		if (value[0] != '/') {
			conf_err(err, dp->path, line,
			    "runtime_dir must be an absolute path");
			return -1;
		}
		/* The control socket lives there: its path, and the
		 * longer one it is bound under first, must fit. */
		max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1 -
		    strlen("/" SEG_SOCKET_TEMP);
		if (vlen > max) {
			conf_err(err, dp->path, line, "runtime_dir is longer "
			    "than %zu bytes (the socket path must fit in "
			    "sun_path)", max);
			return -1;
		}
		if ((c->runtime_dir = strndup(value, vlen)) == NULL)
			goto nomem;
		break;
	case DK_CREDENTIALS_DIR:
		if ((c->credentials_dir = path_resolve(dp->dir,
		    value)) == NULL) {
			conf_err(err, dp->path, line, "credentials_dir: path "
			    "too long or out of memory");
			return -1;
		}
		break;
	case DK_MAX_CREDENTIALS:
		if (parse_ulong(value, vlen, 1, 65536, &n) != 0) {
			conf_err(err, dp->path, line, "max_credentials must "
			    "be an integer in 1..65536");
			return -1;
		}
		c->max_credentials = (uint32_t)n;
		break;
	case DK_MAX_TOKEN_SIZE:
		if (parse_ulong(value, vlen, SEG_TOKEN_MIN, SEG_TOKEN_MAX,
		    &n) != 0) {
			conf_err(err, dp->path, line, "max_token_size must "
			    "be an integer in %d..%d (bytes)", SEG_TOKEN_MIN,
			    SEG_TOKEN_MAX);
			return -1;
		}
		c->max_token_size = (uint32_t)n;
		break;
	case DK_USER:
	case DK_ADMIN_GROUP:
		/* Names as useradd(8) allows them; resolved by the daemon. */
		for (max = 0; max < vlen; max++) {
			if (!is_name_char(value[max]) || value[max] == '~' ||
			    value[max] == '+' || value[max] == '@') {
				conf_err(err, dp->path, line, "%s: not a valid "
				    "user or group name", key);
				return -1;
			}
		}
		if (k == DK_USER) {
			free(c->user);
			if ((c->user = strndup(value, vlen)) == NULL)
				goto nomem;
		} else if ((c->admin_group = strndup(value, vlen)) == NULL)
			goto nomem;
		break;
	case DK_KEY_ROTATION_INTERVAL:
		if (parse_ulong(value, vlen, 0, 31536000, &n) != 0 ||
		    (n != 0 && n < 60)) {
			conf_err(err, dp->path, line, "key_rotation_interval "
			    "must be 0 (never) or 60..31536000 (seconds)");
			return -1;
		}
		c->key_rotation_interval = (long)n;
		break;
	case DK_ENDPOINT_RATE:
	case DK_ENDPOINT_BURST:
		if (parse_ulong(value, vlen, 1, 1000, &n) != 0) {
			conf_err(err, dp->path, line, "%s must be an integer "
			    "in 1..1000", key);
			return -1;
		}
		if (k == DK_ENDPOINT_RATE)
			c->endpoint_rate = (uint32_t)n;
		else
			c->endpoint_burst = (uint32_t)n;
		break;
	case DK_REFRESH_MIN_INTERVAL:
		if (parse_ulong(value, vlen, 0, 86400, &n) != 0) {
			conf_err(err, dp->path, line, "refresh_min_interval "
			    "must be 0 (none) or up to 86400 (seconds)");
			return -1;
		}
		c->refresh_min_interval = (long)n;
		break;
	case DK_COUNT:
		break;
	}
	return 0;
 nomem:
	conf_err(err, dp->path, line, "out of memory");
	return -1;
}

/* ---- credential files -------------------------------------------------- */

enum cred_key {
	CK_PROVIDER,
	CK_TOKEN_URL,
	CK_CLIENT_ID,
	CK_CLIENT_SECRET,
	CK_CLIENT_SECRET_FILE,
	CK_AUTH_METHOD,
	CK_AUDIENCE,
	CK_SCOPE,
	CK_RESOURCE,
	CK_ALLOW_USERS,
	CK_ALLOW_GROUPS,
	CK_TIMEOUT,
	CK_DEFAULT_LIFETIME,
	CK_MAX_LIFETIME,
	CK_CA_FILE,
	CK_COUNT
};

static const char *const cred_keys[CK_COUNT] = {
	"provider", "token_url", "client_id", "client_secret",
	"client_secret_file", "auth_method", "audience", "scope", "resource",
	"allow_users", "allow_groups", "timeout", "default_lifetime",
	"max_lifetime", "ca_file",
};

struct cred_parse {
	const char *path;
	char *dir;
	struct cred_conf *c;
	unsigned int seen[CK_COUNT];   /* line of the (first) occurrence */
	unsigned int section_line;
	char *secret_file;             /* resolved client_secret_file */
	size_t resources_cap;
};

/*
 * 127.0.0.0/8 in strict dotted-quad form: four decimal parts without
 * leading zeros, so no resolver can read it as octal or as a name.
 */
static int
is_ipv4_loopback(const char *h, size_t len)
{
	unsigned long part;
	size_t i = 0, start, nparts = 0;

	while (nparts < 4) {
		start = i;
		while (i < len && h[i] >= '0' && h[i] <= '9')
			i++;
		if (i == start || i - start > 3 ||
		    (h[start] == '0' && i - start > 1))
			return 0;
		if (parse_ulong(h + start, i - start, 0, 255, &part) != 0)
			return 0;
		if (nparts == 0 && part != 127)
			return 0;
		nparts++;
		if (nparts < 4) {
			if (i >= len || h[i] != '.')
				return 0;
			i++;
		}
	}
	return i == len;
}

/*
 * Why url may not be a token endpoint, or NULL.  The client secret goes to
 * it, so it must be https://, except to this host, where there is no wire
 * to listen on (tests, or a local TLS-terminating proxy).
 */
static const char *
token_url_problem(const char *url, size_t len)
{
	const char *auth, *aend, *host, *hend, *port;
	size_t hlen, plen;
	unsigned long pn;
	int tls;

	if (!all_bytes_in(url, len, 0x21, 0x7e))
		return "token_url contains a space or a byte outside "
		    "printable ASCII";
	if (len > 8 && strncasecmp(url, "https://", 8) == 0) {
		tls = 1;
		auth = url + 8;
	} else if (len > 7 && strncasecmp(url, "http://", 7) == 0) {
		tls = 0;
		auth = url + 7;
	} else
		return "token_url must start with https://";
	if (memchr(url, '#', len) != NULL)
		return "token_url must not have a fragment ('#')";
	aend = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', (size_t)(aend - auth)) != NULL)
		return "token_url must not contain user information ('@')";
	host = auth;
	if (*host == '[') {
		hend = memchr(host, ']', (size_t)(aend - host));
		if (hend == NULL)
			return "token_url has an unterminated IPv6 address";
		hend++;
	} else {
		hend = memchr(host, ':', (size_t)(aend - host));
		if (hend == NULL)
			hend = aend;
	}
	hlen = (size_t)(hend - host);
	if (hlen == 0 || (host[0] == '[' && hlen == 2))
		return "token_url has no host";
	if (hend < aend) {
		if (*hend != ':')
			return "token_url has junk after the host";
		port = hend + 1;
		plen = (size_t)(aend - port);
		if (plen > 5 || parse_ulong(port, plen, 1, 65535, &pn) != 0)
			return "token_url has an invalid port";
	}
	if (!tls && !(
	    (hlen == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    (hlen == 5 && memcmp(host, "[::1]", 5) == 0) ||
	    is_ipv4_loopback(host, hlen)))
		return "token_url must use https:// (http:// is allowed only "
		    "for 127.0.0.0/8, [::1] and localhost)";
	return NULL;
}

/*
 * RFC 8707 §2: an absolute URI (RFC 3986 §4.3: scheme ":" hier-part), no
 * fragment.  "urn:example:api" is as valid as "https://api.example.com/".
 */
static int
resource_valid(const char *s, size_t len)
{
	const char *sep;
	size_t i;

	if (!all_bytes_in(s, len, 0x21, 0x7e) || memchr(s, '#', len) != NULL)
		return 0;
	if ((sep = memchr(s, ':', len)) == NULL || sep == s ||
	    (size_t)(sep - s) + 1 == len)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; s + i < sep; i++) {
		if (!is_name_char(s[i]) && s[i] != '+')
			return 0;
		if (s[i] == '_' || s[i] == '~' || s[i] == '@')
			return 0;
	}
	return 1;
}

/* Split a blank-separated list into a NULL-terminated array. */
static int
split_list(const char *path, unsigned int line, const char *key,
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
	free_list(list);
	return ret;
}

static int
lifetime_key(struct cred_parse *cp, unsigned int line, const char *key,
    const char *value, size_t vlen, long *out, char *err)
{
	unsigned long n;

	if (parse_ulong(value, vlen, 1, LIFETIME_MAX, &n) != 0) {
		conf_err(err, cp->path, line, "%s must be an integer in "
		    "1..%d (seconds)", key, LIFETIME_MAX);
		return -1;
	}
	*out = (long)n;
	return 0;
}

static int
cred_handler(void *arg, const char *section, const char *key,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	struct cred_parse *cp = arg;
	struct cred_conf *c = cp->c;
	char eb[ECHO_MAX + 4], **nr;
	const char *why;
	unsigned long n;
	size_t k;

	if (key == NULL) {
		if (strcmp(section, "credential") != 0) {
			conf_err(err, cp->path, line, "unknown section [%s] "
			    "(expected [credential])", section);
			return -1;
		}
		if (cp->section_line != 0) {
			conf_err(err, cp->path, line, "section [credential] "
			    "given twice (first on line %u)",
			    cp->section_line);
			return -1;
		}
		cp->section_line = line;
		return 0;
	}
	for (k = 0; k < CK_COUNT; k++) {
		if (strcmp(key, cred_keys[k]) == 0)
			break;
	}
	if (k == CK_COUNT) {
		conf_err(err, cp->path, line, "unknown key '%s' in "
		    "[credential]", echo(eb, sizeof(eb), key, strlen(key)));
		return -1;
	}
	/* RFC 8707 §2: several resource parameters may be sent. */
	if (cp->seen[k] != 0 && k != CK_RESOURCE) {
		conf_err(err, cp->path, line, "key '%s' given twice (first "
		    "on line %u)", key, cp->seen[k]);
		return -1;
	}
	if (cp->seen[k] == 0)
		cp->seen[k] = line;
	if (value_check(cp->path, line, key, value, vlen, err) != 0)
		return -1;

	switch ((enum cred_key)k) {
	case CK_PROVIDER:
		if (strcmp(value, "oauth2") != 0) {
			conf_err(err, cp->path, line, "unknown provider '%s' "
			    "(known: oauth2)", echo(eb, sizeof(eb), value,
			    vlen));
			return -1;
		}
		if ((c->provider = strndup(value, vlen)) == NULL)
			goto nomem;
		break;
	case CK_TOKEN_URL:
		if ((why = token_url_problem(value, vlen)) != NULL) {
			conf_err(err, cp->path, line, "%s", why);
			return -1;
		}
		if ((c->token_url = strndup(value, vlen)) == NULL)
			goto nomem;
		break;
	case CK_CLIENT_ID:
		/* RFC 6749 Appendix A.1: client_id = *VSCHAR */
		if (!all_bytes_in(value, vlen, 0x20, 0x7e)) {
			conf_err(err, cp->path, line, "client_id contains a "
			    "byte outside printable ASCII (0x20..0x7e)");
			return -1;
		}
		if ((c->client_id = strndup(value, vlen)) == NULL)
			goto nomem;
		break;
	case CK_CLIENT_SECRET:
		/* Appendix A.2: client_secret = *VSCHAR.  Not quoted. */
		if (!all_bytes_in(value, vlen, 0x20, 0x7e)) {
			conf_err(err, cp->path, line, "client_secret contains "
			    "a byte outside printable ASCII (0x20..0x7e)");
			return -1;
		}
		if (vlen > SECRET_MAX) {
			conf_err(err, cp->path, line, "client_secret is "
			    "longer than %d bytes", SECRET_MAX);
			return -1;
		}
		if ((c->client_secret = sodium_malloc(vlen + 1)) == NULL)
			goto nomem;
		memcpy(c->client_secret, value, vlen);
		c->client_secret[vlen] = '\0';
		c->client_secret_len = vlen;
		break;
	case CK_CLIENT_SECRET_FILE:
		if ((cp->secret_file = path_resolve(cp->dir, value)) == NULL) {
			conf_err(err, cp->path, line, "client_secret_file: "
			    "path too long or out of memory");
			return -1;
		}
		break;
	case CK_AUTH_METHOD:
		if (strcmp(value, "client_secret_post") == 0)
			c->auth_method = AUTH_CLIENT_SECRET_POST;
		else if (strcmp(value, "client_secret_basic") == 0)
			c->auth_method = AUTH_CLIENT_SECRET_BASIC;
		else {
			conf_err(err, cp->path, line, "unknown auth_method "
			    "'%s' (known: client_secret_post, "
			    "client_secret_basic)",
			    echo(eb, sizeof(eb), value, vlen));
			return -1;
		}
		break;
	case CK_AUDIENCE:
	case CK_SCOPE:
		if (!all_bytes_in(value, vlen, 0x20, 0x7e)) {
			conf_err(err, cp->path, line, "%s contains a byte "
			    "outside printable ASCII (0x20..0x7e)", key);
			return -1;
		}
		if (k == CK_AUDIENCE &&
		    (c->audience = strndup(value, vlen)) == NULL)
			goto nomem;
		if (k == CK_SCOPE &&
		    (c->scope = strndup(value, vlen)) == NULL)
			goto nomem;
		break;
	case CK_RESOURCE:
		if (!resource_valid(value, vlen)) {
			conf_err(err, cp->path, line, "resource must be an "
			    "absolute URI without a fragment, like "
			    "https://api.example.com/");
			return -1;
		}
		if (c->nresources + 1 >= cp->resources_cap) {
			size_t ncap = cp->resources_cap == 0 ? 4 :
			    cp->resources_cap * 2;

			if ((nr = reallocarray(c->resources, ncap,
			    sizeof(*nr))) == NULL)
				goto nomem;
			c->resources = nr;
			cp->resources_cap = ncap;
		}
		if ((c->resources[c->nresources] = strndup(value,
		    vlen)) == NULL)
			goto nomem;
		c->resources[++c->nresources] = NULL;
		break;
	case CK_ALLOW_USERS:
		return split_list(cp->path, line, key, value, vlen,
		    &c->allow_users, &c->nallow_users, err);
	case CK_ALLOW_GROUPS:
		return split_list(cp->path, line, key, value, vlen,
		    &c->allow_groups, &c->nallow_groups, err);
	case CK_TIMEOUT:
		if (parse_ulong(value, vlen, 1, TIMEOUT_MAX, &n) != 0) {
			conf_err(err, cp->path, line, "timeout must be an "
			    "integer in 1..%d (seconds)", TIMEOUT_MAX);
			return -1;
		}
		c->timeout_ms = (long)n * 1000;
		break;
	case CK_DEFAULT_LIFETIME:
		return lifetime_key(cp, line, key, value, vlen,
		    &c->default_lifetime, err);
	case CK_MAX_LIFETIME:
		return lifetime_key(cp, line, key, value, vlen,
		    &c->max_lifetime, err);
	case CK_CA_FILE:
		if ((c->ca_file = path_resolve(cp->dir, value)) == NULL) {
			conf_err(err, cp->path, line, "ca_file: path too "
			    "long or out of memory");
			return -1;
		}
		break;
	case CK_COUNT:
		break;
	}
	return 0;
 nomem:
	conf_err(err, cp->path, line, "out of memory");
	return -1;
}

/*
 * Read client_secret_file into sodium_malloc'd memory.  O_NOFOLLOW and
 * fstat on the descriptor: the file checked is the file read.
 */
static int
read_secret_file(const char *cpath, unsigned int line, const char *spath,
    struct daemon_user *du, char **secretp, size_t *lenp, char *err)
{
	struct stat st;
	char *buf = NULL, why[128];
	const size_t cap = SECRET_MAX + 3;	/* secret, "\r\n", one more */
	size_t n = 0, i;
	ssize_t r;
	int fd = -1, ret = -1;

	if ((fd = open(spath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY)) == -1) {
		conf_err(err, cpath, line, "client_secret_file %s: %s", spath,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		conf_err(err, cpath, line, "client_secret_file %s: %s", spath,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_err(err, cpath, line, "client_secret_file %s: not a "
		    "regular file", spath);
		goto out;
	}
	if (secret_perm_problem(&st, du, why, sizeof(why)) != NULL) {
		conf_err(err, cpath, line, "client_secret_file %s %s", spath,
		    why);
		goto out;
	}
	if ((buf = sodium_malloc(cap)) == NULL) {
		conf_err(err, cpath, line, "out of memory");
		goto out;
	}
	while (n < cap) {
		r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			conf_err(err, cpath, line, "client_secret_file %s: "
			    "%s", spath, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	/* One line ending is what editors and `echo` add. */
	if (n > 0 && buf[n - 1] == '\n') {
		n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	if (n > SECRET_MAX) {
		conf_err(err, cpath, line, "client_secret_file %s: secret is "
		    "longer than %d bytes", spath, SECRET_MAX);
		goto out;
	}
	if (n == 0) {
		conf_err(err, cpath, line, "client_secret_file %s is empty",
		    spath);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)buf[i] < 0x20 ||
		    (unsigned char)buf[i] > 0x7e) {
			conf_err(err, cpath, line, "client_secret_file %s: "
			    "secret contains a byte outside printable ASCII "
			    "(0x20..0x7e)", spath);
			goto out;
		}
	}
	sodium_memzero(buf + n, cap - n);
	buf[n] = '\0';
	/* success */
	*secretp = buf;
	buf = NULL;
	*lenp = n;
	ret = 0;
 out:
	if (buf != NULL)
		sodium_free(buf);	/* wipes */
	if (fd != -1)
		close(fd);
	return ret;
}

static int load_credential(const char *path, const char *name,
    struct daemon_user *du, struct cred_conf *out, char *err);

int
conf_load_credential(const char *path, const char *name,
    struct cred_conf *out, char *err)
{
	return load_credential(path, name, NULL, out, err);
}

static int
load_credential(const char *path, const char *name, struct daemon_user *du,
    struct cred_conf *out, char *err)
{
	struct cred_parse cp;
	struct cred_conf c;
	struct stat st;
	char *buf = NULL, eb[ECHO_MAX + 4], why[128];
	size_t len = 0, i;
	unsigned int line;
	int ret = -1;

	memset(&cp, 0, sizeof(cp));
	memset(&c, 0, sizeof(c));
	if (path == NULL || name == NULL || out == NULL) {
		snprintf(err, CONF_ERR_MAX, "conf_load_credential: invalid "
		    "argument");
		goto out;
	}
	if (sodium_init() < 0) {
		conf_err(err, path, 0, "libsodium failed to initialise");
		goto out;
	}
	if (seg_name_valid(name, strlen(name)) != 0) {
		conf_err(err, path, 0, "invalid credential name '%s' "
		    "(allowed: A-Z a-z 0-9 . _ ~ @ + -, 1..%d bytes, not "
		    "starting with '.')", echo(eb, sizeof(eb), name,
		    strlen(name)), SEG_NAME_FIELD - 1);
		goto out;
	}
	c.auth_method = AUTH_CLIENT_SECRET_POST;
	c.timeout_ms = DEFAULT_TIMEOUT * 1000L;
	c.default_lifetime = DEFAULT_LIFETIME;
	c.max_lifetime = DEFAULT_MAX_LIFETIME;
	if ((c.name = strdup(name)) == NULL || (c.path = strdup(path)) ==
	    NULL || (cp.dir = dir_of(path)) == NULL) {
		conf_err(err, path, 0, "out of memory");
		goto out;
	}
	cp.path = path;
	cp.c = &c;

	if (ini_read(path, &buf, &len, &st, err) != 0)
		goto out;
	if (ini_parse(path, buf, len, cred_handler, &cp, err) != 0)
		goto out;

	for (i = 0; i < CK_CLIENT_SECRET; i++) {
		if (cp.seen[i] == 0) {
			conf_err(err, path, 0, "missing required key '%s'",
			    cred_keys[i]);
			goto out;
		}
	}
	if (cp.seen[CK_CLIENT_SECRET] == 0 &&
	    cp.seen[CK_CLIENT_SECRET_FILE] == 0) {
		conf_err(err, path, 0, "missing required key "
		    "'client_secret_file' (or 'client_secret')");
		goto out;
	}
	if (cp.seen[CK_CLIENT_SECRET] != 0 &&
	    cp.seen[CK_CLIENT_SECRET_FILE] != 0) {
		line = cp.seen[CK_CLIENT_SECRET] > cp.seen[CK_CLIENT_SECRET_FILE] ?
		    cp.seen[CK_CLIENT_SECRET] : cp.seen[CK_CLIENT_SECRET_FILE];
		conf_err(err, path, line, "give client_secret_file or "
		    "client_secret, not both");
		goto out;
	}
	if (c.default_lifetime > c.max_lifetime) {
		/* Only an explicit default is a mistake; the built-in one
		 * yields to a short max_lifetime. */
		if (cp.seen[CK_DEFAULT_LIFETIME] != 0) {
			conf_err(err, path, cp.seen[CK_DEFAULT_LIFETIME],
			    "default_lifetime %ld exceeds max_lifetime %ld",
			    c.default_lifetime, c.max_lifetime);
			goto out;
		}
		c.default_lifetime = c.max_lifetime;
	}
	if (c.resources == NULL &&
	    (c.resources = calloc(1, sizeof(*c.resources))) == NULL)
		goto nomem;
	if (c.allow_users == NULL &&
	    (c.allow_users = calloc(1, sizeof(*c.allow_users))) == NULL)
		goto nomem;
	if (c.allow_groups == NULL &&
	    (c.allow_groups = calloc(1, sizeof(*c.allow_groups))) == NULL)
		goto nomem;

	if (cp.seen[CK_CLIENT_SECRET] != 0) {
		if (secret_perm_problem(&st, du, why, sizeof(why)) != NULL) {
			conf_err(err, path, cp.seen[CK_CLIENT_SECRET],
			    "file holds client_secret inline but %s", why);
			goto out;
		}
	} else if (read_secret_file(path, cp.seen[CK_CLIENT_SECRET_FILE],
	    cp.secret_file, du, &c.client_secret,
	    &c.client_secret_len, err) != 0)
		goto out;

	/* success */
	*out = c;
	memset(&c, 0, sizeof(c));
	ret = 0;
	goto out;
 nomem:
	conf_err(err, path, 0, "out of memory");
 out:
	conf_cred_clear(&c);
	free(cp.dir);
	free(cp.secret_file);
	if (buf != NULL) {
		/* It may have held client_secret. */
		sodium_memzero(buf, len + 1);
		free(buf);
	}
	return ret;
}

void
conf_cred_clear(struct cred_conf *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->path);
	free(c->provider);
	free(c->token_url);
	free(c->client_id);
	if (c->client_secret != NULL)
		sodium_free(c->client_secret);	/* wipes */
	free(c->audience);
	free(c->scope);
	free_list(c->resources);
	free_list(c->allow_users);
	free_list(c->allow_groups);
	free(c->ca_file);
	memset(c, 0, sizeof(*c));
}

/* ---- the whole configuration ------------------------------------------- */

/*
 * Order "NAME.conf" file names as strcmp() orders the NAMEs, which is the
 * order conf_find() searches: comparing whole file names would not do,
 * since "a-b.conf" < "a.conf" but "a" < "a-b".
 */
static int
cmp_conf_file(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = strlen(x) - 5, ly = strlen(y) - 5;
	int r;

	if ((r = memcmp(x, y, lx < ly ? lx : ly)) != 0)
		return r;
	return (lx > ly) - (lx < ly);
}

static int
cmp_cred(const void *a, const void *b)
{
	return strcmp(((const struct cred_conf *)a)->name,
	    ((const struct cred_conf *)b)->name);
}

/*
 * Load every credentials_dir/NAME.conf, sorted by name.  A directory that
 * does not exist means no credentials; one that cannot be read is an error,
 * since silently serving nothing would hide the mistake.
 */
static int
load_credentials(struct daemon_conf *c, char *err)
{
	const char *dir = c->credentials_dir;
	char **names = NULL, **nn, *path = NULL, eb[ECHO_MAX + 4];
	/* Secret files may also belong to the user the worker runs as. */
	struct daemon_user du = { c->user, 0, (uid_t)-1 };
	char why[128];
	size_t n = 0, cap = 0, i, nlen;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int fd, ret = -1;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			ret = 0;
			goto out;
		}
		conf_err(err, dir, 0, "cannot open directory: %s",
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		conf_err(err, dir, 0, "cannot stat: %s", strerror(errno));
		close(fd);
		goto out;
	}
	if (conf_perm_problem(&st, why, sizeof(why)) != NULL) {
		conf_err(err, dir, 0, "refused: the directory %s", why);
		close(fd);
		goto out;
	}
	if ((d = fdopendir(fd)) == NULL) {
		conf_err(err, dir, 0, "cannot open directory: %s",
		    strerror(errno));
		close(fd);
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				conf_err(err, dir, 0, "readdir: %s",
				    strerror(errno));
				goto out;
			}
			break;
		}
		/* Editors' and package managers' leftovers start with '.'
		 * or end otherwise (.conf~, .conf.dpkg-old). */
		nlen = strlen(de->d_name);
		if (de->d_name[0] == '.' || nlen <= 5 ||
		    strcmp(de->d_name + nlen - 5, ".conf") != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == -1) {
			conf_err(err, dir, 0, "%s: %s", echo(eb, sizeof(eb),
			    de->d_name, nlen), strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (seg_name_valid(de->d_name, nlen - 5) != 0) {
			free(path);
			path = path_resolve(dir, de->d_name);
			conf_err(err, path != NULL ? path : dir, 0,
			    "invalid credential name '%s' (allowed: A-Z a-z "
			    "0-9 . _ ~ @ + -, 1..%d bytes, not starting with "
			    "'.')", echo(eb, sizeof(eb), de->d_name, nlen - 5),
			    SEG_NAME_FIELD - 1);
			goto out;
		}
		if (n >= c->max_credentials) {
			conf_err(err, dir, 0, "more than max_credentials (%u) "
			    "credential files", c->max_credentials);
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nn = reallocarray(names, cap,
			    sizeof(*names))) == NULL)
				goto nomem;
			names = nn;
		}
		if ((names[n] = strndup(de->d_name, nlen)) == NULL)
			goto nomem;
		n++;
	}
	if (n == 0) {
		ret = 0;
		goto out;
	}
	qsort(names, n, sizeof(*names), cmp_conf_file);
	if ((c->creds = calloc(n, sizeof(*c->creds))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		free(path);
		if ((path = path_resolve(dir, names[i])) == NULL) {
			conf_err(err, dir, 0, "path too long or out of memory");
			goto out;
		}
		/* names[i] ends in ".conf": cut it to get the name */
		names[i][strlen(names[i]) - 5] = '\0';
		if (load_credential(path, names[i], &du, &c->creds[i],
		    err) != 0)
			goto out;
		c->ncreds++;
	}
	ret = 0;
	goto out;
 nomem:
	conf_err(err, dir, 0, "out of memory");
 out:
	if (d != NULL)
		closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(path);
	return ret;
}

int
conf_load(const char *path, struct daemon_conf **out, char *err)
{
	struct daemon_parse dp;
	struct daemon_conf *c = NULL;
	struct stat st;
	char *buf = NULL, *dir = NULL;
	size_t len = 0;
	int ret = -1;

	memset(&dp, 0, sizeof(dp));
	if (path == NULL || out == NULL) {
		snprintf(err, CONF_ERR_MAX, "conf_load: invalid argument");
		goto out;
	}
	if (sodium_init() < 0) {
		conf_err(err, path, 0, "libsodium failed to initialise");
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL || (dir = dir_of(path)) == NULL)
		goto nomem;
	c->max_credentials = DEFAULT_MAX_CREDS;
	c->max_token_size = DEFAULT_MAX_TOKEN;
	c->key_rotation_interval = DEFAULT_KEY_ROTATION;
	c->endpoint_rate = DEFAULT_ENDPOINT_RATE;
	c->endpoint_burst = DEFAULT_ENDPOINT_BURST;
	c->refresh_min_interval = DEFAULT_REFRESH_MIN;
	if ((c->user = strdup(DEFAULT_USER)) == NULL)
		goto nomem;
	dp.path = path;
	dp.dir = dir;
	dp.c = c;

	if (ini_read(path, &buf, &len, &st, err) != 0)
		goto out;
	if (ini_parse(path, buf, len, daemon_handler, &dp, err) != 0)
		goto out;
	if (c->runtime_dir == NULL &&
	    (c->runtime_dir = strdup(PROTO_RUNTIME_DIR)) == NULL)
		goto nomem;
	if (c->credentials_dir == NULL &&
	    (c->credentials_dir = path_resolve(dir,
	    DEFAULT_CREDS_DIR)) == NULL) {
		conf_err(err, path, 0, "credentials_dir: path too long or out of memory");
		goto out;
	}
	if (load_credentials(c, err) != 0)
		goto out;

	/* success */
	*out = c;
	c = NULL;
	ret = 0;
	goto out;
 nomem:
	conf_err(err, path, 0, "out of memory");
 out:
	conf_free(c);
	free(dir);
	if (buf != NULL) {
		sodium_memzero(buf, len + 1);
		free(buf);
	}
	return ret;
}

void
conf_free(struct daemon_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ncreds; i++)
		conf_cred_clear(&c->creds[i]);
	free(c->creds);
	free(c->path);
	free(c->runtime_dir);
	free(c->credentials_dir);
	free(c->user);
	free(c->admin_group);
	free(c);
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

int
conf_cred_request_differs(const struct cred_conf *a,
    const struct cred_conf *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	if (a->client_secret_len != b->client_secret_len ||
	    (a->client_secret == NULL) != (b->client_secret == NULL))
		return 1;
	if (a->client_secret != NULL && sodium_memcmp(a->client_secret,
	    b->client_secret, a->client_secret_len) != 0)
		return 1;
	return str_differs(a->provider, b->provider) ||
	    str_differs(a->token_url, b->token_url) ||
	    str_differs(a->client_id, b->client_id) ||
	    a->auth_method != b->auth_method ||
	    str_differs(a->audience, b->audience) ||
	    str_differs(a->scope, b->scope) ||
	    list_differs(a->resources, a->nresources, b->resources,
	    b->nresources);
}

int
conf_cred_acl_differs(const struct cred_conf *a, const struct cred_conf *b)
{
	return list_differs(a->allow_users, a->nallow_users, b->allow_users,
	    b->nallow_users) || list_differs(a->allow_groups,
	    a->nallow_groups, b->allow_groups, b->nallow_groups);
}

const struct cred_conf *
conf_find(const struct daemon_conf *c, const char *name)
{
	struct cred_conf key;

	if (c == NULL || name == NULL || c->ncreds == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.name = (char *)(uintptr_t)name;
	return bsearch(&key, c->creds, c->ncreds, sizeof(*c->creds), cmp_cred);
}
