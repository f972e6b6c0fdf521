#!/bin/sh
# Run each Check unit-test program given as an argument; print a summary
# and fail if any failed.  Check itself prints each suite's result line.
set -u
pass=0
fail=0
for t in "$@"; do
	if "$t"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $t"
	fi
done
echo "unit test programs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
