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

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
