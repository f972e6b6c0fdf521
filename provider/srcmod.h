/*
 * srcmod.h - token source modules in the worker: the built-in ones and
 * those loaded from module_dir, configuring a credential with its module,
 * and the requests modules run (tokencache/module.h is their side).
 */
#ifndef TC_SRCMOD_H
#define TC_SRCMOD_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "config.h"
#include "token_parse.h"
#include "tokencache/module.h"

/* A module: built in (path NULL) or loaded, kept for the worker's life. */
struct srcmod {
	const struct tc_module *m;
	char *path;              /* the shared object; NULL: built in */
	void *dl;
	struct srcmod *next;
};

/* What a request of a module is while it runs (tokencache/module.h). */
struct tc_mod_req {
	const struct srcmod *src;  /* the module and state it started with */
	void *state;
	const char *name;        /* the credential's */
	long timeout_ms;
	struct tok_limits lim;
	int64_t now;             /* Unix time at start, for tc_mod_token */
	CURL *easy;              /* exactly one of easy ... */
	int fd;                  /* ... and fd (-1) is set by start() */
	void *data;
	struct tok_result res;   /* the result, once res_set */
	int res_set;
	long http_status;
	long retry_after;
};

/*
 * Give every credential of conf its module (loading it from
 * conf->module_dir if it is not built in) and let the module configure
 * it: cred_conf's src, src_state and src_id.  token_max is the daemon's
 * max_token_size.  0, or -1 with a message naming the file (and line)
 * in err, and nothing configured.  Runs in the worker, never as root.
 */
int srcmod_configure(struct daemon_conf *conf, char *err, size_t errlen);

/* Release what srcmod_configure() made for conf (NULL-safe, idempotent). */
void srcmod_release(struct daemon_conf *conf);
/* srcmod_release(), then conf_free(): the worker's way to free a
 * configuration. */
void srcmod_conf_free(struct daemon_conf *conf);

/* The credential a built-in module's configure() is about: the built-in
 * sources read struct cred_conf itself rather than options. */
const struct cred_conf *srcmod_cred_conf(const tc_mod_cred *cred);

/*
 * Start a request of cc's module into req (zeroed here): 0 with
 * req->easy or req->fd set, or -1 with req->res a failure.  The request
 * keeps the module state it started with: a reload that gives the
 * credential a new one ends a loaded module's request first (reload.c);
 * the built-in oauth2 keeps nothing of its state past start().
 */
int srcmod_start(const struct cred_conf *cc, const struct tok_limits *lim,
    struct tc_mod_req *req);
/* The request progressed (see tc_module.finish): 0 over, with req->res
 * set (a transient failure if the module set none); 1 more to come. */
int srcmod_finish(struct tc_mod_req *req, CURLcode code);
/* The request is over (see tc_module.end); req->res is kept for the
 * caller, who clears it with tok_result_clear(). */
void srcmod_end(struct tc_mod_req *req);

/* The module a credential names, built in: oauth2.c. */
extern const struct tc_module srcmod_oauth2;

#endif /* TC_SRCMOD_H */
