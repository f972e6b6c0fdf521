#!/usr/bin/env bash
# faults.sh - a hostile or broken token endpoint
# (tests/oauth-server/fault.cjs): stalls, cut and endless bodies, malformed
# replies, Retry-After, redirects, expires_in.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/faults.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Credentials on the fault-injecting endpoint.
FAULTS="stall close-mid endless huge html empty bad-json no-token empty-token
no-type not-object redirect"

# min_gap KEY: the smallest gap (ms) between requests for KEY; "none" if
# fewer than two.
min_gap() {
	tc_fault_hits "$1" | awk 'NR > 1 { g = $1 - p; if (m == "" || g < m) m = g } { p = $1 }
	    END { print (m == "" ? "none" : m) }'
}

# fault_creds: a credential for each fault (timeout 2 s), on $PF.
fault_creds() {
	local f
	for f in $FAULTS; do
		tc_cred "f-$f" "$PF/$f" it-post "$post_sf" "timeout = 2"
	done
	fault_cred() {	# NAME PATH?QUERY [key = value ...]
		local n=$1 u=$2
		shift 2
		tc_cred "$n" "$PF$u" it-post "$post_sf" "timeout = 2" "$@"
	}
	fault_cred r-429 "/status?code=429&after=3"
	fault_cred r-429-date "/status?code=429&after=date:3"
	fault_cred r-429-garbage "/status?code=429&after=soon"
	fault_cred r-429-huge "/status?code=429&after=99999999"
	fault_cred r-429-negative "/status?code=429&after=-5"
	fault_cred r-503 "/status?code=503&after=2"
	fault_cred r-500 "/status?code=500"
	fault_cred e-string '/expires?v="120"'
	fault_cred e-zero "/expires?v=0" "default_lifetime = 777"
	fault_cred e-negative "/expires?v=-5" "default_lifetime = 777"
	fault_cred e-float "/expires?v=1.5" "default_lifetime = 777"
	fault_cred e-huge "/expires?v=99999999999" "max_lifetime = 5000"
	fault_cred e-absent "/expires?v=null" "default_lifetime = 888"
}

# faults_start: a fault server and a daemon with every fault credential.
faults_start() {
	it_fault_server || return 1
	post_sf=$(tc_secret post "$POST_SECRET")
	tc_config "$FAST_RATE" "$FAST_BURST"
	fault_creds
	tc_daemon_start
}

# fault_hits_ge KEY N: the fault server has seen KEY at least N times.
fault_hits_ge() {
	[ "$(tc_fault_hits "$1" | wc -l)" -ge "$2" ]
}

# All of them added by one reload to the standard daemon, which lives on
# 9 s later.
t_faults_setup() {
	it_fault_server || return 1
	it_std || return 1
	fault_creds
	ctl reload >/dev/null || return 1
	sleep 9
	kill -0 "$(tc_worker_pid)" || { echo "daemon died"; return 1; }
	for f in $FAULTS; do
		ctl show "f-$f" >/dev/null || { echo "f-$f not registered"; return 1; }
	done
}

tc_scenario t_faults_setup "fault endpoint credentials added (stall, close, endless, 429, 503, malformed ...)"

t_faults_malformed_never_published() {
	faults_start || return 1
	for f in $FAULTS; do
		wait_json "f-$f" 'j.state == "failed"' 15 || return 1
	done
	local f st
	for f in $FAULTS; do
		ctl token "f-$f" >"$WORK/ftok" 2>&1 && { echo "f-$f gave a token"; return 1; }
		ctl show "f-$f" --json >"$WORK/f.json" || return 1
		st=$(tc_json "$WORK/f.json" 'j.state')
		[ "$st" = failed ] || { echo "f-$f: state $st"; return 1; }
		[ -n "$(tc_json "$WORK/f.json" 'j.last_error')" ] || { echo "f-$f: no error"; return 1; }
		grep -q "partial-tok" "$WORK/f.json" && { echo "partial token shown"; return 1; }
	done
	return 0
}

tc_scenario t_faults_malformed_never_published "malformed, truncated, redirected replies never publish a token"

