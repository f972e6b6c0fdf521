#!/bin/sh
# packaging/rpm/tokencache.spec parses (rpmspec -P, without a word on
# stderr) and says tokencache.h's version.  Skipped, with the reason,
# where rpmspec is missing (tests/deps.sh installs rpm).
#
#   sh tests/rpmspec.sh
set -u
cd "$(dirname "$0")/.."
spec=packaging/rpm/tokencache.spec
if ! command -v rpmspec >/dev/null 2>&1; then
	echo "skip - $spec (no rpmspec here: tests/deps.sh installs rpm)"
	echo "rpmspec: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
pass=0
fail=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
if rpmspec -P "$spec" >"$out" 2>"$err" && [ ! -s "$err" ]; then
	pass=$((pass + 1))
	echo "ok   - rpmspec -P $spec"
else
	fail=$((fail + 1))
	echo "FAIL - rpmspec -P $spec"
	sed 's/^/       /' "$err"
fi
want=$(sed -n 's/^.define TC_VERSION_STRING "\(.*\)"$/\1/p' libclient/tokencache.h)
got=$(rpmspec -q --srpm --qf '%{VERSION}\n' "$spec" 2>/dev/null)
if [ -n "$want" ] && [ "$got" = "$want" ]; then
	pass=$((pass + 1))
	echo "ok   - $spec: Version $got, tokencache.h's"
else
	fail=$((fail + 1))
	echo "FAIL - $spec: Version '$got', tokencache.h says '$want'"
fi
echo "rpmspec: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
