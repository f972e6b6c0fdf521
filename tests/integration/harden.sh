#!/usr/bin/env bash
# harden.sh - what a local user, a fake daemon or a hostile token
# endpoint cannot do, and what check and reload say.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/harden.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HARD_KINDS="crlf esc space del high nul"

# A user who asks for segments on ever more connections and never reads a
# reply (each carries the memfd over SCM_RIGHTS, charged to the daemon's
# user until received) must not stop another user's new reader.  The
# daemon runs with RLIMIT_NOFILE 64, so that the old daemon ran out after
# about 64 unread replies, 1.3 s of the attack; the attack goes on for
# 6 s (300 requests) before the reader starts, and on while it reads.
t_hard_segment_hoard() {
	it_res_server long || return 1
	local out i c0 c1
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred acl "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")" \
	    "allow_users = tc-it-alice"
	TC_DAEMON_WRAP="prlimit --nofile=64:64 --" tc_daemon_start || return 1
	ctl token acl --wait 15 >/dev/null || return 1
	as_user_bg tc-it-dave "$B/tests/tc-sockfuzz" hoard "$WORK/run" acl 14 \
	    >"$WORK/hoard.out" 2>&1 &
	RES_PIDS="$RES_PIDS $!"
	sleep 4
	# Connections at the end of their input but holding unread replies
	# are kept, not polled: the daemon does not spin on them.
	c0=$(awk '{ print $14 + $15 }' "/proc/$(tc_worker_pid)/stat")
	sleep 2
	c1=$(awk '{ print $14 + $15 }' "/proc/$(tc_worker_pid)/stat")
	[ $((c1 - c0)) -lt $(($(getconf CLK_TCK) )) ] ||
	    { echo "the worker used $((c1 - c0)) ticks of CPU in 2 s"; return 1; }
	for i in 1 2 3; do
		out=$(as_user tc-it-alice timeout 10 "$CTL" --runtime-dir "$WORK/run" \
		    token acl 2>&1) ||
		    { echo "alice's new reader $i while dave hoards: $out"; return 1; }
		expect_eq "$out" "$(ctl token acl)" "alice's token" || return 1
		sleep 1
	done
	ctl check >"$WORK/check.out" 2>&1 ||
	    { cat "$WORK/check.out"; echo "check failed while dave hoards"; return 1; }
	wait_grep '^hoard:' "$WORK/hoard.out" 15 || return 1
	cat "$WORK/hoard.out"
	if grep "cannot send the segment" "$WORK/daemon.log"; then
		echo "a segment send failed"
		return 1
	fi
}

tc_scenario t_hard_segment_hoard "a user hoarding unread segment replies does not stop another user's new reader" root serial

# A service of one user that starts many processes at once: the replies to
# their first reads are unread for a moment, past the daemon's count of a
# user's unread segment replies, and some are told "busy"; busy is "not
# now", so those ask again within their deadline, and every one gets the
# token (without the library's retry, some reported "busy").
t_hard_same_user_herd() {
	it_res_server long || return 1
	local n=40 st=0
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred acl "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")" \
	    "allow_users = tc-it-alice"
	tc_daemon_start || return 1
	ctl token acl --wait 15 >/dev/null || return 1
	as_user tc-it-alice "$B/tests/tc-reader" "$WORK/run" acl $n herd \
	    >"$WORK/uherd.out" 2>&1 || st=$?
	cat "$WORK/uherd.out"
	expect_eq "$st" 0 "the herd's status" || return 1
	expect_eq "$(tail -n 1 "$WORK/uherd.out")" \
	    "$n of $n got a token, the same generation" "the herd" || return 1
}

tc_scenario t_hard_same_user_herd "a service of one user starting 40 readers at once: every one gets the token (busy is asked again)" root