t_faults_stall_and_size() {
	faults_start || return 1
	wait_for 20 fault_hits_ge /stall 2 || { echo "stall: fewer than 2 attempts in 20 s"; return 1; }
	wait_json f-endless 'j.state == "failed"' 15 || return 1
	wait_json f-huge 'j.state == "failed"' 15 || return 1
	local n g
	ctl show f-stall --json >"$WORK/f.json" || return 1
	tc_json "$WORK/f.json" 'j.last_error' | grep -qi "timed\? \?out" ||
	    { echo "stall: $(tc_json "$WORK/f.json" 'j.last_error')"; return 1; }
	# Each attempt lasts its 2 s timeout, then backs off at least 1 s.
	n=$(tc_fault_hits /stall | wc -l)
	[ "$n" -ge 2 ] || { echo "stall: $n attempts"; return 1; }
	g=$(min_gap /stall)
	[ "$g" -ge 2500 ] || { echo "stall: attempts $g ms apart"; return 1; }
	for f in endless huge; do
		ctl show "f-$f" --json >"$WORK/f.json" || return 1
		tc_json "$WORK/f.json" 'j.last_error' | grep -q "response larger than" ||
		    { echo "$f: $(tc_json "$WORK/f.json" 'j.last_error')"; return 1; }
	done
	# The daemon answered all along.
	timeout 2 "$CTL" --runtime-dir "$WORK/run" list >/dev/null || { echo "daemon slow"; return 1; }
}

tc_scenario t_faults_stall_and_size "a stalled server times out; endless and huge bodies are cut off"

t_faults_retry_after() {
	faults_start || return 1
	# Each retried at least once (the huge one is held: it is not).
	for k in "/status?code=429&after=3" "/status?code=429&after=date:3" \
	    "/status?code=503&after=2" "/status?code=429&after=soon" \
	    "/status?code=429&after=-5" "/status?code=500"; do
		wait_for 20 fault_hits_ge "$k" 2 || { echo "$k: fewer than 2 requests in 20 s"; return 1; }
	done
	local g n
	g=$(min_gap "/status?code=429&after=3")
	[ "$g" = none ] || [ "$g" -ge 2900 ] || { echo "429 Retry-After: 3 -> gap $g ms"; return 1; }
	g=$(min_gap "/status?code=429&after=date:3")
	[ "$g" = none ] || [ "$g" -ge 1500 ] || { echo "429 HTTP-date -> gap $g ms"; return 1; }
	g=$(min_gap "/status?code=503&after=2")
	[ "$g" = none ] || [ "$g" -ge 1900 ] || { echo "503 Retry-After: 2 -> gap $g ms"; return 1; }
	# Garbage and negative values count as absent: plain backoff, >= 1 s.
	for k in "/status?code=429&after=soon" "/status?code=429&after=-5" "/status?code=500"; do
		g=$(min_gap "$k")
		[ "$g" = none ] || [ "$g" -ge 900 ] || { echo "$k -> gap $g ms"; return 1; }
		n=$(tc_fault_hits "$k" | wc -l)
		[ "$n" -ge 2 ] || { echo "$k -> $n requests: no retry"; return 1; }
	done
	# A huge value is clamped (to an hour), not ignored: one request.
	n=$(tc_fault_hits "/status?code=429&after=99999999" | wc -l)
	expect_eq "$n" 1 "requests after Retry-After: 99999999" || return 1
	ctl show r-429 --json >"$WORK/f.json" || return 1
	tc_json "$WORK/f.json" 'j.last_error' | grep -q "slow_down" || return 1
}

tc_scenario t_faults_retry_after "Retry-After honoured (seconds, HTTP-date), garbage/negative ignored, huge clamped"

t_faults_redirect_not_followed() {
	faults_start || return 1
	wait_json f-redirect 'j.state == "failed"' 15 || return 1
	local n
	n=$(node -e '
		fetch(`http://127.0.0.1:'"$PF"'/_stats`).then((r) => r.json()).then((s) =>
		console.log(Object.keys(s).filter((k) => k.startsWith("other:")).length))')
	expect_eq "$n" 0 "requests that reached the redirect target" || return 1
	ctl show f-redirect --json >"$WORK/f.json" || return 1
	tc_json "$WORK/f.json" 'j.last_error' | grep -q "redirect not followed" ||
	    { echo "$(tc_json "$WORK/f.json" 'j.last_error')"; return 1; }
}

tc_scenario t_faults_redirect_not_followed "redirects are not followed; no request reaches the target"

# expires_in: a digit string counts; 0, negative, fractional or absent
# mean the default lifetime; huge is capped at max_lifetime.
t_faults_expires_in_rule() {
	faults_start || return 1
	for n in e-string e-zero e-negative e-float e-huge e-absent; do
		wait_json "$n" 'j.state == "valid"' 15 || return 1
	done
	local n want got
	for n in e-string:120 e-zero:777 e-negative:777 e-float:777 e-huge:5000 e-absent:888; do
		want=${n#*:}
		ctl show "${n%%:*}" --json >"$WORK/f.json" || return 1
		got=$(tc_json "$WORK/f.json" 'j.expires_at - j.fetched_at')
		[ "$got" -ge $((want - 1)) ] && [ "$got" -le $((want + 1)) ] ||
		    { echo "${n%%:*}: lifetime $got, want $want"; return 1; }
	done
}

tc_scenario t_faults_expires_in_rule "expires_in forms follow the documented rule"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
