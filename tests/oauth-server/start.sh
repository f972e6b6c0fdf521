#!/bin/sh
# Start the local OAuth test server (server.js) in the background.
#
#   sh tests/oauth-server/start.sh DIR CLIENTS_JSON [TTL]
#
# Installs the pinned npm dependencies first when node_modules is missing or
# older than package-lock.json (tests/npm-ci.sh: npm ci), then runs
#   node server.js --port 0 --clients CLIENTS_JSON --ttl TTL
# with its pid in DIR/oauth.pid, stderr in DIR/oauth.log, stdout in
# DIR/oauth.out, waits up to OAUTH_START_TIMEOUT seconds (default 20) for its
# "listening PORT" line and prints PORT on stdout (also kept in
# DIR/oauth.port).  The server listens on 127.0.0.1 only; its issuer is
# http://127.0.0.1:PORT and its token endpoint http://127.0.0.1:PORT/token.
# Extra server options (e.g. --lenient-auth) may be given in
# OAUTH_SERVER_ARGS.  Stop it with: kill "$(cat DIR/oauth.pid)".
set -eu

die() {
	printf 'oauth-server/start.sh: %s\n' "$*" >&2
	exit 1
}

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	die "usage: start.sh DIR CLIENTS_JSON [TTL]"
fi
dir=$1
clients=$2
ttl=${3:-3600}
timeout=${OAUTH_START_TIMEOUT:-20}

case $ttl in '' | *[!0-9]*) die "TTL must be a positive integer, got '$ttl'" ;; esac
[ -d "$dir" ] || die "no such directory: $dir"
[ -r "$clients" ] || die "cannot read clients file: $clients"

command -v node >/dev/null 2>&1 || die "node not found (run: sh tests/deps.sh)"
command -v npm >/dev/null 2>&1 || die "npm not found (run: sh tests/deps.sh)"

here=$(cd "$(dirname "$0")" && pwd -P)
dir=$(cd "$dir" && pwd -P)
case $clients in /*) ;; *) clients=$(pwd -P)/$clients ;; esac

if [ -f "$dir/oauth.pid" ]; then
	old=$(cat "$dir/oauth.pid")
	if kill -0 "$old" 2>/dev/null && grep -q server.js "/proc/$old/cmdline" 2>/dev/null; then
		die "a server is already running from $dir (pid $old)"
	fi
fi

# npm ci when node_modules is missing or older than package-lock.json.
sh "$here/../npm-ci.sh" "$here" oidc-provider || die "cannot install the npm packages of $here"

rm -f "$dir/oauth.pid" "$dir/oauth.port" "$dir/oauth.out"
: >"$dir/oauth.out"
# OAUTH_SERVER_ARGS is split into words on purpose.
# shellcheck disable=SC2086
node "$here/server.js" --port 0 --clients "$clients" --ttl "$ttl" \
	${OAUTH_SERVER_ARGS:-} </dev/null >"$dir/oauth.out" 2>"$dir/oauth.log" &
pid=$!
echo "$pid" >"$dir/oauth.pid"

# Wait for "listening PORT", in tenths of a second.
i=0
limit=$((timeout * 10))
port=
while :; do
	line=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$dir/oauth.out")
	if [ -n "$line" ]; then
		port=$line
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		rm -f "$dir/oauth.pid"
		printf 'oauth-server/start.sh: server exited before listening; %s says:\n' "$dir/oauth.log" >&2
		tail -n 20 "$dir/oauth.log" >&2
		exit 1
	fi
	i=$((i + 1))
	if [ "$i" -gt "$limit" ]; then
		kill "$pid" 2>/dev/null || :
		rm -f "$dir/oauth.pid"
		printf 'oauth-server/start.sh: server did not come up within %ss; %s says:\n' "$timeout" "$dir/oauth.log" >&2
		tail -n 20 "$dir/oauth.log" >&2
		exit 1
	fi
	sleep 0.1
done

echo "$port" >"$dir/oauth.port"
echo "$port"
