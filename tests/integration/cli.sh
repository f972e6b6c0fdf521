#!/usr/bin/env bash
# cli.sh - tokencachectl and tokencached from the command line:
# list --json, starting in the background, make install.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/cli.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t_list_json() {
	it_std || return 1
	token_of opaque-post "$WORK/t1" || return 1
	ctl list --json >"$WORK/list.json" || return 1
	expect_eq "$(tc_json "$WORK/list.json" 'j.length')" 7 "credentials" || return 1
	expect_eq "$(tc_json "$WORK/list.json" \
	    'j.find(c => c.name == "opaque-post").state')" valid "state" || return 1
	expect_eq "$(tc_json "$WORK/list.json" \
	    'Number.isInteger(j.find(c => c.name == "opaque-post").expires_at)')" \
	    true "expires_at is Unix seconds" || return 1
	local exp now
	exp=$(tc_json "$WORK/list.json" 'j.find(c => c.name == "opaque-post").expires_at')
	now=$(date +%s)
	[ $((exp - now)) -gt 3500 ] && [ $((exp - now)) -le 3601 ] ||
	    { echo "expires_at $exp is not about now+3600 ($now)"; return 1; }
	expect_eq "$(tc_json "$WORK/list.json" \
	    'j.find(c => c.name == "opaque-post").last_error')" "" "last_error" || return 1
	ctl list | grep -q '^opaque-post ' || { echo "table lacks opaque-post"; return 1; }
}

tc_scenario t_list_json "list --json fields"

# verify: consistent with the daemon running; a damaged copy of the cache
# file (in a directory of its own, no daemon) and, once the daemon is
# stopped, its own persistent copy damaged are told in words, exit 1; the
# token never appears.
t_verify() {
	it_std || return 1
	token_of opaque-post "$WORK/t1" || return 1
	local tok st=0
	tok=$(cat "$WORK/t1")
	[ -n "$tok" ] || { echo "no token"; return 1; }
	ctl verify >"$WORK/v1" 2>&1 || { cat "$WORK/v1"; echo "verify failed on a sound cache"; return 1; }
	grep -q '^ok: persistent copy and live segment consistent' "$WORK/v1" ||
	    { cat "$WORK/v1"; echo "no ok line"; return 1; }
	ctl verify --json >"$WORK/v1.json" || { cat "$WORK/v1.json"; return 1; }
	expect_eq "$(tc_json "$WORK/v1.json" 'j.consistent')" true "consistent" || return 1
	expect_eq "$(tc_json "$WORK/v1.json" 'j.live.used')" 7 "used slots" || return 1
	# A damaged copy of the file: bad magic.
	mkdir -m 700 "$WORK/dmg"
	cp "$WORK/run/cache" "$WORK/dmg/cache"
	printf 'X' | dd of="$WORK/dmg/cache" bs=1 seek=0 conv=notrunc 2>/dev/null
	"$CTL" --runtime-dir "$WORK/dmg" verify >"$WORK/v2" 2>&1 || st=$?
	expect_eq "$st" 1 "exit status on a damaged copy" || { cat "$WORK/v2"; return 1; }
	grep -q 'not a tokencache segment' "$WORK/v2" || { cat "$WORK/v2"; return 1; }
	grep -q '^note: live: tokencached is not running' "$WORK/v2" || { cat "$WORK/v2"; return 1; }
	# The daemon stopped, its own copy: checked alone, sound ...
	tc_daemon_stop || return 1
	ctl verify >"$WORK/v3" 2>&1 || { cat "$WORK/v3"; echo "verify failed on a stopped daemon's copy"; return 1; }
	grep -q '^ok: persistent copy consistent' "$WORK/v3" || { cat "$WORK/v3"; return 1; }
	# ... then a sequence left odd in slot 0 and nslots changed.
	printf '\001' | dd of="$WORK/run/cache" bs=1 seek=256 conv=notrunc 2>/dev/null
	st=0; ctl verify >"$WORK/v4" 2>&1 || st=$?
	expect_eq "$st" 1 "exit status on a torn slot" || { cat "$WORK/v4"; return 1; }
	grep -q 'slot 0: sequence number 1 is odd' "$WORK/v4" || { cat "$WORK/v4"; return 1; }
	printf '\377' | dd of="$WORK/run/cache" bs=1 seek=24 conv=notrunc 2>/dev/null
	st=0; ctl verify --json >"$WORK/v5" 2>&1 || st=$?
	expect_eq "$st" 1 "exit status on a wrong geometry" || { cat "$WORK/v5"; return 1; }
	grep -q 'file_size' "$WORK/v5" || { cat "$WORK/v5"; return 1; }
	if grep -qF -- "$tok" "$WORK"/v1 "$WORK"/v1.json "$WORK"/v2 "$WORK"/v3 \
	    "$WORK"/v4 "$WORK"/v5; then
		echo "the token appears in verify's output"; return 1
	fi
}

