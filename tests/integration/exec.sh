#!/usr/bin/env bash
# exec.sh - the exec token source (provider/modules/exec.c, loaded from
# $B/modules): programs that succeed, fail, hang, crash, print garbage or
# megabytes (tests/integration/exec/*.sh).  Each failure is a clear,
# logged last error, and the daemon lives on and serves the others.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/exec.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EXEC_DIR=$TOP/tests/integration/exec

# exec_cred NAME PROGRAM [key = value ...]: a credential of provider exec
# running tests/integration/exec/PROGRAM.
exec_cred() {
	local name=$1 prog=$2 kv
	shift 2
	{
		printf '[credential]\nprovider = exec\n'
		case $prog in
		/*) printf 'command = %s\n' "$prog" ;;
		*) printf 'command = %s/%s\n' "$EXEC_DIR" "$prog" ;;
		esac
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$WORK/creds/$name.conf"
}

# exec_ok NAME PREFIX: a credential whose token is PREFIX.s1 (ok.sh).
exec_ok() {
	exec_cred "$1" ok.sh "arg = $2" "env = EXEC_TEST_SUFFIX=s1"
}

# exec_start: the main file with the build's modules; the daemon, with a
# variable in its environment that no program may see (ok.sh checks).
exec_start() {
	tc_config "module_dir = $B/modules" "$FAST_RATE" "$FAST_BURST" \
	    "refresh_min_interval = 0"
	EXEC_TEST_LEAK=1 tc_daemon_start ||
	    { cat "$WORK/daemon.log"; echo "the daemon did not start"; return 1; }
}

# exec_error NAME: its last error (after it failed).
exec_error() {
	ctl show "$1" --json >"$WORK/$1.json" || return 1
	tc_json "$WORK/$1.json" 'j.last_error'
}

# exec_failed NAME PATTERN: NAME fails (up to 15 s), publishes no token,
# and its last error, which matches PATTERN (grep -E), is in the log.
exec_failed() {
	local err
	wait_json "$1" 'j.state == "failed"' 15 || return 1
	ctl token "$1" >"$WORK/$1.tok" 2>&1 && { echo "$1 gave a token"; return 1; }
	err=$(exec_error "$1") || return 1
	printf '%s\n' "$err" | grep -qE -- "$2" ||
	    { echo "$1: last error '$err' does not match '$2'"; return 1; }
	grep -qF -- "$err" "$WORK/daemon.log" ||
	    { echo "$1: '$err' is not in the log"; return 1; }
}

# exec_alive: the daemon runs and still serves the good credential.
exec_alive() {
	kill -0 "$DAEMON_PID" 2>/dev/null || { echo "the daemon died"; return 1; }
	expect_eq "$(ctl token ok --wait 15)" "exec-ok.s1" "ok's token" || return 1
}

t_exec_token() {
	exec_ok ok exec-ok
	exec_cred slow slow-close.sh "arg = 1" "arg = exec-slow"
	exec_cred noisy noisy.sh "arg = exec-noisy" "timeout = 10"
	# A variable from a secret file (env_file, read by the daemon).
	exec_cred filed ok.sh "arg = exec-filed" \
	    "env_file = $(tc_secret suffix EXEC_TEST_SUFFIX=from-file)"
	exec_start || return 1
	local tok now exp
	tok=$(ctl token ok --wait 15) ||
	    { echo "no token: $(exec_error ok)"; return 1; }
	expect_eq "$tok" "exec-ok.s1" "ok's token (from its argument and environment)" || return 1
	ctl show ok --json >"$WORK/ok.json" || return 1
	expect_eq "$(tc_json "$WORK/ok.json" 'j.state')" valid "state" || return 1
	expect_eq "$(tc_json "$WORK/ok.json" 'j.token_type')" Bearer "token_type" || return 1
	exp=$(tc_json "$WORK/ok.json" 'j.expires_at')
	now=$(date +%s)
	[ $((exp - now)) -gt 3500 ] && [ $((exp - now)) -le 3601 ] ||
	    { echo "expires_at $exp is not about now+3600 ($now)"; return 1; }
	# Stdout closed, exit a second later: the token, once it has exited.
	expect_eq "$(ctl token slow --wait 15)" "exec-slow.slow" "slow's token" || return 1
	# Megabytes on stderr, then the token.
	expect_eq "$(ctl token noisy --wait 15)" "exec-noisy.noisy" "noisy's token" ||
	    { echo "noisy: $(exec_error noisy)"; return 1; }
	expect_eq "$(ctl token filed --wait 15)" "exec-filed.from-file" "filed's token" ||
	    { echo "filed: $(exec_error filed)"; return 1; }
	grep -qE "exec-ok.s1|from-file" "$WORK/daemon.log" &&
	    { echo "a token or the secret is in the log"; return 1; }
	return 0
}

tc_scenario t_exec_token "exec: a program's token, from its argv and clean environment, no shell, no inherited descriptor or signal state; env_file; after closing stdout; after megabytes on stderr"

t_exec_failures() {
	exec_ok ok exec-ok
	exec_cred fail fail.sh
	exec_cred refuse refuse.sh
	exec_cred crash crash.sh
	exec_cred garbage garbage.sh
	exec_cred huge huge.sh
	exec_cred missing /nonexistent/tokencache-exec-test
	exec_cred version2 version2.sh
	exec_start || return 1
	exec_failed fail '^fail\.sh exited with status 3: fail\.sh: the vault is sealed\?\[2J$' || return 1
	exec_failed refuse 'refuse\.sh reported: refuse\.sh: account disabled' || return 1
	exec_failed crash 'crash\.sh was killed by signal 11 \(SIGSEGV\)' || return 1
	exec_failed garbage 'garbage\.sh printed a bad document: the output is not a JSON document' || return 1
	exec_failed huge 'the output of huge\.sh is larger than 65536 bytes \(output_max\)' || return 1
	exec_failed missing 'cannot run /nonexistent/tokencache-exec-test: No such file or directory' || return 1
	exec_failed version2 'version2\.sh printed a bad document: document version 2 is not known \(known: 1\)' || return 1
	# Which of them a retry may mend, and which not (retried slowly).
	local n kind
	for n in fail:transient crash:transient garbage:transient huge:transient \
	    refuse:permanent missing:permanent version2:permanent; do
		kind=${n#*:} n=${n%:*}
		grep -q "^tokencached: worker: $n: fetch failed ($kind" "$WORK/daemon.log" ||
		    { echo "$n: no $kind failure in the log"; grep "$n:" "$WORK/daemon.log"; return 1; }
	done
	# The failed attempts are retried, and still the daemon serves.
	wait_json fail 'j.failures >= 2' 20 || return 1
	exec_alive || return 1
	grep -qF "never-seen" "$WORK/daemon.log" && { echo "crash.sh's partial token is in the log"; return 1; }
	return 0
}

tc_scenario t_exec_failures "exec: non-zero exit, error document, crash, garbage, megabytes, no such program, unknown version: clear logged failures, transient or permanent, daemon serves on"

# hang.sh and slow-close.sh run past their timeout: each is killed with
# all it started (their numbers of seconds to sleep, in the command lines,
# find them), and the daemon serves the others meanwhile.
t_exec_timeout() {
	local pids pat mark=$((100000 + RANDOM * 32 + $$ % 32))
	exec_ok ok exec-ok
	exec_cred hang hang.sh "arg = $mark" "timeout = 4"
	exec_cred slow slow-close.sh "arg = $((mark + 1))" "arg = exec-slow" \
	    "timeout = 2"
	pat="\\<($mark|$((mark + 1)))\\>"
	exec_start || return 1
	# The first runs' processes: hang.sh, its sh -c, its sleep; and
	# slow-close.sh and its sleep (the retries will start others).
	wait_for 5 eval '[ "$(pgrep -f "$pat" | wc -l)" = 5 ]' ||
	    { echo "not all running:"; pgrep -af "$pat"; return 1; }
	pids=$(pgrep -f "$pat" | tr '\n' ' ')
	ctl show hang --json >"$WORK/hang.json" || return 1
	expect_eq "$(tc_json "$WORK/hang.json" 'j.state')" pending "hang's state while it hangs" || return 1
	exec_alive || return 1
	exec_failed hang 'timed out' || return 1
	exec_failed slow 'timed out' || return 1
	wait_for 5 eval '! kill -0 $pids 2>/dev/null' ||
	    { echo "left running:"; ps -o pid,args -p "$(echo $pids | tr " " ,)"; return 1; }
	exec_alive || return 1
}

tc_scenario t_exec_timeout "exec: hanging programs are killed at the timeout with their children; the daemon is not blocked"

# Configuration errors name the file, the line and the key; at start
# (EX_CONFIG) and on a reload (refused, the old configuration kept).
t_exec_config_errors() {
	local st=0
	exec_ok ok exec-ok
	{
		printf '[credential]\nprovider = exec\n'
		printf 'command = %s/ok.sh\n' "$EXEC_DIR"
		printf 'shell = /bin/sh\n'
	} >"$WORK/creds/bad.conf"
	tc_config "module_dir = $B/modules"
	timeout 20 "$DAEMON" -f -c "$WORK/tokencache.conf" >"$WORK/bad.log" 2>&1 || st=$?
	expect_eq "$st" 78 "exit status with an unknown exec option" || { cat "$WORK/bad.log"; return 1; }
	expect_grep "bad.conf:4: shell: not an option of the exec provider" "$WORK/bad.log" "message" || return 1
	rm -f "$WORK/creds/bad.conf"
	exec_start || return 1
	expect_eq "$(ctl token ok --wait 15)" "exec-ok.s1" "ok's token" || return 1
	exec_cred rel ok.sh
	sed -i 's|^command = .*|command = ok.sh|' "$WORK/creds/rel.conf"
	kill -HUP "$DAEMON_PID"
	wait_grep "rel.conf:3: command: must be an absolute path" "$WORK/daemon.log" 10 || return 1
	exec_cred noenv ok.sh "env = 1X=y"
	rm -f "$WORK/creds/rel.conf"
	kill -HUP "$DAEMON_PID"
	wait_grep "noenv.conf:4: env: must be NAME=VALUE" "$WORK/daemon.log" 10 || return 1
	rm -f "$WORK/creds/noenv.conf"
	exec_alive || return 1
}

tc_scenario t_exec_config_errors "exec: unknown, relative and malformed options refused with file:line:key, at start and on reload"

# The program, its arguments and environment are the request's identity:
# a change drops the old token at the reload.
t_exec_identity() {
	exec_ok ok exec-ok
	exec_start || return 1
	expect_eq "$(ctl token ok --wait 15)" "exec-ok.s1" "first token" || return 1
	exec_cred ok ok.sh "arg = exec-ok" "env = EXEC_TEST_SUFFIX=s2"
	kill -HUP "$DAEMON_PID"
	wait_for 10 eval '[ "$(ctl token ok 2>/dev/null)" = exec-ok.s2 ]' ||
	    { echo "token after the environment changed: $(ctl token ok 2>&1)"; return 1; }
	exec_cred ok ok.sh "arg = exec-ok2" "env = EXEC_TEST_SUFFIX=s2"
	kill -HUP "$DAEMON_PID"
	wait_for 10 eval '[ "$(ctl token ok 2>/dev/null)" = exec-ok2.s2 ]' ||
	    { echo "token after the argument changed: $(ctl token ok 2>&1)"; return 1; }
}

tc_scenario t_exec_identity "exec: a changed argument or environment drops the token at reload"

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
