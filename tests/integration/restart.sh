#!/usr/bin/env bash
# restart.sh - stopping and starting the daemon: SIGTERM, SIGKILL (also
# mid-publish), a second daemon, a worker that fails at once, a changed
# request across a restart.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/restart.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t_second_daemon_refused() {
	it_std || return 1
	local st=0
	"$DAEMON" -f -c "$WORK/tokencache.conf" >"$WORK/second.log" 2>&1 || st=$?
	[ $st -ne 0 ] || { echo "second daemon started"; return 1; }
	expect_grep "another tokencached" "$WORK/second.log" "message" || return 1
	ctl check >/dev/null 2>&1 || ctl list >/dev/null || return 1
}

tc_scenario t_second_daemon_refused "a second daemon on the same runtime directory is refused"

# A running reader keeps its key and keeps reading while the daemon is
# gone; a new process needs the daemon for its key (see README).
t_restart_adopts() {
	it_std || return 1
	wait_settled || return 1
	local tok before st=0 rpid
	tok=$(ctl token opaque-post) || return 1
	before=$(tc_stats "$P")
	"$B/tests/tc-reader" "$WORK/run" opaque-post 4 >"$WORK/follow.out" &
	rpid=$!
	wait_first_token "$WORK/follow.out" || return 1
	tc_daemon_stop TERM || st=$?
	expect_eq "$st" 0 "exit status on SIGTERM" || return 1
	[ ! -e "$WORK/run/socket" ] || { echo "socket left behind"; return 1; }
	[ -e "$WORK/run/cache" ] || { echo "cache removed"; return 1; }
	sleep 1
	tc_daemon_start || return 1
	wait "$rpid" || { echo "the running reader saw an error"; return 1; }
	expect_eq "$(sort -u "$WORK/follow.out" | wc -l)" 1 "distinct tokens seen" || return 1
	expect_eq "$(head -n1 "$WORK/follow.out")" "$tok" "the reader's token" || return 1
	expect_eq "$(ctl token opaque-post)" "$tok" "token after restart" || return 1
	expect_eq "$(tc_stats "$P")" "$before" "requests after restart" || return 1
	expect_grep "adopted the existing cache" "$WORK/daemon.log" "log" || return 1
}

tc_scenario t_restart_adopts "SIGTERM exits cleanly; restart adopts tokens without requests"

t_sigkill_then_restart() {
	it_std || return 1
	token_of jwt-audience "$WORK/t3" || return 1
	local tok rpid
	tok=$(ctl token jwt-audience) || return 1
	"$B/tests/tc-reader" "$WORK/run" jwt-audience 3 >"$WORK/follow2.out" &
	rpid=$!
	wait_first_token "$WORK/follow2.out" || return 1
	tc_daemon_stop KILL || true
	sleep 1
	tc_daemon_start || return 1
	wait "$rpid" || { echo "the running reader saw an error"; return 1; }
	expect_eq "$(sort -u "$WORK/follow2.out")" "$tok" "tokens seen" || return 1
	expect_eq "$(ctl token jwt-audience)" "$tok" "token after restart" || return 1
}

tc_scenario t_sigkill_then_restart "SIGKILL: readers keep the token, restart adopts"

# SIGKILL at random moments while the daemon publishes token after token
# (an explicit refresh in a loop), then a restart, several times over,
# while readers run throughout: none of them may see an error, and every
# token any of them read must be one the server signed (a torn token
# would not verify).
t_sigkill_random_moments() {
	it_std || return 1
	local i r rpids= lpid n=8 adopted
	token_of jwt-basic "$WORK/rk.first" || return 1
	adopted=$(grep -c 'adopted the existing cache' "$WORK/daemon.log")
	for r in 1 2 3 4; do
		"$B/tests/tc-reader" "$WORK/run" jwt-basic 12 >"$WORK/rk.$r" \
		    2>"$WORK/rk.$r.err" &
		rpids="$rpids $!"
	done
	wait_first_token $(seq -f "$WORK/rk.%g" 1 4) || return 1
	for i in $(seq 1 $n); do
		( while :; do ctl refresh jwt-basic >/dev/null 2>&1; done ) &
		lpid=$!
		sleep "0.$((RANDOM % 6 + 2))"
		tc_daemon_stop KILL
		kill "$lpid"
		wait "$lpid" 2>/dev/null
		tc_daemon_start || { echo "restart $i failed"; return 1; }
	done
	for r in $rpids; do
		wait "$r" || { cat "$WORK"/rk.*.err; echo "a reader saw an error"; return 1; }
	done
	token_of jwt-basic "$WORK/rk.last" || return 1
	cat "$WORK"/rk.[1-4] "$WORK/rk.first" "$WORK/rk.last" >"$WORK/rk.all"
	echo "distinct tokens read: $(sort -u "$WORK/rk.all" | wc -l)"
	tc_verify_lines "$P" it-basic "$BASIC_SECRET" "$WORK/rk.all" |
	    grep -q '^valid jwt' || { echo "a token the server did not sign"; return 1; }
	# Each restart found the segment and adopted it.
	expect_eq "$(grep -c 'adopted the existing cache' "$WORK/daemon.log")" \
	    "$((adopted + n))" "restarts that adopted the segment" || return 1
}

