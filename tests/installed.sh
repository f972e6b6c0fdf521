#!/bin/sh
# What `make install` puts on a system (make check-installed):
#   - no test hook in any installed program or library: neither the
#     TOKENCACHE_TEST_CRASH and TOKENCACHE_TEST_JOURNAL_SOCKET hooks nor
#     the allocator's wipe_malloc_fail_at;
#   - the test build of the daemon has them all, so the check can see them;
#   - one version everywhere: tokencache.h's, in the library's file name,
#     the pkg-config files, the programs' version output and the manuals;
#   - what a module's author needs: tokencache/module.h,
#     tokencache-module.pc, the module directory it names;
#   - tokencachectl's bash completion where bash-completion looks, working
#     with the installed tool.
#
#   sh tests/installed.sh DESTDIR TEST_DAEMON VERSION
set -u
root=$1
test_daemon=$2
version=$3
pass=0
fail=0

ok() {
	pass=$((pass + 1))
	echo "ok   - $*"
}

bad() {
	fail=$((fail + 1))
	echo "FAIL - $*"
}

# The test hooks FILE carries, one a line: the hook's environment
# variable anywhere in it, the allocator's hook as a symbol or a name
# (a stripped program keeps no symbol table, but the name would remain
# in its debug information or dynamic symbols).
hooks() {
	grep -q -a -F TOKENCACHE_TEST_CRASH "$1" && echo TOKENCACHE_TEST_CRASH
	grep -q -a -F TOKENCACHE_TEST_JOURNAL_SOCKET "$1" &&
	    echo TOKENCACHE_TEST_JOURNAL_SOCKET
	if { nm -a "$1" 2>/dev/null; nm -D "$1" 2>/dev/null; } |
	    grep -q -w wipe_malloc_fail_at ||
	    grep -q -a -F wipe_malloc_fail_at "$1"; then
		echo wipe_malloc_fail_at
	fi
}

is_elf() {
	[ "$(head -c 4 "$1" | tr -d '\177')" = ELF ]
}

# The control: without it, a check that sees nothing would always pass.
h=$(hooks "$test_daemon" | tr '\n' ' ')
if [ "$h" = "TOKENCACHE_TEST_CRASH TOKENCACHE_TEST_JOURNAL_SOCKET wipe_malloc_fail_at " ]; then
	ok "the test daemon $test_daemon carries the three hooks"
else
	bad "the test daemon $test_daemon carries only: ${h:-nothing}"
fi

n=0
for f in $(find "$root" -type f | sort); do
	is_elf "$f" || continue
	n=$((n + 1))
	h=$(hooks "$f" | tr '\n' ' ')
	if [ -z "$h" ]; then
		ok "no test hook in ${f#"$root"}"
	else
		bad "${f#"$root"} carries test hooks: $h"
	fi
done
# The daemon, tokencachectl and the shared library at least.
if [ $n -ge 3 ]; then
	ok "$n installed programs and libraries looked at"
else
	bad "only $n installed programs or libraries under $root"
fi

daemon=$(find "$root" -type f -path '*/sbin/tokencached')
ctl=$(find "$root" -type f -path '*/bin/tokencachectl')
if [ -n "$(find "$root" -type f -name "libtokencache.so.$version")" ]; then
	ok "libtokencache.so.$version"
else
	bad "no libtokencache.so.$version installed"
fi
if grep -q -x "Version: $version" $(find "$root" -name tokencache.pc); then
	ok "tokencache.pc says Version: $version"
else
	bad "tokencache.pc does not say Version: $version"
fi
if [ "$("$daemon" -V 2>&1)" = "tokencached $version" ]; then
	ok "tokencached -V says $version"
else
	bad "tokencached -V says: $("$daemon" -V 2>&1)"
fi
if "$ctl" --version 2>&1 | grep -q -x "tokencachectl $version"; then
	ok "tokencachectl --version says $version"
else
	bad "tokencachectl --version says: $("$ctl" --version 2>&1)"
fi
# What a module's author builds against: the header, its pkg-config file
# (saying where modules go), and that directory.
mpc=$(find "$root" -name tokencache-module.pc)
if [ -n "$(find "$root" -type f -path '*/include/tokencache/module.h')" ] &&
    [ -n "$mpc" ] && grep -q -x "Version: $version" "$mpc"; then
	ok "tokencache/module.h and tokencache-module.pc ($version)"
else
	bad "tokencache/module.h or tokencache-module.pc ($version) missing"
fi
mdir=$(sed -n 's/^moduledir=//p' "$mpc" 2>/dev/null)
if [ -n "$mdir" ] && [ -d "$root$mdir" ]; then
	ok "module directory $mdir"
else
	bad "module directory '$mdir' not installed"
fi
comp=$(find "$root" -type f -path '*/share/bash-completion/completions/tokencachectl')
got=
[ -n "$comp" ] && got=$(bash -c '. "$1" && complete -p tokencachectl >/dev/null &&
    COMP_WORDS=("$2" "") COMP_CWORD=1 && _tokencachectl && echo "${COMPREPLY[*]}"' \
    sh "$comp" "$ctl" 2>&1)
case " $got " in
*" list "*" help "*)
	ok "bash completion ${comp#"$root"} completes the commands" ;;
*)
	bad "bash completion '${comp#"$root"}' does not complete the commands: $got" ;;
esac
for m in $(find "$root" -type f -path '*/man/man*' | sort); do
	if grep -q "^\.TH .* \"tokencache $version\" " "$m"; then
		ok "${m#"$root"}: tokencache $version"
	else
		bad "${m#"$root"}: .TH does not say tokencache $version"
	fi
done

echo "installed files: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
