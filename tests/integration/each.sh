#!/usr/bin/env bash
# each.sh - run every integration scenario alone, one after another
# (ONLY='^name$' bash run.sh), to show that none needs another's state.
# Slow (about 8 minutes here); hold /tmp/tc-integration.lock while it runs:
#
#   flock /tmp/tc-integration.lock bash tests/integration/each.sh
#
# B is the build directory (default build/); EACH=REGEX only the scenarios
# whose name matches.  Ends with
#   each alone: N passed, N failed
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export B=${B:-$TOP/build}
ok=0 bad=0 failed=
for n in $(awk '$1 == "tc_scenario" { print $2 }' "$TOP"/tests/integration/*.sh); do
	[[ $n =~ ${EACH:-.} ]] || continue
	out=$(ONLY="^$n\$" bash "$TOP/tests/integration/run.sh" 2>&1)
	if printf '%s\n' "$out" | grep -q '^integration: 1 passed, 0 failed, 0 skipped$'; then
		ok=$((ok + 1))
		echo "ok   - $n alone"
	else
		bad=$((bad + 1))
		failed="$failed $n"
		echo "FAIL - $n alone"
		printf '%s\n' "$out" | sed 's/^/       /'
	fi
done
echo "each alone: $ok passed, $bad failed${failed:+ (failed:$failed)}"
[ "$bad" -eq 0 ]
