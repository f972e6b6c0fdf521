/*
 * config_endpoint.c - the main file's [endpoint] section: the local token
 * endpoint's listeners and limits (served by httpd.c).
 *
 * The endpoint hands out tokens to whoever the kernel says is at the
 * other end (peer.c), which only means something on this host: a listen
 * address that is not loopback is refused here, with file and line,
 * rather than left to the operator's firewall.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

enum endpoint_key {
	EK_LISTEN,
	EK_MIN_LIFETIME,
	EK_MAX_CONNECTIONS,
	EK_MAX_CONNECTIONS_PER_USER,
	EK_COUNT
};

static const char *const endpoint_keys[EK_COUNT] = {
	"listen", "min_lifetime", "max_connections",
	"max_connections_per_user",
};

_Static_assert(EK_COUNT <= ENDPOINT_KEYS_MAX, "raise ENDPOINT_KEYS_MAX");

int
conf_listen_parse(const char *s, struct sockaddr_storage *ss,
    const char **why)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *colon, *h = s;
	unsigned long port;
	size_t hlen;

	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL) {
			*why = "expected [::1]:PORT";
			return -1;
		}
		h = s + 1;
		hlen = (size_t)(colon - h);
		colon++;
	} else if ((colon = strrchr(s, ':')) == NULL) {
		*why = "expected ADDRESS:PORT (127.0.0.1:PORT or [::1]:PORT)";
		return -1;
	} else
		hlen = (size_t)(colon - s);
	if (conf_parse_ulong(colon + 1, strlen(colon + 1), 1, 65535,
	    &port) != 0) {
		*why = "the port must be a number in 1..65535";
		return -1;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "expected a numeric loopback address";
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (s[0] != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
			*why = "not a loopback address (127.0.0.0/8 or ::1): "
			    "the endpoint never faces a network";
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
			*why = "not a loopback address (127.0.0.0/8 or ::1): "
			    "the endpoint never faces a network";
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	*why = "expected a numeric loopback address (127.0.0.1:PORT or "
	    "[::1]:PORT; names are not looked up)";
	return -1;
}

/* Two listen values for one address and port would fail at bind. */
static int
listen_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
	return memcmp(a, b, sizeof(struct sockaddr_in6)) == 0;
}

static int
listen_add(struct endpoint_conf *e, const char *path, const char *value,
    size_t vlen, unsigned int line, char *err)
{
	struct sockaddr_storage ss, old;
	char eb[ECHO_MAX + 4], **l;
	const char *why;
	size_t i;

	if (conf_listen_parse(value, &ss, &why) != 0) {
		conf_err(err, path, line, "listen '%s': %s", conf_echo(eb,
		    sizeof(eb), value, vlen), why);
		return -1;
	}
	if (e->nlisten == LISTEN_MAX) {
		conf_err(err, path, line, "more than %d listen lines",
		    LISTEN_MAX);
		return -1;
	}
	for (i = 0; i < e->nlisten; i++) {
		if (conf_listen_parse(e->listen[i], &old, &why) == 0 &&
		    listen_same(&ss, &old)) {
			conf_err(err, path, line, "listen '%s' given twice",
			    conf_echo(eb, sizeof(eb), value, vlen));
			return -1;
		}
	}
	if ((l = reallocarray(e->listen, e->nlisten + 2, sizeof(*l))) == NULL)
		goto nomem;
	e->listen = l;
	if ((l[e->nlisten] = strndup(value, vlen)) == NULL)
		goto nomem;
	l[++e->nlisten] = NULL;
	return 0;
 nomem:
	conf_err(err, path, line, "out of memory");
	return -1;
}

void
conf_endpoint_defaults(struct endpoint_conf *e)
{
	memset(e, 0, sizeof(*e));
	e->min_lifetime = DEFAULT_MIN_LIFETIME;
	e->max_connections = DEFAULT_HTTP_CONNS;
	e->max_connections_per_user = DEFAULT_HTTP_CONNS_USER;
}

void
conf_endpoint_free(struct endpoint_conf *e)
{
	size_t i;

	for (i = 0; i < e->nlisten; i++)
		free(e->listen[i]);
	free(e->listen);
	e->listen = NULL;
	e->nlisten = 0;
}

int
conf_endpoint_key(struct endpoint_conf *e, unsigned int *seen,
    const char *path, const char *key, const char *value, size_t vlen,
    unsigned int line, char *err)
{
	unsigned long n;
	int k;

	if ((k = conf_key_index(endpoint_keys, EK_COUNT, 1u << EK_LISTEN, seen,
	    "endpoint", path, key, value, vlen, line, err)) == -1)
		return -1;
	switch ((enum endpoint_key)k) {
	case EK_LISTEN:
		return listen_add(e, path, value, vlen, line, err);
	case EK_MIN_LIFETIME:
		if (conf_parse_ulong(value, vlen, 0, 3600, &n) != 0) {
			conf_err(err, path, line, "min_lifetime must be an "
			    "integer in 0..3600 (seconds)");
			return -1;
		}
		e->min_lifetime = (long)n;
		break;
	case EK_MAX_CONNECTIONS:
	case EK_MAX_CONNECTIONS_PER_USER:
		if (conf_parse_ulong(value, vlen, 1, 4096, &n) != 0) {
			conf_err(err, path, line, "%s must be an integer in "
			    "1..4096", key);
			return -1;
		}
		if (k == EK_MAX_CONNECTIONS)
			e->max_connections = (uint32_t)n;
		else
			e->max_connections_per_user = (uint32_t)n;
		break;
	case EK_COUNT:
		break;
	}
	return 0;
}
