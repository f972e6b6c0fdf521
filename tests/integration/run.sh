#!/usr/bin/env bash
# Integration tests: a real OAuth 2.0 server (oidc-provider, pinned in
# tests/oauth-server), the real tokencached, the real client library and
# tokencachectl, in a private directory.  Only 127.0.0.1 is ever contacted.
#
#   bash tests/integration/run.sh          (make check-integration)
#   KEEP=1 bash tests/integration/run.sh   keep the work directory
#   ONLY=REGEX bash tests/integration/run.sh
#                                          only the tests whose function
#                                          name matches (setup tests such
#                                          as t_faults_setup are not implied)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib.sh"
# A strict umask: the modes of the runtime files must not depend on it.
umask 077

pass=0
fail=0
skip=0
failed_names=
DAEMON_PID=
IT_USERS="tc-it-daemon tc-it-alice tc-it-bob tc-it-carol tc-it-dave tc-it-admin tc-it-h1 tc-it-h2 tc-it-h3 tc-it-h4"
# Every user but the daemon's and alice: the segment hoarders (t_harden.sh).
IT_HOARDERS="tc-it-bob tc-it-carol tc-it-dave tc-it-admin tc-it-h1 tc-it-h2 tc-it-h3 tc-it-h4"
IT_GROUPS="tc-it-readers tc-it-extra tc-it-admins"

