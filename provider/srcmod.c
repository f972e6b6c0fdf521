/*
 * srcmod.c - token source modules in the worker.
 *
 * A credential's `provider` names a module: oauth2 is built in; any other
 * name is NAME.so in module_dir, loaded once, the first time a
 * configuration names it, and kept for the worker's life (a new version
 * of a module takes a restart, as with PAM).  Loading happens in the
 * worker, after the privilege drop, so that no module code ever runs as
 * root: the monitor only reads the files a module's options name.
 *
 * The directory and the file must be as trustworthy as the configuration
 * (conf_perm_problem: owned by root, or by whoever started a daemon that
 * is not root, and writable by nobody else), since a module runs with the
 * worker's rights and sees the secrets of its credentials.
 *
 * The tc_mod_* functions, the host's side of tokencache/module.h, are
 * exported from the executable to the modules it loads (the link's
 * --dynamic-list, provider/module.dynlist).
 */
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "config_internal.h"
#include "log.h"
#include "srcmod.h"

/* The size of ABI 1.0's struct tc_module: a module's size may not be
 * less. */
#define TC_MODULE_SIZE_1_0 \
	(offsetof(struct tc_module, end) + sizeof(void (*)(void)))

static struct srcmod builtin_oauth2 = { &srcmod_oauth2, NULL, NULL, NULL };
static struct srcmod *loaded;	/* modules loaded so far */

struct tc_mod_cred {
	const struct cred_conf *cc;
	size_t token_max;
	char *err;
	size_t errlen;
	int failed;
	crypto_generichash_state id;
	int id_used;
};

/* ---- loading ------------------------------------------------------------ */

/* A message into err; a long path may cut it, never overflow it. */
static void __attribute__((format(printf, 3, 4)))
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The module's struct, checked against the ABI this daemon speaks; NULL
 * with err naming path. */
static const struct tc_module *
module_check(void *dl, const char *path, const char *name, char *err,
    size_t errlen)
{
	const struct tc_module *m;

	if ((m = dlsym(dl, TC_MODULE_SYMBOL)) == NULL) {
		errf(err, errlen, "%s: not a tokencache module: no entry "
		    "point %s", path, TC_MODULE_SYMBOL);
		return NULL;
	}
	if (m->abi_major != TC_MODULE_ABI_MAJOR) {
		errf(err, errlen, "%s: built for module ABI %u.%u; this "
		    "tokencached speaks %d.%d", path, m->abi_major,
		    m->abi_minor, TC_MODULE_ABI_MAJOR, TC_MODULE_ABI_MINOR);
		return NULL;
	}
	if (m->size < TC_MODULE_SIZE_1_0 || m->name == NULL ||
	    m->configure == NULL || m->start == NULL || m->finish == NULL ||
	    m->end == NULL) {
		errf(err, errlen, "%s: incomplete module: it lacks %s",
		    path, m->size < TC_MODULE_SIZE_1_0 ? "members of ABI 1.0" :
		    m->name == NULL ? "a name" : m->configure == NULL ?
		    "configure" : m->start == NULL ? "start" :
		    m->finish == NULL ? "finish" : "end");
		return NULL;
	}
	if (strcmp(m->name, name) != 0) {
		errf(err, errlen, "%s: the module calls itself '%.64s', "
		    "not '%s'", path, m->name, name);
		return NULL;
	}
	return m;
}

/* dlopen's message names the file already; cut it to one line. */
static void
dl_error(char *err, size_t errlen, const char *path)
{
	const char *e = dlerror();
	char *nl;

	errf(err, errlen, "%s: cannot load: %s", path, e != NULL ? e :
	    "unknown error");
	if ((nl = strchr(err, '\n')) != NULL)
		*nl = '\0';
}

