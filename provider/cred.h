/*
 * cred.h - a credential's record in the daemon (cred.c).
 */
#ifndef TC_CRED_H
#define TC_CRED_H

#include <stddef.h>
#include <stdint.h>

struct cred;
struct cred_conf;
struct daemon;
struct seg_slot;

/* The running credential named name, or NULL. */
struct cred *cred_find(struct daemon *d, const char *name);

/* A new credential for cc (which must outlive it), with its endpoint, its
 * access lists resolved and its slot bound (see cred_attach in cred.c:
 * a previous daemon's valid token and plan are adopted); NULL if the
 * segment is full or out of memory.  Free with cred_free(). */
struct cred *cred_new(struct daemon *d, const struct cred_conf *cc,
    int64_t now);

/*
 * What the credentials that share a rate guard share (struct endpoint):
 * the token_url (the issuer with OIDC discovery), or for a loaded
 * module's credential, which has none,
 * "PROVIDER:NAME", its own; buf (n bytes, ENDPOINT_KEY_MAX is enough)
 * may hold it.
 */
#define ENDPOINT_KEY_MAX 160
const char *cred_endpoint_key(const struct cred_conf *cc, char *buf,
    size_t n);

/* Free c (NULL is fine); its fetch must have been aborted. */
void cred_free(struct cred *c);

/* What identifies the token cc's request yields: a keyed hash (the
 * segment's key) of the fields that make the request, into out. */
void cred_request_id(struct daemon *d, const struct cred_conf *cc,
    uint8_t out[16]);

/* 1 if the token in slot m was granted a longer lifetime than cc's
 * max_lifetime allows now. */
int outlives_max_lifetime(const struct cred_conf *cc,
    const struct seg_slot *m);

#endif /* TC_CRED_H */
