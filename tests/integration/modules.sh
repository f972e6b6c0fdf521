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

# ---- chains: [source] sections, PAM-style (tokencache.conf(5), CHAINS)

# chain_file NAME SECTION...: a chain credential NAME whose [source]
# sections are the SECTIONs, each a string of lines.
chain_file() {
	local name=$1 sec
	shift
	{
		printf '[credential]\ntimeout = 5\n'
		for sec in "$@"; do printf '\n[source]\n%s\n' "$sec"; done
	} >"$WORK/creds/$name.conf"
}

# A primary token endpoint that is down: the chain goes on to the real
# server, at once, and serves its token; every attempt starts again at
# the primary (its failure is logged each time).
t_chain_primary_down() {
	mod_setup
	it_server main 3600 || return 1
	local sf dead
	sf=$(tc_secret post "$POST_SECRET")
	# A port nobody listens on: the server's, once it is stopped would
	# race; a fresh socket's port closed again is free.
	dead=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});')
	chain_file failover "$(printf 'provider = oauth2\ntoken_url = http://127.0.0.1:%s/token\nclient_id = it-post\nclient_secret_file = %s' "$dead" "$sf")" \
	    "$(printf 'control = required\nprovider = oauth2\ntoken_url = http://127.0.0.1:%s/token\nclient_id = it-post\nclient_secret_file = %s' "$PORT_main" "$sf")"
	tc_daemon_start || return 1
	ctl token failover --wait 15 >"$WORK/tok" || { cat "$WORK/daemon.log"; return 1; }
	tc_verify "$PORT_main" it-post "$POST_SECRET" "$WORK/tok" || return 1
	expect_grep "failover: source 1 failed (" "$WORK/daemon.log" "log" || return 1
	expect_grep "trying source 2" "$WORK/daemon.log" "log" || return 1
	expect_eq "$(tc_stats "$PORT_main" it-post)" 1 "requests to the second source" || return 1
}

tc_scenario t_chain_primary_down "a chain whose primary is down is served by its next source at once"

# required: its failure ends the chain, and is the one reported; later
# sources are not asked.  optional: its failure is not the one reported
# when a later source fails too.  sufficient: a token ends the chain.
t_chain_controls() {
	mod_setup
	chain_file req "$(printf 'control = required\nprovider = fixed\ntoken = x\nfail = transient')" \
	    "$(printf 'provider = other\ntoken = never-asked')"
	chain_file opt "$(printf 'control = optional\nprovider = fixed\ntoken = x\nfail = permanent')" \
	    "$(printf 'provider = fixed\ntoken = y\nfail = transient')"
	chain_file first "$(printf 'provider = fixed\ntoken = from-first')" \
	    "$(printf 'provider = other\ntoken = from-second')"
	chain_file second "$(printf 'provider = fixed\ntoken = z\nfail = permanent')" \
	    "$(printf 'control = optional\nprovider = other\ntoken = from-second')"
	tc_daemon_start || return 1
	expect_eq "$(ctl token first --wait 10)" from-first "sufficient first source" || return 1
	expect_eq "$(ctl token second --wait 10)" from-second "second source" || return 1
	wait_json req 'j.last_error === "source 1 (fixed): fixed: failing as told"' 10 || return 1
	ctl token req >/dev/null 2>&1 && { echo "req served a token"; return 1; }
	grep -q "req: source 1 failed" "$WORK/daemon.log" &&
	    { echo "a required source passed on"; return 1; }
	wait_json opt 'j.last_error === "source 2 (fixed): fixed: failing as told"' 10 || return 1
	# transient, the reported failure's kind, not the optional's permanent
	expect_grep "opt: fetch failed (transient, no HTTP reply): source 2" \
	    "$WORK/daemon.log" "opt's failure kind" || return 1
}

tc_scenario t_chain_controls "chains: required stops, optional is not reported, sufficient ends the chain"