static const struct srcmod *
module_load(const char *dir, const char *name, char *err, size_t errlen)
{
	struct srcmod *sm = NULL;
	struct stat st;
	char path[PATH_MAX], why[128];
	void *dl = NULL;
	int fd = -1;

	if (snprintf(path, sizeof(path), "%s/%s.so", dir, name) >=
	    (int)sizeof(path)) {
		errf(err, errlen, "%s: module_dir too long", dir);
		return NULL;
	}
	if (stat(dir, &st) == -1) {
		errf(err, errlen, "module_dir %s: %s", dir,
		    strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode) || conf_perm_problem(&st, why,
	    sizeof(why)) != NULL) {
		errf(err, errlen, "module_dir %s: refused: %s", dir,
		    !S_ISDIR(st.st_mode) ? "not a directory" : why);
		return NULL;
	}
	/* No symbolic link: the file checked is the file loaded, since
	 * nobody but root may change the directory. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		errf(err, errlen, "%s: no such module (provider = %s): "
		    "%s", path, name, errno == ELOOP ? "a symbolic link" :
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		errf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (conf_perm_problem(&st, why, sizeof(why)) != NULL) {
		errf(err, errlen, "%s: refused: the file %s", path, why);
		goto fail;
	}
	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		dl_error(err, errlen, path);
		goto fail;
	}
	if ((sm = calloc(1, sizeof(*sm))) == NULL ||
	    (sm->path = strdup(path)) == NULL) {
		errf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if ((sm->m = module_check(dl, path, name, err, errlen)) == NULL)
		goto fail;
	sm->dl = dl;
	sm->next = loaded;
	loaded = sm;
	close(fd);
	log_info("loaded module %s (ABI %u.%u)", path, sm->m->abi_major,
	    sm->m->abi_minor);
	return sm;
 fail:
	if (sm != NULL)
		free(sm->path);
	free(sm);
	if (dl != NULL)
		dlclose(dl);
	close(fd);
	return NULL;
}

static const struct srcmod *
module_get(const char *dir, const char *name, char *err, size_t errlen)
{
	const struct srcmod *sm;

	/* camunda is oauth2 with fields the monitor took from the
	 * console's file (config_camunda.c). */
	if (conf_provider_builtin(name))
		return &builtin_oauth2;
	for (sm = loaded; sm != NULL; sm = sm->next)
		if (strcmp(sm->m->name, name) == 0)
			return sm;
	return module_load(dir, name, err, errlen);
}

/* ---- configuring credentials -------------------------------------------- */

static void
release_one(struct cred_conf *cc)
{
	if (cc->src != NULL && cc->src->m->release != NULL)
		cc->src->m->release(cc->src_state);
	cc->src = NULL;
	cc->src_state = NULL;
}

void
srcmod_release(struct daemon_conf *conf)
{
	size_t i, j;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->ncreds; i++) {
		for (j = 0; j < conf->creds[i].nsources; j++)
			release_one(&conf->creds[i].sources[j]);
		release_one(&conf->creds[i]);
	}
}

void
srcmod_conf_free(struct daemon_conf *conf)
{
	srcmod_release(conf);
	conf_free(conf);
}

static int
configure_one(struct cred_conf *cc, const char *dir, size_t token_max,
    char *err, size_t errlen)
{
	const struct srcmod *sm;
	struct tc_mod_cred mc;
	char msg[CONF_ERR_MAX];
	void *state = NULL;

	if ((sm = module_get(dir, cc->provider, msg, sizeof(msg))) == NULL) {
		errf(err, errlen, "%s: %s", cc->path, msg);
		return -1;
	}
	memset(&mc, 0, sizeof(mc));
	mc.cc = cc;
	mc.token_max = token_max;
	mc.err = err;
	mc.errlen = errlen;
	crypto_generichash_init(&mc.id, NULL, 0, sizeof(cc->src_id));
	if (sm->m->configure(&mc, &state) != 0 || mc.failed) {
		if (!mc.failed)
			errf(err, errlen, "%s: module %s refused the "
			    "credential without saying why", cc->path,
			    sm->m->name);
		if (state != NULL && sm->m->release != NULL)
			sm->m->release(state);
		sodium_memzero(&mc.id, sizeof(mc.id));
		return -1;
	}
	cc->src = sm;
	cc->src_state = state;
	cc->src_id_set = mc.id_used;
	crypto_generichash_final(&mc.id, cc->src_id, sizeof(cc->src_id));
	if (!mc.id_used)
		memset(cc->src_id, 0, sizeof(cc->src_id));
	sodium_memzero(&mc.id, sizeof(mc.id));
	return 0;
}

