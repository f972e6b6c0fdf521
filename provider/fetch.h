/*
 * fetch.h - a fetch's life (fetch.c).
 */
#ifndef TC_FETCH_H
#define TC_FETCH_H

#include <stdint.h>

#include <curl/curl.h>

struct cred;
struct daemon;

/* Start c's request (its module's start; an easy handle goes into
 * d->multi, a descriptor is polled by the loop): c is in flight, with
 * nothing planned.  A module that cannot start failed (fetch_failed's
 * backoff); libcurl refusing the handle is tried again in RETRY_BASE_MS. */
void start_fetch(struct daemon *d, struct cred *c, int64_t now);

/* libcurl finished easy with cc: the module judges the reply; a token is
 * published and its refresh planned, a failure recorded in the slot and
 * its retry planned; the endpoint's failure state and c's waiters are
 * told either way.  An easy handle that is not a credential's in flight
 * is ignored. */
void fetch_done(struct daemon *d, CURL *easy, CURLcode cc);

/* c's descriptor is readable or hung up: the module reads it, and once
 * it says the request is over, its result is judged as in fetch_done. */
void fetch_fd_ready(struct daemon *d, struct cred *c);

/* c's request in flight has run past its deadline (the credential's
 * timeout): it is ended as a transient failure.  Otherwise nothing. */
void fetch_check_deadline(struct daemon *d, struct cred *c, int64_t now);

/* Abandon c's request in flight, if any (reload, exit). */
void cred_abort_fetch(struct daemon *d, struct cred *c);

#endif /* TC_FETCH_H */
