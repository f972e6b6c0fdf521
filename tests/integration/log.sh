#!/usr/bin/env bash
# log.sh - the daemon's log without a journald: the monitor and the worker
# name themselves on stderr (-f) and in syslog (detached), and, through the
# test build's stand-in for /run/systemd/journal/socket
# (TOKENCACHE_TEST_JOURNAL_SOCKET), each event is one native-protocol entry
# with its fields.  The real journal is tests/integration/systemd.sh's.
#
# A scenario file of the integration suite (see lib.sh): run.sh sources it,
# or run it alone: B=build bash tests/integration/log.sh
[ -n "${TC_LIB:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# log_sink SOCKET OUT: a datagram socket at SOCKET (anyone may send to it,
# as to journald's and syslog's), each datagram appended to OUT and ended
# by a newline: a journal entry (KEY=value lines, the last ended too) then
# reads as a paragraph.  Perl: tests/deps.sh has it for check.sh.
log_sink() {
	perl -MIO::Socket::UNIX -MSocket -e '
		my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM,
		    Local => $ARGV[0]) or die "bind $ARGV[0]: $!\n";
		chmod 0666, $ARGV[0];
		open(my $o, ">>", $ARGV[1]) or die "$ARGV[1]: $!\n";
		$o->autoflush(1);
		my $b;
		while (defined $s->recv($b, 65536)) { print $o $b, "\n"; }
	' "$1" "$2" &
	RES_PIDS="$RES_PIDS $!"
	wait_for 5 test -S "$1" || { echo "no socket at $1"; return 1; }
	wait_for 5 sh -c '[ "$(stat -c %a "$1")" = 666 ]' sh "$1"
}

# entries FILE KEY=VALUE...: the journal entries in FILE with every one
# of these fields, as `journalctl KEY=VALUE ...` would match them.
entries() {
	local f=$1
	shift
	awk -v want="$*" '
		BEGIN { RS = ""; n = split(want, w, " ") }
		{
			ok = 1
			for (i = 1; i <= n; i++)
				if (index("\n" $0 "\n", "\n" w[i] "\n") == 0) ok = 0
			if (ok) { print; print "" }
		}' "$f"
}

# log_conf: two credentials on the long-lived server; log-a readable by
# nobody but root and the daemon (alice is refused).
log_conf() {
	local sf
	sf=$(tc_secret log "$RES_SECRET")
	tc_config
	tc_cred log-a "$PORT_reslong" it-res-a "$sf"
	tc_cred log-b "$PORT_reslong" it-res-b "$sf"
}

# no_secrets FILE...: neither the client secret nor a token in them.
no_secrets() {
	local f t
	for f in "$@"; do
		if grep -qF -- "$RES_SECRET" "$f"; then
			echo "the client secret in $f"
			return 1
		fi
		for t in "$WORK"/tok.*; do
			[ -s "$t" ] || continue
			grep -qF -- "$(cat "$t")" "$f" &&
			    { echo "a token ($t) in $f"; return 1; }
		done
	done
	return 0
}

# Kill the worker: the monitor logs it ("worker killed by signal 9") and
# exits.  $1: the monitor's pid, if it is no child of ours.
log_kill_worker() {
	local w=$2 m=$1 end=$((SECONDS + 10))
	kill -KILL "$w"
	while kill -0 "$m" 2>/dev/null && [ $SECONDS -le $end ]; do
		sleep 0.1
	done
}

# -f, stderr a file: every line "tokencached: monitor: " or
# "tokencached: worker: ".
t_log_stderr_names_process() {
	it_res_server long || return 1
	log_conf
	tc_daemon_start || return 1
	ctl token log-a --wait 15 >"$WORK/tok.a" || return 1
	log_kill_worker "$DAEMON_PID" "$(tc_worker_pid)"
	wait "$DAEMON_PID"
	DAEMON_PID=
	expect_grep "^tokencached: worker: log-a: new Bearer token" "$WORK/daemon.log" \
	    "the worker's fetch line" || return 1
	expect_grep "^tokencached: worker: running as tc-it-daemon" "$WORK/daemon.log" \
	    "the worker's start line" || return 1
	expect_grep "^tokencached: monitor: started the worker, pid [0-9]*, to run as tc-it-daemon$" \
	    "$WORK/daemon.log" "the monitor's start line" || return 1
	expect_grep "^tokencached: monitor: worker killed by signal 9$" "$WORK/daemon.log" \
	    "the monitor's last line" || return 1
	if grep -v '^tokencached: \(monitor\|worker\): ' "$WORK/daemon.log" | grep -q .; then
		echo "lines that name no process:"
		grep -v '^tokencached: \(monitor\|worker\): ' "$WORK/daemon.log" | head -n 5
		return 1
	fi
	no_secrets "$WORK/daemon.log"
}