tc_scenario t_verify "verify: ok with the daemon running; damaged copies told in words, exit 1; never a token"

# Without -f: errors still reach stderr with status 1; a good start
# returns 0 once the daemon serves.
t_background_start() {
	local conf=$WORK/bg.conf st=0 w m
	printf '[daemon]\nruntime_dir = %s/run-bg\ncredentials_dir = %s/creds-bg\nbogus = 1\n' \
	    "$WORK" "$WORK" >"$conf"
	[ -n "${DAEMON_USER:-}" ] && printf 'user = %s\n' "$DAEMON_USER" >>"$conf"
	"$DAEMON" -c "$conf" 2>"$WORK/bg.err" || st=$?
	expect_eq "$st" 78 "exit status with a broken configuration (EX_CONFIG)" || return 1
	expect_grep "bg.conf:4: unknown key 'bogus'" "$WORK/bg.err" "message" || return 1
	sed -i '/^bogus/d' "$conf"
	mkdir -p "$WORK/creds-bg"
	"$DAEMON" -c "$conf" 2>"$WORK/bg.err" || { cat "$WORK/bg.err"; echo "background start failed"; return 1; }
	[ -S "$WORK/run-bg/socket" ] || { echo "no socket once started"; return 1; }
	"$CTL" --runtime-dir "$WORK/run-bg" check >/dev/null || { echo "check failed"; return 1; }
	w=$(pgrep -f "tokencached -c $conf" | head -n1)
	[ -n "$w" ] || { echo "no daemon process"; return 1; }
	# A second one in the background fails in the foreground's view.
	st=0
	"$DAEMON" -c "$conf" 2>"$WORK/bg2.err" || st=$?
	expect_eq "$st" 1 "second background daemon" || return 1
	expect_grep "another tokencached" "$WORK/bg2.err" "message" || return 1
	pkill -TERM -f "tokencached -c $conf"
	for m in $(seq 1 50); do
		pgrep -f "tokencached -c $conf" >/dev/null || return 0
		sleep 0.1
	done
	echo "background daemon did not stop"
	return 1
}

tc_scenario t_background_start "without -f: start-up errors on stderr, status 78 for a configuration error, 1 otherwise; success once serving"

# make install honours PREFIX and DESTDIR; a program builds against the
# installed header, library and pkg-config file.
t_install() {
	it_std || return 1
	token_of opaque-post "$WORK/t1" || return 1
	local d=$WORK/destdir f
	# A plain build of its own, whatever this run was built with: a
	# program without sanitizers cannot load a sanitized library.
	env -u MAKEFLAGS -u MAKELEVEL make -s -j2 -C "$TOP" install SANITIZE= \
	    B="$WORK/build-install" DESTDIR="$d" PREFIX=/usr \
	    >"$WORK/install.log" 2>&1 ||
	    { cat "$WORK/install.log"; return 1; }
	for f in usr/sbin/tokencached usr/bin/tokencachectl usr/lib/libtokencache.so \
	    usr/lib/libtokencache.so.0 usr/include/tokencache.h \
	    usr/lib/pkgconfig/tokencache.pc usr/share/man/man1/tokencachectl.1 \
	    usr/share/man/man3/tokencache.3 usr/share/man/man8/tokencached.8 \
	    usr/share/bash-completion/completions/tokencachectl \
	    etc/tokencache/tokencache.conf; do
		[ -e "$d/$f" ] || { echo "missing $f"; return 1; }
	done
	expect_grep "^prefix=/usr$" "$d/usr/lib/pkgconfig/tokencache.pc" "pc prefix" || return 1
	PKG_CONFIG_SYSROOT_DIR=$d PKG_CONFIG_LIBDIR=$d/usr/lib/pkgconfig \
	    cc -o "$WORK/installed-reader" "$TOP/tests/integration/reader.c" \
	    $(PKG_CONFIG_SYSROOT_DIR=$d PKG_CONFIG_LIBDIR=$d/usr/lib/pkgconfig \
	      pkg-config --cflags --libs tokencache) || return 1
	LD_LIBRARY_PATH=$d/usr/lib "$WORK/installed-reader" "$WORK/run" opaque-post \
	    >/dev/null || { echo "installed library does not work"; return 1; }
	"$d/usr/sbin/tokencached" -h | grep -q "/etc/tokencache/tokencache.conf" ||
	    { echo "PREFIX=/usr daemon does not default to /etc"; return 1; }
	# The README's C program compiles as given, warning-free, and runs
	# (this daemon has no zeebe-worker-client: it says so).
	awk '$0 == "<!-- readme-test: c -->" { a = 1; next }
	    a && !i && /^```/ { i = 1; next } i && /^```/ { exit } i { print }' \
	    "$TOP/README.md" >"$WORK/readme-app.c"
	grep -q '^main(void)' "$WORK/readme-app.c" || { echo "no C program in the README"; return 1; }
	PKG_CONFIG_SYSROOT_DIR=$d PKG_CONFIG_LIBDIR=$d/usr/lib/pkgconfig \
	    cc -Wall -Wextra -Werror -o "$WORK/readme-app" "$WORK/readme-app.c" \
	    $(PKG_CONFIG_SYSROOT_DIR=$d PKG_CONFIG_LIBDIR=$d/usr/lib/pkgconfig \
	      pkg-config --cflags --libs tokencache) || return 1
	TOKENCACHE_RUNTIME_DIR=$WORK/run LD_LIBRARY_PATH=$d/usr/lib \
	    "$WORK/readme-app" >"$WORK/readme-app.out" 2>&1 &&
	    { echo "the README's program got a token it should not have"; return 1; }
	expect_grep "readme-app: token: no such credential" "$WORK/readme-app.out" "its message" || return 1
}

