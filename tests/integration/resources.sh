#!/usr/bin/env bash
# resources.sh - wall-clock jumps (libfaketime), a full or too small
# tmpfs, RLIMIT_MEMLOCK 0, descriptors used up in the daemon, a suspend.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/resources.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The reader's record (tc-resource deadline): tokens in order, never an
# error unless allowed, never a token past its deadline.
reader_clean() {
	grep -q LATE "$1" && { cat "$1"; echo "a token was served past its deadline"; return 1; }
	grep -q '^error' "$1" && { cat "$1"; echo "the reader saw an error"; return 1; }
	return 0
}

res_reader() {	# NAME SECONDS OUT: start tc-resource deadline in the background
	$FT "$B/tests/tc-resource" deadline "$WORK/run" "$1" "$2" >"$3" 2>&1 &
	RES_PIDS="$RES_PIDS $!"
	wait_grep '^ok 1' "$3" 20
}

# The fake offset lives in $WORK/faketime, re-read on every call
# (FAKETIME_NO_CACHE); CLOCK_MONOTONIC and CLOCK_BOOTTIME are left alone
# (FAKETIME_DONT_FAKE_MONOTONIC, checked by ft_check).  The worker is
# forked, not exec'd, so the preload survives the privilege drop; the file
# is world-readable for it.  ft_env sets $FT and fails, saying why, unless
# ft_check finds that libfaketime works here.
ft_env() {
	FT="env LD_PRELOAD=$FT_LIB FAKETIME_TIMESTAMP_FILE=$WORK/faketime FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1"
	# A sanitizer runtime must come first in the library list.
	[ $SANITIZED = 1 ] && FT="$FT ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0"
	ft_check
}

ft_set() {
	printf '%s\n' "$1" >"$WORK/faketime"
	chmod 0644 "$WORK/faketime"
}

# Does it work here: wall clock a day on, boot clock not faked?
ft_check() {
	local out
	ft_set +1d
	out=$($FT "$B/tests/tc-resource" clocks 2>&1) || { echo "$out"; return 1; }
	set -- $out
	[ $(($1 - $(date +%s))) -ge 86000 ] || { echo "wall clock not moved: $out"; return 1; }
	[ $(($2 - $(awk '{ print int($1) }' /proc/uptime))) -le 5 ] ||
	    { echo "boot clock faked too: $out"; return 1; }
	ft_set +0
}

# The daemon under the fake clock: tc_daemon_start with the same
# environment as $FT (its other commands see the fake wall clock too).
ft_daemon_start() {
	LD_PRELOAD=$FT_LIB FAKETIME_TIMESTAMP_FILE=$WORK/faketime \
	    FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
	    ASAN_OPTIONS=${ASAN_OPTIONS:-verify_asan_link_order=0:detect_leaks=0} \
	    tc_daemon_start
}

fctl() {
	$FT "$CTL" --runtime-dir "$WORK/run" "$@"
}

res_mount() {	# DIR SIZE
	mount -t tmpfs -o "size=$2,mode=0755" tokencache-it "$1" || return 1
	RES_MOUNTS="$1 $RES_MOUNTS"
}

# A suspend as a reader sees it at the resume: CLOCK_BOOTTIME and the wall
# clock on, CLOCK_MONOTONIC not (tc-resource suspend: a time namespace of
# its own and libfaketime; the daemon stays awake).  Tokens live an hour.
# After 10 minutes asleep the token is still served, with 10 minutes less
# left; after 2 hours it is served by neither the hot path nor the exact
# one.
# suspend_for SECONDS: one reader across a suspend that long; what it saw
# in $WORK/sSECONDS.out, shown.
suspend_for() {
	local st=0
	ft_set +0
	$FT "$B/tests/tc-resource" suspend "$WORK/run" long "$1" >"$WORK/s$1.out" 2>&1 || st=$?
	sed "s/^/$1 s: /" "$WORK/s$1.out"
	expect_eq "$st" 0 "tc-resource suspend $1"
}

t_res_suspend() {
	it_res_server long || return 1
	local before after
	ft_env || return 1
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred long "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")"
	tc_daemon_start || return 1
	ctl token long --wait 15 >/dev/null || return 1
	suspend_for 600 || return 1
	expect_grep "^hot path: ok, same token" "$WORK/s600.out" "600 s asleep" || return 1
	before=$(sed -n 's/^before: ok, \([0-9]*\) ms left/\1/p' "$WORK/s600.out")
	after=$(sed -n 's/^exact: ok, \([0-9]*\) ms left/\1/p' "$WORK/s600.out")
	[ -n "$before" ] && [ -n "$after" ] &&
	    [ "$after" -le $((before - 600000)) ] && [ "$after" -ge $((before - 630000)) ] ||
	    { echo "time left $before ms before, $after ms after 600 s asleep"; return 1; }
	suspend_for 7200 || return 1
	expect_grep "^hot path: error" "$WORK/s7200.out" "2 h asleep, hot path" || return 1
	expect_grep "^exact: error" "$WORK/s7200.out" "2 h asleep, exact"
}

