/*
 * url.h - a token endpoint's URL as it may be shown (url.c).
 */
#ifndef TC_URL_H
#define TC_URL_H

#include <stddef.h>

/* url without userinfo, query or fragment into out (size n); -1 if url
 * is not scheme://authority... or does not fit. */
int url_strip(const char *url, char *out, size_t n);

/* url_strip(url), or for what is no such URL (or does not fit) the text
 * before any '?' or '#', cut to fit: always a NUL-terminated out. */
void url_public(const char *url, char *out, size_t n);

#endif /* TC_URL_H */
