#!/bin/sh
# Replay every fuzz target's corpus, plus fixed mutations, in make check.
#   sh tests/fuzz/run.sh BINDIR NAME...
set -u
bindir=$1
shift
pass=0
fail=0
here=$(dirname "$0")
for n in "$@"; do
	if "$bindir/fuzz_$n" "$here/corpus/$n" -runs=3000; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: fuzz_$n"
	fi
done
echo "fuzz targets: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