tc_scenario t_res_suspend "a reader across a suspend: 10 min asleep, still served, 10 min less left; 2 h asleep, not served" faketime timens

# The wall clock jumps a day on, a day back, a year on, with the daemon and
# a reader running under it: no extra request, the same token, sane expiry.
# Then a fetch a year ahead (the JWT's exp is "in the past" by our clock,
# not by the server's Date) and a restart another year on (the adopted
# token's refresh is planned on CLOCK_BOOTTIME): one request in all.
t_res_clock_jumps() {
	it_res_server long || return 1
	local tok tok2 n0 exp off
	ft_env || return 1
	tc_config "$FAST_RATE" "$FAST_BURST" "refresh_min_interval = 0"
	tc_cred jwt "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")" \
	    "resource = urn:tokencache:test-api"
	ft_daemon_start || return 1
	tok=$(fctl token jwt --wait 15) || return 1
	n0=$(tc_stats "$PORT_reslong" it-res-a)
	res_reader jwt 120 "$WORK/reader.out" || return 1
	for off in +1d -1d +365d; do
		ft_set "$off"
		sleep 1.5
		fctl show jwt --json >"$WORK/show.json" || return 1
		expect_eq "$(tc_json "$WORK/show.json" j.state)" valid "state at $off" || return 1
		exp=$(tc_json "$WORK/show.json" j.expires_in)
		[ "$exp" -gt 3000 ] && [ "$exp" -le 3600 ] ||
		    { echo "expires_in $exp s at $off"; return 1; }
		expect_eq "$(fctl token jwt)" "$tok" "token at $off" || return 1
		fctl check >/dev/null || { echo "check failed at $off"; return 1; }
	done
	expect_eq "$(tc_stats "$PORT_reslong" it-res-a)" "$n0" "requests after the jumps" || return 1
	fctl refresh jwt >/dev/null || { tail -n 3 "$WORK/daemon.log"; return 1; }
	tok2=$(fctl token jwt) || return 1
	expect_ne "$tok2" "$tok" "token after a refresh a year ahead" || return 1
	fctl show jwt --json >"$WORK/show.json" || return 1
	exp=$(tc_json "$WORK/show.json" j.expires_in)
	[ "$exp" -gt 3500 ] && [ "$exp" -le 3600 ] ||
	    { echo "expires_in $exp s for a token fetched a year ahead"; return 1; }
	expect_eq "$(tc_stats "$PORT_reslong" it-res-a)" $((n0 + 1)) "requests after the refresh" || return 1
	tc_daemon_stop TERM || return 1
	ft_set +730d
	ft_daemon_start || return 1
	sleep 2
	expect_eq "$(fctl token jwt)" "$tok2" "token after a restart a year on" || return 1
	expect_eq "$(tc_stats "$PORT_reslong" it-res-a)" $((n0 + 1)) "requests after the restart" || return 1
	expect_grep "kept the cached token" "$WORK/daemon.log" "adopted" || return 1
	reader_clean "$WORK/reader.out" || return 1
	grep -q '^ok 2' "$WORK/reader.out" || { cat "$WORK/reader.out"; echo "reader missed the new token"; return 1; }
}

tc_scenario t_res_clock_jumps "wall clock +1 d, -1 d, +1 y: no extra request, same token, sane expiry" faketime

