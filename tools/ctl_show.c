/*
 * show NAME: one credential in detail.  Its state from the segment; its
 * provider, the server's last error and the recent attempts from the
 * daemon (PROTO_OP_STATUS); and, when the token is a JWT that the caller
 * may read, its claims, read through the library as `token` reads it so
 * that the daemon's access rules apply.  Never the token, its signature,
 * or its header or payload as sent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>
#include <sodium.h>

#include "ctl.h"
#include "ctl_jwt.h"
#include "seg.h"
#include "tokencache.h"

#define SHOW_KEY_WIDTH   19    /* "error_description:" and a space */
#define SHOW_ATTEMPTS    10    /* at most (the daemon keeps STATS_RING) */

/* What became of the claims. */
enum show_claims {
	CLAIMS_JWT,           /* decoded */
	CLAIMS_NOT_JWT,
	CLAIMS_ENCRYPTED,
	CLAIMS_DENIED,        /* the caller may not read the token */
	CLAIMS_NO_TOKEN,      /* no valid token to look at */
	CLAIMS_UNAVAILABLE,   /* any other failure: why says it */
};
static const char *const claims_words[] = {
	"jwt", "not_jwt", "encrypted", "denied", "no_token", "unavailable",
};

static void
show_line(const char *key, const char *value)
{
	char k[64];

	snprintf(k, sizeof(k), "%s:", key);
	printf("%-*s %s\n", SHOW_KEY_WIDTH, k, value);
}

/* A claim's line, indented under "claims:". */
static void
claim_line(const char *key, const char *value)
{
	char k[64];

	snprintf(k, sizeof(k), "  %s:", key);
	printf("%-*s %s\n", SHOW_KEY_WIDTH, k, value[0] != '\0' ? value : "-");
}

/* "2026-12-07 20:00:00 (3m05s ago)", or "-". */
static void
format_when(char *buf, size_t len, int have, int64_t t, int64_t now)
{
	char wall[32], rel[40];

	if (!have) {
		snprintf(buf, len, "-");
		return;
	}
	ctl_format_wall(wall, sizeof(wall), t);
	ctl_format_relative(rel, sizeof(rel), t, now);
	snprintf(buf, len, "%s (%s)", wall, rel);
}

/*
 * The claims of name's token.  The token stays in guarded memory and is
 * wiped as soon as it is decoded; only the claims leave this function.
 */
static enum show_claims
read_claims(const struct ctl_args *a, struct ctl_jwt_claims *cl, char *why,
    size_t whylen)
{
	tc_client *c = NULL;
	tc_token_info info;
	char *tok = NULL;
	size_t len = 0;
	int r, err = 0;
	enum show_claims ret = CLAIMS_UNAVAILABLE;

	memset(&info, 0, sizeof(info));
	why[0] = '\0';
	if (sodium_init() < 0) {
		snprintf(why, whylen, "libsodium failed to initialise");
		goto out;
	}
	errno = 0;
	if ((r = tc_open(&c, a->dir)) != 0 ||
	    (r = ctl_token_read(c, a->name, 0, &tok, &len, &info, &err)) != 0) {
		if (r == TC_EACCES)
			ret = CLAIMS_DENIED;
		else if (r == TC_ENOTOKEN || r == TC_EEXPIRED ||
		    r == TC_EFAILED)
			ret = CLAIMS_NO_TOKEN;
		else if (r == TC_ESYSTEM && err != 0)
			snprintf(why, whylen, "%s: %s", tc_strerror(r),
			    strerror(err));
		else
			snprintf(why, whylen, "%s", tc_strerror(r));
		goto out;
	}
	switch (ctl_jwt_claims(tok, len, cl)) {
	case CTL_JWT_OK:
		ret = CLAIMS_JWT;
		break;
	case CTL_JWT_NOT:
		ret = CLAIMS_NOT_JWT;
		break;
	case CTL_JWT_ENCRYPTED:
		ret = CLAIMS_ENCRYPTED;
		break;
	default:
		snprintf(why, whylen, "out of memory");
		break;
	}
 out:
	sodium_free(tok);
	sodium_memzero(&info, sizeof(info));
	tc_close(c);
	return ret;
}