tc_scenario t_install "make install with PREFIX and DESTDIR; build against it"

# comp_run [WORD...]: what tools/tokencachectl.bash offers for the last
# WORD, the tool being $CTL: its COMPREPLY, sorted, one a line, in
# $WORK/comp.out; whatever it wrote to stderr in $WORK/comp.err.
comp_run() {
	# -eu: a user's shell may have either set.
	bash -c 'set -eu
	    . "$1" || exit 1
	    shift
	    COMP_WORDS=("$@")
	    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	    COMP_LINE="$*" COMP_POINT=${#COMP_LINE}
	    _tokencachectl
	    printf "%s\n" "${COMPREPLY[@]}"' \
	    sh "$TOP/tools/tokencachectl.bash" "$CTL" "$@" \
	    >"$WORK/comp.raw" 2>"$WORK/comp.err" ||
	    { echo "the completion of '$*' failed (under set -eu)"; cat "$WORK/comp.err"; return 1; }
	sed '/^$/d' "$WORK/comp.raw" | sort >"$WORK/comp.out"
	[ -s "$WORK/comp.err" ] && { echo "completion wrote to stderr:"; cat "$WORK/comp.err"; return 1; }
	return 0
}

# comp_expect WANT WHAT WORD...: the completion of WORD... is WANT (words
# in any order, separated by spaces).
comp_expect() {
	local want=$1 what=$2 got
	shift 2
	comp_run "$@" || return 1
	got=$(tr '\n' ' ' <"$WORK/comp.out")
	want=$(printf '%s\n' $want | sed '/^$/d' | sort | tr '\n' ' ')
	expect_eq "$got" "$want" "$what" || return 1
}

# The bash completion: commands, global and command options, the values
# of env --for, credential names from a running daemon's cache (through a
# --runtime-dir given on the line), files for import-camunda; and quietly
# nothing without a daemon.
t_completion() {
	local cmds names
	cmds=$("$CTL" help --commands | sed 's/ .*//' | tr '\n' ' ')
	comp_expect "$cmds" "all commands" "" || return 1
	comp_expect "refresh reload" "commands starting with re" re || return 1
	comp_expect "--runtime-dir --help --version" "global options" -- || return 1
	comp_expect "--wait" "token's --w" token --w || return 1
	comp_expect "--warning" "check's --w after a global option" \
	    --runtime-dir /nonexistent check --w || return 1
	comp_expect "--json --warning --critical --runtime-dir --help" \
	    "check's options" check -- || return 1
	comp_expect "camunda-java camunda-js zeebe-node go pyzeebe" "env --for" \
	    env x --for "" || return 1
	comp_expect "camunda-java camunda-js" "env --for cam" env --for cam || return 1
	comp_expect "zeebe,operate zeebe,optimize" "import-camunda --audience LIST" \
	    import-camunda --audience zeebe,o || return 1
	mkdir -p "$WORK/files/sub" && : >"$WORK/files/console.env"
	comp_expect "$WORK/files/console.env" "import-camunda FILE" \
	    import-camunda "$WORK/files/con" || return 1
	comp_expect "$WORK/files/sub" "--runtime-dir DIR" --runtime-dir "$WORK/files/s" || return 1
	: >"$WORK/files/my console.env"
	comp_run import-camunda "$WORK/files/my" || return 1
	expect_eq "$(cat "$WORK/comp.out")" "$WORK/files/my console.env" \
	    "a file name with a space, one word" || return 1
	comp_expect "endpoint env" "help COMMAND" help en || return 1
	comp_expect "auto always never" "list --color WHEN" list --color "" || return 1
	comp_expect "always" "list --color=al" list --color = al || return 1
	# Without a daemon: no names, no message.
	comp_expect "" "show NAME without a daemon" --runtime-dir "$WORK/run" show "" || return 1
	comp_expect "" "token NAME without a runtime directory" \
	    --runtime-dir "$WORK/nonexistent" token "" || return 1

	it_std || return 1
	ctl list --json >"$WORK/list.json" || return 1
	names=$(tc_json "$WORK/list.json" 'j.map(c => c.name).join(" ")')
	[ -n "$names" ] || { echo "no credentials listed"; return 1; }
	comp_expect "$names" "show NAME from the cache" --runtime-dir "$WORK/run" show "" || return 1
	comp_expect "opaque-post" "token opaque-p" --runtime-dir "$WORK/run" token opaque-p || return 1
	comp_expect "$names" "env NAME with --runtime-dir after the command" \
	    env --runtime-dir "$WORK/run" "" || return 1
	comp_expect "$names" "invalidate NAME, --runtime-dir=DIR split at '='" \
	    --runtime-dir = "$WORK/run" invalidate "" || return 1
	comp_expect "" "a second operand" --runtime-dir "$WORK/run" show opaque-post "" || return 1
	comp_expect "" "list takes no NAME" --runtime-dir "$WORK/run" list "" || return 1
	comp_expect "" "token --wait SECONDS" --runtime-dir "$WORK/run" token --wait "" || return 1
}

tc_scenario t_completion "bash completion: commands, options, env --for values, credential names from the cache, files; nothing without a daemon"

# Every command of `help --commands` has a --help (and `help COMMAND`, the
# same): exit 0, its usage line, its summary, an Options: block with a
# line per option `help --options COMMAND` lists, --help among them.
t_help_every_command() {
	local c o n=0 st
	for c in $("$CTL" help --commands | sed 's/ .*//'); do
		n=$((n + 1))
		st=0
		"$CTL" "$c" --help >"$WORK/help.$c" 2>"$WORK/help.$c.err" || st=$?
		expect_eq "$st" 0 "$c --help exit status" || return 1
		[ -s "$WORK/help.$c.err" ] && { echo "$c --help wrote to stderr"; cat "$WORK/help.$c.err"; return 1; }
		head -n1 "$WORK/help.$c" | grep -q "^usage: tokencachectl \[--runtime-dir DIR\] $c\( \|$\)" ||
		    { echo "$c --help: no usage line"; cat "$WORK/help.$c"; return 1; }
		expect_grep "^Options:$" "$WORK/help.$c" "$c --help" || return 1
		for o in $("$CTL" help --options "$c" | sed 's/ .*//'); do
			grep -q "^  \(-., \)\{0,1\} *$o\( \|$\)" "$WORK/help.$c" ||
			    { echo "$c --help does not list $o"; cat "$WORK/help.$c"; return 1; }
		done
		grep -q -- "--help " "$WORK/help.$c" || { echo "$c --help lacks --help"; return 1; }
		"$CTL" help "$c" | cmp -s - "$WORK/help.$c" ||
		    { echo "help $c differs from $c --help"; return 1; }
	done
	[ "$n" -ge 13 ] || { echo "only $n commands"; return 1; }
	# The summary line of each is the table's, as the overview shows it.
	for c in $("$CTL" help --commands | sed 's/ .*//'); do
		sed -n 2p "$WORK/help.$c" >"$WORK/summary"
		"$CTL" --help | grep -q -F -- "$(cat "$WORK/summary")" ||
		    { echo "$c's summary is not in --help"; return 1; }
	done
	st=0
	"$CTL" help nope >/dev/null 2>&1 || st=$?
	expect_eq "$st" 2 "help of an unknown command" || return 1
}

tc_scenario t_help_every_command "--help of every command: exit 0, usage, summary, its options"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