tc_scenario t_log_stderr_names_process "log: -f on stderr, the monitor's and the worker's lines name them" root

# Detached, in a mount namespace whose /dev/log is a socket of the test's:
# the syslog lines name the process too.  The journal's stand-in is
# absent, so that a host with journald changes nothing.
t_log_syslog_names_process() {
	it_res_server long || return 1
	local dev=$WORK/dev n worker monitor st=0
	# The worker looks up /dev/null and /dev/log in it.
	mkdir -p -m 0755 "$dev"
	log_sink "$dev/log" "$WORK/syslog.out" || return 1
	for n in null zero random urandom; do : >"$dev/$n"; done
	log_conf
	TOKENCACHE_TEST_JOURNAL_SOCKET=$WORK/no-journal unshare -m sh -ec '
		for n in null zero random urandom; do
			mount --bind "/dev/$n" "$1/$n"
		done
		mount --rbind "$1" /dev
		exec "$2" -c "$3"' sh "$dev" "$DAEMON" "$WORK/tokencache.conf" \
	    2>"$WORK/daemon.log" || st=$?
	# Its start-up lines, on stderr before it left it: "worker: running
	# as tc-it-daemon (uid U), monitor pid M".  The clean-up's SIGTERM to
	# the monitor stops both.
	monitor=$(sed -n 's/^tokencached: worker: running as .*, monitor pid \([0-9]*\)$/\1/p' "$WORK/daemon.log")
	[ -n "$monitor" ] && RES_PIDS="$RES_PIDS $monitor"
	if [ "$st" != 0 ] || [ -z "$monitor" ]; then
		echo "the daemon did not start (status $st):"
		cat "$WORK/daemon.log" "$WORK/syslog.out"
		return 1
	fi
	ctl token log-a --wait 15 >"$WORK/tok.a" || return 1
	wait_grep "worker: log-a: new Bearer token" "$WORK/syslog.out" 10 ||
	    { cat "$WORK/syslog.out"; return 1; }
	worker=$(sed -n 's/.* tokencached\[\([0-9]*\)\]: worker: log-a: new Bearer token.*/\1/p' "$WORK/syslog.out" | head -n1)
	expect_eq "$(ps -o ppid= -p "$worker" | tr -d ' ')" "$monitor" \
	    "the parent of the worker whose pid syslog has" || return 1
	log_kill_worker "$monitor" "$worker"
	expect_grep "tokencached\[$monitor\]: monitor: started the worker, pid $worker," \
	    "$WORK/syslog.out" "the monitor's start line" || { cat "$WORK/syslog.out"; return 1; }
	wait_grep "tokencached\[$monitor\]: monitor: worker killed by signal 9" \
	    "$WORK/syslog.out" 5 || { echo "no monitor's line:"; cat "$WORK/syslog.out"; return 1; }
	# <daemon.info>: facility 3, priority 6.
	expect_grep "^<30>.*tokencached\[$worker\]: worker: log-a: new Bearer token" \
	    "$WORK/syslog.out" "the fetch line at daemon.info" || return 1
	if grep -v '^<[0-9]*>.* tokencached\[[0-9]*\]: \(monitor\|worker\): ' "$WORK/syslog.out" | grep -q .; then
		echo "syslog lines that name no process:"
		grep -v '^<[0-9]*>.* tokencached\[[0-9]*\]: \(monitor\|worker\): ' "$WORK/syslog.out" | head -n 5
		return 1
	fi
	# Nothing went to stderr after the daemon left it.
	expect_eq "$(grep -c . "$WORK/daemon.log")" 2 "lines on the detached daemon's stderr" ||
	    { cat "$WORK/daemon.log"; return 1; }
	no_secrets "$WORK/syslog.out"
}

