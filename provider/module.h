/*
 * module.h - token source modules.
 *
 * A module turns a credential's configuration into a token request and the
 * reply into a tok_result.  The daemon owns scheduling, retries, the
 * segment and the event loop; a module owns only its request.  Modules that
 * speak HTTP hand the daemon a libcurl easy handle, which the daemon drives
 * on its multi handle, so no module ever blocks the loop.
 */
#ifndef TC_MODULE_H
#define TC_MODULE_H

#include <curl/curl.h>

#include "config.h"
#include "token_parse.h"

#define PROV_MODULE_ABI 1

struct prov_module {
	int abi;                 /* PROV_MODULE_ABI */
	const char *name;        /* the `provider =` value */
	/*
	 * Prepare one request for cred, whose reply finish() will judge by
	 * lim.  On success *easy is a configured handle not yet added to any
	 * multi handle and *ctx the module's state for it.  Returns 0, or -1
	 * with a message in err.
	 */
	int (*start)(const struct cred_conf *cred,
	    const struct tok_limits *lim, CURL **easy, void **ctx,
	    char *err, size_t errlen);
	/*
	 * The transfer ended with cc.  Fill *out (see tok_parse()) and, when
	 * the server asked for it, *retry_after in seconds (else 0).  now is
	 * our wall clock (Unix time); the only use of wall-clock time is to
	 * turn a JWT exp or an HTTP-date into seconds from now, and a module
	 * that knows the server's clock (an HTTP Date header) uses that.
	 * Whole-second clocks are read toward the safe side: a lifetime as
	 * if the clock were a second later, a Retry-After as it reads.  The
	 * daemon counts out->lifetime from when the request was sent.
	 */
	enum tok_outcome (*finish)(void *ctx, CURLcode cc, int64_t now,
	    const struct tok_limits *lim, struct tok_result *out,
	    long *http_status, long *retry_after);
	/* Free ctx and the easy handle, wiping what held secrets. */
	void (*cleanup)(void *ctx);
};

/* The module named name, or NULL. */
const struct prov_module *prov_module_find(const char *name);

extern const struct prov_module prov_oauth2;
extern const struct prov_module prov_camunda;

#endif /* TC_MODULE_H */
