#!/bin/sh
# Install the pinned npm packages of one test directory, only when needed.
#
#   sh tests/npm-ci.sh DIR [PACKAGE...]
#
# Runs `npm ci` in DIR (which holds package.json and package-lock.json) when
# DIR/node_modules is stale: its stamp file is missing, package.json or
# package-lock.json is newer than the stamp, or one of the named PACKAGEs
# (e.g. oidc-provider, @camunda8/sdk) is missing from node_modules.  Quiet
# and fast otherwise.  Serialised with a lock directory DIR/.npm-ci.lock, as
# several test runs may start at once.  npm's output goes to stderr; exit
# status 1 when npm ci fails.  Used by tests/oauth-server/start.sh and
# tests/clients/selftest.sh.
set -eu

die() {
	printf 'npm-ci.sh: %s\n' "$*" >&2
	exit 1
}

[ $# -ge 1 ] || die "usage: npm-ci.sh DIR [PACKAGE...]"
[ -f "$1/package-lock.json" ] || die "no package-lock.json in $1"
here=$(cd "$1" && pwd -P)
shift
command -v npm >/dev/null 2>&1 || die "npm not found (run: sh tests/deps.sh)"

stamp=$here/node_modules/.tokencache-npm-ci-stamp
stale() {
	[ -f "$stamp" ] || return 0
	for p in "$@"; do
		[ -d "$here/node_modules/$p" ] || return 0
	done
	[ -n "$(find "$here/package-lock.json" "$here/package.json" -newer "$stamp" 2>/dev/null)" ]
}
stale "$@" || exit 0

lock=$here/.npm-ci.lock
n=0
until mkdir "$lock" 2>/dev/null; do
	n=$((n + 1))
	# A lock older than 10 minutes is left over from a killed run.
	if [ -n "$(find "$lock" -prune -mmin +10 2>/dev/null)" ]; then
		rmdir "$lock" 2>/dev/null || :
	fi
	[ "$n" -le 600 ] || die "timed out waiting for $lock"
	sleep 1
done
trap 'rmdir "$lock" 2>/dev/null || :' EXIT
if stale "$@"; then
	printf 'npm-ci.sh: installing npm dependencies in %s (npm ci)\n' "$here" >&2
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
		die "npm ci failed in $here"
	: >"$stamp"
fi
