/*
 * config_check.c - what a file and a value must be before the
 * configuration trusts them: who may own a configuration or secret file
 * and with which mode, what a token_url and a resource may be; and reading
 * configuration files and client_secret_file under those checks
 * (config_internal.h lists who owns what).
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

#define CONF_FILE_MAX		(1024 * 1024)

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
const char *
conf_secret_perm_problem(const struct stat *st, struct daemon_user *du,
    char *buf, size_t sz)
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
const char *
conf_perm_problem(const struct stat *st, char *buf, size_t sz)
{
	if ((st->st_mode & 022) != 0) {
		snprintf(buf, sz, "is group- or world-writable (mode %04o)",
		    (unsigned int)(st->st_mode & 07777));
		return buf;
	}
	return owner_problem(st, NULL, buf, sz);
}

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
		if (conf_parse_ulong(h + start, i - start, 0, 255, &part) != 0)
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
const char *
conf_token_url_problem(const char *url, size_t len)
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
		if (plen > 5 ||
		    conf_parse_ulong(port, plen, 1, 65535, &pn) != 0)
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
int
conf_resource_valid(const char *s, size_t len)
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

/*
 * Read all of a regular configuration file of at most CONF_FILE_MAX bytes,
 * trusted by conf_perm_problem(), into *bufp
 * (NUL-terminated, length *lenp; the caller wipes and frees it).  O_NONBLOCK
 * keeps a FIFO from hanging the daemon; fstat is done on the descriptor so
 * the checks apply to what was opened.
 */
int
conf_read_file(const char *path, char **bufp, size_t *lenp, struct stat *stp,
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

/* Up to cap bytes of fd (till its end) into buf, their count in *np; 0,
 * or -1 with errno. */
static int
read_upto(int fd, char *buf, size_t cap, size_t *np)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap) {
		r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*np = n;
	return 0;
}

/*
 * Read a secret file (client_secret_file, endpoint_secret_file) into
 * sodium_malloc'd memory.  O_NOFOLLOW and
 * fstat on the descriptor: the file checked is the file read.  Kept whole,
 * over 80 lines: every check after the open unwinds the same way, wiping
 * what was read.
 */
int
conf_read_secret_file(const char *cpath, unsigned int line, const char *key,
    const char *spath, struct daemon_user *du, char **secretp, size_t *lenp,
    char *err)
{
	struct stat st;
	char *buf = NULL, why[128];
	const size_t cap = SECRET_MAX + 3;	/* secret, "\r\n", one more */
	size_t n = 0, i;
	int fd = -1, ret = -1;

	if ((fd = open(spath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY)) == -1) {
		conf_err(err, cpath, line, "%s %s: %s", key, spath,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		conf_err(err, cpath, line, "%s %s: %s", key, spath,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_err(err, cpath, line, "%s %s: not a "
		    "regular file", key, spath);
		goto out;
	}
	if (conf_secret_perm_problem(&st, du, why, sizeof(why)) != NULL) {
		conf_err(err, cpath, line, "%s %s %s", key, spath,
		    why);
		goto out;
	}
	if ((buf = sodium_malloc(cap)) == NULL) {
		conf_err(err, cpath, line, "out of memory");
		goto out;
	}
	if (read_upto(fd, buf, cap, &n) != 0) {
		conf_err(err, cpath, line, "%s %s: %s", key, spath,
		    strerror(errno));
		goto out;
	}
	/* One line ending is what editors and `conf_echo` add. */
	if (n > 0 && buf[n - 1] == '\n') {
		n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	if (n > SECRET_MAX) {
		conf_err(err, cpath, line, "%s %s: secret is "
		    "longer than %d bytes", key, spath, SECRET_MAX);
		goto out;
	}
	if (n == 0) {
		conf_err(err, cpath, line, "%s %s is empty",
		    key, spath);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)buf[i] < 0x20 ||
		    (unsigned char)buf[i] > 0x7e) {
			conf_err(err, cpath, line, "%s %s: secret contains "
			    "a byte outside printable ASCII (0x20..0x7e)",
			    key, spath);
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

int
conf_provider_builtin(const char *name)
{
	return strcmp(name, "oauth2") == 0 || strcmp(name, "camunda") == 0;
}

int
conf_provider_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > 64 || name[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if ((name[i] < 'a' || name[i] > 'z') &&
		    (name[i] < '0' || name[i] > '9') && name[i] != '_' &&
		    name[i] != '-')
			return 0;
	}
	return 1;
}

int
conf_read_opt_file(const char *cpath, unsigned int line, const char *key,
    const char *spath, struct daemon_user *du, int secret, char **valuep,
    size_t *lenp, char *err)
{
	struct stat st;
	char *buf = NULL, why[128];
	const size_t cap = CONF_OPT_FILE_MAX + 1;
	size_t n = 0;
	int fd = -1, ret = -1;

	if ((fd = open(spath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY)) == -1) {
		conf_err(err, cpath, line, "%s %s: %s", key, spath,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_err(err, cpath, line, "%s %s: not a regular file", key,
		    spath);
		goto out;
	}
	if ((secret ? conf_secret_perm_problem(&st, du, why, sizeof(why)) :
	    conf_perm_problem(&st, why, sizeof(why))) != NULL) {
		conf_err(err, cpath, line, "%s %s %s", key, spath, why);
		goto out;
	}
	if ((buf = sodium_malloc(cap + 1)) == NULL) {
		conf_err(err, cpath, line, "out of memory");
		goto out;
	}
	if (read_upto(fd, buf, cap, &n) != 0) {
		conf_err(err, cpath, line, "%s %s: %s", key, spath,
		    strerror(errno));
		goto out;
	}
	if (n > CONF_OPT_FILE_MAX) {
		conf_err(err, cpath, line, "%s %s is larger than %d bytes", key,
		    spath, CONF_OPT_FILE_MAX);
		goto out;
	}
	buf[n] = '\0';
	/* success */
	*valuep = buf;
	buf = NULL;
	*lenp = n;
	ret = 0;
 out:
	sodium_free(buf);	/* wipes; NULL-safe */
	if (fd != -1)
		close(fd);
	return ret;
}