tc_scenario t_sigkill_random_moments "SIGKILL at random moments of refreshing, 8 times: readers see no error, no torn token"

# The daemon dies in the middle of writing opaque-post's token (and only
# that one: other credentials fall due too).  Readers started before keep a
# whole token throughout and move to the restarted daemon's new token
# before theirs expires; readers started after read the new one.
t_kill_mid_publish() {
	it_std || return 1
	local tok new i r=$WORK/kill
	tok=$(ctl token opaque-post --wait 15) || return 1
	tc_readers_start "$r" 1 5 25 opaque-post
	wait_first_token $(seq -f "$r.%g.out" 1 5) || return 1
	tc_daemon_stop TERM || return 1
	TOKENCACHE_TEST_CRASH=publish:opaque-post tc_daemon_start || return 1
	ctl refresh opaque-post >/dev/null 2>&1	# the worker dies in the write
	sleep 0.5
	kill -0 "$(tc_worker_pid)" 2>/dev/null && { echo "the hook did not fire"; return 1; }
	tc_daemon_stop TERM || true
	sleep 1
	tc_daemon_start || return 1
	expect_grep "opaque-post.*lost\|died while writing" "$WORK/daemon.log" "the torn slot seen" ||
	    { ctl show opaque-post; }
	ctl token opaque-post --wait 15 >"$WORK/kill.tok" || return 1
	new=$(cat "$WORK/kill.tok")
	[ "$new" != "$tok" ] || { echo "no new token after the restart"; return 1; }
	tc_readers_start "$r" 6 8 3 opaque-post
	tc_readers_ok "$r" 8 || return 1
	for i in 1 2 3 4 5; do
		# It saw the old token, then the new one: both whole, both real.
		expect_eq "$(head -n1 "$r.$i.out")" "$tok" "reader $i: first token" || return 1
		expect_eq "$(tail -n1 "$r.$i.out")" "$new" "reader $i: last token" || return 1
		expect_eq "$(sort -u "$r.$i.out" | wc -l)" 2 "reader $i: tokens seen" || return 1
	done
	for i in 6 7 8; do
		expect_eq "$(sort -u "$r.$i.out")" "$new" "reader $i (started after)" || return 1
	done
}

tc_scenario t_kill_mid_publish "SIGKILL mid-publish: 8 readers keep whole tokens; restart repairs the slot; all move to the new token"

t_restart_changed_request() {
	it_std || return 1
	it_tokens || return 1
	wait_settled || return 1
	local tok before
	tok=$(ctl token jwt-audience) || return 1
	before=$(tc_stats "$P" it-post)
	tc_daemon_stop TERM || return 1
	sed -i 's/^audience = .*/audience = urn:tokencache:operate/' "$WORK/creds/jwt-audience.conf"
	tc_daemon_start || return 1
	ctl token jwt-audience --wait 15 >"$WORK/t3c" || return 1
	expect_ne "$(cat "$WORK/t3c")" "$tok" "token after the audience changed" || return 1
	expect_eq "$(tc_stats "$P" it-post)" $((before + 1)) "requests" || return 1
	tc_verify "$P" it-post "$POST_SECRET" "$WORK/t3c" | grep -q 'valid jwt' || return 1
	expect_grep "the request changed since the cached token" "$WORK/daemon.log" "log" || return 1
	# The other credentials were adopted as before.
	expect_eq "$(ctl token opaque-post)" "$(cat "$WORK/t1")" "unchanged credential" || return 1
}

tc_scenario t_restart_changed_request "restart after a configuration change: the old request's token is dropped"

# A worker that fails at once, as a failed privilege drop would, while
# the monitor is still on its way to watching it (a test hook delays the
# monitor 200 ms): the monitor must see the exit and leave with status 1,
# not wait for a signal it has already missed.
t_worker_fails_at_once() {
	it_std || return 1
	local pid i st=0
	tc_daemon_stop TERM || return 1
	TOKENCACHE_TEST_CRASH=worker-start "$DAEMON" -f -d \
	    -c "$WORK/tokencache.conf" >"$WORK/at-once.log" 2>&1 &
	pid=$!
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		cat "$WORK/at-once.log"
		echo "the monitor still runs 10 s after its worker failed"
		sleep 1	# a worker left behind dies of its parent's death
		tc_daemon_start
		return 1
	fi
	wait "$pid" || st=$?
	tc_daemon_start || return 1
	cat "$WORK/at-once.log"
	expect_eq "$st" 1 "monitor exit status" || return 1
	expect_grep "worker failed at once" "$WORK/at-once.log" "the worker's error"
}

tc_scenario t_worker_fails_at_once "a worker that fails at once: the monitor exits 1, no hang" root

t_no_sanitizer_reports() {
	it_std || return 1
	it_tokens || return 1
	ctl refresh opaque-post >/dev/null || return 1
	ctl reload >/dev/null || return 1
	wait_settled || return 1
	tc_daemon_stop TERM || return 1
	! tc_sanitizer_report "$WORK/daemon.log"
}

tc_scenario t_no_sanitizer_reports "the daemon's log has no sanitizer report"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
