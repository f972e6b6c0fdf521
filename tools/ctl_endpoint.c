/*
 * The local token endpoint, seen from the tool: `endpoint` (where it
 * listens, what it answered) and `env` (the environment that points a
 * Camunda client at it, ready for a systemd EnvironmentFile=).
 */
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

#define CTL_ENDPOINT_MS  5000
#define TOKEN_PATH       "/oauth/token"

/* The clients `env --for` knows, as bits of env_vars[].clients. */
const char *const ctl_env_clients[] = {
	"camunda-java", "camunda-js", "zeebe-node", "go", "pyzeebe", NULL
};
#define C_JAVA   0x01u
#define C_JS     0x02u
#define C_NODE   0x04u
#define C_GO     0x08u
#define C_PY     0x10u

enum env_value { EV_URL, EV_ID, EV_SECRET, EV_AUDIENCE, EV_SCOPE, EV_FIXED };

/*
 * What each client reads (tokencache's REFERENCES; their sources and
 * documentation), a row per variable, each printed once.  The secret is
 * never compared by the endpoint, but the clients insist on one.
 */
static const struct env_var {
	const char *name;
	unsigned int clients;
	enum env_value value;
	const char *fixed;
} env_vars[] = {
	{ "CAMUNDA_AUTHORIZATION_SERVER_URL", C_JAVA, EV_URL, NULL },
	{ "CAMUNDA_CLIENT_ID", C_JAVA | C_PY, EV_ID, NULL },
	{ "CAMUNDA_CLIENT_SECRET", C_JAVA | C_PY, EV_SECRET, NULL },
	{ "CAMUNDA_TOKEN_AUDIENCE", C_JAVA | C_PY, EV_AUDIENCE, NULL },
	{ "CAMUNDA_TOKEN_SCOPE", C_JAVA | C_JS, EV_SCOPE, NULL },
	{ "CAMUNDA_AUTH_STRATEGY", C_JS, EV_FIXED, "OAUTH" },
	{ "CAMUNDA_OAUTH_URL", C_JS | C_PY, EV_URL, NULL },
	/* The endpoint is the cache: the SDK need not write its own. */
	{ "CAMUNDA_TOKEN_DISK_CACHE_DISABLE", C_JS, EV_FIXED, "true" },
	{ "ZEEBE_AUTHORIZATION_SERVER_URL", C_NODE | C_GO, EV_URL, NULL },
	{ "ZEEBE_CLIENT_ID", C_JS | C_NODE | C_GO, EV_ID, NULL },
	{ "ZEEBE_CLIENT_SECRET", C_JS | C_NODE | C_GO, EV_SECRET, NULL },
	{ "ZEEBE_TOKEN_AUDIENCE", C_JS | C_NODE | C_GO, EV_AUDIENCE, NULL },
	{ "ZEEBE_TOKEN_SCOPE", C_GO, EV_SCOPE, NULL },
	/* oauthlib refuses http:// otherwise; the endpoint is loopback. */
	{ "OAUTHLIB_INSECURE_TRANSPORT", C_PY, EV_FIXED, "1" },
};

#define ENV_SECRET "unused"

/* The value of key in a daemon's "key<sep>value" lines, into out; the
 * index-th such line (0: the first).  0, or -1 if there is none. */
static int
line_value(const char *msg, const char *key, char sep, int index, char *out,
    size_t n)
{
	size_t klen = strlen(key), vlen;
	const char *p = msg, *e;

	for (; *p != '\0'; p = *e == '\n' ? e + 1 : e) {
		e = p + strcspn(p, "\n");
		if ((size_t)(e - p) <= klen || strncmp(p, key, klen) != 0 ||
		    p[klen] != sep || index-- > 0)
			continue;
		vlen = (size_t)(e - p) - klen - 1;
		if (vlen >= n)
			vlen = n - 1;
		memcpy(out, p + klen + 1, vlen);
		out[vlen] = '\0';
		ctl_make_printable(out, n);
		return 0;
	}
	return -1;
}

static long long
line_number(const char *msg, const char *key)
{
	char v[32];

	return line_value(msg, key, ' ', 0, v, sizeof(v)) == 0 ?
	    strtoll(v, NULL, 10) : -1;
}

/* The daemon's answer to op (name: NULL or a credential), in resp; a
 * failure said, and CTL_EXIT_FAIL returned. */