# The converse: a token whose real lifetime (10 s) runs out while every
# refresh fails is not served past its CLOCK_BOOTTIME deadline, though the
# wall clock went a day back meanwhile.
t_res_clock_back_expiry() {
	it_res_server short || return 1
	local st=0
	ft_env || return 1
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred short "$PORT_resshort" it-res-b "$(tc_secret b "$RES_SECRET")"
	ft_daemon_start || return 1
	fctl token short --wait 15 >/dev/null || return 1
	tc_server_ctl "$PORT_resshort" "/_fail?count=1000&status=503" || return 1
	$FT "$B/tests/tc-resource" deadline "$WORK/run" short 25 >"$WORK/reader.out" 2>&1 &
	local rpid=$!
	RES_PIDS="$RES_PIDS $rpid"
	wait_grep '^ok 1' "$WORK/reader.out" 20 || return 1
	ft_set -1d
	# "expired", or "failed" once a retry after the end has failed too
	# (as in a slower, sanitizer build): either way, nothing to serve.
	wait_json short 'j.expires_in == 0 && (j.state == "expired" || j.state == "failed")' 30 ||
	    { tc_server_ctl "$PORT_resshort" /_reset; return 1; }
	# Every fetch still fails: nothing to serve.
	fctl token short >/dev/null 2>&1 && { echo "an expired token was served"; return 1; }
	tc_server_ctl "$PORT_resshort" /_reset
	wait "$rpid" || st=$?
	grep -q LATE "$WORK/reader.out" && { cat "$WORK/reader.out"; echo "served past its deadline"; return 1; }
	expect_eq "$st" 0 "reader status" || return 1
	grep -q '^error' "$WORK/reader.out" || { cat "$WORK/reader.out"; echo "the reader never saw the token expire"; return 1; }
	cat "$WORK/reader.out"
	return 0
}

tc_scenario t_res_clock_back_expiry "wall clock set back: a token is not served past its boot-clock deadline" faketime

# An HTTP-date Retry-After 40 s ahead by the server's clock, our wall clock
# a day back: a 40 s hold, not one of a day (clamped to an hour).
t_res_retry_after_skew() {
	it_fault_server || return 1
	local next last
	ft_env || return 1
	ft_set -1d
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred skew "$PF/status?code=503&after=date:40&res=skew" it-res-a \
	    "$(tc_secret a "$RES_SECRET")"
	ft_daemon_start || return 1
	wait_json skew 'j.failures >= 1' 15 || return 1
	next=$(tc_json "$WORK/wait.json" j.next_refresh_at)
	last=$(tc_json "$WORK/wait.json" j.last_attempt_at)
	[ $((next - last)) -ge 35 ] && [ $((next - last)) -le 45 ] ||
	    { echo "retry planned $((next - last)) s after the attempt, not about 40"; return 1; }
}

tc_scenario t_res_retry_after_skew "HTTP-date Retry-After measured against the server's Date, not our clock" faketime

# A runtime directory too small for the segment: exit 1, a message naming
# the file and the failure, no segment or half-made file left behind.
t_res_tmpfs_too_small() {
	it_res_server long || return 1
	local st=0
	res_mount "$WORK/run" 1m || return 1
	tc_config
	tc_cred small "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")"
	timeout 30 "$DAEMON" -f -c "$WORK/tokencache.conf" >"$WORK/small.log" 2>&1 || st=$?
	cat "$WORK/small.log"
	expect_eq "$st" 1 "exit status" || return 1
	expect_grep "$WORK/run/cache" "$WORK/small.log" "names the file" || return 1
	expect_grep "No space left on device" "$WORK/small.log" "says why" || return 1
	ls -a "$WORK/run"
	for f in cache cache.new socket .socket; do
		[ ! -e "$WORK/run/$f" ] || { echo "$f left behind"; return 1; }
	done
}

tc_scenario t_res_tmpfs_too_small "runtime tmpfs too small for the segment: exit 1, clear message, nothing left" root

# The runtime tmpfs filled to the last byte under a running daemon: the
# preallocated segment takes refreshes, readers and new clients are
# served, reload and rotate-keys work, nothing crashes.
t_res_tmpfs_full() {
	it_res_server short || return 1
	local gen0 gen size
	res_mount "$WORK/run" 16m || return 1
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred short "$PORT_resshort" it-res-b "$(tc_secret b "$RES_SECRET")"
	tc_daemon_start || return 1
	ctl token short --wait 15 >/dev/null || return 1
	res_reader short 60 "$WORK/reader.out" || return 1
	ctl show short --json >"$WORK/show.json" || return 1
	gen0=$(tc_json "$WORK/show.json" j.generation)
	dd if=/dev/zero of="$WORK/run/filler" bs=1M 2>/dev/null
	dd if=/dev/zero of="$WORK/run/filler2" bs=4k 2>/dev/null
	dd if=/dev/zero of="$WORK/run/filler3" bs=1 count=1 2>/dev/null
	expect_eq "$(df --output=avail "$WORK/run" | tail -n1 | tr -d ' ')" 0 "space left" || return 1
	# Two refreshes (10 s tokens) published into the full tmpfs.
	wait_json short "j.generation >= $gen0 + 2" 30 || return 1
	ctl token short >/dev/null || { echo "a new client was not served"; return 1; }
	ctl reload >"$WORK/reload.out" 2>&1 || { cat "$WORK/reload.out"; echo "reload failed"; return 1; }
	ctl rotate-keys >/dev/null || { echo "rotate-keys failed"; return 1; }
	ctl token short >/dev/null || { echo "no token after rotate-keys"; return 1; }
	# The admin frees space by deleting the persistent copy: the daemon
	# lets go of the deleted file and writes a whole new one, even though
	# nothing else was freed.
	size=$(stat -c %s "$WORK/run/cache")
	rm -f "$WORK/run/cache"
	wait_grep "cache was deleted; wrote a new copy" "$WORK/daemon.log" 10 || return 1
	expect_eq "$(stat -c %s "$WORK/run/cache")" "$size" "size of the new copy" || return 1
	kill -0 "$DAEMON_PID" && kill -0 "$(tc_worker_pid)" || { echo "daemon gone"; return 1; }
	reader_clean "$WORK/reader.out" || return 1
	rm -f "$WORK"/run/filler*
}

