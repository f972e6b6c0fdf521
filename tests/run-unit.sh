#!/bin/sh
# Run the Check unit-test programs given as arguments, JOBS at a time
# (default: one per CPU; the slow ones spend their time waiting on
# deadlines, not computing).  Each program's output is printed whole, in
# the order given, once all have ended; then a summary.  Fails if any
# failed.  Check itself prints each suite's result line.
set -u
jobs=${JOBS:-$(nproc 2>/dev/null || echo 1)}
out=$(mktemp -d "${TMPDIR:-/tmp}/tc-unit.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
trap 'exit 130' INT TERM HUP
i=0
for t in "$@"; do
	i=$((i + 1))
	printf '%s\0%s\0' "$i" "$t"
done | xargs -0 -r -n 2 -P "$jobs" sh -c '
	"$3" >"$1/$2.log" 2>&1
	echo $? >"$1/$2.rc"' sh "$out"
pass=0
fail=0
i=0
for t in "$@"; do
	i=$((i + 1))
	cat "$out/$i.log" 2>/dev/null
	if [ "$(cat "$out/$i.rc" 2>/dev/null)" = 0 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $t"
	fi
done
echo "unit test programs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