int
srcmod_configure(struct daemon_conf *conf, char *err, size_t errlen)
{
	struct cred_conf *cc;
	size_t i, j;

	for (i = 0; i < conf->ncreds; i++) {
		cc = &conf->creds[i];
		/* A chain's own record fetches nothing: its sources do. */
		for (j = 0; j < cc->nsources; j++)
			if (configure_one(&cc->sources[j], conf->module_dir,
			    conf->max_token_size, err, errlen) != 0)
				goto fail;
		if (cc->nsources == 0 && configure_one(cc, conf->module_dir,
		    conf->max_token_size, err, errlen) != 0)
			goto fail;
	}
	return 0;
 fail:
	srcmod_release(conf);
	return -1;
}

const struct cred_conf *
srcmod_cred_conf(const tc_mod_cred *cred)
{
	return cred->cc;
}

/* ---- requests ------------------------------------------------------------ */

int
srcmod_start(const struct cred_conf *cc, const struct tok_limits *lim,
    struct tc_mod_req *req)
{
	const struct tc_module *m = cc->src->m;
	const char *what;

	memset(req, 0, sizeof(*req));
	req->src = cc->src;
	req->state = cc->src_state;
	req->name = cc->name;
	req->timeout_ms = cc->timeout_ms;
	req->lim = *lim;
	req->now = (int64_t)time(NULL);
	req->fd = -1;
	if (m->start(req->state, req) != 0) {
		if (!req->res_set)
			tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "module %s "
			    "could not start a request", m->name);
		goto failed;
	}
	if ((req->easy == NULL) == (req->fd == -1)) {
		/* Neither or both: the module is broken; end what it began. */
		what = req->easy == NULL ? "nothing to wait for" :
		    "both a handle and a descriptor";
		m->end(req->state, req);
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "module %s started "
		    "a request with %s", m->name, what);
		goto failed;
	}
	return 0;
 failed:
	req->easy = NULL;
	req->fd = -1;
	req->src = NULL;
	return -1;
}

int
srcmod_finish(struct tc_mod_req *req, CURLcode code)
{
	const struct tc_module *m = req->src->m;
	int was_easy = req->easy != NULL;

	/* More to come keeps the request's kind: a descriptor, or (ABI
	 * 1.1) a handle for the daemon to drive next. */
	if (m->finish(req->state, req, code) == 1 && !req->res_set &&
	    (was_easy ? req->easy != NULL && req->fd == -1 :
	    req->easy == NULL && req->fd != -1))
		return 1;
	if (!req->res_set)
		tc_mod_fail(req, TC_MOD_TRANSIENT, 0, 0, "module %s gave no "
		    "result", m->name);
	return 0;
}

void
srcmod_end(struct tc_mod_req *req)
{
	if (req->src != NULL)
		req->src->m->end(req->state, req);
	req->src = NULL;
	req->state = NULL;
	req->easy = NULL;
	req->fd = -1;
	req->data = NULL;
}

/* ---- tokencache/module.h: the host's side -------------------------------- */

#define EXPORT __attribute__((visibility("default")))

EXPORT const char *
tc_mod_cred_name(const tc_mod_cred *cred)
{
	return cred->cc->name;
}

EXPORT const char *
tc_mod_cred_path(const tc_mod_cred *cred)
{
	return cred->cc->path;
}

EXPORT long
tc_mod_cred_timeout_ms(const tc_mod_cred *cred)
{
	return cred->cc->timeout_ms;
}

EXPORT size_t
tc_mod_cred_token_max(const tc_mod_cred *cred)
{
	return cred->token_max;
}