tc_scenario t_log_syslog_names_process "log: detached, to syslog, the monitor's and the worker's lines name them" root

# -f with stderr the journal's stream (JOURNAL_STREAM), the journal's
# socket a stand-in: one entry per event, with the fields journalctl
# matches on.
t_log_journal_fields() {
	it_res_server long || return 1
	local alice st=0
	alice=$(id -u tc-it-alice)
	it_fault_server || return 1
	log_sink "$WORK/journal.sock" "$WORK/journal.out" || return 1
	log_conf
	# Failures: one the server holds off (429, Retry-After: 30), one
	# permanent (400); TOKEN_ENDPOINT is their URL without its query.
	tc_cred log-held "$PF/status?code=429&after=30" it-res-a "$WORK/secrets/log"
	tc_cred log-bad "$PF/status?code=400" it-res-a "$WORK/secrets/log"
	: >"$WORK/daemon.log"
	JOURNAL_STREAM=$(stat -c %d:%i "$WORK/daemon.log")
	TOKENCACHE_TEST_JOURNAL_SOCKET=$WORK/journal.sock
	export JOURNAL_STREAM TOKENCACHE_TEST_JOURNAL_SOCKET
	tc_daemon_start || return 1
	ctl token log-a --wait 15 >"$WORK/tok.a" || return 1
	ctl token log-b --wait 15 >"$WORK/tok.b" || return 1
	as_user tc-it-alice "$CTL" --runtime-dir "$WORK/run" token log-a \
	    >"$WORK/alice.out" 2>&1 && { echo "alice read log-a"; return 1; }
	wait_for 5 sh -c 'grep -q "^READER_UID=$1$" "$2"' sh "$alice" "$WORK/journal.out" ||
	    { echo "no denial in the journal"; cat "$WORK/journal.out"; return 1; }
	# A reload that fails, then one that applies.
	printf '[credential]\ntokn_url = x\n' >"$WORK/creds/broken.conf"
	kill -HUP "$DAEMON_PID"
	wait_for 10 grep -q '^OUTCOME=failed$' "$WORK/journal.out" ||
	    { echo "no failed reload in the journal"; cat "$WORK/journal.out"; return 1; }
	rm -f "$WORK/creds/broken.conf"
	kill -HUP "$DAEMON_PID"
	wait_for 10 grep -q '^MESSAGE=worker: configuration reloaded' "$WORK/journal.out" ||
	    { echo "no reload in the journal"; cat "$WORK/journal.out"; return 1; }
	wait_for 10 grep -q '^CREDENTIAL=log-held$' "$WORK/journal.out" &&
	    wait_for 10 grep -q '^CREDENTIAL=log-bad$' "$WORK/journal.out" ||
	    { echo "no failures in the journal"; cat "$WORK/journal.out"; return 1; }
	log_kill_worker "$DAEMON_PID" "$(tc_worker_pid)"
	wait "$DAEMON_PID"
	DAEMON_PID=
	# journalctl CREDENTIAL=log-a: its fetch, not log-b's.
	entries "$WORK/journal.out" CREDENTIAL=log-a OUTCOME=ok >"$WORK/a.ok"
	grep -q '^MESSAGE=worker: log-a: new Bearer token' "$WORK/a.ok" ||
	    { echo "CREDENTIAL=log-a OUTCOME=ok:"; cat "$WORK/journal.out"; return 1; }
	if entries "$WORK/journal.out" CREDENTIAL=log-a | grep -q 'log-b'; then
		echo "log-b's line under CREDENTIAL=log-a"
		return 1
	fi
	entries "$WORK/journal.out" CREDENTIAL=log-b OUTCOME=ok | grep -q '^MESSAGE=worker: log-b: new' ||
	    { echo "no fetch line under CREDENTIAL=log-b"; return 1; }
	expect_grep "^TOKEN_ENDPOINT=http://127.0.0.1:$PORT_reslong/token$" "$WORK/a.ok" \
	    "the fetch line's endpoint" || return 1
	expect_grep '^TOKENCACHED_PROCESS=worker$' "$WORK/a.ok" "the fetch line's process" || return 1
	expect_grep '^PRIORITY=6$' "$WORK/a.ok" "the fetch line's priority" || return 1
	expect_grep '^HTTP_STATUS=200$' "$WORK/a.ok" "the fetch line's HTTP status" || return 1
	entries "$WORK/journal.out" CREDENTIAL=log-held OUTCOME=rate_limited \
	    HTTP_STATUS=429 RETRY_AFTER=30 "TOKEN_ENDPOINT=http://127.0.0.1:$PF/status" \
	    PRIORITY=4 >"$WORK/held"
	expect_grep "^MESSAGE=worker: log-held: fetch failed (transient): .*; Retry-After 30 s: no request to http://127.0.0.1:$PF/status?code=429&after=30 before then$" \
	    "$WORK/held" "the Retry-After hold" || { cat "$WORK/journal.out"; return 1; }
	entries "$WORK/journal.out" CREDENTIAL=log-bad OUTCOME=permanent HTTP_STATUS=400 \
	    "TOKEN_ENDPOINT=http://127.0.0.1:$PF/status" >"$WORK/bad"
	expect_grep "^MESSAGE=worker: log-bad: fetch failed (permanent)" "$WORK/bad" \
	    "the permanent failure" || { cat "$WORK/journal.out"; return 1; }
	if grep -q "^TOKEN_ENDPOINT=.*[?]" "$WORK/journal.out"; then
		echo "a query in TOKEN_ENDPOINT:"
		grep "^TOKEN_ENDPOINT=.*[?]" "$WORK/journal.out" | head -n 3
		return 1
	fi
	expect_grep '^SYSLOG_IDENTIFIER=tokencached$' "$WORK/a.ok" "the identifier" || return 1
	entries "$WORK/journal.out" OUTCOME=failed PRIORITY=3 >"$WORK/reload"
	expect_grep "^MESSAGE=worker: reload failed, keeping the running configuration: .*broken.conf:2: unknown key" \
	    "$WORK/reload" "the failed reload" || { cat "$WORK/journal.out"; return 1; }
	entries "$WORK/journal.out" OUTCOME=ok PRIORITY=6 | grep -q '^MESSAGE=worker: configuration reloaded: 4 credentials' ||
	    { echo "no OUTCOME=ok on the reload"; return 1; }
	# The denied reader.
	entries "$WORK/journal.out" OUTCOME=denied "READER_UID=$alice" CREDENTIAL=log-a \
	    >"$WORK/denied"
	expect_grep "^MESSAGE=worker: log-a: denied .* to uid $alice" "$WORK/denied" \
	    "the denial" || { cat "$WORK/journal.out"; return 1; }
	# The monitor names itself.
	entries "$WORK/journal.out" TOKENCACHED_PROCESS=monitor >"$WORK/monitor"
	expect_grep '^MESSAGE=monitor: started the worker, pid [0-9]*, to run as tc-it-daemon$' \
	    "$WORK/monitor" "the monitor's entry" || { cat "$WORK/journal.out"; return 1; }
	if entries "$WORK/journal.out" TOKENCACHED_PROCESS=worker | grep -q '^MESSAGE=monitor: '; then
		echo "a monitor's line as the worker's"
		return 1
	fi
	# Every line in the journal's entries, but the monitor's last: that
	# goes to the stream (log_last), whose unit journald knows after the
	# monitor is gone.
	expect_eq "$(cat "$WORK/daemon.log")" "<4>monitor: worker killed by signal 9" \
	    "the stream" || return 1
	no_secrets "$WORK/journal.out" || st=1
	return $st
}

tc_scenario t_log_journal_fields "log: the journal's native protocol, one entry per event with CREDENTIAL, OUTCOME, READER_UID, TOKENCACHED_PROCESS" root

tc_main_if_run "${BASH_SOURCE[0]}" "$0"