/* A string member of o, or NULL. */
static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* An integer member of o into *v; 0 if there is none. */
static int
member_int(struct json_object *o, const char *key, int64_t *v)
{
	struct json_object *m;

	if (o == NULL || !json_object_object_get_ex(o, key, &m) ||
	    !json_object_is_type(m, json_type_int))
		return 0;
	*v = json_object_get_int64(m);
	return 1;
}

/* s made printable into buf, or "-" for NULL or "". */
static const char *
printable(char *buf, size_t len, const char *s)
{
	snprintf(buf, len, "%s", s != NULL && s[0] != '\0' ? s : "-");
	ctl_make_printable(buf, len);
	return buf;
}

static void
print_claims(enum show_claims st, const struct ctl_jwt_claims *cl,
    const char *why, const char *name, int64_t now)
{
	char buf[96];

	switch (st) {
	case CLAIMS_JWT:
		snprintf(buf, sizeof(buf), "JWT (alg %s)",
		    cl->alg[0] != '\0' ? cl->alg : "?");
		show_line("claims", buf);
		claim_line("iss", cl->iss);
		claim_line("sub", cl->sub);
		claim_line("aud", cl->aud);
		claim_line("scope", cl->scope);
		claim_line("azp", cl->azp);
		format_when(buf, sizeof(buf), cl->have_iat, cl->iat, now);
		claim_line("iat", buf);
		format_when(buf, sizeof(buf), cl->have_exp, cl->exp, now);
		if (cl->exp_not_integer[0] != '\0') {
			char note[sizeof(buf) + sizeof(cl->exp_not_integer) +
			    64];

			/* The daemon plans by an integer exp only. */
			snprintf(note, sizeof(note), "%s, %s: not an integer, "
			    "the daemon ignores it", buf, cl->exp_not_integer);
			claim_line("exp", note);
		} else
			claim_line("exp", buf);
		break;
	case CLAIMS_NOT_JWT:
		show_line("claims", "not a JWT");
		break;
	case CLAIMS_ENCRYPTED:
		show_line("claims", "an encrypted JWT (JWE): its claims are "
		    "sealed");
		break;
	case CLAIMS_DENIED:
		printf("%-*s not shown: this user may not read %s's token\n",
		    SHOW_KEY_WIDTH, "claims:", name);
		break;
	case CLAIMS_NO_TOKEN:
		show_line("claims", "- (no valid token)");
		break;
	default:
		printf("%-*s unavailable: %s\n", SHOW_KEY_WIDTH, "claims:", why);
		break;
	}
}

