/*
 * config_load.c - read tokencached's main file, then every
 * credentials_dir/NAME.conf (config_cred.c), into one struct daemon_conf.
 *
 * Both are INI files read by the reader in config_ini.c.  It is strict on
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

#include "config_internal.h"
#include "proto.h"
#include "seg.h"

#define DEFAULT_CREDS_DIR	"credentials.d"
#define DEFAULT_MAX_CREDS	128
#define DEFAULT_MAX_TOKEN	16384
#define DEFAULT_USER		TC_DAEMON_USER	/* the Makefile's TOKENCACHE_USER */
#define DEFAULT_KEY_ROTATION	86400		/* seconds */
/* Camunda SaaS blocks an address past about one request a second. */
#define DEFAULT_ENDPOINT_RATE	1		/* per second */
#define DEFAULT_ENDPOINT_BURST	2
#define DEFAULT_REFRESH_MIN	10		/* seconds */
#define DEFAULT_METRICS_INTERVAL 15		/* seconds */

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
	DK_MODULE_DIR,
	DK_METRICS_TEXTFILE,
	DK_METRICS_INTERVAL,
	DK_COUNT
};

static const char *const daemon_keys[DK_COUNT] = {
	"runtime_dir", "credentials_dir", "max_credentials", "max_token_size",
	"user", "admin_group", "key_rotation_interval", "endpoint_rate",
	"endpoint_burst", "refresh_min_interval", "module_dir",
	"metrics_textfile", "metrics_interval",
};

struct daemon_parse {
	const char *path;
	const char *dir;
	struct daemon_conf *c;
	unsigned int seen[DK_COUNT];
	unsigned int endpoint_seen[ENDPOINT_KEYS_MAX];
	unsigned int section_line[2];  /* of [daemon], [endpoint] */
	int in_endpoint;
};

static int
daemon_section(struct daemon_parse *dp, const char *section,
    unsigned int line, char *err)
{
	static const char *const sections[2] = { "daemon", "endpoint" };
	int i;

	for (i = 0; i < 2; i++)
		if (strcmp(section, sections[i]) == 0)
			break;
	if (i == 2) {
		conf_err(err, dp->path, line, "unknown section [%s] "
		    "(expected [daemon] or [endpoint])", section);
		return -1;
	}
	if (dp->section_line[i] != 0) {
		conf_err(err, dp->path, line, "section [%s] given twice "
		    "(first on line %u)", section, dp->section_line[i]);
		return -1;
	}
	dp->section_line[i] = line;
	dp->in_endpoint = i == 1;
	if (dp->in_endpoint)
		dp->c->endpoint.on = 1;
	return 0;
}

static int
runtime_dir_check(struct daemon_parse *dp, const char *value, size_t vlen,
    unsigned int line, char *err)
{
	size_t max;

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
	return 0;
}

/* Names as useradd(8) allows them; resolved by the daemon. */
static int
user_name_check(struct daemon_parse *dp, const char *key, const char *value,
    size_t vlen, unsigned int line, char *err)
{
	size_t i;

	for (i = 0; i < vlen; i++) {
		if (!is_name_char(value[i]) || value[i] == '~' ||
		    value[i] == '+' || value[i] == '@') {
			conf_err(err, dp->path, line, "%s: not a valid "
			    "user or group name", key);
			return -1;
		}
	}
	return 0;
}

/* Store key k's value, checked: one case per [daemon] key (which is why it
 * runs over 80 lines; the credential keys have a table, config_cred.c). */