EXPORT size_t
tc_mod_opt_count(const tc_mod_cred *cred)
{
	return cred->cc->nopts;
}

static const struct cred_opt *
opt_at(const tc_mod_cred *cred, size_t i)
{
	return i < cred->cc->nopts ? &cred->cc->opts[i] : NULL;
}

EXPORT const char *
tc_mod_opt_key(const tc_mod_cred *cred, size_t i)
{
	const struct cred_opt *o = opt_at(cred, i);

	return o != NULL ? o->key : NULL;
}

EXPORT const char *
tc_mod_opt_value(const tc_mod_cred *cred, size_t i, size_t *len)
{
	const struct cred_opt *o = opt_at(cred, i);

	if (len != NULL)
		*len = o != NULL ? o->len : 0;
	return o != NULL ? o->value : NULL;
}

EXPORT unsigned int
tc_mod_opt_line(const tc_mod_cred *cred, size_t i)
{
	const struct cred_opt *o = opt_at(cred, i);

	return o != NULL ? o->line : 0;
}

EXPORT unsigned int
tc_mod_opt_flags(const tc_mod_cred *cred, size_t i)
{
	const struct cred_opt *o = opt_at(cred, i);

	return o != NULL ? o->flags : 0;
}

EXPORT const char *
tc_mod_opt_path(const tc_mod_cred *cred, size_t i)
{
	const struct cred_opt *o = opt_at(cred, i);

	return o != NULL ? o->path : NULL;
}

/* Control bytes of a module's text, as '?': it goes into logs. */
static void
mask_controls(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

EXPORT int
tc_mod_error(tc_mod_cred *cred, size_t i, const char *fmt, ...)
{
	const struct cred_opt *o = opt_at(cred, i);
	char msg[CONF_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mask_controls(msg);
	/* The first refusal is the one shown. */
	if (!cred->failed) {
		if (o != NULL)
			snprintf(cred->err, cred->errlen, "%s:%u: %s: %s",
			    cred->cc->path, o->line, o->key, msg);
		else
			snprintf(cred->err, cred->errlen, "%s: %s",
			    cred->cc->path, msg);
	}
	cred->failed = 1;
	return -1;
}

EXPORT void
tc_mod_identity(tc_mod_cred *cred, const void *data, size_t len)
{
	uint64_t n = len;

	/* Each piece with its length: ("ab", "c") is not ("a", "bc"). */
	crypto_generichash_update(&cred->id, (const void *)&n, sizeof(n));
	if (len > 0)
		crypto_generichash_update(&cred->id, data, len);
	cred->id_used = 1;
}

EXPORT const char *
tc_mod_req_cred_name(const tc_mod_req *req)
{
	return req->name;
}

EXPORT long
tc_mod_req_timeout_ms(const tc_mod_req *req)
{
	return req->timeout_ms;
}

EXPORT size_t
tc_mod_req_token_max(const tc_mod_req *req)
{
	return req->lim.token_max;
}

EXPORT void
tc_mod_req_set_data(tc_mod_req *req, void *data)
{
	req->data = data;
}

EXPORT void *
tc_mod_req_data(const tc_mod_req *req)
{
	return req->data;
}

EXPORT void
tc_mod_req_set_easy(tc_mod_req *req, CURL *easy)
{
	req->easy = easy;
}

EXPORT void
tc_mod_req_set_fd(tc_mod_req *req, int fd)
{
	req->fd = fd;
}

/* A second result replaces the first. */
static void
result_reset(tc_mod_req *req)
{
	tok_result_clear(&req->res);
	memset(&req->res, 0, sizeof(req->res));
	req->http_status = 0;
	req->retry_after = 0;
	req->res_set = 1;
}

EXPORT int
tc_mod_token(tc_mod_req *req, const char *token, size_t len,
    const char *token_type, long expires_in)
{
	if (token_type == NULL)
		token_type = "Bearer";
	result_reset(req);
	tok_accept(token != NULL ? token : "", token != NULL ? len : 0,
	    token_type, strlen(token_type), expires_in, req->now, &req->lim,
	    &req->res);
	return req->res.outcome == TOK_OK ? 0 : -1;
}

EXPORT void
tc_mod_fail(tc_mod_req *req, int kind, long http_status, long retry_after,
    const char *fmt, ...)
{
	char msg[SEG_SLOT_ERROR];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mask_controls(msg);
	result_reset(req);
	tok_seterr(&req->res, kind == TC_MOD_PERMANENT ? TOK_PERMANENT :
	    TOK_TRANSIENT, "%s", msg);
	req->http_status = http_status > 0 && http_status < 1000 ?
	    http_status : 0;
	req->retry_after = retry_after < 0 ? 0 : retry_after > 86400 ?
	    86400 : retry_after;
}

/*
 * The server's clock, from the reply's Date header (RFC 9110 §6.6.1), or
 * local_now without one.  A JWT's exp and an HTTP-date Retry-After are
 * the server's clock too: measured against its Date, they give the time
 * left whatever our own wall clock says (set wrong, or jumped), and are
 * turned into CLOCK_BOOTTIME deadlines once, here, at fetch time.
 */
static int64_t
server_now(CURL *easy, int64_t local_now)
{
	struct curl_header *h;
	time_t t;

	if (curl_easy_header(easy, "Date", 0, CURLH_HEADER, -1, &h) !=
	    CURLHE_OK || (t = curl_getdate(h->value, NULL)) <= 0)
		return local_now;
	return (int64_t)t;
}

/*
 * Retry-After in seconds (RFC 9110 §10.2.3), 0 if none or in the past.
 * libcurl measures an HTTP-date against our wall clock; we measure it
 * against the server's.  Delay-seconds are libcurl's reading.
 */
static curl_off_t
retry_after_of(CURL *easy, int64_t server)
{
	struct curl_header *h;
	curl_off_t ra = 0;
	const char *v;
	time_t date;

	if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK)
		ra = 0;
	if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) ==
	    CURLHE_OK) {
		for (v = h->value; *v == ' ' || *v == '\t'; v++)
			;
		if ((*v < '0' || *v > '9') && *v != '-' &&
		    (date = curl_getdate(v, NULL)) != -1)
			ra = (curl_off_t)((int64_t)date - server);
	}
	/* Before curl 8.12 a date in the past could come back negative. */
	return ra < 0 ? 0 : ra;
}

