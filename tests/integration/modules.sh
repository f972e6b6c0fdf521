#!/usr/bin/env bash
# modules.sh - token source modules loaded from module_dir: one built from
# the installed header and pkg-config alone (tests/modules/fixed.c, built
# by the Makefile against $B/sdk), served through the daemon's descriptor
# path; modules of another ABI, without an entry point or missing a piece,
# and module directories others may write, refused with their file names;
# options judged by the module with file:line, on start and on reload.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/modules.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A module directory of our own holding copies of the test modules:
# module_dir must be root's (or ours) and writable by nobody else.
mod_setup() {
	tc_workdir
	mkdir -p "$WORK/modules"
	cp "$B"/tests/modules/*.so "$WORK/modules/"
	chmod 0755 "$WORK/modules"
	chmod 0644 "$WORK/modules"/*.so
	tc_config "module_dir = $WORK/modules"
}

# mod_cred NAME PROVIDER [key = value ...]
mod_cred() {
	local name=$1 provider=$2 kv
	shift 2
	{
		printf '[credential]\nprovider = %s\n' "$provider"
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$WORK/creds/$name.conf"
}

t_module_serves_token() {
	mod_setup
	mod_cred one fixed "token = tok-one.abc" "expires_in = 600"
	mod_cred two other "token = tok-two.def"
	tc_daemon_start || return 1
	ctl token one --wait 10 >"$WORK/one" || return 1
	expect_eq "$(cat "$WORK/one")" "tok-one.abc" "token of one" || return 1
	expect_eq "$(ctl token two --wait 10)" "tok-two.def" "token of two" || return 1
	expect_grep "loaded module $WORK/modules/fixed.so (ABI 1.1)" \
	    "$WORK/daemon.log" "log" || return 1
	# expires_in reached the daemon: about 600 s left.
	ctl show one --json >"$WORK/show" || return 1
	local left
	left=$(tc_json "$WORK/show" 'j.expires_at - j.fetched_at')
	expect_eq "$left" 600 "lifetime" || return 1
}

tc_scenario t_module_serves_token "a module built from the installed header serves tokens through a descriptor"

# A changed option changes the request identity (the module says so): the
# token is dropped and fetched again; an unchanged one keeps it.
t_module_reload_identity() {
	mod_setup
	mod_cred one fixed "token = first"
	tc_daemon_start || return 1
	expect_eq "$(ctl token one --wait 10)" first "first token" || return 1
	mod_cred one fixed "token = first" "expires_in = 900"
	ctl reload >/dev/null || return 1
	expect_eq "$(ctl token one)" first "kept (expires_in is not identity)" || return 1
	mod_cred one fixed "token = second"
	ctl reload >/dev/null || return 1
	expect_eq "$(ctl token one --wait 10)" second "new token after reload" || return 1
}

tc_scenario t_module_reload_identity "a module's identity decides whether a reload keeps the token"

# mod_refused NAME PATTERN: the daemon refuses to start (exit 78) and says
# PATTERN.
mod_refused() {
	local st=0
	timeout 20 "$DAEMON" -f -c "$WORK/tokencache.conf" >"$WORK/$1.log" 2>&1 || st=$?
	if [ "$st" != 78 ] || ! grep -qF -- "$2" "$WORK/$1.log"; then
		echo "$1: exit $st, expected 78 and: $2"
		cat "$WORK/$1.log"
		return 1
	fi
}

t_module_refused() {
	mod_setup
	mod_cred x wrongabi "token = t"
	mod_refused wrongabi "$WORK/modules/wrongabi.so: built for module ABI 99.1; this tokencached speaks 1.1" || return 1
	mod_cred x noentry "token = t"
	mod_refused noentry "$WORK/modules/noentry.so: not a tokencache module: no entry point tokencache_module" || return 1
	mod_cred x nostart "token = t"
	mod_refused nostart "$WORK/modules/nostart.so: incomplete module: it lacks start" || return 1
	mod_cred x absent "token = t"
	mod_refused absent "$WORK/creds/x.conf: $WORK/modules/absent.so: no such module (provider = absent)" || return 1
	# The module judges its own options, with file:line.
	mod_cred x fixed "token = t" "colour = blue"
	mod_refused badopt "$WORK/creds/x.conf:4: colour: unknown option" || return 1
	mod_cred x fixed "expires_in = 5"
	mod_refused noopt "$WORK/creds/x.conf: missing option 'token'" || return 1
	# Writable by others: refused, directory or file.
	mod_cred x fixed "token = t"
	chmod 0777 "$WORK/modules"
	mod_refused dirmode "module_dir $WORK/modules: refused: is group- or world-writable" || return 1
	chmod 0755 "$WORK/modules"
	chmod 0666 "$WORK/modules/fixed.so"
	mod_refused filemode "$WORK/modules/fixed.so: refused: the file is group- or world-writable" || return 1
	chmod 0644 "$WORK/modules/fixed.so"
	ln -s fixed.so "$WORK/modules/linked.so"
	mod_cred x linked "token = t"
	mod_refused symlink "$WORK/modules/linked.so: no such module (provider = linked): a symbolic link" || return 1
}

tc_scenario t_module_refused "modules of another ABI, incomplete, absent, with bad options or in unsafe places are refused, named"

# A reload naming a bad module changes nothing; a failing module's error
# shows as the credential's, and other credentials are served.
t_module_reload_refused_and_failures() {
	mod_setup
	mod_cred good fixed "token = good-token"
	mod_cred bad fixed "token = x" "fail = permanent"
	tc_daemon_start || return 1
	expect_eq "$(ctl token good --wait 10)" good-token "good" || return 1
	wait_json bad 'j.last_error === "fixed: failing as told"' 10 || return 1
	mod_cred later wrongabi "token = t"
	ctl reload >"$WORK/reload" 2>&1 && { echo "reload accepted a wrong module"; return 1; }
	expect_grep "built for module ABI 99.1" "$WORK/reload" "reload message" || return 1
	expect_eq "$(ctl token good)" good-token "still served" || return 1
}

tc_scenario t_module_reload_refused_and_failures "a bad module on reload changes nothing; a failing module's error is shown"