/* The attempts, oldest first, the last SHOW_ATTEMPTS of them. */
static void
print_attempts(struct json_object *cred, const char *why, int64_t now)
{
	struct json_object *arr = NULL, *at;
	char when[80], outcome[32], err[SEG_ERROR_FIELD],
	    desc[SEG_ERROR_FIELD];
	const char *e, *d;
	int64_t t = 0, status, ms;
	int have;
	size_t i, n;

	if (cred == NULL) {
		printf("%-*s unavailable: %s\n", SHOW_KEY_WIDTH, "attempts:",
		    why);
		return;
	}
	if (!json_object_object_get_ex(cred, "attempts", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0) {
		show_line("attempts", "none yet");
		return;
	}
	snprintf(when, sizeof(when), "the last %d, oldest first",
	    SHOW_ATTEMPTS);
	show_line("attempts", n > SHOW_ATTEMPTS ? when : "oldest first");
	for (i = n > SHOW_ATTEMPTS ? n - SHOW_ATTEMPTS : 0; i < n; i++) {
		at = json_object_array_get_idx(arr, i);
		if (at == NULL || !json_object_is_type(at, json_type_object))
			continue;
		have = member_int(at, "at", &t);
		format_when(when, sizeof(when), have, t, now);
		printable(outcome, sizeof(outcome), member_str(at, "outcome"));
		if (!member_int(at, "http_status", &status))
			status = 0;
		printf("  %-38s %-12s ", when, outcome);
		if (status > 0 && status < 1000)
			printf("HTTP %03d ", (int)status);
		else
			printf("%-8s ", "-");
		if (member_int(at, "latency_ms", &ms) && ms >= 0)
			printf("%6lld ms", (long long)ms);
		else
			printf("%9s", "-");
		e = member_str(at, "error");
		d = member_str(at, "error_description");
		if (e != NULL && e[0] != '\0')
			printf("  %s", printable(err, sizeof(err), e));
		if (d != NULL && d[0] != '\0')
			printf(": %s", printable(desc, sizeof(desc), d));
		putchar('\n');
	}
}

/* The slot's object with what the daemon and the token add. */
static struct json_object *
show_json(const struct seg_slot *s, struct json_object *cred,
    enum show_claims st, const struct ctl_jwt_claims *cl, int64_t now_boot,
    int64_t now_wall)
{
	struct json_object *o, *v = NULL, *claims = NULL, *lerr = NULL;
	static const char *const copied[] = {
		"provider", "token_url", "requests", "attempts",
	};
	static const char *const lerr_keys[][2] = {
		{ "at", "error_at" }, { "http_status", "error_http_status" },
		{ "error", "error" }, { "error_description", "error_description" },
	};
	size_t i;

	if ((o = ctl_slot_json(s, now_boot, now_wall)) == NULL)
		return NULL;
	/* The daemon's fields, null when it did not answer. */
	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		v = NULL;
		if (cred != NULL && json_object_object_get_ex(cred, copied[i],
		    &v))
			json_object_get(v);
		if (json_object_object_add(o, copied[i], v) != 0)
			goto nomem;
	}
	/* The server's words of the last failure beside the segment's
	 * last_error text, which stays as it was. */
	if (cred != NULL && (!json_object_object_get_ex(cred, "last_error",
	    &lerr) || !json_object_is_type(lerr, json_type_object)))
		lerr = NULL;
	for (i = 0; i < sizeof(lerr_keys) / sizeof(lerr_keys[0]); i++) {
		v = NULL;
		if (lerr != NULL && json_object_object_get_ex(lerr,
		    lerr_keys[i][0], &v))
			json_object_get(v);
		if (json_object_object_add(o, lerr_keys[i][1], v) != 0)
			goto nomem;
	}
	v = NULL;
	if (ctl_json_put(o, "claims_status",
	    json_object_new_string(claims_words[st])) != 0)
		goto nomem;
	if (st == CLAIMS_JWT) {
		if ((claims = json_object_new_object()) == NULL ||
		    ctl_json_put(claims, "alg",
		    json_object_new_string(cl->alg)) != 0 ||
		    ctl_json_put(claims, "iss",
		    json_object_new_string(cl->iss)) != 0 ||
		    ctl_json_put(claims, "sub",
		    json_object_new_string(cl->sub)) != 0 ||
		    ctl_json_put(claims, "aud",
		    json_object_new_string(cl->aud)) != 0 ||
		    ctl_json_put(claims, "scope",
		    json_object_new_string(cl->scope)) != 0 ||
		    ctl_json_put(claims, "azp",
		    json_object_new_string(cl->azp)) != 0 ||
		    (cl->have_iat ? ctl_json_put(claims, "iat",
		    json_object_new_int64(cl->iat)) :
		    json_object_object_add(claims, "iat", NULL)) != 0 ||
		    (cl->have_exp ? ctl_json_put(claims, "exp",
		    cl->exp_not_integer[0] != '\0' ?
		    json_object_new_double_s(strtod(cl->exp_not_integer,
		    NULL), cl->exp_not_integer) :
		    json_object_new_int64(cl->exp)) :
		    json_object_object_add(claims, "exp", NULL)) != 0)
			goto nomem;
	}
	if (claims == NULL ? json_object_object_add(o, "claims", NULL) != 0 :
	    ctl_json_give(o, "claims", &claims) != 0)
		goto nomem;
	return o;
 nomem:
	json_object_put(v);
	json_object_put(claims);
	json_object_put(o);
	return NULL;
}

