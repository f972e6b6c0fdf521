#!/usr/bin/env bash
# fetch.sh - fetching tokens: client authentication, the audience,
# failures reported, many readers and one request, refresh before
# expiry and after a failure.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/fetch.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# it_fetch_verified NAME CLIENT SECRET KIND: the standard scenario's
# credential NAME fetched, and the server calls it a valid KIND token.
it_fetch_verified() {
	it_std || return 1
	token_of "$1" "$WORK/tok" || return 1
	tc_verify "$P" "$2" "$3" "$WORK/tok" | grep -q "valid $4" ||
	    { echo "server rejected the $4 token of $1"; return 1; }
}

t_post_opaque() {
	it_fetch_verified opaque-post it-post "$POST_SECRET" opaque
}

tc_scenario t_post_opaque "client_secret_post: opaque token accepted by the server"

t_basic_jwt() {
	it_fetch_verified jwt-basic it-basic "$BASIC_SECRET" jwt
}

tc_scenario t_basic_jwt "client_secret_basic (RFC 6749 2.3.1 encoding): JWT verified against JWKS"

t_audience_jwt() {
	it_fetch_verified jwt-audience it-post "$POST_SECRET" jwt
}

tc_scenario t_audience_jwt "audience parameter: JWT verified"

t_permanent_failure_reported() {
	it_std || return 1
	wait_settled || return 1
	local out st=0 i
	# The daemon retries a permanent error slowly: one attempt, no loop.
	sleep 1
	out=$(ctl token wrong-secret 2>&1) && st=0 || st=$?
	[ $st -ne 0 ] || { echo "token for a wrong secret succeeded"; return 1; }
	printf '%s' "$out" | grep -q 'invalid_client' ||
	    { echo "error does not name invalid_client: $out"; return 1; }
	ctl show wrong-secret --json >"$WORK/ws.json" || return 1
	expect_eq "$(tc_json "$WORK/ws.json" 'j.state')" failed "state" || return 1
	expect_eq "$(tc_stats "$P" it-post)" 4 "requests by it-post (3 creds + 1 failure)" || return 1
	sleep 2
	expect_eq "$(tc_stats "$P" it-post)" 4 "no retry loop on invalid_client" || return 1
	# Impatient readers do not turn into requests: a wait on a
	# permanently failing credential answers at once.
	for i in $(seq 1 20); do
		ctl token wrong-secret --wait 5 >/dev/null 2>&1 && { echo "wait succeeded"; return 1; }
	done
	expect_eq "$(tc_stats "$P" it-post)" 4 "requests after 20 waits" || return 1
	ctl check >/dev/null 2>&1 && { echo "check passed with a failed credential"; return 1; }
	return 0
}

tc_scenario t_permanent_failure_reported "invalid_client: reported, not looped"

# Many reader processes at once, asking for a credential the daemon has
# not fetched yet: exactly one request reaches the server.
t_fanout_single_request() {
	it_std || return 1
	local i n=64 pids= ok=0
	tc_server_ctl "$P" /_delay?ms=1500 || return 1
	tc_cred fanout "$P" it-fanout "$post_sf"
	kill -HUP "$DAEMON_PID"
	# The reload is asynchronous: let it register the name first (the
	# server delays its answer, so the fetch is still in flight then).
	wait_registered fanout || return 1
	for i in $(seq 1 $n); do
		ctl token fanout --wait 20 >"$WORK/fan.$i" 2>&1 &
		pids="$pids $!"
	done
	for i in $pids; do wait "$i" && ok=$((ok + 1)); done
	tc_server_ctl "$P" /_delay?ms=0
	expect_eq "$ok" "$n" "readers that got a token" || return 1
	expect_eq "$(sort -u "$WORK"/fan.* | wc -l)" 1 "distinct tokens" || return 1
	expect_eq "$(tc_stats "$P" it-fanout)" 1 "token requests for $n readers" || return 1
}

tc_scenario t_fanout_single_request "64 concurrent readers cause exactly one token request"

# More first readers at once than the daemon has connections (128): the
# rest wait in the listen backlog, none is refused, one request in all.
t_herd_of_first_reads() {
	it_std || return 1
	local i n=600
	tc_server_ctl "$P" /_delay?ms=1500 || return 1
	tc_cred herd "$P" it-herd "$post_sf"
	kill -HUP "$DAEMON_PID"
	wait_registered herd || return 1
	"$B/tests/tc-reader" "$WORK/run" herd $n herd >"$WORK/herd.out" 2>&1
	i=$?
	tc_server_ctl "$P" /_delay?ms=0
	cat "$WORK/herd.out"
	expect_eq "$i" 0 "the herd's status" || return 1
	expect_eq "$(tail -n 1 "$WORK/herd.out")" \
	    "$n of $n got a token, the same generation" "the herd" || return 1
	expect_eq "$(tc_stats "$P" it-herd)" 1 "token requests for $n first reads" || return 1
}

