/*
 * tokencachectl import-camunda FILE --name NAME [--config MAIN]
 *     [--audience LIST] [--force]
 *
 * Turns the credentials file Camunda's console hands out into a
 * configuration: the file itself, copied as NAME.camunda (0600: it holds
 * the secret), and one credential NAME.COMPONENT.conf (0644) per audience,
 * `provider = camunda`, which tokencached reads the file through
 * (config_camunda.c); then asks the daemon to reload.
 *
 * FILE is read by the same parser as the daemon's (camunda_env.c), so a
 * file it would refuse is refused here, before anything is written, with
 * the same FILE:LINE.  The main file is read by the daemon's INI reader
 * (config_ini.c) for credentials_dir and runtime_dir, so the files land
 * where the daemon looks.  Both objects are linked in by the Makefile.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "camunda_env.h"
#include "config_internal.h"
#include "ctl.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

#ifndef TC_SYSCONFDIR
#define TC_SYSCONFDIR "/usr/local/etc"
#endif
#define DEFAULT_MAIN	TC_SYSCONFDIR "/tokencache/tokencache.conf"
#define DEFAULT_CREDS	"credentials.d"	/* beside the main file */
#define CTL_RELOAD_MS	10000
#define MAIN_FILE_MAX	65536

/* The components, as CAMUNDA_CREDENTIALS_SCOPES spells them (Zeebe,
 * Operate ...) and as `audience =` does. */
static const char *const components[] = {
	"zeebe", "operate", "tasklist", "optimize", NULL
};
#define NCOMP 4

enum {
	IOPT_NAME = 300,
	IOPT_CONFIG,
	IOPT_AUDIENCE,
	IOPT_FORCE,
	IOPT_RUNTIME_DIR,
};

static const char *const import_audiences[] = {
	"zeebe", "operate", "tasklist", "optimize", NULL
};

static const struct ctl_opt import_options[] = {
	{ "name", IOPT_NAME, "NAME", 0, NULL,
	    "the stem of the files and credentials written" },
	{ "config", IOPT_CONFIG, "MAIN", 0, NULL,
	    "the daemon's main file (default " DEFAULT_MAIN ")" },
	{ "audience", IOPT_AUDIENCE, "LIST", 0, import_audiences,
	    "the components to write, comma-separated" },
	{ "force", IOPT_FORCE, NULL, 0, NULL,
	    "replace files that exist" },
	{ "runtime-dir", IOPT_RUNTIME_DIR, "DIR", 0, NULL,
	    "the daemon's runtime directory (overrides MAIN's)" },
	{ "help", 'h', NULL, 0, NULL, "print this help and exit" },
};
#define IMPORT_NOPTS (sizeof(import_options) / sizeof(import_options[0]))

const struct ctl_opt *
ctl_import_options(size_t *n)
{
	*n = IMPORT_NOPTS;
	return import_options;
}

#define IMPORT_USAGE "usage: tokencachectl [--runtime-dir DIR] " \
	"import-camunda FILE --name NAME [--config MAIN]\n" \
	"           [--audience zeebe,operate,tasklist,optimize] [--force]\n"

struct import {
	const char *file;            /* the console's file */
	const char *name;
	const char *main;            /* the main configuration file */
	const char *audiences;       /* --audience, or NULL */
	const char *dir;             /* --runtime-dir, or NULL */
	int force;
	int want[NCOMP];             /* the components to write */
	char *creds_dir;             /* from the main file */
	char *runtime_dir;           /* from the main file, or NULL */
};

static int import_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Always CTL_EXIT_USAGE.  Arguments from the command line go through
 * printable() first. */
static int
import_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vwarnx(fmt, ap);
	va_end(ap);
	fputs(IMPORT_USAGE, stderr);
	return CTL_EXIT_USAGE;
}