finish() {
	local u
	tc_stop_all
	if [ "${AS_ROOT:-0}" = 1 ]; then
		for u in $IT_USERS; do userdel "$u" 2>/dev/null; done
		for u in $IT_GROUPS; do groupdel "$u" 2>/dev/null; done
	fi
	if [ "${KEEP:-0}" = 1 ] || [ $fail -gt 0 ]; then
		echo "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# Tests run in this shell (not a subshell), so that a test may restart
# the daemon and the next one still knows its pid.
run_test() {
	local name=$1 t0=$SECONDS
	shift
	if [ -n "${ONLY:-}" ] && ! [[ $1 =~ $ONLY ]]; then
		return 0
	fi
	if "$@" >"$WORK/test.out" 2>&1; then
		pass=$((pass + 1))
		echo "ok   - $name ($((SECONDS - t0)) s)"
	else
		fail=$((fail + 1))
		failed_names="$failed_names $name"
		echo "FAIL - $name ($((SECONDS - t0)) s)"
		sed 's/^/       /' "$WORK/test.out"
	fi
}

# A sanitizer build (make check SANITIZE=...) reserves terabytes of shadow
# memory: no core dump of it is sensible, and LeakSanitizer cannot run
# under strace.
SANITIZED=0
ldd "$DAEMON" 2>/dev/null | grep -qE 'lib(asan|tsan|ubsan)' && SANITIZED=1

# Tests that need real users run only as root (as CI does); elsewhere
# they are reported as skipped, with the reason.
root_test() {
	if [ "${AS_ROOT:-0}" = 1 ]; then
		run_test "$@"
	else
		skip=$((skip + 1))
		echo "skip - $1 (needs root to create users and groups)"
	fi
}

# Assertions: print what went wrong and fail the test function.
expect_eq() {
	[ "$1" = "$2" ] && return 0
	echo "$3: expected '$2', got '$1'"
	return 1
}
expect_ne() {
	[ "$1" != "$2" ] && return 0
	echo "$3: expected something other than '$2'"
	return 1
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds, tried every 0.1 s;
# 1 if it has not after SECONDS.
wait_for() {
	local i n=$(($1 * 10))
	shift
	for i in $(seq 1 "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# wait_registered NAME: a SIGHUP reload is asynchronous; wait (up to 5 s)
# until it has registered NAME.
wait_registered() {
	wait_for 5 ctl show "$1" >/dev/null 2>&1 && return 0
	echo "$1 was not registered by the reload"
	return 1
}
# wait_stats PORT N: up to 5 s for the server to have seen N requests.
wait_stats() {
	local i
	for i in $(seq 1 50); do
		[ "$(tc_stats "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
}
# wait_grep PATTERN FILE SECONDS: until PATTERN is in FILE.
wait_grep() {
	wait_for "$3" grep -qs -- "$1" "$2" && return 0
	echo "'$1' not in $2 after $3 s"
	return 1
}
# wait_first_token FILE...: until each background reader has printed its
# first token (up to 15 s each): only then does it hold its key, and may
# the test stop the daemon under it.  Name the files, not a glob: a reader
# just started may not have opened its file yet.
wait_first_token() {
	local f
	for f in "$@"; do
		wait_for 15 test -s "$f" || { echo "$f: no first token after 15 s"; return 1; }
	done
}
expect_grep() {
	grep -q -- "$1" "$2" && return 0
	echo "$3: '$1' not found in $2"
	return 1
}

# ---------------------------------------------------------------- setup

tc_workdir
POST_SECRET='post-secret-0123456789'
# RFC 6749 §2.3.1: a secret with a space and characters that must be
# form-encoded before base64 for client_secret_basic.
BASIC_SECRET='basic sec:ret+%&=/?'
BAD_SECRET='not-the-right-secret'
cat >"$WORK/clients.json" <<EOF
[
 {"client_id": "it-post", "client_secret": "$POST_SECRET",
  "token_endpoint_auth_method": "client_secret_post",
  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []},
 {"client_id": "it-basic", "client_secret": "$BASIC_SECRET",
  "token_endpoint_auth_method": "client_secret_basic",
  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []},
 {"client_id": "it-fanout", "client_secret": "$POST_SECRET",
  "token_endpoint_auth_method": "client_secret_post",
  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []},
 {"client_id": "it-herd", "client_secret": "$POST_SECRET",
  "token_endpoint_auth_method": "client_secret_post",
  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []},
 {"client_id": "it-refresh", "client_secret": "$POST_SECRET",
  "token_endpoint_auth_method": "client_secret_post",
  "grant_types": ["client_credentials"], "redirect_uris": [], "response_types": []}
]
EOF

echo "starting OAuth servers (npm ci on first use)..."
tc_server main "$WORK/clients.json" 3600 || { echo "Bail out: no OAuth server"; exit 1; }
tc_server short "$WORK/clients.json" 8 || { echo "Bail out: no OAuth server"; exit 1; }
tc_server mid "$WORK/clients.json" 20 || { echo "Bail out: no OAuth server"; exit 1; }
tc_fault_server || { echo "Bail out: no fault server"; exit 1; }
PF=$PORT_fault
P=$PORT_main
PS=$PORT_short
PM=$PORT_mid
post_sf=$(tc_secret post "$POST_SECRET")
basic_sf=$(tc_secret basic "$BASIC_SECRET")
bad_sf=$(tc_secret bad "$BAD_SECRET")

# As root: real users and groups for the access-control matrix, and a
# daemon user to drop to.
AS_ROOT=0
if [ "$(id -u)" = 0 ]; then
	AS_ROOT=1
	for g in $IT_GROUPS; do groupadd -f "$g"; done
	for u in $IT_USERS; do userdel "$u" 2>/dev/null; done
	useradd --system --no-create-home --shell /usr/sbin/nologin tc-it-daemon
	useradd --no-create-home --shell /bin/sh tc-it-alice
	useradd --no-create-home --shell /bin/sh -g tc-it-readers tc-it-bob
	useradd --no-create-home --shell /bin/sh -G tc-it-extra tc-it-carol
	useradd --no-create-home --shell /bin/sh tc-it-dave
	useradd --no-create-home --shell /bin/sh -G tc-it-admins tc-it-admin
	for u in tc-it-h1 tc-it-h2 tc-it-h3 tc-it-h4; do
		useradd --no-create-home --shell /bin/sh "$u"
	done
	DAEMON_USER=tc-it-daemon
	# The library trusts a control socket served by root, its own user
	# or the daemon's user (tokencache(3)): name the tests' one.
	export TOKENCACHE_DAEMON_USER=tc-it-daemon
fi
# Run a command as one of the users above, with their groups.
as_user() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}

# The rate guard gets a test of its own; elsewhere it must not slow the
# suite down.  So does the minimum between explicit refreshes (t_sched.sh):
# here every `tokencachectl refresh` is a request.
FAST_RATE="endpoint_rate = 500"
FAST_BURST="endpoint_burst = 500"
tc_config "admin_group = tc-it-admins" "$FAST_RATE" "$FAST_BURST" \
    "refresh_min_interval = 0"
tc_cred acl "$P" it-post "$post_sf" "allow_users = tc-it-alice" \
    "allow_groups = tc-it-readers tc-it-extra"
tc_cred opaque-post "$P" it-post "$post_sf"
tc_cred jwt-basic "$P" it-basic "$basic_sf" "auth_method = client_secret_basic" \
    "resource = urn:tokencache:test-api"
tc_cred jwt-audience "$P" it-post "$post_sf" "audience = urn:tokencache:zeebe"
tc_cred short-lived "$PS" it-refresh "$post_sf"
tc_cred flaky "$PM" it-refresh "$post_sf"
tc_cred wrong-secret "$P" it-post "$bad_sf"
tc_daemon_start || { cat "$WORK/daemon.log"; echo "Bail out: daemon did not start"; exit 1; }

# ---------------------------------------------------------------- tests

token_of() {	# NAME FILE: fetch (waiting up to 15 s) into FILE
	ctl token "$1" --wait 15 >"$2"
}

t_post_opaque() {
	token_of opaque-post "$WORK/t1" || return 1
	tc_verify "$P" it-post "$POST_SECRET" "$WORK/t1" | grep -q 'valid opaque' ||
	    { echo "server rejected the opaque token"; return 1; }
}

t_basic_jwt() {
	token_of jwt-basic "$WORK/t2" || return 1
	tc_verify "$P" it-basic "$BASIC_SECRET" "$WORK/t2" | grep -q 'valid jwt' ||
	    { echo "server rejected the JWT"; return 1; }
}

t_audience_jwt() {
	token_of jwt-audience "$WORK/t3" || return 1
	tc_verify "$P" it-post "$POST_SECRET" "$WORK/t3" | grep -q 'valid jwt' ||
	    { echo "server rejected the JWT"; return 1; }
}

t_list_json() {
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

t_permanent_failure_reported() {
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

t_no_plaintext_anywhere() {
	local f t
	for t in "$WORK/t1" "$WORK/t2" "$WORK/t3"; do
		for f in "$WORK"/run/* "$WORK/daemon.log"; do
			[ -f "$f" ] || continue
			if grep -qF -- "$(cat "$t")" "$f"; then
				echo "token from $t found in $f"
				return 1
			fi
		done
	done
	for s in "$POST_SECRET" "$BASIC_SECRET" "$BAD_SECRET"; do
		for f in "$WORK"/run/* "$WORK/daemon.log"; do
			[ -f "$f" ] || continue
			grep -qF -- "$s" "$f" && { echo "secret found in $f"; return 1; }
		done
	done
	return 0
}

t_modes() {
	expect_eq "$(stat -c %a "$WORK/run")" 755 "runtime dir" || return 1
	expect_eq "$(stat -c %a "$WORK/run/cache")" 644 "segment" || return 1
	expect_eq "$(stat -c %a "$WORK/run/socket")" 666 "socket" || return 1
	expect_eq "$(stat -c %a "$WORK/run/master.key")" 600 "master key" || return 1
}

# Many reader processes at once, asking for a credential the daemon has
# not fetched yet: exactly one request reaches the server.
t_fanout_single_request() {
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

# More first readers at once than the daemon has connections (128): the
# rest wait in the listen backlog, none is refused, one request in all.
t_herd_of_first_reads() {
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

t_hot_reads_no_requests() {
	local before i
	before=$(tc_stats "$P")
	for i in $(seq 1 50); do ctl token opaque-post >/dev/null || return 1; done
	expect_eq "$(tc_stats "$P")" "$before" "requests after 50 reads" || return 1
}

# ttl 8 s: refreshed at 70-80 % of the lifetime, so a new token arrives
# before the old one expires and readers never see a gap.
t_refresh_before_expiry() {
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

# A refresh that fails keeps the old token in service; the daemon backs
# off (the fault server sends Retry-After: 1) and succeeds before expiry
# (20 s tokens, refreshed after 14-16 s).
t_failed_refresh_keeps_token() {
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

t_explicit_refresh() {
	local before
	before=$(tc_stats "$P" it-basic)
	ctl refresh jwt-basic || return 1
	token_of jwt-basic "$WORK/t2b" || return 1
	expect_ne "$(cat "$WORK/t2b")" "$(cat "$WORK/t2")" "token after refresh" || return 1
	expect_eq "$(tc_stats "$P" it-basic)" $((before + 1)) "requests" || return 1
}

t_reload_keeps_tokens() {
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

t_broken_reload_rejected() {
	local tok
	tok=$(ctl token opaque-post) || return 1
	printf '[credential]\nprovider = oauth2\ntoken_ur = x\n' >"$WORK/creds/broken.conf"
	kill -HUP "$DAEMON_PID"
	wait_grep "broken.conf:3" "$WORK/daemon.log" 10 || return 1
	rm -f "$WORK/creds/broken.conf"
	expect_eq "$(ctl token opaque-post)" "$tok" "token after failed reload" || return 1
}

t_second_daemon_refused() {
	local st=0
	"$DAEMON" -f -c "$WORK/tokencache.conf" >"$WORK/second.log" 2>&1 || st=$?
	[ $st -ne 0 ] || { echo "second daemon started"; return 1; }
	expect_grep "another tokencached" "$WORK/second.log" "message" || return 1
	ctl check >/dev/null 2>&1 || ctl list >/dev/null || return 1
}

# A running reader keeps its key and keeps reading while the daemon is
# gone; a new process needs the daemon for its key (see README).
t_restart_adopts() {
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

t_sigkill_then_restart() {
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


# ---------------------------------------------------------------- access

t_privileges_dropped() {
	local w uid
	w=$(tc_worker_pid)
	uid=$(id -u tc-it-daemon)
	[ "$w" != "$DAEMON_PID" ] || { echo "no separate worker process"; return 1; }
	expect_eq "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/$w/status)" \
	    "$uid $uid $uid $uid" "worker uids" || return 1
	expect_eq "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' /proc/$w/status)" \
	    "$(id -g tc-it-daemon) $(id -g tc-it-daemon) $(id -g tc-it-daemon) $(id -g tc-it-daemon)" \
	    "worker gids" || return 1
	expect_eq "$(awk '/^Groups:/ { print $2 }' /proc/$w/status)" "" "supplementary groups" || return 1
	expect_eq "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$w/status)" 1 "no_new_privs" || return 1
	expect_eq "$(awk '/^Uid:/ { print $2 }' /proc/$DAEMON_PID/status)" 0 "monitor uid" || return 1
	expect_eq "$(stat -c %U "$WORK/run")" tc-it-daemon "runtime dir owner" || return 1
	expect_eq "$(stat -c %U "$WORK/run/cache")" tc-it-daemon "cache owner" || return 1
	expect_eq "$(stat -c %U "$WORK/run/master.key")" tc-it-daemon "master key owner" || return 1
	grep -q "running as tc-it-daemon" "$WORK/daemon.log" || { echo "log"; return 1; }
}

t_proc_not_readable() {
	local p
	for p in "$(tc_worker_pid)" "$DAEMON_PID"; do
		as_user tc-it-dave cat "/proc/$p/environ" >/dev/null 2>&1 &&
		    { echo "/proc/$p/environ readable by another user"; return 1; }
		as_user tc-it-dave head -c 16 "/proc/$p/mem" >/dev/null 2>&1 &&
		    { echo "/proc/$p/mem readable by another user"; return 1; }
		grep -qF -- "$POST_SECRET" "/proc/$p/cmdline" && { echo "secret in cmdline"; return 1; }
		grep -qF -- "$POST_SECRET" "/proc/$p/environ" && { echo "secret in environ"; return 1; }
	done
	return 0
}

# who reads `acl`: alice by name, bob by primary group, carol by a
# supplementary group, root; not dave.
t_access_matrix() {
	local want u out
	want=$(ctl token acl --wait 15) || return 1
	for u in tc-it-alice tc-it-bob tc-it-carol; do
		out=$(as_user "$u" "$CTL" --runtime-dir "$WORK/run" token acl) ||
		    { echo "$u was denied"; return 1; }
		expect_eq "$out" "$want" "token read by $u" || return 1
	done
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" token acl 2>&1) &&
	    { echo "tc-it-dave read the token"; return 1; }
	printf '%s' "$out" | grep -q "permission denied" ||
	    { echo "dave's error does not say permission denied: $out"; return 1; }
	printf '%s' "$out" | grep -qF -- "$want" && { echo "token in the error"; return 1; }
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" token opaque-post 2>&1) &&
	    { echo "dave read a credential with no allow lists"; return 1; }
	# Everyone may list names and states, never tokens.
	as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" list >"$WORK/dave-list" || return 1
	grep -qF -- "$want" "$WORK/dave-list" && { echo "token in list"; return 1; }
	return 0
}

# Remove alice (SIGHUP): her running process, which holds the key, can no
# longer read the token; bob and carol still can; then give it back.
t_revoke_on_reload() {
	local rpid conf=$WORK/creds/acl.conf out
	as_user tc-it-alice "$B/tests/tc-reader" "$WORK/run" acl 4 watch \
	    >"$WORK/alice-watch" 2>&1 &
	rpid=$!
	wait_grep '^ok ' "$WORK/alice-watch" 15 || return 1
	cp "$conf" "$WORK/acl.conf.saved"
	sed -i 's/^allow_users = .*/allow_users = nobody/' "$conf"
	kill -HUP "$DAEMON_PID"
	wait "$rpid"
	grep -q '^ok ' "$WORK/alice-watch" || { cat "$WORK/alice-watch"; echo "alice never read it"; return 1; }
	tail -n1 "$WORK/alice-watch" | grep -q "error permission denied" ||
	    { cat "$WORK/alice-watch"; echo "alice's process still reads after revocation"; return 1; }
	as_user tc-it-alice "$CTL" --runtime-dir "$WORK/run" token acl >/dev/null 2>&1 &&
	    { echo "a new process of alice reads"; return 1; }
	out=$(as_user tc-it-bob "$CTL" --runtime-dir "$WORK/run" token acl) ||
	    { echo "bob lost access"; return 1; }
	expect_grep "keys rotated" "$WORK/daemon.log" "log" || return 1
	cp "$WORK/acl.conf.saved" "$conf"
	kill -HUP "$DAEMON_PID"
	# The reload is asynchronous: she is let in once it is done.
	wait_for 5 as_user tc-it-alice "$CTL" --runtime-dir "$WORK/run" token acl \
	    >/dev/null 2>&1 || { echo "alice not readmitted after 5 s"; return 1; }
}

t_rotate_keys() {
	local tok before after epoch0 epoch1 out
	tok=$(ctl token acl) || return 1
	before=$(md5sum <"$WORK/run/cache")
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" rotate-keys 2>&1) &&
	    { echo "dave rotated keys"; return 1; }
	printf '%s' "$out" | grep -q "permission denied" || { echo "$out"; return 1; }
	as_user tc-it-admin "$CTL" --runtime-dir "$WORK/run" rotate-keys >"$WORK/rot" ||
	    { echo "admin_group member could not rotate"; return 1; }
	grep -q "keys rotated, epoch" "$WORK/rot" || return 1
	after=$(md5sum <"$WORK/run/cache")
	expect_ne "$after" "$before" "segment after rotation" || return 1
	# Same tokens, new keys: readers ask again and get them.
	expect_eq "$(as_user tc-it-carol "$CTL" --runtime-dir "$WORK/run" token acl)" "$tok" \
	    "token after rotation" || return 1
	expect_eq "$(ctl token opaque-post)" "$(cat "$WORK/t1")" "other token after rotation" || return 1
}

t_admin_commands() {
	local tok out
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" reload 2>&1) &&
	    { echo "dave reloaded"; return 1; }
	printf '%s' "$out" | grep -q "permission denied" || { echo "$out"; return 1; }
	as_user tc-it-admin "$CTL" --runtime-dir "$WORK/run" reload | grep -q "configuration reloaded" ||
	    { echo "admin could not reload"; return 1; }
	out=$(as_user tc-it-dave "$CTL" --runtime-dir "$WORK/run" invalidate acl 2>&1) &&
	    { echo "dave invalidated"; return 1; }
	tok=$(ctl token acl) || return 1
	ctl invalidate acl | grep -q "invalidated" || return 1
	out=$(ctl token acl --wait 15) || return 1
	expect_ne "$out" "$tok" "token after invalidate" || return 1
}

t_secret_file_owner_refused() {
	local f=$WORK/secrets/alice-owned
	(umask 077 && printf '%s\n' "$POST_SECRET" >"$f")
	chown tc-it-alice "$f"
	tc_cred alice-owned "$P" it-post "$f"
	ctl reload >"$WORK/reload.out" 2>&1 && { echo "reload accepted it"; return 1; }
	grep -q "alice-owned" "$WORK/reload.out" || { cat "$WORK/reload.out"; return 1; }
	rm -f "$WORK/creds/alice-owned.conf"
	chmod 0644 "$f"; chown root "$f"
	tc_cred world-readable "$P" it-post "$f"
	ctl reload >"$WORK/reload.out" 2>&1 && { echo "reload accepted a 0644 secret"; return 1; }
	grep -q "world-readable\|group- or world\|mode" "$WORK/reload.out" ||
	    { cat "$WORK/reload.out"; return 1; }
	rm -f "$WORK/creds/world-readable.conf"
	ctl reload >/dev/null || return 1
}

t_socket_fuzz() {
	local tok
	as_user tc-it-dave "$B/tests/tc-sockfuzz" fuzz "$WORK/run" acl 600 >"$WORK/fuzz.out" ||
	    { cat "$WORK/fuzz.out"; return 1; }
	cat "$WORK/fuzz.out"
	kill -0 "$(tc_worker_pid)" || { echo "daemon died"; return 1; }
	ctl check >/dev/null 2>&1 || ctl list >/dev/null || return 1
	tok=$(ctl token opaque-post) || { echo "no token after fuzzing"; return 1; }
}

t_rate_limit_and_conn_cap() {
	local n
	as_user tc-it-dave "$B/tests/tc-sockfuzz" flood "$WORK/run" 1000 >"$WORK/flood.out" || return 1
	cat "$WORK/flood.out"
	n=$(sed -n 's/.* \([0-9]*\) rate limited/\1/p' "$WORK/flood.out")
	[ "${n:-0}" -gt 0 ] || { echo "1000 pings were never rate limited"; return 1; }
	"$B/tests/tc-sockfuzz" flood "$WORK/run" 1000 >"$WORK/flood-root.out" || return 1
	grep -q " 0 rate limited" "$WORK/flood-root.out" || { echo "root was rate limited"; return 1; }
	sleep 2	# let dave's bucket fill again
	as_user tc-it-dave "$B/tests/tc-sockfuzz" conns "$WORK/run" 40 >"$WORK/conns.out" || return 1
	cat "$WORK/conns.out"
	n=$(sed -n 's/conns: \([0-9]*\) of.*/\1/p' "$WORK/conns.out")
	[ "${n:-0}" -ge 1 ] && [ "${n:-0}" -le 16 ] || { echo "served $n of 40 connections"; return 1; }
}

# 140 connections that never speak, more than the daemon's table holds: a
# client that does speak is answered by closing silent ones that have had
# 200 ms, well before their 2 s deadline (the PING goes 500 ms after them;
# its answer takes about 5 ms, 450 without the wake at 200 ms, which this
# bound does not tell apart), and the daemon does not spin while the rest
# wait for that deadline.
t_silent_connections_evicted() {
	"$B/tests/tc-sockfuzz" silent "$WORK/run" 140 1800 "$(tc_worker_pid)"
}

# A worker that fails at once, as a failed privilege drop would, while
# the monitor is still on its way to watching it (a test hook delays the
# monitor 200 ms): the monitor must see the exit and leave with status 1,
# not wait for a signal it has already missed.
t_worker_fails_at_once() {
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

# The worker and the monitor, dumped with gcore: no token, no secret.
t_no_secrets_in_core() {
	local p t s c n=0
	command -v gcore >/dev/null || { echo "gcore not installed (tests/deps.sh installs gdb)"; return 1; }
	ctl refresh jwt-basic >/dev/null || return 1
	ctl token jwt-basic >"$WORK/tcore" || return 1
	# Right after a reload, the monitor has just read and packed every
	# secret, and the worker unpacked them.
	ctl reload >/dev/null || return 1
	for p in "$(tc_worker_pid)" "$DAEMON_PID"; do
		# Never write a core of an odd giant (a sanitizer build).
		[ "$(awk '/^VmSize:/ { print $2 }' /proc/$p/status)" -lt 4194304 ] ||
		    { echo "process $p maps more than 4 GiB: no core taken"; return 1; }
		gcore -o "$WORK/core" "$p" >/dev/null 2>&1 || { echo "gcore $p failed"; return 1; }
		c=$WORK/core.$p
		[ -s "$c" ] || { echo "no core for $p"; return 1; }
		n=$((n + 1))
		for t in "$WORK/t1" "$WORK/t2b" "$WORK/t3" "$WORK/tcore"; do
			[ -f "$t" ] || continue
			if grep -qF -- "$(cat "$t")" "$c"; then echo "token $t in core of $p"; return 1; fi
		done
		for s in "$POST_SECRET" "$BASIC_SECRET" "$BAD_SECRET"; do
			if grep -qF -- "$s" "$c"; then echo "a secret in the core of $p"; return 1; fi
		done
		# The Basic header form of the secret, too.
		if grep -qF -- "$(printf 'it-basic:basic+sec%%3Aret%%2B%%25%%26%%3D%%2F%%3F' | base64 -w0)" "$c"; then
			echo "Basic credentials in the core of $p"; return 1
		fi
		rm -f "$c"
	done
	expect_eq "$n" 2 "cores examined" || return 1
}

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

# A daemon restarted on a cache made under another configuration does not
# serve a token that answered the old request.
# A reload that changes only how tokens are fetched (timeout,
# default_lifetime, a higher max_lifetime) keeps the token; one that lowers
# max_lifetime below what the token has left fetches a new one; so does a
# restart.
t_reload_fetch_settings() {
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

t_restart_changed_request() {
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

# ---------------------------------------------------------------- faults

# Credentials on the fault-injecting endpoint, added by one reload.
FAULTS="stall close-mid endless huge html empty bad-json no-token empty-token
no-type not-object redirect"
t_faults_setup() {
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
	ctl reload >/dev/null || return 1
	sleep 9
	kill -0 "$(tc_worker_pid)" || { echo "daemon died"; return 1; }
}

t_faults_malformed_never_published() {
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

t_faults_stall_and_size() {
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

# min_gap KEY: the smallest gap (ms) between requests for KEY; "none" if
# fewer than two.
min_gap() {
	tc_fault_hits "$1" | awk 'NR > 1 { g = $1 - p; if (m == "" || g < m) m = g } { p = $1 }
	    END { print (m == "" ? "none" : m) }'
}

t_faults_retry_after() {
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

t_faults_redirect_not_followed() {
	local n
	n=$(node -e '
		fetch(`http://127.0.0.1:'"$PF"'/_stats`).then((r) => r.json()).then((s) =>
		console.log(Object.keys(s).filter((k) => k.startsWith("other:")).length))')
	expect_eq "$n" 0 "requests that reached the redirect target" || return 1
	ctl show f-redirect --json >"$WORK/f.json" || return 1
	tc_json "$WORK/f.json" 'j.last_error' | grep -q "redirect not followed" ||
	    { echo "$(tc_json "$WORK/f.json" 'j.last_error')"; return 1; }
}

# expires_in: a digit string counts; 0, negative, fractional or absent
# mean the default lifetime; huge is capped at max_lifetime.
t_faults_expires_in_rule() {
	local n want got
	for n in e-string:120 e-zero:777 e-negative:777 e-float:777 e-huge:5000 e-absent:888; do
		want=${n#*:}
		ctl show "${n%%:*}" --json >"$WORK/f.json" || return 1
		got=$(tc_json "$WORK/f.json" 'j.expires_at - j.fetched_at')
		[ "$got" -ge $((want - 1)) ] && [ "$got" -le $((want + 1)) ] ||
		    { echo "${n%%:*}: lifetime $got, want $want"; return 1; }
	done
}

# The endpoint rate guard: four credentials on one endpoint, one request
# a second (burst 1): no two requests closer than a second.
t_endpoint_rate_guard() {
	local i g n t0
	sed -i "s/^$FAST_RATE\$/endpoint_rate = 1/; s/^$FAST_BURST\$/endpoint_burst = 1/" "$WORK/tokencache.conf"
	for i in 1 2 3 4; do
		tc_cred "g-$i" "$PF/ok?ttl=3600" it-post "$post_sf"
	done
	# Counted by the server's arrival times (ms), not by when we look.
	t0=$(date +%s%3N)
	ctl reload >/dev/null || return 1
	sleep 1.5
	n=$(tc_fault_hits "/ok?ttl=3600" | awk -v end=$((t0 + 1500)) '$1 < end' | wc -l)
	[ "$n" -le 2 ] || { echo "$n requests in the first 1.5 s"; return 1; }
	for i in 1 2 3 4; do ctl token "g-$i" --wait 10 >/dev/null || return 1; done
	expect_eq "$(tc_fault_hits "/ok?ttl=3600" | wc -l)" 4 "requests" || return 1
	g=$(min_gap "/ok?ttl=3600")
	[ "$g" -ge 950 ] || { echo "gap $g ms between requests to one endpoint"; return 1; }
	sed -i "s/^endpoint_rate = 1\$/$FAST_RATE/; s/^endpoint_burst = 1\$/$FAST_BURST/" "$WORK/tokencache.conf"
	ctl reload >/dev/null || return 1
}

# SIGKILL at random moments while the daemon publishes token after token
# (an explicit refresh in a loop), then a restart, several times over,
# while readers run throughout: none of them may see an error, and every
# token any of them read must be one the server signed (a torn token
# would not verify).
t_sigkill_random_moments() {
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

# tc_readers_ok PREFIX N TOKEN_FILE...: the N readers PREFIX.1..N all
# exited 0 (none killed by a signal: that would be 128+), and every token
# they printed is one the server issued.
tc_readers_ok() {
	local prefix=$1 n=$2 i t st
	for i in $(seq 1 "$n"); do
		st=0
		wait "$(cat "$prefix.$i.pid")" || st=$?
		[ "$st" = 0 ] || { echo "reader $i: exit status $st"; cat "$prefix.$i.err"; return 1; }
		while read -r t; do
			printf '%s' "$t" >"$WORK/one.tok"
			tc_verify "$P" it-post "$POST_SECRET" "$WORK/one.tok" | grep -q valid ||
			    { echo "reader $i: a token the server does not know: $t"; return 1; }
		done <"$prefix.$i.out"
	done
}

# tc_readers_start PREFIX FROM TO SECONDS NAME: follow-mode readers.
tc_readers_start() {
	local prefix=$1 from=$2 to=$3 secs=$4 name=$5 i
	for i in $(seq "$from" "$to"); do
		"$B/tests/tc-reader" "$WORK/run" "$name" "$secs" >"$prefix.$i.out" 2>"$prefix.$i.err" &
		echo $! >"$prefix.$i.pid"
	done
}

# The daemon dies in the middle of writing opaque-post's token (and only
# that one: other credentials fall due too).  Readers started before keep a
# whole token throughout and move to the restarted daemon's new token
# before theirs expires; readers started after read the new one.
t_kill_mid_publish() {
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
	# Later tests compare with the credential's current token.
	cp "$WORK/kill.tok" "$WORK/t1"
}

# Readers map a sealed memfd, never runtime_dir/cache: truncating,
# deleting or replacing that file cannot crash them (it used to be SIGBUS).
# The daemon notices on its tick and writes a new copy; a restart adopts.
t_segment_file_abuse() {
	local tok before size i n r=$WORK/abuse f=$WORK/run/cache
	tok=$(ctl token opaque-post) || return 1
	size=$(stat -c %s "$f")
	before=$(tc_stats "$P")
	tc_readers_start "$r" 1 6 14 opaque-post
	wait_first_token $(seq -f "$r.%g.out" 1 6) || return 1
	# (a) truncated, to nothing and to less than a header.
	for n in 0 100; do
		truncate -s "$n" "$f" || return 1
		for i in $(seq 1 100); do
			[ "$(stat -c %s "$f")" = "$size" ] && break
			sleep 0.1
		done
		expect_eq "$(stat -c %s "$f")" "$size" "size after truncate -s $n" || return 1
	done
	wait_grep "cache was truncated or extended; wrote a new copy" "$WORK/daemon.log" 10 || return 1
	ctl list | grep -q '^opaque-post ' || { echo "list after the repair"; return 1; }
	# (b) deleted.
	rm -f "$f"
	for i in $(seq 1 100); do [ -e "$f" ] && break; sleep 0.1; done
	expect_eq "$(stat -c %s "$f")" "$size" "size after delete" || return 1
	wait_grep "cache was deleted; wrote a new copy" "$WORK/daemon.log" 10 || return 1
	expect_eq "$(stat -c %a "$f")" 644 "mode of the new copy" || return 1
	# (c) replaced with garbage of the right size.
	head -c "$size" /dev/urandom >"$WORK/garbage"
	cp "$WORK/garbage" "$f.tmp" && mv "$f.tmp" "$f"
	for i in $(seq 1 100); do cmp -s "$WORK/garbage" "$f.old" && break; sleep 0.1; done
	cmp -s "$WORK/garbage" "$f.old" || { echo "cache.old does not hold the garbage"; return 1; }
	for i in $(seq 1 100); do ! cmp -s "$WORK/garbage" "$f" && break; sleep 0.1; done
	wait_grep "cache was replaced; wrote a new copy" "$WORK/daemon.log" 10 || return 1
	# (d) a restart adopts the repaired copy: no request for a token
	# that is not due.
	before=$(tc_stats "$P")
	n=$(grep -c "adopted the existing cache" "$WORK/daemon.log")
	tc_daemon_stop TERM || return 1
	tc_daemon_start || return 1
	expect_eq "$(grep -c "adopted the existing cache" "$WORK/daemon.log")" $((n + 1)) "adoptions logged" || return 1
	expect_eq "$(ctl token opaque-post)" "$tok" "token after restart" || return 1
	tc_readers_ok "$r" 6 || return 1
	for i in $(seq 1 6); do
		expect_eq "$(sort -u "$r.$i.out")" "$tok" "reader $i: tokens seen" || return 1
	done
	expect_eq "$(tc_stats "$P")" "$before" "requests after the restart" || return 1
	# Truncated while no daemon runs: tokencachectl says so; the next
	# daemon keeps it aside and starts afresh.
	tc_daemon_stop TERM || return 1
	truncate -s 100 "$f"
	ctl list >"$WORK/abuse.list" 2>&1 && { echo "list read a truncated copy"; return 1; }
	expect_grep "corrupt" "$WORK/abuse.list" "list on a truncated copy" || return 1
	tc_daemon_start || return 1
	expect_eq "$(stat -c %s "$f.old")" 100 "the truncated copy kept" || return 1
	expect_grep "cache: token cache is corrupt; not adopted" "$WORK/daemon.log" "log" || return 1
	ctl token opaque-post --wait 15 >"$WORK/t1" || return 1
}

t_c_api_reader() {
	"$B/tests/tc-reader" "$WORK/run" opaque-post >"$WORK/c.out" || return 1
	expect_eq "$(head -n1 "$WORK/c.out")" "$(ctl token opaque-post)" "token via C" || return 1
}

run_test "client_secret_post: opaque token accepted by the server" t_post_opaque
run_test "client_secret_basic (RFC 6749 2.3.1 encoding): JWT verified against JWKS" t_basic_jwt
run_test "audience parameter: JWT verified" t_audience_jwt
run_test "list --json fields" t_list_json
run_test "invalid_client: reported, not looped" t_permanent_failure_reported
run_test "runtime directory modes" t_modes
run_test "64 concurrent readers cause exactly one token request" t_fanout_single_request
run_test "600 first reads at once, beyond the connection table: all served, one request" t_herd_of_first_reads
run_test "reads do not reach the OAuth server" t_hot_reads_no_requests
run_test "token refreshed before it expires, no gap for readers" t_refresh_before_expiry
run_test "a failing refresh keeps the old token; backoff, then a new one" t_failed_refresh_keeps_token
run_test "tokencachectl refresh fetches a new token" t_explicit_refresh
run_test "SIGHUP adds and removes credentials, keeps tokens" t_reload_keeps_tokens
run_test "broken configuration on SIGHUP is rejected with file:line" t_broken_reload_rejected
run_test "a second daemon on the same runtime directory is refused" t_second_daemon_refused
run_test "SIGTERM exits cleanly; restart adopts tokens without requests" t_restart_adopts
run_test "SIGKILL: readers keep the token, restart adopts" t_sigkill_then_restart
run_test "SIGKILL at random moments of refreshing, 8 times: readers see no error, no torn token" t_sigkill_random_moments
# The hot path makes no system call: under strace, nothing stands between
# the two getppid() calls that bracket 1000 reads in tc-reader.
t_hot_path_no_syscalls() {
	command -v strace >/dev/null || { echo "strace not installed (tests/deps.sh installs it)"; return 1; }
	ASAN_OPTIONS=detect_leaks=0 strace -o "$WORK/strace.out" \
	    "$B/tests/tc-reader" "$WORK/run" opaque-post >/dev/null || return 1
	awk '/getppid/ { n++; next } n == 1 { print; bad++ } END { exit (n >= 2 && !bad) ? 0 : 1 }' \
	    "$WORK/strace.out" || { echo "system calls inside the hot loop (or no markers)"; return 1; }
}

# make install honours PREFIX and DESTDIR; a program builds against the
# installed header, library and pkg-config file.
t_install() {
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

t_no_sanitizer_reports() {
	if grep -E "AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:" \
	    "$WORK/daemon.log"; then
		return 1
	fi
}

run_test "SIGKILL mid-publish: 8 readers keep whole tokens; restart repairs the slot; all move to the new token" t_kill_mid_publish
run_test "segment file truncated, deleted, replaced under 6 readers: no crash, rewritten, adopted" t_segment_file_abuse
run_test "restart after a configuration change: the old request's token is dropped" t_restart_changed_request
run_test "reload: timeout and lifetime changes keep the token; a lower max_lifetime does not" t_reload_fetch_settings
root_test "the worker runs as the daemon user, no groups, no_new_privs" t_privileges_dropped
root_test "/proc/<daemon>/{environ,mem} unreadable by others; no secret in cmdline" t_proc_not_readable
root_test "access matrix: user, primary group, supplementary group, root; others denied" t_access_matrix
root_test "access removed on SIGHUP: a running reader loses it, others keep it" t_revoke_on_reload
root_test "rotate-keys: admin_group only; readers pick up new keys" t_rotate_keys
root_test "reload and invalidate need root or admin_group" t_admin_commands
root_test "secret files owned by another user or world-readable are refused" t_secret_file_owner_refused
root_test "socket fuzzing by an unprivileged peer: no crash, no key" t_socket_fuzz
root_test "per-user rate limit and connection cap; root not limited" t_rate_limit_and_conn_cap
run_test "140 silent connections do not keep a speaking client waiting" t_silent_connections_evicted
root_test "a worker that fails at once: the monitor exits 1, no hang" t_worker_fails_at_once
if [ $SANITIZED = 1 ]; then
	skip=$((skip + 1))
	echo "skip - no token or secret in a core (a sanitizer build: its shadow memory makes a core of terabytes; the plain build runs this test)"
else
	root_test "no token or secret in a core of the worker or the monitor" t_no_secrets_in_core
fi
run_test "fault endpoint credentials added (stall, close, endless, 429, 503, malformed ...)" t_faults_setup
run_test "malformed, truncated, redirected replies never publish a token" t_faults_malformed_never_published
run_test "a stalled server times out; endless and huge bodies are cut off" t_faults_stall_and_size
run_test "Retry-After honoured (seconds, HTTP-date), garbage/negative ignored, huge clamped" t_faults_retry_after
run_test "redirects are not followed; no request reaches the target" t_faults_redirect_not_followed
run_test "expires_in forms follow the documented rule" t_faults_expires_in_rule
run_test "the per-endpoint rate guard spaces requests" t_endpoint_rate_guard
run_test "without -f: start-up errors on stderr, status 78 for a configuration error, 1 otherwise; success once serving" t_background_start
run_test "a C program using the shared library reads the token, also after fork" t_c_api_reader
run_test "the hot read path makes no system call (strace)" t_hot_path_no_syscalls
run_test "make install with PREFIX and DESTDIR; build against it" t_install
# Resource exhaustion and wall-clock jumps.
. "$TOP/tests/integration/t_resource.sh"
# Hardening: what a local user or a fake daemon cannot do.
. "$TOP/tests/integration/t_harden.sh"
# The scheduler under pressure (uses t_resource.sh's in_private).
. "$TOP/tests/integration/t_sched.sh"
# The root monitor: signals, the runtime directory's path and owners.
. "$TOP/tests/integration/t_privsep.sh"
run_test "no token or secret in plaintext in runtime files or logs" t_no_plaintext_anywhere
run_test "the daemon's log has no sanitizer report" t_no_sanitizer_reports

echo
echo "integration: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