tc_scenario t_res_tmpfs_full "runtime tmpfs full: refreshes publish, readers and new clients served" root

# RLIMIT_MEMLOCK 0: sodium_malloc ignores a failed mlock (libsodium's
# _sodium_malloc does not check sodium_mlock), so the daemon and the
# library both work, with nothing locked.  As root the reader runs as
# tc-it-alice: root may lock whatever its limit says.
t_res_memlock_zero() {
	it_res_server long || return 1
	local old tok w
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred mem "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")" \
	    "allow_users = tc-it-alice"
	old=$(ulimit -S -l)
	ulimit -S -l 0
	tc_daemon_start
	local st=$?
	ulimit -S -l "$old"
	[ $st = 0 ] || return 1
	w=$(tc_worker_pid)
	grep -q '^VmLck:[[:space:]]*0 kB' "/proc/$w/status" ||
	    { grep VmLck "/proc/$w/status"; echo "memory was locked: the limit did not apply"; return 1; }
	tok=$(ctl token mem --wait 15) || return 1
	if [ "${AS_ROOT:-0}" = 1 ]; then
		prlimit --memlock=0:0 setpriv --reuid=tc-it-alice \
		    --regid="$(id -g tc-it-alice)" --init-groups -- \
		    "$B/tests/tc-reader" "$WORK/run" mem >"$WORK/mem.out" 2>&1
	else
		prlimit --memlock=0:0 "$B/tests/tc-reader" "$WORK/run" mem >"$WORK/mem.out" 2>&1
	fi || { cat "$WORK/mem.out"; echo "reader under memlock 0 failed"; return 1; }
	expect_eq "$(head -n1 "$WORK/mem.out")" "$tok" "token read under memlock 0" || return 1
}

tc_scenario t_res_memlock_zero "RLIMIT_MEMLOCK 0: daemon and reader work, nothing locked"