/* s, fit for a message, in buf (64 bytes). */
static const char *
printable(char *buf, const char *s)
{
	snprintf(buf, 64, "%s", s);
	ctl_make_printable(buf, 64);
	return buf;
}

/* Components named in list (blank- or comma-separated, any case) into
 * want[]; unknown words are refused when strict, else warned about. */
static int
pick_components(const char *list, int strict, const char *where, int *want)
{
	char word[32];
	const char *p = list, *e;
	size_t n, k;

	while (*p != '\0') {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		for (e = p; *e != '\0' && *e != ',' && *e != ' ' &&
		    *e != '\t'; e++)
			;
		n = (size_t)(e - p);
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		ctl_make_printable(word, sizeof(word));
		for (k = 0; k < NCOMP; k++) {
			if (strlen(components[k]) == n &&
			    strncasecmp(components[k], p, n) == 0)
				break;
		}
		if (k < NCOMP)
			want[k] = 1;
		else if (strict) {
			ctl_warnx("%s: unknown audience '%s' (known: zeebe, "
			    "operate, tasklist, optimize)", where, word);
			return -1;
		} else
			ctl_warnx("%s: warning: scope '%s' has no token "
			    "here, skipped", where, word);
		p = e;
	}
	return 0;
}

/* tokencached.conf's [daemon] keys that say where things are. */
struct main_parse {
	const char *path;
	char *dir;
	struct import *im;
};