static int
endpoint_call(const struct ctl_args *a, const char *what, int op,
    const char *name, struct proto_resp *resp)
{
	char msg[SEG_ERROR_FIELD + 64];
	int r, err = 0;

	if ((r = ctl_daemon_call_text(a->dir, op, name, CTL_ENDPOINT_MS, resp,
	    &err)) != 0) {
		ctl_daemon_strerror(msg, sizeof(msg), a->dir, r, err);
		ctl_warnx("%s: %s", what, msg);
		return CTL_EXIT_FAIL;
	}
	if (resp->status != 0) {
		ctl_warnx("%s: %s", what, resp->message[0] != '\0' ?
		    resp->message : tc_strerror(resp->status));
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

static const char *const reply_kinds[] = {
	"token", "other_ok", "bad_request", "denied", "rate_limited",
	"unavailable", NULL
};

static int
endpoint_json(const char *m)
{
	struct json_object *o = json_object_new_object(), *l, *c;
	char v[128];
	int i;

	l = json_object_new_array();
	c = json_object_new_object();
	if (o == NULL || l == NULL || c == NULL) {
		json_object_put(o);
		json_object_put(l);
		json_object_put(c);
		ctl_warnx("endpoint: out of memory");
		return CTL_EXIT_FAIL;
	}
	ctl_json_put(o, "on", json_object_new_boolean(strcmp(m, "off\n") !=
	    0));
	if (line_value(m, "socket", ' ', 0, v, sizeof(v)) == 0)
		ctl_json_put(o, "socket", json_object_new_string(v));
	for (i = 0; line_value(m, "listen", ' ', i, v, sizeof(v)) == 0; i++)
		json_object_array_add(l, json_object_new_string(v));
	ctl_json_give(o, "listen", &l);
	if (line_number(m, "min_lifetime") >= 0)
		ctl_json_put(o, "min_lifetime",
		    json_object_new_int64(line_number(m, "min_lifetime")));
	if (line_number(m, "connections") >= 0)
		ctl_json_put(o, "connections",
		    json_object_new_int64(line_number(m, "connections")));
	for (i = 0; reply_kinds[i] != NULL; i++)
		if (line_number(m, reply_kinds[i]) >= 0)
			ctl_json_put(c, reply_kinds[i], json_object_new_int64(
			    line_number(m, reply_kinds[i])));
	ctl_json_give(o, "replies", &c);
	return ctl_json_print(o);
}

int
cmd_endpoint(const struct ctl_args *a)
{
	struct proto_resp resp;
	char v[128];
	int i, r;

	if ((r = endpoint_call(a, "endpoint", PROTO_OP_ENDPOINT, NULL,
	    &resp)) != CTL_EXIT_OK)
		return r;
	if (a->json)
		return endpoint_json(resp.message);
	if (strcmp(resp.message, "off\n") == 0) {
		printf("endpoint:     off (no [endpoint] section in "
		    "tokencache.conf)\n");
		return CTL_EXIT_OK;
	}
	printf("endpoint:     on\n");
	if (line_value(resp.message, "socket", ' ', 0, v, sizeof(v)) == 0)
		printf("socket:       %s\n", v);
	for (i = 0; line_value(resp.message, "listen", ' ', i, v,
	    sizeof(v)) == 0; i++)
		printf("%-13s http://%s%s\n", i == 0 ? "listen:" : "", v,
		    TOKEN_PATH);
	if (i == 0)
		printf("listen:       none over TCP (add listen = "
		    "127.0.0.1:PORT to [endpoint])\n");
	printf("min_lifetime: %lld s\n", line_number(resp.message,
	    "min_lifetime"));
	printf("connections:  %lld\n", line_number(resp.message,
	    "connections"));
	printf("replies:     ");
	for (i = 0; reply_kinds[i] != NULL; i++)
		printf(" %s %lld%s", reply_kinds[i], line_number(resp.message,
		    reply_kinds[i]), reply_kinds[i + 1] != NULL ? "," : "\n");
	return CTL_EXIT_OK;
}

/* v as one value of an EnvironmentFile= (and of a shell's `.`): bare if
 * it is plain, else single-quoted; values are printable ASCII without
 * quotes (client ids, audiences and scopes are RFC 6749 VSCHARs, but a
 * quote is refused here rather than escaped two ways). */
static int
print_env(const char *name, const char *v)
{
	size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789._:/@%+=,-[]");

	if (v[n] == '\0') {
		printf("%s=%s\n", name, v);
		return 0;
	}
	if (strchr(v, '\'') != NULL || strchr(v, '"') != NULL ||
	    strchr(v, '\\') != NULL) {
		ctl_warnx("env: %s: the value holds a quote or a backslash; "
		    "set it by hand", name);
		return -1;
	}
	printf("%s='%s'\n", name, v);
	return 0;
}

static unsigned int
client_bits(const char *want)
{
	size_t i;

	if (want == NULL)
		return ~0u;
	for (i = 0; ctl_env_clients[i] != NULL; i++)
		if (strcmp(want, ctl_env_clients[i]) == 0)
			return 1u << i;
	return 0;
}

int
cmd_env(const struct ctl_args *a)
{
	struct proto_resp ep, cl;
	char url[256], addr[128], id[SEG_ERROR_FIELD], aud[SEG_ERROR_FIELD];
	char scope[SEG_ERROR_FIELD], v_req[16];
	unsigned int bits = client_bits(a->for_client);
	const char *v;
	size_t i;
	int r, bad = 0, secret;

	if (bits == 0) {
		char known[128], shown[64];
		size_t k = 0;

		known[0] = '\0';
		for (i = 0; ctl_env_clients[i] != NULL && k < sizeof(known);
		    i++)
			k += (size_t)snprintf(known + k, sizeof(known) - k,
			    "%s%s", i > 0 ? ", " : "", ctl_env_clients[i]);
		snprintf(shown, sizeof(shown), "%s", a->for_client);
		ctl_make_printable(shown, sizeof(shown));
		ctl_warnx("env: --for %s: not a client tokencachectl knows "
		    "(%s)", shown, known);
		return CTL_EXIT_USAGE;
	}
	if ((r = endpoint_call(a, "env", PROTO_OP_ENDPOINT, NULL, &ep)) !=
	    CTL_EXIT_OK ||
	    (r = endpoint_call(a, "env", PROTO_OP_CLIENT, a->name, &cl)) !=
	    CTL_EXIT_OK)
		return r;
	if (strcmp(ep.message, "off\n") == 0) {
		ctl_warnx("env: the local token endpoint is off: add an "
		    "[endpoint] section with listen = 127.0.0.1:PORT to "
		    "tokencache.conf (tokencache.conf(5))");
		return CTL_EXIT_FAIL;
	}
	if (line_value(ep.message, "listen", ' ', 0, addr, sizeof(addr)) != 0) {
		ctl_warnx("env: the endpoint listens on no TCP address, which "
		    "these clients need: add listen = 127.0.0.1:PORT to "
		    "[endpoint]");
		return CTL_EXIT_FAIL;
	}
	snprintf(url, sizeof(url), "http://%s%s", addr, TOKEN_PATH);
	if (line_value(cl.message, "client_id", '\t', 0, id, sizeof(id)) != 0)
		id[0] = '\0';
	if (line_value(cl.message, "audience", '\t', 0, aud, sizeof(aud)) != 0)
		aud[0] = '\0';
	if (line_value(cl.message, "scope", '\t', 0, scope,
	    sizeof(scope)) != 0)
		scope[0] = '\0';
	secret = line_value(cl.message, "secret", '\t', 0, v_req,
	    sizeof(v_req)) == 0;
	printf("# %s through tokencached's local token endpoint "
	    "(tokencachectl env)\n", a->name);
	if (secret)
		printf("# Its endpoint_secret_file's secret is the client "
		    "secret: add the client's secret variable yourself.\n");
	else
		printf("# The client secret is not checked: any value "
		    "does.\n");
	for (i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++) {
		const struct env_var *e = &env_vars[i];

		if (!(e->clients & bits) || (secret && e->value == EV_SECRET))
			continue;
		switch (e->value) {
		case EV_URL: v = url; break;
		case EV_ID: v = id; break;
		case EV_SECRET: v = ENV_SECRET; break;
		case EV_AUDIENCE: v = aud; break;
		case EV_SCOPE: v = scope; break;
		default: v = e->fixed; break;
		}
		if (v[0] != '\0' && print_env(e->name, v) != 0)
			bad = 1;
	}
	return bad ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
