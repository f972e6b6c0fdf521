#!/bin/sh
# The OAuth clients of tests/clients against the test OAuth server alone (no
# tokencache): both get a token, the server counts their requests, a wrong
# secret fails, and the SDK's file cache stays out of $HOME.
#
#   sh tests/clients/selftest.sh
#
# Installs the pinned npm packages of tests/clients and tests/oauth-server
# when needed (tests/npm-ci.sh), starts the server in a temporary directory
# and stops it at the end.  Last line: "selftest: N passed, N failed"; exit
# status 0 when none failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
top=$(cd "$here/../.." && pwd -P)
sh "$top/tests/npm-ci.sh" "$here" @camunda8/sdk simple-oauth2

work=$(mktemp -d "${TMPDIR:-/tmp}/tc-clients.XXXXXX")
cleanup() {
	if [ -f "$work/oauth.pid" ]; then
		kill "$(cat "$work/oauth.pid")" 2>/dev/null || :
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass=0
fail=0
ok() {
	pass=$((pass + 1))
	printf 'ok %s\n' "$*"
}
not_ok() {
	fail=$((fail + 1))
	printf 'not ok %s\n' "$*"
}

SDK_SECRET=sdk-secret-0123456789
BASIC_SECRET='basic secret+/=0123'
cat >"$work/clients.json" <<EOF
[
  {"client_id": "sdk-client", "client_secret": "$SDK_SECRET",
   "token_endpoint_auth_method": "client_secret_post"},
  {"client_id": "basic-client", "client_secret": "$BASIC_SECRET",
   "token_endpoint_auth_method": "client_secret_basic"}
]
EOF
port=$(sh "$top/tests/oauth-server/start.sh" "$work" "$work/clients.json" 600)
url=http://127.0.0.1:$port/token
mkdir "$work/home"

# run NAME COMMAND...: run a client with HOME=$work/home; its stdout in
# $work/NAME.out, stderr in $work/NAME.err, exit status in $rc.
run() {
	name=$1
	shift
	rc=0
	HOME=$work/home "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
}

# got_token NAME: the client printed a token line and an expiry about TTL ahead.
got_token() {
	[ "$rc" -eq 0 ] &&
		grep -Eq '^token .{16}\.\.\. len [0-9]+$' "$work/$1.out" &&
		grep -Eq '^expiry [0-9]+ \(.*\) in (59[0-9]|600)s$' "$work/$1.out" &&
		[ "$(wc -l <"$work/$1.out")" -eq 2 ]
}

# failed NAME: exit 1, nothing on stdout, the reason on stderr.
failed() {
	[ "$rc" -eq 1 ] && [ ! -s "$work/$1.out" ] && [ -s "$work/$1.err" ]
}

show() {
	sed 's/^/# /' "$work/$1.out" "$work/$1.err" | head -n 20
}

stats() {
	node -e '
		fetch(process.argv[1]).then((r) => r.json())
		.then((s) => console.log(JSON.stringify(s)))
		.catch((e) => { console.error(e.message); process.exit(1); });
	' "http://127.0.0.1:$port/_stats"
}

# The SDK, as a Zeebe client would be set up.
sdk() {
	run "$1" env CAMUNDA_AUTH_STRATEGY=OAUTH CAMUNDA_OAUTH_URL="$url" \
	    ZEEBE_CLIENT_ID=sdk-client ZEEBE_CLIENT_SECRET="$2" \
	    ZEEBE_TOKEN_AUDIENCE=zeebe.camunda.io node "$here/sdk-token.cjs"
}

sdk sdk "$SDK_SECRET"
if got_token sdk; then ok "sdk-token.cjs gets a token"; else not_ok "sdk-token.cjs gets a token"; show sdk; fi

run basic env OAUTH_CLIENT_SECRET="$BASIC_SECRET" node "$here/basic-token.cjs" \
    "$url" basic-client "" "http://api.test/"
if got_token basic; then ok "basic-token.cjs gets a token (argv)"; else not_ok "basic-token.cjs gets a token (argv)"; show basic; fi

run basic-env env OAUTH_TOKEN_URL="$url" OAUTH_CLIENT_ID=basic-client \
    OAUTH_CLIENT_SECRET="$BASIC_SECRET" OAUTH_AUDIENCE=zeebe.camunda.io \
    node "$here/basic-token.cjs"
if got_token basic-env; then ok "basic-token.cjs gets a token (environment)"; else not_ok "basic-token.cjs gets a token (environment)"; show basic-env; fi

s=$(stats)
want='{"token_requests":3,"token_errors":0,"by_client":{"sdk-client":1,"basic-client":2}}'
if [ "$s" = "$want" ]; then ok "the server counted 3 token requests"; else not_ok "the server counted 3 token requests: $s"; fi

if [ -z "$(ls -A "$work/home")" ]; then ok "nothing written in HOME"; else not_ok "nothing written in HOME: $(ls -A "$work/home")"; fi

# The SDK's file cache, when a directory is given: the second process takes
# the token from the file, without a request.
run cache1 env CAMUNDA_TOKEN_CACHE_DIR="$work/cache" CAMUNDA_OAUTH_URL="$url" \
    ZEEBE_CLIENT_ID=sdk-client ZEEBE_CLIENT_SECRET="$SDK_SECRET" node "$here/sdk-token.cjs"
run cache2 env CAMUNDA_TOKEN_CACHE_DIR="$work/cache" CAMUNDA_OAUTH_URL="$url" \
    ZEEBE_CLIENT_ID=sdk-client ZEEBE_CLIENT_SECRET="$SDK_SECRET" node "$here/sdk-token.cjs"
s=$(stats)
if got_token cache2 && cmp -s "$work/cache1.out" "$work/cache2.out" &&
	[ -f "$work/cache/oauth-token-sdk-client-ZEEBE.json" ] &&
	[ "$(stat -c %a "$work/cache/oauth-token-sdk-client-ZEEBE.json")" = 600 ] &&
	[ "$s" = '{"token_requests":4,"token_errors":0,"by_client":{"sdk-client":2,"basic-client":2}}' ]; then
	ok "CAMUNDA_TOKEN_CACHE_DIR: the second run reads the cached token file"
else
	not_ok "CAMUNDA_TOKEN_CACHE_DIR: the second run reads the cached token file: $s"
	show cache1
	show cache2
fi

sdk sdk-bad wrong-secret
if failed sdk-bad; then ok "sdk-token.cjs: a wrong secret is exit 1"; else not_ok "sdk-token.cjs: a wrong secret is exit 1 (rc $rc)"; show sdk-bad; fi

run basic-bad env OAUTH_CLIENT_SECRET=wrong-secret node "$here/basic-token.cjs" "$url" basic-client
if failed basic-bad; then ok "basic-token.cjs: a wrong secret is exit 1"; else not_ok "basic-token.cjs: a wrong secret is exit 1 (rc $rc)"; show basic-bad; fi

echo "selftest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