static int
main_handler(void *arg, const char *section, const char *key,
    const char *value, size_t vlen, unsigned int line, char *err)
{
	struct main_parse *mp = arg;

	(void)vlen;
	if (key == NULL || strcmp(section, "daemon") != 0)
		return 0;
	if (strcmp(key, "credentials_dir") == 0) {
		free(mp->im->creds_dir);
		if ((mp->im->creds_dir = conf_path_resolve(mp->dir, value)) ==
		    NULL) {
			conf_err(err, mp->path, line, "credentials_dir: path "
			    "too long or out of memory");
			return -1;
		}
	} else if (strcmp(key, "runtime_dir") == 0) {
		free(mp->im->runtime_dir);
		if ((mp->im->runtime_dir = strdup(value)) == NULL) {
			conf_err(err, mp->path, line, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* A whole file of at most max bytes, NUL-terminated, into *bufp; the
 * caller wipes and frees it.  0, or -1 after a message. */
static int
slurp(const char *path, size_t max, char **bufp, size_t *lenp)
{
	char *buf = NULL;
	size_t n = 0;
	ssize_t r = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		ctl_warnx("%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(max + 2)) == NULL) {
		ctl_warnx("%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (n < max + 1) {
		r = read(fd, buf + n, max + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (r == -1 || n > max) {
		if (r == -1)
			ctl_warnx("%s: %s", path, strerror(errno));
		else
			ctl_warnx("%s: larger than %zu bytes", path, max);
		explicit_bzero(buf, max + 2);
		free(buf);
		close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	*bufp = buf;
	*lenp = n;
	return 0;
}

/* credentials_dir and runtime_dir of the main file. */
static int
read_main(struct import *im)
{
	struct main_parse mp;
	char *buf = NULL, err[CONF_ERR_MAX];
	size_t len = 0;
	int ret = -1;

	memset(&mp, 0, sizeof(mp));
	mp.path = im->main;
	mp.im = im;
	if ((mp.dir = conf_dir_of(im->main)) == NULL) {
		ctl_warnx("out of memory");
		return -1;
	}
	if (slurp(im->main, MAIN_FILE_MAX, &buf, &len) != 0)
		goto out;
	if (conf_ini_parse(im->main, buf, len, main_handler, &mp, err) != 0) {
		ctl_warnx("%s", err);
		goto out;
	}
	if (im->creds_dir == NULL &&
	    (im->creds_dir = conf_path_resolve(mp.dir, DEFAULT_CREDS)) ==
	    NULL) {
		ctl_warnx("%s: credentials_dir: path too long", im->main);
		goto out;
	}
	ret = 0;
 out:
	free(buf);
	free(mp.dir);
	return ret;
}

/* The console's file is one the daemon will take: parsed the same way,
 * and saying a client id, secret and token URL. */
static int
check_console(struct import *im, const struct camunda_env *env)
{
	static const enum camunda_var need[][3] = {
		{ CV_ZEEBE_CLIENT_ID, CV_CAMUNDA_CLIENT_ID, CV_COUNT },
		{ CV_ZEEBE_CLIENT_SECRET, CV_CAMUNDA_CLIENT_SECRET, CV_COUNT },
		{ CV_CAMUNDA_OAUTH_URL, CV_ZEEBE_AUTHORIZATION_SERVER_URL,
		    CV_CAMUNDA_AUTHORIZATION_SERVER_URL },
	};
	const struct camunda_env_value *scopes;
	size_t i, j, k;

	for (i = 0; i < env->nwarn; i++)
		ctl_warnx("%s:%u: warning: unknown variable %s, ignored",
		    im->file, env->warn[i].line, env->warn[i].name);
	if (env->nunknown > env->nwarn)
		ctl_warnx("%s: warning: %zu more unknown variables", im->file,
		    env->nunknown - env->nwarn);
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		for (j = 0; j < 3 && need[i][j] != CV_COUNT; j++) {
			if (env->var[need[i][j]].s != NULL &&
			    env->var[need[i][j]].len > 0)
				break;
		}
		if (j == 3 || need[i][j] == CV_COUNT) {
			ctl_warnx("%s: no %s: not a Camunda client "
			    "credentials file", im->file,
			    camunda_env_name(need[i][0]));
			return -1;
		}
	}
	if (im->audiences != NULL)
		return 0;	/* parse_import() took them */
	scopes = &env->var[CV_CAMUNDA_CREDENTIALS_SCOPES];
	if (scopes->s != NULL) {
		char where[PATH_MAX + 16];

		snprintf(where, sizeof(where), "%s:%u", im->file,
		    scopes->line);
		if (pick_components(scopes->s, 0, where, im->want) != 0)
			return -1;
		for (k = 0; k < NCOMP && !im->want[k]; k++)
			;
		if (k == NCOMP) {
			ctl_warnx("%s: CAMUNDA_CREDENTIALS_SCOPES names none "
			    "of Zeebe, Operate, Tasklist, Optimize; give "
			    "--audience", where);
			return -1;
		}
		return 0;
	}
	/* Self-Managed files say no scopes: Zeebe is what every client
	 * talks to. */
	im->want[0] = 1;
	return 0;
}

/*
 * data into dir/final, atomically: a temporary file of mode in dir
 * (".NAME.XXXXXX": no credential, whatever its end), synced, then renamed
 * over final, or, without force, linked to it (which fails if it exists).
 */
static int
write_atomic(const char *dir, const char *final, const char *data,
    size_t len, mode_t mode, int force)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	size_t off = 0;
	ssize_t r;
	int fd, ret = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, final) >=
	    sizeof(tmp) || (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    final) >= sizeof(path)) {
		ctl_warnx("%s/%s: path too long", dir, final);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		ctl_warnx("%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* Before the first byte: the secret is never readable by others. */
	if (fchmod(fd, mode) == -1) {
		ctl_warnx("%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		if ((r = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			ctl_warnx("%s: %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)r;
	}
	if (fsync(fd) == -1) {
		ctl_warnx("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (force ? rename(tmp, path) : link(tmp, path)) {
		ctl_warnx("%s: %s%s", path, strerror(errno), errno == EEXIST ?
		    " (--force replaces it)" : "");
		goto out;
	}
	ret = 0;
 out:
	close(fd);
	if (ret != 0 || !force)
		unlink(tmp);
	return ret;
}

/* The files this import writes, refused before any is if one exists. */
static int
check_free(const struct import *im)
{
	char path[PATH_MAX];
	struct stat st;
	size_t k;
	int clash = 0;

	if (im->force)
		return 0;
	snprintf(path, sizeof(path), "%s/%s.camunda", im->creds_dir,
	    im->name);
	if (lstat(path, &st) == 0) {
		ctl_warnx("%s exists (--force replaces it)", path);
		clash = 1;
	}
	for (k = 0; k < NCOMP; k++) {
		if (!im->want[k])
			continue;
		snprintf(path, sizeof(path), "%s/%s.%s.conf", im->creds_dir,
		    im->name, components[k]);
		if (lstat(path, &st) == 0) {
			ctl_warnx("%s exists (--force replaces it)", path);
			clash = 1;
		}
	}
	return clash ? -1 : 0;
}

static int
write_files(const struct import *im, const char *console, size_t len)
{
	char fname[TC_NAME_MAX + 32], body[1024];
	size_t k;
	int n;

	snprintf(fname, sizeof(fname), "%s.camunda", im->name);
	if (write_atomic(im->creds_dir, fname, console, len, 0600,
	    im->force) != 0)
		return -1;
	printf("wrote %s/%s (the console's file, mode 0600)\n", im->creds_dir,
	    fname);
	for (k = 0; k < NCOMP; k++) {
		if (!im->want[k])
			continue;
		snprintf(fname, sizeof(fname), "%s.%s.conf", im->name,
		    components[k]);
		n = snprintf(body, sizeof(body),
		    "# Written by tokencachectl import-camunda.  The client's "
		    "id, secret and\n# token URL are read from %s.camunda; "
		    "see tokencache.conf(5).\n"
		    "[credential]\nprovider = camunda\n"
		    "credentials_file = %s.camunda\naudience = %s\n",
		    im->name, im->name, components[k]);
		if (write_atomic(im->creds_dir, fname, body, (size_t)n, 0644,
		    im->force) != 0)
			return -1;
		printf("wrote %s/%s (token %s.%s, audience %s)\n",
		    im->creds_dir, fname, im->name, components[k],
		    components[k]);
	}
	return 0;
}

/* Ask the daemon to reload; none running is no failure. */
static int
reload(const struct import *im)
{
	struct proto_resp resp;
	const char *dir;
	char msg[SEG_ERROR_FIELD + 64];
	int r, err = 0;

	dir = im->dir != NULL ? im->dir : im->runtime_dir != NULL ?
	    im->runtime_dir : proto_runtime_dir();
	if ((r = ctl_daemon_call(dir, PROTO_OP_RELOAD, NULL, CTL_RELOAD_MS,
	    &resp, &err)) == TC_ENODAEMON) {
		printf("tokencached is not running (no %s/%s): it reads them "
		    "when it starts\n", dir, SEG_SOCKET_NAME);
		return CTL_EXIT_OK;
	}
	if (r != 0) {
		ctl_daemon_strerror(msg, sizeof(msg), dir, r, err);
		ctl_warnx("reload: %s", msg);
		return CTL_EXIT_FAIL;
	}
	if (resp.status != 0) {
		ctl_warnx("reload: %s", resp.message[0] != '\0' ?
		    resp.message : tc_strerror(resp.status));
		return CTL_EXIT_FAIL;
	}
	printf("%s\n", resp.message[0] != '\0' ? resp.message : "reloaded");
	return CTL_EXIT_OK;
}

/* NAME.COMPONENT must be a credential name for every component. */
static int
check_import_name(const char *name)
{
	char full[TC_NAME_MAX + 32], sb[64];

	snprintf(full, sizeof(full), "%s.optimize", name);
	if (name[0] == '\0' || strlen(name) > TC_NAME_MAX ||
	    seg_name_valid(full, strlen(full)) != 0)
		return import_usage("import-camunda: invalid --name '%s': a "
		    "name has the characters A-Z a-z 0-9 . _ ~ @ + -, does "
		    "not start with '.', and leaves room for '.optimize'",
		    printable(sb, name));
	return 0;
}

static int
parse_import(int argc, char **argv, struct import *im, int *done)
{
	struct option import_opts[IMPORT_NOPTS + 1];
	char sb[64];
	int ch;

	*done = 0;
	ctl_opt_getopt(import_options, IMPORT_NOPTS, import_opts);
	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "-:h", import_opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 1:
			if (im->file != NULL)
				return import_usage("import-camunda: "
				    "unexpected argument '%s'",
				    printable(sb, optarg));
			im->file = optarg;
			break;
		case IOPT_NAME:
			im->name = optarg;
			break;
		case IOPT_CONFIG:
			im->main = optarg;
			break;
		case IOPT_AUDIENCE:
			im->audiences = optarg;
			break;
		case IOPT_FORCE:
			im->force = 1;
			break;
		case IOPT_RUNTIME_DIR:
			if (optarg[0] == '\0')
				return import_usage("--runtime-dir must not "
				    "be empty");
			im->dir = optarg;
			break;
		case 'h':
			ctl_print_command_help(stdout, "import-camunda");
			*done = 1;
			return CTL_EXIT_OK;
		case ':':
			return import_usage("import-camunda: option %s needs "
			    "an argument", printable(sb, argv[optind - 1]));
		default:
			return import_usage("import-camunda: unknown option "
			    "%s", printable(sb, argv[optind - 1]));
		}
	}
	if (optind < argc) {
		if (im->file != NULL || optind + 1 < argc)
			return import_usage("import-camunda: unexpected "
			    "argument '%s'", printable(sb, argv[argc - 1]));
		im->file = argv[optind];
	}
	if (im->file == NULL)
		return import_usage("import-camunda: FILE is missing");
	if (im->name == NULL)
		return import_usage("import-camunda: --name is missing");
	if (im->main == NULL)
		im->main = DEFAULT_MAIN;
	if (im->audiences != NULL && (pick_components(im->audiences, 1,
	    "import-camunda: --audience", im->want) != 0 ||
	    !(im->want[0] || im->want[1] || im->want[2] || im->want[3])))
		return import_usage("import-camunda: --audience takes a "
		    "comma-separated list of zeebe, operate, tasklist and "
		    "optimize");
	return check_import_name(im->name);
}

int
cmd_import_camunda(const struct ctl_args *a)
{
	struct import im;
	struct camunda_env env;
	char *buf = NULL, msg[CAMUNDA_ENV_ERR_MAX];
	size_t len = 0;
	unsigned int line;
	int r, done;

	memset(&im, 0, sizeof(im));
	memset(&env, 0, sizeof(env));
	im.dir = a->dir;
	if ((r = parse_import(a->argc, a->argv, &im, &done)) != CTL_EXIT_OK ||
	    done)
		return r;
	r = CTL_EXIT_FAIL;
	if (slurp(im.file, CAMUNDA_ENV_FILE_MAX, &buf, &len) != 0)
		goto out;
	if (camunda_env_parse(&env, buf, len, NULL, NULL, msg, sizeof(msg),
	    &line) != 0) {
		if (line != 0)
			ctl_warnx("%s:%u: %s", im.file, line, msg);
		else
			ctl_warnx("%s: %s", im.file, msg);
		goto out;
	}
	if (check_console(&im, &env) != 0 || read_main(&im) != 0 ||
	    check_free(&im) != 0 || write_files(&im, buf, len) != 0)
		goto out;
	r = reload(&im);
	if (r == CTL_EXIT_OK)
		printf("read a token with: tokencachectl token %s.%s\n",
		    im.name, im.want[0] ? "zeebe" : im.want[1] ? "operate" :
		    im.want[2] ? "tasklist" : "optimize");
 out:
	camunda_env_free(&env);
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	free(im.creds_dir);
	free(im.runtime_dir);
	return r;
}