# Eight users hoard at once, each on as many connections as the daemon
# lets a user have (16), asking for segments and never reading: before
# the parked set, their 128 connections, unread replies all, filled the
# daemon's table for good, and it stopped listening, so root's and
# alice's new readers and check timed out.  Now each keeps at most 4
# unread replies (parked, outside the table) and is told busy past them;
# the rest of their connections may be evicted.
t_hard_multi_user_hoard() {
	it_res_server long || return 1
	local u out i
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred acl "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")" \
	    "allow_users = tc-it-alice"
	tc_daemon_start || return 1
	ctl token acl --wait 15 >/dev/null || return 1
	for u in $IT_HOARDERS; do
		as_user_bg "$u" "$B/tests/tc-sockfuzz" hoard "$WORK/run" acl 20 \
		    >"$WORK/hoard-$u.out" 2>&1 &
		RES_PIDS="$RES_PIDS $!"
	done
	sleep 5
	for i in 1 2 3; do
		out=$(as_user tc-it-alice timeout 10 "$CTL" --runtime-dir "$WORK/run" \
		    token acl 2>&1) ||
		    { echo "alice's new reader $i while 8 users hoard: $out"; return 1; }
		expect_eq "$out" "$(ctl token acl)" "alice's token" || return 1
		out=$(timeout 10 "$B/tests/tc-reader" "$WORK/run" acl 2>&1) ||
		    { echo "root's new reader $i while 8 users hoard: $out"; return 1; }
		out=$(timeout 10 "$CTL" --runtime-dir "$WORK/run" check 2>&1) ||
		    { echo "check $i while 8 users hoard: $out"; return 1; }
		sleep 1
	done
	for u in $IT_HOARDERS; do
		wait_grep '^hoard:' "$WORK/hoard-$u.out" 25 || return 1
	done
	cat "$WORK"/hoard-*.out
	if grep "cannot send the segment" "$WORK/daemon.log"; then
		echo "a segment send failed"
		return 1
	fi
}

tc_scenario t_hard_multi_user_hoard "eight users hoarding unread segment replies on every connection they may have do not stop root's or another user's new reader, nor check" root serial

# A daemon run by another user (dave, in a directory of his) is refused
# by the library, whatever the reader is told to trust by the path; its
# user trusts it, but not a forged token it serves.  TOKENCACHE_DAEMON_USER
# naming dave (an ordinary user) changes nothing.
t_hard_fake_daemon_refused() {
	local fake=$WORK/fake out u want
	mkdir -p "$fake" && chown tc-it-dave "$fake" && chmod 0755 "$fake" || return 1
	as_user_bg tc-it-dave "$B/tests/tc-fakedaemon" "$fake" serve 60 >"$WORK/fake.out" 2>&1 &
	RES_PIDS="$RES_PIDS $!"
	wait_grep '^ready' "$WORK/fake.out" 10 || return 1
	want="tokencachectl: good: $fake/socket: control socket refused: its listener is not root, tokencached's user or ours"
	for u in tc-it-alice tc-it-bob; do
		out=$(as_user "$u" "$CTL" --runtime-dir "$fake" token good 2>&1) &&
		    { echo "$u read from dave's daemon: $out"; return 1; }
		expect_eq "$out" "$want" "$u reading dave's daemon" || return 1
		# The C API, through the shared object.
		out=$(as_user "$u" "$B/tests/tc-reader" "$fake" good 2>&1) &&
		    { echo "$u's C reader got a token from dave's daemon: $out"; return 1; }
		expect_eq "$out" "tc-reader: good: control socket refused: its listener is not root, tokencached's user or ours" \
		    "$u's C reader" || return 1
	done
	out=$("$CTL" --runtime-dir "$fake" token good 2>&1) &&
	    { echo "root read from dave's daemon: $out"; return 1; }
	expect_eq "$out" "$want" "root reading dave's daemon" || return 1
	# TOKENCACHE_DAEMON_USER counts only when it names a system account:
	# whoever sets a service's environment cannot make it trust dave.
	out=$(TOKENCACHE_DAEMON_USER=tc-it-dave as_user tc-it-alice "$CTL" \
	    --runtime-dir "$fake" token good 2>&1) &&
	    { echo "TOKENCACHE_DAEMON_USER=tc-it-dave was honoured: $out"; return 1; }
	expect_eq "$out" "$want" "with TOKENCACHE_DAEMON_USER=tc-it-dave" || return 1
	out=$(TOKENCACHE_DAEMON_USER=$(id -u tc-it-dave) as_user tc-it-alice "$CTL" \
	    --runtime-dir "$fake" token good 2>&1) &&
	    { echo "TOKENCACHE_DAEMON_USER=<dave's uid> was honoured: $out"; return 1; }
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$fake" token good) ||
	    { echo "dave could not read his own daemon"; return 1; }
	expect_eq "$out" fake-good-token "dave's own daemon" || return 1
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$fake" token forged 2>&1) &&
	    { echo "a forged token was printed"; return 1; }
	expect_eq "$out" "tokencachectl: forged: token refused: it has a byte outside visible ASCII (0x21-0x7E)" \
	    "forged token" || return 1
}

tc_scenario t_hard_fake_daemon_refused "a daemon run by another user is refused by the library; forged token bytes are refused" root