int
cmd_show(const struct ctl_args *a)
{
	struct seg_slot s;
	struct ctl_jwt_claims cl;
	struct json_object *status = NULL, *cred = NULL, *lerr = NULL;
	enum show_claims st;
	char buf[SEG_ERROR_FIELD + 64], msg[512], why[512], cwhy[256];
	int64_t now, now_wall, t = 0;
	int r, err, have;

	if ((r = ctl_cache_lookup(&s, a->dir, a->name, &err)) != 0) {
		if (r == TC_ENOTFOUND)
			ctl_warnx("%s: %s", a->name, tc_strerror(r));
		else {
			ctl_cache_strerror(msg, sizeof(msg), a->dir, r, err);
			ctl_warnx("%s", msg);
		}
		return CTL_EXIT_FAIL;
	}
	memset(&cl, 0, sizeof(cl));
	if (ctl_status_fetch(a->dir, CTL_DOC_MS, &status, why,
	    sizeof(why)) == 0 &&
	    (cred = ctl_status_find(status, s.name)) == NULL)
		snprintf(why, sizeof(why), "tokencached does not know %s yet",
		    s.name);
	st = read_claims(a, &cl, cwhy, sizeof(cwhy));
	now = seg_boottime_ns();
	now_wall = (int64_t)time(NULL);
	if (a->json) {
		r = ctl_json_print(show_json(&s, cred, st, &cl, now, now_wall));
		goto out;
	}
	show_line("name", s.name);
	show_line("provider", printable(buf, sizeof(buf),
	    member_str(cred, "provider")));
	show_line("token_url", printable(buf, sizeof(buf),
	    member_str(cred, "token_url")));
	show_line("state", ctl_slot_state_name(&s, now));
	show_line("token_type", s.token_type[0] != '\0' ? s.token_type : "-");
	ctl_format_wall(buf, sizeof(buf), s.expires_at);
	show_line("expires_at", buf);
	ctl_format_remaining(buf, sizeof(buf), &s, now);
	show_line("expires_in", buf);
	format_when(buf, sizeof(buf), s.fetched_at != 0, s.fetched_at,
	    now_wall);
	show_line("fetched_at", buf);
	format_when(buf, sizeof(buf), s.next_refresh_at != 0,
	    s.next_refresh_at, now_wall);
	show_line("next_refresh_at", buf);
	format_when(buf, sizeof(buf), s.last_attempt_at != 0,
	    s.last_attempt_at, now_wall);
	show_line("last_attempt_at", buf);
	if (s.plan.next_boot_ns == 0)
		snprintf(buf, sizeof(buf), "-");
	else if (s.plan.next_boot_ns <= now)
		snprintf(buf, sizeof(buf), "due");
	else
		snprintf(buf, sizeof(buf), "%lld.%03lld s",
		    (long long)((s.plan.next_boot_ns - now) / NS_PER_S),
		    (long long)((s.plan.next_boot_ns - now) / NS_PER_MS % 1000));
	show_line("next_request_in", buf);
	show_line("endpoint_rate", s.plan.flags & SEG_PLAN_OVERLOADED ?
	    "cannot keep up: refreshes can come after 80 % of a lifetime "
	    "(see the log)" : "keeps up");
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)s.generation);
	show_line("generation", buf);
	snprintf(buf, sizeof(buf), "%u", (unsigned)s.failures);
	show_line("failures", buf);
	if (s.http_status != 0)
		snprintf(buf, sizeof(buf), "%u", (unsigned)s.http_status);
	else
		snprintf(buf, sizeof(buf), "-");
	show_line("http_status", buf);
	show_line("last_error", s.error[0] != '\0' ? s.error : "-");
	/* The server's own words (RFC 6749 §5.2) of the last failure. */
	if (cred != NULL && json_object_object_get_ex(cred, "last_error",
	    &lerr) && json_object_is_type(lerr, json_type_object)) {
		have = member_int(lerr, "at", &t);
		format_when(buf, sizeof(buf), have, t, now_wall);
		show_line("error_at", buf);
		show_line("error", printable(buf, sizeof(buf),
		    member_str(lerr, "error")));
		show_line("error_description", printable(buf, sizeof(buf),
		    member_str(lerr, "error_description")));
	} else if (cred != NULL) {
		show_line("error", "-");
		show_line("error_description", "-");
	} else {
		printf("%-*s unavailable: %s\n", SHOW_KEY_WIDTH, "error:", why);
	}
	print_claims(st, &cl, cwhy, s.name, now_wall);
	print_attempts(cred, why, now_wall);
	r = CTL_EXIT_OK;
 out:
	sodium_memzero(&cl, sizeof(cl));
	json_object_put(status);
	return r;
}
