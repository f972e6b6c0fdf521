#!/bin/bash
# ok.sh PREFIX: a well-behaved exec program (tests/integration/exec.sh).
# It prints the token PREFIX.$EXEC_TEST_SUFFIX with a lifetime, after
# checking that it got what the exec module promises (tokencache.conf(5),
# EXEC TOKEN SOURCE); if not, it says why in an error document, which
# the scenario then sees as the credential's last error.
fail() {
	printf '{"version": 1, "error": "ok.sh: %s", "permanent": true}\n' "$1"
	exit 0
}
[ $# -eq 1 ] || fail "$# arguments, not 1"
# The environment: exactly what the credential sets, PATH included.
[ "$PATH" = /usr/bin:/bin ] || fail "PATH is $PATH"
[ -z "${EXEC_TEST_LEAK+x}" ] || fail "the daemon's environment leaked"
[ -z "${HOME+x}" ] || fail "HOME is set"
[ -n "${EXEC_TEST_SUFFIX:-}" ] || fail "EXEC_TEST_SUFFIX is not set"
# stdin is /dev/null; no descriptor of the daemon's but the pipes (the
# shell keeps the script open on one of its own: that one is allowed).
[ "$(readlink /proc/$$/fd/0)" = /dev/null ] || fail "stdin is not /dev/null"
for f in /proc/$$/fd/*; do
	n=${f##*/}
	[ "$n" -le 2 ] && continue
	[ -e "$f" ] || continue		# the glob's own directory
	t=$(readlink "$f")
	case $t in "$0"|*/"${0##*/}"|/dev/null) continue ;; esac
	fail "descriptor $n is open ($t)"
done
# No signal blocked or ignored (but glibc's internal 32 and 33, which
# its posix_spawn leaves ignored), as grep and sed, run by this shell,
# inherit them: bash, unlike dash, hands its children the mask it was
# given, and blocks signals of its own, so its mask is no witness.  A
# session of its own.
grep -q '^SigBlk:	0*$' /proc/self/status || fail "signals are blocked"
ign=$(sed -n 's/^SigIgn:	//p' /proc/self/status)
[ $((0x${ign#????????} & 0x7fffffff)) = 0 ] || fail "signals are ignored ($ign)"
[ "$(cut -d' ' -f6 /proc/$$/stat)" = $$ ] || fail "not a session leader"
printf '{"version": 1, "access_token": "%s.%s", "token_type": "Bearer",\n' \
    "$1" "$EXEC_TEST_SUFFIX"
printf ' "expires_in": 3600, "comment": ["ignored", {"by": "tokencache"}]}\n'