# A daemon run by a system account that TOKENCACHE_DAEMON_USER names
# (tc-it-daemon, as the whole suite runs) is trusted; and the library
# looks that user up once per process, not on every call to the daemon:
# check makes two (PING, SEGMENT), the old library read /etc/passwd for
# each.
t_hard_daemon_user_once() {
	local fake=$WORK/fake out n
	mkdir -p "$fake" && chown tc-it-daemon "$fake" && chmod 0755 "$fake" || return 1
	as_user_bg tc-it-daemon "$B/tests/tc-fakedaemon" "$fake" serve 60 >"$WORK/fake.out" 2>&1 &
	RES_PIDS="$RES_PIDS $!"
	wait_grep '^ready' "$WORK/fake.out" 10 || return 1
	out=$(as_user tc-it-alice "$CTL" --runtime-dir "$fake" token good) ||
	    { echo "TOKENCACHE_DAEMON_USER=tc-it-daemon not honoured"; return 1; }
	expect_eq "$out" fake-good-token "tc-it-daemon's daemon" || return 1
	# strace -u: strace itself becomes alice, so no setpriv's lookups
	# are counted.
	# LeakSanitizer cannot run under ptrace: off for the traced ones.
	ASAN_OPTIONS=detect_leaks=0 strace -u tc-it-alice -f -e trace=openat \
	    -o "$WORK/strace.out" "$CTL" --runtime-dir "$fake" check >"$WORK/check.out" 2>&1 ||
	    { cat "$WORK/check.out"; return 1; }
	n=$(grep -c '"/etc/passwd"' "$WORK/strace.out")
	expect_eq "$n" 1 "opens of /etc/passwd by one check (two calls)" || return 1
}

tc_scenario t_hard_daemon_user_once "a system account named by TOKENCACHE_DAEMON_USER is trusted, and looked up once per process" root

# check asks for the segment as a new reader would: a daemon that answers
# a ping but hands out no segment fails it.
t_hard_check_needs_segment() {
	local pid out st
	"$B/tests/tc-fakedaemon" "$WORK/run" nofd 60 >"$WORK/fake.out" 2>&1 &
	pid=$!
	RES_PIDS="$RES_PIDS $pid"
	wait_grep '^ready' "$WORK/fake.out" 10 || return 1
	st=0
	out=$(ctl check 2>&1) || st=$?
	expect_eq "$st" 2 "check's exit status (CRITICAL): $out" || return 1
	expect_eq "$(printf '%s\n' "$out" | sed -n 's/ | .*//; 1p')" \
	    "TOKENCACHE CRITICAL - tokencached hands out no cache segment; 2 of 2 credentials OK" \
	    "check's summary" || return 1
	expect_eq "$(printf '%s\n' "$out" | sed -n 2p)" \
	    "daemon: hands out no cache segment, new readers get no token: malformed reply from tokencached" \
	    "check" || return 1
	ctl check --json >"$WORK/check.json"
	expect_eq "$(tc_json "$WORK/check.json" '[j.daemon.reachable, j.daemon.segment, j.ok, j.status]')" \
	    '[true,false,false,"CRITICAL"]' "check --json" || return 1
	kill "$pid"
	wait "$pid" 2>/dev/null
	"$B/tests/tc-fakedaemon" "$WORK/run" serve 60 >"$WORK/fake2.out" 2>&1 &
	RES_PIDS="$RES_PIDS $!"
	wait_grep '^ready' "$WORK/fake2.out" 10 || return 1
	out=$(ctl check 2>&1) || { echo "check failed: $out"; return 1; }
	expect_eq "$(printf '%s\n' "$out" | sed 's/ | .*//')" "TOKENCACHE OK - 2 credentials valid
daemon: fake daemon" "check" || return 1
	kill "${RES_PIDS##* }"; wait "${RES_PIDS##* }" 2>/dev/null
	# A descriptor that is no segment is refused and closed once (the
	# probe closed it twice: EBADF, or someone else's descriptor).
	"$B/tests/tc-fakedaemon" "$WORK/run" badfd 60 >"$WORK/fake3.out" 2>&1 &
	RES_PIDS="$RES_PIDS $!"
	wait_grep '^ready' "$WORK/fake3.out" 10 || return 1
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=close -o "$WORK/strace.out" \
	    "$CTL" --runtime-dir "$WORK/run" check >"$WORK/check.out" 2>&1 &&
	    { cat "$WORK/check.out"; return 1; }
	expect_grep "^daemon: hands out no cache segment" "$WORK/check.out" "check" || return 1
	if grep EBADF "$WORK/strace.out"; then
		echo "check closed a descriptor twice"
		return 1
	fi
}

tc_scenario t_hard_check_needs_segment "check fails when the daemon hands out no segment"