# The longest runtime_dir the configuration takes, 99 bytes: the socket,
# bound under its longer temporary name first, still fits; the daemon
# serves there and leaves nothing temporary behind.  One byte more is a
# configuration error naming file and line.  ($WORK/run links to the
# directory, so that the helpers find it.)
t_res_longest_runtime_dir() {
	it_res_server long || return 1
	local dir=$WORK/long st=0
	[ ${#dir} -lt 97 ] || { echo "$WORK is too long for this test (TMPDIR)"; return 1; }
	dir=$dir/$(printf 'd%.0s' $(seq 1 $((99 - ${#dir} - 1))))
	expect_eq "${#dir}" 99 "length of the runtime directory" || return 1
	mkdir -p "$dir" && chmod 0755 "$WORK/long" "$dir" || return 1
	rmdir "$WORK/run" && ln -s "$dir" "$WORK/run" || return 1
	tc_config
	sed -i "s|^runtime_dir = .*|runtime_dir = $dir|" "$WORK/tokencache.conf"
	tc_cred long "$PORT_reslong" it-res-a "$(tc_secret a "$RES_SECRET")"
	tc_daemon_start || { echo "the daemon did not start"; return 1; }
	ctl token long --wait 15 >/dev/null || return 1
	[ -S "$dir/socket" ] || { echo "no socket in $dir"; return 1; }
	[ ! -e "$dir/.socket" ] || { echo ".socket left behind"; return 1; }
	tc_daemon_stop TERM || return 1
	sed -i "s|^runtime_dir = .*|runtime_dir = ${dir}d|" "$WORK/tokencache.conf"
	timeout 30 "$DAEMON" -f -c "$WORK/tokencache.conf" >"$WORK/long.log" 2>&1 || st=$?
	cat "$WORK/long.log"
	expect_eq "$st" 78 "exit status with a 100-byte runtime_dir (EX_CONFIG)" || return 1
	expect_grep "tokencache.conf:3: runtime_dir is longer than 99 bytes" \
	    "$WORK/long.log" "the error" || return 1
}

tc_scenario t_res_longest_runtime_dir "the longest runtime_dir (99 bytes) serves; one byte more is refused with file:line"

# The daemon out of descriptors (RLIMIT_NOFILE 40, 200 connections held):
# it does not spin on accept(), says so in its log (not per attempt),
# keeps serving readers their token, takes a refresh that gets no socket
# as a transient failure, and serves new clients once descriptors free.
t_res_daemon_emfile() {
	it_res_server mid || return 1
	local tok w t1 t2 hz i n
	tc_config "$FAST_RATE" "$FAST_BURST"
	tc_cred mid "$PORT_resmid" it-res-a "$(tc_secret a "$RES_SECRET")"
	# (Not ulimit in this shell: bash itself needs descriptors.  The
	# subshell must not run the scenario's EXIT trap.  The hard limit too: the
	# worker raises its soft limit to the hard one.)
	(trap - EXIT; ulimit -n 40 && exec "$DAEMON" -f -d -c "$WORK/tokencache.conf") \
	    >>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for i in $(seq 1 100); do
		[ -S "$WORK/run/socket" ] && break
		sleep 0.05
	done
	tok=$(ctl token mid --wait 15) || return 1
	res_reader mid 120 "$WORK/reader.out" || return 1
	w=$(tc_worker_pid)
	grep 'Max open files' "/proc/$w/limits"
	"$B/tests/tc-resource" hog "$WORK/run" 200 100 >"$WORK/hog.out" 2>&1 &
	local hog=$!
	RES_PIDS="$RES_PIDS $hog"
	wait_grep "accept (" "$WORK/daemon.log" 15 || return 1
	hz=$(getconf CLK_TCK)
	t1=$(awk '{ print $14 + $15 }' "/proc/$w/stat")
	sleep 4
	t2=$(awk '{ print $14 + $15 }' "/proc/$w/stat")
	echo "worker CPU over 4 s out of descriptors: $((t2 - t1)) ticks of $hz/s"
	[ $((t2 - t1)) -lt $((4 * hz / 2)) ] || { echo "the daemon spins"; return 1; }
	n=$(grep -c "accept (" "$WORK/daemon.log")
	[ "$n" -le 2 ] || { echo "accept failure logged $n times"; return 1; }
	# The refresh (at 28-32 s of 40) comes while no descriptor is free.
	# libcurl may reuse its kept-alive connection to the server and
	# succeed; if it needs a new socket, the attempt fails as a transient
	# failure and the current token is served on.  Either way the daemon
	# lives, and the reader (checked below) never sees an error.
	for i in $(seq 1 450); do
		[ "$(grep -c 'mid: requesting a token' "$WORK/daemon.log")" -ge 2 ] &&
		    grep -q 'mid: new Bearer token.*\|mid: fetch failed' \
		    <(sed -n '/accept (/,$p' "$WORK/daemon.log") && break
		sleep 0.1
	done
	if grep -q "mid: fetch failed" "$WORK/daemon.log"; then
		expect_grep "mid: fetch failed (transient" "$WORK/daemon.log" "log" || return 1
		expect_grep "still serving the current token" "$WORK/daemon.log" "log" || return 1
		echo "the refresh found no descriptor: a transient failure"
	else
		[ "$(sed -n '/accept (/,$p' "$WORK/daemon.log" | grep -c 'mid: new Bearer token')" -ge 1 ] ||
		    { echo "no refresh attempt while out of descriptors"; return 1; }
		echo "the refresh reused libcurl's kept connection and succeeded"
	fi
	kill "$hog"
	wait "$hog"
	ctl token mid --wait 15 >/dev/null || { echo "no new client served after"; return 1; }
	for i in $(seq 1 200); do
		[ "$(ctl token mid)" != "$tok" ] && break
		sleep 0.1
	done
	expect_ne "$(ctl token mid)" "$tok" "token after descriptors freed" || return 1
	reader_clean "$WORK/reader.out" || return 1
	kill -0 "$DAEMON_PID" || { echo "daemon gone"; return 1; }
}

tc_scenario t_res_daemon_emfile "daemon out of descriptors: no accept spin, logged once, readers and then new clients served" root

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
