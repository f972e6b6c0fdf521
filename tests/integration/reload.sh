#!/usr/bin/env bash
# reload.sh - SIGHUP and `tokencachectl reload`: credentials added and
# removed, broken configurations refused, fetch settings changed.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/reload.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t_reload_keeps_tokens() {
	it_std || return 1
	wait_settled || return 1
	local before tok
	tok=$(ctl token opaque-post) || return 1
	before=$(tc_stats "$P")
	tc_cred added-later "$P" it-fanout "$post_sf"
	rm -f "$WORK/creds/short-lived.conf"
	kill -HUP "$DAEMON_PID"
	wait_registered added-later || return 1
	ctl token added-later --wait 15 >/dev/null || return 1
	expect_eq "$(ctl token opaque-post)" "$tok" "token after reload" || return 1
	# The new credential, and wrong-secret: a reload retries a permanent
	# failure at once.
	wait_stats "$P" $((before + 2))
	expect_eq "$(tc_stats "$P")" $((before + 2)) "requests (the new one and the retry)" || return 1
	ctl token short-lived >/dev/null 2>&1 && { echo "removed credential still served"; return 1; }
	expect_grep "configuration reloaded" "$WORK/daemon.log" "log" || return 1
}

tc_scenario t_reload_keeps_tokens "SIGHUP adds and removes credentials, keeps tokens"

t_broken_reload_rejected() {
	it_std || return 1
	token_of opaque-post "$WORK/t1" || return 1
	local tok
	tok=$(ctl token opaque-post) || return 1
	printf '[credential]\nprovider = oauth2\ntoken_ur = x\n' >"$WORK/creds/broken.conf"
	kill -HUP "$DAEMON_PID"
	wait_grep "broken.conf:3" "$WORK/daemon.log" 10 || return 1
	rm -f "$WORK/creds/broken.conf"
	expect_eq "$(ctl token opaque-post)" "$tok" "token after failed reload" || return 1
}

tc_scenario t_broken_reload_rejected "broken configuration on SIGHUP is rejected with file:line"

# A daemon restarted on a cache made under another configuration does not
# serve a token that answered the old request.
# A reload that changes only how tokens are fetched (timeout,
# default_lifetime, a higher max_lifetime) keeps the token; one that lowers
# max_lifetime below what the token has left fetches a new one; so does a
# restart.
t_reload_fetch_settings() {
	it_std || return 1
	local tok before
	tc_cred lifetimes "$P" it-fanout "$post_sf"
	ctl reload >/dev/null || return 1
	token_of lifetimes "$WORK/lt.1" || return 1
	before=$(tc_stats "$P" it-fanout)
	tc_cred lifetimes "$P" it-fanout "$post_sf" "timeout = 17" \
	    "default_lifetime = 900" "max_lifetime = 7200"
	ctl reload >/dev/null || return 1
	expect_eq "$(ctl token lifetimes)" "$(cat "$WORK/lt.1")" \
	    "token after a timeout/lifetime change" || return 1
	expect_eq "$(tc_stats "$P" it-fanout)" "$before" "requests" || return 1
	tc_cred lifetimes "$P" it-fanout "$post_sf" "max_lifetime = 60"
	ctl reload >/dev/null || return 1
	token_of lifetimes "$WORK/lt.2" || return 1
	expect_ne "$(cat "$WORK/lt.2")" "$(cat "$WORK/lt.1")" \
	    "token after max_lifetime went below what it had left" || return 1
	expect_eq "$(tc_stats "$P" it-fanout)" $((before + 1)) "requests" || return 1
	ctl list --json >"$WORK/lt.json" || return 1
	tok=$(tc_json "$WORK/lt.json" \
	    'j.find(c => c.name == "lifetimes").expires_at - Math.floor(Date.now() / 1000)')
	[ "$tok" -le 61 ] || { echo "the new token lives $tok s, more than max_lifetime"; return 1; }
	# A restart with a lower max_lifetime than the adopted token has left.
	tc_cred lifetimes "$P" it-fanout "$post_sf" "max_lifetime = 30"
	tc_daemon_stop TERM || return 1
	tc_daemon_start || return 1
	token_of lifetimes "$WORK/lt.3" || return 1
	expect_ne "$(cat "$WORK/lt.3")" "$(cat "$WORK/lt.2")" \
	    "token after a restart with a lower max_lifetime" || return 1
	expect_grep "outlives max_lifetime" "$WORK/daemon.log" "log" || return 1
	rm -f "$WORK/creds/lifetimes.conf"
	ctl reload >/dev/null || return 1
}

tc_scenario t_reload_fetch_settings "reload: timeout and lifetime changes keep the token; a lower max_lifetime does not"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