t_hard_forged_not_published() {
	it_fault_server || return 1
	local k st sf
	tc_config "$FAST_RATE" "$FAST_BURST"
	sf=$(tc_secret p "$POST_SECRET")
	for k in $HARD_KINDS; do
		tc_cred "b-$k" "$PF/token-bytes?kind=$k" it-post "$sf" "timeout = 2"
	done
	tc_daemon_start || return 1
	for k in $HARD_KINDS; do
		wait_json "b-$k" 'j.state === "failed"' 15 || return 1
		tc_json "$WORK/wait.json" j.last_error | grep -q "byte outside 0x21..0x7e" ||
		    { echo "b-$k: $(tc_json "$WORK/wait.json" j.last_error)"; return 1; }
		ctl token "b-$k" >"$WORK/tok" 2>&1 && { echo "b-$k gave a token"; return 1; }
		grep -q "X-Injected" "$WORK/tok" && { cat "$WORK/tok"; return 1; }
		expect_grep "^tokencachectl: b-$k: fetching the token failed: access_token contains a byte outside 0x21..0x7e" "$WORK/tok" "b-$k" || return 1
	done
	[ "$(tc_fault_hits "/token-bytes?kind=crlf" | wc -l)" -ge 1 ] ||
	    { echo "the forged reply was never asked for"; return 1; }
	if grep -q "X-Injected" "$WORK/daemon.log"; then
		echo "the forged token reached the log"
		return 1
	fi
}

tc_scenario t_hard_forged_not_published "tokens with CR LF, escapes, space, DEL, high bytes or NUL are never published"

# A denied user asking as fast as it can: every reply says denied, none
# "busy", past the per-user rate too; the log has one line for it and,
# once the daemon stops (or a minute is over), one with the count.
t_hard_denials() {
	it_res_server long || return 1
	local dave out denied busy ms n
	tc_config "$FAST_RATE" "$FAST_BURST" "admin_group = tc-it-admins"
	tc_cred acl "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")" \
	    "allow_users = tc-it-alice"
	tc_daemon_start || return 1
	ctl token acl --wait 15 >/dev/null || return 1
	dave=$(id -u tc-it-dave)
	as_user tc-it-dave "$B/tests/tc-sockfuzz" deny "$WORK/run" acl 2000 >"$WORK/deny.out" || return 1
	cat "$WORK/deny.out"
	denied=$(sed -n 's/^deny: \([0-9]*\) denied.*/\1/p' "$WORK/deny.out")
	busy=$(sed -n 's/.* \([0-9]*\) busy.*/\1/p' "$WORK/deny.out")
	ms=$(sed -n 's/.* in \([0-9]*\) ms$/\1/p' "$WORK/deny.out")
	expect_eq "$busy" 0 "denied requests answered busy" || return 1
	expect_eq "$denied" 2000 "denied requests answered denied" || return 1
	# The per-user rate lets 200 at once and 100 a second through: 2000
	# in under 18 s went past it (this machine does them in about 1 s).
	[ "${ms:-99999}" -lt 18000 ] ||
	    { echo "2000 requests took $ms ms: the rate limit was never reached"; return 1; }
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" token acl 2>&1) &&
	    { echo "dave read acl"; return 1; }
	expect_eq "$out" "tokencachectl: acl: permission denied" "dave's reader" || return 1
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" reload 2>&1) &&
	    { echo "dave reloaded"; return 1; }
	expect_eq "$out" "tokencachectl: reload: permission denied: needs root or admin_group" \
	    "dave's reload" || return 1
	tc_daemon_stop TERM || return 1
	grep "denied" "$WORK/daemon.log"
	n=$(grep -c "acl: denied key to uid $dave" "$WORK/daemon.log")
	expect_eq "$n" 2 "log lines about dave's denied key" || return 1
	n=$(sed -n "s/.*acl: denied key to uid $dave \([0-9]*\) more times in the last [0-9]* s.*/\1/p" \
	    "$WORK/daemon.log")
	[ "${n:-0}" -ge "$denied" ] || { echo "denials counted in the log: '$n', sent $denied"; return 1; }
}

tc_scenario t_hard_denials "a denied user is told denied at any rate; denials are logged once a minute with a count" root