EXPORT int
tc_mod_token_reply(tc_mod_req *req, CURL *easy, long http_status,
    const char *body, size_t len)
{
	int64_t now = req->now;
	curl_off_t ra = 0;

	if (easy != NULL) {
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http_status);
		now = server_now(easy, (int64_t)time(NULL));
		ra = retry_after_of(easy, now);
	}
	result_reset(req);
	req->http_status = http_status;
	req->retry_after = ra > 86400 ? 86400 : (long)ra;
	/*
	 * Date, like our time(), has whole seconds: the server's clock may
	 * read up to a second more than it says.  A JWT's time left is
	 * measured from the latest it may be, so that its deadline never
	 * lands after exp; an HTTP-date Retry-After (above) from the
	 * earliest, so that the hold never ends early.  The daemon counts the
	 * lifetime from when the request was sent, before the server wrote
	 * either.
	 */
	tok_parse(body != NULL ? body : "", body != NULL ? len : 0,
	    http_status, now + 1, &req->lim, &req->res);
	return req->res.outcome == TOK_OK ? 0 : -1;
}

EXPORT void
tc_mod_log(const char *cred_name, int priority, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mask_controls(msg);
	if (cred_name == NULL)
		cred_name = "module";
	if (priority <= TC_MOD_LOG_ERR)
		log_errx("%s: %s", cred_name, msg);
	else if (priority == TC_MOD_LOG_WARNING)
		log_warnx("%s: %s", cred_name, msg);
	else if (priority == TC_MOD_LOG_INFO)
		log_info("%s: %s", cred_name, msg);
	else
		log_debug("%s: %s", cred_name, msg);
}