static int
daemon_key(struct daemon_parse *dp, size_t k, const char *key,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	struct daemon_conf *c = dp->c;
	unsigned long n;

	switch ((enum daemon_key)k) {
	case DK_RUNTIME_DIR:
		if (runtime_dir_check(dp, value, vlen, line, err) != 0)
			return -1;
		if ((c->runtime_dir = strndup(value, vlen)) == NULL)
			goto nomem;
		break;
	case DK_CREDENTIALS_DIR:
		if ((c->credentials_dir = conf_path_resolve(dp->dir,
		    value)) == NULL) {
			conf_err(err, dp->path, line, "credentials_dir: path "
			    "too long or out of memory");
			return -1;
		}
		break;
	case DK_MAX_CREDENTIALS:
		if (conf_parse_ulong(value, vlen, 1, 65536, &n) != 0) {
			conf_err(err, dp->path, line, "max_credentials must "
			    "be an integer in 1..65536");
			return -1;
		}
		c->max_credentials = (uint32_t)n;
		break;
	case DK_MAX_TOKEN_SIZE:
		if (conf_parse_ulong(value, vlen, SEG_TOKEN_MIN, SEG_TOKEN_MAX,
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
		if (user_name_check(dp, key, value, vlen, line, err) != 0)
			return -1;
		if (k == DK_USER) {
			free(c->user);
			if ((c->user = strndup(value, vlen)) == NULL)
				goto nomem;
		} else if ((c->admin_group = strndup(value, vlen)) == NULL)
			goto nomem;
		break;
	case DK_KEY_ROTATION_INTERVAL:
		if (conf_parse_ulong(value, vlen, 0, 31536000, &n) != 0 ||
		    (n != 0 && n < 60)) {
			conf_err(err, dp->path, line, "key_rotation_interval "
			    "must be 0 (never) or 60..31536000 (seconds)");
			return -1;
		}
		c->key_rotation_interval = (long)n;
		break;
	case DK_ENDPOINT_RATE:
	case DK_ENDPOINT_BURST:
		if (conf_parse_ulong(value, vlen, 1, 1000, &n) != 0) {
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
		if (conf_parse_ulong(value, vlen, 0, 86400, &n) != 0) {
			conf_err(err, dp->path, line, "refresh_min_interval "
			    "must be 0 (none) or up to 86400 (seconds)");
			return -1;
		}
		c->refresh_min_interval = (long)n;
		break;
	case DK_MODULE_DIR:
		/* Absolute: the worker, in "/", opens modules from it. */
		if (value[0] != '/') {
			conf_err(err, dp->path, line, "module_dir must be an "
			    "absolute path");
			return -1;
		}
		if ((c->module_dir = strndup(value, vlen)) == NULL)
			goto nomem;
		break;
	case DK_METRICS_TEXTFILE:
		/* Absolute, as the worker runs in "/"; room for the
		 * ".tmp.PID" it writes first. */
		if (value[0] != '/' || value[vlen - 1] == '/' ||
		    vlen + 32 >= PATH_MAX) {
			conf_err(err, dp->path, line, "metrics_textfile must "
			    "be an absolute path to a file, shorter than %d "
			    "bytes", PATH_MAX - 32);
			return -1;
		}
		if ((c->metrics_textfile = strndup(value, vlen)) == NULL)
			goto nomem;
		break;
	case DK_METRICS_INTERVAL:
		if (conf_parse_ulong(value, vlen, 1, 86400, &n) != 0) {
			conf_err(err, dp->path, line, "metrics_interval must "
			    "be an integer in 1..86400 (seconds)");
			return -1;
		}
		c->metrics_interval = (long)n;
		break;
	case DK_COUNT:
		break;
	}
	return 0;
 nomem:
	conf_err(err, dp->path, line, "out of memory");
	return -1;
}

static int
daemon_handler(void *arg, const char *section, const char *key,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	struct daemon_parse *dp = arg;
	int k;

	if (key == NULL)
		return daemon_section(dp, section, line, err);
	if (dp->in_endpoint)
		return conf_endpoint_key(&dp->c->endpoint, dp->endpoint_seen,
		    dp->path, key, value, vlen, line, err);
	if ((k = conf_key_index(daemon_keys, DK_COUNT, 0, dp->seen, "daemon",
	    dp->path, key, value, vlen, line, err)) == -1)
		return -1;
	return daemon_key(dp, (size_t)k, key, value, vlen, line, err);
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
 * The credentials directory, opened and checked: 0 with *dp (NULL if it
 * does not exist), or -1 with err.
 */
static int
creds_dir_open(const char *dir, DIR **dp, char *err)
{
	struct stat st;
	char why[128];
	int fd;

	*dp = NULL;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		conf_err(err, dir, 0, "cannot open directory: %s",
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		conf_err(err, dir, 0, "cannot stat: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (conf_perm_problem(&st, why, sizeof(why)) != NULL) {
		conf_err(err, dir, 0, "refused: the directory %s", why);
		close(fd);
		return -1;
	}
	if ((*dp = fdopendir(fd)) == NULL) {
		conf_err(err, dir, 0, "cannot open directory: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

/*
 * The "NAME.conf" files of d (the directory dir), at most
 * c->max_credentials, into *namesp (*np of them, unsorted; the caller
 * frees them, also on failure).  0, or -1 with err.
 */
static int
creds_dir_list(const struct daemon_conf *c, const char *dir, DIR *d,
    char ***namesp, size_t *np, char *err)
{
	char **nn, *path, eb[ECHO_MAX + 4];
	size_t cap = 0, nlen;
	struct dirent *de;
	struct stat st;

	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				conf_err(err, dir, 0, "readdir: %s",
				    strerror(errno));
				return -1;
			}
			return 0;
		}
		/* Editors' and package managers' leftovers start with '.'
		 * or end otherwise (.conf~, .conf.dpkg-old). */
		nlen = strlen(de->d_name);
		if (de->d_name[0] == '.' || nlen <= 5 ||
		    strcmp(de->d_name + nlen - 5, ".conf") != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == -1) {
			conf_err(err, dir, 0, "%s: %s", conf_echo(eb,
			    sizeof(eb), de->d_name, nlen), strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (seg_name_valid(de->d_name, nlen - 5) != 0) {
			path = conf_path_resolve(dir, de->d_name);
			conf_err(err, path != NULL ? path : dir, 0,
			    "invalid credential name '%s' (allowed: A-Z a-z "
			    "0-9 . _ ~ @ + -, 1..%d bytes, not starting with "
			    "'.')", conf_echo(eb, sizeof(eb), de->d_name,
			    nlen - 5), SEG_NAME_FIELD - 1);
			free(path);
			return -1;
		}
		if (*np >= c->max_credentials) {
			conf_err(err, dir, 0, "more than max_credentials (%u) "
			    "credential files", c->max_credentials);
			return -1;
		}
		if (*np == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nn = reallocarray(*namesp, cap,
			    sizeof(**namesp))) == NULL)
				goto nomem;
			*namesp = nn;
		}
		if (((*namesp)[*np] = strndup(de->d_name, nlen)) == NULL)
			goto nomem;
		(*np)++;
	}
 nomem:
	conf_err(err, dir, 0, "out of memory");
	return -1;
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
	char **names = NULL, *path = NULL;
	/* Secret files may also belong to the user the worker runs as. */
	struct daemon_user du = { c->user, 0, (uid_t)-1 };
	size_t n = 0, i;
	DIR *d = NULL;
	int ret = -1;

	if (creds_dir_open(dir, &d, err) != 0 ||
	    (d != NULL && creds_dir_list(c, dir, d, &names, &n, err) != 0))
		goto out;
	if (n == 0) {
		ret = 0;
		goto out;
	}
	qsort(names, n, sizeof(*names), cmp_conf_file);
	if ((c->creds = calloc(n, sizeof(*c->creds))) == NULL) {
		conf_err(err, dir, 0, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		free(path);
		if ((path = conf_path_resolve(dir, names[i])) == NULL) {
			conf_err(err, dir, 0, "path too long or out of memory");
			goto out;
		}
		/* names[i] ends in ".conf": cut it to get the name */
		names[i][strlen(names[i]) - 5] = '\0';
		if (conf_cred_load(path, names[i], &du, &c->creds[i],
		    err) != 0)
			goto out;
		c->ncreds++;
	}
	ret = 0;
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
	    (c->path = strdup(path)) == NULL ||
	    (dir = conf_dir_of(path)) == NULL)
		goto nomem;
	c->max_credentials = DEFAULT_MAX_CREDS;
	c->max_token_size = DEFAULT_MAX_TOKEN;
	c->key_rotation_interval = DEFAULT_KEY_ROTATION;
	c->endpoint_rate = DEFAULT_ENDPOINT_RATE;
	c->endpoint_burst = DEFAULT_ENDPOINT_BURST;
	c->refresh_min_interval = DEFAULT_REFRESH_MIN;
	c->metrics_interval = DEFAULT_METRICS_INTERVAL;
	conf_endpoint_defaults(&c->endpoint);
	if ((c->user = strdup(DEFAULT_USER)) == NULL)
		goto nomem;
	dp.path = path;
	dp.dir = dir;
	dp.c = c;

	if (conf_read_file(path, &buf, &len, &st, err) != 0)
		goto out;
	if (conf_ini_parse(path, buf, len, daemon_handler, &dp, err) != 0)
		goto out;
	if (c->runtime_dir == NULL &&
	    (c->runtime_dir = strdup(PROTO_RUNTIME_DIR)) == NULL)
		goto nomem;
	if (c->credentials_dir == NULL &&
	    (c->credentials_dir = conf_path_resolve(dir,
	    DEFAULT_CREDS_DIR)) == NULL) {
		conf_err(err, path, 0, "credentials_dir: path too long or out of memory");
		goto out;
	}
	if (c->module_dir == NULL &&
	    (c->module_dir = strdup(TC_MODULE_DIR)) == NULL)
		goto nomem;
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
	free(c->module_dir);
	free(c->metrics_textfile);
	conf_endpoint_free(&c->endpoint);
	free(c);
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