# The denial log stays bounded whatever a denied user asks for: 75
# (user, operation, credential) combinations in turn (more than the 64
# the log table holds; an LRU table re-logged each at full rate), and
# INVALIDATE with 3000 fresh names (each made a line).  Within the
# minute: at most one line per table entry and one for the overflow,
# and as many with the counts when the daemon stops.
t_hard_denial_log_bounded() {
	it_res_server long || return 1
	local i n dave
	tc_config "$FAST_RATE" "$FAST_BURST"
	for i in $(seq 0 24); do
		tc_cred "d$i" "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")" \
		    "allow_users = tc-it-alice"
	done
	tc_daemon_start || return 1
	dave=$(id -u tc-it-dave)
	as_user tc-it-dave "$B/tests/tc-sockfuzz" deny "$WORK/run" d 3000 25 kwi || return 1
	as_user tc-it-dave "$B/tests/tc-sockfuzz" deny "$WORK/run" x 3000 3000 i || return 1
	as_user tc-it-bob "$B/tests/tc-sockfuzz" deny "$WORK/run" d 300 25 k || return 1
	tc_daemon_stop TERM || return 1
	n=$(grep -c "denied .* to uid \|more denials\? from" "$WORK/daemon.log")
	echo "$n denial lines"
	[ "$n" -le 130 ] || { grep denied "$WORK/daemon.log" | tail -5; echo "$n lines about denials"; return 1; }
	grep -qwE "x[0-9]+" "$WORK/daemon.log" && { echo "a name that is no credential was logged"; return 1; }
	n=$(grep -c "denied key to uid $dave " "$WORK/daemon.log")
	[ "$n" -ge 1 ] || { echo "dave's denials were not logged"; return 1; }
	grep -q "more denials from" "$WORK/daemon.log" ||
	    { echo "no overflow count"; return 1; }
}

tc_scenario t_hard_denial_log_bounded "the denial log stays bounded: many combinations, fresh names" root

# A credential that cannot load (an empty secret file): reload fails with
# the file, line and reason, and check fails saying the same until the
# configuration loads again.
t_hard_check_config_not_loaded() {
	it_res_server long || return 1
	local sf out want line st
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred good "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")"
	tc_daemon_start || return 1
	ctl token good --wait 15 >/dev/null || return 1
	out=$(ctl check 2>&1) || { echo "$out"; return 1; }
	sf=$WORK/secrets/empty
	(umask 077 && : >"$sf")
	tc_cred empty "$PORT_reslong" it-res-b "$sf"
	line=$(grep -n '^client_secret_file' "$WORK/creds/empty.conf" | cut -d: -f1)
	want="$WORK/creds/empty.conf:$line: client_secret_file $sf is empty"
	out=$(ctl reload 2>&1) && { echo "reload accepted an empty secret: $out"; return 1; }
	expect_eq "$out" "tokencachectl: reload: not reloaded, the running configuration stays: $want" \
	    "reload" || return 1
	# WARNING: the credentials it serves are fine, a new one is not
	# served.
	st=0
	out=$(ctl check 2>&1) || st=$?
	expect_eq "$st" 1 "check's exit status (WARNING): $out" || return 1
	expect_eq "$(printf '%s\n' "$out" | sed -n 's/ | .*//; 1,2p')" \
	    "TOKENCACHE WARNING - configuration not loaded; 1 of 1 credential OK
configuration: not loaded, tokencached runs the previous one: $want" \
	    "check" || return 1
	# Others learn that it did not load, not why (the reason names files,
	# credentials and values).  Needs throwaway users.
	if [ "${AS_ROOT:-0}" = 1 ]; then
		st=0
		out=$(as_user tc-it-alice "$CTL" --runtime-dir "$WORK/run" check 2>&1) || st=$?
		expect_eq "$st" 1 "alice's check's exit status: $out" || return 1
		expect_eq "$(printf '%s\n' "$out" | sed -n 2p)" "configuration: not loaded, tokencached runs the previous one: see tokencached's log (the reason is told only to root and admin_group)" \
		    "alice's check" || return 1
	fi
	ctl check --json >"$WORK/check.json"
	expect_eq "$(tc_json "$WORK/check.json" '[j.daemon.configuration_loaded, j.ok, j.status]')" \
	    '[false,false,"WARNING"]' "check --json" || return 1
	# SIGHUP says the same to check.
	rm -f "$WORK/creds/empty.conf"
	ctl reload >/dev/null || return 1
	ctl check >/dev/null || { ctl check; return 1; }
	tc_cred empty "$PORT_reslong" it-res-b "$sf"
	kill -HUP "$DAEMON_PID"
	wait_for 5 sh -c "! '$CTL' --runtime-dir '$WORK/run' check >/dev/null 2>&1" ||
	    { echo "check still passes after a failed SIGHUP reload"; return 1; }
	rm -f "$WORK/creds/empty.conf"
	ctl reload >/dev/null && ctl check >/dev/null || { ctl check; return 1; }
}

tc_scenario t_hard_check_config_not_loaded "a credential that cannot load fails reload and check with file:line"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