tc_scenario t_herd_of_first_reads "600 first reads at once, beyond the connection table: all served, one request"

t_hot_reads_no_requests() {
	it_std || return 1
	token_of opaque-post "$WORK/t1" || return 1
	wait_settled || return 1
	local before i
	before=$(tc_stats "$P")
	for i in $(seq 1 50); do ctl token opaque-post >/dev/null || return 1; done
	expect_eq "$(tc_stats "$P")" "$before" "requests after 50 reads" || return 1
}

tc_scenario t_hot_reads_no_requests "reads do not reach the OAuth server"

# ttl 8 s: refreshed at 70-80 % of the lifetime, so a new token arrives
# before the old one expires and readers never see a gap.
t_refresh_before_expiry() {
	it_std short || return 1
	local first gen0 gen1 i t0
	token_of short-lived "$WORK/s0" || return 1
	# The generation is read before the token: a refresh between the two
	# reads then makes the loop wait for the next one, and cannot leave
	# gen0 already counting the token the loop sees as new.
	ctl show short-lived --json >"$WORK/s0.json" || return 1
	gen0=$(tc_json "$WORK/s0.json" 'j.generation')
	t0=$(date +%s%3N)
	ctl token short-lived >"$WORK/s0" || return 1
	first=$(cat "$WORK/s0")
	for i in $(seq 1 40); do	# 10 s
		ctl token short-lived >"$WORK/s1" ||
		    { echo "read failed at $i"; return 1; }
		if [ "$(cat "$WORK/s1")" != "$first" ]; then break; fi
		sleep 0.25
	done
	[ "$(cat "$WORK/s1")" != "$first" ] || { echo "token never refreshed"; return 1; }
	[ $(( $(date +%s%3N) - t0 )) -lt 8000 ] || { echo "refresh came too late"; return 1; }
	ctl show short-lived --json >"$WORK/s1.json" || return 1
	gen1=$(tc_json "$WORK/s1.json" 'j.generation')
	[ "$gen1" -gt "$gen0" ] || { echo "generation did not grow"; return 1; }
	tc_verify "$PS" it-refresh "$POST_SECRET" "$WORK/s1" | grep -q valid ||
	    { echo "refreshed token rejected"; return 1; }
}

tc_scenario t_refresh_before_expiry "token refreshed before it expires, no gap for readers"

# A refresh that fails keeps the old token in service; the daemon backs
# off (the fault server sends Retry-After: 1) and succeeds before expiry
# (20 s tokens, refreshed after 14-16 s).
t_failed_refresh_keeps_token() {
	it_std mid || return 1
	local tok cur end
	# The failure is armed before the token is read: a scheduled refresh
	# between the two would otherwise succeed, and the new token the loop
	# then sees would come from no failure at all.
	tc_server_ctl "$PM" "/_fail?count=1&status=503" || return 1
	token_of flaky "$WORK/f0" || return 1
	tok=$(cat "$WORK/f0")
	cur=$tok
	end=$(( $(date +%s) + 25 ))
	# Readers get a token all along: the old one, then the new one.
	while { [ "$cur" = "$tok" ] ||
	    ! grep -q "flaky: fetch failed (transient): HTTP 503" "$WORK/daemon.log"; } &&
	    [ "$(date +%s)" -lt "$end" ]; do
		cur=$(ctl token flaky) || { echo "a read failed"; return 1; }
		sleep 0.2
	done
	[ "$cur" != "$tok" ] || { echo "no new token after the failure"; return 1; }
	# The failure was seen and reported, and the old token stayed.
	expect_grep "flaky: fetch failed (transient): HTTP 503" "$WORK/daemon.log" "log" || return 1
	expect_grep "flaky: .*still serving the current token" "$WORK/daemon.log" "log" || return 1
}

tc_scenario t_failed_refresh_keeps_token "a failing refresh keeps the old token; backoff, then a new one"

t_explicit_refresh() {
	it_std || return 1
	it_tokens || return 1
	local before
	before=$(tc_stats "$P" it-basic)
	ctl refresh jwt-basic || return 1
	token_of jwt-basic "$WORK/t2b" || return 1
	expect_ne "$(cat "$WORK/t2b")" "$(cat "$WORK/t2")" "token after refresh" || return 1
	expect_eq "$(tc_stats "$P" it-basic)" $((before + 1)) "requests" || return 1
}

tc_scenario t_explicit_refresh "tokencachectl refresh fetches a new token"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
